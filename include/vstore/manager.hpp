#pragma once

// Spawning a StorageManager from configuration, for code that runs actors. The
// manager's typed interface (vstore::manager_actor) and every message type are
// in vstore/protocol.hpp, included here.

#include <caf/fwd.hpp>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/protocol.hpp"

namespace vstore {

/// Prepares an actor system config for vstore: registers every message type
/// and the error category (register_types); sets scheduler.max-threads to the
/// number of cores, and CAF's work-stealing polling to what vstore's actor
/// chains need (an idle worker steals at every poll, polls 10 us apart for
/// ~5 ms, then every 1 ms: work-stealing.moderate-steal-interval = 1,
/// moderate-sleep-duration = 10us, relaxed-sleep-duration = 1ms), each unless
/// the config already sets it; and gives CAF's threads 1 us of timer slack so
/// that those sleeps last what they say. Call it on every node before
/// constructing the actor system.
void configure_actor_system(caf::actor_system_config& cfg);

/// Opens the backend `opts` configures (RocksDB at opts.db.path, or memory)
/// and spawns a StorageManager over it. Blocks while RocksDB opens. On error
/// `out` is unchanged and no actor was spawned. Stop the manager with a
/// drain_request (or an exit message), which drains and closes the backend.
status spawn_manager(caf::actor_system& sys, const options& opts, manager_actor& out);

}  // namespace vstore
