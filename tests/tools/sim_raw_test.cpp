// vstore-sim --raw (tools/vstore-sim/raw_run.hpp) against the actor run: the
// same seed and shape must leave the same verified store. Both shapes run
// twice, once through a StorageManager with the sim's driver and once raw,
// then both stores are read through a manager and compared.
//
// Every chain is deterministic: its batches come from its own random stream,
// its rollbacks and prunes from its own commit count (lane_plan), and chains
// share no resources, so the interleaving of chains (actors, threads) does
// not matter. In the multi-chain shape every chain takes exactly the same
// steps in both runs: the stores are equal entry for entry. The pipelined
// chain defers its prunes until the pipeline drains, while the raw run (one
// batch at a time) prunes as soon as a prune is due: the live batches, the
// latest_ptr of every resource and every batch_metadata (which holds the
// checksum of the batch's balances) are equal, the pruned versions and
// rollback_ptr entries may differ.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/actor_fixture.hpp"
#include "tools/vstore-sim/driver.hpp"
#include "tools/vstore-sim/lane.hpp"
#include "tools/vstore-sim/raw_run.hpp"

namespace vstore::sim {
namespace {

using test::actor_test;
using test::scratch_dir;

const std::vector<std::string> multi_chain = {
    "--schedulers",     "2", "--in-flight",      "4", "--batches",      "300", "--transfers", "3",
    "--rollback-every", "7", "--rollback-depth", "2", "--prune-window", "5"};
const std::vector<std::string> single_chain = {"--chains",       "1",    "--pipeline",       "16",
                                               "--batches",      "1500", "--rollback-every", "50",
                                               "--prune-window", "100"};

class SimRaw : public actor_test {
 protected:
  /// A run of `shape` (seed 11) over a RocksDB directory `name`, with `extra` arguments.
  run_context context(const std::vector<std::string>& shape, const std::string& name,
                      const std::vector<std::string>& extra) {
    std::vector<std::string> args{"vstore-sim", "--no-progress", "--seed", "11"};
    args.insert(args.end(), shape.begin(), shape.end());
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    run_context ctx;
    auto st = parse_args(static_cast<int>(argv.size()), argv.data(), ctx.cli);
    EXPECT_TRUE(st) << st.to_string();
    ctx.store = test::test_options(backend_kind::rocksdb, dir_.path() / name);
    ctx.timeout = std::chrono::milliseconds(ctx.cli.timeout_ms);
    EXPECT_EQ(shape_run(ctx), exit_verified);
    return ctx;
  }

  /// Reads the store at `o` through a manager.
  store_image image(const options& o) {
    auto m = start(o);
    sync_client client{sys_, m, test::reply_timeout};
    store_image img;
    auto st = client.load_image(space_set{}, 4096, img);
    EXPECT_TRUE(st) << st.to_string();
    caf::anon_send_exit(m, caf::exit_reason::kill);
    managers_.clear();
    return img;
  }

  /// Runs `shape` through a manager and raw; returns both summaries and images.
  void run_both(const std::vector<std::string>& shape, run_summary& actor, run_summary& raw,
                store_image& actor_img, store_image& raw_img) {
    auto a = context(shape, "actor", {});
    {
      auto m = start(a.store);
      sync_client client{sys_, m, a.timeout};
      EXPECT_EQ(drive(sys_, m, client, a), exit_verified) << a.summary.verdict();
      drain_reply drained;
      EXPECT_TRUE(client.ask(drain_request{}, drained));
      managers_.clear();
    }
    auto r = context(shape, "raw", {"--raw"});
    EXPECT_EQ(drive_raw(r), exit_verified) << r.summary.verdict();
    actor = a.summary;
    raw = r.summary;
    actor_img = image(a.store);
    raw_img = image(r.store);
  }

  scratch_dir dir_;
};

void expect_same_live_batches(const run_summary& actor, const run_summary& raw) {
  EXPECT_TRUE(raw.raw);
  EXPECT_TRUE(raw.verified);
  EXPECT_TRUE(raw.verify.ok) << raw.verify.reason();
  EXPECT_EQ(raw.batches, actor.batches);
  EXPECT_EQ(raw.transfers, actor.transfers);
  EXPECT_EQ(raw.rollbacks, actor.rollbacks);
  EXPECT_EQ(raw.rolled_back_batches, actor.rolled_back_batches);
  EXPECT_GT(raw.rollbacks, 0u);
  EXPECT_GT(raw.prunes, 0u);
  EXPECT_EQ(raw.verify.live, actor.verify.live);
  EXPECT_EQ(raw.verify.batches, actor.verify.batches);
  EXPECT_EQ(raw.verify.total, actor.verify.total);
  EXPECT_EQ(raw.verify.resources, actor.verify.resources);
  EXPECT_GT(raw.verify.checksums, 0u);
  EXPECT_EQ(raw.db_writes, raw.writes);
}

TEST_F(SimRaw, MultiChainShapeLeavesTheSameStore) {
  run_summary actor, raw;
  store_image a, r;
  run_both(multi_chain, actor, raw, a, r);
  expect_same_live_batches(actor, raw);
  EXPECT_EQ(raw.params.schedulers, 2u);
  EXPECT_EQ(raw.params.lanes, 4u);
  EXPECT_EQ(raw.prunes, actor.prunes);
  EXPECT_EQ(raw.pruned_versions, actor.pruned_versions);
  EXPECT_EQ(raw.read_requests, actor.read_requests);
  EXPECT_EQ(raw.read_keys, actor.read_keys);
  EXPECT_EQ(raw.writes, actor.writes);
  EXPECT_TRUE(r.params == a.params);
  EXPECT_TRUE(r.latest == a.latest);
  EXPECT_TRUE(r.meta == a.meta);
  EXPECT_TRUE(r.data == a.data);
  EXPECT_TRUE(r.rollback == a.rollback);
}

TEST_F(SimRaw, PipelinedChainAndItsRawTwinEndAlike) {
  run_summary actor, raw;
  store_image a, r;
  run_both(single_chain, actor, raw, a, r);
  expect_same_live_batches(actor, raw);
  EXPECT_EQ(actor.pipeline, 16u);
  EXPECT_EQ(raw.pipeline, 0u) << "the raw run has no pipeline";
  EXPECT_TRUE(r.params == a.params);
  EXPECT_TRUE(r.latest == a.latest);
  EXPECT_TRUE(r.meta == a.meta);
}

TEST_F(SimRaw, RefusesAStoreThatHoldsARun) {
  auto first = context(multi_chain, "twice", {"--raw", "--batches", "10"});
  ASSERT_EQ(drive_raw(first), exit_verified) << first.summary.verdict();
  auto second = context(multi_chain, "twice", {"--raw", "--batches", "10"});
  EXPECT_EQ(drive_raw(second), exit_usage);
}

// The rule both runners follow: a rollback and a prune wait for an empty
// pipeline, the end waits for the last acknowledgement, and with nothing in
// flight a lane never waits.
TEST(SimLanePlan, PipelinedLaneDrainsBeforeRollbacksAndPrunes) {
  sim_params p;
  p.schedulers = 1;
  p.lanes = 1;
  p.resources = 20;
  lane_rules rules;
  rules.rollback_every = 10;
  rules.rollback_depth = 2;
  rules.prune_window = 8;
  rules.prune_step = prune_step_of(8);
  rules.pipeline = 4;
  lane_plan l;
  l.reset(p, rules, 0, 0, 100, 5);
  size_t in_flight = 0, rollbacks = 0, prunes = 0, waits = 0;
  for (int guard = 0; guard < 10000; ++guard) {
    auto step = l.next(in_flight);
    if (step == lane_step::done) break;
    switch (step) {
      case lane_step::batch:
        ASSERT_LT(in_flight, 4u);
        ++in_flight;
        l.count_commit();
        break;
      case lane_step::wait:
        ASSERT_GT(in_flight, 0u);
        ++waits;
        --in_flight;  // the oldest batch is acknowledged
        break;
      case lane_step::rollback:
        ASSERT_EQ(in_flight, 0u);
        EXPECT_EQ(l.rollback.batches(), 2u);
        ++rollbacks;
        l.count_rollback();
        break;
      case lane_step::prune:
        ASSERT_EQ(in_flight, 0u);
        EXPECT_GE(l.live - l.prune.batches() - l.pruned, rules.prune_window);
        ++prunes;
        l.count_prune();
        break;
      case lane_step::done:
        break;
    }
  }
  EXPECT_EQ(l.next(0), lane_step::done);
  EXPECT_EQ(l.commits, 100u);
  EXPECT_EQ(rollbacks, 10u);
  EXPECT_EQ(l.live, 100u - 2 * rollbacks);
  EXPECT_GT(prunes, 0u);
  EXPECT_GT(waits, 0u);

  lane_plan sequential;
  sequential.reset(p, rules, 0, 0, 100, 5);
  for (auto step = sequential.next(0); step != lane_step::done; step = sequential.next(0)) {
    ASSERT_NE(step, lane_step::wait);
    if (step == lane_step::batch) sequential.count_commit();
    if (step == lane_step::rollback) sequential.count_rollback();
    if (step == lane_step::prune) sequential.count_prune();
  }
  EXPECT_EQ(sequential.live, l.live);
}

}  // namespace
}  // namespace vstore::sim
