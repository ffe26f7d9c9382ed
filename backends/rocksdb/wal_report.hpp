#pragma once

// What a DB::Open replayed from each WAL file, compared with what the file
// held. RocksDB opens in point-in-time recovery mode: replay stops at the first
// corrupt or torn record, and every later record (in that file and in later
// WAL files) is dropped without an error from DB::Open. This code makes such a
// loss visible: before the open it counts the records of each WAL file (a
// structural read of RocksDB's documented log format), during the open a
// rocksdb::WalFilter counts the records RocksDB replays, and after it every
// file that lost records is logged at error level.
//
// This header does not include RocksDB (rocksdb_store.hpp includes it); the
// filter lives in wal_report.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rocksdb {
struct DBOptions;
}  // namespace rocksdb

namespace vstore {

/// The records one WAL file holds, as a structural read of the file finds them.
struct wal_scan {
  /// Logical records that begin in the file: whole ones, damaged ones and a
  /// torn one at the end. SetCompressionType records are not counted.
  uint64_t records = 0;
  /// False when damage hid where records begin (a garbled length or type):
  /// the scan then resumed at the next 32 KiB block and `records` is a lower
  /// bound.
  bool exact = true;
  /// Whether a record is damaged or torn; the fields below describe the first.
  bool damaged = false;
  /// The 0-based index of the first damaged record (the count of whole records
  /// before it).
  uint64_t first_damaged = 0;
  /// The byte offset in the file where the first damage was found.
  uint64_t damage_offset = 0;
  /// What the first damage is: "checksum mismatch", "bad record length",
  /// "torn record at the end of the file", ...
  std::string damage;
  /// Empty, or why the file could not be read (then the counts are partial).
  std::string error;
};

/// Reads the WAL file at `path` (RocksDB's log format: 32 KiB blocks of
/// physical records, each with a 7-byte header crc32c(4) length(2) type(1), 11
/// bytes for the recyclable types, which add the log number; zero padding at
/// block ends) and counts its logical records, verifying each fragment's
/// masked CRC32C. `log_number` identifies records of this file in a recycled
/// one. Never throws. Blocks (reads the whole file).
wal_scan scan_wal_file(const std::string& path, uint64_t log_number);

/// What one open replayed from one WAL file.
struct wal_file_report {
  /// The file name, e.g. "000012.log".
  std::string name;
  /// The WAL's log number (the number in its name).
  uint64_t log_number = 0;
  /// What the file held before the open (see wal_scan).
  wal_scan scan;
  /// The records RocksDB replayed from the file.
  uint64_t replayed = 0;
  /// The sequence number of the last operation replayed from the file; 0 when
  /// none was.
  uint64_t last_sequence = 0;

  /// Returns the records of the file that were not replayed: scan.records -
  /// replayed, or 0 (a lower bound when scan.exact is false).
  uint64_t dropped() const noexcept {
    return scan.records > replayed ? scan.records - replayed : 0;
  }
};

/// What one open replayed from the WAL files of its directory.
struct wal_report {
  /// The WAL directory (the data directory unless DBOptions::wal_dir is set).
  std::string dir;
  /// Each WAL file recovery had to consider, by ascending log number. Files
  /// older than every column family's log number hold only flushed data; RocksDB
  /// skips them and they are not listed.
  std::vector<wal_file_report> files;

  /// Returns the records dropped over all files.
  uint64_t dropped() const noexcept {
    uint64_t n = 0;
    for (const auto& f : files) n += f.dropped();
    return n;
  }
};

/// Returns the error line logged for a file that lost records, e.g. "vstore:
/// WAL 000012.log in /data: replay stopped after 57 of 120 records (last
/// sequence 345): 63 records from the corruption on were dropped (checksum
/// mismatch in record 58 at byte 12345; RocksDB point-in-time recovery)".
std::string describe_wal_loss(const wal_report& report, const wal_file_report& file);

/// Watches one DB::Open: prepare() scans the WAL files and installs a counting
/// rocksdb::WalFilter in the options, finish() compares and logs. The filter
/// stays referenced by the open DB's options, so this object must outlive the
/// DB. Not thread-safe (RocksDB recovers on one thread).
class wal_recovery {
 public:
  wal_recovery();
  ~wal_recovery();
  wal_recovery(const wal_recovery&) = delete;
  wal_recovery& operator=(const wal_recovery&) = delete;

  /// Scans the WAL files of the database in `db_dir` (or of dbo.wal_dir) and
  /// sets dbo.wal_filter to this object's filter. Call right before DB::Open
  /// with `dbo`. Never fails: a file that cannot be read is logged at warn
  /// level and reported with scan.error. Blocks.
  void prepare(const std::string& db_dir, rocksdb::DBOptions& dbo);

  /// After a successful DB::Open: builds the report and logs each file that
  /// lost records at error level (describe_wal_loss). Returns the report.
  const wal_report& finish();

  /// Returns the report of the last finish() (empty before it).
  const wal_report& report() const noexcept { return report_; }

 private:
  struct filter;
  std::unique_ptr<filter> filter_;
  wal_report report_;
};

}  // namespace vstore
