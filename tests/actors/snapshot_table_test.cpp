// The kept snapshots of snapshot_read_requests (actors/snapshot_table.hpp):
// ids, leases renewed by use, expiry, the bound, and read_items. Plain C++
// over a memory store's views: no actor system, time passed in by the test.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>

#include "actors/snapshot_table.hpp"
#include "backends/memory/memory_store.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using clock_type = snapshot_table::clock;

class SnapshotTable : public ::testing::Test {
 protected:
  std::shared_ptr<store> store_ = make_memory_store(default_schema());

  std::shared_ptr<const read_view> view() {
    std::shared_ptr<const read_view> v;
    EXPECT_TRUE(store_->snapshot(v));
    return v;
  }
  void put(std::string_view k, std::string_view v) {
    auto b = store_->make_batch();
    b->put(0, k, v);
    uint64_t seq = 0;
    ASSERT_TRUE(store_->commit(*b, seq));
  }
};

TEST_F(SnapshotTable, KeepsFindsAndReleases) {
  snapshot_table t{4, 100ms};
  const auto t0 = clock_type::now();
  auto v = view();
  auto id = t.keep(v, store_, t0);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(t.size(), 1u);
  auto* e = t.find(id, t0 + 50ms);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->view, v);
  EXPECT_EQ(t.find(id + 1, t0), nullptr);
  EXPECT_TRUE(t.release(id));
  EXPECT_FALSE(t.release(id));
  EXPECT_EQ(t.find(id, t0), nullptr);
}

TEST_F(SnapshotTable, UseRenewsTheLeaseAndIdleOnesExpire) {
  snapshot_table t{4, 100ms};
  const auto t0 = clock_type::now();
  auto used = t.keep(view(), store_, t0);
  auto idle = t.keep(view(), store_, t0);
  // Used every 60 ms: alive at 180 ms, past three leases' start.
  ASSERT_NE(t.find(used, t0 + 60ms), nullptr);
  ASSERT_NE(t.find(used, t0 + 120ms), nullptr);
  EXPECT_EQ(t.expire(t0 + 150ms), 1u);  // the idle one, 50 ms past its lease
  EXPECT_EQ(t.find(idle, t0 + 150ms), nullptr);
  ASSERT_NE(t.find(used, t0 + 180ms), nullptr);
  // find() itself refuses one past its lease.
  EXPECT_EQ(t.find(used, t0 + 280ms), nullptr);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.expired_total(), 2u);
}

TEST_F(SnapshotTable, BoundedAndRoomAgainOnceOneExpires) {
  snapshot_table t{2, 100ms};
  const auto t0 = clock_type::now();
  EXPECT_NE(t.keep(view(), store_, t0), 0u);
  EXPECT_NE(t.keep(view(), store_, t0 + 10ms), 0u);
  EXPECT_EQ(t.keep(view(), store_, t0 + 20ms), 0u);
  EXPECT_EQ(t.size(), 2u);
  // At 105 ms the first one's lease ran out: keep() expires it and takes the new one.
  EXPECT_NE(t.keep(view(), store_, t0 + 105ms), 0u);
  EXPECT_EQ(t.size(), 2u);
}

TEST_F(SnapshotTable, IdsAreNotReusedOrPredictable) {
  // A client holding an id of an earlier run (or another client's) must not
  // find a different snapshot by chance: ids are random, never 0.
  snapshot_table a{64, 1s}, b{64, 1s};
  const auto t0 = clock_type::now();
  std::set<uint64_t> ids;
  for (int i = 0; i < 32; ++i) {
    auto x = a.keep(view(), store_, t0);
    auto y = b.keep(view(), store_, t0);
    EXPECT_NE(x, 0u);
    EXPECT_TRUE(ids.insert(x).second);
    EXPECT_TRUE(ids.insert(y).second);
  }
}

TEST_F(SnapshotTable, ReadItemsAnswersEachItemAtTheView) {
  put("a1", "x");
  put("a2", "y");
  auto v = view();
  put("a1", "changed");
  put("a3", "new");
  std::vector<read_item> items{read_item::get(0, "a1"), read_item::get(0, "zz"),
                               read_item::page(0, "a", 1), read_item::page(0, "a", 10, "a1")};
  std::vector<read_result> out;
  ASSERT_TRUE(read_items(*v, items, out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].found);
  EXPECT_EQ(out[0].value, "x");
  EXPECT_FALSE(out[1].found);
  ASSERT_EQ(out[2].entries.size(), 1u);
  EXPECT_TRUE(out[2].more);
  ASSERT_EQ(out[3].entries.size(), 1u);
  EXPECT_EQ(out[3].entries[0].key, "a2");
  EXPECT_FALSE(out[3].more);
  // A failing item fails the whole request, answering nothing.
  items.push_back(read_item::get(0, ""));
  auto st = read_items(*v, items, out);
  EXPECT_EQ(st.code(), errc::empty_key);
  EXPECT_TRUE(out.empty());
}

/// Forwards to `inner`, counting the calls read_items makes.
class counting_reads final : public read_store {
 public:
  explicit counting_reads(const read_store& inner) : inner_(inner) {}
  status get(space_id s, std::string_view k, std::string& v, bool& found) const override {
    ++gets;
    return inner_.get(s, k, v, found);
  }
  status multi_get(space_id s, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    ++multi_gets;
    return inner_.multi_get(s, keys, values);
  }
  status scan(space_id s, std::string_view prefix, std::string_view after, size_t limit,
              scan_page& page) const override {
    return inner_.scan(s, prefix, after, limit, page);
  }
  std::optional<status> try_get(space_id s, std::string_view k, std::string& v,
                                bool& found) const override {
    ++gets;
    return inner_.try_get(s, k, v, found);
  }
  std::optional<status> try_multi_get(
      space_id s, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override {
    ++multi_gets;
    return inner_.try_multi_get(s, keys, values);
  }
  std::optional<status> try_scan(space_id s, std::string_view prefix, std::string_view after,
                                 size_t limit, scan_page& page) const override {
    return inner_.try_scan(s, prefix, after, limit, page);
  }
  mutable int gets = 0;
  mutable int multi_gets = 0;

 private:
  const read_store& inner_;
};

// The key items of one space are read as one multi_get (a lone one as a get),
// and every answer lands at its item's place, between scans and across
// spaces, blocking or cache-only.
TEST_F(SnapshotTable, ReadItemsReadsTheKeysOfOneSpaceAsOneMultiGet) {
  auto b = store_->make_batch();
  b->put(0, "a1", "x1");
  b->put(0, "a2", "x2");
  b->put(1, "b2", "y2");
  b->put(2, "c1", "z1");
  uint64_t seq = 0;
  ASSERT_TRUE(store_->commit(*b, seq));
  auto v = view();
  std::vector<read_item> items{read_item::get(0, "a1"), read_item::page(0, "a", 10),
                               read_item::get(1, "b1"), read_item::get(0, "a2"),
                               read_item::get(0, "zz"), read_item::get(1, "b2"),
                               read_item::get(2, "c1")};
  for (bool cache_only : {false, true}) {
    counting_reads reads{*v};
    std::vector<read_result> out;
    if (cache_only) {
      auto st = try_read_items(reads, items, out);
      ASSERT_TRUE(st.has_value());
      ASSERT_TRUE(*st) << st->to_string();
    } else {
      ASSERT_TRUE(read_items(reads, items, out));
    }
    EXPECT_EQ(reads.multi_gets, 2) << "spaces 0 and 1, cache_only " << cache_only;
    EXPECT_EQ(reads.gets, 1) << "space 2, cache_only " << cache_only;
    ASSERT_EQ(out.size(), items.size());
    EXPECT_TRUE(out[0].found);
    EXPECT_EQ(out[0].value, "x1");
    ASSERT_EQ(out[1].entries.size(), 2u);
    EXPECT_EQ(out[1].entries[1].value, "x2");
    EXPECT_FALSE(out[2].found);
    EXPECT_TRUE(out[3].found);
    EXPECT_EQ(out[3].value, "x2");
    EXPECT_FALSE(out[4].found);
    EXPECT_TRUE(out[5].found);
    EXPECT_EQ(out[5].value, "y2");
    EXPECT_TRUE(out[6].found);
    EXPECT_EQ(out[6].value, "z1");
  }
}

}  // namespace
}  // namespace vstore
