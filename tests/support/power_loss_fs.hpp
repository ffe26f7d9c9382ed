#pragma once

// A RocksDB file system that can lose power: everything not yet made durable
// is forgotten at a simulated power cut, as the page cache is. Test-only,
// header-only. (A SIGKILL leaves the page cache intact, so a crash loop of
// process kills cannot tell an fsynced write from one that is not.)
//
// power_loss_fs is a rocksdb::FileSystemWrapper over the default file system.
// It writes everything through at once (what it writes is what the OS page
// cache would hold) and records what a power cut could take back:
// - per writable file, its size at the last successful Sync or Fsync (the
//   "synced size"). Flush (a no-op on POSIX: it reaches the page cache only),
//   RangeSync (sync_file_range starts write-back, promises nothing) and Close
//   do not count;
// - per directory, every name operation since the directory's last successful
//   FSDirectory::Fsync: files created, files renamed (with the durable content
//   of a file the rename replaced) and files deleted (with their durable
//   content). A directory fsync makes exactly the operations that finished
//   before it began durable. A file fsync does not make its own directory entry
//   durable (POSIX; RocksDB fsyncs the directory wherever it needs one).
//
// A power cut is three steps:
// 1. power_off() (or power_off_after(n): the cut lands right before the
//    (n+1)-th mutating call from now, wherever the store is): from then on
//    every write, sync, file creation, rename and delete through this file
//    system fails with an IOError, so the dying store cannot make anything
//    more durable (reads still work; Close passes);
// 2. the test destroys the store (RocksDB closes; its writes fail);
// 3. drop_unsynced() takes back, per directory and in reverse order, every
//    name operation not made durable (a delete: the file comes back with its
//    durable content; a rename: the file goes back to its old name, a file it
//    replaced comes back; a creation: the file is removed), then truncates
//    every file written through this file system to its synced size
//    (unsynced_loss::all), or keeps a random prefix of its unsynced tail
//    (unsynced_loss::torn_tail: some dirty pages reached the disk before the
//    cut, the rest did not). Everything left is durable from then on, and
//    power_on() lets the store reopen on the same file system.
// power_loss_env wraps it into an Env (rocksdb::NewCompositeEnv) for
// rocksdb_store::open(opts, out, env), as tests/support/fault_env.hpp does.
//
// Simplifications, each noted where it applies:
// - a NewWritableFile over an existing file truncates it for good (the old
//   content does not come back); RocksDB never reuses a file name except
//   through RenameFile;
// - directory creation (CreateDir, CreateDirIfMissing) and deletion are
//   durable at once; vstore creates the data directory before RocksDB opens;
// - a rename across directories is recorded in the target's directory only;
//   RocksDB renames within one directory;
// - ReuseWritableFile (WAL recycling, off in vstore) answers NotSupported, and
//   NewRandomRWFile files (external file ingestion, unused) are not tracked;
// - power_loss_fs tracks names as given after lexical normalisation: the same file
//   must not be reached through two spellings (RocksDB builds every name as
//   dbname + "/" + file).
//
// Deletes are NOT treated as durable: an unsynced delete is undone, as a real
// power cut can undo it, so RocksDB must cope with files it had deleted coming
// back (obsolete WALs, SSTs, MANIFESTs), which it does (it skips or deletes
// them at open).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/io_status.h>

namespace vstore::test {

/// What drop_unsynced does with the bytes appended after a file's last sync.
enum class unsynced_loss : uint8_t {
  /// Every unsynced byte is lost.
  all,
  /// A random prefix of each file's unsynced tail survives (possibly none,
  /// possibly all): torn records at the ends of logs.
  torn_tail,
};

/// What one drop_unsynced took back.
struct power_loss_report {
  /// Files cut back to a shorter size, and the bytes cut off.
  uint64_t files_truncated = 0;
  uint64_t bytes_dropped = 0;
  /// Files created (or linked) since their directory's last fsync, removed.
  uint64_t files_removed = 0;
  /// Renames since the directory's last fsync, undone.
  uint64_t renames_undone = 0;
  /// Deletes since the directory's last fsync, undone (the file is back).
  uint64_t deletes_undone = 0;
  /// Empty, or what could not be restored (an I/O error of the test machine).
  std::string error;

  /// Returns e.g. "truncated 3 files (1234 bytes), removed 1, renames undone
  /// 0, deletes undone 2".
  std::string to_string() const {
    auto s = "truncated " + std::to_string(files_truncated) + " files (" +
             std::to_string(bytes_dropped) + " bytes), removed " + std::to_string(files_removed) +
             ", renames undone " + std::to_string(renames_undone) + ", deletes undone " +
             std::to_string(deletes_undone);
    if (!error.empty()) s += ", error: " + error;
    return s;
  }
};

/// Counters of a power_loss_fs since construction (relaxed atomics).
struct power_loss_counters {
  /// Successful Sync/Fsync calls on WAL files (names ending ".log").
  std::atomic<uint64_t> wal_syncs{0};
  /// Successful Sync/Fsync calls on any writable file.
  std::atomic<uint64_t> file_syncs{0};
  /// Successful directory fsyncs.
  std::atomic<uint64_t> dir_syncs{0};
  /// Appends to WAL files that reached the file.
  std::atomic<uint64_t> wal_appends{0};
  /// Calls refused because the power was off.
  std::atomic<uint64_t> refused{0};
};

namespace power_loss_detail {

/// Returns `name` lexically normalised, without a trailing separator.
inline std::string normal(const std::string& name) {
  auto p = std::filesystem::path{name}.lexically_normal();
  if (p.filename().empty() && p.has_parent_path()) p = p.parent_path();
  return p.string();
}

/// Returns the directory holding `name` (normalised).
inline std::string dir_of(const std::string& name) {
  return std::filesystem::path{normal(name)}.parent_path().string();
}

/// Returns whether `name` is a WAL file (RocksDB names them NNNNNN.log).
inline bool is_wal(std::string_view name) noexcept {
  constexpr std::string_view suffix = ".log";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The sizes of one file written through the file system.
struct file_state {
  /// Serializes appends, truncations and the reads of `size` by syncs, so that
  /// a sync covers exactly the bytes appended before it began.
  std::mutex mtx;
  /// Bytes in the file (what the page cache holds).
  uint64_t size = 0;
  /// Bytes made durable by the last successful Sync/Fsync.
  uint64_t synced = 0;
};

/// One name operation not yet made durable by a directory fsync.
struct name_op {
  enum class kind : uint8_t { create, rename, remove };
  kind what = kind::create;
  /// create, remove: the file; rename: the source.
  std::string name;
  /// rename: the target.
  std::string target;
  /// remove: the durable content of the removed file; rename: of the file
  /// the rename replaced, if there was one.
  std::optional<std::string> content;
};

/// The state every file and directory handle of one file system shares.
struct core {
  std::atomic<bool> powered{true};
  /// Mutating calls still let through before the power goes off by itself;
  /// negative: no countdown.
  std::atomic<int64_t> countdown{-1};
  /// Whether the countdown skips the commit path (appends and syncs of WAL
  /// files).
  std::atomic<bool> countdown_skips_wal{false};
  power_loss_counters counters;
  /// Guards `files` and `journal`.
  std::mutex mtx;
  /// The files written through the file system, by current name.
  std::map<std::string, std::shared_ptr<file_state>> files;
  /// Per directory: the name operations since its last fsync, in order.
  std::map<std::string, std::vector<name_op>> journal;
  /// Guards `first_refused` and signals power_off.
  std::mutex off_mtx;
  std::condition_variable off_cv;
  /// What the first call refused since the power went off was doing, and
  /// its file.
  std::string first_refused;
  std::string first_refused_file;

  /// Cuts the power and wakes power_loss_fs::wait_power_off.
  void power_off() {
    {
      std::lock_guard<std::mutex> g{off_mtx};
      powered.store(false, std::memory_order_release);
    }
    off_cv.notify_all();
  }

  /// Called by every mutating call first: counts a countdown down, cuts the
  /// power when it runs out, and answers ok while the power is on, else the
  /// error the call must return. `what` describes the call, `name` its file;
  /// `wal_io`: an append or sync of a WAL file.
  rocksdb::IOStatus gate(const char* what, const std::string& name, bool wal_io = false) {
    int64_t c = countdown.load(std::memory_order_acquire);
    if (wal_io && countdown_skips_wal.load(std::memory_order_acquire)) c = -1;
    while (c >= 0) {
      if (c == 0) {
        if (countdown.compare_exchange_weak(c, -1, std::memory_order_acq_rel)) {
          {
            std::lock_guard<std::mutex> g{off_mtx};
            first_refused = what;  // the call the cut landed on
            first_refused_file = name;
          }
          power_off();
          break;
        }
      } else if (countdown.compare_exchange_weak(c, c - 1, std::memory_order_acq_rel)) {
        break;
      }
    }
    if (powered.load(std::memory_order_acquire)) return rocksdb::IOStatus::OK();
    counters.refused.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> g{off_mtx};
      if (first_refused.empty()) {
        first_refused = what;
        first_refused_file = name;
      }
    }
    return rocksdb::IOStatus::IOError(std::string{what} + ": " + name, "power lost (simulated)");
  }
};

/// Reads a whole file; nullopt when it cannot be read.
inline std::optional<std::string> read_all(const std::string& name) {
  std::ifstream in{name, std::ios::binary};
  if (!in) return std::nullopt;
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Writes `content` to `name` (replacing it); false on failure.
inline bool write_all(const std::string& name, const std::string& content) {
  std::ofstream out{name, std::ios::binary | std::ios::trunc};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return static_cast<bool>(out);
}

/// A writable file that records its size and its synced size.
class file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  file(std::unique_ptr<rocksdb::FSWritableFile> f, std::string name, std::shared_ptr<core> c,
       std::shared_ptr<file_state> st)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(f)),
        name_(std::move(name)),
        wal_(is_wal(name_)),
        core_(std::move(c)),
        state_(std::move(st)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While appending to file", name_, wal_); !gated.ok()) return gated;
    std::lock_guard<std::mutex> g{state_->mtx};
    auto s = target()->Append(data, o, dbg);
    appended(s, data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While appending to file", name_, wal_); !gated.ok()) return gated;
    std::lock_guard<std::mutex> g{state_->mtx};
    auto s = target()->Append(data, o, info, dbg);
    appended(s, data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While pwrite to file", name_, wal_); !gated.ok()) return gated;
    std::lock_guard<std::mutex> g{state_->mtx};
    auto s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) state_->size = std::max(state_->size, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While pwrite to file", name_, wal_); !gated.ok()) return gated;
    std::lock_guard<std::mutex> g{state_->mtx};
    auto s = target()->PositionedAppend(data, offset, o, info, dbg);
    if (s.ok()) state_->size = std::max(state_->size, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While truncating file", name_); !gated.ok()) return gated;
    std::lock_guard<std::mutex> g{state_->mtx};
    auto s = target()->Truncate(size, o, dbg);
    if (s.ok()) {
      state_->size = size;
      state_->synced = std::min(state_->synced, size);
    }
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return sync("While fdatasync", [&] { return target()->Sync(o, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return sync("While fsync", [&] { return target()->Fsync(o, dbg); });
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While sync_file_range", name_, wal_); !gated.ok()) return gated;
    return target()->RangeSync(offset, nbytes, o, dbg);  // promises nothing
  }

 private:
  void appended(const rocksdb::IOStatus& s, size_t n) {
    if (!s.ok()) return;
    state_->size += n;
    if (wal_) core_->counters.wal_appends.fetch_add(1, std::memory_order_relaxed);
  }

  /// Runs `do_sync`; on success every byte appended before it began is synced.
  template <class F>
  rocksdb::IOStatus sync(const char* what, F do_sync) {
    if (auto gated = core_->gate(what, name_, wal_); !gated.ok()) return gated;
    uint64_t covered = 0;
    {
      std::lock_guard<std::mutex> g{state_->mtx};
      covered = state_->size;
    }
    auto s = do_sync();
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> g{state_->mtx};
      state_->synced = std::max(state_->synced, std::min(covered, state_->size));
    }
    core_->counters.file_syncs.fetch_add(1, std::memory_order_relaxed);
    if (wal_) core_->counters.wal_syncs.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  std::string name_;
  bool wal_;
  std::shared_ptr<core> core_;
  std::shared_ptr<file_state> state_;
};

/// A directory whose fsync makes the name operations before it durable.
class directory final : public rocksdb::FSDirectoryWrapper {
 public:
  directory(std::unique_ptr<rocksdb::FSDirectory> d, std::string name, std::shared_ptr<core> c)
      : rocksdb::FSDirectoryWrapper(std::move(d)), name_(std::move(name)), core_(std::move(c)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return sync([&] { return rocksdb::FSDirectoryWrapper::Fsync(o, dbg); });
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& d) override {
    return sync([&] { return rocksdb::FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d); });
  }

 private:
  template <class F>
  rocksdb::IOStatus sync(F do_sync) {
    if (auto gated = core_->gate("While fsync directory", name_); !gated.ok()) return gated;
    size_t covered = 0;
    {
      std::lock_guard<std::mutex> g{core_->mtx};
      covered = core_->journal[name_].size();
    }
    auto s = do_sync();
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> g{core_->mtx};
      auto& ops = core_->journal[name_];
      ops.erase(ops.begin(),
                ops.begin() + static_cast<std::ptrdiff_t>(std::min(covered, ops.size())));
    }
    core_->counters.dir_syncs.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  std::string name_;
  std::shared_ptr<core> core_;
};

}  // namespace power_loss_detail

/// A file system that forgets, at a simulated power cut, whatever a real one
/// may forget (see the top of this file).
class power_loss_fs final : public rocksdb::FileSystemWrapper {
 public:
  explicit power_loss_fs(std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default())
      : rocksdb::FileSystemWrapper(std::move(base)),
        core_(std::make_shared<power_loss_detail::core>()) {}

  static const char* kClassName() { return "VstorePowerLossFileSystem"; }
  const char* Name() const override { return kClassName(); }

  /// Cuts the power: every later write, sync, creation, rename and delete
  /// fails with an IOError ("power lost (simulated)"). Thread-safe.
  void power_off() { core_->power_off(); }
  /// Cuts the power right before the (n+1)-th mutating call from now (an
  /// append, sync, truncation, file creation, rename, link, delete or
  /// directory fsync): n calls still pass, that one and every later one fail.
  /// The cut then lands wherever the store happens to be (between a WAL
  /// append and its sync, inside a flush, between a rename and the directory
  /// fsync, ...). Thread-safe.
  /// With `skip_wal_io`, appends and syncs of WAL files (the commit path)
  /// neither count nor trigger the cut: it lands in background work (a flush
  /// or compaction writing an SST, a MANIFEST or CURRENT update, a new WAL, a
  /// delete, a directory fsync) or at its end.
  void power_off_after(uint64_t n, bool skip_wal_io = false) {
    core_->countdown_skips_wal.store(skip_wal_io, std::memory_order_release);
    core_->countdown.store(static_cast<int64_t>(n), std::memory_order_release);
  }
  /// Waits until the power is off (at most `bound`); returns whether it is.
  bool wait_power_off(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g{core_->off_mtx};
    return core_->off_cv.wait_for(g, bound,
                                  [&] { return !core_->powered.load(std::memory_order_acquire); });
  }
  /// Turns the power back on (after drop_unsynced); clears a countdown.
  void power_on() {
    core_->countdown.store(-1, std::memory_order_release);
    std::lock_guard<std::mutex> g{core_->off_mtx};
    core_->first_refused.clear();
    core_->first_refused_file.clear();
    core_->powered.store(true, std::memory_order_release);
  }
  /// Returns whether the power is on.
  bool powered() const noexcept { return core_->powered.load(std::memory_order_acquire); }
  /// Returns what the first call refused since the power went off was doing
  /// ("While appending to file", "While fsync", "While renaming a file to
  /// ...", ...), or "" if none was refused yet.
  std::string first_refused() const {
    std::lock_guard<std::mutex> g{core_->off_mtx};
    return core_->first_refused;
  }
  /// Returns the file (or "source to target") of that call.
  std::string first_refused_file() const {
    std::lock_guard<std::mutex> g{core_->off_mtx};
    return core_->first_refused_file;
  }
  /// Returns the counters.
  const power_loss_counters& counters() const noexcept { return core_->counters; }

  /// Takes back everything not durable (see the top of this file) and forgets
  /// the record: what is left is durable. Call with the power off and no file
  /// of this file system open (the store destroyed). `seed` chooses the torn
  /// tails of unsynced_loss::torn_tail. Blocks.
  power_loss_report drop_unsynced(unsynced_loss loss = unsynced_loss::all, uint64_t seed = 0) {
    namespace fs = std::filesystem;
    power_loss_report r;
    std::lock_guard<std::mutex> g{core_->mtx};
    auto fail = [&](const std::string& what) {
      if (r.error.empty()) r.error = what;
    };
    for (auto& [dir, ops] : core_->journal) {
      (void)dir;
      for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
        std::error_code ec;
        switch (it->what) {
          case power_loss_detail::name_op::kind::create:
            core_->files.erase(it->name);
            if (fs::remove(it->name, ec)) ++r.files_removed;
            if (ec) fail("remove " + it->name + ": " + ec.message());
            break;
          case power_loss_detail::name_op::kind::rename:
            if (fs::exists(it->target, ec)) {
              fs::rename(it->target, it->name, ec);
              if (ec) fail("rename " + it->target + ": " + ec.message());
              move_state(it->target, it->name);
            }
            if (it->content && !power_loss_detail::write_all(it->target, *it->content))
              fail("restore " + it->target);
            ++r.renames_undone;
            break;
          case power_loss_detail::name_op::kind::remove:
            core_->files.erase(it->name);
            if (it->content && !power_loss_detail::write_all(it->name, *it->content))
              fail("restore " + it->name);
            ++r.deletes_undone;
            break;
        }
      }
    }
    core_->journal.clear();
    std::mt19937_64 rng{seed};
    for (auto& [name, st] : core_->files) {
      std::error_code ec;
      auto size = fs::file_size(name, ec);
      if (ec) continue;  // gone
      uint64_t keep = std::min<uint64_t>(st->synced, size);
      if (loss == unsynced_loss::torn_tail && size > keep)
        keep += std::uniform_int_distribution<uint64_t>{0, size - keep}(rng);
      if (keep < size) {
        fs::resize_file(name, keep, ec);
        if (ec) fail("truncate " + name + ": " + ec.message());
        ++r.files_truncated;
        r.bytes_dropped += size - keep;
      }
    }
    core_->files.clear();
    return r;
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While open a file for appending", f); !gated.ok()) return gated;
    const auto name = power_loss_detail::normal(f);
    std::lock_guard<std::mutex> g{core_->mtx};
    std::error_code ec;
    const bool existed = std::filesystem::exists(name, ec);
    auto s = target()->NewWritableFile(f, o, r, dbg);
    if (!s.ok()) return s;
    // Over an existing file: truncated for good (see the top of this file).
    if (!existed) journal(name).push_back({power_loss_detail::name_op::kind::create, name, {}, {}});
    auto st = std::make_shared<power_loss_detail::file_state>();
    core_->files[name] = st;
    r->reset(new power_loss_detail::file(std::move(*r), name, core_, std::move(st)));
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While open a file for appending", f); !gated.ok()) return gated;
    const auto name = power_loss_detail::normal(f);
    std::lock_guard<std::mutex> g{core_->mtx};
    std::error_code ec;
    const bool existed = std::filesystem::exists(name, ec);
    const uint64_t size = existed ? std::filesystem::file_size(name, ec) : 0;
    auto s = target()->ReopenWritableFile(f, o, r, dbg);
    if (!s.ok()) return s;
    auto& st = core_->files[name];
    if (!st) {
      // Not written through this file system since the last power cut: its
      // content is durable.
      st = std::make_shared<power_loss_detail::file_state>();
      st->size = st->synced = ec ? 0 : size;
      if (!existed)
        journal(name).push_back({power_loss_detail::name_op::kind::create, name, {}, {}});
    }
    r->reset(new power_loss_detail::file(std::move(*r), name, core_, st));
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string&,
                                      const rocksdb::FileOptions&,
                                      std::unique_ptr<rocksdb::FSWritableFile>*,
                                      rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("power_loss_fs does not recycle files", f);
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While open file for random read/write", f); !gated.ok())
      return gated;
    return target()->NewRandomRWFile(f, o, r, dbg);  // not tracked (unused by vstore)
  }
  rocksdb::IOStatus NewDirectory(const std::string& d, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewDirectory(d, o, r, dbg);
    if (s.ok() && r != nullptr && *r)
      r->reset(
          new power_loss_detail::directory(std::move(*r), power_loss_detail::normal(d), core_));
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While renaming a file", src + " to " + dst); !gated.ok())
      return gated;
    const auto from = power_loss_detail::normal(src);
    const auto to = power_loss_detail::normal(dst);
    std::lock_guard<std::mutex> g{core_->mtx};
    auto replaced = durable_content(to);
    auto s = target()->RenameFile(src, dst, o, dbg);
    if (!s.ok()) return s;
    journal(to).push_back(
        {power_loss_detail::name_op::kind::rename, from, to, std::move(replaced)});
    move_state(from, to);
    return s;
  }
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While linking a file", src + " to " + dst); !gated.ok())
      return gated;
    const auto to = power_loss_detail::normal(dst);
    std::lock_guard<std::mutex> g{core_->mtx};
    auto s = target()->LinkFile(src, dst, o, dbg);
    if (s.ok()) journal(to).push_back({power_loss_detail::name_op::kind::create, to, {}, {}});
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While unlink() file", f); !gated.ok()) return gated;
    const auto name = power_loss_detail::normal(f);
    std::lock_guard<std::mutex> g{core_->mtx};
    auto content = durable_content(name);
    auto s = target()->DeleteFile(f, o, dbg);
    if (!s.ok()) return s;
    journal(name).push_back(
        {power_loss_detail::name_op::kind::remove, name, {}, std::move(content)});
    core_->files.erase(name);
    return s;
  }
  rocksdb::IOStatus Truncate(const std::string& f, size_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While truncate file", f); !gated.ok()) return gated;
    const auto name = power_loss_detail::normal(f);
    std::lock_guard<std::mutex> g{core_->mtx};
    auto s = target()->Truncate(f, size, o, dbg);
    if (!s.ok()) return s;
    if (auto it = core_->files.find(name); it != core_->files.end()) {
      std::lock_guard<std::mutex> fg{it->second->mtx};
      it->second->size = size;
      it->second->synced = std::min<uint64_t>(it->second->synced, size);
    }
    return s;
  }
  rocksdb::IOStatus CreateDir(const std::string& d, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While mkdir", d); !gated.ok()) return gated;
    return target()->CreateDir(d, o, dbg);
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string& d, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While mkdir if missing", d); !gated.ok()) return gated;
    return target()->CreateDirIfMissing(d, o, dbg);
  }
  rocksdb::IOStatus DeleteDir(const std::string& d, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (auto gated = core_->gate("While rmdir", d); !gated.ok()) return gated;
    return target()->DeleteDir(d, o, dbg);
  }

 private:
  /// Returns the journal of the directory holding `name`; core_->mtx held.
  std::vector<power_loss_detail::name_op>& journal(const std::string& name) {
    return core_->journal[power_loss_detail::dir_of(name)];
  }

  /// Returns what of `name` a power cut now would leave: nothing if it does
  /// not exist, its synced prefix if it is written through this file system,
  /// else all of it. (A file created since its directory's fsync would vanish
  /// anyway; undoing the creation removes whatever is restored for it.)
  /// core_->mtx held.
  std::optional<std::string> durable_content(const std::string& name) {
    std::error_code ec;
    if (!std::filesystem::exists(name, ec)) return std::nullopt;
    auto content = power_loss_detail::read_all(name);
    if (!content) return std::nullopt;
    if (auto it = core_->files.find(name); it != core_->files.end()) {
      std::lock_guard<std::mutex> fg{it->second->mtx};
      if (content->size() > it->second->synced) content->resize(it->second->synced);
    }
    return content;
  }

  /// Moves the record of `from` to `to` (a rename); core_->mtx held.
  void move_state(const std::string& from, const std::string& to) {
    auto it = core_->files.find(from);
    if (it == core_->files.end()) {
      core_->files.erase(to);
      return;
    }
    auto st = std::move(it->second);
    core_->files.erase(it);
    core_->files[to] = std::move(st);
  }

  std::shared_ptr<power_loss_detail::core> core_;
};

/// An Env on a power_loss_fs: pass env() to rocksdb_store::open. Must outlive
/// every store opened on it.
class power_loss_env {
 public:
  power_loss_env() : fs_(std::make_shared<power_loss_fs>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

  power_loss_env(const power_loss_env&) = delete;
  power_loss_env& operator=(const power_loss_env&) = delete;

  /// Returns the Env for rocksdb_store::open.
  rocksdb::Env* env() const noexcept { return env_.get(); }
  /// Returns the file system.
  power_loss_fs& fs() const noexcept { return *fs_; }

 private:
  std::shared_ptr<power_loss_fs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace vstore::test
