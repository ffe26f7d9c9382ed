// The StorageManager's bookkeeping, without CAF: promises are plain strings
// naming the request ("r1", "w1"), so each assertion says who got which answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "actors/request_table.hpp"

namespace vstore {
namespace {

using table = request_table<std::string, std::string>;
using clock_type = table::clock;
using std::chrono::milliseconds;

constexpr auto timeout = milliseconds(1000);

uint64_t spaces(std::initializer_list<space_id> xs) {
  uint64_t mask = 0;
  for (auto s : xs) mask |= uint64_t{1} << s;
  return mask;
}

std::string code_name(const std::optional<errc>& code) { return code ? to_name(*code) : "ack"; }

/// Renders owner_answered()'s result: "w1:ack", "w1:aborted", or "nothing".
std::string str(const std::optional<std::pair<std::string, std::optional<errc>>>& r) {
  if (!r) return "nothing";
  return r->first + ":" + code_name(r->second);
}

/// Renders answers the table gave itself: "w1:in_doubt@0 w2:in_doubt@1".
std::string str(const std::vector<table::write_answer>& ws) {
  std::string out;
  for (const auto& w : ws) {
    if (!out.empty()) out += " ";
    out += w.rp + ":" + to_name(w.code) + "@" + std::to_string(w.owner);
  }
  return out;
}

/// Renders reads answered by the table: "r1@0 r2@1".
std::string str(const std::vector<std::pair<space_id, std::string>>& rs) {
  std::string out;
  for (const auto& [space, rp] : rs) {
    if (!out.empty()) out += " ";
    out += rp + "@" + std::to_string(space);
  }
  return out;
}

/// Renders expire()/cut_off(): "reads[r1@0] writes[w1:in_doubt@0]".
std::string str(const table::overdue& o) {
  return "reads[" + str(o.reads) + "] writes[" + str(o.writes) + "]";
}

/// Renders orphans handed back by end_sweep() (promise, token, owner, admitted
/// sequence number): "w1:a@0#17 w2:b@1#42".
std::string str(const std::vector<table::held_orphan>& hs) {
  std::string out;
  for (const auto& h : hs) {
    if (!out.empty()) out += " ";
    out +=
        h.rp + ":" + h.token + "@" + std::to_string(h.owner) + "#" + std::to_string(h.admitted_seq);
  }
  return out;
}

/// Renders the outcome counters: "committed=1 not_applied=0 in_doubt=2".
std::string counts(const table& t) {
  const auto& c = t.counts();
  return "committed=" + std::to_string(c.committed) +
         " not_applied=" + std::to_string(c.not_applied) +
         " in_doubt=" + std::to_string(c.in_doubt);
}

/// Renders the per-space write queue counters of a two-space table: "1 0".
std::string writes_queued(const table& t) {
  return std::to_string(t.writes_queued(0)) + " " + std::to_string(t.writes_queued(1));
}

class RequestTable : public ::testing::Test {
 protected:
  /// Admits a write carrying `token` for writer 0, lets the writer go down and
  /// a sweep run: returns what end_sweep() handed back.
  std::vector<table::held_orphan> held_after_sweep(const std::string& token, const std::string& rp,
                                                   uint64_t seq = 0) {
    t.add_write(spaces({0}), 0, token, rp, now, seq);
    t.orphan_writes(0);
    t.begin_sweep();
    return t.end_sweep();
  }

  table t{2, timeout};
  clock_type::time_point now = clock_type::now();
  clock_type::time_point deadline = now + timeout;
};

// -- the owner's answers ---------------------------------------------------------

TEST_F(RequestTable, OwnerAckAnswersCommittedAndSettles) {
  auto id = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::committed)), "w1:ack");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=0");
}

TEST_F(RequestTable, OwnerAbortAnswersAbortedAndSettles) {
  auto id = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::aborted)), "w1:aborted");
  EXPECT_EQ(write_outcome_of(errc::aborted), write_outcome::not_applied);
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(counts(t), "committed=0 not_applied=1 in_doubt=0");
}

TEST_F(RequestTable, RefusedPartAnswersItsCodeAndSettles) {
  auto full = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(full, owner_answer::refused, errc::no_space)), "w1:no_space");
  auto broken = t.add_write(spaces({1}), 1, "", "w2", now);
  EXPECT_EQ(str(t.owner_answered(broken, owner_answer::refused, errc::unavailable)),
            "w2:unavailable");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(counts(t), "committed=0 not_applied=2 in_doubt=0");
}

TEST_F(RequestTable, OwnerInDoubtAnswersInDoubtAndSettles) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::in_doubt_final)), "w1:in_doubt");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerWithoutTokenIsInDoubtAndDoesNotSettle) {
  auto id = t.add_write(spaces({0, 1}), 0, "", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "w1:in_doubt");
  // Answered, but the crashed writer may have sealed it: still queued.
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(t.unanswered_writes(), 0u);
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_FALSE(t.sweep_wanted());  // not before its writer's down message
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerWithTokenAnswersNothingAndDoesNotSettle) {
  auto id = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  // The crashed writer goes down next: its token's outcome answers it then.
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "nothing");
  EXPECT_FALSE(t.all_answered());
  EXPECT_EQ(t.unanswered_writes(), 1u);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=0");
}

TEST_F(RequestTable, OtherAnswerWithoutTokenSettlesOnlyOnceTheWriterIsDownAndASweepEnds) {
  auto id = t.add_write(spaces({0}), 0, "", "w1", now);
  t.owner_answered(id, owner_answer::other);
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(str(t.orphan_writes(0)), "");  // answered already: not again
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_EQ(str(t.end_sweep()), "");  // answered already: nothing held
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerWithTokenIsHeldUntilTheWriterIsDownAndASweepEnds) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now, 7);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "nothing");
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(str(t.orphan_writes(0)), "");  // held for its sweep, not answered
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(t.unanswered_writes(), 1u);
  EXPECT_EQ(str(t.end_sweep()), "w1:tok@0#7");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(t.held(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=0");  // not answered yet
  EXPECT_EQ(code_name(t.resolve_held(false, false)), "in_doubt");
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OwnerAnswerAfterTheWriteSettledReturnsNothing) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  t.owner_answered(id, owner_answer::committed);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::aborted)), "nothing");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=0");
}

// -- deadlines -------------------------------------------------------------------

TEST_F(RequestTable, DeadlineAnswersAWriteInDoubtAndKeepsItQueued) {
  t.add_write(spaces({0, 1}), 1, "tok", "w1", now);
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[w1:in_doubt@1]");
  // Its parts are still queued and may commit.
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, DeadlineIsInclusiveAndNotEarlier) {
  t.add_write(spaces({0}), 0, "", "w1", now);
  t.add_read(1, "r1", now);
  EXPECT_EQ(str(t.expire(deadline - milliseconds(1))), "reads[] writes[]");
  EXPECT_EQ(str(t.expire(deadline)), "reads[r1@1] writes[w1:in_doubt@0]");
  EXPECT_EQ(str(t.expire(deadline + timeout)), "reads[] writes[]");  // answered once
}

TEST_F(RequestTable, OwnerAnswerAfterTheDeadlineReturnsNothingButSettles) {
  auto id = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::committed)), "nothing");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, WriteAnsweredInDoubtIsNeverCountedNotAppliedLater) {
  auto expired = t.add_write(spaces({0}), 0, "a", "w1", now);
  auto orphaned = t.add_write(spaces({1}), 1, "", "w2", now + milliseconds(500));
  auto held = t.add_write(spaces({1}), 1, "d", "w4", now + milliseconds(500));
  auto cut = t.add_write(spaces({0}), 0, "c", "w3", now + milliseconds(900));
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[w1:in_doubt@0]");
  EXPECT_EQ(str(t.orphan_writes(1)), "w2:in_doubt@1");  // no token: at once
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w4:d@1#0");
  EXPECT_EQ(code_name(t.resolve_held(false, false)), "in_doubt");
  EXPECT_EQ(str(t.cut_off()), "reads[] writes[w3:in_doubt@0]");
  EXPECT_EQ(str(t.owner_answered(expired, owner_answer::aborted)), "nothing");
  EXPECT_EQ(str(t.owner_answered(orphaned, owner_answer::aborted)), "nothing");
  EXPECT_EQ(str(t.owner_answered(held, owner_answer::aborted)), "nothing");
  EXPECT_EQ(str(t.owner_answered(cut, owner_answer::aborted)), "nothing");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=4");
  EXPECT_EQ(writes_queued(t), "0 0");
}

TEST_F(RequestTable, OtherAnswerWithoutTokenAfterTheDeadlineStillDoesNotSettle) {
  auto id = t.add_write(spaces({0}), 0, "", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "nothing");
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerWithTokenAfterTheDeadlineStillDoesNotSettle) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "nothing");
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

// -- writer down: orphans and sweeps ---------------------------------------------

TEST_F(RequestTable, WriterDownAnswersItsWritesWithoutTokenInDoubtAndMakesThemOrphans) {
  t.add_write(spaces({0, 1}), 0, "", "w1", now);
  t.add_write(spaces({1}), 1, "", "w2", now);
  t.add_write(spaces({0}), 0, "", "w3", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0 w3:in_doubt@0");
  // The dead writer may have sealed them: unsettled until a sweep ends.
  EXPECT_EQ(writes_queued(t), "2 2");
  EXPECT_EQ(t.writes_in_flight(), 3u);
  EXPECT_TRUE(t.sweep_wanted());
  EXPECT_EQ(t.unanswered_writes(), 1u);  // w2, owned by the live writer
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=2");
}

TEST_F(RequestTable, WriterDownHoldsItsWritesWithTokenAndMakesThemOrphans) {
  t.add_write(spaces({0, 1}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.add_write(spaces({0}), 0, "c", "w3", now);
  t.add_write(spaces({0}), 0, "", "w4", now);
  // w1 and w3 wait for their sweep and their token's outcome.
  EXPECT_EQ(str(t.orphan_writes(0)), "w4:in_doubt@0");
  EXPECT_EQ(writes_queued(t), "3 2");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("c"));
  EXPECT_TRUE(t.sweep_wanted());
  EXPECT_EQ(t.unanswered_writes(), 3u);  // w1, w3 and w2 (owned by the live writer)
  EXPECT_EQ(t.held(), 0u);               // not before their sweep ends
  EXPECT_FALSE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OrphanWithoutTokenSettlesWhenASweepBegunAfterItEnds) {
  t.add_write(spaces({0, 1}), 0, "", "w1", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0");
  t.begin_sweep();
  EXPECT_FALSE(t.sweep_wanted());  // one is running
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_EQ(str(t.end_sweep()), "");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_TRUE(t.all_answered());
}

TEST_F(RequestTable, OrphanWithTokenIsHandedBackWhenASweepBegunAfterItEnds) {
  t.add_write(spaces({0, 1}), 0, "a", "w1", now, 3);
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  t.begin_sweep();
  EXPECT_FALSE(t.sweep_wanted());  // one is running
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#3");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(t.held(), 1u);
}

TEST_F(RequestTable, OrphanIsNotSettledByASweepThatBeganBeforeIt) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.orphan_writes(0);
  t.begin_sweep();
  t.orphan_writes(1);  // w2's writer dies while the sweep runs
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#0");
  EXPECT_EQ(writes_queued(t), "0 1");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("b"));
  EXPECT_EQ(t.unanswered_writes(), 1u);
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w2:b@1#0");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("b"));
  EXPECT_EQ(t.held(), 2u);
}

TEST_F(RequestTable, SweepWithNoOrphansSettlesNoLaterOrphan) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  EXPECT_FALSE(t.sweep_wanted());
  t.begin_sweep();
  t.orphan_writes(0);
  EXPECT_EQ(str(t.end_sweep()), "");
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(t.unanswered_writes(), 1u);
  EXPECT_TRUE(t.sweep_wanted());
}

TEST_F(RequestTable, BeginSweepDuringASweepIsANoOp) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.orphan_writes(0);
  t.begin_sweep();
  t.orphan_writes(1);  // after the sweep began: not covered by it
  t.begin_sweep();     // still the first sweep
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#0");  // w1 still covered, w2 not
  EXPECT_EQ(writes_queued(t), "0 1");
  EXPECT_TRUE(t.token_pending("b"));
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w2:b@1#0");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(t.held(), 2u);
}

TEST_F(RequestTable, WriterDownTwiceAnswersItsWritesWithoutTokenOnce) {
  t.add_write(spaces({0}), 0, "", "w1", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0");
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "");
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, WriterDownTwiceHoldsItsWritesWithTokenOnce) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#0");
  EXPECT_FALSE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "");  // handed back once
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(t.held(), 1u);
  t.resolve_held(false, false);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, ExpiredWriteOfADeadWriterIsSettledByTheSweep) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.orphan_writes(0)), "");  // answered by its deadline already
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "");  // answered already: not held
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
}

TEST_F(RequestTable, OwnerAnswerForAnOrphanWithoutTokenSettlesItBeforeTheSweep) {
  auto id = t.add_write(spaces({0}), 0, "", "w1", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0");
  // The dead writer's answer, sent before it died: the batch was aborted.
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::aborted)), "nothing");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(t.writes_in_flight(), 0u);
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "");  // finds nothing left to settle
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OwnerAnswerForAnOrphanWithTokenAnswersAndSettlesItBeforeTheSweep) {
  auto aborted = t.add_write(spaces({0}), 0, "a", "w1", now);
  auto acked = t.add_write(spaces({0}), 0, "b", "w2", now);
  auto failed = t.add_write(spaces({0}), 0, "c", "w3", now);
  auto crashed = t.add_write(spaces({0}), 0, "d", "w4", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  // The dead writer's answers, sent before it died (its down message came
  // first: CAF gives down messages priority here).
  EXPECT_EQ(str(t.owner_answered(aborted, owner_answer::aborted)), "w1:aborted");
  EXPECT_EQ(str(t.owner_answered(acked, owner_answer::committed)), "w2:ack");
  EXPECT_EQ(str(t.owner_answered(failed, owner_answer::in_doubt_final)), "w3:in_doubt");
  EXPECT_EQ(str(t.owner_answered(crashed, owner_answer::other)), "nothing");  // still held
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_FALSE(t.token_pending("b"));
  EXPECT_FALSE(t.token_pending("c"));
  EXPECT_TRUE(t.token_pending("d"));
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w4:d@0#0");  // only the one left
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=1 not_applied=1 in_doubt=1");
}

TEST_F(RequestTable, HasDeadlinesWhileAnOrphanWaitsForASweep) {
  EXPECT_FALSE(t.has_deadlines());
  t.add_write(spaces({0}), 0, "a", "w1", now);
  EXPECT_TRUE(t.has_deadlines());
  t.orphan_writes(0);
  t.expire(deadline);
  EXPECT_TRUE(t.has_deadlines());  // the orphan
  t.begin_sweep();
  EXPECT_TRUE(t.has_deadlines());  // the sweep
  t.end_sweep();
  EXPECT_FALSE(t.has_deadlines());
}

// -- held orphans ----------------------------------------------------------------

TEST_F(RequestTable, EndSweepHandsBackHeldOrphansWithTheirTokenAndAdmittedSeq) {
  t.add_write(spaces({0, 1}), 0, "a", "w1", now, 17);
  t.add_write(spaces({1}), 1, "b", "w2", now, 42);
  t.add_write(spaces({0}), 0, "", "w3", now, 43);
  EXPECT_EQ(str(t.orphan_writes(0)), "w3:in_doubt@0");
  EXPECT_EQ(str(t.orphan_writes(1)), "");
  t.add_write(spaces({0}), 0, "c", "w4", now, 50);  // for the restarted writer
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#17 w2:b@1#42");
  EXPECT_EQ(t.held(), 2u);
  EXPECT_EQ(writes_queued(t), "1 0");  // w4
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_FALSE(t.token_pending("b"));
  EXPECT_TRUE(t.token_pending("c"));
  EXPECT_EQ(t.unanswered_writes(), 1u);  // w4
  // A held orphan counts once resolve_held() decides its answer.
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, AllAnsweredIsFalseWhileAnOrphanIsHeld) {
  EXPECT_EQ(held_after_sweep("a", "w1").size(), 1u);
  EXPECT_EQ(t.unanswered_writes(), 0u);
  EXPECT_EQ(t.writes_in_flight(), 0u);  // settled
  EXPECT_EQ(t.held(), 1u);
  EXPECT_FALSE(t.all_answered());
  t.resolve_held(true, false);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
}

TEST_F(RequestTable, HeldOrphanIsAnsweredOnlyThroughResolveHeld) {
  auto id = t.add_write(spaces({0}), 0, "a", "w1", now);
  t.orphan_writes(0);
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w1:a@0#0");
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::aborted)), "nothing");
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[]");
  EXPECT_EQ(str(t.cut_off()), "reads[] writes[]");
  EXPECT_FALSE(t.all_answered());  // the caller still owes it its answer
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=0");
  EXPECT_EQ(code_name(t.resolve_held(true, false)), "ack");
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=0");
}

TEST_F(RequestTable, ResolveHeldCommittedAcksAndCountsCommitted) {
  EXPECT_EQ(str(held_after_sweep("a", "w1", 9)), "w1:a@0#9");
  EXPECT_EQ(code_name(t.resolve_held(true, false)), "ack");
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=0");
}

TEST_F(RequestTable, ResolveHeldNotCommittedAbortsAndCountsNotApplied) {
  EXPECT_EQ(str(held_after_sweep("a", "w1", 9)), "w1:a@0#9");
  // Its sweep ended: nothing can commit it any more.
  EXPECT_EQ(code_name(t.resolve_held(false, true)), "aborted");
  EXPECT_EQ(write_outcome_of(errc::aborted), write_outcome::not_applied);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=1 in_doubt=0");
}

TEST_F(RequestTable, ResolveHeldUnknownOutcomeIsInDoubt) {
  EXPECT_EQ(str(held_after_sweep("a", "w1", 9)), "w1:a@0#9");
  EXPECT_EQ(code_name(t.resolve_held(false, false)), "in_doubt");
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, ResolveHeldCountsEachHeldOrphanOnce) {
  for (int i = 1; i <= 3; ++i)
    t.add_write(spaces({0}), 0, "t" + std::to_string(i), "w" + std::to_string(i), now);
  t.orphan_writes(0);
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "w1:t1@0#0 w2:t2@0#0 w3:t3@0#0");
  EXPECT_EQ(t.held(), 3u);
  t.resolve_held(true, false);
  EXPECT_EQ(t.held(), 2u);
  EXPECT_FALSE(t.all_answered());
  t.resolve_held(false, true);
  EXPECT_EQ(t.held(), 1u);
  EXPECT_FALSE(t.all_answered());
  t.resolve_held(false, false);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=1 not_applied=1 in_doubt=1");
}

TEST_F(RequestTable, HoldSettlesAnUnansweredWriteWithTokenForItsLookup) {
  auto expired = t.add_write(spaces({1}), 1, "c", "w1", now);
  auto tokened = t.add_write(spaces({0, 1}), 0, "a", "w2", now + milliseconds(500), 11);
  auto plain = t.add_write(spaces({0}), 0, "", "w3", now + milliseconds(500));
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[w1:in_doubt@1]");
  EXPECT_FALSE(t.hold(plain));    // no token: the caller answers it in_doubt
  EXPECT_FALSE(t.hold(expired));  // answered already
  auto h = t.hold(tokened);
  ASSERT_TRUE(h);
  EXPECT_EQ(str(std::vector<table::held_orphan>{*h}), "w2:a@0#11");
  EXPECT_FALSE(t.hold(tokened));  // once
  EXPECT_EQ(str(t.owner_answered(tokened, owner_answer::in_doubt_final)), "nothing");
  EXPECT_EQ(writes_queued(t), "1 1");  // w1 and w3: w2 settled
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_EQ(t.held(), 1u);
  EXPECT_EQ(t.unanswered_writes(), 1u);  // w3
  EXPECT_EQ(str(t.owner_answered(plain, owner_answer::in_doubt_final)), "w3:in_doubt");
  EXPECT_FALSE(t.all_answered());  // w2 is held
  EXPECT_EQ(code_name(t.resolve_held(false, false)), "in_doubt");
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=3");
}

TEST_F(RequestTable, HeldOrphanPastItsDeadlineBeforeItsSweepEndsIsAnsweredInDoubtAndNotHeld) {
  t.add_write(spaces({0}), 0, "a", "w1", now, 5);
  t.add_write(spaces({0}), 0, "b", "w2", now + milliseconds(300), 6);
  t.add_write(spaces({0}), 0, "c", "w3", now + milliseconds(600), 7);
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[w1:in_doubt@0]");  // before the sweep
  t.begin_sweep();
  EXPECT_EQ(str(t.expire(deadline + milliseconds(300))), "reads[] writes[w2:in_doubt@0]");
  // Answered, not settled: the sweep still runs.
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("b"));
  EXPECT_EQ(writes_queued(t), "3 0");
  EXPECT_EQ(str(t.end_sweep()), "w3:c@0#7");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_FALSE(t.token_pending("b"));
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(t.held(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=2");
}

// -- shutdown --------------------------------------------------------------------

// A read whose deadline passed is answered timeout but keeps its slot until
// its reader answers (or dies): a reader stuck in the backend holds the
// request, so a hung disk cannot let reads pile up past reader.max-queued.
TEST_F(RequestTable, ExpiredReadKeepsItsSlotUntilItsReaderAnswers) {
  auto id = t.add_read(0, "r1", now);
  EXPECT_TRUE(t.has_read(id));
  EXPECT_EQ(str(t.expire(deadline)), "reads[r1@0] writes[]");
  EXPECT_FALSE(t.has_read(id));
  EXPECT_EQ(t.reads_queued(0), 1u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_FALSE(t.take_read(id).has_value());  // the reader's late answer: nobody waits
  EXPECT_EQ(t.reads_queued(0), 0u);
  EXPECT_EQ(t.reads_in_flight(), 0u);
}

TEST_F(RequestTable, CutOffAnswersEveryUnansweredReadAndWriteOnce) {
  t.add_read(0, "r1", now);
  t.add_read(1, "r2", now);
  t.add_write(spaces({0}), 0, "a", "w1", now);
  auto other = t.add_write(spaces({1}), 1, "", "w2", now);
  t.add_write(spaces({0, 1}), 0, "c", "w3", now);
  auto acked = t.add_write(spaces({1}), 1, "d", "w4", now);
  auto other_token = t.add_write(spaces({1}), 1, "e", "w5", now);
  t.owner_answered(other, owner_answer::other);        // answered in_doubt
  t.owner_answered(acked, owner_answer::committed);    // answered ack
  t.owner_answered(other_token, owner_answer::other);  // not answered
  EXPECT_FALSE(t.all_answered());
  EXPECT_EQ(str(t.cut_off()), "reads[r1@0 r2@1] writes[w1:in_doubt@0 w3:in_doubt@0 w5:in_doubt@1]");
  EXPECT_TRUE(t.all_answered());
  // The readers still hold the reads: their slots stay taken until they answer.
  EXPECT_EQ(t.reads_queued(0) + t.reads_queued(1), 2u);
  EXPECT_EQ(str(t.cut_off()), "reads[] writes[]");
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[]");
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=4");
}

TEST_F(RequestTable, CutOffAnswersOrphansWaitingForTheirSweepInDoubt) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.orphan_writes(0);
  t.begin_sweep();
  t.orphan_writes(1);  // for the next sweep
  EXPECT_FALSE(t.all_answered());
  EXPECT_EQ(str(t.cut_off()), "reads[] writes[w1:in_doubt@0 w2:in_doubt@1]");
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(writes_queued(t), "1 1");  // answered, not settled
  EXPECT_EQ(str(t.end_sweep()), "");   // nothing left to hold
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("b"));
  t.begin_sweep();
  EXPECT_EQ(str(t.end_sweep()), "");
  EXPECT_FALSE(t.token_pending("b"));
  EXPECT_EQ(t.held(), 0u);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=2");
}

TEST_F(RequestTable, CutOffWritesStayQueuedUntilTheirOwnerAnswers) {
  auto id = t.add_write(spaces({0, 1}), 0, "a", "w1", now);
  t.cut_off();
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::committed)), "nothing");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
}

// -- reads -----------------------------------------------------------------------

TEST_F(RequestTable, ReadIsAnsweredOnceByItsReaderOrItsDeadline) {
  auto r1 = t.add_read(0, "r1", now);
  auto r2 = t.add_read(1, "r2", now);
  EXPECT_EQ(t.reads_queued(0), 1u);
  EXPECT_EQ(t.reads_queued(1), 1u);
  auto taken = t.take_read(r1);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->first, 0u);
  EXPECT_EQ(taken->second, "r1");
  EXPECT_FALSE(t.has_read(r1));
  EXPECT_FALSE(t.take_read(r1));
  EXPECT_EQ(t.reads_queued(0), 0u);
  EXPECT_EQ(str(t.expire(deadline)), "reads[r2@1] writes[]");
  EXPECT_FALSE(t.take_read(r2));  // the reader answered too late
  EXPECT_EQ(t.reads_queued(1), 0u);
  EXPECT_EQ(t.reads_in_flight(), 0u);
}

// -- counters, tokens, drain -----------------------------------------------------

TEST_F(RequestTable, QueueCountersCountEverySpaceAWriteTouchesUntilItSettles) {
  auto both = t.add_write(spaces({0, 1}), 0, "", "w1", now);
  auto one = t.add_write(spaces({1}), 1, "", "w2", now);
  t.add_read(0, "r1", now);
  EXPECT_EQ(writes_queued(t), "1 2");
  EXPECT_EQ(t.reads_queued(0), 1u);
  EXPECT_EQ(t.reads_queued(1), 0u);
  t.owner_answered(one, owner_answer::committed);
  EXPECT_EQ(writes_queued(t), "1 1");
  t.owner_answered(both, owner_answer::in_doubt_final);
  EXPECT_EQ(writes_queued(t), "0 0");
}

TEST_F(RequestTable, TokenStaysPendingUntilEveryWriteCarryingItSettles) {
  auto first = t.add_write(spaces({0}), 0, "tok", "w1", now);
  auto retry = t.add_write(spaces({0}), 0, "tok", "w2", now);
  EXPECT_FALSE(t.token_pending("other"));
  EXPECT_FALSE(t.token_pending(""));
  t.owner_answered(first, owner_answer::in_doubt_final);
  EXPECT_TRUE(t.token_pending("tok"));
  t.owner_answered(retry, owner_answer::committed);
  EXPECT_FALSE(t.token_pending("tok"));
}

TEST_F(RequestTable, WriteWithoutTokenLeavesNoTokenPending) {
  t.add_write(spaces({0}), 0, "", "w1", now);
  EXPECT_FALSE(t.token_pending(""));
}

TEST_F(RequestTable, AllAnsweredWaitsForEveryReadAndWriteButNotForSettling) {
  EXPECT_TRUE(t.all_answered());
  auto r = t.add_read(0, "r1", now);
  auto w = t.add_write(spaces({0}), 0, "", "w1", now);
  auto tokened = t.add_write(spaces({0}), 0, "a", "w2", now);
  EXPECT_FALSE(t.all_answered());
  t.take_read(r);
  EXPECT_FALSE(t.all_answered());
  t.owner_answered(w, owner_answer::other);
  EXPECT_FALSE(t.all_answered());  // w2
  t.owner_answered(tokened, owner_answer::other);
  EXPECT_FALSE(t.all_answered());  // w2 waits for its sweep
  t.orphan_writes(0);
  t.begin_sweep();
  t.end_sweep();
  EXPECT_FALSE(t.all_answered());  // w2 is held
  t.resolve_held(false, false);
  EXPECT_TRUE(t.all_answered());
  t.add_write(spaces({0}), 0, "", "w3", now);
  EXPECT_FALSE(t.all_answered());
  t.expire(deadline);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(t.writes_in_flight(), 1u);  // w3: answered, not settled
}

TEST_F(RequestTable, CountsAddUpToTheWritesAnswered) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(t.add_write(spaces({0}), 0, "", "w" + std::to_string(i), now));
  for (int i = 7; i < 10; ++i)
    ids.push_back(
        t.add_write(spaces({1}), 1, "t" + std::to_string(i), "w" + std::to_string(i), now));
  t.owner_answered(ids[0], owner_answer::committed);
  t.owner_answered(ids[1], owner_answer::committed);
  t.owner_answered(ids[2], owner_answer::aborted);
  t.owner_answered(ids[3], owner_answer::aborted);
  t.owner_answered(ids[4], owner_answer::in_doubt_final);
  t.owner_answered(ids[5], owner_answer::other);
  t.owner_answered(ids[7], owner_answer::other);  // counts nothing yet
  EXPECT_EQ(counts(t), "committed=2 not_applied=2 in_doubt=2");
  t.orphan_writes(1);
  t.begin_sweep();
  EXPECT_EQ(t.end_sweep().size(), 3u);  // ids[7..9]
  EXPECT_EQ(counts(t), "committed=2 not_applied=2 in_doubt=2");
  t.resolve_held(true, false);
  t.resolve_held(false, true);
  t.resolve_held(false, false);
  EXPECT_EQ(counts(t), "committed=3 not_applied=3 in_doubt=3");
  t.cut_off();  // ids[6]
  EXPECT_EQ(counts(t), "committed=3 not_applied=3 in_doubt=4");
  const auto& c = t.counts();
  EXPECT_EQ(c.committed + c.not_applied + c.in_doubt, 10u);
}

// -- property: random sequences keep the invariants ------------------------------

/// How a write was answered, as the test expects it.
enum class answer_path {
  none,
  owner,        // the owner's ack, in_doubt or (without a token) other
  owner_abort,  // the owner's aborted part, or a part the store refused
  deadline,
  orphaned,  // its writer went down (no token)
  cut_off,
  resolved_committed,      // resolve_held(committed)
  resolved_not_committed,  // resolve_held(not committed)
  resolved_unknown,        // resolve_held(neither)
};

/// What the test expects of one write, derived from the rules, not the table.
struct model_write {
  std::string rp;
  uint64_t mask = 0;
  space_id owner = 0;
  std::string token;
  uint64_t admitted_seq = 0;
  clock_type::time_point deadline;
  bool owner_replied = false;
  bool orphan = false;
  size_t orphaned_at = 0;
  bool settled = false;
  bool held = false;  // handed back by end_sweep() or hold(), waiting for resolve_held()
  int answers = 0;
  std::optional<errc> code;
  answer_path path = answer_path::none;
};

/// What the test expects of one read.
struct model_read {
  std::string rp;
  space_id space = 0;
  clock_type::time_point deadline;
  bool reader_replied = false;
  int answers = 0;
};

TEST_F(RequestTable, RandomSequencesKeepTheInvariants) {
  constexpr size_t n_spaces = 3;
  const std::vector<std::string> tokens{"", "t1", "t2", "t3", "t4"};
  std::mt19937 rng{20261129};
  auto pick = [&rng](size_t n) { return std::uniform_int_distribution<size_t>{0, n - 1}(rng); };
  std::map<std::string, size_t> reached;  // how often each rule applied
  for (int run = 0; run < 40; ++run) {
    table tbl{n_spaces, timeout};
    auto clock_now = clock_type::now();
    auto expired_until = clock_now;  // expire() ran up to here
    std::map<uint64_t, model_write> writes;
    std::map<uint64_t, model_read> reads;
    std::map<std::string, uint64_t> id_of;        // promise -> id
    std::vector<table::held_orphan> handed_back;  // by end_sweep() or hold(), not resolved yet
    table::write_counts expected_counts;
    bool sweeping = false;
    size_t sweep_began_at = 0;

    auto deliver = [&](const std::string& rp, std::optional<errc> code, answer_path path) {
      auto& w = writes.at(id_of.at(rp));
      ++w.answers;
      w.code = code;
      w.path = path;
      if (!code)
        ++expected_counts.committed;
      else if (write_outcome_of(*code) == write_outcome::not_applied)
        ++expected_counts.not_applied;
      else
        ++expected_counts.in_doubt;
    };
    auto deliver_all = [&](const std::vector<table::write_answer>& ws, answer_path path) {
      for (const auto& a : ws) {
        EXPECT_EQ(a.code, errc::in_doubt);
        EXPECT_EQ(a.owner, writes.at(id_of.at(a.rp)).owner);
        deliver(a.rp, a.code, path);
      }
    };
    auto answer_reads = [&](const std::vector<std::pair<space_id, std::string>>& rs) {
      for (const auto& [space, rp] : rs) {
        auto& r = reads.at(id_of.at(rp));
        EXPECT_EQ(space, r.space);
        ++r.answers;
      }
    };
    // What the table must answer in_doubt itself: the writes for which `pred`
    // holds, rendered like str(write_answers).
    auto in_doubt_of = [&](auto pred) {
      std::string out;
      for (const auto& [id, w] : writes)
        if (pred(w))
          out += (out.empty() ? "" : " ") + w.rp + ":in_doubt@" + std::to_string(w.owner);
      return out;
    };
    auto reads_of = [&](auto pred) {
      std::string out;
      for (const auto& [id, r] : reads)
        if (pred(r)) out += (out.empty() ? "" : " ") + r.rp + "@" + std::to_string(r.space);
      return out;
    };

    for (size_t step = 1; step <= 400; ++step) {
      SCOPED_TRACE("run " + std::to_string(run) + " step " + std::to_string(step));
      auto action = pick(100);
      if (action < 30) {
        uint64_t mask = pick(uint64_t{1} << n_spaces);
        auto owner = static_cast<space_id>(pick(n_spaces));
        mask |= uint64_t{1} << owner;
        auto rp = "w" + std::to_string(step);
        auto tok = tokens[pick(tokens.size())];
        uint64_t seq = pick(1000);
        auto id = tbl.add_write(mask, owner, tok, rp, clock_now, seq);
        auto& w = writes[id];
        w.rp = rp;
        w.mask = mask;
        w.owner = owner;
        w.token = tok;
        w.admitted_seq = seq;
        w.deadline = clock_now + timeout;
        id_of[rp] = id;
      } else if (action < 38) {
        auto space = static_cast<space_id>(pick(n_spaces));
        auto rp = "r" + std::to_string(step);
        auto id = tbl.add_read(space, rp, clock_now);
        auto& r = reads[id];
        r.rp = rp;
        r.space = space;
        r.deadline = clock_now + timeout;
        id_of[rp] = id;
      } else if (action < 43 && !reads.empty()) {
        // The reader answers once, maybe after the deadline did.
        auto i = std::next(reads.begin(), static_cast<long>(pick(reads.size())));
        if (!i->second.reader_replied) {
          i->second.reader_replied = true;
          bool expect_answer = i->second.answers == 0;
          EXPECT_EQ(tbl.has_read(i->first), expect_answer);
          auto r = tbl.take_read(i->first);
          EXPECT_EQ(r.has_value(), expect_answer);
          if (r) answer_reads({std::move(*r)});
        }
      } else if (action < 64 && !writes.empty()) {
        // The owner answers once, whatever happened to the write before.
        auto i = std::next(writes.begin(), static_cast<long>(pick(writes.size())));
        auto id = i->first;
        auto& w = i->second;
        if (!w.owner_replied) {
          w.owner_replied = true;
          auto a = static_cast<owner_answer>(pick(5));
          // Like the manager, an in_doubt answer may first hold a write with
          // a token for its token's lookup (nothing can commit it any more).
          bool held_now = false;
          if (a == owner_answer::in_doubt_final && pick(2) == 0) {
            bool expect_hold = !w.settled && w.answers == 0 && !w.token.empty();
            auto h = tbl.hold(id);
            EXPECT_EQ(h.has_value(), expect_hold);
            if (h) {
              EXPECT_EQ(str(std::vector<table::held_orphan>{*h}),
                        w.rp + ":" + w.token + "@" + std::to_string(w.owner) + "#" +
                            std::to_string(w.admitted_seq));
              w.held = true;
              w.settled = true;
              held_now = true;
              handed_back.push_back(std::move(*h));
              ++reached["hold"];
            }
          }
          if (!held_now) {
            // A write with a token whose writer crashed waits for its sweep.
            bool waits = a == owner_answer::other && !w.token.empty();
            bool expect_answer = !w.settled && w.answers == 0 && !waits;
            if (w.answers != 0) ++reached["owner answer after the write was answered"];
            if (waits && !w.settled && w.answers == 0) ++reached["other with a token"];
            if (expect_answer && w.orphan && !w.token.empty())
              ++reached["owner answers an orphan with a token"];
            auto r = tbl.owner_answered(id, a);
            EXPECT_EQ(r.has_value(), expect_answer);
            if (r) {
              EXPECT_EQ(id_of.at(r->first), id);
              std::optional<errc> want;
              if (a == owner_answer::aborted)
                want = errc::aborted;
              else if (a == owner_answer::refused)
                want = errc::no_space;
              else if (a == owner_answer::in_doubt_final || a == owner_answer::other)
                want = errc::in_doubt;
              EXPECT_EQ(code_name(r->second), code_name(want));
              bool abort = a == owner_answer::aborted || a == owner_answer::refused;
              deliver(r->first, r->second, abort ? answer_path::owner_abort : answer_path::owner);
            }
            if (a != owner_answer::other) w.settled = true;
          }
        }
      } else if (action < 76) {
        clock_now += milliseconds(pick(400));
        // Exactly the unanswered requests whose deadline passed, in admission order.
        auto want_reads = reads_of(
            [&](const model_read& r) { return r.answers == 0 && r.deadline <= clock_now; });
        auto want_writes = in_doubt_of([&](const model_write& w) {
          return w.answers == 0 && !w.held && w.deadline <= clock_now;
        });
        for (const auto& [id, w] : writes)
          if (w.answers == 0 && !w.held && w.deadline <= clock_now && sweeping && w.orphan &&
              !w.token.empty() && w.orphaned_at < sweep_began_at)
            ++reached["orphan with a token past its deadline during its sweep"];
        auto o = tbl.expire(clock_now);
        expired_until = clock_now;
        EXPECT_EQ(str(o), "reads[" + want_reads + "] writes[" + want_writes + "]");
        if (!o.writes.empty()) ++reached["deadline"];
        answer_reads(o.reads);
        deliver_all(o.writes, answer_path::deadline);
      } else if (action < 82) {
        auto s = static_cast<space_id>(pick(n_spaces));
        // Only the unanswered ones without a token are answered at once.
        auto want = in_doubt_of([&](const model_write& w) {
          return w.owner == s && !w.settled && !w.orphan && w.answers == 0 && w.token.empty();
        });
        auto got = tbl.orphan_writes(s);
        EXPECT_EQ(str(got), want);
        deliver_all(got, answer_path::orphaned);
        for (auto& [id, w] : writes)
          if (w.owner == s && !w.settled && !w.orphan) {
            w.orphan = true;
            w.orphaned_at = step;
            if (sweeping) ++reached["orphan during a sweep"];
            if (w.answers == 0 && !w.token.empty()) ++reached["orphan waits for its sweep"];
          }
      } else if (action < 91) {
        if (sweeping && pick(4) == 0) {
          tbl.begin_sweep();  // one sweep at a time: changes nothing
          ++reached["begin during a sweep"];
        } else if (sweeping) {
          // The sweep hands back the orphans it covers that are still
          // unanswered, in the order they became orphans.
          std::vector<std::pair<size_t, uint64_t>> covered;
          for (const auto& [id, w] : writes)
            if (w.orphan && w.orphaned_at < sweep_began_at && !w.settled && w.answers == 0)
              covered.emplace_back(w.orphaned_at, id);
          std::sort(covered.begin(), covered.end());
          std::string want;
          for (const auto& [at, id] : covered) {
            const auto& w = writes.at(id);
            EXPECT_FALSE(w.token.empty()) << "write " << id;
            want += (want.empty() ? "" : " ") + w.rp + ":" + w.token + "@" +
                    std::to_string(w.owner) + "#" + std::to_string(w.admitted_seq);
          }
          auto held = tbl.end_sweep();
          EXPECT_EQ(str(held), want);
          sweeping = false;
          ++reached["sweep"];
          for (auto& [id, w] : writes)
            if (w.orphan && w.orphaned_at < sweep_began_at) w.settled = true;
          for (const auto& [at, id] : covered) writes.at(id).held = true;
          for (auto& h : held) {
            ++reached["held"];
            handed_back.push_back(std::move(h));
          }
        } else if (tbl.sweep_wanted()) {
          tbl.begin_sweep();
          sweeping = true;
          sweep_began_at = step;
        }
      } else if (action < 97) {
        if (!handed_back.empty()) {
          // The token's outcome: committed, not committed, or unknown.
          auto k = pick(handed_back.size());
          auto h = std::move(handed_back[k]);
          handed_back.erase(handed_back.begin() + static_cast<long>(k));
          auto outcome = pick(3);
          auto code = tbl.resolve_held(outcome == 0, outcome == 1);
          std::optional<errc> want;
          auto path = answer_path::resolved_committed;
          if (outcome == 1) {
            want = errc::aborted;
            path = answer_path::resolved_not_committed;
          } else if (outcome == 2) {
            want = errc::in_doubt;
            path = answer_path::resolved_unknown;
          }
          EXPECT_EQ(code_name(code), code_name(want));
          auto& w = writes.at(id_of.at(h.rp));
          EXPECT_TRUE(w.held) << h.rp;
          w.held = false;
          deliver(h.rp, code, path);
          ++reached[outcome == 0   ? "resolved committed"
                    : outcome == 1 ? "resolved not committed"
                                   : "resolved unknown"];
        }
      } else if (action < 99) {
        ++reached["cut-off"];
        if (!handed_back.empty()) ++reached["cut-off while orphans are held"];
        auto want_reads = reads_of([](const model_read& r) { return r.answers == 0; });
        auto want_writes =
            in_doubt_of([](const model_write& w) { return w.answers == 0 && !w.held; });
        for (const auto& [id, w] : writes)
          if (w.answers == 0 && !w.held && w.orphan && !w.token.empty())
            ++reached["cut-off of an orphan with a token"];
        auto o = tbl.cut_off();
        EXPECT_EQ(str(o), "reads[" + want_reads + "] writes[" + want_writes + "]");
        answer_reads(o.reads);
        deliver_all(o.writes, answer_path::cut_off);
        // Everything is answered but the held orphans the caller resolves.
        EXPECT_EQ(tbl.all_answered(), handed_back.empty());
      }

      // Every request is answered at most once.
      size_t unanswered_reads = 0;
      for (size_t s = 0; s < n_spaces; ++s) {
        // A read holds its slot until its reader answered, also after its
        // client was answered at the deadline or cut-off.
        uint64_t queued = 0;
        for (const auto& [id, r] : reads)
          if (r.space == s && !r.reader_replied) ++queued;
        EXPECT_EQ(tbl.reads_queued(static_cast<space_id>(s)), queued) << "space " << s;
      }
      for (const auto& [id, r] : reads) {
        EXPECT_LE(r.answers, 1) << "read " << id;
        if (r.answers == 0) ++unanswered_reads;
      }
      for (const auto& [id, w] : writes) {
        EXPECT_LE(w.answers, 1) << "write " << id;
        // Held: settled, carries a token, not answered yet.
        EXPECT_TRUE(!w.held || (w.settled && !w.token.empty() && w.answers == 0)) << "write " << id;
        // An orphan with a token is never answered for its writer's death.
        EXPECT_TRUE(w.path != answer_path::orphaned || w.token.empty()) << "write " << id;
        // "Not applied" only through the owner's aborted part or a
        // token found not committed after the sweep, never while it can commit.
        if (w.code && write_outcome_of(*w.code) == write_outcome::not_applied) {
          EXPECT_TRUE(w.path == answer_path::owner_abort ||
                      w.path == answer_path::resolved_not_committed)
              << "write " << id;
          EXPECT_TRUE(w.settled) << "write " << id;
          ++reached[w.path == answer_path::owner_abort ? "not applied"
                                                       : "not applied via resolve_held"];
        }
      }
      // The queue counters count exactly the unsettled writes.
      for (size_t s = 0; s < n_spaces; ++s) {
        uint64_t queued = 0;
        for (const auto& [id, w] : writes)
          if (!w.settled && ((w.mask >> s) & 1u)) ++queued;
        EXPECT_EQ(tbl.writes_queued(static_cast<space_id>(s)), queued) << "space " << s;
      }
      size_t unsettled = 0;
      size_t unanswered_writes = 0;
      bool orphans_waiting = false;  // orphans no sweep began after
      bool deadlines_pending = false;
      for (const auto& [id, w] : writes) {
        if (!w.settled) ++unsettled;
        if (w.answers == 0 && !w.held) ++unanswered_writes;
        if (w.orphan && w.orphaned_at > sweep_began_at) orphans_waiting = true;
        if (w.deadline > expired_until) deadlines_pending = true;
      }
      for (const auto& [id, r] : reads)
        if (r.deadline > expired_until) deadlines_pending = true;
      EXPECT_EQ(tbl.writes_in_flight(), unsettled);
      EXPECT_EQ(tbl.unanswered_writes(), unanswered_writes);
      EXPECT_EQ(tbl.held(), handed_back.size());
      EXPECT_EQ(tbl.all_answered(),
                unanswered_reads == 0 && unanswered_writes == 0 && handed_back.empty());
      EXPECT_EQ(tbl.sweep_wanted(), orphans_waiting && !sweeping);
      EXPECT_EQ(tbl.has_deadlines(), deadlines_pending || orphans_waiting || sweeping);
      // A token is pending exactly while an unsettled write carries it.
      for (const auto& tok : tokens) {
        bool carried = std::any_of(writes.begin(), writes.end(), [&tok](const auto& kv) {
          return !kv.second.settled && !tok.empty() && kv.second.token == tok;
        });
        EXPECT_EQ(tbl.token_pending(tok), carried) << "token '" << tok << "'";
      }
      // The counters count each answer by its outcome.
      const auto& c = tbl.counts();
      EXPECT_EQ(c.committed, expected_counts.committed);
      EXPECT_EQ(c.not_applied, expected_counts.not_applied);
      EXPECT_EQ(c.in_doubt, expected_counts.in_doubt);
      if (::testing::Test::HasFailure()) return;  // one report, not thousands
    }
  }
  // The sequences reached every rule.
  for (const char* rule :
       {"deadline", "sweep", "orphan during a sweep", "cut-off", "not applied",
        "owner answer after the write was answered", "other with a token",
        "owner answers an orphan with a token", "orphan waits for its sweep", "held",
        "begin during a sweep", "resolved committed", "resolved not committed", "resolved unknown",
        "not applied via resolve_held", "orphan with a token past its deadline during its sweep",
        "cut-off while orphans are held", "cut-off of an orphan with a token"})
    EXPECT_GT(reached[rule], 0u) << rule;
}

}  // namespace
}  // namespace vstore
