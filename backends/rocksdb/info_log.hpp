#pragma once

// RocksDB's info log (the LOG file of a data directory), written by vstore
// instead of RocksDB's own logger. RocksDB's logger aborts the process (an
// assertion in WritableFileWriter, on in Debian's build) when it writes again
// after a failed write, which is what a full disk does to it. This one drops a
// line it cannot write, counts it, and tries again with the next line.

#include <rocksdb/env.h>

#include <cstdint>
#include <memory>
#include <string>

namespace vstore {

/// Makes the info log of the database in `dir`: the current log is dir/LOG; at
/// open and whenever it exceeds `max_bytes` it is renamed to
/// LOG.old.<microseconds> and a new LOG is started, keeping at most `keep`
/// files in all (the current one included; keep >= 1). Lines of RocksDB's
/// WARN level and above also go to the "vstore" logger (warn; error for ERROR and FATAL),
/// so an operator sees background errors in vstore's own log. A line that
/// cannot be written (no space, I/O error) is dropped and counted; the file is
/// reopened at the next line. Never fails: without a usable directory it only
/// forwards to that logger. Thread-safe.
std::shared_ptr<rocksdb::Logger> make_info_log(const std::string& dir, uint64_t max_bytes,
                                               uint32_t keep);

/// Returns how many lines `log` (made by make_info_log) dropped because they
/// could not be written; 0 for any other logger.
uint64_t info_log_dropped(const rocksdb::Logger& log) noexcept;

}  // namespace vstore
