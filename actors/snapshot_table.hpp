#pragma once

// The snapshots that snapshot_read_requests keep between requests (keep =
// true), with their leases: the rule as a plain class, no CAF. The manager
// keeps a view here, finds it again by id (renewing its lease), releases it
// on request, expires it once its lease (reader.snapshot-lease) has run out
// since its last use, and clears the table before it closes the store.
// Plus read_items() and try_read_items(): the reads of one
// snapshot_read_request against a view.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "vstore/requests.hpp"
#include "vstore/store.hpp"

namespace vstore {

class snapshot_table {
 public:
  using clock = std::chrono::steady_clock;

  /// A kept view and the store it reads (held so that the store outlives it).
  struct entry {
    std::shared_ptr<const read_view> view;
    std::shared_ptr<const store> owner;
    clock::time_point expires;
  };

  /// At most `max` views at once, each kept for `lease` after its last use.
  snapshot_table(size_t max, clock::duration lease);

  /// Keeps `view` until `now` + lease; returns its id (random, never 0, so
  /// that an id of an earlier run or another client's is not found by
  /// chance), or 0 when `max` views are kept (after expiring the overdue).
  uint64_t keep(std::shared_ptr<const read_view> view, std::shared_ptr<const store> owner,
                clock::time_point now);

  /// Returns the view kept as `id` with its lease renewed from `now`, or
  /// nullptr when none is (never kept, released, or expired by `now`).
  const entry* find(uint64_t id, clock::time_point now);

  /// Releases `id`; returns whether it was kept.
  bool release(uint64_t id);

  /// Releases every view whose lease ran out by `now`; returns how many.
  size_t expire(clock::time_point now);

  /// Releases every view (the store closes).
  void clear() noexcept { held_.clear(); }

  size_t size() const noexcept { return held_.size(); }
  bool empty() const noexcept { return held_.empty(); }
  /// Views released because their lease ran out, since construction.
  uint64_t expired_total() const noexcept { return expired_total_; }

 private:
  size_t max_;
  clock::duration lease_;
  std::unordered_map<uint64_t, entry> held_;
  std::mt19937_64 ids_;
  uint64_t expired_total_ = 0;
};

/// Answers `items` from `from` in order (out[i] answers items[i]): the key
/// items of one space as one multi_get (a get when there is one), a scan page
/// per page item. The first failed read is the answer (`out` then holds
/// nothing).
status read_items(const read_store& from, const std::vector<read_item>& items,
                  std::vector<read_result>& out);

/// read_items from memtables and the block cache only (read_store::try_get,
/// try_multi_get and try_scan): std::nullopt, and `out` empty, as soon as one
/// read would wait for the disk.
std::optional<status> try_read_items(const read_store& from, const std::vector<read_item>& items,
                                     std::vector<read_result>& out);

}  // namespace vstore
