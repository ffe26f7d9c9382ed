// Point gets, multi_gets and scans read together (reader.batch-max): while
// the manager is busy, the reads that arrive join batches per space that one
// cache-only reader reads in one message (the gets and multi_gets with one
// multi_get of all their keys). A
// burst must still answer every get with its own key's value or absence and
// every scan with its own page; reads whose keys are only on disk go on to
// the readers that may block; the switch turns batches off; a drain answers
// the reads of a batch. The check is shown to catch answers given to the
// wrong get (a store whose multi_get answers the keys out of order).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/broken_stores.hpp"

namespace vstore::test {
namespace {

constexpr space_id space_a = 0;  // data
constexpr int stored_keys = 200;

/// A burst of `n` reads, scaled by VSTORE_TEST_SCALE (ThreadSanitizer's
/// preset runs a quarter) but never below 100.
int sized(int n) { return std::max(100, static_cast<int>(n * test_scale())); }

/// test_options with a read deadline (supervisor.internal-timeout) of 60 s:
/// these tests check answers, not deadlines, and under ThreadSanitizer a
/// burst's last reads waited longer than the 5 s of test_options.
options batch_options(backend_kind kind, const std::filesystem::path& dir) {
  auto o = test_options(kind, dir);
  o.supervisor.internal_timeout = std::chrono::seconds(60);
  return o;
}

std::string key_of(int i) { return "k" + std::to_string(1000 + i); }
std::string value_of(int i) { return "value-" + std::to_string(i) + std::string(i % 7, 'x'); }

/// Counts the cache-only multi_gets that reach the store, and (broken)
/// answers them in reverse key order.
class counting_reads final : public forwarding_store {
 public:
  explicit counting_reads(std::shared_ptr<store> inner, bool reversed = false)
      : forwarding_store(std::move(inner)), reversed_(reversed) {}
  const char* defect() const noexcept override { return reversed_ ? "reversed" : "healthy"; }

  std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                bool& found) const override {
    return inner_->try_get(space, key, value, found);
  }
  std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override {
    ++multi_gets;
    keys_read += keys.size();
    auto most = most_keys.load();
    while (keys.size() > most && !most_keys.compare_exchange_weak(most, keys.size())) {
    }
    auto r = inner_->try_multi_get(space, keys, values);
    if (r && *r && reversed_) std::reverse(values.begin(), values.end());
    return r;
  }

  std::optional<status> try_scan(space_id space, std::string_view prefix,
                                 std::string_view start_after, size_t limit,
                                 scan_page& page) const override {
    return inner_->try_scan(space, prefix, start_after, limit, page);
  }

  // The reads of the readers that may block.
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    ++blocking_gets;
    return inner_->get(space, key, value, found);
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    ++blocking_multi_gets;
    if (failing_multi_gets > 0) {
      --failing_multi_gets;
      return {errc::io_error, "injected: a blocking multi_get failed"};
    }
    return inner_->multi_get(space, keys, values);
  }

  mutable std::atomic<uint64_t> multi_gets{0};
  mutable std::atomic<uint64_t> keys_read{0};
  /// The most keys of one cache-only multi_get (a batch).
  mutable std::atomic<uint64_t> most_keys{0};
  mutable std::atomic<uint64_t> blocking_gets{0};
  mutable std::atomic<uint64_t> blocking_multi_gets{0};
  /// The next this many blocking multi_gets fail with errc::io_error.
  mutable std::atomic<int> failing_multi_gets{0};

 private:
  bool reversed_;
};

class ReadBatch : public actor_test, public ::testing::WithParamInterface<backend_kind> {
 protected:
  scratch_dir dir_;

  options opts() { return batch_options(GetParam(), dir_.path()); }

  /// Opens a store holding key_of(i) = value_of(i) for i < stored_keys.
  std::shared_ptr<store> filled_store(const options& o, bool flushed_and_reopened = false) {
    std::shared_ptr<store> s;
    EXPECT_TRUE(open_store(o, s));
    auto b = s->make_batch();
    for (int i = 0; i < stored_keys; ++i) b->put(space_a, key_of(i), value_of(i));
    uint64_t seq = 0;
    EXPECT_TRUE(s->commit(*b, seq));
    if (flushed_and_reopened) {
      EXPECT_TRUE(s->sync());  // memtables -> SST files
      s.reset();
      EXPECT_TRUE(open_store(o, s));  // an empty block cache
    }
    return s;
  }

  /// What a burst of gets got.
  struct burst_result {
    int answered = 0;
    int wrong = 0;
    int errors = 0;
    std::string first_wrong;
  };

  /// Expects `n` answers, none an error, none wrong.
  static void expect_all_right(const burst_result& r, int n) {
    EXPECT_EQ(r.answered, n);
    EXPECT_EQ(r.errors, 0);
    EXPECT_EQ(r.wrong, 0) << r.first_wrong;
  }

  /// Sends `n` gets at once (key i % (stored_keys + 50): the last 50 never
  /// stored), optionally followed at once by a drain, then takes every
  /// reply. A get answered with an error counts as an error, one answered
  /// with another key's value or presence as wrong.
  burst_result burst(const manager_actor& m, int n, bool then_drain = false) {
    using handle_t = decltype(self_->request(m, reply_timeout, get_request{}));
    std::vector<handle_t> handles;
    std::vector<int> asked;
    handles.reserve(static_cast<size_t>(n));
    for (int j = 0; j < n; ++j) {
      int i = (j * 37) % (stored_keys + 50);
      asked.push_back(i);
      handles.push_back(self_->request(m, reply_timeout, get_request{space_a, key_of(i), 0}));
    }
    if (then_drain) caf::anon_send(m, drain_request{});
    burst_result r;
    for (size_t j = 0; j < handles.size(); ++j) {
      const int i = asked[j];
      handles[j].receive(
          [&](get_reply& g) {
            ++r.answered;
            bool ok = i < stored_keys ? (g.found && g.value == value_of(i)) : !g.found;
            if (!ok && r.wrong++ == 0)
              r.first_wrong = key_of(i) + " answered found=" + std::to_string(g.found) +
                              " value '" + g.value + "'";
          },
          [&](caf::error&) { ++r.errors; });
    }
    return r;
  }

  /// Sends `n` scans at once (prefix group j % 25 of "k10".."k12": groups
  /// 20..24 hold no key; pages of 3, so a full group has more), optionally
  /// followed by a drain, then takes every reply; counts as burst() does.
  burst_result scan_burst(const manager_actor& m, int n, bool then_drain = false) {
    using handle_t = decltype(self_->request(m, reply_timeout, scan_request{}));
    std::vector<handle_t> handles;
    std::vector<int> asked;
    for (int j = 0; j < n; ++j) {
      int g = (j * 7) % 25;
      asked.push_back(g);
      scan_request q;
      q.space = space_a;
      q.prefix = key_of(g * 10).substr(0, 4);
      q.limit = 3;
      handles.push_back(self_->request(m, reply_timeout, std::move(q)));
    }
    if (then_drain) caf::anon_send(m, drain_request{});
    burst_result r;
    for (size_t j = 0; j < handles.size(); ++j) {
      const int g = asked[j];
      handles[j].receive(
          [&](scan_reply& page) {
            ++r.answered;
            bool ok = true;
            if (g * 10 >= stored_keys) {
              ok = page.entries.empty() && !page.more;
            } else {
              ok = page.entries.size() == 3 && page.more;
              for (size_t e = 0; ok && e < page.entries.size(); ++e) {
                int i = g * 10 + static_cast<int>(e);
                ok = page.entries[e].key == key_of(i) && page.entries[e].value == value_of(i);
              }
            }
            if (!ok && r.wrong++ == 0)
              r.first_wrong = "scan of group " + std::to_string(g) + " answered " +
                              std::to_string(page.entries.size()) + " entries" +
                              (page.entries.empty() ? "" : ", first " + page.entries[0].key);
          },
          [&](caf::error&) { ++r.errors; });
    }
    return r;
  }

  /// Sends `n` reads at once, every third a multi_get of 10 keys (some never
  /// stored), the others point gets, then takes every reply; counts as
  /// burst() does (a multi_get is wrong if any of its keys is).
  burst_result mixed_burst(const manager_actor& m, int n) {
    using get_handle = decltype(self_->request(m, reply_timeout, get_request{}));
    using multi_handle = decltype(self_->request(m, reply_timeout, multi_get_request{}));
    std::vector<std::pair<int, get_handle>> gets;
    std::vector<std::pair<int, multi_handle>> multis;
    for (int j = 0; j < n; ++j) {
      int i = (j * 37) % (stored_keys + 50);
      if (j % 3 == 0) {
        multi_get_request q;
        q.space = space_a;
        for (int k = 0; k < 10; ++k) q.keys.push_back(key_of((i + k * 11) % (stored_keys + 50)));
        multis.emplace_back(i, self_->request(m, reply_timeout, std::move(q)));
      } else {
        gets.emplace_back(i, self_->request(m, reply_timeout, get_request{space_a, key_of(i), 0}));
      }
    }
    burst_result r;
    auto check = [&](int i, bool found, const std::string& value) {
      bool ok = i < stored_keys ? (found && value == value_of(i)) : !found;
      if (!ok && r.wrong++ == 0)
        r.first_wrong =
            key_of(i) + " answered found=" + std::to_string(found) + " value '" + value + "'";
    };
    for (auto& [i, h] : gets)
      h.receive(
          [&](get_reply& g) {
            ++r.answered;
            check(i, g.found, g.value);
          },
          [&](caf::error&) { ++r.errors; });
    for (auto& [i, h] : multis)
      h.receive(
          [&](multi_get_reply& mg) {
            ++r.answered;
            if (mg.found.size() != 10 || mg.values.size() != 10) {
              if (r.wrong++ == 0) r.first_wrong = "a multi_get answered another number of keys";
              return;
            }
            for (int k = 0; k < 10; ++k)
              check((i + k * 11) % (stored_keys + 50), mg.found[static_cast<size_t>(k)] != 0,
                    mg.values[static_cast<size_t>(k)]);
          },
          [&](caf::error&) { ++r.errors; });
    return r;
  }

  uint64_t batched(const manager_actor& m) { return stats(m).spaces.at(space_a).reads_batched; }
};

TEST_P(ReadBatch, ABurstOfGetsIsReadInBatchesAndEachGetGetsItsOwnAnswer) {
  auto o = opts();
  ASSERT_TRUE(o.reader.cache_first);
  ASSERT_GE(o.reader.batch_max, 2u);
  auto counted = std::make_shared<counting_reads>(filled_store(o));
  auto m = start_over(o, counted);
  auto r = burst(m, sized(2000));
  expect_all_right(r, sized(2000));
  // The burst kept the manager busy: gets were read together.
  EXPECT_GT(counted->multi_gets.load(), 0u) << "no get was read in a batch";
  EXPECT_GT(counted->keys_read.load(), counted->multi_gets.load())
      << "the batches held one get each";
  EXPECT_EQ(batched(m), counted->keys_read.load()) << "stats count the gets sent in batches";
}

TEST_P(ReadBatch, GetsAndMultiGetsReadInOneBatchEachGetTheirOwnKeys) {
  auto o = opts();
  auto m = start_over(o, filled_store(o));
  auto r = mixed_burst(m, sized(1500));
  expect_all_right(r, sized(1500));
  EXPECT_GT(batched(m), 0u) << "no read was sent in a batch";
}

// reader.batch-max-keys: a batch is sent once it holds that many keys, so
// with multi_gets of 10 keys no batch holds more than 20 + 9. Without the
// bound, batches of 32 reads (a third of them multi_gets) held ~130 keys.
TEST_P(ReadBatch, ABatchIsSentOnceItHoldsBatchMaxKeys) {
  auto o = opts();
  o.reader.batch_max_keys = 20;
  auto counted = std::make_shared<counting_reads>(filled_store(o));
  auto m = start_over(o, counted);
  auto r = mixed_burst(m, sized(1500));
  expect_all_right(r, sized(1500));
  EXPECT_GT(counted->multi_gets.load(), 0u) << "no batch was read";
  EXPECT_LE(counted->most_keys.load(), 29u);
}

TEST_P(ReadBatch, ABurstOfScansIsReadInBatchesAndEachScanGetsItsOwnPage) {
  auto o = opts();
  auto m = start_over(o, filled_store(o));
  auto r = scan_burst(m, sized(1000));
  expect_all_right(r, sized(1000));
  EXPECT_GT(batched(m), 0u) << "no scan was read in a batch";
}

TEST_P(ReadBatch, AStoreThatAnswersABatchOutOfOrderIsCaught) {
  auto o = opts();
  auto broken = std::make_shared<counting_reads>(filled_store(o), true);
  auto m = start_over(o, broken);
  auto r = burst(m, sized(2000));
  ASSERT_GT(broken->multi_gets.load(), 0u) << "no batch was read: the check was not exercised";
  EXPECT_GT(r.wrong, 0) << "answers given to the wrong gets went unnoticed";
}

TEST_P(ReadBatch, WithBatchesOffEveryReadIsReadAlone) {
  auto o = opts();
  o.reader.batch_max = 0;
  auto counted = std::make_shared<counting_reads>(filled_store(o));
  auto m = start_over(o, counted);
  expect_all_right(burst(m, sized(1000)), sized(1000));
  EXPECT_EQ(counted->multi_gets.load(), 0u);
  expect_all_right(scan_burst(m, sized(500)), sized(500));
  EXPECT_EQ(batched(m), 0u);
}

TEST_P(ReadBatch, ADrainAnswersEveryGetOfABurst) {
  auto o = opts();
  auto m = start_over(o, filled_store(o));
  auto r = burst(m, sized(2000), true);
  // Each get is answered: with its value, or (admitted after the drain began)
  // with an error. None is left without a reply, none answered wrongly.
  EXPECT_EQ(r.answered + r.errors, sized(2000));
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
}

TEST_P(ReadBatch, ADrainAnswersEveryScanOfABurst) {
  auto o = opts();
  auto m = start_over(o, filled_store(o));
  auto r = scan_burst(m, sized(1000), true);
  EXPECT_EQ(r.answered + r.errors, sized(1000));
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadBatch,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const auto& param_info) {
                           return std::string{param_info.param == backend_kind::memory ? "memory"
                                                                                       : "rocksdb"};
                         });

// Every key only on disk (flushed, reopened with a cold block cache): the
// batch's cache-only multi_get cannot answer, and the batch goes on, whole,
// to a reader that may block (one multi_get for the batch; only a read that
// joined no batch is a blocking get of its own).
class ReadBatchCold : public ReadBatch {
 protected:
  /// A block cache of one byte keeps nothing: the 200 keys fill one or two
  /// blocks, so with a real cache the first blocking read warmed them all and,
  /// under load, every later batch was answered from the cache (5 of 75 runs
  /// three at a time saw no cold batch at all).
  options cold_options() {
    auto o = batch_options(backend_kind::rocksdb, dir_.path());
    o.db.block_cache_bytes = 1;
    return o;
  }
};

TEST_F(ReadBatchCold, GetsWhoseKeysAreOnlyOnDiskAreAnsweredByBlockingReaders) {
  auto o = cold_options();
  auto counted = std::make_shared<counting_reads>(filled_store(o, true));
  auto m = start_over(o, counted);
  stats(m);  // the manager is up
  const auto started_gets = counted->blocking_gets.load();
  auto r = burst(m, sized(1000));
  expect_all_right(r, sized(1000));
  EXPECT_GT(counted->multi_gets.load(), 0u) << "no batch was tried";
  auto in_batches = batched(m);
  EXPECT_GT(in_batches, 0u);
  EXPECT_GT(counted->blocking_multi_gets.load(), 0u) << "no cold batch went on whole";
  // The burst's gets only: the manager's own start reads its system space.
  EXPECT_LE(counted->blocking_gets.load() - started_gets, sized(1000) - in_batches)
      << "the gets of cold batches went on one by one (" << in_batches << " in batches)";
}

// A cold batch of gets whose blocking multi_get fails (the error may be one
// key's): each get goes on alone and gets its own answer, here every one
// right, instead of the batch's error.
TEST_F(ReadBatchCold, AFailedColdBatchSendsEachReadOnAlone) {
  auto o = cold_options();
  auto counted = std::make_shared<counting_reads>(filled_store(o, true));
  counted->failing_multi_gets = 1000000;
  auto m = start_over(o, counted);
  auto r = burst(m, sized(600));
  expect_all_right(r, sized(600));
  EXPECT_GT(counted->blocking_multi_gets.load(), 0u) << "no cold batch failed";
}

TEST_F(ReadBatchCold, MultiGetsWhoseKeysAreOnlyOnDiskAreAnsweredByBlockingReaders) {
  auto o = cold_options();
  auto m = start_over(o, filled_store(o, true));
  auto r = mixed_burst(m, sized(600));
  expect_all_right(r, sized(600));
  EXPECT_GT(batched(m), 0u) << "no batch was tried";
}

TEST_F(ReadBatchCold, ScansWhoseKeysAreOnlyOnDiskAreAnsweredByBlockingReaders) {
  auto o = cold_options();
  auto m = start_over(o, filled_store(o, true));
  auto r = scan_burst(m, sized(500));
  expect_all_right(r, sized(500));
  EXPECT_GT(batched(m), 0u) << "no batch was tried";
}

}  // namespace
}  // namespace vstore::test
