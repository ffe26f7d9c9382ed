// Read replicas: bootstrap from a primary's snapshot and spawn a following
// manager (vstore/replica.hpp).
#include "vstore/replica.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include <caf/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "config/config.hpp"
#include "log/log.hpp"
#include "vstore/connect.hpp"

namespace vstore {

namespace fs = std::filesystem;

namespace {

/// A bound for one chunk or release request (the snapshot's own bound is
/// the server's checkpoint bound).
constexpr auto chunk_timeout = std::chrono::seconds(60);
constexpr auto snapshot_timeout = std::chrono::hours(1);
constexpr uint64_t progress_every = 64u << 20;

std::string endpoint(const remote_options& r) { return r.host + ":" + std::to_string(r.port); }

/// Asks `mgr` and waits for the answer.
template <class Reply, class Request>
status ask(caf::scoped_actor& self, const manager_actor& mgr, Request req, caf::timespan bound,
           Reply& out) {
  status result;
  self->request(mgr, bound, std::move(req))
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& e) { result = to_status(e); });
  return result;
}

status sync_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {errc::io_error, "cannot open " + p.string() + " to sync it"};
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return {errc::io_error, "cannot sync " + p.string()};
  return {};
}

status copy_file(caf::scoped_actor& self, const manager_actor& primary, uint64_t id,
                 const snapshot_file& f, const fs::path& dest, uint64_t& copied, uint64_t& noted,
                 uint64_t total, const progress_fn& progress) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return {errc::io_error, "cannot create " + dest.parent_path().string()};
  std::ofstream out{dest, std::ios::binary | std::ios::trunc};
  if (!out) return {errc::io_error, "cannot create " + dest.string()};
  uint64_t offset = 0;
  while (offset < f.size) {
    chunk_reply c;
    if (auto st = ask(self, primary, chunk_request{id, f.name, offset, 0}, chunk_timeout, c); !st)
      return st;
    if (c.data.empty())
      return {errc::io_error, "the primary sent " + std::to_string(offset) + " of " +
                                  std::to_string(f.size) + " bytes of " + f.name};
    out.write(c.data.data(), static_cast<std::streamsize>(c.data.size()));
    if (!out) return {errc::io_error, "cannot write " + dest.string()};
    offset += c.data.size();
    copied += c.data.size();
    if (progress && copied - noted >= progress_every) {
      noted = copied;
      progress("bootstrap: " + std::to_string(copied >> 20) + " of " + std::to_string(total >> 20) +
               " MiB copied");
    }
  }
  out.close();
  if (!out) return {errc::io_error, "cannot write " + dest.string()};
  return sync_file(dest);
}

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
  caf::scoped_actor self{sys};
  snapshot_reply snap;
  if (auto st = ask(self, mgr, snapshot_request{}, snapshot_timeout, snap); !st) return st;
  if (progress)
    progress("bootstrap from " + endpoint(primary) + ": snapshot " + std::to_string(snap.id) +
             " at sequence " + std::to_string(snap.sequence) + ", " +
             std::to_string(snap.files.size()) + " files, " + std::to_string(snap.bytes) +
             " bytes");
  const fs::path final_dir{opts.db.path};
  const fs::path tmp{opts.db.path + ".bootstrap"};
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return {errc::io_error, "cannot create " + tmp.string() + ": " + ec.message()};
  auto release = [&] {
    release_reply ignored;
    (void)ask(self, mgr, snapshot_release{snap.id}, chunk_timeout, ignored);
  };
  uint64_t copied = 0;
  uint64_t noted = 0;
  for (const auto& f : snap.files) {
    auto rel = fs::path{f.name}.lexically_normal();
    if (rel.is_absolute() || rel.empty() || *rel.begin() == "..") {
      release();
      return {errc::invalid_argument, "the primary named a file outside the snapshot: " + f.name};
    }
    if (auto st = copy_file(self, mgr, snap.id, f, tmp / rel, copied, noted, snap.bytes, progress);
        !st) {
      release();
      return st;
    }
  }
  release();
  // Record the snapshot's sequence in the copy itself, then publish it.
  {
    auto o = opts;
    o.db.path = tmp.string();
    o.db.create_if_missing = false;
    std::shared_ptr<store> copy;
    if (auto st = open_store(o, copy); !st) return st;
    if (auto st = copy->set_applied_log(snap.sequence); !st) return st;
    if (auto st = copy->sync(); !st) return st;
  }
  fs::remove(final_dir, ec);  // an empty directory
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return {errc::io_error,
            "cannot rename " + tmp.string() + " to " + final_dir.string() + ": " + ec.message()};
  if (auto st =
          sync_file(final_dir.parent_path().empty() ? fs::path{"."} : final_dir.parent_path());
      !st)
    return st;
  if (progress)
    progress("bootstrap: " + std::to_string(copied) + " bytes copied; following from sequence " +
             std::to_string(snap.sequence + 1));
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
  setup.replica = std::move(r);
  return spawn_manager(sys, std::move(setup), out);
}

}  // namespace vstore
