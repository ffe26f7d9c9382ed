#include "actors/snapshot_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <caf/all.hpp>

namespace vstore {

namespace fs = std::filesystem;

namespace {

/// A bound for one chunk or release request; the snapshot's own bound is
/// the server's checkpoint bound.
constexpr auto chunk_timeout = std::chrono::seconds(60);
constexpr auto snapshot_timeout = std::chrono::hours(1);
constexpr uint64_t progress_every = 64u << 20;

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

status copy_file(caf::scoped_actor& self, const manager_actor& primary, uint64_t id,
                 const snapshot_file& f, const fs::path& dest, uint64_t& copied, uint64_t& noted,
                 uint64_t total, const copy_progress& progress) {
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
      progress("snapshot copy: " + std::to_string(copied >> 20) + " of " +
               std::to_string(total >> 20) + " MiB copied");
    }
  }
  out.close();
  if (!out) return {errc::io_error, "cannot write " + dest.string()};
  return sync_path(dest.string());
}

}  // namespace

status sync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {errc::io_error, "cannot open " + path + " to sync it"};
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return {errc::io_error, "cannot sync " + path};
  return {};
}

status copy_snapshot(caf::actor_system& sys, const manager_actor& primary, const options& opts,
                     const std::string& dest, const store_opener& open,
                     const copy_progress& progress, uint64_t& sequence) {
  caf::scoped_actor self{sys};
  snapshot_reply snap;
  if (auto st = ask(self, primary, snapshot_request{}, snapshot_timeout, snap); !st) return st;
  if (progress)
    progress("snapshot " + std::to_string(snap.id) + " at sequence " +
             std::to_string(snap.sequence) + ": " + std::to_string(snap.files.size()) + " files, " +
             std::to_string(snap.bytes) + " bytes");
  std::error_code ec;
  fs::remove_all(dest, ec);
  fs::create_directories(dest, ec);
  if (ec) return {errc::io_error, "cannot create " + dest + ": " + ec.message()};
  auto release = [&] {
    release_reply ignored;
    (void)ask(self, primary, snapshot_release{snap.id}, chunk_timeout, ignored);
  };
  uint64_t copied = 0;
  uint64_t noted = 0;
  for (const auto& f : snap.files) {
    auto rel = fs::path{f.name}.lexically_normal();
    if (rel.is_absolute() || rel.empty() || *rel.begin() == "..") {
      release();
      return {errc::invalid_argument, "the primary named a file outside the snapshot: " + f.name};
    }
    auto st = copy_file(self, primary, snap.id, f, fs::path{dest} / rel, copied, noted, snap.bytes,
                        progress);
    if (!st) {
      release();
      return st;
    }
  }
  release();
  // Record the snapshot's sequence in the copy itself.
  auto o = opts;
  o.db.path = dest;
  o.db.create_if_missing = false;
  std::shared_ptr<store> copy;
  if (auto st = open(o, copy); !st) return st;
  if (auto st = copy->set_applied_log(snap.sequence); !st) return st;
  if (auto st = copy->sync(); !st) return st;
  copy.reset();
  sequence = snap.sequence;
  if (progress) progress("snapshot copy: " + std::to_string(copied) + " bytes copied");
  return {};
}

}  // namespace vstore
