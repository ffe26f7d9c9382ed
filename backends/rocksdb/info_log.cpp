#include "backends/rocksdb/info_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "log/log.hpp"

namespace vstore {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view old_prefix = "LOG.old.";

uint64_t micros_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

class info_log final : public rocksdb::Logger {
 public:
  info_log(std::string dir, uint64_t max_bytes, uint32_t keep)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        dir_(std::move(dir)),
        max_bytes_(max_bytes),
        keep_(std::max<uint32_t>(keep, 1)) {
    std::lock_guard<std::mutex> lock{mutex_};
    roll();
  }

  ~info_log() override {
    std::lock_guard<std::mutex> lock{mutex_};
    close_fd();
  }

  using rocksdb::Logger::Logv;

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char body[1024];
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(body, sizeof body, format, copy);
    va_end(copy);
    std::string text;
    if (n < 0) {
      text = "(unformattable log line)";
    } else if (static_cast<size_t>(n) < sizeof body) {
      text.assign(body, static_cast<size_t>(n));
    } else {
      text.resize(static_cast<size_t>(n) + 1);
      std::vsnprintf(text.data(), text.size(), format, ap);
      text.resize(static_cast<size_t>(n));
    }
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL && level != rocksdb::InfoLogLevel::HEADER_LEVEL)
      logger().error("rocksdb: {}", text);
    else if (level == rocksdb::InfoLogLevel::WARN_LEVEL)
      logger().warn("rocksdb: {}", text);
    write_line(text);
  }

  size_t GetLogFileSize() const override {
    std::lock_guard<std::mutex> lock{mutex_};
    return static_cast<size_t>(size_);
  }

  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 protected:
  rocksdb::Status CloseImpl() override {
    std::lock_guard<std::mutex> lock{mutex_};
    close_fd();
    return rocksdb::Status::OK();
  }

 private:
  std::string current() const { return dir_ + "/LOG"; }

  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Starts a new LOG: renames the current one (if any) and deletes the
  /// oldest beyond keep_. Errors leave fd_ closed; the next line retries.
  void roll() {
    close_fd();
    std::error_code ec;
    if (fs::exists(current(), ec))
      fs::rename(current(), dir_ + "/" + std::string{old_prefix} + std::to_string(micros_now()),
                 ec);
    std::vector<fs::path> old;
    for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      auto name = it->path().filename().string();
      if (name.rfind(old_prefix, 0) == 0) old.push_back(it->path());
    }
    std::sort(old.begin(), old.end());
    // keep_ counts the new LOG too.
    while (old.size() + 1 > keep_) {
      fs::remove(old.front(), ec);
      old.erase(old.begin());
    }
    open_fd();
  }

  void open_fd() {
    fd_ = ::open(current().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    size_ = 0;
    if (fd_ >= 0) {
      struct stat sb {};
      if (::fstat(fd_, &sb) == 0) size_ = static_cast<uint64_t>(sb.st_size);
    }
  }

  void write_line(const std::string& text) {
    // RocksDB's own layout: "2026/11/29-09:00:42.365123 140737 text".
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1000000;
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char head[64];
    int h = std::snprintf(head, sizeof head, "%04d/%02d/%02d-%02d:%02d:%02d.%06lld %llx ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, static_cast<long long>(us),
                          static_cast<unsigned long long>(
                              std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffffff));
    std::string line{head, static_cast<size_t>(std::max(h, 0))};
    line += text;
    line += '\n';
    std::lock_guard<std::mutex> lock{mutex_};
    if (fd_ < 0)
      open_fd();  // after a failed write: the same file again, no roll
    else if (size_ >= max_bytes_)
      roll();
    if (fd_ < 0 || !write_all(line)) dropped_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Writes the whole line; on failure (ENOSPC, EIO) closes the file so that
  /// the next line reopens it.
  bool write_all(const std::string& line) {
    size_t done = 0;
    while (done < line.size()) {
      auto w = ::write(fd_, line.data() + done, line.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        close_fd();
        return false;
      }
      done += static_cast<size_t>(w);
      size_ += static_cast<uint64_t>(w);
    }
    return true;
  }

  const std::string dir_;
  const uint64_t max_bytes_;
  const uint32_t keep_;
  mutable std::mutex mutex_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_log(const std::string& dir, uint64_t max_bytes,
                                               uint32_t keep) {
  return std::make_shared<info_log>(dir, max_bytes, keep);
}

uint64_t info_log_dropped(const rocksdb::Logger& log) noexcept {
  if (auto* l = dynamic_cast<const info_log*>(&log); l != nullptr) return l->dropped();
  return 0;
}

}  // namespace vstore
