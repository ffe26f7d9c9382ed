#pragma once

// The messages between vstore's own actors: the inspect() of the internal
// message types (internal.hpp), the internal timers, and the typed interfaces
// of the readers, writers and the commit actor. The public part (requests,
// replies, manager_actor, errors, register_types) is vstore/protocol.hpp.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>

#include "messages/internal.hpp"
#include "vstore/protocol.hpp"

// A snapshot_job holds a read_view, a key_batch and a scan_batch share their
// reads with the manager: they never leave the process, nor does a
// scan_batch_reply.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::snapshot_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::key_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::scan_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::scan_batch_reply)

namespace vstore {

// -- internal messages (defined in internal.hpp) ---------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_part& x) {
  return f(caf::meta::type_name("vstore::batch_part"), x.g, x.mask, x.ops, x.flush_now, x.token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owned_part& x) {
  return f(caf::meta::type_name("vstore::owned_part"), x.part, x.id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sibling_part& x) {
  return f(caf::meta::type_name("vstore::sibling_part"), x.part);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sealed_batch& x) {
  return f(caf::meta::type_name("vstore::sealed_batch"), x.space, x.parts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sealed_result& x) {
  return f(caf::meta::type_name("vstore::sealed_result"), x.seq, x.aborted, x.failed, x.fail_code,
           x.fail_context, x.duplicate, x.duplicate_seq, x.refused, x.refuse_code,
           x.refuse_context);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fence_request&) {
  return f(caf::meta::type_name("vstore::fence_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, abort_space& x) {
  return f(caf::meta::type_name("vstore::abort_space"), x.space, x.up_to_g);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, committer_stats& x) {
  return f(caf::meta::type_name("vstore::committer_stats"), x.rounds, x.round_ops,
           x.aborted_batches, x.duplicates, x.tokens, x.tokens_forgotten, x.recovery_attempts,
           x.offloaded_rounds, x.slow_rounds);
}

/// A writer's timer: seal the open batch if it is still batch `epoch`.
using age_atom = caf::atom_constant<caf::atom("vs_age")>;
/// The committer's timer: abort stalled multi-space batches.
using sweep_atom = caf::atom_constant<caf::atom("vs_sweep")>;
/// The commit actor's recovery timer (true), or the manager's hint that the
/// store is not ok (false): see committer.hpp.
using recover_atom = caf::atom_constant<caf::atom("vs_recov")>;
/// The commit actor's gather timer (see committer.hpp): start the next round
/// of gather epoch N now.
using gather_atom = caf::atom_constant<caf::atom("vs_gathr")>;
/// The commit actor's wake-up for a writer: answers wait in its answer_box.
using answers_atom = caf::atom_constant<caf::atom("vs_answr")>;
// -- typed actor interfaces of the internal actors -----------------------------

/// A reader of one space (only the manager sends to it).
using reader_actor = caf::typed_actor<caf::replies_to<get_request>::with<get_reply>,
                                      caf::replies_to<multi_get_request>::with<multi_get_reply>,
                                      caf::replies_to<scan_request>::with<scan_reply>,
                                      caf::replies_to<snapshot_job>::with<snapshot_read_reply>,
                                      caf::replies_to<key_batch>::with<multi_get_reply>,
                                      caf::replies_to<scan_batch>::with<scan_batch_reply>>;

/// The commit actor: the only caller of store::commit (only writers and the
/// manager send to it).
using committer_actor =
    caf::typed_actor<caf::reacts_to<sealed_batch>, caf::reacts_to<abort_space>,
                     caf::reacts_to<sweep_atom>, caf::reacts_to<recover_atom, bool>,
                     caf::reacts_to<gather_atom, uint64_t>,
                     caf::replies_to<stats_request>::with<committer_stats>,
                     caf::replies_to<fence_request>::with<commit_ack>,
                     caf::replies_to<outcome_request>::with<outcome_reply>>;

/// The writer of one space (only the manager sends to it).
using writer_actor =
    caf::typed_actor<caf::reacts_to<owned_part>, caf::reacts_to<sibling_part>,
                     caf::replies_to<flush_request>::with<commit_ack>,
                     caf::replies_to<stats_request>::with<space_stats>,
                     caf::reacts_to<age_atom, uint64_t>, caf::reacts_to<committer_actor>,
                     caf::reacts_to<answers_atom>>;

}  // namespace vstore
