#pragma once

// Child processes for the network and CLI tests: start a program with its
// stdout and stderr piped (posix_spawn, safe in a multi-threaded test), wait
// for a line with a timeout, signal it, wait for its exit with a timeout.
// Reader threads drain both pipes, so a chatty child never blocks on a full
// pipe. A child still running at destruction is killed with SIGKILL.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vstore/remote_options.hpp"

extern char** environ;

namespace vstore::test {

/// A temporary directory, removed at destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag = "net") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("vstore-" + tag + "-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// One running child process.
class subprocess {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts argv[0] (a path) with `argv`; `stdin_data`, if any, is written to
  /// its stdin, which is then closed (else stdin is /dev/null).
  explicit subprocess(const std::vector<std::string>& argv,
                      std::optional<std::string> stdin_data = std::nullopt) {
    int out[2], err[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    // CAF's sockets are not close-on-exec: keep them out of the child.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv.at(0).c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    ::close(in[0]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      ::close(in[1]);
      throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    }
    if (stdin_data) {
      std::string data = std::move(*stdin_data);
      int fd = in[1];
      stdin_writer_ = std::thread([fd, data] {
        ::signal(SIGPIPE, SIG_IGN);
        size_t off = 0;
        while (off < data.size()) {
          auto n = ::write(fd, data.data() + off, data.size() - off);
          if (n <= 0) break;
          off += static_cast<size_t>(n);
        }
        ::close(fd);
      });
    } else {
      ::close(in[1]);
    }
    readers_.emplace_back([this, fd = out[0]] { drain(fd, out_); });
    readers_.emplace_back([this, fd = err[0]] { drain(fd, err_); });
  }

  ~subprocess() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(10));
    }
    for (auto& t : readers_)
      if (t.joinable()) t.join();
    if (stdin_writer_.joinable()) stdin_writer_.join();
  }

  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;

  pid_t pid() const { return pid_; }

  /// Sends signal `sig`.
  void signal(int sig) { ::kill(pid_, sig); }

  /// Sends SIGSTOP and waits (up to `timeout`) until the child is stopped:
  /// kill() returns before the target has actually stopped. Returns whether
  /// it stopped.
  bool freeze(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    ::kill(pid_, SIGSTOP);
    auto deadline = clock::now() + timeout;
    auto stat_path = "/proc/" + std::to_string(pid_) + "/stat";
    for (;;) {
      std::string stat;
      if (auto* f = std::fopen(stat_path.c_str(), "r")) {
        char buf[512];
        auto n = std::fread(buf, 1, sizeof(buf), f);
        std::fclose(f);
        stat.assign(buf, n);
      }
      // Format: "pid (comm) S ...": the state follows the last ')'.
      auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T')
        return true;
      if (clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Waits until stdout has a full line starting with `prefix` and returns it
  /// (without the newline), or nothing after `timeout` or at EOF.
  std::optional<std::string> wait_for_line(std::string_view prefix,
                                           std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      size_t start = 0;
      for (;;) {
        auto nl = out_.text.find('\n', start);
        if (nl == std::string::npos) break;
        auto line = out_.text.substr(start, nl - start);
        if (line.compare(0, prefix.size(), prefix) == 0) return line;
        start = nl + 1;
      }
      if (out_.eof) return std::nullopt;
      if (cv_.wait_until(guard, deadline) == std::cv_status::timeout && clock::now() >= deadline)
        return std::nullopt;
    }
  }

  /// Waits up to `timeout` for the exit; returns the exit code, 128 + the
  /// signal number if it was killed, or nothing if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    auto deadline = clock::now() + timeout;
    for (;;) {
      int st = 0;
      auto r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return exit_code_;
      }
      if (r < 0) return std::nullopt;
      if (clock::now() >= deadline) return std::nullopt;
      // Polls the child's state; nothing else can wake us on its exit.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  /// Waits for the exit and for both pipes to reach EOF (so that stdout()
  /// and stderr() are complete).
  std::optional<int> finish(std::chrono::milliseconds timeout) {
    auto rc = wait(timeout);
    if (!rc) return rc;
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, std::chrono::seconds(5), [this] { return out_.eof && err_.eof; });
    return rc;
  }

  /// What the child wrote to stdout / stderr so far.
  std::string stdout_text() {
    std::lock_guard<std::mutex> guard{mtx_};
    return out_.text;
  }
  std::string stderr_text() {
    std::lock_guard<std::mutex> guard{mtx_};
    return err_.text;
  }

 private:
  struct stream {
    std::string text;
    bool eof = false;
  };

  void drain(int fd, stream& s) {
    char buf[4096];
    for (;;) {
      auto n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard<std::mutex> guard{mtx_};
      if (n <= 0) {
        s.eof = true;
        cv_.notify_all();
        break;
      }
      s.text.append(buf, static_cast<size_t>(n));
      cv_.notify_all();
    }
    ::close(fd);
  }

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mtx_;
  std::condition_variable cv_;
  stream out_, err_;
  std::vector<std::thread> readers_;
  std::thread stdin_writer_;
};

/// The outcome of a finished command.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs `argv` to completion (killing it after `timeout`) and returns its exit
/// code and output; code -1 means it did not finish in time.
inline run_result run(const std::vector<std::string>& argv,
                      std::optional<std::string> stdin_data = std::nullopt,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  subprocess p{argv, std::move(stdin_data)};
  auto rc = p.finish(timeout);
  run_result r;
  r.code = rc ? *rc : -1;
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

/// A vstored started on 127.0.0.1, port read from its "listening" line.
class vstored_process {
 public:
  /// Starts `binary` with `args` (add --port P to pick the port; the default
  /// is 0 = any free port) and waits up to `timeout` for it to listen.
  vstored_process(const std::string& binary, std::vector<std::string> args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<subprocess>(argv);
    auto line = proc_->wait_for_line("vstored listening on ", timeout);
    if (!line) return;
    auto colon = line->rfind(':');
    port_ = static_cast<uint16_t>(std::stoul(line->substr(colon + 1)));
  }

  /// The port, or 0 if it never printed its listening line.
  uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  subprocess& proc() { return *proc_; }

 private:
  std::unique_ptr<subprocess> proc_;
  uint16_t port_ = 0;
};

/// Milliseconds since `t0` (for the tests' `[ measure  ]` lines).
inline long ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

/// How tests reach a vstored on 127.0.0.1:`port`: short timeouts, so that a
/// dead or frozen server is noticed quickly.
inline remote_options local(uint16_t port,
                            std::chrono::milliseconds connect_timeout = std::chrono::seconds(2)) {
  remote_options r;
  r.host = "127.0.0.1";
  r.port = port;
  r.connect_timeout = connect_timeout;
  r.heartbeat_interval = std::chrono::milliseconds(200);
  return r;
}

}  // namespace vstore::test
