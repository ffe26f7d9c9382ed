#include "tools/vstore-sim/cli.hpp"

#include <charconv>
#include <limits>
#include <string_view>

#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

namespace {

status bad(std::string what) { return {errc::invalid_argument, std::move(what)}; }

template <class T>
bool parse_uint(std::string_view text, T& out, uint64_t lo, uint64_t hi) {
  uint64_t x = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc{} || end != text.data() + text.size() || x < lo || x > hi) return false;
  out = static_cast<T>(x);
  return true;
}

status parse_endpoint(const char* option, std::string_view text, std::string& host,
                      uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return bad(std::string{option} + ": expected HOST:PORT, got '" + std::string{text} + "'");
  if (!parse_uint(text.substr(colon + 1), port, 1, 65535))
    return bad(std::string{option} + ": invalid port in '" + std::string{text} + "'");
  host = std::string{text.substr(0, colon)};
  return {};
}

status check(const sim_options& o) {
  if (o.memory && !o.data_dir.empty()) return bad("--memory and --data-dir exclude each other");
  if (o.remote() && (o.memory || !o.data_dir.empty() || !o.config_file.empty()))
    return bad("--connect excludes --memory, --data-dir and --config");
  if (o.raw && (o.memory || o.remote() || o.verify_only || !o.ack_log.empty() ||
                o.inject_corruption || o.split_commits))
    return bad(
        "--raw runs the workload against RocksDB directly: it excludes --memory, --connect, "
        "--verify-only and --ack-log");
  if ((o.state_unbalance || o.state_skip_restore) && !o.state)
    return bad("--state-unbalance and --state-skip-restore need --state");
  if (o.state) {
    if (!o.verify_only && o.chains != 1)
      return bad("--state drives one chain: it needs --chains 1 (and --pipeline N)");
    if (o.raw || o.range_deletes || o.split_commits || o.inject_corruption || o.torn_port != 0)
      return bad(
          "--state excludes --raw, --range-deletes and --torn-reader-at (the state service "
          "writes its own layout)");
  }
  if (o.torn_port != 0 && (!o.remote() || o.no_torn_reader))
    return bad("--torn-reader-at needs --connect and the torn-state reader");
  if (o.verify_only && o.memory) return bad("--verify-only needs a persistent store, not --memory");
  if (o.verify_only && o.data_dir.empty() && !o.remote())
    return bad("--verify-only needs --data-dir DIR (or --connect)");
  if (o.prune_window > 0 && o.prune_window <= o.rollback_depth)
    return bad("--prune-window must be greater than --rollback-depth (or 0)");
  auto per_lane = o.resources / (o.chains == 1 ? 1 : o.in_flight);
  if (per_lane < 2)
    return bad("--resources must give every lane (--in-flight) at least two resources");
  return {};
}

}  // namespace

status parse_args(int argc, const char* const* argv, sim_options& out) {
  sim_options o;
  bool schedulers_given = false, in_flight_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos && arg.substr(0, 2) == "--") {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto flag = [&](bool& target) {
      if (has_value) return false;
      target = true;
      return true;
    };
    // Takes the option's value from `--opt=value` or from the next argument.
    auto next = [&](std::string_view& v) {
      if (has_value) {
        v = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    auto number = [&](auto& target, uint64_t lo, uint64_t hi) -> status {
      std::string_view v;
      if (!next(v)) return bad(std::string{arg} + " needs a value");
      if (!parse_uint(v, target, lo, hi))
        return bad(std::string{arg} + ": '" + std::string{v} + "' is not an integer in " +
                   std::to_string(lo) + ".." + std::to_string(hi));
      return {};
    };
    auto text = [&](std::string& target) -> status {
      std::string_view v;
      if (!next(v) || v.empty()) return bad(std::string{arg} + " needs a value");
      target = std::string{v};
      return {};
    };
    constexpr auto u32max = std::numeric_limits<uint32_t>::max();
    constexpr auto u64max = std::numeric_limits<uint64_t>::max();
    status st;
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      ok = flag(o.help);
    } else if (arg == "--version") {
      ok = flag(o.version);
    } else if (arg == "--memory") {
      ok = flag(o.memory);
    } else if (arg == "--keep") {
      ok = flag(o.keep);
    } else if (arg == "--verify-only") {
      ok = flag(o.verify_only);
    } else if (arg == "--json") {
      ok = flag(o.json);
    } else if (arg == "--raw") {
      ok = flag(o.raw);
    } else if (arg == "--state") {
      ok = flag(o.state);
    } else if (arg == "--state-unbalance") {
      ok = flag(o.state_unbalance);
    } else if (arg == "--state-skip-restore") {
      ok = flag(o.state_skip_restore);
    } else if (arg == "--range-deletes") {
      ok = flag(o.range_deletes);
    } else if (arg == "--no-torn-reader") {
      ok = flag(o.no_torn_reader);
    } else if (arg == "--no-progress") {
      ok = flag(o.no_progress);
    } else if (arg == "--inject-corruption") {
      ok = flag(o.inject_corruption);
    } else if (arg == "--split-commits") {
      ok = flag(o.split_commits);
    } else if (arg == "--data-dir") {
      st = text(o.data_dir);
    } else if (arg == "--config") {
      st = text(o.config_file);
    } else if (arg == "--ack-log") {
      st = text(o.ack_log);
    } else if (arg == "--connect") {
      std::string v;
      st = text(v);
      if (st) st = parse_endpoint("--connect", v, o.connect_host, o.connect_port);
    } else if (arg == "--torn-reader-at") {
      std::string v;
      st = text(v);
      if (st) st = parse_endpoint("--torn-reader-at", v, o.torn_host, o.torn_port);
    } else if (arg == "--schedulers") {
      st = number(o.schedulers, 1, 4096);
      schedulers_given = true;
    } else if (arg == "--chains") {
      st = number(o.chains, 1, max_chains);
    } else if (arg == "--pipeline") {
      st = number(o.pipeline, 1, 1024);
    } else if (arg == "--resources") {
      st = number(o.resources, 2, uint64_t{1} << 32);
    } else if (arg == "--batches") {
      st = number(o.batches, 0, uint64_t{1} << 39);
    } else if (arg == "--transfers") {
      st = number(o.transfers, 1, 2000);
    } else if (arg == "--seed") {
      st = number(o.seed, 0, u64max);
    } else if (arg == "--in-flight") {
      st = number(o.in_flight, 1, 1024);
      in_flight_given = true;
    } else if (arg == "--rollback-every") {
      st = number(o.rollback_every, 0, u64max);
    } else if (arg == "--rollback-depth") {
      st = number(o.rollback_depth, 1, 100000);
    } else if (arg == "--prune-window") {
      st = number(o.prune_window, 0, uint64_t{1} << 39);
    } else if (arg == "--value-size") {
      st = number(o.value_bytes, 8, 1u << 20);
    } else if (arg == "--timeout") {
      st = number(o.timeout_ms, 1, u32max);
    } else {
      return bad("unknown option '" + std::string{argv[i]} + "'");
    }
    if (!ok) return bad(std::string{arg} + " takes no value");
    if (!st) return st;
  }
  if (o.help) {
    out = o;
    return {};
  }
  if (o.chains > 1)
    return bad(
        "--chains: only 1 (one pipelined chain) is supported; for many chains leave it "
        "out and use --schedulers and --in-flight");
  if (o.pipeline > 0 && o.chains != 1)
    return bad(
        "--pipeline needs --chains 1 (every chain of the multi-chain shape has one "
        "request in flight)");
  if (o.chains == 1) {
    if (schedulers_given || in_flight_given)
      return bad(
          "--chains 1 runs one scheduler with one chain: it excludes --schedulers and "
          "--in-flight (use --pipeline N for batches in flight)");
    if (o.pipeline == 0) o.pipeline = 1;
  }
  if (auto st = check(o); !st) return st;
  out = o;
  return {};
}

std::string help_text() {
  return R"(usage: vstore-sim [options]

The scheduler workload: K scheduler actors commit batches of transfers between
their resources through a StorageManager, roll back their last batches now and
then, prune old versions, and finally verify that the total balance is
conserved and every pointer resolves. Exit code: 0 VERIFIED, 1 FAILED,
2 usage or setup error.

Store:
  --memory              use the memory backend
  --data-dir DIR        RocksDB directory (default: a fresh temporary directory,
                        removed at exit unless --keep); must not hold a
                        vstore-sim run already (except with --verify-only)
  --keep                keep the temporary directory and print its path
  --config FILE         vstore.ini applied on top of the defaults (its [store]
                        path is ignored: use --data-dir)
  --connect HOST:PORT   use a running vstored instead of an embedded store
  --torn-reader-at HOST:PORT
                        run the torn-state reader against this vstored (a
                        read replica of the --connect one) instead

Workload:
  --schedulers K        scheduler actors (default: one per core)
  --resources R         resources per scheduler (default: 1000)
  --batches B           forward batch commits per scheduler (default: 50000)
  --transfers T         transfers per batch, 1..2000 (default: 1)
  --in-flight W         requests each scheduler keeps in flight (default: 16);
                        its resources are split into W lanes, each an
                        independent chain of batches with one request at a time
  --chains 1            one chain of batches, pipelined (one scheduler, one
                        lane; excludes --schedulers and --in-flight); the
                        default is the multi-chain shape above, and no other
                        value is accepted yet
  --pipeline N          with --chains 1: batches in flight, 1..1024
                        (default: 1). Batch n+1 is sent before batch n is
                        acknowledged: it takes latest_ptr and balances of the
                        resources a pending batch wrote from the scheduler's
                        record of pending writes, the rest from the store.
                        Rollbacks and prunes wait for the pipeline to drain
  --rollback-every N    every lane rolls back after every Nth commit
                        (default: 50; 0 = never)
  --rollback-depth M    batches one rollback removes (default: 2)
  --prune-window P      batches a lane keeps revertible; versions made obsolete
                        by older batches are pruned (default: 100; 0 = never)
  --value-size N        bytes per data value, >= 8 (default: 8)
  --range-deletes       remove rollback_ptr entries with one range delete per
                        rollback and prune instead of point deletes (slower
                        with RocksDB: every scan re-fragments the tombstones)
  --seed S              random seed (default: 1)
  --timeout MS          deadline of every request (default: 30000)

State service:
  --state               with --chains 1: drive the chain through a state
                        service (docs/state.md) spawned in this process over
                        the store (embedded or --connect) instead of the
                        sim's hand-written requests (the default, kept to
                        compare the two): per batch one read_latest of the
                        resources it touches and one apply_batch, up to
                        --pipeline applies in flight; rollback_to and
                        prune_below are sent without draining (the service
                        orders them). Genesis: one apply of every resource
                        (more if limits.max-batch-ops is exceeded). The
                        service keeps its layout in the sim's four spaces, so
                        the run has its own verification: head = genesis +
                        live batches, batch_metadata = applies 1..head, the
                        latest balances and read_at at up to 5 indexes from
                        the floor to the head all sum to resources x the
                        initial balance. No torn-state reader. Default: off.
                        With --verify-only: verify a --state store. With
                        --ack-log: "intent sN-aI" / "intent sN-rI" before
                        apply_batch I / rollback_to I is sent, "ack TOKEN"
                        after its reply; --verify-only --state --ack-log
                        checks that the head is one that a prefix of the
                        logged requests holding every acknowledged one
                        leaves (acknowledged applies survive a crash)

Baseline:
  --raw                 run the same workload (same plans, seeds and checks)
                        directly against RocksDB, opened with the store's
                        settings, from plain threads: one per scheduler, each
                        running its lanes one step at a time (--chains 1: one
                        thread running the chain; no pipelining). Batch: one
                        MultiGet of latest_ptr, one of data, one WriteBatch.
                        No torn-state reader. For vstore-bench's sim rows

Checks and output:
  --verify-only         open an existing store (--data-dir) and only verify it
  --ack-log FILE        give every batch commit and rollback write a unique
                        idempotency token and append "intent TOKEN" before
                        sending it and "ack TOKEN" after its acknowledgement,
                        flushed per line; with --verify-only: the exact crash
                        check (asks the store what became of every intent
                        without an ack; every chain must hold exactly what
                        its acknowledged and committed writes leave)
  --no-torn-reader      do not run the torn-state reader, which probes the
                        newest batch commit in every space it writes while
                        the schedulers run and fails the run on a batch seen
                        partly (default: on; it costs some throughput)
  --json                print the results as one JSON object on stdout
  --no-progress         no progress output on stderr
  --help                print this text
  --version             print the version
)";
}

}  // namespace vstore::sim
