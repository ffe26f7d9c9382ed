// The side-log rule of vstore-sim --state (check_state_log,
// tools/vstore-sim/state_run.hpp): after a crash the head must be the head
// after a prefix of the logged requests that holds every acknowledged one.
// Plain strings in, a verdict out; each case that must fail is beside one that
// must pass, so the rule is seen to reject what it should.

#include <gtest/gtest.h>

#include <string>

#include "tools/vstore-sim/state_run.hpp"

namespace vstore::sim {
namespace {

// Genesis 1; applies 2, 3, 4 sent; 2 and 3 acknowledged; 4 in doubt.
const std::string pipelined = "intent s0-a2\nintent s1-a3\nintent s2-a4\nack s0-a2\nack s1-a3\n";

TEST(SimStateLog, AcknowledgedAppliesMustSurvive) {
  EXPECT_TRUE(check_state_log(pipelined, 1, 3).head_ok);  // 4 not committed
  EXPECT_TRUE(check_state_log(pipelined, 1, 4).head_ok);  // 4 committed
  auto lost = check_state_log(pipelined, 1, 2);           // 3 acknowledged, lost
  EXPECT_FALSE(lost.head_ok);
  EXPECT_EQ(lost.intents, 3u);
  EXPECT_EQ(lost.acked, 2u);
  EXPECT_FALSE(check_state_log(pipelined, 1, 5).head_ok);  // never sent
}

TEST(SimStateLog, RollbackInFlightMayLowerTheHead) {
  // Applies 2..4 acknowledged, then rollback_to 2 and apply 3 (reused) in doubt.
  std::string log =
      "intent s0-a2\nintent s1-a3\nintent s2-a4\nack s0-a2\nack s1-a3\nack s2-a4\n"
      "intent s3-r2\nintent s4-a3\n";
  EXPECT_TRUE(check_state_log(log, 1, 4).head_ok);  // neither committed
  EXPECT_TRUE(check_state_log(log, 1, 2).head_ok);  // the rollback committed
  EXPECT_TRUE(check_state_log(log, 1, 3).head_ok);  // both committed
  EXPECT_EQ(check_state_log(log, 1, 3).prefix, 5u);
  // Once the rollback is acknowledged, head 4 (the rollback lost) fails.
  auto acked = log + "ack s3-r2\n";
  EXPECT_FALSE(check_state_log(acked, 1, 4).head_ok);
  EXPECT_TRUE(check_state_log(acked, 1, 2).head_ok);
}

TEST(SimStateLog, NothingAcknowledgedAllowsTheGenesis) {
  EXPECT_TRUE(check_state_log("intent s0-a2\n", 1, 1).head_ok);
  EXPECT_TRUE(check_state_log("intent s0-a2\nack s0", 1, 1).head_ok);  // torn ack
  EXPECT_FALSE(check_state_log("intent s0-a2\nack s0-a2\n", 1, 1).head_ok);
}

TEST(SimStateLog, MalformedLinesAreErrors) {
  EXPECT_FALSE(check_state_log("ack s0-a2\n", 1, 1).error.empty());
  EXPECT_FALSE(check_state_log("intent x\n", 1, 1).error.empty());
  EXPECT_FALSE(check_state_log("intent s0-a2\nintent s0-a2\n", 1, 2).error.empty());
  EXPECT_TRUE(check_state_log(pipelined, 1, 3).error.empty());
}

}  // namespace
}  // namespace vstore::sim
