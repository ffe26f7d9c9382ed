// vstore-sim's request deadlines (tools/vstore-sim/scheduler.hpp): the
// scheduler sends its requests untimed and checks their deadlines with its
// own watch timer. A request left unanswered fails its lane with errc::timeout
// once the deadline has passed, never before; a write left unanswered leaves
// its lane unclean (its outcome is unknown), as a CAF request timeout did.
//
// Two stores that never answer: an actor that keeps every message in its
// mailbox (no reply ever), and a real manager whose disk holds every commit
// after the genesis (a fault_store; the manager's own deadline,
// supervisor.internal-timeout, is set far beyond the sim's). Without the watch
// timer both runs hang: the bounded waits below fail. The same for --state
// (state_run.cpp), whose chain keeps its requests' deadlines the same way.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_store.hpp"
#include "tools/vstore-sim/driver.hpp"
#include "tools/vstore-sim/scheduler.hpp"
#include "tools/vstore-sim/state_run.hpp"

namespace vstore::sim {
namespace {

using namespace std::chrono_literals;
using test::actor_test;

constexpr auto deadline = 200ms;
/// --state: the genesis goes through the state service with the same
/// deadline (one apply of every resource; under ThreadSanitizer it passed
/// 2 s at 2,000 resources and once at 50, which the case uses).
constexpr auto state_deadline = 5000ms;
/// Far beyond the deadline: a run the watch timer does not end fails here.
constexpr auto bound = 20s;

/// Keeps every message in its mailbox: no request is ever answered.
caf::behavior silent(caf::event_based_actor* self) {
  self->set_default_handler(caf::skip);
  return {[](caf::exit_msg&) {}};
}

class SimDeadline : public actor_test {
 protected:
  /// A run shaped by `shape` (seed 5) with the test's deadline, over a
  /// memory store (not opened here).
  run_context context(const std::vector<std::string>& shape,
                      std::chrono::milliseconds timeout = deadline) {
    std::vector<std::string> args{"vstore-sim",
                                  "--no-progress",
                                  "--no-torn-reader",
                                  "--seed",
                                  "5",
                                  "--timeout",
                                  std::to_string(timeout.count())};
    args.insert(args.end(), shape.begin(), shape.end());
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    run_context ctx;
    auto st = parse_args(static_cast<int>(argv.size()), argv.data(), ctx.cli);
    EXPECT_TRUE(st) << st.to_string();
    ctx.store = test::test_options(backend_kind::memory, dir_.path() / "db");
    ctx.timeout = std::chrono::milliseconds(ctx.cli.timeout_ms);
    EXPECT_EQ(shape_run(ctx), exit_verified);
    return ctx;
  }

  /// Starts a manager over a fault_store whose commits block once the
  /// genesis is written; the manager's own deadlines are a minute.
  manager_actor start_stalling(run_context& ctx) {
    ctx.store.supervisor.internal_timeout = std::chrono::seconds(60);
    ctx.store.supervisor.stall_abort = std::chrono::seconds(30);
    std::shared_ptr<store> inner;
    auto st = open_store(ctx.store, inner);
    EXPECT_TRUE(st) << st.to_string();
    disk_ = std::make_shared<test::fault_store>(inner);
    ctx.after_genesis = [this] { disk_->block(); };
    return start_over(ctx.store, disk_);
  }

  void TearDown() override {
    if (disk_) disk_->release();
  }

  test::scratch_dir dir_;
  std::shared_ptr<test::fault_store> disk_;
};

TEST(SimWatchPeriod, IsAQuarterOfTheDeadlineWithinBounds) {
  EXPECT_EQ(watch_period(200ms), 50ms);
  EXPECT_EQ(watch_period(2ms), 1ms);
  EXPECT_EQ(watch_period(30s), 250ms);
}

TEST_F(SimDeadline, UnansweredReadsFailEveryLaneAfterTheDeadline) {
  auto ctx = context({"--schedulers", "1", "--in-flight", "3", "--batches", "30"});
  auto manager = caf::actor_cast<manager_actor>(sys_.spawn(silent));
  auto board = std::make_shared<run_board>();
  scheduler_settings cfg;
  cfg.params = ctx.summary.params;
  cfg.batches = ctx.cli.batches;
  cfg.seed = ctx.cli.seed;
  cfg.rules = rules_of(ctx);
  cfg.timeout = ctx.timeout;
  auto s = sys_.spawn(scheduler, cfg, manager, board, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  caf::anon_send(s, start_atom::value);
  bool finished = board->wait(1, std::chrono::duration_cast<std::chrono::milliseconds>(bound));
  caf::anon_send_exit(s, caf::exit_reason::kill);
  caf::anon_send_exit(manager, caf::exit_reason::kill);
  ASSERT_TRUE(finished) << "the scheduler did not finish: its requests have no deadline";
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, deadline) << "a lane failed before its deadline";
  EXPECT_TRUE(board->failed());
  EXPECT_EQ(board->errors(), 3u);
  EXPECT_NE(board->first_error().find("latest_ptr read of batch"), std::string::npos)
      << board->first_error();
  EXPECT_NE(board->first_error().find("(no reply within 200 ms)"), std::string::npos)
      << board->first_error();
  auto reports = board->take_reports();
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_EQ(reports[0].lanes.size(), 3u);
  for (const auto& l : reports[0].lanes) EXPECT_TRUE(l.clean) << "a read leaves nothing in doubt";
}

TEST_F(SimDeadline, HeldCommitsFailTheirLanesInDoubt) {
  auto ctx = context({"--schedulers", "2", "--in-flight", "2", "--batches", "200"});
  auto m = start_stalling(ctx);
  sync_client client{sys_, m, test::reply_timeout};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(drive(sys_, m, client, ctx), exit_failed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, bound);
  const auto& sum = ctx.summary;
  EXPECT_NE(sum.error.find("commit of batch"), std::string::npos) << sum.verdict();
  EXPECT_NE(sum.error.find("no reply within 200 ms"), std::string::npos) << sum.verdict();
  EXPECT_EQ(sum.batches, 0u) << "the disk held every commit";
  // The held lanes are unclean: the verification expects nothing of them
  // (their writes may still land), so the store still verifies.
  EXPECT_TRUE(sum.verified) << sum.verdict();
  EXPECT_TRUE(sum.verify.ok) << sum.verify.reason();
  disk_->release();
}

TEST_F(SimDeadline, AHeldPipelinedCommitFailsTheChainInDoubt) {
  auto ctx = context({"--chains", "1", "--pipeline", "4", "--batches", "100"});
  auto m = start_stalling(ctx);
  sync_client client{sys_, m, test::reply_timeout};
  EXPECT_EQ(drive(sys_, m, client, ctx), exit_failed);
  const auto& sum = ctx.summary;
  EXPECT_NE(sum.error.find("pipelined commit of batch"), std::string::npos) << sum.verdict();
  EXPECT_NE(sum.error.find("no reply within 200 ms"), std::string::npos) << sum.verdict();
  EXPECT_TRUE(sum.verified) << sum.verdict();
  EXPECT_TRUE(sum.verify.ok) << sum.verify.reason();
  disk_->release();
}

// --state: the chain's requests to the state service. The service's own
// deadline is the same (state_options.request_timeout = --timeout), but it
// then asks the manager what became of the write for as long again before it
// answers in doubt: the chain's deadline comes first.
TEST_F(SimDeadline, AHeldStateApplyFailsTheChainAtItsDeadline) {
  auto ctx = context(
      {"--state", "--chains", "1", "--pipeline", "4", "--batches", "100", "--resources", "50"},
      state_deadline);
  auto m = start_stalling(ctx);
  sync_client client{sys_, m, test::reply_timeout};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(drive_state(sys_, m, client, ctx), exit_failed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, bound);
  const auto& sum = ctx.summary;
  EXPECT_NE(sum.error.find("apply_batch"), std::string::npos) << sum.verdict();
  EXPECT_NE(sum.error.find("(no reply within 5000 ms)"), std::string::npos) << sum.verdict();
  disk_->release();
}

}  // namespace
}  // namespace vstore::sim
