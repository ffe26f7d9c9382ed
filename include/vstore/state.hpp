#pragma once

// vstore::state: versioned resources with atomic rollback and pruning, as
// operations of the store (docs/state.md). A state service is an actor over a
// manager (in process, or a remote one from connect_manager) that keeps the
// engine's layout in four spaces of the store:
//
//   data           version (8 bytes BE) ‖ resource id   -> value
//   latest_ptr     resource id                          -> version (8 bytes BE)
//   rollback_ptr   batch (8 bytes BE) ‖ resource id     -> previous version (8 bytes BE; 0 = none)
//   batch_metadata batch (8 bytes BE)                   -> the batch's metadata
//
// A version is the index of the batch that wrote it. A delete at batch d
// leaves latest_ptr = d with no data at d (a tombstone), so that the history
// of a deleted resource can still be walked; pruning drops tombstones that no
// rollback can reach. The service keeps its head (the last applied batch) and
// its pruning floor in batch_metadata under keys that start with eight 0xff
// bytes, so batch index 2^64 - 1 is reserved.
//
// The service must be the only writer of its four spaces (one service per
// set of spaces; several services use several sets). Every operation below is
// one atomic write of the store, or none (a prune: a floor write, then
// bounded deletions); the order of the requests one service receives is the
// order they take effect. A read takes effect when it takes its snapshot: a
// rollback or prune sent after a read waits until the read holds its
// snapshot (not until it is answered), and the read still answers the state
// before them.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "vstore/protocol.hpp"

namespace vstore {

/// A batch index (>= 1; 0 means "none", 2^64 - 1 is reserved).
using batch_index = uint64_t;

/// Where a state service keeps its data, and its bounds.
struct state_options {
  /// The four spaces of the layout above, by name; each must be in the
  /// store's schema.
  std::string data_space = "data";
  std::string latest_space = "latest_ptr";
  std::string rollback_space = "rollback_ptr";
  std::string metadata_space = "batch_metadata";
  /// Bytes of every resource id (the engine uses 32). Default: 32. Range 1..1024.
  uint32_t id_length = 32;
  /// Requests waiting in the service (behind the one write it has in flight,
  /// or behind a rollback or a prune); one more is answered
  /// errc::overloaded. Default: 4096. Range 1..1,000,000.
  uint32_t max_queued = 4096;
  /// Applies merged into one write of the store while the previous write is
  /// in flight (group commit; each batch stays atomic). A group the manager
  /// refuses as too large is written again in halves. Default: 256.
  /// Range 1..10,000.
  uint32_t max_group = 256;
  /// Entries per page when a rollback or a prune reads rollback entries, and
  /// pointers per multi_get before a group's write. A prune reads up to 3 x
  /// page keys of a page in one snapshot_read_request, so with the manager's
  /// limits page <= limits.max-scan-limit and 3 x page <=
  /// limits.max-multi-get (the default fits the default limits; past them a
  /// rollback or prune gets errc::too_large). Default: 1000. Range 1..100,000.
  uint32_t page = 1000;
  /// Reads walking the store at once; each holds one kept snapshot of the
  /// manager (reader.max-snapshots, default 64) while it walks. Further reads
  /// wait in the queue. Default: 16. Range 1..4096.
  uint32_t max_reads = 16;
  /// Resources whose latest committed value the service keeps in memory (it
  /// is their only writer), so that read_latest, read_at at or above that
  /// value's version, and the pointer reads before an apply answer without
  /// the store. A rollback forgets the resources it restores; a write in
  /// doubt forgets all. Each costs its id, its value and ~100 bytes.
  /// Default: 65,536. Range 0..100,000,000 (0: no cache).
  uint32_t cache_resources = 65536;
  /// How long the service waits for the manager's answer to one request
  /// before it treats the request as lost (errc::timeout; a write then in
  /// doubt), and how long it keeps asking what became of a write in doubt.
  /// The requests themselves are untimed: a tick every quarter of this
  /// (1 ms..250 ms) fails those past it, so up to that much later.
  /// Default: 30 s. Range 1 ms..24 h.
  std::chrono::milliseconds request_timeout{30000};
};

/// One write of a batch: `resource` gets `value`, or (remove) is deleted.
struct resource_write {
  std::string resource;
  bool remove = false;
  std::string value;
};

/// Applies batch `index` (> the head): ONE atomic write of its new versions,
/// latest_ptr, rollback_ptr and batch_metadata, and the new head. Pipelined:
/// batch n + 1 may be sent before n is acknowledged; they take effect in the
/// order sent, and reads sent after an apply see its writes even before it
/// is acknowledged. A resource written twice in one batch keeps its last
/// write. Applies that wait while a write is in flight are written together
/// (one atomic write of up to max_group batches). Reply: apply_ack, or
/// - errc::invalid_argument (index not above the head, or reserved; a
///   resource id of the wrong length), errc::too_large (the write exceeds
///   the manager's limits.*), errc::overloaded (max_queued), errc::aborted
///   (an earlier batch of the pipeline failed, so this one was not applied;
///   every apply accepted after a failed one and sent before the next
///   rollback or prune gets it: a pipeline never leaves a gap), or the
///   manager's refusals (shutting_down, unavailable, ...): nothing was
///   applied;
/// - the manager's write errors; the service resolves an in-doubt write
///   with its token (outcome_request, for up to request_timeout) before it
///   answers, so errc::in_doubt means the store could not tell (head in
///   state_info says what became of it once it can). After an in-doubt
///   write the service asks again, then reads its head from the store,
///   before it serves another request; while the store still cannot tell,
///   requests get errc::unavailable (nothing applied).
struct apply_batch {
  batch_index index = 0;
  std::vector<resource_write> writes;
  std::string metadata;
};

/// The batch is committed; `seq` is the store's sequence after it.
struct apply_ack {
  batch_index index = 0;
  uint64_t seq = 0;
};

/// Undoes every batch after `index` in ONE atomic write: each
/// pointer changed after `index` is restored (or deleted when there was
/// none), and those batches' versions, rollback entries and metadata are
/// removed; the head becomes `index`. Waits for the applies sent before it.
/// Reply: rollback_ack, or errc::pruned (`index` below the floor),
/// errc::invalid_argument (`index` above the head), errc::too_large (more
/// pointers to restore than the manager's limits.max-batch-ops allow in one
/// write: raise it), or the manager's write errors (resolved as for
/// apply_batch).
struct rollback_to {
  batch_index index = 0;
};

struct rollback_ack {
  /// The head after the rollback (= the index asked).
  batch_index head = 0;
  /// Batches undone and pointers restored or deleted.
  uint64_t batches_undone = 0;
  uint64_t pointers_restored = 0;
  uint64_t seq = 0;
};

/// Raises the pruning floor to `floor` (<= the head) and deletes what no
/// rollback to, and no read_at of, an index >= floor needs: the versions
/// superseded at or below the floor, the rollback entries of batches <=
/// floor, and tombstones no rollback can reach. The floor is written first,
/// in one write, and survives restarts; the deletions follow in bounded
/// writes (a prune cut short leaves garbage, never a wrong answer, and the
/// next prune finishes it). A floor at or below the current one changes
/// nothing but finishes the deletions of the current floor (after a prune
/// cut short). Waits for the applies sent before it. Reply: prune_ack, or
/// errc::invalid_argument (floor above the head), or the manager's errors
/// while the floor is not written yet; any failure after the floor is
/// written is errc::in_doubt, its context saying that the floor is in place
/// and that another prune_below finishes the deletions.
struct prune_below {
  batch_index floor = 0;
};

struct prune_ack {
  batch_index floor = 0;
  uint64_t versions_deleted = 0;
  uint64_t entries_deleted = 0;
  uint64_t tombstones_deleted = 0;
};

/// The latest value of each resource, including the writes of applies sent
/// before this request and not acknowledged yet; what the store holds is
/// read at one snapshot. Reply: state_values, or errc::invalid_argument (a
/// resource id of the wrong length), errc::too_large (more than the
/// manager's limits.max-multi-get resources), or the manager's read errors.
struct read_latest {
  std::vector<std::string> resources;
};

/// The value of each resource as of batch `index` (after it was applied),
/// read at one snapshot. Reply: state_values, or errc::pruned (`index` below
/// the floor), or the errors of read_latest. An index at or above the head
/// reads the latest values.
struct read_at {
  std::vector<std::string> resources;
  batch_index index = 0;
};

/// found[i] tells whether resources[i] has a value; values[i] is it.
struct state_values {
  std::vector<uint8_t> found;
  std::vector<std::string> values;
};

/// Asks for the service's head and floor. Reply: state_info, at once (while
/// the service reads its head from the store: once it has).
struct state_info_request {};

struct state_info {
  /// The last batch applied (acknowledged or not), and the last one the
  /// store holds for sure.
  batch_index head = 0;
  batch_index committed_head = 0;
  /// The pruning floor: rollbacks and read_at go no lower.
  batch_index floor = 0;
  /// Requests waiting, and whether a write is in flight.
  uint64_t queued = 0;
  bool writing = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_write& x) {
  return f(caf::meta::type_name("vstore::resource_write"), x.resource, x.remove, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, apply_batch& x) {
  return f(caf::meta::type_name("vstore::apply_batch"), x.index, x.writes, x.metadata);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, apply_ack& x) {
  return f(caf::meta::type_name("vstore::apply_ack"), x.index, x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollback_to& x) {
  return f(caf::meta::type_name("vstore::rollback_to"), x.index);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollback_ack& x) {
  return f(caf::meta::type_name("vstore::rollback_ack"), x.head, x.batches_undone,
           x.pointers_restored, x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prune_below& x) {
  return f(caf::meta::type_name("vstore::prune_below"), x.floor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prune_ack& x) {
  return f(caf::meta::type_name("vstore::prune_ack"), x.floor, x.versions_deleted,
           x.entries_deleted, x.tombstones_deleted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_latest& x) {
  return f(caf::meta::type_name("vstore::read_latest"), x.resources);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_at& x) {
  return f(caf::meta::type_name("vstore::read_at"), x.resources, x.index);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_values& x) {
  if constexpr (Inspector::reads_state) {
    std::string flags(x.found.begin(), x.found.end());
    return f(caf::meta::type_name("vstore::state_values"), flags, x.values);
  } else {
    std::string flags;
    auto res = f(caf::meta::type_name("vstore::state_values"), flags, x.values);
    x.found.assign(flags.begin(), flags.end());
    return res;
  }
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_info_request&) {
  return f(caf::meta::type_name("vstore::state_info_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_info& x) {
  return f(caf::meta::type_name("vstore::state_info"), x.head, x.committed_head, x.floor, x.queued,
           x.writing);
}

/// A state service's typed interface.
using state_actor = caf::typed_actor<
    caf::replies_to<apply_batch>::with<apply_ack>, caf::replies_to<rollback_to>::with<rollback_ack>,
    caf::replies_to<prune_below>::with<prune_ack>, caf::replies_to<read_latest>::with<state_values>,
    caf::replies_to<read_at>::with<state_values>,
    caf::replies_to<state_info_request>::with<state_info>>;

/// Registers the state service's message types (call beside
/// configure_actor_system on every node that sends them over the network).
void register_state_types(caf::actor_system_config& cfg);

/// Checks `opts` against `schema` (the store's): the four spaces exist and
/// differ, and every bound is in its range.
status validate(const state_options& opts, const schema& s);

/// Spawns a state service over `manager`, whose store has schema `s`. It
/// reads its head and floor from the store first; requests sent meanwhile
/// wait. On error (validate: errc::invalid_config naming the option; no
/// manager: errc::invalid_argument) nothing is spawned and `out` is
/// unchanged. The
/// service stops with an exit message; it does not stop the manager.
status spawn_state(caf::actor_system& sys, manager_actor manager, const schema& s,
                   state_options opts, state_actor& out);

}  // namespace vstore
