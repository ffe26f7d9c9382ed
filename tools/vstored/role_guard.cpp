#include "tools/vstored/role_guard.hpp"

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

#include "client/relay.hpp"

namespace vstore::server {

const char* to_name(request_kind x) noexcept {
  switch (x) {
    case request_kind::get:
      return "get";
    case request_kind::multi_get:
      return "multi_get";
    case request_kind::scan:
      return "scan";
    case request_kind::snapshot_read:
      return "snapshot_read";
    case request_kind::stats:
      return "stats";
    case request_kind::status:
      return "status";
    case request_kind::outcome:
      return "outcome";
    case request_kind::write:
      return "write";
    case request_kind::flush:
      return "flush";
    case request_kind::drain:
      return "drain";
    case request_kind::checkpoint:
      return "checkpoint";
    case request_kind::replicate:
      return "replication";
    case request_kind::promote:
      return "promote";
  }
  return "?";
}

peer_role required_role(request_kind x) noexcept {
  switch (x) {
    case request_kind::get:
    case request_kind::multi_get:
    case request_kind::scan:
    case request_kind::snapshot_read:
    case request_kind::stats:
    case request_kind::status:
    case request_kind::outcome:
    case request_kind::replicate:
      return peer_role::read;
    case request_kind::write:
    case request_kind::flush:
      return peer_role::write;
    case request_kind::drain:
    case request_kind::checkpoint:
    case request_kind::promote:
      return peer_role::admin;
  }
  return peer_role::admin;  // anything new is an admin command until classified
}

namespace {

/// Fails a forwarded request that has no answer yet.
struct guard_state {
  manager_actor manager;
  peer_role role = peer_role::read;
  std::string listener;
  guard_timeouts timeouts;
  pending_relays pending;
  static inline const char* name = "vstore.role_guard";
};

using guard_pointer = manager_actor::stateful_pointer<guard_state>;

caf::error refuse(guard_pointer self, request_kind kind) {
  auto& st = self->state;
  return make_error(errc::forbidden, std::string{to_name(kind)} + " needs the " +
                                         config::to_name(required_role(kind)) +
                                         " role; peers of the " + st.listener + " have the " +
                                         config::to_name(st.role) + " role");
}

/// Forwards `req` to the manager if the role allows it and relays the answer
/// (request/then, never delegate: the reply comes from the guard).
template <class Reply, class Request>
caf::result<Reply> forward(guard_pointer self, request_kind kind, Request&& req,
                           caf::timespan timeout) {
  auto& st = self->state;
  if (!allows(st.role, kind)) return refuse(self, kind);
  if (!st.manager) return make_error(errc::unavailable, "the storage manager stopped");
  return relay<Reply>(self, st.manager, std::forward<Request>(req), timeout);
}

manager_actor::behavior_type role_guard(guard_pointer self, manager_actor manager, peer_role role,
                                        std::string listener, guard_timeouts timeouts) {
  auto& st = self->state;
  st.manager = std::move(manager);
  st.role = role;
  st.listener = std::move(listener);
  st.timeouts = timeouts;
  // Normal priority: the manager's last replies (a drain's) precede its
  // down_msg in the mailbox.
  self->monitor(st.manager);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.manager || dm.source != s.manager.address()) return;
    s.manager = manager_actor{};
    auto err = make_error(errc::unavailable, "the storage manager stopped");
    s.pending.fail_all(err);
    self->quit(dm.reason);
  });
  using k = request_kind;
  return {
      [self](get_request& r) {
        return forward<get_reply>(self, k::get, std::move(r), self->state.timeouts.request);
      },
      [self](multi_get_request& r) {
        return forward<multi_get_reply>(self, k::multi_get, std::move(r),
                                        self->state.timeouts.request);
      },
      [self](scan_request& r) {
        return forward<scan_reply>(self, k::scan, std::move(r), self->state.timeouts.request);
      },
      [self](snapshot_read_request& r) {
        return forward<snapshot_read_reply>(self, k::snapshot_read, std::move(r),
                                            self->state.timeouts.request);
      },
      [self](write_request& r) {
        return forward<commit_ack>(self, k::write, std::move(r), self->state.timeouts.request);
      },
      [self](flush_request& r) {
        return forward<commit_ack>(self, k::flush, r, self->state.timeouts.request);
      },
      [self](stats_request& r) {
        return forward<stats_reply>(self, k::stats, r, self->state.timeouts.request);
      },
      [self](status_request& r) {
        return forward<status_reply>(self, k::status, r, self->state.timeouts.request);
      },
      [self](drain_request& r) {
        return forward<drain_reply>(self, k::drain, r, self->state.timeouts.drain);
      },
      [self](outcome_request& r) {
        return forward<outcome_reply>(self, k::outcome, std::move(r), self->state.timeouts.request);
      },
      [self](checkpoint_request& r) {
        return forward<checkpoint_reply>(self, k::checkpoint, std::move(r),
                                         self->state.timeouts.checkpoint);
      },
      [self](log_request& r) {
        // The primary holds it up to replication.poll-wait (at most 60 s).
        return forward<log_reply>(self, k::replicate, r, self->state.timeouts.request);
      },
      [self](snapshot_request& r) {
        return forward<snapshot_reply>(self, k::replicate, r, self->state.timeouts.checkpoint);
      },
      [self](chunk_request& r) {
        return forward<chunk_reply>(self, k::replicate, std::move(r), self->state.timeouts.request);
      },
      [self](snapshot_release& r) {
        return forward<release_reply>(self, k::replicate, r, self->state.timeouts.request);
      },
      [self](promote_request& r) {
        return forward<promote_reply>(self, k::promote, r, self->state.timeouts.request);
      },
      // The manager's own timer: never forwarded.
      [](tick_atom) {},
      [](min_seq_atom) {},
      [](read_batch_atom) {},
      [](written_parts&) {},
  };
}

}  // namespace

manager_actor spawn_role_guard(caf::actor_system& sys, manager_actor manager, peer_role role,
                               std::string listener, guard_timeouts timeouts) {
  return sys.spawn(role_guard, std::move(manager), role, std::move(listener), timeouts);
}

}  // namespace vstore::server
