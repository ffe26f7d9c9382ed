// A corrupt or torn WAL: RocksDB's point-in-time recovery reopens the store to
// a consistent prefix of the committed batches, and vstore reports (and logs at
// error level) how many records were dropped. Real files, damaged on disk
// between a close and a reopen; the data lives only in the WAL (no flush).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "backends/rocksdb/rocksdb_store.hpp"
#include "backends/rocksdb/wal_report.hpp"
#include "log/log.hpp"
#include "tests/backends/temp_dir.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

namespace fs = std::filesystem;

constexpr space_id space_a = 0;
constexpr space_id space_b = 1;

/// Returns a schema of spaces with these names and default options.
vstore::schema schema_of(std::initializer_list<const char*> names) {
  vstore::schema s;
  for (const char* n : names) {
    space_def d;
    d.name = n;
    s.spaces.push_back(d);
  }
  return s;
}

/// Returns the key of batch i.
std::string key(int i) { return "k" + std::to_string(i); }

/// Returns the value batch i writes to `space` ('a' or 'b'): a marker that can
/// be found in the WAL file, then `filler` bytes.
std::string value(int i, char space, size_t filler) {
  char marker[32];
  std::snprintf(marker, sizeof marker, "value-%05d-%c-", i, space);
  return marker + std::string(filler, 'x');
}

/// Returns the sink every log_capture hangs its own sink on: a dist_sink added
/// to vstore::logger() at first use and kept there for the rest of the process.
/// spdlog does not guard a logger's sink vector against a thread that logs
/// meanwhile (RocksDB's background threads do, through info_log), so that
/// vector changes once, here, before the first capture's store opens; a
/// dist_sink adds and removes its sinks under its own mutex.
std::shared_ptr<spdlog::sinks::dist_sink_mt> capture_hub() {
  static const auto hub = [] {
    auto h = std::make_shared<spdlog::sinks::dist_sink_mt>();
    logger().sinks().push_back(h);
    return h;
  }();
  return hub;
}

/// Keeps the "vstore" logger's lines, as "<level> <message>", while it lives:
/// its sink joins capture_hub() on construction and leaves on destruction, so
/// no logger writes to it afterwards. The lines live in the sink itself.
class log_capture {
 public:
  log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(max_lines)) {
    sink_->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%l %v", spdlog::pattern_time_type::local, std::string{}));
    capture_hub()->add_sink(sink_);
  }
  ~log_capture() { capture_hub()->remove_sink(sink_); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Returns the captured lines of level "error" that name a WAL.
  std::vector<std::string> wal_errors() const {
    std::vector<std::string> out;
    for (const std::string& line : sink_->last_formatted())
      if (line.rfind("error vstore: WAL ", 0) == 0) out.push_back(line.substr(6));
    return out;
  }

 private:
  /// Far more lines than a test here logs (the oldest go first).
  static constexpr size_t max_lines = 10'000;

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

/// The check the intact WAL must pass and every damaged one must fail.
bool nothing_dropped(const wal_report& r) {
  return r.dropped() == 0 &&
         std::none_of(r.files.begin(), r.files.end(), [](const auto& f) { return f.scan.damaged; });
}

class WalRecovery : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  /// Returns options for the database: two spaces, every commit fsynced, a
  /// write buffer far larger than the test writes (nothing is flushed).
  options opts() const {
    options o;
    o.schema = schema_of({"a", "b"});
    o.db.path = dir_.sub("db");
    o.db.block_cache_bytes = 8u << 20;
    o.db.write_buffer_bytes = 64u << 20;
    o.db.sync = true;
    return o;
  }

  /// Commits `n` batches, each a put of key(i) to both spaces, and closes the
  /// store without flushing. Checks that the data lives only in one WAL file,
  /// which holds exactly `n` records, and remembers that file.
  void write_batches(int n, size_t filler = 16) {
    {
      std::unique_ptr<rocksdb_store> s;
      auto st = rocksdb_store::open(opts(), s);
      ASSERT_TRUE(st) << st.to_string();
      for (int i = 0; i < n; ++i) {
        auto b = s->make_batch();
        b->put(space_a, key(i), value(i, 'a', filler));
        b->put(space_b, key(i), value(i, 'b', filler));
        uint64_t seq = 0;
        auto c = s->commit(*b, seq);
        ASSERT_TRUE(c) << c.to_string();
      }
    }
    std::vector<fs::path> logs;
    for (const auto& e : fs::directory_iterator(opts().db.path)) {
      const auto ext = e.path().extension().string();
      ASSERT_NE(ext, ".sst") << "a memtable was flushed: " << e.path();
      if (ext == ".log" && fs::file_size(e.path()) > 0) logs.push_back(e.path());
    }
    ASSERT_EQ(logs.size(), 1u);
    wal_ = logs.front();
    auto scan = scan_wal_file(wal_.string(), std::stoull(wal_.stem().string()));
    EXPECT_EQ(scan.records, static_cast<uint64_t>(n));
    EXPECT_FALSE(scan.damaged) << scan.damage;
    EXPECT_TRUE(scan.exact);
    EXPECT_EQ(scan.error, "");
  }

  /// Returns the WAL file's bytes.
  std::string wal_bytes() const {
    std::ifstream in{wal_, std::ios::binary};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  /// Returns the offset of `text` in the WAL file (it must be there once).
  size_t offset_of(const std::string& text) const {
    const auto bytes = wal_bytes();
    const auto at = bytes.find(text);
    EXPECT_NE(at, std::string::npos) << text;
    EXPECT_EQ(bytes.find(text, at + 1), std::string::npos) << text;
    return at;
  }

  /// Flips every bit of the WAL file's byte at `offset`.
  void flip_byte(size_t offset) const {
    std::fstream f{wal_, std::ios::binary | std::ios::in | std::ios::out};
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(~c));
    ASSERT_TRUE(f.good());
  }

  /// Reopens the store (expects success).
  std::unique_ptr<rocksdb_store> reopen() const {
    std::unique_ptr<rocksdb_store> s;
    auto st = rocksdb_store::open(opts(), s);
    EXPECT_TRUE(st) << st.to_string();
    return s;
  }

  /// Returns m such that the store holds exactly batches 0..m-1 of `n`, both
  /// spaces with the values written; fails the test (and returns -1) if a
  /// batch is torn (one space only), a value differs, or it is not a prefix.
  static int held_prefix(const store& s, int n, size_t filler = 16) {
    int m = -1;
    for (int i = 0; i < n; ++i) {
      std::string va, vb;
      bool fa = false, fb = false;
      EXPECT_TRUE(s.get(space_a, key(i), va, fa));
      EXPECT_TRUE(s.get(space_b, key(i), vb, fb));
      if (fa != fb) {
        ADD_FAILURE() << "batch " << i << " is torn: a " << fa << ", b " << fb;
        return -1;
      }
      if (fa) {
        EXPECT_EQ(va, value(i, 'a', filler));
        EXPECT_EQ(vb, value(i, 'b', filler));
        if (m >= 0) {
          ADD_FAILURE() << "batch " << i << " is held after missing batch " << m;
          return -1;
        }
      } else if (m < 0) {
        m = i;
      }
    }
    return m < 0 ? n : m;
  }

  test::temp_dir dir_;
  fs::path wal_;
};

TEST_F(WalRecovery, TruncatedInTheMiddleReopensToAPrefix) {
  constexpr int n = 100;
  write_batches(n);
  // Cut the file inside batch 50's record: its header and key survive.
  fs::resize_file(wal_, offset_of(value(50, 'a', 0)) + 3);
  log_capture logs;
  auto s = reopen();
  ASSERT_NE(s, nullptr);
  const int m = held_prefix(*s, n);
  EXPECT_EQ(m, 50);
  EXPECT_LT(m, n);
  const auto& r = s->last_wal_report();
  EXPECT_FALSE(nothing_dropped(r));
  ASSERT_EQ(r.files.size(), 1u);
  const auto& f = r.files[0];
  EXPECT_EQ(f.name, wal_.filename().string());
  EXPECT_EQ(f.scan.records, 51u);  // 50 whole ones and the torn one; the rest is gone
  EXPECT_EQ(f.replayed, 50u);
  EXPECT_EQ(f.dropped(), 1u);
  EXPECT_TRUE(f.scan.damaged);
  EXPECT_EQ(f.scan.first_damaged, 50u);
  EXPECT_EQ(f.last_sequence, s->latest_sequence());
  EXPECT_EQ(f.last_sequence, 100u);  // 2 operations per batch
  const auto lines = logs.wal_errors();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], describe_wal_loss(r, f));
  EXPECT_NE(lines[0].find("replay stopped after 50 of 51 records (last sequence 100): 1 record "
                          "from the corruption on was dropped"),
            std::string::npos)
      << lines[0];
  std::printf("[ measure  ] %s\n", lines[0].c_str());
  // The recovered prefix was flushed and the damaged WAL removed: the next
  // open holds the same prefix and reports nothing (the new WAL holds only
  // the empty batch RocksDB writes after a point-in-time recovery).
  s.reset();
  s = reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(held_prefix(*s, n), 50);
  EXPECT_TRUE(nothing_dropped(s->last_wal_report()));
  EXPECT_EQ(logs.wal_errors().size(), 1u);
}

TEST_F(WalRecovery, CorruptByteInTheMiddleReopensToAPrefix) {
  constexpr int n = 100;
  write_batches(n);
  flip_byte(offset_of(value(40, 'b', 0)) + 2);
  log_capture logs;
  auto s = reopen();
  ASSERT_NE(s, nullptr);
  const int m = held_prefix(*s, n);
  EXPECT_EQ(m, 40);
  const auto& r = s->last_wal_report();
  EXPECT_FALSE(nothing_dropped(r));
  ASSERT_EQ(r.files.size(), 1u);
  const auto& f = r.files[0];
  EXPECT_EQ(f.scan.records, 100u);
  EXPECT_TRUE(f.scan.exact);
  EXPECT_EQ(f.replayed, 40u);
  EXPECT_EQ(f.dropped(), 60u);
  EXPECT_EQ(f.scan.first_damaged, 40u);
  EXPECT_EQ(f.scan.damage, "checksum mismatch");
  EXPECT_EQ(f.last_sequence, 80u);
  EXPECT_EQ(s->latest_sequence(), 80u);
  const auto lines = logs.wal_errors();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("replay stopped after 40 of 100 records (last sequence 80): 60 records "
                          "from the corruption on were dropped (checksum mismatch: record 41"),
            std::string::npos)
      << lines[0];
  std::printf("[ measure  ] %s\n", lines[0].c_str());
}

TEST_F(WalRecovery, IntactWalReportsNothingDropped) {
  constexpr int n = 100;
  write_batches(n);
  log_capture logs;
  auto s = reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(held_prefix(*s, n), n);
  const auto& r = s->last_wal_report();
  EXPECT_TRUE(nothing_dropped(r));
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].scan.records, 100u);
  EXPECT_EQ(r.files[0].replayed, 100u);
  EXPECT_EQ(r.files[0].last_sequence, 200u);
  EXPECT_TRUE(logs.wal_errors().empty());
  // The recovered data went to SST files and the old WAL was removed: a
  // second reopen has nothing to replay and reports nothing.
  s.reset();
  s = reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(held_prefix(*s, n), n);
  EXPECT_TRUE(nothing_dropped(s->last_wal_report()));
  EXPECT_TRUE(logs.wal_errors().empty());
}

TEST_F(WalRecovery, TornLastRecordReopensToAllButTheLast) {
  constexpr int n = 100;
  write_batches(n);
  fs::resize_file(wal_, fs::file_size(wal_) - 3);
  log_capture logs;
  auto s = reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(held_prefix(*s, n), n - 1);
  const auto& r = s->last_wal_report();
  EXPECT_FALSE(nothing_dropped(r));
  ASSERT_EQ(r.files.size(), 1u);
  const auto& f = r.files[0];
  EXPECT_EQ(f.scan.records, 100u);
  EXPECT_EQ(f.replayed, 99u);
  EXPECT_EQ(f.dropped(), 1u);
  EXPECT_EQ(f.scan.first_damaged, 99u);
  EXPECT_EQ(f.scan.damage, "the file ends inside the record");
  EXPECT_EQ(f.last_sequence, 198u);
  const auto lines = logs.wal_errors();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("replay stopped after 99 of 100 records (last sequence 198): 1 record "
                          "from the corruption on was dropped (the file ends inside the record: "
                          "record 100"),
            std::string::npos)
      << lines[0];
  std::printf("[ measure  ] %s\n", lines[0].c_str());
}

TEST_F(WalRecovery, RecordsSpanningBlocksAreCountedWholeAndADamagedFragmentStopsReplay) {
  // Each batch is ~100 KiB: a first, two middle and a last fragment in 32 KiB
  // blocks. Damage a byte deep inside batch 5's value (a later fragment).
  constexpr int n = 10;
  constexpr size_t filler = 50'000;
  write_batches(n, filler);
  flip_byte(offset_of(value(5, 'b', 0)) + 40'000);
  log_capture logs;
  auto s = reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(held_prefix(*s, n, filler), 5);
  const auto& r = s->last_wal_report();
  ASSERT_EQ(r.files.size(), 1u);
  const auto& f = r.files[0];
  EXPECT_EQ(f.scan.records, 10u);
  EXPECT_TRUE(f.scan.exact);
  EXPECT_EQ(f.scan.first_damaged, 5u);
  EXPECT_EQ(f.replayed, 5u);
  EXPECT_EQ(f.dropped(), 5u);
  EXPECT_EQ(logs.wal_errors().size(), 1u);
}

}  // namespace
}  // namespace vstore
