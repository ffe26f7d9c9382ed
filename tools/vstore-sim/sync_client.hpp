#pragma once

// Blocking calls to a manager for vstore-sim's main thread (genesis, stats,
// verification, drain), through a scoped actor. Every call waits at most the
// timeout given at construction.

#include <optional>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"
#include "vstore/protocol.hpp"

namespace vstore::sim {

/// A blocking handle to a manager, usable from one (non-actor) thread.
class sync_client {
 public:
  /// Talks to `manager` from a scoped actor of `sys`.
  sync_client(caf::actor_system& sys, manager_actor manager, caf::timespan timeout);

  /// Sends `req` and waits for its reply (or an error, or the timeout). Once
  /// the manager is known to be down, answers errc::disconnected at once.
  template <class Reply, class Request>
  status ask(Request req, Reply& out, caf::timespan timeout) {
    if (manager_down()) return {errc::disconnected, "the store went down"};
    status result;
    self_->request(manager_, timeout, std::move(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }
  /// Same with the default timeout.
  template <class Reply, class Request>
  status ask(Request req, Reply& out) {
    return ask(std::move(req), out, timeout_);
  }

  /// Reads one key; `out` is empty when the key does not exist.
  status get(space_id space, std::string key, std::optional<std::string>& out);
  /// Commits a write and waits for its acknowledgement.
  status write(write_request req);
  /// Reads every entry of `space` in key order, `page` entries per request.
  status scan_all(space_id space, uint32_t page, std::vector<key_value>& out);
  /// Reads what the verification needs.
  status load_image(const space_set& s, uint32_t page, store_image& out);

 private:
  /// Takes a pending down message of the manager, if any, without waiting.
  bool manager_down();

  caf::scoped_actor self_;
  manager_actor manager_;
  caf::timespan timeout_;
  bool down_ = false;
};

}  // namespace vstore::sim
