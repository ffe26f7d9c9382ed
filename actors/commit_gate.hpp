#pragma once

#include <cstdint>
#include <mutex>

namespace vstore {

/// Keeps the backend writes of successive commit actors in order. A commit
/// actor may hand a round to its I/O thread and then die (a throw in one of
/// its handlers) before or while the write runs; the manager then starts a
/// new commit actor, which answers the dead one's rounds in doubt, reads the
/// token records from the store and goes on writing. The old round must
/// neither land after the new actor's writes nor after it read the tokens:
/// every write runs under the gate with the era of the actor that prepared
/// it, and opening an era waits for a running write, after which writes of
/// earlier eras are dropped. One gate per manager, shared by every commit
/// actor it starts. Thread-safe.
class commit_gate {
 public:
  /// Starts the era of a new commit actor and returns it, once no write of an
  /// earlier era runs any more: those that have not started never will.
  /// Waits for a running write (only a restarted commit actor calls it).
  uint64_t open_era() {
    std::lock_guard<std::mutex> guard{lock_};
    return ++era_;
  }

  /// Runs `write` under the gate if `era` is the current one and returns
  /// true; returns false without running it otherwise.
  template <class F>
  bool run(uint64_t era, F&& write) {
    std::lock_guard<std::mutex> guard{lock_};
    if (era != era_) return false;
    write();
    return true;
  }

 private:
  std::mutex lock_;
  uint64_t era_ = 0;
};

}  // namespace vstore
