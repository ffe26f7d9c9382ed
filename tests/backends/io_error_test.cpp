// I/O errors for real: a rocksdb_store on a RocksDB Env whose writable files
// fail with EIO on command (tests/support/fault_env.hpp), not a decorator that
// pretends. What a failed WAL write does to the store's health, to reads, to
// DB::Resume, and what a reopen finds on disk.
//
// Two kinds of error, because RocksDB 7.8 treats them differently:
// - a plain EIO (what the POSIX file system answers for a failing disk: not
//   "retryable"): with paranoid_checks (vstore's default) RocksDB maps a
//   failed WAL write to a FATAL background error (error_handler.cc:
//   kWriteCallback + kIOError + paranoid -> kFatalError) and DB::Resume
//   refuses fatal errors, so the store is `failed` until it is reopened;
// - a retryable I/O error (what RocksDB's own fault-injection file system and
//   remote file systems report for a transient fault): a HARD error that
//   RocksDB retries by itself (every bgerror_resume_retry_interval, 1 s), so
//   the store is `degraded` and comes back once the disk heals.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/rocksdb/rocksdb_store.hpp"
#include "tests/backends/temp_dir.hpp"
#include "tests/support/fault_env.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;

constexpr space_id space_a = 0;
constexpr space_id space_b = 1;
constexpr int committed_batches = 10;

class IoError : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  /// Two spaces, WAL not fsynced per commit (vstore's default), no free-space
  /// reserve (the fault is an I/O error, not a full disk), a write buffer far
  /// larger than the test writes (nothing is flushed before the fault).
  options opts() const {
    options o;
    for (const char* n : {"a", "b"}) {
      space_def d;
      d.name = n;
      o.schema.spaces.push_back(d);
    }
    o.db.path = dir_.sub("db");
    o.db.block_cache_bytes = 8u << 20;
    o.db.write_buffer_bytes = 16u << 20;
    o.db.min_free_bytes = 0;
    return o;
  }

  /// Opens the store on the fault environment (or RocksDB's default one).
  void open(bool faulty = true) {
    store_.reset();
    auto st = rocksdb_store::open(opts(), store_, faulty ? env_.env() : nullptr);
    ASSERT_TRUE(st) << st.to_string();
  }

  /// Commits one batch putting `key` to both spaces.
  status commit_pair(const std::string& key) {
    auto b = store_->make_batch();
    b->put(space_a, key, "a-" + key);
    b->put(space_b, key, "b-" + key);
    uint64_t seq = 0;
    return store_->commit(*b, seq);
  }

  /// Returns how many of the two spaces hold `key` (with its value).
  int copies(const std::string& key) const {
    int n = 0;
    for (auto [space, prefix] : {std::pair{space_a, "a-"}, std::pair{space_b, "b-"}}) {
      std::string v;
      bool found = false;
      auto st = store_->get(space, key, v, found);
      EXPECT_TRUE(st) << st.to_string();
      if (found && v == prefix + key) ++n;
    }
    return n;
  }

  /// Commits k0..k9; each must succeed.
  void commit_baseline() {
    for (int i = 0; i < committed_batches; ++i) {
      auto st = commit_pair("k" + std::to_string(i));
      ASSERT_TRUE(st) << st.to_string();
    }
  }

  /// Every read kind serves the baseline (get, multi_get, scan).
  void expect_reads_served() {
    for (int i = 0; i < committed_batches; ++i) EXPECT_EQ(copies("k" + std::to_string(i)), 2);
    std::vector<std::optional<std::string>> values;
    auto st = store_->multi_get(space_a, {"k0", "k9"}, values);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_EQ(values.size(), 2u);
    EXPECT_EQ(values[0], std::optional<std::string>{"a-k0"});
    scan_page page;
    st = store_->scan(space_b, "k", "", 100, page);
    ASSERT_TRUE(st) << st.to_string();
    EXPECT_EQ(page.entries.size(), static_cast<size_t>(committed_batches));
  }

  /// Closes the store, reopens it on RocksDB's default environment and checks
  /// that every committed batch is there and that the failed batch `failed`
  /// is whole or absent (one WAL record: never torn). Returns whether the
  /// failed batch is present.
  bool reopen_and_check(const std::vector<std::string>& committed, const std::string& failed) {
    open(false);
    EXPECT_EQ(store_->state(), health_state::ok);
    for (const auto& k : committed) EXPECT_EQ(copies(k), 2) << k;
    auto n = copies(failed);
    EXPECT_TRUE(n == 0 || n == 2) << "the failed batch is torn: " << n << " of 2 parts";
    auto st = commit_pair("after-reopen");
    EXPECT_TRUE(st) << st.to_string();
    return n == 2;
  }

  test::temp_dir dir_;
  test::fault_env env_;  // outlives store_ (declared first)
  std::unique_ptr<rocksdb_store> store_;
};

// The premise of every test here: RocksDB's WAL writer does not hold a commit
// back in a buffer. With manual_wal_flush off, each DB::Write ends with a
// flush of the WAL buffer into the file, so an armed fault is hit by the very
// next commit, with and without fsync.
TEST_F(IoError, EveryCommitAppendsToTheWalAtOnce) {
  for (bool sync : {false, true}) {
    SCOPED_TRACE(sync ? "sync" : "no sync");
    store_.reset();
    auto o = opts();
    o.db.path = dir_.sub(sync ? "db-sync" : "db-nosync");
    o.db.sync = sync;
    auto st = rocksdb_store::open(o, store_, env_.env());
    ASSERT_TRUE(st) << st.to_string();
    for (int i = 0; i < 5; ++i) {
      auto before = env_.wal_appends();
      ASSERT_TRUE(commit_pair("k" + std::to_string(i)));
      EXPECT_EQ(env_.wal_appends(), before + 1) << "commit " << i;
    }
    auto injected = env_.injected();
    env_.arm();
    EXPECT_FALSE(commit_pair("failed"));
    EXPECT_EQ(env_.injected(), injected + 1);
    env_.disarm();
  }
}

// A disk that answers EIO to a WAL write, with vstore's default settings:
// the commit fails (io_error, in doubt), RocksDB stops every later write with
// a fatal background error, and the store says so: `failed`, refused with
// `unavailable`, naming the directory. Reads go on. Neither recover() nor a
// healed disk brings it back (DB::Resume refuses a fatal error); a reopen
// does, with every committed batch there and the failed one absent.
TEST_F(IoError, EioOnTheWalFailsTheStoreUntilItIsReopened) {
  open();
  commit_baseline();
  env_.arm();
  auto st = commit_pair("failed");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::io_error) << st.to_string();
  EXPECT_GE(env_.injected(), 1u);

  EXPECT_EQ(store_->state(), health_state::failed);
  auto h = store_->health();
  EXPECT_EQ(h.state, health_state::failed);
  EXPECT_EQ(h.code, errc::unavailable);
  EXPECT_NE(h.message.find(opts().db.path), std::string::npos) << h.message;
  EXPECT_NE(h.message.find("Input/output error"), std::string::npos) << h.message;
  EXPECT_EQ(h.recoveries, 0u);
  expect_reads_served();

  // Nothing brings it back while the disk fails, nor after it healed.
  auto r = store_->recover();
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), errc::unavailable) << r.to_string();
  EXPECT_FALSE(commit_pair("while-failed"));
  env_.disarm();
  r = store_->recover();
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), errc::unavailable) << r.to_string();
  EXPECT_EQ(store_->state(), health_state::failed);
  EXPECT_FALSE(commit_pair("after-heal"));
  expect_reads_served();

  std::vector<std::string> committed;
  for (int i = 0; i < committed_batches; ++i) committed.push_back("k" + std::to_string(i));
  EXPECT_FALSE(reopen_and_check(committed, "failed"));
  EXPECT_EQ(copies("while-failed"), 0);
  EXPECT_EQ(copies("after-heal"), 0);
}

// A transient, retryable I/O error of the whole disk (every writable file):
// the commit fails (io_error), the store is `degraded` with io_error and reads
// are served. While the disk fails, recover() answers why not (RocksDB's own
// retry is running: overloaded), commits fail and the store stays degraded:
// RocksDB's recovery flush cannot write its SST files. Once the disk heals,
// RocksDB's retry (every bgerror_resume_retry_interval, 1 s) resumes the
// database (flushes the memtables, switches to a new WAL) and the store is ok
// again, counted once. A reopen finds every committed batch and the failed
// one whole or absent.
//
// Every file, not just the WAL: with only the WAL failing, RocksDB's recovery
// (which writes SST files and opens a new WAL, but appends nothing to it)
// succeeds while the WAL still fails, and the next commit fails again.
TEST_F(IoError, RetryableIoErrorDegradesTheStoreUntilTheDiskHeals) {
  open();
  commit_baseline();
  env_.arm(test::fault_target::all, /*retryable=*/true);
  auto st = commit_pair("failed");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::io_error) << st.to_string();

  EXPECT_EQ(store_->state(), health_state::degraded);
  auto h = store_->health();
  EXPECT_EQ(h.state, health_state::degraded);
  EXPECT_EQ(h.code, errc::io_error);
  EXPECT_NE(h.message.find(opts().db.path), std::string::npos) << h.message;
  EXPECT_EQ(h.recoveries, 0u);
  expect_reads_served();

  auto r = store_->recover();
  EXPECT_FALSE(r);
  EXPECT_NE(r.code(), errc::unavailable) << r.to_string();
  EXPECT_FALSE(commit_pair("while-degraded"));
  EXPECT_EQ(store_->state(), health_state::degraded);
  EXPECT_EQ(store_->health().code, errc::io_error);

  // The disk heals: recover() (DB::Resume: a flush and a new WAL) succeeds at
  // once; RocksDB's own retry is off, only recover() resumes.
  env_.disarm();
  auto healed = std::chrono::steady_clock::now();
  auto deadline = healed + 15s;
  int polls = 0;
  while (!(r = store_->recover()) && std::chrono::steady_clock::now() < deadline && polls < 3000)
    ++polls;
  ASSERT_TRUE(r) << r.to_string() << " after " << polls << " polls";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - healed);
  std::printf("[ figures  ] back to ok %lld ms after the disk healed (%d polls, %llu faults)\n",
              static_cast<long long>(took.count()), polls,
              static_cast<unsigned long long>(env_.injected()));
  EXPECT_EQ(store_->state(), health_state::ok);
  h = store_->health();
  EXPECT_EQ(h.state, health_state::ok);
  EXPECT_EQ(h.recoveries, 1u);
  ASSERT_TRUE(commit_pair("after-heal"));
  EXPECT_EQ(copies("after-heal"), 2);
  expect_reads_served();

  std::vector<std::string> committed;
  for (int i = 0; i < committed_batches; ++i) committed.push_back("k" + std::to_string(i));
  committed.push_back("after-heal");
  bool failed_present = reopen_and_check(committed, "failed");
  std::printf("[ figures  ] the failed batch is %s after the reopen\n",
              failed_present ? "present" : "absent");
  EXPECT_EQ(copies("while-degraded"), 0);
}

// The reproducer of a crash (docs/reliability.md, "I/O error"): a retryable
// WAL error (ENOSPC is one: RocksDB's POSIX file system marks it retryable)
// while every memtable is empty (after store::sync, right after an open).
// RocksDB 7.8's recovery then flushes nothing, so it does not switch to a new
// WAL (upstream bug, fixed in 9.6 by #12873), clears the error, and the next
// commit reaches the WAL writer that saw the error: Debian's librocksdb is
// built with assertions, and the process aborts
// (writable_file_writer.h:312, `sync_without_flush_called_`). Surviving means
// either recovering (and then committing) or failing safely (failed, refused
// until a reopen); either way the reopen finds every committed batch.
// rocksdb_store fails the store in that case (recover() checks the memtables)
// and turns RocksDB's own resume off, so only recover() decides.
TEST_F(IoError, RetryableWalErrorWithEmptyMemtablesIsSurvived) {
  open();
  commit_baseline();
  ASSERT_TRUE(store_->sync());  // every memtable flushed: all empty
  env_.arm(test::fault_target::wal, /*retryable=*/true);
  ASSERT_FALSE(commit_pair("failed"));
  EXPECT_EQ(store_->state(), health_state::degraded);
  env_.disarm();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  status r;
  while (!(r = store_->recover()) && store_->state() != health_state::failed &&
         std::chrono::steady_clock::now() < deadline) {
  }
  ASSERT_TRUE(r || store_->state() == health_state::failed) << r.to_string();
  auto st = commit_pair("after-heal");  // aborts the process with RocksDB 7.8
  EXPECT_EQ(static_cast<bool>(st), static_cast<bool>(r)) << st.to_string();
  std::vector<std::string> committed;
  for (int i = 0; i < committed_batches; ++i) committed.push_back("k" + std::to_string(i));
  if (st) committed.push_back("after-heal");
  reopen_and_check(committed, "failed");
}

// The reproducer of a crash on shutdown (docs/reliability.md, "I/O error"):
// after a failed WAL write, store::sync (the manager's final sync when it
// drains) calls DB::FlushWAL(true), whose SyncWAL reaches the WAL writer that
// saw the error; Debian's librocksdb is built with assertions and the process
// aborts (writable_file_writer.h:312, `sync_without_flush_called_`). A close
// without the sync (the destructor) is fine. rocksdb_store::sync leaves a
// store that is not ok alone (it answers the health's error).
TEST_F(IoError, SyncAfterAWalErrorDoesNotAbort) {
  open();
  commit_baseline();
  env_.arm();
  ASSERT_FALSE(commit_pair("failed"));
  env_.disarm();
  auto st = store_->sync();  // aborts the process with RocksDB 7.8
  EXPECT_FALSE(st);
  std::vector<std::string> committed;
  for (int i = 0; i < committed_batches; ++i) committed.push_back("k" + std::to_string(i));
  reopen_and_check(committed, "failed");
}

// Every writable file fails, SST and MANIFEST included: a flush (store::sync)
// fails and RocksDB's background error fails the store; reads go on and a
// reopen on a healed disk finds every committed batch.
TEST_F(IoError, EioOnEveryFileFailsAFlushAndTheStore) {
  open();
  commit_baseline();
  env_.arm(test::fault_target::all);
  auto st = store_->sync();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::io_error) << st.to_string();
  EXPECT_GE(env_.injected(), 1u);
  EXPECT_NE(store_->state(), health_state::ok);
  EXPECT_FALSE(commit_pair("failed"));
  expect_reads_served();
  env_.disarm();
  std::vector<std::string> committed;
  for (int i = 0; i < committed_batches; ++i) committed.push_back("k" + std::to_string(i));
  reopen_and_check(committed, "failed");
}

}  // namespace
}  // namespace vstore
