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
  auto oldest = s.outstanding.empty() ? UINT64_MAX : *s.outstanding.begin();
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

written_part refusal(uint64_t id, errc code, std::string context) {
  return written_part{id, false, 0, code, std::move(context)};
}

/// Answers the manager for the owned writes of a batch the committer answered.
void answer_owners(writer_pointer self, const std::vector<waiting_owner>& owners,
                   const sealed_result& r) {
  auto& s = self->state;
  if (owners.empty()) return;
  auto now = clock_type::now();
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
      record_latency(s.stats, now - o.since);
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
  sealed_batch sb{s.space, std::move(s.open), std::move(tail)};
  s.open.clear();
  s.open_bytes = 0;
  auto id = s.next_seal++;
  s.outstanding.insert(id);
  // Untimed (see storage_manager.cpp): the committer answers every sealed
  // batch, also when it fails; the manager's deadlines cover a stuck one.
  self->request(s.committer, caf::duration{caf::infinite}, std::move(sb))
      .then(
          [self, owners, id](sealed_result& r) {
            auto& st = self->state;
            st.outstanding.erase(id);
            if (st.last.id == id) st.last = writer_state::joinable{};
            if (r.seq > st.last_seq) st.last_seq = r.seq;
            if (!r.failed.empty())
              fail_flushes(self, id, make_error(r.fail_code, "commit failed: " + r.fail_context));
            else if (!r.refused.empty())
              fail_flushes(self, id,
                           make_error(r.refuse_code, "commit refused: " + r.refuse_context));
            answer_owners(self, *owners, r);
            answer_flush_waiters(self);
            maybe_seal(self, false);
          },
          [self, owners, id](caf::error& e) {
            auto& st = self->state;
            st.outstanding.erase(id);
            if (st.last.id == id) st.last = writer_state::joinable{};
            // The commit actor went down: it may have committed the batch
            // before, and it commits nothing after (a new one aborts it).
            auto cause = "commit actor failed (" + to_status(e).to_string() + ")";
            fail_flushes(self, id, make_error(errc::in_doubt, cause));
            answer_owners_in_doubt(self, *owners, cause);
            answer_flush_waiters(self);
            maybe_seal(self, false);
          });
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
  return {
      [self](owned_part& op) {
        auto g = op.part.g;
        bool flush_now = op.part.flush_now;
        bool direct = op.part.reply != nullptr;
        auto now = clock_type::now();
        append(self, std::move(op.part), now);
        self->state.owners.push_back(waiting_owner{g, op.id, now, direct});
        maybe_seal(self, flush_now);
      },
      [self](sibling_part& sp) {
        bool now = sp.part.flush_now;
        append(self, std::move(sp.part), clock_type::now());
        maybe_seal(self, now);
      },
      [self](flush_request) -> caf::result<commit_ack> {
        auto rp = self->make_response_promise<commit_ack>();
        seal(self, flush_reason::explicit_flush);
        self->state.flush_waiters.push_back(
            writer_state::flush_waiter{self->state.next_seal - 1, rp, caf::error{}});
        answer_flush_waiters(self);
        return rp;
      },
      [self](stats_request) -> space_stats {
        maybe_seal(self, false);
        return self->state.stats;
      },
      [self](age_atom, uint64_t epoch) {
        auto& st = self->state;
        st.timer_armed = false;
        if (epoch == st.epoch && !st.open.empty())
          seal(self, flush_reason::age);
        else
          maybe_seal(self, false);
      },
      [self](committer_actor& c) {
        // A batch that joins one sent to the commit actor before this one
        // (until that one's error comes back) is answered in doubt with it.
        self->state.committer = std::move(c);
        maybe_seal(self, false);
      },
  };
}

}  // namespace vstore
