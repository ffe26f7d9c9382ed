// The commit actor's memory of committed idempotency tokens, without CAF.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "actors/token_index.hpp"

namespace vstore {
namespace {

using std::chrono::milliseconds;
using strings = std::vector<std::string>;

constexpr auto an_hour = milliseconds(3600000);

/// Renders an outcome: "committed@7", "pending", "not_committed", "unknown".
std::string str(const outcome_reply& r) {
  std::string out = to_name(r.state);
  if (r.state == write_state::committed) out += "@" + std::to_string(r.seq);
  return out;
}

std::string bytes(std::initializer_list<int> xs) {
  std::string out;
  for (auto x : xs) out.push_back(static_cast<char>(x));
  return out;
}

// -- records ---------------------------------------------------------------------

TEST(TokenIndex, RecordKeyIsThePrefixFollowedByTheToken) {
  EXPECT_EQ(token_index::record_key("abc"), "tabc");
  EXPECT_EQ(token_index::record_key("abc").substr(0, 1), token_index::record_prefix());
  EXPECT_EQ(token_index::forgotten_key(), "m.forgotten-through");
}

TEST(TokenIndex, RecordIsSeqThenMillisecondsBigEndian) {
  token_index::entry e{0x0102030405060708u, 0x1112131415161718};
  EXPECT_EQ(token_index::encode(e),
            bytes({1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}));
}

TEST(TokenIndex, RecordDecodesToWhatWasEncoded) {
  for (auto e : {token_index::entry{0, 0}, token_index::entry{UINT64_MAX, -1},
                 token_index::entry{42, 1764393592000}}) {
    token_index::entry out{7, 7};
    ASSERT_TRUE(token_index::decode(token_index::encode(e), out));
    EXPECT_EQ(out.seq, e.seq);
    EXPECT_EQ(out.unix_ms, e.unix_ms);
  }
}

TEST(TokenIndex, RecordOfTheWrongSizeDoesNotDecode) {
  for (auto size : {0, 8, 15, 17}) {
    token_index::entry out{7, 8};
    EXPECT_FALSE(token_index::decode(std::string(static_cast<size_t>(size), 'x'), out)) << size;
    EXPECT_EQ(out.seq, 7u);
    EXPECT_EQ(out.unix_ms, 8);
  }
}

TEST(TokenIndex, SeqIsEightBytesBigEndianAndDecodesBack) {
  EXPECT_EQ(token_index::encode_seq(0x0102030405060708u), bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, UINT64_MAX}) {
    uint64_t out = 7;
    ASSERT_TRUE(token_index::decode_seq(token_index::encode_seq(seq), out));
    EXPECT_EQ(out, seq);
  }
  uint64_t out = 7;
  EXPECT_FALSE(token_index::decode_seq("1234567", out));
  EXPECT_FALSE(token_index::decode_seq("123456789", out));
  EXPECT_EQ(out, 7u);
}

// -- committed tokens ------------------------------------------------------------

TEST(TokenIndex, CommittedTokenAnswersCommittedAsOfItsSeq) {
  token_index idx{10, an_hour};
  idx.insert("a", {7, 1000});
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@7");
  EXPECT_EQ(str(idx.outcome("a", 100)), "committed@7");  // not_before_seq does not matter
  ASSERT_TRUE(idx.find("a"));
  EXPECT_EQ(idx.find("a")->unix_ms, 1000);
  EXPECT_EQ(idx.size(), 1u);
}

TEST(TokenIndex, TokenKeepsItsFirstCommit) {
  token_index idx{10, an_hour};
  idx.insert("a", {7, 1000});
  idx.insert("a", {9, 2000});
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@7");
  EXPECT_EQ(idx.size(), 1u);
}

TEST(TokenIndex, AbsentTokenIsNotCommittedWhenNothingWasForgotten) {
  token_index idx{10, an_hour};
  idx.insert("a", {7, 1000});
  EXPECT_EQ(str(idx.outcome("b", 0)), "not_committed");
  EXPECT_EQ(idx.forgotten_through(), 0u);
}

// -- forgetting ------------------------------------------------------------------

TEST(TokenIndex, ForgetDropsTheOldestPastRetainCount) {
  token_index idx{2, an_hour};
  idx.insert("a", {1, 1000});
  idx.insert("b", {2, 1000});
  idx.insert("c", {3, 1000});
  EXPECT_EQ(idx.forget(1000), (strings{"a"}));
  EXPECT_FALSE(idx.find("a"));
  EXPECT_TRUE(idx.find("b"));
  EXPECT_TRUE(idx.find("c"));
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.forgotten_through(), 1u);
  EXPECT_EQ(idx.forgotten_total(), 1u);
  EXPECT_EQ(idx.forget(1000), strings{});  // within the bound now
}

TEST(TokenIndex, ForgetDropsTokensOlderThanRetainAge) {
  token_index idx{10, milliseconds(1000)};
  idx.insert("a", {1, 0});
  idx.insert("b", {2, 500});
  EXPECT_EQ(idx.forget(1000), strings{});  // exactly retain_age old: kept
  EXPECT_EQ(idx.forget(1001), (strings{"a"}));
  EXPECT_EQ(idx.forgotten_through(), 1u);
  EXPECT_EQ(idx.forget(1501), (strings{"b"}));
  EXPECT_EQ(idx.forgotten_through(), 2u);
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_EQ(idx.forgotten_total(), 2u);
}

TEST(TokenIndex, ForgottenThroughIsTheHighestSeqForgottenAndNeverGoesDown) {
  token_index idx{1, an_hour};
  idx.set_forgotten_through(50);
  idx.insert("a", {10, 1000});
  idx.insert("b", {60, 1000});
  idx.forget(1000);  // forgets a (seq 10)
  EXPECT_EQ(idx.forgotten_through(), 50u);
  idx.insert("c", {70, 1000});
  idx.forget(1000);  // forgets b (seq 60)
  EXPECT_EQ(idx.forgotten_through(), 60u);
}

TEST(TokenIndex, ForgottenTokenIsUnknownNotNotCommitted) {
  token_index idx{1, an_hour};
  idx.insert("a", {5, 1000});
  idx.insert("b", {6, 1000});
  idx.forget(1000);
  // The client sent "a" when the store had reached seq 4 (or did not say).
  EXPECT_EQ(str(idx.outcome("a", 4)), "unknown");
  EXPECT_EQ(str(idx.outcome("a", 0)), "unknown");
  EXPECT_EQ(str(idx.outcome("b", 0)), "committed@6");
}

TEST(TokenIndex, AbsentTokenIsNotCommittedOnlyIfNothingAboveNotBeforeSeqWasForgotten) {
  token_index idx{1, an_hour};
  idx.insert("a", {5, 1000});
  idx.insert("b", {6, 1000});
  idx.forget(1000);  // forgotten through 5
  // A write sent after seq 5 was reached commits above 5: had it committed, it
  // would still be remembered.
  EXPECT_EQ(str(idx.outcome("x", 6)), "not_committed");
  EXPECT_EQ(str(idx.outcome("x", 5)), "not_committed");
  EXPECT_EQ(str(idx.outcome("x", 4)), "unknown");
}

TEST(TokenIndex, UnreadableRecordsMakeEveryAbsentTokenUnknown) {
  token_index idx{10, an_hour};
  idx.set_forgotten_through(UINT64_MAX);
  idx.insert("a", {5, 1000});
  EXPECT_EQ(str(idx.outcome("x", UINT64_MAX - 1)), "unknown");
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@5");
  idx.insert("b", {6, 1000});
  idx.forget(UINT64_MAX / 2);  // everything is past retain_age
  EXPECT_EQ(idx.forgotten_through(), UINT64_MAX);
}

TEST(TokenIndex, LoadedRecordsAreForgottenInCommitOrder) {
  token_index idx{2, an_hour};
  idx.load("c", {3, 1000});
  idx.load("a", {1, 1000});
  idx.load("b", {2, 1000});
  idx.load("a", {9, 1000});  // a second record of a token is ignored
  idx.finish_load();
  EXPECT_EQ(idx.size(), 3u);
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@1");
  EXPECT_EQ(idx.forget(1000), (strings{"a"}));
  idx.insert("d", {4, 1000});
  EXPECT_EQ(idx.forget(1000), (strings{"b"}));
  EXPECT_EQ(idx.forgotten_through(), 2u);
}

TEST(TokenIndex, ForgottenTokenCanCommitAgain) {
  token_index idx{1, an_hour};
  idx.insert("a", {1, 1000});
  idx.insert("b", {2, 1000});
  idx.forget(1000);
  idx.insert("a", {3, 1000});
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@3");
}

// -- doubtful tokens -------------------------------------------------------------

TEST(TokenIndex, TokenWhoseCommitFailedIsPending) {
  token_index idx{10, an_hour};
  idx.mark_doubtful("d");
  EXPECT_EQ(str(idx.outcome("d", 0)), "pending");
  EXPECT_EQ(idx.outcome("d", 0).seq, 0u);
  EXPECT_EQ(str(idx.outcome("d", 100)), "pending");
  EXPECT_FALSE(idx.find("d"));
  EXPECT_EQ(idx.size(), 0u);
}

TEST(TokenIndex, DoubtfulTokenThatCommitsLaterIsCommitted) {
  token_index idx{10, an_hour};
  idx.mark_doubtful("d");
  idx.insert("d", {8, 1000});
  EXPECT_EQ(str(idx.outcome("d", 0)), "committed@8");
}

TEST(TokenIndex, DoubtfulTokenThatCommittedIsForgottenLikeAnyOther) {
  token_index idx{1, an_hour};
  idx.mark_doubtful("d");
  idx.insert("d", {8, 1000});
  idx.insert("e", {9, 1000});
  EXPECT_EQ(idx.forget(1000), (strings{"d"}));
  EXPECT_EQ(str(idx.outcome("d", 0)), "unknown");  // no longer pending
}

TEST(TokenIndex, CommittedTokenIsNotMadeDoubtful) {
  token_index idx{10, an_hour};
  idx.insert("a", {5, 1000});
  idx.mark_doubtful("a");
  EXPECT_EQ(str(idx.outcome("a", 0)), "committed@5");
}

TEST(TokenIndex, DoubtfulTokensAreBoundedByRetainCount) {
  token_index idx{2, an_hour};
  idx.mark_doubtful("a");
  idx.mark_doubtful("b");
  idx.mark_doubtful("b");  // once is enough
  idx.mark_doubtful("c");
  EXPECT_NE(str(idx.outcome("a", 0)), "pending");
  EXPECT_EQ(str(idx.outcome("b", 0)), "pending");
  EXPECT_EQ(str(idx.outcome("c", 0)), "pending");
}

TEST(TokenIndex, DoubtfulTokenPushedOutOfTheBoundIsNeverAnsweredNotCommitted) {
  // Its backend commit failed after the backend may have logged it, so it may
  // commit when the store reopens: "not committed, retrying is safe" would be
  // a lie. Dropping it from memory must not turn it into not_committed.
  token_index idx{2, an_hour};
  idx.mark_doubtful("a");
  idx.mark_doubtful("b");
  idx.mark_doubtful("c");
  EXPECT_NE(str(idx.outcome("a", 0)), "not_committed");
}

// -- property: a committed token is never answered not_committed ----------------

TEST(TokenIndex, RandomCommitsAndForgetsNeverAnswerNotCommittedForACommittedToken) {
  std::mt19937 rng{7};
  auto pick = [&rng](uint64_t n) { return std::uniform_int_distribution<uint64_t>{0, n - 1}(rng); };
  token_index idx{16, milliseconds(500)};
  std::vector<std::pair<std::string, uint64_t>> committed;
  uint64_t seq = 0;
  int64_t now_ms = 0;
  for (int step = 0; step < 3000; ++step) {
    if (pick(3) > 0) {
      seq += 1 + pick(3);
      now_ms += static_cast<int64_t>(pick(100));
      auto tok = "t" + std::to_string(step);
      idx.insert(tok, {seq, now_ms});
      committed.emplace_back(tok, seq);
    } else {
      idx.forget(now_ms);
      ASSERT_LE(idx.size(), 16u);
    }
    for (size_t k = 0; k < 8 && !committed.empty(); ++k) {
      const auto& [tok, at] = committed[pick(committed.size())];
      auto not_before = pick(at);  // the client had seen less than its commit
      auto r = idx.outcome(tok, not_before);
      ASSERT_NE(r.state, write_state::not_committed)
          << tok << " committed at " << at << ", asked with not_before_seq " << not_before
          << ", forgotten through " << idx.forgotten_through();
      ASSERT_NE(r.state, write_state::pending);
      if (r.state == write_state::committed) {
        ASSERT_EQ(r.seq, at);
      }
    }
  }
  EXPECT_GT(idx.forgotten_total(), 0u);
}

}  // namespace
}  // namespace vstore
