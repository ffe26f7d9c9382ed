#pragma once

// The figures of a vstore-bench run and how they are printed: the table, the
// one-line summary and the JSON file. Plain C++ (no CAF, no RocksDB).

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::bench {

/// The per-repetition figures of one side: rates in units per second, or
/// latencies in microseconds in a row whose lower_is_better is set.
struct samples {
  std::vector<double> values;

  /// Returns the median (mean of the middle two for an even count; 0 if empty).
  double median() const;
  /// Returns the smallest value (0 if empty).
  double min() const;
  /// Returns the largest value (0 if empty).
  double max() const;
};

/// One scenario's result: one row of the table.
struct row {
  /// The scenario's name (perf.md).
  std::string name;
  /// What one counted unit is ("get", "key", "put", ...).
  std::string unit;
  /// What each side did, for the legend and the JSON file.
  std::string vstore_what;
  std::string raw_what;
  samples vstore;
  samples raw;
  /// The ratio vstore/raw of each repetition pair (for the JSON file).
  samples rep_ratios;
  /// CPU time per unit of each repetition, in microseconds: this process's
  /// (all threads) plus, for remote_multi_get, vstored's.
  samples vstore_cpu_us;
  samples raw_cpu_us;
  /// The target ratio of medians (perf.md).
  double target = 0;
  /// The figures are costs, not rates: latencies in microseconds (remote_rtt's
  /// p50 per repetition), so lower is better and the row passes when
  /// ratio() <= target. Otherwise (the default) they are units per second
  /// and the row passes when ratio() >= target.
  bool lower_is_better = false;
  /// The unit of the figures of a lower_is_better row: "µs" (remote_rtt) or
  /// "ms" (replication_lag).
  std::string latency_unit = "µs";
  /// The target bounds median(vstore) itself, in latency_unit (replication_lag:
  /// p99 lag ≤ 50 ms), instead of a ratio: ratio() is then median(vstore) /
  /// target, the row passes when it is ≤ 1, and the raw column holds a
  /// companion figure of the same runs (replication_lag: the p50 lag).
  bool absolute_target = false;
  /// Figures of the row beyond the two columns (replication_lag: pooled
  /// percentiles, the load it ran under), for the JSON file's "figures".
  std::vector<std::pair<std::string, double>> figures;
  /// A line printed under the table about this row (empty: none).
  std::string note;
  /// Non-empty when the scenario did not run: why.
  std::string skipped;
  /// Errors seen on either side (failed requests, missing data).
  uint64_t vstore_errors = 0;
  uint64_t raw_errors = 0;
  std::string first_error;
  /// Peak RSS of this process while the scenario ran, in bytes.
  uint64_t peak_rss = 0;
  /// Peak RSS of a helper process (vstored), in bytes; 0 if none.
  uint64_t peer_peak_rss = 0;
  /// Write scenarios: the manager's DB::Write calls and operations during the
  /// measured repetitions, the writers' seals by flush reason ("size",
  /// "mailbox_dry", ...; empty when not collected), and how many of them went
  /// to the commit actor as a sealed batch of their own (the others joined
  /// one still waiting there).
  uint64_t db_writes = 0;
  uint64_t db_write_ops = 0;
  std::vector<std::pair<std::string, uint64_t>> seals;
  uint64_t sealed_batches = 0;
  /// Wall time of the scenario, including set-up and warm-up, in seconds.
  double seconds = 0;
  /// The remote rows against Redis: CAF 0.17's floor (bench/floor_side.hpp),
  /// the same clients against an echo server that only replies, one
  /// repetition after each vstore/raw pair, in the vstore column's unit
  /// (rates, or p50 latencies in µs when lower_is_better); empty when not
  /// measured. CPU per unit counts this process and the echo server.
  samples floor;
  samples floor_cpu_us;
  uint64_t floor_errors = 0;
  std::string floor_first_error;
  /// Why the floor of a remote row was not measured ("" otherwise).
  std::string floor_skipped;
  /// empty_commit and put_small_sync: the hop floor instead, in the floor's
  /// fields: the same clients through plain actors shaped like the commit
  /// path (manager -> writer -> commit actor; actor_side::open_commit_floor,
  /// open_sync_floor), one repetition after each vstore/raw pair. A design
  /// that keeps those actors cannot beat it on CAF 0.17. `floor_shape` says
  /// what the actors do, for the report.
  bool floor_is_hops = false;
  std::string floor_shape;
  /// put_small_sync: the disk's ceiling beside the hop floor: raw RocksDB
  /// from one thread writing synced WriteBatches of as many puts as the row
  /// has writes in flight (every write in flight in one fsync, nothing
  /// between fsyncs), one repetition after each vstore/raw pair. No design
  /// with that many writes in flight can beat it. Empty when not measured.
  samples ceiling;
  uint64_t ceiling_errors = 0;
  std::string ceiling_first_error;

  /// Returns median(vstore) / median(raw) (0 if raw has no samples), or with
  /// absolute_target median(vstore) / target.
  double ratio() const;
  /// Returns median(floor) / median(raw) (0 without both).
  double floor_ratio() const;
  /// Returns whether the floor was measured without errors and itself
  /// misses the target: the target is out of reach on CAF 0.17.
  bool floor_bounds() const;
  /// Returns whether the row ran without errors and met its target.
  bool pass() const;
  /// Returns how the ratio stands against the target, higher is better and
  /// 1 is the target: ratio / target, or target / ratio when lower is better.
  double score() const;
};

/// What the header of the report says about the run.
struct run_info {
  std::string mode;
  std::string allocator;
  std::string build_type;
  size_t scheduler_threads = 0;
  size_t raw_threads = 0;
  uint64_t keys = 0;
  size_t reps = 0;
  std::string rocksdb_settings;
  /// Whole run, in seconds (filled in before the summary is printed).
  double seconds = 0;
  uint64_t lifetime_peak_rss = 0;
};

/// Prints `rows` as the result table, with error notes and the remote rows'
/// CAF 0.17 floor lines below it.
void print_table(std::ostream& out, const std::vector<row>& rows);

/// Returns the one-line summary: how many targets were met, how many missed
/// ones CAF 0.17's measured floor misses too (result FLOOR), and the worst
/// ratio against its target among the other rows.
std::string summary_line(const std::vector<row>& rows);

/// Formats a rate with k/M suffixes: 1234567 -> "1.23M".
std::string format_rate(double x);

/// Formats a byte count in MiB: "183 MiB".
std::string format_mib(uint64_t bytes);

/// Writes the run and every row as JSON to `path`; `extra_members`, when not
/// empty, is inserted as further top-level members (e.g. sweeps_json()).
status write_json(const std::string& path, const run_info& info, const std::vector<row>& rows,
                  const std::string& extra_members = {});

}  // namespace vstore::bench
