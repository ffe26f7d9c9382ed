#pragma once

// A primary's side of replication (docs/replication.md): the detached actor
// that answers read replicas' log_request (store::read_log, held until a
// commit arrives or replication.poll-wait passes), makes snapshots for their
// bootstrap (store::checkpoint into <data dir>/replication-snapshots/<id>)
// and serves those files in chunks. The manager delegates these requests to
// it, so replies go straight to the replica. It holds the backend through the
// manager's lease and answers every held request before it goes down.

#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/replication_board.hpp"
#include "messages/protocol.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// The shipper's timer: checks held log requests and idle snapshots.
using ship_poll_atom = caf::atom_constant<caf::atom("vs_spoll")>;

using log_shipper_actor = caf::typed_actor<caf::replies_to<log_request>::with<log_reply>,
                                           caf::replies_to<snapshot_request>::with<snapshot_reply>,
                                           caf::replies_to<chunk_request>::with<chunk_reply>,
                                           caf::replies_to<snapshot_release>::with<release_reply>,
                                           caf::reacts_to<ship_poll_atom>>;

/// How often held log requests look for new commits: the most a replica's
/// lag grows by holding (a read of an atomic, no I/O, when nothing is new).
constexpr auto ship_poll_period = std::chrono::milliseconds(2);

/// How long a snapshot may go without a chunk_request before it is deleted.
constexpr auto snapshot_idle = std::chrono::minutes(10);

/// The directory, inside the data directory `db_path`, that holds the
/// snapshots being copied (removed when the shipper starts).
std::string snapshot_root(const std::string& db_path);

/// Spawns the shipper, detached (reading the log and files blocks), over
/// the store whose data directory is `db_path`.
log_shipper_actor spawn_log_shipper(caf::actor_system& sys, std::shared_ptr<store> backend,
                                    std::string db_path, replication_options opts,
                                    std::shared_ptr<replication_board> board);

}  // namespace vstore
