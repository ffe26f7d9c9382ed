#pragma once

#include <memory>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// Opens the backend that `opts` configures: RocksDB at opts.db.path, or a
/// fresh memory store. Blocks while RocksDB opens (and recovers its WAL).
status open_store(const options& opts, std::shared_ptr<store>& out);

}  // namespace vstore
