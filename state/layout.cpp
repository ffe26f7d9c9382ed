#include "state/layout.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "vstore/concat_bytes.hpp"

namespace vstore::state_layout {

namespace {

const std::string meta_prefix(8, '\xff');

write_op put_op(space_id s, std::string key, std::string value) {
  return write_op{op_kind::put, s, std::move(key), std::move(value)};
}

write_op del_op(space_id s, std::string key) {
  return write_op{op_kind::del, s, std::move(key), {}};
}

/// Renders a resource id for an error context: hex, at most 16 bytes.
std::string printable(std::string_view id) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < id.size() && i < 16; ++i) {
    out += digits[static_cast<uint8_t>(id[i]) >> 4];
    out += digits[static_cast<uint8_t>(id[i]) & 0xf];
  }
  if (id.size() > 16) out += "...";
  return out;
}

}  // namespace

std::string encode_index(batch_index b) { return std::string{be_u64(b).view()}; }

std::optional<batch_index> decode_index(std::string_view bytes) {
  batch_index out = 0;
  if (bytes.size() != 8 || !read_be(bytes, 0, out)) return std::nullopt;
  return out;
}

std::string version_key(batch_index b, std::string_view resource) {
  return concat_bytes(be_u64(b), resource);
}

std::string head_key() { return meta_prefix + "head"; }

std::string floor_key() { return meta_prefix + "floor"; }

status parse_rollback_entry(const key_value& kv, uint32_t id_length, rollback_entry& out) {
  if (kv.key.size() != 8 + size_t{id_length})
    return {errc::corruption,
            "a rollback entry key of " + std::to_string(kv.key.size()) +
                " bytes (expected 8 + id_length = " + std::to_string(8 + size_t{id_length}) +
                "): is id_length the one the spaces were written with?"};
  auto prev = decode_index(kv.value);
  if (!prev)
    return {errc::corruption, "a rollback entry value of " + std::to_string(kv.value.size()) +
                                  " bytes (expected 8) for resource " +
                                  printable(std::string_view{kv.key}.substr(8))};
  read_be(kv.key, 0, out.batch);
  out.resource = kv.key.substr(8);
  out.prev = *prev;
  return {};
}

// -- apply ------------------------------------------------------------------------

std::vector<change> last_write_wins(std::vector<change> writes) {
  std::unordered_map<std::string, size_t> at;
  std::vector<change> out;
  out.reserve(writes.size());
  for (auto& w : writes) {
    auto [it, fresh] = at.emplace(w.resource, out.size());
    if (fresh)
      out.push_back(std::move(w));
    else
      out[it->second] = std::move(w);
  }
  return out;
}

void build_apply_ops(const space_ids& s, const std::vector<const pending_batch*>& group,
                     std::unordered_map<std::string, batch_index>& latest,
                     std::vector<write_op>& out) {
  std::vector<const std::string*> touched;  // first-touch order, for a stable op order
  std::unordered_set<std::string_view> seen;
  for (const auto* b : group) {
    for (const auto& w : b->writes) {
      auto& version = latest[w.resource];
      if (!w.remove) out.push_back(put_op(s.data, version_key(b->index, w.resource), w.value));
      out.push_back(put_op(s.rollback, version_key(b->index, w.resource), encode_index(version)));
      version = b->index;
      if (seen.insert(w.resource).second) touched.push_back(&w.resource);
    }
    out.push_back(put_op(s.metadata, metadata_key(b->index), b->metadata));
  }
  // One put per pointer, with its value after the whole group.
  for (const auto* r : touched) out.push_back(put_op(s.latest, *r, encode_index(latest[*r])));
  if (!group.empty())
    out.push_back(put_op(s.metadata, head_key(), encode_index(group.back()->index)));
}

// -- rollback -----------------------------------------------------------------------

status rollback_plan::add(const rollback_entry& e) {
  if (e.batch <= index_)
    return {errc::corruption, "a rollback entry of batch " + std::to_string(e.batch) +
                                  " in the scan of batches after " + std::to_string(index_)};
  auto [it, fresh] = restore_.emplace(e.resource, std::make_pair(e.batch, e.prev));
  if (!fresh && e.batch < it->second.first) it->second = {e.batch, e.prev};
  undone_.push_back(version_key(e.batch, e.resource));
  return {};
}

void rollback_plan::build(const space_ids& s, batch_index head, std::vector<write_op>& out,
                          bool skip_one) const {
  bool skipped = !skip_one;
  for (const auto& [resource, oldest] : restore_) {
    if (!skipped) {
      skipped = true;
      continue;
    }
    if (oldest.second == 0)
      out.push_back(del_op(s.latest, resource));
    else
      out.push_back(put_op(s.latest, resource, encode_index(oldest.second)));
  }
  if (index_ < head) {
    // head < 2^64 - 1 (reserved), so head + 1 does not wrap; the meta keys
    // (eight 0xff bytes + a name) sort after any end.
    for (const auto& k : undone_) {
      out.push_back(del_op(s.data, k));
      out.push_back(del_op(s.rollback, k));
    }
    out.push_back(
        write_op{op_kind::del_range, s.metadata, encode_index(index_ + 1), encode_index(head + 1)});
  }
  out.push_back(put_op(s.metadata, head_key(), encode_index(index_)));
}

std::vector<std::string> rollback_plan::restored() const {
  std::vector<std::string> out;
  out.reserve(restore_.size());
  for (const auto& [resource, oldest] : restore_) out.push_back(resource);
  return out;
}

// -- the latest-value cache ----------------------------------------------------------

void latest_cache::put(const std::string& resource, batch_index version, bool removed,
                       const std::string& value) {
  if (capacity_ == 0) return;
  auto it = by_resource_.find(resource);
  if (it == by_resource_.end()) {
    if (by_resource_.size() >= capacity_) drop(by_resource_.begin());
    it = by_resource_.emplace(resource, entry{}).first;
  }
  if (it->second.removed) --removed_;
  if (removed) ++removed_;
  it->second.version = version;
  it->second.removed = removed;
  it->second.value = removed ? std::string{} : value;
}

void latest_cache::erase(const std::string& resource) {
  auto it = by_resource_.find(resource);
  if (it != by_resource_.end()) drop(it);
}

void latest_cache::drop(std::unordered_map<std::string, entry>::iterator it) {
  if (it->second.removed) --removed_;
  by_resource_.erase(it);
}

void latest_cache::forget_removed_through(batch_index floor) {
  for (auto it = by_resource_.begin(); removed_ > 0 && it != by_resource_.end();) {
    auto next = std::next(it);
    if (it->second.removed && it->second.version <= floor) drop(it);
    it = next;
  }
}

const latest_cache::entry* latest_cache::find(const std::string& resource) const {
  auto it = by_resource_.find(resource);
  return it == by_resource_.end() ? nullptr : &it->second;
}

std::string rollback_scan_start(batch_index index, uint32_t id_length) {
  return encode_index(index) + std::string(id_length, '\xff');
}

// -- prune ---------------------------------------------------------------------------

std::vector<read_item> prune_page::reads(const space_ids& s) const {
  std::vector<read_item> out;
  std::unordered_set<std::string_view> seen;
  for (const auto& e : entries_) {
    if (e.prev != 0) out.push_back(read_item::get(s.data, version_key(e.prev, e.resource)));
    if (!kept_.count(e.resource))
      out.push_back(read_item::get(s.data, version_key(e.batch, e.resource)));
  }
  for (const auto& e : entries_)
    if (!kept_.count(e.resource) && seen.insert(e.resource).second)
      out.push_back(read_item::get(s.latest, e.resource));
  return out;
}

status prune_page::build(const space_ids& s, const std::vector<read_result>& answers,
                         std::vector<write_op>& out, prune_counts& counts) const {
  std::vector<uint8_t> prev_exists(entries_.size(), 0);
  std::vector<uint8_t> own_data(entries_.size(), 0);
  size_t pos = 0;
  auto next = [&]() -> const read_result* {
    return pos < answers.size() ? &answers[pos++] : nullptr;
  };
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].prev != 0) {
      auto* r = next();
      if (!r) return {errc::internal, "prune: fewer read results than reads"};
      prev_exists[i] = r->found;
    }
    if (kept_.count(entries_[i].resource)) continue;  // its pointer stays
    auto* r = next();
    if (!r) return {errc::internal, "prune: fewer read results than reads"};
    own_data[i] = r->found;
  }
  std::unordered_map<std::string_view, batch_index> latest;  // 0 = no pointer
  for (const auto& e : entries_) {
    if (latest.count(e.resource) || kept_.count(e.resource)) continue;
    auto* r = next();
    if (!r) return {errc::internal, "prune: fewer read results than reads"};
    batch_index v = 0;
    if (r->found) {
      auto d = decode_index(r->value);
      if (!d)
        return {errc::corruption,
                "a latest_ptr value of " + std::to_string(r->value.size()) + " bytes (expected 8)"};
      v = *d;
    }
    latest.emplace(e.resource, v);
  }
  if (pos != answers.size()) return {errc::internal, "prune: more read results than reads"};
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (prev_exists[i]) {
      out.push_back(del_op(s.data, version_key(e.prev, e.resource)));
      ++counts.versions;
    }
    out.push_back(del_op(s.rollback, version_key(e.batch, e.resource)));
    ++counts.entries;
    if (!kept_.count(e.resource) && latest[e.resource] == e.batch && !own_data[i]) {
      out.push_back(del_op(s.latest, e.resource));
      ++counts.tombstones;
    }
  }
  return {};
}

uint32_t prune_scan_size::limit(batch_index from, batch_index floor, uint32_t page) const noexcept {
  if (batches_ == 0 || floor <= from) return page;
  // Long double: spans and counts up to 2^64 without overflow.
  const long double span = static_cast<long double>(floor - from);
  const long double want = static_cast<long double>(entries_) / batches_ * span * 1.25L + 2;
  if (want >= page) return page;
  return static_cast<uint32_t>(want);
}

// -- reads ---------------------------------------------------------------------------

void pending_overlay::add(const pending_batch& b) {
  for (const auto& w : b.writes)
    by_resource_[w.resource].push_back(overlay_entry{b.index, w.remove, w.value});
}

void pending_overlay::drop_through(batch_index b) {
  for (auto it = by_resource_.begin(); it != by_resource_.end();) {
    auto& v = it->second;
    auto keep =
        std::find_if(v.begin(), v.end(), [b](const overlay_entry& e) { return e.batch > b; });
    v.erase(v.begin(), keep);
    if (v.empty())
      it = by_resource_.erase(it);
    else
      ++it;
  }
}

const overlay_entry* pending_overlay::find(const std::string& resource, batch_index at) const {
  auto it = by_resource_.find(resource);
  if (it == by_resource_.end()) return nullptr;
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e)
    if (e->batch <= at) return &*e;
  return nullptr;
}

read_walk::read_walk(std::vector<std::string> resources, batch_index index)
    : resources_(std::move(resources)),
      index_(index),
      version_(resources_.size(), 0),
      found_(resources_.size(), 0),
      values_(resources_.size()) {
  if (resources_.empty()) phase_ = phase::done;
}

std::vector<read_item> read_walk::items(const space_ids& s) const {
  std::vector<read_item> out;
  for (size_t i = 0; i < resources_.size(); ++i) {
    switch (phase_) {
      case phase::latest:
        out.push_back(read_item::get(s.latest, resources_[i]));
        break;
      case phase::walk:
        if (version_[i] > index_)
          out.push_back(read_item::get(s.rollback, version_key(version_[i], resources_[i])));
        break;
      case phase::data:
        if (version_[i] != 0)
          out.push_back(read_item::get(s.data, version_key(version_[i], resources_[i])));
        break;
      case phase::done:
        break;
    }
  }
  return out;
}

status read_walk::take(const std::vector<read_result>& answers) {
  size_t pos = 0;
  auto next = [&]() -> const read_result* {
    return pos < answers.size() ? &answers[pos++] : nullptr;
  };
  const auto short_answer = status{errc::internal, "read walk: fewer results than reads"};
  ++steps_;
  for (size_t i = 0; i < resources_.size(); ++i) {
    switch (phase_) {
      case phase::latest: {
        auto* r = next();
        if (!r) return short_answer;
        if (!r->found) break;
        auto v = decode_index(r->value);
        if (!v)
          return {errc::corruption, "latest_ptr of " + printable(resources_[i]) + " holds " +
                                        std::to_string(r->value.size()) + " bytes (expected 8)"};
        version_[i] = *v;
        break;
      }
      case phase::walk: {
        if (version_[i] <= index_) break;
        auto* r = next();
        if (!r) return short_answer;
        if (!r->found)
          return {errc::corruption, "no rollback entry for version " + std::to_string(version_[i]) +
                                        " of " + printable(resources_[i]) + " above the floor"};
        auto prev = decode_index(r->value);
        if (!prev || *prev >= version_[i])
          return {errc::corruption, "the rollback entry of version " + std::to_string(version_[i]) +
                                        " of " + printable(resources_[i]) +
                                        " does not point to an older version"};
        version_[i] = *prev;
        break;
      }
      case phase::data: {
        if (version_[i] == 0) break;
        auto* r = next();
        if (!r) return short_answer;
        found_[i] = r->found;  // a version without data is a tombstone
        if (r->found) values_[i] = r->value;
        break;
      }
      case phase::done:
        return {errc::internal, "read walk: a step after the last"};
    }
  }
  if (pos != answers.size()) return {errc::internal, "read walk: more results than reads"};
  if (phase_ == phase::data)
    phase_ = phase::done;
  else
    settle();
  return {};
}

void read_walk::settle() {
  bool above = false;
  bool any = false;
  for (auto v : version_) {
    above = above || v > index_;
    any = any || v != 0;
  }
  phase_ = above ? phase::walk : any ? phase::data : phase::done;
}

}  // namespace vstore::state_layout
