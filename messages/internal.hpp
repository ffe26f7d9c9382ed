#pragma once

// The messages between vstore's own actors (manager, writers, committer) as
// plain structs without CAF, so that the commit logic can be tested without an
// actor system. protocol.hpp gives each an inspect().

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/requests.hpp"

namespace vstore {

class sealed_tail;
class write_reply;

/// The part of write batch `g` that falls into one space, in request order.
struct batch_part {
  /// The batch's sequence number, assigned by the manager (strictly increasing).
  uint64_t g = 0;
  /// The spaces the whole batch touches (bit i = space i).
  uint64_t mask = 0;
  std::vector<write_op> ops;
  bool flush_now = false;
  /// The write's idempotency token; only on the part that carries the reply
  /// (the owner's part), empty on the others and when the write has none.
  std::string token;
  /// The write's reply (actors/write_reply.hpp), also only on the owner's
  /// part: the commit actor acknowledges through it once the write committed.
  /// Not serialized: a batch part never leaves the process.
  std::shared_ptr<write_reply> reply;
};

/// The keys of the point gets and multi_gets of one space that the manager
/// gathered while it was busy (reader.batch-max), read as one multi_get by
/// one cache-only reader; shared with the manager, which answers each read
/// from its slice of the reply (never leaves the process).
struct key_batch {
  std::shared_ptr<const multi_get_request> keys;
};

/// Scans of one space that the manager gathered while it was busy
/// (reader.batch-max), read one after the other by one cache-only reader
/// (never leaves the process).
struct scan_batch {
  std::shared_ptr<const std::vector<scan_request>> scans;
};

/// What each scan of a scan_batch found, in order: its page, or nothing
/// (outcomes[i] empty: it would wait for the disk), or an error.
struct scan_batch_reply {
  std::vector<std::optional<status>> outcomes;
  std::vector<scan_reply> pages;
};

/// A snapshot_read_request on its way to a reader, with the view it reads
/// (never leaves the process). The reader answers the reply with `id` as its
/// snapshot.
struct snapshot_job {
  /// The space whose reader pool serves it: its first item's.
  space_id space = 0;
  std::shared_ptr<const read_view> view;
  /// The store the view reads, held until the read is done.
  std::shared_ptr<const store> owner;
  std::vector<read_item> items;
  /// The kept snapshot's id, 0 when it is not kept.
  uint64_t id = 0;
};

/// The part that carries the client's reply: it goes (one-way) to the writer
/// of the batch's lowest space, which answers the manager in a written_parts
/// once the whole batch is committed.
struct owned_part {
  batch_part part;
  /// The manager's id of the write, echoed in its written_part.
  uint64_t id = 0;
};

/// Any other part of a multi-space batch (one-way).
struct sibling_part {
  batch_part part;
};

template <class T>
class handoff_box;
struct sealed_answer;
/// Where the commit actor puts its answers to one writer's sealed batches
/// (actors/handoff_box.hpp).
using answer_box = handoff_box<sealed_answer>;

/// A writer's sealed batch for the committer (one-way): parts of one space in
/// g order.
struct sealed_batch {
  space_id space = 0;
  std::vector<batch_part> parts;
  /// Where the writer's later flushes join this batch until the committer
  /// takes it (messages/sealed_tail.hpp); may be empty. Not serialized: a
  /// sealed batch never leaves the process, and one without a tail is
  /// complete.
  std::shared_ptr<sealed_tail> tail;
  /// The writer's number of the batch, and where the commit actor puts its
  /// answer (a sealed_answer; not serialized either).
  uint64_t id = 0;
  std::shared_ptr<answer_box> answers;
  /// Sealed while nothing else of the writer's was in flight. If it also
  /// holds one write with its own reply (write_reply) once the commit actor
  /// took its tail, the batch is quiet (a sequential commit): when it commits
  /// cleanly, the commit actor does not wake the writer for its answer, and
  /// the writer takes it at its next message. Every other batch's answer
  /// wakes the writer, as the answer message did: the wake-up then comes
  /// ahead of the next burst's parts, which gather in the writer's mailbox
  /// behind it (group commit).
  bool quiet = false;
};

/// The committer's answer to a sealed batch. Every part not listed in
/// `aborted`, `failed` or `duplicate` is committed (as of sequence number `seq`).
struct sealed_result {
  uint64_t seq = 0;
  /// Parts whose multi-space batch was aborted (a sibling part was lost): not
  /// applied, and never will be.
  std::vector<uint64_t> aborted;
  /// Parts whose backend commit failed with `fail_code`: in doubt (the backend
  /// may have logged the write before it failed).
  std::vector<uint64_t> failed;
  errc fail_code = errc::internal;
  std::string fail_context;
  /// Parts not applied because their token had already committed, with the
  /// sequence number of that earlier commit (duplicate_seq[i] for duplicate[i]).
  std::vector<uint64_t> duplicate;
  std::vector<uint64_t> duplicate_seq;
  /// Parts the store refused before writing anything (degraded: no space, an
  /// I/O error): not applied. Answered with `refuse_code` (errc::no_space,
  /// errc::io_error or errc::unavailable).
  std::vector<uint64_t> refused;
  errc refuse_code = errc::no_space;
  std::string refuse_context;
};

/// The commit actor's answer to the writer's sealed batch `id`: its result,
/// or (`failure` not ok) why the commit actor could not answer it: it went
/// down with the batch, which may have committed (in doubt).
struct sealed_answer {
  uint64_t id = 0;
  sealed_result result;
  status failure;
  /// When the commit actor answered: the writer's latency counters end here,
  /// not when it takes the answer (a quiet batch's, at its next message).
  std::chrono::steady_clock::time_point at{};
};

/// What `r` says of part `g`: the sequence number that acknowledges it (the
/// round's for a committed part, the earlier commit's for a duplicate), or
/// nothing for a part aborted, refused or in doubt. The one place where a
/// sealed result becomes an acknowledgement, for the commit actor and the
/// writer alike.
inline std::optional<uint64_t> committed_seq(const sealed_result& r, uint64_t g) {
  auto in = [g](const std::vector<uint64_t>& xs) {
    return std::find(xs.begin(), xs.end(), g) != xs.end();
  };
  auto dup = std::find(r.duplicate.begin(), r.duplicate.end(), g);
  if (dup != r.duplicate.end())
    return r.duplicate_seq[static_cast<size_t>(dup - r.duplicate.begin())];
  if (in(r.aborted) || in(r.refused) || in(r.failed)) return std::nullopt;
  return r.seq;
}

/// Asks the committer to answer once every sealed batch it received before
/// this message is answered (the manager's fence when it settles writes whose
/// writer went down). Reply: commit_ack with the latest sequence number.
struct fence_request {};

/// Tells the committer that the writer of `space` went down after it was sent
/// parts up to batch `up_to_g`: multi-space batches still missing that part are
/// aborted at once.
struct abort_space {
  space_id space = 0;
  uint64_t up_to_g = 0;
};

/// The commit path's counters.
struct committer_stats {
  uint64_t rounds = 0;
  uint64_t round_ops = 0;
  uint64_t aborted_batches = 0;
  /// Batches not applied because their token had already committed.
  uint64_t duplicates = 0;
  /// Tokens remembered now, and forgotten (by count or age) so far.
  uint64_t tokens = 0;
  uint64_t tokens_forgotten = 0;
  /// Calls of store::recover while the store was not ok.
  uint64_t recovery_attempts = 0;
  /// Rounds written on the commit actor's I/O thread (synced, after a slow
  /// write, or writer.inline-commits = false), and inline writes found slow.
  uint64_t offloaded_rounds = 0;
  uint64_t slow_rounds = 0;
};

}  // namespace vstore
