#pragma once

// A read replica's side of replication (docs/replication.md): the detached
// actor that asks the primary for its log in order and applies each batch
// whole (store::apply_log records the primary sequence reached in the same
// write, so a restart resumes where it stopped). It pulls: one log_request
// in flight, answered by at most replication.max-log-bytes, so a slow
// replica never makes the primary buffer more. It reconnects with a backoff
// when the primary goes away, and stops pulling when the primary no longer
// holds the log it needs (state "resync needed"). It holds the backend
// through the manager's lease.

#include <functional>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/replication_board.hpp"
#include "actors/snapshot_copy.hpp"
#include "messages/protocol.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// Connects to the primary: blocks up to its own connect bound; ok with
/// `out` set, or why not.
using primary_connector = std::function<status(caf::actor_system&, manager_actor& out)>;

/// What makes a manager a read replica.
struct replica_setup {
  /// The primary as the operator named it ("host:port"), for messages.
  std::string primary;
  /// How this replica names itself to the primary (its status lists it).
  std::string name;
  primary_connector connect;
  /// Opens a store (a re-sync opens its copy, then the manager reopens).
  store_opener open;
};

/// The follower's timer and loop step.
using follow_atom = caf::atom_constant<caf::atom("vs_follow")>;

using follower_actor = caf::typed_actor<caf::reacts_to<follow_atom>>;

/// Spawns the follower, detached (applying and connecting block). `opts`
/// are the replica's options (its data directory, for a re-sync).
follower_actor spawn_follower(caf::actor_system& sys, std::shared_ptr<store> backend,
                              replica_setup setup, options opts,
                              std::shared_ptr<replication_board> board);

}  // namespace vstore
