// vstore-sim --state (state_run.hpp): the chain actor over a state service,
// the genesis and the verification.

#include "tools/vstore-sim/state_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "state/state_service.hpp"
#include "tools/vstore-sim/lane.hpp"
#include "tools/vstore-sim/run_board.hpp"
#include "tools/vstore-sim/scheduler.hpp"
#include "tools/vstore-sim/workload.hpp"
#include "vstore/state.hpp"

namespace vstore::sim {

namespace {

using clock_type = std::chrono::steady_clock;

/// Bytes of a resource id: the resource's number, 8 bytes BE (latest_key()).
constexpr uint32_t id_length = 8;

/// Resources per read_latest / read_at of the verification (below the
/// manager's default limits.max-multi-get).
constexpr size_t verify_chunk = 1000;

/// Read_at indexes the verification checks at most.
constexpr size_t verify_points = 5;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string u(uint64_t x) { return std::to_string(x); }

/// How the chain actor runs.
struct chain_settings {
  sim_params params;
  lane_rules rules;
  /// Forward batches to apply.
  uint64_t batches = 0;
  uint64_t seed = 1;
  /// The genesis applies (batch n is apply genesis + 1 + n).
  uint64_t genesis = 1;
  caf::timespan timeout = std::chrono::seconds(30);
  /// The side log (--ack-log), or null.
  std::shared_ptr<ack_log> log;
  /// Test only (--state-unbalance): the chain's first batch credits one unit
  /// more than it debits, so the verification must fail.
  bool unbalance = false;
};

/// The chain actor's interface (local only).
using chain_actor = caf::typed_actor<caf::reacts_to<start_atom>, caf::reacts_to<watch_atom>>;

/// A request to the service not answered yet: when it was sent and what it
/// is (for the failure its deadline makes).
struct pending_request {
  clock_type::time_point sent;
  std::string what;
};

struct chain_state {
  chain_settings cfg;
  state_actor service;
  std::shared_ptr<run_board> board;
  /// The chain's numbers and its next step (the same rules as the lanes).
  lane_plan plan;
  /// Whether the current batch's read_latest is out (its apply not sent).
  bool reading = false;
  /// apply_batch requests in flight, and rollback_to / prune_below in flight.
  uint32_t applies = 0;
  uint32_t others = 0;
  /// The next request's number in the side log's tokens.
  uint64_t ordinal = 0;
  /// Whether --state-unbalance already broke a batch.
  bool unbalanced = false;
  bool reported = false;
  std::vector<uint64_t> latency_ns;
  /// The requests out, by number (oldest first), and the next number.
  std::map<uint64_t, pending_request> pending;
  uint64_t next_request = 0;
  static inline const char* name = "vstore-sim.state-chain";
  /// Reports a chain that ends without finishing (an exception, a kill) as
  /// failed, so that the main thread never waits for it.
  ~chain_state();
};

using chain_pointer = chain_actor::stateful_pointer<chain_state>;

scheduler_report make_report(chain_state& s, bool clean) {
  scheduler_report r;
  r.lanes.push_back(lane_report{0, s.plan.live, clean});
  r.write_latency_ns = std::move(s.latency_ns);
  s.reported = true;
  return r;
}

chain_state::~chain_state() {
  if (reported || !board) return;
  board->fail("the state chain terminated before it finished");
  board->finish(make_report(*this, false));
}

void report(chain_pointer self, bool clean) {
  auto& s = self->state;
  if (s.reported) return;
  s.board->finish(make_report(s, clean));
  self->quit();
}

/// Fails the run. The applies in flight may or may not be applied, so the
/// chain's count of live batches is no expectation any more (clean = false).
void fail(chain_pointer self, const std::string& what) {
  if (self->state.reported) return;
  self->state.board->fail("state chain: " + what);
  report(self, false);
}

void record_write(chain_pointer self, clock_type::time_point sent) {
  auto& s = self->state;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - sent);
  s.latency_ns.push_back(static_cast<uint64_t>(ns.count()));
  s.board->counters.writes.fetch_add(1, std::memory_order_relaxed);
}

void step(chain_pointer self);

/// Sends `req` to the service untimed (the chain's watch timer keeps its
/// deadline; scheduler.hpp says why); `what` names it in that failure.
template <class Reply, class Request, class OnReply, class OnError>
void ask(chain_pointer self, Request req, std::string what, OnReply on_reply, OnError on_error) {
  auto& s = self->state;
  auto id = s.next_request++;
  s.pending.emplace(id, pending_request{clock_type::now(), std::move(what)});
  self->request(s.service, caf::duration{caf::infinite}, std::move(req))
      .then(
          [self, id, on_reply](Reply& r) {
            self->state.pending.erase(id);
            on_reply(r);
          },
          [self, id, on_error](caf::error& e) {
            self->state.pending.erase(id);
            on_error(e);
          });
}

/// The watch timer: fails the run once the oldest request is past its
/// deadline, as a request timeout would; comes round again until the end.
void watch(chain_pointer self) {
  auto& s = self->state;
  if (s.reported) return;
  if (!s.pending.empty()) {
    const auto& oldest = s.pending.begin()->second;
    if (clock_type::now() - oldest.sent > s.cfg.timeout)
      return fail(self, oldest.what + ": " + overdue(s.cfg.timeout).to_string());
  }
  self->delayed_send(self, watch_period(s.cfg.timeout), watch_atom::value);
}

/// With a side log: logs the intent of an apply ('a') or rollback ('r') to
/// `index` and returns its token; "" without one.
std::string log_intent(chain_pointer self, char kind, uint64_t index) {
  auto& s = self->state;
  if (!s.cfg.log) return {};
  auto token = "s" + u(s.ordinal++) + "-" + kind + u(index);
  s.cfg.log->intent(token);
  return token;
}

void log_ack(chain_pointer self, const std::string& token) {
  if (self->state.cfg.log && !token.empty()) self->state.cfg.log->ack(token);
}

/// The batch's balances arrived: applies it (without waiting for the
/// acknowledgement) and goes on with the chain.
void on_balances(chain_pointer self, state_values& v) {
  auto& s = self->state;
  if (s.reported) return;
  s.reading = false;
  auto& b = s.plan.batch;
  auto index = s.cfg.genesis + 1 + number_of(b.index());
  if (auto err = b.on_balances(v.found, v.values))
    return fail(self, "read_latest of apply " + u(index) + ": " + *err);
  auto balances = b.balances_after();
  if (s.cfg.unbalance && !s.unbalanced) {
    balances[0] += 1;
    s.unbalanced = true;
  }
  // The metadata is the sim's batch_meta, its checksum over (resource,
  // version = the apply index, balance) of every write.
  apply_batch a;
  a.index = index;
  uint64_t checksum = checksum_start;
  const auto& touched = b.touched();
  a.writes.reserve(touched.size());
  for (size_t i = 0; i < touched.size(); ++i) {
    a.writes.push_back(resource_write{latest_key(touched[i]), false,
                                      encode_balance(balances[i], s.cfg.params.value_bytes)});
    checksum = checksum_step(checksum, touched[i], index, balances[i]);
  }
  batch_meta m;
  m.transfers = static_cast<uint32_t>(b.transfer_count());
  m.touched = static_cast<uint32_t>(touched.size());
  m.checksum = checksum;
  a.metadata = encode_meta(m);
  auto transfers = b.transfer_count();
  ++s.applies;
  s.plan.count_commit();
  auto token = log_intent(self, 'a', index);
  auto sent = clock_type::now();
  ask<apply_ack>(
      self, std::move(a), "apply_batch " + u(index),
      [self, sent, transfers, token](const apply_ack&) {
        auto& st = self->state;
        log_ack(self, token);
        --st.applies;
        record_write(self, sent);
        auto& c = st.board->counters;
        c.batches.fetch_add(1, std::memory_order_relaxed);
        c.transfers.fetch_add(transfers, std::memory_order_relaxed);
        step(self);
      },
      [self, index](const caf::error& e) {
        fail(self, "apply_batch " + u(index) + ": " + to_status(e).to_string());
      });
  step(self);
}

void send_read(chain_pointer self) {
  auto& s = self->state;
  s.reading = true;
  read_latest req;
  for (auto r : s.plan.batch.touched()) req.resources.push_back(latest_key(r));
  auto& c = s.board->counters;
  c.read_requests.fetch_add(1, std::memory_order_relaxed);
  c.read_keys.fetch_add(req.resources.size(), std::memory_order_relaxed);
  auto index = s.cfg.genesis + 1 + number_of(s.plan.batch.index());
  ask<state_values>(
      self, std::move(req), "read_latest of apply " + u(index),
      [self](state_values& v) { on_balances(self, v); },
      [self, index](const caf::error& e) {
        fail(self, "read_latest of apply " + u(index) + ": " + to_status(e).to_string());
      });
}

/// Rolls back the chain's last batches: rollback_to(head - depth), sent
/// behind the applies in flight (the service applies them first).
void send_rollback(chain_pointer self) {
  auto& s = self->state;
  auto depth = s.plan.rollback.batches();
  auto to = s.cfg.genesis + s.plan.live - depth;
  s.plan.count_rollback();
  ++s.others;
  auto token = log_intent(self, 'r', to);
  auto sent = clock_type::now();
  ask<rollback_ack>(
      self, rollback_to{to}, "rollback_to " + u(to),
      [self, to, depth, sent, token](const rollback_ack& a) {
        auto& st = self->state;
        log_ack(self, token);
        --st.others;
        if (a.head != to || a.batches_undone != depth)
          return fail(self, "rollback_to " + u(to) + " answered head " + u(a.head) + ", " +
                                u(a.batches_undone) + " batches undone; expected " + u(depth));
        record_write(self, sent);
        auto& c = st.board->counters;
        c.rollbacks.fetch_add(1, std::memory_order_relaxed);
        c.rolled_back_batches.fetch_add(depth, std::memory_order_relaxed);
        step(self);
      },
      [self, to](const caf::error& e) {
        fail(self, "rollback_to " + u(to) + ": " + to_status(e).to_string());
      });
}

/// Prunes the batches below live - window: prune_below(head - window).
void send_prune(chain_pointer self) {
  auto& s = self->state;
  auto batches = s.plan.prune.batches();
  auto floor = s.cfg.genesis + s.plan.pruned + batches;
  s.plan.count_prune();
  ++s.others;
  auto sent = clock_type::now();
  ask<prune_ack>(
      self, prune_below{floor}, "prune_below " + u(floor),
      [self, batches, sent](const prune_ack& a) {
        auto& st = self->state;
        --st.others;
        record_write(self, sent);
        auto& c = st.board->counters;
        c.prunes.fetch_add(1, std::memory_order_relaxed);
        c.pruned_batches.fetch_add(batches, std::memory_order_relaxed);
        c.pruned_versions.fetch_add(a.versions_deleted, std::memory_order_relaxed);
        step(self);
      },
      [self, floor](const caf::error& e) {
        fail(self, "prune_below " + u(floor) + ": " + to_status(e).to_string());
      });
}

/// Sends what the chain can send now: the next batch's read (while fewer
/// than --pipeline applies are in flight and no read is out), a due rollback
/// or prune; reports once everything is done and acknowledged.
void step(chain_pointer self) {
  auto& s = self->state;
  while (!s.reported && !s.reading) {
    if (s.board->failed()) return report(self, false);
    if (s.applies >= std::max<uint32_t>(s.cfg.rules.pipeline, 1)) return;
    switch (s.plan.next(0)) {
      case lane_step::batch:
        return send_read(self);
      case lane_step::rollback:
        send_rollback(self);
        break;
      case lane_step::prune:
        send_prune(self);
        break;
      case lane_step::done:
      case lane_step::wait:
        if (s.applies + s.others == 0) report(self, true);
        return;
    }
  }
}

chain_actor::behavior_type state_chain(chain_pointer self, chain_settings cfg, state_actor service,
                                       std::shared_ptr<run_board> board) {
  auto& s = self->state;
  s.cfg = std::move(cfg);
  s.service = std::move(service);
  s.board = std::move(board);
  s.plan.reset(s.cfg.params, s.cfg.rules, 0, 0, s.cfg.batches, s.cfg.seed);
  s.latency_ns.reserve(s.cfg.batches + s.cfg.batches / 8 + 16);
  return {
      [self](start_atom) {
        self->delayed_send(self, watch_period(self->state.cfg.timeout), watch_atom::value);
        step(self);
      },
      [self](watch_atom) { watch(self); },
  };
}

/// Blocking requests to the state service from the main thread.
class state_client {
 public:
  state_client(caf::actor_system& sys, state_actor service, caf::timespan timeout)
      : self_(sys), service_(std::move(service)), timeout_(timeout) {}

  template <class Reply, class Request>
  status ask(Request req, Reply& out) {
    status result;
    self_->request(service_, timeout_, std::move(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }

 private:
  caf::scoped_actor self_;
  state_actor service_;
  caf::timespan timeout_;
};

/// Collects the verification's failures (the first max_failures listed).
struct failure_list {
  verify_result& v;
  void add(std::string what) {
    v.ok = false;
    if (v.failures.size() < verify_result::max_failures)
      v.failures.push_back(std::move(what));
    else
      ++v.more_failures;
  }
};

/// Reads every resource's value at `index` (0: read_latest) and sums the
/// balances; adds a failure per missing or malformed value (the first few).
status sum_balances(state_client& sc, const sim_params& p, uint64_t index, failure_list& fl,
                    uint64_t& total, uint64_t& found) {
  total = 0;
  found = 0;
  auto n = p.total_resources();
  auto at = index == 0 ? std::string{"latest"} : "read_at(" + u(index) + ")";
  uint64_t missing = 0;
  for (uint64_t first = 0; first < n; first += verify_chunk) {
    std::vector<std::string> ids;
    for (uint64_t r = first; r < std::min<uint64_t>(n, first + verify_chunk); ++r)
      ids.push_back(latest_key(r));
    state_values v;
    status st = index == 0 ? sc.ask(read_latest{ids}, v) : sc.ask(read_at{ids, index}, v);
    if (!st) return {st.code(), at + ": " + st.context()};
    if (v.found.size() != ids.size() || v.values.size() != ids.size())
      return {errc::internal, at + " answered " + u(v.found.size()) + " values for " +
                                  u(ids.size()) + " resources"};
    for (size_t i = 0; i < ids.size(); ++i) {
      uint64_t balance = 0;
      if (!v.found[i] || !decode_u64(v.values[i], balance)) {
        if (++missing <= 2)
          fl.add(at + ": resource " + u(first + i) +
                 (v.found[i] ? " is malformed" : " is missing"));
        continue;
      }
      ++found;
      total += balance;
    }
  }
  return {};
}

/// The verification (state_run.hpp). `expected_live`: the live batches the
/// chain acknowledged, when known.
status verify_state(state_client& sc, sync_client& client, const space_set& spaces,
                    const sim_params& p, uint64_t genesis, std::optional<uint64_t> expected_live,
                    run_summary& sum) {
  auto& v = sum.verify;
  v = verify_result{};
  v.ok = true;
  v.params = p;
  v.expected_total = p.total_balance();
  failure_list fl{v};
  state_info info;
  if (auto st = sc.ask(state_info_request{}, info); !st)
    return {st.code(), "state_info: " + st.context()};
  sum.state_head = info.head;
  sum.state_floor = info.floor;
  sum.state_genesis = genesis;
  v.batches = info.head;
  if (expected_live) {
    sum.state_expected_head = genesis + *expected_live;
    if (info.head != sum.state_expected_head)
      fl.add("the head is " + u(info.head) + ", expected " + u(sum.state_expected_head) + " (" +
             u(genesis) + " genesis applies + " + u(*expected_live) + " live batches)");
  }
  if (info.committed_head != info.head)
    fl.add("the committed head " + u(info.committed_head) + " differs from the head " +
           u(info.head) + " at rest");
  // batch_metadata: exactly the applies 1..head (a rollback removes the
  // metadata of the batches it undoes, a prune keeps it), each the sim's
  // batch_meta; the service's own records (head, floor) start with 8 x 0xff.
  std::vector<key_value> metas;
  if (auto st = client.scan_all(spaces.meta, 4096, metas); !st)
    return {st.code(), "scanning batch_metadata: " + st.context()};
  uint64_t want = 1;
  bool listed = false;
  for (const auto& kv : metas) {
    if (kv.key.size() > 8 && kv.key.compare(0, 8, std::string(8, '\xff')) == 0) continue;
    uint64_t index = 0;
    batch_meta m;
    if (kv.key.size() != 8 || !read_be(kv.key, 0, index) || !decode_meta(kv.value, m)) {
      fl.add("batch_metadata holds a malformed entry");
      listed = true;
      break;
    }
    if (index != want) {
      fl.add("batch_metadata holds apply " + u(index) + " where " + u(want) + " was expected");
      listed = true;
      break;
    }
    ++want;
    ++sum.state_metadata;
  }
  if (!listed && want != info.head + 1)
    fl.add("batch_metadata holds applies 1.." + u(want - 1) + ", the head is " + u(info.head));
  // The latest balances, then read_at from the floor (or the end of the
  // genesis) to the head: every one must conserve the total.
  uint64_t total = 0, found = 0;
  if (auto st = sum_balances(sc, p, 0, fl, total, found); !st) return st;
  v.total = total;
  v.resources = found;
  if (total != v.expected_total)
    fl.add("latest: the balances sum to " + u(total) + ", expected " + u(v.expected_total));
  auto lo = std::max<uint64_t>(info.floor, genesis);
  if (info.head >= lo) {
    std::vector<uint64_t> points;
    for (size_t i = 0; i < verify_points; ++i)
      points.push_back(lo + (info.head - lo) * i / (verify_points - 1));
    points.erase(std::unique(points.begin(), points.end()), points.end());
    for (auto index : points) {
      uint64_t t = 0, f = 0;
      if (auto st = sum_balances(sc, p, index, fl, t, f); !st) return st;
      ++sum.state_read_at;
      if (t != v.expected_total)
        fl.add("read_at(" + u(index) + "): the balances sum to " + u(t) + ", expected " +
               u(v.expected_total));
    }
  }
  return {};
}

/// Applies the genesis: every resource at the initial balance, in as few
/// applies as limits.max-batch-ops allows (1..g), then the run's record in
/// metas. Returns exit_usage on a store that is not fresh.
int write_state_genesis(state_client& sc, sync_client& client, run_context& ctx,
                        const space_set& spaces, uint64_t& genesis) {
  auto& sum = ctx.summary;
  const auto& p = sum.params;
  state_info info;
  if (auto st = sc.ask(state_info_request{}, info); !st) {
    sum.error = "state_info: " + st.to_string();
    return exit_failed;
  }
  for (auto key : {params_key, state_params_key}) {
    std::optional<std::string> existing;
    if (auto st = client.get(spaces.metas, std::string{key}, existing); !st) {
      sum.error = "reading metas: " + st.to_string();
      return exit_failed;
    }
    if (existing || info.head != 0)
      return usage_error(
          "the store already holds a vstore-sim run; use a fresh --data-dir or "
          "--verify-only");
  }
  // An apply is 3 operations per resource, one for its metadata and one for
  // the head.
  uint64_t per = std::max<uint64_t>(1, (ctx.store.limits.max_batch_ops - 2) / 3);
  per = std::min<uint64_t>(per, 20000);
  auto n = p.total_resources();
  genesis = (n + per - 1) / per;
  for (uint64_t g = 0; g < genesis; ++g) {
    apply_batch a;
    a.index = g + 1;
    uint64_t checksum = checksum_start;
    for (uint64_t r = g * per; r < std::min(n, (g + 1) * per); ++r) {
      a.writes.push_back(
          resource_write{latest_key(r), false, encode_balance(p.balance, p.value_bytes)});
      checksum = checksum_step(checksum, r, a.index, p.balance);
    }
    batch_meta m;
    m.touched = static_cast<uint32_t>(a.writes.size());
    m.checksum = checksum;
    a.metadata = encode_meta(m);
    apply_ack ack;
    if (auto st = sc.ask(std::move(a), ack); !st) {
      sum.error = "genesis apply " + u(g + 1) + ": " + st.to_string();
      return exit_failed;
    }
  }
  write_request w;
  w.flush_now = true;
  w.put(spaces.metas, state_params_key, encode_params(p) + std::string{be_u64(genesis).view()});
  if (auto st = client.write(std::move(w)); !st) {
    sum.error = "writing the run's record: " + st.to_string();
    return exit_failed;
  }
  return exit_verified;
}

/// Runs the chain actor and waits for its report (drawing the progress).
/// Returns the live batches it expects (nothing when the chain failed).
std::optional<uint64_t> run_state_chain(caf::actor_system& sys, const state_actor& service,
                                        run_context& ctx, uint64_t genesis,
                                        std::shared_ptr<ack_log> log) {
  auto& sum = ctx.summary;
  auto board = std::make_shared<run_board>();
  chain_settings cfg;
  cfg.params = sum.params;
  cfg.rules = rules_of(ctx);
  cfg.batches = ctx.cli.batches;
  cfg.seed = ctx.cli.seed;
  cfg.genesis = genesis;
  cfg.timeout = ctx.timeout;
  cfg.unbalance = ctx.cli.state_unbalance;
  cfg.log = std::move(log);
  auto chain = sys.spawn(state_chain, std::move(cfg), service, board);
  progress_meter meter{ctx.cli.batches, !ctx.cli.no_progress};
  auto started = clock_type::now();
  caf::anon_send(chain, start_atom::value);
  // Every request has a timeout, so the chain always finishes; this only
  // guards against a bug that would leave the run hanging.
  auto stall_limit = 3 * ctx.timeout + std::chrono::seconds(10);
  uint64_t last_activity = 0;
  auto last_change = started;
  while (!board->wait(1, std::chrono::milliseconds(200))) {
    auto now = clock_type::now();
    const auto& c = board->counters;
    auto batches = c.batches.load(std::memory_order_relaxed);
    meter.update(batches, now - started);
    auto activity = batches + c.read_requests.load(std::memory_order_relaxed) +
                    c.writes.load(std::memory_order_relaxed);
    if (activity != last_activity) {
      last_activity = activity;
      last_change = now;
    } else if (now - last_change > stall_limit) {
      board->fail("no progress for " +
                  u(std::chrono::duration_cast<std::chrono::seconds>(now - last_change).count()) +
                  " s: the chain was stopped");
      caf::anon_send_exit(chain, caf::exit_reason::kill);
      break;
    }
  }
  meter.finish();
  auto expected = collect_run(*board, started, sum);
  return expected.empty() ? std::nullopt : expected[0];
}

/// The side log check of --verify-only --state --ack-log: prints its figures
/// to stderr and adds its failure to the verification.
void check_side_log(const std::string& path, uint64_t genesis, run_summary& sum) {
  failure_list fl{sum.verify};
  std::ifstream in{path, std::ios::binary};
  if (!in) return fl.add("side log: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto r = check_state_log(text.str(), genesis, sum.state_head);
  std::fprintf(stderr, "side log: %llu intents, %llu acknowledged; the head %llu is %s\n",
               static_cast<unsigned long long>(r.intents), static_cast<unsigned long long>(r.acked),
               static_cast<unsigned long long>(sum.state_head),
               r.head_ok ? ("the head after the first " + u(r.prefix) + " requests").c_str()
                         : "not one a prefix holding every acknowledged request leaves");
  if (!r.error.empty()) return fl.add("side log: " + r.error);
  if (!r.head_ok)
    fl.add("side log: the head " + u(sum.state_head) +
           " is not the head after any prefix of the logged requests that holds every "
           "acknowledged one (an acknowledged apply or rollback was lost)");
}

}  // namespace

state_log_result check_state_log(const std::string& log, uint64_t genesis, uint64_t head) {
  state_log_result r;
  struct intent {
    uint64_t index;
    bool acked;
  };
  std::vector<intent> intents;
  std::map<std::string, size_t> by_token;
  size_t pos = 0;
  while (pos < log.size()) {
    auto nl = log.find('\n', pos);
    if (nl == std::string::npos) break;  // torn by the crash
    auto line = log.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("intent ", 0) == 0) {
      auto token = line.substr(7);
      auto dash = token.find('-');
      uint64_t index = 0;
      auto digits = dash == std::string::npos ? std::string{} : token.substr(dash + 2);
      if (token.size() < 4 || token[0] != 's' || dash == std::string::npos ||
          dash + 2 >= token.size() || (token[dash + 1] != 'a' && token[dash + 1] != 'r') ||
          digits.find_first_not_of("0123456789") != std::string::npos ||
          by_token.count(token) > 0) {
        r.error = "malformed or repeated intent '" + line + "'";
        return r;
      }
      index = std::stoull(digits);
      by_token[token] = intents.size();
      intents.push_back(intent{index, false});
    } else if (line.rfind("ack ", 0) == 0) {
      auto i = by_token.find(line.substr(4));
      if (i == by_token.end()) {
        r.error = "ack without an intent: '" + line + "'";
        return r;
      }
      intents[i->second].acked = true;
    } else {
      r.error = "malformed line '" + line + "'";
      return r;
    }
  }
  r.intents = intents.size();
  size_t need = 0;  // every acknowledged request is in the first `need`
  for (size_t i = 0; i < intents.size(); ++i)
    if (intents[i].acked) {
      ++r.acked;
      need = i + 1;
    }
  uint64_t h = genesis;
  for (size_t n = 0; n <= intents.size(); ++n) {
    if (n > 0) h = intents[n - 1].index;
    if (n >= need && h == head) {
      r.head_ok = true;
      r.prefix = n;
      return r;
    }
  }
  return r;
}

int drive_state(caf::actor_system& sys, const manager_actor& manager, sync_client& client,
                run_context& ctx) {
  auto& sum = ctx.summary;
  sum.state = true;
  status_reply info;
  if (auto st = client.ask(status_request{}, info); !st)
    return usage_error("cannot reach the manager: " + st.to_string());
  space_set spaces;
  if (auto missing = resolve_spaces(info.spaces, spaces))
    return usage_error("the store has no state space '" + *missing + "'");
  // The service's four spaces are the sim's, by name (state_options'
  // defaults); only the names matter to spawn_state.
  schema names;
  for (const auto& n : info.spaces) names.spaces.push_back(space_def{n, {}});
  state_options so;
  so.id_length = id_length;
  so.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.timeout);
  state_test_hooks hooks;
  hooks.skip_one_restore = ctx.cli.state_skip_restore;
  state_actor service;
  if (auto st = spawn_state(sys, manager, names, so, service, hooks); !st)
    return usage_error("cannot start the state service: " + st.to_string());
  int rc = exit_verified;
  {
    state_client sc{sys, service, ctx.timeout};
    uint64_t genesis = 0;
    std::optional<uint64_t> expected_live;
    if (!ctx.cli.verify_only) {
      std::shared_ptr<ack_log> log;
      if (!ctx.cli.ack_log.empty()) {
        log = std::make_shared<ack_log>();
        if (auto st = log->open(ctx.cli.ack_log); !st) {
          caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
          return usage_error(st.context());
        }
      }
      auto t0 = clock_type::now();
      rc = write_state_genesis(sc, client, ctx, spaces, genesis);
      sum.genesis_s = seconds_since(t0);
      if (rc == exit_verified) {
        if (ctx.after_genesis) ctx.after_genesis();
        expected_live = run_state_chain(sys, service, ctx, genesis, std::move(log));
        if (ctx.after_workload) ctx.after_workload();
      }
    } else {
      std::optional<std::string> record;
      if (auto st = client.get(spaces.metas, std::string{state_params_key}, record); !st)
        sum.verify_error = "reading metas: " + st.to_string();
      else if (!record || record->size() != 40 ||
               !decode_params(std::string_view{*record}.substr(0, 32), sum.params) ||
               !read_be(*record, 32, genesis))
        sum.verify_error = "metas holds no --state run record (not a vstore-sim --state store)";
    }
    if (rc == exit_verified && sum.verify_error.empty()) {
      auto t0 = clock_type::now();
      if (auto st = verify_state(sc, client, spaces, sum.params, genesis, expected_live, sum); !st)
        sum.verify_error = st.to_string();
      else
        sum.verified = true;
      if (sum.verified && ctx.cli.verify_only && !ctx.cli.ack_log.empty())
        check_side_log(ctx.cli.ack_log, genesis, sum);
      sum.verify_s = seconds_since(t0);
    }
  }
  caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
  if (rc != exit_verified) return rc;
  return sum.ok() ? exit_verified : exit_failed;
}

}  // namespace vstore::sim
