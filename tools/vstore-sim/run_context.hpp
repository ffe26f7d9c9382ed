#pragma once

// What one vstore-sim run needs and fills, whoever runs it: the driver
// (driver.hpp, scheduler actors through a manager) or the raw runner
// (raw_run.hpp, plain threads writing RocksDB directly). Plain C++.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/vstore-sim/cli.hpp"
#include "tools/vstore-sim/lane.hpp"
#include "tools/vstore-sim/report.hpp"
#include "tools/vstore-sim/run_board.hpp"
#include "vstore/options.hpp"

namespace vstore::sim {

/// vstore-sim's exit codes.
constexpr int exit_verified = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// Everything one run needs besides the store (or actor system).
struct run_context {
  sim_options cli;
  options store;
  run_summary summary;
  /// Timeout of every request (the driver only).
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  /// Called once the genesis is written, right before the schedulers start
  /// (a test cuts the power from here); may be empty.
  std::function<void()> after_genesis;
  /// Called right after the last scheduler finished, before the
  /// verification (the bench reads the CPU time here); may be empty.
  std::function<void()> after_workload;
};

/// Prints "vstore-sim: WHAT" to stderr; returns exit_usage.
int usage_error(const std::string& what);

/// Fills ctx.summary's shape (schedulers, lanes, pipeline, resources, value
/// size, the run's knobs) from ctx.cli. Returns exit_usage on a shape that is
/// too large, else exit_verified.
int shape_run(run_context& ctx);

/// Returns the lane rules of ctx.cli and ctx.summary (after shape_run).
lane_rules rules_of(const run_context& ctx);

/// Fills ctx.summary's workload figures from the schedulers' `board` once
/// every scheduler reported (elapsed from `started` to the last report,
/// counters, errors, write latency percentiles). Returns the live batches
/// each chain's clean lane acknowledged (nothing for unclean lanes), the
/// expectation of check().
std::vector<std::optional<uint64_t>> collect_run(run_board& board,
                                                 std::chrono::steady_clock::time_point started,
                                                 run_summary& sum);

}  // namespace vstore::sim
