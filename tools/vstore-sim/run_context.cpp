#include "tools/vstore-sim/run_context.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace vstore::sim {

int usage_error(const std::string& what) {
  std::fprintf(stderr, "vstore-sim: %s\n", what.c_str());
  return exit_usage;
}

int shape_run(run_context& ctx) {
  const auto& cli = ctx.cli;
  auto& sum = ctx.summary;
  sum.verify_only = cli.verify_only;
  sum.raw = cli.raw;
  auto& p = sum.params;
  if (cli.chains == 1) {
    // One chain of batches, pipelined (the raw runner: one thread running
    // the chain, one batch at a time).
    p.schedulers = 1;
    p.lanes = 1;
    sum.pipeline = cli.raw ? 0 : cli.pipeline;
  } else {
    p.schedulers =
        cli.schedulers > 0 ? cli.schedulers : std::max(1u, std::thread::hardware_concurrency());
    p.lanes = cli.in_flight;
  }
  p.resources = cli.resources;
  p.value_bytes = cli.value_bytes;
  if (p.chains() > max_chains) return usage_error("too many chains (--schedulers x --in-flight)");
  if (!cli.verify_only) {
    sum.batches_per_scheduler = cli.batches;
    sum.transfers_per_batch = cli.transfers;
    sum.rollback_every = cli.rollback_every;
    sum.rollback_depth = cli.rollback_depth;
    sum.prune_window = cli.prune_window;
  }
  return exit_verified;
}

lane_rules rules_of(const run_context& ctx) {
  lane_rules r;
  r.transfers = ctx.cli.transfers;
  r.rollback_every = ctx.cli.rollback_every;
  r.rollback_depth = ctx.cli.rollback_depth;
  r.prune_window = ctx.cli.prune_window;
  r.prune_step = prune_step_of(ctx.cli.prune_window);
  r.pipeline = ctx.summary.pipeline;
  return r;
}

std::vector<std::optional<uint64_t>> collect_run(run_board& board,
                                                 std::chrono::steady_clock::time_point started,
                                                 run_summary& sum) {
  auto finished = board.last_finish();
  if (finished < started) finished = std::chrono::steady_clock::now();
  sum.elapsed_s = std::chrono::duration<double>(finished - started).count();
  const auto& c = board.counters;
  sum.batches = c.batches.load();
  sum.transfers = c.transfers.load();
  sum.read_requests = c.read_requests.load();
  sum.read_keys = c.read_keys.load();
  sum.writes = c.writes.load();
  sum.rollbacks = c.rollbacks.load();
  sum.rolled_back_batches = c.rolled_back_batches.load();
  sum.prunes = c.prunes.load();
  sum.pruned_batches = c.pruned_batches.load();
  sum.pruned_versions = c.pruned_versions.load();
  sum.retries = c.retries.load();
  sum.error = board.first_error();
  sum.errors = board.errors();
  std::vector<std::optional<uint64_t>> expected(sum.params.chains());
  std::vector<uint64_t> latencies;
  for (auto& r : board.take_reports()) {
    for (const auto& l : r.lanes)
      if (l.clean && l.chain < expected.size()) expected[l.chain] = l.live;
    latencies.insert(latencies.end(), r.write_latency_ns.begin(), r.write_latency_ns.end());
  }
  sum.latency_p50_us = percentile_us(latencies, 0.50);
  sum.latency_p99_us = percentile_us(latencies, 0.99);
  sum.latency_max_us = percentile_us(latencies, 1.0);
  return expected;
}

}  // namespace vstore::sim
