#pragma once

// The request and reply types of vstore's protocol as plain structs. They hold
// no CAF types, so code that only builds requests (the blocking client, tools)
// compiles without CAF headers. vstore/protocol.hpp gives each an inspect()
// and defines the typed actor interfaces that carry them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {

// Every request below lists the error replies it can get. Any request can
// also get errc::timeout (its sender's own deadline, or a reader that did not
// answer within supervisor.internal-timeout), errc::disconnected (a remote
// store's connection was lost) and, through vstored's role listeners,
// errc::forbidden. Read errors never change the store; what a write error
// means is write_outcome_of(code) (errc.hpp).

/// The read errors every read request can get:
/// - errc::unknown_space: the space id is not in the schema;
/// - errc::shutting_down: the store is draining;
/// - errc::unavailable: the space failed past its restart limit;
/// - errc::overloaded: reader.max-queued reads of the space are queued;
/// - errc::io_error / errc::corruption and the backend's other codes: the
///   backend read failed;
/// - errc::lagging: the read carries min_seq and the node, a read replica,
///   had not applied the primary's log through it within
///   replication.min-seq-wait (nothing was read).
///
/// Every read may carry `min_seq` (0 = none): the read is answered only once
/// the node holds the primary's state through that sequence number (a
/// commit_ack.seq the caller got). A primary holds every sequence it
/// answered, so there it changes nothing; a read replica holds the read
/// until it has applied that far, which gives read-your-writes on any node.

/// Reads one key. Reply: get_reply, or a read error (above), or
/// errc::empty_key (an empty key), errc::too_large (a key over
/// limits.max-key-size).
struct get_request {
  space_id space = 0;
  std::string key;
  uint64_t min_seq = 0;
};

/// The value of a key, or its absence (found == false; not an error).
struct get_reply {
  bool found = false;
  std::string value;
};

/// Reads several keys of one space with one batched backend read.
/// Reply: multi_get_reply (an empty one for an empty key list), or a read
/// error, or errc::too_large (more than limits.max-multi-get keys, or a key
/// over limits.max-key-size), errc::empty_key (an empty key).
struct multi_get_request {
  space_id space = 0;
  std::vector<std::string> keys;
  uint64_t min_seq = 0;
};

/// found[i] tells whether keys[i] exists; values[i] is its value (empty if not).
struct multi_get_reply {
  std::vector<uint8_t> found;
  std::vector<std::string> values;
};

/// Reads a page of the keys of `space` that start with `prefix`, in ascending
/// order, after `start_after` (empty = from the start), at most `limit` entries
/// (1..limits.max-scan-limit). Reply: scan_reply, or a read error, or
/// errc::invalid_argument (limit 0), errc::too_large (limit over
/// limits.max-scan-limit, or a prefix or start key over
/// limits.max-key-size).
struct scan_request {
  space_id space = 0;
  std::string prefix;
  std::string start_after;
  uint32_t limit = 100;
  uint64_t min_seq = 0;
};

/// One page of a scan. When `more` is true, the next page starts after
/// entries.back().key.
struct scan_reply {
  std::vector<key_value> entries;
  bool more = false;
};

/// The kind of a write operation.
enum class op_kind : uint8_t { put = 1, del = 2, del_range = 3 };

/// One operation of a write: put(key, value), del(key), or del_range(key,
/// value) which removes every key k with key <= k < value.
struct write_op {
  op_kind kind = op_kind::put;
  space_id space = 0;
  std::string key;
  std::string value;
};

/// An atomic write over one or more state spaces: applied all or nothing,
/// visible at once, ordered after every write to the same spaces that the
/// manager received earlier. With flush_now, the writers commit at once
/// instead of waiting for more writes to group. Reply: commit_ack, or an errc
/// whose write_outcome_of() tells whether the write was applied:
/// - refused before admission, nothing applied: errc::invalid_argument (no
///   operations; a del_range whose end is not greater than its begin; an
///   unknown operation kind), errc::unknown_space, errc::empty_key,
///   errc::too_large (key, value, token, operation count or batch bytes over
///   their limits.* bound), errc::shutting_down (draining),
///   errc::unavailable (a space failed), errc::overloaded (writer.max-queued
///   writes of a space are queued), errc::no_space / errc::io_error /
///   errc::unavailable (the store is degraded or failed: health in status);
/// - after admission: errc::aborted (certainly not applied), errc::in_doubt,
///   errc::timeout, errc::disconnected (may have been applied: ask
///   outcome_request with the write's token).
struct write_request {
  std::vector<write_op> ops;
  bool flush_now = false;
  /// Idempotency token (empty = none; at most tokens.max-token-size bytes).
  /// The token is committed in the same atomic backend write as the batch. A
  /// write whose token already committed is not applied again: it is answered
  /// with the original commit_ack. Retry an in_doubt write with the same token
  /// and the same operations; outcome_request tells what became of a token.
  /// Tokens are remembered for tokens.retain-count / tokens.retain-age.
  std::string token;

  /// Appends a put.
  write_request& put(space_id s, std::string_view k, std::string_view v) {
    ops.push_back(write_op{op_kind::put, s, std::string{k}, std::string{v}});
    return *this;
  }
  /// Appends a delete.
  write_request& del(space_id s, std::string_view k) {
    ops.push_back(write_op{op_kind::del, s, std::string{k}, {}});
    return *this;
  }
  /// Appends a range delete of [begin, end).
  write_request& del_range(space_id s, std::string_view begin, std::string_view end) {
    ops.push_back(write_op{op_kind::del_range, s, std::string{begin}, std::string{end}});
    return *this;
  }
};

/// Acknowledges a committed write: it is in the backend (RocksDB: in the WAL,
/// fsynced if configured) and visible to every read sent after this reply.
struct commit_ack {
  /// The backend's sequence number after the commit that included the write.
  uint64_t seq = 0;
};

/// Asks what became of the write that carried `token`. Reply: outcome_reply,
/// or errc::invalid_argument (an empty token), errc::too_large (a token over
/// tokens.max-token-size), errc::shutting_down (draining), errc::unavailable
/// (the commit actor is not running), errc::overloaded (reader.max-queued
/// lookups wait for the commit actor).
struct outcome_request {
  std::string token;
  /// A sequence number the store had reached before the write was sent (the
  /// seq of an earlier commit_ack or status_reply; 0 if none is known). A
  /// write sent after it commits above it, so a token the store no longer
  /// remembers is certainly not committed when the store forgot no token
  /// committed above this number.
  uint64_t not_before_seq = 0;
  /// While a write with the token is still pending, wait up to this many
  /// milliseconds for it to settle before answering (0 = answer at once).
  /// Capped at supervisor.internal-timeout.
  uint32_t wait_ms = 0;
};

/// What became of a token's write.
enum class write_state : uint8_t {
  /// Committed as of `seq` (the seq of its original commit_ack).
  committed = 1,
  /// Admitted and its fate is not settled yet (queued, being committed, or its
  /// backend commit failed and only a reopen of the store settles it). Ask again.
  pending,
  /// Not committed, and it never will be (nothing admitted with this token is
  /// left anywhere). Retrying is safe.
  not_committed,
  /// The store does not remember the token any more (tokens.retain-count or
  /// retain-age forgot it, or not_before_seq is older than what was forgotten):
  /// read the data to find out.
  unknown,
};

/// Returns the name of a write_state ("committed", ...).
constexpr const char* to_name(write_state x) noexcept {
  switch (x) {
    case write_state::committed:
      return "committed";
    case write_state::pending:
      return "pending";
    case write_state::not_committed:
      return "not_committed";
    case write_state::unknown:
      return "unknown";
  }
  return "?";
}

/// The answer to an outcome_request.
struct outcome_reply {
  write_state state = write_state::unknown;
  /// With committed: the commit's sequence number; otherwise 0.
  uint64_t seq = 0;
};

/// Asks for the counters of every state space. Reply: stats_reply (never an
/// error of its own).
struct stats_request {};

/// Commits every open batch now. Reply: commit_ack once it is committed, or
/// the error of a commit that failed (the writes it held were answered
/// in_doubt), or errc::overloaded (writer.max-queued flushes in flight).
struct flush_request {};

/// Asks for the manager's state. Reply: status_reply (never an error of its
/// own).
struct status_request {};

/// Stops accepting work, commits open batches, answers every queued request,
/// closes the backend, then replies with drain_reply and the manager quits.
/// Past supervisor.shutdown-grace the requests still queued are answered
/// (reads shutting_down, writes in_doubt) and the children are stopped, but
/// the reply still waits for a write the disk holds, so that the store is
/// closed when it arrives (a running checkpoint excepted: see
/// checkpoint_request).
/// Never an error of its own (a second drain gets the same reply); over a
/// vstored listener without the admin role, errc::forbidden.
struct drain_request {};

/// Writes a consistent point-in-time copy of the store (a RocksDB checkpoint)
/// to `dir` on the SERVER's file system, while the store keeps serving reads
/// and writes. SST files are hard-linked when `dir` is on the data
/// directory's file system, copied otherwise; the live WAL is copied. The copy
/// opens as a store of its own (vstored --data-dir DIR). It runs on a thread
/// of its own, never on the manager's or the commit actor's, and may take
/// seconds (it flushes the memtables first). At most one runs at a time.
/// Reply: checkpoint_reply once the copy is complete, or:
/// - errc::invalid_argument: `dir` is empty or relative, already exists, or
///   its parent directory does not exist (nothing was written);
/// - errc::not_supported: the backend keeps nothing on disk (memory);
/// - errc::overloaded: another checkpoint is running; retry when it ended;
/// - errc::forbidden: sent over a vstored listener whose role is not admin;
/// - errc::shutting_down: the store is draining (refused; or the shutdown
///   grace period ran out while the checkpoint ran: it goes on, the store
///   closes after it, and `dir` appears only if it completes);
/// - errc::timeout: not finished within the server's bound (1 hour); it may
///   still complete;
/// - errc::io_error, errc::no_space, errc::unavailable and the backend's
///   other codes: the copy failed; RocksDB builds it in `dir`.tmp and renames
///   it only when complete, so `dir` does not exist after a failure.
struct checkpoint_request {
  /// An absolute path that does not exist yet; its parent must exist.
  std::string dir;
};

/// A checkpoint written.
struct checkpoint_reply {
  /// The directory written (as the server normalised it).
  std::string dir;
  /// The store's sequence number when the checkpoint began: every commit up
  /// to it (every write acknowledged before the request was sent) is in the
  /// copy; commits made while it ran may be in it too.
  uint64_t sequence = 0;
  /// Regular files in the copy and their total size in bytes (hard-linked
  /// files count in full, although they take no extra space).
  uint64_t files = 0;
  uint64_t bytes = 0;
  /// How long the checkpoint took on the server, in milliseconds.
  uint64_t elapsed_ms = 0;
};

// -- snapshot reads --------------------------------------------------------------

/// One read of a snapshot_read_request: a key (`scan` false) or one page of
/// the keys that start with `key` (`scan` true: the prefix; the page starts
/// after `start_after` and holds at most `limit` entries, as scan_request).
struct read_item {
  space_id space = 0;
  bool scan = false;
  std::string key;
  std::string start_after;
  uint32_t limit = 0;

  /// A get of `k` in `s`.
  static read_item get(space_id s, std::string_view k) {
    return read_item{s, false, std::string{k}, {}, 0};
  }
  /// A page of at most `n` keys of `s` with prefix `p`, after `after`.
  static read_item page(space_id s, std::string_view p, uint32_t n, std::string_view after = {}) {
    return read_item{s, true, std::string{p}, std::string{after}, n};
  }
};

/// The answer to one read_item: found and value for a get; entries and more
/// for a page (as scan_reply).
struct read_result {
  bool found = false;
  std::string value;
  std::vector<key_value> entries;
  bool more = false;
};

/// Reads keys and scan pages of any spaces at ONE snapshot of the store:
/// every result reflects the same commits, however many commits run
/// meanwhile, so a multi-space batch is never seen torn. With `keep`, the
/// snapshot stays held for further requests (its id in the reply), for up to
/// reader.snapshot-lease after its last use: several requests (for example
/// the pages of a long scan, or reads that depend on earlier answers) then
/// read the same state. A request naming `snapshot` with keep = false
/// releases it after its reads (items may be empty just to release).
/// Reply: snapshot_read_reply, or a read error (the first item's space
/// chooses the reader pool and its reader.max-queued), or
/// errc::snapshot_expired (`snapshot` is not held: released, expired, or the
/// store restarted), errc::overloaded (reader.max-snapshots are held),
/// errc::too_large (more than limits.max-multi-get items, a limit over
/// limits.max-scan-limit, a key over limits.max-key-size),
/// errc::invalid_argument (no items and no snapshot, a page with limit 0),
/// errc::empty_key (a get of an empty key), errc::not_supported (a backend
/// without snapshots).
struct snapshot_read_request {
  std::vector<read_item> items;
  /// 0: a new snapshot of the store as it is now; else the id of a snapshot
  /// kept by an earlier request.
  uint64_t snapshot = 0;
  /// Keep the snapshot after this request (see above).
  bool keep = false;
  /// As on every read (a new snapshot only): taken once the node holds the
  /// primary's state through this sequence.
  uint64_t min_seq = 0;
};

/// results[i] answers items[i]; `seq` is the store's sequence number at the
/// snapshot; `snapshot` is its id while it is kept (0 once released).
struct snapshot_read_reply {
  std::vector<read_result> results;
  uint64_t seq = 0;
  uint64_t snapshot = 0;
};

// -- replication (docs/replication.md) -----------------------------------------
// A read replica (vstored --follow) copies a snapshot of its primary, then
// asks for its log in order. These requests need the read role on vstored's
// listeners: they reveal every key, as reads do.

/// Asks for the primary's log from `from_seq` on. Reply: log_reply, or
/// errc::resync_needed (the primary no longer keeps that log, or from_seq is
/// past its end), errc::not_supported (the memory backend keeps no log),
/// errc::read_only (the node asked is itself a replica).
struct log_request {
  /// The first sequence number wanted: the replica's applied sequence + 1.
  uint64_t from_seq = 1;
  /// The most bytes of batch data in the reply (at least one batch is sent);
  /// 0 = the primary's replication.max-log-bytes, which also caps it.
  uint64_t max_bytes = 0;
  /// With nothing new, how long the primary may hold the request until a
  /// commit arrives (capped by its replication.poll-wait); 0 = answer at once.
  uint32_t wait_ms = 0;
  /// How the replica names itself in the primary's status (its listen
  /// address, or its data directory); empty = "unnamed".
  std::string replica;
  /// The replica's epoch (replication_status::epoch). An older one than the
  /// primary's is answered resync_needed (the replica followed a primary
  /// that was replaced: its sequence numbers mean nothing here); a newer one
  /// tells the primary it was superseded (it then refuses writes).
  uint64_t epoch = 0;
};

/// A run of the primary's log: whole batches in order, the first starting
/// at the request's from_seq (empty when nothing new arrived in the wait).
struct log_reply {
  std::vector<log_batch> batches;
  /// The primary's latest sequence number when it answered.
  uint64_t latest = 0;
};

/// Asks the primary for a consistent copy of its store to bootstrap a
/// replica from. Reply: snapshot_reply, or errc::not_supported (memory
/// backend), errc::read_only (asked a replica), errc::overloaded (another
/// snapshot is being made), or the backend's error. The primary keeps the
/// copy until snapshot_release or until no chunk was asked for
/// replication.snapshot-idle (then chunk_request answers invalid_argument).
struct snapshot_request {};

/// One file of a snapshot: its path relative to the snapshot and its size.
struct snapshot_file {
  std::string name;
  uint64_t size = 0;
};

/// A snapshot ready to copy.
struct snapshot_reply {
  /// Names the snapshot in chunk_request and snapshot_release.
  uint64_t id = 0;
  /// The exact primary sequence number the copy holds: the replica then asks
  /// for the log from sequence + 1.
  uint64_t sequence = 0;
  std::vector<snapshot_file> files;
  uint64_t bytes = 0;
};

/// Reads bytes [offset, offset + max_bytes) of one file of a snapshot
/// (max_bytes 0 or above replication.chunk-size = chunk-size). Reply:
/// chunk_reply (shorter at the end of the file, empty past it), or
/// errc::invalid_argument (unknown or released snapshot, a name not in it).
struct chunk_request {
  uint64_t id = 0;
  std::string name;
  uint64_t offset = 0;
  uint32_t max_bytes = 0;
};

struct chunk_reply {
  std::string data;
};

/// Tells the primary that the replica has copied snapshot `id`: it deletes
/// the copy. Reply: release_reply (released false when it was unknown).
struct snapshot_release {
  uint64_t id = 0;
};

struct release_reply {
  bool released = false;
};

/// Makes a read replica a primary (docs/replication.md, "Promotion"): it
/// stops following, records epoch + 1 in its store, and accepts writes.
/// Needs the admin role. Reply: promote_reply, or errc::invalid_argument (the
/// node is a primary already), errc::shutting_down, or the backend's error
/// (the epoch could not be written; the node stays a replica that no longer
/// follows).
struct promote_request {};

struct promote_reply {
  /// The node's new epoch.
  uint64_t epoch = 0;
  /// The primary's sequence the node had applied (the end of the old
  /// history) and its own sequence number where its history goes on.
  uint64_t applied_seq = 0;
  uint64_t sequence = 0;
};

/// How a drain ended.
struct drain_reply {
  /// Requests answered during the drain (reads and writes).
  uint64_t answered = 0;
  /// Requests still pending when the grace period ran out: reads answered
  /// errc::shutting_down, writes answered errc::in_doubt.
  uint64_t cut_off = 0;
};

/// Why a writer sealed its open batch.
enum class flush_reason : uint8_t { size = 0, bytes, age, now, dry, explicit_flush, shutdown };
/// The number of flush reasons.
inline constexpr size_t flush_reason_count = 7;

/// Returns the name of a flush reason ("size", "bytes", ...).
constexpr const char* to_name(flush_reason x) noexcept {
  switch (x) {
    case flush_reason::size:
      return "size";
    case flush_reason::bytes:
      return "bytes";
    case flush_reason::age:
      return "age";
    case flush_reason::now:
      return "flush_now";
    case flush_reason::dry:
      return "mailbox_dry";
    case flush_reason::explicit_flush:
      return "flush";
    case flush_reason::shutdown:
      return "shutdown";
  }
  return "?";
}

/// Counters of one state space since the manager started.
struct space_stats {
  std::string name;
  /// "ok" or "unavailable".
  std::string state;
  /// Reads and writes queued right now (admitted, not yet answered).
  uint64_t reads_queued = 0;
  uint64_t writes_queued = 0;
  /// Reads and write commands answered successfully.
  uint64_t reads = 0;
  uint64_t writes = 0;
  /// Point gets and scans sent to a reader in a batch (reader.batch-max)
  /// rather than read alone.
  uint64_t reads_batched = 0;
  /// Sealed batches the writer sent to the committer.
  uint64_t commits = 0;
  /// Operations and key/value bytes the writer flushed.
  uint64_t ops = 0;
  uint64_t bytes = 0;
  /// Flushes per flush_reason (indexed by its value). A flush either sends a
  /// sealed batch (counted in `commits`) or, while the writer's last sealed
  /// batch still waits at the committer, joins that one: the sum of
  /// `flushes` minus `commits` is how many joined.
  std::vector<uint64_t> flushes;
  /// Commit latency of write commands (writer receipt to acknowledgement):
  /// latency_us[i] counts commands that took [2^i, 2^(i+1)) microseconds.
  std::vector<uint64_t> latency_us;
  /// The sum of those commands' latencies, microseconds (the histogram's sum).
  uint64_t latency_sum_us = 0;
  /// Restarts of this space's readers and writer.
  uint64_t restarts = 0;
  /// Errors answered for this space, indexed by errc value.
  std::vector<uint64_t> errors;
};

/// The counters of every space plus the commit path's.
/// The store's health, as status and stats report it.
struct health_report {
  /// "ok", "degraded" (writes refused; reads served; recovers by itself) or
  /// "failed" (writes refused until an operator reopens the store).
  std::string state = "ok";
  /// The code writes are refused with while not ok ("no_space", "io_error",
  /// "unavailable"); empty when ok.
  std::string code;
  /// The last error, naming the data directory (kept after a recovery).
  std::string message;
  /// When the state last changed, in milliseconds since the Unix epoch (0:
  /// never).
  int64_t since_unix_ms = 0;
  /// Times the store returned to ok by itself.
  uint64_t recoveries = 0;
  /// Recovery attempts of the commit actor (store::recover calls).
  uint64_t recovery_attempts = 0;
  /// Free bytes on the data directory's file system (UINT64_MAX: unknown or
  /// not applicable, e.g. the memory backend).
  uint64_t free_bytes = UINT64_MAX;
  /// Writes admitted and not settled (queued, being committed, or answered
  /// in_doubt and still in the pipeline).
  uint64_t writes_in_flight = 0;
  /// How long the oldest of them has been in flight, in milliseconds (0: none).
  /// Growing past a few seconds means the backend is stalled (a write stall,
  /// a hung disk); new writes are then refused overloaded once writer.max-queued
  /// are in flight.
  uint64_t oldest_write_ms = 0;
};

/// A read replica's view of its primary (replication_status::replica).
struct replica_view {
  /// The primary it follows, as configured ("host:port").
  std::string primary;
  /// "connecting", "bootstrapping", "following", "primary down",
  /// "resync needed" (the primary no longer holds the log it needs).
  std::string state;
  /// The primary's sequence number this node has applied through.
  uint64_t applied_seq = 0;
  /// The primary's latest sequence number as last heard, and the lag in
  /// sequence numbers (primary_seq - applied_seq).
  uint64_t primary_seq = 0;
  uint64_t lag_seq = 0;
  /// Milliseconds since the replica last held everything the primary had
  /// (0 = caught up at the last contact).
  uint64_t lag_ms = 0;
  /// Milliseconds since the last answer from the primary.
  uint64_t last_contact_ms = 0;
  /// Log batches and bytes applied since start, reconnects, re-syncs.
  uint64_t batches = 0;
  uint64_t bytes = 0;
  uint64_t reconnects = 0;
  uint64_t resyncs = 0;
  /// The last error from the primary (empty when none).
  std::string last_error;
};

/// A primary's view of one replica that asked for its log recently.
struct replica_seen {
  /// The name the replica gave (log_request::replica).
  std::string node;
  /// The sequence it asked for last, minus one: what it has applied.
  uint64_t applied_seq = 0;
  /// Milliseconds since its last log request.
  uint64_t last_seen_ms = 0;
  /// Log bytes sent to it since this node started.
  uint64_t bytes_sent = 0;
};

/// The replication part of status_reply.
struct replication_status {
  /// "primary" or "replica".
  std::string role = "primary";
  /// On a replica: its view of the primary.
  replica_view replica;
  /// On a primary: replicas seen within the last minute, and snapshots
  /// (bootstrap copies) served since start.
  std::vector<replica_seen> replicas;
  uint64_t snapshots = 0;
  /// The epoch: 0 for a store that was never promoted, + 1 at each
  /// promotion. Replicas carry it from their primary's log.
  uint64_t epoch = 0;
  /// On a primary: a newer epoch heard from a replica (0 = none): another
  /// node was promoted, and this one refuses writes (read_only).
  uint64_t superseded_by = 0;
};

struct stats_reply {
  std::vector<space_stats> spaces;
  /// Backend commits (one DB::Write each) and the operations they held.
  uint64_t rounds = 0;
  uint64_t round_ops = 0;
  /// Of those, the commits written on the commit actor's I/O thread (an
  /// fsync, a stall, after a slow write; writer.inline-commits), and the
  /// inline writes that were slower than writer.slow-commit.
  uint64_t rounds_offloaded = 0;
  uint64_t slow_rounds = 0;
  /// Multi-space batches aborted because a part was lost.
  uint64_t aborted_batches = 0;
  /// Restarts of the commit actor.
  uint64_t committer_restarts = 0;
  /// Writes not applied because their idempotency token had already committed
  /// (answered with the original commit_ack).
  uint64_t duplicates = 0;
  /// Idempotency tokens remembered now, and forgotten so far.
  uint64_t tokens = 0;
  uint64_t tokens_forgotten = 0;
  /// Write errors answered so far by outcome: not applied, and maybe applied
  /// (in_doubt).
  uint64_t writes_not_applied = 0;
  uint64_t writes_in_doubt = 0;
  /// The store's health.
  health_report health;
  /// Checkpoints written since the manager started (checkpoint_request).
  uint64_t checkpoints = 0;
  /// Replication: the same as status_reply::replication.
  replication_status replication = {};
};

/// The manager's state.
struct status_reply {
  /// "rocksdb" or "memory".
  std::string backend;
  /// Space names in id order.
  std::vector<std::string> spaces;
  /// Per space: "ok" or "unavailable".
  std::vector<std::string> states;
  bool shutting_down = false;
  uint64_t uptime_ms = 0;
  /// The backend's latest sequence number.
  uint64_t sequence = 0;
  /// The store's health.
  health_report health;
  /// Replication: this node's role and its view of the other side.
  replication_status replication = {};
};

/// Returns the latency percentile `p` (0..1) of a latency_us histogram, as the
/// upper bound of the bucket holding it, in microseconds (0 if empty).
inline uint64_t latency_percentile(const std::vector<uint64_t>& buckets, double p) {
  uint64_t total = 0;
  for (auto n : buckets) total += n;
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(p * static_cast<double>(total));
  if (rank >= total) rank = total - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen > rank) return uint64_t{2} << i;
  }
  return uint64_t{2} << (buckets.size() - 1);
}

}  // namespace vstore
