#include "tools/vstore-sim/scheduler.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "tools/vstore-sim/ack_check.hpp"

namespace vstore::sim {

namespace {

using clock_type = std::chrono::steady_clock;

lane_state& lane_of(scheduler_pointer self, uint32_t lane) { return self->state.lanes[lane]; }

std::string where(scheduler_pointer self, const lane_state& l) {
  return "scheduler " + std::to_string(self->state.cfg.id) + " lane " + std::to_string(l.lane) +
         " (chain " + std::to_string(l.chain.chain) + ")";
}

const char* phase_name(lane_phase p) {
  switch (p) {
    case lane_phase::read_latest:
      return "latest_ptr read of batch";
    case lane_phase::read_data:
      return "data read of batch";
    case lane_phase::commit:
      return "commit of batch";
    case lane_phase::rollback_scan:
      return "rollback_ptr scan of rollback to batch";
    case lane_phase::rollback_write:
      return "rollback write to batch";
    case lane_phase::prune_scan:
      return "rollback_ptr scan of prune to batch";
    case lane_phase::prune_write:
      return "prune write to batch";
    default:
      return "step at batch";
  }
}

/// Returns the batch index the lane's current step is about: the batch being
/// committed, the oldest batch a rollback removes, or the end of a prune.
uint64_t step_index(const lane_state& l) {
  switch (l.phase) {
    case lane_phase::rollback_scan:
    case lane_phase::rollback_write:
      return batch_index(l.chain.chain, l.live - l.rollback.batches());
    case lane_phase::prune_scan:
    case lane_phase::prune_write:
      return batch_index(l.chain.chain, l.pruned + l.prune.batches());
    default:
      return l.batch.index();
  }
}

void next_step(scheduler_pointer self, uint32_t lane);
void issue(scheduler_pointer self, uint32_t lane);

// -- ending --------------------------------------------------------------------------

scheduler_report make_report(scheduler_state& s, bool clean) {
  scheduler_report r;
  r.scheduler = s.cfg.id;
  for (const auto& l : s.lanes)
    r.lanes.push_back(lane_report{l.chain.chain, l.live, clean && l.clean});
  r.write_latency_ns = std::move(s.write_latency_ns);
  s.reported = true;
  return r;
}

void report(scheduler_pointer self) {
  auto& s = self->state;
  s.board->finish(make_report(s, true));
  self->quit();
}

void finish_lane(scheduler_pointer self, uint32_t lane) {
  auto& l = lane_of(self, lane);
  if (l.phase == lane_phase::done) return;
  // Pipelined writes still in flight may or may not be applied.
  if (!l.pipe.empty()) l.clean = false;
  l.phase = lane_phase::done;
  if (++self->state.lanes_done == self->state.lanes.size()) report(self);
}

void fail_lane(scheduler_pointer self, uint32_t lane, const std::string& what) {
  auto& l = lane_of(self, lane);
  self->state.board->fail(where(self, l) + ": " + what);
  finish_lane(self, lane);
}

/// Handles an error reply: retries an overloaded request after a doubling
/// delay, fails the lane on anything else.
void on_error(scheduler_pointer self, uint32_t lane, const caf::error& e) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  auto st = to_status(e);
  bool write = l.phase == lane_phase::commit || l.phase == lane_phase::rollback_write ||
               l.phase == lane_phase::prune_write;
  if (st.code() == errc::overloaded && l.attempts < s.cfg.max_retries && !s.board->failed()) {
    ++l.attempts;
    s.board->counters.retries.fetch_add(1, std::memory_order_relaxed);
    auto delay = std::chrono::microseconds(int64_t{100} << std::min<uint32_t>(l.attempts, 10));
    self->delayed_send(self, delay, retry_atom::value, lane);
    return;
  }
  // Only an overload guarantees that nothing was applied; any other write
  // error leaves the outcome open (errc::timeout, errc::aborted, ...).
  if (write && st.code() != errc::overloaded) l.clean = false;
  fail_lane(self, lane,
            std::string{phase_name(l.phase)} + " " + std::to_string(step_index(l)) + ": " +
                st.to_string());
}

/// Whether an answer to the lane's request number `n` still counts (the
/// request was not failed by the watch timer meanwhile); marks it answered.
bool answered(scheduler_pointer self, uint32_t lane, uint64_t n) {
  auto& l = lane_of(self, lane);
  if (!l.asking || l.asks != n) return false;
  l.asking = false;
  return true;
}

/// Sends `req` to the manager, untimed (its deadline is the watch timer's);
/// `on_reply(self, lane, reply)` continues the lane.
template <class Reply, class Request, class OnReply>
void ask(scheduler_pointer self, uint32_t lane, Request req, OnReply on_reply) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  l.asking = true;
  l.asked = clock_type::now();
  auto n = ++l.asks;
  self->request(s.manager, caf::duration{caf::infinite}, std::move(req))
      .then(
          [self, lane, n, on_reply](Reply& r) {
            if (answered(self, lane, n)) on_reply(self, lane, r);
          },
          [self, lane, n](caf::error& e) {
            if (answered(self, lane, n)) on_error(self, lane, e);
          });
}

void count_read(scheduler_pointer self, size_t keys) {
  auto& c = self->state.board->counters;
  c.read_requests.fetch_add(1, std::memory_order_relaxed);
  c.read_keys.fetch_add(keys, std::memory_order_relaxed);
}

void record_write(scheduler_pointer self, lane_state& l) {
  auto& s = self->state;
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - l.write_started);
  s.write_latency_ns.push_back(static_cast<uint64_t>(ns.count()));
  s.board->counters.writes.fetch_add(1, std::memory_order_relaxed);
}

/// Publishes a batch commit for the torn-state reader; call it before sending `w`.
void publish_commit(scheduler_pointer self, const batch_plan& b, const write_request& w) {
  auto& feed = self->state.board->torn;
  if (!feed.enabled()) return;
  published_batch p;
  p.index = b.index();
  p.version = b.version();
  p.touched = b.touched();
  for (const auto& op : w.ops)
    if (op.kind == op_kind::put && op.space == self->state.cfg.spaces.meta) p.meta = op.value;
  feed.commit_sent(std::move(p));
}

/// With a side log: names the lane's next write that changes its chain
/// (a commit of batch `first`, or a rollback of `count` batches from `first`),
/// logs its intent and returns its token. Without one: "".
std::string log_intent(scheduler_pointer self, lane_state& l, bool rollback, uint64_t first,
                       uint64_t count) {
  auto& s = self->state;
  if (!s.log) return {};
  chain_write w;
  w.rollback = rollback;
  w.chain = l.chain.chain;
  w.first = first;
  w.count = count;
  w.ordinal = l.ordinal++;
  auto token = write_token(w);
  s.log->intent(token);
  return token;
}

void on_committed(scheduler_pointer self, uint32_t lane, commit_ack&);

/// Test only (--split-commits): sends a batch commit as two writes, data and
/// latest_ptr first, the rest once the first is acknowledged.
void send_split(scheduler_pointer self, uint32_t lane, write_request w) {
  const auto& sp = self->state.cfg.spaces;
  write_request first, rest;
  rest.token = std::move(w.token);
  for (auto& op : w.ops)
    (op.space == sp.data || op.space == sp.latest ? first : rest).ops.push_back(std::move(op));
  ask<commit_ack>(self, lane, std::move(first),
                  [rest](scheduler_pointer s, uint32_t l, commit_ack&) {
                    ask<commit_ack>(s, l, rest, on_committed);
                  });
}

/// Moves a lane to `p` and sends that phase's request.
void enter(scheduler_pointer self, uint32_t lane, lane_phase p) {
  auto& l = lane_of(self, lane);
  l.phase = p;
  l.attempts = 0;
  if (p == lane_phase::commit || p == lane_phase::rollback_write || p == lane_phase::prune_write)
    l.write_started = clock_type::now();
  issue(self, lane);
}

// -- batch -----------------------------------------------------------------------------

void on_latest(scheduler_pointer self, uint32_t lane, multi_get_reply& r) {
  auto& l = lane_of(self, lane);
  count_read(self, r.found.size());
  if (auto err = l.batch.on_latest(r.found, r.values)) return fail_lane(self, lane, *err);
  enter(self, lane, lane_phase::read_data);
}

void send_pipelined(scheduler_pointer self, uint32_t lane);

void on_data(scheduler_pointer self, uint32_t lane, multi_get_reply& r) {
  auto& l = lane_of(self, lane);
  count_read(self, r.found.size());
  if (auto err = l.batch.on_data(r.found, r.values)) return fail_lane(self, lane, *err);
  if (self->state.cfg.rules.pipeline > 0) return send_pipelined(self, lane);
  enter(self, lane, lane_phase::commit);
}

void on_committed(scheduler_pointer self, uint32_t lane, commit_ack&) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  record_write(self, l);
  l.count_commit();
  auto& c = s.board->counters;
  c.batches.fetch_add(1, std::memory_order_relaxed);
  c.transfers.fetch_add(l.batch.transfer_count(), std::memory_order_relaxed);
  if (s.log) s.log->ack(l.token);
  next_step(self, lane);
}

// -- rollback ----------------------------------------------------------------------------

void on_rollback_page(scheduler_pointer self, uint32_t lane, scan_reply& r) {
  auto& l = lane_of(self, lane);
  count_read(self, r.entries.size());
  if (auto err = l.rollback.on_page(r)) return fail_lane(self, lane, *err);
  enter(self, lane, l.rollback.done() ? lane_phase::rollback_write : lane_phase::rollback_scan);
}

void on_rolled_back(scheduler_pointer self, uint32_t lane, commit_ack&) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  record_write(self, l);
  l.count_rollback();
  s.board->counters.rollbacks.fetch_add(1, std::memory_order_relaxed);
  s.board->counters.rolled_back_batches.fetch_add(l.rollback.batches(), std::memory_order_relaxed);
  if (s.log) s.log->ack(l.token);
  next_step(self, lane);
}

// -- prune -------------------------------------------------------------------------------

void on_prune_page(scheduler_pointer self, uint32_t lane, scan_reply& r) {
  auto& l = lane_of(self, lane);
  count_read(self, r.entries.size());
  if (auto err = l.prune.on_page(r)) return fail_lane(self, lane, *err);
  enter(self, lane, l.prune.done() ? lane_phase::prune_write : lane_phase::prune_scan);
}

void on_pruned(scheduler_pointer self, uint32_t lane, commit_ack&) {
  auto& c = self->state.board->counters;
  auto& l = lane_of(self, lane);
  record_write(self, l);
  l.count_prune();
  c.prunes.fetch_add(1, std::memory_order_relaxed);
  c.pruned_batches.fetch_add(l.prune.batches(), std::memory_order_relaxed);
  c.pruned_versions.fetch_add(l.prune.versions(), std::memory_order_relaxed);
  next_step(self, lane);
}

// -- the pipelined chain -------------------------------------------------------------------

void pipe_step(scheduler_pointer self, uint32_t lane);

void on_pipelined_ack(scheduler_pointer self, uint32_t lane, uint64_t index) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  auto i = std::find_if(l.pipe.begin(), l.pipe.end(),
                        [index](const inflight_batch& b) { return b.batch.index() == index; });
  if (l.phase == lane_phase::done || i == l.pipe.end()) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - i->sent);
  s.write_latency_ns.push_back(static_cast<uint64_t>(ns.count()));
  auto& c = s.board->counters;
  c.writes.fetch_add(1, std::memory_order_relaxed);
  c.batches.fetch_add(1, std::memory_order_relaxed);
  c.transfers.fetch_add(i->batch.transfer_count(), std::memory_order_relaxed);
  if (s.log) s.log->ack(i->token);
  l.pending.acknowledged(i->batch);
  l.pipe.erase(i);
  pipe_step(self, lane);
}

void on_pipelined_error(scheduler_pointer self, uint32_t lane, uint64_t index,
                        const caf::error& e) {
  auto& l = lane_of(self, lane);
  if (l.phase == lane_phase::done) return;
  // Not even an overload can be retried: later batches were already sent
  // with this one's writes as their base.
  l.clean = false;
  fail_lane(self, lane,
            "pipelined commit of batch " + std::to_string(index) + " (" +
                std::to_string(l.pipe.size()) + " in flight): " + to_status(e).to_string());
}

/// The batch's reads are done: records its writes as pending, sends it
/// without waiting for its acknowledgement and goes on with the chain.
void send_pipelined(scheduler_pointer self, uint32_t lane) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  l.reading = false;
  l.phase = lane_phase::idle;
  l.pending.sent(l.batch);
  auto token = log_intent(self, l, false, number_of(l.batch.index()), 0);
  l.pipe.push_back(inflight_batch{l.batch, clock_type::now(), token});
  l.count_commit();
  auto index = l.batch.index();
  auto w = l.batch.commit(s.cfg.spaces, s.cfg.id, l.lane, s.cfg.params.value_bytes);
  w.token = std::move(token);
  publish_commit(self, l.batch, w);
  self->request(s.manager, caf::duration{caf::infinite}, std::move(w))
      .then([self, lane, index](commit_ack&) { on_pipelined_ack(self, lane, index); },
            [self, lane, index](caf::error& e) { on_pipelined_error(self, lane, index, e); });
  pipe_step(self, lane);
}

/// Starts the chain's next batch (made by lane_plan::next): what pending
/// batches wrote comes from their record, only the rest is read from the store.
void begin_pipelined_batch(scheduler_pointer self, uint32_t lane) {
  auto& l = lane_of(self, lane);
  l.batch.use_pending(l.pending);
  if (l.batch.from_pending() == l.batch.touched().size()) return send_pipelined(self, lane);
  l.reading = true;
  enter(self, lane, lane_phase::read_latest);
}

/// Rollbacks and prunes wait for an empty pipeline (lane_plan::next).
void pipe_step(scheduler_pointer self, uint32_t lane) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  if (l.phase == lane_phase::done || l.reading) return;
  if (s.board->failed()) return finish_lane(self, lane);
  switch (l.next(l.pipe.size())) {
    case lane_step::rollback:
      return enter(self, lane, lane_phase::rollback_scan);
    case lane_step::prune:
      return enter(self, lane, lane_phase::prune_scan);
    case lane_step::batch:
      return begin_pipelined_batch(self, lane);
    case lane_step::done:
      return finish_lane(self, lane);
    case lane_step::wait:
      return;  // draining, or the pipeline is full
  }
}

// -- the lane loop -------------------------------------------------------------------------

void next_step(scheduler_pointer self, uint32_t lane) {
  if (self->state.cfg.rules.pipeline > 0) return pipe_step(self, lane);
  auto& l = lane_of(self, lane);
  if (self->state.board->failed()) return finish_lane(self, lane);
  switch (l.next(0)) {
    case lane_step::rollback:
      return enter(self, lane, lane_phase::rollback_scan);
    case lane_step::prune:
      return enter(self, lane, lane_phase::prune_scan);
    case lane_step::batch:
      return enter(self, lane, lane_phase::read_latest);
    case lane_step::done:
    case lane_step::wait:  // never with nothing in flight
      return finish_lane(self, lane);
  }
}

/// Sends the request of the lane's current phase (again, after an overload).
void issue(scheduler_pointer self, uint32_t lane) {
  auto& s = self->state;
  auto& l = lane_of(self, lane);
  if (s.board->failed()) return finish_lane(self, lane);
  switch (l.phase) {
    case lane_phase::read_latest:
      return ask<multi_get_reply>(
          self, lane, multi_get_request{s.cfg.spaces.latest, l.batch.latest_read()}, on_latest);
    case lane_phase::read_data:
      return ask<multi_get_reply>(
          self, lane, multi_get_request{s.cfg.spaces.data, l.batch.data_read()}, on_data);
    case lane_phase::commit: {
      auto w = l.batch.commit(s.cfg.spaces, s.cfg.id, l.lane, s.cfg.params.value_bytes);
      if (l.attempts == 0) l.token = log_intent(self, l, false, number_of(l.batch.index()), 0);
      w.token = l.token;
      publish_commit(self, l.batch, w);
      if (s.cfg.split_commits) return send_split(self, lane, std::move(w));
      return ask<commit_ack>(self, lane, std::move(w), on_committed);
    }
    case lane_phase::rollback_scan:
      return ask<scan_reply>(self, lane, l.rollback.next_scan(s.cfg.spaces, l.rollback_page()),
                             on_rollback_page);
    case lane_phase::rollback_write: {
      auto w = l.rollback.commit(s.cfg.spaces, s.cfg.range_deletes);
      if (l.attempts == 0)
        l.token = log_intent(self, l, true, l.live - l.rollback.batches(), l.rollback.batches());
      w.token = l.token;
      s.board->torn.rollback_sent(step_index(l));
      return ask<commit_ack>(self, lane, std::move(w), on_rolled_back);
    }
    case lane_phase::prune_scan:
      return ask<scan_reply>(self, lane, l.prune.next_scan(s.cfg.spaces, l.prune_page()),
                             on_prune_page);
    case lane_phase::prune_write:
      return ask<commit_ack>(self, lane, l.prune.commit(s.cfg.spaces, s.cfg.range_deletes),
                             on_pruned);
    case lane_phase::idle:
    case lane_phase::done:
      return;
  }
}

/// The manager (or the connection to a remote one) went down: no pending
/// request will be answered, so every unfinished lane fails now instead of
/// waiting for its request timeouts. A write in flight may or may not have
/// been applied.
void on_manager_down(scheduler_pointer self, const caf::down_msg& dm) {
  auto& s = self->state;
  if (dm.source != s.manager.address()) return;
  auto why = "the store went down: " + self->system().render(dm.reason);
  for (uint32_t i = 0; i < s.lanes.size(); ++i) {
    auto& l = s.lanes[i];
    if (l.phase == lane_phase::done) continue;
    if (l.phase == lane_phase::commit || l.phase == lane_phase::rollback_write ||
        l.phase == lane_phase::prune_write)
      l.clean = false;
    fail_lane(self, i, why);
  }
}

/// The watch timer: fails every lane whose request is past its deadline, as
/// a request timeout would, and comes round again while lanes run.
void watch(scheduler_pointer self) {
  auto& s = self->state;
  if (s.reported) return;
  auto now = clock_type::now();
  const auto late = overdue(s.cfg.timeout).to_string();
  for (uint32_t i = 0; i < s.lanes.size() && !s.reported; ++i) {
    auto& l = s.lanes[i];
    if (l.phase == lane_phase::done) continue;
    if (l.asking && now - l.asked > s.cfg.timeout) {
      l.asking = false;
      if (l.phase == lane_phase::commit || l.phase == lane_phase::rollback_write ||
          l.phase == lane_phase::prune_write)
        l.clean = false;
      fail_lane(
          self, i,
          std::string{phase_name(l.phase)} + " " + std::to_string(step_index(l)) + ": " + late);
    } else if (!l.pipe.empty() && now - l.pipe.front().sent > s.cfg.timeout) {
      l.clean = false;
      fail_lane(self, i,
                "pipelined commit of batch " + std::to_string(l.pipe.front().batch.index()) + " (" +
                    std::to_string(l.pipe.size()) + " in flight): " + late);
    }
  }
  if (!s.reported) self->delayed_send(self, watch_period(s.cfg.timeout), watch_atom::value);
}

void start_lanes(scheduler_pointer self) {
  auto& s = self->state;
  if (s.lanes.empty()) return report(self);
  self->delayed_send(self, watch_period(s.cfg.timeout), watch_atom::value);
  for (uint32_t i = 0; i < s.lanes.size(); ++i) next_step(self, i);
}

}  // namespace

caf::timespan watch_period(caf::timespan timeout) noexcept {
  return std::clamp<caf::timespan>(timeout / 4, std::chrono::milliseconds(1),
                                   std::chrono::milliseconds(250));
}

status overdue(caf::timespan timeout) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  return {errc::timeout, "no reply within " + std::to_string(ms) + " ms"};
}

scheduler_state::~scheduler_state() {
  if (reported || !board) return;
  board->fail("scheduler " + std::to_string(cfg.id) + " terminated before its lanes finished");
  board->finish(make_report(*this, false));
}

scheduler_actor::behavior_type scheduler(scheduler_pointer self, scheduler_settings cfg,
                                         manager_actor manager, std::shared_ptr<run_board> board,
                                         std::shared_ptr<ack_log> log) {
  auto& s = self->state;
  s.cfg = std::move(cfg);
  s.manager = std::move(manager);
  s.board = std::move(board);
  s.log = std::move(log);
  const auto& p = s.cfg.params;
  s.lanes.resize(p.lanes);
  for (uint32_t i = 0; i < p.lanes; ++i)
    s.lanes[i].reset(p, s.cfg.rules, s.cfg.id, i, s.cfg.batches, s.cfg.seed);
  s.write_latency_ns.reserve(s.cfg.batches + s.cfg.batches / 8 + 16);
  self->monitor(s.manager);
  self->set_down_handler([self](caf::down_msg& dm) { on_manager_down(self, dm); });
  return {
      [self](start_atom) { start_lanes(self); },
      [self](retry_atom, uint32_t lane) { issue(self, lane); },
      [self](watch_atom) { watch(self); },
  };
}

}  // namespace vstore::sim
