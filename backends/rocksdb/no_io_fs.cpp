#include "backends/rocksdb/no_io_fs.hpp"

#include <functional>
#include <string>
#include <utility>

namespace vstore {

namespace {

/// Scopes open on this thread, and reads refused on it so far.
thread_local uint32_t scopes = 0;
thread_local uint64_t refused_reads = 0;

/// Returns whether this read must be refused (and counts it).
bool refuse() noexcept {
  if (scopes == 0) return false;
  ++refused_reads;
  return true;
}

rocksdb::IOStatus refusal() {
  return rocksdb::IOStatus::IOError("vstore: a cache-only read would have read a table file");
}

class no_io_file final : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  using rocksdb::FSRandomAccessFileOwnerWrapper::FSRandomAccessFileOwnerWrapper;

  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* dbg) const override {
    if (refuse()) return refusal();
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, options, result, scratch, dbg);
  }

  rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (refuse()) {
      for (size_t i = 0; i < num_reqs; ++i) reqs[i].status = refusal();
      return rocksdb::IOStatus::OK();
    }
    return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, num_reqs, options, dbg);
  }

  rocksdb::IOStatus Prefetch(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (refuse()) return refusal();
    return FSRandomAccessFileOwnerWrapper::Prefetch(offset, n, options, dbg);
  }

  rocksdb::IOStatus ReadAsync(rocksdb::FSReadRequest& req, const rocksdb::IOOptions& opts,
                              std::function<void(const rocksdb::FSReadRequest&, void*)> cb,
                              void* cb_arg, void** io_handle, rocksdb::IOHandleDeleter* del_fn,
                              rocksdb::IODebugContext* dbg) override {
    if (refuse()) return refusal();
    return FSRandomAccessFileOwnerWrapper::ReadAsync(req, opts, std::move(cb), cb_arg, io_handle,
                                                     del_fn, dbg);
  }
};

class no_io_fs final : public rocksdb::FileSystemWrapper {
 public:
  using rocksdb::FileSystemWrapper::FileSystemWrapper;

  const char* Name() const override { return "vstore.no_io_fs"; }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& name, const rocksdb::FileOptions& opts,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* out,
                                        rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> file;
    auto s = target()->NewRandomAccessFile(name, opts, &file, dbg);
    if (s.ok()) *out = std::make_unique<no_io_file>(std::move(file));
    return s;
  }
};

}  // namespace

no_io_scope::no_io_scope() noexcept : refused_before_(refused_reads) { ++scopes; }

no_io_scope::~no_io_scope() { --scopes; }

bool no_io_scope::refused() const noexcept { return refused_reads != refused_before_; }

std::shared_ptr<rocksdb::FileSystem> make_no_io_fs(std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<no_io_fs>(std::move(base));
}

}  // namespace vstore
