#pragma once

// Spawning a StorageManager from configuration, for code that runs actors. The
// manager's typed interface (vstore::manager_actor) and every message type are
// in vstore/protocol.hpp, included here.

#include <cstdint>

#include <caf/fwd.hpp>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/protocol.hpp"

namespace vstore {

/// How the idle threads of CAF 0.17's work-stealing scheduler look for work.
/// A worker puts the actors it wakes on its own queue; another worker gets
/// them only by stealing.
enum class scheduler_polling : uint8_t {
  /// An idle worker steals at every poll, polls 25 us apart for ~12 ms, then
  /// every 1 ms (work-stealing.moderate-steal-interval = 1,
  /// moderate-sleep-duration = 25us, relaxed-sleep-duration = 1ms), and CAF's
  /// threads get 1 us of timer slack so that those sleeps last what they say.
  /// A chain of actors in one process (client, manager, writer, commit actor)
  /// then uses every core: put_small 0.86 -> 1.28-1.38 of raw RocksDB, get
  /// 0.45 -> 0.51 (docs/performance.md). It costs CPU while a burst ends,
  /// which other processes on the same cores miss: a vstored with it served
  /// remote gets ~40% slower on this 2-core machine, client and Redis beside.
  eager,
  /// CAF's own defaults: an idle worker steals at every 5th poll 50 us apart
  /// (every ~300 us), then every 10 ms. vstored's choice.
  caf_default,
};

/// Prepares an actor system config for vstore: registers every message type
/// and the error category (register_types); sets scheduler.max-threads to the
/// number of cores and the scheduler's polling to `polling`, each unless the
/// config already sets it (a program that sets any work-stealing key keeps
/// its value). Call it on every node before constructing the actor system.
void configure_actor_system(caf::actor_system_config& cfg,
                            scheduler_polling polling = scheduler_polling::eager);

/// Opens the backend `opts` configures (RocksDB at opts.db.path, or memory)
/// and spawns a StorageManager over it. Blocks while RocksDB opens. On error
/// `out` is unchanged and no actor was spawned. Stop the manager with a
/// drain_request (or an exit message), which drains and closes the backend.
status spawn_manager(caf::actor_system& sys, const options& opts, manager_actor& out);

}  // namespace vstore
