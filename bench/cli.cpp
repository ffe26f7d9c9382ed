#include "bench/cli.hpp"

#include <algorithm>
#include <cstdlib>

#include "bench/sweep.hpp"

namespace vstore::bench {

namespace {

bool parse_count(const std::string& s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > max) return false;
  out = v;
  return true;
}

void split_into(const std::string& list, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    auto item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace

const char* help_text() {
  return R"(Usage: vstore-bench [--quick | --full] [OPTIONS]

Measures vstore (CAF actors over RocksDB) against raw RocksDB doing the same
work on the same data in the same run: every scenario runs its vstore path and
its raw baseline interleaved (vstore rep, raw rep, vstore rep, ...), several
repetitions each, and prints the medians, their ratio against the target of
perf.md, and the peak RSS. Both sides open RocksDB with the same settings
(make_rocksdb_settings of the same vstore::options), in fresh databases in a
temporary directory. The table goes to stdout (its last line is a one-line
summary naming the worst ratio against its target); progress goes to stderr.

Scenarios (--list prints them with their client counts):
  get                   point gets, many client actors        vs DB::Get, 2 threads
  multi_get             multi_get of 32 keys                   vs DB::MultiGet of 32, 2 threads
  scan                  prefix scans returning 10 entries      vs iterator seek + 10 next, 2 threads
  put_small             64 clients, one put per request        vs one put per DB::Write, 2 threads
  put_small_vs_batched  the same                               vs WriteBatches of 100, 2 threads
  put_small_sync        put_small with fsync on                vs one put per synced DB::Write, 2 threads
  commit_multi          batches of 100 puts over 4 spaces      vs the same WriteBatch, 2 threads
  remote_multi_get      multi_get of 32 through vstored on 127.0.0.1, 8 in flight per client
                                                               vs the same through the in-process manager
  empty_commit          one client, sequential flush_now writes of one put
                                                               vs one-put DB::Write, 1 thread
  sim_chain             vstore-sim --chains 1 --pipeline 16 (one scheduler actor)
                                                               vs the same workload, vstore-sim --raw: 1 thread
  sim_state             vstore-sim --chains 1 --pipeline 16 --state (a state service)
                                                               vs the same chain through the sim's own
                                                               requests (no --state), both via actors;
                                                               target >= 0.5, informational
  sim_lanes             vstore-sim's default shape (schedulers x 16 lanes)
                                                               vs vstore-sim --raw: 1 thread per scheduler
  remote_get            single gets through vstored, 4 client actors x 8 in flight
                                                               vs redis-server, GET pipelined 8, 4 connections
  remote_put            single puts through vstored (WAL, no fsync), 4 x 8 in flight
                                                               vs redis-server (AOF, fsync every second),
                                                                  SET pipelined 8, 4 connections
  remote_rtt            p50 latency of one get at a time through vstored
                                                               vs redis-server, sequential GET (lower is better)
  follower_multi_get    multi_get of 32 through a read replica vstored (--follow), 4 x 8 in flight,
                        while its primary takes 2k puts/s
                                                               vs the same through the primary vstored
  replication_lag       p99 time from a commit_ack on the primary until a get with min_seq = its
                        seq answers on the replica, under puts at 50% of the remote put capacity
                        (measured first)                       target: an absolute bound, <= 50 ms
Before each row on the in-process databases, both sides flush their memtables
and wait (vstore's store and the raw database alike): a row does not pay for a
flush of what the rows before it wrote, which would take a core from whichever
side runs meanwhile.
The remote_get/put/rtt rows start their own redis-server (from $PATH) on a free
port of 127.0.0.1; without one installed they are skipped. They also measure
CAF 0.17's own floor in the same run: the same clients against an echo server
that only replies (vstore-hop-floor --serve-echo, its own process), one rep
after each vstore/redis pair; a missed target that the floor misses too is
FLOOR instead of MISS (out of reach on CAF 0.17), with the floor printed under
the table.
empty_commit and put_small_sync measure a hop floor the same way, in process:
the same clients through three actors shaped like the commit path (manager ->
writer -> commit actor). For empty_commit the first two only pass the write
on, the last writes it with one DB::Write and answers the client (as vstore's
commit actor acknowledges a committed write itself); for put_small_sync they do group commit
at its best (the writer's place gathers, the commit actor's place knows how
many writes are in flight and writes each round of all of them with one synced
DB::Write on a detached I/O thread). put_small_sync also measures the disk's
ceiling: raw RocksDB writing synced batches of every write in flight from one
thread. They are printed under the table, and a miss that the hop floor
misses too is FLOOR.
The replica rows (follower_multi_get, replication_lag) run after all others:
they start a read replica vstored (--follow) of the remote rows' vstored,
bootstrapped from its snapshot, and wait (at most 30 s) until it has applied
the primary's log. replication_lag prints the percentiles of all its probes
and the load it ran under below the table.

Sweeps (--sweep NAME): how both sides' rates change with one parameter, each
point run like a row (warm-up, interleaved repetitions, medians, ratio; no
target), in fresh databases; under a minute each with the defaults:
  spaces       commit_multi's batches of 100 puts spread over 1, 2, 4, 8, 16
               spaces of a 16-space schema (8 clients x 8 in flight)
  in-flight    get and put_small with 1, 4, 16, 64, 256 requests in flight
               (min(x,16) clients x the rest each; raw: min(x,2) threads)
  key-size     get and put with keys of 16, 64, 256, 1024 B
  value-size   get and put with values of 16, 256, 4096, 65536 B
scripts/bench-plot turns their JSON into one PNG per sweep.

Options:
  --quick               5 repetitions of 250 ms per side and scenario, under 60 s
                        in all (the default).
  --full                11 repetitions of 1 s per side and scenario (~4 min).
  --scenario NAME       Run only NAME; repeatable, or a comma list.
  --sweep NAME          Run the sweep NAME (spaces, in-flight, key-size,
                        value-size, or all); repeatable, or a comma list.
                        Without --scenario, no scenario runs. Default: 3
                        repetitions of 200 ms per side and point (--full: 5 of
                        1 s; --reps, --rep-ms and --ops apply, --clients and
                        --window do not). --json adds a "sweeps" member: per
                        sweep its name, "x" (what x is), and "points", each
                        with series, x, unit, vstore_median_per_s,
                        raw_median_per_s, ratio_of_medians and the samples
                        (bench/sweep.hpp).
  --reps N              Repetitions per side. Default: 5 (quick), 11 (full).
  --rep-ms N            Duration of each repetition of each side: requests are
                        sent until it passed. Default: 250 (quick), 1000 (full).
  --ops N               Instead: exactly N requests per repetition (a multi_get
                        or a commit_multi batch is one request), both sides;
                        sim rows: N forward batches per scheduler per run.
  --keys N              Keys loaded for the reads. Default: 100000.
  --json FILE           Also write every figure as JSON to FILE.
  --dir DIR             Parent of the temporary directory. Default: $TMPDIR or /tmp.
  --vstored PATH        The vstored binary. Default: vstored beside vstore-bench;
                        without one, the remote_* rows are skipped.
  --allocators          Add rows comparing jemalloc (vstore-bench) with glibc
                        malloc (vstore-bench-glibc) on raw get, multi_get and
                        put loops, in alternating child processes.
  --timed-requests      In-process clients give every request a 30 s CAF timeout
                        (default: untimed, as the README recommends; each CAF
                        0.17 timer costs ~1 us and ~250 B held for its length).
  --clients N           Client actors of every scenario but empty_commit
                        (sim_lanes: schedulers).
  --window N            Requests in flight per client (same scenarios; sim_lanes:
                        lanes per scheduler, sim_chain and
                        sim_state: batches in flight).
  --max-threads N       CAF scheduler threads. Default: the number of cores.
  --set SECTION.KEY=V   Change a vstore option (vstore.ini syntax, e.g.
                        writer.inline-commits=false or
                        store.write-buffer-size=134217728) for both sides and
                        vstored. Repeatable. Default: vstore's defaults.
  --caf KEY=VALUE       Set a CAF option of the bench's actor systems (e.g.
                        scheduler.policy=sharing,
                        work-stealing.moderate-sleep-duration=50us): the
                        in-process one (vstore's defaults, eager polling) and
                        the one of the remote rows' clients (CAF's polling,
                        as vstored); not passed to vstored. Repeatable.
  --only vstore|raw     Run one side only (for profiling; no ratios).
  --list                Print the scenarios and exit.
  --help                Print this help and exit.
  --version             Print the version and exit.

A tiny smoke run: vstore-bench --scenario get --reps 1 --ops 2000
)";
}

std::optional<std::string> parse_args(int argc, char** argv, bench_args& out) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return "unexpected argument '" + arg + "'";
    auto name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto flag = [&](bool& target) -> std::optional<std::string> {
      if (value) return "--" + name + " takes no value";
      target = true;
      return std::nullopt;
    };
    if (name == "quick") {
      if (auto e = flag(quick)) return e;
      continue;
    }
    if (name == "full") {
      if (auto e = flag(out.full)) return e;
      continue;
    }
    if (name == "allocators") {
      if (auto e = flag(out.allocators)) return e;
      continue;
    }
    if (name == "list") {
      if (auto e = flag(out.list)) return e;
      continue;
    }
    if (name == "timed-requests") {
      if (auto e = flag(out.timed_requests)) return e;
      continue;
    }
    static const char* const valued[] = {
        "scenario", "reps",        "ops",  "keys",      "json", "dir", "vstored", "clients",
        "window",   "max-threads", "only", "raw-child", "set",  "caf", "rep-ms",  "sweep"};
    bool known = false;
    for (auto* v : valued) known = known || name == v;
    if (!known) return "unknown option '--" + name + "'";
    if (!value) {
      if (i + 1 >= argc) return "option '--" + name + "' needs a value";
      value = argv[++i];
    }
    uint64_t n = 0;
    auto count = [&](uint64_t max) -> std::optional<std::string> {
      if (!parse_count(*value, max, n))
        return "--" + name + ": expected a number in 1.." + std::to_string(max) + ", got '" +
               *value + "'";
      return std::nullopt;
    };
    if (name == "scenario") {
      split_into(*value, out.scenarios);
    } else if (name == "sweep") {
      std::vector<std::string> names;
      split_into(*value, names);
      if (names.empty()) return std::string{"--sweep: expected a sweep name"};
      for (const auto& s : names) {
        if (s == "all") {
          out.sweeps.insert(out.sweeps.end(), sweep_names().begin(), sweep_names().end());
          continue;
        }
        if (std::find(sweep_names().begin(), sweep_names().end(), s) == sweep_names().end())
          return "--sweep: unknown sweep '" + s +
                 "' (spaces, in-flight, key-size, value-size, all)";
        out.sweeps.push_back(s);
      }
    } else if (name == "reps") {
      if (auto e = count(1000)) return e;
      out.reps = static_cast<size_t>(n);
    } else if (name == "rep-ms") {
      if (auto e = count(3600000)) return e;
      out.rep_ms = n;
    } else if (name == "ops") {
      if (auto e = count(1000000000)) return e;
      out.ops = n;
    } else if (name == "keys") {
      if (auto e = count(100000000)) return e;
      if (n < 100) return std::string{"--keys: at least 100"};
      out.keys = n;
    } else if (name == "json") {
      out.json = *value;
    } else if (name == "dir") {
      out.dir = *value;
    } else if (name == "vstored") {
      out.vstored = *value;
    } else if (name == "clients") {
      if (auto e = count(100000)) return e;
      out.clients = static_cast<size_t>(n);
    } else if (name == "window") {
      if (auto e = count(100000)) return e;
      out.window = static_cast<size_t>(n);
    } else if (name == "max-threads") {
      if (auto e = count(1024)) return e;
      out.max_threads = static_cast<size_t>(n);
    } else if (name == "only") {
      if (*value != "vstore" && *value != "raw") return std::string{"--only: vstore or raw"};
      out.only = *value;
    } else if (name == "set" || name == "caf") {
      auto eq = value->find('=');
      if (eq == std::string::npos || eq == 0 || value->find('.') > eq)
        return "--" + name + ": expected SECTION.KEY=VALUE, got '" + *value + "'";
      (name == "set" ? out.sets : out.cafs).push_back(*value);
    } else if (name == "raw-child") {
      out.raw_child = *value;
    }
  }
  if (quick && out.full) return std::string{"--quick and --full exclude each other"};
  if (out.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    out.dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  return std::nullopt;
}

}  // namespace vstore::bench
