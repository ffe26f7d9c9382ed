// vstore-sim's workload model and invariant check, driven without CAF over a
// std::map store: every write of a batch, rollback and prune must keep the
// invariants, and the check must notice each kind of damage.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tools/vstore-sim/ack_check.hpp"
#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {
namespace {

/// An ordered key-value store per space, with the backend's semantics.
class map_store {
 public:
  void apply(const write_request& w) {
    for (const auto& op : w.ops) {
      auto& m = spaces_[op.space];
      switch (op.kind) {
        case op_kind::put:
          m[op.key] = op.value;
          break;
        case op_kind::del:
          m.erase(op.key);
          break;
        case op_kind::del_range:
          m.erase(m.lower_bound(op.key), m.lower_bound(op.value));
          break;
      }
    }
  }
  multi_get_reply multi_get(space_id s, const std::vector<std::string>& keys) {
    multi_get_reply r;
    for (const auto& k : keys) {
      auto i = spaces_[s].find(k);
      r.found.push_back(i != spaces_[s].end());
      r.values.push_back(i != spaces_[s].end() ? i->second : std::string{});
    }
    return r;
  }
  scan_reply scan(const scan_request& req) {
    scan_reply r;
    auto& m = spaces_[req.space];
    auto i = req.start_after.empty() ? m.lower_bound(req.prefix) : m.upper_bound(req.start_after);
    if (!req.start_after.empty() && req.start_after < req.prefix) i = m.lower_bound(req.prefix);
    for (; i != m.end() && i->first.compare(0, req.prefix.size(), req.prefix) == 0; ++i) {
      if (r.entries.size() == req.limit) {
        r.more = true;
        break;
      }
      r.entries.push_back(key_value{i->first, i->second});
    }
    return r;
  }
  store_image image(const space_set& s) const {
    store_image img;
    auto all = [&](space_id id) {
      std::vector<key_value> out;
      for (const auto& [k, v] : spaces_[id]) out.push_back(key_value{k, v});
      return out;
    };
    auto p = spaces_[s.metas].find(std::string{params_key});
    if (p != spaces_[s.metas].end()) img.params = p->second;
    img.latest = all(s.latest);
    img.data = all(s.data);
    img.rollback = all(s.rollback);
    img.meta = all(s.meta);
    return img;
  }
  std::map<std::string, std::string>& space(space_id s) { return spaces_[s]; }

 private:
  std::map<std::string, std::string> spaces_[8];
};

sim_params small_params() {
  sim_params p;
  p.schedulers = 2;
  p.lanes = 2;
  p.resources = 10;
  p.value_bytes = 12;
  return p;
}

/// Runs one lane's batches, rollbacks and prunes against `db`, checking the
/// invariants after every write. Returns the lane's live batch count.
uint64_t run_lane(map_store& db, const sim_params& p, uint64_t chain, uint64_t batches,
                  bool range_deletes, uint32_t page) {
  const space_set s;
  std::mt19937_64 rng{chain_seed(7, chain)};
  auto spec = chain_layout(p, chain);
  uint64_t live = 0, pruned = 0;
  const uint64_t window = 4;
  auto expect_ok = [&](const char* what) {
    std::vector<std::optional<uint64_t>> expected(p.chains());
    auto r = check(db.image(s), expected);
    EXPECT_TRUE(r.ok) << what << ": " << r.reason();
  };
  for (uint64_t i = 1; i <= batches; ++i) {
    batch_plan b;
    b.make(spec, live, 3, rng);
    auto latest = db.multi_get(s.latest, b.latest_read());
    EXPECT_FALSE(b.on_latest(latest.found, latest.values));
    auto data = db.multi_get(s.data, b.data_read());
    EXPECT_FALSE(b.on_data(data.found, data.values));
    db.apply(b.commit(s, 0, 0, p.value_bytes));
    ++live;
    expect_ok("after a batch");
    if (i % 5 == 0 && live > pruned) {
      rollback_plan rb;
      rb.reset(chain, live - std::min<uint64_t>(2, live - pruned), live);
      while (!rb.done()) EXPECT_FALSE(rb.on_page(db.scan(rb.next_scan(s, page))));
      db.apply(rb.commit(s, range_deletes));
      live -= rb.batches();
      expect_ok("after a rollback");
    }
    if (live >= pruned + window + 2) {
      prune_plan pr;
      pr.reset(chain, pruned, live - window);
      while (!pr.done()) EXPECT_FALSE(pr.on_page(db.scan(pr.next_scan(s, page))));
      db.apply(pr.commit(s, range_deletes));
      pruned = live - window;
      expect_ok("after a prune");
    }
  }
  return live;
}

class SimModel : public ::testing::TestWithParam<std::tuple<bool, uint32_t>> {};

TEST_P(SimModel, EveryWriteKeepsTheInvariants) {
  auto [range_deletes, page] = GetParam();
  map_store db;
  auto p = small_params();
  const space_set s;
  for (auto& w : genesis(p, s, 7)) db.apply(w);
  std::vector<std::optional<uint64_t>> expected(p.chains());
  for (uint64_t c = 0; c < p.chains(); ++c)
    expected[c] = run_lane(db, p, c, 40, range_deletes, page);
  auto r = check(db.image(s), expected);
  EXPECT_TRUE(r.ok) << r.reason();
  EXPECT_EQ(r.resources, 20u);
  EXPECT_EQ(r.total, 20u * initial_balance);
  EXPECT_GT(r.batches, 0u);
}

INSTANTIATE_TEST_SUITE_P(DeletesAndPages, SimModel,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1u, 2u, 4096u)));

/// A store after a small run, for the corruption tests.
struct SimCheck : ::testing::Test {
  map_store db;
  sim_params p = small_params();
  space_set s;
  void SetUp() override {
    for (auto& w : genesis(p, s, 1000)) db.apply(w);
    for (uint64_t c = 0; c < p.chains(); ++c) run_lane(db, p, c, 12, false, 100);
    ASSERT_TRUE(check(db.image(s), {}).ok);
  }
  std::string failure() {
    auto r = check(db.image(s), {});
    EXPECT_FALSE(r.ok);
    return r.reason();
  }
};

TEST_F(SimCheck, FindsADanglingLatestPtr) {
  db.space(s.latest)[latest_key(3)] = std::string{be_u64(genesis_version(0) + 999).view()};
  EXPECT_NE(failure().find("latest_ptr of resource 3 names version"), std::string::npos);
}

TEST_F(SimCheck, FindsAMissingLatestPtr) {
  db.space(s.latest).erase(latest_key(4));
  EXPECT_NE(failure().find("have no latest_ptr"), std::string::npos);
}

TEST_F(SimCheck, FindsABalanceThatIsNotConserved) {
  auto& latest = db.space(s.latest);
  uint64_t v = 0;
  decode_u64(latest[latest_key(1)], v);
  db.space(s.data)[data_key(v, 1)] = encode_balance(5, p.value_bytes);
  EXPECT_NE(failure().find("balance not conserved"), std::string::npos);
}

TEST_F(SimCheck, FindsAGapInBatchMetadata) {
  db.space(s.meta).erase(batch_key(batch_index(1, 0)));
  EXPECT_NE(failure().find("not contiguous"), std::string::npos);
}

TEST_F(SimCheck, FindsAnUnexpectedBatchCount) {
  std::vector<std::optional<uint64_t>> expected(p.chains());
  expected[2] = 1000;
  auto r = check(db.image(s), expected);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason().find("the scheduler acknowledged 1000"), std::string::npos);
}

TEST_F(SimCheck, FindsALeakedVersion) {
  db.space(s.data)[data_key(batch_version(0, 77), 0)] = encode_balance(0, p.value_bytes);
  EXPECT_NE(failure().find("neither latest nor named by rollback_ptr"), std::string::npos);
}

TEST_F(SimCheck, FindsAHalfAppliedRollback) {
  // The newest batch of chain 0 loses its metadata but keeps its rollback_ptr.
  auto& meta = db.space(s.meta);
  std::string last;
  for (const auto& kv : meta) {
    uint64_t index = 0;
    decode_u64(kv.first, index);
    if (chain_of(index) == 0) last = kv.first;
  }
  ASSERT_FALSE(last.empty());
  meta.erase(last);
  EXPECT_NE(failure().find("which batch_metadata lacks"), std::string::npos);
}

// Two of a batch's data puts swapped: the total is conserved and every pointer
// resolves, so only the batch_metadata checksum can tell.
TEST_F(SimCheck, FindsDataThatDoesNotMatchItsBatchChecksum) {
  // The newest batch of chain 0 and the resources it touched (its rollback_ptr
  // entries, keyed index ‖ resource).
  uint64_t index = 0;
  for (const auto& kv : db.space(s.meta)) {
    uint64_t i = 0;
    decode_u64(kv.first, i);
    if (chain_of(i) == 0) index = i;
  }
  std::vector<uint64_t> touched;
  for (const auto& kv : db.space(s.rollback)) {
    uint64_t i = 0, r = 0;
    read_be(kv.first, 0, i);
    read_be(kv.first, 8, r);
    if (i == index) touched.push_back(r);
  }
  ASSERT_GE(touched.size(), 2u);
  auto version = batch_version(chain_of(index), number_of(index));
  auto& data = db.space(s.data);
  auto a = data_key(version, touched[0]), b = data_key(version, touched[1]);
  ASSERT_NE(data[a], data[b]) << "pick a batch whose two balances differ";
  std::swap(data[a], data[b]);
  auto why = failure();
  EXPECT_NE(why.find("does not match its batch_metadata checksum"), std::string::npos) << why;
  EXPECT_EQ(why.find("balance not conserved"), std::string::npos) << why;
}

/// Plans batch `n` of `chain` the way the pipelined scheduler does: what
/// `pending` holds comes from there, the rest is read from `db`.
batch_plan plan_pipelined(map_store& db, const space_set& s, const chain_spec& spec, uint64_t n,
                          const pending_writes& pending, std::mt19937_64& rng) {
  batch_plan b;
  b.make(spec, n, 3, rng);
  b.use_pending(pending);
  auto latest = db.multi_get(s.latest, b.latest_read());
  EXPECT_FALSE(b.on_latest(latest.found, latest.values));
  auto data = db.multi_get(s.data, b.data_read());
  EXPECT_FALSE(b.on_data(data.found, data.values));
  return b;
}

// One chain pipelined: batch n+1 is planned from the record of n's pending
// writes before n reaches the store. Applied in the order sent, every
// invariant holds.
TEST(SimPipeline, BatchesPlannedFromPendingWritesKeepTheInvariants) {
  map_store db;
  sim_params p;
  p.schedulers = 1;
  p.lanes = 1;
  p.resources = 6;
  const space_set s;
  for (auto& w : genesis(p, s, 1000)) db.apply(w);
  auto spec = chain_layout(p, 0);
  std::mt19937_64 rng{chain_seed(3, 0)};
  pending_writes pending;
  std::vector<batch_plan> pipe;  // sent, not yet applied
  size_t from_pending = 0;
  const uint64_t batches = 60, depth = 4;
  for (uint64_t n = 0; n < batches; ++n) {
    pipe.push_back(plan_pipelined(db, s, spec, n, pending, rng));
    from_pending += pipe.back().from_pending();
    pending.sent(pipe.back());
    if (pipe.size() == depth || n + 1 == batches) {
      // The oldest half is acknowledged; the others stay in flight.
      auto k = n + 1 == batches ? pipe.size() : depth / 2;
      for (size_t i = 0; i < k; ++i) {
        db.apply(pipe[i].commit(s, 0, 0, p.value_bytes));
        pending.acknowledged(pipe[i]);
      }
      pipe.erase(pipe.begin(), pipe.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  EXPECT_EQ(pending.size(), 0u);
  EXPECT_GT(from_pending, 0u) << "no batch took a resource from the pending writes";
  std::vector<std::optional<uint64_t>> expected(1);
  expected[0] = batches;
  auto r = check(db.image(s), expected);
  EXPECT_TRUE(r.ok) << r.reason();
}

// Two consecutive batches of one chain, the second planned from the first's
// pending writes, reach the store in swapped order: the earlier batch's
// writes overwrite the later one's. The check must report it.
TEST_F(SimCheck, FindsTwoPipelinedBatchesAppliedOutOfOrder) {
  const uint64_t chain = 0;
  uint64_t live = 0;
  for (const auto& kv : db.space(s.meta)) {
    uint64_t index = 0;
    decode_u64(kv.first, index);
    if (chain_of(index) == chain) ++live;
  }
  auto spec = chain_layout(p, chain);
  // Find two consecutive batches that share a resource (otherwise their
  // order does not matter).
  for (uint64_t seed = 1; seed < 100; ++seed) {
    std::mt19937_64 rng{seed};
    pending_writes pending;
    auto first = plan_pipelined(db, s, spec, live, pending, rng);
    pending.sent(first);
    auto second = plan_pipelined(db, s, spec, live + 1, pending, rng);
    if (second.from_pending() == 0) continue;
    auto in_order = db;
    in_order.apply(first.commit(s, 0, 0, p.value_bytes));
    in_order.apply(second.commit(s, 0, 0, p.value_bytes));
    auto ok = check(in_order.image(s), {});
    ASSERT_TRUE(ok.ok) << "in order: " << ok.reason();
    db.apply(second.commit(s, 0, 0, p.value_bytes));
    db.apply(first.commit(s, 0, 0, p.value_bytes));
    // Conservation usually fails too; the order check names the cause.
    auto r = check(db.image(s), {});
    EXPECT_FALSE(r.ok);
    bool named = false;
    for (const auto& f : r.failures) named = named || f.find("applied out of order") != f.npos;
    EXPECT_TRUE(named) << r.reason();
    return;
  }
  FAIL() << "no two consecutive batches share a resource";
}

TEST_F(SimCheck, FindsMissingParameters) {
  db.space(s.metas).clear();
  EXPECT_NE(failure().find("no vstore-sim parameters"), std::string::npos);
}

TEST(SimWorkload, KeysAndNumbersAreBigEndianAndDisjoint) {
  EXPECT_EQ(latest_key(1), std::string("\0\0\0\0\0\0\0\1", 8));
  EXPECT_EQ(batch_index(3, 5) >> chain_shift, 3u);
  EXPECT_EQ(number_of(batch_index(3, 5)), 5u);
  EXPECT_LT(batch_version(2, 1000), genesis_version(3));
  EXPECT_GT(batch_version(2, 0), genesis_version(2));
  auto p = small_params();
  p.resources = 11;
  p.lanes = 3;
  uint64_t next = 0;
  for (uint64_t c = 0; c < p.chains(); ++c) {
    auto spec = chain_layout(p, c);
    EXPECT_EQ(spec.first, next);
    EXPECT_GE(spec.count, 3u);
    next = spec.first + spec.count;
  }
  EXPECT_EQ(next, p.total_resources());
  EXPECT_EQ(lane_batches(10, 3, 0) + lane_batches(10, 3, 1) + lane_batches(10, 3, 2), 10u);
  sim_params q;
  ASSERT_TRUE(decode_params(encode_params(p), q));
  EXPECT_EQ(q.resources, 11u);
  EXPECT_EQ(q.lanes, 3u);
}

// -- the torn-state reader's rule ------------------------------------------------

/// A batch as the torn-state reader knows it: its plan and its commit.
struct sent_batch {
  batch_plan plan;
  write_request write;
};

/// Plans batch `n` of `spec` from the store and builds its commit.
sent_batch plan_batch(map_store& db, const space_set& s, const chain_spec& spec, uint64_t n,
                      std::mt19937_64& rng) {
  sent_batch b;
  b.plan.make(spec, n, 2, rng);
  auto latest = db.multi_get(s.latest, b.plan.latest_read());
  EXPECT_FALSE(b.plan.on_latest(latest.found, latest.values));
  auto data = db.multi_get(s.data, b.plan.data_read());
  EXPECT_FALSE(b.plan.on_data(data.found, data.values));
  b.write = b.plan.commit(s, 0, 0, 8);
  return b;
}

/// Reads `b`'s keys in every space as the torn-state reader does, here all
/// at one instant (the meta reads before and after are the same).
torn_probe probe(map_store& db, const space_set& s, const sent_batch& b, bool rollback_sent) {
  torn_probe p;
  p.index = b.plan.index();
  p.version = b.plan.version();
  p.touched = b.plan.touched();
  p.rollback_sent = rollback_sent;
  for (const auto& op : b.write.ops)
    if (op.kind == op_kind::put && op.space == s.meta) p.expected_meta = op.value;
  std::vector<std::string> data, rollback, latest;
  for (auto r : p.touched) {
    data.push_back(data_key(p.version, r));
    rollback.push_back(rollback_key(p.index, r));
    latest.push_back(latest_key(r));
  }
  auto meta = db.multi_get(s.meta, {batch_key(p.index)});
  if (meta.found[0]) p.meta_first = p.meta_last = meta.values[0];
  p.data_found = db.multi_get(s.data, data).found;
  p.rollback_found = db.multi_get(s.rollback, rollback).found;
  auto l = db.multi_get(s.latest, latest);
  p.latest_found = l.found;
  p.latest_values = l.values;
  return p;
}

torn_verdict judge(const torn_probe& p) {
  std::string what;
  auto v = judge_torn(p, what);
  EXPECT_EQ(v == torn_verdict::torn, !what.empty()) << what;
  return v;
}

/// A single-chain store with the genesis and `n` committed batches.
struct torn_fixture {
  map_store db;
  sim_params p;
  space_set s;
  chain_spec spec;
  std::mt19937_64 rng{chain_seed(11, 0)};
  torn_fixture() {
    p.schedulers = 1;
    p.lanes = 1;
    p.resources = 4;
    for (auto& w : genesis(p, s, 1000)) db.apply(w);
    spec = chain_layout(p, 0);
  }
};

// A store that applies a multi-space batch as one write per space (in either
// order): every state between the first and the last write is torn.
TEST(SimTornReader, CatchesABatchAppliedOneSpaceAtATime) {
  const std::vector<std::vector<space_id>> orders = {
      {spaces::data, spaces::latest_ptr, spaces::rollback_ptr, spaces::batch_metadata},
      {spaces::batch_metadata, spaces::rollback_ptr, spaces::latest_ptr, spaces::data}};
  for (const auto& order : orders) {
    torn_fixture f;
    for (uint64_t n = 0; n < 3; ++n) f.db.apply(plan_batch(f.db, f.s, f.spec, n, f.rng).write);
    auto b = plan_batch(f.db, f.s, f.spec, 3, f.rng);
    EXPECT_EQ(judge(probe(f.db, f.s, b, false)), torn_verdict::consistent) << "before";
    for (size_t step = 0; step < order.size(); ++step) {
      write_request part;
      for (const auto& op : b.write.ops)
        if (op.space == order[step]) part.ops.push_back(op);
      f.db.apply(part);
      auto want = step + 1 < order.size() ? torn_verdict::torn : torn_verdict::consistent;
      EXPECT_EQ(judge(probe(f.db, f.s, b, false)), want)
          << "after space " << int{order[step]} << " (step " << step << ")";
    }
  }
}

// Atomic commits, rollbacks (the numbers reused) and prunes: no batch ever
// sent is judged torn at any point, and reads that span a commit or a
// rollback are inconclusive.
TEST(SimTornReader, LegalRollbacksAndPrunesAreNeverTorn) {
  torn_fixture f;
  std::vector<sent_batch> sent;  // every batch ever sent, rolled back or not
  std::vector<size_t> rolled_back;
  uint64_t live = 0, pruned = 0;
  size_t consistent = 0;
  auto judge_all = [&](const char* when) {
    for (size_t i = 0; i < sent.size(); ++i) {
      bool gone = std::find(rolled_back.begin(), rolled_back.end(), i) != rolled_back.end();
      auto v = judge(probe(f.db, f.s, sent[i], gone));
      EXPECT_NE(v, torn_verdict::torn) << when << ", batch " << i;
      consistent += v == torn_verdict::consistent;
    }
  };
  for (uint64_t i = 1; i <= 40; ++i) {
    sent.push_back(plan_batch(f.db, f.s, f.spec, live, f.rng));
    // A read that began before the commit and ended after it.
    auto spanning = probe(f.db, f.s, sent.back(), false);
    f.db.apply(sent.back().write);
    auto after = probe(f.db, f.s, sent.back(), false);
    spanning.meta_last = after.meta_last;
    EXPECT_EQ(judge(spanning), torn_verdict::inconclusive);
    ++live;
    judge_all("after a batch");
    if (i % 7 == 0 && live > pruned + 1) {
      rollback_plan rb;
      rb.reset(0, live - 2, live);
      while (!rb.done()) EXPECT_FALSE(rb.on_page(f.db.scan(rb.next_scan(f.s, 100))));
      auto before = probe(f.db, f.s, sent.back(), false);
      f.db.apply(rb.commit(f.s, i % 2 == 0));
      auto gone = probe(f.db, f.s, sent.back(), true);
      before.meta_last = gone.meta_last;
      before.rollback_sent = true;
      EXPECT_EQ(judge(before), torn_verdict::inconclusive);
      rolled_back.push_back(sent.size() - 1);
      rolled_back.push_back(sent.size() - 2);
      live -= 2;
      judge_all("after a rollback");
    }
    if (live >= pruned + 5) {
      prune_plan pr;
      pr.reset(0, pruned, live - 3);
      while (!pr.done()) EXPECT_FALSE(pr.on_page(f.db.scan(pr.next_scan(f.s, 100))));
      f.db.apply(pr.commit(f.s, false));
      pruned = live - 3;
      judge_all("after a prune");
    }
  }
  EXPECT_GT(consistent, 0u);
  auto r = check(f.db.image(f.s), std::vector<std::optional<uint64_t>>{live});
  EXPECT_TRUE(r.ok) << r.reason();
}

// -- the exact crash check -------------------------------------------------------------

using resolutions = std::map<std::string, write_state>;

std::string intent(const std::string& token) { return "intent " + token + "\n"; }
std::string ack(const std::string& token) { return "ack " + token + "\n"; }

/// Intent and ack of each token, in order.
std::string acked(const std::vector<std::string>& tokens) {
  std::string text;
  for (const auto& t : tokens) text += intent(t) + ack(t);
  return text;
}

/// Runs the exact check on a side log's text: "ok", or its failures joined by " | ".
std::string crash_check(const std::string& text, const resolutions& resolved,
                        const std::vector<uint64_t>& live) {
  side_log log;
  auto st = parse_side_log(text, log);
  if (!st) return "log error: " + st.to_string();
  auto r = check_side_log(log, resolved, live);
  if (r.failures.empty()) return "ok";
  std::string out;
  for (const auto& f : r.failures) out += (out.empty() ? "" : " | ") + f;
  return out;
}

TEST(SimCrashCheck, TokensNameTheWriteAndFitTheTokenLimit) {
  chain_write w;
  w.chain = 3;
  w.first = 17;
  w.ordinal = 20;
  EXPECT_EQ(write_token(w), "c3-17-20");
  w.rollback = true;
  w.first = 15;
  w.count = 2;
  EXPECT_EQ(write_token(w), "r3-15-2-20");
  chain_write back;
  ASSERT_TRUE(parse_token("r3-15-2-20", back));
  EXPECT_TRUE(back.rollback);
  EXPECT_EQ(back.chain, 3u);
  EXPECT_EQ(back.first, 15u);
  EXPECT_EQ(back.count, 2u);
  EXPECT_EQ(back.ordinal, 20u);
  for (auto bad : {"", "c3-17", "c3-17-20-1", "x3-1-2", "r3-1-0-4", "c3--1", "c3-1-2x"})
    EXPECT_FALSE(parse_token(bad, back)) << bad;
  // The largest chain, batch number and ordinal stay within the default
  // tokens.max-token-size of 64 bytes.
  w.chain = max_chains - 1;
  w.first = (uint64_t{1} << chain_shift) - 1;
  w.count = w.first;
  w.ordinal = UINT64_MAX;
  EXPECT_LE(write_token(w).size(), 64u);
}

TEST(SimCrashCheck, PassesForExactMatches) {
  // Chain 0: two acknowledged commits, a third in doubt that did not commit.
  // Chain 1: one acknowledged, one in doubt that committed. Chain 2: nothing.
  auto log = acked({"c0-0-0", "c0-1-1", "c1-0-0"}) + intent("c0-2-2") + intent("c1-1-1");
  resolutions r{{"c0-2-2", write_state::not_committed}, {"c1-1-1", write_state::committed}};
  EXPECT_EQ(crash_check(log, r, {2, 2, 0}), "ok");
  // A pipelined chain: five intents in flight, acks out of order, two in
  // doubt that committed and one that did not.
  std::string pipe;
  for (int n = 0; n < 5; ++n) pipe += intent("c0-" + std::to_string(n) + "-" + std::to_string(n));
  pipe += ack("c0-1-1") + ack("c0-0-0");
  resolutions rp{{"c0-2-2", write_state::committed},
                 {"c0-3-3", write_state::committed},
                 {"c0-4-4", write_state::not_committed}};
  EXPECT_EQ(crash_check(pipe, rp, {4}), "ok");
  EXPECT_NE(crash_check(pipe, rp, {5}), "ok");
  EXPECT_NE(crash_check(pipe, rp, {3}), "ok");
}

TEST(SimCrashCheck, ReportsALostAcknowledgedCommit) {
  auto log = acked({"c0-0-0", "c0-1-1", "c0-2-2"});
  EXPECT_EQ(crash_check(log, {}, {3}), "ok");
  EXPECT_EQ(crash_check(log, {}, {2}),
            "chain 0 holds 2 batches, but its acknowledged and resolved-committed writes leave 3 "
            "batches");
}

TEST(SimCrashCheck, ReportsABatchBeyondTheLoggedIntents) {
  auto log = acked({"c0-0-0", "c0-1-1"});
  EXPECT_EQ(crash_check(log, {}, {3}),
            "chain 0 holds 3 batches, but its acknowledged and resolved-committed writes leave 2 "
            "batches");
  // A chain with no intent at all must hold nothing.
  EXPECT_EQ(crash_check(log, {}, {2, 1}),
            "chain 1 holds 1 batches, but its acknowledged and resolved-committed writes leave 0 "
            "batches");
}

TEST(SimCrashCheck, ReportsAStoreBehindAnInDoubtCommitThatCommitted) {
  auto log = acked({"c0-0-0", "c0-1-1"}) + intent("c0-2-2");
  EXPECT_EQ(crash_check(log, {{"c0-2-2", write_state::committed}}, {3}), "ok");
  EXPECT_NE(crash_check(log, {{"c0-2-2", write_state::committed}}, {2}), "ok");
  // The same store is right if the write did not commit.
  EXPECT_EQ(crash_check(log, {{"c0-2-2", write_state::not_committed}}, {2}), "ok");
  EXPECT_NE(crash_check(log, {{"c0-2-2", write_state::not_committed}}, {3}), "ok");
}

TEST(SimCrashCheck, HandlesARollbackRecord) {
  // Four commits, one rollback of the last two as ONE record, then batch 2
  // again under a new token.
  auto base = acked({"c0-0-0", "c0-1-1", "c0-2-2", "c0-3-3"});
  EXPECT_EQ(crash_check(base + acked({"r0-2-2-4", "c0-2-5"}), {}, {3}), "ok");
  EXPECT_NE(crash_check(base + acked({"r0-2-2-4", "c0-2-5"}), {}, {4}), "ok");
  EXPECT_NE(crash_check(base + acked({"r0-2-2-4"}), {}, {4}), "ok");  // rollback lost
  // A kill during the rollback: whichever way it resolved, never half of it.
  auto doubt = base + intent("r0-2-2-4");
  EXPECT_EQ(crash_check(doubt, {{"r0-2-2-4", write_state::committed}}, {2}), "ok");
  EXPECT_EQ(crash_check(doubt, {{"r0-2-2-4", write_state::not_committed}}, {4}), "ok");
  EXPECT_NE(crash_check(doubt, {{"r0-2-2-4", write_state::committed}}, {3}), "ok");
  EXPECT_NE(crash_check(doubt, {{"r0-2-2-4", write_state::not_committed}}, {2}), "ok");
}

TEST(SimCrashCheck, FailsWhereTheTolerantCheckPassed) {
  // The earlier check accepted any chain holding acknowledged, acknowledged
  // + 1 or acknowledged - rollback_depth batches: a store that lost exactly
  // its last 2 acknowledged commits passed it.
  auto tolerant = [](uint64_t acknowledged, uint64_t held, uint64_t rollback_depth) {
    return held == acknowledged || held == acknowledged + 1 ||
           held == acknowledged - std::min(acknowledged, rollback_depth);
  };
  auto log = acked({"c0-0-0", "c0-1-1", "c0-2-2", "c0-3-3", "c0-4-4"});
  EXPECT_TRUE(tolerant(5, 3, 2));
  EXPECT_EQ(crash_check(log, {}, {3}),
            "chain 0 holds 3 batches, but its acknowledged and resolved-committed writes leave 5 "
            "batches");
}

TEST(SimCrashCheck, UnresolvedWritesFailOnlyWhenTheyChangeTheVerdict) {
  auto log = acked({"c0-0-0"}) + intent("c0-1-1");
  resolutions unknown{{"c0-1-1", write_state::unknown}};
  EXPECT_NE(crash_check(log, unknown, {1}).find("cannot decide"), std::string::npos);
  EXPECT_NE(crash_check(log, unknown, {2}).find("cannot decide"), std::string::npos);
  // Neither resolution explains 3 batches: a plain failure.
  EXPECT_NE(crash_check(log, unknown, {3}).find("which no resolution"), std::string::npos);
  // A later write that committed settles an unresolved earlier one of its chain.
  auto later = log + intent("c0-2-2");
  resolutions r{{"c0-1-1", write_state::unknown}, {"c0-2-2", write_state::committed}};
  EXPECT_EQ(crash_check(later, r, {3}), "ok");
  // A later write committed after an earlier one that did not: a reordering store.
  resolutions reordered{{"c0-1-1", write_state::not_committed}, {"c0-2-2", write_state::committed}};
  EXPECT_NE(crash_check(later, reordered, {3}).find("does not fit the chain"), std::string::npos);
}

TEST(SimCrashCheck, IgnoresATornLastLineOnly) {
  auto log = acked({"c0-0-0"}) + "intent c0-1-";
  EXPECT_EQ(crash_check(log, {}, {1}), "ok");
  EXPECT_NE(crash_check(log, {}, {2}), "ok");
  EXPECT_EQ(crash_check("intent c0-0-0\nac\nack c0-0-0\n", {}, {1}).rfind("log error", 0), 0u);
  EXPECT_EQ(crash_check(ack("c0-0-0"), {}, {1}).rfind("log error", 0), 0u);
  EXPECT_EQ(crash_check(intent("c0-0-1"), {}, {1}).rfind("log error", 0), 0u);  // ordinal gap
  side_log parsed;
  ASSERT_TRUE(static_cast<bool>(parse_side_log(acked({"c0-0-0"}) + intent("c0-1-1"), parsed)));
  EXPECT_EQ(parsed.in_doubt(), std::vector<std::string>{"c0-1-1"});
}

}  // namespace
}  // namespace vstore::sim
