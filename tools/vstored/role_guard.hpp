#pragma once

// The role guard: an actor implementing the manager's interface that vstored
// publishes instead of the manager on a listener whose peers do not have the
// admin role. It forwards what the listener's role allows to the manager and
// answers everything else with errc::forbidden (nothing is forwarded, so
// nothing is applied).
//
// CAF 0.17 gives actors no access to a peer's TLS certificate, so a role
// belongs to a listener (one port, one client CA), not to a certificate:
// vstored runs each extra listener in an actor system of its own, whose
// OpenSSL module trusts that listener's CA only, and publishes a guard spawned
// in that system; the guard holds the manager's handle from the main system
// (actors of two systems in one process message each other directly).
//
// The guard lives in tools/vstored/ (not in the client library): the policy
// is vstored's; an application that publishes a manager itself decides its own.

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <string>

#include "config/config.hpp"
#include "vstore/protocol.hpp"

namespace vstore::server {

using config::peer_role;

/// The requests of manager_actor, for the role table.
enum class request_kind : uint8_t {
  get,
  multi_get,
  scan,
  /// snapshot_read_request (reads, at one snapshot).
  snapshot_read,
  stats,
  status,
  outcome,
  write,
  flush,
  drain,
  checkpoint,
  /// A read replica's log_request, snapshot_request, chunk_request and
  /// snapshot_release: they reveal every key, as reads do.
  replicate,
  /// promote_request: makes a read replica a primary.
  promote,
};

/// Returns the request's name as the error context shows it ("drain", ...).
const char* to_name(request_kind x) noexcept;

/// Returns the least role that may send `x`: read for get, multi_get, scan,
/// snapshot_read, stats, status, outcome and replicate; write for write and flush; admin for drain,
/// checkpoint and every other (future) request.
peer_role required_role(request_kind x) noexcept;

/// Returns whether a peer with role `r` may send `x`.
inline bool allows(peer_role r, request_kind x) noexcept { return r >= required_role(x); }

/// How long the guard waits for the manager's answer to a forwarded request
/// (finite, longer than the manager's own bounds: the manager answers every
/// request; these only bound the guard's bookkeeping). On expiry the peer gets
/// CAF's request_timeout (a client sees errc::timeout).
struct guard_timeouts {
  /// Reads, writes, flush, stats, status, outcome: supervisor.internal-timeout
  /// plus a margin.
  caf::timespan request = std::chrono::seconds(40);
  /// drain: supervisor.shutdown-grace plus a margin.
  caf::timespan drain = std::chrono::seconds(20);
  /// checkpoint: the server's bound (1 hour) plus a margin.
  caf::timespan checkpoint = std::chrono::hours(1) + std::chrono::minutes(1);
};

/// Spawns a guard in `sys` (any actor system of this process) that forwards
/// to `manager` what `role` allows and answers the rest with errc::forbidden
/// naming `listener` (e.g. "read listener 127.0.0.1:7402"). It never
/// delegates (the manager's address never reaches a peer) and monitors the
/// manager: when the manager goes down it fails its pending requests with
/// errc::unavailable and quits with the manager's reason. Replies sent by
/// the manager before it quit are relayed first.
manager_actor spawn_role_guard(caf::actor_system& sys, manager_actor manager, peer_role role,
                               std::string listener, guard_timeouts timeouts = {});

}  // namespace vstore::server
