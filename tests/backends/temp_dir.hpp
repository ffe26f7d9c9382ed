#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace vstore::test {

/// A fresh directory under the system temp directory, removed with its contents
/// by remove() or the destructor.
class temp_dir {
 public:
  /// Creates the directory (mkdtemp); path() is empty if that failed.
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vstore-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }

  /// Removes the directory and its contents.
  ~temp_dir() { remove(); }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Returns the directory.
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Returns `name` inside the directory, as a string.
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

  /// Removes the directory and its contents now; idempotent.
  void remove() noexcept {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    path_.clear();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace vstore::test
