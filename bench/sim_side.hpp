#pragma once

// vstore-bench's sim rows (perf.md: sim_chain, sim_lanes): vstore-sim's
// workload in process. The vstore side runs it through a StorageManager with
// the sim's driver (scheduler actors, tools/vstore-sim/driver.hpp); the raw
// side runs the same workload, seed and verification directly against
// RocksDB from one thread per scheduler (vstore-sim --raw,
// tools/vstore-sim/raw_run.hpp). Every repetition is a whole sim run in a
// fresh directory with the bench's options; its rate is the batches committed
// per second of workload time (the genesis, the verification and the close
// are not timed). The torn-state reader is off: the raw side has none.
//
// sim_state compares two paths through the SAME kind of store instead: the
// vstore side runs the chain with --state (through a state service,
// tools/vstore-sim/state_run.hpp), the raw side the same chain through the
// sim's hand-written requests (no --state, no --raw), both with the actors.

#include <cstdint>
#include <string>

#include "bench/actor_side.hpp"
#include "bench/raw_side.hpp"
#include "vstore/options.hpp"

namespace vstore::bench {

/// The shape of a sim row.
struct sim_shape {
  /// 0: the multi-chain shape, `schedulers` x `lanes` chains with one request
  /// in flight each. N >= 1: one chain with N batches in flight (the raw side
  /// runs it one batch at a time).
  uint32_t pipeline = 0;
  /// Schedulers (raw: threads); 0 = one per core.
  uint32_t schedulers = 0;
  /// Lanes per scheduler (the multi-chain shape only).
  uint32_t lanes = 16;
  /// Forward batches per scheduler.
  uint64_t batches = 1000;
  /// With pipeline >= 1: run the chain with --state (through a state service).
  bool state = false;
};

/// Returns the forward batches per scheduler of a repetition of `shape`
/// (--quick, or --full): sized so that a quick repetition takes a few tenths
/// of a second on the reference machine, and every lane rolls back and prunes.
uint64_t sim_batches(const sim_shape& shape, bool full);

/// Runs one sim repetition seeded `seed` in the fresh directory `dir`
/// (removed afterwards) with `base`'s options: through a manager that
/// `actors` opens for the run and drains after it (with shape.state through
/// a state service over it), or raw when `actors` is null. completed =
/// batches committed, seconds = workload time, cpu_seconds = this process's
/// CPU time during the workload; a run that does not end VERIFIED counts as
/// an error. Blocks.
rep_result run_sim_rep(actor_side* actors, const options& base, const std::string& dir,
                       const sim_shape& shape, uint64_t seed);

}  // namespace vstore::bench
