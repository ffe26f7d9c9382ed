#include "backends/rocksdb/wal_report.hpp"

#include <rocksdb/options.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include "log/log.hpp"

namespace vstore {

namespace {

namespace fs = std::filesystem;

// RocksDB's log format (docs: "Write Ahead Log File Format").
constexpr size_t block_size = 32 * 1024;
constexpr size_t header_size = 7;              // crc32c(4) length(2) type(1)
constexpr size_t recyclable_header_size = 11;  // ... log number(4)
constexpr uint8_t zero_type = 0;
constexpr uint8_t full_type = 1;
constexpr uint8_t first_type = 2;
constexpr uint8_t middle_type = 3;
constexpr uint8_t last_type = 4;
constexpr uint8_t recyclable_full_type = 5;
constexpr uint8_t recyclable_last_type = 8;
constexpr uint8_t set_compression_type = 9;

/// The CRC32C (Castagnoli, reflected polynomial 0x82F63B78) lookup table.
constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> crc32c_table = make_crc32c_table();

/// Returns the CRC32C of `n` bytes at `p`.
uint32_t crc32c(const unsigned char* p, size_t n) noexcept {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = crc32c_table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/// Returns a stored (masked) CRC unmasked, as RocksDB's log format masks it.
uint32_t unmask_crc(uint32_t masked) noexcept {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

uint32_t load_le32(const unsigned char* p) noexcept {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint64_t load_le64(const unsigned char* p) noexcept {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}

/// The logical-record state machine of one scan.
class wal_scanner {
 public:
  explicit wal_scanner(uint64_t log_number) : log_number_(static_cast<uint32_t>(log_number)) {}

  /// Scans one block that starts at file offset `base`; `last` is true when the
  /// file ends inside or at the end of it. Returns false when the scan ends
  /// (a torn tail or a record of an earlier incarnation of a recycled file).
  bool block(const unsigned char* b, size_t n, uint64_t base, bool last) {
    bool suspect = false;  // the last fragment failed its checksum; its length may be wrong
    size_t pos = 0;
    while (pos < n) {
      const size_t left = n - pos;
      if (left < header_size) return trailer(left, base + pos, last);
      const uint32_t len = b[pos + 4] | (static_cast<uint32_t>(b[pos + 5]) << 8);
      const uint8_t type = b[pos + 6];
      if (type == zero_type && len == 0) {
        pos += header_size;  // preallocated or padding zeros: RocksDB skips them silently
        continue;
      }
      const bool recyclable = type >= recyclable_full_type && type <= recyclable_last_type;
      const size_t hsize = recyclable ? recyclable_header_size : header_size;
      if (left < hsize) return trailer(left, base + pos, last);
      if (hsize + len > left) {
        if (last && n < block_size) {
          torn(base + pos);
          return false;
        }
        damage(base + pos, "bad record length", suspect);
        out_.exact = false;  // the records in the rest of this block are not counted
        return true;
      }
      const unsigned char* h = b + pos;
      if (unmask_crc(load_le32(h)) != crc32c(h + 6, hsize - 6 + len)) {
        damage(base + pos, "checksum mismatch", suspect);
        if (suspect) {
          out_.exact = false;  // its length was probably garbage too: skip the block
          return true;
        }
        suspect = true;
        pos += hsize + len;
        continue;
      }
      suspect = false;
      if (recyclable && load_le32(h + 7) != log_number_) {
        // A record of an earlier incarnation of a recycled file: the end.
        if (in_record_) torn(base + pos);
        return false;
      }
      fragment(recyclable ? static_cast<uint8_t>(type - 4) : type, base + pos);
      pos += hsize + len;
    }
    return true;
  }

  /// Ends the scan at the end of the file.
  wal_scan finish(uint64_t end) {
    if (in_record_) torn(end);
    return std::move(out_);
  }

  wal_scan& out() noexcept { return out_; }

 private:
  /// Handles the `left` bytes at the end of a block, too few for a header.
  bool trailer(size_t left, uint64_t offset, bool last) {
    if (last && left > 0) {
      torn(offset);  // the file ends inside a header
      return false;
    }
    return true;  // zero padding at the end of a full block
  }

  /// Handles one intact fragment of type full/first/middle/last (or another).
  void fragment(uint8_t type, uint64_t offset) {
    switch (type) {
      case full_type:
      case first_type:
        if (in_record_) damage(offset, "record without its last fragment", false);
        ++out_.records;
        in_record_ = type == first_type;
        resync_ = false;
        return;
      case middle_type:
      case last_type:
        if (resync_) return;  // the rest of a damaged record, or of one not counted
        if (!in_record_) {
          damage(offset, "fragment without the start of its record", false);
          out_.exact = false;
          resync_ = true;
          return;
        }
        if (type == last_type) in_record_ = false;
        return;
      case set_compression_type:
        return;
      default:
        damage(offset, "unknown record type " + std::to_string(type), false);
        return;
    }
  }

  /// Notes a damaged fragment at `offset`. A fragment that does not continue
  /// a record counts as a new (damaged) record, unless the scan is already
  /// unsure where records begin.
  void damage(uint64_t offset, const std::string& what, bool suspect) {
    uint64_t index = out_.records;
    if (in_record_) {
      index = out_.records - 1;
    } else if (!resync_ && !suspect) {
      ++out_.records;
    } else {
      out_.exact = false;
    }
    if (!out_.damaged) {
      out_.damaged = true;
      out_.first_damaged = index;
      out_.damage_offset = offset;
      out_.damage = what;
    }
    in_record_ = false;
    resync_ = true;
  }

  /// Notes a record cut off by the end of the file at `offset`.
  void torn(uint64_t offset) {
    if (in_record_ || resync_)
      out_.exact = out_.exact && in_record_;  // after damage: maybe a new record, not counted
    else
      ++out_.records;
    const uint64_t index = out_.records == 0 ? 0 : out_.records - 1;
    if (!out_.damaged) {
      out_.damaged = true;
      out_.first_damaged = index;
      out_.damage_offset = offset;
      out_.damage = "the file ends inside the record";
    }
    in_record_ = false;
  }

  uint32_t log_number_;
  bool in_record_ = false;  // a first fragment was read, its last one not yet
  bool resync_ = false;     // skip middle/last fragments until a full or first one
  wal_scan out_;
};

/// Returns `n` followed by "record" or "records".
std::string records(uint64_t n) { return std::to_string(n) + (n == 1 ? " record" : " records"); }

}  // namespace

wal_scan scan_wal_file(const std::string& path, uint64_t log_number) {
  wal_scanner sc{log_number};
  try {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) {
      sc.out().error = "cannot stat " + path + ": " + ec.message();
      return sc.finish(0);
    }
    std::ifstream in{path, std::ios::binary};
    if (!in) {
      sc.out().error = "cannot open " + path;
      return sc.finish(0);
    }
    std::vector<unsigned char> buf(block_size);
    uint64_t base = 0;
    while (base < size) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(block_size, size - base));
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
      if (static_cast<size_t>(in.gcount()) != n) {
        sc.out().error = "short read of " + path + " at byte " + std::to_string(base);
        return sc.finish(base);
      }
      if (!sc.block(buf.data(), n, base, base + n >= size)) return sc.finish(base + n);
      base += n;
    }
    return sc.finish(size);
  } catch (const std::exception& e) {
    sc.out().error = std::string{"cannot read "} + path + ": " + e.what();
    return sc.finish(0);
  }
}

std::string describe_wal_loss(const wal_report& report, const wal_file_report& file) {
  const auto& sc = file.scan;
  const std::string bound = sc.exact ? "" : "at least ";
  const bool skipped = sc.damaged && file.replayed > sc.first_damaged;
  std::string out = "vstore: WAL " + file.name + " in " + report.dir + ": ";
  out += skipped ? "replay skipped damaged records: " : "replay stopped after ";
  out += std::to_string(file.replayed) + " of " + bound + records(sc.records);
  out += file.replayed == 0 ? " (no record replayed)"
                            : " (last sequence " + std::to_string(file.last_sequence) + ")";
  const uint64_t dropped = file.dropped();
  out += ": " + bound + records(dropped);
  if (!skipped) out += " from the corruption on";
  out += dropped == 1 && sc.exact ? " was dropped (" : " were dropped (";
  if (sc.damaged)
    out += sc.damage + ": record " + std::to_string(sc.first_damaged + 1) + " at byte " +
           std::to_string(sc.damage_offset);
  else
    out += "an earlier WAL is corrupt";
  out += "; RocksDB point-in-time recovery)";
  return out;
}

/// Counts, per WAL log number, the records RocksDB replays and the last
/// sequence number among them.
struct wal_recovery::filter final : rocksdb::WalFilter {
  struct counts {
    uint64_t records = 0;
    uint64_t last_sequence = 0;
  };

  /// Each column family's log number: WAL files older than the smallest hold
  /// only flushed data, and RocksDB skips them.
  void ColumnFamilyLogNumberMap(const std::map<uint32_t, uint64_t>& cf_lognumber_map,
                                const std::map<std::string, uint32_t>&) override {
    for (const auto& [cf, log] : cf_lognumber_map)
      if (!min_log || log < *min_log) min_log = log;
  }

  WalProcessingOption LogRecordFound(unsigned long long log_number, const std::string&,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*,
                                     bool* batch_changed) override {
    *batch_changed = false;
    try {
      auto& c = logs[log_number];
      ++c.records;
      // A WAL record's payload starts with the sequence number of its first
      // operation (fixed64) and the count of its operations (fixed32).
      const std::string& rep = batch.Data();
      if (rep.size() >= 12) {
        const uint64_t first = load_le64(reinterpret_cast<const unsigned char*>(rep.data()));
        const uint32_t n = batch.Count();
        c.last_sequence = n == 0 ? first : first + n - 1;
      }
    } catch (...) {
      // Counting is best-effort; never let an exception reach RocksDB.
    }
    return WalProcessingOption::kContinueProcessing;
  }

  const char* Name() const override { return "vstore.WalReplayCounter"; }

  std::map<uint64_t, counts> logs;
  std::optional<uint64_t> min_log;
};

wal_recovery::wal_recovery() = default;

wal_recovery::~wal_recovery() = default;

void wal_recovery::prepare(const std::string& db_dir, rocksdb::DBOptions& dbo) {
  report_ = wal_report{};
  report_.dir = dbo.wal_dir.empty() ? db_dir : dbo.wal_dir;
  filter_ = std::make_unique<filter>();
  dbo.wal_filter = filter_.get();
  try {
    std::error_code ec;
    for (fs::directory_iterator it{report_.dir, ec}, end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".log") != 0) continue;
      const std::string digits = name.substr(0, name.size() - 4);
      if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      if (digits.size() > 19) continue;
      wal_file_report f;
      f.name = name;
      f.log_number = std::stoull(digits);
      report_.files.push_back(std::move(f));
    }
    std::sort(report_.files.begin(), report_.files.end(),
              [](const auto& a, const auto& b) { return a.log_number < b.log_number; });
    for (auto& f : report_.files) {
      f.scan = scan_wal_file((fs::path{report_.dir} / f.name).string(), f.log_number);
      if (!f.scan.error.empty())
        logger().warn("vstore: WAL {} in {}: cannot count its records: {}", f.name, report_.dir,
                      f.scan.error);
    }
  } catch (const std::exception& e) {
    logger().warn("vstore: cannot scan the WAL files in {}: {}", report_.dir, e.what());
  }
}

const wal_report& wal_recovery::finish() {
  if (!filter_) return report_;
  auto& files = report_.files;
  if (filter_->min_log) {
    const uint64_t min_log = *filter_->min_log;
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const auto& f) { return f.log_number < min_log; }),
                files.end());
  }
  for (auto& f : files) {
    if (auto it = filter_->logs.find(f.log_number); it != filter_->logs.end()) {
      f.replayed = it->second.records;
      f.last_sequence = it->second.last_sequence;
    }
    if (f.dropped() > 0) logger().error(describe_wal_loss(report_, f));
  }
  return report_;
}

}  // namespace vstore
