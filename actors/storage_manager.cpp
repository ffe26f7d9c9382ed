#include "actors/storage_manager.hpp"

#include <filesystem>

#include <algorithm>

#include <caf/all.hpp>

#include "actors/checkpoint_worker.hpp"
#include "actors/committer.hpp"
#include "actors/epoch_record.hpp"
#include "actors/exceptions.hpp"
#include "actors/reader.hpp"
#include "actors/writer.hpp"
#include "config/config.hpp"
#include "log/log.hpp"

namespace vstore {

namespace {

using clock_type = std::chrono::steady_clock;

/// The tick period while requests are pending, and while draining. Short on
/// purpose: ~actor_system waits for pending delayed messages.
constexpr auto tick_period = std::chrono::milliseconds(100);
constexpr auto drain_tick_period = std::chrono::milliseconds(20);

/// Requests between vstore's own actors carry no CAF timeout: in CAF 0.17 each
/// timed request costs a trip through the clock thread and ~250 bytes held
/// for the whole timeout even after the reply (measured: a third of the CPU of
/// a get). Instead the manager keeps a deadline per admitted request and
/// expires overdue ones on its tick, and it fails or retries the requests of a
/// child that goes down.
const caf::duration untimed{caf::infinite};

caf::timespan internal_timeout(manager_pointer self) {
  return self->state.setup.opts.supervisor.internal_timeout;
}

void arm_tick(manager_pointer self) {
  auto& st = self->state;
  if (st.tick_armed) return;
  st.tick_armed = true;
  std::chrono::milliseconds period = st.draining ? drain_tick_period : tick_period;
  if (st.setup.hooks) period = st.setup.hooks->tick_period(period);
  self->delayed_send(self, period, tick_atom::value);
}

const std::string& space_name(manager_pointer self, space_id s) {
  return self->state.setup.opts.schema.spaces[s].name;
}

template <class T>
void stop_child(T& handle) {
  if (handle) caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
}

// -- spawning children -------------------------------------------------------------

void watch(manager_pointer self, const caf::actor_addr& addr, child_role role) {
  self->state.roles[addr] = role;
}

/// Returns whether reads go first to cache-only readers (reader.cache-first).
/// Not with fault hooks: the tests' reader faults and gates act on the
/// readers that may block, and a gate must never hold a scheduler thread.
bool cache_first(const manager_state& st) {
  return st.setup.opts.reader.cache_first && !st.setup.hooks;
}

/// Spawns reader `index` of space `s`. The first reader.pool-size readers
/// may block: detached (their own thread) with reader.detached, so that a
/// read that waits in the backend (a long scan, a block-cache miss) holds its
/// own thread, never a scheduler thread. The next pool-size (with
/// reader.cache-first) are cache-only readers on the scheduler.
reader_actor spawn_reader(manager_pointer self, space_id s, size_t index) {
  auto& st = self->state;
  std::shared_ptr<const store> backend{st.child_backend};
  bool cache_only = index >= st.setup.opts.reader.pool_size;
  auto r = st.setup.opts.reader.detached && !cache_only
               ? self->spawn<caf::detached>(reader, std::move(backend), s, st.setup.hooks, false)
               : self->spawn(reader, std::move(backend), s, st.setup.hooks, cache_only);
  self->monitor<caf::message_priority::high>(r);
  watch(self, r.address(), child_role{child_role::reader, s, index});
  return r;
}

writer_actor spawn_writer(manager_pointer self, space_id s) {
  auto& st = self->state;
  auto w = self->spawn(writer, s, space_name(self, s), st.setup.opts.writer, st.committer,
                       caf::actor_cast<manager_actor>(self), st.setup.hooks);
  self->monitor<caf::message_priority::high>(w);
  watch(self, w.address(), child_role{child_role::writer, s, 0});
  return w;
}

committer_actor spawn_committer(manager_pointer self) {
  auto& st = self->state;
  const auto& o = st.setup.opts;
  auto round_limit = size_t{8} * o.writer.max_batch_commands;
  auto recovery = recovery_options{o.db.recovery_backoff, o.db.recovery_backoff_max};
  auto path = commit_path{o.writer.inline_commits, o.writer.slow_commit, o.writer.gather_rounds};
  auto c = self->spawn(committer, st.child_backend, o.schema.size(), st.next_g, o.supervisor,
                       o.tokens, recovery, round_limit, path, st.gate, st.settled,
                       caf::actor_cast<manager_actor>(self), st.setup.hooks);
  self->monitor<caf::message_priority::high>(c);
  watch(self, c.address(), child_role{child_role::committer, 0, 0});
  return c;
}

// -- restarts ------------------------------------------------------------------------

/// Records a restart; returns false once more than restart_limit restarts fell
/// into the restart window.
bool note_restart(manager_pointer self, std::deque<clock_type::time_point>& times) {
  const auto& sup = self->state.setup.opts.supervisor;
  auto now = clock_type::now();
  times.push_back(now);
  while (!times.empty() && now - times.front() > sup.restart_window) times.pop_front();
  return times.size() <= sup.restart_limit;
}

void count_error(manager_pointer self, space_id s, errc code) {
  auto& slot = self->state.spaces[s];
  ++slot.errors[static_cast<size_t>(code)];
}

void check_drained(manager_pointer self);
void take_settled(manager_pointer self);

/// Delivers a write error decided by the request table, counting it, unless
/// the commit actor acknowledged the write first (write_reply): then the
/// client has its answer, and it is the true one.
void deliver_write_error(manager_pointer self, write_promise& rp, space_id owner, errc code,
                         std::string context) {
  auto& st = self->state;
  if (rp.deliver(make_error(code, std::move(context)))) count_error(self, owner, code);
  if (st.draining) ++st.drained.answered;
}

/// The one place where the owner writer's answer becomes a write's outcome.
owner_answer classify_owner_answer(const written_part& p) {
  if (p.committed) return owner_answer::committed;
  switch (p.code) {
    case errc::aborted:
      return owner_answer::aborted;
    case errc::in_doubt:
      return owner_answer::in_doubt_final;
    // A writer answers these only for a batch the store refused unwritten.
    case errc::no_space:
    case errc::io_error:
    case errc::unavailable:
      return owner_answer::refused;
    default:
      return owner_answer::other;
  }
}

void maybe_sweep(manager_pointer self);
void answer_waiters(manager_pointer self, bool all);
void resolve_held(manager_pointer self, manager_state::table_type::held_orphan h,
                  clock_type::time_point deadline);

/// The owner writer answered write `p.id` (the caller then answers outcome
/// waiters and checks a drain).
void owner_replied(manager_pointer self, space_id owner, written_part& p) {
  auto& st = self->state;
  auto a = classify_owner_answer(p);
  if (a == owner_answer::in_doubt_final) {
    // Nothing can commit it any more: its token, if any, tells the truth.
    if (auto h = st.table->hold(p.id)) {
      resolve_held(self, std::move(*h), clock_type::now() + internal_timeout(self));
      return;
    }
  }
  if (auto r = st.table->owner_answered(p.id, a, p.code)) {
    if (!r->second) {
      r->first.deliver(commit_ack{p.seq});
      if (st.draining) ++st.drained.answered;
    } else {
      deliver_write_error(self, r->first, owner, *r->second, std::move(p.context));
    }
  }
}

void mark_failed(manager_pointer self, space_id s, const std::string& why) {
  auto& slot = self->state.spaces[s];
  if (slot.failed) return;
  slot.failed = true;
  logger().error("vstore: space '{}' is unavailable: {} (more than {} restarts in {} ms)",
                 space_name(self, s), why, self->state.setup.opts.supervisor.restart_limit,
                 self->state.setup.opts.supervisor.restart_window.count());
}

void replace_reader(manager_pointer self, space_id s, size_t index, const std::string& why) {
  auto& st = self->state;
  auto& slot = st.spaces[s];
  if (st.roles.erase(slot.readers[index].address()) == 0) return;  // handled already
  if (st.draining || st.resyncing) return;
  ++slot.restarts;
  logger().warn("vstore: restarting reader {} of space '{}': {}", index, space_name(self, s), why);
  if (!note_restart(self, slot.recent_restarts)) {
    mark_failed(self, s, "reader keeps failing: " + why);
    return;
  }
  slot.readers[index] = spawn_reader(self, s, index);
}

void replace_writer(manager_pointer self, space_id s, const std::string& why) {
  auto& st = self->state;
  auto& slot = st.spaces[s];
  if (st.roles.erase(slot.writer.address()) == 0) return;  // handled already
  // The writer's response promises died with it: answer the writes it owned.
  // It may have sealed them already, so they are in doubt until a sweep
  // (live writers flushed, then a commit-actor fence) settles them; those
  // with a token are answered after the sweep, from their token's outcome.
  for (auto& w : st.table->orphan_writes(s))
    deliver_write_error(self, w.rp, s, errc::in_doubt,
                        "the writer of space '" + space_name(self, s) + "' went down (" + why +
                            ") after it took the write: it may have committed or may still "
                            "commit; retry with its token or ask outcome_request");
  // Multi-space batches still missing this writer's part can never complete.
  if (st.committer) self->send(st.committer, abort_space{s, slot.last_g_sent});
  maybe_sweep(self);
  if (st.draining || st.resyncing) return;
  ++slot.restarts;
  logger().warn("vstore: restarting writer of space '{}': {}", space_name(self, s), why);
  if (!note_restart(self, slot.recent_restarts)) {
    mark_failed(self, s, "writer keeps failing: " + why);
    slot.writer = writer_actor{};
    return;
  }
  slot.writer = spawn_writer(self, s);
}

void retry_held_lookups(manager_pointer self);

void replace_committer(manager_pointer self, const std::string& why) {
  auto& st = self->state;
  if (st.roles.erase(st.committer.address()) == 0) return;  // handled already
  if (st.draining || st.resyncing) return;
  ++st.committer_restarts;
  logger().warn("vstore: restarting the commit actor: {}", why);
  if (!note_restart(self, st.committer_restart_times)) {
    for (space_id s = 0; s < st.spaces.size(); ++s)
      mark_failed(self, s, "commit actor keeps failing");
    return;
  }
  st.committer = spawn_committer(self);
  for (auto& slot : st.spaces)
    if (slot.writer) self->send(slot.writer, st.committer);
  retry_held_lookups(self);
}

void on_checkpoint_worker_down(manager_pointer self, const caf::error& reason);

// -- replication (docs/replication.md) ----------------------------------------------

bool is_replica(const manager_state& st) { return st.setup.replica.has_value(); }

caf::error refuse_on_replica(manager_pointer self, const char* what) {
  return make_error(errc::read_only, std::string{what} + ": this node is a read replica of " +
                                         self->state.setup.replica->primary +
                                         "; send writes to the primary");
}

void spawn_follower_child(manager_pointer self) {
  auto& st = self->state;
  st.follower =
      spawn_follower(self->system(), st.child_backend, *st.setup.replica, st.setup.opts, st.board);
  self->monitor<caf::message_priority::high>(st.follower);
  watch(self, st.follower.address(), child_role{child_role::follower, 0, 0});
}

void write_epoch(manager_pointer self);

void replace_follower(manager_pointer self, const std::string& why) {
  auto& st = self->state;
  if (st.roles.erase(st.follower.address()) == 0) return;
  st.follower = follower_actor{};
  if (st.promoting) {
    write_epoch(self);
    return;
  }
  if (st.draining || st.resyncing) return;
  logger().warn("vstore: restarting the follower: {}", why);
  if (!note_restart(self, st.follower_restarts)) {
    st.board->set_state("failed", "the follower keeps failing: " + why);
    logger().error("vstore: the follower keeps failing ({}): this replica stops following", why);
    return;
  }
  spawn_follower_child(self);
}

/// Ends a promotion: answers its promise.
void end_promotion(manager_pointer self, caf::error err, promote_reply* r) {
  auto& st = self->state;
  if (!st.promoting) return;
  auto rp = std::move(*st.promoting);
  st.promoting.reset();
  if (err) {
    rp.deliver(err);
    return;
  }
  rp.deliver(*r);
}

/// The follower is down: records epoch + 1 (a commit of the system space's
/// epoch record, on a one-shot detached worker: it blocks), then turns this
/// manager into a primary with a fresh commit actor, which reads the
/// idempotency tokens the replica received with the log.
void write_epoch(manager_pointer self) {
  auto& st = self->state;
  if (st.draining) {
    end_promotion(self, make_error(errc::shutting_down, "draining"), nullptr);
    return;
  }
  auto backend = st.child_backend;
  auto worker = self->spawn<caf::detached>([backend](caf::event_based_actor* a) -> caf::behavior {
    return {[a, backend](promote_request) -> caf::result<promote_reply> {
      a->quit();
      epoch_record rec;
      if (auto s = epoch_record::read(*backend, rec); !s) return to_error(s);
      promote_reply r;
      if (auto s = backend->applied_log(r.applied_seq); !s) return to_error(s);
      rec.epoch += 1;
      rec.promoted_at = r.applied_seq;
      auto b = backend->make_batch();
      b->put(system_space, epoch_record::key(), rec.encode());
      if (auto s = backend->commit(*b, r.sequence); !s) return to_error(s);
      r.epoch = rec.epoch;
      return r;
    }};
  });
  self->request(worker, caf::infinite, promote_request{})
      .then(
          [self](promote_reply& r) {
            auto& s = self->state;
            s.setup.replica.reset();
            s.board->promoted(r.epoch);
            logger().warn("vstore: promoted to primary at epoch {} (applied {}, sequence {})",
                          r.epoch, r.applied_seq, r.sequence);
            if (s.committer) {
              s.roles.erase(s.committer.address());
              stop_child(s.committer);
            }
            s.committer = spawn_committer(self);
            for (auto& slot : s.spaces)
              if (slot.writer) self->send(slot.writer, s.committer);
            end_promotion(self, caf::error{}, &r);
          },
          [self](caf::error& e) {
            logger().error(
                "vstore: promotion failed: {}; this node stays a replica that no "
                "longer follows",
                to_status(e).to_string());
            self->state.board->set_state("stopped",
                                         "promotion failed: " + to_status(e).to_string());
            end_promotion(self, e, nullptr);
          });
}

caf::result<promote_reply> start_promotion(manager_pointer self) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no promotion while draining");
  if (!is_replica(st)) return make_error(errc::invalid_argument, "this node is a primary already");
  if (st.promoting) return make_error(errc::overloaded, "a promotion is running");
  auto rp = self->make_response_promise<promote_reply>();
  st.promoting = rp;
  if (st.follower) {
    // Its down message (after the batch it may be applying) goes on.
    stop_child(st.follower);
  } else {
    write_epoch(self);
  }
  return rp;
}

/// The primary's log shipper, spawned on first use.
log_shipper_actor& shipper(manager_pointer self) {
  auto& st = self->state;
  if (!st.shipper) {
    st.shipper = spawn_log_shipper(self->system(), st.child_backend, st.setup.opts.db.path,
                                   st.setup.opts.replication, st.board);
    self->monitor<caf::message_priority::high>(st.shipper);
    watch(self, st.shipper.address(), child_role{child_role::shipper, 0, 0});
  }
  return st.shipper;
}

/// Checks a replication request: an error to answer, or none (delegate it).
caf::error admit_replication(manager_pointer self) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no replication while draining");
  if (is_replica(st))
    return make_error(errc::read_only, "this node is itself a read replica of " +
                                           st.setup.replica->primary +
                                           ": follow the primary (no chained replication)");
  return {};
}

void arm_min_seq(manager_pointer self) {
  auto& st = self->state;
  if (st.min_seq_armed || st.min_seq_reads.empty()) return;
  st.min_seq_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(1), min_seq_atom::value);
}

/// Answers the held reads whose sequence is applied (sent again to this
/// manager, now without min_seq) or whose wait ended (lagging).
void on_min_seq(manager_pointer self) {
  auto& st = self->state;
  st.min_seq_armed = false;
  std::vector<std::function<void(held_read_end)>> ready;
  std::vector<std::function<void(held_read_end)>> expired;
  st.min_seq_reads.release(st.board->applied(), clock_type::now(), ready, expired);
  for (auto& f : ready) f(held_read_end::applied);
  for (auto& f : expired) f(held_read_end::lagging);
  arm_min_seq(self);
}

/// On a replica, holds a read whose min_seq is not applied yet and returns
/// the promise it will be answered through; nothing when it may go on now.
template <class Reply, class Request>
std::optional<caf::result<Reply>> hold_for_min_seq(manager_pointer self, Request& req) {
  auto& st = self->state;
  if (req.min_seq == 0 || !is_replica(st)) return std::nullopt;
  auto applied = st.board->applied();
  if (applied >= req.min_seq) return std::nullopt;
  auto wait = st.setup.opts.replication.min_seq_wait;
  auto why =
      "sequence " + std::to_string(req.min_seq) + " asked, " + std::to_string(applied) + " applied";
  if (wait.count() == 0) return caf::result<Reply>{make_error(errc::lagging, why)};
  auto rp = self->make_response_promise<Reply>();
  auto min_seq = req.min_seq;
  req.min_seq = 0;
  st.min_seq_reads.hold(
      min_seq, clock_type::now() + wait,
      [self, rp, req = std::move(req), min_seq, wait](held_read_end end) mutable {
        if (end == held_read_end::applied) {
          rp.delegate(caf::actor_cast<manager_actor>(self), std::move(req));
          return;
        }
        if (end == held_read_end::shutting_down) {
          rp.deliver(make_error(errc::shutting_down, "the store drains"));
          return;
        }
        rp.deliver(make_error(
            errc::lagging, "sequence " + std::to_string(min_seq) + " not applied within " +
                               std::to_string(wait.count()) + " ms (replication.min-seq-wait); " +
                               std::to_string(self->state.board->applied()) + " applied"));
      });
  arm_min_seq(self);
  return caf::result<Reply>{rp};
}

void check_resync(manager_pointer self);

void on_child_down(manager_pointer self, const caf::actor_addr& who, const caf::error& reason) {
  auto& st = self->state;
  if (st.checkpoint && who == st.checkpoint->worker) {
    on_checkpoint_worker_down(self, reason);
    return;
  }
  auto i = st.roles.find(who);
  if (i == st.roles.end()) {
    check_drained(self);
    return;  // already replaced at the first sign, or stopped on purpose
  }
  auto role = i->second;
  auto why = self->system().render(reason);
  switch (role.kind) {
    case child_role::reader:
      replace_reader(self, role.space, role.index, why);
      break;
    case child_role::writer:
      replace_writer(self, role.space, why);
      break;
    case child_role::committer:
      replace_committer(self, why);
      break;
    case child_role::shipper:
      // Spawned again by the next replication request.
      st.roles.erase(who);
      st.shipper = log_shipper_actor{};
      if (!st.draining) logger().warn("vstore: the log shipper went down: {}", why);
      break;
    case child_role::follower:
      replace_follower(self, why);
      break;
  }
  check_drained(self);
  check_resync(self);
}

// -- reads -----------------------------------------------------------------------------

/// Returns whether a read's error means its reader is gone (then the reader
/// is replaced and the read retried). A backend error answered by a live
/// reader, even errc::internal, is the read's answer: no restart is counted.
bool reader_died(const caf::error& e) {
  return e == caf::sec::request_receiver_down || is_crash_report(e);
}

template <class Reply>
void finish_read(manager_pointer self, uint64_t id, const caf::error& err, Reply* reply) {
  auto& st = self->state;
  auto r = st.table->take_read(id);
  if (!r) return;
  auto& [space, rp] = *r;
  if (err) {
    // Every reply carries a vstore errc: CAF's own codes are converted here.
    auto e = to_status(err);
    count_error(self, space, e.code());
    rp.deliver(make_error(e.code(), e.context()));
  } else {
    ++st.spaces[space].reads_ok;
    rp.deliver(std::move(*reply));
  }
  if (st.draining) ++st.drained.answered;
  check_drained(self);
}

/// Sends a read to a reader of its space: a cache-only one first (`cached`,
/// with reader.cache-first), a reader that may block when that one would wait
/// or without cache-first. A reader that died is replaced and the read
/// retried, up to supervisor.read-retries times.
template <class Reply, class Request>
void forward_read(manager_pointer self, uint64_t id, Request req, uint32_t attempt, bool cached) {
  auto& st = self->state;
  auto s = req.space;
  auto& slot = st.spaces[s];
  if (slot.failed) {
    finish_read<Reply>(self, id, make_error(errc::unavailable, space_name(self, s)), nullptr);
    return;
  }
  const size_t pool = st.setup.opts.reader.pool_size;
  cached = cached && slot.readers.size() > pool;
  auto index =
      cached ? pool + slot.next_cached++ % (slot.readers.size() - pool) : slot.next_reader++ % pool;
  auto target = slot.readers[index];
  self->request(target, untimed, req)
      .then(
          [self, id](Reply& r) { finish_read<Reply>(self, id, caf::error{}, &r); },
          [self, id, index, target, attempt, cached, req = std::move(req)](caf::error& e) mutable {
            auto& state = self->state;
            if (!state.table->has_read(id)) {
              state.table->take_read(id);  // answered at its deadline: free the slot
              return;
            }
            if (cached && is_would_wait(e)) {
              forward_read<Reply>(self, id, std::move(req), attempt, false);
              return;
            }
            if (!reader_died(e)) {
              finish_read<Reply>(self, id, e, nullptr);
              return;
            }
            auto sp = req.space;
            auto& sl = state.spaces[sp];
            // First sign of death: replace now rather than wait for the down message.
            if (sl.readers[index] == target)
              replace_reader(self, sp, index, self->system().render(e));
            if (attempt >= state.setup.opts.supervisor.read_retries || state.draining) {
              finish_read<Reply>(self, id, e, nullptr);
              return;
            }
            forward_read<Reply>(self, id, std::move(req), attempt + 1, cached);
          });
}

/// Common admission checks of a read; returns an error to answer, or nothing.
caf::error admit_read(manager_pointer self, space_id s) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no new reads");
  if (st.resyncing)
    return make_error(errc::unavailable,
                      "this replica is switching to a fresh copy of its primary (re-sync)");
  if (s >= st.spaces.size())
    return make_error(errc::unknown_space, "space id " + std::to_string(s));
  auto& slot = st.spaces[s];
  if (slot.failed) return make_error(errc::unavailable, space_name(self, s));
  if (st.table->reads_queued(s) >= st.setup.opts.reader.max_queued) {
    count_error(self, s, errc::overloaded);
    return make_error(errc::overloaded, "reads queued for space '" + space_name(self, s) +
                                            "' reached reader.max-queued");
  }
  return {};
}

caf::error check_key(manager_pointer self, space_id s, const std::string& key, const char* what) {
  if (key.empty()) {
    count_error(self, s, errc::empty_key);
    return make_error(errc::empty_key, what);
  }
  if (key.size() > self->state.setup.opts.limits.max_key_bytes) {
    count_error(self, s, errc::too_large);
    return make_error(errc::too_large, std::string{what} + " of " + std::to_string(key.size()) +
                                           " bytes exceeds limits.max-key-size");
  }
  return {};
}

/// Admits a read into the request table and sends it to a reader: a
/// cache-only one first unless `cached` is false.
template <class Reply, class Request>
caf::result<Reply> start_read(manager_pointer self, Request&& req, bool cached = true) {
  auto& st = self->state;
  auto rp = self->make_response_promise<Reply>();
  auto id = st.table->add_read(req.space, rp, clock_type::now());
  arm_tick(self);
  forward_read<Reply>(self, id, std::forward<Request>(req), 0, cached);
  return rp;
}

/// A point get with reader.cache-first: answered here from memtables and the
/// block cache (store::try_get, about a microsecond: cheaper than the two
/// hops to a reader and back), or sent on to a reader that may block.
caf::result<get_reply> cached_get(manager_pointer self, get_request&& req) {
  auto& st = self->state;
  get_reply out;
  auto answered = st.setup.backend->try_get(req.space, req.key, out.value, out.found);
  if (!answered) return start_read<get_reply>(self, std::move(req), false);
  if (!*answered) {
    count_error(self, req.space, answered->code());
    return make_error(answered->code(), answered->context());
  }
  ++st.spaces[req.space].reads_ok;
  return out;
}

// -- reads gathered in batches (reader.batch-max) ---------------------------------

/// Returns the next cache-only reader of `slot`, round robin, and its index.
std::pair<size_t, reader_actor> next_cached_reader(manager_pointer self, space_slot& slot) {
  const size_t pool = self->state.setup.opts.reader.pool_size;
  auto index = pool + slot.next_cached++ % (slot.readers.size() - pool);
  return {index, slot.readers[index]};
}

/// The reader of a batch (at `index` of space `s`) failed with `e`. When it
/// died (replaced here) or would wait, each read goes on alone as any read
/// does (forward_read; make(i) is read i); any other error answers them all,
/// or with `alone` sends each on alone to a reader that may block (the error
/// may be one key's: each read then gets its own answer).
template <class Reply, class MakeRequest>
void batch_failed(manager_pointer self, space_id s, size_t index, const reader_actor& target,
                  const std::vector<uint64_t>& ids, const caf::error& e, MakeRequest make,
                  bool alone = false) {
  const bool died = reader_died(e);
  const bool waits = is_would_wait(e) || (alone && !died);
  if (died && self->state.spaces[s].readers[index] == target)
    replace_reader(self, s, index, self->system().render(e));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (waits || died)
      forward_read<Reply>(self, ids[i], make(i), died ? 1 : 0, !waits);
    else
      finish_read<Reply>(self, ids[i], e, nullptr);
  }
}

/// Answers every read of `ids` (of space `s`) with errc::unavailable.
template <class Reply>
void refuse_batch(manager_pointer self, space_id s, const std::vector<uint64_t>& ids) {
  for (auto id : ids)
    finish_read<Reply>(self, id, make_error(errc::unavailable, space_name(self, s)), nullptr);
}

/// The point gets and multi_gets of one key batch: read i asked for sizes[i]
/// keys (0: a point get, one key) from offsets[i] on in `req`'s keys.
struct key_batch_job {
  space_id space = 0;
  std::vector<uint64_t> ids;
  std::vector<uint32_t> sizes;
  std::vector<size_t> offsets;
  std::shared_ptr<const multi_get_request> req;
};

/// Answers each read of `job` from its slice of `r`.
void answer_key_batch(manager_pointer self, const key_batch_job& job, multi_get_reply& r) {
  for (size_t i = 0; i < job.ids.size(); ++i) {
    const auto at = job.offsets[i];
    if (job.sizes[i] == 0) {
      get_reply g{r.found[at] != 0, std::move(r.values[at])};
      finish_read<get_reply>(self, job.ids[i], caf::error{}, &g);
      continue;
    }
    multi_get_reply m;
    m.found.assign(r.found.begin() + at, r.found.begin() + at + job.sizes[i]);
    m.values.assign(std::make_move_iterator(r.values.begin() + at),
                    std::make_move_iterator(r.values.begin() + at + job.sizes[i]));
    finish_read<multi_get_reply>(self, job.ids[i], caf::error{}, &m);
  }
}

/// Sends `job` as one multi_get of all its keys: to a cache-only reader
/// (`cached`), or to a reader that may block. When the cache cannot answer
/// every key, the batch goes once more, whole, to a reader that may block:
/// one read from the disk for the batch, not one hop to a blocking reader
/// per read (with a cold block cache those hops dominated). A reader that
/// died sends each read on alone, as any read goes; any other error (it may
/// be one key's) sends each read alone to a reader that may block, so that
/// one bad key fails only its own read (batch_failed).
void run_key_batch(manager_pointer self, std::shared_ptr<const key_batch_job> job, bool cached) {
  auto& slot = self->state.spaces[job->space];
  if (slot.failed) return refuse_batch<get_reply>(self, job->space, job->ids);
  size_t index = 0;
  reader_actor target;
  if (cached) {
    std::tie(index, target) = next_cached_reader(self, slot);
  } else {
    index = slot.next_reader++ % self->state.setup.opts.reader.pool_size;
    target = slot.readers[index];
  }
  self->request(target, untimed, key_batch{job->req})
      .then([self, job](multi_get_reply& r) { answer_key_batch(self, *job, r); },
            [self, job, index, target, cached](caf::error& e) {
              if (cached && is_would_wait(e)) return run_key_batch(self, job, false);
              // Each read on alone, as its own kind (batch_failed per kind).
              const auto s = job->space;
              const auto& req = *job->req;
              std::vector<uint64_t> gets, multi_gets;
              std::vector<size_t> get_at, multi_at;
              for (size_t i = 0; i < job->ids.size(); ++i) {
                (job->sizes[i] == 0 ? gets : multi_gets).push_back(job->ids[i]);
                (job->sizes[i] == 0 ? get_at : multi_at).push_back(i);
              }
              batch_failed<get_reply>(
                  self, s, index, target, gets, e,
                  [&](size_t j) {
                    return get_request{s, req.keys[job->offsets[get_at[j]]], 0};
                  },
                  true);
              batch_failed<multi_get_reply>(
                  self, s, index, target, multi_gets, e,
                  [&](size_t j) {
                    auto i = multi_at[j];
                    auto from = req.keys.begin() + static_cast<std::ptrdiff_t>(job->offsets[i]);
                    return multi_get_request{
                        s, std::vector<std::string>(from, from + job->sizes[i]), 0};
                  },
                  true);
            });
}

/// Sends the point gets and multi_gets of space `s` that wait in its batch
/// to a cache-only reader as one multi_get of all their keys, and answers
/// each from its slice of the reply (run_key_batch).
void send_key_batch(manager_pointer self, space_id s) {
  auto& slot = self->state.spaces[s];
  auto job = std::make_shared<key_batch_job>();
  job->space = s;
  job->ids = std::move(slot.batch_ids);
  job->sizes = std::move(slot.batch_sizes);
  job->req = std::make_shared<const multi_get_request>(
      multi_get_request{s, std::move(slot.batch_keys), 0});
  slot.batch_ids.clear();
  slot.batch_sizes.clear();
  slot.batch_keys.clear();
  if (job->ids.empty()) return;
  if (slot.failed) return refuse_batch<get_reply>(self, s, job->ids);
  slot.reads_batched += job->ids.size();
  // Read i's keys begin at offsets[i].
  job->offsets.resize(job->ids.size());
  for (size_t i = 0, at = 0; i < job->ids.size(); at += std::max<uint32_t>(job->sizes[i], 1), ++i)
    job->offsets[i] = at;
  run_key_batch(self, std::move(job), true);
}

/// Sends the scans of space `s` that wait in its batch to a cache-only
/// reader as one scan_batch, and answers each from its outcome: its page, an
/// error, or (it would wait) on alone to a reader that may block.
void send_scan_batch(manager_pointer self, space_id s) {
  auto& slot = self->state.spaces[s];
  auto ids = std::move(slot.scan_ids);
  slot.scan_ids.clear();
  auto scans = std::make_shared<const std::vector<scan_request>>(std::move(slot.scans));
  slot.scans.clear();
  if (ids.empty()) return;
  if (slot.failed) return refuse_batch<scan_reply>(self, s, ids);
  slot.reads_batched += ids.size();
  auto [index, target] = next_cached_reader(self, slot);
  self->request(target, untimed, scan_batch{scans})
      .then(
          [self, ids, scans](scan_batch_reply& r) {
            for (size_t i = 0; i < ids.size(); ++i) {
              const auto& outcome = r.outcomes[i];
              if (!outcome)
                forward_read<scan_reply>(self, ids[i], (*scans)[i], 0, false);
              else if (!*outcome)
                finish_read<scan_reply>(self, ids[i], to_error(*outcome), nullptr);
              else
                finish_read<scan_reply>(self, ids[i], caf::error{}, &r.pages[i]);
            }
          },
          [self, s, index = index, target = target, ids, scans](caf::error& e) {
            batch_failed<scan_reply>(self, s, index, target, ids, e,
                                     [&](size_t i) { return (*scans)[i]; });
          });
}

/// Whether a read of a space arrives while the manager is busy, so that it
/// joins a batch (reader.batch-max): more messages wait in the mailbox, or
/// (`gathering`) its space's batch of the same kind has begun.
bool joins_batch(manager_pointer self, bool gathering) {
  return self->state.setup.opts.reader.batch_max >= 2 && (gathering || !self->mailbox().empty());
}

/// A read joined a batch of space `s` that now holds `size` reads and `keys`
/// keys: sends it at reader.batch-max reads or at reader.batch-max-keys (or
/// limits.max-multi-get) keys, else makes sure a read_batch_atom comes round
/// behind every message now waiting (and sends the batches then).
template <class Send>
void after_join(manager_pointer self, space_id s, size_t size, size_t keys, Send send) {
  auto& st = self->state;
  const auto& o = st.setup.opts;
  if (size >= o.reader.batch_max || keys >= o.reader.batch_max_keys ||
      keys >= o.limits.max_multi_get) {
    send(self, s);
  } else if (!st.read_batch_sent) {
    st.read_batch_sent = true;
    self->send(self, read_batch_atom::value);
  }
}

/// A point get with reader.cache-first while the manager is busy: joins its
/// space's batch of gets. Returns nothing when the get is better answered at
/// once by the manager (cached_get).
std::optional<caf::result<get_reply>> batch_get(manager_pointer self, get_request& req) {
  auto& st = self->state;
  const auto s = req.space;
  auto& slot = st.spaces[s];
  if (!joins_batch(self, !slot.batch_ids.empty())) return std::nullopt;
  auto rp = self->make_response_promise<get_reply>();
  slot.batch_ids.push_back(st.table->add_read(s, rp, clock_type::now()));
  slot.batch_keys.push_back(std::move(req.key));
  arm_tick(self);
  slot.batch_sizes.push_back(0);
  after_join(self, s, slot.batch_ids.size(), slot.batch_keys.size(), send_key_batch);
  return caf::result<get_reply>{rp};
}

/// A multi_get with reader.cache-first while the manager is busy: joins its
/// space's batch of keys. Returns nothing when it goes to a reader alone
/// (start_read).
std::optional<caf::result<multi_get_reply>> batch_multi_get(manager_pointer self,
                                                            multi_get_request& req) {
  auto& st = self->state;
  const auto s = req.space;
  auto& slot = st.spaces[s];
  if (!joins_batch(self, !slot.batch_ids.empty())) return std::nullopt;
  auto rp = self->make_response_promise<multi_get_reply>();
  slot.batch_ids.push_back(st.table->add_read(s, rp, clock_type::now()));
  slot.batch_sizes.push_back(static_cast<uint32_t>(req.keys.size()));
  for (auto& k : req.keys) slot.batch_keys.push_back(std::move(k));
  arm_tick(self);
  after_join(self, s, slot.batch_ids.size(), slot.batch_keys.size(), send_key_batch);
  return caf::result<multi_get_reply>{rp};
}

/// A scan with reader.cache-first while the manager is busy: joins its
/// space's batch of scans. Returns nothing when it goes to a reader alone
/// (start_read).
std::optional<caf::result<scan_reply>> batch_scan(manager_pointer self, scan_request& req) {
  auto& st = self->state;
  const auto s = req.space;
  auto& slot = st.spaces[s];
  if (!joins_batch(self, !slot.scan_ids.empty())) return std::nullopt;
  auto rp = self->make_response_promise<scan_reply>();
  slot.scan_ids.push_back(st.table->add_read(s, rp, clock_type::now()));
  slot.scans.push_back(std::move(req));
  arm_tick(self);
  after_join(self, s, slot.scan_ids.size(), 0, send_scan_batch);
  return caf::result<scan_reply>{rp};
}

/// The manager's read_batch_atom: sends every batch that waits.
void on_read_batch(manager_pointer self) {
  auto& st = self->state;
  st.read_batch_sent = false;
  for (space_id s = 0; s < st.spaces.size(); ++s) {
    if (!st.spaces[s].batch_ids.empty()) send_key_batch(self, s);
    if (!st.spaces[s].scan_ids.empty()) send_scan_batch(self, s);
  }
}

/// A multi_get of at most reader.inline-max-keys keys with
/// reader.cache-first: answered here from the cache like cached_get, or
/// sent on to a reader that may block.
caf::result<multi_get_reply> cached_multi_get(manager_pointer self, multi_get_request&& req) {
  auto& st = self->state;
  std::vector<std::optional<std::string>> values;
  auto answered = st.setup.backend->try_multi_get(req.space, req.keys, values);
  if (!answered) return start_read<multi_get_reply>(self, std::move(req), false);
  if (!*answered) {
    count_error(self, req.space, answered->code());
    return make_error(answered->code(), answered->context());
  }
  ++st.spaces[req.space].reads_ok;
  return to_reply(std::move(values));
}

/// Whether the manager tries a snapshot read's items itself from the cache
/// (reader.cache-first): at most reader.inline-max-keys items, each a get or
/// a scan page of at most that many entries.
bool inline_snapshot_read(const manager_state& st, const std::vector<read_item>& items) {
  const auto max = st.setup.opts.reader.inline_max_keys;
  if (!cache_first(st) || items.size() > max) return false;
  return std::all_of(items.begin(), items.end(),
                     [max](const read_item& it) { return !it.scan || it.limit <= max; });
}

/// A snapshot_read_request: validated here, then read at a new view of the
/// store or a kept one (snapshot_table) like a multi_get: from the cache here
/// (inline_snapshot_read), else by a cache-only reader, else by a reader
/// that may block.
caf::result<snapshot_read_reply> start_snapshot_read(manager_pointer self,
                                                     snapshot_read_request& req) {
  auto& st = self->state;
  const auto& lim = st.setup.opts.limits;
  const auto now = clock_type::now();
  if (req.items.empty()) {
    if (req.snapshot == 0)
      return make_error(errc::invalid_argument, "a snapshot read without items or snapshot");
    auto* kept = st.snapshots->find(req.snapshot, now);
    if (kept == nullptr)
      return make_error(errc::snapshot_expired, "snapshot " + std::to_string(req.snapshot));
    snapshot_read_reply out;
    out.seq = kept->view->sequence();
    out.snapshot = req.keep ? req.snapshot : 0;
    if (!req.keep) st.snapshots->release(req.snapshot);
    return out;
  }
  const auto space = req.items.front().space;
  if (auto e = admit_read(self, space)) return e;
  if (req.items.size() > lim.max_multi_get)
    return make_error(errc::too_large,
                      std::to_string(req.items.size()) + " items exceed limits.max-multi-get");
  for (const auto& it : req.items) {
    if (it.space >= st.spaces.size())
      return make_error(errc::unknown_space, "space id " + std::to_string(it.space));
    if (!it.scan) {
      if (auto e = check_key(self, it.space, it.key, "key")) return e;
      continue;
    }
    if (it.limit == 0) return make_error(errc::invalid_argument, "scan limit must be >= 1");
    if (it.limit > lim.max_scan_limit)
      return make_error(errc::too_large, "scan limit " + std::to_string(it.limit) +
                                             " exceeds limits.max-scan-limit");
    if (it.key.size() > lim.max_key_bytes || it.start_after.size() > lim.max_key_bytes)
      return make_error(errc::too_large, "scan prefix or start key exceeds limits.max-key-size");
  }
  // A new snapshot waits for min_seq (sent again, items and all, once applied).
  if (req.snapshot == 0)
    if (auto held = hold_for_min_seq<snapshot_read_reply>(self, req)) return std::move(*held);
  snapshot_job job;
  job.space = space;
  job.items = std::move(req.items);
  if (req.snapshot != 0) {
    auto* kept = st.snapshots->find(req.snapshot, now);
    if (kept == nullptr)
      return make_error(errc::snapshot_expired, "snapshot " + std::to_string(req.snapshot));
    job.view = kept->view;
    job.owner = kept->owner;
    if (req.keep)
      job.id = req.snapshot;
    else
      st.snapshots->release(req.snapshot);
  } else {
    std::shared_ptr<const read_view> view;
    if (auto s = st.child_backend->snapshot(view); !s) {
      count_error(self, space, s.code());
      return make_error(s.code(), s.context());
    }
    job.view = std::move(view);
    job.owner = st.child_backend;
    if (req.keep) {
      job.id = st.snapshots->keep(job.view, job.owner, now);
      if (job.id == 0)
        return make_error(errc::overloaded, std::to_string(st.snapshots->size()) +
                                                " snapshots are kept (reader.max-snapshots)");
      arm_tick(self);  // the tick expires it
    }
  }
  if (inline_snapshot_read(st, job.items)) {
    // Answered here when the cache holds every read (two hops and a thread
    // hand-off fewer): the state service's walks are a few small steps.
    snapshot_read_reply out;
    if (auto answered = try_read_items(*job.view, job.items, out.results)) {
      if (!*answered) {
        count_error(self, space, answered->code());
        return make_error(answered->code(), answered->context());
      }
      ++st.spaces[space].reads_ok;
      out.seq = job.view->sequence();
      out.snapshot = job.id;
      return out;
    }
  }
  return start_read<snapshot_read_reply>(self, std::move(job));
}

// -- writes ------------------------------------------------------------------------------

caf::error validate_write(manager_pointer self, const write_request& req, uint64_t& mask) {
  auto& st = self->state;
  const auto& lim = st.setup.opts.limits;
  if (req.ops.empty()) return make_error(errc::invalid_argument, "empty write request");
  if (req.token.size() > st.setup.opts.tokens.max_token_bytes)
    return make_error(errc::too_large, "token of " + std::to_string(req.token.size()) +
                                           " bytes exceeds tokens.max-token-size");
  if (req.ops.size() > lim.max_batch_ops)
    return make_error(errc::too_large,
                      std::to_string(req.ops.size()) + " operations exceed limits.max-batch-ops");
  uint64_t bytes = 0;
  mask = 0;
  for (const auto& op : req.ops) {
    if (op.space >= st.spaces.size())
      return make_error(errc::unknown_space, "space id " + std::to_string(op.space));
    if (auto e = check_key(self, op.space, op.key, "key")) return e;
    if (op.kind == op_kind::del_range) {
      if (auto e = check_key(self, op.space, op.value, "range end")) return e;
      if (!(op.key < op.value))
        return make_error(errc::invalid_argument, "range end must be greater than its begin");
    } else if (op.kind == op_kind::put) {
      if (op.value.size() > lim.max_value_bytes)
        return make_error(errc::too_large, "value of " + std::to_string(op.value.size()) +
                                               " bytes exceeds limits.max-value-size");
    } else if (op.kind != op_kind::del) {
      return make_error(errc::invalid_argument, "unknown operation kind");
    }
    bytes += op.key.size() + op.value.size();
    mask |= uint64_t{1} << op.space;
  }
  if (bytes > lim.max_request_bytes)
    return make_error(errc::too_large,
                      std::to_string(bytes) + " bytes exceed limits.max-request-bytes");
  for (space_id s = 0; s < st.spaces.size(); ++s) {
    if (((mask >> s) & 1u) == 0) continue;
    auto& slot = st.spaces[s];
    if (slot.failed || !slot.writer) return make_error(errc::unavailable, space_name(self, s));
    if (st.table->writes_queued(s) >= st.setup.opts.writer.max_queued) {
      count_error(self, s, errc::overloaded);
      return make_error(errc::overloaded, "writes queued for space '" + space_name(self, s) +
                                              "' reached writer.max-queued");
    }
  }
  return {};
}

caf::result<commit_ack> start_write(manager_pointer self, write_request& req) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no new writes");
  uint64_t mask = 0;
  if (auto err = validate_write(self, req, mask)) return err;
  auto owner = static_cast<space_id>(__builtin_ctzll(mask));
  if (st.setup.backend->state() != health_state::ok) {
    // Refused at once while the store cannot write (the commit actor tries
    // to recover it): nothing queues up behind a full or failing disk.
    auto h = st.setup.backend->health();
    count_error(self, owner, h.code);
    // A background error (a failed flush) degrades the store without any
    // commit failing: make sure the commit actor is trying to recover it.
    auto now = clock_type::now();
    if (st.committer && now - st.last_recover_hint >= std::chrono::milliseconds(100)) {
      st.last_recover_hint = now;
      self->send(st.committer, recover_atom::value, false);
    }
    return make_error(h.code, std::string{"writes refused, nothing was applied: the store is "} +
                                  to_name(h.state) + " (" + h.message + ")");
  }
  auto g = st.next_g++;
  // Split by space, keeping each space's operations in request order.
  std::vector<batch_part> parts;
  if ((mask & (mask - 1)) == 0) {
    parts.push_back(batch_part{g, mask, std::move(req.ops), req.flush_now, {}, nullptr});
  } else {
    std::vector<int> slot_of(st.spaces.size(), -1);
    for (auto& op : req.ops) {
      auto& idx = slot_of[op.space];
      if (idx < 0) {
        idx = static_cast<int>(parts.size());
        parts.push_back(batch_part{g, mask, {}, req.flush_now, {}, nullptr});
      }
      parts[static_cast<size_t>(idx)].ops.push_back(std::move(op));
    }
  }
  auto rp = self->make_response_promise<commit_ack>();
  // Shared with the commit actor, which acknowledges the write itself.
  auto reply = std::make_shared<write_reply>(rp);
  auto id = st.table->add_write(mask, owner, req.token, write_promise{reply}, clock_type::now(),
                                req.token.empty() ? 0 : st.setup.backend->latest_sequence());
  reply->id = id;
  arm_tick(self);
  for (auto& p : parts) {
    auto s = p.ops.front().space;
    auto& slot = st.spaces[s];
    slot.last_g_sent = g;
    if (s != owner) self->send(slot.writer, sibling_part{std::move(p)});
  }
  for (auto& p : parts) {
    if (p.ops.empty() || p.ops.front().space != owner) continue;
    p.token = std::move(req.token);
    p.reply = reply;
    // One-way: the commit actor acknowledges the write through `reply` and
    // reports it in the settled box; the writer reports every other outcome.
    // If the writer is gone, its down message makes the write an orphan
    // (replace_writer).
    self->send(st.spaces[owner].writer, owned_part{std::move(p), id});
  }
  return rp;
}

/// Settles the answers of one batch's owned writes.
void settle_parts(manager_pointer self, written_parts& w) {
  auto& st = self->state;
  if (w.space >= st.spaces.size()) return;
  for (auto& p : w.parts) owner_replied(self, w.space, p);
  if (!st.outcome_waiters.empty()) answer_waiters(self, false);
  check_drained(self);
}

/// Settles the writes the commit actor acknowledged since the last look
/// (handoff_box.hpp), then tells the box whether to wake this actor for the
/// next ones: while outcome lookups wait for a token or a drain waits, no
/// message of the manager's own would bring them.
void take_settled(manager_pointer self) {
  auto& st = self->state;
  for (auto& w : st.settled->take()) settle_parts(self, w);
  bool wake = st.draining || !st.outcome_waiters.empty();
  if (wake == st.settled_wake) return;
  st.settled_wake = wake;
  // Batches put before the box knew: no wake-up comes for them.
  if (st.settled->wake_on_put(wake)) take_settled(self);
}

/// The writer of `w.space` answered the writes it owned in one sealed batch
/// (an empty one from the commit actor: look in the settled box).
void on_written(manager_pointer self, written_parts& w) {
  take_settled(self);
  // Only the manager's own children send it (a peer could forge answers).
  auto sender = self->current_sender();
  if (!sender || sender->node() != self->node()) return;
  settle_parts(self, w);
}

// -- admin -------------------------------------------------------------------------------

health_report make_health(manager_pointer self) {
  auto& st = self->state;
  health_report r;
  if (st.setup.backend) {
    auto h = st.setup.backend->health();
    r.state = to_name(h.state);
    if (h.state != health_state::ok) r.code = to_name(h.code);
    r.message = h.message;
    r.since_unix_ms = h.since_unix_ms;
    r.recoveries = h.recoveries;
    r.free_bytes = h.free_bytes;
  }
  r.writes_in_flight = st.table->writes_in_flight();
  r.oldest_write_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                st.table->oldest_write_age(clock_type::now()))
                                                .count());
  return r;
}

caf::result<stats_reply> collect_stats(manager_pointer self) {
  auto& st = self->state;
  struct join {
    stats_reply reply;
    size_t remaining = 0;
    caf::typed_response_promise<stats_reply> rp;
  };
  auto j = std::make_shared<join>();
  j->rp = self->make_response_promise<stats_reply>();
  j->reply.committer_restarts = st.committer_restarts;
  j->reply.writes_not_applied = st.table->counts().not_applied;
  j->reply.writes_in_doubt = st.table->counts().in_doubt;
  j->reply.health = make_health(self);
  j->reply.replication = st.board->status();
  j->reply.checkpoints = st.checkpoints;
  for (space_id s = 0; s < st.spaces.size(); ++s) {
    auto& slot = st.spaces[s];
    space_stats x;
    x.name = space_name(self, s);
    x.state = slot.failed ? "unavailable" : "ok";
    x.reads_queued = st.table->reads_queued(s);
    x.writes_queued = st.table->writes_queued(s);
    x.reads = slot.reads_ok;
    x.reads_batched = slot.reads_batched;
    x.restarts = slot.restarts;
    x.errors = slot.errors;
    x.flushes.assign(flush_reason_count, 0);
    x.latency_us.assign(32, 0);
    j->reply.spaces.push_back(std::move(x));
  }
  auto done = [j] {
    if (--j->remaining == 0) j->rp.deliver(std::move(j->reply));
  };
  j->remaining = 1;  // held until every request is sent
  for (space_id s = 0; s < st.spaces.size(); ++s) {
    if (!st.spaces[s].writer) continue;
    ++j->remaining;
    self->request(st.spaces[s].writer, internal_timeout(self), stats_request{})
        .then(
            [j, s, done](space_stats& w) {
              auto& x = j->reply.spaces[s];
              x.writes = w.writes;
              x.commits = w.commits;
              x.ops = w.ops;
              x.bytes = w.bytes;
              x.flushes = w.flushes;
              x.latency_us = w.latency_us;
              x.latency_sum_us = w.latency_sum_us;
              done();
            },
            [done](caf::error&) { done(); });
  }
  auto fill = [](stats_reply& r, const committer_stats& c) {
    r.rounds = c.rounds;
    r.round_ops = c.round_ops;
    r.rounds_offloaded = c.offloaded_rounds;
    r.slow_rounds = c.slow_rounds;
    r.aborted_batches = c.aborted_batches;
    r.duplicates = c.duplicates;
    r.tokens = c.tokens;
    r.tokens_forgotten = c.tokens_forgotten;
    r.health.recovery_attempts = c.recovery_attempts;
  };
  if (st.committer && !st.committer_stats_pending) {
    // At most one stats request waits in the commit actor's mailbox: a stuck
    // commit (a stalled disk) must not make memory grow with every poll.
    st.committer_stats_pending = true;
    ++j->remaining;
    self->request(st.committer, internal_timeout(self), stats_request{})
        .then(
            [self, j, done, fill](committer_stats& c) {
              self->state.committer_stats_pending = false;
              self->state.last_committer_stats = c;
              fill(j->reply, c);
              done();
            },
            [self, j, done, fill](caf::error&) {
              self->state.committer_stats_pending = false;
              fill(j->reply, self->state.last_committer_stats);
              done();
            });
  } else {
    fill(j->reply, st.last_committer_stats);
  }
  done();
  return j->rp;
}

caf::result<commit_ack> flush_all(manager_pointer self) {
  auto& st = self->state;
  // Each flush waits in every writer until what it covers is committed: bound
  // how many wait (a stalled disk), like the writes themselves.
  if (st.flushes_in_flight >= st.setup.opts.writer.max_queued)
    return make_error(errc::overloaded, "flushes in flight reached writer.max-queued");
  ++st.flushes_in_flight;
  struct join {
    commit_ack ack;
    size_t remaining = 0;
    caf::error err;
    caf::typed_response_promise<commit_ack> rp;
  };
  auto j = std::make_shared<join>();
  j->rp = self->make_response_promise<commit_ack>();
  auto done = [self, j] {
    if (--j->remaining > 0) return;
    --self->state.flushes_in_flight;
    if (j->err)
      j->rp.deliver(j->err);
    else
      j->rp.deliver(j->ack);
  };
  j->remaining = 1;
  for (auto& slot : st.spaces) {
    if (!slot.writer) continue;
    ++j->remaining;
    self->request(slot.writer, internal_timeout(self), flush_request{})
        .then(
            [j, done](commit_ack& a) {
              j->ack.seq = std::max(j->ack.seq, a.seq);
              done();
            },
            [j, done](caf::error& e) {
              auto why = to_status(e);
              j->err = make_error(why.code(), "flush failed: " + why.context());
              done();
            });
  }
  done();
  return j->rp;
}

status_reply make_status(manager_pointer self) {
  auto& st = self->state;
  status_reply r;
  r.backend = st.setup.opts.backend == backend_kind::rocksdb ? "rocksdb" : "memory";
  for (space_id s = 0; s < st.spaces.size(); ++s) {
    r.spaces.push_back(space_name(self, s));
    r.states.push_back(st.spaces[s].failed ? "unavailable" : "ok");
  }
  r.shutting_down = st.draining;
  r.uptime_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - st.started)
          .count());
  r.sequence = st.setup.backend ? st.setup.backend->latest_sequence() : 0;
  r.health = make_health(self);
  r.replication = st.board->status();
  return r;
}

// -- checkpoint --------------------------------------------------------------------------

/// The longest a checkpoint holds its requester's promise; the worker itself
/// cannot be interrupted (a blocking RocksDB call), so it runs on, and no
/// other checkpoint starts, until it ends.
constexpr auto checkpoint_bound = std::chrono::seconds(3600);

uint64_t ms_since(clock_type::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count());
}

void end_checkpoint(manager_pointer self, const caf::error& err, checkpoint_reply* reply);

/// Starts a checkpoint on a detached worker that holds the backend; answers
/// at once when it is refused.
caf::result<checkpoint_reply> start_checkpoint(manager_pointer self, checkpoint_request& req) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no checkpoint while draining");
  if (st.setup.opts.backend == backend_kind::memory)
    return make_error(errc::not_supported,
                      "checkpoint: the memory backend keeps nothing on disk to copy");
  std::string dir;
  if (auto v = normalize_checkpoint_dir(req.dir, dir); !v) return to_error(v);
  if (st.checkpoint)
    return make_error(errc::overloaded, "another checkpoint (to " + st.checkpoint->dir +
                                            ") is already running, for " +
                                            std::to_string(ms_since(st.checkpoint->started)) +
                                            " ms; retry when it has ended");
  if (!st.setup.backend) return make_error(errc::unavailable, "the store is closed");
  // Not the children's lease: a checkpoint cut off by the drain goes on, and
  // the store closes after it (checkpoint_request).
  auto worker = self->spawn<caf::detached>(checkpoint_worker, st.setup.backend);
  // Normal priority: the worker's down message comes after its reply.
  self->monitor(worker);
  auto rp = self->make_response_promise<checkpoint_reply>();
  st.checkpoint = checkpoint_job{worker.address(), dir, clock_type::now(), rp};
  logger().info("vstore: checkpoint to {} started at sequence {}", dir,
                st.setup.backend->latest_sequence());
  self->request(worker, checkpoint_bound, checkpoint_request{dir})
      .then([self](checkpoint_reply& r) { end_checkpoint(self, caf::error{}, &r); },
            [self](caf::error& e) { end_checkpoint(self, e, nullptr); });
  return rp;
}

/// The worker answered (or did not within checkpoint_bound).
void end_checkpoint(manager_pointer self, const caf::error& err, checkpoint_reply* reply) {
  auto& st = self->state;
  if (!st.checkpoint) return;
  auto& job = *st.checkpoint;
  if (err == caf::sec::request_timeout) {
    // Still running: it stays the one checkpoint until its worker ends.
    logger().warn("vstore: checkpoint to {} still running after {} ms", job.dir,
                  ms_since(job.started));
    if (job.rp)
      job.rp->deliver(make_error(
          errc::timeout, "the checkpoint to " + job.dir +
                             " did not finish within the server's bound (1 hour); it goes on, "
                             "and " +
                             job.dir + " appears only if it completes"));
    job.rp.reset();
    check_drained(self);
    return;
  }
  if (err) {
    auto why = to_status(err);
    // A directory refused before anything was written is the caller's error.
    if (why.code() == errc::invalid_argument)
      logger().info("vstore: checkpoint to {} refused: {}", job.dir, why.to_string());
    else
      logger().error("vstore: checkpoint to {} failed: {}", job.dir, why.to_string());
    if (job.rp) job.rp->deliver(make_error(why.code(), why.context()));
  } else {
    ++st.checkpoints;
    logger().info("vstore: checkpoint written to {} (sequence {}, {} files, {} bytes, {} ms)",
                  reply->dir, reply->sequence, reply->files, reply->bytes, reply->elapsed_ms);
    if (job.rp) job.rp->deliver(std::move(*reply));
  }
  st.checkpoint.reset();
  check_drained(self);
}

/// The worker ended without an answer the manager saw (it died, or its answer
/// timed out before).
void on_checkpoint_worker_down(manager_pointer self, const caf::error& reason) {
  auto& st = self->state;
  auto& job = *st.checkpoint;
  if (job.rp)
    job.rp->deliver(make_error(
        errc::internal, "the checkpoint worker went down: " + self->system().render(reason)));
  logger().info("vstore: checkpoint worker for {} ended after {} ms", job.dir,
                ms_since(job.started));
  st.checkpoint.reset();
  check_drained(self);
}

/// Whether a checkpoint's requester still waits for its answer (a drain waits
/// for it, within the grace period).
bool checkpoint_unanswered(const manager_state& st) { return st.checkpoint && st.checkpoint->rp; }

// -- drain -------------------------------------------------------------------------------

void stop_children(manager_pointer self) {
  auto& st = self->state;
  for (auto& slot : st.spaces) {
    for (auto& r : slot.readers) stop_child(r);
    stop_child(slot.writer);
  }
  stop_child(st.committer);
  stop_child(st.shipper);
  stop_child(st.follower);
}

void finish_drain(manager_pointer self) {
  auto& st = self->state;
  if (st.backend_closed) return;
  // Every request is answered: stop the children; the backend closes when the
  // last of them (and this state) lets go of it.
  if (!st.children_stopped) {
    st.children_stopped = true;
    stop_children(self);
  }
  // Wait for the down messages of the children, and for the token lookups of
  // held writes (each ends by the commit actor's answer, bounce or timeout).
  if (!st.roles.empty() || st.table->held() > 0) return;
  // Then until no child holds the store: a child killed past the grace
  // period goes down at once, but a write its I/O thread runs ends only when
  // the disk lets it (the drain tick looks again).
  st.child_backend.reset();
  if (!st.children_lease.expired()) {
    arm_tick(self);
    return;
  }
  st.backend_closed = true;
  if (st.setup.backend) {
    auto sync = st.setup.backend->sync();
    if (!sync) logger().error("vstore: final sync failed: {}", sync.to_string());
    st.setup.backend.reset();
  }
  logger().info("vstore: drained: {} requests answered, {} cut off", st.drained.answered,
                st.drained.cut_off);
  for (auto& w : st.drain_waiters) w.deliver(st.drained);
  st.drain_waiters.clear();
  self->quit(caf::exit_reason::user_shutdown);
}

void check_drained(manager_pointer self) {
  auto& st = self->state;
  if (st.draining && st.table->all_answered() && !checkpoint_unanswered(st)) finish_drain(self);
}

void start_drain(manager_pointer self) {
  auto& st = self->state;
  if (st.draining) return;
  st.draining = true;
  st.snapshots->clear();
  answer_waiters(self, true);
  for (auto& f : st.min_seq_reads.take_all()) f(held_read_end::shutting_down);
  st.drain_deadline = clock_type::now() + st.setup.opts.supervisor.shutdown_grace;
  logger().info("vstore: draining: {} reads and {} writes queued", st.table->reads_in_flight(),
                st.table->unanswered_writes());
  for (auto& slot : st.spaces)
    if (slot.writer)
      self->request(slot.writer, internal_timeout(self), flush_request{})
          .then([](commit_ack&) {}, [](caf::error&) {});
  st.tick_armed = false;  // the next tick uses the drain's period
  arm_tick(self);
  take_settled(self);  // the box now wakes this actor
  check_drained(self);
}

/// The shutdown grace period ran out: answers what is still unanswered. The
/// writes' parts were handed to writers that commit what the drain sealed
/// before they stop, so they are in doubt, never "not applied".
void cut_off(manager_pointer self) {
  auto& st = self->state;
  auto o = st.table->cut_off();
  for (auto& [space, rp] : o.reads) {
    ++st.drained.cut_off;
    count_error(self, space, errc::shutting_down);
    rp.deliver(make_error(errc::shutting_down, "the shutdown grace period ran out"));
    ++st.drained.answered;
  }
  for (auto& w : o.writes) {
    ++st.drained.cut_off;
    deliver_write_error(self, w.rp, w.owner, w.code,
                        "the shutdown grace period ran out before the write committed: it may "
                        "still commit before the store closes; ask outcome_request after a "
                        "restart or retry with its token");
  }
  if (checkpoint_unanswered(st)) {
    auto& job = *st.checkpoint;
    job.rp->deliver(make_error(errc::shutting_down,
                               "the shutdown grace period ran out while the checkpoint to " +
                                   job.dir +
                                   " was being written: it goes on, the store closes after it, "
                                   "and the directory appears only if it completes"));
    job.rp.reset();
  }
  check_drained(self);
}

/// Answers every request whose deadline passed: a child that is alive but
/// stuck (e.g. in a blocking backend call) must not leave a client waiting
/// forever. A read gets errc::timeout; a write errc::in_doubt, because its
/// parts stay queued and may still commit (its token stays pending until the
/// owner writer answers).
void expire_overdue(manager_pointer self) {
  auto& st = self->state;
  auto o = st.table->expire(clock_type::now());
  for (auto& [space, rp] : o.reads) {
    count_error(self, space, errc::timeout);
    rp.deliver(make_error(errc::timeout, "no answer within supervisor.internal-timeout"));
    if (st.draining) ++st.drained.answered;
  }
  for (auto& w : o.writes)
    deliver_write_error(self, w.rp, w.owner, w.code,
                        "not committed within supervisor.internal-timeout: the write is still "
                        "queued and may commit; retry with its token or ask outcome_request");
  if (!o.reads.empty() || !o.writes.empty()) check_drained(self);
}

/// Answers an orphan held until its sweep ended: nothing can commit it any
/// more, so its token's outcome is final.
void resolve_held(manager_pointer self, manager_state::table_type::held_orphan h,
                  clock_type::time_point deadline) {
  auto& st = self->state;
  auto finish = [self, owner = h.owner](write_promise& rp, bool committed, bool not_committed,
                                        uint64_t seq) mutable {
    auto& state = self->state;
    auto code = state.table->resolve_held(committed, not_committed);
    if (!code) {
      rp.deliver(commit_ack{seq});
      if (state.draining) ++state.drained.answered;
    } else {
      deliver_write_error(
          self, rp, owner, *code,
          *code == errc::aborted
              ? "the writer of space '" + space_name(self, owner) +
                    "' went down before the write reached the commit actor: nothing was "
                    "applied, and nothing will be"
              : "the write may have committed (its writer or the commit actor went down, or "
                "its commit failed); its token's outcome is open: ask outcome_request");
    }
    check_drained(self);
  };
  if (!st.committer) {
    finish(h.rp, false, false, 0);
    return;
  }
  auto req = outcome_request{h.token, h.admitted_seq, 0};
  self->request(st.committer, internal_timeout(self), std::move(req))
      .then(
          [finish, rp = h.rp](outcome_reply& r) mutable {
            finish(rp, r.state == write_state::committed, r.state == write_state::not_committed,
                   r.seq);
          },
          [self, finish, h, deadline](caf::error& e) mutable {
            // A commit actor that just went down is replaced soon: ask its
            // successor (it reads the tokens back from the store).
            if (e == caf::sec::request_receiver_down && clock_type::now() < deadline &&
                !self->state.draining) {
              self->state.held_lookups.emplace_back(std::move(h), deadline);
              arm_tick(self);
              return;
            }
            finish(h.rp, false, false, 0);
          });
}

/// Asks again the token lookups that found the commit actor down.
void retry_held_lookups(manager_pointer self) {
  auto& st = self->state;
  auto waiting = std::move(st.held_lookups);
  st.held_lookups.clear();
  for (auto& [h, deadline] : waiting) resolve_held(self, std::move(h), deadline);
}

/// Settles the writes whose writer went down: flushes every live writer (each
/// answers once everything it took before is committed or aborted), then
/// fences the commit actor (it answers once every sealed batch it received
/// before is answered). After that nothing can commit them any more.
void maybe_sweep(manager_pointer self) {
  auto& st = self->state;
  if (!st.table->sweep_wanted() || st.backend_closed) return;
  st.table->begin_sweep();
  arm_tick(self);
  auto end = [self] {
    auto deadline = clock_type::now() + internal_timeout(self);
    for (auto& h : self->state.table->end_sweep()) resolve_held(self, std::move(h), deadline);
    if (!self->state.outcome_waiters.empty()) answer_waiters(self, false);
    maybe_sweep(self);
    check_drained(self);
  };
  auto fence = [self, end] {
    auto& state = self->state;
    if (!state.committer) {
      end();
      return;
    }
    self->request(state.committer, untimed, fence_request{})
        .then([end](commit_ack&) { end(); }, [end](caf::error&) { end(); });
  };
  auto remaining = std::make_shared<size_t>(1);
  auto done = [remaining, fence] {
    if (--*remaining == 0) fence();
  };
  for (auto& slot : st.spaces) {
    if (!slot.writer) continue;
    ++*remaining;
    self->request(slot.writer, untimed, flush_request{})
        .then([done](commit_ack&) { done(); }, [done](caf::error&) { done(); });
  }
  done();
}

/// Asks the commit actor's token index (nothing in the pipeline carries the
/// token any more) and delivers its answer through `rp`. A commit actor that
/// is down (and about to be replaced) is asked again on the next tick, until
/// `deadline`; then the answer is pending.
void ask_committer(manager_pointer self, outcome_request req,
                   caf::typed_response_promise<outcome_reply> rp, clock_type::time_point deadline) {
  auto& st = self->state;
  if (!st.committer) {
    rp.deliver(make_error(errc::unavailable, "the commit actor is not running"));
    return;
  }
  // Lookups wait in the commit actor's mailbox while a commit runs: bound how
  // many (a stalled disk), like reads.
  if (st.outcome_lookups >= st.setup.opts.reader.max_queued) {
    rp.deliver(make_error(errc::overloaded, "outcome lookups in flight reached reader.max-queued"));
    return;
  }
  ++st.outcome_lookups;
  req.wait_ms = 0;
  self->request(st.committer, internal_timeout(self), req)
      .then(
          [self, rp](outcome_reply& r) mutable {
            --self->state.outcome_lookups;
            rp.deliver(r);
          },
          [self, rp, req, deadline](caf::error& e) mutable {
            --self->state.outcome_lookups;
            if (e == caf::sec::request_receiver_down && !self->state.draining) {
              self->state.outcome_waiters.push_back(outcome_waiter{req, rp, deadline});
              arm_tick(self);
              take_settled(self);  // the box now wakes this actor
              return;
            }
            auto s = to_status(e);
            rp.deliver(make_error(s.code(), "outcome lookup: " + s.context()));
          });
}

/// Answers the waiting outcome requests whose token settled, and (past their
/// deadline, or all of them with `all`) the others with pending.
void answer_waiters(manager_pointer self, bool all) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto waiters = std::move(st.outcome_waiters);
  st.outcome_waiters.clear();
  for (auto& w : waiters) {
    if (!st.table->token_pending(w.req.token) && !all && w.deadline > now)
      ask_committer(self, std::move(w.req), std::move(w.rp), w.deadline);
    else if (all || w.deadline <= now)
      w.rp.deliver(outcome_reply{write_state::pending, 0});
    else
      st.outcome_waiters.push_back(std::move(w));
  }
}

/// Answers an outcome_request: pending while a write with the token is
/// admitted and unsettled here (after waiting up to req.wait_ms for it to
/// settle), else what the commit actor's token index says.
caf::result<outcome_reply> find_outcome(manager_pointer self, outcome_request& req) {
  auto& st = self->state;
  if (st.draining) return make_error(errc::shutting_down, "no outcome requests while draining");
  if (req.token.empty()) return make_error(errc::invalid_argument, "empty token");
  if (req.token.size() > st.setup.opts.tokens.max_token_bytes)
    return make_error(errc::too_large, "token of " + std::to_string(req.token.size()) +
                                           " bytes exceeds tokens.max-token-size");
  auto rp = self->make_response_promise<outcome_reply>();
  auto now = clock_type::now();
  if (!st.table->token_pending(req.token)) {
    ask_committer(self, std::move(req), rp, now + std::chrono::seconds(1));
    return rp;
  }
  if (req.wait_ms == 0) {
    rp.deliver(outcome_reply{write_state::pending, 0});
    return rp;
  }
  auto wait =
      std::min<caf::timespan>(std::chrono::milliseconds(req.wait_ms), internal_timeout(self));
  st.outcome_waiters.push_back(outcome_waiter{std::move(req), rp, now + wait});
  arm_tick(self);
  take_settled(self);  // the box now wakes this actor
  return rp;
}

/// Spawns the children over st.child_backend: the commit actor, and per
/// space its readers and writer (a replica: the follower too).
void spawn_children(manager_pointer self) {
  auto& st = self->state;
  const auto& o = st.setup.opts;
  st.committer = spawn_committer(self);
  st.spaces.resize(o.schema.size());
  for (space_id s = 0; s < o.schema.size(); ++s) {
    auto& slot = st.spaces[s];
    slot.errors.assign(errc_max + 1, 0);
    slot.readers.clear();
    auto readers = size_t{o.reader.pool_size} * (cache_first(st) ? 2 : 1);
    for (size_t i = 0; i < readers; ++i) slot.readers.push_back(spawn_reader(self, s, i));
    slot.writer = spawn_writer(self, s);
  }
}

/// Gives the children a lease on `backend` (see manager_state::child_backend).
void lease_backend(manager_pointer self) {
  auto& st = self->state;
  auto lease = std::make_shared<std::shared_ptr<store>>(st.setup.backend);
  st.child_backend = std::shared_ptr<store>(lease, lease->get());
  st.children_lease = lease;
}

/// A replica's follower staged a fresh copy of the primary (re-sync): stop
/// serving reads, and once none is in flight and no child holds the store,
/// switch to the copy (check_resync).
void start_resync(manager_pointer self) {
  auto& st = self->state;
  st.resyncing = true;
  st.resync_children_stopped = false;
  logger().warn("vstore: switching to the re-synced copy of {}", st.setup.replica->primary);
  check_resync(self);
}

void check_resync(manager_pointer self) {
  auto& st = self->state;
  if (!st.resyncing || st.draining) return;
  if (!st.table->all_answered()) return;
  if (!st.resync_children_stopped) {
    st.resync_children_stopped = true;
    st.snapshots->clear();
    for (auto& f : st.min_seq_reads.take_all()) f(held_read_end::lagging);
    stop_children(self);
  }
  if (!st.roles.empty()) return;
  st.child_backend.reset();
  if (!st.children_lease.expired()) return;  // the tick looks again
  namespace fs = std::filesystem;
  const auto path = st.setup.opts.db.path;
  const auto staged = replica_staged_path(path);
  const auto old = path + ".old";
  st.setup.backend.reset();  // closes the old store
  std::error_code ec;
  fs::remove_all(old, ec);
  fs::rename(path, old, ec);
  if (!ec) fs::rename(staged, path, ec);
  status opened;
  if (ec)
    opened = {errc::io_error, "cannot switch " + path + " to " + staged + ": " + ec.message()};
  else
    opened = st.setup.replica->open(st.setup.opts, st.setup.backend);
  if (!opened) {
    logger().error("vstore: the re-sync failed: {}; this replica serves nothing",
                   opened.to_string());
    st.board->set_state("failed", "re-sync: " + opened.to_string());
    for (space_id s = 0; s < st.spaces.size(); ++s) mark_failed(self, s, "re-sync failed");
    st.resyncing = false;
    return;
  }
  fs::remove_all(old, ec);
  lease_backend(self);
  spawn_children(self);
  uint64_t applied = 0;
  (void)st.setup.backend->applied_log(applied);
  st.board->start_replica(st.setup.replica->primary, applied);
  st.board->count_resync();
  spawn_follower_child(self);
  st.resyncing = false;
  logger().warn("vstore: re-synced from {}: following from sequence {}", st.setup.replica->primary,
                applied + 1);
}

void kill_children(manager_pointer self) {
  auto& st = self->state;
  for (auto& slot : st.spaces) {
    for (auto& r : slot.readers)
      if (r) caf::anon_send_exit(r, caf::exit_reason::kill);
    if (slot.writer) caf::anon_send_exit(slot.writer, caf::exit_reason::kill);
  }
  if (st.committer) caf::anon_send_exit(st.committer, caf::exit_reason::kill);
  if (st.shipper) caf::anon_send_exit(st.shipper, caf::exit_reason::kill);
  if (st.follower) caf::anon_send_exit(st.follower, caf::exit_reason::kill);
}

void on_tick(manager_pointer self) {
  auto& st = self->state;
  st.tick_armed = false;
  if (st.backend_closed) return;
  expire_overdue(self);
  if (st.draining && clock_type::now() >= st.drain_deadline) {
    cut_off(self);
    if (!st.roles.empty() && st.children_stopped) kill_children(self);
    finish_drain(self);
  } else if (st.children_stopped) {
    finish_drain(self);  // waiting for the children to let go of the store
  }
  if (st.backend_closed) return;
  maybe_sweep(self);
  st.snapshots->expire(clock_type::now());
  if (!st.outcome_waiters.empty()) answer_waiters(self, st.draining);
  if (!st.held_lookups.empty()) retry_held_lookups(self);
  if (is_replica(st) && !st.draining) {
    if (!st.resyncing && st.board->resync_ready()) start_resync(self);
    check_resync(self);
  }
  if (st.draining || st.table->has_deadlines() || !st.outcome_waiters.empty() ||
      !st.held_lookups.empty() || is_replica(st) || !st.snapshots->empty())
    arm_tick(self);
}

}  // namespace

manager_state::~manager_state() {
  for (auto& slot : spaces) {
    for (auto& r : slot.readers) stop_child(r);
    stop_child(slot.writer);
  }
  stop_child(committer);
  stop_child(shipper);
  stop_child(follower);
}

manager_actor::behavior_type storage_manager(manager_pointer self, manager_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  lease_backend(self);
  const auto& o = st.setup.opts;
  self->set_exception_handler(exception_to_error);
  // A message outside the interface (a peer with other or unregistered types)
  // gets an error reply; CAF's default would print it to stdout.
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return make_error(errc::invalid_argument,
                          "message outside the manager's interface (unknown or unregistered type)");
      });
  self->set_down_handler([self](caf::down_msg& dm) {
    take_settled(self);
    on_child_down(self, dm.source, dm.reason);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    take_settled(self);
    if (em.reason == caf::exit_reason::kill) {
      self->quit(em.reason);
      return;
    }
    start_drain(self);
  });
  st.table =
      std::make_unique<manager_state::table_type>(o.schema.size(), o.supervisor.internal_timeout);
  st.snapshots = std::make_unique<snapshot_table>(o.reader.max_snapshots, o.reader.snapshot_lease);
  spawn_children(self);
  {
    epoch_record rec;
    if (auto s = epoch_record::read(*st.setup.backend, rec); !s)
      logger().error("vstore: cannot read the replication epoch: {}", s.to_string());
    st.board->set_epoch(rec.epoch);
  }
  if (is_replica(st)) {
    uint64_t applied = 0;
    if (auto s = st.setup.backend->applied_log(applied); !s)
      logger().error("vstore: cannot read the applied replication sequence: {}", s.to_string());
    st.board->start_replica(st.setup.replica->primary, applied);
    spawn_follower_child(self);
    arm_tick(self);  // a replica's tick looks for a staged re-sync
  }
  return {
      // The hot messages first: CAF 0.17 tries the handlers in this order,
      // and every one before the match costs a type comparison.
      [self](get_request& req) -> caf::result<get_reply> {
        if (auto e = admit_read(self, req.space)) return e;
        if (auto held = hold_for_min_seq<get_reply>(self, req)) return std::move(*held);
        if (auto e = check_key(self, req.space, req.key, "key")) return e;
        if (!cache_first(self->state)) return start_read<get_reply>(self, std::move(req));
        if (auto batched = batch_get(self, req)) return std::move(*batched);
        return cached_get(self, std::move(req));
      },
      [self](multi_get_request& req) -> caf::result<multi_get_reply> {
        if (auto e = admit_read(self, req.space)) return e;
        if (auto held = hold_for_min_seq<multi_get_reply>(self, req)) return std::move(*held);
        if (req.keys.size() > self->state.setup.opts.limits.max_multi_get)
          return make_error(errc::too_large,
                            std::to_string(req.keys.size()) + " keys exceed limits.max-multi-get");
        if (req.keys.empty()) return multi_get_reply{};
        for (const auto& k : req.keys)
          if (auto e = check_key(self, req.space, k, "key")) return e;
        if (cache_first(self->state)) {
          if (auto batched = batch_multi_get(self, req)) return std::move(*batched);
          if (req.keys.size() <= self->state.setup.opts.reader.inline_max_keys)
            return cached_multi_get(self, std::move(req));
        }
        return start_read<multi_get_reply>(self, std::move(req));
      },
      [self](write_request& req) -> caf::result<commit_ack> {
        take_settled(self);
        if (is_replica(self->state)) return refuse_on_replica(self, "write");
        if (auto e = self->state.board->superseded_by(); e > 0)
          return make_error(errc::read_only, "this node was superseded by epoch " +
                                                 std::to_string(e) +
                                                 ": send writes to the promoted primary");
        return start_write(self, req);
      },
      [self](written_parts& w) { on_written(self, w); },
      [self](read_batch_atom) { on_read_batch(self); },
      [self](scan_request& req) -> caf::result<scan_reply> {
        if (auto e = admit_read(self, req.space)) return e;
        const auto& lim = self->state.setup.opts.limits;
        if (req.limit == 0) return make_error(errc::invalid_argument, "scan limit must be >= 1");
        if (req.limit > lim.max_scan_limit)
          return make_error(errc::too_large, "scan limit " + std::to_string(req.limit) +
                                                 " exceeds limits.max-scan-limit");
        if (req.prefix.size() > lim.max_key_bytes || req.start_after.size() > lim.max_key_bytes)
          return make_error(errc::too_large,
                            "scan prefix or start key exceeds limits.max-key-size");
        if (auto held = hold_for_min_seq<scan_reply>(self, req)) return std::move(*held);
        if (cache_first(self->state))
          if (auto batched = batch_scan(self, req)) return std::move(*batched);
        return start_read<scan_reply>(self, std::move(req));
      },
      [self](snapshot_read_request& req) -> caf::result<snapshot_read_reply> {
        return start_snapshot_read(self, req);
      },
      [self](flush_request) -> caf::result<commit_ack> {
        take_settled(self);
        if (is_replica(self->state)) return refuse_on_replica(self, "flush");
        return flush_all(self);
      },
      [self](stats_request) -> caf::result<stats_reply> {
        take_settled(self);
        return collect_stats(self);
      },
      [self](status_request) -> status_reply {
        take_settled(self);
        return make_status(self);
      },
      [self](drain_request) -> caf::result<drain_reply> {
        take_settled(self);
        auto rp = self->make_response_promise<drain_reply>();
        self->state.drain_waiters.push_back(rp);
        start_drain(self);
        return rp;
      },
      [self](outcome_request& req) -> caf::result<outcome_reply> {
        take_settled(self);
        if (is_replica(self->state)) return refuse_on_replica(self, "outcome");
        return find_outcome(self, req);
      },
      [self](checkpoint_request& req) -> caf::result<checkpoint_reply> {
        return start_checkpoint(self, req);
      },
      [self](log_request& req) -> caf::result<log_reply> {
        if (auto e = admit_replication(self)) return e;
        return self->delegate(shipper(self), std::move(req));
      },
      [self](snapshot_request& req) -> caf::result<snapshot_reply> {
        if (auto e = admit_replication(self)) return e;
        return self->delegate(shipper(self), req);
      },
      [self](chunk_request& req) -> caf::result<chunk_reply> {
        if (auto e = admit_replication(self)) return e;
        return self->delegate(shipper(self), std::move(req));
      },
      [self](snapshot_release& req) -> caf::result<release_reply> {
        if (auto e = admit_replication(self)) return e;
        return self->delegate(shipper(self), req);
      },
      [self](promote_request) -> caf::result<promote_reply> {
        take_settled(self);
        return start_promotion(self);
      },
      [self](tick_atom) {
        take_settled(self);
        on_tick(self);
      },
      [self](min_seq_atom) { on_min_seq(self); },
  };
}

status spawn_manager(caf::actor_system& sys, manager_setup setup, manager_actor& out) {
  if (auto st = config::validate(setup.opts); !st) return st;
  if (!setup.backend) return {errc::invalid_argument, "spawn_manager: no backend"};
  if (setup.backend->schema().size() != setup.opts.schema.size())
    return {errc::schema_mismatch,
            "the backend's schema has " + std::to_string(setup.backend->schema().size()) +
                " spaces, the options " + std::to_string(setup.opts.schema.size())};
  out = sys.spawn(storage_manager, std::move(setup));
  return {};
}

}  // namespace vstore
