#include "actors/committer.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <caf/all.hpp>

#include "actors/exceptions.hpp"
#include "log/log.hpp"
#include "messages/sealed_tail.hpp"

namespace vstore {

namespace {

/// The sweep period while incomplete multi-space batches exist. Short on
/// purpose: ~actor_system waits for pending delayed messages.
constexpr auto sweep_period = std::chrono::milliseconds(100);

/// The longest wait of the recovery timer (see arm_recovery).
constexpr auto recovery_tick = std::chrono::milliseconds(100);

/// Token records read per page when a commit actor starts.
constexpr size_t load_page = 4096;

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void answer_fences(committer_pointer self) {
  auto& s = self->state;
  auto& fs = s.fences;
  auto keep = fs.begin();
  for (auto& f : fs) {
    if (s.queue->finished_through(f.first))
      f.second.deliver(commit_ack{s.backend->latest_sequence()});
    else {
      // Never a self-move: it empties a std::string or std::vector.
      if (&*keep != &f) *keep = std::move(f);
      ++keep;
    }
  }
  fs.erase(keep, fs.end());
}

void answer_ready(committer_pointer self) {
  auto& s = self->state;
  std::optional<std::chrono::steady_clock::time_point> answered_at;
  for (auto& r : s.queue->take_ready()) {
    auto i = s.waiting.find(r.tok);
    if (i == s.waiting.end()) continue;
    auto w = std::move(i->second);
    s.waiting.erase(i);
    // The writes that committed, with their acknowledgement.
    std::vector<std::pair<write_reply*, uint64_t>> acks;
    written_parts done{w.space, {}};
    for (auto& [g, reply] : w.replies)
      if (auto seq = committed_seq(r.result, g)) {
        acks.emplace_back(reply.get(), *seq);
        done.parts.push_back(written_part{reply->id, true, *seq, errc::internal, {}});
      }
    // The manager and the writer first, so that whatever a client sends
    // after its acknowledgement (stats, a flush, the next write against
    // writer.max-queued, an outcome_request) finds the write settled there,
    // and the manager has it settled before the writer answers a flush that
    // covers it. The manager takes the box before it handles a message; it
    // gets one of its own only when it asked.
    if (!done.parts.empty() && s.settled->put(std::move(done)))
      self->send(s.manager, written_parts{w.space, {}});
    // The writer takes its answer at its next message. It is woken for
    // every batch but a quiet one that committed cleanly (sealed_batch::quiet:
    // that leaves it nothing to tell the manager, and a sequential commit
    // saves an activation), and for that one too when it asked (a flush
    // waits).
    if (w.answers) {
      if (!answered_at) answered_at = std::chrono::steady_clock::now();
      bool clean = r.result.aborted.empty() && r.result.failed.empty() && r.result.refused.empty();
      bool asked = w.answers->put(sealed_answer{w.id, std::move(r.result), {}, *answered_at});
      if (asked || !clean || !w.quiet) self->send(w.writer, answers_atom::value);
    }
    auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
    for (auto& [reply, seq] : acks) reply->deliver_from(me, commit_ack{seq});
  }
  answer_fences(self);
}

void apply(write_batch& b, space_id space, const std::vector<write_op>& ops) {
  for (const auto& op : ops) {
    switch (op.kind) {
      case op_kind::put:
        b.put(space, op.key, op.value);
        break;
      case op_kind::del:
        b.del(space, op.key);
        break;
      case op_kind::del_range:
        b.delete_range(space, op.key, op.value);
        break;
    }
  }
}

/// Answers every waiting sealed batch (in its writer's answer box, with a
/// wake-up) and fence with `err`: after a crash no answer may stay
/// undelivered (CAF 0.17 has no broken promise). The writers answer their
/// commands in doubt: the crash may have followed a commit.
void fail_everything(committer_pointer self, const caf::error& err) {
  auto& s = self->state;
  auto why = to_status(err);
  for (auto& kv : s.waiting) {
    auto& w = kv.second;
    if (!w.answers) continue;
    w.answers->put(sealed_answer{w.id, {}, why, {}});
    self->send(w.writer, answers_atom::value);
  }
  s.waiting.clear();
  for (auto& f : s.fences) f.second.deliver(err);
  s.fences.clear();
}

/// Reads the token records of the system space into the index. On a read
/// error no absent token is ever answered not_committed.
void load_tokens(committer_pointer self) {
  auto& s = self->state;
  std::string value;
  bool found = false;
  auto st = s.backend->get(system_space, token_index::forgotten_key(), value, found);
  uint64_t through = 0;
  if (st && found && !token_index::decode_seq(value, through))
    st = status{errc::corruption,
                "forgotten-through record of " + std::to_string(value.size()) + " bytes"};
  std::string after;
  size_t loaded = 0;
  while (st) {
    scan_page page;
    st = s.backend->scan(system_space, token_index::record_prefix(), after, load_page, page);
    if (!st) break;
    for (auto& kv : page.entries) {
      token_index::entry e;
      if (!token_index::decode(kv.value, e)) continue;
      s.tokens->load(kv.key.substr(token_index::record_prefix().size()), e);
      ++loaded;
    }
    if (!page.more || page.entries.empty()) break;
    after = page.entries.back().key;
  }
  s.tokens->finish_load();
  if (!st) {
    logger().error(
        "vstore: cannot read the idempotency tokens ({}); outcome requests answer "
        "unknown instead of not_committed for absent tokens",
        st.to_string());
    through = UINT64_MAX;
  }
  s.tokens->set_forgotten_through(through);
  if (loaded > 0) logger().info("vstore: {} idempotency tokens remembered", loaded);
}

/// Schedules the next recovery attempt while the store is not ok. The timer
/// fires at most every 100 ms, so that a long backoff never holds up the
/// actor system's shutdown, and tries store::recover once the backoff is due.
void arm_recovery(committer_pointer self) {
  auto& s = self->state;
  if (s.recovery_armed || s.backend->state() == health_state::ok) return;
  s.recovery_armed = true;
  if (s.recovery_delay.count() == 0) s.recovery_delay = s.recovery.backoff;
  s.next_recovery = std::chrono::steady_clock::now() + s.recovery_delay;
  self->delayed_send(self, std::min<std::chrono::milliseconds>(s.recovery_delay, recovery_tick),
                     recover_atom::value, true);
}

void recover_on_io(committer_pointer self);

/// The recovery timer fired (or, with `from_timer` false, the manager saw a
/// store that is not ok).
void on_recover(committer_pointer self, bool from_timer) {
  auto& s = self->state;
  if (!from_timer) {
    arm_recovery(self);
    return;
  }
  s.recovery_armed = false;
  if (s.recovering) return;  // the running attempt re-arms the timer if it fails
  if (s.backend->state() == health_state::ok) {
    s.recovery_delay = std::chrono::milliseconds{0};
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now < s.next_recovery) {
    s.recovery_armed = true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.next_recovery - now);
    self->delayed_send(
        self,
        std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds{1}, recovery_tick),
        recover_atom::value, true);
    return;
  }
  ++s.stats.recovery_attempts;
  recover_on_io(self);
}

/// What store::recover answered: the next attempt, or none.
void on_recovered(committer_pointer self, const status& r) {
  auto& s = self->state;
  if (r) {
    s.recovery_delay = std::chrono::milliseconds{0};
    return;
  }
  if (s.backend->state() == health_state::failed) return;  // an operator must act
  s.recovery_delay = std::min(2 * s.recovery_delay, s.recovery.backoff_max);
  arm_recovery(self);
}

}  // namespace

/// What the commit actor found before writing a round. Also the message to
/// and from its I/O thread, which fills in the outcome.
struct commit_job {
  std::vector<commit_queue::round_part> round;
  /// Batches left out: their token committed before (with its sequence
  /// number, 0 = earlier in this round), or an earlier commit of it failed.
  std::map<uint64_t, uint64_t> duplicates;
  std::set<uint64_t> refused;
  /// Tokens committed with this round, and their record.
  std::vector<std::string> fresh;
  token_index::entry rec;
  uint64_t expected = 0;
  size_t ops = 0;
  std::unique_ptr<write_batch> batch;
  uint64_t era = 0;
  // -- the outcome ----------------------------------------------------------
  status st;
  uint64_t seq = 0;
  std::chrono::steady_clock::duration took{};
  /// The write (or a fault hook) threw this; the commit actor rethrows it.
  std::exception_ptr thrown;
};

/// A call of store::recover on the I/O thread (it blocks: DB::Resume
/// flushes), and its answer.
struct recover_job {
  status st;
  std::exception_ptr thrown;
};

}  // namespace vstore

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vstore::commit_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vstore::recover_job>)

namespace vstore {

namespace {

/// Writes a prepared round under the gate, timing it: with `may_wait`
/// blocking (store::commit), else only if the store can write it without
/// waiting (store::try_commit; returns false, nothing written, when it
/// cannot). A round of an era that has ended is dropped: its commit actor is
/// gone and has answered it in doubt.
bool write_round(store& backend, commit_gate& gate, fault_hooks* hooks, commit_job& job,
                 bool may_wait) {
  auto t0 = std::chrono::steady_clock::now();
  bool waits = false;
  bool ran = gate.run(job.era, [&] {
    if (may_wait) {
      job.st = backend.commit(*job.batch, job.seq);
    } else if (auto st = backend.try_commit(*job.batch, job.seq)) {
      job.st = std::move(*st);
    } else {
      waits = true;
      return;
    }
    if (hooks) hooks->after_commit();
  });
  if (!ran)
    job.st = status{errc::in_doubt, "a newer commit actor took over before this round was written"};
  job.took = std::chrono::steady_clock::now() - t0;
  return !waits;
}

/// The commit actor's I/O thread: writes the rounds it is handed, one at a
/// time, and hands them back with their outcome. Whatever throws goes back
/// to the commit actor with the round.
struct commit_io_state {
  std::shared_ptr<store> backend;
  std::shared_ptr<commit_gate> gate;
  std::shared_ptr<fault_hooks> hooks;
  static inline const char* name = "vstore.commit-io";
};

caf::behavior commit_io(caf::stateful_actor<commit_io_state>* self, std::shared_ptr<store> backend,
                        std::shared_ptr<commit_gate> gate, std::shared_ptr<fault_hooks> hooks) {
  self->state.backend = std::move(backend);
  self->state.gate = std::move(gate);
  self->state.hooks = std::move(hooks);
  // Lets go of the store before it goes down (see the commit actor's exit).
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (!m.reason) return;
    self->state.backend.reset();
    self->quit(m.reason);
  });
  return {
      [self](std::shared_ptr<commit_job>& job) {
        auto& st = self->state;
        try {
          write_round(*st.backend, *st.gate, st.hooks.get(), *job, true);
        } catch (...) {
          job->thrown = std::current_exception();
        }
        return job;
      },
      [self](std::shared_ptr<recover_job>& job) {
        try {
          job->st = self->state.backend->recover();
        } catch (...) {
          job->thrown = std::current_exception();
        }
        return job;
      },
  };
}

/// Takes the next round and decides, without writing, what becomes of it:
/// returns nothing when there is nothing to write, or when the store is not
/// ok (the round is then refused unwritten, not applied).
std::shared_ptr<commit_job> prepare_round(committer_pointer self) {
  auto& s = self->state;
  auto job = std::make_shared<commit_job>();
  job->round = s.queue->take_round();
  job->era = s.era;
  const auto now_ms = unix_ms_now();
  auto forgotten = s.tokens->forget(now_ms);
  if (!forgotten.empty()) {
    s.forgotten_dirty = true;
    for (auto& t : forgotten) s.forgotten.push_back(std::move(t));
  }
  bool housekeeping = s.forgotten_dirty && !s.forgotten.empty();
  if (job->round.empty() && !housekeeping) return nullptr;
  // Tokens in batch order: the first commit of a token wins, later batches
  // with it (already committed, or earlier in this round) are duplicates.
  std::vector<std::pair<uint64_t, const std::string*>> tokens;
  for (const auto& rp : job->round)
    if (!rp.part.token.empty()) tokens.emplace_back(rp.part.g, &rp.part.token);
  std::sort(tokens.begin(), tokens.end());
  bool dedup = !s.hooks || s.hooks->dedup_tokens();
  for (const auto& [g, tok] : tokens) {
    auto known = dedup ? s.tokens->find(*tok) : std::nullopt;
    bool earlier =
        dedup && std::find(job->fresh.begin(), job->fresh.end(), *tok) != job->fresh.end();
    if (known)
      job->duplicates.emplace(g, known->seq);
    else if (dedup && s.tokens->doubtful(*tok))
      job->refused.insert(g);
    else if (earlier)
      job->duplicates.emplace(g, 0);
    else
      job->fresh.push_back(*tok);
  }
  if (auto hs = s.backend->state(); hs != health_state::ok) {
    // The store cannot write: refuse the round unwritten (not applied) and
    // let the recovery timer bring the store back.
    auto h = s.backend->health();
    s.queue->refuse_round(
        job->round, status{h.code, std::string{"the store is "} + to_name(hs) + ": " + h.message},
        job->duplicates, job->refused);
    arm_recovery(self);
    return nullptr;
  }
  job->batch = s.backend->make_batch();
  auto& batch = *job->batch;
  for (const auto& rp : job->round) {
    if (job->duplicates.count(rp.part.g) > 0 || job->refused.count(rp.part.g) > 0) continue;
    apply(batch, rp.space, rp.part.ops);
    job->ops += rp.part.ops.size();
  }
  for (const auto& t : s.forgotten) batch.del(system_space, token_index::record_key(t));
  if (s.forgotten_dirty)
    batch.put(system_space, token_index::forgotten_key(),
              token_index::encode_seq(s.tokens->forgotten_through()));
  // The token records about to be added carry the sequence number the
  // commit will answer.
  job->expected = s.backend->next_sequence(batch, job->fresh.size());
  job->rec = token_index::entry{job->expected, now_ms};
  for (const auto& t : job->fresh)
    batch.put(system_space, token_index::record_key(t), token_index::encode(job->rec));
  return job;
}

/// Records the outcome of a written round in the queue and the tokens.
void settle(committer_pointer self, commit_job& job) {
  auto& s = self->state;
  const auto& st = job.st;
  if (st && !job.fresh.empty() && job.seq != job.expected)
    logger().error("vstore: commit answered sequence {} but its token records say {}", job.seq,
                   job.expected);
  ++s.stats.rounds;
  s.stats.round_ops += job.ops;
  s.stats.duplicates += job.duplicates.size();
  if (st) {
    for (const auto& t : job.fresh)
      s.tokens->insert(t, token_index::entry{job.seq, job.rec.unix_ms});
    s.forgotten.clear();
    s.forgotten_dirty = false;
    s.queue->finish_round(job.round, st, job.seq, job.duplicates, job.refused);
  } else if (st.code() == errc::no_space) {
    // Refused before anything was written (store::commit's contract).
    s.queue->refuse_round(job.round, st, job.duplicates, job.refused);
  } else {
    for (const auto& t : job.fresh) s.tokens->mark_doubtful(t);
    s.queue->finish_round(job.round, st, job.seq, job.duplicates, job.refused);
  }
  if (!st) arm_recovery(self);
}

/// Copies the queue's and the tokens' counters into the stats, then answers
/// every sealed batch and fence that is finished.
void answer_and_count(committer_pointer self) {
  auto& s = self->state;
  s.stats.aborted_batches = s.queue->aborted_total();
  s.stats.tokens = s.tokens->size();
  s.stats.tokens_forgotten = s.tokens->forgotten_total();
  answer_ready(self);
}

void commit_round(committer_pointer self);

/// After a round on the I/O thread: with gathering on, waits up to half of
/// `done`'s duration until as many operations are queued as `done` held plus
/// those queued now (the writers `done` answers come back, and those that
/// queued during it are still there), else starts the next round now.
void gather_or_commit(committer_pointer self, const commit_job& done) {
  auto& s = self->state;
  if (!s.path.gather || done.ops < 2) {
    if (s.queue->queued_parts() > 0) commit_round(self);
    return;
  }
  auto wait =
      std::min<std::chrono::steady_clock::duration>(done.took / 2, std::chrono::milliseconds(1));
  s.gathering = true;
  s.gather_ops = done.ops + s.queue->queued_ops();
  self->delayed_send(self, wait, gather_atom::value, ++s.gather_epoch);
}

/// Returns the I/O thread, started on first use; it ends with this actor.
caf::actor& io_thread(committer_pointer self) {
  auto& s = self->state;
  if (!s.io) {
    s.io = self->spawn<caf::detached>(commit_io, s.backend, s.gate, s.hooks);
    self->attach_functor([io = s.io] { caf::anon_send_exit(io, caf::exit_reason::user_shutdown); });
  }
  return s.io;
}

/// The I/O thread is gone (it never throws; it was killed): whatever it was
/// doing may or may not have happened. The commit actor ends in doubt.
[[noreturn]] void io_thread_down(const caf::error& e) {
  throw std::runtime_error("the commit I/O thread went down (" + to_status(e).to_string() + ")");
}

/// Calls store::recover on the I/O thread: it blocks (DB::Resume flushes the
/// memtables), and it must not run during a commit, so no round starts
/// until it answers.
void recover_on_io(committer_pointer self) {
  auto& s = self->state;
  s.recovering = true;
  self->request(io_thread(self), caf::infinite, std::make_shared<recover_job>())
      .then(
          [self](std::shared_ptr<recover_job>& done) {
            auto& st = self->state;
            st.recovering = false;
            if (done->thrown) std::rethrow_exception(done->thrown);
            on_recovered(self, done->st);
            if (st.queue->queued_parts() > 0) commit_round(self);
          },
          [](caf::error& e) { io_thread_down(e); });
}

/// Hands `job` to the I/O thread and settles it when it comes back.
void offload(committer_pointer self, std::shared_ptr<commit_job> job) {
  auto& s = self->state;
  ++s.stats.offloaded_rounds;
  s.writing = true;
  // Untimed: the I/O thread answers every round; the manager's deadlines
  // cover a stuck one.
  self->request(io_thread(self), caf::infinite, std::move(job))
      .then(
          [self](std::shared_ptr<commit_job>& done) {
            auto& st = self->state;
            st.writing = false;
            if (done->thrown) std::rethrow_exception(done->thrown);
            if (!st.path.is_slow(done->took, done->ops)) st.slow_mode = false;
            settle(self, *done);
            answer_and_count(self);
            gather_or_commit(self, *done);
          },
          [](caf::error& e) { io_thread_down(e); });
}

void commit_round(committer_pointer self) {
  auto& s = self->state;
  // The next round starts when the I/O thread's round or recovery is back.
  if (s.writing || s.recovering || s.stopping) return;
  if (s.gathering) {
    if (s.queue->queued_ops() < s.gather_ops) return;  // the timer ends it
    s.gathering = false;
  }
  if (auto job = prepare_round(self)) {
    if (s.hooks) s.hooks->on_commit();
    if (!s.path.inline_commits || s.slow_mode ||
        !write_round(*s.backend, *s.gate, s.hooks.get(), *job, false))
      return offload(self, std::move(job));
    if (s.path.is_slow(job->took, job->ops)) {
      s.slow_mode = true;
      ++s.stats.slow_rounds;
    }
    settle(self, *job);
  }
  answer_and_count(self);
}

void maybe_commit(committer_pointer self) {
  auto& s = self->state;
  if (self->mailbox().empty() || s.queue->queued_ops() >= s.round_ops_limit) commit_round(self);
}

void arm_sweep(committer_pointer self) {
  auto& s = self->state;
  if (!s.sweep_armed && s.queue->has_incomplete()) {
    s.sweep_armed = true;
    self->delayed_send(self, sweep_period, sweep_atom::value);
  }
}

}  // namespace

committer_actor::behavior_type committer(
    committer_pointer self, std::shared_ptr<store> backend, size_t spaces, uint64_t min_g,
    supervisor_options sup, token_options tok, recovery_options recovery, size_t round_ops_limit,
    commit_path path, std::shared_ptr<commit_gate> gate, std::shared_ptr<settled_box> settled,
    manager_actor manager, std::shared_ptr<fault_hooks> hooks) {
  auto& s = self->state;
  s.manager = std::move(manager);
  s.settled = std::move(settled);
  s.path = path;
  s.gate = std::move(gate);
  s.era = s.gate->open_era();
  s.backend = std::move(backend);
  s.queue = std::make_unique<commit_queue>(spaces, min_g);
  s.tokens = std::make_unique<token_index>(tok.retain_count, tok.retain_age);
  s.sup = sup;
  s.round_ops_limit = round_ops_limit;
  s.recovery = recovery;
  s.hooks = std::move(hooks);
  // Whatever throws, in any handler: answer everything waiting, then end (CAF
  // 0.17 ends an actor whose handler threw). The manager restarts the actor.
  self->set_exception_handler([self](std::exception_ptr& eptr) -> caf::error {
    auto err = exception_to_error(eptr);
    fail_everything(self, make_error(errc::in_doubt,
                                     "commit actor crashed (" + to_status(err).context() + ")"));
    return err;
  });
  // Told to exit (the manager drains or replaces it) while the I/O thread
  // writes: wait for that write, so that the manager, which closes the store
  // or opens a successor once this actor is down, sees no write after it.
  // It lets go of the store before it goes down, and so does the I/O thread.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& st = self->state;
    if (!m.reason || st.stopping) return;
    if (!st.io) {
      st.backend.reset();
      self->quit(m.reason);
      return;
    }
    st.stopping = true;
    st.stop_reason = m.reason;
    self->monitor(st.io);
    self->send_exit(st.io, m.reason);
  });
  self->set_down_handler([self](caf::down_msg& d) {
    auto& st = self->state;
    if (!st.stopping || d.source != st.io.address()) return;
    st.backend.reset();
    self->quit(st.stop_reason);
  });
  load_tokens(self);
  arm_recovery(self);
  return {
      [self](sealed_batch& sb) {
        auto& st = self->state;
        if (sb.tail)
          for (auto& p : sb.tail->take()) sb.parts.push_back(std::move(p));
        committer_state::waiting_batch w{caf::actor_cast<writer_actor>(self->current_sender()),
                                         sb.id,
                                         std::move(sb.answers),
                                         sb.space,
                                         {},
                                         false};
        for (auto& p : sb.parts)
          if (p.reply) w.replies.emplace_back(p.g, std::move(p.reply));
        w.quiet = sb.quiet && sb.parts.size() == 1 && w.replies.size() == 1;
        auto t = st.queue->add(sb.space, std::move(sb.parts), commit_queue::clock::now());
        st.waiting.emplace(t, std::move(w));
        arm_sweep(self);
        maybe_commit(self);
        answer_ready(self);
      },
      [self](abort_space& a) {
        self->state.queue->abort_space(a.space, a.up_to_g);
        commit_round(self);
      },
      [self](recover_atom, bool from_timer) { on_recover(self, from_timer); },
      [self](gather_atom, uint64_t epoch) {
        auto& st = self->state;
        if (!st.gathering || epoch != st.gather_epoch) return;
        st.gathering = false;
        commit_round(self);
      },
      [self](sweep_atom) {
        auto& st = self->state;
        st.sweep_armed = false;
        auto now = commit_queue::clock::now();
        st.queue->abort_stalled(now, st.sup.stall_abort);
        st.queue->prune_aborted(now, 2 * st.sup.internal_timeout);
        arm_sweep(self);
        commit_round(self);
      },
      [self](stats_request) -> committer_stats {
        maybe_commit(self);
        return self->state.stats;
      },
      [self](fence_request) -> caf::result<commit_ack> {
        auto& st = self->state;
        auto rp = self->make_response_promise<commit_ack>();
        st.fences.emplace_back(st.queue->last_token(), rp);
        commit_round(self);
        return rp;
      },
      [self](outcome_request& req) -> outcome_reply {
        return self->state.tokens->outcome(req.token, req.not_before_seq);
      },
  };
}

}  // namespace vstore
