#pragma once

// A real full disk for tests: a small tmpfs mounted on a directory (needs root
// or CAP_SYS_ADMIN; the machines and CI run as root). Tests skip with the
// mount error when it cannot be had.

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace vstore::test {

/// A tmpfs of `size` (e.g. "32m") mounted on `dir` (created if missing),
/// unmounted (lazily) at destruction.
class tmpfs_mount {
 public:
  tmpfs_mount(const std::string& dir, const std::string& size) : dir_(dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    auto opts = "size=" + size;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0)
      mounted_ = true;
    else
      error_ = std::strerror(errno);
  }
  ~tmpfs_mount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  /// Whether the mount worked; error() says why not.
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

/// Writes `bytes` of `fill` to `path` in 64 KiB chunks (stops at the first
/// failed write, e.g. ENOSPC); returns the bytes written.
inline size_t write_file(const std::string& path, size_t bytes, char fill = 'x') {
  std::ofstream out{path, std::ios::binary};
  std::string chunk(64 << 10, fill);
  size_t done = 0;
  while (done < bytes && out) {
    auto n = std::min(chunk.size(), bytes - done);
    out.write(chunk.data(), static_cast<std::streamsize>(n));
    out.flush();
    if (out) done += n;
  }
  return done;
}

}  // namespace vstore::test
