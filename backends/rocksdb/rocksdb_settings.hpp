#pragma once

// The RocksDB settings of a vstore store, built in one place from
// vstore::options. rocksdb_store opens every database with them; code that
// talks to RocksDB directly (vstore-bench's raw baseline) uses them to open a
// database with exactly the same settings. Unlike rocksdb_store.hpp this header
// includes RocksDB: a target that includes it links RocksDB itself.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <memory>
#include <vector>

#include "vstore/options.hpp"

namespace vstore {

/// Everything rocksdb_store passes to rocksdb::DB::Open and DB::Write.
struct rocksdb_settings {
  /// Database-wide options: IncreaseParallelism(parallelism),
  /// max_background_jobs, bytes_per_sync, paranoid_checks and
  /// create_if_missing from opts.db; create_missing_column_families is false
  /// (rocksdb_store sets it when the schema allows creating families).
  /// WAL_ttl_seconds and WAL_size_limit_MB from opts.replication (the WAL
  /// kept for read replicas; the size rounded up to a whole MiB).
  rocksdb::DBOptions db;
  /// "default" first, then one family per space in schema order (space id i
  /// is families[i + 1]): write_buffer_size, dynamic level bytes, the space's
  /// compression, fixed prefix extractor and bloom filter, and the shared
  /// block cache.
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  /// The options of every commit: WAL on, sync = opts.db.sync.
  rocksdb::WriteOptions write;
  /// The LRU block cache every family shares (null when
  /// opts.db.block_cache_bytes is 0: RocksDB's default cache per family).
  std::shared_ptr<rocksdb::Cache> cache;
};

/// Builds the settings of `opts` (only opts.db, opts.schema and
/// opts.replication are read). Each
/// call makes a new block cache, so two databases opened with the settings of
/// two calls share nothing. Does not validate the schema (rocksdb_store::open
/// does).
rocksdb_settings make_rocksdb_settings(const options& opts);

}  // namespace vstore
