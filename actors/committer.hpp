#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>

#include "actors/commit_queue.hpp"
#include "actors/fault_hooks.hpp"
#include "actors/token_index.hpp"
#include "messages/protocol.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// How the commit actor retries a degraded store (store.recovery-backoff and
/// store.recovery-backoff-max).
struct recovery_options {
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds backoff_max{5000};
};

/// The state of the commit actor: the commit queue and the writers' requests
/// waiting for their sealed batches.
struct committer_state {
  std::shared_ptr<store> backend;
  std::unique_ptr<commit_queue> queue;
  std::unordered_map<commit_queue::token, caf::typed_response_promise<sealed_result>> waiting;
  /// Fences waiting until every sealed batch up to their token is answered.
  std::vector<std::pair<commit_queue::token, caf::typed_response_promise<commit_ack>>> fences;
  std::unique_ptr<token_index> tokens;
  /// Token records to delete in the next commit (forgotten by retention).
  std::vector<std::string> forgotten;
  bool forgotten_dirty = false;
  supervisor_options sup;
  size_t round_ops_limit = 0;
  bool sweep_armed = false;
  recovery_options recovery;
  /// Whether the recovery timer runs (only while the store is not ok).
  bool recovery_armed = false;
  /// The delay before the next recovery attempt, and when it is due.
  std::chrono::milliseconds recovery_delay{0};
  std::chrono::steady_clock::time_point next_recovery;
  committer_stats stats;
  std::shared_ptr<fault_hooks> hooks;
  static inline const char* name = "vstore.committer";
};

using committer_pointer = committer_actor::stateful_pointer<committer_state>;

/// The commit actor, the only caller of store::commit. It queues the writers'
/// sealed batches and, when its mailbox runs dry or a round reaches
/// `round_ops_limit` operations, commits everything below the watermark (see
/// commit_queue) with ONE backend commit, then answers every sealed batch whose
/// parts are all finished. Batches numbered below `min_g` belong to an earlier
/// commit actor and are answered as aborted. A multi-space batch missing a part
/// for longer than sup.stall_abort is aborted (a sweep timer runs only while
/// such batches exist).
///
/// Idempotency: the part that carries a token is committed together with the
/// token's record in the system space; a batch whose token already committed
/// (remembered in its token_index, rebuilt from the backend at start) is left
/// out of the commit and answered as a duplicate with the original sequence
/// number. Whatever throws, every waiting sealed batch is answered (in doubt)
/// before the actor ends.
///
/// Health: while the store is not ok (store::state) a round is refused
/// without writing (its batches answered not applied with the store's code),
/// and a timer tries store::recover after `recovery.backoff`, doubling up to
/// `recovery.backoff_max`, until the store is ok again.
committer_actor::behavior_type committer(committer_pointer self, std::shared_ptr<store> backend,
                                         size_t spaces, uint64_t min_g, supervisor_options sup,
                                         token_options tok, recovery_options recovery,
                                         size_t round_ops_limit,
                                         std::shared_ptr<fault_hooks> hooks);

}  // namespace vstore
