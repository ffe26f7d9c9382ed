#pragma once

// A file system under RocksDB that refuses to read table files on a thread
// inside a no_io_scope. It makes DB::MultiGet answer from memory only:
// RocksDB 7.8's BlockBasedTable::MultiGet looks the data blocks up in the
// block cache and then reads the missing ones from the file whatever
// ReadOptions::read_tier says, so kBlockCacheTier alone does not stop it from
// blocking its caller (a scheduler thread) on a read(2). Inside a scope those
// reads fail at once, RocksDB answers the keys they were for with an I/O
// error, and the scope tells the caller that this happened (refused()), so it
// can send the read on to a reader that may block.
//
// Every other call goes to the file system below unchanged, and reads on any
// thread outside a scope (flushes, compactions, blocking readers) are not
// touched.

#include <rocksdb/file_system.h>

#include <cstdint>
#include <memory>

namespace vstore {

/// Marks the calling thread as one that must not read table files until the
/// scope ends. Scopes nest.
class no_io_scope {
 public:
  no_io_scope() noexcept;
  ~no_io_scope();
  no_io_scope(const no_io_scope&) = delete;
  no_io_scope& operator=(const no_io_scope&) = delete;

  /// Returns whether a read was refused on this thread since the scope began.
  bool refused() const noexcept;

 private:
  uint64_t refused_before_;
};

/// Returns `base` wrapped so that reads of the random-access files it opens
/// (RocksDB's table files) are refused inside a no_io_scope.
std::shared_ptr<rocksdb::FileSystem> make_no_io_fs(std::shared_ptr<rocksdb::FileSystem> base);

}  // namespace vstore
