#include "bench/actor_side.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "bench/proc.hpp"
#include "log/log.hpp"
#include "tools/vstore-sim/driver.hpp"
#include "tools/vstore-sim/state_run.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

namespace vstore::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Starts a client (sent once by the main thread, after the clock started).
using go_atom = caf::atom_constant<caf::atom("vb_go")>;
/// A client's report to the main thread: completed, errors, first error.
using done_atom = caf::atom_constant<caf::atom("vb_done")>;

/// A load client's pacing tick (load_client).
using tick_atom = caf::atom_constant<caf::atom("vb_tick")>;
/// Stops a load client; it reports done_atom to the sender once idle.
using stop_atom = caf::atom_constant<caf::atom("vb_stop")>;
/// A lag prober's report: its lags (ms), errors, first error.
using lags_atom = caf::atom_constant<caf::atom("vb_lags")>;

/// The state of a client actor: its request indices [next, end).
struct client_state {
  manager_actor mgr;
  caf::actor sink;
  workload w;
  caf::timespan timeout{};
  size_t window = 1;
  uint64_t next = 0;
  uint64_t end = 0;
  uint64_t inflight = 0;
  uint64_t completed = 0;
  uint64_t errors = 0;
  std::string first_error;
  static inline const char* name = "vstore-bench.client";
};

using client_pointer = caf::stateful_actor<client_state>*;

void issue(client_pointer self);

void note_error(client_pointer self, std::string what) {
  auto& st = self->state;
  if (st.errors++ == 0) st.first_error = std::move(what);
}

void note_error(client_pointer self, const caf::error& e) {
  note_error(self, to_status(e).to_string());
}

/// Returns whether the client may send another request.
bool may_issue(client_pointer self) {
  auto& st = self->state;
  return st.next < st.end && clock_type::now() < st.w.deadline;
}

/// Reports to the main thread and quits once nothing is in flight.
void finish_if_idle(client_pointer self) {
  auto& st = self->state;
  if (st.inflight > 0) return;
  self->send(st.sink, done_atom::value, st.completed, st.errors, st.first_error);
  self->quit();
}

/// Counts one answered request and sends the next one, or finishes.
void answered(client_pointer self) {
  auto& st = self->state;
  --st.inflight;
  ++st.completed;
  if (may_issue(self))
    issue(self);
  else
    finish_if_idle(self);
}

/// Returns the put of written key number `n` to space `s`, its key and value
/// made in place (w.key_bytes, w.value_bytes).
write_op put_op(const workload& w, space_id s, uint64_t n) {
  write_op op{op_kind::put, s, std::string(w.key_bytes, '\0'), std::string(w.value_bytes, '\0')};
  written_key(n, op.key.data(), w.key_bytes);
  make_value(n, op.value.data(), w.value_bytes);
  return op;
}

write_request put_request(const workload& w, uint64_t n, bool flush_now) {
  write_request r;
  r.ops.push_back(put_op(w, bench_space, n));
  r.flush_now = flush_now;
  return r;
}

/// The write request of multi-space batch `b`: the operations the raw side
/// puts in its WriteBatch.
write_request multi_batch_request(const workload& w, uint64_t b) {
  write_request r;
  r.ops.reserve(multi_batch_ops);
  for (size_t op = 0; op < multi_batch_ops; ++op)
    r.ops.push_back(put_op(w, multi_batch_space(b, op, w.batch_spaces, w.schema_spaces),
                           b * multi_batch_ops + op));
  return r;
}

template <class Reply, class Request, class Check>
void send_request(client_pointer self, Request&& req, Check check) {
  auto timeout = self->state.timeout.count() > 0 ? caf::duration{self->state.timeout}
                                                 : caf::duration{caf::infinite};
  self->request(self->state.mgr, timeout, std::forward<Request>(req))
      .then(
          [self, check](Reply& r) {
            check(self, r);
            answered(self);
          },
          [self](caf::error& e) {
            note_error(self, e);
            answered(self);
          });
}

void issue(client_pointer self) {
  auto& st = self->state;
  auto i = st.next++;
  ++st.inflight;
  const auto& w = st.w;
  switch (w.kind) {
    case workload_kind::get: {
      get_request req{bench_space, loaded_key(pick(w.seed, i, w.key_count), w.key_bytes)};
      send_request<get_reply>(self, std::move(req), [](client_pointer s, get_reply& r) {
        if (!r.found || r.value.size() != s->state.w.value_bytes)
          note_error(s, "get: loaded key not found");
      });
      break;
    }
    case workload_kind::multi_get: {
      multi_get_request req;
      req.space = bench_space;
      req.keys.reserve(multi_get_keys);
      for (size_t j = 0; j < multi_get_keys; ++j)
        req.keys.push_back(
            loaded_key(pick(w.seed, i * multi_get_keys + j, w.key_count), w.key_bytes));
      send_request<multi_get_reply>(self, std::move(req), [](client_pointer s, multi_get_reply& r) {
        if (r.found.size() != multi_get_keys || std::count(r.found.begin(), r.found.end(), 1) !=
                                                    static_cast<std::ptrdiff_t>(multi_get_keys))
          note_error(s, "multi_get: loaded keys not found");
      });
      break;
    }
    case workload_kind::scan: {
      char prefix[8];
      group_prefix(pick(w.seed, i, std::max<uint64_t>(prefix_groups(w.key_count), 1)), prefix);
      scan_request req{bench_space, std::string{prefix, 8}, {}, scan_entries};
      send_request<scan_reply>(self, std::move(req), [](client_pointer s, scan_reply& r) {
        if (r.entries.size() != scan_entries)
          note_error(s, "scan returned " + std::to_string(r.entries.size()) + " entries");
      });
      break;
    }
    case workload_kind::put:
    case workload_kind::put_batched:
    case workload_kind::flush_put:
      send_request<commit_ack>(self,
                               put_request(w, w.write_base + i, w.kind == workload_kind::flush_put),
                               [](client_pointer, commit_ack&) {});
      break;
    case workload_kind::multi_batch:
      send_request<commit_ack>(self, multi_batch_request(w, w.write_base + i),
                               [](client_pointer, commit_ack&) {});
      break;
  }
}

/// A client actor: on go, sends `window` requests and then one more per
/// reply, until its indices run out or the deadline passed; then reports.
caf::behavior client(client_pointer self, manager_actor mgr, caf::actor sink, workload w,
                     caf::timespan timeout, size_t window, uint64_t begin, uint64_t end) {
  auto& st = self->state;
  st.mgr = std::move(mgr);
  st.sink = std::move(sink);
  st.w = w;
  st.timeout = timeout;
  st.window = std::max<size_t>(window, 1);
  st.next = begin;
  st.end = end;
  return {
      [self](go_atom) {
        for (size_t k = 0; k < self->state.window && may_issue(self); ++k) issue(self);
        finish_if_idle(self);
      },
  };
}

// -- the paced write load (start_load) ---------------------------------------------

/// The state of a load client: puts of `w` at `rate` per second, at most
/// `window` in flight, until stopped.
struct load_state {
  manager_actor mgr;
  workload w;
  caf::timespan timeout{};
  size_t window = 1;
  double rate = 0;
  /// Puts the pacing allows now (at most `window`: a backlog is dropped).
  double credit = 0;
  clock_type::time_point last_tick;
  uint64_t next = 0;
  uint64_t end = 0;
  uint64_t inflight = 0;
  uint64_t completed = 0;
  uint64_t errors = 0;
  std::string first_error;
  /// Set by stop_atom: who gets done_atom once nothing is in flight.
  caf::actor sink;
  bool stopping = false;
  static inline const char* name = "vstore-bench.load";
};

using load_pointer = caf::stateful_actor<load_state>*;

void load_finish_if_idle(load_pointer self) {
  auto& st = self->state;
  if (!st.stopping || st.inflight > 0) return;
  self->send(st.sink, done_atom::value, st.completed, st.errors, st.first_error);
  self->quit();
}

void load_answered(load_pointer self, const caf::error* e) {
  auto& st = self->state;
  --st.inflight;
  if (e == nullptr)
    ++st.completed;
  else if (st.errors++ == 0)
    st.first_error = to_status(*e).to_string();
  load_finish_if_idle(self);
}

/// Sends the puts the pacing allows, then arms the next tick (1 ms).
void load_tick(load_pointer self) {
  auto& st = self->state;
  if (st.stopping) return;
  auto now = clock_type::now();
  st.credit += st.rate * std::chrono::duration<double>(now - st.last_tick).count();
  st.credit = std::min(st.credit, static_cast<double>(st.window));
  st.last_tick = now;
  while (st.credit >= 1 && st.inflight < st.window && st.next < st.end) {
    st.credit -= 1;
    ++st.inflight;
    self->request(st.mgr, caf::duration{st.timeout},
                  put_request(st.w, st.w.write_base + st.next++, false))
        .then([self](commit_ack&) { load_answered(self, nullptr); },
              [self](caf::error& e) { load_answered(self, &e); });
  }
  self->delayed_send(self, std::chrono::milliseconds(1), tick_atom::value);
}

caf::behavior load_client(load_pointer self, manager_actor mgr, workload w, caf::timespan timeout,
                          size_t window, double rate, uint64_t begin, uint64_t end) {
  auto& st = self->state;
  st.mgr = std::move(mgr);
  st.w = w;
  st.timeout = timeout;
  st.window = std::max<size_t>(window, 1);
  st.rate = rate;
  st.next = begin;
  st.end = end;
  st.last_tick = clock_type::now();
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) { load_tick(self); },
      [self](stop_atom) {
        auto& s = self->state;
        s.sink = caf::actor_cast<caf::actor>(self->current_sender());
        s.stopping = true;
        load_finish_if_idle(self);
      },
  };
}

// -- the lag probes (probe_lag) -------------------------------------------------------

/// The state of a lag prober: writes on the primary, reads back on the replica.
struct prober_state {
  manager_actor primary;
  manager_actor replica;
  caf::actor sink;
  workload w;
  caf::timespan timeout{};
  uint64_t next = 0;
  uint64_t end = 0;
  std::vector<double> lags_ms;
  uint64_t errors = 0;
  std::string first_error;
  static inline const char* name = "vstore-bench.prober";
};

using prober_pointer = caf::stateful_actor<prober_state>*;

void prober_error(prober_pointer self, std::string what) {
  auto& st = self->state;
  if (st.errors++ == 0) st.first_error = std::move(what);
}

/// Writes the next key on the primary; on its ack, reads it on the replica
/// with min_seq; on that answer, records the lag and probes again. Reports
/// once the deadline passed or the indices ran out.
void probe(prober_pointer self) {
  auto& st = self->state;
  if (st.next >= st.end || clock_type::now() >= st.w.deadline) {
    self->send(st.sink, lags_atom::value, std::move(st.lags_ms), st.errors, st.first_error);
    self->quit();
    return;
  }
  auto req = put_request(st.w, st.w.write_base + st.next++, false);
  auto key = req.ops.front().key;
  auto timeout = caf::duration{st.timeout};
  self->request(st.primary, timeout, std::move(req))
      .then(
          [self, key, timeout](commit_ack& ack) mutable {
            auto acked = clock_type::now();
            get_request get{bench_space, std::move(key), ack.seq};
            self->request(self->state.replica, timeout, std::move(get))
                .then(
                    [self, acked](get_reply& r) {
                      if (!r.found || r.value.size() != self->state.w.value_bytes)
                        prober_error(self,
                                     "get with min_seq on the replica: written key not found");
                      else
                        self->state.lags_ms.push_back(
                            std::chrono::duration<double, std::milli>(clock_type::now() - acked)
                                .count());
                      probe(self);
                    },
                    [self](caf::error& e) {
                      prober_error(self, "replica get: " + to_status(e).to_string());
                      probe(self);
                    });
          },
          [self](caf::error& e) {
            prober_error(self, "primary put: " + to_status(e).to_string());
            probe(self);
          });
}

caf::behavior prober(prober_pointer self, manager_actor primary, manager_actor replica,
                     caf::actor sink, workload w, caf::timespan timeout, uint64_t begin,
                     uint64_t end) {
  auto& st = self->state;
  st.primary = std::move(primary);
  st.replica = std::move(replica);
  st.sink = std::move(sink);
  st.w = w;
  st.timeout = timeout;
  st.next = begin;
  st.end = end;
  return {
      [self](go_atom) { probe(self); },
  };
}

/// Sets one KEY=VALUE CAF option, guessing the value's type.
status set_caf_option(caf::actor_system_config& cfg, const std::string& kv) {
  auto eq = kv.find('=');
  auto key = kv.substr(0, eq);
  auto value = kv.substr(eq + 1);
  auto digits_end = value.find_first_not_of("0123456789");
  if (!value.empty() && digits_end == std::string::npos) {
    cfg.set(key, static_cast<size_t>(std::stoull(value)));
  } else if (value == "true" || value == "false") {
    cfg.set(key, value == "true");
  } else if (digits_end != 0 && digits_end != std::string::npos) {
    auto n = static_cast<int64_t>(std::stoll(value.substr(0, digits_end)));
    auto unit = value.substr(digits_end);
    caf::timespan t;
    if (unit == "ns")
      t = std::chrono::nanoseconds(n);
    else if (unit == "us")
      t = std::chrono::microseconds(n);
    else if (unit == "ms")
      t = std::chrono::milliseconds(n);
    else if (unit == "s")
      t = std::chrono::seconds(n);
    else
      return {errc::invalid_config, "--caf " + kv + ": unknown duration unit"};
    cfg.set(key, t);
  } else if (key.size() > 7 && key.compare(key.size() - 7, 7, ".policy") == 0) {
    cfg.set(key, caf::atom_from_string(value));
  } else {
    cfg.set(key, value);
  }
  return {};
}

}  // namespace

/// A write of the synced group-commit floor (open_sync_floor): the
/// operations of the writes a relay gathered, or of a whole round, and the
/// outcome of the synced DB::Write that wrote them.
struct floor_round {
  std::vector<write_op> ops;
  size_t writes = 0;
  /// The clients' requests (the relay's promises for them): the commit
  /// actor's place answers them itself, as vstore's commit actor does.
  std::vector<caf::response_promise> clients;
  status st;
};

}  // namespace vstore::bench

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vstore::bench::floor_round>)

namespace vstore::bench {

struct actor_side::impl {
  /// In-process managers and their clients: vstore's defaults
  /// (scheduler_polling::eager), no network.
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// The clients of remote managers (vstored, the floor's echo), started on
  /// first use: a networked node on cores it shares, configured like vstored
  /// (scheduler_polling::caf_default, CAF's middleman).
  actor_settings settings;
  caf::actor_system_config remote_cfg;
  std::unique_ptr<caf::actor_system> remote_sys;
  /// Managers by slot; `local[i]` tells whether slot i was spawned here.
  std::vector<manager_actor> managers;
  std::vector<bool> local;
  /// The store under each in-process manager (empty for the floors and
  /// remote managers), for settle().
  std::vector<std::shared_ptr<store>> stores;
  /// The running load of start_load (empty: none), its slot, start and
  /// request timeout.
  std::vector<caf::actor> loads;
  size_t load_slot = 0;
  clock_type::time_point load_started;
  std::chrono::milliseconds load_timeout{0};
};

namespace {

/// Starts an actor system from `cfg` with the bench's thread count and --caf
/// options.
status start_system(const actor_settings& s, caf::actor_system_config& cfg,
                    std::unique_ptr<caf::actor_system>& sys) {
  if (s.max_threads > 0) cfg.set("scheduler.max-threads", s.max_threads);
  for (const auto& kv : s.caf_options)
    if (auto st = set_caf_option(cfg, kv); !st) return st;
  try {
    sys = std::make_unique<caf::actor_system>(cfg);
  } catch (const std::exception& e) {
    return {errc::internal, std::string{"cannot start the actor system: "} + e.what()};
  }
  return {};
}

// -- the hop floor of a sequential commit (open_commit_floor) --------------------

using floor_write_fn = std::function<status(const std::vector<write_op>&)>;

/// The commit actor's place: writes inline and answers.
caf::behavior floor_end(caf::event_based_actor*, std::shared_ptr<floor_write_fn> write) {
  auto seq = std::make_shared<uint64_t>(0);
  return {[write, seq](write_request& w) -> caf::result<commit_ack> {
    if (auto st = (*write)(w.ops); !st) return to_error(st);
    return commit_ack{++*seq};
  }};
}

/// The writer's place: passes the write on (the commit actor's place
/// answers the client).
caf::behavior floor_relay(caf::event_based_actor* self, caf::actor next) {
  return {[self, next](write_request& w) { return self->delegate(next, std::move(w)); }};
}

template <class Reply>
caf::result<Reply> floor_refuse() {
  return make_error(errc::unavailable, "the hop floor only takes write_request");
}

/// The manager's place, with its typed interface: passes writes on (the
/// commit actor's place answers the client).
manager_actor::behavior_type floor_head(manager_actor::pointer self, caf::actor next) {
  return {
      [self, next](write_request& w) -> caf::result<commit_ack> {
        auto rp = self->make_response_promise<commit_ack>();
        rp.delegate(next, std::move(w));
        return rp;
      },
      [](get_request&) { return floor_refuse<get_reply>(); },
      [](multi_get_request&) { return floor_refuse<multi_get_reply>(); },
      [](scan_request&) { return floor_refuse<scan_reply>(); },
      [](snapshot_read_request&) { return floor_refuse<snapshot_read_reply>(); },
      [](flush_request&) { return floor_refuse<commit_ack>(); },
      [](stats_request&) { return floor_refuse<stats_reply>(); },
      [](status_request&) { return floor_refuse<status_reply>(); },
      [](drain_request&) { return floor_refuse<drain_reply>(); },
      [](outcome_request&) { return floor_refuse<outcome_reply>(); },
      [](checkpoint_request&) { return floor_refuse<checkpoint_reply>(); },
      [](log_request&) { return floor_refuse<log_reply>(); },
      [](snapshot_request&) { return floor_refuse<snapshot_reply>(); },
      [](chunk_request&) { return floor_refuse<chunk_reply>(); },
      [](snapshot_release&) { return floor_refuse<release_reply>(); },
      [](promote_request&) { return floor_refuse<promote_reply>(); },
      [](vstore::tick_atom) {},
      [](vstore::min_seq_atom) {},
      [](vstore::read_batch_atom) {},
      [](vstore::written_parts&) {},
  };
}

// -- the hop floor of synced group commit (open_sync_floor) -------------------

using floor_round_ptr = std::shared_ptr<floor_round>;
/// Gathers the next round once the I/O thread is idle (the tail of a
/// repetition only: a full round starts at once).
using floor_gather_atom = caf::atom_constant<caf::atom("vb_gather")>;

/// The commit I/O thread's place: one synced write per round.
caf::behavior floor_io(caf::event_based_actor*, std::shared_ptr<floor_write_fn> write) {
  return {[write](floor_round_ptr& r) {
    r->st = (*write)(r->ops);
    return r;
  }};
}

struct floor_group_state {
  /// The I/O thread (a detached actor, floor_io).
  caf::actor io;
  /// Writes in flight in the whole run: a round holds them all.
  size_t round_writes = 1;
  /// Gathered for the next round, with the promises of their relay batches.
  std::vector<floor_round_ptr> batches;
  std::vector<caf::response_promise> promises;
  /// Writes in `batches`.
  size_t queued = 0;
  /// Whether a round is on the I/O thread.
  bool writing = false;
  /// Rounds started: a gather timer of an earlier one is stale.
  uint64_t epoch = 0;
  static inline const char* name = "vstore-bench.floor-commit";
};

using floor_group_pointer = caf::stateful_actor<floor_group_state>*;

/// Writes everything gathered as one round on the I/O thread, and answers
/// its batches when the round is back.
void floor_start_round(floor_group_pointer self) {
  auto& s = self->state;
  auto round = std::make_shared<floor_round>();
  for (auto& b : s.batches) {
    round->writes += b->writes;
    for (auto& op : b->ops) round->ops.push_back(std::move(op));
    for (auto& c : b->clients) round->clients.push_back(std::move(c));
  }
  auto promises = std::make_shared<std::vector<caf::response_promise>>(std::move(s.promises));
  s.batches.clear();
  s.promises.clear();
  s.queued = 0;
  s.writing = true;
  ++s.epoch;
  self->request(s.io, caf::infinite, std::move(round))
      .then(
          [self, promises](floor_round_ptr& done) {
            // The relays first, then the clients (vstore's commit actor
            // answers the writer, then the clients).
            for (auto& rp : *promises) rp.deliver(done);
            auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
            for (auto& c : done->clients) {
              caf::response_promise rp{me, c.source(), c.stages(), c.id()};
              if (done->st)
                rp.deliver(commit_ack{0});
              else
                rp.deliver(to_error(done->st));
            }
            auto& st = self->state;
            st.writing = false;
            if (st.queued >= st.round_writes)
              floor_start_round(self);
            else if (st.queued > 0)
              self->delayed_send(self, std::chrono::milliseconds(1), floor_gather_atom::value,
                                 st.epoch);
          },
          [promises](caf::error& e) {
            for (auto& rp : *promises) rp.deliver(e);
          });
}

/// The commit actor's place with an ideal gather: it knows how many writes
/// are in flight and writes a round when all of them are there (or, at the
/// end of a repetition, 1 ms after the last round), on a detached I/O
/// thread.
caf::behavior floor_group_end(floor_group_pointer self, std::shared_ptr<floor_write_fn> write,
                              size_t round_writes) {
  auto& s = self->state;
  s.round_writes = std::max<size_t>(round_writes, 1);
  s.io = self->spawn<caf::detached>(floor_io, std::move(write));
  self->attach_functor([io = s.io] { caf::anon_send_exit(io, caf::exit_reason::user_shutdown); });
  return {
      [self](floor_round_ptr& b) -> caf::result<floor_round_ptr> {
        auto& st = self->state;
        st.queued += b->writes;
        st.batches.push_back(std::move(b));
        st.promises.push_back(self->make_response_promise());
        if (st.writing) return caf::delegated<floor_round_ptr>{};
        if (st.queued >= st.round_writes)
          floor_start_round(self);
        else if (st.batches.size() == 1)
          self->delayed_send(self, std::chrono::milliseconds(1), floor_gather_atom::value,
                             st.epoch);
        return caf::delegated<floor_round_ptr>{};
      },
      [self](floor_gather_atom, uint64_t epoch) {
        auto& st = self->state;
        if (!st.writing && epoch == st.epoch && st.queued > 0) floor_start_round(self);
      },
  };
}

struct floor_relay_state {
  caf::actor next;
  /// The batch being gathered (null: none) and the promises of its writes.
  floor_round_ptr open;
  std::vector<caf::response_promise> owners;
  static inline const char* name = "vstore-bench.floor-writer";
};

using floor_relay_pointer = caf::stateful_actor<floor_relay_state>*;

/// Sends the open batch on once the mailbox is empty, with its writes for the
/// commit actor's place to answer (the relay answers them only when that
/// actor fails). Called after every message, answers included: a
/// batch left open after the last message would never go (its clients wait
/// for it and send nothing more). vstore's writer checks after every message
/// too.
void floor_relay_seal(floor_relay_pointer self) {
  auto& s = self->state;
  if (!s.open || !self->mailbox().empty()) return;
  auto sealed = std::make_shared<std::vector<caf::response_promise>>(s.owners);
  s.open->clients = std::move(s.owners);
  s.owners.clear();
  self->request(s.next, caf::infinite, std::move(s.open))
      .then([self](floor_round_ptr&) { floor_relay_seal(self); },
            [self, sealed](caf::error& e) {
              for (auto& rp : *sealed) rp.deliver(e);
              floor_relay_seal(self);
            });
  s.open.reset();
}

/// The writer's place: gathers the writes that arrive while its mailbox has
/// more and sends them on as one batch.
caf::behavior floor_batching_relay(floor_relay_pointer self, caf::actor next) {
  self->state.next = std::move(next);
  return {[self](write_request& w) -> caf::result<commit_ack> {
    auto& s = self->state;
    if (!s.open) s.open = std::make_shared<floor_round>();
    ++s.open->writes;
    for (auto& op : w.ops) s.open->ops.push_back(std::move(op));
    s.owners.push_back(self->make_response_promise());
    floor_relay_seal(self);
    return caf::delegated<commit_ack>{};
  }};
}

/// The actor system whose clients talk to the manager in `slot`.
caf::actor_system& system_of(actor_side::impl& p, size_t slot) {
  return p.local.at(slot) ? *p.sys : *p.remote_sys;
}

}  // namespace

actor_side::actor_side(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

actor_side::~actor_side() {
  if (!impl_->loads.empty()) static_cast<void>(stop_load());
  for (size_t i = 0; i < impl_->managers.size(); ++i)
    if (impl_->managers[i]) static_cast<void>(close(i));
}

status actor_side::start(const actor_settings& s, std::unique_ptr<actor_side>& out) {
  // vstore logs through spdlog's default logger (stdout): keep stdout for the
  // table, and only warnings and errors.
  auto logger = spdlog::get("vstore-bench");
  if (!logger) logger = spdlog::stderr_color_mt("vstore-bench");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
  auto p = std::make_unique<impl>();
  p->settings = s;
  configure_actor_system(p->cfg);
  if (auto st = start_system(s, p->cfg, p->sys); !st) return st;
  out.reset(new actor_side(std::move(p)));
  return {};
}

status actor_side::open_manager(const options& opts, size_t& slot) {
  // What vstore::spawn_manager does (client/launch.cpp), keeping the store
  // for settle(). The options were validated with --set; spawn_manager
  // validates them again.
  set_log_level(opts.logging);
  std::shared_ptr<store> backend;
  if (auto st = open_store(opts, backend); !st) return st;
  manager_actor mgr;
  if (auto st =
          spawn_manager(*impl_->sys, manager_setup{opts, backend, nullptr, std::nullopt}, mgr);
      !st)
    return st;
  slot = impl_->managers.size();
  impl_->managers.push_back(std::move(mgr));
  impl_->local.push_back(true);
  impl_->stores.resize(impl_->managers.size());
  impl_->stores[slot] = std::move(backend);
  return {};
}

status actor_side::settle(size_t slot) {
  if (slot >= impl_->stores.size() || !impl_->stores[slot]) return {};
  return impl_->stores[slot]->sync();
}

status actor_side::open_commit_floor(std::function<status(const std::vector<write_op>&)> write,
                                     size_t& slot) {
  auto& sys = *impl_->sys;
  auto end = sys.spawn(floor_end, std::make_shared<floor_write_fn>(std::move(write)));
  auto writer = sys.spawn(floor_relay, end);
  slot = impl_->managers.size();
  impl_->managers.push_back(sys.spawn(floor_head, writer));
  impl_->local.push_back(true);  // its clients run here; close() ends it
  return {};
}

status actor_side::open_sync_floor(std::function<status(const std::vector<write_op>&)> write,
                                   size_t in_flight, size_t& slot) {
  auto& sys = *impl_->sys;
  auto end =
      sys.spawn(floor_group_end, std::make_shared<floor_write_fn>(std::move(write)), in_flight);
  auto writer = sys.spawn(floor_batching_relay, end);
  slot = impl_->managers.size();
  impl_->managers.push_back(sys.spawn(floor_head, writer));
  impl_->local.push_back(true);
  return {};
}

status actor_side::connect(uint16_t port, size_t& slot) {
  remote_options r;
  r.host = "127.0.0.1";
  r.port = port;
  if (!impl_->remote_sys) {
    configure_actor_system(impl_->remote_cfg, scheduler_polling::caf_default);
    configure_network(impl_->remote_cfg, remote_options{});
    if (auto st = start_system(impl_->settings, impl_->remote_cfg, impl_->remote_sys); !st)
      return st;
  }
  manager_actor mgr;
  if (auto st = connect_manager(*impl_->remote_sys, r, mgr); !st) return st;
  slot = impl_->managers.size();
  impl_->managers.push_back(std::move(mgr));
  impl_->local.push_back(false);
  return {};
}

rep_result actor_side::run(size_t slot, const workload& w, const client_plan& plan) {
  rep_result out;
  auto& sys = system_of(*impl_, slot);
  auto mgr = impl_->managers.at(slot);
  if (!mgr) {
    out.errors = 1;
    out.first_error = "manager is closed";
    return out;
  }
  caf::scoped_actor self{sys};
  auto sink = caf::actor_cast<caf::actor>(self);
  auto n = std::max<size_t>(plan.clients, 1);
  std::vector<caf::actor> clients;
  clients.reserve(n);
  for (size_t c = 0; c < n; ++c) {
    auto range = issuer_range(w, c, n);
    clients.push_back(sys.spawn(client, mgr, sink, w, caf::timespan{plan.request_timeout},
                                plan.window, range.first, range.second));
  }
  auto cpu0 = process_cpu_seconds();
  auto t0 = clock_type::now();
  for (auto& c : clients) self->send(c, go_atom::value);
  size_t reported = 0;
  bool timed_out = false;
  while (reported < n && !timed_out) {
    self->receive(
        [&](done_atom, uint64_t completed, uint64_t errors, std::string& first) {
          ++reported;
          out.completed += completed;
          if (errors > 0 && out.errors == 0) out.first_error = std::move(first);
          out.errors += errors;
        },
        caf::after(plan.rep_timeout) >> [&] { timed_out = true; });
  }
  auto t1 = clock_type::now();
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  out.cpu_seconds = process_cpu_seconds() - cpu0;
  if (timed_out) {
    for (auto& c : clients) self->send_exit(c, caf::exit_reason::kill);
    ++out.errors;
    out.first_error = "repetition did not finish within " +
                      std::to_string(plan.rep_timeout.count()) + " ms (" +
                      std::to_string(n - reported) + " clients still running)";
  }
  return out;
}

status actor_side::start_load(size_t slot, const workload& w, const load_plan& plan) {
  if (!impl_->loads.empty()) return {errc::invalid_argument, "a load is already running"};
  auto mgr = impl_->managers.at(slot);
  if (!mgr) return {errc::unavailable, "manager is closed"};
  auto& sys = system_of(*impl_, slot);
  auto n = std::max<size_t>(plan.clients, 1);
  auto untimed = w;
  untimed.deadline = clock_type::time_point::max();
  for (size_t c = 0; c < n; ++c) {
    auto range = issuer_range(untimed, c, n);
    impl_->loads.push_back(sys.spawn(load_client, mgr, untimed, caf::timespan{plan.request_timeout},
                                     plan.window, plan.rate / static_cast<double>(n), range.first,
                                     range.second));
  }
  impl_->load_slot = slot;
  impl_->load_started = clock_type::now();
  impl_->load_timeout = plan.request_timeout;
  return {};
}

rep_result actor_side::stop_load() {
  rep_result out;
  if (impl_->loads.empty()) return out;
  caf::scoped_actor self{system_of(*impl_, impl_->load_slot)};
  for (auto& l : impl_->loads) self->send(l, stop_atom::value);
  size_t reported = 0;
  bool timed_out = false;
  while (reported < impl_->loads.size() && !timed_out) {
    self->receive(
        [&](done_atom, uint64_t completed, uint64_t errors, std::string& first) {
          ++reported;
          out.completed += completed;
          if (errors > 0 && out.errors == 0) out.first_error = std::move(first);
          out.errors += errors;
        },
        caf::after(impl_->load_timeout + std::chrono::seconds(10)) >> [&] { timed_out = true; });
  }
  out.seconds = std::chrono::duration<double>(clock_type::now() - impl_->load_started).count();
  if (timed_out) {
    for (auto& l : impl_->loads) self->send_exit(l, caf::exit_reason::kill);
    ++out.errors;
    out.first_error = "the write load did not stop in time";
  }
  impl_->loads.clear();
  return out;
}

lag_result actor_side::probe_lag(size_t primary, size_t replica, const workload& w, size_t probers,
                                 std::chrono::milliseconds request_timeout,
                                 std::chrono::milliseconds rep_timeout) {
  lag_result out;
  auto p = impl_->managers.at(primary);
  auto r = impl_->managers.at(replica);
  if (!p || !r) {
    out.errors = 1;
    out.first_error = "manager is closed";
    return out;
  }
  auto& sys = system_of(*impl_, primary);
  caf::scoped_actor self{sys};
  auto sink = caf::actor_cast<caf::actor>(self);
  auto n = std::max<size_t>(probers, 1);
  std::vector<caf::actor> actors;
  for (size_t c = 0; c < n; ++c) {
    auto range = issuer_range(w, c, n);
    actors.push_back(sys.spawn(prober, p, r, sink, w, caf::timespan{request_timeout}, range.first,
                               range.second));
  }
  auto t0 = clock_type::now();
  for (auto& a : actors) self->send(a, go_atom::value);
  size_t reported = 0;
  bool timed_out = false;
  while (reported < n && !timed_out) {
    self->receive(
        [&](lags_atom, std::vector<double>& lags, uint64_t errors, std::string& first) {
          ++reported;
          out.lags_ms.insert(out.lags_ms.end(), lags.begin(), lags.end());
          if (errors > 0 && out.errors == 0) out.first_error = std::move(first);
          out.errors += errors;
        },
        caf::after(rep_timeout) >> [&] { timed_out = true; });
  }
  out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (timed_out) {
    for (auto& a : actors) self->send_exit(a, caf::exit_reason::kill);
    ++out.errors;
    out.first_error =
        "lag probes did not finish within " + std::to_string(rep_timeout.count()) + " ms";
  }
  return out;
}

status actor_side::status_of(size_t slot, status_reply& out) {
  auto& mgr = impl_->managers.at(slot);
  if (!mgr) return {errc::unavailable, "manager is closed"};
  status result;
  caf::scoped_actor self{system_of(*impl_, slot)};
  self->request(mgr, std::chrono::seconds(10), status_request{})
      .receive([&](status_reply& r) { out = std::move(r); },
               [&](caf::error& e) { result = to_status(e); });
  return result;
}

status actor_side::counters(size_t slot, commit_counters& out) {
  auto& mgr = impl_->managers.at(slot);
  if (!mgr) return {errc::unavailable, "manager is closed"};
  status result;
  caf::scoped_actor self{system_of(*impl_, slot)};
  self->request(mgr, std::chrono::seconds(10), stats_request{})
      .receive(
          [&](stats_reply& r) {
            out = commit_counters{};
            out.rounds = r.rounds;
            out.round_ops = r.round_ops;
            out.rounds_offloaded = r.rounds_offloaded;
            out.slow_rounds = r.slow_rounds;
            out.seals_by_reason.assign(flush_reason_count, 0);
            for (const auto& sp : r.spaces) {
              out.seals += sp.commits;
              for (size_t i = 0; i < sp.flushes.size() && i < flush_reason_count; ++i)
                out.seals_by_reason[i] += sp.flushes[i];
            }
          },
          [&](caf::error& e) { result = to_status(e); });
  return result;
}

int actor_side::run_sim(size_t slot, sim::run_context& ctx) {
  auto mgr = impl_->managers.at(slot);
  if (!mgr) return sim::usage_error("the manager is closed");
  auto& sys = system_of(*impl_, slot);
  sim::sync_client client{sys, mgr, ctx.timeout};
  // --state: the chain through a state service spawned over the manager.
  if (ctx.cli.state) return sim::drive_state(sys, mgr, client, ctx);
  return sim::drive(sys, mgr, client, ctx);
}

status actor_side::close(size_t slot) {
  auto& mgr = impl_->managers.at(slot);
  if (!mgr) return {};
  status result;
  if (impl_->local.at(slot)) {
    caf::scoped_actor self{*impl_->sys};
    self->request(mgr, std::chrono::seconds(60), drain_request{})
        .receive([](drain_reply&) {},
                 [&](caf::error& e) {
                   result = to_status(e);
                   self->send_exit(mgr, caf::exit_reason::kill);
                 });
  }
  mgr = manager_actor{};
  if (slot < impl_->stores.size()) impl_->stores[slot].reset();  // closes it (drained above)
  return result;
}

size_t actor_side::scheduler_threads() const { return impl_->sys->scheduler().num_workers(); }

}  // namespace vstore::bench
