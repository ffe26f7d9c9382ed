// The linearizability checker (tests/support/history.hpp) on hand-made
// histories: what it must accept, and the violations it must report (each one
// checked to be reported, with the key and the ops involved).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>

#include "tests/support/history.hpp"

namespace vstore::test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

const std::optional<std::string> absent;

history_op write(int client, std::optional<std::string> v, uint64_t invoked, uint64_t completed,
                 op_result r = op_result::ok, std::string key = "k") {
  return history_op{client, std::move(key), register_op::write, std::move(v), invoked, completed,
                    r};
}

history_op read(int client, std::optional<std::string> v, uint64_t invoked, uint64_t completed,
                std::string key = "k", op_result r = op_result::ok) {
  return history_op{client, std::move(key), register_op::read, std::move(v), invoked, completed, r};
}

/// Checks `h` and expects it accepted.
void expect_ok(const std::vector<history_op>& h) {
  auto res = check_history(h);
  EXPECT_EQ(res.result, verdict::ok) << res.to_string();
}

/// Checks `h`, expects a violation on `key` naming op `culprit` (an index
/// into h), and returns the explanation.
std::string expect_violation(const std::vector<history_op>& h, size_t culprit,
                             const std::string& key = "k") {
  auto res = check_history(h);
  EXPECT_EQ(res.result, verdict::violation) << res.to_string();
  for (auto& k : res.keys) {
    if (k.key != key) continue;
    EXPECT_EQ(k.result, verdict::violation) << k.explanation;
    EXPECT_THAT(k.involved, Contains(culprit)) << k.explanation;
    EXPECT_THAT(k.explanation, HasSubstr("key " + key)) << k.explanation;
    return k.explanation;
  }
  ADD_FAILURE() << "key " << key << " not checked";
  return {};
}

TEST(History, EmptyHistoryIsAccepted) {
  auto res = check_history({});
  EXPECT_EQ(res.result, verdict::ok);
  EXPECT_TRUE(res.keys.empty());
}

TEST(History, SequentialHistoryIsAccepted) {
  expect_ok({read(1, absent, 1, 2), write(1, "a", 3, 4), read(2, "a", 5, 6), write(2, "b", 7, 8),
             read(1, "b", 9, 10), read(3, "b", 11, 12), write(3, absent, 13, 14),
             read(1, absent, 15, 16)});
}

TEST(History, ConcurrentOverlappingWritesAreAcceptedInEitherOrder) {
  // a and b overlap: either may take effect last, and a read concurrent with
  // both may see the initial value, a, or b.
  for (const char* last : {"a", "b"})
    expect_ok(
        {write(1, "a", 1, 10), write(2, "b", 2, 9), read(3, last, 11, 12), read(4, last, 13, 14)});
  for (std::optional<std::string> seen :
       {absent, std::optional<std::string>{"a"}, std::optional<std::string>{"b"}})
    expect_ok({write(1, "a", 1, 10), write(2, "b", 2, 9), read(3, seen, 3, 8)});
  // Two readers during the overlap may see the two orders' intermediate
  // values, as long as a later reader agrees with one order: b then a.
  expect_ok({write(1, "a", 1, 10), write(2, "b", 2, 9), read(3, "b", 3, 5), read(4, "a", 6, 8),
             read(3, "a", 11, 12)});
}

TEST(History, EqualTimesCountAsConcurrent) {
  // The read was invoked at the tick the write completed: either order.
  expect_ok({write(1, "a", 1, 5), read(2, absent, 5, 6)});
  expect_ok({write(1, "a", 1, 5), read(2, "a", 5, 6)});
}

TEST(History, StaleReadAfterACompletedWriteIsAViolation) {
  std::vector<history_op> h{write(1, "a", 1, 2), write(2, "b", 3, 4), read(3, "a", 5, 6)};
  auto why = expect_violation(h, 2);
  EXPECT_THAT(why, HasSubstr("'b'"));  // what the register held
  EXPECT_THAT(why, HasSubstr("read -> 'a'"));
}

TEST(History, ReadOfAbsentAfterACompletedWriteIsAViolation) {
  expect_violation({write(1, "a", 1, 2), read(2, absent, 3, 4)}, 1);
}

TEST(History, ReadOfAValueNeverWrittenIsAViolation) {
  auto why = expect_violation({write(1, "a", 1, 2), read(2, "z", 3, 4)}, 1);
  EXPECT_THAT(why, HasSubstr("no write wrote"));
}

TEST(History, ReadOfAValueWrittenOnlyLaterIsAViolation) {
  auto why = expect_violation({read(2, "a", 1, 2), write(1, "a", 3, 4)}, 0);
  EXPECT_THAT(why, HasSubstr("invoked after the read completed"));
}

TEST(History, ReadOfAFailedWriteIsAViolation) {
  std::vector<history_op> h{write(1, "a", 1, 2), write(2, "b", 3, 4, op_result::failed),
                            read(3, "b", 5, 6)};
  auto why = expect_violation(h, 2);
  EXPECT_THAT(why, HasSubstr("failed"));
  EXPECT_THAT(check_history(h).keys.front().involved, Contains(size_t{1}));
  // The same history with the write in doubt is fine.
  h[1].result = op_result::unknown;
  expect_ok(h);
}

TEST(History, FailedWriteNeverTakesEffect) {
  // Reading the value before it, after the failed write completed, is fine.
  expect_ok({write(1, "a", 1, 2), write(2, "b", 3, 4, op_result::failed), read(3, "a", 5, 6)});
}

TEST(History, UnknownWriteReadLaterIsAccepted) {
  // It may take effect long after its reply (a commit still in flight).
  expect_ok({write(1, "a", 1, 2), write(2, "b", 3, 4, op_result::unknown), read(3, "a", 5, 6),
             read(3, "a", 7, 8), read(1, "b", 9, 10), read(2, "b", 11, 12)});
}

TEST(History, UnknownWriteNeverReadIsAccepted) {
  expect_ok({write(1, "a", 1, 2), write(2, "b", 3, 4, op_result::unknown), read(3, "a", 5, 6),
             write(1, "c", 7, 8), read(3, "c", 9, 10)});
}

TEST(History, UnknownWriteCannotTakeEffectBeforeItsInvocation) {
  expect_violation(
      {write(1, "a", 1, 2), read(3, "b", 3, 4), write(2, "b", 5, 6, op_result::unknown)}, 1);
}

TEST(History, UnknownWriteTakesEffectAtMostOnce) {
  // b appears, is overwritten by c, and cannot come back.
  std::vector<history_op> h{write(2, "b", 1, 2, op_result::unknown), read(3, "b", 3, 4),
                            write(1, "c", 5, 6), read(3, "b", 7, 8)};
  expect_violation(h, 3);
}

TEST(History, NonMonotonicReadsAreAViolation) {
  // The write of b is still running, but once a reader saw b, a later reader
  // cannot see the older a again.
  std::vector<history_op> h{write(1, "a", 1, 2), write(2, "b", 3, 20), read(3, "b", 4, 5),
                            read(4, "a", 6, 7)};
  auto why = expect_violation(h, 3);
  EXPECT_THAT(why, HasSubstr("'b'"));
  // Reads overlapping each other may see them in either order.
  h[3].invoked = 4;
  expect_ok(h);
}

TEST(History, FailedAndUnansweredReadsConstrainNothing) {
  expect_ok({write(1, "a", 1, 2), read(2, "zzz", 3, 4, "k", op_result::failed),
             read(2, absent, 5, 6, "k", op_result::unknown), read(3, "a", 7, 8)});
}

TEST(History, EachKeyIsItsOwnRegister) {
  std::vector<history_op> h{write(1, "a", 1, 2, op_result::ok, "x"),
                            write(1, "a", 1, 2, op_result::ok, "y"),  // a multi-key write
                            write(2, "b", 3, 4, op_result::ok, "x"), read(3, "a", 5, 6, "y"),
                            read(3, "a", 7, 8, "x")};
  auto res = check_history(h);
  ASSERT_EQ(res.keys.size(), 2u);
  EXPECT_EQ(res.violations, 1u);
  EXPECT_EQ(res.keys[0].key, "x");
  EXPECT_EQ(res.keys[0].result, verdict::violation);
  EXPECT_EQ(res.keys[1].result, verdict::ok);
  EXPECT_THAT(res.to_string(), HasSubstr("key x"));
  // check_key alone: the same, and it refuses mixed keys rather than accept them.
  std::vector<history_op> y{h[1], h[3]};
  EXPECT_EQ(check_key(y).result, verdict::ok);
  EXPECT_EQ(check_key(h).result, verdict::undecided);
}

TEST(History, TooManyOpsPerKeyIsUndecidedNeverOk) {
  std::vector<history_op> h;
  uint64_t t = 0;
  for (int i = 0; i < 30; ++i) {
    h.push_back(write(1, "v" + std::to_string(i), t + 1, t + 2));
    h.push_back(read(2, "v" + std::to_string(i), t + 3, t + 4));
    t += 4;
  }
  EXPECT_EQ(check_history(h).result, verdict::ok);
  check_limits small;
  small.max_ops_per_key = 59;
  auto res = check_history(h, small);
  EXPECT_EQ(res.result, verdict::undecided) << res.to_string();
  EXPECT_THAT(res.to_string(), HasSubstr("more than the checker's bound of 59"));
}

TEST(History, ExhaustedStepBudgetIsUndecidedNeverOk) {
  // Many unknown writes, then reads that no order explains: the search must
  // try many subsets before giving up.
  std::vector<history_op> h;
  for (int i = 0; i < 40; ++i)
    h.push_back(write(i, "w" + std::to_string(i), 1, 2, op_result::unknown));
  for (int i = 0; i < 40; ++i)
    h.push_back(read(100, "w" + std::to_string(i), 3 + 2 * i, 4 + 2 * i));
  h.push_back(read(100, "w0", 200, 201));
  check_limits small;
  small.max_steps_per_key = 1000;
  auto res = check_history(h, small);
  EXPECT_EQ(res.result, verdict::undecided) << res.to_string();
  EXPECT_THAT(res.to_string(), HasSubstr("budget exhausted"));
  check_limits no_time;
  no_time.max_time = std::chrono::milliseconds(0);
  EXPECT_EQ(check_history(h, no_time).result, verdict::undecided);
}

/// A random history of a correct register: clients invoke ops one after
/// another; each op that takes effect does so at a point inside its interval
/// (an unknown write: at any point after its invocation, or never); reads
/// return what the register held at their point.
std::vector<history_op> simulated_history(uint32_t seed, int clients, int ops_per_client) {
  std::mt19937 rng{seed};
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>{lo, hi}(rng); };
  struct planned {
    history_op op;
    uint64_t point;
    bool effect;
  };
  std::vector<planned> plan;
  for (int c = 0; c < clients; ++c) {
    uint64_t t = 0;
    for (int n = 0; n < ops_per_client; ++n) {
      history_op o;
      o.client = c;
      o.key = "k";
      o.invoked = t + static_cast<uint64_t>(pick(1, 6));
      auto point = o.invoked + static_cast<uint64_t>(pick(0, 8));
      o.completed = point + static_cast<uint64_t>(pick(0, 8));
      t = o.completed;
      bool effect = true;
      if (pick(0, 1) == 0) {
        o.kind = register_op::read;
      } else {
        o.kind = register_op::write;
        o.value = "c" + std::to_string(c) + "-" + std::to_string(n);
        auto fate = pick(0, 9);
        if (fate == 0) {
          o.result = op_result::failed;
          effect = false;
        } else if (fate == 1) {
          o.result = op_result::unknown;
          effect = pick(0, 1) == 0;
          point = o.invoked + static_cast<uint64_t>(pick(0, 60));  // maybe after its reply
        }
      }
      plan.push_back({o, point, effect});
    }
  }
  std::vector<size_t> order(plan.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&plan](size_t a, size_t b) { return plan[a].point < plan[b].point; });
  std::optional<std::string> reg;
  for (auto i : order) {
    auto& p = plan[i];
    if (p.op.kind == register_op::read)
      p.op.value = reg;
    else if (p.effect)
      reg = p.op.value;
  }
  std::vector<history_op> out;
  for (auto& p : plan) out.push_back(p.op);
  return out;
}

TEST(History, RandomHistoriesOfACorrectRegisterAreAccepted) {
  uint64_t most = 0;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    auto h = simulated_history(seed, 4, 45);
    auto res = check_history(h);
    ASSERT_EQ(res.result, verdict::ok) << "seed " << seed << ": " << res.to_string();
    most = std::max(most, res.max_steps);
  }
  std::cout << "[ measure  ] 60 random histories of 180 ops: at most " << most
            << " search steps per key\n";
}

TEST(History, RandomHistoriesWithAStaleReadAreCaught) {
  // In each simulated history, find a read that began after two completed,
  // ordered ok writes and make it return the older one's value: no order can
  // explain it. The checker must say so every time.
  int mutated = 0;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    auto h = simulated_history(seed, 4, 45);
    for (size_t r = 0; r < h.size(); ++r) {
      if (h[r].kind != register_op::read) continue;
      std::optional<size_t> older;
      for (size_t w1 = 0; w1 < h.size() && !older; ++w1) {
        if (h[w1].kind != register_op::write || h[w1].result != op_result::ok) continue;
        for (size_t w2 = 0; w2 < h.size(); ++w2)
          if (h[w2].kind == register_op::write && h[w2].result == op_result::ok &&
              h[w1].completed < h[w2].invoked && h[w2].completed < h[r].invoked) {
            older = w1;
            break;
          }
      }
      if (!older) continue;
      h[r].value = h[*older].value;
      auto res = check_history(h);
      EXPECT_EQ(res.result, verdict::violation) << "seed " << seed << ": " << res.to_string();
      ++mutated;
      break;
    }
  }
  EXPECT_GE(mutated, 50);
}

}  // namespace
}  // namespace vstore::test
