#include "actors/committer.hpp"

#include <caf/all.hpp>

#include "actors/exceptions.hpp"

namespace vstore {

namespace {

/// The sweep period while incomplete multi-space batches exist. Short on
/// purpose: ~actor_system waits for pending delayed messages.
constexpr auto sweep_period = std::chrono::milliseconds(100);

void answer_ready(committer_pointer self) {
  auto& s = self->state;
  for (auto& r : s.queue->take_ready()) {
    auto i = s.waiting.find(r.tok);
    if (i == s.waiting.end()) continue;
    i->second.deliver(std::move(r.result));
    s.waiting.erase(i);
  }
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

/// Answers every waiting sealed batch with `err` and ends the actor: after a
/// crash no promise may stay undelivered (CAF 0.17 has no broken promise).
void fail_everything(committer_pointer self, const caf::error& err) {
  auto& s = self->state;
  for (auto& kv : s.waiting) kv.second.deliver(err);
  s.waiting.clear();
  self->quit(err);
}

void commit_round_unguarded(committer_pointer self);

void commit_round(committer_pointer self) {
  try {
    commit_round_unguarded(self);
  } catch (const std::exception& e) {
    fail_everything(self,
                    make_error(errc::internal, std::string{"commit actor crashed: "} + e.what()));
  } catch (...) {
    fail_everything(self, make_error(errc::internal, "commit actor crashed"));
  }
}

void commit_round_unguarded(committer_pointer self) {
  auto& s = self->state;
  auto round = s.queue->take_round();
  if (!round.empty()) {
    if (s.hooks) s.hooks->on_commit();
    auto batch = s.backend->make_batch();
    size_t ops = 0;
    for (const auto& rp : round) {
      apply(*batch, rp.space, rp.part.ops);
      ops += rp.part.ops.size();
    }
    uint64_t seq = 0;
    auto st = s.backend->commit(*batch, seq);
    ++s.stats.rounds;
    s.stats.round_ops += ops;
    s.queue->finish_round(round, st, seq);
  }
  s.stats.aborted_batches = s.queue->aborted_total();
  answer_ready(self);
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

committer_actor::behavior_type committer(committer_pointer self, std::shared_ptr<store> backend,
                                         size_t spaces, uint64_t min_g, supervisor_options sup,
                                         size_t round_ops_limit,
                                         std::shared_ptr<fault_hooks> hooks) {
  auto& s = self->state;
  s.backend = std::move(backend);
  s.queue = std::make_unique<commit_queue>(spaces, min_g);
  s.sup = sup;
  s.round_ops_limit = round_ops_limit;
  s.hooks = std::move(hooks);
  self->set_exception_handler(exception_to_error);
  return {
      [self](sealed_batch& sb) -> caf::result<sealed_result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<sealed_result>();
        auto tok = st.queue->add(sb.space, std::move(sb.parts), commit_queue::clock::now());
        st.waiting.emplace(tok, rp);
        arm_sweep(self);
        maybe_commit(self);
        answer_ready(self);
        return rp;
      },
      [self](abort_space& a) {
        self->state.queue->abort_space(a.space, a.up_to_g);
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
  };
}

}  // namespace vstore
