#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/schema.hpp"

namespace vstore {

/// One key and its value.
struct key_value {
  std::string key;
  std::string value;
  friend bool operator==(const key_value& a, const key_value& b) {
    return a.key == b.key && a.value == b.value;
  }
};

/// A page of a prefix iteration.
struct scan_page {
  /// The entries, in ascending key order.
  std::vector<key_value> entries;
  /// True if more entries with the prefix follow the last one returned; pass
  /// entries.back().key as `start_after` to read the next page.
  bool more = false;
};

/// Reads one state space at a time. Implementations are safe to call from many
/// threads at once, also while a commit runs. Every call that takes a space id
/// accepts the ids of the schema and system_space; any other id is
/// errc::unknown_space.
class read_store {
 public:
  virtual ~read_store() = default;

  /// Looks up `key` in `space`. On success `found` tells whether the key exists
  /// and `value` holds its value when it does. Absence is not an error.
  virtual status get(space_id space, std::string_view key, std::string& value,
                     bool& found) const = 0;

  /// Looks up several keys of one space; `values[i]` answers `keys[i]`. The
  /// default implementation calls get() per key; backends override it with a
  /// batched read.
  virtual status multi_get(space_id space, const std::vector<std::string>& keys,
                           std::vector<std::optional<std::string>>& values) const {
    values.clear();
    values.reserve(keys.size());
    std::string v;
    for (const auto& k : keys) {
      bool found = false;
      if (auto st = get(space, k, v, found); !st) return st;
      if (found)
        values.emplace_back(v);
      else
        values.emplace_back(std::nullopt);
    }
    return {};
  }

  /// Iterates the keys of `space` that start with `prefix` in ascending key
  /// order, beginning after `start_after` (or at the first key of the prefix
  /// when `start_after` is empty), and returns at most `limit` entries (limit
  /// >= 1). An empty prefix iterates the whole space. The page is a consistent
  /// snapshot: a concurrent commit is either wholly in it or not at all.
  virtual status scan(space_id space, std::string_view prefix, std::string_view start_after,
                      size_t limit, scan_page& page) const = 0;

  /// The same reads when they can be answered without waiting for the disk
  /// (RocksDB: from memtables and the block cache only). Each answers like
  /// its blocking twin, or returns std::nullopt, having read nothing that
  /// counts, when it would have to wait: the caller then reads again where
  /// blocking is allowed. Actors call these on the scheduler's threads. The
  /// defaults never promise (a store that cannot tell, or a decorator).
  virtual std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                        bool& found) const {
    (void)space, (void)key, (void)value, (void)found;
    return std::nullopt;
  }
  virtual std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const {
    (void)space, (void)keys, (void)values;
    return std::nullopt;
  }
  virtual std::optional<status> try_scan(space_id space, std::string_view prefix,
                                         std::string_view start_after, size_t limit,
                                         scan_page& page) const {
    (void)space, (void)prefix, (void)start_after, (void)limit, (void)page;
    return std::nullopt;
  }
};

/// A read-only view of a store at one point of its history (RocksDB: a
/// snapshot). Its reads see every commit made before the view was taken and
/// none made after, in every space, however long the view is held. While held
/// it keeps the versions it sees from being compacted away (RocksDB) or holds
/// a copy of the data (memory: O(size of the store) to take): drop the last
/// reference when done. A view must not outlive the store it was taken of.
/// Safe to read from many threads at once.
class read_view : public read_store {
 public:
  /// The store's sequence number when the view was taken: the view holds
  /// every commit through it.
  virtual uint64_t sequence() const noexcept = 0;
};

/// Collects puts, deletes and range deletes over any state spaces (including
/// system_space) for one atomic commit. The first invalid operation (unknown
/// space, empty key) makes the batch invalid: error() tells why and commit
/// refuses the whole batch.
class write_batch {
 public:
  virtual ~write_batch() = default;
  /// Sets `key` to `value` in `space`.
  virtual void put(space_id space, std::string_view key, std::string_view value) = 0;
  /// Removes `key` from `space` (no error if absent).
  virtual void del(space_id space, std::string_view key) = 0;
  /// Removes every key k of `space` with begin <= k < end.
  virtual void delete_range(space_id space, std::string_view begin, std::string_view end) = 0;
  /// Returns the number of operations added.
  virtual size_t count() const noexcept = 0;
  /// Returns the bytes of keys and values added.
  virtual size_t byte_size() const noexcept = 0;
  /// Returns ok, or the first invalid operation's error.
  virtual const status& error() const noexcept = 0;
};

/// Whether a store accepts writes.
enum class health_state : uint8_t {
  /// Reads and writes are served.
  ok,
  /// Writes fail or are refused (no space, an I/O error, a read-only file
  /// system); reads are served. The store leaves this state by itself
  /// (store::recover) once writes succeed again.
  degraded,
  /// The store cannot recover without an operator (corruption, a fatal
  /// backend error): writes are refused until it is reopened.
  failed,
};

/// Returns "ok", "degraded" or "failed".
constexpr const char* to_name(health_state x) noexcept {
  switch (x) {
    case health_state::ok:
      return "ok";
    case health_state::degraded:
      return "degraded";
    case health_state::failed:
      return "failed";
  }
  return "unknown";
}

/// A store's health and the error that set it.
struct store_health {
  health_state state = health_state::ok;
  /// The code writes are refused with while not ok: errc::no_space or
  /// errc::io_error when degraded, errc::unavailable when failed.
  errc code = errc::internal;
  /// The last error, naming the data directory; empty when ok and never
  /// degraded.
  std::string message;
  /// When the state last changed (milliseconds since the Unix epoch).
  int64_t since_unix_ms = 0;
  /// Times the store returned to ok by itself.
  uint64_t recoveries = 0;
  /// Free bytes on the data directory's file system at the last check
  /// (UINT64_MAX when not known or not applicable).
  uint64_t free_bytes = UINT64_MAX;
};

/// One committed batch of a store's log, as a read replica replays it.
struct log_batch {
  /// The sequence number of the batch's first operation.
  uint64_t seq = 0;
  /// How many sequence numbers it spans (RocksDB: its operation count).
  uint64_t count = 0;
  /// The backend's encoding of the whole batch (RocksDB: WriteBatch::Data()).
  std::string data;
  /// The store's sequence number once the batch is applied: what the commit
  /// that wrote it answered.
  uint64_t last_seq() const noexcept { return count == 0 ? seq : seq + count - 1; }
};

/// A store: reads, atomic commits and prefix iteration over a fixed schema.
class store : public read_store {
 public:
  /// Returns the schema the store was opened with.
  virtual const vstore::schema& schema() const noexcept = 0;

  /// Opens an empty batch for this store.
  virtual std::unique_ptr<vstore::write_batch> make_batch() const = 0;

  /// Commits `batch` atomically: all of its operations become visible at once,
  /// or none does. On success `seq` is the store's sequence number after the
  /// commit (strictly increasing). With RocksDB the batch is in the WAL (and
  /// fsynced when configured) when this returns. errc::no_space means the
  /// store refused the batch before writing anything (its free space is below
  /// the configured reserve; the store is then degraded): it was not applied.
  /// Any other failure may have left the batch in the log: in doubt. Blocks.
  virtual status commit(vstore::write_batch& batch, uint64_t& seq) = 0;

  /// Commits `batch` like commit() when that cannot wait: no fsync, no write
  /// stall (RocksDB: an unsynced write with no_slowdown). Otherwise writes
  /// nothing and returns std::nullopt; the caller then calls commit() where
  /// blocking is allowed. The commit actor calls it on the scheduler. It
  /// promises no wait it can see; a write(2) into the page cache may still
  /// block in the kernel on a dying disk (the commit actor notices the slow
  /// write and stops trying). The default never promises.
  virtual std::optional<status> try_commit(vstore::write_batch& batch, uint64_t& seq) {
    (void)batch, (void)seq;
    return std::nullopt;
  }

  /// Returns the sequence number of the last commit.
  virtual uint64_t latest_sequence() const noexcept = 0;

  /// Returns the sequence number commit(batch) answers if no other commit runs
  /// before it. Same as next_sequence(batch, 0).
  uint64_t next_sequence(const vstore::write_batch& batch) const { return next_sequence(batch, 0); }

  /// Returns the sequence number commit(batch) answers once `pending_ops` more
  /// operations have been added to `batch`, if no other commit runs before it:
  /// the committer asks with the number of token records it is about to add,
  /// then writes the answer into them. The answer depends only on the store's
  /// current sequence and on batch.count() + pending_ops, never on the spaces,
  /// keys or values of the operations. With no operations at all it is
  /// latest_sequence(), as the commit of an empty batch answers. Each backend
  /// states its rule (memory: latest_sequence() + 1 when there are operations;
  /// RocksDB: latest_sequence() + the number of operations). Meaningful only
  /// for a valid batch made by this store's make_batch(); commit refuses any
  /// other. Changes nothing and does not wait for a running commit.
  virtual uint64_t next_sequence(const vstore::write_batch& batch, size_t pending_ops) const = 0;

  /// Takes a read_view of the store as it is now. Cheap with RocksDB (no
  /// I/O; takes the DB mutex briefly), a copy of every space with memory.
  /// Backends and decorators without views answer errc::not_supported.
  virtual status snapshot(std::shared_ptr<const read_view>& out) const {
    out.reset();
    return {errc::not_supported, "this store takes no snapshots"};
  }

  /// Writes a consistent copy of the store to directory `dir` (which must not
  /// exist). Backends without persistence answer errc::not_supported.
  virtual status checkpoint(const std::string& dir) {
    return {errc::not_supported, "checkpoint to " + dir};
  }

  /// Like checkpoint(dir), and sets `seq` to the exact sequence number the
  /// copy holds: replaying this store's log from seq + 1 onto the copy gives
  /// this store's state.
  virtual status checkpoint(const std::string& dir, uint64_t& seq) {
    seq = 0;
    return checkpoint(dir);
  }

  // -- replication: a primary's log, replayed on a replica ------------------

  /// Appends to `out` the committed batches that follow sequence
  /// `from_seq - 1`, oldest first, whole, while their data stays within
  /// `max_bytes` (the first batch is always sent, however large). Nothing is
  /// appended when the store has no commit past from_seq - 1.
  /// errc::resync_needed when the log no longer holds from_seq (pruned past
  /// the retention), when from_seq falls inside a batch (another history),
  /// or when it is beyond latest_sequence() + 1. Blocks (reads log files).
  virtual status read_log(uint64_t from_seq, size_t max_bytes, std::vector<log_batch>& out) const {
    (void)from_seq, (void)max_bytes, (void)out;
    return {errc::not_supported, "read_log: this backend keeps no log"};
  }
  /// Commits `b`, read by read_log() from another store with the same
  /// schema and the same history up to b.seq - 1, atomically with the record
  /// that this store has applied that log through b.last_seq() (see
  /// applied_log()). Blocks. errc::invalid_argument when b.seq is not
  /// applied_log() + 1 or its data does not decode; nothing is applied then.
  virtual status apply_log(const log_batch& b) {
    (void)b;
    return {errc::not_supported, "apply_log"};
  }
  /// Returns (in `seq`) the primary's sequence number through which this
  /// store applied its log: 0 when it never applied one.
  virtual status applied_log(uint64_t& seq) const {
    seq = 0;
    return {errc::not_supported, "applied_log"};
  }
  /// Records that this store holds the primary's state through `seq` (after
  /// a checkpoint of the primary was copied here). Blocks.
  virtual status set_applied_log(uint64_t seq) {
    (void)seq;
    return {errc::not_supported, "set_applied_log"};
  }

  /// Flushes buffered data to durable storage (memtables and WAL). Blocks.
  virtual status sync() { return {}; }

  /// Returns whether the store accepts writes (cheap: no I/O, no lock).
  virtual health_state state() const noexcept { return health_state::ok; }

  /// Returns the store's health with its last error. Thread-safe.
  virtual store_health health() const { return {}; }

  /// Tries to leave the degraded state: checks the free space, resumes the
  /// backend (RocksDB: DB::Resume) and answers ok once writes can succeed
  /// again, else why not. A failed store stays failed. Blocks; only the commit
  /// actor calls it, never during a commit.
  virtual status recover() { return {}; }
};

/// Returns whether a store with schema `s` accepts space id `space`: a space of
/// the schema or system_space.
inline bool accepts_space(const vstore::schema& s, space_id space) noexcept {
  return space == system_space || s.contains(space);
}

/// Returns the name of `space` for error messages: the schema's name,
/// "(system)" for system_space, or "space id N" for an unknown id.
inline std::string space_name(const vstore::schema& s, space_id space) {
  if (space == system_space) return "(system)";
  if (!s.contains(space)) return "space id " + std::to_string(space);
  return s.spaces[space].name;
}

/// Returns the invalid-operation error for a batch, or ok: an id that is
/// neither a space of `s` nor system_space is errc::unknown_space, an empty key
/// errc::empty_key. Shared by backends so that both answer bad input the same
/// way.
inline status check_op(const vstore::schema& s, space_id space, std::string_view key) {
  if (!accepts_space(s, space)) return {errc::unknown_space, "space id " + std::to_string(space)};
  if (key.empty()) return {errc::empty_key, "in space " + space_name(s, space)};
  return {};
}

}  // namespace vstore
