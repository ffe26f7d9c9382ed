// The state service (vstore/state.hpp, docs/state.md): an actor over a
// manager that keeps the engine's layout in four spaces. It only moves
// requests and answers between its callers and the manager; the rules (key
// encoding, the operations of an apply group, a rollback and a prune page,
// the overlay of pending applies, the read walk) are plain C++ in
// state/layout.hpp.
//
// One FIFO of requests. Applies are accepted in order (index above the head)
// into the overlay, so reads sent after them see their writes, and are
// written in groups, ONE write in flight at a time. Reads start at once
// (their store part at one snapshot) and overlap the writes. A rollback or a
// prune waits until every apply before it is written and every read before
// it holds its snapshot, and blocks the requests after it until it is done.

#include "state/state_service.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <caf/all.hpp>

#include "state/layout.hpp"

namespace vstore {

namespace {

namespace sl = state_layout;
using clock_type = std::chrono::steady_clock;

// -- jobs: requests waiting in the FIFO ------------------------------------------------

struct apply_job {
  sl::pending_batch batch;
  caf::typed_response_promise<apply_ack> rp;
};
struct rollback_job {
  batch_index index = 0;
  caf::typed_response_promise<rollback_ack> rp;
};
struct prune_job {
  batch_index floor = 0;
  caf::typed_response_promise<prune_ack> rp;
};
struct read_job {
  std::vector<std::string> resources;
  /// UINT64_MAX for read_latest.
  batch_index index = UINT64_MAX;
  caf::typed_response_promise<state_values> rp;
};
struct info_job {
  caf::typed_response_promise<state_info> rp;
};
using job = std::variant<apply_job, rollback_job, prune_job, read_job, info_job>;

/// A read whose store part is under way.
struct read_ctx {
  read_job req;
  state_values out;
  /// Where the walk's resources go in `out`.
  std::vector<size_t> positions;
  sl::read_walk walk;
  uint64_t snapshot = 0;
  bool snapped = false;
  read_ctx(read_job j, std::vector<std::string> store_part, batch_index index)
      : req(std::move(j)), walk(std::move(store_part), index) {}
};

/// A rollback or a prune under way.
struct exclusive_ctx {
  std::variant<rollback_job, prune_job> req;
  /// Rollback: what it restores; batches undone.
  std::unique_ptr<sl::rollback_plan> plan;
  uint64_t batches = 0;
  /// Prune: the floor and the counts so far.
  batch_index floor = 0;
  sl::prune_counts counts;
  /// Whether a write of it was sent (a stop then leaves it in doubt).
  bool wrote = false;
};

/// A request to the manager awaiting its answer.
struct pending_ask {
  clock_type::time_point deadline;
  /// The wait it was given: request_timeout, plus the store's wait for a
  /// question about a write's outcome.
  caf::timespan timeout;
  std::function<void(caf::error&)> on_error;
};

/// The service's deadline tick, with the number of its arming. Private: it
/// is not in state_actor's interface, so the default handler takes it; a
/// tick of another arming (sent by anyone else) is dropped.
using deadline_atom = caf::atom_constant<caf::atom("st_dline")>;

struct service_state {
  manager_actor manager;
  state_options opts;
  sl::space_ids spaces;
  state_test_hooks hooks;

  /// Whether head and floor are known (read at start, and again after a
  /// write in doubt); while not, requests wait.
  bool head_known = false;
  bool recovering = false;
  /// The token of a write left in doubt: resolved before the head is read.
  std::string doubt_token;
  /// The last batch accepted, the last the store holds for sure, the floor.
  batch_index head = 0;
  batch_index committed_head = 0;
  batch_index floor = 0;
  /// Every rollback entry of the batches through this one is deleted (by a
  /// prune that finished in this service's life; 0 at start): the next
  /// prune scans after them, not again over their tombstones, which RocksDB
  /// keeps until a compaction and an iterator steps over one by one.
  batch_index pruned_through = 0;
  /// A sequence number the store reached (for outcome_request).
  uint64_t last_seq = 0;

  std::deque<job> queue;
  /// Accepted applies not written yet, and the group whose write is in
  /// flight (with its prev reads and its resolution).
  std::deque<apply_job> unwritten;
  std::vector<apply_job> in_flight;
  bool writing = false;
  /// At most this many applies in the next group (max_group, halved after a
  /// group was too large).
  size_t group_limit = 1;
  /// The last index of the group acknowledged before the last one: the
  /// overlay keeps the last acknowledged group to spare reads of its
  /// pointers.
  batch_index kept_through = 0;
  sl::pending_overlay overlay;
  /// Latest committed values (state_options::cache_resources).
  sl::latest_cache cache{0};
  /// What a prune's scan asks for (layout.hpp says why).
  sl::prune_scan_size prune_sizes;

  std::unordered_map<uint64_t, std::shared_ptr<read_ctx>> reads;
  uint64_t next_read = 1;
  size_t reads_unsnapped = 0;
  std::shared_ptr<exclusive_ctx> exclusive;

  /// Requests to the manager awaiting their answer, by ask id: each one's
  /// deadline and what its failure does (ask() says why they are untimed).
  std::unordered_map<uint64_t, pending_ask> asks;
  uint64_t next_ask = 1;
  /// Whether a deadline tick is scheduled (only while asks is not empty),
  /// and the number of the last arming.
  bool ticking = false;
  uint64_t tick_arming = 0;

  std::mt19937_64 rng{std::random_device{}()};

  static inline const char* name = "vstore.state";
};

using state_pointer = state_actor::stateful_pointer<service_state>;

// -- helpers -------------------------------------------------------------------------

caf::timespan request_timeout(state_pointer self) {
  return std::chrono::duration_cast<caf::timespan>(self->state.opts.request_timeout);
}

/// How often the deadline tick comes while requests are out: a quarter of
/// request_timeout, 1 ms..250 ms, so a request fails at most that long
/// after its deadline.
caf::timespan tick_period(std::chrono::milliseconds timeout) {
  return std::clamp<caf::timespan>(std::chrono::duration_cast<caf::timespan>(timeout) / 4,
                                   std::chrono::milliseconds(1), std::chrono::milliseconds(250));
}

void arm_tick(state_pointer self) {
  auto& st = self->state;
  if (st.ticking || st.asks.empty()) return;
  st.ticking = true;
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), tick_period(st.opts.request_timeout),
                         deadline_atom::value, ++st.tick_arming);
}

/// The deadline tick: fails every request past its deadline with
/// errc::timeout (maybe applied, as CAF's request timeout; its answer, if
/// it comes later, is dropped), and comes again while requests are out.
void on_tick(state_pointer self, uint64_t arming) {
  auto& st = self->state;
  if (!st.ticking || arming != st.tick_arming) return;
  st.ticking = false;
  const auto now = clock_type::now();
  std::vector<uint64_t> late;
  for (const auto& [id, a] : st.asks)
    if (a.deadline <= now) late.push_back(id);
  std::sort(late.begin(), late.end());
  for (auto id : late) {
    // An earlier failure's handler may have ended this request already.
    auto it = st.asks.find(id);
    if (it == st.asks.end()) continue;
    auto on_error = std::move(it->second.on_error);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(it->second.timeout).count();
    st.asks.erase(it);
    caf::error e =
        make_error(errc::timeout, "no answer from the manager within " + std::to_string(ms) +
                                      " ms (state_options.request_timeout)");
    on_error(e);
  }
  arm_tick(self);
}

/// Sends `req` to the manager and hands its answer to `on_reply`, or a
/// failure to `on_error`; a request unanswered within `timeout` fails with
/// errc::timeout. The request itself is untimed: a timed CAF 0.17
/// request pushes an entry into CAF's clock and wakes its thread, once per
/// request (11,123 of them in a 12,000-batch vstore-sim --state run;
/// docs/performance.md). One deadline tick per tick_period keeps the
/// deadlines instead.
template <class Reply, class Request, class OnReply, class OnError>
void ask(state_pointer self, caf::timespan timeout, Request req, OnReply on_reply,
         OnError on_error) {
  auto& st = self->state;
  const auto id = st.next_ask++;
  st.asks.emplace(id, pending_ask{clock_type::now() + timeout, timeout, std::move(on_error)});
  arm_tick(self);
  self->request(st.manager, caf::duration{caf::infinite}, std::move(req))
      .then(
          [self, id, on_reply = std::move(on_reply)](Reply& r) mutable {
            if (self->state.asks.erase(id) == 0) return;  // failed at its deadline
            on_reply(r);
          },
          [self, id](caf::error& e) {
            auto& s = self->state;
            auto it = s.asks.find(id);
            if (it == s.asks.end()) return;
            auto failed = std::move(it->second.on_error);
            s.asks.erase(it);
            failed(e);
          });
}

/// Whether a failed write may have been applied: vstore's own codes say
/// (write_outcome_of); CAF's (a timeout, a receiver gone) may hide a write
/// the manager took.
bool maybe_applied(const caf::error& e) {
  if (e.category() != caf::atom("vstore")) return true;
  auto st = to_status(e);
  return write_outcome_of(st.code()) == write_outcome::maybe;
}

caf::error with_context(const caf::error& e, const std::string& what) {
  auto st = to_status(e);
  return make_error(st.code(), what + ": " + st.context());
}

/// A read failed before a write was sent: the caller learns that nothing
/// was applied (a timeout or an I/O error of a read would say "maybe").
caf::error not_applied_error(const caf::error& e, const std::string& what) {
  auto st = to_status(e);
  if (e.category() == caf::atom("vstore") &&
      write_outcome_of(st.code()) == write_outcome::not_applied)
    return make_error(st.code(), what + ": " + st.context());
  return make_error(errc::aborted,
                    what + " failed (" + st.to_string() + "): nothing was applied; retry");
}

std::string make_token(state_pointer self, batch_index last) {
  auto& st = self->state;
  static const char* digits = "0123456789abcdef";
  std::string rnd;
  for (auto x = st.rng(); rnd.size() < 16; x >>= 4) rnd += digits[x & 0xf];
  return "state/" + st.opts.metadata_space.substr(0, 16) + "/" + std::to_string(last) + "/" + rnd;
}

void note_seq(state_pointer self, uint64_t seq) {
  self->state.last_seq = std::max(self->state.last_seq, seq);
}

template <class Job>
void fail_job(Job& j, const caf::error& e) {
  j.rp.deliver(e);
}

void fail_any(job& j, const caf::error& e) {
  std::visit([&](auto& x) { fail_job(x, e); }, j);
}

state_info info_of(state_pointer self) {
  auto& st = self->state;
  return state_info{st.head, st.committed_head, st.floor, st.queue.size() + st.unwritten.size(),
                    st.writing || (st.exclusive && st.exclusive->wrote)};
}

void pump(state_pointer self);

// -- writes with their outcome resolved ------------------------------------------------------

enum class write_result { committed, not_applied, in_doubt };
using write_done = std::function<void(write_result, uint64_t seq, const caf::error&)>;

/// How often the service asks what became of a write in doubt (each ask
/// waits up to 5 s in the store for the write to settle).
constexpr int max_outcome_asks = 20;

/// Asks what became of `token` until it is settled or `deadline` passes.
void resolve(state_pointer self, std::string token, uint64_t not_before,
             clock_type::time_point deadline, caf::error first, write_done done, int attempt) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  auto doubt = [self, token, first, done](const std::string& why) {
    self->state.doubt_token = token;
    done(write_result::in_doubt, 0,
         make_error(errc::in_doubt, why +
                                        " (the write failed with: " + to_status(first).to_string() +
                                        "); state_info shows the head once the store settles it"));
  };
  // A store that cannot settle the write until it is reopened (its commit
  // failed) answers "pending" at once: a few attempts tell.
  if (left.count() <= 0 || attempt >= max_outcome_asks) {
    doubt("the store could not tell whether the write committed (asked " + std::to_string(attempt) +
          " times within state_options.request_timeout)");
    return;
  }
  const auto wait = std::min<int64_t>(left.count(), 5000);
  outcome_request q{token, not_before, static_cast<uint32_t>(wait)};
  ask<outcome_reply>(
      self, request_timeout(self) + std::chrono::milliseconds(wait), std::move(q),
      [self, token, not_before, deadline, first, done, attempt, doubt](outcome_reply& r) {
        switch (r.state) {
          case write_state::committed:
            note_seq(self, r.seq);
            done(write_result::committed, r.seq, {});
            return;
          case write_state::not_committed:
            done(write_result::not_applied, 0,
                 make_error(errc::aborted, "the write failed with " + to_status(first).to_string() +
                                               " and the store says it was not committed: "
                                               "nothing was applied; retry"));
            return;
          case write_state::pending:
            resolve(self, token, not_before, deadline, first, done, attempt + 1);
            return;
          case write_state::unknown:
            // Forgotten: settled long ago; the head read before the next
            // request tells what became of it.
            self->state.doubt_token.clear();
            done(write_result::in_doubt, 0,
                 make_error(errc::in_doubt,
                            "the store no longer remembers the write's token "
                            "(the write failed with: " +
                                to_status(first).to_string() + "); state_info shows the head"));
            return;
        }
      },
      [doubt](caf::error& e) {
        doubt("asking the store for the write's outcome failed: " + to_status(e).to_string());
      });
}

/// Sends `req` (with a token) and calls `done` once its outcome is known or
/// cannot be: committed, not applied (the error says why), or in doubt
/// (doubt_token is then set when asking again later may settle it).
void write_resolved(state_pointer self, write_request req, write_done done) {
  auto& st = self->state;
  auto token = req.token;
  const auto not_before = st.last_seq;
  ask<commit_ack>(
      self, request_timeout(self), std::move(req),
      [self, done](commit_ack& ack) {
        note_seq(self, ack.seq);
        done(write_result::committed, ack.seq, {});
      },
      [self, token, not_before, done](caf::error& e) {
        if (!maybe_applied(e)) {
          done(write_result::not_applied, 0, e);
          return;
        }
        const auto deadline = clock_type::now() + self->state.opts.request_timeout;
        resolve(self, token, not_before, deadline, e, done, 0);
      });
}

/// A write left in doubt: every request waits until the head was read again.
void enter_doubt(state_pointer self) {
  auto& st = self->state;
  st.head_known = false;
  st.overlay.clear();
  st.cache.clear();
}

// -- the pipeline of applies -------------------------------------------------------------

/// Answers the accepted applies not written yet, and those queued before the
/// next rollback or prune, with errc::aborted: the pipeline they were sent
/// in lost an earlier batch, and none of them is applied.
void abort_pipeline(state_pointer self, const std::string& why) {
  auto& st = self->state;
  auto e = make_error(errc::aborted, why + "; this batch was not applied (send it again)");
  for (auto& j : st.unwritten) j.rp.deliver(e);
  st.unwritten.clear();
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    if (std::holds_alternative<rollback_job>(*it) || std::holds_alternative<prune_job>(*it)) break;
    if (auto* a = std::get_if<apply_job>(&*it)) {
      a->rp.deliver(e);
      it = st.queue.erase(it);
    } else {
      ++it;
    }
  }
  st.overlay.clear();
  st.head = st.committed_head;
  st.kept_through = st.committed_head;
}

void group_done(state_pointer self, write_result res, uint64_t seq, const caf::error& e) {
  auto& st = self->state;
  const auto first = st.in_flight.front().batch.index;
  const auto last = st.in_flight.back().batch.index;
  switch (res) {
    case write_result::committed:
      for (auto& j : st.in_flight) {
        for (const auto& w : j.batch.writes)
          st.cache.put(w.resource, j.batch.index, w.remove, w.value);
        st.prune_sizes.add(j.batch.writes.size());
        j.rp.deliver(apply_ack{j.batch.index, seq});
      }
      st.committed_head = last;
      st.overlay.drop_through(st.kept_through);
      st.kept_through = last;
      st.group_limit = st.opts.max_group;
      break;
    case write_result::not_applied:
      if (to_status(e).code() == errc::too_large && st.in_flight.size() > 1) {
        // The group, not necessarily a batch, exceeds the manager's limits:
        // write it again in halves (still accepted, still in the overlay).
        st.group_limit = st.in_flight.size() / 2;
        for (auto it = st.in_flight.rbegin(); it != st.in_flight.rend(); ++it)
          st.unwritten.push_front(std::move(*it));
        break;
      }
      for (auto& j : st.in_flight)
        j.rp.deliver(with_context(e, "batches " + std::to_string(first) + ".." +
                                         std::to_string(last) + " were not applied"));
      st.in_flight.clear();
      abort_pipeline(self, "batch " + std::to_string(first) + " before it failed (" +
                               to_status(e).to_string() + ")");
      break;
    case write_result::in_doubt:
      for (auto& j : st.in_flight) j.rp.deliver(e);
      st.in_flight.clear();
      abort_pipeline(self,
                     "the write of batch " + std::to_string(first) + " before it is in doubt");
      enter_doubt(self);
      break;
  }
  st.in_flight.clear();
  st.writing = false;
  pump(self);
}

void send_group(state_pointer self, std::unordered_map<std::string, batch_index> latest) {
  auto& st = self->state;
  std::vector<const sl::pending_batch*> group;
  for (const auto& j : st.in_flight) group.push_back(&j.batch);
  write_request req;
  sl::build_apply_ops(st.spaces, group, latest, req.ops);
  req.flush_now = true;  // our own group commit; the manager need not wait for more
  req.token = make_token(self, group.back()->index);
  write_resolved(self, std::move(req), [self](write_result r, uint64_t seq, const caf::error& e) {
    group_done(self, r, seq, e);
  });
}

/// Reads the pointers of `missing[from..]`, page by page, into `latest`, then
/// sends the group's write.
void read_prevs(state_pointer self, std::unordered_map<std::string, batch_index> latest,
                std::vector<std::string> missing, size_t from) {
  auto& st = self->state;
  if (from >= missing.size()) {
    send_group(self, std::move(latest));
    return;
  }
  const size_t n = std::min<size_t>(st.opts.page, missing.size() - from);
  multi_get_request q;
  q.space = st.spaces.latest;
  q.keys.assign(missing.begin() + static_cast<std::ptrdiff_t>(from),
                missing.begin() + static_cast<std::ptrdiff_t>(from + n));
  ask<multi_get_reply>(
      self, request_timeout(self), std::move(q),
      [self, latest, missing, from, n](multi_get_reply& r) mutable {
        if (r.found.size() != n || r.values.size() != n) {
          group_done(self, write_result::not_applied, 0,
                     not_applied_error(
                         make_error(errc::internal, "a multi_get answered with another count"),
                         "reading the pointers before the write"));
          return;
        }
        for (size_t i = 0; i < n; ++i) {
          batch_index v = 0;
          if (r.found[i]) {
            auto d = sl::decode_index(r.values[i]);
            if (!d) {
              group_done(self, write_result::not_applied, 0,
                         not_applied_error(
                             make_error(errc::corruption, "a latest_ptr value of " +
                                                              std::to_string(r.values[i].size()) +
                                                              " bytes (expected 8)"),
                             "reading the pointers before the write"));
              return;
            }
            v = *d;
          }
          latest[missing[from + i]] = v;
        }
        read_prevs(self, std::move(latest), std::move(missing), from + n);
      },
      [self](caf::error& e) {
        group_done(self, write_result::not_applied, 0,
                   not_applied_error(e, "reading the pointers before the write"));
      });
}

/// Starts the write of the next group: the versions before it come from the
/// overlay where it has them, else from the store.
void start_group(state_pointer self) {
  auto& st = self->state;
  st.writing = true;
  const size_t n = std::min(st.group_limit, st.unwritten.size());
  for (size_t i = 0; i < n; ++i) {
    st.in_flight.push_back(std::move(st.unwritten.front()));
    st.unwritten.pop_front();
  }
  const auto first = st.in_flight.front().batch.index;
  std::unordered_map<std::string, batch_index> latest;
  std::vector<std::string> missing;
  std::unordered_set<std::string> asked;
  for (const auto& j : st.in_flight) {
    for (const auto& w : j.batch.writes) {
      if (latest.count(w.resource) || asked.count(w.resource)) continue;
      if (auto* e = st.overlay.find(w.resource, first - 1)) {
        latest[w.resource] = e->batch;
      } else if (auto* c = st.cache.find(w.resource)) {
        latest[w.resource] = c->version;
      } else {
        asked.insert(w.resource);
        missing.push_back(w.resource);
      }
    }
  }
  read_prevs(self, std::move(latest), std::move(missing), 0);
}

// -- reads -------------------------------------------------------------------------------

void release_snapshot(state_pointer self, uint64_t id) {
  if (id == 0) return;
  snapshot_read_request q;
  q.snapshot = id;
  ask<snapshot_read_reply>(
      self, request_timeout(self), std::move(q), [](snapshot_read_reply&) {}, [](caf::error&) {});
}

void read_finished(state_pointer self, uint64_t id) {
  auto& st = self->state;
  auto it = st.reads.find(id);
  if (it == st.reads.end()) return;
  if (!it->second->snapped) --st.reads_unsnapped;
  st.reads.erase(it);
  pump(self);
}

void read_step(state_pointer self, uint64_t id) {
  auto& st = self->state;
  auto ctx = st.reads.at(id);
  snapshot_read_request q;
  q.items = ctx->walk.items(st.spaces);
  if (st.hooks.snapshot_per_step) {
    q.snapshot = 0;
    q.keep = false;
  } else {
    q.snapshot = ctx->snapshot;
    // The first step keeps the snapshot for the others; the data step (or a
    // request with no items) releases it.
    q.keep = !ctx->walk.at_data() && !ctx->walk.done();
  }
  if (ctx->walk.done() && q.snapshot == 0) {
    ctx->req.rp.deliver(std::move(ctx->out));
    read_finished(self, id);
    return;
  }
  ask<snapshot_read_reply>(
      self, request_timeout(self), std::move(q),
      [self, id](snapshot_read_reply& r) {
        auto& s = self->state;
        auto it = s.reads.find(id);
        if (it == s.reads.end()) return;
        auto c = it->second;
        const bool first = !c->snapped;
        if (first) {
          c->snapped = true;
          --s.reads_unsnapped;
        }
        c->snapshot = r.snapshot;
        note_seq(self, r.seq);
        if (c->walk.done()) {  // that was the release
          c->req.rp.deliver(std::move(c->out));
          read_finished(self, id);
          return;
        }
        if (auto st2 = c->walk.take(r.results); !st2) {
          release_snapshot(self, c->snapshot);
          c->req.rp.deliver(to_error(st2));
          read_finished(self, id);
          return;
        }
        if (c->walk.done()) {
          for (size_t i = 0; i < c->positions.size(); ++i) {
            c->out.found[c->positions[i]] = c->walk.found()[i];
            c->out.values[c->positions[i]] = std::move(c->walk.values()[i]);
          }
          if (c->snapshot == 0) {
            c->req.rp.deliver(std::move(c->out));
            read_finished(self, id);
            return;
          }
        }
        if (first) pump(self);  // a rollback or prune may wait for this snapshot
        read_step(self, id);
      },
      [self, id](caf::error& e) {
        auto& s = self->state;
        auto it = s.reads.find(id);
        if (it == s.reads.end()) return;
        release_snapshot(self, it->second->snapshot);
        it->second->req.rp.deliver(with_context(e, "reading the state at one snapshot"));
        read_finished(self, id);
      });
}

/// Answers what the overlay holds, and reads the rest at one snapshot.
void start_read(state_pointer self, read_job j) {
  auto& st = self->state;
  state_values out;
  out.found.assign(j.resources.size(), 0);
  out.values.assign(j.resources.size(), std::string{});
  std::vector<std::string> store_part;
  std::vector<size_t> positions;
  for (size_t i = 0; i < j.resources.size(); ++i) {
    const auto* e = st.hooks.skip_overlay ? nullptr : st.overlay.find(j.resources[i], j.index);
    // The latest committed value answers for any index at or above its
    // version (no committed batch after it wrote the resource).
    const auto* c = e || st.hooks.skip_overlay ? nullptr : st.cache.find(j.resources[i]);
    if (c && c->version > j.index) c = nullptr;
    if (e) {
      out.found[i] = !e->removed;
      if (!e->removed) out.values[i] = e->value;
    } else if (c) {
      out.found[i] = !c->removed;
      if (!c->removed) out.values[i] = c->value;
    } else {
      store_part.push_back(j.resources[i]);
      positions.push_back(i);
    }
  }
  if (store_part.empty()) {
    j.rp.deliver(std::move(out));
    return;
  }
  const auto index = j.index;
  auto ctx = std::make_shared<read_ctx>(std::move(j), std::move(store_part), index);
  ctx->out = std::move(out);
  ctx->positions = std::move(positions);
  const auto id = st.next_read++;
  st.reads.emplace(id, ctx);
  ++st.reads_unsnapped;
  read_step(self, id);
}

// -- rollback and prune --------------------------------------------------------------------

void exclusive_done(state_pointer self) {
  self->state.exclusive.reset();
  pump(self);
}

template <class Reply>
void finish_exclusive(state_pointer self, Reply reply) {
  auto ctx = self->state.exclusive;
  if (!ctx) return;
  if constexpr (std::is_same<Reply, rollback_ack>::value)
    std::get<rollback_job>(ctx->req).rp.deliver(std::move(reply));
  else
    std::get<prune_job>(ctx->req).rp.deliver(std::move(reply));
  exclusive_done(self);
}

void fail_exclusive(state_pointer self, const caf::error& e) {
  auto ctx = self->state.exclusive;
  if (!ctx) return;
  auto answer = e;
  // A prune whose floor is in place has changed the store, whatever failed
  // after: never "not applied". Its deletions may have stopped half way
  // (pages written before): a prune to the same floor finishes them.
  if (std::holds_alternative<prune_job>(ctx->req) && self->state.floor == ctx->floor) {
    const auto st = to_status(e);
    answer = make_error(errc::in_doubt,
                        "the floor " + std::to_string(ctx->floor) +
                            " is written (rollbacks and read_at below it are refused), but "
                            "deleting below it stopped (" +
                            st.to_string() + "): send prune_below again to finish");
  }
  std::visit([&](auto& x) { x.rp.deliver(answer); }, ctx->req);
  exclusive_done(self);
}

/// Handles the outcome of a write of a rollback or prune; returns whether it
/// committed (the caller goes on).
bool exclusive_write_ok(state_pointer self, write_result r, const caf::error& e,
                        const std::string& what) {
  if (r == write_result::committed) return true;
  if (r == write_result::in_doubt) enter_doubt(self);
  fail_exclusive(self, r == write_result::in_doubt ? e : with_context(e, what));
  return false;
}

void rollback_write(state_pointer self) {
  auto& st = self->state;
  auto ctx = st.exclusive;
  const auto index = std::get<rollback_job>(ctx->req).index;
  write_request req;
  ctx->plan->build(st.spaces, st.head, req.ops, st.hooks.skip_one_restore);
  req.flush_now = true;
  req.token = make_token(self, index);
  ctx->wrote = true;
  write_resolved(
      self, std::move(req), [self, index](write_result r, uint64_t seq, const caf::error& e) {
        if (!exclusive_write_ok(self, r, e,
                                "the rollback to " + std::to_string(index) + " was not applied"))
          return;
        auto& s = self->state;
        s.head = s.committed_head = s.kept_through = index;
        auto c = s.exclusive;
        for (const auto& resource : c->plan->restored()) s.cache.erase(resource);
        finish_exclusive(self, rollback_ack{index, c->batches, c->plan->pointers(), seq});
      });
}

/// Reads the page of `space` after `after` (`limit` keys) for the
/// exclusive request, a rollback or a prune, and hands it to `on_page`. A
/// failed read ends the request, with nothing of this step applied (`what`
/// names the read).
template <class OnPage>
void exclusive_page(state_pointer self, space_id space, std::string after, uint32_t limit,
                    const char* what, OnPage on_page) {
  scan_request q;
  q.space = space;
  q.start_after = std::move(after);
  q.limit = limit;
  ask<scan_reply>(
      self, request_timeout(self), std::move(q), [on_page](scan_reply& r) mutable { on_page(r); },
      [self, what](caf::error& e) { fail_exclusive(self, not_applied_error(e, what)); });
}

/// Counts the batches after the index (their metadata keys), page by page.
void rollback_count(state_pointer self, std::string after) {
  exclusive_page(self, self->state.spaces.metadata, std::move(after), self->state.opts.page,
                 "counting the batches to undo", [self](scan_reply& r) {
                   auto ctx = self->state.exclusive;
                   bool meta = false;
                   for (const auto& kv : r.entries) {
                     if (kv.key.size() != 8) {  // the meta keys sort last
                       meta = true;
                       break;
                     }
                     ++ctx->batches;
                   }
                   if (r.more && !meta && !r.entries.empty()) {
                     rollback_count(self, r.entries.back().key);
                     return;
                   }
                   rollback_write(self);
                 });
}

/// Reads the rollback entries after the index, page by page, into the plan.
void rollback_scan(state_pointer self, std::string after) {
  exclusive_page(self, self->state.spaces.rollback, std::move(after), self->state.opts.page,
                 "reading the rollback entries", [self](scan_reply& r) {
                   auto& s = self->state;
                   auto ctx = s.exclusive;
                   for (const auto& kv : r.entries) {
                     sl::rollback_entry e;
                     auto ok = sl::parse_rollback_entry(kv, s.opts.id_length, e);
                     if (ok) ok = ctx->plan->add(e);
                     if (!ok) {
                       fail_exclusive(self, to_error(ok));
                       return;
                     }
                   }
                   if (r.more && !r.entries.empty()) {
                     rollback_scan(self, r.entries.back().key);
                     return;
                   }
                   rollback_count(self, sl::encode_index(std::get<rollback_job>(ctx->req).index));
                 });
}

void start_rollback(state_pointer self, rollback_job j) {
  auto& st = self->state;
  if (j.index < st.floor) {
    j.rp.deliver(make_error(errc::pruned, "rollback to " + std::to_string(j.index) +
                                              " is below the pruning floor " +
                                              std::to_string(st.floor) + ": nothing was changed"));
    return;
  }
  if (j.index > st.head) {
    j.rp.deliver(make_error(errc::invalid_argument, "rollback to " + std::to_string(j.index) +
                                                        " is above the head " +
                                                        std::to_string(st.head)));
    return;
  }
  if (j.index == st.head) {
    j.rp.deliver(rollback_ack{j.index, 0, 0, st.last_seq});
    return;
  }
  // History changes: what the overlay keeps of the last group may be undone.
  st.overlay.clear();
  st.kept_through = st.committed_head;
  auto ctx = std::make_shared<exclusive_ctx>();
  ctx->plan = std::make_unique<sl::rollback_plan>(j.index);
  const auto index = j.index;
  ctx->req = std::move(j);
  st.exclusive = ctx;
  rollback_scan(self, sl::rollback_scan_start(index, st.opts.id_length));
}

void prune_pages(state_pointer self, std::string after, batch_index from);

/// Answers the prune: every rollback entry through its floor is deleted.
void prune_finished(state_pointer self) {
  auto& st = self->state;
  auto c = st.exclusive;
  st.pruned_through = std::max(st.pruned_through, c->floor);
  finish_exclusive(
      self, prune_ack{c->floor, c->counts.versions, c->counts.entries, c->counts.tombstones});
}

/// Where a prune's scan of the rollback entries starts: after those a prune
/// of this service deleted already (service_state::pruned_through).
std::string prune_scan_start(const service_state& st) {
  if (st.pruned_through == 0) return {};
  return sl::rollback_scan_start(st.pruned_through, st.opts.id_length);
}

/// Writes the deletions of `page` given the answers to its reads.
void prune_page_commit(state_pointer self, const sl::prune_page& page, bool last,
                       const std::vector<read_result>& answers) {
  auto& s = self->state;
  auto ctx = s.exclusive;
  write_request req;
  sl::prune_counts counts;
  if (auto ok = page.build(s.spaces, answers, req.ops, counts); !ok) {
    fail_exclusive(self, to_error(ok));
    return;
  }
  req.flush_now = true;
  req.token = make_token(self, ctx->floor);
  ctx->wrote = true;
  auto after = page.entries().back();
  write_resolved(self, std::move(req),
                 [self, counts, last, after](write_result res, uint64_t, const caf::error& e) {
                   if (!exclusive_write_ok(self, res, e, "a page of the prune was not applied"))
                     return;
                   auto c = self->state.exclusive;
                   c->counts.versions += counts.versions;
                   c->counts.entries += counts.entries;
                   c->counts.tombstones += counts.tombstones;
                   if (last) {
                     prune_finished(self);
                     return;
                   }
                   prune_pages(self, sl::version_key(after.batch, after.resource), after.batch - 1);
                 });
}

/// Reads what `page` needs at one snapshot (nothing when the cache knows
/// it all), then writes its deletions.
void prune_page_write(state_pointer self, sl::prune_page page, bool last) {
  auto& st = self->state;
  snapshot_read_request q;
  q.items = page.reads(st.spaces);
  if (q.items.empty()) {
    prune_page_commit(self, page, last, {});
    return;
  }
  ask<snapshot_read_reply>(
      self, request_timeout(self), std::move(q),
      [self, page, last](snapshot_read_reply& r) {
        prune_page_commit(self, page, last, r.results);
      },
      [self](caf::error& e) {
        fail_exclusive(self, not_applied_error(e, "reading a page of the prune"));
      });
}

/// Reads the next page of rollback entries of batches <= the floor: those
/// after `after`, which belong to batches after `from`.
void prune_pages(state_pointer self, std::string after, batch_index from) {
  auto& st = self->state;
  const auto limit = st.prune_sizes.limit(from, st.exclusive->floor, st.opts.page);
  exclusive_page(self, st.spaces.rollback, std::move(after), limit,
                 "reading the rollback entries to prune", [self](scan_reply& r) {
                   auto& s = self->state;
                   auto ctx = s.exclusive;
                   std::vector<sl::rollback_entry> entries;
                   bool beyond = false;
                   for (const auto& kv : r.entries) {
                     sl::rollback_entry e;
                     if (auto ok = sl::parse_rollback_entry(kv, s.opts.id_length, e); !ok) {
                       fail_exclusive(self, to_error(ok));
                       return;
                     }
                     if (e.batch > ctx->floor + (s.hooks.prune_one_above ? 1 : 0)) {
                       beyond = true;
                       break;
                     }
                     entries.push_back(std::move(e));
                   }
                   if (entries.empty()) {
                     prune_finished(self);
                     return;
                   }
                   // A pointer the cache holds stays and needs no read: the
                   // service is its only writer, nothing is in flight, and
                   // the prune's start made the cache forget the tombstones
                   // at or below the floor (the only pointers that may go).
                   std::unordered_set<std::string> kept;
                   for (const auto& e : entries)
                     if (s.cache.find(e.resource)) kept.insert(e.resource);
                   prune_page_write(self, sl::prune_page{std::move(entries), std::move(kept)},
                                    beyond || !r.more);
                 });
}

void start_prune(state_pointer self, prune_job j) {
  auto& st = self->state;
  if (j.floor > st.head) {
    j.rp.deliver(make_error(
        errc::invalid_argument,
        "floor " + std::to_string(j.floor) + " is above the head " + std::to_string(st.head)));
    return;
  }
  st.overlay.clear();
  st.kept_through = st.committed_head;
  auto ctx = std::make_shared<exclusive_ctx>();
  // A floor at or below the current one keeps it, and finishes its deletions.
  ctx->floor = std::max(j.floor, st.floor);
  // The prune may delete the tombstone pointers at or below its floor.
  st.cache.forget_removed_through(ctx->floor);
  ctx->req = std::move(j);
  // A new floor is written with the first page's deletions, in one write
  // (one round trip fewer than a write of its own; the requests after the
  // prune wait, so nothing reads below the floor meanwhile).
  st.exclusive = ctx;
  if (ctx->floor == st.floor) {
    prune_pages(self, prune_scan_start(st), st.pruned_through);
    return;
  }
  write_request req;
  req.put(st.spaces.metadata, sl::floor_key(), sl::encode_index(ctx->floor));
  req.flush_now = true;
  req.token = make_token(self, ctx->floor);
  ctx->wrote = true;
  write_resolved(self, std::move(req), [self](write_result r, uint64_t, const caf::error& e) {
    if (!exclusive_write_ok(self, r, e, "the new floor was not written")) return;
    self->state.floor = self->state.exclusive->floor;
    prune_pages(self, prune_scan_start(self->state), self->state.pruned_through);
  });
}

// -- head and floor from the store -----------------------------------------------------------

void fail_queue(state_pointer self, const caf::error& e) {
  auto& st = self->state;
  for (auto& j : st.queue) fail_any(j, e);
  st.queue.clear();
}

void read_head(state_pointer self) {
  auto& st = self->state;
  multi_get_request q;
  q.space = st.spaces.metadata;
  q.keys = {sl::head_key(), sl::floor_key()};
  ask<multi_get_reply>(
      self, request_timeout(self), std::move(q),
      [self](multi_get_reply& r) {
        auto& s = self->state;
        s.recovering = false;
        batch_index v[2] = {0, 0};
        for (size_t i = 0; i < 2 && i < r.found.size(); ++i) {
          if (!r.found[i]) continue;
          auto d = sl::decode_index(r.values[i]);
          if (!d) {
            fail_queue(self, make_error(errc::corruption,
                                        "the service's head or floor record is not 8 bytes: "
                                        "is metadata_space the engine's?"));
            return;
          }
          v[i] = *d;
        }
        s.head = s.committed_head = s.kept_through = v[0];
        s.floor = s.hooks.ignore_stored_floor ? 0 : v[1];
        s.head_known = true;
        pump(self);
      },
      [self](caf::error& e) {
        self->state.recovering = false;
        fail_queue(self, with_context(e,
                                      "the state service could not read its head and floor "
                                      "from the store (nothing was applied; retry)"));
      });
}

/// Learns head and floor (at start, and after a write in doubt: first
/// whether that write committed).
void recover(state_pointer self) {
  auto& st = self->state;
  if (st.recovering) return;
  st.recovering = true;
  if (st.doubt_token.empty()) {
    read_head(self);
    return;
  }
  const auto wait = std::min<int64_t>(st.opts.request_timeout.count(), 5000);
  outcome_request q{st.doubt_token, st.last_seq, static_cast<uint32_t>(wait)};
  ask<outcome_reply>(
      self, request_timeout(self) + std::chrono::milliseconds(wait), std::move(q),
      [self](outcome_reply& r) {
        auto& s = self->state;
        if (r.state != write_state::pending) {
          s.doubt_token.clear();
          read_head(self);
          return;
        }
        s.recovering = false;
        fail_queue(self,
                   make_error(errc::unavailable,
                              "an earlier write of the state service (token " + s.doubt_token +
                                  ") is still unsettled in the store: nothing of this "
                                  "request was applied; retry later"));
      },
      [self](caf::error& e) {
        self->state.recovering = false;
        fail_queue(self, with_context(e,
                                      "the state service could not ask what became of its "
                                      "write in doubt (nothing was applied; retry)"));
      });
}

// -- the FIFO ------------------------------------------------------------------------------

void pump(state_pointer self) {
  auto& st = self->state;
  // Each pass takes one request off the queue or stops: bounded by its size.
  while (!st.queue.empty()) {
    if (!st.head_known) {
      recover(self);
      break;
    }
    if (st.exclusive) break;
    auto& front = st.queue.front();
    if (auto* a = std::get_if<apply_job>(&front)) {
      if (a->batch.index <= st.head) {
        a->rp.deliver(make_error(errc::invalid_argument,
                                 "batch " + std::to_string(a->batch.index) +
                                     " is not above the head " + std::to_string(st.head) +
                                     " (applied or pending): indexes must increase"));
      } else {
        st.overlay.add(a->batch);
        st.head = a->batch.index;
        st.unwritten.push_back(std::move(*a));
      }
      st.queue.pop_front();
      continue;
    }
    if (auto* r = std::get_if<read_job>(&front)) {
      if (st.reads.size() >= st.opts.max_reads) break;
      if (r->index != UINT64_MAX && r->index < st.floor) {
        r->rp.deliver(make_error(errc::pruned, "read_at " + std::to_string(r->index) +
                                                   " is below the pruning floor " +
                                                   std::to_string(st.floor)));
      } else {
        auto j = std::move(*r);
        st.queue.pop_front();
        start_read(self, std::move(j));
        continue;
      }
      st.queue.pop_front();
      continue;
    }
    if (auto* i = std::get_if<info_job>(&front)) {
      i->rp.deliver(info_of(self));
      st.queue.pop_front();
      continue;
    }
    // A rollback or a prune: after every apply before it is written and
    // every read before it holds its snapshot.
    if (st.writing || !st.unwritten.empty() || st.reads_unsnapped > 0) break;
    auto j = std::move(front);
    st.queue.pop_front();
    if (auto* rb = std::get_if<rollback_job>(&j))
      start_rollback(self, std::move(*rb));
    else
      start_prune(self, std::move(std::get<prune_job>(j)));
  }
  if (st.head_known && !st.writing && !st.exclusive && !st.unwritten.empty()) start_group(self);
}

template <class Reply, class Job>
caf::result<Reply> enqueue(state_pointer self, Job j) {
  auto& st = self->state;
  auto rp = j.rp;
  if (st.queue.size() + st.unwritten.size() >= st.opts.max_queued) {
    rp.deliver(make_error(errc::overloaded, std::to_string(st.opts.max_queued) +
                                                " requests wait in the state service "
                                                "(state_options.max_queued): nothing was applied; "
                                                "retry later"));
    return rp;
  }
  st.queue.emplace_back(std::move(j));
  pump(self);
  return rp;
}

status check_ids(const state_options& o, const std::vector<std::string>& ids) {
  for (const auto& r : ids)
    if (r.size() != o.id_length)
      return {errc::invalid_argument, "a resource id of " + std::to_string(r.size()) +
                                          " bytes (state_options.id_length is " +
                                          std::to_string(o.id_length) + ")"};
  return {};
}

caf::result<apply_ack> on_apply(state_pointer self, apply_batch& b) {
  auto& o = self->state.opts;
  if (b.index == 0 || b.index == sl::reserved_index)
    return make_error(errc::invalid_argument,
                      "batch index " + std::to_string(b.index) + " is reserved (use 1..2^64-2)");
  apply_job j;
  j.batch.index = b.index;
  j.batch.metadata = std::move(b.metadata);
  std::vector<sl::change> changes;
  changes.reserve(b.writes.size());
  for (auto& w : b.writes) {
    if (w.resource.size() != o.id_length)
      return make_error(errc::invalid_argument, "a resource id of " +
                                                    std::to_string(w.resource.size()) +
                                                    " bytes (state_options.id_length is " +
                                                    std::to_string(o.id_length) + ")");
    changes.push_back(sl::change{std::move(w.resource), w.remove, std::move(w.value)});
  }
  j.batch.writes = sl::last_write_wins(std::move(changes));
  j.rp = self->make_response_promise<apply_ack>();
  return enqueue<apply_ack>(self, std::move(j));
}

template <class Request>
caf::result<state_values> on_read(state_pointer self, Request& r, batch_index index) {
  if (auto ok = check_ids(self->state.opts, r.resources); !ok) return to_error(ok);
  read_job j;
  j.resources = std::move(r.resources);
  j.index = index;
  j.rp = self->make_response_promise<state_values>();
  return enqueue<state_values>(self, std::move(j));
}

/// The service stops: every open request is answered.
void answer_all(state_pointer self) {
  auto& st = self->state;
  auto stopping = make_error(errc::shutting_down, "the state service stopped: not applied");
  auto doubt = make_error(errc::in_doubt,
                          "the state service stopped while the write was in flight: it may have "
                          "committed (state_info of a new service shows the head)");
  fail_queue(self, stopping);
  for (auto& j : st.unwritten) j.rp.deliver(stopping);
  st.unwritten.clear();
  for (auto& j : st.in_flight) j.rp.deliver(doubt);
  st.in_flight.clear();
  for (auto& [id, ctx] : st.reads) ctx->req.rp.deliver(stopping);
  st.reads.clear();
  if (auto ctx = st.exclusive) {
    auto e = ctx->wrote ? doubt : stopping;
    std::visit([&](auto& x) { x.rp.deliver(e); }, ctx->req);
    st.exclusive.reset();
  }
}

state_actor::behavior_type state_service(state_pointer self, manager_actor manager,
                                         sl::space_ids spaces, state_options opts,
                                         state_test_hooks hooks) {
  auto& st = self->state;
  st.manager = std::move(manager);
  st.spaces = spaces;
  st.opts = std::move(opts);
  st.cache = sl::latest_cache{st.opts.cache_resources};
  st.hooks = hooks;
  st.group_limit = st.opts.max_group;
  self->set_exit_handler([self](caf::exit_msg& m) {
    answer_all(self);
    self->quit(m.reason);
  });
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
        if (m.content().match_elements<deadline_atom, uint64_t>()) {
          on_tick(self, m.content().get_as<uint64_t>(1));
          return caf::message{};
        }
        return make_error(errc::invalid_argument,
                          "message outside the state service's interface (unknown or "
                          "unregistered type)");
      });
  recover(self);
  return {
      [self](apply_batch& b) { return on_apply(self, b); },
      [self](rollback_to& r) {
        return enqueue<rollback_ack>(
            self, rollback_job{r.index, self->make_response_promise<rollback_ack>()});
      },
      [self](prune_below& p) {
        return enqueue<prune_ack>(self,
                                  prune_job{p.floor, self->make_response_promise<prune_ack>()});
      },
      [self](read_latest& r) { return on_read(self, r, UINT64_MAX); },
      [self](read_at& r) { return on_read(self, r, r.index); },
      [self](state_info_request&) -> caf::result<state_info> {
        if (self->state.head_known) return info_of(self);
        return enqueue<state_info>(self, info_job{self->make_response_promise<state_info>()});
      },
  };
}

template <class T>
status check_range(const char* key, T value, T lo, T hi) {
  if (value >= lo && value <= hi) return {};
  return {errc::invalid_config, std::string{"state_options."} + key + " = " +
                                    std::to_string(value) + " is outside " + std::to_string(lo) +
                                    ".." + std::to_string(hi)};
}

}  // namespace

void register_state_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<resource_write>("vstore::resource_write")
      .add_message_type<apply_batch>("vstore::apply_batch")
      .add_message_type<apply_ack>("vstore::apply_ack")
      .add_message_type<rollback_to>("vstore::rollback_to")
      .add_message_type<rollback_ack>("vstore::rollback_ack")
      .add_message_type<prune_below>("vstore::prune_below")
      .add_message_type<prune_ack>("vstore::prune_ack")
      .add_message_type<read_latest>("vstore::read_latest")
      .add_message_type<read_at>("vstore::read_at")
      .add_message_type<state_values>("vstore::state_values")
      .add_message_type<state_info_request>("vstore::state_info_request")
      .add_message_type<state_info>("vstore::state_info")
      .add_message_type<state_actor>("vstore::state_actor");
}

status validate(const state_options& o, const schema& s) {
  const std::pair<const char*, const std::string*> names[] = {
      {"data_space", &o.data_space},
      {"latest_space", &o.latest_space},
      {"rollback_space", &o.rollback_space},
      {"metadata_space", &o.metadata_space}};
  for (size_t i = 0; i < 4; ++i) {
    if (!s.find(*names[i].second))
      return {errc::invalid_config, std::string{"state_options."} + names[i].first + " \"" +
                                        *names[i].second +
                                        "\" is not a space of the store's schema"};
    for (size_t k = 0; k < i; ++k)
      if (*names[k].second == *names[i].second)
        return {errc::invalid_config, std::string{"state_options."} + names[i].first + " and " +
                                          names[k].first + " name the same space \"" +
                                          *names[i].second + "\": the four must differ"};
  }
  if (auto st = check_range<uint32_t>("id_length", o.id_length, 1, 1024); !st) return st;
  if (auto st = check_range<uint32_t>("max_queued", o.max_queued, 1, 1000000); !st) return st;
  if (auto st = check_range<uint32_t>("max_group", o.max_group, 1, 10000); !st) return st;
  if (auto st = check_range<uint32_t>("page", o.page, 1, 100000); !st) return st;
  if (auto st = check_range<uint32_t>("max_reads", o.max_reads, 1, 4096); !st) return st;
  if (auto st = check_range<uint32_t>("cache_resources", o.cache_resources, 0, 100000000); !st)
    return st;
  if (auto st =
          check_range<int64_t>("request_timeout (ms)", o.request_timeout.count(), 1, 86400000);
      !st)
    return st;
  return {};
}

status spawn_state(caf::actor_system& sys, manager_actor manager, const schema& s,
                   state_options opts, state_actor& out, const state_test_hooks& hooks) {
  if (auto st = validate(opts, s); !st) return st;
  if (!manager) return {errc::invalid_argument, "spawn_state without a manager"};
  sl::space_ids ids;
  ids.data = *s.find(opts.data_space);
  ids.latest = *s.find(opts.latest_space);
  ids.rollback = *s.find(opts.rollback_space);
  ids.metadata = *s.find(opts.metadata_space);
  out = sys.spawn(state_service, std::move(manager), ids, std::move(opts), hooks);
  return {};
}

status spawn_state(caf::actor_system& sys, manager_actor manager, const schema& s,
                   state_options opts, state_actor& out) {
  return spawn_state(sys, std::move(manager), s, std::move(opts), out, state_test_hooks{});
}

}  // namespace vstore
