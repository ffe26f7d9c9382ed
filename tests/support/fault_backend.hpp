#pragma once

// Fault injection for actor tests: hooks that make readers, writers or the
// committer throw on command, and a gate that holds a writer or reader inside
// its handler until the test opens it (to build a backlog deterministically).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "actors/fault_hooks.hpp"

namespace vstore::test {

/// Hooks whose faults a test arms from its own thread.
class fault_switch : public fault_hooks {
 public:
  /// The next `n` reads of `space` throw (each kills its reader).
  void fail_reads(space_id space, int n) { read_faults_[space] = n; }
  /// The next `n` parts received by the writer of `space` throw.
  void fail_writes(space_id space, int n) { write_faults_[space] = n; }
  /// The writer of `space` throws at the `nth` part it receives from now on
  /// (1-based), whatever came before.
  void fail_nth_write(space_id space, int nth) {
    std::lock_guard<std::mutex> g{mtx_};
    nth_space_ = space;
    nth_at_ = nth;
    nth_seen_ = 0;
  }
  /// The next `n` commits throw (each kills the committer).
  void fail_commits(int n) { commit_faults_ = n; }
  /// The next `n` commits throw right after the backend applied them (the
  /// commit actor dies with its round committed and unanswered).
  void fail_after_commits(int n) { after_commit_faults_ = n; }
  /// Breaks the store on purpose: the committer applies a batch again even
  /// when its token already committed (a check of "applied once" must fail).
  void break_dedup() { dedup_ = false; }
  /// The manager's tick comes every `period` instead of its usual 100 ms (20
  /// during a drain): what must not wait for a tick shows that it does not.
  void slow_ticks(std::chrono::milliseconds period) { tick_ms_ = period.count(); }

  /// Holds the writer of `space` inside its handler at its `nth` part (1-based)
  /// until open() or `max_wait`.
  void gate_writer(space_id space, int nth) {
    std::lock_guard<std::mutex> g{mtx_};
    gate_space_ = space;
    gate_at_ = nth;
    gate_writes_seen_ = 0;
    gate_readers_ = false;
    open_ = false;
  }
  /// Holds every reader of `space` inside its handler until open().
  void gate_readers(space_id space) {
    std::lock_guard<std::mutex> g{mtx_};
    gate_space_ = space;
    gate_readers_ = true;
    gate_at_ = 0;
    open_ = false;
  }
  /// Holds the committer inside its next commit, before it writes, until
  /// open() (at most 20 s).
  void gate_commit() {
    std::lock_guard<std::mutex> g{mtx_};
    gate_commit_ = true;
    open_ = false;
  }
  /// Waits (at most 20 s) until `n` actors have waited at the gate so far;
  /// returns whether they did.
  bool wait_gated(int n) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, std::chrono::seconds(20), [this, n] { return gated_.load() >= n; });
  }
  /// Waits (at most 20 s) until the writer of `space` has received `n` parts
  /// since the switch was made; returns whether it did.
  bool wait_writes(space_id space, uint64_t n) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, std::chrono::seconds(20),
                        [this, space, n] { return writes_seen_[space] >= n; });
  }
  /// Lets gated actors continue.
  void open() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      open_ = true;
      ++openings_;
    }
    cv_.notify_all();
  }
  /// Returns how many actors have waited at the gate so far.
  int gated() const { return gated_.load(); }
  /// Keeps the writer of `space` inside its handler for `d` at its `nth` part.
  void delay_writer(space_id space, int nth, std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> g{mtx_};
    delay_space_ = space;
    delay_at_ = nth;
    delay_seen_ = 0;
    delay_ = d;
  }

  void on_read(space_id space) override {
    if (take(read_faults_[space])) throw std::runtime_error("injected read fault");
    std::unique_lock<std::mutex> g{mtx_};
    if (gate_readers_ && space == gate_space_ && !open_) wait(g);
  }
  void on_write(space_id space) override {
    if (take(write_faults_[space])) throw std::runtime_error("injected write fault");
    std::unique_lock<std::mutex> g{mtx_};
    ++writes_seen_[space];
    cv_.notify_all();
    if (space == nth_space_ && ++nth_seen_ == nth_at_)
      throw std::runtime_error("injected write fault");
    if (space == delay_space_ && ++delay_seen_ == delay_at_) {
      cv_.wait_for(g, delay_, [] { return false; });
    }
    if (!gate_readers_ && space == gate_space_ && ++gate_writes_seen_ == gate_at_ && !open_)
      wait(g);
  }
  void on_commit() override {
    {
      std::unique_lock<std::mutex> g{mtx_};
      if (gate_commit_ && !open_) {
        gate_commit_ = false;
        wait(g);
      }
    }
    if (take(commit_faults_)) throw std::runtime_error("injected commit fault");
  }
  void after_commit() override {
    if (take(after_commit_faults_)) throw std::runtime_error("injected fault after a commit");
  }
  bool dedup_tokens() override { return dedup_.load(); }
  std::chrono::milliseconds tick_period(std::chrono::milliseconds usual) override {
    auto ms = tick_ms_.load();
    return ms > 0 ? std::chrono::milliseconds(ms) : usual;
  }

 private:
  /// Waits until the next open() (a gate closed again right after opening
  /// still releases everyone who waited before).
  void wait(std::unique_lock<std::mutex>& g) {
    ++gated_;
    cv_.notify_all();
    auto seen = openings_;
    cv_.wait_for(g, std::chrono::seconds(20), [this, seen] { return openings_ != seen; });
  }

  /// Consumes one armed fault; returns whether there was one.
  static bool take(std::atomic<int>& n) {
    auto cur = n.load();
    while (cur > 0)
      if (n.compare_exchange_weak(cur, cur - 1)) return true;
    return false;
  }

  std::atomic<int> read_faults_[max_spaces] = {};
  std::atomic<int> write_faults_[max_spaces] = {};
  std::atomic<int> commit_faults_{0};
  std::atomic<int> after_commit_faults_{0};
  std::atomic<bool> dedup_{true};
  std::atomic<int64_t> tick_ms_{0};
  std::atomic<int> gated_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  int gate_space_ = -1;
  int gate_at_ = 0;
  int gate_writes_seen_ = 0;
  bool gate_readers_ = false;
  bool gate_commit_ = false;
  bool open_ = true;
  uint64_t writes_seen_[max_spaces] = {};
  uint64_t openings_ = 0;
  int nth_space_ = -1;
  int nth_at_ = 0;
  int nth_seen_ = 0;
  int delay_space_ = -1;
  int delay_at_ = 0;
  int delay_seen_ = 0;
  std::chrono::milliseconds delay_{0};
};

}  // namespace vstore::test
