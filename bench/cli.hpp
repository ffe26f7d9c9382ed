#pragma once

// The command line of vstore-bench. Plain C++: the bench parses its own
// arguments (CAF's parser would also read a caf-application.ini lying in the
// working directory).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vstore::bench {

/// The parsed command line.
struct bench_args {
  /// --full: more repetitions and longer ones; otherwise --quick (default).
  bool full = false;
  /// --scenario NAME (repeatable, or a comma list); empty = every scenario,
  /// unless sweeps are asked for (then none).
  std::vector<std::string> scenarios;
  /// --sweep NAME (repeatable, or a comma list): the sweeps to run
  /// (bench/sweep.hpp); empty = none.
  std::vector<std::string> sweeps;
  /// --reps N: repetitions per side; default 7 (quick) or 11 (full).
  std::optional<size_t> reps;
  /// --ops N: a fixed number of requests per repetition for every selected
  /// scenario (a multi_get or a commit_multi batch counts as one request)
  /// instead of repetitions of a fixed duration.
  std::optional<uint64_t> ops;
  /// --rep-ms N: duration of every repetition; default 250 (quick), 1000 (full).
  std::optional<uint64_t> rep_ms;
  /// --keys N: keys loaded for the read scenarios. Default: 100000.
  uint64_t keys = 100000;
  /// --json FILE: also write the figures as JSON.
  std::string json;
  /// --dir DIR: where the temporary databases go. Default: $TMPDIR or /tmp.
  std::string dir;
  /// --vstored PATH: the vstored binary. Default: vstored next to vstore-bench.
  std::string vstored;
  /// --clients N / --window N: override the client actors and requests in
  /// flight per client of every scenario but empty_commit (for exploring).
  std::optional<size_t> clients;
  std::optional<size_t> window;
  /// --max-threads N: CAF scheduler threads (default: configure_actor_system's).
  size_t max_threads = 0;
  /// --set SECTION.KEY=VALUE (repeatable): a vstore option in vstore.ini's
  /// syntax (e.g. writer.inline-commits=false), applied to the options of
  /// both sides and of vstored.
  std::vector<std::string> sets;
  /// --caf KEY=VALUE (repeatable): a CAF option of the bench's actor system
  /// (e.g. scheduler.policy=sharing); not passed to vstored.
  std::vector<std::string> cafs;
  /// --allocators: add rows comparing jemalloc and glibc malloc on raw loops.
  bool allocators = false;
  /// --only vstore|raw: run one side only (for profiling).
  std::string only;
  /// --timed-requests: in-process clients use timed requests (default: untimed).
  bool timed_requests = false;
  /// --list: print the scenarios and exit.
  bool list = false;
  /// --help.
  bool help = false;
  /// --version: print "vstore-bench VERSION" and exit 0.
  bool version = false;
  /// --raw-child DIR (internal): run the raw allocator loops on the loaded
  /// database in DIR and print their rates.
  std::string raw_child;
};

/// Parses argv into `out`; returns an error message for bad usage.
std::optional<std::string> parse_args(int argc, char** argv, bench_args& out);

/// Returns the text of --help.
const char* help_text();

}  // namespace vstore::bench
