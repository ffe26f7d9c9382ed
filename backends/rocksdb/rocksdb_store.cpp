#include "backends/rocksdb/rocksdb_store.hpp"
#include "backends/rocksdb/info_log.hpp"
#include "backends/rocksdb/no_io_fs.hpp"
#include "backends/rocksdb/rocksdb_settings.hpp"
#include "backends/rocksdb/wal_report.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/status.h>
#include <rocksdb/table.h>
#include <rocksdb/table_properties.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "log/log.hpp"

#include "vstore/concat_bytes.hpp"

namespace vstore {

namespace {

/// Converts a RocksDB status to a vstore status; `what` names the failed call.
/// This is the only place that maps RocksDB errors.
status to_status(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  using code = rocksdb::Status::Code;
  errc ec = errc::internal;
  switch (s.code()) {
    case code::kOk:
      return {};
    case code::kNotFound:
      ec = errc::io_error;
      break;  // a file or family, not a key
    case code::kCorruption:
      ec = errc::corruption;
      break;
    case code::kNotSupported:
      ec = errc::not_supported;
      break;
    case code::kInvalidArgument:
      ec = errc::invalid_argument;
      break;
    case code::kIOError:
      ec = errc::io_error;
      break;
    case code::kMergeInProgress:
      ec = errc::internal;
      break;
    case code::kIncomplete:
      ec = errc::overloaded;
      break;  // e.g. a write stall
    case code::kShutdownInProgress:
      ec = errc::shutting_down;
      break;
    case code::kTimedOut:
      ec = errc::timeout;
      break;
    case code::kAborted:
      ec = errc::aborted;
      break;
    case code::kBusy:
      ec = errc::overloaded;
      break;
    case code::kExpired:
      ec = errc::timeout;
      break;
    case code::kTryAgain:
      ec = errc::overloaded;
      break;
    case code::kCompactionTooLarge:
      ec = errc::internal;
      break;
    case code::kColumnFamilyDropped:
      ec = errc::unavailable;
      break;
    default:
      ec = errc::internal;
      break;
  }
  std::string context{what};
  context += ": rocksdb ";
  context += s.ToString();
  return {ec, std::move(context)};
}

/// Returns the RocksDB type of a vstore compression.
rocksdb::CompressionType to_rocksdb(compression c) noexcept {
  switch (c) {
    case compression::none:
      return rocksdb::kNoCompression;
    case compression::snappy:
      return rocksdb::kSnappyCompression;
    case compression::zlib:
      return rocksdb::kZlibCompression;
    case compression::bzip2:
      return rocksdb::kBZip2Compression;
    case compression::lz4:
      return rocksdb::kLZ4Compression;
    case compression::zstd:
      return rocksdb::kZSTD;
  }
  return rocksdb::kNoCompression;
}

/// Returns the vstore compression of a RocksDB type, if it has one.
std::optional<compression> from_rocksdb(rocksdb::CompressionType c) noexcept {
  switch (c) {
    case rocksdb::kNoCompression:
      return compression::none;
    case rocksdb::kSnappyCompression:
      return compression::snappy;
    case rocksdb::kZlibCompression:
      return compression::zlib;
    case rocksdb::kBZip2Compression:
      return compression::bzip2;
    case rocksdb::kLZ4Compression:
      return compression::lz4;
    case rocksdb::kZSTD:
      return compression::zstd;
    default:
      return std::nullopt;
  }
}

/// Returns the vstore name of a compression name recorded in SST properties,
/// or the RocksDB name itself when vstore has none for it.
std::string sst_compression_name(const std::string& rocksdb_name) {
  struct entry {
    const char* rocksdb_name;
    compression comp;
  };
  static constexpr entry table[] = {
      {"NoCompression", compression::none},
      {"Snappy", compression::snappy},
      {"Zlib", compression::zlib},
      {"BZip2", compression::bzip2},
      {"LZ4", compression::lz4},
      {"ZSTD", compression::zstd},
  };
  for (const auto& e : table)
    if (rocksdb_name == e.rocksdb_name) return to_name(e.comp);
  return rocksdb_name;
}

rocksdb::Slice to_slice(std::string_view s) noexcept { return {s.data(), s.size()}; }

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

/// Runs `f`, turning an escaping exception (only std::bad_alloc in practice)
/// into errc::internal.
template <class F>
status guarded(std::string_view what, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    return {errc::internal, std::string{what} + ": " + e.what()};
  } catch (...) {
    return {errc::internal, std::string{what} + ": unknown exception"};
  }
}

/// Checks that a schema can be a set of column families.
status validate_schema(const vstore::schema& s) {
  if (s.spaces.empty()) return {errc::invalid_config, "schema has no spaces"};
  if (s.spaces.size() > max_spaces)
    return {errc::invalid_config, "schema has " + std::to_string(s.spaces.size()) +
                                      " spaces, at most " + std::to_string(max_spaces) +
                                      " allowed"};
  std::set<std::string> seen;
  for (const auto& sp : s.spaces) {
    if (sp.name.empty()) return {errc::invalid_config, "space with an empty name"};
    if (sp.name == rocksdb::kDefaultColumnFamilyName)
      return {errc::invalid_config, "space name \"default\" is reserved"};
    if (!seen.insert(sp.name).second)
      return {errc::invalid_config, "duplicate space name \"" + sp.name + "\""};
  }
  return {};
}

/// Recovers the database at `path` read-only (its MANIFEST and WAL) and
/// closes it again; returns what went wrong, e.g. errc::corruption.
status check_recoverable(const rocksdb::DBOptions& dbo, const std::string& path) {
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(rocksdb::Options{dbo, rocksdb::ColumnFamilyOptions{}}, path,
                                        &db);
  delete db;
  return to_status(s, "open " + path);
}

/// Joins names as "a, b, c".
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

/// Returns the bytes available to unprivileged users on the file system of
/// `path`, or UINT64_MAX if it cannot be read.
uint64_t free_space(const std::string& path) noexcept {
  struct statvfs sv {};
  if (::statvfs(path.c_str(), &sv) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(sv.f_bavail) * static_cast<uint64_t>(sv.f_frsize);
}

int64_t unix_ms_now() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Renders a byte count as "12.3 MiB".
std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

/// How often commits re-read the free space at most (see space_ok).
constexpr auto space_check_period = std::chrono::milliseconds(100);

}  // namespace

/// The RocksDB handles of an open store.
struct rocksdb_store::impl {
  vstore::schema schema;
  /// The DB's environment: the one given to open (or RocksDB's default) with
  /// its file system wrapped by make_no_io_fs. Outlives `db` (close()).
  std::unique_ptr<rocksdb::Env> env;
  rocksdb::DB* db = nullptr;
  /// The handle of each space, indexed by space id.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  /// The handle of the "default" family: system_space.
  rocksdb::ColumnFamilyHandle* default_handle = nullptr;
  std::shared_ptr<rocksdb::Cache> cache;
  /// vstore's writer of the LOG file (see info_log.hpp).
  std::shared_ptr<rocksdb::Logger> info_log;
  rocksdb::WriteOptions write_options;
  /// Serializes commits so that each answers a strictly larger sequence.
  std::mutex commit_mutex;
  /// Opened with DB::OpenForReadOnly (db_options::read_only).
  bool read_only = false;

  // -- health (see rocksdb_store::state) --
  std::string path;
  /// store.min-free-space (0: no check).
  uint64_t min_free = 0;
  /// The free space at the last check, when it was read, and the bytes
  /// committed since (guarded by commit_mutex).
  uint64_t checked_free = UINT64_MAX;
  std::chrono::steady_clock::time_point checked_at{};
  uint64_t written_since_check = 0;
  std::atomic<uint8_t> state{static_cast<uint8_t>(health_state::ok)};
  /// A WAL write failed since the last resume: the WAL writer saw the error,
  /// and only a switch to a new WAL replaces it.
  std::atomic<bool> wal_failed{false};
  mutable std::mutex health_mutex;
  /// Guarded by health_mutex (state mirrors health.state).
  store_health health;

  /// Sets the health; logs a change. A failed store stays failed.
  void set_health(health_state to, errc code, const std::string& message) {
    std::lock_guard<std::mutex> lock{health_mutex};
    auto from = health.state;
    if (from == health_state::failed && to != health_state::failed) return;
    bool changed = from != to || (to != health_state::ok && health.code != code);
    if (to != health_state::ok) {
      health.code = code;
      health.message = message;
    }
    if (from != to) {
      auto now = unix_ms_now();
      if (to == health_state::ok) {
        ++health.recoveries;
        logger().info("vstore: store {} is ok again after {} ms: writes are accepted", path,
                      now - health.since_unix_ms);
      }
      health.since_unix_ms = now;
    }
    health.state = to;
    state.store(static_cast<uint8_t>(to), std::memory_order_release);
    if (changed && to != health_state::ok)
      logger().error("vstore: store {} is {}: {}; writes are refused with {} {}", path, to_name(to),
                     message, to_name(code),
                     to == health_state::failed ? "until an operator repairs and reopens it"
                                                : "until it recovers (retried with backoff)");
  }

  /// Classifies a failed RocksDB write, flush or compaction: no space (also
  /// the SstFileManager's limit) degrades with errc::no_space, corruption or
  /// an unrecoverable error fails the store, anything else degrades with
  /// errc::io_error.
  void on_error(const rocksdb::Status& s, const std::string& what) {
    if (s.ok()) return;
    auto msg = what + " in " + path + ": " + s.ToString();
    if (s.IsCorruption() || s.severity() >= rocksdb::Status::Severity::kFatalError)
      set_health(health_state::failed, errc::unavailable, msg);
    else if (s.IsNoSpace() || s.subcode() == rocksdb::Status::SubCode::kSpaceLimit)
      set_health(health_state::degraded, errc::no_space, msg);
    else
      set_health(health_state::degraded, errc::io_error, msg);
  }

  /// Returns whether the free space allows committing `incoming` more bytes
  /// (re-read at most every space_check_period, or sooner once a quarter of
  /// the headroom may have been written); else degrades the store and
  /// explains. Called under commit_mutex.
  bool space_ok(uint64_t incoming, std::string& why) {
    if (min_free == 0) return true;
    auto now = std::chrono::steady_clock::now();
    written_since_check += incoming;
    uint64_t headroom = checked_free > min_free ? checked_free - min_free : 0;
    if (now - checked_at >= space_check_period || written_since_check * 4 >= headroom) {
      checked_free = free_space(path);
      checked_at = now;
      written_since_check = 0;
    }
    if (checked_free >= min_free) return true;
    why = "free space on " + path + " is " + mib(checked_free) + ", below store.min-free-space (" +
          mib(min_free) + ")";
    set_health(health_state::degraded, errc::no_space, why);
    return false;
  }

  /// Returns whether the active memtable of every family is empty. Then
  /// RocksDB 7.8's DB::Resume flushes nothing and keeps the WAL writer that
  /// saw the error (upstream #12873, fixed in 9.6): the next write aborts the
  /// process (Debian's librocksdb has assertions on).
  bool memtables_empty() const {
    auto empty = [&](rocksdb::ColumnFamilyHandle* h) {
      uint64_t n = 0;
      return db->GetIntProperty(h, "rocksdb.num-entries-active-mem-table", &n) && n == 0;
    };
    if (!empty(default_handle)) return false;
    for (auto* h : handles)
      if (!empty(h)) return false;
    return true;
  }

  /// Writes `wb` with the commit options (no_slowdown when `no_wait`) after
  /// the free-space check; a failed write marks the WAL writer failed and
  /// sets the health (on_error). Sets `would_wait` instead, having written
  /// nothing, when RocksDB would stall a no_wait write. `what` names the
  /// write in an error. The one write path of commits, apply_log and
  /// set_applied_log; called under commit_mutex.
  status write_locked(rocksdb::WriteBatch& wb, bool no_wait, bool& would_wait,
                      std::string_view what) {
    std::string why;
    if (!space_ok(wb.GetDataSize(), why)) return {errc::no_space, std::move(why)};
    auto wo = write_options;
    wo.no_slowdown = no_wait;
    auto s = db->Write(wo, &wb);
    if (no_wait && s.IsIncomplete()) {
      // A write stall: RocksDB refused the write before writing anything.
      would_wait = true;
      return {};
    }
    if (!s.ok()) {
      wal_failed.store(true);
      on_error(s, "write failed");
      return to_status(s, what);
    }
    return {};
  }

  /// The primary's sequence number through which this store applied its log
  /// (the record at rocksdb_store::applied_log_key(), 0 when absent): loaded
  /// at open, stored after each write of the record (under commit_mutex).
  std::atomic<uint64_t> applied_log{0};

  /// Reads the applied-log record into applied_log; a record that is not 8
  /// bytes is errc::corruption.
  status load_applied_log() {
    rocksdb::PinnableSlice v;
    auto key = rocksdb_store::applied_log_key();
    auto s = db->Get(rocksdb::ReadOptions{}, default_handle, to_slice(key), &v);
    if (s.IsNotFound()) {
      applied_log.store(0);
      return {};
    }
    if (!s.ok()) return to_status(s, "read the applied-log record of " + path);
    uint64_t x = 0;
    if (v.size() != 8 || !read_be(std::string_view{v.data(), v.size()}, 0, x))
      return {errc::corruption, "applied-log record of " + std::to_string(v.size()) +
                                    " bytes (expected 8) in " + path};
    applied_log.store(x);
    return {};
  }

  /// What the last open replayed from each WAL file; its filter is referenced
  /// by the DB's options, so it is destroyed after close().
  wal_recovery wal;

  // -- read_log's cursors (see rocksdb_store::read_log) --

  /// A TransactionLogIterator that read_log keeps between calls, so that the
  /// next call from `next` continues it instead of DB::GetUpdatesSince
  /// (which reads the WAL file from its start).
  struct log_cursor {
    std::unique_ptr<rocksdb::TransactionLogIterator> it;
    /// The sequence the next batch must start at.
    uint64_t next = 0;
    /// A batch taken from `it` but not answered (it starts at `next`), or
    /// none (a null writeBatchPtr).
    rocksdb::BatchResult held;
    /// Whether `it`'s current batch was taken: Next() comes before the next.
    bool advance = false;
    /// When read_log last put it back.
    std::chrono::steady_clock::time_point used{};
  };
  /// At most this many cursors are kept (one per reader reading at once);
  /// the least recently used makes room.
  static constexpr size_t max_log_cursors = 4;
  /// A cursor unused for this long is dropped (it holds its WAL file open,
  /// which keeps the disk space of a deleted file).
  static constexpr std::chrono::seconds log_cursor_idle{30};
  std::mutex log_cursors_mutex;
  /// Guarded by log_cursors_mutex.
  std::vector<log_cursor> log_cursors;
  /// The DB::GetUpdatesSince calls of read_log since the open.
  std::atomic<uint64_t> log_iterators_opened{0};

  /// Takes out a cursor whose next batch starts at `next`, if one is kept;
  /// drops those unused for log_cursor_idle.
  std::optional<log_cursor> take_log_cursor(uint64_t next) {
    std::optional<log_cursor> out;
    std::vector<log_cursor> idle;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock{log_cursors_mutex};
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < log_cursors.size();) {
      auto& c = log_cursors[i];
      if (c.next == next && !out) {
        out = std::move(c);
      } else if (now - c.used >= log_cursor_idle) {
        idle.push_back(std::move(c));
      } else {
        ++i;
        continue;
      }
      log_cursors.erase(log_cursors.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return out;
  }

  /// Keeps `c` for the next read_log from c.next, in place of the least
  /// recently used cursor when max_log_cursors are kept. Several may be at
  /// the same position (readers that caught up with the same commit).
  void keep_log_cursor(log_cursor c) {
    c.used = std::chrono::steady_clock::now();
    log_cursor dropped;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock{log_cursors_mutex};
    if (log_cursors.size() < max_log_cursors) {
      log_cursors.push_back(std::move(c));
      return;
    }
    auto slot =
        std::min_element(log_cursors.begin(), log_cursors.end(),
                         [](const log_cursor& a, const log_cursor& b) { return a.used < b.used; });
    dropped = std::move(*slot);
    *slot = std::move(c);
  }

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  ~impl() { close(); }

  /// Returns the family of `space` (a schema space or system_space; checked
  /// by the caller).
  rocksdb::ColumnFamilyHandle* handle_of(space_id space) const noexcept {
    return space == system_space ? default_handle : handles[space];
  }

  /// Releases the family handles, then closes and deletes the DB.
  void close() noexcept {
    if (db == nullptr) return;
    {
      // The iterators read through the DB's options and versions.
      std::lock_guard<std::mutex> lock{log_cursors_mutex};
      log_cursors.clear();
    }
    for (auto* h : handles)
      if (h != nullptr) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles.clear();
    if (default_handle != nullptr) {
      db->DestroyColumnFamilyHandle(default_handle).PermitUncheckedError();
      default_handle = nullptr;
    }
    db->Close().PermitUncheckedError();
    delete db;
    db = nullptr;
  }
};

namespace {

/// Reports RocksDB's background errors (failed flushes, compactions, WAL or
/// MANIFEST writes) and its own recoveries to the store's health.
class health_listener final : public rocksdb::EventListener {
 public:
  explicit health_listener(rocksdb_store::impl* owner) : owner_(owner) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* err) override {
    if (err == nullptr || err->ok()) return;
    if (reason == rocksdb::BackgroundErrorReason::kWriteCallback ||
        reason == rocksdb::BackgroundErrorReason::kMemTable)
      owner_->wal_failed.store(true);
    owner_->on_error(*err, std::string{"RocksDB background error ("} + reason_name(reason) + ")");
  }

  // Only store::recover resumes (it checks the memtables first): RocksDB's
  // own recovery from a no-space error would not. (Its retry of retryable
  // I/O errors is off: max_bgerror_resume_count = 0.)
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (!info.new_bg_error.ok()) return;
    // RocksDB resumed by itself; vstore's own reserve (and its margin, see
    // recover) still applies.
    if (owner_->min_free > 0 && free_space(owner_->path) < owner_->min_free + owner_->min_free / 10)
      return;
    owner_->set_health(health_state::ok, errc::internal, {});
  }

 private:
  static const char* reason_name(rocksdb::BackgroundErrorReason r) noexcept {
    switch (r) {
      case rocksdb::BackgroundErrorReason::kFlush:
        return "flush";
      case rocksdb::BackgroundErrorReason::kCompaction:
        return "compaction";
      case rocksdb::BackgroundErrorReason::kWriteCallback:
        return "write";
      case rocksdb::BackgroundErrorReason::kMemTable:
        return "memtable";
      case rocksdb::BackgroundErrorReason::kManifestWrite:
        return "MANIFEST write";
      case rocksdb::BackgroundErrorReason::kFlushNoWAL:
        return "flush";
      case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
        return "MANIFEST write";
    }
    return "unknown";
  }

  rocksdb_store::impl* owner_;
};

/// A write batch wrapping a rocksdb::WriteBatch.
class rocksdb_batch final : public write_batch {
 public:
  explicit rocksdb_batch(const rocksdb_store::impl* owner) : owner_(owner) {}

  void put(space_id space, std::string_view key, std::string_view value) override {
    if (!accept(space, key)) return;
    record(rep_.Put(owner_->handle_of(space), to_slice(key), to_slice(value)), "batch put",
           key.size() + value.size());
  }

  void del(space_id space, std::string_view key) override {
    if (!accept(space, key)) return;
    record(rep_.Delete(owner_->handle_of(space), to_slice(key)), "batch delete", key.size());
  }

  void delete_range(space_id space, std::string_view begin, std::string_view end) override {
    if (!accept(space, begin) || !accept(space, end)) return;
    if (begin > end) {
      error_ = status{errc::invalid_argument, "delete_range end before begin in space " +
                                                  space_name(owner_->schema, space)};
      return;
    }
    record(rep_.DeleteRange(owner_->handle_of(space), to_slice(begin), to_slice(end)),
           "batch delete_range", begin.size() + end.size());
  }

  size_t count() const noexcept override { return count_; }
  size_t byte_size() const noexcept override { return bytes_; }
  const status& error() const noexcept override { return error_; }

  const rocksdb_store::impl* owner() const noexcept { return owner_; }
  rocksdb::WriteBatch& rep() noexcept { return rep_; }
  const rocksdb::WriteBatch& rep() const noexcept { return rep_; }

 private:
  bool accept(space_id space, std::string_view key) {
    if (!error_) return false;
    error_ = check_op(owner_->schema, space, key);
    return error_.is_ok();
  }

  void record(const rocksdb::Status& s, std::string_view what, size_t bytes) {
    if (!s.ok()) {
      error_ = to_status(s, what);
      return;
    }
    ++count_;
    bytes_ += bytes;
  }

  const rocksdb_store::impl* owner_;
  rocksdb::WriteBatch rep_;
  size_t count_ = 0;
  size_t bytes_ = 0;
  status error_;
};

/// Returns the column family options of a space (or of "default" when `sp` is
/// null).
rocksdb::ColumnFamilyOptions make_cf_options(const db_options& db, const space_options* sp,
                                             const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = static_cast<size_t>(db.write_buffer_bytes);
  cf.level_compaction_dynamic_level_bytes = db.dynamic_level_bytes;
  rocksdb::BlockBasedTableOptions table;
  if (cache) table.block_cache = cache;
  if (sp != nullptr) {
    cf.compression = to_rocksdb(sp->comp);
    if (sp->prefix_length > 0)
      cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(sp->prefix_length));
    if (sp->bloom_bits > 0)
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(sp->bloom_bits, false));
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

/// Opens the database; the body of rocksdb_store::open.
status open_db(const options& opts, rocksdb_store::impl& st, rocksdb::Env* env) {
  if (opts.db.path.empty()) return {errc::invalid_config, "store path is empty"};
  if (auto v = validate_schema(opts.schema); !v) return v;
  namespace fs = std::filesystem;
  const auto& path = opts.db.path;
  st.schema = opts.schema;

  const bool read_only = opts.db.read_only;
  if (opts.db.create_if_missing && !read_only) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return {errc::io_error, "cannot create directory " + path + ": " + ec.message()};
  }

  auto settings = make_rocksdb_settings(opts);
  rocksdb::DBOptions& dbo = settings.db;
  st.path = path;
  st.min_free = opts.db.min_free_bytes;
  dbo.listeners.push_back(std::make_shared<health_listener>(&st));
  // No automatic resume from retryable I/O errors: only store::recover
  // resumes. (This also keeps DB::Close from waiting forever for a retry
  // thread that RocksDB 7.8 ended without clearing its recovery flag.)
  dbo.max_bgerror_resume_count = 0;
  // RocksDB's SstFileManager: the optional cap on SST space, and the
  // free-space polling of RocksDB's own recovery from no-space errors.
  // (Read-only: none; it could delete trash files.)
  rocksdb::Status sfm_status;
  if (env == nullptr) env = rocksdb::Env::Default();
  // Table files are read through no_io_fs, so that a cache-only multi_get
  // can forbid its thread to read them (read_many).
  st.env = rocksdb::NewCompositeEnv(make_no_io_fs(env->GetFileSystem()));
  dbo.env = st.env.get();
  if (!read_only) {
    dbo.sst_file_manager.reset(
        rocksdb::NewSstFileManager(env, env->GetFileSystem(), nullptr, "", 0, true, &sfm_status));
    if (!sfm_status.ok()) return to_status(sfm_status, "SstFileManager for " + path);
    if (opts.db.max_disk_bytes > 0)
      dbo.sst_file_manager->SetMaxAllowedSpaceUsage(opts.db.max_disk_bytes);
  }

  // An existing database must have exactly the configured families.
  std::vector<std::string> existing;
  auto listed = rocksdb::DB::ListColumnFamilies(dbo, path, &existing);
  std::error_code ec;
  bool has_db = fs::exists(fs::path{path} / "CURRENT", ec);
  if (listed.ok()) {
    std::set<std::string> on_disk;
    for (auto& n : existing)
      if (n != rocksdb::kDefaultColumnFamilyName) on_disk.insert(n);
    std::vector<std::string> extra;
    std::vector<std::string> missing;
    for (const auto& n : on_disk)
      if (!opts.schema.find(n)) extra.push_back(n);
    for (const auto& sp : opts.schema.spaces)
      if (on_disk.count(sp.name) == 0) missing.push_back(sp.name);
    if (!extra.empty() || (!missing.empty() && (!opts.db.allow_new_spaces || read_only))) {
      // An empty or garbled MANIFEST lists only "default", without an error:
      // recover the database read-only first, so that such damage is
      // reported as corruption rather than as a schema difference.
      if (auto damaged = check_recoverable(dbo, path); !damaged) return damaged;
      std::string msg = "database " + path;
      if (!extra.empty()) msg += " has unconfigured column families [" + join(extra) + "]";
      if (!extra.empty() && !missing.empty()) msg += " and";
      if (!missing.empty()) msg += " lacks configured column families [" + join(missing) + "]";
      if (!missing.empty() && read_only)
        msg += " (opened read-only: cannot create them)";
      else if (!missing.empty() && !opts.db.allow_new_spaces)
        msg += " (set allow-new-spaces to create them)";
      return {errc::schema_mismatch, std::move(msg)};
    }
    dbo.create_missing_column_families = !missing.empty();
  } else if (has_db) {
    return to_status(listed, "list column families of " + path);
  } else if (read_only) {
    return {errc::invalid_config, "no database in " + path + " (opened read-only)"};
  } else if (!opts.db.create_if_missing) {
    return {errc::invalid_config, "no database in " + path + " and create-if-missing is false"};
  } else {
    // A new database: create every family (if create_if_missing allows it).
    dbo.create_missing_column_families = true;
  }

  st.cache = settings.cache;
  const auto& descriptors = settings.families;

  // RocksDB's own info logger aborts the process when it writes again after a
  // failed write (a full disk); vstore's drops and counts such lines. Made
  // only now, so that a directory without a database stays untouched.
  // Read-only: none, and RocksDB makes none either (nothing is written).
  if (!read_only) {
    dbo.info_log = make_info_log(path, opts.db.info_log_max_bytes, opts.db.info_log_keep);
    st.info_log = dbo.info_log;
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  st.wal.prepare(path, dbo);  // counts the WAL records before and during recovery
  st.read_only = read_only;
  auto s = read_only ? rocksdb::DB::OpenForReadOnly(dbo, path, descriptors, &handles, &db)
                     : rocksdb::DB::Open(dbo, path, descriptors, &handles, &db);
  if (!s.ok()) {
    // RocksDB hands out nothing on failure, but be safe.
    if (db != nullptr) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      delete db;
    }
    return to_status(s, "open " + path);
  }
  st.wal.finish();  // logs records that point-in-time recovery dropped
  st.db = db;
  st.default_handle = handles.at(0);
  st.handles.assign(handles.begin() + 1, handles.end());
  st.write_options = settings.write;
  return {};
}

}  // namespace

rocksdb_settings make_rocksdb_settings(const options& opts) {
  rocksdb_settings out;
  auto& dbo = out.db;
  dbo.IncreaseParallelism(static_cast<int>(std::max<uint32_t>(opts.db.parallelism, 1)));
  dbo.max_background_jobs = static_cast<int>(std::max<uint32_t>(opts.db.max_background_jobs, 1));
  dbo.bytes_per_sync = opts.db.bytes_per_sync;
  dbo.paranoid_checks = opts.db.paranoid_checks;
  dbo.create_if_missing = opts.db.create_if_missing;
  dbo.create_missing_column_families = false;
  dbo.max_log_file_size = static_cast<size_t>(opts.db.info_log_max_bytes);
  dbo.keep_log_file_num = std::max<size_t>(opts.db.info_log_keep, 1);
  // The WAL a read replica may still need (both 0: deleted as soon as the
  // store itself no longer needs it).
  const auto& repl = opts.replication;
  dbo.WAL_ttl_seconds = static_cast<uint64_t>(std::max<int64_t>(repl.wal_keep_age.count(), 0));
  constexpr uint64_t mib_bytes = 1u << 20;
  dbo.WAL_size_limit_MB =
      repl.wal_keep_bytes / mib_bytes + (repl.wal_keep_bytes % mib_bytes != 0 ? 1 : 0);
  if (opts.db.block_cache_bytes > 0)
    out.cache = rocksdb::NewLRUCache(static_cast<size_t>(opts.db.block_cache_bytes));
  out.families.emplace_back(rocksdb::kDefaultColumnFamilyName,
                            make_cf_options(opts.db, nullptr, out.cache));
  for (const auto& sp : opts.schema.spaces)
    out.families.emplace_back(sp.name, make_cf_options(opts.db, &sp.options, out.cache));
  out.write.sync = opts.db.sync;
  out.write.disableWAL = false;
  return out;
}

rocksdb_store::rocksdb_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

rocksdb_store::~rocksdb_store() = default;

status rocksdb_store::open(const options& opts, std::unique_ptr<rocksdb_store>& out) {
  return open(opts, out, nullptr);
}

status rocksdb_store::open(const options& opts, std::unique_ptr<rocksdb_store>& out,
                           rocksdb::Env* env) {
  out.reset();
  return guarded("open rocksdb store", [&]() -> status {
    auto p = std::make_unique<impl>();
    if (auto st = open_db(opts, *p, env); !st) return st;
    if (auto st = p->load_applied_log(); !st) return st;
    out.reset(new rocksdb_store(std::move(p)));
    return {};
  });
}

namespace {

/// ReadOptions for a read that may wait for the disk, or (cache_only) one
/// that answers from memtables and the block cache or not at all.
rocksdb::ReadOptions read_options(bool cache_only, const rocksdb::Snapshot* at = nullptr) {
  rocksdb::ReadOptions ro;
  if (cache_only) ro.read_tier = rocksdb::kBlockCacheTier;
  ro.snapshot = at;
  return ro;
}

/// What a cache-only read answers when it would have to wait: nothing.
std::optional<status> unless_incomplete(const status& st, bool incomplete) {
  if (incomplete) return std::nullopt;
  return st;
}

}  // namespace

status rocksdb_store::read_one(space_id space, std::string_view key, std::string& value,
                               bool& found, bool cache_only, bool& incomplete,
                               const rocksdb::Snapshot* at) const {
  found = false;
  if (auto st = check_op(impl_->schema, space, key); !st) return st;
  return guarded("get", [&]() -> status {
    rocksdb::PinnableSlice v;
    auto s =
        impl_->db->Get(read_options(cache_only, at), impl_->handle_of(space), to_slice(key), &v);
    if (s.IsNotFound()) return {};
    if (cache_only && s.IsIncomplete()) {
      incomplete = true;
      return {};
    }
    if (!s.ok()) return to_status(s, "get from " + space_name(impl_->schema, space));
    value.assign(v.data(), v.size());
    found = true;
    return {};
  });
}

status rocksdb_store::get(space_id space, std::string_view key, std::string& value,
                          bool& found) const {
  bool incomplete = false;
  return read_one(space, key, value, found, false, incomplete);
}

std::optional<status> rocksdb_store::try_get(space_id space, std::string_view key,
                                             std::string& value, bool& found) const {
  bool incomplete = false;
  auto st = read_one(space, key, value, found, true, incomplete);
  return unless_incomplete(st, incomplete);
}

namespace {

/// The answers of one DB::MultiGet.
struct multi_get_answers {
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
};

/// Reads `keys` of `space` with one DB::MultiGet (one consistent view: `ro`'s
/// snapshot, or its own).
multi_get_answers multi_get_once(const rocksdb_store::impl& db, space_id space,
                                 const std::vector<std::string>& keys,
                                 const rocksdb::ReadOptions& ro) {
  const size_t n = keys.size();
  std::vector<rocksdb::Slice> slices;
  slices.reserve(n);
  for (const auto& k : keys) slices.emplace_back(k);
  multi_get_answers out;
  out.values.resize(n);
  out.statuses.resize(n);
  db.db->MultiGet(ro, db.handle_of(space), n, slices.data(), out.values.data(), out.statuses.data(),
                  false);
  return out;
}

/// Copies answers whose statuses are all OK or NotFound into `values`.
void copy_answers(const multi_get_answers& a, std::vector<std::optional<std::string>>& values) {
  values.reserve(a.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (a.statuses[i].IsNotFound())
      values.emplace_back(std::nullopt);
    else
      values.emplace_back(std::string{a.values[i].data(), a.values[i].size()});
  }
}

/// A cache-only multi_get as one DB::MultiGet at `at` (nullptr: its own
/// consistent view) that reads no table file. Sets `incomplete` when a key
/// needs the disk; leaves `values` empty when the answer has to be read
/// again key by key (read_each_cached).
status read_many_cached(const rocksdb_store::impl& db, space_id space,
                        const std::vector<std::string>& keys,
                        std::vector<std::optional<std::string>>& values, bool& incomplete,
                        const rocksdb::Snapshot* at) {
  multi_get_answers a;
  bool refused = false;
  {
    // RocksDB 7.8's MultiGet reads the data blocks missing from the cache
    // from the file whatever the read tier: no_io_fs refuses those reads on
    // this thread, and RocksDB answers their keys with an I/O error.
    no_io_scope no_io;
    a = multi_get_once(db, space, keys, read_options(true, at));
    refused = no_io.refused();
  }
  bool recheck = false;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& s = a.statuses[i];
    if (s.IsNotFound()) continue;
    if (s.IsIncomplete() || (!s.ok() && refused)) {
      incomplete = true;  // a reader that may block reads it (a real error shows there)
      return {};
    }
    if (!s.ok()) return to_status(s, "multi_get from " + space_name(db.schema, space));
    // Where RocksDB cannot tell without I/O whether a key exists (a table not
    // open, a merge that goes on in an uncached block), its cache-only lookup
    // answers the key as found with no value. vstore's settings never open a
    // table lazily and set no merge operator; still, an empty value is read
    // again by a cache-only Get, which answers such a key as incomplete.
    if (a.values[i].empty()) recheck = true;
  }
  if (!recheck) copy_answers(a, values);
  return {};
}

/// A cache-only multi_get as one cache-only DB::Get per key, all at `at` or
/// at a snapshot of its own.
status read_each_cached(const rocksdb_store::impl& db, space_id space,
                        const std::vector<std::string>& keys,
                        std::vector<std::optional<std::string>>& values, bool& incomplete,
                        const rocksdb::Snapshot* at) {
  std::optional<rocksdb::ManagedSnapshot> own;
  if (at == nullptr) at = own.emplace(db.db).snapshot();
  auto ro = read_options(true, at);
  values.clear();
  values.reserve(keys.size());
  rocksdb::PinnableSlice v;
  for (const auto& k : keys) {
    v.Reset();
    auto s = db.db->Get(ro, db.handle_of(space), to_slice(k), &v);
    if (s.IsNotFound()) {
      values.emplace_back(std::nullopt);
    } else if (s.IsIncomplete()) {
      values.clear();
      incomplete = true;
      return {};
    } else if (!s.ok()) {
      values.clear();
      return to_status(s, "multi_get from " + space_name(db.schema, space));
    } else {
      values.emplace_back(std::string{v.data(), v.size()});
    }
  }
  return {};
}

}  // namespace

status rocksdb_store::read_many(space_id space, const std::vector<std::string>& keys,
                                std::vector<std::optional<std::string>>& values, bool cache_only,
                                bool& incomplete, const rocksdb::Snapshot* at) const {
  values.clear();
  for (const auto& k : keys)
    if (auto st = check_op(impl_->schema, space, k); !st) return st;
  if (keys.empty()) return {};
  if (cache_only) {
    return guarded("multi_get", [&]() -> status {
      if (auto st = read_many_cached(*impl_, space, keys, values, incomplete, at);
          !st || incomplete || !values.empty())
        return st;
      // An answer to read again key by key (see read_many_cached).
      return read_each_cached(*impl_, space, keys, values, incomplete, at);
    });
  }
  return guarded("multi_get", [&]() -> status {
    auto a = multi_get_once(*impl_, space, keys, read_options(false, at));
    for (const auto& s : a.statuses)
      if (!s.ok() && !s.IsNotFound())
        return to_status(s, "multi_get from " + space_name(impl_->schema, space));
    copy_answers(a, values);
    return {};
  });
}

status rocksdb_store::multi_get(space_id space, const std::vector<std::string>& keys,
                                std::vector<std::optional<std::string>>& values) const {
  bool incomplete = false;
  return read_many(space, keys, values, false, incomplete);
}

std::optional<status> rocksdb_store::try_multi_get(
    space_id space, const std::vector<std::string>& keys,
    std::vector<std::optional<std::string>>& values) const {
  bool incomplete = false;
  auto st = read_many(space, keys, values, true, incomplete);
  return unless_incomplete(st, incomplete);
}

status rocksdb_store::scan(space_id space, std::string_view prefix, std::string_view start_after,
                           size_t limit, scan_page& page) const {
  bool incomplete = false;
  return read_page(space, prefix, start_after, limit, page, false, incomplete);
}

std::optional<status> rocksdb_store::try_scan(space_id space, std::string_view prefix,
                                              std::string_view start_after, size_t limit,
                                              scan_page& page) const {
  bool incomplete = false;
  auto st = read_page(space, prefix, start_after, limit, page, true, incomplete);
  return unless_incomplete(st, incomplete);
}

status rocksdb_store::read_page(space_id space, std::string_view prefix,
                                std::string_view start_after, size_t limit, scan_page& page,
                                bool cache_only, bool& incomplete,
                                const rocksdb::Snapshot* at) const {
  page.entries.clear();
  page.more = false;
  if (!accepts_space(impl_->schema, space))
    return {errc::unknown_space, "space id " + std::to_string(space)};
  if (limit == 0) return {errc::invalid_argument, "scan limit 0"};
  // Start at the prefix, or at start_after when it lies inside or beyond it.
  std::string_view from = prefix;
  if (!start_after.empty() && start_after > prefix) {
    // A start_after above the prefix that does not start with it is greater
    // than every key with the prefix: the page is empty.
    if (!starts_with(start_after, prefix)) return {};
    from = start_after;
  }
  return guarded("scan", [&]() -> status {
    // system_space has no prefix extractor.
    const uint32_t prefix_length =
        space == system_space ? 0 : impl_->schema.spaces[space].options.prefix_length;
    // Without `at`, no explicit snapshot: an iterator reads at the sequence
    // it was created at, one consistent view, and GetSnapshot would take the
    // DB mutex.
    auto ro = read_options(cache_only, at);
    // A prefix shorter than the extractor's length (or none at all) spans
    // several extracted prefixes: only a total-order seek finds all its keys.
    // From the extractor's length on, `from` lies in the extractor's domain
    // and every key of the prefix shares its extracted prefix.
    if (prefix_length == 0 || prefix.size() < prefix_length)
      ro.total_order_seek = true;
    else
      ro.prefix_same_as_start = true;
    const std::string upper = prefix_successor(prefix);
    rocksdb::Slice upper_slice{upper};
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->handle_of(space))};
    // Room for a short page at once (growing it entry by entry reallocated
    // and moved the page 4 times for 10 entries).
    page.entries.reserve(std::min<size_t>(limit, 64));
    it->Seek(to_slice(from));
    if (!start_after.empty() && it->Valid() && it->key() == to_slice(start_after)) it->Next();
    for (; it->Valid(); it->Next()) {
      auto k = it->key();
      if (!starts_with(std::string_view{k.data(), k.size()}, prefix)) break;
      if (page.entries.size() == limit) {
        page.more = true;
        break;
      }
      page.entries.push_back(key_value{k.ToString(), it->value().ToString()});
    }
    if (auto s = it->status(); !s.ok()) {
      page.entries.clear();
      page.more = false;
      if (cache_only && s.IsIncomplete()) {
        incomplete = true;
        return {};
      }
      return to_status(s, "scan of " + space_name(impl_->schema, space));
    }
    return {};
  });
}

const vstore::schema& rocksdb_store::schema() const noexcept { return impl_->schema; }

std::unique_ptr<write_batch> rocksdb_store::make_batch() const {
  return std::make_unique<rocksdb_batch>(impl_.get());
}

status rocksdb_store::write(write_batch& batch, uint64_t& seq, bool no_wait, bool& would_wait) {
  auto* b = dynamic_cast<rocksdb_batch*>(&batch);
  if (b == nullptr || b->owner() != impl_.get())
    return {errc::invalid_argument, "batch was not made by this rocksdb store"};
  if (!b->error()) return b->error();
  if (b->count() == 0) {
    seq = impl_->db->GetLatestSequenceNumber();
    return {};
  }
  if (no_wait && impl_->write_options.sync) {
    would_wait = true;  // an fsync always waits
    return {};
  }
  return guarded("commit", [&]() -> status {
    std::lock_guard<std::mutex> lock{impl_->commit_mutex};
    auto st = impl_->write_locked(b->rep(), no_wait, would_wait, "write batch");
    if (!st || would_wait) return st;
    seq = impl_->db->GetLatestSequenceNumber();
    return {};
  });
}

status rocksdb_store::commit(write_batch& batch, uint64_t& seq) {
  bool would_wait = false;
  return write(batch, seq, false, would_wait);
}

std::optional<status> rocksdb_store::try_commit(write_batch& batch, uint64_t& seq) {
  bool would_wait = false;
  auto st = write(batch, seq, true, would_wait);
  if (would_wait) return std::nullopt;
  return st;
}

health_state rocksdb_store::state() const noexcept {
  return static_cast<health_state>(impl_->state.load(std::memory_order_acquire));
}

store_health rocksdb_store::health() const {
  store_health h;
  {
    std::lock_guard<std::mutex> lock{impl_->health_mutex};
    h = impl_->health;
  }
  h.free_bytes = free_space(impl_->path);
  return h;
}

status rocksdb_store::recover() {
  return guarded("recover", [&]() -> status {
    std::lock_guard<std::mutex> lock{impl_->commit_mutex};
    auto st = state();
    if (st == health_state::ok) return {};
    if (st == health_state::failed) return {errc::unavailable, health().message};
    if (impl_->min_free > 0) {
      impl_->checked_free = free_space(impl_->path);
      impl_->checked_at = std::chrono::steady_clock::now();
      impl_->written_since_check = 0;
      // A tenth above the reserve, so that the store does not flap between
      // ok and degraded around it.
      if (impl_->checked_free < impl_->min_free + impl_->min_free / 10) {
        auto why = "free space on " + impl_->path + " is " + mib(impl_->checked_free) +
                   ", below store.min-free-space (" + mib(impl_->min_free) +
                   ") plus a tenth, needed to resume writes";
        impl_->set_health(health_state::degraded, errc::no_space, why);
        return {errc::no_space, std::move(why)};
      }
    }
    // Clears RocksDB's background error (flushing what failed); OK at once
    // when there is none. Busy while RocksDB's own recovery runs.
    if (impl_->wal_failed.load() && impl_->memtables_empty()) {
      auto why = "cannot resume " + impl_->path +
                 " after a failed WAL write while every memtable is empty (RocksDB 7.8 would "
                 "keep the failed WAL writer and abort on the next write); reopen the store";
      impl_->set_health(health_state::failed, errc::unavailable, why);
      return {errc::unavailable, std::move(why)};
    }
    auto s = impl_->db->Resume();
    if (s.IsBusy()) return {errc::overloaded, "RocksDB's own recovery is running"};
    if (!s.ok()) {
      impl_->on_error(s, "resume failed");
      return to_status(s, "resume");
    }
    impl_->wal_failed.store(false);
    impl_->set_health(health_state::ok, errc::internal, {});
    return {};
  });
}

uint64_t rocksdb_store::latest_sequence() const noexcept {
  return impl_->db->GetLatestSequenceNumber();
}

/// A RocksDB snapshot as a read_view: the store's own reads at the snapshot.
class rocksdb_view final : public read_view {
 public:
  rocksdb_view(const rocksdb_store& s, rocksdb::DB* db)
      : store_(s), snapshot_(db), at_(snapshot_.snapshot()) {}

  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    bool incomplete = false;
    return store_.read_one(space, key, value, found, false, incomplete, at());
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    bool incomplete = false;
    return store_.read_many(space, keys, values, false, incomplete, at());
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    bool incomplete = false;
    return store_.read_page(space, prefix, start_after, limit, page, false, incomplete, at());
  }
  std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                bool& found) const override {
    bool incomplete = false;
    auto st = store_.read_one(space, key, value, found, true, incomplete, at());
    return unless_incomplete(st, incomplete);
  }
  std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override {
    bool incomplete = false;
    auto st = store_.read_many(space, keys, values, true, incomplete, at());
    return unless_incomplete(st, incomplete);
  }
  std::optional<status> try_scan(space_id space, std::string_view prefix,
                                 std::string_view start_after, size_t limit,
                                 scan_page& page) const override {
    bool incomplete = false;
    auto st = store_.read_page(space, prefix, start_after, limit, page, true, incomplete, at());
    return unless_incomplete(st, incomplete);
  }
  uint64_t sequence() const noexcept override { return at()->GetSequenceNumber(); }

 private:
  const rocksdb::Snapshot* at() const noexcept { return at_; }

  const rocksdb_store& store_;
  rocksdb::ManagedSnapshot snapshot_;
  const rocksdb::Snapshot* at_;
};

status rocksdb_store::snapshot(std::shared_ptr<const read_view>& out) const {
  return guarded("snapshot", [&]() -> status {
    out = std::make_shared<rocksdb_view>(*this, impl_->db);
    return {};
  });
}

uint64_t rocksdb_store::next_sequence(const write_batch& batch, size_t pending_ops) const {
  // With RocksDB's default write path (no seq_per_batch, no two write queues)
  // every entry of a WriteBatch, Put, Delete and DeleteRange alike, consumes
  // one sequence number; commit() does not write an empty batch.
  uint64_t entries = batch.count();
  if (auto* b = dynamic_cast<const rocksdb_batch*>(&batch); b != nullptr)
    entries = b->rep().Count();
  return impl_->db->GetLatestSequenceNumber() + entries + pending_ops;
}

status rocksdb_store::checkpoint(const std::string& dir) {
  uint64_t seq = 0;
  return checkpoint(dir, seq);
}

status rocksdb_store::checkpoint(const std::string& dir, uint64_t& seq) {
  return guarded("checkpoint", [&]() -> status {
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(impl_->db, &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp{raw};
    if (!s.ok()) return to_status(s, "checkpoint");
    // Flush while commits still run, so that the flush under the commit
    // mutex below has little left to write.
    if (!impl_->read_only) {
      auto families = impl_->handles;
      families.push_back(impl_->default_handle);
      s = impl_->db->Flush(rocksdb::FlushOptions{}, families);
      if (!s.ok()) return to_status(s, "flush memtables for a checkpoint to " + dir);
    }
    // CreateCheckpoint reads the latest sequence number before it lists the
    // files and WAL it links or copies: a commit in between would be in the
    // copy without being counted.
    std::lock_guard<std::mutex> lock{impl_->commit_mutex};
    uint64_t at = 0;
    s = cp->CreateCheckpoint(dir, 0 /* flush the memtables */, &at);
    if (!s.ok()) return to_status(s, "checkpoint to " + dir);
    seq = at;
    return {};
  });
}

namespace {

/// Reads a varint32 (RocksDB's encoding) from the front of `in`.
bool take_varint32(std::string_view& in, uint32_t& out) noexcept {
  uint32_t x = 0;
  for (uint32_t shift = 0; shift <= 28 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    x |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      out = x;
      return true;
    }
  }
  return false;
}

/// Skips a length-prefixed string at the front of `in`.
bool skip_string(std::string_view& in) noexcept {
  uint32_t n = 0;
  if (!take_varint32(in, n) || n > in.size()) return false;
  in.remove_prefix(n);
  return true;
}

/// Reads a little-endian fixed-width integer at `p`.
template <class T>
T fixed_le(const char* p) noexcept {
  T x = 0;
  for (size_t i = 0; i < sizeof(T); ++i) x |= static_cast<T>(static_cast<uint8_t>(p[i])) << (8 * i);
  return x;
}

/// Checks that `data` is a WriteBatch as a vstore store writes it: a
/// 12-byte header (sequence number and count, little-endian) naming `seq`
/// and `count`, then exactly `count` records, each a put, delete or range
/// delete of the default family or of a family id in `families`. Returns
/// what is wrong, or nothing.
///
/// Parsed here rather than by WriteBatch::Iterate: RocksDB 7.8 (built with
/// assertions) aborts on some malformed records (2PC markers, a commit
/// record with an empty timestamp) before a Handler could refuse them. The
/// record tags are RocksDB's ValueType (db/dbformat.h), part of the WAL's
/// on-disk format.
std::optional<std::string> check_log_data(std::string_view data, uint64_t seq, uint64_t count,
                                          const std::vector<uint32_t>& families) {
  constexpr size_t header = 12;
  constexpr uint8_t deletion = 0x0, value = 0x1, cf_deletion = 0x4, cf_value = 0x5,
                    cf_range_deletion = 0xE, range_deletion = 0xF;
  if (data.size() < header)
    return "data of " + std::to_string(data.size()) + " bytes is no WriteBatch (header: 12 bytes)";
  auto header_seq = fixed_le<uint64_t>(data.data());
  auto header_count = fixed_le<uint32_t>(data.data() + 8);
  if (header_seq != seq)
    return "the data's header names sequence " + std::to_string(header_seq) + ", not " +
           std::to_string(seq);
  if (header_count != count)
    return "the data's header counts " + std::to_string(header_count) + " operations, not " +
           std::to_string(count);
  if (count == 0) return std::string{"an empty batch"};
  std::string_view in = data.substr(header);
  uint64_t found = 0;
  while (!in.empty()) {
    auto at = data.size() - in.size();
    auto tag = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    uint32_t family = 0;
    bool ok = true;
    switch (tag) {
      case cf_value:
      case cf_deletion:
      case cf_range_deletion:
        ok = take_varint32(in, family);
        break;
      case value:
      case deletion:
      case range_deletion:
        break;
      default:
        return "record " + std::to_string(found + 1) + " (at byte " + std::to_string(at) +
               ") has tag " + std::to_string(tag) + ", not a put, delete or range delete";
    }
    // A put and a range delete hold two strings, a delete one.
    ok = ok && skip_string(in);
    if (ok && tag != deletion && tag != cf_deletion) ok = skip_string(in);
    if (!ok)
      return "record " + std::to_string(found + 1) + " (at byte " + std::to_string(at) +
             ") is truncated";
    if (family != 0 && std::find(families.begin(), families.end(), family) == families.end())
      return "record " + std::to_string(found + 1) + " names column family id " +
             std::to_string(family) + ", which this store does not have";
    ++found;
  }
  if (found != count)
    return "the data holds " + std::to_string(found) + " operations, its header counts " +
           std::to_string(count);
  return std::nullopt;
}

/// Returns the resync_needed answer of read_log.
status resync(uint64_t from_seq, const std::string& why) {
  return {errc::resync_needed, "read_log from sequence " + std::to_string(from_seq) + ": " + why};
}

using log_cursor = rocksdb_store::impl::log_cursor;

/// Returns the next batch of `c`: the held one, else the iterator's next
/// (none, a null writeBatchPtr, when it has no more).
///
/// A TransactionLogIterator may be continued after it ran out (RocksDB 7.8,
/// db/transaction_log_impl.cc): at the end of its last file with nothing
/// newer committed, NextImpl leaves it invalid with an ok status, and a later
/// Next() reads the records appended to that file since (log::Reader's
/// UnmarkEOF; RestrictedRead reads only up to the last published sequence).
/// It never moves to a WAL file created after GetUpdatesSince (its file list
/// is fixed): at the end of its last file it answers TryAgain ("Create a new
/// iterator to fetch the new tail") when newer sequences exist, and Next()
/// does nothing once its status is not ok.
rocksdb::BatchResult next_batch(log_cursor& c) {
  if (c.held.writeBatchPtr != nullptr) return std::move(c.held);
  if (c.advance) c.it->Next();
  c.advance = true;
  if (!c.it->Valid()) return {};
  return c.it->GetBatch();
}

/// Why read_batches stopped.
enum class log_stop {
  /// The page is complete: max_bytes or `latest` reached; `c` is at c.next.
  full,
  /// The iterator has no more batches (or failed: see its status()).
  ended,
  /// A batch did not start at c.next (described in `stray` when the page
  /// was still empty).
  gap,
};

/// Appends to `out` the batches `c` gives from c.next on, each starting
/// where the last one ended, as read_log answers them: the page began at
/// out[first]; its data stays within `max_bytes` (`bytes` so far), except
/// its first batch; none past `latest`.
log_stop read_batches(log_cursor& c, size_t first, uint64_t latest, size_t max_bytes, size_t& bytes,
                      std::vector<log_batch>& out,
                      std::optional<std::pair<uint64_t, uint64_t>>& stray) {
  while (true) {
    auto r = next_batch(c);
    if (r.writeBatchPtr == nullptr) return log_stop::ended;
    const uint64_t count = r.writeBatchPtr->Count();
    if (r.sequence != c.next) {
      if (out.size() == first) stray.emplace(r.sequence, count);
      return log_stop::gap;
    }
    if (r.sequence > latest) {  // committed after the call began
      c.held = std::move(r);
      return log_stop::full;
    }
    if (count == 0) continue;  // changes nothing (vstore writes no such batch)
    const auto& data = r.writeBatchPtr->Data();
    if (out.size() > first && bytes + data.size() > max_bytes) {
      c.held = std::move(r);
      return log_stop::full;
    }
    bytes += data.size();
    out.push_back(log_batch{r.sequence, count, data});
    c.next = r.sequence + count;
    if (c.next > latest) return log_stop::full;  // all there was at the start
  }
}

}  // namespace

uint64_t rocksdb_store::log_iterators_opened() const noexcept {
  return impl_->log_iterators_opened.load();
}

status rocksdb_store::read_log(uint64_t from_seq, size_t max_bytes,
                               std::vector<log_batch>& out) const {
  if (from_seq == 0) return {errc::invalid_argument, "read_log from sequence 0 (the first is 1)"};
  return guarded("read_log", [&]() -> status {
    const uint64_t latest = impl_->db->GetLatestSequenceNumber();
    if (from_seq == latest + 1) return {};  // nothing new
    if (from_seq > latest + 1)
      return resync(from_seq, "this store's log ends at " + std::to_string(latest) +
                                  " (the caller holds another history)");
    const size_t first = out.size();
    size_t bytes = 0;
    uint64_t next = from_seq;  // the sequence the next batch must start at
    std::optional<std::pair<uint64_t, uint64_t>> stray;
    // A cursor a previous call left at from_seq continues with the same
    // checks. When it runs out before the page is complete (its WAL file
    // ended: RocksDB does not follow a WAL switch) or meets a gap, the WAL is
    // read afresh from where it stopped, so the answer is what a fresh read
    // gives.
    if (auto c = impl_->take_log_cursor(from_seq)) {
      auto why = read_batches(*c, first, latest, max_bytes, bytes, out, stray);
      if (why == log_stop::full && c->it->status().ok()) {
        impl_->keep_log_cursor(std::move(*c));
        return {};
      }
      next = c->next;
      stray.reset();
    }
    log_cursor c;
    c.next = next;
    ++impl_->log_iterators_opened;
    auto s = impl_->db->GetUpdatesSince(next, &c.it);
    if (out.size() > first && !s.ok()) return {};  // answer what came before
    if (s.IsNotFound())
      return resync(from_seq, "the WAL no longer holds it (" + s.ToString() + ")");
    if (!s.ok()) return to_status(s, "read_log from sequence " + std::to_string(from_seq));
    auto why = read_batches(c, first, latest, max_bytes, bytes, out, stray);
    if (why == log_stop::full && c.it->status().ok()) impl_->keep_log_cursor(std::move(c));
    if (out.size() > first) return {};  // at a gap: what came before it
    if (stray) {
      const auto [seq, count] = *stray;
      if (seq > from_seq)
        return resync(from_seq,
                      "the WAL no longer holds it (deleted past the [replication] "
                      "retention); its oldest batch starts at " +
                          std::to_string(seq));
      return resync(from_seq, "it lies inside the batch " + std::to_string(seq) + ".." +
                                  std::to_string(seq + count - 1) +
                                  ", not at a batch's start (the caller holds another "
                                  "history)");
    }
    // Nothing although from_seq <= latest: the WAL lacks it.
    auto is = c.it->status();
    if (is.IsIOError()) return to_status(is, "read_log from sequence " + std::to_string(from_seq));
    return resync(from_seq,
                  "the WAL no longer holds it (deleted past the [replication] "
                  "retention; the oldest sequence still held is not known)" +
                      (is.ok() ? std::string{} : ": " + is.ToString()));
  });
}

status rocksdb_store::apply_log(const log_batch& b) {
  if (impl_->read_only) return {errc::not_supported, "apply_log on a store opened read-only"};
  return guarded("apply_log", [&]() -> status {
    auto what = [&] {
      return "apply_log of the batch " + std::to_string(b.seq) + ".." +
             std::to_string(b.last_seq());
    };
    std::vector<uint32_t> families;
    families.reserve(impl_->handles.size() + 1);
    families.push_back(impl_->default_handle->GetID());
    for (auto* h : impl_->handles) families.push_back(h->GetID());
    if (auto bad = check_log_data(b.data, b.seq, b.count, families))
      return {errc::invalid_argument, what() + ": " + *bad + "; nothing applied"};
    rocksdb::WriteBatch wb{b.data};
    auto s =
        wb.Put(impl_->default_handle, to_slice(applied_log_key()), to_slice(be_u64(b.last_seq())));
    if (!s.ok()) return to_status(s, what());
    std::lock_guard<std::mutex> lock{impl_->commit_mutex};
    const uint64_t applied = impl_->applied_log.load();
    if (b.seq != applied + 1)
      return {errc::invalid_argument, what() + ": this store applied the log through " +
                                          std::to_string(applied) +
                                          ", so the next batch starts at " +
                                          std::to_string(applied + 1) + "; nothing applied"};
    bool would_wait = false;
    if (auto st = impl_->write_locked(wb, false, would_wait, what()); !st) return st;
    impl_->applied_log.store(b.last_seq());
    return {};
  });
}

status rocksdb_store::applied_log(uint64_t& seq) const {
  seq = impl_->applied_log.load();
  return {};
}

status rocksdb_store::set_applied_log(uint64_t seq) {
  if (impl_->read_only) return {errc::not_supported, "set_applied_log on a store opened read-only"};
  return guarded("set_applied_log", [&]() -> status {
    rocksdb::WriteBatch wb;
    auto s = wb.Put(impl_->default_handle, to_slice(applied_log_key()), to_slice(be_u64(seq)));
    if (!s.ok()) return to_status(s, "set_applied_log");
    std::lock_guard<std::mutex> lock{impl_->commit_mutex};
    bool would_wait = false;
    if (auto st =
            impl_->write_locked(wb, false, would_wait, "set_applied_log " + std::to_string(seq));
        !st)
      return st;
    impl_->applied_log.store(seq);
    return {};
  });
}

status rocksdb_store::sync() {
  return guarded("sync", [&]() -> status {
    // After a failed WAL write, DB::FlushWAL(true) reaches the WAL writer that
    // saw the error, and RocksDB 7.8 (built with assertions) aborts.
    if (impl_->read_only) return {};  // nothing was written
    if (auto hs = state(); hs != health_state::ok) {
      auto h = health();
      return {h.code, std::string{"sync skipped: the store is "} + to_name(hs) + ": " + h.message};
    }
    auto s = impl_->db->FlushWAL(true);
    if (!s.ok()) return to_status(s, "flush WAL");
    auto families = impl_->handles;
    families.push_back(impl_->default_handle);
    s = impl_->db->Flush(rocksdb::FlushOptions{}, families);
    if (!s.ok()) return to_status(s, "flush memtables");
    return {};
  });
}

status rocksdb_store::describe_space(space_id space, rocksdb_space_info& out) const {
  out = rocksdb_space_info{};
  if (!accepts_space(impl_->schema, space))
    return {errc::unknown_space, "space id " + std::to_string(space)};
  return guarded("describe_space", [&]() -> status {
    auto* h = impl_->handle_of(space);
    out.name = h->GetName();
    auto o = impl_->db->GetOptions(h);
    out.comp = from_rocksdb(o.compression);
    if (o.prefix_extractor) out.prefix_extractor = o.prefix_extractor->GetId();
    rocksdb::TablePropertiesCollection props;
    auto s = impl_->db->GetPropertiesOfAllTables(h, &props);
    if (!s.ok()) return to_status(s, "table properties of " + out.name);
    for (const auto& [file, p] : props) {
      (void)file;
      out.sst_compressions.push_back(sst_compression_name(p->compression_name));
    }
    return {};
  });
}

const wal_report& rocksdb_store::last_wal_report() const noexcept { return impl_->wal.report(); }

status open_rocksdb_store(const options& opts, std::unique_ptr<store>& out) {
  out.reset();
  std::unique_ptr<rocksdb_store> s;
  auto st = rocksdb_store::open(opts, s);
  if (st) out = std::move(s);
  return st;
}

}  // namespace vstore
