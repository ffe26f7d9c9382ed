#pragma once

// vstore's public actor protocol: the inspect() of every request and reply
// type (vstore/requests.hpp), the StorageManager's typed interface
// (manager_actor), the error conversion, and the one function that registers
// every message type with CAF. Every node (server, remote scheduler, CLI)
// calls register_types() on its config. The messages between vstore's own
// actors are internal (messages/protocol.hpp in the source tree).

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/requests.hpp"

CAF_ERROR_CODE_ENUM(vstore::errc, "vstore")

namespace vstore {

// -- inspect() of the public request and reply types -------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_value& x) {
  return f(caf::meta::type_name("vstore::key_value"), x.key, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_request& x) {
  return f(caf::meta::type_name("vstore::get_request"), x.space, x.key, x.min_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_reply& x) {
  return f(caf::meta::type_name("vstore::get_reply"), x.found, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, multi_get_request& x) {
  return f(caf::meta::type_name("vstore::multi_get_request"), x.space, x.keys, x.min_seq);
}
/// `found` travels as a std::string of 0/1 bytes: CAF 0.17 resizes a byte
/// vector to the length a peer announces before it checks the input (a 24-byte
/// payload made the message fuzzer allocate gigabytes), while strings are
/// checked first.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, multi_get_reply& x) {
  if constexpr (Inspector::reads_state) {
    std::string flags(x.found.begin(), x.found.end());
    return f(caf::meta::type_name("vstore::multi_get_reply"), flags, x.values);
  } else {
    std::string flags;
    auto res = f(caf::meta::type_name("vstore::multi_get_reply"), flags, x.values);
    x.found.assign(flags.begin(), flags.end());
    return res;
  }
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_request& x) {
  return f(caf::meta::type_name("vstore::scan_request"), x.space, x.prefix, x.start_after, x.limit,
           x.min_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_reply& x) {
  return f(caf::meta::type_name("vstore::scan_reply"), x.entries, x.more);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_op& x) {
  return f(caf::meta::type_name("vstore::write_op"), x.kind, x.space, x.key, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_request& x) {
  return f(caf::meta::type_name("vstore::write_request"), x.ops, x.flush_now, x.token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome_request& x) {
  return f(caf::meta::type_name("vstore::outcome_request"), x.token, x.not_before_seq, x.wait_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome_reply& x) {
  return f(caf::meta::type_name("vstore::outcome_reply"), x.state, x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_ack& x) {
  return f(caf::meta::type_name("vstore::commit_ack"), x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stats_request&) {
  return f(caf::meta::type_name("vstore::stats_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flush_request&) {
  return f(caf::meta::type_name("vstore::flush_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_request&) {
  return f(caf::meta::type_name("vstore::status_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_request&) {
  return f(caf::meta::type_name("vstore::drain_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_reply& x) {
  return f(caf::meta::type_name("vstore::drain_reply"), x.answered, x.cut_off);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_request& x) {
  return f(caf::meta::type_name("vstore::checkpoint_request"), x.dir);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_reply& x) {
  return f(caf::meta::type_name("vstore::checkpoint_reply"), x.dir, x.sequence, x.files, x.bytes,
           x.elapsed_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, space_stats& x) {
  return f(caf::meta::type_name("vstore::space_stats"), x.name, x.state, x.reads_queued,
           x.writes_queued, x.reads, x.writes, x.reads_batched, x.commits, x.ops, x.bytes,
           x.flushes, x.latency_us, x.latency_sum_us, x.restarts, x.errors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_report& x) {
  return f(caf::meta::type_name("vstore::health_report"), x.state, x.code, x.message,
           x.since_unix_ms, x.recoveries, x.recovery_attempts, x.free_bytes, x.writes_in_flight,
           x.oldest_write_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stats_reply& x) {
  return f(caf::meta::type_name("vstore::stats_reply"), x.spaces, x.rounds, x.round_ops,
           x.aborted_batches, x.committer_restarts, x.duplicates, x.tokens, x.tokens_forgotten,
           x.writes_not_applied, x.writes_in_doubt, x.health, x.checkpoints, x.rounds_offloaded,
           x.slow_rounds, x.replication);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_view& x) {
  return f(caf::meta::type_name("vstore::replica_view"), x.primary, x.state, x.applied_seq,
           x.primary_seq, x.lag_seq, x.lag_ms, x.last_contact_ms, x.batches, x.bytes, x.reconnects,
           x.resyncs, x.last_error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_seen& x) {
  return f(caf::meta::type_name("vstore::replica_seen"), x.node, x.applied_seq, x.last_seen_ms,
           x.bytes_sent);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replication_status& x) {
  return f(caf::meta::type_name("vstore::replication_status"), x.role, x.replica, x.replicas,
           x.snapshots, x.epoch, x.superseded_by);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_reply& x) {
  return f(caf::meta::type_name("vstore::status_reply"), x.backend, x.spaces, x.states,
           x.shutting_down, x.uptime_ms, x.sequence, x.health, x.replication);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_item& x) {
  return f(caf::meta::type_name("vstore::read_item"), x.space, x.scan, x.key, x.start_after,
           x.limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_result& x) {
  return f(caf::meta::type_name("vstore::read_result"), x.found, x.value, x.entries, x.more);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_read_request& x) {
  return f(caf::meta::type_name("vstore::snapshot_read_request"), x.items, x.snapshot, x.keep,
           x.min_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_read_reply& x) {
  return f(caf::meta::type_name("vstore::snapshot_read_reply"), x.results, x.seq, x.snapshot);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_batch& x) {
  return f(caf::meta::type_name("vstore::log_batch"), x.seq, x.count, x.data);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_request& x) {
  return f(caf::meta::type_name("vstore::log_request"), x.from_seq, x.max_bytes, x.wait_ms,
           x.replica, x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_reply& x) {
  return f(caf::meta::type_name("vstore::log_reply"), x.batches, x.latest);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_request&) {
  return f(caf::meta::type_name("vstore::snapshot_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_file& x) {
  return f(caf::meta::type_name("vstore::snapshot_file"), x.name, x.size);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_reply& x) {
  return f(caf::meta::type_name("vstore::snapshot_reply"), x.id, x.sequence, x.files, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk_request& x) {
  return f(caf::meta::type_name("vstore::chunk_request"), x.id, x.name, x.offset, x.max_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk_reply& x) {
  return f(caf::meta::type_name("vstore::chunk_reply"), x.data);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_release& x) {
  return f(caf::meta::type_name("vstore::snapshot_release"), x.id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_reply& x) {
  return f(caf::meta::type_name("vstore::release_reply"), x.released);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, promote_request&) {
  return f(caf::meta::type_name("vstore::promote_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, promote_reply& x) {
  return f(caf::meta::type_name("vstore::promote_reply"), x.epoch, x.applied_seq, x.sequence);
}

// -- the manager's internal message ---------------------------------------------

/// The answer of a space's writer for one write whose reply it owned (see
/// written_parts).
struct written_part {
  /// The manager's id of the write (owned_part::id).
  uint64_t id = 0;
  /// Committed, or a duplicate of a committed token, as of sequence `seq`.
  bool committed = false;
  uint64_t seq = 0;
  /// Otherwise the error the write is answered with (errc::aborted: not
  /// applied; errc::in_doubt; a refusal code: not applied), and why.
  errc code = errc::internal;
  std::string context;
};

/// What the writer of `space` answers, in one message, for the writes it
/// owned in one sealed batch once the commit actor answered it (one message
/// per batch, not one reply per write). Internal: only the manager's own
/// writers send it, and the manager ignores it from any other node.
struct written_parts {
  space_id space = 0;
  std::vector<written_part> parts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, written_part& x) {
  return f(caf::meta::type_name("vstore::written_part"), x.id, x.committed, x.seq, x.code,
           x.context);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, written_parts& x) {
  return f(caf::meta::type_name("vstore::written_parts"), x.space, x.parts);
}

/// The manager's timer: expires overdue requests, and paces a drain.
using tick_atom = caf::atom_constant<caf::atom("vs_tick")>;

/// A read replica's manager's timer: answers the reads it holds for their
/// min_seq once applied (or lagging once their wait ends).
using min_seq_atom = caf::atom_constant<caf::atom("vs_minseq")>;

/// The manager's note to itself to send the point gets and scans waiting in
/// batches (reader.batch-max) to readers.
using read_batch_atom = caf::atom_constant<caf::atom("vs_rbatch")>;

// -- typed actor interfaces ----------------------------------------------------

/// The public API: the StorageManager. Any actor, local or remote, may send
/// these. Every request gets exactly one reply or a vstore error (errc).
using manager_actor =
    caf::typed_actor<caf::replies_to<get_request>::with<get_reply>,
                     caf::replies_to<multi_get_request>::with<multi_get_reply>,
                     caf::replies_to<scan_request>::with<scan_reply>,
                     caf::replies_to<snapshot_read_request>::with<snapshot_read_reply>,
                     caf::replies_to<write_request>::with<commit_ack>,
                     caf::replies_to<flush_request>::with<commit_ack>,
                     caf::replies_to<stats_request>::with<stats_reply>,
                     caf::replies_to<status_request>::with<status_reply>,
                     caf::replies_to<drain_request>::with<drain_reply>,
                     caf::replies_to<outcome_request>::with<outcome_reply>,
                     caf::replies_to<checkpoint_request>::with<checkpoint_reply>,
                     caf::replies_to<log_request>::with<log_reply>,
                     caf::replies_to<snapshot_request>::with<snapshot_reply>,
                     caf::replies_to<chunk_request>::with<chunk_reply>,
                     caf::replies_to<snapshot_release>::with<release_reply>,
                     caf::replies_to<promote_request>::with<promote_reply>,
                     /// The manager's own timers and notes (see tick_atom,
                     /// min_seq_atom, read_batch_atom); harmless if others
                     /// send them.
                     caf::reacts_to<tick_atom>, caf::reacts_to<min_seq_atom>,
                     caf::reacts_to<read_batch_atom>,
                     /// Its writers' answers (ignored from another node).
                     caf::reacts_to<written_parts>>;

// -- errors ---------------------------------------------------------------------

/// Makes a CAF error of category "vstore" carrying `code` and a context text.
caf::error make_error(errc code, std::string context);

/// Converts a failed status to a CAF error (ok gives an empty error).
caf::error to_error(const status& st);

/// Converts any CAF error to a status: vstore errors keep their code; CAF's
/// own (timeouts, dead receivers, lost connections) map to timeout,
/// unavailable or disconnected.
status to_status(const caf::error& e);

/// Registers every message type and the "vstore" error category. Call it on
/// the config of every actor system that talks to vstore, before the system
/// is constructed.
void register_types(caf::actor_system_config& cfg);

}  // namespace vstore
