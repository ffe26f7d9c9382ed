#pragma once

// vstore-sim's command line, parsed with the standard library only (CAF's
// config parser would also read a stray caf-application.ini from the cwd).

#include <cstdint>
#include <string>

#include "vstore/errc.hpp"

namespace vstore::sim {

/// Every option of vstore-sim; see help_text() for their meaning.
struct sim_options {
  /// --help: print the usage and exit 0.
  bool help = false;
  /// --version: print "vstore-sim VERSION" and exit 0.
  bool version = false;
  /// --memory: the memory backend instead of RocksDB.
  bool memory = false;
  /// --data-dir DIR: the RocksDB directory. Default: a fresh temporary
  /// directory, removed at exit unless --keep.
  std::string data_dir;
  /// --keep: keep the temporary directory.
  bool keep = false;
  /// --config FILE: a vstore.ini applied on top of the defaults.
  std::string config_file;
  /// --connect HOST:PORT: a running vstored instead of an embedded store.
  std::string connect_host;
  uint16_t connect_port = 0;
  /// --torn-reader-at HOST:PORT: the torn-state reader reads from this
  /// vstored (a read replica of the --connect one) instead.
  std::string torn_host;
  uint16_t torn_port = 0;
  /// --schedulers K: scheduler actors. Default: 0 = one per core.
  uint32_t schedulers = 0;
  /// --resources R: resources per scheduler. Default: 1000.
  uint64_t resources = 1000;
  /// --batches B: forward batch commits per scheduler. Default: 50000.
  uint64_t batches = 50000;
  /// --transfers T: transfers per batch. Default: 1.
  uint32_t transfers = 1;
  /// --seed S: random seed. Default: 1.
  uint64_t seed = 1;
  /// --in-flight W: requests each scheduler keeps in flight, one per lane (an
  /// independent chain over a part of its resources). Default: 16.
  uint32_t in_flight = 16;
  /// --chains C: 0 (default) = the multi-chain shape (--schedulers x
  /// --in-flight independent chains); 1 = one chain of batches, pipelined
  /// (one scheduler, one lane). No other value is accepted yet.
  uint32_t chains = 0;
  /// --pipeline N: with --chains 1, batches in flight at once, 1..1024.
  /// Default: 1 (no pipelining); 0 here means not given.
  uint32_t pipeline = 0;
  /// --rollback-every N: each lane rolls back after every Nth commit (0 = never).
  /// Default: 50.
  uint64_t rollback_every = 50;
  /// --rollback-depth M: batches one rollback removes. Default: 2.
  uint32_t rollback_depth = 2;
  /// --prune-window P: batches each lane keeps revertible; older ones are pruned
  /// (0 = never prune). Default: 100.
  uint64_t prune_window = 100;
  /// --value-size N: bytes of a data value (8-byte balance plus padding). Default: 8.
  uint32_t value_bytes = 8;
  /// --range-deletes: remove rollback_ptr entries with one range delete per
  /// rollback and prune instead of point deletes (see workload.hpp).
  bool range_deletes = false;
  /// --timeout MS: deadline of every request, in milliseconds. Default: 30000.
  uint32_t timeout_ms = 30000;
  /// --verify-only: open an existing store and only verify it.
  bool verify_only = false;
  /// --ack-log FILE: the side log of the exact crash check ("intent TOKEN"
  /// before, "ack TOKEN" after each batch commit and rollback write).
  std::string ack_log;
  /// --raw: run the same workload directly against RocksDB (opened with the
  /// store's settings) from plain threads, one per scheduler, instead of
  /// through a manager; the baseline of vstore-bench's sim rows.
  bool raw = false;
  /// --state: the single-chain workload (--chains 1) through a state
  /// service (vstore/state.hpp) spawned over the manager, instead of the
  /// sim's hand-written requests (state_run.hpp); with --verify-only: verify a
  /// --state store.
  bool state = false;
  /// --state-unbalance (test only, not in --help): the chain's first batch
  /// credits one unit more than it debits, so the verification must fail.
  bool state_unbalance = false;
  /// --state-skip-restore (test only, not in --help): the state service's
  /// skip_one_restore hook (a rollback leaves one pointer of an undone
  /// batch), so the run must fail.
  bool state_skip_restore = false;
  /// --json: print the results as one JSON object.
  bool json = false;
  /// --no-torn-reader: no concurrent torn-state reader (torn_reader.hpp).
  /// Default: the reader runs.
  bool no_torn_reader = false;
  /// --no-progress: no progress output on stderr.
  bool no_progress = false;
  /// --inject-corruption (test only, not in --help): write one dangling
  /// latest_ptr before verifying, so that the verification must fail.
  bool inject_corruption = false;
  /// --split-commits (test only, not in --help): send every batch commit of
  /// the multi-chain shape as two writes (data and latest_ptr, then
  /// rollback_ptr and batch_metadata), as a store that applies a multi-space
  /// batch in two steps would; the torn-state reader must fail the run.
  bool split_commits = false;

  /// Returns whether --connect was given.
  bool remote() const noexcept { return connect_port != 0; }
};

/// Parses argv into `out` (both `--opt value` and `--opt=value`) and checks the
/// ranges and combinations. Returns errc::invalid_argument naming the option.
status parse_args(int argc, const char* const* argv, sim_options& out);

/// Returns the usage text.
std::string help_text();

}  // namespace vstore::sim
