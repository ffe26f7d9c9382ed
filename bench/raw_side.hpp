#pragma once

// The raw RocksDB baseline of vstore-bench: a database opened directly with
// the settings rocksdb_store uses (make_rocksdb_settings of the same
// vstore::options), driven by plain threads. RocksDB's headers stay in
// raw_side.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/workload.hpp"
#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/requests.hpp"

namespace vstore::bench {

/// The outcome of one timed repetition (either side).
struct rep_result {
  /// Wall time from the start signal to the last request's completion.
  double seconds = 0;
  /// CPU time (user + system) of this whole process over the same span.
  double cpu_seconds = 0;
  /// Requests completed (puts for put_batched).
  uint64_t completed = 0;
  /// Failed requests, plus reads that did not find what was loaded.
  uint64_t errors = 0;
  /// The first error, for the report.
  std::string first_error;
};

/// A RocksDB database opened without vstore, with vstore's settings.
class raw_db {
 public:
  /// Opens (creating if needed) the database at opts.db.path with
  /// make_rocksdb_settings(opts), every family of opts.schema. Commits use the
  /// settings' write options (fsync when opts.db.sync). Blocks.
  static status open(const options& opts, std::unique_ptr<raw_db>& out);

  /// Closes the database. Blocks until RocksDB's background work stops.
  ~raw_db();

  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  /// Writes loaded keys 0..count-1 of key_bytes (with their values of
  /// value_bytes, workload.hpp) into bench_space in WriteBatches of 1000, then
  /// flushes the memtables to SST files so that reads go through the block
  /// cache. Blocks.
  status load(uint64_t count, size_t key_bytes = key_size, size_t value_bytes = value_size);

  /// Runs one repetition of `w` on `threads` threads, each issuing its own
  /// share of the requests (issuer_range) until the count or the deadline is
  /// reached, and times it from the start signal to the last thread's end.
  /// put_batched groups each thread's puts in WriteBatches of `batch_puts`.
  rep_result run(const workload& w, size_t threads, size_t batch_puts = raw_batch_puts);

  /// Writes `ops` (puts, deletes, range deletes) with one DB::Write and the settings'
  /// write options: what the hop floor's last actor does with a write
  /// (actor_side::open_commit_floor). Thread-safe, as DB::Write is.
  status write(const std::vector<write_op>& ops);

  /// Flushes every memtable to SST files and waits for the flushes, so that
  /// the next scenario does not pay for a flush of what the ones before it
  /// wrote. Blocks.
  status settle();

  /// Implementation details; defined in raw_side.cpp.
  struct impl;

 private:
  explicit raw_db(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Creates a database at opts.db.path, loads `count` keys (raw_db::load) and
/// closes it, so that a vstore manager or vstored can open it. Blocks.
status create_loaded_database(const options& opts, uint64_t count, size_t key_bytes = key_size,
                              size_t value_bytes = value_size);

}  // namespace vstore::bench
