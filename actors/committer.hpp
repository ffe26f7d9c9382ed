#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>

#include "actors/commit_gate.hpp"
#include "actors/commit_queue.hpp"
#include "actors/fault_hooks.hpp"
#include "actors/handoff_box.hpp"
#include "actors/token_index.hpp"
#include "actors/write_reply.hpp"
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

/// Where the commit actor writes its rounds (writer.inline-commits,
/// writer.slow-commit).
struct commit_path {
  /// Write rounds the store can write without waiting (store::try_commit)
  /// inline, on the commit actor's scheduler thread.
  bool inline_commits = true;
  /// An inline write slower than this, plus slow_per_op for every operation
  /// it held, sends the next rounds to the I/O thread until one there is no
  /// slower. (A big round is slow by its memtable inserts, ~2-3 us each here,
  /// which is work, not waiting: counted as slow, commit_multi's rounds of
  /// ~4,500 operations all went to the I/O thread, 1.1 -> 0.7 of raw.)
  std::chrono::microseconds slow{2000};
  static constexpr std::chrono::microseconds slow_per_op{10};
  /// After a round written on the I/O thread, wait (at most half as long as
  /// it took, at most 1 ms) until the operations it held and those queued
  /// meanwhile are queued before the next round.
  bool gather = true;

  /// Whether a write of `ops` operations that took `took` was slow.
  bool is_slow(std::chrono::steady_clock::duration took, size_t ops) const {
    return took > slow + slow_per_op * static_cast<int64_t>(ops);
  }
};

/// The state of the commit actor: the commit queue and the writers' requests
/// waiting for their sealed batches.
struct committer_state {
  std::shared_ptr<store> backend;
  std::unique_ptr<commit_queue> queue;
  /// A sealed batch waiting for its round: its writer, the writer's number
  /// of it and where the answer goes (sealed_batch), and the replies of the
  /// writes it owns (parts with a write_reply), which this actor
  /// acknowledges itself once they committed.
  struct waiting_batch {
    writer_actor writer;
    uint64_t id = 0;
    std::shared_ptr<answer_box> answers;
    space_id space = 0;
    std::vector<std::pair<uint64_t, std::shared_ptr<write_reply>>> replies;
    /// Sealed with nothing else in flight (sealed_batch::quiet) and one write
    /// with its own reply once its tail was taken: a clean commit of it does
    /// not wake the writer.
    bool quiet = false;
  };
  std::unordered_map<commit_queue::token, waiting_batch> waiting;
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
  /// Told which writes this actor acknowledged, before it acknowledges them:
  /// through `settled`, and woken by an empty written_parts when it asked.
  manager_actor manager;
  std::shared_ptr<settled_box> settled;
  commit_path path;
  /// The manager's gate and this actor's era in it (commit_gate.hpp).
  std::shared_ptr<commit_gate> gate;
  uint64_t era = 0;
  /// The I/O thread (a detached actor, started on first use), and whether
  /// it is writing a round: no other round is prepared until it answers.
  caf::actor io;
  bool writing = false;
  /// Told to exit with an I/O thread: no round starts, and the actor ends
  /// with `stop_reason` once the I/O thread (which may be writing) is down,
  /// so that when the manager sees this actor down nothing writes any more
  /// and nothing holds the store.
  bool stopping = false;
  caf::error stop_reason;
  /// An inline write was slow: write on the I/O thread until one is fast.
  bool slow_mode = false;
  /// store::recover runs on the I/O thread: no round starts meanwhile.
  bool recovering = false;
  /// Gathering after a round on the I/O thread: the next round waits until
  /// `gather_ops` operations are queued or the timer of `gather_epoch` fires.
  bool gathering = false;
  size_t gather_ops = 0;
  uint64_t gather_epoch = 0;
  static inline const char* name = "vstore.committer";
};

using committer_pointer = committer_actor::stateful_pointer<committer_state>;

/// The commit actor, the only caller of store::commit. It queues the writers'
/// sealed batches and, when its mailbox runs dry or a round reaches
/// `round_ops_limit` operations, commits everything below the watermark (see
/// commit_queue) with ONE backend commit, then answers every sealed batch whose
/// parts are all finished: the manager for the batch's committed writes
/// (put in `settled`), then the writer (put in its answer box, with a
/// wake-up unless the batch was quiet and committed cleanly: see
/// sealed_batch::quiet), then their clients (write_reply:
/// straight to the client, not through the writer and the manager). Batches
/// numbered below `min_g` belong to an earlier commit actor and are answered
/// as aborted. A multi-space batch missing a part for longer than
/// sup.stall_abort is aborted (a sweep timer runs only while such batches
/// exist).
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
/// and a timer tries store::recover (on the I/O thread: it blocks, and no
/// round starts meanwhile) after `recovery.backoff`, doubling up to
/// `recovery.backoff_max`, until the store is ok again.
///
/// Where a round is written (commit_path): inline, on the scheduler thread
/// that runs this actor, when the store can write it without waiting
/// (store::try_commit: RocksDB without fsync or write stall), so a
/// sequential commit costs scheduled hops only; otherwise (an fsync, a
/// stall, a store that cannot tell), after an inline write slower than
/// `path.slow`, and with `path.inline_commits` off, on the actor's I/O
/// thread, a detached actor, so that a blocking write holds that thread and
/// not the scheduler. While the I/O thread writes,
/// the actor keeps queueing (the next round is the group commit of all that
/// arrived meanwhile). A synced round answers its writers all at once, and
/// their next writes come back together a few hops later: with
/// `path.gather`, the round after one on the I/O thread waits until the
/// operations it held and those that queued while it ran are all queued again,
/// at most half its duration (so 64 clients with one synced write each fill
/// one fsync, not two alternating halves).
/// Every write runs under `gate` in this actor's era, so
/// a round a dead predecessor handed to its I/O thread never lands after this
/// actor's writes.
committer_actor::behavior_type committer(committer_pointer self, std::shared_ptr<store> backend,
                                         size_t spaces, uint64_t min_g, supervisor_options sup,
                                         token_options tok, recovery_options recovery,
                                         size_t round_ops_limit, commit_path path,
                                         std::shared_ptr<commit_gate> gate,
                                         std::shared_ptr<settled_box> settled,
                                         manager_actor manager, std::shared_ptr<fault_hooks> hooks);

}  // namespace vstore
