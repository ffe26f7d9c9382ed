#include "actors/writer.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/exceptions.hpp"

namespace vstore {

namespace {

using clock_type = std::chrono::steady_clock;

size_t part_bytes(const batch_part& p) {
  size_t n = 0;
  for (const auto& op : p.ops) n += op.key.size() + op.value.size();
  return n;
}

void record_latency(space_stats& st, clock_type::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  st.latency_sum_us += static_cast<uint64_t>(us);
  size_t bucket = 0;
  while (us > 1 && bucket + 1 < st.latency_us.size()) {
    us >>= 1;
    ++bucket;
  }
  ++st.latency_us[bucket];
}

bool contains(const std::vector<uint64_t>& xs, uint64_t g) {
  return std::find(xs.begin(), xs.end(), g) != xs.end();
}

void answer_flush_waiters(writer_pointer self) {
  auto& s = self->state;
  auto oldest = s.outstanding.empty() ? UINT64_MAX : s.outstanding.begin()->first;
  auto& ws = s.flush_waiters;
  auto keep = ws.begin();
  for (auto& w : ws) {
    if (w.upto >= oldest) {
      // Never a self-move: it empties a std::string or std::vector.
      if (&*keep != &w) *keep = std::move(w);
      ++keep;
    } else if (w.err)
      w.rp.deliver(w.err);
    else
      w.rp.deliver(commit_ack{s.last_seq});
  }
  ws.erase(keep, ws.end());
}

/// Records that sealed batch `id` failed: every flush that covers it fails.
void fail_flushes(writer_pointer self, uint64_t id, const caf::error& err) {
  for (auto& w : self->state.flush_waiters)
    if (w.upto >= id && !w.err) w.err = err;
}

void maybe_seal(writer_pointer self, bool flush_now);
void take_answers(writer_pointer self);

written_part refusal(uint64_t id, errc code, std::string context) {
  return written_part{id, false, 0, code, std::move(context)};
}

/// Answers the manager for the owned writes of a batch the committer answered.
void answer_owners(writer_pointer self, const std::vector<waiting_owner>& owners,
                   const sealed_result& r, clock_type::time_point committed_at) {
  auto& s = self->state;
  if (owners.empty()) return;
  written_parts out{s.space, {}};
  out.parts.reserve(owners.size());
  for (const auto& o : owners) {
    // Committed (or a duplicate: its token committed before, and that commit
    // answers it). With a write_reply, the commit actor acknowledged it and
    // told the manager already.
    if (auto seq = committed_seq(r, o.g)) {
      if (!o.acked_by_committer)
        out.parts.push_back(written_part{o.id, true, *seq, errc::internal, {}});
      ++s.stats.writes;
      record_latency(s.stats, committed_at - o.since);
    } else if (contains(r.aborted, o.g)) {
      out.parts.push_back(refusal(o.id, errc::aborted,
                                  "a part of this multi-space batch was lost; "
                                  "nothing of it was applied, and nothing will be"));
    } else if (contains(r.refused, o.g)) {
      out.parts.push_back(
          refusal(o.id, r.refuse_code,
                  "refused before anything was written, nothing was applied: " + r.refuse_context));
    } else {
      out.parts.push_back(refusal(
          o.id, errc::in_doubt,
          std::string{"backend commit failed: "} + to_name(r.fail_code) + ": " + r.fail_context));
    }
  }
  if (!out.parts.empty()) self->send(s.manager, std::move(out));
}

/// Answers the manager for the owned writes of a batch whose committer went
/// down before it answered: in doubt.
void answer_owners_in_doubt(writer_pointer self, const std::vector<waiting_owner>& owners,
                            const std::string& why) {
  if (owners.empty()) return;
  written_parts out{self->state.space, {}};
  out.parts.reserve(owners.size());
  for (const auto& o : owners) out.parts.push_back(refusal(o.id, errc::in_doubt, why));
  self->send(self->state.manager, std::move(out));
}

/// Adds the open batch to the last sealed batch if the committer has not
/// taken that yet and the two stay within the batch limits; returns whether
/// it did.
bool join_last(writer_pointer self) {
  auto& s = self->state;
  auto& last = s.last;
  if (!last.tail || last.commands + s.open.size() > s.opts.max_batch_commands ||
      last.bytes + s.open_bytes > s.opts.max_batch_bytes)
    return false;
  if (!last.tail->join(s.open)) {
    last = writer_state::joinable{};
    return false;
  }
  last.commands += s.open.size();
  last.bytes += s.open_bytes;
  for (auto& o : s.owners) last.owners->push_back(o);
  return true;
}

void seal(writer_pointer self, flush_reason why) {
  auto& s = self->state;
  if (s.open.empty()) return;
  ++s.epoch;
  ++s.stats.flushes[static_cast<size_t>(why)];
  s.stats.bytes += s.open_bytes;
  for (const auto& p : s.open) s.stats.ops += p.ops.size();
  if (join_last(self)) {
    s.owners.clear();
    s.open.clear();
    s.open_bytes = 0;
    return;
  }
  ++s.stats.commits;
  auto owners = std::make_shared<std::vector<waiting_owner>>(std::move(s.owners));
  s.owners.clear();
  auto tail = std::make_shared<sealed_tail>();
  s.last = writer_state::joinable{tail, s.next_seal, owners, s.open.size(), s.open_bytes};
  sealed_batch sb{s.space, std::move(s.open), std::move(tail), 0, nullptr, false};
  s.open.clear();
  s.open_bytes = 0;
  auto id = s.next_seal++;
  if (!s.committer) {
    // No commit actor (the last one went down and its replacement has not
    // arrived, or it keeps failing): answered as a request to it was, in
    // doubt.
    s.last = writer_state::joinable{};
    auto cause = std::string{"no commit actor is running"};
    fail_flushes(self, id, make_error(errc::in_doubt, cause));
    answer_owners_in_doubt(self, *owners, cause);
    return;
  }
  sb.quiet = s.outstanding.empty();
  s.outstanding.emplace(id, writer_state::sent_batch{owners, s.committer.address()});
  sb.id = id;
  sb.answers = s.answers;
  // One-way: the commit actor answers every sealed batch in `answers` (also
  // when it fails); if it goes down first, the down message answers it in
  // doubt (fail_sent_to).
  self->send(s.committer, std::move(sb));
}

/// Handles the commit actor's answer to sealed batch `a.id`.
void on_answer(writer_pointer self, sealed_answer& a) {
  auto& st = self->state;
  auto i = st.outstanding.find(a.id);
  if (i == st.outstanding.end()) return;  // answered in doubt when its commit actor went down
  auto owners = std::move(i->second.owners);
  st.outstanding.erase(i);
  if (st.last.id == a.id) st.last = writer_state::joinable{};
  if (!a.failure) {
    // The commit actor went down: it may have committed the batch before,
    // and it commits nothing after (a new one aborts it).
    auto cause = "commit actor failed (" + a.failure.to_string() + ")";
    fail_flushes(self, a.id, make_error(errc::in_doubt, cause));
    answer_owners_in_doubt(self, *owners, cause);
    return;
  }
  const auto& r = a.result;
  if (r.seq > st.last_seq) st.last_seq = r.seq;
  if (!r.failed.empty())
    fail_flushes(self, a.id, make_error(r.fail_code, "commit failed: " + r.fail_context));
  else if (!r.refused.empty())
    fail_flushes(self, a.id, make_error(r.refuse_code, "commit refused: " + r.refuse_context));
  answer_owners(self, *owners, r, a.at);
}

/// Takes the commit actors' answers (writer_state::answers), then tells the
/// box whether to wake this actor for the next ones: while a flush waits, no
/// message of the writer's own would bring them.
void take_answers(writer_pointer self) {
  auto& st = self->state;
  auto answers = st.answers->take();
  for (auto& a : answers) on_answer(self, a);
  if (!answers.empty()) answer_flush_waiters(self);
  bool wake = !st.flush_waiters.empty();
  if (wake == st.answers_wake) return;
  st.answers_wake = wake;
  // Answers put before the box knew: no wake-up comes for them.
  if (st.answers->wake_on_put(wake)) take_answers(self);
}

/// Answers in doubt the batches sent to commit actor `who`, which went down
/// without answering them (its answers put before are taken first).
void fail_sent_to(writer_pointer self, const caf::actor_addr& who, const caf::error& reason) {
  take_answers(self);
  auto& st = self->state;
  auto cause = "commit actor failed (" + to_status(reason).to_string() + ")";
  for (auto i = st.outstanding.begin(); i != st.outstanding.end();) {
    if (i->second.committer != who) {
      ++i;
      continue;
    }
    auto id = i->first;
    auto owners = std::move(i->second.owners);
    i = st.outstanding.erase(i);
    if (st.last.id == id) st.last = writer_state::joinable{};
    fail_flushes(self, id, make_error(errc::in_doubt, cause));
    answer_owners_in_doubt(self, *owners, cause);
  }
  answer_flush_waiters(self);
}

void maybe_seal(writer_pointer self, bool flush_now) {
  auto& s = self->state;
  if (s.open.empty()) return;
  if (flush_now) return seal(self, flush_reason::now);
  if (s.open.size() >= s.opts.max_batch_commands) return seal(self, flush_reason::size);
  if (s.open_bytes >= s.opts.max_batch_bytes) return seal(self, flush_reason::bytes);
  if (self->mailbox().empty()) return seal(self, flush_reason::dry);
  if (s.opts.max_delay.count() > 0) {
    if (clock_type::now() - s.open_since >= s.opts.max_delay) return seal(self, flush_reason::age);
    if (!s.timer_armed) {
      s.timer_armed = true;
      self->delayed_send(self, s.opts.max_delay, age_atom::value, s.epoch);
    }
  }
}

void append(writer_pointer self, batch_part&& p, clock_type::time_point now) {
  auto& s = self->state;
  if (s.hooks) s.hooks->on_write(s.space);
  if (s.open.empty()) s.open_since = now;
  s.open_bytes += part_bytes(p);
  s.open.push_back(std::move(p));
}

}  // namespace

writer_actor::behavior_type writer(writer_pointer self, space_id space, std::string name,
                                   writer_options opts, committer_actor committer,
                                   manager_actor manager, std::shared_ptr<fault_hooks> hooks) {
  auto& s = self->state;
  s.space = space;
  s.opts = opts;
  s.committer = std::move(committer);
  s.manager = std::move(manager);
  s.hooks = std::move(hooks);
  s.stats.name = std::move(name);
  s.stats.state = "ok";
  s.stats.flushes.assign(flush_reason_count, 0);
  s.stats.latency_us.assign(32, 0);
  s.stats.errors.assign(errc_max + 1, 0);
  self->set_exception_handler(exception_to_error);
  if (s.committer) self->monitor(s.committer);
  self->set_down_handler([self](caf::down_msg& d) {
    // Until the manager sends the replacement, a batch sealed now has no
    // commit actor (a message to the one that went down would be lost).
    if (d.source == self->state.committer.address()) self->state.committer = committer_actor{};
    fail_sent_to(self, d.source, d.reason);
    maybe_seal(self, false);
  });
  // Every handler takes the commit actor's answers first, so that whatever
  // the manager sends after a write's acknowledgement (stats, a flush) finds
  // its batch answered; the flush registers itself before it takes them.
  return {
      [self](owned_part& op) {
        take_answers(self);
        auto g = op.part.g;
        bool flush_now = op.part.flush_now;
        bool direct = op.part.reply != nullptr;
        auto now = clock_type::now();
        append(self, std::move(op.part), now);
        self->state.owners.push_back(waiting_owner{g, op.id, now, direct});
        maybe_seal(self, flush_now);
      },
      [self](sibling_part& sp) {
        take_answers(self);
        bool now = sp.part.flush_now;
        append(self, std::move(sp.part), clock_type::now());
        maybe_seal(self, now);
      },
      [self](flush_request) -> caf::result<commit_ack> {
        // The flush waits before the answers are taken: one in the box may
        // have overtaken it (the commit actor put it after the flush was
        // sent), and if its batch failed, the flush, which covers it, must
        // fail (fail_flushes), as when the answer came after it.
        auto rp = self->make_response_promise<commit_ack>();
        seal(self, flush_reason::explicit_flush);
        self->state.flush_waiters.push_back(
            writer_state::flush_waiter{self->state.next_seal - 1, rp, caf::error{}});
        take_answers(self);  // a flush waits: the box now wakes this actor
        answer_flush_waiters(self);
        return rp;
      },
      [self](stats_request) -> space_stats {
        take_answers(self);
        maybe_seal(self, false);
        return self->state.stats;
      },
      [self](age_atom, uint64_t epoch) {
        take_answers(self);
        auto& st = self->state;
        st.timer_armed = false;
        if (epoch == st.epoch && !st.open.empty())
          seal(self, flush_reason::age);
        else
          maybe_seal(self, false);
      },
      [self](committer_actor& c) {
        // A batch that joins one sent to the commit actor before this one
        // (until that one's down message comes) is answered in doubt with it.
        take_answers(self);
        self->state.committer = std::move(c);
        if (self->state.committer) self->monitor(self->state.committer);
        maybe_seal(self, false);
      },
      [self](answers_atom) {
        take_answers(self);
        maybe_seal(self, false);
      },
  };
}

}  // namespace vstore
