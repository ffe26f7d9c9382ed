// vstore's RocksDB info log on a full disk (a real tmpfs): RocksDB's own
// logger aborts the process when it writes again after a failed write (an
// assertion in WritableFileWriter, on in Debian's librocksdb: what took
// vstored down on a full disk); vstore's drops and counts the lines it cannot
// write, and writes again once space is freed.

#include <gtest/gtest.h>

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "backends/rocksdb/info_log.hpp"
#include "tests/backends/temp_dir.hpp"
#include "tests/support/tmpfs.hpp"

namespace vstore {
namespace {

using test::temp_dir;
using test::tmpfs_mount;

/// Logs `n` lines of about 200 bytes through `log`.
void log_lines(rocksdb::Logger& log, int n) {
  const std::string pad(180, 'p');
  for (int i = 0; i < n; ++i)
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, &log, "line %d %s", i, pad.c_str());
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class InfoLog : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = std::make_unique<tmpfs_mount>(dir_.sub("mnt"), "1m");
    if (!mnt_->mounted())
      GTEST_SKIP() << "cannot mount a tmpfs (" << mnt_->error() << "): needs root";
    // Leave about 16 KiB free.
    test::write_file(filler(), 1u << 20);
    std::filesystem::remove(filler());
    auto room = test::write_file(filler(), 1u << 20);
    std::filesystem::resize_file(filler(), room - (16u << 10));
  }
  std::string dir() const { return mnt_->dir(); }
  std::string filler() const { return dir_.sub("mnt") + "/filler"; }

  temp_dir dir_;
  std::unique_ptr<tmpfs_mount> mnt_;
};

TEST_F(InfoLog, FullDiskDropsLinesInsteadOfAborting) {
  auto log = make_info_log(dir(), 1u << 20, 2);
  log_lines(*log, 2000);  // ~400 KiB into ~16 KiB of room
  auto dropped = info_log_dropped(*log);
  EXPECT_GT(dropped, 1000u);
  EXPECT_LT(dropped, 2000u) << "nothing was written before the disk filled";
  // Space freed: the next line is written again.
  std::filesystem::remove(filler());
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log.get(), "after the disk was freed");
  EXPECT_EQ(info_log_dropped(*log), dropped);
  log->Close().PermitUncheckedError();
  EXPECT_NE(read_all(dir() + "/LOG").find("after the disk was freed"), std::string::npos);
}

TEST_F(InfoLog, RollsAtMaxSizeAndKeepsAtMostKeepFiles) {
  std::filesystem::remove(filler());
  auto log = make_info_log(dir(), 64u << 10, 3);
  log_lines(*log, 2000);  // ~400 KiB: six or seven rolls of 64 KiB
  log->Close().PermitUncheckedError();
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir()))
    if (e.path().filename().string().rfind("LOG", 0) == 0) {
      ++files;
      EXPECT_LE(e.file_size(), (64u << 10) + 512) << e.path();
    }
  EXPECT_EQ(files, 3u);
  EXPECT_EQ(info_log_dropped(*log), 0u);
}

// The fault the logger exists for: RocksDB's own info logger, on the same full
// disk, dies on its assertion. If a RocksDB build without assertions ever
// stops dying here, vstore's logger is still the one that never aborts.
TEST_F(InfoLog, RocksDbsOwnLoggerAbortsOnTheSameFullDisk) {
  // "fast" (fork, no re-exec): the child uses the tmpfs the parent mounted;
  // "threadsafe" would run SetUp again in the child and leave its mount behind.
  GTEST_FLAG_SET(death_test_style, "fast");
  EXPECT_DEATH(
      {
        rocksdb::DBOptions o;
        o.db_log_dir = "";
        std::shared_ptr<rocksdb::Logger> own;
        if (!rocksdb::CreateLoggerFromOptions(dir(), o, &own).ok()) std::abort();
        log_lines(*own, 2000);
        own->Flush();
        log_lines(*own, 10);
        std::exit(0);
      },
      "");
}

}  // namespace
}  // namespace vstore
