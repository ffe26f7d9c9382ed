// vstore-bench: vstore's actor path against raw RocksDB, same work, same run.
//
// Every scenario of perf.md runs its vstore path (event-based client actors
// talking to a StorageManager) and its raw RocksDB baseline (plain threads on
// a database opened with the same settings), interleaved: vstore rep, raw rep,
// vstore rep, ... after one unmeasured warm-up rep each. The table reports the
// median rate of each side, min–max, the ratio of medians against the target,
// and the peak RSS while the scenario ran. See --help and perf.md.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/actor_side.hpp"
#include "bench/cli.hpp"
#include "bench/floor_side.hpp"
#include "bench/proc.hpp"
#include "bench/raw_side.hpp"
#include "bench/redis_side.hpp"
#include "bench/report.hpp"
#include "bench/sim_side.hpp"
#include "bench/sweep.hpp"
#include "bench/workload.hpp"
#include "config/config.hpp"
#include "vstore/options.hpp"
#include "vstore/requests.hpp"
#include "vstore/version.hpp"

#ifndef VSTORE_BENCH_BUILD_TYPE
#define VSTORE_BENCH_BUILD_TYPE "unknown"
#endif

namespace {

using namespace vstore;
using namespace vstore::bench;
using clock_type = std::chrono::steady_clock;

/// Which databases a scenario uses.
enum class target_db : uint8_t {
  main,     ///< the loaded pair: a manager (vstore) and a raw database (raw)
  sync,     ///< a fresh pair opened with db.sync = true
  remote,   ///< vstored (vstore) against the in-process manager (baseline)
  sim,      ///< vstore-sim runs, a fresh directory per repetition and side (sim_side.hpp)
  replica,  ///< a read replica vstored following the remote one (docs/replication.md)
};

/// What the raw column of a scenario measures.
enum class baseline : uint8_t {
  usual,          ///< raw RocksDB; for target_db::remote the in-process manager
  redis,          ///< a redis-server the bench starts, pipelined (redis_side::run)
  redis_latency,  ///< sequential p50 latency, vstored against redis-server (lower is better)
  primary,        ///< target_db::replica: the same through the primary vstored
  lag_bound,      ///< target_db::replica: no baseline; the p99 lag against an absolute bound
};

/// One row of perf.md's table and how the bench runs it.
struct scenario {
  const char* name;
  const char* unit;
  double target;
  workload_kind vstore_kind;
  workload_kind raw_kind;
  target_db where;
  /// vstore side: client actors and requests in flight per client.
  size_t clients;
  size_t window;
  /// raw side: threads.
  size_t raw_threads;
  /// Counted units per request (keys of a multi_get, puts of a batch).
  uint64_t units_per_request;
  const char* vstore_what;
  const char* raw_what;
  baseline against = baseline::usual;
};

/// follower_multi_get: the write load on the primary while the multi_gets
/// run (about a tenth of what remote_put reaches), from one client actor.
constexpr double follower_load_rate = 2000;
constexpr size_t follower_load_window = 8;
/// replication_lag: the put load on the primary as a fraction of the remote
/// put capacity measured first in the same run (remote_put's shape, 4 client
/// actors x 8 in flight, the median of calibration_reps repetitions), sent
/// by lag_load_clients paced actors of at most 8 in flight each.
constexpr double lag_load_fraction = 0.5;
constexpr size_t calibration_reps = 3;
constexpr size_t lag_load_clients = 4;
/// How long the bench waits for the replica to apply the primary's log.
constexpr std::chrono::seconds catch_up_timeout{30};

constexpr size_t quick_reps = 5;
constexpr size_t full_reps = 11;
constexpr uint64_t quick_rep_ms = 250;
constexpr uint64_t full_rep_ms = 1000;
/// Written key numbers reserved per repetition (issuer_range in a timed one
/// spans at most 64 issuers x issuer_stride).
constexpr uint64_t write_numbers_per_rep = uint64_t{1} << 44;

/// Returns the repetitions per side.
size_t reps_of(const bench_args& a) { return a.reps ? *a.reps : (a.full ? full_reps : quick_reps); }

/// Returns the duration of a repetition (unless --ops fixes its requests).
std::chrono::milliseconds rep_time_of(const bench_args& a) {
  return std::chrono::milliseconds(a.rep_ms ? *a.rep_ms : (a.full ? full_rep_ms : quick_rep_ms));
}

// clang-format off
const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all = {
    {"get", "get", 0.5, workload_kind::get, workload_kind::get, target_db::main,
     16, 8, 2, 1,
     "point gets of loaded keys, 16 client actors x 8 in flight",
     "DB::Get, 2 threads"},
    {"multi_get", "key", 0.85, workload_kind::multi_get, workload_kind::multi_get,
     target_db::main, 8, 4, 2, multi_get_keys,
     "multi_get of 32 loaded keys, 8 client actors x 4 in flight",
     "DB::MultiGet of 32, 2 threads"},
    {"scan", "scan", 0.7, workload_kind::scan, workload_kind::scan, target_db::main,
     16, 8, 2, 1,
     "prefix scans (8-byte prefix, limit 10) returning 10 entries, 16 clients x 8 in flight",
     "iterator Seek + 10 Next (prefix_same_as_start, upper bound), 2 threads"},
    {"put_small", "put", 1.2, workload_kind::put, workload_kind::put, target_db::main,
     64, 1, 2, 1,
     "one put per write_request, 64 client actors x 1 in flight, ack after commit (WAL, no fsync)",
     "one put per DB::Write, 2 threads"},
    {"put_small_vs_batched", "put", 0.6, workload_kind::put, workload_kind::put_batched,
     target_db::main, 64, 1, 2, 1,
     "as put_small",
     "puts in WriteBatches of 100, 2 threads"},
    {"put_small_sync", "put", 15, workload_kind::put, workload_kind::put, target_db::sync,
     64, 1, 2, 1,
     "as put_small with store.sync = true (fsync per commit)",
     "one put per synced DB::Write, 2 threads"},
    {"commit_multi", "op", 0.8, workload_kind::multi_batch, workload_kind::multi_batch,
     target_db::main, 8, 8, 2, multi_batch_ops,
     "atomic batches of 100 puts over 4 spaces, 8 client actors x 8 in flight",
     "the same WriteBatch via DB::Write, 2 threads"},
    {"remote_multi_get", "key", 0.3, workload_kind::multi_get, workload_kind::multi_get,
     target_db::remote, 4, 8, 0, multi_get_keys,
     "multi_get of 32 through vstored on 127.0.0.1, 4 client actors x 8 in flight",
     "the same through the in-process manager"},
    {"empty_commit", "commit", 0.5, workload_kind::flush_put, workload_kind::flush_put,
     target_db::main, 1, 1, 1, 1,
     "one client, sequential write_requests of one put with flush_now",
     "one-put DB::Write, 1 thread, sequential"},
    // sim rows: clients = schedulers (0 = one per core), window = lanes per
    // scheduler, or for sim_chain the batches in flight (sim_shape_of).
    {"sim_chain", "batch", 0.5, workload_kind::multi_batch, workload_kind::multi_batch,
     target_db::sim, 1, 16, 1, 1,
     "vstore-sim --chains 1 --pipeline 16 --no-torn-reader (one scheduler actor, 16 in flight)",
     "vstore-sim --raw --chains 1: one thread, one batch at a time"},
    // sim_state: the chain through a state service (--state) against the
    // sim's own hand-written requests, both through the actors; target 0.5
    // (informational: docs/state.md, Costs).
    {"sim_state", "batch", 0.5, workload_kind::multi_batch, workload_kind::multi_batch,
     target_db::sim, 1, 16, 1, 1,
     "vstore-sim --chains 1 --pipeline 16 --state --no-torn-reader (a state service, 16 applies in flight)",
     "vstore-sim --chains 1 --pipeline 16 --no-torn-reader: the sim's hand-written requests"},
    {"sim_lanes", "batch", 0.8, workload_kind::multi_batch, workload_kind::multi_batch,
     target_db::sim, 0, 16, 0, 1,
     "vstore-sim default shape, --no-torn-reader: a scheduler actor per core x 16 lanes",
     "vstore-sim --raw: one thread per scheduler running its 16 lanes"},
    {"remote_get", "get", 0.5, workload_kind::get, workload_kind::get, target_db::remote,
     4, 8, 4, 1,
     "single-key gets through vstored on 127.0.0.1, 4 client actors x 8 in flight",
     "redis-server on 127.0.0.1, GET pipelined 8 on 4 connections", baseline::redis},
    {"remote_put", "put", 0.5, workload_kind::put, workload_kind::put, target_db::remote,
     4, 8, 4, 1,
     "single puts through vstored (WAL, no fsync), 4 client actors x 8 in flight",
     "redis-server, appendonly yes, appendfsync everysec, SET pipelined 8 on 4 connections",
     baseline::redis},
    {"remote_rtt", "p50 µs", 2, workload_kind::get, workload_kind::get, target_db::remote,
     1, 1, 1, 1,
     "one get at a time through vstored (blocking vstore::client), p50 latency",
     "redis-server, one GET at a time, p50 latency", baseline::redis_latency},
    // The replica rows run last, after every other row: the replica follows
    // the remote rows' vstored (its primary) and would apply their writes.
    {"follower_multi_get", "key", 0.8, workload_kind::multi_get, workload_kind::multi_get,
     target_db::replica, 4, 8, 0, multi_get_keys,
     "multi_get of 32 through a read replica vstored (--follow) on 127.0.0.1, 4 client actors x "
     "8 in flight, while its primary takes 2k puts/s",
     "the same through the primary vstored, same load", baseline::primary},
    // clients = lag probers (each writes on the primary, then reads the key
    // back on the replica with min_seq), one at a time each.
    {"replication_lag", "lag ms", 50, workload_kind::put, workload_kind::put, target_db::replica,
     2, 1, 0, 1,
     "p99 time from a commit_ack on the primary to the answer of a get with min_seq = its seq "
     "on the replica, 2 probers, under a put load of 50% of the primary's remote put capacity",
     "p50 of the same probes", baseline::lag_bound},
  };
  return all;
}
// clang-format on

/// Everything the scenarios share.
struct context {
  bench_args args;
  std::unique_ptr<temp_dir> tmp;
  options base;
  std::unique_ptr<actor_side> actors;
  std::optional<size_t> main_slot;
  std::unique_ptr<raw_db> main_raw;
  std::optional<size_t> remote_slot;
  std::string remote_skip;
  std::unique_ptr<child_process> vstored;
  /// vstored's port on 127.0.0.1 (remote_rtt's blocking client connects to it).
  uint16_t remote_port = 0;
  /// The redis-server baselines of remote_get, remote_put and remote_rtt.
  std::unique_ptr<redis_side> redis;
  /// CAF 0.17's floor of those rows: an echo server (floor_side.hpp).
  std::unique_ptr<floor_side> floor;
  /// empty_commit's floor: the commit path's shape without vstore
  /// (actor_side::open_commit_floor), writing into main_raw.
  std::optional<size_t> hop_floor_slot;
  /// The read replica of the replica rows, following `vstored`; its port and
  /// slot, or why it did not start.
  std::unique_ptr<child_process> replica;
  std::optional<size_t> replica_slot;
  std::string replica_skip;
  /// Written keys so far (both sides write the same numbers in a repetition).
  uint64_t write_counter = 0;
};

void progress(const std::string& text) { std::cerr << text << std::endl; }

std::string describe_settings(const options& o) {
  std::string s = "block cache " + format_mib(o.db.block_cache_bytes) + " shared, write buffer " +
                  format_mib(o.db.write_buffer_bytes) + ", " +
                  to_name(o.schema.spaces[bench_space].options.comp) + ", bloom " +
                  std::to_string(o.schema.spaces[bench_space].options.bloom_bits) +
                  " bits, prefix extractor " +
                  std::to_string(o.schema.spaces[bench_space].options.prefix_length) +
                  " B on data, WAL on, sync " + (o.db.sync ? "on" : "off") +
                  " (on for put_small_sync), parallelism " + std::to_string(o.db.parallelism) +
                  ", " + std::to_string(o.db.max_background_jobs) + " background jobs";
  return s;
}

options options_at(const options& base, const std::string& path) {
  auto o = base;
  o.db.path = path;
  return o;
}

client_plan plan_of(const context& ctx, const scenario& sc) {
  client_plan p;
  p.clients = sc.clients;
  p.window = sc.window;
  // In-process clients send untimed requests, as the README recommends: the
  // manager answers every admitted request within supervisor.internal-timeout.
  // Through vstored a lost connection must also be bounded: timed requests.
  if (sc.where != target_db::remote && sc.where != target_db::replica && !ctx.args.timed_requests)
    p.request_timeout = std::chrono::milliseconds(0);
  if (sc.vstore_kind != workload_kind::flush_put) {
    if (ctx.args.clients) p.clients = *ctx.args.clients;
    if (ctx.args.window) p.window = *ctx.args.window;
  }
  return p;
}

/// The shape of a sim row: sim_chain is one chain `window` batches deep
/// (sim_state the same chain, its vstore side with --state),
/// sim_lanes `clients` schedulers (0 = one per core) x `window` lanes
/// (--clients and --window override them); --ops sets the batches per
/// scheduler.
sim_shape sim_shape_of(const context& ctx, const scenario& sc, bool warm_up) {
  sim_shape s;
  auto window = static_cast<uint32_t>(ctx.args.window ? *ctx.args.window : sc.window);
  if (std::string{sc.name} == "sim_chain" || std::string{sc.name} == "sim_state") {
    s.pipeline = window;
  } else {
    s.schedulers = static_cast<uint32_t>(ctx.args.clients ? *ctx.args.clients : sc.clients);
    s.lanes = window;
  }
  s.batches = ctx.args.ops ? *ctx.args.ops : sim_batches(s, ctx.args.full);
  if (warm_up) s.batches = std::max<uint64_t>(s.batches / 4, 1);
  return s;
}

/// Returns the workload of one repetition of one side, made right before
/// that side runs: timed repetitions get their deadline, or (--ops) a fixed
/// number of requests.
workload workload_of(const context& ctx, uint64_t seed, workload_kind kind, bool warm_up) {
  workload w;
  w.kind = kind;
  w.seed = seed;
  w.key_count = ctx.args.keys;
  w.write_base = ctx.write_counter;
  if (ctx.args.ops) {
    w.requests = warm_up ? std::max<uint64_t>(*ctx.args.ops / 4, 1) : *ctx.args.ops;
  } else {
    w.requests = issuer_stride;
    auto d = rep_time_of(ctx.args);
    w.deadline = clock_type::now() + (warm_up ? d / 4 : d);
  }
  return w;
}

/// Starts vstored on a loaded copy of the data and connects to it; on
/// failure ctx.remote_skip says why.
void start_remote(context& ctx) {
  auto exe = ctx.args.vstored.empty() ? executable_dir() + "/vstored" : ctx.args.vstored;
  if (access(exe.c_str(), X_OK) != 0) {
    ctx.remote_skip = "vstored not found (" + exe + ")";
    return;
  }
  auto opts = options_at(ctx.base, ctx.tmp->path() + "/remote");
  progress("loading " + std::to_string(ctx.args.keys) + " keys for vstored");
  if (auto st = create_loaded_database(opts, ctx.args.keys); !st) {
    ctx.remote_skip = "cannot load its database: " + st.to_string();
    return;
  }
  // The same vstore::options (hence RocksDB settings) as the in-process side.
  auto ini = ctx.tmp->path() + "/vstored.ini";
  {
    std::ofstream f{ini};
    f << config::to_ini(opts);
    if (!f) {
      ctx.remote_skip = "cannot write " + ini;
      return;
    }
  }
  std::vector<std::string> argv = {exe, "--config", ini, "--port", "0", "--log-level", "warn"};
  if (ctx.args.max_threads > 0) {
    argv.push_back("--max-threads");
    argv.push_back(std::to_string(ctx.args.max_threads));
  }
  auto log = ctx.tmp->path() + "/vstored.log";
  if (auto st = child_process::start(argv, log, ctx.vstored); !st) {
    ctx.remote_skip = "cannot start vstored: " + st.to_string();
    return;
  }
  std::string line;
  if (auto st = ctx.vstored->wait_for_line("vstored listening on ", std::chrono::seconds(30), line);
      !st) {
    std::ifstream l{log};
    std::string text{std::istreambuf_iterator<char>{l}, {}};
    ctx.remote_skip = "vstored did not start: " + st.to_string() + "; its log: " + text;
    ctx.vstored.reset();
    return;
  }
  auto colon = line.rfind(':');
  auto port = static_cast<uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
  size_t slot = 0;
  if (auto st = ctx.actors->connect(port, slot); !st) {
    ctx.remote_skip = "cannot connect to vstored: " + st.to_string();
    return;
  }
  ctx.remote_slot = slot;
  ctx.remote_port = port;
  progress("vstored (pid " + std::to_string(ctx.vstored->pid()) + ") listening on port " +
           std::to_string(port));
}

void add_error(row& r, bool vstore_side, const rep_result& res) {
  if (res.errors == 0) return;
  if (r.vstore_errors + r.raw_errors == 0)
    r.first_error = std::string{vstore_side ? "vstore: " : "raw: "} + res.first_error;
  (vstore_side ? r.vstore_errors : r.raw_errors) += res.errors;
}

/// Waits until the replica has applied the primary's log through the
/// primary's sequence number as it was when the wait began (polling both
/// statuses every 10 ms, at most `timeout`). Returns the time it took.
status wait_caught_up(context& ctx, std::chrono::milliseconds timeout, double& seconds) {
  auto t0 = clock_type::now();
  status_reply p;
  if (auto st = ctx.actors->status_of(*ctx.remote_slot, p); !st)
    return {st.code(), "status of the primary: " + st.to_string()};
  for (;;) {
    status_reply r;
    if (auto st = ctx.actors->status_of(*ctx.replica_slot, r); !st)
      return {st.code(), "status of the replica: " + st.to_string()};
    const auto& v = r.replication.replica;
    if (r.replication.role != "replica")
      return {errc::internal, "the replica reports the role " + r.replication.role};
    if (v.state == "resync needed")
      return {errc::resync_needed, "the replica needs a resync: " + v.last_error};
    seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (v.applied_seq >= p.sequence) return {};
    if (clock_type::now() - t0 > timeout)
      return {errc::timeout, "the replica applied " + std::to_string(v.applied_seq) +
                                 " of the primary's " + std::to_string(p.sequence) +
                                 " sequences within " + std::to_string(timeout.count()) +
                                 " ms (state " + v.state + ")"};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// Starts a read replica vstored following the remote one (started first if
/// needed), bootstrapped from its snapshot, connects to it and waits until it
/// applied everything the primary holds; on failure ctx.replica_skip says why.
void start_replica(context& ctx) {
  if (!ctx.remote_slot && ctx.remote_skip.empty()) start_remote(ctx);
  if (!ctx.remote_slot) {
    ctx.replica_skip = "no primary: " + ctx.remote_skip;
    return;
  }
  auto exe = ctx.args.vstored.empty() ? executable_dir() + "/vstored" : ctx.args.vstored;
  // The primary's configuration (start_remote), another data directory: an
  // absent one, so that the replica bootstraps from a snapshot.
  auto ini = ctx.tmp->path() + "/vstored.ini";
  auto dir = ctx.tmp->path() + "/replica";
  std::vector<std::string> argv = {exe,
                                   "--config",
                                   ini,
                                   "--data-dir",
                                   dir,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   "0",
                                   "--follow",
                                   "127.0.0.1:" + std::to_string(ctx.remote_port),
                                   "--log-level",
                                   "warn"};
  if (ctx.args.max_threads > 0) {
    argv.push_back("--max-threads");
    argv.push_back(std::to_string(ctx.args.max_threads));
  }
  auto log = ctx.tmp->path() + "/replica.log";
  auto t0 = clock_type::now();
  if (auto st = child_process::start(argv, log, ctx.replica); !st) {
    ctx.replica_skip = "cannot start the replica: " + st.to_string();
    return;
  }
  std::string line;
  // Its listener opens after the bootstrap copy.
  if (auto st = ctx.replica->wait_for_line("vstored listening on ", std::chrono::seconds(60), line);
      !st) {
    std::ifstream l{log};
    std::string text{std::istreambuf_iterator<char>{l}, {}};
    ctx.replica_skip = "the replica did not start: " + st.to_string() + "; its log: " + text;
    ctx.replica.reset();
    return;
  }
  auto colon = line.rfind(':');
  auto port = static_cast<uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
  size_t slot = 0;
  if (auto st = ctx.actors->connect(port, slot); !st) {
    ctx.replica_skip = "cannot connect to the replica: " + st.to_string();
    return;
  }
  ctx.replica_slot = slot;
  double waited = 0;
  if (auto st = wait_caught_up(ctx, catch_up_timeout, waited); !st) {
    ctx.replica_skip = st.to_string();
    static_cast<void>(ctx.actors->close(slot));
    ctx.replica_slot.reset();
    return;
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "replica vstored (pid %d) on port %u: bootstrapped and caught up in %.2f s",
                static_cast<int>(ctx.replica->pid()), static_cast<unsigned>(port),
                std::chrono::duration<double>(clock_type::now() - t0).count());
  progress(buf);
}

/// Returns the `q` quantile (0..1) of `v` by nearest rank (0 if empty).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

std::string format_ms(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f ms", x);
  return buf;
}

/// follower_multi_get: the multi_gets through the replica (vstore column)
/// and through the primary (raw column), interleaved, while a paced load
/// writes to the primary.
void run_follower(context& ctx, const scenario& sc, row& r) {
  const bool run_vstore = ctx.args.only != "raw";
  const bool run_raw = ctx.args.only != "vstore";
  const auto plan = plan_of(ctx, sc);
  const size_t reps = reps_of(ctx.args);
  workload lw;
  lw.kind = workload_kind::put;
  lw.requests = issuer_stride;
  lw.write_base = ctx.write_counter;
  ctx.write_counter += write_numbers_per_rep;
  load_plan lp;
  lp.rate = follower_load_rate;
  lp.window = follower_load_window;
  if (auto st = ctx.actors->start_load(*ctx.remote_slot, lw, lp); !st) {
    r.skipped = "cannot start the write load: " + st.to_string();
    return;
  }
  auto side = [&](bool replica, uint64_t seed, bool warm_up) {
    auto w = workload_of(ctx, seed, sc.vstore_kind, warm_up);
    // CPU: this process, the node serving the reads, and the other one
    // (the primary writes, the replica applies: both are the load's cost).
    auto cpu0 =
        process_cpu_seconds_of(ctx.vstored->pid()) + process_cpu_seconds_of(ctx.replica->pid());
    auto res = ctx.actors->run(replica ? *ctx.replica_slot : *ctx.remote_slot, w, plan);
    res.cpu_seconds += process_cpu_seconds_of(ctx.vstored->pid()) +
                       process_cpu_seconds_of(ctx.replica->pid()) - cpu0;
    return res;
  };
  if (run_vstore) add_error(r, true, side(true, 1000, true));
  if (run_raw) add_error(r, false, side(false, 1000, true));
  for (size_t rep = 0; rep < reps; ++rep) {
    double v = 0;
    double b = 0;
    auto record = [&](bool replica, samples& rate, samples& cpu) {
      auto res = side(replica, rep + 1, false);
      add_error(r, replica, res);
      auto units = static_cast<double>(res.completed * sc.units_per_request);
      auto x = res.seconds > 0 ? units / res.seconds : 0;
      rate.values.push_back(x);
      if (units > 0) cpu.values.push_back(res.cpu_seconds * 1e6 / units);
      return x;
    };
    if (run_vstore) v = record(true, r.vstore, r.vstore_cpu_us);
    if (run_raw) b = record(false, r.raw, r.raw_cpu_us);
    if (v > 0 && b > 0) r.rep_ratios.values.push_back(v / b);
    progress("[" + r.name + "] rep " + std::to_string(rep + 1) + "/" + std::to_string(reps) +
             ": replica " + format_rate(v) + "/s, primary " + format_rate(b) + "/s");
  }
  auto load = ctx.actors->stop_load();
  if (load.errors > 0) {
    if (r.vstore_errors + r.raw_errors == 0) r.first_error = "write load: " + load.first_error;
    r.vstore_errors += load.errors;
  }
  auto load_rate = load.seconds > 0 ? static_cast<double>(load.completed) / load.seconds : 0;
  status_reply st;
  uint64_t lag_seq = 0;
  if (ctx.actors->status_of(*ctx.replica_slot, st)) lag_seq = st.replication.replica.lag_seq;
  r.figures = {{"load_puts_per_s", load_rate},
               {"load_target_puts_per_s", follower_load_rate},
               {"replica_lag_seq_at_end", static_cast<double>(lag_seq)}};
  r.note = "write load on the primary " + format_rate(load_rate) + " puts/s (paced at " +
           format_rate(follower_load_rate) + "/s, " + std::to_string(follower_load_window) +
           " in flight at most); replica " + std::to_string(lag_seq) +
           " sequences behind at the end";
}

/// replication_lag: calibrates the primary's remote put capacity, then runs
/// the lag probes under a paced load of lag_load_fraction of it. The vstore
/// column is each repetition's p99 lag, the raw column its p50.
void run_lag(context& ctx, const scenario& sc, row& r) {
  if (ctx.args.only == "raw") {
    r.skipped = "no raw side (--only raw)";
    return;
  }
  const size_t reps = reps_of(ctx.args);
  // The remote put capacity, remote_put's shape.
  client_plan cp;
  cp.clients = 4;
  cp.window = 8;
  add_error(
      r, true,
      ctx.actors->run(*ctx.remote_slot, workload_of(ctx, 2000, workload_kind::put, true), cp));
  ctx.write_counter += write_numbers_per_rep;
  samples capacity;
  for (size_t i = 0; i < calibration_reps; ++i) {
    auto res = ctx.actors->run(*ctx.remote_slot,
                               workload_of(ctx, 2001 + i, workload_kind::put, false), cp);
    add_error(r, true, res);
    ctx.write_counter += write_numbers_per_rep;
    if (res.seconds > 0)
      capacity.values.push_back(static_cast<double>(res.completed) / res.seconds);
  }
  const double rate = capacity.median() * lag_load_fraction;
  progress("[" + r.name + "] remote put capacity " + format_rate(capacity.median()) + "/s; load " +
           format_rate(rate) + "/s");
  if (rate <= 0) {
    r.skipped = "the put capacity calibration failed: " + r.first_error;
    return;
  }
  // The calibration's writes reach the replica first.
  double waited = 0;
  if (auto st = wait_caught_up(ctx, catch_up_timeout, waited); !st) {
    r.skipped = "after the calibration: " + st.to_string();
    return;
  }
  workload lw;
  lw.kind = workload_kind::put;
  lw.requests = issuer_stride * lag_load_clients;
  lw.write_base = ctx.write_counter;
  ctx.write_counter += write_numbers_per_rep;
  load_plan lp;
  lp.clients = lag_load_clients;
  lp.window = 8;
  lp.rate = rate;
  if (auto st = ctx.actors->start_load(*ctx.remote_slot, lw, lp); !st) {
    r.skipped = "cannot start the write load: " + st.to_string();
    return;
  }
  const auto plan = plan_of(ctx, sc);
  auto probes = [&](uint64_t seed, bool warm_up) {
    auto w = workload_of(ctx, seed, workload_kind::put, warm_up);
    ctx.write_counter += write_numbers_per_rep;
    return ctx.actors->probe_lag(*ctx.remote_slot, *ctx.replica_slot, w, plan.clients,
                                 plan.request_timeout, plan.rep_timeout);
  };
  auto note = [&](const lag_result& res) {
    if (res.errors == 0) return;
    if (r.vstore_errors + r.raw_errors == 0) r.first_error = "vstore: " + res.first_error;
    r.vstore_errors += res.errors;
  };
  note(probes(1000, true));
  std::vector<double> all;
  double probe_seconds = 0;
  for (size_t rep = 0; rep < reps; ++rep) {
    auto res = probes(rep + 1, false);
    note(res);
    probe_seconds += res.seconds;
    if (res.lags_ms.empty()) continue;
    auto p50 = quantile(res.lags_ms, 0.5);
    auto p99 = quantile(res.lags_ms, 0.99);
    r.vstore.values.push_back(p99);
    r.raw.values.push_back(p50);
    all.insert(all.end(), res.lags_ms.begin(), res.lags_ms.end());
    progress("[" + r.name + "] rep " + std::to_string(rep + 1) + "/" + std::to_string(reps) + ": " +
             std::to_string(res.lags_ms.size()) + " probes, p50 " + format_ms(p50) + ", p99 " +
             format_ms(p99) + ", max " + format_ms(quantile(res.lags_ms, 1)));
  }
  auto load = ctx.actors->stop_load();
  if (load.errors > 0) {
    if (r.vstore_errors + r.raw_errors == 0) r.first_error = "write load: " + load.first_error;
    r.vstore_errors += load.errors;
  }
  auto load_rate = load.seconds > 0 ? static_cast<double>(load.completed) / load.seconds : 0;
  auto probe_rate = probe_seconds > 0 ? static_cast<double>(all.size()) / probe_seconds : 0;
  r.figures = {{"probes", static_cast<double>(all.size())},
               {"pooled_p50_ms", quantile(all, 0.5)},
               {"pooled_p99_ms", quantile(all, 0.99)},
               {"pooled_max_ms", quantile(all, 1)},
               {"remote_put_capacity_per_s", capacity.median()},
               {"load_target_puts_per_s", rate},
               {"load_puts_per_s", load_rate},
               {"probe_puts_per_s", probe_rate}};
  r.note = "all " + std::to_string(all.size()) + " probes: p50 " + format_ms(quantile(all, 0.5)) +
           ", p99 " + format_ms(quantile(all, 0.99)) + ", max " + format_ms(quantile(all, 1)) +
           "; under " + format_rate(load_rate + probe_rate) + " puts/s on the primary (load " +
           format_rate(load_rate) + "/s paced at " + format_rate(rate) + " = " +
           std::to_string(static_cast<int>(lag_load_fraction * 100)) +
           "% of the remote put capacity " + format_rate(capacity.median()) + "/s, probes " +
           format_rate(probe_rate) + "/s)";
}

/// Runs a target_db::replica row (the replica is started on first use).
row run_replica_scenario(context& ctx, const scenario& sc) {
  row r;
  r.name = sc.name;
  r.unit = sc.unit;
  r.target = sc.target;
  r.vstore_what = sc.vstore_what;
  r.raw_what = sc.raw_what;
  if (sc.against == baseline::lag_bound) {
    r.lower_is_better = true;
    r.absolute_target = true;
    r.latency_unit = "ms";
  }
  auto started = clock_type::now();
  reset_peak_rss();
  if (!ctx.replica_slot && ctx.replica_skip.empty()) start_replica(ctx);
  if (!ctx.replica_slot) {
    r.skipped = ctx.replica_skip;
    return r;
  }
  if (sc.against == baseline::lag_bound)
    run_lag(ctx, sc, r);
  else
    run_follower(ctx, sc, r);
  r.peak_rss = peak_rss_bytes();
  r.peer_peak_rss = peak_rss_bytes_of(ctx.replica->pid());
  r.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  return r;
}

/// Flushes the memtables of the main databases (vstore's and raw's) and waits
/// for the flushes, so that a row does not pay for flushing what the rows
/// before it wrote: RocksDB's flush threads take a core from whichever side
/// runs while they work. A failure is reported and the row still runs.
void settle_main(context& ctx) {
  if (ctx.main_slot)
    if (auto st = ctx.actors->settle(*ctx.main_slot); !st)
      progress("settling the vstore database: " + st.to_string());
  if (ctx.main_raw)
    if (auto st = ctx.main_raw->settle(); !st)
      progress("settling the raw database: " + st.to_string());
}

row run_scenario(context& ctx, const scenario& sc) {
  if (sc.where == target_db::replica) return run_replica_scenario(ctx, sc);
  if (sc.where == target_db::main) settle_main(ctx);
  row r;
  r.name = sc.name;
  r.unit = sc.unit;
  r.target = sc.target;
  r.lower_is_better = sc.against == baseline::redis_latency;
  r.vstore_what = sc.vstore_what;
  r.raw_what = sc.raw_what;
  auto started = clock_type::now();
  reset_peak_rss();
  const bool run_vstore = ctx.args.only != "raw";
  const bool run_raw = ctx.args.only != "vstore";

  // Where each side runs.
  std::optional<size_t> vstore_slot = ctx.main_slot;
  std::optional<size_t> baseline_slot;  // remote: the in-process manager
  raw_db* raw = ctx.main_raw.get();
  std::unique_ptr<raw_db> sync_raw;
  std::optional<size_t> sync_slot;
  std::optional<size_t> sync_floor_slot;
  bool run_floor = false;
  bool run_ceiling = false;  // put_small_sync: the disk's ceiling
  if (sc.where == target_db::remote) {
    // Redis first: without it the row is skipped before vstored starts.
    if (sc.against != baseline::usual) {
      if (!ctx.redis) ctx.redis = std::make_unique<redis_side>(ctx.tmp->path());
      r.skipped = ctx.redis->prepare(sc.raw_kind, ctx.args.keys);
      if (!r.skipped.empty()) return r;
    }
    if (!ctx.remote_slot && ctx.remote_skip.empty()) start_remote(ctx);
    if (!ctx.remote_slot) {
      r.skipped = ctx.remote_skip;
      return r;
    }
    vstore_slot = ctx.remote_slot;
    if (sc.against == baseline::usual) baseline_slot = ctx.main_slot;
    if (sc.against != baseline::usual && run_vstore) {  // CAF's floor as a third side
      if (!ctx.floor)
        ctx.floor = std::make_unique<floor_side>(executable_dir() + "/vstore-hop-floor",
                                                 ctx.args.max_threads, ctx.tmp->path());
      r.floor_skipped = ctx.floor->prepare(*ctx.actors);
      run_floor = r.floor_skipped.empty();
    }
  } else if (sc.where == target_db::sync) {
    auto o = ctx.base;
    o.db.sync = true;
    size_t slot = 0;
    if (auto st = ctx.actors->open_manager(options_at(o, ctx.tmp->path() + "/sync-vstore"), slot);
        !st) {
      r.skipped = "cannot open the synced store: " + st.to_string();
      return r;
    }
    sync_slot = slot;
    vstore_slot = slot;
    if (auto st = raw_db::open(options_at(o, ctx.tmp->path() + "/sync-raw"), sync_raw); !st) {
      r.skipped = "cannot open the synced raw database: " + st.to_string();
      static_cast<void>(ctx.actors->close(slot));
      return r;
    }
    raw = sync_raw.get();
    // The disk's ceiling, and the hop floor: the same clients through the
    // commit path's actors with group commit at its best, writing into the
    // synced raw database.
    run_ceiling = run_vstore && run_raw;
    if (run_ceiling) {
      auto p = plan_of(ctx, sc);
      size_t fslot = 0;
      auto* db = sync_raw.get();
      if (auto st = ctx.actors->open_sync_floor(
              [db](const std::vector<write_op>& ops) { return db->write(ops); },
              p.clients * p.window, fslot);
          st)
        sync_floor_slot = fslot;
      else
        r.floor_skipped = st.to_string();
    }
    run_floor = sync_floor_slot.has_value();
    r.floor_is_hops = true;
    r.floor_shape =
        "the same clients through three actors shaped like the commit path (manager -> writer "
        "-> commit actor) with group commit at its best: the first passes each write on, the "
        "second gathers the writes that arrive while its mailbox has more into one message, "
        "the third knows how many writes are in flight and writes a round when all of them "
        "are there, with one synced DB::Write on a detached I/O thread";
  } else if (std::string{sc.name} == "empty_commit" && run_vstore && run_raw) {
    // The hop floor: the same client through three actors, the first two
    // only passing the write on, the last writing it into the raw database
    // and answering the client.
    if (!ctx.hop_floor_slot) {
      size_t slot = 0;
      auto* db = ctx.main_raw.get();
      if (auto st = ctx.actors->open_commit_floor(
              [db](const std::vector<write_op>& ops) { return db->write(ops); }, slot);
          st)
        ctx.hop_floor_slot = slot;
      else
        r.floor_skipped = st.to_string();
    }
    run_floor = ctx.hop_floor_slot.has_value();
    r.floor_is_hops = true;
    r.floor_shape =
        "the same client through three actors shaped like the commit path (manager -> writer "
        "-> commit actor, the first two only passing the write on; the last writes it with one "
        "DB::Write on its scheduler thread and answers the client)";
  }

  const auto plan = plan_of(ctx, sc);
  const size_t reps = reps_of(ctx.args);
  // A workload for one side, made right before that side runs: timed
  // repetitions get their deadline, or (--ops) a fixed number of requests.
  auto make_workload = [&](uint64_t seed, workload_kind kind, bool warm_up) {
    return workload_of(ctx, seed, kind, warm_up);
  };
  // sim_state: both sides run through the actors; only the vstore side has
  // --state (the raw side is the sim's hand-written request path).
  const bool sim_state = std::string{sc.name} == "sim_state";
  auto sim_rep = [&](actor_side* actors, uint64_t seed, bool warm_up, bool state) {
    const char* side = state ? "-state-" : actors ? "-vstore-" : "-raw-";
    auto dir = ctx.tmp->path() + "/" + sc.name + side + std::to_string(seed);
    auto shape = sim_shape_of(ctx, sc, warm_up);
    shape.state = state;
    return run_sim_rep(actors, ctx.base, dir, shape, seed);
  };
  auto vstore_rep = [&](uint64_t seed, bool warm_up) {
    if (sc.where == target_db::sim) return sim_rep(ctx.actors.get(), seed, warm_up, sim_state);
    auto w = make_workload(seed, sc.vstore_kind, warm_up);
    if (sc.where != target_db::remote || !ctx.vstored)
      return ctx.actors->run(*vstore_slot, w, plan);
    // Count vstored's CPU too: it does the server half of the work.
    auto peer0 = process_cpu_seconds_of(ctx.vstored->pid());
    auto res = ctx.actors->run(*vstore_slot, w, plan);
    res.cpu_seconds += process_cpu_seconds_of(ctx.vstored->pid()) - peer0;
    return res;
  };
  auto raw_rep = [&](uint64_t seed, bool warm_up) {
    if (sc.where == target_db::sim)
      return sim_rep(sim_state ? ctx.actors.get() : nullptr, seed, warm_up, false);
    auto w = make_workload(seed, sc.raw_kind, warm_up);
    if (sc.against == baseline::redis) return ctx.redis->run(w, plan.clients, plan.window);
    if (baseline_slot) return ctx.actors->run(*baseline_slot, w, plan);
    return raw->run(w, sc.raw_threads);
  };
  auto units_of = [&](const rep_result& res) {
    return static_cast<double>(res.completed * sc.units_per_request);
  };
  if (sc.against == baseline::redis_latency) {  // p50 latencies, not rates
    latency_plan lp;
    lp.vstored_port = ctx.remote_port;
    lp.vstored_pid = ctx.vstored ? ctx.vstored->pid() : 0;
    lp.floor_port = run_floor ? ctx.floor->port() : 0;
    lp.floor_pid = run_floor ? ctx.floor->pid() : 0;
    lp.reps = reps;
    lp.run_vstore = run_vstore;
    lp.run_redis = run_raw;
    lp.make_workload = [&](uint64_t seed, bool warm_up) {
      return make_workload(seed, sc.vstore_kind, warm_up);
    };
    ctx.redis->run_latency(r, lp);
    r.peak_rss = peak_rss_bytes();
    if (ctx.vstored) r.peer_peak_rss = peak_rss_bytes_of(ctx.vstored->pid());
    r.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    return r;
  }

  // One unmeasured warm-up rep per side (block cache, allocator, threads).
  if (run_vstore) add_error(r, true, vstore_rep(1000, true));
  if (run_raw) add_error(r, false, raw_rep(1000, true));
  auto ceiling_rep = [&](uint64_t seed, bool warm_up) {  // every write in flight in one fsync
    return raw->run(make_workload(seed, workload_kind::put_batched, warm_up), 1,
                    plan.clients * plan.window);
  };
  auto floor_rep = [&](uint64_t seed, bool warm_up) {  // the same work as vstore_rep's
    if (r.floor_is_hops)
      return ctx.actors->run(sync_floor_slot ? *sync_floor_slot : *ctx.hop_floor_slot,
                             make_workload(seed, sc.vstore_kind, warm_up), plan);
    return ctx.floor->run(*ctx.actors, make_workload(seed, sc.vstore_kind, warm_up), plan);
  };
  if (run_floor) add_floor_rep(r, floor_rep(1000, true), sc.units_per_request, false);
  if (run_ceiling) add_ceiling_rep(r, ceiling_rep(1000, true), sc.units_per_request, false);
  ctx.write_counter += write_numbers_per_rep;
  // The commit path's counters around the measured repetitions.
  const bool local_writes = run_vstore && sc.where != target_db::remote &&
                            sc.where != target_db::sim && sc.vstore_kind != workload_kind::get &&
                            sc.vstore_kind != workload_kind::multi_get &&
                            sc.vstore_kind != workload_kind::scan;
  commit_counters before;
  if (local_writes) static_cast<void>(ctx.actors->counters(*vstore_slot, before));
  for (size_t rep = 0; rep < reps; ++rep) {
    double v = 0;
    double b = 0;
    if (run_vstore) {
      auto res = vstore_rep(rep + 1, false);
      add_error(r, true, res);
      auto units = units_of(res);
      v = res.seconds > 0 ? units / res.seconds : 0;
      r.vstore.values.push_back(v);
      if (units > 0) r.vstore_cpu_us.values.push_back(res.cpu_seconds * 1e6 / units);
    }
    if (run_raw) {
      auto res = raw_rep(rep + 1, false);
      add_error(r, false, res);
      auto units = units_of(res);
      b = res.seconds > 0 ? units / res.seconds : 0;
      r.raw.values.push_back(b);
      if (units > 0) r.raw_cpu_us.values.push_back(res.cpu_seconds * 1e6 / units);
    }
    if (run_floor) add_floor_rep(r, floor_rep(rep + 1, false), sc.units_per_request, true);
    if (run_ceiling) add_ceiling_rep(r, ceiling_rep(rep + 1, false), sc.units_per_request, true);
    ctx.write_counter += write_numbers_per_rep;
    if (v > 0 && b > 0) r.rep_ratios.values.push_back(v / b);
    progress("[" + r.name + "] rep " + std::to_string(rep + 1) + "/" + std::to_string(reps) +
             ": vstore " + format_rate(v) + "/s, " +
             (sc.against == baseline::redis ? "redis "
              : baseline_slot               ? "in-process "
                                            : "raw ") +
             format_rate(b) + "/s" +
             (run_floor ? ", CAF floor " + format_rate(r.floor.values.back()) + "/s" : "") +
             (run_ceiling ? ", disk ceiling " + format_rate(r.ceiling.values.back()) + "/s" : ""));
  }
  commit_counters after;
  if (local_writes && ctx.actors->counters(*vstore_slot, after)) {
    r.db_writes = after.rounds - before.rounds;
    r.db_write_ops = after.round_ops - before.round_ops;
    for (size_t k = 0; k < flush_reason_count && k < after.seals_by_reason.size(); ++k) {
      auto n = after.seals_by_reason[k] -
               (k < before.seals_by_reason.size() ? before.seals_by_reason[k] : 0);
      if (n > 0) r.seals.emplace_back(to_name(static_cast<flush_reason>(k)), n);
    }
    r.sealed_batches = after.seals - before.seals;
    std::string seals;
    for (const auto& [why, n] : r.seals) seals += " " + why + "=" + std::to_string(n);
    seals += ", " + std::to_string(r.sealed_batches) + " sent, the rest joined one waiting";
    if (r.db_writes > 0)
      progress("[" + r.name + "] vstore: " + std::to_string(r.db_writes) + " DB::Write calls, " +
               std::to_string(r.db_write_ops / r.db_writes) + " ops each (" +
               std::to_string(after.rounds_offloaded - before.rounds_offloaded) +
               " on the I/O thread, " + std::to_string(after.slow_rounds - before.slow_rounds) +
               " slow inline); seals:" + seals);
  }
  r.peak_rss = peak_rss_bytes();
  if (sc.where == target_db::remote && ctx.vstored)
    r.peer_peak_rss = peak_rss_bytes_of(ctx.vstored->pid());
  if (sync_floor_slot) static_cast<void>(ctx.actors->close(*sync_floor_slot));
  if (sync_slot) {
    if (auto st = ctx.actors->close(*sync_slot); !st)
      progress("warning: closing the synced store: " + st.to_string());
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  return r;
}

// -- allocator comparison ------------------------------------------------------------

/// The raw loops the allocator rows compare.
struct alloc_loop {
  const char* name;
  const char* unit;
  workload_kind kind;
  uint64_t units_per_request;
};

const alloc_loop alloc_loops[] = {
    {"get", "get", workload_kind::get, 1},
    {"multi_get", "key", workload_kind::multi_get, multi_get_keys},
    {"put", "put", workload_kind::put, 1},
};

/// --raw-child DIR: runs every allocator loop once (after a warm-up) on the
/// loaded database in DIR and prints "raw-child NAME RATE" lines.
int raw_child_main(const bench_args& args) {
  options o;
  o.db.path = args.raw_child;
  std::unique_ptr<raw_db> db;
  if (auto st = raw_db::open(o, db); !st) {
    std::cerr << "vstore-bench --raw-child: " << st.to_string() << '\n';
    return 1;
  }
  uint64_t write_base = static_cast<uint64_t>(getpid()) << 40;
  for (const auto& l : alloc_loops) {
    for (int warm_up = 1; warm_up >= 0; --warm_up) {
      workload w;
      w.kind = l.kind;
      w.key_count = args.keys;
      w.seed = 7;
      w.write_base = write_base;
      write_base += write_numbers_per_rep;
      if (args.ops) {
        w.requests = *args.ops;
      } else {
        w.requests = issuer_stride;
        auto d = rep_time_of(args);
        w.deadline = clock_type::now() + d;  // a fresh process: warm up as long as it measures
      }
      auto res = db->run(w, 2);
      if (res.errors > 0) {
        std::cerr << "vstore-bench --raw-child: " << res.first_error << '\n';
        return 1;
      }
      if (warm_up) continue;
      auto units = static_cast<double>(res.completed * l.units_per_request);
      std::cout << "raw-child " << l.name << " " << units / res.seconds << " "
                << res.cpu_seconds * 1e6 / units << std::endl;
    }
  }
  return 0;
}

/// Adds the rows jemalloc (this binary) vs glibc malloc (vstore-bench-glibc):
/// alternating child processes on one loaded database.
void allocator_rows(context& ctx, std::vector<row>& rows) {
  std::vector<row> out;
  for (const auto& l : alloc_loops) {
    row r;
    r.name = std::string{"alloc_"} + l.name;
    r.unit = l.unit;
    r.target = 0;
    r.vstore_what = std::string{"raw "} + l.name + " loop, 2 threads, " + allocator_name();
    r.raw_what = std::string{"raw "} + l.name + " loop, 2 threads, vstore-bench-glibc";
    out.push_back(r);
  }
  auto self_exe = executable_dir() + "/vstore-bench";
  auto glibc_exe = executable_dir() + "/vstore-bench-glibc";
  std::string skip;
  if (access(glibc_exe.c_str(), X_OK) != 0) skip = "vstore-bench-glibc not found";
  if (skip.empty() && allocator_name().rfind("jemalloc", 0) != 0)
    skip = "this binary does not use jemalloc";
  auto dir = ctx.tmp->path() + "/alloc";
  if (skip.empty()) {
    if (auto st = create_loaded_database(options_at(ctx.base, dir), ctx.args.keys); !st)
      skip = "cannot load: " + st.to_string();
  }
  const size_t rounds = reps_of(ctx.args);
  for (size_t round = 0; round < rounds && skip.empty(); ++round) {
    for (int which = 0; which < 2 && skip.empty(); ++which) {
      std::vector<std::string> argv = {which == 0 ? self_exe : glibc_exe, "--raw-child", dir,
                                       "--keys", std::to_string(ctx.args.keys)};
      if (ctx.args.ops) {
        argv.push_back("--ops");
        argv.push_back(std::to_string(*ctx.args.ops));
      }
      if (ctx.args.rep_ms) {
        argv.push_back("--rep-ms");
        argv.push_back(std::to_string(*ctx.args.rep_ms));
      }
      std::unique_ptr<child_process> child;
      if (auto st = child_process::start(argv, ctx.tmp->path() + "/alloc.log", child); !st) {
        skip = st.to_string();
        break;
      }
      for (size_t i = 0; i < out.size(); ++i) {
        std::string line;
        auto prefix = std::string{"raw-child "} + alloc_loops[i].name + " ";
        if (auto st = child->wait_for_line(prefix, std::chrono::seconds(120), line); !st) {
          skip = "child failed: " + st.to_string();
          break;
        }
        char* rest = nullptr;
        auto rate = std::strtod(line.c_str() + prefix.size(), &rest);
        auto cpu = std::strtod(rest, nullptr);
        (which == 0 ? out[i].vstore : out[i].raw).values.push_back(rate);
        (which == 0 ? out[i].vstore_cpu_us : out[i].raw_cpu_us).values.push_back(cpu);
      }
      child->stop(std::chrono::seconds(10));
    }
    progress("[allocators] round " + std::to_string(round + 1) + "/" + std::to_string(rounds));
  }
  for (auto& r : out) {
    if (!skip.empty()) r.skipped = skip;
    rows.push_back(std::move(r));
  }
}

int run(bench_args args) {
  auto started = clock_type::now();
  context ctx;
  ctx.args = std::move(args);

  // The scenarios to run, in perf.md's order.
  std::vector<const scenario*> selected;
  for (const auto& name : ctx.args.scenarios) {
    if (name == "all") continue;
    auto i = std::find_if(scenarios().begin(), scenarios().end(),
                          [&](const scenario& s) { return name == s.name; });
    if (i == scenarios().end()) {
      std::cerr << "vstore-bench: unknown scenario '" << name << "' (see --list)\n";
      return 2;
    }
  }
  bool all = (ctx.args.scenarios.empty() && ctx.args.sweeps.empty()) ||
             std::find(ctx.args.scenarios.begin(), ctx.args.scenarios.end(), "all") !=
                 ctx.args.scenarios.end();
  for (const auto& s : scenarios())
    if (all || std::find(ctx.args.scenarios.begin(), ctx.args.scenarios.end(), s.name) !=
                   ctx.args.scenarios.end())
      selected.push_back(&s);

  if (auto st = temp_dir::make(ctx.args.dir, ctx.tmp); !st) {
    std::cerr << "vstore-bench: " << st.to_string() << '\n';
    return 1;
  }
  // vstore's defaults (plus --set): both sides use exactly these settings.
  ctx.base = options{};
  ctx.base.db.path = ctx.tmp->path() + "/base";  // each database gets its own path
  for (const auto& kv : ctx.args.sets) {
    auto eq = kv.find('=');
    auto dot = kv.rfind('.', eq);
    auto text = "[" + kv.substr(0, dot) + "]\n" + kv.substr(dot + 1, eq - dot - 1) + " = " +
                kv.substr(eq + 1) + "\n";
    if (auto st = config::parse_ini(text, ctx.base); !st) {
      std::cerr << "vstore-bench: --set " << kv << ": " << st.to_string() << '\n';
      return 2;
    }
  }

  bool needs_main = std::any_of(selected.begin(), selected.end(), [](const scenario* s) {
    return s->where != target_db::sync && s->where != target_db::sim;
  });
  actor_settings as;
  as.max_threads = ctx.args.max_threads;
  as.caf_options = ctx.args.cafs;
  if (auto st = actor_side::start(as, ctx.actors); !st) {
    std::cerr << "vstore-bench: " << st.to_string() << '\n';
    return 1;
  }
  if (needs_main) {
    progress("loading " + std::to_string(ctx.args.keys) +
             " keys into the vstore and raw databases");
    auto vopts = options_at(ctx.base, ctx.tmp->path() + "/vstore");
    if (auto st = create_loaded_database(vopts, ctx.args.keys); !st) {
      std::cerr << "vstore-bench: loading the vstore database: " << st.to_string() << '\n';
      return 1;
    }
    size_t slot = 0;
    if (auto st = ctx.actors->open_manager(vopts, slot); !st) {
      std::cerr << "vstore-bench: opening the vstore store: " << st.to_string() << '\n';
      return 1;
    }
    ctx.main_slot = slot;
    if (auto st = raw_db::open(options_at(ctx.base, ctx.tmp->path() + "/raw"), ctx.main_raw); !st) {
      std::cerr << "vstore-bench: opening the raw database: " << st.to_string() << '\n';
      return 1;
    }
    if (auto st = ctx.main_raw->load(ctx.args.keys); !st) {
      std::cerr << "vstore-bench: loading the raw database: " << st.to_string() << '\n';
      return 1;
    }
  }

  // Run reads before writes (writes grow the memtables the reads search);
  // print in perf.md's order.
  std::map<std::string, row> results;
  auto is_read = [](const scenario* s) {
    return s->vstore_kind == workload_kind::get || s->vstore_kind == workload_kind::multi_get ||
           s->vstore_kind == workload_kind::scan;
  };
  // The replica rows last: the replica follows vstored and would apply the
  // other remote rows' writes meanwhile.
  auto pass_of = [&](const scenario* s) {
    return s->where == target_db::replica ? 2 : is_read(s) ? 0 : 1;
  };
  for (int pass = 0; pass < 3; ++pass)
    for (const auto* s : selected)
      if (pass_of(s) == pass) results[s->name] = run_scenario(ctx, *s);
  std::vector<row> rows;
  for (const auto* s : selected) rows.push_back(results[s->name]);
  if (ctx.args.allocators) allocator_rows(ctx, rows);
  // --sweep: after the rows, in databases of their own (bench/sweep.hpp).
  std::vector<sweep_result> sweeps;
  if (!ctx.args.sweeps.empty())
    sweeps = run_sweeps(*ctx.actors, ctx.base, ctx.tmp->path(), ctx.args, progress);

  // Shut down: drain the managers, stop vstored, close the raw database.
  const auto scheduler_threads = ctx.actors->scheduler_threads();
  ctx.actors.reset();
  ctx.redis.reset();
  if (ctx.replica) ctx.replica->stop(std::chrono::seconds(15));
  if (ctx.vstored) ctx.vstored->stop(std::chrono::seconds(15));
  ctx.floor.reset();
  ctx.main_raw.reset();

  run_info info;
  info.mode = ctx.args.full ? "full" : "quick";
  info.allocator = allocator_name();
  info.build_type = VSTORE_BENCH_BUILD_TYPE;
  info.scheduler_threads = scheduler_threads;
  info.raw_threads = 2;
  info.keys = ctx.args.keys;
  info.reps = reps_of(ctx.args);
  info.rocksdb_settings = describe_settings(ctx.base);
  info.lifetime_peak_rss = lifetime_peak_rss_bytes();
  info.seconds = std::chrono::duration<double>(clock_type::now() - started).count();

  auto& out = std::cout;
  out << "vstore-bench --" << info.mode << ": " << info.build_type << " build, " << info.allocator
      << ", CAF scheduler threads " << info.scheduler_threads << ", " << info.keys
      << " keys (16 B keys, 100 B values, flushed to SST), " << info.reps
      << " reps per side after 1 warm-up, interleaved vstore/raw\n";
  out << "RocksDB settings on both sides (make_rocksdb_settings of the same vstore::options";
  if (ctx.args.sets.empty()) out << ", vstore's defaults";
  for (const auto& kv : ctx.args.sets) out << ", --set " << kv;
  for (const auto& kv : ctx.args.cafs) out << ", --caf " << kv;
  out << "): " << info.rocksdb_settings << "\n";
  out << "remote_multi_get: the raw column is the same multi_get through the in-process manager";
  out << "; remote_get, remote_put, remote_rtt: the raw column is redis-server on 127.0.0.1"
      << " (remote_rtt: p50 latency in µs, lower is better)";
  out << "; follower_multi_get: the vstore column through a read replica, the raw column through"
         " its primary (both vstored, a paced put load on the primary)";
  out << "; replication_lag: the vstore column is the p99 lag in ms (lower is better), the raw"
         " column the p50 of the same probes, the ratio p99 / the 50 ms bound";
  if (ctx.args.allocators) out << "; alloc_*: vstore column = jemalloc, raw column = glibc malloc";
  out << "\n\n";
  if (!rows.empty() || sweeps.empty()) print_table(out, rows);
  print_sweeps(out, sweeps);
  out << "total " << std::fixed;
  out.precision(1);
  out << info.seconds << " s, lifetime peak RSS " << format_mib(info.lifetime_peak_rss) << "\n";
  out << summary_line(rows) << std::endl;
  if (!ctx.args.json.empty()) {
    auto extra = ctx.args.sweeps.empty() ? std::string{} : sweeps_json(sweeps);
    if (auto st = write_json(ctx.args.json, info, rows, extra); !st) {
      std::cerr << "vstore-bench: " << st.to_string() << '\n';
      return 1;
    }
  }
  bool errors = std::any_of(rows.begin(), rows.end(),
                            [](const row& r) { return r.vstore_errors + r.raw_errors > 0; });
  errors = errors || sweep_errors(sweeps);
  return errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bench_args args;
  if (auto err = parse_args(argc, argv, args)) {
    std::cerr << "vstore-bench: " << *err << "\n(see --help)\n";
    return 2;
  }
  if (args.version) {
    std::cout << "vstore-bench " << vstore::version_string << "\n";
    return 0;
  }
  if (args.help) {
    std::cout << help_text();
    return 0;
  }
  if (args.list) {
    for (const auto& s : scenarios())
      std::cout << s.name << ": vstore: " << s.vstore_what << "; raw: " << s.raw_what
                << (s.against == baseline::redis_latency || s.against == baseline::lag_bound
                        ? "; target <= "
                        : "; target >= ")
                << s.target << (s.against == baseline::lag_bound ? " ms" : "") << "\n";
    return 0;
  }
  if (!args.raw_child.empty()) return raw_child_main(args);
  if (std::string{VSTORE_BENCH_BUILD_TYPE} != "Release")
    std::cerr << "vstore-bench: warning: a " << VSTORE_BENCH_BUILD_TYPE
              << " build; perf.md's figures are for Release builds\n";
  return run(std::move(args));
}
