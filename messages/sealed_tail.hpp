#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "messages/internal.hpp"

namespace vstore {

/// The end of a sealed batch on its way to the commit actor, shared by its
/// writer and the commit actor. While the commit actor is busy writing a
/// round, the batch waits in its mailbox; a batch the writer flushes in that
/// time joins the waiting one here instead of going as a message of its own,
/// and is taken with it when the commit actor receives it, into the same
/// round it would have joined as a batch of its own. That saves the commit
/// actor, the writer and the manager one message each per flush when many
/// small writes arrive one at a time. Thread-safe.
class sealed_tail {
 public:
  /// Appends `parts` (a space's parts in g order, after every part of the
  /// batch) and returns true, unless the commit actor took the batch: then
  /// returns false and leaves `parts` as they were.
  bool join(std::vector<batch_part>& parts) {
    std::lock_guard<std::mutex> guard{lock_};
    if (taken_) return false;
    if (parts_.empty()) {
      parts_ = std::move(parts);
    } else {
      for (auto& p : parts) parts_.push_back(std::move(p));
    }
    parts.clear();
    return true;
  }

  /// Returns the parts that joined; every later join fails.
  std::vector<batch_part> take() {
    std::lock_guard<std::mutex> guard{lock_};
    taken_ = true;
    return std::move(parts_);
  }

 private:
  std::mutex lock_;
  bool taken_ = false;
  std::vector<batch_part> parts_;
};

}  // namespace vstore
