// connect_manager with read replicas (remote_options::read_replicas): a
// local actor with the manager's interface that sends reads to a replica
// (with min_seq for read your writes) and everything else to the primary.

#include "client/remote.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>

#include "client/relay.hpp"

namespace vstore {

namespace {

struct router_state {
  manager_actor primary;
  manager_actor replica;
  bool read_your_writes = true;
  caf::timespan timeout{};
  /// The highest sequence a reply through this router showed.
  uint64_t seen_seq = 0;
  pending_relays pending;
  static inline const char* name = "vstore.read_router";
};

using router_pointer = manager_actor::stateful_pointer<router_state>;

bool falls_back(errc c) {
  return c == errc::lagging || c == errc::disconnected || c == errc::unavailable ||
         c == errc::shutting_down || c == errc::read_only;
}

/// A read: to the replica (min_seq = the highest sequence seen), and to the
/// primary when the replica cannot answer it.
template <class Reply, class Request>
caf::result<Reply> route_read(router_pointer self, Request req) {
  auto& st = self->state;
  if (!st.replica) return relay<Reply>(self, st.primary, std::move(req), st.timeout);
  auto rp = self->make_response_promise<Reply>();
  auto id = self->state.pending.add([rp](const caf::error& e) mutable { rp.deliver(e); });
  auto to_primary = req;
  if (st.read_your_writes && req.min_seq == 0) req.min_seq = st.seen_seq;
  self->request(st.replica, st.timeout, std::move(req))
      .then(
          [self, id, rp](Reply& r) mutable {
            if (self->state.pending.take(id)) rp.deliver(std::move(r));
          },
          [self, id, rp, to_primary](caf::error& e) mutable {
            if (!self->state.pending.take(id)) return;
            if (!falls_back(to_status(e).code()) || !self->state.primary) {
              rp.deliver(std::move(e));
              return;
            }
            rp.delegate(self->state.primary, std::move(to_primary));
          });
  return rp;
}

/// Anything else: to the primary; a commit_ack's sequence is remembered.
template <class Reply, class Request>
caf::result<Reply> to_primary(router_pointer self, Request req, caf::timespan t) {
  auto& st = self->state;
  auto rp = self->make_response_promise<Reply>();
  auto id = st.pending.add([rp](const caf::error& e) mutable { rp.deliver(e); });
  self->request(st.primary, t, std::move(req))
      .then(
          [self, id, rp](Reply& r) mutable {
            if constexpr (std::is_same<Reply, commit_ack>::value)
              self->state.seen_seq = std::max(self->state.seen_seq, r.seq);
            if (self->state.pending.take(id)) rp.deliver(std::move(r));
          },
          [self, id, rp](caf::error& e) mutable {
            if (self->state.pending.take(id)) rp.deliver(std::move(e));
          });
  return rp;
}

manager_actor::behavior_type read_router(router_pointer self, manager_actor primary,
                                         manager_actor replica, bool read_your_writes,
                                         caf::timespan timeout, uint64_t seen_seq) {
  auto& st = self->state;
  st.primary = std::move(primary);
  st.replica = std::move(replica);
  st.read_your_writes = read_your_writes;
  st.timeout = timeout;
  st.seen_seq = seen_seq;
  self->monitor(st.primary);
  if (st.replica) self->monitor(st.replica);
  // The primary gone: fail what is open and go down (monitors of the router
  // see it, as they would see the primary's proxy go down). The replica
  // gone: reads go to the primary.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (s.replica && dm.source == s.replica.address()) {
      s.replica = manager_actor{};
      return;
    }
    if (!s.primary || dm.source != s.primary.address()) return;
    s.pending.fail_all(make_error(errc::disconnected, "the primary's connection was lost"));
    self->quit(dm.reason);
  });
  const auto long_wait = std::chrono::hours(1) + std::chrono::minutes(1);
  return {
      [self](get_request& r) { return route_read<get_reply>(self, std::move(r)); },
      [self](multi_get_request& r) { return route_read<multi_get_reply>(self, std::move(r)); },
      [self](scan_request& r) { return route_read<scan_reply>(self, std::move(r)); },
      // A kept snapshot lives on the node that took it: snapshot reads all
      // go to the primary.
      [self](snapshot_read_request& r) {
        return to_primary<snapshot_read_reply>(self, std::move(r), self->state.timeout);
      },
      [self](write_request& r) {
        return to_primary<commit_ack>(self, std::move(r), self->state.timeout);
      },
      [self](flush_request& r) { return to_primary<commit_ack>(self, r, self->state.timeout); },
      [self](stats_request& r) { return to_primary<stats_reply>(self, r, self->state.timeout); },
      [self](status_request& r) { return to_primary<status_reply>(self, r, self->state.timeout); },
      [self, long_wait](drain_request& r) { return to_primary<drain_reply>(self, r, long_wait); },
      [self](outcome_request& r) {
        return to_primary<outcome_reply>(self, std::move(r), self->state.timeout);
      },
      [self, long_wait](checkpoint_request& r) {
        return to_primary<checkpoint_reply>(self, std::move(r), long_wait);
      },
      [self](log_request& r) { return to_primary<log_reply>(self, r, self->state.timeout); },
      [self, long_wait](snapshot_request& r) {
        return to_primary<snapshot_reply>(self, r, long_wait);
      },
      [self](chunk_request& r) {
        return to_primary<chunk_reply>(self, std::move(r), self->state.timeout);
      },
      [self](snapshot_release& r) {
        return to_primary<release_reply>(self, r, self->state.timeout);
      },
      [self](promote_request& r) {
        return to_primary<promote_reply>(self, r, self->state.timeout);
      },
      [](tick_atom) {},
      [](min_seq_atom) {},
      [](read_batch_atom) {},
      [](written_parts&) {},
  };
}

}  // namespace

manager_actor spawn_read_router(caf::actor_system& sys, manager_actor primary,
                                manager_actor replica, bool read_your_writes, caf::timespan timeout,
                                uint64_t seen_seq) {
  return sys.spawn(read_router, std::move(primary), std::move(replica), read_your_writes, timeout,
                   seen_seq);
}

}  // namespace vstore
