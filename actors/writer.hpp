#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "actors/fault_hooks.hpp"
#include "actors/handoff_box.hpp"
#include "messages/protocol.hpp"
#include "messages/sealed_tail.hpp"
#include "vstore/options.hpp"

namespace vstore {

/// A write whose reply the writer owns, waiting for its batch to commit.
struct waiting_owner {
  uint64_t g;
  /// The manager's id of the write (owned_part::id).
  uint64_t id;
  std::chrono::steady_clock::time_point since;
  /// Whether its part carries a write_reply: the commit actor then
  /// acknowledges it, and tells the manager, itself once it committed.
  bool acked_by_committer = false;
};

/// The state of a writer: its open batch and the commands waiting for commits.
struct writer_state {
  space_id space = 0;
  writer_options opts;
  committer_actor committer;
  /// Where the answers for owned writes go (one written_parts per batch).
  manager_actor manager;
  std::shared_ptr<fault_hooks> hooks;
  /// The open batch: parts in g order, their operation and byte counts.
  std::vector<batch_part> open;
  std::vector<waiting_owner> owners;
  size_t open_bytes = 0;
  std::chrono::steady_clock::time_point open_since;
  /// Incremented at every seal; an age timer for an older epoch is stale.
  uint64_t epoch = 0;
  bool timer_armed = false;
  /// A sealed batch sent to a commit actor and not answered yet: the writes
  /// it owns, and that commit actor (its going down answers them in doubt).
  struct sent_batch {
    std::shared_ptr<std::vector<waiting_owner>> owners;
    caf::actor_addr committer;
  };
  std::map<uint64_t, sent_batch> outstanding;
  /// Where the commit actors put their answers to this writer's sealed
  /// batches (handoff_box.hpp): taken at the start of every handler, with a
  /// wake-up (answers_atom) for every answer but a quiet batch's clean
  /// commit (sealed_batch::quiet), and for that one too while a flush waits.
  std::shared_ptr<answer_box> answers = std::make_shared<answer_box>();
  bool answers_wake = false;
  uint64_t next_seal = 1;
  /// The last sealed batch, while the committer may not have taken it: a
  /// flush joins it there (sealed_tail) instead of sending a new one. Its
  /// number, owners, and the commands and bytes it holds with what joined.
  struct joinable {
    std::shared_ptr<sealed_tail> tail;
    uint64_t id = 0;
    std::shared_ptr<std::vector<waiting_owner>> owners;
    size_t commands = 0;
    size_t bytes = 0;
  };
  joinable last;
  /// A flush request waiting until every batch sealed up to `upto` is
  /// answered; `err` is the first failure among them.
  struct flush_waiter {
    uint64_t upto;
    caf::typed_response_promise<commit_ack> rp;
    caf::error err;
  };
  std::vector<flush_waiter> flush_waiters;
  uint64_t last_seq = 0;
  space_stats stats;
  static inline const char* name = "vstore.writer";
};

using writer_pointer = writer_actor::stateful_pointer<writer_state>;

/// The single writer of one space: the owner of its command stream. It groups
/// parts into a batch and seals it (sends it to the committer) when the batch
/// reaches opts.max_batch_commands commands or opts.max_batch_bytes bytes, when
/// its oldest command has waited opts.max_delay, when a command asks flush_now,
/// when a flush arrives, or when its mailbox runs dry (checked in every
/// handler). A batch it seals while its last
/// sealed batch still waits in the committer's mailbox joins that one (its
/// sealed_tail), within the same size limits, and is committed in the same
/// round it would have been as a batch of its own. It sends sealed batches
/// one-way; the committer puts its answers in the writer's answer box
/// (writer_state::answers), which the writer takes at the start of every
/// handler, and wakes it (answers_atom) for every answer but a quiet batch's
/// clean commit (one write with its own reply, sealed with nothing else in
/// flight: a sequential commit; see sealed_batch::quiet), and for that one
/// too while a flush waits. The wake-up for a burst's batch is what lets the
/// next burst's parts gather in the mailbox behind it (group commit). A
/// committer that goes down (the writer monitors
/// it) leaves the batches it did not answer in doubt; until the manager
/// sends its replacement, a batch sealed meanwhile is answered in doubt too.
/// Once the committer
/// answered a batch the writer answers the manager for every owned write in
/// it that the committer did not acknowledge itself (see write_reply), in one
/// written_parts message: committed (a duplicate token: the original commit),
/// errc::aborted for a batch the committer aborted (never applied), a refusal
/// code for one the store refused unwritten, errc::in_doubt for one whose
/// commit failed or whose committer went down.
/// It sends that message before it answers any flush that covers the batch.
writer_actor::behavior_type writer(writer_pointer self, space_id space, std::string name,
                                   writer_options opts, committer_actor committer,
                                   manager_actor manager, std::shared_ptr<fault_hooks> hooks);

}  // namespace vstore
