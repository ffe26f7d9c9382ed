#include "bench/proc.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace vstore::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Reads the "VmHWM:" line of a /proc/PID/status file, in bytes (0 if none).
uint64_t read_hwm(const std::string& status_path) {
  std::ifstream in{status_path};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

std::string errno_text(const char* what) { return std::string{what} + ": " + std::strerror(errno); }

}  // namespace

uint64_t lifetime_peak_rss_bytes() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

uint64_t peak_rss_bytes() {
  auto hwm = read_hwm("/proc/self/status");
  return hwm > 0 ? hwm : lifetime_peak_rss_bytes();
}

bool reset_peak_rss() {
  std::ofstream out{"/proc/self/clear_refs"};
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double process_cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double process_cpu_seconds_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // Fields after the command name (which may hold spaces) in parentheses.
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields{text.substr(close + 2)};
  std::string f;
  double utime = 0;
  double stime = 0;
  // state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15), counted from field 3.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::strtod(f.c_str(), nullptr);
    if (i == 15) stime = std::strtod(f.c_str(), nullptr);
  }
  auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ticks > 0 ? (utime + stime) / ticks : 0;
}

uint64_t peak_rss_bytes_of(pid_t pid) {
  return read_hwm("/proc/" + std::to_string(pid) + "/status");
}

std::string allocator_name() {
  using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);
  auto fn = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (fn == nullptr) return "glibc malloc";
  const char* version = nullptr;
  size_t len = sizeof(version);
  if (fn("version", &version, &len, nullptr, 0) != 0 || version == nullptr) return "jemalloc";
  std::string v{version};
  if (auto dash = v.find('-'); dash != std::string::npos) v.resize(dash);
  return "jemalloc " + v;
}

std::string executable_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return p.parent_path().string();
}

// -- temp_dir ---------------------------------------------------------------------

status temp_dir::make(const std::string& parent, std::unique_ptr<temp_dir>& out) {
  std::string tmpl = parent + "/vstore-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr)
    return {errc::io_error, errno_text(("mkdtemp " + tmpl).c_str())};
  out.reset(new temp_dir(buf.data()));
  return {};
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// -- child_process ----------------------------------------------------------------

status child_process::start(const std::vector<std::string>& argv, const std::string& stderr_path,
                            std::unique_ptr<child_process>& out) {
  if (argv.empty()) return {errc::invalid_argument, "no program"};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {errc::io_error, errno_text("pipe")};
  int err_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {errc::io_error, errno_text(("open " + stderr_path).c_str())};
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(err_fd);
    return {errc::io_error, errno_text("fork")};
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  ::close(fds[1]);
  ::close(err_fd);
  out.reset(new child_process(pid, fds[0]));
  return {};
}

child_process::~child_process() {
  if (!reaped_) stop(std::chrono::seconds(5));
  if (out_fd_ >= 0) ::close(out_fd_);
}

status child_process::wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout,
                                    std::string& line) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
      auto l = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (l.rfind(prefix, 0) == 0) {
        line = std::move(l);
        return {};
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return {errc::timeout,
              "no line \"" + prefix + "\" within " + std::to_string(timeout.count()) + " ms"};
    pollfd p{out_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return {errc::io_error, errno_text("poll")};
    if (r == 0) continue;
    char buf[4096];
    auto n = ::read(out_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {errc::unavailable, "the process closed its output (it exited?)"};
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (reaped_) return 0;
  int wstatus = 0;
  ::kill(pid_, SIGTERM);
  // Wait for the exit with a timeout: poll a pidfd.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  bool exited = false;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(grace.count()));
    } while (r < 0 && errno == EINTR);
    exited = r > 0;
    ::close(pidfd);
  }
  if (!exited) {
    ::kill(pid_, SIGKILL);
    wstatus = -1;
  }
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return exited ? st : wstatus;
}

}  // namespace vstore::bench
