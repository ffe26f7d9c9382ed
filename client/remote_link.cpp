// The link actor (remote.hpp): the blocking client talks to a local actor
// that implements the manager's interface: it forwards each request to the
// remote manager, keeps the request's response promise, and monitors the
// remote manager. When the connection dies, CAF does not fail requests
// pending on the proxy (they would only run into their timeout), so the link
// fails every one of them at once with errc::disconnected and answers later
// requests the same way, until the client replaces it with a link over a new
// connection.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "client/relay.hpp"
#include "client/remote.hpp"

namespace vstore {

namespace {

/// A request forwarded and not answered yet: fails its promise.
struct link_state {
  manager_actor remote;
  std::shared_ptr<link_flag> flag;
  caf::timespan timeout{};
  caf::timespan drain_timeout{};
  std::string peer;
  pending_relays pending;
  static inline const char* name = "vstore.remote_link";
};

using link_pointer = manager_actor::stateful_pointer<link_state>;

/// How long the link waits for a checkpoint's answer: the server's own bound
/// (checkpoint_request), longer than any sensible client::checkpoint timeout
/// (the client's own wait ends first; this only bounds the pending entry).
constexpr auto checkpoint_timeout = std::chrono::seconds(3660);

/// Forwards `req` to the remote manager and relays its reply or error.
template <class Reply, class Request>
caf::result<Reply> forward(link_pointer self, Request&& req, caf::timespan t) {
  auto& st = self->state;
  if (!st.remote) return make_error(errc::disconnected, "connection to " + st.peer + " lost");
  return relay<Reply>(self, st.remote, std::forward<Request>(req), t);
}

manager_actor::behavior_type remote_link(link_pointer self, manager_actor remote,
                                         std::shared_ptr<link_flag> flag, caf::timespan timeout,
                                         caf::timespan drain_timeout, std::string peer) {
  auto& st = self->state;
  st.remote = remote;
  st.flag = std::move(flag);
  st.timeout = timeout;
  st.drain_timeout = drain_timeout;
  st.peer = std::move(peer);
  // Normal priority: the down message of a manager that answered a drain
  // and quit then queues behind that answer (a high-priority down message
  // would overtake it and fail the drain as disconnected).
  self->monitor(remote);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.remote || dm.source != s.remote.address()) return;
    s.flag->up = false;
    s.remote = manager_actor{};
    auto err = make_error(errc::disconnected,
                          "connection to " + s.peer + " lost: " + caf::to_string(dm.reason));
    s.pending.fail_all(err);
  });
  return {
      [self](get_request& r) {
        return forward<get_reply>(self, std::move(r), self->state.timeout);
      },
      [self](multi_get_request& r) {
        return forward<multi_get_reply>(self, std::move(r), self->state.timeout);
      },
      [self](scan_request& r) {
        return forward<scan_reply>(self, std::move(r), self->state.timeout);
      },
      [self](snapshot_read_request& r) {
        return forward<snapshot_read_reply>(self, std::move(r), self->state.timeout);
      },
      [self](write_request& r) {
        return forward<commit_ack>(self, std::move(r), self->state.timeout);
      },
      [self](flush_request& r) { return forward<commit_ack>(self, r, self->state.timeout); },
      [self](stats_request& r) { return forward<stats_reply>(self, r, self->state.timeout); },
      [self](status_request& r) { return forward<status_reply>(self, r, self->state.timeout); },
      [self](drain_request& r) { return forward<drain_reply>(self, r, self->state.drain_timeout); },
      [self](outcome_request& r) {
        return forward<outcome_reply>(self, std::move(r), self->state.timeout);
      },
      [self](checkpoint_request& r) {
        return forward<checkpoint_reply>(self, std::move(r), checkpoint_timeout);
      },
      [self](log_request& r) {
        return forward<log_reply>(
            self, r, std::max<caf::timespan>(self->state.timeout, std::chrono::seconds(61)));
      },
      [self](snapshot_request& r) { return forward<snapshot_reply>(self, r, checkpoint_timeout); },
      [self](chunk_request& r) {
        return forward<chunk_reply>(self, std::move(r), self->state.timeout);
      },
      [self](snapshot_release& r) { return forward<release_reply>(self, r, self->state.timeout); },
      [self](promote_request& r) { return forward<promote_reply>(self, r, self->state.timeout); },
      [](tick_atom) {},
      [](min_seq_atom) {},
      [](read_batch_atom) {},
      [](written_parts&) {},
  };
}

}  // namespace

manager_actor spawn_remote_link(caf::actor_system& sys, manager_actor remote,
                                std::shared_ptr<link_flag> flag, caf::timespan timeout,
                                caf::timespan drain_timeout, std::string peer) {
  return sys.spawn(remote_link, std::move(remote), std::move(flag), timeout, drain_timeout,
                   std::move(peer));
}

}  // namespace vstore
