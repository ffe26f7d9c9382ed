#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "vstore/schema.hpp"

namespace vstore {

/// Which backend a store uses.
enum class backend_kind : uint8_t { rocksdb, memory };

/// Database-wide options (RocksDB; the memory backend ignores them). Section
/// [store] of vstore.ini.
struct db_options {
  /// Data directory. Key: path. Default: "" (must be set for rocksdb).
  std::string path;
  /// Create the database when the directory holds none. Key: create-if-missing.
  /// Default: true.
  bool create_if_missing = true;
  /// Opens an existing database read-only (RocksDB's DB::OpenForReadOnly,
  /// with every configured column family): nothing in the directory is
  /// written, not even the LOG file, and the LOCK is not taken; commits fail
  /// with errc::not_supported and sync() does nothing. A directory holding no
  /// database, or one lacking a configured family, is an error. Not read from
  /// the configuration file: the CLI sets it for its read-only commands.
  /// Default: false.
  bool read_only = false;
  /// Create configured spaces that an existing database lacks. Without it a
  /// schema difference is errc::schema_mismatch. Spaces are never dropped.
  /// Key: allow-new-spaces. Default: false.
  bool allow_new_spaces = false;
  /// fsync the WAL on every commit. Key: sync. Default: false.
  bool sync = false;
  /// RocksDB IncreaseParallelism(n). Key: parallelism. Default: 2. Range 1..256.
  uint32_t parallelism = 2;
  /// max_background_jobs. Key: max-background-jobs. Default: 2. Range 1..256.
  uint32_t max_background_jobs = 2;
  /// bytes_per_sync (0 = off). Key: bytes-per-sync. Default: 1 MiB.
  uint64_t bytes_per_sync = 1u << 20;
  /// level_compaction_dynamic_level_bytes. Key: dynamic-level-bytes. Default: true.
  bool dynamic_level_bytes = true;
  /// paranoid_checks. Key: paranoid-checks. Default: true.
  bool paranoid_checks = true;
  /// Size of the block cache shared by every space (0 = RocksDB's default
  /// 8 MiB per space). Key: block-cache-size. Default: 256 MiB.
  uint64_t block_cache_bytes = 256u << 20;
  /// Memtable size per space. Key: write-buffer-size. Default: 64 MiB.
  /// Range: 64 KiB..4 GiB.
  uint64_t write_buffer_bytes = 64u << 20;
  /// RocksDB's info log (the LOG file in the data directory) rolls over at
  /// this size. Key: info-log-max-size. Default: 1 MiB. Range: 64 KiB..1 GiB.
  uint64_t info_log_max_bytes = 1u << 20;
  /// Info log files kept, the current one included (RocksDB's own default
  /// keeps 1000). Key: info-log-keep. Default: 4 (so at most about 4 MiB of
  /// logs). Range: 1..1000.
  uint32_t info_log_keep = 4;
  /// Writes are refused with errc::no_space (the store turns degraded) while
  /// the data directory's file system has less than this free, so that
  /// RocksDB's own flushes and compactions, and an operator, still have room;
  /// reads are served, and writes resume by themselves once space is freed.
  /// Full protection needs about write-buffer-size x spaces (memtables being
  /// flushed) plus compaction headroom. Also the room RocksDB's SstFileManager
  /// leaves for compactions. Key: min-free-space. Default: 256 MiB. Range:
  /// 0 (off)..1 TiB.
  uint64_t min_free_bytes = 256u << 20;
  /// The most the store's SST files may take (RocksDB's SstFileManager): past
  /// it flushes fail and the store turns degraded (no_space) until files are
  /// compacted or the limit raised. Key: max-disk-space. Default: 0
  /// (unlimited). Range: 0..2^64-1.
  uint64_t max_disk_bytes = 0;
  /// While degraded the commit actor tries to recover (free space check, then
  /// RocksDB's DB::Resume) after this delay, doubling up to
  /// recovery-backoff-max. Key: recovery-backoff. Default: 100ms. Range:
  /// 10ms..1min.
  std::chrono::milliseconds recovery_backoff{100};
  /// The longest delay between two recovery attempts. Key:
  /// recovery-backoff-max. Default: 5s. Range: 10ms..1h; at least
  /// recovery-backoff.
  std::chrono::milliseconds recovery_backoff_max{5000};
};

/// Reader pools. Section [reader].
struct reader_options {
  /// Reader actors per space. Key: pool-size. Default: 2. Range 1..64.
  uint32_t pool_size = 2;
  /// Reads queued per space before the manager answers errc::overloaded.
  /// Key: max-queued. Default: 4096. Range 1..10,000,000.
  uint32_t max_queued = 4096;
  /// Run every reader on its own thread (spaces x pool-size threads), so that
  /// reads that block (long scans, block-cache misses) never hold a scheduler
  /// thread the manager, writers and timers need. Key: detached.
  /// Default: true.
  bool detached = true;
  /// Answer every read first from memtables and the block cache only
  /// (store::try_get and its twins): a point get in the manager itself,
  /// multi_get and scan in cache-only readers on the scheduler; only a read
  /// that would wait for the disk goes on to the readers above. A cached
  /// read then costs no thread hand-off. Key: cache-first. Default: true.
  bool cache_first = true;
  /// With cache-first, the manager answers a multi_get of at most this many
  /// keys itself, as it does a point get, and a snapshot read of at most this
  /// many items, each a get or a page of at most this many entries (two hops
  /// fewer; a larger one goes to a cache-only reader, so that it does not
  /// hold up the manager).
  /// Key: inline-max-keys. Default: 8. Range 0..1024 (0: none).
  uint32_t inline_max_keys = 8;
  /// With cache-first, point gets, multi_gets and scans that arrive while
  /// the manager has more messages waiting are read together: up to this
  /// many gets and multi_gets (one multi_get of all their keys, at most
  /// limits.max-multi-get) and this many scans per space, each batch in one
  /// message to a cache-only reader, so that a busy manager passes reads on in bulk
  /// instead of reading every get on its own thread and sending every scan
  /// alone. A get that finds the manager idle is still answered at once by
  /// the manager itself. Key: batch-max. Default: 32. Range 0..1024 (0 or 1:
  /// no batches).
  uint32_t batch_max = 32;
  /// A batch of gets and multi_gets is also sent once it holds this many
  /// keys (or limits.max-multi-get, if lower). One multi_get of 1,024 keys
  /// (32 multi_gets of 32) held a scheduler thread for a few milliseconds
  /// and made the reads bursty. A multi_get of 256 keys costs the same per key
  /// as one of 32. Key: batch-max-keys. Default: 256.
  /// Range 1..1,000,000.
  uint32_t batch_max_keys = 256;
  /// How long a snapshot kept by a snapshot_read_request (keep = true) stays
  /// held after its last use; past it the store releases it and a read
  /// naming it gets errc::snapshot_expired. A held snapshot keeps RocksDB
  /// from compacting away the versions it sees. Key: snapshot-lease.
  /// Default: 10s. Range 10ms..1h.
  std::chrono::milliseconds snapshot_lease{10000};
  /// Snapshots kept at once (over every client); one more is refused with
  /// errc::overloaded. Key: max-snapshots. Default: 64. Range 1..4096.
  uint32_t max_snapshots = 64;
};

/// Writers and group commit. Section [writer].
struct writer_options {
  /// Seal the open batch at this many commands. Key: max-batch-commands.
  /// Default: 1000. Range 1..1,000,000.
  uint32_t max_batch_commands = 1000;
  /// Seal the open batch at this many bytes of keys and values.
  /// Key: max-batch-bytes. Default: 4 MiB. Range 1..1 GiB.
  uint64_t max_batch_bytes = 4u << 20;
  /// Seal the open batch when its oldest command has waited this long.
  /// Key: max-delay. Default: 10ms. Range 0..10s (0 = only the other triggers).
  std::chrono::milliseconds max_delay{10};
  /// Writes queued per space before the manager answers errc::overloaded.
  /// Key: max-queued. Default: 4096. Range 1..10,000,000.
  uint32_t max_queued = 4096;
  /// Write an unsynced round on the scheduler thread that runs the commit
  /// actor instead of handing it to the commit actor's own I/O thread (two
  /// thread hand-offs, 40-80 us of a ~90 us sequential commit on 2 cores).
  /// Synced rounds (store.sync), and the rounds after a slow one, go to the
  /// I/O thread whatever this says, so a blocking write holds at most one
  /// scheduler thread, and only until one write is seen to be slow.
  /// Key: inline-commits. Default: true.
  bool inline_commits = true;
  /// An inline write that took longer than this, plus 10 us for every
  /// operation it held (a big round is slow by its memtable inserts, which is
  /// work, not waiting), sends the rounds after it to the I/O thread, until
  /// one there takes no longer. Key: slow-commit. Default: 2ms. Range 1ms..10s.
  std::chrono::milliseconds slow_commit{2};
  /// After a round written on the I/O thread (an fsync), wait up to half as
  /// long as it took (at most 1 ms) until as many operations are queued as it
  /// held plus those that queued while it ran, so that the writes its answers
  /// release fill the next fsync
  /// instead of splitting into two alternating halves. Key: gather-rounds.
  /// Default: true.
  bool gather_rounds = true;
};

/// Request limits, checked before anything is queued. Section [limits].
struct limit_options {
  /// Key: max-key-size. Default: 64 KiB. Range 1..16 MiB.
  uint32_t max_key_bytes = 64u << 10;
  /// Key: max-value-size. Default: 16 MiB. Range 1..1 GiB.
  uint32_t max_value_bytes = 16u << 20;
  /// Operations in one write request. Key: max-batch-ops. Default: 100,000.
  uint32_t max_batch_ops = 100000;
  /// Bytes of keys and values in one write request. Key: max-request-bytes.
  /// Default: 64 MiB.
  uint64_t max_request_bytes = 64u << 20;
  /// Keys in one multi_get. Key: max-multi-get. Default: 10,000.
  uint32_t max_multi_get = 10000;
  /// Entries in one scan page. Key: max-scan-limit. Default: 100,000.
  uint32_t max_scan_limit = 100000;
};

/// Supervision, timeouts and shutdown. Section [supervisor].
struct supervisor_options {
  /// Restarts of one space's actors allowed within restart-window; one more and
  /// the space answers errc::unavailable. Key: restart-limit. Default: 5.
  uint32_t restart_limit = 5;
  /// Key: restart-window. Default: 10s.
  std::chrono::milliseconds restart_window{10000};
  /// Retries of a read whose reader died. Key: read-retries. Default: 3.
  uint32_t read_retries = 3;
  /// The longest an admitted request may wait inside vstore: past it the
  /// manager answers errc::timeout (a stuck reader, writer or commit actor
  /// cannot hold a client). Key: internal-timeout. Default: 30s.
  std::chrono::milliseconds internal_timeout{30000};
  /// A multi-space batch whose parts have not all reached the committer after
  /// this long is aborted. Key: stall-abort. Default: 2s.
  std::chrono::milliseconds stall_abort{2000};
  /// Graceful shutdown waits this long for queued work; what is still
  /// pending then is answered errc::in_doubt and the children are killed.
  /// Key: shutdown-grace. Default: 10s. Range 100ms..24h (a shorter grace would
  /// cut off writes that are about to commit).
  std::chrono::milliseconds shutdown_grace{10000};
};

/// Idempotency tokens: a write may carry a token; the token is stored in the
/// same atomic commit as the write, so a retry with it is applied at most once
/// and outcome_request tells what became of it. Section [tokens].
/// Cost: each remembered token holds about (2 x token bytes + 180) bytes of
/// memory in the commit actor (measured: 195 B for 16-byte tokens, 305 B for
/// 64-byte ones) and about (token bytes + 40) bytes on disk (RocksDB's
/// "default" column family), until it is forgotten by count or age.
struct token_options {
  /// The longest token a write may carry. Key: max-token-size. Default: 64
  /// bytes. Range 1..1024.
  uint32_t max_token_bytes = 64;
  /// Committed tokens remembered; past it the oldest is forgotten.
  /// Key: retain-count. Default: 100,000. Range 1..100,000,000.
  uint64_t retain_count = 100000;
  /// Committed tokens older than this are forgotten. Key: retain-age.
  /// Default: 1h. Range 1s..30d.
  std::chrono::milliseconds retain_age{3600000};
};

/// Read replicas: how long a primary keeps its log for them, and how the log
/// and checkpoints travel. Section [replication]. The WAL retention applies to
/// every RocksDB store (a replica may connect at any time); the memory backend
/// keeps no log and ignores the section.
struct replication_options {
  /// A WAL file no longer needed by the store itself is kept (moved to the
  /// data directory's archive/ folder, RocksDB's DBOptions::WAL_ttl_seconds)
  /// this long, so that a replica that fell behind can read the log from it
  /// instead of copying a whole checkpoint. RocksDB deletes expired files
  /// when it next checks (every 10 minutes, or every wal-keep-age / 2 when
  /// wal-keep-size is 0), so a file may stay that much longer. With
  /// wal-keep-size also 0, old WAL files are deleted at once and a replica
  /// that is behind the memtables needs a fresh checkpoint. Key: wal-keep-age.
  /// Default: 600s. Range: 0..30 days, whole seconds.
  std::chrono::seconds wal_keep_age{600};
  /// The archived WAL files are trimmed, oldest first, to this total
  /// (RocksDB's DBOptions::WAL_size_limit_MB, rounded up to a whole MiB;
  /// RocksDB checks the limit only every 10 minutes, so the archive may
  /// exceed it by what is written in between). 0: no size limit (the age
  /// alone decides). Key: wal-keep-size. Default: 1 GiB. Range: 0..2^64-1.
  uint64_t wal_keep_bytes = 1ull << 30;
  /// The most log data (whole batches of the primary's WAL) one reply to a
  /// replica carries; a single larger batch is sent alone. Key: max-log-bytes.
  /// Default: 4 MiB. Range: 64 KiB..256 MiB.
  uint64_t max_log_bytes = 4u << 20;
  /// The size of the pieces a checkpoint's files are sent in when a replica
  /// bootstraps. Key: chunk-size. Default: 1 MiB. Range: 64 KiB..64 MiB.
  uint64_t chunk_bytes = 1u << 20;
  /// How long the primary holds a replica's log request that finds nothing
  /// new before answering it empty. Key: poll-wait. Default: 200ms. Range:
  /// 1ms..60s.
  std::chrono::milliseconds poll_wait{200};
  /// How long a replica holds a read that carries min_seq (read your writes)
  /// while it has not applied the primary's log that far; past it the read is
  /// answered errc::lagging. 0 answers lagging at once. Key: min-seq-wait.
  /// Default: 1s. Range: 0..60s.
  std::chrono::milliseconds min_seq_wait{1000};
};

/// How much vstore writes to its own spdlog logger, named "vstore" (a program
/// may register its own logger under that name before the first store opens
/// to route vstore's lines; otherwise vstore's logger writes to the sinks of
/// spdlog's default logger). vstore never changes spdlog's default logger or
/// global level.
enum class log_level : uint8_t { trace, debug, info, warn, error, critical, off };

/// Everything needed to open and serve a store.
struct options {
  /// Key [store] backend: "rocksdb" or "memory". Default: rocksdb.
  backend_kind backend = backend_kind::rocksdb;
  /// The state spaces. Key [store] spaces plus one [space.NAME] section per
  /// space. Default: default_schema().
  vstore::schema schema = default_schema();
  db_options db;
  reader_options reader;
  writer_options writer;
  limit_options limits;
  supervisor_options supervisor;
  token_options tokens;
  replication_options replication;
  /// Key [store] log-level: "trace", "debug", "info", "warn", "error",
  /// "critical" or "off": the level of the "vstore" logger, set by
  /// spawn_manager. Default: warn (restarts, health changes, lost WAL records
  /// and failures; drains and recoveries are info).
  log_level logging = log_level::warn;
};

}  // namespace vstore
