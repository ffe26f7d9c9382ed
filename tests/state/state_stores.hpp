#pragma once

// A store decorator for the state service's tests (the broken ones are in
// tests/support/broken_stores.hpp):
//
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

/// Holds commits while blocked (at most 20 s each); fails the next `n`
/// commits (after `skip` that succeed) with `code` (errc::io_error: in doubt
/// until a reopen; errc::no_space: refused, nothing applied), each applied
/// first when asked to.
class gate_store final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
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
  void fail_next(int n, bool applied, int skip = 0, errc code = errc::io_error) {
    std::lock_guard<std::mutex> g{mtx_};
    failures_ = n;
    fail_applied_ = applied;
    skip_ = skip;
    fail_code_ = code;
  }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    bool fail = false;
    bool applied = false;
    errc code = errc::io_error;
    {
      std::unique_lock<std::mutex> g{mtx_};
      if (blocked_) {
        ++held_;
        cv_.notify_all();
        cv_.wait_for(g, std::chrono::seconds(20), [this] { return !blocked_; });
        --held_;
      }
      if (failures_ > 0 && skip_ > 0) {
        --skip_;
      } else if (failures_ > 0) {
        --failures_;
        fail = true;
        applied = fail_applied_;
        code = fail_code_;
      }
    }
    if (fail && !applied) return {code, "injected: commit refused"};
    auto st = forwarding_store::commit_recorded(b, seq);
    if (fail) return {code, "injected: commit applied, then failed"};
    return st;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool blocked_ = false;
  int held_ = 0;
  int failures_ = 0;
  int skip_ = 0;
  errc fail_code_ = errc::io_error;
  bool fail_applied_ = false;
};

}  // namespace vstore::test
