// Read replicas: bootstrap from a primary's snapshot and spawn a following
// manager (vstore/replica.hpp).
#include "vstore/replica.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <caf/all.hpp>

#include "actors/snapshot_copy.hpp"
#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "config/config.hpp"
#include "log/log.hpp"
#include "vstore/connect.hpp"

namespace vstore {

namespace fs = std::filesystem;

namespace {

std::string endpoint(const remote_options& r) { return r.host + ":" + std::to_string(r.port); }

}  // namespace

bool needs_bootstrap(const options& opts) {
  std::error_code ec;
  if (!fs::exists(opts.db.path, ec)) return true;
  return fs::is_directory(opts.db.path, ec) && fs::is_empty(opts.db.path, ec);
}

status bootstrap_replica(caf::actor_system& sys, const options& opts, const remote_options& primary,
                         const progress_fn& progress) {
  if (opts.backend != backend_kind::rocksdb)
    return {errc::not_supported, "a replica needs the rocksdb backend"};
  if (!needs_bootstrap(opts))
    return {errc::invalid_argument, opts.db.path +
                                        " is not empty: a replica bootstraps only "
                                        "into an absent or empty directory"};
  manager_actor mgr;
  if (auto st = connect_manager(sys, primary, mgr); !st) return st;
  if (progress) progress("bootstrap from " + endpoint(primary));
  const fs::path final_dir{opts.db.path};
  const auto tmp = opts.db.path + ".bootstrap";
  uint64_t seq = 0;
  if (auto st = copy_snapshot(sys, mgr, opts, tmp, open_store, progress, seq); !st) return st;
  std::error_code ec;
  fs::remove(final_dir, ec);  // an empty directory
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return {errc::io_error,
            "cannot rename " + tmp + " to " + final_dir.string() + ": " + ec.message()};
  auto parent =
      final_dir.parent_path().empty() ? std::string{"."} : final_dir.parent_path().string();
  if (auto st = sync_path(parent); !st) return st;
  if (progress) progress("bootstrap: following from sequence " + std::to_string(seq + 1));
  return {};
}

status spawn_replica(caf::actor_system& sys, const options& opts, const remote_options& primary,
                     std::string name, manager_actor& out) {
  if (auto st = config::validate(opts); !st) return st;
  if (opts.backend != backend_kind::rocksdb)
    return {errc::not_supported, "a replica needs the rocksdb backend"};
  if (auto st = validate(primary); !st) return st;
  set_log_level(opts.logging);
  std::shared_ptr<store> backend;
  if (auto st = open_store(opts, backend); !st) return st;
  manager_setup setup{opts, std::move(backend), nullptr, std::nullopt};
  replica_setup r;
  r.primary = endpoint(primary);
  r.name = std::move(name);
  r.connect = [primary](caf::actor_system& s, manager_actor& m) {
    return connect_manager(s, primary, m);
  };
  r.open = open_store;
  setup.replica = std::move(r);
  return spawn_manager(sys, std::move(setup), out);
}

}  // namespace vstore
