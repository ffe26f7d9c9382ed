#pragma once

// Reads held on a read replica until it has applied the primary's log through
// the sequence they carry (min_seq): the rule as a plain class, no CAF. The
// manager holds a read here when its min_seq is past the applied sequence and
// looks again as the follower applies more; a read whose wait ends first is
// answered errc::lagging.

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

namespace vstore {

template <class Waiter>
class min_seq_gate {
 public:
  using clock = std::chrono::steady_clock;

  /// Holds `w` until `min_seq` is applied or `deadline` passes.
  void hold(uint64_t min_seq, clock::time_point deadline, Waiter w) {
    held_.push_back(entry{min_seq, deadline, std::move(w)});
  }

  /// Moves the waiters whose sequence is applied (`applied` >= min_seq) to
  /// `ready`, then those past their deadline to `expired`, in the order they
  /// were held; keeps the rest.
  void release(uint64_t applied, clock::time_point now, std::vector<Waiter>& ready,
               std::vector<Waiter>& expired) {
    auto keep = held_.begin();
    for (auto& e : held_) {
      if (applied >= e.min_seq)
        ready.push_back(std::move(e.w));
      else if (now >= e.deadline)
        expired.push_back(std::move(e.w));
      else {
        // Never a self-move: it empties a std::string or std::vector.
        if (&*keep != &e) *keep = std::move(e);
        ++keep;
      }
    }
    held_.erase(keep, held_.end());
  }

  /// Removes and returns every waiter (the store drains).
  std::vector<Waiter> take_all() {
    std::vector<Waiter> out;
    for (auto& e : held_) out.push_back(std::move(e.w));
    held_.clear();
    return out;
  }

  bool empty() const noexcept { return held_.empty(); }
  size_t size() const noexcept { return held_.size(); }

 private:
  struct entry {
    uint64_t min_seq;
    clock::time_point deadline;
    Waiter w;
  };
  std::vector<entry> held_;
};

}  // namespace vstore
