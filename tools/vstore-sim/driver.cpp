// One vstore-sim run against a manager that is up (driver.hpp).

#include "tools/vstore-sim/driver.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "tools/vstore-sim/ack_check.hpp"
#include "tools/vstore-sim/run_board.hpp"
#include "tools/vstore-sim/scheduler.hpp"
#include "tools/vstore-sim/torn_reader.hpp"
#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

namespace {

using clock_type = std::chrono::steady_clock;

/// The largest scan page the main thread asks for.
constexpr uint32_t scan_page = 4096;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Writes the genesis unless the store already holds a run. Returns
/// exit_usage on a store that is not fresh, exit_failed on a store error.
int write_genesis(sync_client& client, run_context& ctx, const space_set& spaces) {
  std::optional<std::string> existing;
  if (auto st = client.get(spaces.metas, std::string{params_key}, existing); !st) {
    ctx.summary.error = "reading metas: " + st.to_string();
    return exit_failed;
  }
  if (existing)
    return usage_error(
        "the store already holds a vstore-sim run; use a fresh --data-dir or "
        "--verify-only");
  size_t max_ops = std::min<size_t>(50000, ctx.store.limits.max_batch_ops);
  for (auto& w : genesis(ctx.summary.params, spaces, max_ops)) {
    if (auto st = client.write(std::move(w)); !st) {
      ctx.summary.error = "genesis write: " + st.to_string();
      return exit_failed;
    }
  }
  return exit_verified;
}

/// Reads the backend's commit counters (rounds, ops); zeros on error.
std::pair<uint64_t, uint64_t> backend_commits(sync_client& client) {
  stats_reply r;
  if (!client.ask(stats_request{}, r)) return {0, 0};
  return {r.rounds, r.round_ops};
}

/// Spawns the schedulers, waits for their reports and fills the summary.
/// Returns the expected number of live batches per chain (for clean lanes).
std::vector<std::optional<uint64_t>> run_workload(caf::actor_system& sys,
                                                  const manager_actor& manager, run_context& ctx,
                                                  const space_set& spaces,
                                                  std::shared_ptr<ack_log> log,
                                                  const manager_actor* torn_target) {
  auto& sum = ctx.summary;
  const auto& p = sum.params;
  auto board = std::make_shared<run_board>();
  std::vector<scheduler_actor> schedulers;
  for (uint32_t k = 0; k < p.schedulers; ++k) {
    scheduler_settings cfg;
    cfg.id = k;
    cfg.params = p;
    cfg.spaces = spaces;
    cfg.batches = ctx.cli.batches;
    cfg.seed = ctx.cli.seed;
    cfg.rules = rules_of(ctx);
    cfg.range_deletes = ctx.cli.range_deletes;
    cfg.split_commits = ctx.cli.split_commits;
    cfg.timeout = ctx.timeout;
    schedulers.push_back(sys.spawn(scheduler, std::move(cfg), manager, board, log));
  }
  std::optional<torn_reader> reader;
  if (!ctx.cli.no_torn_reader) {
    reader.emplace(sys, torn_target ? *torn_target : manager, spaces, ctx.timeout, board);
    reader->start();
  }
  progress_meter meter{uint64_t{p.schedulers} * ctx.cli.batches, !ctx.cli.no_progress};
  auto started = clock_type::now();
  for (auto& s : schedulers) caf::anon_send(s, start_atom::value);
  // Every request has a deadline (the schedulers' watch timers), so the
  // schedulers always finish; this only guards against a bug that would
  // leave the run hanging.
  auto stall_limit = 3 * ctx.timeout + std::chrono::seconds(10);
  uint64_t last_activity = 0;
  auto last_change = started;
  while (!board->wait(schedulers.size(), std::chrono::milliseconds(200))) {
    auto now = clock_type::now();
    const auto& c = board->counters;
    auto batches = c.batches.load(std::memory_order_relaxed);
    meter.update(batches, now - started);
    auto activity = batches + c.read_requests.load(std::memory_order_relaxed) +
                    c.writes.load(std::memory_order_relaxed) +
                    c.retries.load(std::memory_order_relaxed);
    if (activity != last_activity) {
      last_activity = activity;
      last_change = now;
    } else if (now - last_change > stall_limit) {
      board->fail("no progress for " +
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::seconds>(now - last_change).count()) +
                  " s: the schedulers were stopped");
      for (auto& s : schedulers) caf::anon_send_exit(s, caf::exit_reason::kill);
      break;
    }
  }
  meter.finish();
  if (reader) {
    auto torn = reader->stop();
    sum.torn_reader = true;
    sum.torn_checks = torn.checks;
    sum.torn_consistent = torn.consistent;
    sum.torn_inconclusive = torn.inconclusive;
    sum.torn_states = torn.torn;
    sum.torn_abandoned = torn.abandoned;
  }
  return collect_run(*board, started, sum);
}

/// The exact crash check (ack_check.hpp): asks the store what became of every
/// in-doubt intent of the side log at `path`, then compares every chain with
/// its acknowledged and resolved-committed writes. Prints the figures to
/// stderr and adds its failures to `v`. Returns an error only if the log
/// cannot be read or the store cannot be asked. Keeps the figures in `out`.
status exact_crash_check(sync_client& client, const std::string& path, verify_result& v,
                         std::optional<ack_check_result>& out) {
  side_log log;
  if (auto st = read_side_log(path, log); !st) return st;
  std::map<std::string, write_state> resolved;
  std::vector<std::string> pending;
  for (auto& token : log.in_doubt()) {
    // not_before_seq 0: the runs are far shorter than tokens.retain-count, so
    // a forgotten token answers unknown (and fails the chain only if it
    // changes the verdict).
    outcome_reply r;
    if (auto st = client.ask(outcome_request{token, 0, 0}, r); !st)
      return {st.code(), "outcome of token " + token + ": " + st.context()};
    if (r.state == write_state::pending) pending.push_back(token);
    resolved[token] = r.state;
  }
  auto acks = check_side_log(log, resolved, v.live);
  auto u = [](uint64_t x) { return static_cast<unsigned long long>(x); };
  std::fprintf(stderr,
               "side log: %llu intents, %llu acknowledged commits, %llu acknowledged rollbacks; "
               "in doubt: %llu committed, %llu not committed, %llu unresolved; %llu chains "
               "checked\n",
               u(acks.intents), u(acks.acked_commits), u(acks.acked_rollbacks),
               u(acks.resolved_committed), u(acks.resolved_not_committed), u(acks.unresolved),
               u(acks.chains));
  for (auto& t : pending)
    acks.failures.push_back("token " + t + " is still pending after a restart");
  for (auto& f : acks.failures) v.failures.push_back("crash check: " + f);
  if (!acks.failures.empty()) v.ok = false;
  out = std::move(acks);
  return {};
}

/// Test only: points resource 0's latest_ptr at a version that does not exist.
status inject_corruption(sync_client& client, const space_set& spaces) {
  write_request w;
  w.flush_now = true;
  w.put(spaces.latest, latest_key(0), be_u64(genesis_version(0) | (uint64_t{1} << 39)).view());
  return client.write(std::move(w));
}

}  // namespace

/// Runs the workload (unless --verify-only) and the verification; fills
/// ctx.summary. Returns an exit code.
int drive(caf::actor_system& sys, const manager_actor& manager, sync_client& client,
          run_context& ctx, const manager_actor* torn_target) {
  auto& sum = ctx.summary;
  status_reply info;
  if (auto st = client.ask(status_request{}, info); !st)
    return usage_error("cannot reach the manager: " + st.to_string());
  space_set spaces;
  if (auto missing = resolve_spaces(info.spaces, spaces))
    return usage_error("the store has no state space '" + *missing + "'");
  std::vector<std::optional<uint64_t>> expected;
  if (!ctx.cli.verify_only) {
    std::shared_ptr<ack_log> log;
    if (!ctx.cli.ack_log.empty()) {
      log = std::make_shared<ack_log>();
      if (auto st = log->open(ctx.cli.ack_log); !st) return usage_error(st.context());
    }
    auto t0 = clock_type::now();
    if (auto rc = write_genesis(client, ctx, spaces); rc != exit_verified) return rc;
    sum.genesis_s = seconds_since(t0);
    if (ctx.after_genesis) ctx.after_genesis();
    auto before = backend_commits(client);
    expected = run_workload(sys, manager, ctx, spaces, std::move(log), torn_target);
    if (ctx.after_workload) ctx.after_workload();
    auto after = backend_commits(client);
    sum.db_writes = after.first - before.first;
    sum.db_ops = after.second - before.second;
  }
  if (ctx.cli.inject_corruption) {
    if (auto st = inject_corruption(client, spaces); !st)
      sum.verify_error = "--inject-corruption: " + st.to_string();
  }
  if (sum.verify_error.empty()) {
    store_image img;
    auto t0 = clock_type::now();
    auto st = client.load_image(spaces, scan_page, img);
    if (!st) {
      sum.verify_error = st.to_string();
    } else {
      sum.verify = check(img, expected);
      sum.verified = true;
      if (ctx.cli.verify_only && !ctx.cli.ack_log.empty()) {
        if (auto ast = exact_crash_check(client, ctx.cli.ack_log, sum.verify, sum.crash_check);
            !ast)
          sum.verify_error = ast.to_string();
      }
      sum.verify_s = seconds_since(t0);
      if (ctx.cli.verify_only) sum.params = sum.verify.params;
    }
  }
  return sum.ok() ? exit_verified : exit_failed;
}

}  // namespace vstore::sim
