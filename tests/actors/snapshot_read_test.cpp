// snapshot_read_request through the manager (design §3: reads see whole
// batches): several spaces read at ONE snapshot while multi-space batches
// commit, snapshots kept across requests and released, the bounds, the drain,
// and the blocking client's for_each. Each property is also run against a
// store that breaks it (live_snapshots: a "snapshot" that reads the live
// store, or paging without a snapshot), which the same check must catch.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/broken_stores.hpp"
#include "vstore/client.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;

constexpr space_id space_a = 0;  // data
constexpr space_id space_b = 4;  // metas
constexpr int keys_per_space = 20;

std::string key_of(int i) { return "k" + std::to_string(100 + i); }

/// Batch n: every key of both spaces gets the value n.
write_request batch(uint64_t n) {
  write_request w;
  for (int i = 0; i < keys_per_space; ++i) {
    w.put(space_a, key_of(i), std::to_string(n));
    w.put(space_b, key_of(i), std::to_string(n));
  }
  return w;
}

class SnapshotRead : public actor_test, public ::testing::WithParamInterface<backend_kind> {
 protected:
  scratch_dir dir_;

  options opts() { return test_options(GetParam(), dir_.path()); }

  /// What one run of the torn-read check saw.
  struct torn_result {
    uint64_t reads = 0;
    uint64_t torn = 0;
    uint64_t writes = 0;
    std::string first_torn;
  };

  /// Commits batches (each: one value in every key of two spaces) from a
  /// second thread while this one reads both spaces with snapshot reads (a
  /// page of each and one get of each); a read is torn when its values
  /// differ. Bounded: at most `max_reads` reads and 10 s.
  torn_result run_torn_check(const manager_actor& m, uint64_t max_reads) {
    torn_result r;
    commit_ack ack;
    EXPECT_TRUE(ask(m, batch(0), ack));
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0};
    std::thread writer{[&] {
      caf::scoped_actor w{sys_};
      for (uint64_t n = 1; n < 1000000 && !stop.load(); ++n) {
        auto req = batch(n);
        req.flush_now = true;
        bool ok = false;
        w->request(m, reply_timeout, std::move(req))
            .receive([&](commit_ack&) { ok = true; }, [&](caf::error&) {});
        if (!ok) break;
        writes.fetch_add(1);
      }
    }};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    // Wait (bounded) until the writer has committed, so reads race commits.
    while (writes.load() < 3 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    while (r.reads < max_reads && std::chrono::steady_clock::now() < deadline) {
      snapshot_read_request req;
      req.items = {read_item::page(space_a, "k", 100), read_item::get(space_b, key_of(7)),
                   read_item::page(space_b, "k", 100), read_item::get(space_a, key_of(3))};
      snapshot_read_reply rep;
      auto st = ask(m, std::move(req), rep);
      if (!st || rep.results.size() != 4) {
        ADD_FAILURE() << "snapshot read failed: " << st.to_string();
        break;
      }
      ++r.reads;
      std::vector<std::string> values;
      for (const auto& kv : rep.results[0].entries) values.push_back(kv.value);
      values.push_back(rep.results[1].value);
      for (const auto& kv : rep.results[2].entries) values.push_back(kv.value);
      values.push_back(rep.results[3].value);
      bool torn = values.size() != 2 * keys_per_space + 2;
      for (const auto& v : values) torn = torn || v != values.front();
      if (torn) {
        if (r.torn++ == 0) r.first_torn = values.front() + " .. " + values.back();
        if (r.torn >= 3) break;  // caught: no need to go on
      }
    }
    stop.store(true);
    writer.join();
    r.writes = writes.load();
    return r;
  }
};

TEST_P(SnapshotRead, SeveralSpacesAtOneSnapshotAreNeverTorn) {
  auto m = start(opts());
  auto r = run_torn_check(m, static_cast<uint64_t>(1500 * test_scale()) + 50);
  std::cout << "[ measure  ] " << r.reads << " snapshot reads of 2 spaces x " << keys_per_space
            << " keys during " << r.writes << " multi-space commits: " << r.torn << " torn\n";
  EXPECT_EQ(r.torn, 0u) << r.first_torn;
  EXPECT_GT(r.writes, 10u) << "the reads did not race the commits";
}

TEST_P(SnapshotRead, AStoreWhoseSnapshotsReadLiveIsCaught) {
  auto o = opts();
  std::shared_ptr<store> inner;
  ASSERT_TRUE(open_store(o, inner));
  auto m = start_over(o, std::make_shared<live_snapshots>(inner));
  auto r = run_torn_check(m, 20000);
  std::cout << "[ measure  ] live_snapshots: " << r.reads << " reads during " << r.writes
            << " commits: " << r.torn << " torn (first: " << r.first_torn << ")\n";
  EXPECT_GT(r.torn, 0u) << "the check did not catch reads that are not at one snapshot";
}

TEST_P(SnapshotRead, AKeptSnapshotServesLaterRequestsUntilReleased) {
  auto m = start(opts());
  ASSERT_TRUE(put(m, space_a, "a", "1"));
  ASSERT_TRUE(put(m, space_b, "b", "1"));
  snapshot_read_request first;
  first.items = {read_item::get(space_a, "a")};
  first.keep = true;
  snapshot_read_reply r1;
  ASSERT_TRUE(ask(m, first, r1));
  ASSERT_NE(r1.snapshot, 0u);
  EXPECT_EQ(r1.results[0].value, "1");
  // Later commits are not in the kept snapshot.
  ASSERT_TRUE(put(m, space_a, "a", "2"));
  ASSERT_TRUE(put(m, space_b, "b", "2"));
  ASSERT_TRUE(put(m, space_b, "c", "new"));
  snapshot_read_request second;
  second.items = {read_item::get(space_b, "b"), read_item::page(space_b, "", 10)};
  second.snapshot = r1.snapshot;
  second.keep = true;
  snapshot_read_reply r2;
  ASSERT_TRUE(ask(m, second, r2));
  EXPECT_EQ(r2.snapshot, r1.snapshot);
  EXPECT_EQ(r2.seq, r1.seq);
  EXPECT_EQ(r2.results[0].value, "1");
  ASSERT_EQ(r2.results[1].entries.size(), 1u);
  EXPECT_EQ(r2.results[1].entries[0].key, "b");
  // A new snapshot sees them.
  snapshot_read_request fresh;
  fresh.items = {read_item::get(space_a, "a")};
  snapshot_read_reply r3;
  ASSERT_TRUE(ask(m, fresh, r3));
  EXPECT_EQ(r3.results[0].value, "2");
  EXPECT_EQ(r3.snapshot, 0u);
  EXPECT_GT(r3.seq, r1.seq);
  // Released by a request without keep (no items needed), then gone.
  snapshot_read_request release;
  release.snapshot = r1.snapshot;
  snapshot_read_reply r4;
  ASSERT_TRUE(ask(m, release, r4));
  EXPECT_EQ(r4.snapshot, 0u);
  EXPECT_EQ(r4.seq, r1.seq);
  EXPECT_EQ(ask(m, second, r2).code(), errc::snapshot_expired);
}

TEST_P(SnapshotRead, BoundsAndBadRequestsAreRefusedWithTheirCode) {
  auto o = opts();
  o.reader.max_snapshots = 2;
  auto m = start(o);
  snapshot_read_reply r;
  auto with = [](std::vector<read_item> items, bool keep = false, uint64_t id = 0) {
    snapshot_read_request q;
    q.items = std::move(items);
    q.keep = keep;
    q.snapshot = id;
    return q;
  };
  EXPECT_EQ(ask(m, with({}), r).code(), errc::invalid_argument);
  EXPECT_EQ(ask(m, with({read_item::page(space_a, "", 0)}), r).code(), errc::invalid_argument);
  EXPECT_EQ(ask(m, with({read_item::get(space_a, "")}), r).code(), errc::empty_key);
  EXPECT_EQ(ask(m, with({read_item::get(space_a, "x"), read_item::get(99, "x")}), r).code(),
            errc::unknown_space);
  EXPECT_EQ(ask(m, with({read_item::page(space_a, "", o.limits.max_scan_limit + 1)}), r).code(),
            errc::too_large);
  std::vector<read_item> many(o.limits.max_multi_get + 1, read_item::get(space_a, "x"));
  EXPECT_EQ(ask(m, with(many), r).code(), errc::too_large);
  EXPECT_EQ(ask(m, with({read_item::get(space_a, "x")}, false, 12345), r).code(),
            errc::snapshot_expired);
  // reader.max-snapshots kept at once; one more is overloaded; a release
  // makes room.
  ASSERT_TRUE(ask(m, with({read_item::get(space_a, "x")}, true), r));
  const auto first = r.snapshot;
  ASSERT_TRUE(ask(m, with({read_item::get(space_a, "x")}, true), r));
  EXPECT_EQ(ask(m, with({read_item::get(space_a, "x")}, true), r).code(), errc::overloaded);
  ASSERT_TRUE(ask(m, with({}, false, first), r));
  EXPECT_TRUE(ask(m, with({read_item::get(space_a, "x")}, true), r));
}

TEST_P(SnapshotRead, ADrainReleasesKeptSnapshots) {
  auto m = start(opts());
  ASSERT_TRUE(put(m, space_a, "a", "1"));
  snapshot_read_request q;
  q.items = {read_item::get(space_a, "a")};
  q.keep = true;
  snapshot_read_reply r;
  ASSERT_TRUE(ask(m, q, r));
  // The store closes although the snapshot's lease (10 s) has not run out.
  drain_reply d;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(ask(m, drain_request{}, d));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotRead,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const auto& param_info) {
                           return std::string{param_info.param == backend_kind::memory ? "memory"
                                                                                       : "rocksdb"};
                         });

// -- reads the cache cannot answer ---------------------------------------------

// A snapshot read is tried from the cache first (by the manager for a few
// items, else by a cache-only reader) and goes on to a reader that may block
// when a read would wait. Here every key is only on disk (flushed, reopened
// with a cold block cache): both sizes of request must still see every value.
class SnapshotReadCache : public actor_test {
 protected:
  scratch_dir dir_;

  /// Writes 40 keys into space_a, flushes them to SST files and reopens
  /// the store (an empty block cache).
  std::shared_ptr<store> cold_store(const options& o) {
    std::shared_ptr<store> s;
    EXPECT_TRUE(open_store(o, s));
    auto b = s->make_batch();
    for (int i = 0; i < 40; ++i) b->put(space_a, key_of(i), "v" + std::to_string(i));
    uint64_t seq = 0;
    EXPECT_TRUE(s->commit(*b, seq));
    EXPECT_TRUE(s->sync());  // memtables -> SST files
    s.reset();
    EXPECT_TRUE(open_store(o, s));
    return s;
  }

  /// Reads 3 keys and a page (the manager's try), then 12 keys (a
  /// cache-only reader's try); returns how many values were wrong.
  int wrong_values(const manager_actor& m) {
    int wrong = 0;
    for (int n : {3, 12}) {
      snapshot_read_request q;
      for (int i = 0; i < n; ++i) q.items.push_back(read_item::get(space_a, key_of(i * 3)));
      if (n == 3) q.items.push_back(read_item::page(space_a, "k", 5));
      snapshot_read_reply r;
      auto st = ask(m, q, r);
      if (!st || r.results.size() != q.items.size()) {
        ADD_FAILURE() << "snapshot read failed: " << st.to_string();
        return 1000;
      }
      for (int i = 0; i < n; ++i) {
        const auto& got = r.results[static_cast<size_t>(i)];
        wrong += !got.found || got.value != "v" + std::to_string(i * 3);
      }
      if (n == 3) wrong += r.results[3].entries.size() != 5;
    }
    return wrong;
  }
};

TEST_F(SnapshotReadCache, ReadsOnlyTheDiskCanAnswerAreAnsweredByABlockingReader) {
  auto o = test_options(backend_kind::rocksdb, dir_.path());
  ASSERT_TRUE(o.reader.cache_first);
  auto m = start_over(o, cold_store(o));
  EXPECT_EQ(wrong_values(m), 0);
}

TEST_F(SnapshotReadCache, AStoreWhoseViewsCacheOnlyReadsLieIsCaught) {
  auto o = test_options(backend_kind::rocksdb, dir_.path());
  auto m = start_over(o, std::make_shared<cache_blind_views>(cold_store(o)));
  EXPECT_GT(wrong_values(m), 0) << "the check did not notice cache-only reads answering 'absent'";
}

// -- the blocking client's for_each --------------------------------------------

class ForEach : public ::testing::TestWithParam<backend_kind> {
 protected:
  scratch_dir dir_;
};

/// Pages through space_a's "k" keys with pages of 7 through `page_through`;
/// at the first entry, deletes every key and writes others. Returns the keys
/// seen.
template <class PageThrough>
std::vector<std::string> keys_seen_while_rewritten(client& c, PageThrough page_through) {
  bool rewritten = false;
  std::vector<std::string> seen;
  auto st = page_through([&](const key_value& kv) {
    if (!rewritten) {
      rewritten = true;
      write_request w;
      w.del_range(space_a, "k", "l");
      for (int i = 0; i < 10; ++i) w.put(space_a, "k" + std::to_string(i), "late");
      commit_ack ack;
      EXPECT_TRUE(c.write(std::move(w), ack));
    }
    seen.push_back(kv.key);
    return true;
  });
  EXPECT_TRUE(st) << st.to_string();
  return seen;
}

TEST_P(ForEach, PagesThroughOneSnapshotWhileTheSpaceIsRewritten) {
  std::unique_ptr<client> c;
  ASSERT_TRUE(client::open_embedded(test_options(GetParam(), dir_.path()), c));
  write_request w;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back(key_of(i));
    w.put(space_a, key_of(i), "v");
  }
  commit_ack ack;
  ASSERT_TRUE(c->write(std::move(w), ack));
  auto seen = keys_seen_while_rewritten(*c, [&](const std::function<bool(const key_value&)>& each) {
    return c->for_each(space_a, "k", each, 7);
  });
  EXPECT_EQ(seen, expected);
  // Stopped early: only as many as asked for, and the snapshot released
  // (a second run works the same).
  int n = 0;
  ASSERT_TRUE(c->for_each(
      space_a, "k", [&](const key_value&) { return ++n < 3; }, 2));
  EXPECT_EQ(n, 3);
}

TEST_P(ForEach, PagingWithoutASnapshotIsCaught) {
  // The same check over plain scan pages: the rewrite shows through.
  std::unique_ptr<client> c;
  ASSERT_TRUE(client::open_embedded(test_options(GetParam(), dir_.path()), c));
  write_request w;
  for (int i = 0; i < 50; ++i) w.put(space_a, key_of(i), "v");
  commit_ack ack;
  ASSERT_TRUE(c->write(std::move(w), ack));
  auto seen = keys_seen_while_rewritten(
      *c, [&](const std::function<bool(const key_value&)>& each) -> status {
        std::string after;
        for (int page = 0; page < 100; ++page) {
          scan_reply r;
          if (auto st = c->scan(scan_request{space_a, "k", after, 7}, r); !st) return st;
          for (const auto& kv : r.entries)
            if (!each(kv)) return {};
          if (!r.more) return {};
          after = r.entries.back().key;
        }
        return {errc::internal, "paging did not end"};
      });
  EXPECT_NE(seen.size(), 50u) << "paging without a snapshot saw the old state: the check is blind";
}

INSTANTIATE_TEST_SUITE_P(Backends, ForEach,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const auto& param_info) {
                           return std::string{param_info.param == backend_kind::memory ? "memory"
                                                                                       : "rocksdb"};
                         });

}  // namespace
}  // namespace vstore::test
