// The committer's watermark logic, without CAF.
#include <gtest/gtest.h>

#include "actors/commit_queue.hpp"

namespace vstore {
namespace {

using clock_type = commit_queue::clock;

batch_part part(uint64_t g, uint64_t mask, space_id s, const std::string& key) {
  batch_part p;
  p.g = g;
  p.mask = mask;
  p.ops.push_back(write_op{op_kind::put, s, key, "v"});
  return p;
}

std::vector<batch_part> parts(std::initializer_list<batch_part> xs) { return {xs}; }

std::vector<uint64_t> gs(const std::vector<commit_queue::round_part>& round) {
  std::vector<uint64_t> out;
  for (auto& r : round) out.push_back(r.part.g);
  return out;
}

TEST(CommitQueue, SingleSpacePartsCommitAtOnce) {
  commit_queue q{2};
  auto now = clock_type::now();
  auto t = q.add(0, parts({part(1, 1, 0, "a"), part(2, 1, 0, "b")}), now);
  EXPECT_EQ(q.watermark(), UINT64_MAX);
  auto round = q.take_round();
  EXPECT_EQ(gs(round), (std::vector<uint64_t>{1, 2}));
  q.finish_round(round, {}, 42);
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_EQ(ready[0].result.seq, 42u);
  EXPECT_TRUE(ready[0].result.aborted.empty());
}

// A round the store refused unwritten (a degraded store) is not applied:
// refused with the store's code, except a known duplicate (its token committed
// before) and a doubtful token (an earlier commit of it failed: in doubt).
TEST(CommitQueue, RefusedRoundIsNotAppliedExceptDuplicatesAndDoubtfulTokens) {
  commit_queue q{2};
  auto now = clock_type::now();
  auto t = q.add(0, parts({part(1, 1, 0, "a"), part(2, 1, 0, "b"), part(3, 1, 0, "c")}), now);
  auto round = q.take_round();
  q.refuse_round(round, status{errc::no_space, "disk full"}, {{2, 17}}, {3});
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  const auto& r = ready[0].result;
  EXPECT_EQ(r.refused, (std::vector<uint64_t>{1}));
  EXPECT_EQ(r.refuse_code, errc::no_space);
  EXPECT_EQ(r.refuse_context, "disk full");
  EXPECT_EQ(r.duplicate, (std::vector<uint64_t>{2}));
  EXPECT_EQ(r.duplicate_seq, (std::vector<uint64_t>{17}));
  EXPECT_EQ(r.failed, (std::vector<uint64_t>{3}));
  EXPECT_EQ(r.fail_code, errc::in_doubt);
  EXPECT_EQ(r.seq, 0u);
  // A failed (written) round is in doubt, never refused.
  auto t2 = q.add(1, parts({part(4, 2, 1, "d")}), now);
  round = q.take_round();
  q.finish_round(round, status{errc::io_error, "EIO"}, 0);
  ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t2);
  EXPECT_TRUE(ready[0].result.refused.empty());
  EXPECT_EQ(ready[0].result.failed, (std::vector<uint64_t>{4}));
}

TEST(CommitQueue, IncompleteMultiSpaceBatchHoldsTheWatermark) {
  commit_queue q{2};
  auto now = clock_type::now();
  // Batch 1 spans spaces 0 and 1; only its part of space 0 arrived. Batch 2
  // (space 0 only) follows it. Nothing at or after 1 may commit yet.
  q.add(0, parts({part(1, 3, 0, "a"), part(2, 1, 0, "b")}), now);
  EXPECT_EQ(q.watermark(), 1u);
  EXPECT_TRUE(q.take_round().empty());
  // The missing part arrives: both parts of batch 1 and batch 2 in one round.
  q.add(1, parts({part(1, 3, 1, "a")}), now);
  EXPECT_EQ(q.watermark(), UINT64_MAX);
  auto round = q.take_round();
  EXPECT_EQ(gs(round), (std::vector<uint64_t>{1, 2, 1}));
  q.finish_round(round, {}, 7);
  EXPECT_EQ(q.take_ready().size(), 2u);
}

TEST(CommitQueue, RoundKeepsPerSpaceOrder) {
  commit_queue q{1};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 1, 0, "k"), part(2, 1, 0, "k"), part(3, 1, 0, "k")}), now);
  EXPECT_EQ(gs(q.take_round()), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(CommitQueue, LostPartAbortsTheBatchOnlyUpToTheWatermark) {
  commit_queue q{2};
  auto now = clock_type::now();
  auto t = q.add(0, parts({part(5, 3, 0, "a"), part(6, 1, 0, "b")}), now);
  EXPECT_EQ(q.abort_space(1, 5), 1u);  // the writer of space 1 died after batch 5
  auto round = q.take_round();
  EXPECT_EQ(gs(round), (std::vector<uint64_t>{6}));
  q.finish_round(round, {}, 1);
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_EQ(ready[0].result.aborted, (std::vector<uint64_t>{5}));
  EXPECT_EQ(q.aborted_total(), 1u);
}

TEST(CommitQueue, PartArrivingAfterItsSiblingWasLostIsAbortedAtOnce) {
  commit_queue q{2};
  auto now = clock_type::now();
  EXPECT_EQ(q.abort_space(1, 9), 0u);  // nothing incomplete yet
  auto t = q.add(0, parts({part(9, 3, 0, "a")}), now);
  EXPECT_FALSE(q.has_incomplete());
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_EQ(ready[0].result.aborted, (std::vector<uint64_t>{9}));
  // A batch after the lost range is unaffected.
  q.add(0, parts({part(10, 3, 0, "a")}), now);
  EXPECT_TRUE(q.has_incomplete());
}

TEST(CommitQueue, LatePartOfAnAbortedBatchIsDropped) {
  commit_queue q{2};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 3, 0, "a")}), now);
  EXPECT_EQ(q.abort_stalled(now + std::chrono::seconds(5), std::chrono::seconds(2)), 1u);
  q.take_ready();
  auto t = q.add(1, parts({part(1, 3, 1, "a")}), now);
  EXPECT_TRUE(q.take_round().empty());
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_EQ(ready[0].result.aborted, (std::vector<uint64_t>{1}));
}

TEST(CommitQueue, StallAbortWaitsForTheAge) {
  commit_queue q{2};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 3, 0, "a")}), now);
  EXPECT_EQ(q.abort_stalled(now + std::chrono::milliseconds(100), std::chrono::seconds(2)), 0u);
  EXPECT_TRUE(q.has_incomplete());
}

TEST(CommitQueue, PartsBelowTheFloorBelongToAnEarlierCommitter) {
  commit_queue q{1, 100};
  auto now = clock_type::now();
  q.add(0, parts({part(99, 1, 0, "old"), part(100, 1, 0, "new")}), now);
  auto round = q.take_round();
  EXPECT_EQ(gs(round), (std::vector<uint64_t>{100}));
  q.finish_round(round, {}, 3);
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].result.aborted, (std::vector<uint64_t>{99}));
}

TEST(CommitQueue, FailedRoundReportsEveryPartOfIt) {
  commit_queue q{2};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 3, 0, "a")}), now);
  q.add(1, parts({part(1, 3, 1, "a")}), now);
  auto round = q.take_round();
  q.finish_round(round, status{errc::io_error, "disk full"}, 0);
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 2u);
  for (auto& r : ready) {
    EXPECT_EQ(r.result.failed, (std::vector<uint64_t>{1}));
    EXPECT_EQ(r.result.fail_code, errc::io_error);
  }
}

TEST(CommitQueue, SealedBatchIsReadyOnlyWhenAllItsPartsFinished) {
  commit_queue q{2};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 1, 0, "a"), part(2, 3, 0, "b")}), now);
  auto round = q.take_round();
  EXPECT_EQ(gs(round), (std::vector<uint64_t>{1}));
  q.finish_round(round, {}, 1);
  EXPECT_TRUE(q.take_ready().empty());  // batch 2 is still waiting for space 1
  q.add(1, parts({part(2, 3, 1, "b")}), now);
  round = q.take_round();
  q.finish_round(round, {}, 2);
  EXPECT_EQ(q.take_ready().size(), 2u);
}

TEST(CommitQueue, PruneForgetsOldAbortedBatches) {
  commit_queue q{2};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 3, 0, "a")}), now);
  q.abort_space(1, 1);
  EXPECT_EQ(q.aborted_remembered(), 1u);
  q.prune_aborted(now + std::chrono::minutes(5), std::chrono::minutes(1));
  EXPECT_EQ(q.aborted_remembered(), 0u);
}

TEST(CommitQueue, DuplicateOfAnEarlierCommitIsAnsweredAsOfThatCommit) {
  commit_queue q{1};
  auto now = clock_type::now();
  auto t = q.add(0, parts({part(1, 1, 0, "a"), part(2, 1, 0, "b")}), now);
  auto round = q.take_round();
  // Batch 1's token committed at seq 17; only batch 2 went into the commit.
  q.finish_round(round, {}, 50, {{1, 17}});
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_EQ(ready[0].result.duplicate, (std::vector<uint64_t>{1}));
  EXPECT_EQ(ready[0].result.duplicate_seq, (std::vector<uint64_t>{17}));
  EXPECT_EQ(ready[0].result.seq, 50u);
  EXPECT_TRUE(ready[0].result.failed.empty());
  EXPECT_TRUE(ready[0].result.aborted.empty());
}

TEST(CommitQueue, DuplicateEarlierInTheSameRoundTakesTheRoundSeq) {
  commit_queue q{1};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 1, 0, "a")}), now);
  auto t = q.add(0, parts({part(2, 1, 0, "a")}), now);  // a retry of batch 1
  auto round = q.take_round();
  q.finish_round(round, {}, 50, {{2, 0}});
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].tok, t);
  EXPECT_EQ(ready[1].result.duplicate, (std::vector<uint64_t>{2}));
  EXPECT_EQ(ready[1].result.duplicate_seq, (std::vector<uint64_t>{50}));
  EXPECT_TRUE(ready[0].result.duplicate.empty());
  EXPECT_EQ(ready[0].result.seq, 50u);
}

TEST(CommitQueue, DuplicateEarlierInTheSameRoundFailsWithTheRound) {
  commit_queue q{1};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 1, 0, "a")}), now);
  auto t = q.add(0, parts({part(2, 1, 0, "a")}), now);
  auto round = q.take_round();
  q.finish_round(round, status{errc::io_error, "disk full"}, 0, {{2, 0}});
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].tok, t);
  EXPECT_TRUE(ready[1].result.duplicate.empty());
  EXPECT_TRUE(ready[1].result.duplicate_seq.empty());
  EXPECT_EQ(ready[1].result.failed, (std::vector<uint64_t>{2}));
  EXPECT_EQ(ready[1].result.fail_code, errc::io_error);
  EXPECT_EQ(ready[1].result.fail_context, "disk full");
}

TEST(CommitQueue, DuplicateOfAnEarlierCommitStaysCommittedWhenTheRoundFails) {
  commit_queue q{1};
  auto now = clock_type::now();
  q.add(0, parts({part(1, 1, 0, "a"), part(2, 1, 0, "b")}), now);
  auto round = q.take_round();
  q.finish_round(round, status{errc::io_error, "disk full"}, 0, {{1, 17}});
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].result.duplicate, (std::vector<uint64_t>{1}));
  EXPECT_EQ(ready[0].result.duplicate_seq, (std::vector<uint64_t>{17}));
  EXPECT_EQ(ready[0].result.failed, (std::vector<uint64_t>{2}));
}

TEST(CommitQueue, LastTokenIsTheLatestSealedBatchAdded) {
  commit_queue q{2};
  auto now = clock_type::now();
  EXPECT_EQ(q.last_token(), 0u);
  auto t1 = q.add(0, parts({part(1, 1, 0, "a")}), now);
  EXPECT_EQ(q.last_token(), t1);
  auto t2 = q.add(1, parts({part(2, 2, 1, "b")}), now);
  EXPECT_EQ(q.last_token(), t2);
  EXPECT_GT(t2, t1);
  q.finish_round(q.take_round(), {}, 1);
  q.take_ready();
  EXPECT_EQ(q.last_token(), t2);  // answering does not change it
}

TEST(CommitQueue, FinishedThroughWaitsUntilTheBatchIsTakenOut) {
  commit_queue q{1};
  auto now = clock_type::now();
  EXPECT_TRUE(q.finished_through(q.last_token()));  // nothing received
  auto t = q.add(0, parts({part(1, 1, 0, "a")}), now);
  EXPECT_FALSE(q.finished_through(t));
  EXPECT_TRUE(q.finished_through(t - 1));
  auto round = q.take_round();
  EXPECT_FALSE(q.finished_through(t));
  q.finish_round(round, {}, 5);
  EXPECT_FALSE(q.finished_through(t));  // finished, but not answered yet
  q.take_ready();
  EXPECT_TRUE(q.finished_through(t));
}

TEST(CommitQueue, FinishedThroughIgnoresBatchesAfterTheFence) {
  commit_queue q{2};
  auto now = clock_type::now();
  auto t1 = q.add(0, parts({part(1, 1, 0, "a")}), now);
  q.finish_round(q.take_round(), {}, 1);
  q.take_ready();
  auto t2 = q.add(0, parts({part(2, 3, 0, "b")}), now);  // waits for space 1
  EXPECT_TRUE(q.finished_through(t1));
  EXPECT_FALSE(q.finished_through(t2));
}

TEST(CommitQueue, FinishedThroughWaitsForAnEarlierIncompleteBatch) {
  commit_queue q{2};
  auto now = clock_type::now();
  auto t1 = q.add(0, parts({part(1, 3, 0, "a")}), now);  // waits for space 1
  auto t2 = q.add(0, parts({part(2, 1, 0, "b")}), now);
  EXPECT_FALSE(q.finished_through(t2));
  q.abort_space(1, 1);
  EXPECT_FALSE(q.finished_through(t1));  // aborted, but not answered yet
  q.finish_round(q.take_round(), {}, 3);
  q.take_ready();
  EXPECT_TRUE(q.finished_through(t2));
}

TEST(CommitQueue, EmptySealedBatchIsFinishedOnceTakenOut) {
  commit_queue q{1};
  auto now = clock_type::now();
  auto t = q.add(0, {}, now);
  EXPECT_FALSE(q.finished_through(t));
  auto ready = q.take_ready();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tok, t);
  EXPECT_TRUE(q.finished_through(t));
}

}  // namespace
}  // namespace vstore
