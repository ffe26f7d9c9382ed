#include "tools/vstore-sim/verify.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace vstore::sim {

namespace {

class failure_list {
 public:
  explicit failure_list(verify_result& r) : r_(r) {}
  void add(std::string what) {
    if (r_.failures.size() < verify_result::max_failures)
      r_.failures.push_back(std::move(what));
    else
      ++r_.more_failures;
  }

 private:
  verify_result& r_;
};

std::string batch_name(uint64_t chain, uint64_t n) {
  return "batch " + std::to_string(batch_index(chain, n)) + " (chain " + std::to_string(chain) +
         " #" + std::to_string(n) + ")";
}

}  // namespace

std::string verify_result::reason() const {
  if (failures.empty()) return {};
  auto out = failures.front();
  auto others = failures.size() - 1 + more_failures;
  if (others > 0) out += " (and " + std::to_string(others) + " more)";
  return out;
}

verify_result check(const store_image& img,
                    const std::vector<std::optional<uint64_t>>& expected_live) {
  verify_result r;
  failure_list fail{r};
  if (!img.params) {
    fail.add(
        "metas holds no vstore-sim parameters: the genesis did not complete or this is "
        "not a vstore-sim store");
    return r;
  }
  if (!decode_params(*img.params, r.params)) {
    fail.add("the vstore-sim parameters in metas are malformed");
    return r;
  }
  const auto& p = r.params;
  const auto chains = p.chains();
  r.expected_total = p.total_balance();

  // Data entries by key; which of them something points to; the newest
  // version of every resource.
  std::unordered_map<std::string, uint64_t> balance_of;
  std::unordered_map<uint64_t, uint64_t> newest_of;
  balance_of.reserve(img.data.size());
  for (const auto& kv : img.data) {
    uint64_t b = 0, version = 0, resource = 0;
    if (kv.key.size() != 16 || !decode_u64(kv.value, b) || !read_be(kv.key, 0, version) ||
        !read_be(kv.key, 8, resource)) {
      fail.add("malformed data entry (key of " + std::to_string(kv.key.size()) + " bytes)");
      continue;
    }
    balance_of.emplace(kv.key, b);
    auto& newest = newest_of[resource];
    newest = std::max(newest, version);
  }
  r.data_versions = img.data.size();
  std::unordered_set<std::string> referenced;
  referenced.reserve(img.latest.size() + img.rollback.size());

  // 2 and 3: latest_ptr.
  uint64_t stale = 0;
  std::string stale_example;
  uint64_t expected_resource = 0;
  for (const auto& kv : img.latest) {
    uint64_t resource = 0, version = 0;
    if (kv.key.size() != 8 || !decode_u64(kv.key, resource) || kv.value.size() != 8 ||
        !decode_u64(kv.value, version)) {
      fail.add("malformed latest_ptr entry");
      continue;
    }
    if (resource >= p.total_resources()) {
      fail.add("latest_ptr of unknown resource " + std::to_string(resource));
      continue;
    }
    if (resource > expected_resource)
      fail.add("resources " + std::to_string(expected_resource) + ".." +
               std::to_string(resource - 1) + " have no latest_ptr");
    expected_resource = resource + 1;
    ++r.resources;
    auto owner = chain_of(version);
    auto spec = chain_layout(p, owner == 0 ? 0 : owner - 1);
    if (owner == 0 || owner > chains || resource < spec.first ||
        resource >= spec.first + spec.count) {
      fail.add("latest_ptr of resource " + std::to_string(resource) + " names version " +
               std::to_string(version) + " of another chain");
    }
    auto key = data_key(version, resource);
    auto i = balance_of.find(key);
    if (i == balance_of.end()) {
      fail.add("latest_ptr of resource " + std::to_string(resource) + " names version " +
               std::to_string(version) + " which has no data entry");
      continue;
    }
    r.total += i->second;
    referenced.insert(std::move(key));
    // 7 (reported last): versions grow along a chain and a rollback or prune
    // removes only older or rolled-back ones, so latest_ptr names the newest
    // version; an older one means two writes of the chain were applied out
    // of order.
    if (auto newest = newest_of[resource]; newest > version && stale++ == 0)
      stale_example = "latest_ptr of resource " + std::to_string(resource) + " names version " +
                      std::to_string(version) + " but version " + std::to_string(newest) +
                      " is newer";
  }
  if (expected_resource < p.total_resources())
    fail.add("resources " + std::to_string(expected_resource) + ".." +
             std::to_string(p.total_resources() - 1) + " have no latest_ptr");
  if (r.total != r.expected_total)
    fail.add("balance not conserved: total " + std::to_string(r.total) + " != initial " +
             std::to_string(r.expected_total));

  // 4: batch_metadata, contiguous per chain.
  std::vector<uint64_t> live(chains, 0);
  std::unordered_map<uint64_t, batch_meta> meta_of;
  for (const auto& kv : img.meta) {
    uint64_t index = 0;
    batch_meta m;
    if (kv.key.size() != 8 || !decode_u64(kv.key, index) || !decode_meta(kv.value, m)) {
      fail.add("malformed batch_metadata entry");
      continue;
    }
    auto c = chain_of(index), n = number_of(index);
    if (c >= chains) {
      fail.add("batch_metadata of " + batch_name(c, n) + " of an unknown chain");
      continue;
    }
    if (m.chain != c) fail.add("batch_metadata of " + batch_name(c, n) + " names another chain");
    if (n != live[c])
      fail.add("batch_metadata of chain " + std::to_string(c) + " is not contiguous: #" +
               std::to_string(n) + " follows " + std::to_string(live[c]) + " batches");
    live[c] = n + 1;
    ++r.batches;
    meta_of.emplace(index, m);
  }
  for (uint64_t c = 0; c < chains; ++c) {
    if (live[c] > 0) ++r.chains_with_batches;
    if (c < expected_live.size() && expected_live[c] && *expected_live[c] != live[c])
      fail.add("chain " + std::to_string(c) + " holds " + std::to_string(live[c]) +
               " batches, the scheduler acknowledged " + std::to_string(*expected_live[c]));
  }

  // 5: rollback_ptr, a contiguous suffix of each chain's live batches. Each
  // kept batch's entries name every resource it touched (ascending), so its
  // data puts can be checked against batch_metadata's checksum.
  std::vector<std::optional<uint64_t>> first_kept(chains), last_kept(chains);
  struct batch_sum {
    uint64_t checksum = checksum_start;
    uint32_t touched = 0;
    bool complete = true;
  };
  std::map<uint64_t, batch_sum> sums;
  for (const auto& kv : img.rollback) {
    uint64_t index = 0, resource = 0, prev = 0;
    if (kv.key.size() != 16 || !read_be(kv.key, 0, index) || !read_be(kv.key, 8, resource) ||
        kv.value.size() != 8 || !decode_u64(kv.value, prev)) {
      fail.add("malformed rollback_ptr entry");
      continue;
    }
    ++r.rollback_entries;
    auto c = chain_of(index), n = number_of(index);
    if (c >= chains || n >= live[c]) {
      fail.add("rollback_ptr entry of " + batch_name(c, n) + " which batch_metadata lacks");
      continue;
    }
    auto& last = last_kept[c];
    if (!first_kept[c]) {
      first_kept[c] = n;
    } else if (n != *last && n != *last + 1) {
      fail.add("rollback_ptr of chain " + std::to_string(c) + " has a gap before " +
               batch_name(c, n));
    }
    last = n;
    auto& sum = sums[index];
    ++sum.touched;
    auto own = balance_of.find(data_key(batch_version(c, n), resource));
    if (own == balance_of.end()) {
      sum.complete = false;
      fail.add("the version " + batch_name(c, n) + " wrote for resource " +
               std::to_string(resource) + " has no data entry");
    } else {
      sum.checksum = checksum_step(sum.checksum, resource, batch_version(c, n), own->second);
    }
    if (prev != 0) {
      auto key = data_key(prev, resource);
      if (balance_of.count(key) == 0)
        fail.add("rollback_ptr of " + batch_name(c, n) + " names version " + std::to_string(prev) +
                 " of resource " + std::to_string(resource) + " which has no data entry");
      else
        referenced.insert(std::move(key));
    }
  }
  for (const auto& [index, sum] : sums) {
    auto m = meta_of.find(index);
    if (m == meta_of.end() || !sum.complete) continue;  // reported above
    ++r.checksums;
    if (sum.touched != m->second.touched || sum.checksum != m->second.checksum)
      fail.add("the data of " + batch_name(chain_of(index), number_of(index)) +
               " does not match its batch_metadata checksum (" + std::to_string(sum.touched) +
               " of " + std::to_string(m->second.touched) + " resources)");
  }
  for (uint64_t c = 0; c < chains; ++c)
    if (last_kept[c] && *last_kept[c] + 1 != live[c])
      fail.add("chain " + std::to_string(c) + ": the newest batches have no rollback_ptr " +
               "entries (last entry #" + std::to_string(*last_kept[c]) + " of " +
               std::to_string(live[c]) + ")");

  // 6: no leaked versions.
  uint64_t leaked = 0;
  std::string example;
  for (const auto& [key, b] : balance_of) {
    if (referenced.count(key)) continue;
    if (leaked++ == 0) {
      uint64_t v = 0, res = 0;
      read_be(key, 0, v);
      read_be(key, 8, res);
      example = "version " + std::to_string(v) + " of resource " + std::to_string(res);
    }
  }
  if (leaked > 0)
    fail.add(std::to_string(leaked) +
             " data versions are neither latest nor named by rollback_ptr, e.g. " + example);

  if (stale > 0)
    fail.add(stale_example + ": writes applied out of order (" + std::to_string(stale) +
             " resources)");

  r.live = live;
  r.ok = r.failures.empty();
  return r;
}

torn_verdict judge_torn(const torn_probe& p, std::string& what) {
  auto n = p.touched.size();
  if (p.data_found.size() != n || p.rollback_found.size() != n || p.latest_found.size() != n ||
      p.latest_values.size() != n) {
    what = "malformed probe";
    return torn_verdict::torn;
  }
  auto name = [&](size_t i) {
    return "batch " + std::to_string(p.index) + " resource " + std::to_string(p.touched[i]);
  };
  auto torn = [&](std::string text) {
    what = std::move(text);
    return torn_verdict::torn;
  };
  uint64_t chain = chain_of(p.index);
  bool first = p.meta_first && *p.meta_first == p.expected_meta;
  bool last = p.meta_last && *p.meta_last == p.expected_meta;
  if (first && last && !p.rollback_sent) {
    size_t rollbacks = 0;
    for (size_t i = 0; i < n; ++i) rollbacks += p.rollback_found[i] != 0;
    if (rollbacks != 0 && rollbacks != n)
      return torn("batch " + std::to_string(p.index) + " present with " +
                  std::to_string(rollbacks) + " of " + std::to_string(n) + " rollback_ptr entries");
    for (size_t i = 0; i < n; ++i) {
      uint64_t latest = 0;
      if (!p.latest_found[i] || !decode_u64(p.latest_values[i], latest))
        return torn(name(i) + ": batch present, latest_ptr missing");
      if ((latest >> chain_shift) != chain + 1 || latest < p.version)
        return torn(name(i) + ": batch present, latest_ptr at version " + std::to_string(latest) +
                    " below its version " + std::to_string(p.version));
      if (!p.data_found[i]) {
        if (rollbacks != 0)
          return torn(name(i) + ": batch present and not pruned, data version missing");
        if (latest == p.version)
          return torn(name(i) + ": batch present, latest_ptr names a missing data version");
      }
    }
    return torn_verdict::consistent;
  }
  if (!p.meta_first && !p.meta_last && !p.rollback_sent) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t latest = 0;
      if (p.data_found[i]) return torn(name(i) + ": batch absent, its data version present");
      if (p.rollback_found[i]) return torn(name(i) + ": batch absent, its rollback_ptr present");
      if (p.latest_found[i] && decode_u64(p.latest_values[i], latest) && latest == p.version)
        return torn(name(i) + ": batch absent, latest_ptr names its version");
    }
    return torn_verdict::consistent;
  }
  return torn_verdict::inconclusive;
}

}  // namespace vstore::sim
