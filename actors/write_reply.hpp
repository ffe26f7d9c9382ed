#pragma once

#include <atomic>
#include <memory>
#include <utility>

#include <caf/error.hpp>
#include <caf/response_promise.hpp>

#include "vstore/requests.hpp"

namespace vstore {

/// The reply to one write, shared by the manager, which admitted the write
/// and holds it in its request table, and the commit actor, which answers it
/// itself once the write committed: the acknowledgement then goes commit
/// actor -> client, not commit actor -> writer -> manager -> client (two
/// scheduled hops fewer on every commit). Just before, the commit actor
/// puts the write in the manager's settled box (handoff_box.hpp), so that the
/// manager settles it (its queue slot, its token) before anything the client
/// sends after the acknowledgement. The manager answers everything else: refusals,
/// aborts, in doubt, deadlines, shutdown.
///
/// Whichever answers first answers; every later answer is dropped and
/// reported as such, so the client gets exactly one reply. A deadline that
/// passes after the commit actor acknowledged finds the write answered and
/// sends nothing. Thread-safe: after construction only the one answer that
/// wins touches the promise.
class write_reply {
 public:
  explicit write_reply(caf::response_promise rp) : rp_(std::move(rp)) {}

  write_reply(const write_reply&) = delete;
  write_reply& operator=(const write_reply&) = delete;

  /// Answers through the admitting actor's promise, from that actor; returns
  /// false (nothing sent) when the write was answered before.
  template <class T>
  bool deliver(T&& x) {
    if (!claim()) return false;
    rp_.deliver(std::forward<T>(x));
    return true;
  }

  /// Answers from `self`, the actor whose handler runs now (the reply goes
  /// out from its thread and names it as the sender); returns false when the
  /// write was answered before.
  bool deliver_from(caf::strong_actor_ptr self, const commit_ack& ack) {
    if (!claim()) return false;
    caf::response_promise{std::move(self), rp_.source(), rp_.stages(), rp_.id()}.deliver(ack);
    return true;
  }

  /// The manager's id of the write (its request table's), set before the
  /// write is sent on; the commit actor reports the acknowledgement under it.
  uint64_t id = 0;

 private:
  bool claim() { return !answered_.exchange(true, std::memory_order_acq_rel); }

  std::atomic<bool> answered_{false};
  caf::response_promise rp_;
};

/// The manager's handle on a write's reply (its request table's write
/// promise): delivers through the shared write_reply.
class write_promise {
 public:
  write_promise() = default;
  explicit write_promise(std::shared_ptr<write_reply> reply) : reply_(std::move(reply)) {}

  /// Delivers `x` unless the write was answered before; returns whether it did.
  template <class T>
  bool deliver(T&& x) {
    return reply_ && reply_->deliver(std::forward<T>(x));
  }

 private:
  std::shared_ptr<write_reply> reply_;
};

}  // namespace vstore
