#include "backends/open_store.hpp"

#include "backends/memory/memory_store.hpp"
#include "backends/rocksdb/rocksdb_store.hpp"

namespace vstore {

status open_store(const options& opts, std::shared_ptr<store>& out) {
  if (opts.backend == backend_kind::memory) {
    out = make_memory_store(opts.schema);
    return {};
  }
  std::unique_ptr<store> db;
  if (auto st = open_rocksdb_store(opts, db); !st) return st;
  out = std::move(db);
  return {};
}

}  // namespace vstore
