#include "actors/checkpoint_worker.hpp"

#include <chrono>
#include <filesystem>
#include <system_error>

#include <caf/all.hpp>

#include "actors/exceptions.hpp"

namespace vstore {

namespace fs = std::filesystem;

status normalize_checkpoint_dir(const std::string& dir, std::string& normalized) {
  if (dir.empty()) return {errc::invalid_argument, "checkpoint: empty directory"};
  fs::path p{dir};
  if (!p.is_absolute())
    return {errc::invalid_argument,
            "checkpoint directory '" + dir +
                "' is relative: give an absolute path (it names a directory on the server)"};
  p = p.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "/a/b/" -> "/a/b"
  if (p == p.root_path())
    return {errc::invalid_argument, "checkpoint directory '" + dir + "' is the root directory"};
  normalized = p.string();
  return {};
}

status write_checkpoint(store& backend, const std::string& dir, checkpoint_reply& out) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  fs::path p{dir};
  std::error_code ec;
  if (fs::exists(fs::symlink_status(p, ec)))
    return {errc::invalid_argument,
            "checkpoint directory " + dir +
                " already exists: RocksDB creates it; name a directory that does not exist yet"};
  auto parent = p.parent_path();
  if (!fs::is_directory(parent, ec))
    return {errc::invalid_argument, "checkpoint directory " + dir + ": its parent " +
                                        parent.string() + " does not exist or is not a directory"};
  checkpoint_reply r;
  r.dir = dir;
  r.sequence = backend.latest_sequence();
  if (auto st = backend.checkpoint(dir); !st) return st;
  for (auto i = fs::recursive_directory_iterator{p, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    std::error_code fec;
    if (!i->is_regular_file(fec)) continue;
    auto size = i->file_size(fec);
    if (fec) continue;
    ++r.files;
    r.bytes += size;
  }
  r.elapsed_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count());
  out = std::move(r);
  return {};
}

checkpoint_worker_actor::behavior_type checkpoint_worker(checkpoint_worker_actor::pointer self,
                                                         std::shared_ptr<store> backend) {
  self->set_exception_handler(exception_to_error);
  return {
      [self, backend](checkpoint_request& req) mutable -> caf::result<checkpoint_reply> {
        checkpoint_reply r;
        auto st = write_checkpoint(*backend, req.dir, r);
        // One request only: let go of the backend (a drain may be waiting to
        // close it) and end once the reply is out.
        backend.reset();
        self->quit();
        if (!st) return to_error(st);
        return r;
      },
  };
}

}  // namespace vstore
