#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/rocksdb/wal_report.hpp"
#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

// This header does not include RocksDB: its types stay inside rocksdb_store.cpp.

namespace rocksdb {
class Env;
class Snapshot;
}  // namespace rocksdb

namespace vstore {

/// What RocksDB reports about the column family of one state space; for tests
/// and status output.
struct rocksdb_space_info {
  /// The column family name (the space name).
  std::string name;
  /// The compression the column family runs with (from DB::GetOptions), or
  /// nothing if RocksDB reports a type vstore does not configure.
  std::optional<compression> comp;
  /// The name of the prefix extractor ("rocksdb.FixedPrefix.8"), or empty.
  std::string prefix_extractor;
  /// The compression recorded in each live SST file of the space, as vstore
  /// names ("lz4", "none", ...) or RocksDB's name when it has no vstore name.
  std::vector<std::string> sst_compressions;
};

/// A store on RocksDB: one column family per state space, named like the
/// space, with the space's compression, fixed prefix extractor and bloom
/// filter, and one LRU block cache shared by every space. The WAL is on; a
/// commit is one DB::Write (fsynced when db_options::sync is set).
///
/// Concurrency: reads are thread-safe and run in parallel with commits. Each
/// scan reads from an explicit snapshot, and multi_get reads one consistent
/// view, so neither sees part of a batch. Commits are serialized by a mutex so
/// that the sequence number each returns is strictly increasing.
///
/// Sequence numbers are RocksDB's: a commit of n operations advances the
/// sequence by n. An empty batch is not written and leaves it unchanged.
///
/// system_space is the "default" column family, which every RocksDB database
/// has (so databases created before it existed open unchanged); it runs with
/// default column family options: no prefix extractor, no bloom filter,
/// RocksDB's default compression.
///
/// The WAL is also the log read replicas replay (read_log, apply_log): WAL
/// files the store no longer needs move to the data directory's archive/ and
/// stay there per opts.replication (wal_keep_age, wal_keep_bytes).
///
/// No RocksDB error ends the process: every failed call, including iterator
/// errors, is answered as a vstore::status.
class rocksdb_store final : public store {
 public:
  /// Opens (or creates) the database in opts.db.path with the spaces of
  /// opts.schema. An existing database must have exactly the configured column
  /// families (besides "default"), else the answer is errc::schema_mismatch
  /// naming the extra and missing families; with opts.db.allow_new_spaces the
  /// missing ones are created, extra ones are still refused. Nothing is ever
  /// dropped. A new database (create_if_missing) gets every configured family
  /// and missing parent directories are created; without create_if_missing a
  /// directory holding no database is errc::invalid_config and nothing is
  /// created. An empty path or an invalid schema (empty, duplicate or "default"
  /// names, more than max_spaces) is errc::invalid_config. With
  /// opts.db.read_only the database must exist with every configured family;
  /// it is opened with DB::OpenForReadOnly and nothing is written. Blocks.
  static status open(const options& opts, std::unique_ptr<rocksdb_store>& out);

  /// Opens as above on `env` instead of RocksDB's default environment (tests
  /// inject file-system faults through an rocksdb::EnvWrapper this way). The
  /// environment must outlive the store; null means the default.
  static status open(const options& opts, std::unique_ptr<rocksdb_store>& out, rocksdb::Env* env);

  /// Closes the database cleanly: releases the column family handles, then
  /// closes and deletes the DB. Blocks until RocksDB's background work stops.
  ~rocksdb_store() override;

  /// Stores are not copyable.
  rocksdb_store(const rocksdb_store&) = delete;
  /// Stores are not copyable.
  rocksdb_store& operator=(const rocksdb_store&) = delete;

  /// Reads `key` of `space` (one DB::Get into a pinnable slice).
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override;

  /// Reads several keys of one space with one batched DB::MultiGet, from one
  /// consistent view.
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override;

  /// Reads one page of a prefix iteration from a snapshot (see
  /// read_store::scan); same results as the memory backend, also for prefixes
  /// shorter than the space's prefix extractor. A limit of 0 is
  /// errc::invalid_argument.
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override;

  /// The same reads from memtables and the block cache only
  /// (ReadOptions::read_tier = kBlockCacheTier): std::nullopt when a read
  /// would need the disk.
  std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                bool& found) const override;
  std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override;
  std::optional<status> try_scan(space_id space, std::string_view prefix,
                                 std::string_view start_after, size_t limit,
                                 scan_page& page) const override;

  /// Returns the schema the store was opened with (space ids follow it, not
  /// the order of the families on disk).
  const vstore::schema& schema() const noexcept override;

  /// Opens an empty batch wrapping a rocksdb::WriteBatch. The batch must not
  /// outlive the store.
  std::unique_ptr<vstore::write_batch> make_batch() const override;

  /// Writes `batch` (made by this store) with one DB::Write and answers the
  /// DB's latest sequence number after it. Refuses an invalid batch (its
  /// error()) and a batch of another store (errc::invalid_argument). Blocks.
  status commit(vstore::write_batch& batch, uint64_t& seq) override;

  /// The same write with WriteOptions::no_slowdown; std::nullopt (nothing
  /// written) with store.sync on, or when RocksDB would stall the write.
  std::optional<status> try_commit(vstore::write_batch& batch, uint64_t& seq) override;

  /// Returns the DB's latest sequence number.
  uint64_t latest_sequence() const noexcept override;

  /// A RocksDB snapshot (DB::GetSnapshot) as a read_view; released when
  /// the view goes.
  status snapshot(std::shared_ptr<const read_view>& out) const override;

  /// Returns the DB's latest sequence number plus the number of entries of
  /// `batch` plus `pending_ops` (each Put, Delete and DeleteRange consumes one
  /// sequence number with RocksDB's default write path): what commit answers
  /// for the batch with `pending_ops` more operations if no other commit runs
  /// first. No operations at all answer the latest sequence.
  uint64_t next_sequence(const vstore::write_batch& batch, size_t pending_ops) const override;
  /// Makes store::next_sequence(batch) callable on this type as well.
  using store::next_sequence;

  /// Writes a RocksDB checkpoint (hard links where possible) to `dir`, which
  /// must not exist; it opens as a store with the same contents. Same as
  /// checkpoint(dir, seq) without the sequence. Blocks.
  status checkpoint(const std::string& dir) override;

  /// Writes a checkpoint to `dir` as above and sets `seq` to the sequence
  /// number it holds: the store's latest sequence, and the latest_sequence()
  /// of the copy once opened. The memtables are flushed first; then
  /// RocksDB's Checkpoint::CreateCheckpoint runs under the commit mutex (its
  /// sequence number is exact only while nothing is written: commits wait
  /// for it, for as long as linking the SST files and flushing what was
  /// committed since the first flush takes). Blocks.
  status checkpoint(const std::string& dir, uint64_t& seq) override;

  // -- replication (see store): the log is RocksDB's WAL ---------------------

  /// Reads the WAL with DB::GetUpdatesSince: each batch is one commit of
  /// this store, `seq` its first sequence number, `count` its operations
  /// (RocksDB's WriteBatch::Count), `data` its WriteBatch::Data(). Batches are
  /// appended while their data stays within `max_bytes` (the first one
  /// always), and none past the latest sequence at the call's start.
  /// from_seq 0 is errc::invalid_argument; from_seq = latest_sequence() + 1
  /// answers nothing. errc::resync_needed when from_seq is beyond
  /// latest_sequence() + 1, when the WAL no longer holds it (deleted past
  /// [replication] wal-keep-age / wal-keep-size, the context naming the
  /// oldest sequence still held when known), or when from_seq lies inside a
  /// batch rather than at its start (another history than the caller's).
  /// Reads the WAL files from the one holding from_seq on. Blocks.
  ///
  /// DB::GetUpdatesSince reads the WAL file from its start up to from_seq,
  /// so a call that ends a complete page keeps its iterator (at most 4, the
  /// least recently used making room; one unused for 30 s is dropped by a
  /// later call): the next call from exactly where it stopped continues it,
  /// reading only what was written since, with the same checks. When it runs
  /// out before the page is complete (at a WAL switch: RocksDB's iterator
  /// never opens a WAL file created after it) or meets anything unexpected,
  /// the call reads afresh with GetUpdatesSince from where it stopped. Safe
  /// to call from several threads at once.
  status read_log(uint64_t from_seq, size_t max_bytes, std::vector<log_batch>& out) const override;

  /// Returns how many times read_log called DB::GetUpdatesSince since the
  /// open (the other calls continued a kept iterator or read nothing). An
  /// atomic load.
  uint64_t log_iterators_opened() const noexcept;

  /// Checks `b` (its data must decode as a WriteBatch whose header names
  /// b.seq, holding exactly b.count operations, each a put, delete or range
  /// delete in a column family this store has), then writes it with one put
  /// of the applied-log record (system_space, key applied_log_key, b.last_seq()
  /// as 8 bytes big-endian) in one DB::Write, under the commit mutex, with
  /// the write options and failure handling of commit(): the store's own
  /// sequence advances by b.count + 1. errc::invalid_argument, nothing written,
  /// when b.seq is not applied_log() + 1 or the data does not decode;
  /// errc::not_supported on a store opened read-only. Blocks.
  status apply_log(const log_batch& b) override;

  /// Answers the applied-log record as loaded at open and kept by
  /// apply_log() and set_applied_log() (an atomic load: no I/O, never fails).
  status applied_log(uint64_t& seq) const override;

  /// Writes the applied-log record alone, like a commit() of one put.
  /// errc::not_supported on a store opened read-only. Blocks.
  status set_applied_log(uint64_t seq) override;

  /// The system_space key of the applied-log record: "m.applied-log". The
  /// other system_space keys are the commit actor's (actors/token_index.hpp):
  /// "t" + token and "m.forgotten-through"; keys under "m." name one record
  /// each.
  static std::string_view applied_log_key() noexcept { return "m.applied-log"; }

  /// Writes and fsyncs the WAL (FlushWAL(true)), then flushes the memtables
  /// of every space, system_space included, to SST files. Blocks.
  status sync() override;

  /// Returns ok, degraded or failed (an atomic load). The store turns
  /// degraded when its free space falls below db.min_free_bytes (checked
  /// before commits, at most every 100 ms or every quarter of the remaining
  /// headroom written), when a commit fails, or when RocksDB reports a
  /// background error (a failed flush or compaction; through an
  /// EventListener); failed on corruption or an error RocksDB cannot resume
  /// from. Every change is logged with the data directory.
  health_state state() const noexcept override;

  /// Returns the health with the last error and the free space now.
  store_health health() const override;

  /// Leaves the degraded state once the free space is back above the reserve
  /// and DB::Resume succeeds (RocksDB flushes what failed); answers why not
  /// otherwise (errc::no_space, errc::io_error; errc::unavailable when
  /// failed). Blocks.
  status recover() override;

  /// Reports the effective RocksDB settings and SST files of `space` (for
  /// system_space: of the "default" family).
  status describe_space(space_id space, rocksdb_space_info& out) const;

  /// Returns what the open of this store replayed from each WAL file and what
  /// point-in-time recovery dropped (see wal_report.hpp); each loss was logged
  /// at error level during the open.
  const wal_report& last_wal_report() const noexcept;

  /// Implementation details (RocksDB handles); defined in rocksdb_store.cpp.
  struct impl;

 private:
  /// Takes over an open database; only open() constructs stores.
  explicit rocksdb_store(std::unique_ptr<impl> p);

  /// The reads and the write behind the public ones: `cache_only` / `no_wait`
  /// set `incomplete` / `would_wait` instead of waiting for the disk.
  /// `at` reads at a snapshot (nullptr: the latest state).
  status read_one(space_id space, std::string_view key, std::string& value, bool& found,
                  bool cache_only, bool& incomplete, const rocksdb::Snapshot* at = nullptr) const;
  status read_many(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values, bool cache_only,
                   bool& incomplete, const rocksdb::Snapshot* at = nullptr) const;
  status read_page(space_id space, std::string_view prefix, std::string_view start_after,
                   size_t limit, scan_page& page, bool cache_only, bool& incomplete,
                   const rocksdb::Snapshot* at = nullptr) const;
  /// The read_view of snapshot(): reads through the three above.
  friend class rocksdb_view;
  status write(vstore::write_batch& batch, uint64_t& seq, bool no_wait, bool& would_wait);

  /// The DB, its column family handles and options; never null.
  std::unique_ptr<impl> impl_;
};

/// Opens a RocksDB store as rocksdb_store::open does and hands it out as a
/// plain vstore::store. Blocks.
status open_rocksdb_store(const options& opts, std::unique_ptr<store>& out);

}  // namespace vstore
