#pragma once

// A RocksDB environment whose writable files fail with an I/O error (EIO) on
// command: a disk that stops accepting writes. Test-only, header-only.
//
// fault_fs is a rocksdb::FileSystemWrapper over the default file system; every
// writable file it opens (NewWritableFile, ReopenWritableFile,
// ReuseWritableFile) is wrapped. While armed, the writes of the targeted files
// fail: Append, PositionedAppend, Sync, Fsync and RangeSync answer the error
// the POSIX file system answers for EIO (a plain, non-retryable
// IOStatus::IOError "While appending to file: <name>: Input/output error"), or
// the same error flagged retryable (arm(target, true): what remote file systems
// and RocksDB's own fault injection report for a transient fault). Flush (a
// no-op on POSIX), Close, Truncate, file creation and every read pass through.
// Disarmed, everything passes through. fault_env wraps it back into an Env
// (rocksdb::NewCompositeEnv) for rocksdb_store::open(opts, out, env).
//
// Why a WAL write hits it at once: even with WriteOptions::sync = false, with
// manual_wal_flush off (RocksDB's default, and vstore's), log::Writer::AddRecord
// ends every record with WritableFileWriter::Flush, which hands the buffered
// bytes to this file's Append: one Append per DB::Write (wal_appends() counts
// them; tests check it grows by one per commit).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/io_status.h>

namespace vstore::test {

/// Which writable files an armed fault_fs fails.
enum class fault_target : uint8_t {
  /// WAL files only (names ending ".log").
  wal,
  /// Every writable file: WAL, SST, MANIFEST, CURRENT's temporary file,
  /// OPTIONS (not vstore's info log, which RocksDB does not open through the
  /// Env).
  all,
};

/// The shared switch and counters of a fault_fs and its files.
struct fault_switch {
  std::atomic<bool> armed{false};
  std::atomic<fault_target> target{fault_target::wal};
  /// Whether injected errors carry RocksDB's "retryable" flag.
  std::atomic<bool> retryable{false};
  /// Failures injected since construction.
  std::atomic<uint64_t> injected{0};
  /// Appends to WAL files that reached the file (passed through or failed).
  std::atomic<uint64_t> wal_appends{0};

  /// Returns whether a write to a file of this kind fails now.
  bool hits(bool is_wal) const noexcept {
    if (!armed.load(std::memory_order_acquire)) return false;
    return is_wal || target.load(std::memory_order_acquire) == fault_target::all;
  }
};

/// Returns whether `name` is a WAL file (RocksDB names them NNNNNN.log).
inline bool is_wal_file(std::string_view name) noexcept {
  constexpr std::string_view suffix = ".log";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// A writable file whose writes fail while its switch is armed.
class fault_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  fault_file(std::unique_ptr<rocksdb::FSWritableFile> f, std::string name,
             std::shared_ptr<fault_switch> sw)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(f)),
        name_(std::move(name)),
        wal_(is_wal_file(name_)),
        switch_(std::move(sw)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    count_append();
    if (auto s = fault("While appending to file"); !s.ok()) return s;
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    count_append();
    if (auto s = fault("While appending to file"); !s.ok()) return s;
    return target()->Append(data, o, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    count_append();
    if (auto s = fault("While pwrite to file at offset " + std::to_string(offset)); !s.ok())
      return s;
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    count_append();
    if (auto s = fault("While pwrite to file at offset " + std::to_string(offset)); !s.ok())
      return s;
    return target()->PositionedAppend(data, offset, o, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fault("While fdatasync"); !s.ok()) return s;
    return target()->Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fault("While fsync"); !s.ok()) return s;
    return target()->Fsync(o, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (auto s = fault("While sync_file_range"); !s.ok()) return s;
    return target()->RangeSync(offset, nbytes, o, dbg);
  }

 private:
  void count_append() noexcept {
    if (wal_) switch_->wal_appends.fetch_add(1, std::memory_order_relaxed);
  }

  /// Returns the injected error when armed for this file, else ok.
  rocksdb::IOStatus fault(const std::string& context) const {
    if (!switch_->hits(wal_)) return rocksdb::IOStatus::OK();
    switch_->injected.fetch_add(1, std::memory_order_relaxed);
    // What env/io_posix.cc's IOError(context, file, EIO) answers.
    auto s =
        rocksdb::IOStatus::IOError(context + ": " + name_ + " (injected)", "Input/output error");
    s.SetRetryable(switch_->retryable.load(std::memory_order_acquire));
    return s;
  }

  std::string name_;
  bool wal_;
  std::shared_ptr<fault_switch> switch_;
};

/// A file system that wraps every writable file in a fault_file.
class fault_fs final : public rocksdb::FileSystemWrapper {
 public:
  explicit fault_fs(std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default())
      : rocksdb::FileSystemWrapper(std::move(base)), switch_(std::make_shared<fault_switch>()) {}

  static const char* kClassName() { return "VstoreFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  /// Fails the writes of `target` files from now on; with `retryable` the
  /// errors carry RocksDB's retryable flag.
  void arm(fault_target target = fault_target::wal, bool retryable = false) noexcept {
    switch_->target.store(target, std::memory_order_release);
    switch_->retryable.store(retryable, std::memory_order_release);
    switch_->armed.store(true, std::memory_order_release);
  }
  /// Lets every write through again.
  void disarm() noexcept { switch_->armed.store(false, std::memory_order_release); }
  /// Returns whether writes fail now.
  bool armed() const noexcept { return switch_->armed.load(std::memory_order_acquire); }
  /// Returns the number of failures injected so far.
  uint64_t injected() const noexcept { return switch_->injected.load(std::memory_order_relaxed); }
  /// Returns the number of Append calls on WAL files so far (armed or not).
  uint64_t wal_appends() const noexcept {
    return switch_->wal_appends.load(std::memory_order_relaxed);
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return wrap(f, target()->NewWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return wrap(f, target()->ReopenWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return wrap(f, target()->ReuseWritableFile(f, old, o, r, dbg), r);
  }

 private:
  rocksdb::IOStatus wrap(const std::string& f, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* r) const {
    if (s.ok() && r != nullptr && *r) r->reset(new fault_file(std::move(*r), f, switch_));
    return s;
  }

  std::shared_ptr<fault_switch> switch_;
};

/// An Env on a fault_fs: pass env() to rocksdb_store::open. Must outlive every
/// store opened on it.
class fault_env {
 public:
  fault_env() : fs_(std::make_shared<fault_fs>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

  fault_env(const fault_env&) = delete;
  fault_env& operator=(const fault_env&) = delete;

  /// Returns the Env for rocksdb_store::open.
  rocksdb::Env* env() const noexcept { return env_.get(); }
  /// Returns the file system with the switch.
  fault_fs& fs() const noexcept { return *fs_; }

  /// See fault_fs.
  void arm(fault_target target = fault_target::wal, bool retryable = false) noexcept {
    fs_->arm(target, retryable);
  }
  void disarm() noexcept { fs_->disarm(); }
  bool armed() const noexcept { return fs_->armed(); }
  uint64_t injected() const noexcept { return fs_->injected(); }
  uint64_t wal_appends() const noexcept { return fs_->wal_appends(); }

 private:
  std::shared_ptr<fault_fs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace vstore::test
