#include "tools/vstore-sim/workload.hpp"

#include <algorithm>
#include <map>

namespace vstore::sim {

namespace {

void append_u64(std::string& out, uint64_t x) { out.append(be_u64(x).view()); }
void append_u32(std::string& out, uint32_t x) { out.append(be_u32(x).view()); }

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (auto c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

/// Decodes a 16-byte `index ‖ resource` rollback_ptr key and its 8-byte value.
bool decode_rollback(const key_value& kv, uint64_t& index, uint64_t& resource, uint64_t& prev) {
  return kv.key.size() == 16 && read_be(kv.key, 0, index) && read_be(kv.key, 8, resource) &&
         kv.value.size() == 8 && read_be(kv.value, 0, prev);
}

}  // namespace

uint64_t checksum_step(uint64_t checksum, uint64_t resource, uint64_t version, uint64_t balance) {
  checksum = fnv1a(checksum, be_u64(resource).view());
  checksum = fnv1a(checksum, be_u64(version).view());
  return fnv1a(checksum, be_u64(balance).view());
}

// -- keys and values ---------------------------------------------------------------

std::string latest_key(uint64_t resource) { return concat_bytes(be_u64(resource)); }

std::string data_key(uint64_t version, uint64_t resource) {
  return concat_bytes(be_u64(version), be_u64(resource));
}

std::string rollback_key(uint64_t index, uint64_t resource) {
  return concat_bytes(be_u64(index), be_u64(resource));
}

std::string batch_key(uint64_t index) { return concat_bytes(be_u64(index)); }

std::string chain_prefix(uint64_t chain) {
  return std::string{be_u64(batch_index(chain, 0)).view().substr(0, 3)};
}

std::string encode_balance(uint64_t balance, uint32_t value_bytes) {
  std::string out = concat_bytes(be_u64(balance));
  if (value_bytes > out.size()) out.resize(value_bytes, '\0');
  return out;
}

bool decode_u64(std::string_view bytes, uint64_t& out) { return read_be(bytes, 0, out); }

std::optional<std::string> resolve_spaces(const std::vector<std::string>& names, space_set& out) {
  auto find = [&](const char* name, space_id& id) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) {
        id = static_cast<space_id>(i);
        return true;
      }
    return false;
  };
  space_set s;
  if (!find("data", s.data)) return "data";
  if (!find("latest_ptr", s.latest)) return "latest_ptr";
  if (!find("rollback_ptr", s.rollback)) return "rollback_ptr";
  if (!find("batch_metadata", s.meta)) return "batch_metadata";
  if (!find("metas", s.metas)) return "metas";
  out = s;
  return std::nullopt;
}

// -- parameters and metadata ------------------------------------------------------

std::string encode_params(const sim_params& p) {
  std::string out = "VSP1";
  append_u32(out, p.schedulers);
  append_u32(out, p.lanes);
  append_u64(out, p.resources);
  append_u32(out, p.value_bytes);
  append_u64(out, p.balance);
  return out;
}

bool decode_params(std::string_view bytes, sim_params& out) {
  if (bytes.size() != 32 || bytes.substr(0, 4) != "VSP1") return false;
  sim_params p;
  read_be(bytes, 4, p.schedulers);
  read_be(bytes, 8, p.lanes);
  read_be(bytes, 12, p.resources);
  read_be(bytes, 20, p.value_bytes);
  read_be(bytes, 24, p.balance);
  if (p.schedulers == 0 || p.lanes == 0 || p.value_bytes < 8 || p.chains() > max_chains)
    return false;
  out = p;
  return true;
}

chain_spec chain_layout(const sim_params& p, uint64_t chain) {
  auto scheduler = chain / p.lanes;
  auto lane = chain % p.lanes;
  auto part = p.resources / p.lanes;
  auto rem = p.resources % p.lanes;
  chain_spec out;
  out.chain = chain;
  out.first = scheduler * p.resources + lane * part + std::min(lane, rem);
  out.count = part + (lane < rem ? 1 : 0);
  return out;
}

std::string encode_meta(const batch_meta& m) {
  std::string out;
  out.reserve(32);
  append_u64(out, m.chain);
  append_u32(out, m.scheduler);
  append_u32(out, m.lane);
  append_u32(out, m.transfers);
  append_u32(out, m.touched);
  append_u64(out, m.checksum);
  return out;
}

bool decode_meta(std::string_view bytes, batch_meta& out) {
  if (bytes.size() != 32) return false;
  batch_meta m;
  read_be(bytes, 0, m.chain);
  read_be(bytes, 8, m.scheduler);
  read_be(bytes, 12, m.lane);
  read_be(bytes, 16, m.transfers);
  read_be(bytes, 20, m.touched);
  read_be(bytes, 24, m.checksum);
  out = m;
  return true;
}

// -- batch_plan ------------------------------------------------------------------------

void batch_plan::make(const chain_spec& chain, uint64_t n, uint32_t transfers,
                      std::mt19937_64& rng) {
  chain_ = chain.chain;
  n_ = n;
  index_ = batch_index(chain.chain, n);
  transfers_.clear();
  touched_.clear();
  versions_.clear();
  balances_.clear();
  for (uint32_t i = 0; i < transfers; ++i) {
    transfer t;
    t.from = chain.first + rng() % chain.count;
    t.to = chain.first + rng() % (chain.count - 1);
    if (t.to >= t.from) ++t.to;
    t.amount = 1 + rng() % 1000;
    transfers_.push_back(t);
    touched_.push_back(t.from);
    touched_.push_back(t.to);
  }
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  versions_.assign(touched_.size(), 0);
  balances_.assign(touched_.size(), 0);
  known_.assign(touched_.size(), 0);
}

void batch_plan::use_pending(const pending_writes& pending) {
  for (size_t i = 0; i < touched_.size(); ++i) {
    if (auto* e = pending.find(touched_[i])) {
      versions_[i] = e->version;
      balances_[i] = e->balance;
      known_[i] = 1;
    }
  }
}

size_t batch_plan::from_pending() const noexcept {
  return static_cast<size_t>(std::count(known_.begin(), known_.end(), uint8_t{1}));
}

std::vector<std::string> batch_plan::latest_read() const {
  std::vector<std::string> keys;
  keys.reserve(touched_.size());
  for (size_t i = 0; i < touched_.size(); ++i)
    if (!known_[i]) keys.push_back(latest_key(touched_[i]));
  return keys;
}

std::optional<std::string> batch_plan::on_latest(const std::vector<uint8_t>& found,
                                                 const std::vector<std::string>& values) {
  auto want = touched_.size() - from_pending();
  if (found.size() != want || values.size() != want)
    return "latest_ptr read returned " + std::to_string(found.size()) + " results for " +
           std::to_string(want) + " keys";
  for (size_t i = 0, k = 0; i < touched_.size(); ++i) {
    if (known_[i]) continue;
    if (!found[k]) return "latest_ptr of resource " + std::to_string(touched_[i]) + " is missing";
    if (values[k].size() != 8 || !decode_u64(values[k], versions_[i]) || versions_[i] == 0)
      return "latest_ptr of resource " + std::to_string(touched_[i]) + " is malformed";
    ++k;
  }
  return std::nullopt;
}

std::vector<std::string> batch_plan::data_read() const {
  std::vector<std::string> keys;
  keys.reserve(touched_.size());
  for (size_t i = 0; i < touched_.size(); ++i)
    if (!known_[i]) keys.push_back(data_key(versions_[i], touched_[i]));
  return keys;
}

std::optional<std::string> batch_plan::on_data(const std::vector<uint8_t>& found,
                                               const std::vector<std::string>& values) {
  auto want = touched_.size() - from_pending();
  if (found.size() != want || values.size() != want)
    return "data read returned " + std::to_string(found.size()) + " results for " +
           std::to_string(want) + " keys";
  for (size_t i = 0, k = 0; i < touched_.size(); ++i) {
    if (known_[i]) continue;
    if (!found[k])
      return "data version " + std::to_string(versions_[i]) + " of resource " +
             std::to_string(touched_[i]) + " is missing (latest_ptr dangles)";
    if (!decode_u64(values[k], balances_[i]))
      return "data of resource " + std::to_string(touched_[i]) + " is malformed";
    ++k;
  }
  return std::nullopt;
}

std::optional<std::string> batch_plan::on_balances(const std::vector<uint8_t>& found,
                                                   const std::vector<std::string>& values) {
  if (found.size() != touched_.size() || values.size() != touched_.size())
    return "read_latest returned " + std::to_string(found.size()) + " results for " +
           std::to_string(touched_.size()) + " resources";
  for (size_t i = 0; i < touched_.size(); ++i) {
    if (!found[i]) return "resource " + std::to_string(touched_[i]) + " has no latest value";
    if (!decode_u64(values[i], balances_[i]))
      return "the value of resource " + std::to_string(touched_[i]) + " is malformed";
  }
  return std::nullopt;
}

std::vector<uint64_t> batch_plan::balances_after() const {
  auto balances = balances_;
  auto slot = [&](uint64_t r) {
    return static_cast<size_t>(std::lower_bound(touched_.begin(), touched_.end(), r) -
                               touched_.begin());
  };
  for (const auto& t : transfers_) {
    auto& from = balances[slot(t.from)];
    auto amount = std::min(t.amount, from);
    from -= amount;
    balances[slot(t.to)] += amount;
  }
  return balances;
}

write_request batch_plan::commit(const space_set& s, uint32_t scheduler, uint32_t lane,
                                 uint32_t value_bytes) const {
  auto balances = balances_after();
  auto version = batch_version(chain_, n_);
  write_request w;
  w.flush_now = true;
  w.ops.reserve(3 * touched_.size() + 1);
  uint64_t checksum = checksum_start;
  auto v = be_u64(version);
  for (size_t i = 0; i < touched_.size(); ++i) {
    auto r = touched_[i];
    auto value = encode_balance(balances[i], value_bytes);
    checksum = checksum_step(checksum, r, version, balances[i]);
    w.put(s.data, data_key(version, r), value);
    w.put(s.latest, latest_key(r), v.view());
    w.put(s.rollback, rollback_key(index_, r), be_u64(versions_[i]).view());
  }
  batch_meta m;
  m.chain = chain_;
  m.scheduler = scheduler;
  m.lane = lane;
  m.transfers = static_cast<uint32_t>(transfers_.size());
  m.touched = static_cast<uint32_t>(touched_.size());
  m.checksum = checksum;
  w.put(s.meta, batch_key(index_), encode_meta(m));
  return w;
}

// -- pending_writes ----------------------------------------------------------------------

void pending_writes::sent(const batch_plan& b) {
  auto balances = b.balances_after();
  const auto& touched = b.touched();
  for (size_t i = 0; i < touched.size(); ++i)
    entries_[touched[i]] = entry{b.index(), b.version(), balances[i]};
}

void pending_writes::acknowledged(const batch_plan& b) {
  for (auto r : b.touched()) {
    auto i = entries_.find(r);
    if (i != entries_.end() && i->second.index == b.index()) entries_.erase(i);
  }
}

const pending_writes::entry* pending_writes::find(uint64_t resource) const {
  auto i = entries_.find(resource);
  return i == entries_.end() ? nullptr : &i->second;
}

// -- rollback_plan ----------------------------------------------------------------------

void rollback_plan::reset(uint64_t chain, uint64_t first, uint64_t end) {
  chain_ = chain;
  first_ = first;
  end_ = end;
  next_ = first;
  start_after_.clear();
  seen_ = false;
  entries_.clear();
}

scan_request rollback_plan::next_scan(const space_set& s, uint32_t page) const {
  scan_request req;
  req.space = s.rollback;
  req.prefix = batch_key(batch_index(chain_, next_));
  req.start_after = start_after_;
  req.limit = page;
  return req;
}

std::optional<std::string> rollback_plan::on_page(const scan_reply& page) {
  auto expected = batch_index(chain_, next_);
  for (const auto& kv : page.entries) {
    uint64_t index = 0, resource = 0, prev = 0;
    if (!decode_rollback(kv, index, resource, prev) || index != expected)
      return "malformed rollback_ptr entry of batch " + std::to_string(expected);
    entries_.push_back(entry{next_, resource, prev});
    seen_ = true;
  }
  if (page.more && !page.entries.empty()) {
    start_after_ = page.entries.back().key;
    return std::nullopt;
  }
  if (!seen_)
    return "rollback_ptr of batch " + std::to_string(expected) + " (chain " +
           std::to_string(chain_) + " #" + std::to_string(next_) + ") is empty";
  ++next_;
  start_after_.clear();
  seen_ = false;
  return std::nullopt;
}

write_request rollback_plan::commit(const space_set& s, bool range_deletes) const {
  // The version a resource goes back to is the previous version recorded by
  // the OLDEST rolled-back batch that touched it.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> restore;  // resource -> (n, previous)
  write_request w;
  w.flush_now = true;
  for (const auto& e : entries_) {
    auto i = restore.find(e.resource);
    if (i == restore.end() || e.n < i->second.first) restore[e.resource] = {e.n, e.previous};
    w.del(s.data, data_key(batch_version(chain_, e.n), e.resource));
    if (!range_deletes) w.del(s.rollback, rollback_key(batch_index(chain_, e.n), e.resource));
  }
  for (const auto& [resource, x] : restore) {
    if (x.second == 0)
      w.del(s.latest, latest_key(resource));
    else
      w.put(s.latest, latest_key(resource), be_u64(x.second).view());
  }
  auto lo = batch_key(batch_index(chain_, first_));
  auto hi = batch_key(batch_index(chain_, end_));
  if (range_deletes) w.del_range(s.rollback, lo, hi);
  w.del_range(s.meta, lo, hi);
  return w;
}

// -- prune_plan ---------------------------------------------------------------------------

void prune_plan::reset(uint64_t chain, uint64_t first, uint64_t end) {
  chain_ = chain;
  first_ = first;
  end_ = end;
  start_after_ = batch_key(batch_index(chain, first));
  done_ = false;
  obsolete_.clear();
  entries_.clear();
}

scan_request prune_plan::next_scan(const space_set& s, uint32_t page) const {
  scan_request req;
  req.space = s.rollback;
  req.prefix = chain_prefix(chain_);
  req.start_after = start_after_;
  req.limit = page;
  return req;
}

std::optional<std::string> prune_plan::on_page(const scan_reply& page) {
  auto end_index = batch_index(chain_, end_);
  for (const auto& kv : page.entries) {
    uint64_t index = 0, resource = 0, prev = 0;
    if (!decode_rollback(kv, index, resource, prev) || chain_of(index) != chain_)
      return "malformed rollback_ptr entry in chain " + std::to_string(chain_);
    if (index >= end_index) {
      done_ = true;
      return std::nullopt;
    }
    if (prev != 0) obsolete_.emplace_back(prev, resource);
    entries_.push_back(kv.key);
  }
  if (!page.more || page.entries.empty())
    done_ = true;
  else
    start_after_ = page.entries.back().key;
  return std::nullopt;
}

write_request prune_plan::commit(const space_set& s, bool range_deletes) const {
  write_request w;
  w.flush_now = true;
  w.ops.reserve(obsolete_.size() + (range_deletes ? 1 : entries_.size()));
  for (const auto& [version, resource] : obsolete_) w.del(s.data, data_key(version, resource));
  if (range_deletes || entries_.empty())
    w.del_range(s.rollback, batch_key(batch_index(chain_, first_)),
                batch_key(batch_index(chain_, end_)));
  else
    for (const auto& key : entries_) w.del(s.rollback, key);
  return w;
}

// -- genesis and helpers -------------------------------------------------------------------

std::vector<write_request> genesis(const sim_params& p, const space_set& s, size_t max_ops) {
  max_ops = std::max<size_t>(max_ops, 3);
  std::vector<write_request> out;
  out.emplace_back();
  auto balance = encode_balance(p.balance, p.value_bytes);
  for (uint64_t c = 0; c < p.chains(); ++c) {
    auto spec = chain_layout(p, c);
    auto v = genesis_version(c);
    auto vkey = be_u64(v);
    for (uint64_t r = spec.first; r < spec.first + spec.count; ++r) {
      if (out.back().ops.size() + 2 > max_ops - 1) out.emplace_back();
      out.back().put(s.latest, latest_key(r), vkey.view());
      out.back().put(s.data, data_key(v, r), balance);
    }
  }
  out.back().put(s.metas, params_key, encode_params(p));
  for (auto& w : out) w.flush_now = true;
  return out;
}

uint64_t lane_batches(uint64_t batches, uint32_t lanes, uint32_t lane) noexcept {
  return batches / lanes + (lane < batches % lanes ? 1 : 0);
}

uint64_t chain_seed(uint64_t seed, uint64_t chain) noexcept {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (chain + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace vstore::sim
