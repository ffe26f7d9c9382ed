#pragma once

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "vstore/protocol.hpp"

namespace vstore {

/// Answers one actor hands another without a message of their own: the
/// commit actor's acknowledged writes for the manager (settled_box), its
/// answers to a writer's sealed batches (answer_box). The giver puts before
/// it sends anything that could make the taker look (an acknowledgement, say);
/// the taker takes at the start of every handler that reads what the answers
/// change. So whatever arrives after the put finds it taken, as when the
/// answer was a message that came first, and the taker saves an activation
/// per answer.
///
/// Unlike a message, an answer in the box overtakes the messages already
/// queued: one sent before the put can find it taken too. A handler whose
/// meaning depends on what came before it registers first and takes after
/// (the writer's flush: it covers the batches sealed before it and fails if
/// one of them failed).
///
/// When the taker waits for answers that no message of its own would bring
/// (an outcome lookup held for an in-flight token, a drain, a flush), it asks
/// to be woken: the next put() then returns true and the giver sends it a
/// message, which makes it look here. Thread-safe; a plain class, tested
/// without CAF (tests/actors/handoff_box_test.cpp).
template <class T>
class handoff_box {
 public:
  /// Adds an answer; returns whether the taker asked to be woken (the caller
  /// then sends it a message).
  bool put(T&& x) {
    std::lock_guard<std::mutex> lock{mutex_};
    items_.push_back(std::move(x));
    any_.store(true, std::memory_order_release);
    return wake_;
  }

  /// Takes every answer put since the last take (none: empty, without
  /// locking).
  std::vector<T> take() {
    if (!any_.load(std::memory_order_acquire)) return {};
    std::lock_guard<std::mutex> lock{mutex_};
    any_.store(false, std::memory_order_relaxed);
    return std::exchange(items_, {});
  }

  /// Sets whether put() asks for a wake-up; returns whether answers are
  /// waiting, put before the taker asked (take them now: no wake-up comes
  /// for those).
  bool wake_on_put(bool on) {
    std::lock_guard<std::mutex> lock{mutex_};
    wake_ = on;
    return !items_.empty();
  }

 private:
  std::mutex mutex_;
  std::vector<T> items_;
  /// Whether items_ is not empty: take() looks without the lock.
  std::atomic<bool> any_{false};
  bool wake_ = false;
};

/// The writes the commit actor acknowledged, one written_parts per sealed
/// batch, for the manager: it takes them at the start of every handler that
/// reads what is in flight (a write, a flush, stats, status, a drain, an
/// outcome lookup, its tick, a child going down), and asks for a wake-up
/// (an empty written_parts) while outcome lookups or a drain wait.
using settled_box = handoff_box<written_parts>;

}  // namespace vstore
