#pragma once

// The sweeps of vstore-bench (--sweep NAME): how the cost of the vstore path
// and of raw RocksDB grows with one parameter (the spaces a batch spans, the
// requests in flight, the key size, the value size). Every point runs like a
// scenario row: one warm-up repetition per side, then vstore and raw
// repetitions interleaved, medians and their ratio (no target). Plain C++: CAF
// stays in actor_side.cpp and RocksDB in raw_side.cpp.
//
// JSON (the "sweeps" member of --json FILE, beside "scenarios"):
//   "sweeps": [
//     {"name": "spaces", "x": "spaces per batch", "description": "...",
//      "keys": 0, "reps": 3, "rep_ms": 200, "ops": 0, "seconds": 14.2,
//      "skipped": "",
//      "points": [
//        {"series": "commit_multi", "x": 1, "unit": "op",
//         "vstore_median_per_s": 1.4e5, "raw_median_per_s": 1.5e5,
//         "ratio_of_medians": 0.93,
//         "vstore_per_s": {"median", "min", "max", "reps": [...]},
//         "raw_per_s": {...}, "rep_ratios": {...},
//         "vstore_cpu_us_per_unit": {...}, "raw_cpu_us_per_unit": {...},
//         "vstore_path": "...", "raw_baseline": "...",
//         "vstore_errors": 0, "raw_errors": 0, "first_error": "",
//         "peak_rss_bytes": 123456789},
//        ...]},
//     ...]
// Rates are units per second (the point's unit: "op", "get", "put"); x is an
// integer in the sweep's unit ("x"). scripts/bench-plot draws them.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/cli.hpp"
#include "bench/report.hpp"
#include "vstore/options.hpp"

namespace vstore::bench {

class actor_side;

/// Returns the names --sweep accepts, in the order the sweeps run:
/// "spaces", "in-flight", "key-size", "value-size".
const std::vector<std::string>& sweep_names();

/// One point of a sweep: one workload (series) at one value of x.
struct sweep_point {
  /// The workload: "commit_multi", "get" or "put".
  std::string series;
  /// The swept parameter's value (spaces, requests in flight, bytes).
  uint64_t x = 0;
  /// The figures, as a scenario row without a target (name = series).
  row figures;
};

/// One sweep's result.
struct sweep_result {
  /// The sweep's name (sweep_names()).
  std::string name;
  /// What x is, with its unit: "spaces per batch", "requests in flight", ...
  std::string x_label;
  /// What both sides do and what stays fixed.
  std::string description;
  /// Keys loaded for the reads (0: the sweep only writes).
  uint64_t keys = 0;
  /// Measured repetitions per side and point, and their length in ms (0 with
  /// --ops: then `ops` requests each).
  size_t reps = 0;
  uint64_t rep_ms = 0;
  uint64_t ops = 0;
  /// Non-empty when the sweep could not run: why.
  std::string skipped;
  std::vector<sweep_point> points;
  /// Wall time of the sweep, databases' set-up included, in seconds.
  double seconds = 0;
};

/// Runs the sweeps `args.sweeps` (in sweep_names() order) with the actor
/// system `actors`, in fresh databases under `dir` opened with `base`'s
/// settings (their path replaced), removed after each sweep or point. Uses
/// args.reps (default 3; --full: 5), args.rep_ms (default 200; --full: 1000),
/// args.ops, args.keys, args.only and args.timed_requests; not args.clients or
/// args.window (the sweeps fix their own). Reports progress through
/// `progress`. Blocks; about a minute per sweep with the defaults.
std::vector<sweep_result> run_sweeps(actor_side& actors, const options& base,
                                     const std::string& dir, const bench_args& args,
                                     const std::function<void(const std::string&)>& progress);

/// Prints one small table per sweep (and the errors below it).
void print_sweeps(std::ostream& out, const std::vector<sweep_result>& sweeps);

/// Returns `"sweeps": [...]`, the JSON member documented above (no trailing
/// comma or newline; indented for a top-level member).
std::string sweeps_json(const std::vector<sweep_result>& sweeps);

/// Returns whether any point saw errors on either side.
bool sweep_errors(const std::vector<sweep_result>& sweeps);

}  // namespace vstore::bench
