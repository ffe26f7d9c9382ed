#pragma once

// One vstore-sim run against a manager that is already up: the genesis, the
// scheduler actors and the torn-state reader, the verification and the exact
// crash check. main.cpp opens (or connects to) the store around it; the
// power-loss loop (tests/reliability/sim_power_loss_test.cpp) drives it over
// a store on a file system that forgets unsynced bytes.

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "tools/vstore-sim/cli.hpp"
#include "tools/vstore-sim/report.hpp"
#include "tools/vstore-sim/sync_client.hpp"
#include "vstore/options.hpp"

namespace vstore::sim {

/// vstore-sim's exit codes.
constexpr int exit_verified = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// Everything one run needs besides the actor system.
struct run_context {
  sim_options cli;
  options store;
  run_summary summary;
  caf::timespan timeout;
  /// Called once the genesis is written, right before the schedulers start
  /// (a test cuts the power from here); may be empty.
  std::function<void()> after_genesis;
};

/// Prints "vstore-sim: WHAT" to stderr; returns exit_usage.
int usage_error(const std::string& what);

/// Fills ctx.summary's shape (schedulers, lanes, pipeline, resources, value
/// size, the run's knobs) from ctx.cli. Returns exit_usage on a shape that is
/// too large, else exit_verified.
int shape_run(run_context& ctx);

/// Runs the workload (unless --verify-only) and the verification; with
/// --verify-only and --ack-log also the exact crash check. Fills ctx.summary.
/// Returns an exit code.
int drive(caf::actor_system& sys, const manager_actor& manager, sync_client& client,
          run_context& ctx);

}  // namespace vstore::sim
