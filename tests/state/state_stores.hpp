#pragma once

// Store decorators for the state service's tests. The state service reads at
// snapshots, which tests/support's forwarding_store does not take, so these
// forward snapshot() to the inner store as well:
//
//   snapshot_forwarding   healthy: forwards everything
//   drop_range_store      ignores delete_range (a rollback leaves the undone
//                         batches' keys behind)
//   gate_store            holds commits until released (a slow disk), or
//                         fails the next ones (applied or not) as a failing
//                         disk does
//
// Nothing here sleeps; every wait is bounded.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "tests/support/broken_stores.hpp"

namespace vstore::test {

/// The healthy decorator, with snapshots.
class snapshot_forwarding : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  status snapshot(std::shared_ptr<const read_view>& out) const override {
    return inner_->snapshot(out);
  }
};

/// Ignores delete_range; every other operation of a batch is committed.
class drop_range_store final : public snapshot_forwarding {
 public:
  using snapshot_forwarding::snapshot_forwarding;
  const char* defect() const noexcept override { return "drop_del_range"; }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    return commit_ops(b.ops(), seq, [](const recorded_op& op) {
      return op.what != recorded_op::kind::del_range;
    });
  }
};

/// Holds commits while blocked (at most 20 s each); fails the next `n`
/// commits with errc::io_error, each applied first when asked to.
class gate_store final : public snapshot_forwarding {
 public:
  using snapshot_forwarding::snapshot_forwarding;
  const char* defect() const noexcept override { return "gate"; }

  void block() {
    std::lock_guard<std::mutex> g{mtx_};
    blocked_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      blocked_ = false;
    }
    cv_.notify_all();
  }
  /// Waits until `n` commits are held (bounded); returns whether they are.
  bool wait_held(int n, std::chrono::milliseconds max_wait = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, max_wait, [&] { return held_ >= n; });
  }
  void fail_next(int n, bool applied) {
    std::lock_guard<std::mutex> g{mtx_};
    failures_ = n;
    fail_applied_ = applied;
  }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    bool fail = false;
    bool applied = false;
    {
      std::unique_lock<std::mutex> g{mtx_};
      if (blocked_) {
        ++held_;
        cv_.notify_all();
        cv_.wait_for(g, std::chrono::seconds(20), [this] { return !blocked_; });
        --held_;
      }
      if (failures_ > 0) {
        --failures_;
        fail = true;
        applied = fail_applied_;
      }
    }
    if (fail && !applied) return {errc::io_error, "injected: commit refused"};
    auto st = forwarding_store::commit_recorded(b, seq);
    if (fail) return {errc::io_error, "injected: commit applied, then failed"};
    return st;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool blocked_ = false;
  int held_ = 0;
  int failures_ = 0;
  bool fail_applied_ = false;
};

}  // namespace vstore::test
