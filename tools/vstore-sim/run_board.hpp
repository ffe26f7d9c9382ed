#pragma once

// What the scheduler actors share with the main thread: progress counters,
// the first error, their final reports, and the ack log. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::sim {

/// The final state of one lane (chain).
struct lane_report {
  uint64_t chain = 0;
  /// Batches in batch_metadata after the lane's last acknowledged write.
  uint64_t live = 0;
  /// False if a write of the lane failed: its outcome is unknown, so `live`
  /// is not a reliable expectation.
  bool clean = true;
};

/// What a scheduler reports when all its lanes are done.
struct scheduler_report {
  uint32_t scheduler = 0;
  std::vector<lane_report> lanes;
  /// Latency of every acknowledged write request (first send to reply), ns.
  std::vector<uint64_t> write_latency_ns;
};

/// Progress counters, updated by the schedulers as they go (relaxed atomics).
struct run_counters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> transfers{0};
  std::atomic<uint64_t> read_requests{0};
  std::atomic<uint64_t> read_keys{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> rollbacks{0};
  std::atomic<uint64_t> rolled_back_batches{0};
  std::atomic<uint64_t> prunes{0};
  std::atomic<uint64_t> pruned_batches{0};
  std::atomic<uint64_t> pruned_versions{0};
  std::atomic<uint64_t> retries{0};
};

/// A batch commit as the schedulers publish it for the torn-state reader.
struct published_batch {
  uint64_t index = 0;
  uint64_t version = 0;
  /// The resources it touches, ascending.
  std::vector<uint64_t> touched;
  /// The batch_metadata value its commit writes.
  std::string meta;
  /// The count of rollback writes sent (all chains) when the commit was sent.
  uint64_t rollbacks = 0;
};

/// What the schedulers tell the torn-state reader: the newest batch commit
/// sent and the recent rollback writes sent. Thread-safe (one mutex);
/// disabled (every call returns at once) unless enable() was called.
class torn_feed {
 public:
  /// Turns publishing on (before the schedulers start).
  void enable() noexcept { enabled_.store(true, std::memory_order_relaxed); }
  /// Returns whether publishing is on.
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  /// Publishes a batch commit; call it before sending the write.
  void commit_sent(published_batch b);
  /// Records a rollback write removing the batches of its chain from global
  /// index `first` on; call it before sending the write.
  void rollback_sent(uint64_t first);
  /// Returns the newest batch commit published since the last call, if any.
  std::optional<published_batch> take();
  /// Returns whether a rollback write that may remove batch `b` was sent
  /// after `b` was published (true, conservatively, when that is no longer
  /// known: only the newest `kept_rollbacks` rollbacks are remembered).
  bool rolled_back(const published_batch& b) const;

  /// Rollbacks remembered.
  static constexpr size_t kept_rollbacks = 1024;

 private:
  std::atomic<bool> enabled_{false};
  mutable std::mutex mtx_;
  std::optional<published_batch> newest_;
  /// Rollbacks sent so far, and the first batch index of the newest ones.
  uint64_t rollbacks_ = 0;
  std::deque<uint64_t> recent_;
};

/// The meeting point of the scheduler actors and the main thread.
class run_board {
 public:
  run_counters counters;
  /// The torn-state reader's feed.
  torn_feed torn;

  /// Records an error; the first one becomes the run's failure reason. Lanes
  /// stop at their next step once failed() is true.
  void fail(std::string what);
  /// Returns whether any error was recorded.
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// Returns the first error and the number of errors.
  std::string first_error() const;
  uint64_t errors() const;

  /// Stores a scheduler's final report and wakes the main thread.
  void finish(scheduler_report r);
  /// Waits up to `d` until `n` reports arrived; returns whether they did.
  bool wait(size_t n, std::chrono::milliseconds d);
  /// Returns the time the last report arrived.
  std::chrono::steady_clock::time_point last_finish() const;
  /// Moves the reports out.
  std::vector<scheduler_report> take_reports();

 private:
  std::atomic<bool> failed_{false};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::string first_error_;
  uint64_t errors_ = 0;
  std::vector<scheduler_report> reports_;
  std::chrono::steady_clock::time_point last_finish_{};
};

/// The --ack-log file (the side log of the exact crash check, ack_check.hpp):
/// "intent TOKEN" before a write that changes a chain's batches is sent, and
/// "ack TOKEN" after its acknowledgement arrived. Each line is flushed to the
/// OS before the call returns, so it survives a SIGKILL of the process (not a
/// power loss): a crash may lose the last acks and leave the last line torn,
/// never log a write that was sent without its intent.
class ack_log {
 public:
  ack_log() = default;
  ~ack_log();
  ack_log(const ack_log&) = delete;
  ack_log& operator=(const ack_log&) = delete;

  /// Opens `path` for appending (creating it). Blocks on file I/O.
  status open(const std::string& path);
  /// Appends "intent TOKEN"; call it before sending the write. Blocks on file
  /// I/O (a small write, no fsync).
  void intent(const std::string& token);
  /// Appends "ack TOKEN"; call it once the write's commit_ack arrived.
  void ack(const std::string& token);

 private:
  void line(const char* verb, const std::string& token);
  std::mutex mtx_;
  std::FILE* file_ = nullptr;
};

}  // namespace vstore::sim
