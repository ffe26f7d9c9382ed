#pragma once

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "vstore/protocol.hpp"

namespace vstore {

/// The writes the commit actor acknowledged, handed to the manager without a
/// message of their own. The commit actor puts a batch's committed writes
/// here before it acknowledges their clients; the manager takes them at the
/// start of every handler that reads what is in flight (a write, a flush,
/// stats, status, a drain, an outcome lookup, its tick, a child going down).
/// Whatever a client sends after its acknowledgement therefore finds its
/// write settled, as when a written_parts message came first, and a
/// sequential commit costs the manager one activation instead of two.
///
/// When the manager waits for settlements that no message of its own would
/// bring (outcome lookups held for an in-flight token, a drain), it asks to
/// be woken: the next put() then returns true and the commit actor sends the
/// manager an empty written_parts, which makes it look here. Thread-safe; a
/// plain class, tested without CAF (tests/actors/settled_box_test.cpp).
class settled_box {
 public:
  /// Adds a batch's committed writes; returns whether the manager asked to be
  /// woken (the caller then sends it a message).
  bool put(written_parts&& batch) {
    std::lock_guard<std::mutex> lock{mutex_};
    batches_.push_back(std::move(batch));
    any_.store(true, std::memory_order_release);
    return wake_;
  }

  /// Takes every batch put since the last take (none: empty, without
  /// locking).
  std::vector<written_parts> take() {
    if (!any_.load(std::memory_order_acquire)) return {};
    std::lock_guard<std::mutex> lock{mutex_};
    any_.store(false, std::memory_order_relaxed);
    return std::exchange(batches_, {});
  }

  /// Sets whether put() asks for a wake-up; returns whether batches are
  /// waiting, put before the manager asked (take them now: no wake-up comes
  /// for those).
  bool wake_on_put(bool on) {
    std::lock_guard<std::mutex> lock{mutex_};
    wake_ = on;
    return !batches_.empty();
  }

 private:
  std::mutex mutex_;
  std::vector<written_parts> batches_;
  /// Whether batches_ is not empty: take() looks without the lock.
  std::atomic<bool> any_{false};
  bool wake_ = false;
};

}  // namespace vstore
