#pragma once

// One lane of a scheduler (one chain of batches) without the transport: its
// resources, its random stream, its numbers (commits, live, pruned) and the
// rule that picks its next step (a batch, a rollback, a prune, waiting for
// the pipeline to drain, or the end). Plain C++: the scheduler actor
// (scheduler.hpp) sends the steps through a manager, the raw runner
// (raw_run.hpp) writes them directly into RocksDB, and both take the same
// steps in the same order for the same seed.

#include <cstdint>
#include <random>

#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

/// The rules every lane of a run follows.
struct lane_rules {
  /// Transfers per batch.
  uint32_t transfers = 1;
  /// Roll back after every Nth commit of a lane (0 = never), M batches deep.
  uint64_t rollback_every = 0;
  uint32_t rollback_depth = 2;
  /// Batches a lane keeps revertible (0 = never prune) and how many more
  /// must accumulate before a prune runs.
  uint64_t prune_window = 0;
  uint64_t prune_step = 1;
  /// 0: one request in flight per lane. N >= 1: up to N batches in flight
  /// (the single-chain pipelined mode).
  uint32_t pipeline = 0;
};

/// Returns the prune step of a prune window: a tenth of it, at least 1.
uint64_t prune_step_of(uint64_t prune_window) noexcept;

/// What a lane does next (lane_plan::next).
enum class lane_step : uint8_t {
  /// Read and commit `batch` (made by next()).
  batch,
  /// Scan and write `rollback` (reset by next()).
  rollback,
  /// Scan and write `prune` (reset by next()).
  prune,
  /// Pipelined only: wait for a batch in flight to be acknowledged.
  wait,
  /// Every forward commit is done and nothing is in flight.
  done,
};

/// A lane's chain and the numbers that decide its next step. The caller
/// runs the step next() returns and reports its end with count_commit(),
/// count_rollback() or count_prune().
struct lane_plan {
  /// The rules (from reset()).
  lane_rules rules;
  /// The scheduler and the lane within it.
  uint32_t scheduler = 0;
  uint32_t lane = 0;
  /// The chain (scheduler * W + lane) and its resources.
  chain_spec chain;
  /// Forward commits to do and done.
  uint64_t target = 0;
  uint64_t commits = 0;
  /// Batches 0..live-1 are in batch_metadata; 0..pruned-1 are pruned.
  uint64_t live = 0;
  uint64_t pruned = 0;
  /// Whether a rollback waits to run (set by the commit that makes it due).
  bool rollback_due = false;
  /// The chain's random stream (chain_seed of the run's seed).
  std::mt19937_64 rng;
  /// The current step's plan.
  batch_plan batch;
  rollback_plan rollback;
  prune_plan prune;

  /// Starts lane `lane` of scheduler `scheduler` of a run shaped `p`, which
  /// commits `scheduler_batches` forward batches per scheduler, seeded `seed`.
  void reset(const sim_params& p, const lane_rules& r, uint32_t scheduler, uint32_t lane,
             uint64_t scheduler_batches, uint64_t seed);

  /// Picks the next step with `in_flight` batches sent and not yet
  /// acknowledged (always 0 with one request at a time): a due rollback, then
  /// a due prune (both only with nothing in flight; a rollback with nothing
  /// left to roll back is dropped), the end, or the next batch (pipelined:
  /// while fewer than `rules.pipeline` are in flight and no rollback or
  /// overdue prune waits for the pipeline to drain). Makes the batch or
  /// resets the rollback or prune it returns.
  lane_step next(size_t in_flight);

  /// Counts a committed batch (pipelined: a batch sent); a rollback becomes
  /// due after every rules.rollback_every-th.
  void count_commit();
  /// Counts the rollback's batches as removed; no rollback is due any more.
  void count_rollback();
  /// Counts the prune's batches as pruned.
  void count_prune();

  /// Returns the page size of the rollback's scans and of the prune's scans.
  uint32_t rollback_page() const noexcept;
  uint32_t prune_page() const noexcept;

 private:
  bool prune_due() const noexcept;
  bool prune_forces_drain() const noexcept;
};

}  // namespace vstore::sim
