#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace vstore {

/// Keeps the backend writes of successive commit actors in order. A commit
/// actor may hand a round to its I/O thread and then die (a throw in one of
/// its handlers) before the write ran; the manager then starts a new commit
/// actor, which answers the dead one's rounds in doubt and goes on writing.
/// The old round must not land after the new actor's writes: every write runs
/// under the gate with the era of the actor that prepared it, and a write of
/// an earlier era is dropped. A write already running when the era changes
/// finishes first (the next write waits for the lock). One gate per manager,
/// shared by every commit actor it starts. Thread-safe.
class commit_gate {
 public:
  /// Starts the era of a new commit actor and returns it: writes of earlier
  /// eras that have not started yet will never run.
  uint64_t open_era() noexcept { return era_.fetch_add(1, std::memory_order_acq_rel) + 1; }

  /// Runs `write` under the gate if `era` is the current one and returns
  /// true; returns false without running it otherwise.
  template <class F>
  bool run(uint64_t era, F&& write) {
    std::lock_guard<std::mutex> guard{lock_};
    if (era != era_.load(std::memory_order_acquire)) return false;
    write();
    return true;
  }

 private:
  std::mutex lock_;
  std::atomic<uint64_t> era_{0};
};

}  // namespace vstore
