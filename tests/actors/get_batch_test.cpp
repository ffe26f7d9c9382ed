// Point gets read together (reader.get-batch-max): while the manager is busy,
// the gets that arrive join a batch per space that one cache-only reader
// reads with one multi_get. A burst of gets must still answer every get with
// its own key's value or absence; gets whose keys are only on disk go on to
// the readers that may block; the switch turns batches off; a drain answers
// the gets of a batch. The check is shown to catch answers given to the wrong
// get (a store whose multi_get answers the keys out of order).

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
    auto r = inner_->try_multi_get(space, keys, values);
    if (r && *r && reversed_) std::reverse(values.begin(), values.end());
    return r;
  }

  mutable std::atomic<uint64_t> multi_gets{0};
  mutable std::atomic<uint64_t> keys_read{0};

 private:
  bool reversed_;
};

class GetBatch : public actor_test, public ::testing::WithParamInterface<backend_kind> {
 protected:
  scratch_dir dir_;

  options opts() { return test_options(GetParam(), dir_.path()); }

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
};

TEST_P(GetBatch, ABurstOfGetsIsReadInBatchesAndEachGetGetsItsOwnAnswer) {
  auto o = opts();
  ASSERT_TRUE(o.reader.cache_first);
  ASSERT_GE(o.reader.get_batch_max, 2u);
  auto counted = std::make_shared<counting_reads>(filled_store(o));
  auto m = start_over(o, counted);
  auto r = burst(m, 2000);
  EXPECT_EQ(r.answered, 2000);
  EXPECT_EQ(r.errors, 0);
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
  // The burst kept the manager busy: gets were read together.
  EXPECT_GT(counted->multi_gets.load(), 0u) << "no get was read in a batch";
  EXPECT_GT(counted->keys_read.load(), counted->multi_gets.load())
      << "the batches held one get each";
}

TEST_P(GetBatch, AStoreThatAnswersABatchOutOfOrderIsCaught) {
  auto o = opts();
  auto broken = std::make_shared<counting_reads>(filled_store(o), true);
  auto m = start_over(o, broken);
  auto r = burst(m, 2000);
  ASSERT_GT(broken->multi_gets.load(), 0u) << "no batch was read: the check was not exercised";
  EXPECT_GT(r.wrong, 0) << "answers given to the wrong gets went unnoticed";
}

TEST_P(GetBatch, WithBatchesOffEveryGetIsReadAlone) {
  auto o = opts();
  o.reader.get_batch_max = 0;
  auto counted = std::make_shared<counting_reads>(filled_store(o));
  auto m = start_over(o, counted);
  auto r = burst(m, 1000);
  EXPECT_EQ(r.answered, 1000);
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
  EXPECT_EQ(counted->multi_gets.load(), 0u);
}

TEST_P(GetBatch, ADrainAnswersEveryGetOfABurst) {
  auto o = opts();
  auto m = start_over(o, filled_store(o));
  auto r = burst(m, 2000, true);
  // Each get is answered: with its value, or (admitted after the drain began)
  // with an error. None is left without a reply, none answered wrongly.
  EXPECT_EQ(r.answered + r.errors, 2000);
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
}

INSTANTIATE_TEST_SUITE_P(Backends, GetBatch,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const auto& param_info) {
                           return std::string{param_info.param == backend_kind::memory ? "memory"
                                                                                       : "rocksdb"};
                         });

// Every key only on disk (flushed, reopened with a cold block cache): the
// batch's cache-only multi_get cannot answer, and each get goes on to a
// reader that may block.
class GetBatchCold : public GetBatch {};

TEST_F(GetBatchCold, GetsWhoseKeysAreOnlyOnDiskAreAnsweredByBlockingReaders) {
  auto o = test_options(backend_kind::rocksdb, dir_.path());
  auto counted = std::make_shared<counting_reads>(filled_store(o, true));
  auto m = start_over(o, counted);
  auto r = burst(m, 1000);
  EXPECT_EQ(r.answered, 1000);
  EXPECT_EQ(r.errors, 0);
  EXPECT_EQ(r.wrong, 0) << r.first_wrong;
  EXPECT_GT(counted->multi_gets.load(), 0u) << "no batch was tried";
}

}  // namespace
}  // namespace vstore::test
