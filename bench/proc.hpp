#pragma once

// Process-level helpers of vstore-bench (Linux): peak RSS, the allocator in
// use, the executable's directory, a temporary directory, and a child process
// (vstored) whose stdout is read line by line. Plain C++ (no CAF, no RocksDB).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::bench {

/// Returns the peak resident set size of this process since the last
/// reset_peak_rss() (VmHWM of /proc/self/status), in bytes; falls back to
/// getrusage's ru_maxrss (the whole lifetime) when /proc is unreadable.
uint64_t peak_rss_bytes();

/// Returns getrusage(RUSAGE_SELF).ru_maxrss in bytes: the lifetime peak.
uint64_t lifetime_peak_rss_bytes();

/// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs), so
/// that peak_rss_bytes() reports the peak of what follows. Returns false when
/// the kernel refuses (then peaks are lifetime peaks).
bool reset_peak_rss();

/// Returns the CPU time (user + system, all threads) this process used so
/// far, in seconds.
double process_cpu_seconds();

/// Returns the CPU time (user + system) process `pid` used so far, in seconds
/// (from /proc/PID/stat, in clock ticks; 0 if unreadable).
double process_cpu_seconds_of(pid_t pid);

/// Returns VmHWM of process `pid` in bytes (0 if unreadable).
uint64_t peak_rss_bytes_of(pid_t pid);

/// Returns "jemalloc X.Y.Z" when jemalloc is the process's malloc, else
/// "glibc malloc".
std::string allocator_name();

/// Returns the directory holding this executable (from /proc/self/exe).
std::string executable_dir();

/// A fresh directory (mkdtemp) removed with everything inside when destroyed.
class temp_dir {
 public:
  /// Creates `parent`/vstore-bench-XXXXXX.
  static status make(const std::string& parent, std::unique_ptr<temp_dir>& out);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// Returns the directory's path.
  const std::string& path() const noexcept { return path_; }

 private:
  explicit temp_dir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// A child process started with fork + exec. Its stdout is a pipe this side
/// reads; its stderr goes to a file. It is killed (SIGKILL) if this process
/// dies, and stopped by stop() or the destructor.
class child_process {
 public:
  /// Starts argv[0] with arguments argv[1..], stderr appended to `stderr_path`.
  static status start(const std::vector<std::string>& argv, const std::string& stderr_path,
                      std::unique_ptr<child_process>& out);

  /// Stops the child if still running (stop(5s)).
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Reads stdout until a line starting with `prefix` arrives (returned in
  /// `line`), the child closes stdout, or `timeout` passes. Blocks.
  status wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout,
                       std::string& line);

  /// Sends SIGTERM, waits up to `grace` for the exit, then SIGKILLs. Returns
  /// the exit status as waitpid reports it (-1 if it had to be killed).
  int stop(std::chrono::milliseconds grace);

  /// Returns the child's process id.
  pid_t pid() const noexcept { return pid_; }

 private:
  child_process(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_;
  int out_fd_;
  bool reaped_ = false;
  std::string buffer_;
};

}  // namespace vstore::bench
