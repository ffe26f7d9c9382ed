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

TEST_F(RequestTable, BouncedPartAnswersAbortedAndSettles) {
  auto id = t.add_write(spaces({1}), 1, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::bounced)), "w1:aborted");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_EQ(counts(t), "committed=0 not_applied=1 in_doubt=0");
}

TEST_F(RequestTable, OwnerInDoubtAnswersInDoubtAndSettles) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::in_doubt_final)), "w1:in_doubt");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerIsInDoubtAndDoesNotSettle) {
  auto id = t.add_write(spaces({0, 1}), 0, "tok", "w1", now);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "w1:in_doubt");
  // Answered, but the crashed writer may have sealed it: still queued.
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("tok"));
  EXPECT_EQ(t.writes_in_flight(), 1u);
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, OtherAnswerSettlesOnlyOnceTheWriterIsDownAndASweepEnds) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  t.owner_answered(id, owner_answer::other);
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(str(t.orphan_writes(0)), "");  // answered already: not again
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  EXPECT_TRUE(t.token_pending("tok"));
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("tok"));
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
  auto orphaned = t.add_write(spaces({1}), 1, "b", "w2", now + milliseconds(500));
  auto cut = t.add_write(spaces({0}), 0, "c", "w3", now + milliseconds(900));
  t.expire(deadline);  // w1
  t.orphan_writes(1);  // w2
  t.cut_off();         // w3
  EXPECT_EQ(str(t.owner_answered(expired, owner_answer::aborted)), "nothing");
  EXPECT_EQ(str(t.owner_answered(orphaned, owner_answer::bounced)), "nothing");
  EXPECT_EQ(str(t.owner_answered(cut, owner_answer::aborted)), "nothing");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=3");
  EXPECT_EQ(writes_queued(t), "0 0");
}

TEST_F(RequestTable, OtherAnswerAfterTheDeadlineStillDoesNotSettle) {
  auto id = t.add_write(spaces({0}), 0, "tok", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::other)), "nothing");
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_TRUE(t.token_pending("tok"));
}

// -- writer down: orphans and sweeps ---------------------------------------------

TEST_F(RequestTable, WriterDownAnswersItsWritesInDoubtAndMakesThemOrphans) {
  t.add_write(spaces({0, 1}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.add_write(spaces({0}), 0, "c", "w3", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0 w3:in_doubt@0");
  // The dead writer may have sealed them: unsettled until a sweep ends.
  EXPECT_EQ(writes_queued(t), "2 2");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("c"));
  EXPECT_TRUE(t.sweep_wanted());
  EXPECT_EQ(t.unanswered_writes(), 1u);  // w2, owned by the live writer
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=2");
}

TEST_F(RequestTable, OrphanSettlesWhenASweepBegunAfterItEnds) {
  t.add_write(spaces({0, 1}), 0, "a", "w1", now);
  t.orphan_writes(0);
  t.begin_sweep();
  EXPECT_FALSE(t.sweep_wanted());  // one is running
  EXPECT_EQ(writes_queued(t), "1 1");
  EXPECT_TRUE(t.token_pending("a"));
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_EQ(t.writes_in_flight(), 0u);
  EXPECT_FALSE(t.sweep_wanted());
}

TEST_F(RequestTable, OrphanIsNotSettledByASweepThatBeganBeforeIt) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.add_write(spaces({1}), 1, "b", "w2", now);
  t.orphan_writes(0);
  t.begin_sweep();
  t.orphan_writes(1);  // w2's writer dies while the sweep runs
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "0 1");
  EXPECT_FALSE(t.token_pending("a"));
  EXPECT_TRUE(t.token_pending("b"));
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("b"));
}

TEST_F(RequestTable, SweepWithNoOrphansSettlesNoLaterOrphan) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  EXPECT_FALSE(t.sweep_wanted());
  t.begin_sweep();
  t.orphan_writes(0);
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "1 0");
  EXPECT_TRUE(t.token_pending("a"));
  EXPECT_TRUE(t.sweep_wanted());
}

TEST_F(RequestTable, WriterDownTwiceAnswersItsWritesOnce) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  EXPECT_EQ(str(t.orphan_writes(0)), "w1:in_doubt@0");
  EXPECT_EQ(str(t.orphan_writes(0)), "");
  t.begin_sweep();
  t.end_sweep();
  EXPECT_FALSE(t.sweep_wanted());
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
}

TEST_F(RequestTable, ExpiredWriteOfADeadWriterIsSettledByTheSweep) {
  t.add_write(spaces({0}), 0, "a", "w1", now);
  t.expire(deadline);
  EXPECT_EQ(str(t.orphan_writes(0)), "");  // answered by its deadline already
  EXPECT_TRUE(t.sweep_wanted());
  t.begin_sweep();
  t.end_sweep();
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
}

TEST_F(RequestTable, OwnerAnswerForAnOrphanSettlesItBeforeTheSweep) {
  auto id = t.add_write(spaces({0}), 0, "a", "w1", now);
  t.orphan_writes(0);
  // The part bounced off the dead writer's mailbox: it can never commit.
  EXPECT_EQ(str(t.owner_answered(id, owner_answer::bounced)), "nothing");
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_FALSE(t.token_pending("a"));
  t.begin_sweep();
  t.end_sweep();  // finds nothing left to settle
  EXPECT_EQ(writes_queued(t), "0 0");
  EXPECT_EQ(counts(t), "committed=0 not_applied=0 in_doubt=1");
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

// -- shutdown --------------------------------------------------------------------

TEST_F(RequestTable, CutOffAnswersEveryUnansweredReadAndWriteOnce) {
  t.add_read(0, "r1", now);
  t.add_read(1, "r2", now);
  t.add_write(spaces({0}), 0, "a", "w1", now);
  auto other = t.add_write(spaces({1}), 1, "b", "w2", now);
  t.add_write(spaces({0, 1}), 0, "c", "w3", now);
  auto acked = t.add_write(spaces({1}), 1, "d", "w4", now);
  t.owner_answered(other, owner_answer::other);
  t.owner_answered(acked, owner_answer::committed);
  EXPECT_FALSE(t.all_answered());
  EXPECT_EQ(str(t.cut_off()), "reads[r1@0 r2@1] writes[w1:in_doubt@0 w3:in_doubt@0]");
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(t.reads_queued(0) + t.reads_queued(1), 0u);
  EXPECT_EQ(str(t.cut_off()), "reads[] writes[]");
  EXPECT_EQ(str(t.expire(deadline)), "reads[] writes[]");
  EXPECT_EQ(counts(t), "committed=1 not_applied=0 in_doubt=3");
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
  EXPECT_FALSE(t.all_answered());
  t.take_read(r);
  EXPECT_FALSE(t.all_answered());
  t.owner_answered(w, owner_answer::other);
  EXPECT_TRUE(t.all_answered());
  EXPECT_EQ(t.writes_in_flight(), 1u);
}

TEST_F(RequestTable, CountsAddUpToTheWritesAnswered) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(t.add_write(spaces({0}), 0, "", "w" + std::to_string(i), now));
  t.owner_answered(ids[0], owner_answer::committed);
  t.owner_answered(ids[1], owner_answer::committed);
  t.owner_answered(ids[2], owner_answer::aborted);
  t.owner_answered(ids[3], owner_answer::bounced);
  t.owner_answered(ids[4], owner_answer::in_doubt_final);
  t.owner_answered(ids[5], owner_answer::other);
  EXPECT_EQ(counts(t), "committed=2 not_applied=2 in_doubt=2");
  t.cut_off();  // ids[6]
  EXPECT_EQ(counts(t), "committed=2 not_applied=2 in_doubt=3");
  const auto& c = t.counts();
  EXPECT_EQ(c.committed + c.not_applied + c.in_doubt, 7u);
}

// -- property: random sequences keep the invariants ------------------------------

/// What the test expects of one write, derived from the rules, not the table.
struct model_write {
  uint64_t mask = 0;
  space_id owner = 0;
  std::string token;
  bool owner_replied = false;
  bool orphan = false;
  size_t orphaned_at = 0;
  bool settled = false;
  int answers = 0;
  std::optional<errc> code;
  bool via_abort = false;  // answered through the owner's aborted or bounced part
};

/// What the test expects of one read.
struct model_read {
  space_id space = 0;
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
    std::map<uint64_t, model_write> writes;
    std::map<uint64_t, model_read> reads;
    std::map<std::string, uint64_t> id_of;  // promise -> id
    table::write_counts expected_counts;
    bool sweeping = false;
    size_t sweep_began_at = 0;

    auto deliver = [&](const std::string& rp, std::optional<errc> code, bool via_abort) {
      auto& w = writes.at(id_of.at(rp));
      ++w.answers;
      w.code = code;
      w.via_abort = via_abort;
      if (!code)
        ++expected_counts.committed;
      else if (write_outcome_of(*code) == write_outcome::not_applied)
        ++expected_counts.not_applied;
      else
        ++expected_counts.in_doubt;
    };
    auto deliver_all = [&](const std::vector<table::write_answer>& ws) {
      for (const auto& a : ws) {
        EXPECT_EQ(a.code, errc::in_doubt);
        EXPECT_EQ(a.owner, writes.at(id_of.at(a.rp)).owner);
        deliver(a.rp, a.code, false);
      }
    };
    auto answer_reads = [&](const std::vector<std::pair<space_id, std::string>>& rs) {
      for (const auto& [space, rp] : rs) {
        auto& r = reads.at(id_of.at(rp));
        EXPECT_EQ(space, r.space);
        ++r.answers;
      }
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
        auto id = tbl.add_write(mask, owner, tok, rp, clock_now);
        auto& w = writes[id];
        w.mask = mask;
        w.owner = owner;
        w.token = tok;
        id_of[rp] = id;
      } else if (action < 38) {
        auto space = static_cast<space_id>(pick(n_spaces));
        auto rp = "r" + std::to_string(step);
        auto id = tbl.add_read(space, rp, clock_now);
        reads[id].space = space;
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
      } else if (action < 68 && !writes.empty()) {
        // The owner answers once, whatever happened to the write before.
        auto i = std::next(writes.begin(), static_cast<long>(pick(writes.size())));
        auto id = i->first;
        auto& w = i->second;
        if (!w.owner_replied) {
          w.owner_replied = true;
          auto a = static_cast<owner_answer>(pick(5));
          bool expect_answer = w.answers == 0;
          if (!expect_answer) ++reached["owner answer after the write was answered"];
          auto r = tbl.owner_answered(id, a);
          EXPECT_EQ(r.has_value(), expect_answer);
          if (r) {
            EXPECT_EQ(id_of.at(r->first), id);
            bool via_abort = a == owner_answer::aborted || a == owner_answer::bounced;
            deliver(r->first, r->second, via_abort);
          }
          if (a != owner_answer::other) w.settled = true;
        }
      } else if (action < 80) {
        clock_now += milliseconds(pick(400));
        auto o = tbl.expire(clock_now);
        if (!o.writes.empty()) ++reached["deadline"];
        answer_reads(o.reads);
        deliver_all(o.writes);
      } else if (action < 86) {
        auto s = static_cast<space_id>(pick(n_spaces));
        deliver_all(tbl.orphan_writes(s));
        for (auto& [id, w] : writes)
          if (w.owner == s && !w.settled && !w.orphan) {
            w.orphan = true;
            w.orphaned_at = step;
            if (sweeping) ++reached["orphan during a sweep"];
          }
      } else if (action < 95) {
        if (sweeping) {
          tbl.end_sweep();
          sweeping = false;
          ++reached["sweep"];
          for (auto& [id, w] : writes)
            if (w.orphan && w.orphaned_at < sweep_began_at) w.settled = true;
        } else if (tbl.sweep_wanted()) {
          tbl.begin_sweep();
          sweeping = true;
          sweep_began_at = step;
        }
      } else if (action < 97) {
        ++reached["cut-off"];
        auto o = tbl.cut_off();
        answer_reads(o.reads);
        deliver_all(o.writes);
        EXPECT_TRUE(tbl.all_answered());
      }

      // Every request is answered at most once.
      size_t unanswered_reads = 0;
      for (size_t s = 0; s < n_spaces; ++s) {
        uint64_t queued = 0;
        for (const auto& [id, r] : reads)
          if (r.space == s && r.answers == 0) ++queued;
        EXPECT_EQ(tbl.reads_queued(static_cast<space_id>(s)), queued) << "space " << s;
      }
      for (const auto& [id, r] : reads) {
        EXPECT_LE(r.answers, 1) << "read " << id;
        if (r.answers == 0) ++unanswered_reads;
      }
      for (const auto& [id, w] : writes) {
        EXPECT_LE(w.answers, 1) << "write " << id;
        // "Not applied" only through the owner's aborted or bounced part.
        if (w.code && write_outcome_of(*w.code) == write_outcome::not_applied) {
          EXPECT_TRUE(w.via_abort) << "write " << id;
          ++reached["not applied"];
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
      for (const auto& [id, w] : writes) {
        if (!w.settled) ++unsettled;
        if (w.answers == 0) ++unanswered_writes;
      }
      EXPECT_EQ(tbl.writes_in_flight(), unsettled);
      EXPECT_EQ(tbl.unanswered_writes(), unanswered_writes);
      EXPECT_EQ(tbl.all_answered(), unanswered_reads == 0 && unanswered_writes == 0);
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
  for (const char* rule : {"deadline", "sweep", "orphan during a sweep", "cut-off", "not applied",
                           "owner answer after the write was answered"})
    EXPECT_GT(reached[rule], 0u) << rule;
}

}  // namespace
}  // namespace vstore
