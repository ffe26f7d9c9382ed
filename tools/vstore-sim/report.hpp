#pragma once

// vstore-sim's output: the run's figures as text or one JSON object, and the
// progress display on stderr (plain C++).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tools/vstore-sim/ack_check.hpp"
#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

/// Everything vstore-sim prints at the end.
struct run_summary {
  /// "rocksdb", "memory" or "remote".
  std::string backend;
  /// The data directory or remote address ("" for memory).
  std::string location;
  bool verify_only = false;
  sim_params params;
  uint64_t batches_per_scheduler = 0;
  uint32_t transfers_per_batch = 0;
  uint64_t rollback_every = 0;
  uint32_t rollback_depth = 0;
  uint64_t prune_window = 0;
  /// Batches in flight in the single-chain pipelined mode (0 = the
  /// multi-chain shape, one request in flight per lane).
  uint32_t pipeline = 0;
  /// --raw: the workload ran directly against RocksDB from plain threads,
  /// one per scheduler running its lanes one step at a time (no actors, no
  /// manager, no pipelining).
  bool raw = false;
  /// --state: the chain ran through a state service (state_run.hpp), and
  /// what its verification found: the head and the head expected (0 =
  /// unknown), the floor, the genesis applies, the batch_metadata entries,
  /// and the read_at indexes whose balances were summed.
  bool state = false;
  uint64_t state_head = 0;
  uint64_t state_expected_head = 0;
  uint64_t state_floor = 0;
  uint64_t state_genesis = 0;
  uint64_t state_metadata = 0;
  uint64_t state_read_at = 0;
  /// Wall time of the workload (start of the schedulers to the last report), s.
  double elapsed_s = 0;
  uint64_t batches = 0;
  uint64_t transfers = 0;
  uint64_t read_requests = 0;
  uint64_t read_keys = 0;
  uint64_t writes = 0;
  uint64_t rollbacks = 0;
  uint64_t rolled_back_batches = 0;
  uint64_t prunes = 0;
  uint64_t pruned_batches = 0;
  uint64_t pruned_versions = 0;
  uint64_t retries = 0;
  /// Write latency percentiles at the scheduler, microseconds.
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_max_us = 0;
  /// Wall time of the genesis, the verification (reading every entry) and
  /// the drain (commit, answer, close the backend), s.
  double genesis_s = 0;
  double verify_s = 0;
  double drain_s = 0;
  /// Backend commits (DB::Write) and their operations during the workload.
  uint64_t db_writes = 0;
  uint64_t db_ops = 0;
  /// Whether the torn-state reader ran (not with --no-torn-reader), the
  /// batches it probed, how they were judged (consistent: wholly present or
  /// wholly absent; inconclusive: committed or rolled back during the
  /// reads), torn states found, and probes abandoned on a read error.
  bool torn_reader = false;
  uint64_t torn_checks = 0;
  uint64_t torn_consistent = 0;
  uint64_t torn_inconclusive = 0;
  uint64_t torn_states = 0;
  uint64_t torn_abandoned = 0;
  /// The workload's first error ("" if none) and the error count.
  std::string error;
  uint64_t errors = 0;
  /// The verification (verified == false if it could not run; see verify_error).
  bool verified = false;
  verify_result verify;
  std::string verify_error;
  /// With --verify-only and --ack-log: what the exact crash check found (its
  /// failures are also in verify.failures).
  std::optional<ack_check_result> crash_check;

  /// Returns whether the run passed: no workload error and every invariant held.
  bool ok() const {
    return error.empty() && torn_states == 0 && verify_error.empty() && verified && verify.ok;
  }
  /// Returns "VERIFIED" or "FAILED: <reason>".
  std::string verdict() const;
};

/// Returns the `p` quantile (0..1) of `ns` in microseconds (reorders `ns`).
double percentile_us(std::vector<uint64_t>& ns, double p);

/// Prints the summary as text lines, the verdict last.
void print_text(std::FILE* out, const run_summary& s);
/// Prints the summary as one JSON object on one line.
void print_json(std::FILE* out, const run_summary& s);

/// Progress on stderr: a bar redrawn in place when stderr is a terminal, a
/// line every few seconds otherwise, nothing when disabled.
class progress_meter {
 public:
  /// `total` is the number of forward batches the run will commit.
  progress_meter(uint64_t total, bool enabled);
  /// Shows `done` batches after `elapsed` (rate-limited internally).
  void update(uint64_t done, std::chrono::steady_clock::duration elapsed);
  /// Ends the display (clears the bar line on a terminal).
  void finish();

 private:
  uint64_t total_;
  bool enabled_;
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace vstore::sim
