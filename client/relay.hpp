#pragma once

// Relaying requests to another manager (internal): the blocking client's
// remote link (remote_link.cpp) and vstored's role guard both stand in for a
// manager, forward each request with request/then (never delegate, so the
// target's address never reaches the sender) and must fail every request
// still open at once when the target goes down (CAF would let them run into
// their timeouts).

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

namespace vstore {

/// The requests an actor relayed and has not answered yet.
class pending_relays {
 public:
  /// Remembers how to fail a relayed request; returns its id.
  uint64_t add(std::function<void(const caf::error&)> fail) {
    auto id = next_id_++;
    open_.emplace(id, std::move(fail));
    return id;
  }
  /// Forgets request `id`; false if it was already answered or failed.
  bool take(uint64_t id) { return open_.erase(id) > 0; }
  /// Fails every open request with `err`.
  void fail_all(const caf::error& err) {
    auto open = std::move(open_);
    open_.clear();
    for (auto& kv : open) kv.second(err);
  }

 private:
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, std::function<void(const caf::error&)>> open_;
};

/// Sends `req` to `target` with timeout `t` and relays the reply or error to
/// the sender of the current message; `self`'s state holds the actor's
/// pending_relays as `pending`.
template <class Reply, class Self, class Target, class Request>
caf::result<Reply> relay(Self self, const Target& target, Request&& req, caf::timespan t) {
  auto rp = self->template make_response_promise<Reply>();
  auto id = self->state.pending.add([rp](const caf::error& e) mutable { rp.deliver(e); });
  self->request(target, t, std::forward<Request>(req))
      .then(
          [self, id, rp](Reply& r) mutable {
            if (self->state.pending.take(id)) rp.deliver(std::move(r));
          },
          [self, id, rp](caf::error& e) mutable {
            if (self->state.pending.take(id)) rp.deliver(std::move(e));
          });
  return rp;
}

}  // namespace vstore
