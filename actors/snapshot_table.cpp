#include "actors/snapshot_table.hpp"

#include <utility>

namespace vstore {

snapshot_table::snapshot_table(size_t max, clock::duration lease)
    : max_(max), lease_(lease), ids_(std::random_device{}()) {}

uint64_t snapshot_table::keep(std::shared_ptr<const read_view> view,
                              std::shared_ptr<const store> owner, clock::time_point now) {
  if (held_.size() >= max_) expire(now);
  if (held_.size() >= max_) return 0;
  uint64_t id = 0;
  do {
    id = ids_();
  } while (id == 0 || held_.count(id) > 0);
  held_.emplace(id, entry{std::move(view), std::move(owner), now + lease_});
  return id;
}

const snapshot_table::entry* snapshot_table::find(uint64_t id, clock::time_point now) {
  auto i = held_.find(id);
  if (i == held_.end()) return nullptr;
  if (now >= i->second.expires) {
    held_.erase(i);
    ++expired_total_;
    return nullptr;
  }
  i->second.expires = now + lease_;
  return &i->second;
}

bool snapshot_table::release(uint64_t id) { return held_.erase(id) > 0; }

size_t snapshot_table::expire(clock::time_point now) {
  size_t n = 0;
  for (auto i = held_.begin(); i != held_.end();) {
    if (now >= i->second.expires) {
      i = held_.erase(i);
      ++n;
    } else {
      ++i;
    }
  }
  expired_total_ += n;
  return n;
}

namespace {

/// read_items' loop over the reads `get` and `scan` make (blocking, or
/// cache-only: std::nullopt when one would wait).
template <class Get, class Scan>
std::optional<status> read_each(const std::vector<read_item>& items, std::vector<read_result>& out,
                                Get&& get, Scan&& scan) {
  out.clear();
  out.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    auto& r = out[i];
    std::optional<status> st;
    if (it.scan) {
      scan_page page;
      st = scan(it, page);
      r.entries = std::move(page.entries);
      r.more = page.more;
    } else {
      st = get(it, r);
    }
    if (!st || !*st) {
      out.clear();
      return st;
    }
  }
  return status{};
}

}  // namespace

status read_items(const read_store& from, const std::vector<read_item>& items,
                  std::vector<read_result>& out) {
  return *read_each(
      items, out,
      [&](const read_item& it, read_result& r) -> std::optional<status> {
        return from.get(it.space, it.key, r.value, r.found);
      },
      [&](const read_item& it, scan_page& page) -> std::optional<status> {
        return from.scan(it.space, it.key, it.start_after, it.limit, page);
      });
}

std::optional<status> try_read_items(const read_store& from, const std::vector<read_item>& items,
                                     std::vector<read_result>& out) {
  return read_each(
      items, out,
      [&](const read_item& it, read_result& r) {
        return from.try_get(it.space, it.key, r.value, r.found);
      },
      [&](const read_item& it, scan_page& page) {
        return from.try_scan(it.space, it.key, it.start_after, it.limit, page);
      });
}

}  // namespace vstore
