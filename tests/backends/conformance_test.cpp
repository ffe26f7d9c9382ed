// The backend conformance suite: written once as a typed test and run
// unchanged against every backend.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/memory/memory_store.hpp"
#include "backends/rocksdb/rocksdb_store.hpp"
#include "tests/backends/temp_dir.hpp"
#include "vstore/concat_bytes.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

using keys_t = std::vector<std::string>;

// --- Backend factories -------------------------------------------------------

/// Opens memory stores.
struct memory_backend {
  static constexpr const char* name = "Memory";

  status open(vstore::schema s, std::unique_ptr<store>& out) {
    out = make_memory_store(std::move(s));
    return {};
  }

  void cleanup() {}
};

/// Opens RocksDB stores, each in a fresh directory below one temp directory.
struct rocksdb_backend {
  static constexpr const char* name = "Rocksdb";

  status open(vstore::schema s, std::unique_ptr<store>& out) {
    if (dir_.path().empty()) return {errc::io_error, "no temp directory"};
    options opts;
    opts.schema = std::move(s);
    opts.db.path = dir_.sub("db" + std::to_string(next_++));
    opts.db.block_cache_bytes = 8u << 20;
    opts.db.write_buffer_bytes = 4u << 20;
    return open_rocksdb_store(opts, out);
  }

  void cleanup() { dir_.remove(); }

 private:
  test::temp_dir dir_;
  int next_ = 0;
};

/// Names the typed instantiations after the backends.
struct backend_names {
  template <class Backend>
  static std::string GetName(int) {
    return Backend::name;
  }
};

// --- Helpers -----------------------------------------------------------------

/// Builds a byte string from byte values.
std::string bin(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(static_cast<uint8_t>(b)));
  return out;
}

/// Returns `n` copies of byte 0xFF.
std::string ff(size_t n) { return std::string(n, '\xff'); }

/// Returns the keys of a page.
keys_t keys_of(const scan_page& page) {
  keys_t out;
  for (const auto& kv : page.entries) out.push_back(kv.key);
  return out;
}

/// Returns the keys of `all` that start with `prefix`, sorted bytewise.
keys_t expected_with_prefix(keys_t all, std::string_view prefix) {
  keys_t out;
  for (auto& k : all)
    if (std::string_view{k}.substr(0, prefix.size()) == prefix) out.push_back(std::move(k));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// Asks `s` for the sequence number of committing `b`, commits `b` and checks
/// that the commit answered that number, that latest_sequence() agrees, and
/// that asking changed nothing.
::testing::AssertionResult commit_answers_predicted_sequence(store& s, write_batch& b) {
  const uint64_t before = s.latest_sequence();
  const size_t ops = b.count();
  const uint64_t predicted = s.next_sequence(b);
  if (s.latest_sequence() != before || b.count() != ops)
    return ::testing::AssertionFailure() << "next_sequence changed the store or the batch";
  uint64_t seq = 0;
  auto st = s.commit(b, seq);
  if (!st) return ::testing::AssertionFailure() << "commit failed: " << st.to_string();
  if (seq != predicted)
    return ::testing::AssertionFailure()
           << "next_sequence predicted " << predicted << ", commit answered " << seq
           << " (sequence before " << before << ", " << ops << " operations)";
  if (s.latest_sequence() != seq)
    return ::testing::AssertionFailure()
           << "commit answered " << seq << ", latest_sequence() is " << s.latest_sequence();
  return ::testing::AssertionSuccess();
}

/// Commits `b` the way the committer does: predicts the sequence for `b` plus
/// one token record, adds the token record (key `token`, value the predicted
/// sequence as be_u64) to system_space, commits, and checks that the commit
/// answered the sequence the token holds.
::testing::AssertionResult commit_with_token(store& s, write_batch& b, std::string_view token) {
  const uint64_t predicted = s.next_sequence(b, 1);
  b.put(system_space, token, be_u64(predicted));
  if (s.next_sequence(b) != predicted)
    return ::testing::AssertionFailure()
           << "next_sequence(b, 1) " << predicted << " != next_sequence(b) after one more op "
           << s.next_sequence(b);
  uint64_t seq = 0;
  auto st = s.commit(b, seq);
  if (!st) return ::testing::AssertionFailure() << "commit failed: " << st.to_string();
  if (seq != predicted)
    return ::testing::AssertionFailure()
           << "token holds " << predicted << ", commit answered " << seq;
  std::string value;
  bool found = false;
  st = s.get(system_space, token, value, found);
  if (!st || !found || value != concat_bytes(be_u64(seq)))
    return ::testing::AssertionFailure() << "token record not readable with sequence " << seq;
  return ::testing::AssertionSuccess();
}

/// A store that forwards everything to another store but predicts sequence
/// numbers by its own rule: shows that the check above detects a wrong rule.
class predicting_store final : public store {
 public:
  /// Predicts from the inner store, the batch and the pending operations.
  using rule = std::function<uint64_t(const store&, const write_batch&, size_t)>;

  predicting_store(store& inner, rule r) : inner_(inner), rule_(std::move(r)) {}

  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    return inner_.get(space, key, value, found);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    return inner_.scan(space, prefix, start_after, limit, page);
  }
  const vstore::schema& schema() const noexcept override { return inner_.schema(); }
  std::unique_ptr<write_batch> make_batch() const override { return inner_.make_batch(); }
  status commit(write_batch& batch, uint64_t& seq) override { return inner_.commit(batch, seq); }
  uint64_t latest_sequence() const noexcept override { return inner_.latest_sequence(); }
  uint64_t next_sequence(const write_batch& batch, size_t pending_ops) const override {
    return rule_(inner_, batch, pending_ops);
  }
  using store::next_sequence;

 private:
  store& inner_;
  rule rule_;
};

template <class Backend>
class Conformance : public ::testing::Test {
 protected:
  void SetUp() override { reopen(default_schema()); }

  void TearDown() override {
    store_.reset();
    backend_.cleanup();
  }

  /// Replaces the store under test by a new empty one with schema `s`.
  void reopen(vstore::schema s) {
    store_.reset();
    auto st = backend_.open(std::move(s), store_);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_NE(store_, nullptr);
  }

  /// Commits `b`, answering the status.
  status commit(write_batch& b) {
    uint64_t seq = 0;
    return store_->commit(b, seq);
  }

  /// Commits one put and expects success.
  void put(space_id space, std::string_view key, std::string_view value) {
    auto b = store_->make_batch();
    b->put(space, key, value);
    auto st = commit(*b);
    EXPECT_TRUE(st) << st.to_string();
  }

  /// Commits one put per key, with the key as value, and expects success.
  void put_keys(space_id space, const keys_t& keys) {
    auto b = store_->make_batch();
    for (const auto& k : keys) b->put(space, k, "v:" + k);
    auto st = commit(*b);
    EXPECT_TRUE(st) << st.to_string();
  }

  /// Reads one key, expecting success.
  std::optional<std::string> get(space_id space, std::string_view key) {
    std::string value;
    bool found = false;
    auto st = store_->get(space, key, value, found);
    EXPECT_TRUE(st) << st.to_string();
    if (!found) return std::nullopt;
    return value;
  }

  /// Reads one page, expecting success.
  scan_page scan(space_id space, std::string_view prefix, std::string_view start_after = {},
                 size_t limit = 100000) {
    scan_page page;
    auto st = store_->scan(space, prefix, start_after, limit, page);
    EXPECT_TRUE(st) << st.to_string();
    return page;
  }

  /// Returns the keys of one page.
  keys_t scan_keys(space_id space, std::string_view prefix, std::string_view start_after = {},
                   size_t limit = 100000) {
    return keys_of(scan(space, prefix, start_after, limit));
  }

  /// Pages through a prefix with pages of `limit` and returns every key; checks
  /// that every page but the last is full and says more.
  keys_t page_through(space_id space, std::string_view prefix, size_t limit) {
    keys_t out;
    std::string after;
    for (int i = 0; i < 100000; ++i) {
      auto page = scan(space, prefix, after, limit);
      EXPECT_LE(page.entries.size(), limit);
      for (const auto& kv : page.entries) out.push_back(kv.key);
      if (!page.more) return out;
      EXPECT_EQ(page.entries.size(), limit);
      if (page.entries.empty()) break;
      after = page.entries.back().key;
    }
    ADD_FAILURE() << "paging did not end";
    return out;
  }

  /// Runs `check` on the current state, then again after sync() (which moves a
  /// RocksDB store's data from memtables into SST files with their filters).
  template <class Check>
  void check_before_and_after_sync(Check check) {
    {
      SCOPED_TRACE("before sync");
      check();
    }
    auto st = store_->sync();
    ASSERT_TRUE(st) << st.to_string();
    {
      SCOPED_TRACE("after sync");
      check();
    }
  }

  Backend backend_;
  std::unique_ptr<store> store_;
};

using backend_types = ::testing::Types<memory_backend, rocksdb_backend>;
TYPED_TEST_SUITE(Conformance, backend_types, backend_names);

// --- Single keys -------------------------------------------------------------

TYPED_TEST(Conformance, GetOfAbsentKeyIsNotFound) {
  std::string value = "unchanged";
  bool found = true;
  auto st = this->store_->get(spaces::data, "nothing-here", value, found);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_FALSE(found);
  EXPECT_EQ(this->get(spaces::metas, "x"), std::nullopt);
}

TYPED_TEST(Conformance, PutThenGetReturnsValue) {
  this->put(spaces::latest_ptr, "alpha", "one");
  EXPECT_EQ(this->get(spaces::latest_ptr, "alpha"), "one");
  EXPECT_EQ(this->get(spaces::latest_ptr, "alph"), std::nullopt);
  EXPECT_EQ(this->get(spaces::latest_ptr, "alphab"), std::nullopt);
}

TYPED_TEST(Conformance, EmptyValueIsStored) {
  this->put(spaces::metas, "k", "");
  EXPECT_EQ(this->get(spaces::metas, "k"), std::string{});
}

TYPED_TEST(Conformance, OverwriteReplacesValue) {
  this->put(spaces::data, "key-0001", "first");
  this->put(spaces::data, "key-0001", "second, longer value");
  EXPECT_EQ(this->get(spaces::data, "key-0001"), "second, longer value");
  this->put(spaces::data, "key-0001", "3");
  EXPECT_EQ(this->get(spaces::data, "key-0001"), "3");
  EXPECT_EQ(this->scan_keys(spaces::data, ""), keys_t{"key-0001"});
}

TYPED_TEST(Conformance, DeleteRemovesKey) {
  this->put_keys(spaces::metas, {"a", "b", "c"});
  auto b = this->store_->make_batch();
  b->del(spaces::metas, "b");
  ASSERT_TRUE(this->commit(*b));
  EXPECT_EQ(this->get(spaces::metas, "b"), std::nullopt);
  EXPECT_EQ(this->get(spaces::metas, "a"), "v:a");
  EXPECT_EQ(this->scan_keys(spaces::metas, ""), (keys_t{"a", "c"}));
}

TYPED_TEST(Conformance, DeleteOfAbsentKeySucceeds) {
  this->put(spaces::metas, "present", "x");
  auto b = this->store_->make_batch();
  b->del(spaces::metas, "absent");
  auto st = this->commit(*b);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(this->get(spaces::metas, "absent"), std::nullopt);
  EXPECT_EQ(this->get(spaces::metas, "present"), "x");
}

// --- Range deletes -----------------------------------------------------------

TYPED_TEST(Conformance, DeleteRangeRemovesBeginInclusiveEndExclusive) {
  this->put_keys(spaces::latest_ptr, {"k1", "k2", "k2a", "k3", "k4", "k5"});
  auto b = this->store_->make_batch();
  b->delete_range(spaces::latest_ptr, "k2", "k4");
  auto st = this->commit(*b);
  ASSERT_TRUE(st) << st.to_string();
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, ""), (keys_t{"k1", "k4", "k5"}));
    EXPECT_EQ(this->get(spaces::latest_ptr, "k2"), std::nullopt);
    EXPECT_EQ(this->get(spaces::latest_ptr, "k4"), "v:k4");
  });
}

TYPED_TEST(Conformance, DeleteRangeInPrefixExtractorSpaceSpansPrefixes) {
  // `data` has an 8-byte prefix extractor; the range crosses several prefixes.
  keys_t keys;
  for (uint64_t i = 0; i < 6; ++i)
    for (uint32_t j = 0; j < 3; ++j) keys.push_back(concat_bytes(be_u64(i), be_u32(j)));
  this->put_keys(spaces::data, keys);
  ASSERT_TRUE(this->store_->sync());
  auto b = this->store_->make_batch();
  b->delete_range(spaces::data, concat_bytes(be_u64(1), be_u32(1)), concat_bytes(be_u64(4)));
  ASSERT_TRUE(this->commit(*b));
  keys_t expected = {concat_bytes(be_u64(0), be_u32(0)), concat_bytes(be_u64(0), be_u32(1)),
                     concat_bytes(be_u64(0), be_u32(2)), concat_bytes(be_u64(1), be_u32(0)),
                     concat_bytes(be_u64(4), be_u32(0)), concat_bytes(be_u64(4), be_u32(1)),
                     concat_bytes(be_u64(4), be_u32(2)), concat_bytes(be_u64(5), be_u32(0)),
                     concat_bytes(be_u64(5), be_u32(1)), concat_bytes(be_u64(5), be_u32(2))};
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::data, ""), expected);
    EXPECT_EQ(this->scan_keys(spaces::data, concat_bytes(be_u64(2))), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::data, concat_bytes(be_u64(1))),
              keys_t{concat_bytes(be_u64(1), be_u32(0))});
  });
}

TYPED_TEST(Conformance, DeleteRangeWithEndBeforeBeginIsInvalid) {
  this->put_keys(spaces::metas, {"a", "b"});
  auto b = this->store_->make_batch();
  b->put(spaces::metas, "c", "new");
  b->delete_range(spaces::metas, "b", "a");
  EXPECT_FALSE(b->error());
  EXPECT_EQ(b->error().code(), errc::invalid_argument);
  auto st = this->commit(*b);
  EXPECT_FALSE(st);
  EXPECT_EQ(this->get(spaces::metas, "c"), std::nullopt);
  // An empty range (begin == end) is valid and removes nothing.
  auto b2 = this->store_->make_batch();
  b2->delete_range(spaces::metas, "a", "a");
  ASSERT_TRUE(b2->error());
  ASSERT_TRUE(this->commit(*b2));
  EXPECT_EQ(this->scan_keys(spaces::metas, ""), (keys_t{"a", "b"}));
}

// --- Batches and commits -----------------------------------------------------

TYPED_TEST(Conformance, BatchAppliesOperationsInOrder) {
  auto b = this->store_->make_batch();
  b->put(spaces::metas, "a", "1");
  b->del(spaces::metas, "a");
  b->put(spaces::metas, "b", "1");
  b->delete_range(spaces::metas, "a", "c");
  b->put(spaces::metas, "b", "2");
  b->put(spaces::metas, "a", "3");
  b->put(spaces::metas, "c", "4");
  b->del(spaces::metas, "c");
  ASSERT_TRUE(this->commit(*b));
  EXPECT_EQ(this->get(spaces::metas, "a"), "3");
  EXPECT_EQ(this->get(spaces::metas, "b"), "2");
  EXPECT_EQ(this->get(spaces::metas, "c"), std::nullopt);
}

TYPED_TEST(Conformance, CommitMakesAllSpacesVisibleAtOnce) {
  auto b = this->store_->make_batch();
  b->put(spaces::data, concat_bytes(be_u64(7), "v1"), "value");
  b->put(spaces::latest_ptr, "res-7", "v1");
  b->put(spaces::rollback_ptr, concat_bytes(be_u64(1), "res-7"), "v0");
  b->put(spaces::batch_metadata, "batch-1", "meta");
  EXPECT_EQ(b->count(), 4u);
  // Nothing is visible before the commit.
  EXPECT_EQ(this->get(spaces::latest_ptr, "res-7"), std::nullopt);
  EXPECT_EQ(this->scan_keys(spaces::data, ""), keys_t{});
  ASSERT_TRUE(this->commit(*b));
  EXPECT_EQ(this->get(spaces::data, concat_bytes(be_u64(7), "v1")), "value");
  EXPECT_EQ(this->get(spaces::latest_ptr, "res-7"), "v1");
  EXPECT_EQ(this->get(spaces::rollback_ptr, concat_bytes(be_u64(1), "res-7")), "v0");
  EXPECT_EQ(this->get(spaces::batch_metadata, "batch-1"), "meta");
}

TYPED_TEST(Conformance, EmptyBatchCommitsWithoutChangingSequence) {
  this->put(spaces::metas, "a", "1");
  const auto before = this->store_->latest_sequence();
  auto b = this->store_->make_batch();
  EXPECT_EQ(b->count(), 0u);
  EXPECT_EQ(b->byte_size(), 0u);
  uint64_t seq = 12345;
  auto st = this->store_->commit(*b, seq);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(seq, before);
  EXPECT_EQ(this->store_->latest_sequence(), before);
  EXPECT_EQ(this->get(spaces::metas, "a"), "1");
}

TYPED_TEST(Conformance, SequenceNumbersStrictlyIncrease) {
  EXPECT_EQ(this->store_->latest_sequence(), 0u);
  uint64_t last = this->store_->latest_sequence();
  for (int i = 0; i < 20; ++i) {
    auto b = this->store_->make_batch();
    for (int j = 0; j <= i % 4; ++j)
      b->put(spaces::metas, "k" + std::to_string(j), std::to_string(i));
    if (i % 5 == 0) b->del(spaces::latest_ptr, "gone");
    uint64_t seq = 0;
    ASSERT_TRUE(this->store_->commit(*b, seq));
    EXPECT_GT(seq, last);
    EXPECT_EQ(this->store_->latest_sequence(), seq);
    last = seq;
  }
}

TYPED_TEST(Conformance, BatchCountsOperationsAndBytes) {
  auto b = this->store_->make_batch();
  b->put(spaces::metas, "abc", "12345");
  b->del(spaces::metas, "xy");
  b->delete_range(spaces::metas, "a", "b");
  EXPECT_EQ(b->count(), 3u);
  EXPECT_EQ(b->byte_size(), 3u + 5u + 2u + 1u + 1u);
  EXPECT_TRUE(b->error());
}

TYPED_TEST(Conformance, UnknownSpaceMakesBatchInvalid) {
  const auto before = this->store_->latest_sequence();
  const auto bad = static_cast<space_id>(this->store_->schema().size());
  auto b = this->store_->make_batch();
  b->put(spaces::metas, "first", "1");
  b->put(bad, "k", "v");
  b->put(spaces::metas, "after", "2");
  EXPECT_FALSE(b->error());
  EXPECT_EQ(b->error().code(), errc::unknown_space);
  uint64_t seq = 0;
  auto st = this->store_->commit(*b, seq);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), errc::unknown_space);
  EXPECT_EQ(this->get(spaces::metas, "first"), std::nullopt);
  EXPECT_EQ(this->get(spaces::metas, "after"), std::nullopt);
  EXPECT_EQ(this->store_->latest_sequence(), before);
  // Range deletes and deletes check the space as well.
  auto b2 = this->store_->make_batch();
  b2->delete_range(static_cast<space_id>(999), "a", "b");
  EXPECT_EQ(b2->error().code(), errc::unknown_space);
  auto b3 = this->store_->make_batch();
  b3->del(bad, "a");
  EXPECT_EQ(b3->error().code(), errc::unknown_space);
}

TYPED_TEST(Conformance, EmptyKeyMakesBatchInvalid) {
  const auto before = this->store_->latest_sequence();
  auto b = this->store_->make_batch();
  b->put(spaces::latest_ptr, "good", "1");
  b->del(spaces::latest_ptr, "");
  b->put(spaces::latest_ptr, "good2", "2");
  EXPECT_EQ(b->error().code(), errc::empty_key);
  auto st = this->commit(*b);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), errc::empty_key);
  EXPECT_EQ(this->get(spaces::latest_ptr, "good"), std::nullopt);
  EXPECT_EQ(this->get(spaces::latest_ptr, "good2"), std::nullopt);
  EXPECT_EQ(this->store_->latest_sequence(), before);
  auto b2 = this->store_->make_batch();
  b2->put(spaces::latest_ptr, "", "v");
  EXPECT_EQ(b2->error().code(), errc::empty_key);
  auto b3 = this->store_->make_batch();
  b3->delete_range(spaces::latest_ptr, "", "z");
  EXPECT_EQ(b3->error().code(), errc::empty_key);
}

TYPED_TEST(Conformance, BatchOfAnotherStoreIsRefused) {
  auto other = make_memory_store(default_schema());
  auto b = other->make_batch();
  b->put(spaces::metas, "k", "v");
  ASSERT_TRUE(b->error());
  uint64_t seq = 0;
  auto st = this->store_->commit(*b, seq);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_EQ(this->get(spaces::metas, "k"), std::nullopt);
}

// --- Reads -------------------------------------------------------------------

TYPED_TEST(Conformance, ReadsOfUnknownSpaceFail) {
  const auto bad = static_cast<space_id>(this->store_->schema().size());
  std::string value;
  bool found = false;
  EXPECT_EQ(this->store_->get(bad, "k", value, found).code(), errc::unknown_space);
  std::vector<std::optional<std::string>> values;
  EXPECT_EQ(this->store_->multi_get(bad, {"k"}, values).code(), errc::unknown_space);
  scan_page page;
  auto st = this->store_->scan(bad, "", "", 10, page);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), errc::unknown_space);
  // The highest id below system_space is unknown too.
  EXPECT_EQ(this->store_->scan(static_cast<space_id>(system_space - 1), "p", "", 10, page).code(),
            errc::unknown_space);
}

TYPED_TEST(Conformance, ReadsOfEmptyKeyFail) {
  std::string value;
  bool found = false;
  EXPECT_EQ(this->store_->get(spaces::metas, "", value, found).code(), errc::empty_key);
  std::vector<std::optional<std::string>> values;
  EXPECT_EQ(this->store_->multi_get(spaces::metas, {"a", ""}, values).code(), errc::empty_key);
}

TYPED_TEST(Conformance, MultiGetAnswersInOrderWithAbsentKeys) {
  this->put_keys(spaces::latest_ptr, {"b", "d", "a"});
  std::vector<std::optional<std::string>> values;
  auto st = this->store_->multi_get(spaces::latest_ptr, {"d", "x", "a", "b", "c", "d"}, values);
  ASSERT_TRUE(st) << st.to_string();
  std::vector<std::optional<std::string>> expected = {"v:d", std::nullopt, "v:a",
                                                      "v:b", std::nullopt, "v:d"};
  EXPECT_EQ(values, expected);
  ASSERT_TRUE(this->store_->multi_get(spaces::latest_ptr, {}, values));
  EXPECT_TRUE(values.empty());
  // In a space with a prefix extractor, after a flush too.
  this->put_keys(spaces::data, {concat_bytes(be_u64(2), "x"), concat_bytes(be_u64(1), "y")});
  this->check_before_and_after_sync([&] {
    std::vector<std::optional<std::string>> vals;
    ASSERT_TRUE(this->store_->multi_get(spaces::data,
                                        {concat_bytes(be_u64(1), "y"), concat_bytes(be_u64(1), "z"),
                                         "short", concat_bytes(be_u64(2), "x")},
                                        vals));
    std::vector<std::optional<std::string>> want = {"v:" + concat_bytes(be_u64(1), "y"),
                                                    std::nullopt, std::nullopt,
                                                    "v:" + concat_bytes(be_u64(2), "x")};
    EXPECT_EQ(vals, want);
  });
}

TYPED_TEST(Conformance, SpacesAreIsolated) {
  this->put(spaces::metas, "shared", "metas");
  this->put(spaces::batch_metadata, "shared", "batch_metadata");
  this->put(spaces::batch_metadata, "only-here", "x");
  EXPECT_EQ(this->get(spaces::metas, "shared"), "metas");
  EXPECT_EQ(this->get(spaces::batch_metadata, "shared"), "batch_metadata");
  EXPECT_EQ(this->get(spaces::metas, "only-here"), std::nullopt);
  EXPECT_EQ(this->scan_keys(spaces::metas, ""), keys_t{"shared"});
  auto b = this->store_->make_batch();
  b->del(spaces::metas, "shared");
  b->delete_range(spaces::latest_ptr, "a", "z");
  ASSERT_TRUE(this->commit(*b));
  EXPECT_EQ(this->get(spaces::metas, "shared"), std::nullopt);
  EXPECT_EQ(this->get(spaces::batch_metadata, "shared"), "batch_metadata");
  EXPECT_EQ(this->scan_keys(spaces::batch_metadata, ""), (keys_t{"only-here", "shared"}));
  for (space_id s = 0; s < this->store_->schema().size(); ++s) {
    if (s == spaces::batch_metadata) continue;
    EXPECT_EQ(this->scan_keys(s, ""), keys_t{}) << "space " << s;
  }
}

TYPED_TEST(Conformance, BinaryKeysAndValuesKeepNulBytes) {
  const std::string k1 = bin({0});
  const std::string k2 = bin({0, 0});
  const std::string k3 = bin({0, 'a', 0});
  const std::string k4 = bin({'a', 0, 0xFF});
  const std::string v = bin({0, 0, 'x', 0, 0xFF, 0});
  auto b = this->store_->make_batch();
  for (const auto& k : {k4, k3, k2, k1}) b->put(spaces::metas, k, v + k);
  ASSERT_TRUE(this->commit(*b));
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->get(spaces::metas, k1), v + k1);
    EXPECT_EQ(this->get(spaces::metas, k3), v + k3);
    EXPECT_EQ(this->get(spaces::metas, bin({0, 'a'})), std::nullopt);
    auto page = this->scan(spaces::metas, "");
    EXPECT_EQ(keys_of(page), (keys_t{k1, k2, k3, k4}));
    ASSERT_EQ(page.entries.size(), 4u);
    EXPECT_EQ(page.entries[2].value, v + k3);
    EXPECT_EQ(page.entries[2].value.size(), 9u);
    EXPECT_EQ(this->scan_keys(spaces::metas, bin({0})), (keys_t{k1, k2, k3}));
    EXPECT_EQ(this->scan_keys(spaces::metas, bin({0, 0})), keys_t{k2});
  });
}

TYPED_TEST(Conformance, OneMebibyteValueRoundTrips) {
  std::string big(1u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
  this->put(spaces::data, concat_bytes(be_u64(1), "big"), big);
  this->check_before_and_after_sync([&] {
    auto got = this->get(spaces::data, concat_bytes(be_u64(1), "big"));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->size(), big.size());
    EXPECT_TRUE(*got == big);
    auto page = this->scan(spaces::data, concat_bytes(be_u64(1)));
    ASSERT_EQ(page.entries.size(), 1u);
    EXPECT_TRUE(page.entries[0].value == big);
  });
}

// --- Prefix iteration --------------------------------------------------------

TYPED_TEST(Conformance, ScanOfEmptyPrefixReturnsWholeSpaceInOrder) {
  const keys_t keys = {"m", "a", bin({0xFF}), bin({0}), "zz", "ab", bin({0xFF, 0xFF}), "b"};
  this->put_keys(spaces::metas, keys);
  this->put_keys(spaces::latest_ptr, {"other"});
  this->check_before_and_after_sync([&] {
    auto page = this->scan(spaces::metas, "");
    EXPECT_FALSE(page.more);
    EXPECT_EQ(keys_of(page), expected_with_prefix(keys, ""));
    ASSERT_EQ(page.entries.size(), keys.size());
    EXPECT_EQ(page.entries[0].value, "v:" + bin({0}));
  });
}

TYPED_TEST(Conformance, ScanOfPrefixReturnsOnlyItsKeysInOrder) {
  const keys_t keys = {"a",  "ab", "abc",        "abd",           "ab" + bin({0xFF}),
                       "ac", "b",  "aa" + ff(3), "ab" + bin({0}), "aba"};
  this->put_keys(spaces::latest_ptr, keys);
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "ab"), expected_with_prefix(keys, "ab"));
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "a"), expected_with_prefix(keys, "a"));
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "abc"), keys_t{"abc"});
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "abcd"), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "c"), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, bin({0})), keys_t{});
  });
}

TYPED_TEST(Conformance, ScanOfShortPrefixInExtractorSpaceSpansPrefixes) {
  // `data` has an 8-byte prefix extractor; a 2-byte prefix spans many extracted
  // prefixes and also matches keys shorter than 8 bytes.
  const keys_t keys = {"ab000001x", "ab000001y", "ab000002x", "abzzzzzz",  "ab",
                       "abc",       "aa999999z", "ac000001x", "a",         "ab" + ff(6) + "q",
                       "b0000000",  "ab000001",  "aa",        "ab" + ff(1)};
  this->put_keys(spaces::data, keys);
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::data, "ab"), expected_with_prefix(keys, "ab"));
    EXPECT_EQ(this->scan_keys(spaces::data, "a"), expected_with_prefix(keys, "a"));
    EXPECT_EQ(this->scan_keys(spaces::data, "ab0000"), expected_with_prefix(keys, "ab0000"));
    EXPECT_EQ(this->scan_keys(spaces::data, ""), expected_with_prefix(keys, ""));
    EXPECT_EQ(this->page_through(spaces::data, "ab", 2), expected_with_prefix(keys, "ab"));
  });
}

TYPED_TEST(Conformance, ScanOfFullAndLongerPrefixInExtractorSpace) {
  keys_t keys;
  for (uint64_t p : {1u, 2u, 3u, 256u})
    for (const char* s : {"", "a", "ab", "abc", "b"}) keys.push_back(concat_bytes(be_u64(p), s));
  this->put_keys(spaces::data, keys);
  this->check_before_and_after_sync([&] {
    const auto p2 = concat_bytes(be_u64(2));
    EXPECT_EQ(this->scan_keys(spaces::data, p2), expected_with_prefix(keys, p2));
    EXPECT_EQ(this->scan_keys(spaces::data, p2 + "a"), expected_with_prefix(keys, p2 + "a"));
    EXPECT_EQ(this->scan_keys(spaces::data, p2 + "abc"), keys_t{p2 + "abc"});
    EXPECT_EQ(this->scan_keys(spaces::data, concat_bytes(be_u64(4))), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::data, concat_bytes(be_u64(4), "a")), keys_t{});
    // 7 of the 8 bytes: spans be_u64(1..3) but not be_u64(256).
    const auto p7 = p2.substr(0, 7);
    EXPECT_EQ(this->scan_keys(spaces::data, p7), expected_with_prefix(keys, p7));
    EXPECT_EQ(this->page_through(spaces::data, p2, 2), expected_with_prefix(keys, p2));
  });
}

TYPED_TEST(Conformance, ScanHandlesKeysWithFfBytes) {
  const keys_t keys = {ff(1),       ff(1) + bin({0}),    ff(2),
                       ff(3),       ff(1) + bin({0xFE}), bin({0xFE, 0xFF}),
                       bin({0xFE}), ff(2) + "a",         "z"};
  for (space_id s : {spaces::latest_ptr, spaces::data}) {
    SCOPED_TRACE(this->store_->schema().spaces[s].name);
    this->put_keys(s, keys);
    this->check_before_and_after_sync([&] {
      EXPECT_EQ(this->scan_keys(s, ff(1)), expected_with_prefix(keys, ff(1)));
      EXPECT_EQ(this->scan_keys(s, ff(2)), expected_with_prefix(keys, ff(2)));
      EXPECT_EQ(this->scan_keys(s, ff(3)), keys_t{ff(3)});
      EXPECT_EQ(this->scan_keys(s, ff(4)), keys_t{});
      EXPECT_EQ(this->scan_keys(s, bin({0xFE})), expected_with_prefix(keys, bin({0xFE})));
      EXPECT_EQ(this->page_through(s, ff(1), 2), expected_with_prefix(keys, ff(1)));
      EXPECT_EQ(this->scan_keys(s, ""), expected_with_prefix(keys, ""));
    });
  }
}

TYPED_TEST(Conformance, ScanOfAllFfPrefixAtExtractorLength) {
  // Prefixes of exactly and more than 8 bytes 0xFF in `data`: no upper bound
  // exists, the iteration must still stop at the prefix.
  const keys_t keys = {ff(8),
                       ff(8) + "a",
                       ff(8) + ff(1),
                       ff(9) + "b",
                       ff(12),
                       ff(7) + bin({0xFE}) + "x",
                       ff(7),
                       ff(7) + bin({0xFE}),
                       "a"};
  this->put_keys(spaces::data, keys);
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::data, ff(8)), expected_with_prefix(keys, ff(8)));
    EXPECT_EQ(this->scan_keys(spaces::data, ff(9)), expected_with_prefix(keys, ff(9)));
    EXPECT_EQ(this->scan_keys(spaces::data, ff(7)), expected_with_prefix(keys, ff(7)));
    EXPECT_EQ(this->scan_keys(spaces::data, ff(13)), keys_t{});
    EXPECT_EQ(this->page_through(spaces::data, ff(8), 1), expected_with_prefix(keys, ff(8)));
  });
}

TYPED_TEST(Conformance, ScanPagesThroughPrefixWithStartAfterAndLimit) {
  keys_t keys;
  for (uint32_t i = 0; i < 25; ++i) keys.push_back(concat_bytes("pagepage", be_u32(i * 7)));
  keys.push_back("pagepagd-before");
  keys.push_back("pagepagf-after");
  keys.push_back("pa");
  this->put_keys(spaces::data, keys);
  const auto in_prefix = expected_with_prefix(keys, "pagepage");
  ASSERT_EQ(in_prefix.size(), 25u);
  this->check_before_and_after_sync([&] {
    for (size_t limit : {1u, 4u, 5u, 24u, 25u, 26u, 1000u}) {
      SCOPED_TRACE("limit " + std::to_string(limit));
      EXPECT_EQ(this->page_through(spaces::data, "pagepage", limit), in_prefix);
      EXPECT_EQ(this->page_through(spaces::data, "pa", limit), expected_with_prefix(keys, "pa"));
    }
    // The exact page boundaries for a limit of 5: 5 full pages, the last
    // without more.
    auto page = this->scan(spaces::data, "pagepage", "", 5);
    EXPECT_TRUE(page.more);
    page = this->scan(spaces::data, "pagepage", in_prefix[19], 5);
    EXPECT_EQ(keys_of(page), keys_t(in_prefix.begin() + 20, in_prefix.end()));
    EXPECT_FALSE(page.more);
    page = this->scan(spaces::data, "pagepage", in_prefix[24], 5);
    EXPECT_TRUE(page.entries.empty());
    EXPECT_FALSE(page.more);
  });
}

TYPED_TEST(Conformance, ScanStartAfterAbsentKeyStartsAtNextKey) {
  this->put_keys(spaces::latest_ptr, {"k10", "k20", "k30"});
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "k", "k15"), (keys_t{"k20", "k30"}));
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "k", "k20"), keys_t{"k30"});
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "k", "k2"), (keys_t{"k20", "k30"}));
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "k", "k"), (keys_t{"k10", "k20", "k30"}));
    EXPECT_EQ(this->scan_keys(spaces::latest_ptr, "k", "k30"), keys_t{});
  });
}

TYPED_TEST(Conformance, ScanStartAfterBeforePrefixStartsAtPrefix) {
  const keys_t keys = {"a1", "b1", "b2", "c1"};
  this->put_keys(spaces::metas, keys);
  this->put_keys(spaces::data, {"bbbbbbbb1", "bbbbbbbb2", "aaaaaaaa1", "cccccccc1"});
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(spaces::metas, "b", "a1"), (keys_t{"b1", "b2"}));
    EXPECT_EQ(this->scan_keys(spaces::metas, "b", "0"), (keys_t{"b1", "b2"}));
    EXPECT_EQ(this->scan_keys(spaces::data, "bbbbbbbb", "aaaaaaaa1"),
              (keys_t{"bbbbbbbb1", "bbbbbbbb2"}));
    EXPECT_EQ(this->scan_keys(spaces::data, "bbbbbbbb", "a"), (keys_t{"bbbbbbbb1", "bbbbbbbb2"}));
    EXPECT_EQ(this->scan_keys(spaces::data, "bb", "b"), (keys_t{"bbbbbbbb1", "bbbbbbbb2"}));
  });
}

TYPED_TEST(Conformance, ScanStartAfterBeyondPrefixIsEmpty) {
  this->put_keys(spaces::metas, {"a1", "b1", "b2", "c1"});
  this->put_keys(spaces::data, {"bbbbbbbb1", "bbbbbbbb2", "cccccccc1"});
  this->check_before_and_after_sync([&] {
    auto page = this->scan(spaces::metas, "b", "c", 10);
    EXPECT_TRUE(page.entries.empty());
    EXPECT_FALSE(page.more);
    EXPECT_EQ(this->scan_keys(spaces::metas, "b", "b3"), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::data, "bbbbbbbb", "cccccccc"), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::data, "bbbbbbbb", "bc"), keys_t{});
    EXPECT_EQ(this->scan_keys(spaces::data, "bbbbbbbb", "bbbbbbbb2"), keys_t{});
  });
}

TYPED_TEST(Conformance, ScanWithLimitOneReturnsOneEntryAndMore) {
  this->put_keys(spaces::data, {"xxxxxxxx1", "xxxxxxxx2", "yyyyyyyy1"});
  this->check_before_and_after_sync([&] {
    auto page = this->scan(spaces::data, "xxxxxxxx", "", 1);
    EXPECT_EQ(keys_of(page), keys_t{"xxxxxxxx1"});
    EXPECT_TRUE(page.more);
    page = this->scan(spaces::data, "xxxxxxxx", "xxxxxxxx1", 1);
    EXPECT_EQ(keys_of(page), keys_t{"xxxxxxxx2"});
    EXPECT_FALSE(page.more);
    page = this->scan(spaces::data, "y", "", 1);
    EXPECT_EQ(keys_of(page), keys_t{"yyyyyyyy1"});
    EXPECT_FALSE(page.more);
    page = this->scan(spaces::data, "", "", 1);
    EXPECT_EQ(keys_of(page), keys_t{"xxxxxxxx1"});
    EXPECT_TRUE(page.more);
  });
}

TYPED_TEST(Conformance, ScanWithLimitZeroIsInvalid) {
  this->put_keys(spaces::metas, {"a"});
  scan_page page;
  page.more = true;
  auto st = this->store_->scan(spaces::metas, "", "", 0, page);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_TRUE(page.entries.empty());
}

TYPED_TEST(Conformance, ScanSeesDeletesAndOverwrites) {
  this->put_keys(spaces::smt_node, {ff(34) + "a", ff(34) + "b", ff(33) + "c"});
  ASSERT_TRUE(this->store_->sync());
  auto b = this->store_->make_batch();
  b->del(spaces::smt_node, ff(34) + "a");
  b->put(spaces::smt_node, ff(34) + "b", "new");
  b->put(spaces::smt_node, ff(34) + "c", "added");
  ASSERT_TRUE(this->commit(*b));
  this->check_before_and_after_sync([&] {
    auto page = this->scan(spaces::smt_node, ff(34));
    ASSERT_EQ(keys_of(page), (keys_t{ff(34) + "b", ff(34) + "c"}));
    EXPECT_EQ(page.entries[0].value, "new");
    EXPECT_EQ(page.entries[1].value, "added");
    EXPECT_EQ(this->scan_keys(spaces::smt_node, ff(33)).size(), 3u);
  });
}

// --- The system space --------------------------------------------------------

TYPED_TEST(Conformance, SystemSpaceIsNotPartOfTheSchema) {
  const auto& sch = this->store_->schema();
  EXPECT_EQ(sch.size(), default_schema().size());
  EXPECT_FALSE(sch.contains(system_space));
  EXPECT_GE(system_space, sch.size());
  EXPECT_FALSE(sch.find("default").has_value());
  EXPECT_TRUE(accepts_space(sch, system_space));
  EXPECT_FALSE(accepts_space(sch, static_cast<space_id>(sch.size())));
  EXPECT_EQ(this->scan_keys(system_space, ""), keys_t{});
  EXPECT_EQ(this->get(system_space, "token"), std::nullopt);
}

TYPED_TEST(Conformance, SystemSpaceIsIsolatedFromUserSpaces) {
  const auto& sch = this->store_->schema();
  const keys_t sys_keys = {"a1", "a2", "b1", concat_bytes(be_u64(1), "x"), ff(40)};
  auto b = this->store_->make_batch();
  for (const auto& k : sys_keys) b->put(system_space, k, "sys:" + k);
  ASSERT_TRUE(this->commit(*b));
  // Nothing of the system space shows in any user space.
  for (space_id s = 0; s < sch.size(); ++s) {
    SCOPED_TRACE(sch.spaces[s].name);
    EXPECT_EQ(this->scan_keys(s, ""), keys_t{});
    EXPECT_EQ(this->get(s, "a1"), std::nullopt);
    std::vector<std::optional<std::string>> values;
    ASSERT_TRUE(this->store_->multi_get(s, sys_keys, values));
    EXPECT_EQ(values, std::vector<std::optional<std::string>>(sys_keys.size()));
  }
  // Every user space gets the same keys, and keys of its own.
  for (space_id s = 0; s < sch.size(); ++s) {
    auto ub = this->store_->make_batch();
    for (const auto& k : sys_keys) ub->put(s, k, sch.spaces[s].name + ":" + k);
    ub->put(s, "u-" + sch.spaces[s].name, "user");
    ASSERT_TRUE(this->commit(*ub));
  }
  auto check = [&](const keys_t& sys_left, const keys_t& user_common) {
    auto page = this->scan(system_space, "");
    EXPECT_EQ(keys_of(page), expected_with_prefix(sys_left, ""));
    for (const auto& kv : page.entries) EXPECT_EQ(kv.value, "sys:" + kv.key);
    for (space_id s = 0; s < sch.size(); ++s) {
      SCOPED_TRACE(sch.spaces[s].name);
      EXPECT_EQ(this->get(system_space, "u-" + sch.spaces[s].name), std::nullopt);
      keys_t want = user_common;
      want.push_back("u-" + sch.spaces[s].name);
      auto up = this->scan(s, "");
      EXPECT_EQ(keys_of(up), expected_with_prefix(want, ""));
      for (const auto& kv : up.entries) {
        const std::string want_value =
            kv.key[0] == 'u' ? std::string{"user"} : sch.spaces[s].name + ":" + kv.key;
        EXPECT_EQ(kv.value, want_value);
      }
    }
  };
  this->check_before_and_after_sync([&] { check(sys_keys, sys_keys); });
  // A range delete in the system space leaves the user spaces alone...
  auto d = this->store_->make_batch();
  d->delete_range(system_space, "a", "c");
  d->del(system_space, ff(40));
  ASSERT_TRUE(this->commit(*d));
  const keys_t sys_left = {concat_bytes(be_u64(1), "x")};
  this->check_before_and_after_sync([&] { check(sys_left, sys_keys); });
  // ...and deletes in every user space leave the system space alone.
  auto ud = this->store_->make_batch();
  for (space_id s = 0; s < sch.size(); ++s) {
    ud->delete_range(s, bin({0}), ff(41));
    ud->del(s, ff(40));
  }
  ASSERT_TRUE(this->commit(*ud));
  this->check_before_and_after_sync([&] {
    EXPECT_EQ(this->scan_keys(system_space, ""), sys_left);
    EXPECT_EQ(this->get(system_space, sys_left[0]), "sys:" + sys_left[0]);
    for (space_id s = 0; s < sch.size(); ++s)
      EXPECT_EQ(this->scan_keys(s, ""), keys_t{}) << sch.spaces[s].name;
  });
}

TYPED_TEST(Conformance, SystemSpaceReadsAndWritesLikeAnySpace) {
  keys_t keys;
  for (uint32_t i = 0; i < 12; ++i) keys.push_back(concat_bytes("tok!", be_u32(i * 3)));
  keys.push_back("tok");
  keys.push_back("tol");
  keys.push_back(bin({0}));
  this->put_keys(system_space, keys);
  this->put(system_space, "tol", "overwritten");
  auto b = this->store_->make_batch();
  b->del(system_space, bin({0}));
  b->delete_range(system_space, concat_bytes("tok!", be_u32(30)), "tok!\xff");
  b->delete_range(system_space, "a", "a");  // an empty range is valid
  ASSERT_TRUE(this->commit(*b));
  this->check_before_and_after_sync([&] {
    const auto in_tok = expected_with_prefix(keys, "tok!");
    const keys_t first(in_tok.begin(), in_tok.begin() + 10);
    EXPECT_EQ(this->scan_keys(system_space, "tok!"), first);
    EXPECT_EQ(this->page_through(system_space, "tok!", 3), first);
    keys_t to_keys = first;
    to_keys.push_back("tok");
    to_keys.push_back("tol");
    EXPECT_EQ(this->page_through(system_space, "to", 4), expected_with_prefix(to_keys, "to"));
    EXPECT_EQ(this->get(system_space, "tol"), "overwritten");
    EXPECT_EQ(this->get(system_space, bin({0})), std::nullopt);
    std::vector<std::optional<std::string>> values;
    ASSERT_TRUE(this->store_->multi_get(system_space, {"tok", "nope", first[1]}, values));
    std::vector<std::optional<std::string>> want = {"v:tok", std::nullopt, "v:" + first[1]};
    EXPECT_EQ(values, want);
  });
  // Bad input is refused as in any space.
  std::string value;
  bool found = false;
  EXPECT_EQ(this->store_->get(system_space, "", value, found).code(), errc::empty_key);
  std::vector<std::optional<std::string>> values;
  EXPECT_EQ(this->store_->multi_get(system_space, {"a", ""}, values).code(), errc::empty_key);
  scan_page page;
  EXPECT_EQ(this->store_->scan(system_space, "", "", 0, page).code(), errc::invalid_argument);
  auto bad = this->store_->make_batch();
  bad->put(system_space, "", "v");
  EXPECT_EQ(bad->error().code(), errc::empty_key);
  bad = this->store_->make_batch();
  bad->del(system_space, "");
  EXPECT_EQ(bad->error().code(), errc::empty_key);
  bad = this->store_->make_batch();
  bad->delete_range(system_space, "b", "a");
  EXPECT_EQ(bad->error().code(), errc::invalid_argument);
}

TYPED_TEST(Conformance, BatchMixingUserAndSystemOpsCommitsAtomically) {
  auto b = this->store_->make_batch();
  b->put(spaces::data, concat_bytes(be_u64(7), "v1"), "value");
  b->put(system_space, "token-1", "seq");
  b->put(spaces::latest_ptr, "res-7", "v1");
  b->del(system_space, "token-0");
  b->put(spaces::batch_metadata, "batch-1", "meta");
  EXPECT_EQ(b->count(), 5u);
  EXPECT_EQ(this->get(system_space, "token-1"), std::nullopt);
  EXPECT_EQ(this->get(spaces::latest_ptr, "res-7"), std::nullopt);
  ASSERT_TRUE(this->commit(*b));
  EXPECT_EQ(this->get(spaces::data, concat_bytes(be_u64(7), "v1")), "value");
  EXPECT_EQ(this->get(system_space, "token-1"), "seq");
  EXPECT_EQ(this->get(spaces::latest_ptr, "res-7"), "v1");
  EXPECT_EQ(this->get(spaces::batch_metadata, "batch-1"), "meta");
  // An invalid operation anywhere refuses the system-space operations too...
  const auto before = this->store_->latest_sequence();
  auto bad = this->store_->make_batch();
  bad->put(system_space, "token-2", "seq");
  bad->put(spaces::metas, "m", "1");
  bad->put(static_cast<space_id>(this->store_->schema().size()), "k", "v");
  EXPECT_EQ(bad->error().code(), errc::unknown_space);
  EXPECT_FALSE(this->commit(*bad));
  // ...and an invalid system-space operation refuses the user operations.
  auto bad2 = this->store_->make_batch();
  bad2->put(spaces::metas, "m", "1");
  bad2->put(system_space, "", "seq");
  EXPECT_EQ(bad2->error().code(), errc::empty_key);
  EXPECT_FALSE(this->commit(*bad2));
  EXPECT_EQ(this->get(system_space, "token-2"), std::nullopt);
  EXPECT_EQ(this->get(spaces::metas, "m"), std::nullopt);
  EXPECT_EQ(this->store_->latest_sequence(), before);
}

// --- Sequence prediction -----------------------------------------------------

TYPED_TEST(Conformance, NextSequenceOfEmptyBatchIsLatest) {
  auto& s = *this->store_;
  auto b = s.make_batch();
  EXPECT_EQ(s.next_sequence(*b), 0u);
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
  this->put(spaces::metas, "a", "1");
  auto e = s.make_batch();
  EXPECT_EQ(s.next_sequence(*e), s.latest_sequence());
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *e));
}

TYPED_TEST(Conformance, NextSequenceOfOnePut) {
  auto& s = *this->store_;
  auto b = s.make_batch();
  b->put(spaces::metas, "k", "v");
  EXPECT_EQ(s.next_sequence(*b), s.latest_sequence() + 1);
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
}

TYPED_TEST(Conformance, NextSequenceOfManyPuts) {
  auto& s = *this->store_;
  auto b = s.make_batch();
  for (uint32_t i = 0; i < 100; ++i)
    b->put(static_cast<space_id>(i % s.schema().size()), concat_bytes(be_u64(i), "k"), "v");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
  // The same keys again (overwrites).
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
}

TYPED_TEST(Conformance, NextSequenceOfDeletes) {
  auto& s = *this->store_;
  this->put_keys(spaces::metas, {"a", "b"});
  auto b = s.make_batch();
  b->del(spaces::metas, "a");
  b->del(spaces::metas, "absent");
  b->del(spaces::latest_ptr, "never-written");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
  EXPECT_EQ(this->scan_keys(spaces::metas, ""), keys_t{"b"});
}

TYPED_TEST(Conformance, NextSequenceOfRangeDeletes) {
  auto& s = *this->store_;
  this->put_keys(spaces::latest_ptr, {"k1", "k2", "k3"});
  auto b = s.make_batch();
  b->delete_range(spaces::latest_ptr, "k1", "k3");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
  EXPECT_EQ(this->scan_keys(spaces::latest_ptr, ""), keys_t{"k3"});
  // Several ranges, one of them empty, one across extractor prefixes.
  auto b2 = s.make_batch();
  b2->delete_range(spaces::latest_ptr, "k", "k");
  b2->delete_range(spaces::data, concat_bytes(be_u64(1)), concat_bytes(be_u64(9)));
  b2->delete_range(spaces::metas, "a", "z");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b2));
}

TYPED_TEST(Conformance, NextSequenceOfMixedBatchWithSystemSpace) {
  auto& s = *this->store_;
  this->put_keys(spaces::metas, {"m1", "m2"});
  auto b = s.make_batch();
  b->put(spaces::data, concat_bytes(be_u64(3), "x"), "1");
  b->put(system_space, "token-a", "t");
  b->del(spaces::metas, "m1");
  b->delete_range(system_space, "old-", "old.");
  b->delete_range(spaces::metas, "m2", "m3");
  b->put(spaces::smt_node, ff(34) + "n", "node");
  b->del(system_space, "token-old");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *b));
  // A batch of system-space operations only.
  auto t = s.make_batch();
  t->put(system_space, "token-b", "t");
  t->put(system_space, "token-c", "t");
  EXPECT_TRUE(commit_answers_predicted_sequence(s, *t));
}

TYPED_TEST(Conformance, NextSequenceOverConsecutiveCommits) {
  auto& s = *this->store_;
  for (int i = 0; i < 30; ++i) {
    SCOPED_TRACE("commit " + std::to_string(i));
    auto b = s.make_batch();
    const int n = i % 6;  // 0 (an empty batch) to 5 operations
    for (int j = 0; j < n; ++j) {
      const std::string k = "k" + std::to_string(j);
      switch ((i + j) % 4) {
        case 0:
          b->put(spaces::metas, k, std::to_string(i));
          break;
        case 1:
          b->del(spaces::latest_ptr, k);
          break;
        case 2:
          b->delete_range(spaces::metas, k, k + "z");
          break;
        default:
          b->put(system_space, "token-" + std::to_string(i), k);
          break;
      }
    }
    ASSERT_TRUE(commit_answers_predicted_sequence(s, *b));
  }
}

TYPED_TEST(Conformance, NextSequenceCountsPendingOperations) {
  auto& s = *this->store_;
  // An empty batch with pending operations is a non-empty batch.
  auto e = s.make_batch();
  const auto p = s.next_sequence(*e, 2);
  EXPECT_GT(p, s.latest_sequence());
  e->put(system_space, "t1", "x");
  e->put(system_space, "t2", "y");
  EXPECT_EQ(s.next_sequence(*e), p);
  // The committer's way: user operations, then one token record holding the
  // sequence the commit answers.
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("commit " + std::to_string(i));
    auto b = s.make_batch();
    for (int j = 0; j < i; ++j) b->put(spaces::metas, "k" + std::to_string(j), "v");
    if (i == 3) b->delete_range(spaces::latest_ptr, "a", "b");
    EXPECT_TRUE(commit_with_token(s, *b, "token-" + std::to_string(i)));
  }
}

TYPED_TEST(Conformance, WrongSequencePredictionIsDetected) {
  auto off_by_one = [](const store& in, const write_batch& batch, size_t p) {
    return in.next_sequence(batch, p) + 1;
  };
  predicting_store wrong{*this->store_, off_by_one};
  auto b = wrong.make_batch();
  b->put(spaces::metas, "k", "v");
  auto result = commit_answers_predicted_sequence(wrong, *b);
  EXPECT_FALSE(result);
  EXPECT_NE(std::string{result.message()}.find("predicted"), std::string::npos) << result.message();
  // Forgetting the pending token record is detected by the committer's check.
  auto forgets_pending = [](const store& in, const write_batch& batch, size_t) {
    return in.next_sequence(batch, 0);
  };
  predicting_store forgetful{*this->store_, forgets_pending};
  auto t = forgetful.make_batch();
  EXPECT_FALSE(commit_with_token(forgetful, *t, "token"));
  // The memory rule (+1 per commit) and a per-operation rule (+count) differ
  // for a batch of three puts: exactly one of them is each backend's rule.
  auto per_commit = [](const store& in, const write_batch& batch, size_t p) {
    return in.latest_sequence() + (batch.count() + p > 0 ? 1 : 0);
  };
  auto per_op = [](const store& in, const write_batch& batch, size_t p) {
    return in.latest_sequence() + batch.count() + p;
  };
  int right = 0;
  for (const auto& r : {predicting_store::rule{per_commit}, predicting_store::rule{per_op}}) {
    predicting_store candidate{*this->store_, r};
    auto three = candidate.make_batch();
    for (const char* k : {"x", "y", "z"}) three->put(spaces::metas, k, "v");
    if (commit_answers_predicted_sequence(candidate, *three)) ++right;
  }
  EXPECT_EQ(right, 1);
}

// --- Concurrency -------------------------------------------------------------

TYPED_TEST(Conformance, ConcurrentReadersNeverSeeHalfABatch) {
  // Every batch sets all counter keys of `data` and `latest_ptr` to the same
  // value i. Readers read data, then latest_ptr, then data again: with atomic,
  // ordered commits each space's keys agree and the values never go down.
  constexpr uint64_t batches = 200;
  constexpr uint32_t keys_per_space = 4;
  const std::string data_prefix = "counter!";
  keys_t ptr_keys;
  for (uint32_t j = 0; j < keys_per_space; ++j) ptr_keys.push_back("ctr-" + std::to_string(j));
  auto write = [&](uint64_t i) {
    auto b = this->store_->make_batch();
    for (uint32_t j = 0; j < keys_per_space; ++j) {
      b->put(spaces::data, concat_bytes(data_prefix, be_u32(j)), be_u64(i));
      b->put(spaces::latest_ptr, ptr_keys[j], be_u64(i));
    }
    uint64_t seq = 0;
    return this->store_->commit(*b, seq);
  };
  ASSERT_TRUE(write(0));

  std::atomic<bool> done{false};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> reads{0};
  // Returns the common value of a space's counters, or nothing (and counts a
  // failure) if they differ or a read failed.
  auto read_data = [&]() -> std::optional<uint64_t> {
    scan_page page;
    if (!this->store_->scan(spaces::data, data_prefix, "", 100, page) ||
        page.entries.size() != keys_per_space)
      return std::nullopt;
    uint64_t first = 0;
    for (size_t j = 0; j < page.entries.size(); ++j) {
      uint64_t v = 0;
      if (!read_be(page.entries[j].value, 0, v)) return std::nullopt;
      if (j == 0) first = v;
      if (v != first) return std::nullopt;
    }
    return first;
  };
  auto read_ptrs = [&]() -> std::optional<uint64_t> {
    std::vector<std::optional<std::string>> values;
    if (!this->store_->multi_get(spaces::latest_ptr, ptr_keys, values) ||
        values.size() != keys_per_space)
      return std::nullopt;
    uint64_t first = 0;
    for (size_t j = 0; j < values.size(); ++j) {
      uint64_t v = 0;
      if (!values[j] || !read_be(*values[j], 0, v)) return std::nullopt;
      if (j == 0) first = v;
      if (v != first) return std::nullopt;
    }
    return first;
  };
  auto reader = [&] {
    uint64_t last = 0;
    for (int n = 0; n < 1000000; ++n) {
      const bool stop = done.load();
      auto a = read_data();
      auto b = read_ptrs();
      auto c = read_data();
      reads.fetch_add(1);
      if (!a || !b || !c || *a < last || *a > *b || *b > *c) {
        failures.fetch_add(1);
        return;
      }
      last = *c;
      if (stop) return;
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) readers.emplace_back(reader);
  uint64_t write_failures = 0;
  for (uint64_t i = 1; i <= batches; ++i)
    if (!write(i)) ++write_failures;
  done.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(write_failures, 0u);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GE(reads.load(), 2u);
  EXPECT_EQ(read_data(), batches);
  EXPECT_EQ(read_ptrs(), batches);
}

TYPED_TEST(Conformance, ConcurrentReadersSeeSystemAndUserOpsOfABatchTogether) {
  // Every batch i sets a token in the system space and counters in two user
  // spaces to i. Readers read the token, the counters, then the token again:
  // with atomic, ordered commits the values never go down along the way.
  constexpr uint64_t batches = 200;
  auto write = [&](uint64_t i) {
    auto b = this->store_->make_batch();
    b->put(spaces::metas, "ctr", be_u64(i));
    b->put(system_space, "token", be_u64(i));
    b->put(spaces::latest_ptr, "ctr", be_u64(i));
    uint64_t seq = 0;
    return this->store_->commit(*b, seq);
  };
  ASSERT_TRUE(write(0));
  auto read = [&](space_id space) -> std::optional<uint64_t> {
    std::string v;
    bool found = false;
    uint64_t x = 0;
    if (!this->store_->get(space, "ctr", v, found) || !found || !read_be(v, 0, x))
      return std::nullopt;
    return x;
  };
  auto read_token = [&]() -> std::optional<uint64_t> {
    scan_page page;
    uint64_t x = 0;
    if (!this->store_->scan(system_space, "tok", "", 10, page) || page.entries.size() != 1 ||
        !read_be(page.entries[0].value, 0, x))
      return std::nullopt;
    return x;
  };
  std::atomic<bool> done{false};
  std::atomic<uint64_t> failures{0};
  auto reader = [&] {
    for (int n = 0; n < 1000000; ++n) {
      const bool stop = done.load();
      auto a = read_token();
      auto b = read(spaces::metas);
      auto c = read(spaces::latest_ptr);
      auto d = read_token();
      if (!a || !b || !c || !d || *a > *b || *b > *c || *c > *d) {
        failures.fetch_add(1);
        return;
      }
      if (stop) return;
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) readers.emplace_back(reader);
  uint64_t write_failures = 0;
  for (uint64_t i = 1; i <= batches; ++i)
    if (!write(i)) ++write_failures;
  done.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(write_failures, 0u);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(read_token(), batches);
}

// --- Snapshots (read_view) ---------------------------------------------------

/// Reads `key` of `space` through `v`, expecting success.
std::optional<std::string> view_get(const read_view& v, space_id space, std::string_view key) {
  std::string value;
  bool found = false;
  auto st = v.get(space, key, value, found);
  EXPECT_TRUE(st) << st.to_string();
  if (!found) return std::nullopt;
  return value;
}

TYPED_TEST(Conformance, SnapshotSeesNoCommitAfterIt) {
  this->put(spaces::data, "a", "1");
  this->put(spaces::latest_ptr, "b", "1");
  std::shared_ptr<const read_view> v;
  ASSERT_TRUE(this->store_->snapshot(v));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->sequence(), this->store_->latest_sequence());
  const auto at = v->sequence();
  // After the view: an overwrite, a delete, a new key, a range delete, in
  // several spaces and one batch each, then a sync (RocksDB: memtables
  // flushed to SST files; the view still sees what it saw).
  this->put(spaces::data, "a", "2");
  {
    auto b = this->store_->make_batch();
    b->del(spaces::latest_ptr, "b");
    b->put(spaces::latest_ptr, "c", "new");
    b->delete_range(spaces::data, "a", "z");
    ASSERT_TRUE(this->commit(*b));
  }
  ASSERT_TRUE(this->store_->sync());
  EXPECT_EQ(view_get(*v, spaces::data, "a"), "1");
  EXPECT_EQ(view_get(*v, spaces::latest_ptr, "b"), "1");
  EXPECT_EQ(view_get(*v, spaces::latest_ptr, "c"), std::nullopt);
  std::vector<std::optional<std::string>> values;
  ASSERT_TRUE(v->multi_get(spaces::latest_ptr, {"b", "c"}, values));
  EXPECT_EQ(values, (std::vector<std::optional<std::string>>{"1", std::nullopt}));
  scan_page page;
  ASSERT_TRUE(v->scan(spaces::latest_ptr, "", {}, 10, page));
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].key, "b");
  EXPECT_EQ(v->sequence(), at);
  // The store itself moved on.
  EXPECT_EQ(this->get(spaces::data, "a"), std::nullopt);
  EXPECT_EQ(this->get(spaces::latest_ptr, "c"), "new");
  EXPECT_GT(this->store_->latest_sequence(), at);
}

TYPED_TEST(Conformance, SnapshotPagesThroughOneState) {
  keys_t keys;
  for (int i = 0; i < 50; ++i) keys.push_back("k" + std::to_string(100 + i));
  this->put_keys(spaces::metas, keys);
  std::shared_ptr<const read_view> v;
  ASSERT_TRUE(this->store_->snapshot(v));
  // Between pages, every key is deleted and others are written.
  keys_t seen;
  std::string after;
  for (int n = 0; n < 100; ++n) {
    scan_page page;
    ASSERT_TRUE(v->scan(spaces::metas, "k", after, 7, page));
    for (const auto& kv : page.entries) seen.push_back(kv.key);
    auto b = this->store_->make_batch();
    b->delete_range(spaces::metas, "k", "l");
    b->put(spaces::metas, "k" + std::to_string(n), "late");
    ASSERT_TRUE(this->commit(*b));
    if (!page.more) break;
    after = page.entries.back().key;
  }
  EXPECT_EQ(seen, keys);
}

TYPED_TEST(Conformance, SnapshotChecksSpacesAndKeysLikeTheStore) {
  std::shared_ptr<const read_view> v;
  ASSERT_TRUE(this->store_->snapshot(v));
  std::string value;
  bool found = false;
  EXPECT_EQ(v->get(99, "x", value, found).code(), errc::unknown_space);
  EXPECT_EQ(v->get(spaces::data, "", value, found).code(), errc::empty_key);
  scan_page page;
  EXPECT_EQ(v->scan(spaces::data, "", {}, 0, page).code(), errc::invalid_argument);
}

}  // namespace
}  // namespace vstore
