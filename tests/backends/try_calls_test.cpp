// The calls that must not wait (store::try_commit, read_store::try_get,
// try_multi_get, try_scan) on every backend: each answers like its blocking
// twin when it answers at all; the memory backend and an unsynced RocksDB
// store always write inline; a synced RocksDB store never writes through
// try_commit; a RocksDB store with a cold block cache answers nothing instead
// of reading the disk, and answers again once a blocking read cached the
// block.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backends/memory/memory_store.hpp"
#include "backends/rocksdb/rocksdb_store.hpp"
#include "tests/backends/temp_dir.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

using keys_t = std::vector<std::string>;
using values_t = std::vector<std::optional<std::string>>;

/// Options of a RocksDB store in `path` with the default schema.
options rocksdb_options(const std::string& path, bool sync = false) {
  options o;
  o.schema = default_schema();
  o.db.path = path;
  o.db.block_cache_bytes = 8u << 20;
  o.db.write_buffer_bytes = 4u << 20;
  o.db.sync = sync;
  return o;
}

/// Opens memory stores.
struct memory_backend {
  static constexpr const char* name = "Memory";
  status open(std::unique_ptr<store>& out) {
    out = make_memory_store(default_schema());
    return {};
  }
};

/// Opens RocksDB stores without fsync (store.sync off, the default).
struct rocksdb_backend {
  static constexpr const char* name = "RocksdbUnsynced";
  status open(std::unique_ptr<store>& out) {
    if (dir_.path().empty()) return {errc::io_error, "no temp directory"};
    return open_rocksdb_store(rocksdb_options(dir_.sub("db")), out);
  }

 private:
  test::temp_dir dir_;
};

struct backend_names {
  template <class Backend>
  static std::string GetName(int) {
    return Backend::name;
  }
};

/// Renders a status as "ok" or its code name, for comparing errors.
std::string code_of(const status& st) { return st ? "ok" : to_name(st.code()); }

template <class Backend>
class TryCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = backend_.open(store_);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_NE(store_, nullptr);
  }

  /// Commits puts of `keys` (value "v:" + key) with commit() and expects
  /// success.
  void put_keys(space_id space, const keys_t& keys) {
    auto b = store_->make_batch();
    for (const auto& k : keys) b->put(space, k, "v:" + k);
    uint64_t seq = 0;
    auto st = store_->commit(*b, seq);
    ASSERT_TRUE(st) << st.to_string();
  }

  Backend backend_;
  std::unique_ptr<store> store_;
};

using backend_types = ::testing::Types<memory_backend, rocksdb_backend>;
TYPED_TEST_SUITE(TryCalls, backend_types, backend_names);

// --- try_commit --------------------------------------------------------------

// Neither backend has to wait for this commit, so try_commit writes it: a
// nullopt here would send every round of the commit actor to its I/O thread.
TYPED_TEST(TryCalls, TryCommitWritesAndAnswersTheSequenceContractOfCommit) {
  auto& s = *this->store_;
  uint64_t last = s.latest_sequence();
  for (int i = 0; i < 5; ++i) {
    auto b = s.make_batch();
    b->put(spaces::metas, "k" + std::to_string(i), "v" + std::to_string(i));
    b->put(spaces::data, "0000000" + std::to_string(i) + "x", "d");
    const uint64_t predicted = s.next_sequence(*b);
    uint64_t seq = 0;
    auto r = s.try_commit(*b, seq);
    ASSERT_TRUE(r.has_value()) << "try_commit would wait on commit " << i;
    ASSERT_TRUE(*r) << r->to_string();
    EXPECT_EQ(seq, predicted);
    EXPECT_GT(seq, last);
    EXPECT_EQ(s.latest_sequence(), seq);
    last = seq;
    std::string v;
    bool found = false;
    ASSERT_TRUE(s.get(spaces::metas, "k" + std::to_string(i), v, found));
    EXPECT_TRUE(found);
    EXPECT_EQ(v, "v" + std::to_string(i));
  }
}

TYPED_TEST(TryCalls, TryCommitAndCommitShareOneSequence) {
  auto& s = *this->store_;
  uint64_t seqs[4] = {};
  for (int i = 0; i < 4; ++i) {
    auto b = s.make_batch();
    b->put(spaces::latest_ptr, "k", std::to_string(i));
    if (i % 2 == 0) {
      ASSERT_TRUE(s.commit(*b, seqs[i]));
    } else {
      auto r = s.try_commit(*b, seqs[i]);
      ASSERT_TRUE(r.has_value());
      ASSERT_TRUE(*r) << r->to_string();
    }
    if (i > 0) {
      EXPECT_GT(seqs[i], seqs[i - 1]);
    }
  }
  std::string v;
  bool found = false;
  ASSERT_TRUE(s.get(spaces::latest_ptr, "k", v, found));
  EXPECT_EQ(v, "3");
}

TYPED_TEST(TryCalls, TryCommitOfAnEmptyBatchAnswersTheLatestSequence) {
  auto& s = *this->store_;
  this->put_keys(spaces::metas, {"a"});
  const uint64_t before = s.latest_sequence();
  auto b = s.make_batch();
  uint64_t seq = 12345;
  auto r = s.try_commit(*b, seq);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_EQ(seq, before);
  EXPECT_EQ(s.latest_sequence(), before);
}

// --- try_ reads of data in memtables -----------------------------------------

TYPED_TEST(TryCalls, TryReadsAnswerLikeTheBlockingReads) {
  auto& s = *this->store_;
  this->put_keys(spaces::metas, {"a1", "a2", "a3", "b1", "b2", "c"});
  this->put_keys(spaces::data, {"00000001k1", "00000001k2", "00000002k1"});
  // get, present and absent
  for (const char* k : {"a1", "b2", "c", "a", "zz"}) {
    SCOPED_TRACE(k);
    std::string v1, v2 = "junk";
    bool f1 = false, f2 = true;
    auto st = s.get(spaces::metas, k, v1, f1);
    auto r = s.try_get(spaces::metas, k, v2, f2);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_TRUE(r.has_value()) << "try_get would wait for data in memory";
    ASSERT_TRUE(*r) << r->to_string();
    EXPECT_EQ(f2, f1);
    if (f1) {
      EXPECT_EQ(v2, v1);
    }
  }
  // multi_get with present, absent and repeated keys
  const keys_t keys{"a2", "nope", "c", "a2", "b1"};
  values_t want, got{std::string{"junk"}};
  ASSERT_TRUE(s.multi_get(spaces::metas, keys, want));
  auto r = s.try_multi_get(spaces::metas, keys, got);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_EQ(got, want);
  EXPECT_EQ(got, (values_t{"v:a2", std::nullopt, "v:c", "v:a2", "v:b1"}));
  // scan: prefixes, pages, start_after, a prefix-extractor space
  struct scan_case {
    space_id space;
    std::string prefix;
    std::string after;
    size_t limit;
  };
  for (const auto& c : {scan_case{spaces::metas, "a", "", 100}, scan_case{spaces::metas, "", "", 2},
                        scan_case{spaces::metas, "", "a3", 2}, scan_case{spaces::metas, "x", "", 5},
                        scan_case{spaces::data, "00000001", "", 10},
                        scan_case{spaces::data, "0000000", "00000001k1", 1}}) {
    SCOPED_TRACE(c.prefix + " after " + c.after + " limit " + std::to_string(c.limit));
    scan_page p1, p2;
    p2.entries.push_back({"junk", "junk"});
    ASSERT_TRUE(s.scan(c.space, c.prefix, c.after, c.limit, p1));
    auto rs = s.try_scan(c.space, c.prefix, c.after, c.limit, p2);
    ASSERT_TRUE(rs.has_value()) << "try_scan would wait for data in memory";
    ASSERT_TRUE(*rs) << rs->to_string();
    EXPECT_EQ(p2.entries, p1.entries);
    EXPECT_EQ(p2.more, p1.more);
  }
}

// --- bad input -----------------------------------------------------------------

TYPED_TEST(TryCalls, BadInputGetsTheSameErrorAsTheBlockingCall) {
  auto& s = *this->store_;
  this->put_keys(spaces::metas, {"a"});
  const space_id unknown = 200;
  std::string v;
  bool found = false;
  using bad_op = std::pair<space_id, std::string>;
  const std::vector<bad_op> bad_ops{{unknown, "a"}, {spaces::metas, ""}};
  for (const auto& [space, key] : bad_ops) {
    SCOPED_TRACE("space " + std::to_string(space) + " key '" + key + "'");
    auto st = s.get(space, key, v, found);
    auto r = s.try_get(space, key, v, found);
    ASSERT_FALSE(st);
    ASSERT_TRUE(r.has_value()) << "bad input needs no disk: answer it";
    EXPECT_EQ(code_of(*r), code_of(st));
    values_t vals;
    st = s.multi_get(space, {"a", key}, vals);
    r = s.try_multi_get(space, {"a", key}, vals);
    ASSERT_FALSE(st);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(code_of(*r), code_of(st));
  }
  EXPECT_EQ(code_of(s.get(unknown, "a", v, found)), "unknown_space");
  EXPECT_EQ(code_of(s.get(spaces::metas, "", v, found)), "empty_key");
  // scan: an unknown space, and a limit of 0
  const std::vector<std::pair<space_id, size_t>> bad_scans{{unknown, 10}, {spaces::metas, 0}};
  for (const auto& [space, limit] : bad_scans) {
    SCOPED_TRACE("scan space " + std::to_string(space) + " limit " + std::to_string(limit));
    scan_page page;
    auto st = s.scan(space, "", "", limit, page);
    auto r = s.try_scan(space, "", "", limit, page);
    ASSERT_FALSE(st);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(code_of(*r), code_of(st));
  }
  // try_commit of an invalid batch: the batch's error, nothing written
  const uint64_t before = s.latest_sequence();
  for (const auto& [space, key] : bad_ops) {
    SCOPED_TRACE("commit space " + std::to_string(space) + " key '" + key + "'");
    auto b1 = s.make_batch();
    b1->put(spaces::metas, "ok-key", "v");
    b1->put(space, key, "v");
    auto b2 = s.make_batch();
    b2->put(spaces::metas, "ok-key", "v");
    b2->put(space, key, "v");
    uint64_t seq = 0;
    auto st = s.commit(*b1, seq);
    auto r = s.try_commit(*b2, seq);
    ASSERT_FALSE(st);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(code_of(*r), code_of(st));
  }
  EXPECT_EQ(s.latest_sequence(), before);
  ASSERT_TRUE(s.get(spaces::metas, "ok-key", v, found));
  EXPECT_FALSE(found);
}

// --- RocksDB only --------------------------------------------------------------

class RocksdbTryCalls : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::unique_ptr<store> open(bool sync) {
    std::unique_ptr<store> s;
    auto st = open_rocksdb_store(rocksdb_options(dir_.sub("db"), sync), s);
    EXPECT_TRUE(st) << st.to_string();
    return s;
  }

  /// Writes `n` small entries "key1000".. to metas (one data block), flushes
  /// them to an SST file (store::sync), closes the store and opens it again:
  /// the new store's block cache is empty, the data only on disk. Returns the
  /// keys.
  keys_t write_flush_and_reopen(std::unique_ptr<store>& s, int n = 40) {
    keys_t keys;
    s = open(false);
    if (s == nullptr) return keys;
    auto b = s->make_batch();
    for (int i = 0; i < n; ++i) {
      keys.push_back("key" + std::to_string(1000 + i));
      b->put(spaces::metas, keys.back(), "value-" + keys.back());
    }
    uint64_t seq = 0;
    auto st = s->commit(*b, seq);
    EXPECT_TRUE(st) << st.to_string();
    st = s->sync();  // memtables -> SST files
    EXPECT_TRUE(st) << st.to_string();
    s.reset();
    s = open(false);
    return keys;
  }

  test::temp_dir dir_;
};

// With store.sync on every commit fsyncs, which waits: try_commit must leave
// the batch unwritten (the commit actor then hands the same batch to its I/O
// thread, which commits it with commit()).
TEST_F(RocksdbTryCalls, SyncedStoreWritesNothingThroughTryCommit) {
  auto s = open(true);
  ASSERT_NE(s, nullptr);
  auto b = s->make_batch();
  b->put(spaces::metas, "k", "v");
  b->put(spaces::data, "00000001k", "d");
  const uint64_t before = s->latest_sequence();
  const uint64_t predicted = s->next_sequence(*b);
  uint64_t seq = 777;
  auto r = s->try_commit(*b, seq);
  EXPECT_FALSE(r.has_value()) << "try_commit answered " << r->to_string()
                              << " on a store that fsyncs every commit";
  EXPECT_EQ(s->latest_sequence(), before);
  std::string v;
  bool found = true;
  ASSERT_TRUE(s->get(spaces::metas, "k", v, found));
  EXPECT_FALSE(found) << "try_commit wrote the batch although it answered nothing";
  ASSERT_TRUE(s->get(spaces::data, "00000001k", v, found));
  EXPECT_FALSE(found);
  // The same batch, committed where blocking is allowed.
  auto st = s->commit(*b, seq);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(seq, predicted);
  ASSERT_TRUE(s->get(spaces::metas, "k", v, found));
  EXPECT_TRUE(found);
  EXPECT_EQ(v, "v");
  // ... and it survives a reopen (it was synced).
  s.reset();
  s = open(true);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->get(spaces::metas, "k", v, found));
  EXPECT_TRUE(found);
  EXPECT_EQ(s->latest_sequence(), seq);
}

// Flushed to SST files and reopened (a new, empty block cache): a cache-only
// read of a flushed key has to go to the disk, so try_get and try_scan answer
// nothing; a blocking get() caches the key's data block, after which both
// answer. (RocksDB keeps index and filter blocks in the table reader, not in
// the block cache: cache_index_and_filter_blocks is off, and max_open_files
// -1 opens every table at DB::Open, so only the data block is missing.)
TEST_F(RocksdbTryCalls, ColdBlockCacheAnswersNothingUntilABlockingReadCachedTheBlock) {
  std::unique_ptr<store> s;
  auto keys = write_flush_and_reopen(s);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(keys.size(), 40u);
  const std::string& key = keys[20];
  std::string v;
  bool found = false;
  {
    auto r = s->try_get(spaces::metas, key, v, found);
    EXPECT_FALSE(r.has_value()) << "try_get of a key only on disk answered " << r->to_string()
                                << " found=" << found << " with a fresh block cache";
  }
  {
    scan_page page;
    auto r = s->try_scan(spaces::metas, "key1", "", 10, page);
    EXPECT_FALSE(r.has_value()) << "try_scan answered " << r->to_string() << " with "
                                << page.entries.size() << " entries";
    EXPECT_TRUE(page.entries.empty()) << "a try_ read that answers nothing leaves nothing";
  }
  // A blocking read loads (and caches) the data block.
  ASSERT_TRUE(s->get(spaces::metas, key, v, found));
  ASSERT_TRUE(found);
  EXPECT_EQ(v, "value-" + key);
  std::string v2;
  bool found2 = false;
  auto r = s->try_get(spaces::metas, key, v2, found2);
  ASSERT_TRUE(r.has_value()) << "try_get still cannot answer after a blocking get cached the block";
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_TRUE(found2);
  EXPECT_EQ(v2, v);
  // The 40 small entries share one data block (4 KiB): the page is cached too.
  scan_page page;
  auto rs = s->try_scan(spaces::metas, "key1", "", 10, page);
  ASSERT_TRUE(rs.has_value()) << "try_scan cannot answer from the cached block";
  ASSERT_TRUE(*rs) << rs->to_string();
  EXPECT_EQ(page.entries.size(), 10u);
  EXPECT_TRUE(page.more);
}

// The same for try_multi_get. RocksDB 7.8.3's BlockBasedTable::MultiGet
// (block_based_table_reader_sync_and_async.h) looks the data blocks up in the
// cache with kBlockCacheTier and then reads the missing ones from the file
// with RetrieveMultipleBlocks whatever the read tier. rocksdb_store's
// cache-only multi_get is one DB::MultiGet inside a no_io_scope: its file
// system (no_io_fs) refuses those reads on the calling thread, so nothing is
// read and the store answers nothing. Seen failing with the scope taken out
// (try_multi_get answered both values from the disk).
TEST_F(RocksdbTryCalls, ColdBlockCacheTryMultiGetAnswersNothing) {
  std::unique_ptr<store> s;
  auto keys = write_flush_and_reopen(s);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(keys.size(), 40u);
  values_t vals;
  auto r = s->try_multi_get(spaces::metas, {keys[10], keys[20]}, vals);
  EXPECT_FALSE(r.has_value()) << "try_multi_get answered " << r->to_string() << " with "
                              << vals.size() << " values, from a cold block cache: it read "
                              << "the disk";
  EXPECT_TRUE(vals.empty()) << "a try_ read that answers nothing leaves nothing";
  // After a blocking get cached the block, it answers.
  std::string v;
  bool found = false;
  ASSERT_TRUE(s->get(spaces::metas, keys[10], v, found));
  r = s->try_multi_get(spaces::metas, {keys[10], keys[20], "absent"}, vals);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_EQ(vals, (values_t{"value-" + keys[10], "value-" + keys[20], std::nullopt}));
}

// Empty values: a cache-only multi_get reads every key whose value is empty
// once more with a cache-only Get (RocksDB answers a key it could not look up
// without I/O as found and empty); a real empty value is still answered as
// found and empty, absent keys as absent, in memory and from cached blocks.
TEST_F(RocksdbTryCalls, TryMultiGetAnswersEmptyValuesAsFoundAndEmpty) {
  auto s = open(false);
  ASSERT_NE(s, nullptr);
  auto b = s->make_batch();
  b->put(spaces::metas, "e1", "");
  b->put(spaces::metas, "v1", "one");
  b->put(spaces::metas, "e2", "");
  uint64_t seq = 0;
  ASSERT_TRUE(s->commit(*b, seq));
  const keys_t keys{"e1", "v1", "none", "e2"};
  const values_t want{std::string{}, std::string{"one"}, std::nullopt, std::string{}};
  values_t got;
  auto r = s->try_multi_get(spaces::metas, keys, got);
  ASSERT_TRUE(r.has_value()) << "in the memtable";
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_EQ(got, want);
  // Flushed, reopened, cached by a blocking read: from the block cache.
  ASSERT_TRUE(s->sync());
  s.reset();
  s = open(false);
  ASSERT_NE(s, nullptr);
  values_t blocking;
  ASSERT_TRUE(s->multi_get(spaces::metas, keys, blocking));
  EXPECT_EQ(blocking, want);
  got.clear();
  r = s->try_multi_get(spaces::metas, keys, got);
  ASSERT_TRUE(r.has_value()) << "the block was cached by the blocking read";
  ASSERT_TRUE(*r) << r->to_string();
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace vstore
