// The state service's rules without an actor (state/layout.hpp): the key
// encoding and its order, the operations of an apply group, a rollback and a
// prune page, the overlay of pending applies, and the read walk. The last
// tests run the rules together over a map that applies their operations (a
// store of four std::maps), as the service runs them over a manager.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "state/layout.hpp"

namespace vstore::state_layout {
namespace {

const space_ids ids{0, 1, 2, 3};

std::string be(batch_index b) { return encode_index(b); }

std::string id(char c, uint32_t n = 4) { return std::string(n, c); }

/// Renders an operation as "put data 0000000000000001|aaaa=v" (bytes of a
/// batch index as hex digits) so that expectations read like the layout.
std::string show(const write_op& op) {
  static const char* names[] = {"data", "latest", "rollback", "meta"};
  // Shorter than 8 bytes: text (a resource, a value); else the first 8 bytes
  // in hex, then "|" and the rest as text.
  auto render = [](const std::string& k) {
    if (k.size() < 8) return k;
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < 8; ++i) {
      out += digits[static_cast<uint8_t>(k[i]) >> 4];
      out += digits[static_cast<uint8_t>(k[i]) & 0xf];
    }
    if (k.size() > 8) out += "|" + k.substr(8);
    return out;
  };
  std::string kind = op.kind == op_kind::put ? "put" : op.kind == op_kind::del ? "del" : "range";
  std::string out = kind + " " + names[op.space] + " " + render(op.key);
  if (op.kind == op_kind::put) out += "=" + render(op.value);
  if (op.kind == op_kind::del_range) out += ".." + render(op.value);
  return out;
}

std::vector<std::string> show(const std::vector<write_op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(show(op));
  return out;
}

TEST(StateLayout, EncodingSortsByBatchThenResource) {
  EXPECT_EQ(be(1).size(), 8u);
  EXPECT_EQ(be(0x0102030405060708), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  std::vector<batch_index> xs{0, 1, 2, 255, 256, 65535, 1u << 31, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 1; i < xs.size(); ++i) EXPECT_LT(be(xs[i - 1]), be(xs[i])) << xs[i];
  for (auto x : xs) EXPECT_EQ(decode_index(be(x)), x);
  EXPECT_FALSE(decode_index("1234567"));
  EXPECT_FALSE(decode_index("123456789"));
  // Version keys: batch first, then resource, whatever the resource's bytes.
  EXPECT_LT(version_key(1, id('\xff')), version_key(2, id('\0')));
  EXPECT_LT(version_key(2, id('a')), version_key(2, id('b')));
  EXPECT_EQ(version_key(3, "ab"), be(3) + "ab");
  // The meta keys sort after every batch key, even BE(2^64 - 1).
  for (const auto& meta : {head_key(), floor_key()}) {
    EXPECT_EQ(meta.substr(0, 8), std::string(8, '\xff'));
    EXPECT_GT(meta, be(UINT64_MAX));
    EXPECT_GT(meta, version_key(UINT64_MAX - 1, id('\xff')));
  }
  EXPECT_NE(head_key(), floor_key());
  // The rollback scan starts after every entry of the index, before the next.
  const auto start = rollback_scan_start(5, 4);
  EXPECT_GE(start, version_key(5, id('\xff')));
  EXPECT_LT(start, version_key(6, id('\0')));
}

TEST(StateLayout, ParsesRollbackEntries) {
  rollback_entry e;
  ASSERT_TRUE(parse_rollback_entry({version_key(7, "abcd"), be(3)}, 4, e));
  EXPECT_EQ(e, (rollback_entry{7, "abcd", 3}));
  EXPECT_EQ(parse_rollback_entry({version_key(7, "abc"), be(3)}, 4, e).code(), errc::corruption);
  EXPECT_EQ(parse_rollback_entry({version_key(7, "abcd"), "x"}, 4, e).code(), errc::corruption);
}

TEST(StateLayout, LastWriteWinsKeepsFirstPlace) {
  auto out = last_write_wins({{"a", false, "1"}, {"b", false, "2"}, {"a", true, ""}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].resource, "a");
  EXPECT_TRUE(out[0].remove);
  EXPECT_EQ(out[1].value, "2");
}

TEST(StateLayout, ApplyGroupWritesVersionsEntriesPointersAndHead) {
  pending_batch b5{5, {{"aaaa", false, "x"}, {"bbbb", true, ""}}, "m5"};
  pending_batch b6{6, {{"aaaa", false, "y"}}, "m6"};
  std::unordered_map<std::string, batch_index> latest{{"aaaa", 2}};  // bbbb: none
  std::vector<write_op> ops;
  build_apply_ops(ids, {&b5, &b6}, latest, ops);
  EXPECT_EQ(show(ops), (std::vector<std::string>{
                           "put data 0000000000000005|aaaa=x",
                           "put rollback 0000000000000005|aaaa=0000000000000002",
                           // A remove: no data, a rollback entry, the pointer moves (tombstone).
                           "put rollback 0000000000000005|bbbb=0000000000000000",
                           "put meta 0000000000000005=m5",
                           "put data 0000000000000006|aaaa=y",
                           "put rollback 0000000000000006|aaaa=0000000000000005",
                           "put meta 0000000000000006=m6",
                           "put latest aaaa=0000000000000006",
                           "put latest bbbb=0000000000000005",
                           "put meta ffffffffffffffff|head=0000000000000006",
                       }));
  EXPECT_EQ(latest["aaaa"], 6u);
  EXPECT_EQ(latest["bbbb"], 5u);
}

TEST(StateLayout, RollbackRestoresThePrevOfTheOldestEntryAfterTheIndex) {
  rollback_plan plan{3};
  // Pages may come in any order: the oldest entry per resource decides.
  ASSERT_TRUE(plan.add({6, "aaaa", 5}));
  ASSERT_TRUE(plan.add({4, "aaaa", 2}));
  ASSERT_TRUE(plan.add({5, "aaaa", 4}));
  ASSERT_TRUE(plan.add({5, "bbbb", 0}));
  EXPECT_EQ(plan.add({3, "cccc", 1}).code(), errc::corruption);
  EXPECT_EQ(plan.pointers(), 2u);
  std::vector<write_op> ops;
  plan.build(ids, 6, ops);
  EXPECT_EQ(show(ops), (std::vector<std::string>{
                           "put latest aaaa=0000000000000002",
                           "del latest bbbb",
                           // Point deletes in data and rollback_ptr (layout.hpp: why).
                           "del data 0000000000000006|aaaa",
                           "del rollback 0000000000000006|aaaa",
                           "del data 0000000000000004|aaaa",
                           "del rollback 0000000000000004|aaaa",
                           "del data 0000000000000005|aaaa",
                           "del rollback 0000000000000005|aaaa",
                           "del data 0000000000000005|bbbb",
                           "del rollback 0000000000000005|bbbb",
                           "range meta 0000000000000004..0000000000000007",
                           "put meta ffffffffffffffff|head=0000000000000003",
                       }));
  // The broken variant leaves out one restore.
  std::vector<write_op> broken;
  plan.build(ids, 6, broken, true);
  EXPECT_EQ(broken.size(), ops.size() - 1);
  EXPECT_EQ(show(broken.front()), "del latest bbbb");
}

TEST(StateLayout, RollbackToTheHeadOnlyWritesTheHead) {
  rollback_plan plan{4};
  std::vector<write_op> ops;
  plan.build(ids, 4, ops);
  EXPECT_EQ(show(ops),
            (std::vector<std::string>{"put meta ffffffffffffffff|head=0000000000000004"}));
}

/// The entries of the prune page of the two tests below, and its deletions.
std::vector<rollback_entry> page_entries() {
  return {{1, "aaaa", 0}, {1, "cccc", 0}, {2, "aaaa", 1}, {2, "bbbb", 0}};
}

std::vector<std::string> page_deletions() {
  return {"del rollback 0000000000000001|aaaa", "del rollback 0000000000000001|cccc",
          "del data 0000000000000001|aaaa",     "del rollback 0000000000000002|aaaa",
          "del rollback 0000000000000002|bbbb", "del latest bbbb"};
}

TEST(StateLayout, PrunePageDeletesSupersededVersionsEntriesAndTombstones) {
  // aaaa: 1 -> 2 (superseded at 2). bbbb: removed at 2 (a tombstone, still
  // latest). cccc: removed at 1, rewritten at 4 (latest 4, above the floor).
  prune_page page{page_entries()};
  auto reads = page.reads(ids);
  // Per entry: data at prev (prev != 0), data at b; then latest per resource.
  ASSERT_EQ(reads.size(), 8u);
  EXPECT_EQ(reads[0].key, version_key(1, "aaaa"));
  EXPECT_EQ(reads[2].key, version_key(1, "aaaa"));  // prev of (2, aaaa)
  EXPECT_EQ(reads[3].key, version_key(2, "aaaa"));
  EXPECT_EQ(reads[5].space, ids.latest);
  std::vector<read_result> answers(8);
  answers[0].found = true;                // data 1|aaaa
  answers[1].found = false;               // data 1|cccc: a tombstone
  answers[2].found = true;                // data 1|aaaa (prev of 2)
  answers[3].found = true;                // data 2|aaaa
  answers[4].found = false;               // data 2|bbbb: a tombstone
  answers[5] = {true, be(2), {}, false};  // latest aaaa
  answers[6] = {true, be(4), {}, false};  // latest cccc
  answers[7] = {true, be(2), {}, false};  // latest bbbb
  std::vector<write_op> ops;
  prune_counts counts;
  ASSERT_TRUE(page.build(ids, answers, ops, counts));
  EXPECT_EQ(show(ops), page_deletions());
  EXPECT_EQ(counts.versions, 1u);
  EXPECT_EQ(counts.entries, 4u);
  EXPECT_EQ(counts.tombstones, 1u);
  answers.pop_back();
  EXPECT_FALSE(page.build(ids, answers, ops, counts));
}

TEST(StateLayout, PrunePageReadsNothingOfAPointerItKeeps) {
  // The page of the test above, with cccc (latest 4, above the floor)
  // kept: its data at b and its pointer are not read, and the deletions
  // are the same.
  prune_page page{page_entries(), {"cccc"}};
  auto reads = page.reads(ids);
  ASSERT_EQ(reads.size(), 6u);
  EXPECT_EQ(reads[0].key, version_key(1, "aaaa"));
  EXPECT_EQ(reads[1].key, version_key(1, "aaaa"));  // prev of (2, aaaa)
  EXPECT_EQ(reads[2].key, version_key(2, "aaaa"));
  EXPECT_EQ(reads[3].key, version_key(2, "bbbb"));
  EXPECT_EQ(reads[4].space, ids.latest);
  EXPECT_EQ(reads[4].key, "aaaa");
  EXPECT_EQ(reads[5].key, "bbbb");
  std::vector<read_result> answers(6);
  answers[0].found = true;
  answers[1].found = true;
  answers[2].found = true;
  answers[3].found = false;  // data 2|bbbb: a tombstone
  answers[4] = {true, be(2), {}, false};
  answers[5] = {true, be(2), {}, false};
  std::vector<write_op> ops;
  prune_counts counts;
  ASSERT_TRUE(page.build(ids, answers, ops, counts));
  EXPECT_EQ(show(ops), page_deletions());
  EXPECT_EQ(counts.tombstones, 1u);
  // Every pointer kept and no prev: nothing to read.
  prune_page alone{{{1, "cccc", 0}}, {"cccc"}};
  EXPECT_TRUE(alone.reads(ids).empty());
  ops.clear();
  ASSERT_TRUE(alone.build(ids, {}, ops, counts));
  EXPECT_EQ(show(ops), (std::vector<std::string>{"del rollback 0000000000000001|cccc"}));
}

TEST(StateLayout, OverlayAnswersTheNewestPendingWriteAtOrBelowAnIndex) {
  pending_overlay o;
  o.add({4, {{"aaaa", false, "x4"}}, ""});
  o.add({6, {{"aaaa", true, ""}, {"bbbb", false, "y6"}}, ""});
  o.add({9, {{"aaaa", false, "x9"}}, ""});
  EXPECT_EQ(o.find("aaaa", 3), nullptr);  // older: the store knows
  EXPECT_EQ(o.find("aaaa", 4)->value, "x4");
  EXPECT_EQ(o.find("aaaa", 5)->value, "x4");
  EXPECT_TRUE(o.find("aaaa", 8)->removed);
  EXPECT_EQ(o.find("aaaa", UINT64_MAX)->value, "x9");
  EXPECT_EQ(o.find("cccc", UINT64_MAX), nullptr);
  o.drop_through(6);
  EXPECT_EQ(o.find("aaaa", 8), nullptr);
  EXPECT_EQ(o.find("bbbb", UINT64_MAX), nullptr);
  EXPECT_EQ(o.size(), 1u);
  o.clear();
  EXPECT_TRUE(o.empty());
}

// -- the rules together over a map store ---------------------------------------------------

/// Four spaces as std::maps, applying write operations as a store does.
struct map_store {
  std::map<std::string, std::string> spaces[4];

  void write(const std::vector<write_op>& ops) {
    for (const auto& op : ops) {
      auto& m = spaces[op.space];
      if (op.kind == op_kind::put) m[op.key] = op.value;
      if (op.kind == op_kind::del) m.erase(op.key);
      if (op.kind == op_kind::del_range) m.erase(m.lower_bound(op.key), m.lower_bound(op.value));
    }
  }
  read_result get(const read_item& it) const {
    read_result r;
    auto& m = spaces[it.space];
    if (auto f = m.find(it.key); f != m.end()) {
      r.found = true;
      r.value = f->second;
    }
    return r;
  }
  std::vector<read_result> read(const std::vector<read_item>& items) const {
    std::vector<read_result> out;
    for (const auto& it : items) out.push_back(get(it));
    return out;
  }
  /// The rollback entries after `start` (every one).
  std::vector<rollback_entry> entries_after(const std::string& start, uint32_t len) const {
    std::vector<rollback_entry> out;
    for (auto it = spaces[2].upper_bound(start); it != spaces[2].end(); ++it) {
      rollback_entry e;
      EXPECT_TRUE(parse_rollback_entry({it->first, it->second}, len, e));
      out.push_back(e);
    }
    return out;
  }
};

class RulesOverMaps : public ::testing::Test {
 protected:
  map_store s_;
  batch_index head_ = 0;

  void apply(batch_index b, std::vector<change> writes) {
    pending_batch pb{b, last_write_wins(std::move(writes)), "m"};
    std::unordered_map<std::string, batch_index> latest;
    for (const auto& w : pb.writes) {
      auto r = s_.get(read_item::get(ids.latest, w.resource));
      latest[w.resource] = r.found ? *decode_index(r.value) : 0;
    }
    std::vector<write_op> ops;
    build_apply_ops(ids, {&pb}, latest, ops);
    s_.write(ops);
    head_ = b;
  }
  void rollback(batch_index index) {
    rollback_plan plan{index};
    for (const auto& e : s_.entries_after(rollback_scan_start(index, 4), 4))
      ASSERT_TRUE(plan.add(e));
    std::vector<write_op> ops;
    plan.build(ids, head_, ops);
    s_.write(ops);
    head_ = index;
  }
  prune_counts prune(batch_index floor) {
    std::vector<rollback_entry> below;
    for (const auto& e : s_.entries_after("", 4))
      if (e.batch <= floor) below.push_back(e);
    prune_counts c;
    if (below.empty()) return c;
    prune_page page{below};
    std::vector<write_op> ops;
    EXPECT_TRUE(page.build(ids, s_.read(page.reads(ids)), ops, c));
    s_.write(ops);
    return c;
  }
  /// The value of `r` as of `index` by the read walk; "-" when not found.
  std::string read(const std::string& r, batch_index index) {
    read_walk w{{r}, index};
    for (int step = 0; step < 100 && !w.done(); ++step) {
      auto st = w.take(s_.read(w.items(ids)));
      EXPECT_TRUE(st) << st.to_string();
      if (!st) return "error";
    }
    return w.found()[0] ? w.values()[0] : "-";
  }
};

TEST_F(RulesOverMaps, ReadWalkFollowsTheHistory) {
  apply(1, {{"aaaa", false, "a1"}});
  apply(2, {{"bbbb", false, "b2"}});
  apply(3, {{"aaaa", false, "a3"}});
  apply(5, {{"aaaa", true, ""}});
  apply(7, {{"aaaa", false, "a7"}});
  const char* expect[] = {"-", "a1", "a1", "a3", "a3", "-", "-", "a7", "a7"};
  for (batch_index i = 0; i <= 8; ++i) EXPECT_EQ(read("aaaa", i), expect[i]) << i;
  EXPECT_EQ(read("aaaa", UINT64_MAX), "a7");
  EXPECT_EQ(read("bbbb", 1), "-");
  EXPECT_EQ(read("cccc", UINT64_MAX), "-");
}

TEST_F(RulesOverMaps, RollbackThenPruneKeepsEveryReadAboveTheFloor) {
  apply(1, {{"aaaa", false, "a1"}, {"bbbb", false, "b1"}});
  apply(2, {{"aaaa", false, "a2"}, {"bbbb", true, ""}});
  apply(3, {{"aaaa", false, "a3"}, {"cccc", false, "c3"}});
  apply(4, {{"cccc", true, ""}});
  rollback(3);
  EXPECT_EQ(read("cccc", UINT64_MAX), "c3");
  rollback(1);
  EXPECT_EQ(read("aaaa", UINT64_MAX), "a1");
  EXPECT_EQ(read("bbbb", UINT64_MAX), "b1");
  EXPECT_EQ(read("cccc", UINT64_MAX), "-");
  EXPECT_TRUE(s_.spaces[0].count(version_key(1, "aaaa")));
  EXPECT_FALSE(s_.spaces[0].count(version_key(2, "aaaa")));
  apply(7, {{"aaaa", false, "a7"}, {"bbbb", true, ""}});
  apply(8, {{"aaaa", false, "a8"}});
  auto c = prune(7);
  // a1 superseded at 7, a7 at 8 (8 > floor: kept); b1 superseded at 7; the
  // tombstone of bbbb at 7 <= floor is latest: dropped with its pointer.
  EXPECT_EQ(c.versions, 2u);
  EXPECT_EQ(c.entries, 4u);
  EXPECT_EQ(c.tombstones, 1u);
  EXPECT_EQ(read("aaaa", 7), "a7");
  EXPECT_EQ(read("aaaa", 8), "a8");
  EXPECT_EQ(read("bbbb", 8), "-");
  EXPECT_FALSE(s_.spaces[1].count("bbbb"));
  rollback(7);
  EXPECT_EQ(read("aaaa", UINT64_MAX), "a7");
  // Only the pointer of aaaa, its version 7 and batch 7's metadata remain.
  EXPECT_EQ(s_.spaces[0].size(), 1u);
  EXPECT_EQ(s_.spaces[1].size(), 1u);
  EXPECT_EQ(s_.spaces[2].size(), 0u);
}

TEST(StateLayout, LatestCacheIsBoundedAndForgets) {
  latest_cache c{2};
  c.put("aaaa", 3, false, "x");
  c.put("bbbb", 4, true, "ignored");
  EXPECT_EQ(c.removed(), 1u);
  ASSERT_NE(c.find("aaaa"), nullptr);
  EXPECT_EQ(c.find("aaaa")->value, "x");
  EXPECT_TRUE(c.find("bbbb")->removed);
  EXPECT_EQ(c.find("bbbb")->value, "");
  c.put("aaaa", 5, false, "y");  // an update takes no room
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find("aaaa")->version, 5u);
  c.put("cccc", 6, false, "z");  // full: one entry makes room
  EXPECT_EQ(c.size(), 2u);
  EXPECT_NE(c.find("cccc"), nullptr);
  c.erase("cccc");
  EXPECT_EQ(c.find("cccc"), nullptr);
  c.erase("bbbb");  // room for one more without an eviction
  EXPECT_EQ(c.removed(), 0u);
  c.put("dddd", 7, true, "");
  EXPECT_EQ(c.removed(), 1u);
  c.forget_removed_through(6);
  EXPECT_NE(c.find("dddd"), nullptr);  // a tombstone above the floor stays
  c.forget_removed_through(7);
  EXPECT_EQ(c.find("dddd"), nullptr);
  EXPECT_EQ(c.removed(), 0u);
  EXPECT_NE(c.find("aaaa"), nullptr);  // a value stays
  // A removed resource written again, and one evicted, are no longer counted.
  c.put("eeee", 8, true, "");
  c.put("eeee", 9, false, "v");
  EXPECT_EQ(c.removed(), 0u);
  c.put("ffff", 10, true, "");
  c.put("gggg", 11, false, "w");  // full: evicts aaaa or ffff
  c.put("hhhh", 12, false, "w");  // and again
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.removed(), c.find("ffff") != nullptr ? 1u : 0u);
  c.clear();
  EXPECT_EQ(c.removed(), 0u);
  latest_cache off{0};
  off.put("aaaa", 1, false, "x");
  EXPECT_EQ(off.find("aaaa"), nullptr);
}

TEST(StateLayout, RollbackNamesTheResourcesItRestores) {
  rollback_plan plan{3};
  ASSERT_TRUE(plan.add({6, "bbbb", 5}));
  ASSERT_TRUE(plan.add({4, "aaaa", 2}));
  ASSERT_TRUE(plan.add({5, "bbbb", 0}));
  EXPECT_EQ(plan.restored(), (std::vector<std::string>{"aaaa", "bbbb"}));
}

TEST(StateLayout, PruneScanSizeAsksForWhatTheBatchesHold) {
  prune_scan_size size;
  // Nothing counted yet: a whole page.
  EXPECT_EQ(size.limit(0, 10, 1000), 1000u);
  for (int i = 0; i < 10; ++i) size.add(2);
  EXPECT_EQ(size.limit(0, 10, 1000), 27u);     // 2 x 10 x 5/4 + 2
  EXPECT_EQ(size.limit(5, 10, 1000), 14u);     // 2 x 5 x 5/4 + 2 = 14.5
  EXPECT_EQ(size.limit(0, 10, 20), 20u);       // never more than the page
  EXPECT_EQ(size.limit(10, 10, 1000), 1000u);  // nothing to cover: a page
  // Spans near 2^64 do not overflow.
  EXPECT_EQ(size.limit(0, UINT64_MAX - 1, 1000), 1000u);
  for (int i = 0; i < 10; ++i) size.add(0);
  EXPECT_EQ(size.limit(0, 10, 1000), 14u);  // 1 x 10 x 5/4 + 2 = 14.5
}

}  // namespace
}  // namespace vstore::state_layout
