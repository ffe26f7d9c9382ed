#include "actors/snapshot_table.hpp"

#include <map>
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

/// read_items' loop over the reads `get`, `multi_get` and `scan` make
/// (blocking, or cache-only: std::nullopt when one would wait). The point gets
/// of one space go as one multi_get when there are several.
template <class Get, class MultiGet, class Scan>
std::optional<status> read_each(const std::vector<read_item>& items, std::vector<read_result>& out,
                                Get&& get, MultiGet&& multi_get, Scan&& scan) {
  out.clear();
  out.resize(items.size());
  std::map<space_id, std::vector<size_t>> gets;
  for (size_t i = 0; i < items.size(); ++i)
    if (!items[i].scan) gets[items[i].space].push_back(i);
  std::vector<bool> answered(items.size(), false);
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> values;
  for (const auto& [space, at] : gets) {
    if (at.size() < 2) continue;
    keys.clear();
    for (auto i : at) keys.push_back(items[i].key);
    auto st = multi_get(space, keys, values);
    if (st && *st && values.size() != at.size())
      st = status{errc::internal, "a multi_get of " + std::to_string(at.size()) +
                                      " keys answered " + std::to_string(values.size())};
    if (!st || !*st) {
      out.clear();
      return st;
    }
    for (size_t n = 0; n < at.size(); ++n) {
      auto& r = out[at[n]];
      r.found = values[n].has_value();
      if (r.found) r.value = std::move(*values[n]);
      answered[at[n]] = true;
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (answered[i]) continue;
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
      [&](space_id space, const std::vector<std::string>& keys,
          std::vector<std::optional<std::string>>& values) -> std::optional<status> {
        return from.multi_get(space, keys, values);
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
      [&](space_id space, const std::vector<std::string>& keys,
          std::vector<std::optional<std::string>>& values) {
        return from.try_multi_get(space, keys, values);
      },
      [&](const read_item& it, scan_page& page) {
        return from.try_scan(it.space, it.key, it.start_after, it.limit, page);
      });
}

}  // namespace vstore
