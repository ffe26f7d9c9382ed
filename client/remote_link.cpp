// The link actor (remote.hpp): the blocking client talks to a local actor
// that implements the manager's interface: it forwards each request to the
// remote manager, keeps the request's response promise, and monitors the
// remote manager. When the connection dies, CAF does not fail requests
// pending on the proxy (they would only run into their timeout), so the link
// fails every one of them at once with errc::disconnected and answers later
// requests the same way, until the client replaces it with a link over a new
// connection.

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "client/remote.hpp"

namespace vstore {

namespace {

/// A request forwarded and not answered yet: fails its promise.
using fail_fn = std::function<void(const caf::error&)>;

struct link_state {
  manager_actor remote;
  std::shared_ptr<link_flag> flag;
  caf::timespan timeout{};
  caf::timespan drain_timeout{};
  std::string peer;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, fail_fn> pending;
  static inline const char* name = "vstore.remote_link";
};

using link_pointer = manager_actor::stateful_pointer<link_state>;

/// Forwards `req` to the remote manager and relays its reply or error.
template <class Reply, class Request>
caf::result<Reply> forward(link_pointer self, Request&& req, caf::timespan t) {
  auto& st = self->state;
  if (!st.remote) return make_error(errc::disconnected, "connection to " + st.peer + " lost");
  auto rp = self->make_response_promise<Reply>();
  auto id = st.next_id++;
  st.pending.emplace(id, [rp](const caf::error& e) mutable { rp.deliver(e); });
  self->request(st.remote, t, std::forward<Request>(req))
      .then(
          [self, id, rp](Reply& r) mutable {
            if (self->state.pending.erase(id) > 0) rp.deliver(std::move(r));
          },
          [self, id, rp](caf::error& e) mutable {
            if (self->state.pending.erase(id) > 0) rp.deliver(std::move(e));
          });
  return rp;
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
  self->monitor<caf::message_priority::high>(remote);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.remote || dm.source != s.remote.address()) return;
    s.flag->up = false;
    s.remote = manager_actor{};
    auto err = make_error(errc::disconnected,
                          "connection to " + s.peer + " lost: " + caf::to_string(dm.reason));
    auto pending = std::move(s.pending);
    s.pending.clear();
    for (auto& kv : pending) kv.second(err);
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
      [](tick_atom) {},
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
