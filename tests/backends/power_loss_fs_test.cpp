// The power-loss file system (tests/support/power_loss_fs.hpp): each kind of
// loss through the FileSystem API directly, then through RocksDB: a store
// without fsync loses its unsynced commits at a power cut but reopens
// consistently; with fsync it keeps every commit.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/rocksdb/rocksdb_store.hpp"
#include "tests/backends/temp_dir.hpp"
#include "tests/support/power_loss_fs.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

using test::power_loss_report;
using test::unsynced_loss;

/// Drives a power_loss_fs through its FileSystem API in a scratch directory.
class PowerLossFs : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(fs().NewDirectory(dir_.path().string(), {}, &dir_handle_, nullptr).ok());
  }

  test::power_loss_fs& fs() { return env_.fs(); }
  std::string path(const std::string& name) const { return dir_.sub(name); }

  /// Opens `name` for writing.
  std::unique_ptr<rocksdb::FSWritableFile> create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    auto s = fs().NewWritableFile(path(name), rocksdb::FileOptions{}, &f, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return f;
  }
  static void append(rocksdb::FSWritableFile& f, const std::string& data) {
    auto s = f.Append(data, rocksdb::IOOptions{}, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void sync(rocksdb::FSWritableFile& f) {
    auto s = f.Sync(rocksdb::IOOptions{}, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void close(rocksdb::FSWritableFile& f) {
    ASSERT_TRUE(f.Close(rocksdb::IOOptions{}, nullptr).ok());
  }
  void sync_dir() {
    auto s = dir_handle_->Fsync(rocksdb::IOOptions{}, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  /// Writes `content` to `name`, fsyncs it and its directory: a durable file.
  void durable_file(const std::string& name, const std::string& content) {
    auto f = create(name);
    append(*f, content);
    sync(*f);
    close(*f);
    sync_dir();
  }
  /// The power cut: off, take back what is not durable, on.
  power_loss_report cut(unsynced_loss loss = unsynced_loss::all, uint64_t seed = 0) {
    fs().power_off();
    auto r = fs().drop_unsynced(loss, seed);
    EXPECT_TRUE(r.error.empty()) << r.error;
    fs().power_on();
    return r;
  }
  /// Returns the content of `name`, or nullopt if it does not exist.
  std::optional<std::string> content(const std::string& name) const {
    std::error_code ec;
    if (!std::filesystem::exists(path(name), ec)) return std::nullopt;
    return test::power_loss_detail::read_all(path(name));
  }

  test::temp_dir dir_;
  test::power_loss_env env_;
  std::unique_ptr<rocksdb::FSDirectory> dir_handle_;
};

TEST_F(PowerLossFs, UnsyncedTailIsDroppedAndTheSyncedPrefixKept) {
  auto f = create("a");
  sync_dir();
  append(*f, "hello");
  sync(*f);
  append(*f, " world");
  // Neither Flush (the page cache) nor RangeSync (write-back started) makes
  // bytes durable.
  ASSERT_TRUE(f->Flush(rocksdb::IOOptions{}, nullptr).ok());
  ASSERT_TRUE(f->RangeSync(0, 11, rocksdb::IOOptions{}, nullptr).ok());
  close(*f);
  EXPECT_EQ(content("a"), std::optional<std::string>{"hello world"});
  auto r = cut();
  EXPECT_EQ(content("a"), std::optional<std::string>{"hello"});
  EXPECT_EQ(r.files_truncated, 1u);
  EXPECT_EQ(r.bytes_dropped, 6u);
  EXPECT_EQ(fs().counters().file_syncs.load(), 1u);
}

TEST_F(PowerLossFs, AFullySyncedFileLosesNothing) {
  durable_file("a", "all of it");
  auto r = cut();
  EXPECT_EQ(content("a"), std::optional<std::string>{"all of it"});
  EXPECT_EQ(r.files_truncated + r.files_removed + r.renames_undone + r.deletes_undone, 0u)
      << r.to_string();
}

TEST_F(PowerLossFs, TornTailKeepsAPrefixOfTheUnsyncedBytes) {
  const std::string synced = "synced|";
  const std::string tail = "0123456789abcdefghijklmnopqrstuvwxyz";
  bool partial = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto name = "t" + std::to_string(seed);
    auto f = create(name);
    sync_dir();
    append(*f, synced);
    sync(*f);
    append(*f, tail);
    close(*f);
    cut(unsynced_loss::torn_tail, seed);
    auto c = content(name);
    ASSERT_TRUE(c);
    ASSERT_GE(c->size(), synced.size());
    EXPECT_EQ(*c, (synced + tail).substr(0, c->size())) << "not a prefix";
    if (c->size() > synced.size() && c->size() < synced.size() + tail.size()) partial = true;
  }
  EXPECT_TRUE(partial) << "no seed of 20 kept part of the unsynced tail";
}

TEST_F(PowerLossFs, NewFileWithoutDirectoryFsyncIsGoneEvenIfItsDataWasSynced) {
  auto f = create("new");
  append(*f, "data");
  sync(*f);
  close(*f);
  auto r = cut();
  EXPECT_EQ(content("new"), std::nullopt);
  EXPECT_EQ(r.files_removed, 1u);
}

TEST_F(PowerLossFs, NewFileWithDirectoryFsyncIsKept) {
  auto f = create("new");
  append(*f, "data");
  sync(*f);
  close(*f);
  sync_dir();
  auto r = cut();
  EXPECT_EQ(content("new"), std::optional<std::string>{"data"});
  EXPECT_EQ(r.files_removed, 0u);
}

// RocksDB's SetCurrentFile: write a temporary file, sync it, rename it over
// CURRENT, fsync the directory. Without the last step the old CURRENT is back.
TEST_F(PowerLossFs, RenameWithoutDirectoryFsyncIsUndone) {
  durable_file("CURRENT", "MANIFEST-000001\n");
  auto f = create("000002.dbtmp");
  append(*f, "MANIFEST-000002\n");
  sync(*f);
  close(*f);
  ASSERT_TRUE(
      fs().RenameFile(path("000002.dbtmp"), path("CURRENT"), rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(content("CURRENT"), std::optional<std::string>{"MANIFEST-000002\n"});
  auto r = cut();
  EXPECT_EQ(content("CURRENT"), std::optional<std::string>{"MANIFEST-000001\n"});
  EXPECT_EQ(content("000002.dbtmp"), std::nullopt) << "its creation was not durable either";
  EXPECT_EQ(r.renames_undone, 1u);
  EXPECT_EQ(r.files_removed, 1u);
}

TEST_F(PowerLossFs, RenameOfADurableFileWithoutDirectoryFsyncRestoresBothNames) {
  durable_file("CURRENT", "old");
  durable_file("tmp", "new");
  ASSERT_TRUE(fs().RenameFile(path("tmp"), path("CURRENT"), rocksdb::IOOptions{}, nullptr).ok());
  cut();
  EXPECT_EQ(content("CURRENT"), std::optional<std::string>{"old"});
  EXPECT_EQ(content("tmp"), std::optional<std::string>{"new"});
}

TEST_F(PowerLossFs, RenameWithDirectoryFsyncIsKept) {
  durable_file("CURRENT", "old");
  auto f = create("tmp");
  append(*f, "new");
  sync(*f);
  close(*f);
  ASSERT_TRUE(fs().RenameFile(path("tmp"), path("CURRENT"), rocksdb::IOOptions{}, nullptr).ok());
  sync_dir();
  auto r = cut();
  EXPECT_EQ(content("CURRENT"), std::optional<std::string>{"new"});
  EXPECT_EQ(content("tmp"), std::nullopt);
  EXPECT_EQ(r.renames_undone, 0u);
}

// Unsynced bytes of a renamed file are still unsynced under its new name.
TEST_F(PowerLossFs, UnsyncedBytesFollowARename) {
  auto f = create("a");
  sync_dir();
  append(*f, "kept");
  sync(*f);
  append(*f, "lost");
  close(*f);
  ASSERT_TRUE(fs().RenameFile(path("a"), path("b"), rocksdb::IOOptions{}, nullptr).ok());
  sync_dir();
  cut();
  EXPECT_EQ(content("a"), std::nullopt);
  EXPECT_EQ(content("b"), std::optional<std::string>{"kept"});
}

TEST_F(PowerLossFs, DeleteWithoutDirectoryFsyncIsUndone) {
  auto f = create("old.log");
  sync_dir();
  append(*f, "durable");
  sync(*f);
  append(*f, "-unsynced");
  close(*f);
  ASSERT_TRUE(fs().DeleteFile(path("old.log"), rocksdb::IOOptions{}, nullptr).ok());
  auto r = cut();
  EXPECT_EQ(content("old.log"), std::optional<std::string>{"durable"});
  EXPECT_EQ(r.deletes_undone, 1u);
}

TEST_F(PowerLossFs, DeleteWithDirectoryFsyncIsKept) {
  durable_file("old.log", "durable");
  ASSERT_TRUE(fs().DeleteFile(path("old.log"), rocksdb::IOOptions{}, nullptr).ok());
  sync_dir();
  cut();
  EXPECT_EQ(content("old.log"), std::nullopt);
}

TEST_F(PowerLossFs, NothingIsWrittenWhileThePowerIsOff) {
  durable_file("a", "x");
  auto f = create("b");
  sync_dir();
  fs().power_off();
  rocksdb::IOOptions io;
  EXPECT_FALSE(f->Append("y", io, nullptr).ok());
  EXPECT_FALSE(f->Sync(io, nullptr).ok());
  EXPECT_FALSE(f->Fsync(io, nullptr).ok());
  EXPECT_FALSE(f->RangeSync(0, 1, io, nullptr).ok());
  EXPECT_TRUE(f->Close(io, nullptr).ok()) << "a dying process still closes its files";
  std::unique_ptr<rocksdb::FSWritableFile> g;
  auto s = fs().NewWritableFile(path("c"), rocksdb::FileOptions{}, &g, nullptr);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.ToString().find("power lost"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs().RenameFile(path("a"), path("d"), io, nullptr).ok());
  EXPECT_FALSE(fs().DeleteFile(path("a"), io, nullptr).ok());
  EXPECT_FALSE(dir_handle_->Fsync(io, nullptr).ok());
  EXPECT_EQ(fs().counters().refused.load(), 8u);
  EXPECT_EQ(content("a"), std::optional<std::string>{"x"}) << "reads still work";
  auto r = fs().drop_unsynced();
  fs().power_on();
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(content("b"), std::optional<std::string>{""});
  EXPECT_EQ(content("c"), std::nullopt);
}

/// Two spaces "a" and "b" in `path`, no free-space reserve, memtables far
/// larger than the tests write (nothing is flushed by itself).
options two_spaces(const std::string& path, bool sync) {
  options o;
  for (const char* n : {"a", "b"}) {
    space_def d;
    d.name = n;
    o.schema.spaces.push_back(d);
  }
  o.db.path = path;
  o.db.block_cache_bytes = 8u << 20;
  o.db.write_buffer_bytes = 16u << 20;
  o.db.min_free_bytes = 0;
  o.db.sync = sync;
  return o;
}

// Through RocksDB: two spaces, every commit one batch over both.
class PowerLossRocksDb : public ::testing::Test {
 protected:
  options opts(bool sync) const { return two_spaces(dir_.sub("db"), sync); }

  void open(bool sync) {
    store_.reset();
    auto st = rocksdb_store::open(opts(sync), store_, env_.env());
    ASSERT_TRUE(st) << st.to_string();
  }

  void commit_pair(const std::string& key) {
    auto b = store_->make_batch();
    b->put(0, key, "a-" + key);
    b->put(1, key, "b-" + key);
    uint64_t seq = 0;
    auto st = store_->commit(*b, seq);
    ASSERT_TRUE(st) << st.to_string();
  }

  /// Returns how many of the two spaces hold `key` with its value.
  int copies(const std::string& key) const {
    int n = 0;
    for (space_id s : {space_id{0}, space_id{1}}) {
      std::string v;
      bool found = false;
      EXPECT_TRUE(store_->get(s, key, v, found));
      if (found && v == (s == 0 ? "a-" : "b-") + key) ++n;
    }
    return n;
  }

  /// The power cut under an open store: off, close the store, take back,
  /// on, reopen.
  power_loss_report cut_and_reopen(bool sync) {
    env_.fs().power_off();
    store_.reset();
    auto r = env_.fs().drop_unsynced();
    EXPECT_TRUE(r.error.empty()) << r.error;
    env_.fs().power_on();
    open(sync);
    return r;
  }

  /// Commits `n` pairs, cuts the power, reopens; returns the surviving count
  /// after checking that the survivors are a prefix and none is torn.
  int survivors_of(bool sync, int n) {
    open(sync);
    for (int i = 0; i < n; ++i) commit_pair("k" + std::to_string(100 + i));
    auto r = cut_and_reopen(sync);
    std::printf("[ figures  ] sync=%d: %s\n", sync ? 1 : 0, r.to_string().c_str());
    int present = 0;
    bool gap = false;
    for (int i = 0; i < n; ++i) {
      auto c = copies("k" + std::to_string(100 + i));
      EXPECT_TRUE(c == 0 || c == 2) << "torn batch " << i << ": " << c << " of 2 parts";
      if (c == 2) {
        EXPECT_FALSE(gap) << "batch " << i << " survived after a lost one";
        ++present;
      } else {
        gap = true;
      }
    }
    EXPECT_EQ(store_->last_wal_report().dropped(), 0u) << "point-in-time recovery dropped records";
    return present;
  }

  test::temp_dir dir_;
  test::power_loss_env env_;  // outlives store_ (declared first)
  std::unique_ptr<rocksdb_store> store_;
};

TEST_F(PowerLossRocksDb, WithoutSyncUnsyncedCommitsAreLostButTheStoreReopensConsistently) {
  constexpr int n = 20;
  auto present = survivors_of(false, n);
  EXPECT_LT(present, n) << "nothing was lost: the power cut did not take back unsynced bytes";
  // The store works after the cut.
  commit_pair("after");
  EXPECT_EQ(copies("after"), 2);
}

TEST_F(PowerLossRocksDb, WithSyncEveryCommitSurvives) {
  constexpr int n = 20;
  auto syncs_before = env_.fs().counters().wal_syncs.load();
  EXPECT_EQ(survivors_of(true, n), n);
  EXPECT_GE(env_.fs().counters().wal_syncs.load() - syncs_before, static_cast<uint64_t>(n));
  commit_pair("after");
  EXPECT_EQ(copies("after"), 2);
}

// Both in turn on the same directory, several cuts: what sync=true committed
// is never lost by later cuts of sync=false.
TEST_F(PowerLossRocksDb, SyncedCommitsSurviveLaterUnsyncedCuts) {
  EXPECT_EQ(survivors_of(true, 10), 10);
  store_.reset();
  open(false);
  for (int i = 0; i < 10; ++i) commit_pair("u" + std::to_string(i));
  cut_and_reopen(false);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(copies("k" + std::to_string(100 + i)), 2);
  for (int i = 0; i < 10; ++i) {
    auto c = copies("u" + std::to_string(i));
    EXPECT_TRUE(c == 0 || c == 2) << c;
  }
}

// A RocksDB 7.8 bug the power-loss loop met (upstream #12176, fixed in
// 8.11): when several column families' memtables are full at once, the next
// write switches them in one DBImpl::ScheduleFlushes; if creating the new WAL
// fails there (here: the power is off; on a real disk: EIO, ENOSPC), the loop
// breaks without unreferencing the other families, and closing the DB then
// dies on the assertion `last_ref` in ~ColumnFamilySet (Debian's build keeps
// assertions). The data is not at risk (the failed write was not applied);
// the process is: a vstored whose store met this cannot shut down cleanly.
// vstore's multi-space batches fill their spaces' memtables together, so the
// trigger is common. The power-loss loop (tests/reliability/power_loss_test.cpp)
// therefore gives its spaces values of different sizes. If this test starts
// to fail, the RocksDB in use is fixed: drop the workaround there.
TEST(PowerLossRocksDbDeathTest, WalCreationFailingWhileTwoMemtablesAreFullAbortsAtClose) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The child process (a re-run of this binary) dies without destructors, so
  // it opens the store in a directory named after its parent, which removes it
  // (no fixture: a fixture's scratch directory would be left behind).
  auto dir_of = [](long pid) {
    return (std::filesystem::temp_directory_path() /
            ("vstore-power-loss-death-" + std::to_string(pid)))
        .string();
  };
  EXPECT_DEATH(
      {
        auto o = two_spaces(dir_of(static_cast<long>(::getppid())), false);
        o.db.write_buffer_bytes = 64u << 10;
        test::power_loss_env env;
        std::unique_ptr<rocksdb_store> s;
        if (!rocksdb_store::open(o, s, env.env())) std::abort();
        // One batch fills both memtables: both families wait in RocksDB's
        // flush scheduler for the next write.
        auto big = s->make_batch();
        big->put(0, "big", std::string(100u << 10, 'a'));
        big->put(1, "big", std::string(100u << 10, 'b'));
        uint64_t seq = 0;
        if (!s->commit(*big, seq)) std::abort();
        env.fs().power_off();
        auto next = s->make_batch();
        next->put(0, "next", "x");
        if (s->commit(*next, seq)) std::abort();  // the new WAL cannot be created
        if (env.fs().first_refused() != "While open a file for appending") std::abort();
        s.reset();  // DB::Close
        std::exit(0);
      },
      "last_ref");
  std::error_code ec;
  std::filesystem::remove_all(dir_of(static_cast<long>(::getpid())), ec);
}

// The same with one full memtable: the store closes cleanly (the bug needs
// several families switched by one ScheduleFlushes).
TEST_F(PowerLossRocksDb, WalCreationFailingWhileOneMemtableIsFullClosesCleanly) {
  auto o = opts(false);
  o.db.write_buffer_bytes = 64u << 10;
  std::unique_ptr<rocksdb_store> s;
  ASSERT_TRUE(rocksdb_store::open(o, s, env_.env()));
  auto big = s->make_batch();
  big->put(0, "big", std::string(100u << 10, 'a'));
  big->put(1, "small", "b");
  uint64_t seq = 0;
  ASSERT_TRUE(s->commit(*big, seq));
  env_.fs().power_off();
  auto next = s->make_batch();
  next->put(0, "next", "x");
  EXPECT_FALSE(s->commit(*next, seq));
  EXPECT_EQ(env_.fs().first_refused(), "While open a file for appending");
  s.reset();
  env_.fs().drop_unsynced();
  env_.fs().power_on();
  open(false);
  EXPECT_EQ(copies("next"), 0);
}

}  // namespace
}  // namespace vstore
