#include "bench/redis_side.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "bench/proc.hpp"
#include "vstore/client.hpp"

namespace vstore::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Bytes read from the socket at a time.
constexpr size_t read_chunk = 64 * 1024;
/// Connect attempts while a starting redis-server is not yet listening (each
/// refused one waits up to connect_wait for the server to exit).
constexpr int connect_attempts = 500;
constexpr int connect_wait_ms = 10;
/// Keys per pipelined SET round when loading.
constexpr uint64_t load_batch = 1000;
/// Bounds every socket read and write of the bench's connections.
constexpr std::chrono::milliseconds io_timeout{30000};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// Returns a port of 127.0.0.1 that nothing listens on right now (the
/// kernel's choice for a bind to port 0), or 0.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  auto a = loopback(0);
  socklen_t len = sizeof(a);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

/// Returns the last `max` bytes of the file at `path`.
std::string tail_of(const std::string& path, size_t max = 600) {
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  if (text.size() > max) text = "..." + text.substr(text.size() - max);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

/// Returns the median of `v` (reorders it; 0 if empty).
double median_of(std::vector<double>& v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  auto lower = *std::max_element(v.begin(), mid);
  return (lower + *mid) / 2;
}

/// Returns whether request `i` of [.., end) may be issued.
bool more(const workload& w, uint64_t i, uint64_t end) {
  return i < end && clock_type::now() < w.deadline;
}

/// The outcome of one issuer (thread) of a repetition.
struct issuer_result {
  uint64_t completed = 0;
  uint64_t errors = 0;
  std::string first_error;

  void error(std::string what) {
    if (errors++ == 0) first_error = std::move(what);
  }
};

void add_to(rep_result& out, const issuer_result& r) {
  out.completed += r.completed;
  if (r.errors > 0 && out.errors == 0) out.first_error = r.first_error;
  out.errors += r.errors;
}

/// The CPU time of this process plus that of `peer` (if any), in seconds.
double cpu_seconds_with(pid_t peer) {
  return process_cpu_seconds() + (peer > 0 ? process_cpu_seconds_of(peer) : 0);
}

/// One side's sequential-latency repetition.
struct latency_rep {
  double p50_us = 0;
  double cpu_us_per_get = 0;
  issuer_result result;
};

/// Times `get(i)` for every request index of `w` (one issuer), sequentially.
/// `get` returns "" on success, else the error.
template <class Get>
latency_rep time_gets(const workload& w, pid_t server, Get get) {
  latency_rep out;
  std::vector<double> us;
  auto range = issuer_range(w, 0, 1);
  auto cpu0 = cpu_seconds_with(server);
  for (uint64_t i = range.first; more(w, i, range.second); ++i) {
    auto t0 = clock_type::now();
    auto err = get(i);
    auto t1 = clock_type::now();
    ++out.result.completed;
    if (!err.empty()) {
      out.result.error(std::move(err));
      if (out.result.errors > 10) break;  // a broken connection: stop early
      continue;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  auto cpu = cpu_seconds_with(server) - cpu0;
  if (out.result.completed > 0)
    out.cpu_us_per_get = cpu * 1e6 / static_cast<double>(out.result.completed);
  out.p50_us = median_of(us);
  return out;
}

/// Connects vstore's blocking client to `port` on 127.0.0.1 (`what` names the
/// server); on failure returns nullptr and records the error in `failure`.
std::unique_ptr<client> connect_local(uint16_t port, const char* what, issuer_result& failure) {
  remote_options ro;
  ro.host = "127.0.0.1";
  ro.port = port;
  std::unique_ptr<client> c;
  if (auto st = client::connect(ro, c); !st) {
    failure.error(std::string{"cannot connect the blocking client to "} + what + ": " +
                  st.to_string());
    return nullptr;
  }
  return c;
}

}  // namespace

// -- resp_connection ----------------------------------------------------------------

status resp_connection::connect(uint16_t port, std::chrono::milliseconds timeout,
                                std::unique_ptr<resp_connection>& out) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {errc::io_error, errno_text("socket")};
  auto a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    auto text = errno_text("connect to 127.0.0.1:" + std::to_string(port));
    ::close(fd);
    return {errc::disconnected, text};
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  out.reset(new resp_connection(fd));
  return {};
}

resp_connection::~resp_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void resp_connection::append(std::initializer_list<std::string_view> args) {
  char num[24];
  auto append_number = [&](char prefix, size_t n) {
    out_.push_back(prefix);
    auto r = std::to_chars(num, num + sizeof(num), n);
    out_.append(num, r.ptr);
    out_.append("\r\n", 2);
  };
  append_number('*', args.size());
  for (auto a : args) {
    append_number('$', a.size());
    out_.append(a.data(), a.size());
    out_.append("\r\n", 2);
  }
}

status resp_connection::flush() {
  size_t off = 0;
  while (off < out_.size()) {
    auto n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto code = errno == EAGAIN || errno == EWOULDBLOCK ? errc::timeout : errc::disconnected;
      out_.clear();
      return {code, errno_text("send to redis-server")};
    }
    off += static_cast<size_t>(n);
  }
  out_.clear();
  return {};
}

status resp_connection::fill(size_t n) {
  while (wpos_ - rpos_ < n) {
    if (rpos_ > 0) {  // move the unparsed bytes to the front
      std::memmove(in_.data(), in_.data() + rpos_, wpos_ - rpos_);
      wpos_ -= rpos_;
      rpos_ = 0;
    }
    if (in_.size() < std::max(n, wpos_ + read_chunk / 4)) in_.resize(std::max(n, read_chunk) * 2);
    auto r = ::recv(fd_, in_.data() + wpos_, in_.size() - wpos_, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      auto code = errno == EAGAIN || errno == EWOULDBLOCK ? errc::timeout : errc::disconnected;
      return {code, errno_text("recv from redis-server")};
    }
    if (r == 0) return {errc::disconnected, "redis-server closed the connection"};
    wpos_ += static_cast<size_t>(r);
  }
  return {};
}

status resp_connection::read_line(std::string_view& line) {
  for (;;) {
    const char* begin = in_.data() + rpos_;
    const char* end = in_.data() + wpos_;
    for (const char* p = begin; p + 1 < end; ++p) {
      p = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p - 1)));
      if (p == nullptr) break;
      if (p[1] == '\n') {
        line = std::string_view{begin, static_cast<size_t>(p - begin)};
        rpos_ += static_cast<size_t>(p - begin) + 2;
        return {};
      }
    }
    if (auto st = fill(wpos_ - rpos_ + 1); !st) return st;
  }
}

status resp_connection::read_into(resp_reply& out, int depth) {
  if (depth > 8) return {errc::internal, "RESP reply nested too deeply"};
  std::string_view line;
  if (auto st = read_line(line); !st) return st;
  if (line.empty()) return {errc::internal, "empty RESP line"};
  const char type = line[0];
  auto rest = line.substr(1);
  auto number = [&](int64_t& n) -> status {
    auto r = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (r.ec != std::errc{} || r.ptr != rest.data() + rest.size())
      return {errc::internal, "bad RESP number '" + std::string{rest} + "'"};
    return {};
  };
  out.elements.clear();
  out.integer = 0;
  switch (type) {
    case '+':
    case '-':
      out.type = type == '+' ? resp_reply::kind::simple : resp_reply::kind::error;
      out.text.assign(rest.data(), rest.size());
      return {};
    case ':':
      out.type = resp_reply::kind::integer;
      out.text.clear();
      return number(out.integer);
    case '$': {
      int64_t len = 0;
      if (auto st = number(len); !st) return st;
      out.text.clear();
      if (len < 0) {
        out.type = resp_reply::kind::nil;
        return {};
      }
      auto n = static_cast<size_t>(len);
      if (auto st = fill(n + 2); !st) return st;
      const char* data = in_.data() + rpos_;
      if (data[n] != '\r' || data[n + 1] != '\n')
        return {errc::internal, "RESP bulk string without its \\r\\n"};
      out.type = resp_reply::kind::bulk;
      out.text.assign(data, n);
      rpos_ += n + 2;
      return {};
    }
    case '*': {
      int64_t count = 0;
      if (auto st = number(count); !st) return st;
      out.text.clear();
      if (count < 0) {
        out.type = resp_reply::kind::nil;
        return {};
      }
      out.type = resp_reply::kind::array;
      out.integer = count;
      out.elements.resize(static_cast<size_t>(count));
      for (auto& e : out.elements)
        if (auto st = read_into(e, depth + 1); !st) return st;
      return {};
    }
    default:
      return {errc::internal, "unknown RESP type '" + std::string(1, type) + "'"};
  }
}

status resp_connection::read(resp_reply& out) { return read_into(out, 0); }

status resp_connection::call(std::initializer_list<std::string_view> args, resp_reply& out) {
  append(args);
  if (auto st = flush(); !st) return st;
  return read(out);
}

// -- redis_server -------------------------------------------------------------------

std::string find_redis_server() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view rest{path};
  while (!rest.empty()) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (dir.empty()) continue;
    auto exe = std::string{dir} + "/redis-server";
    if (::access(exe.c_str(), X_OK) == 0) return exe;
  }
  return {};
}

redis_server::redis_server(std::unique_ptr<child_process> proc, uint16_t port)
    : proc_(std::move(proc)), port_(port) {}

redis_server::~redis_server() { stop(); }

pid_t redis_server::pid() const noexcept { return proc_ ? proc_->pid() : 0; }

status redis_server::start(const std::string& exe, const std::string& dir, redis_persistence p,
                           std::unique_ptr<redis_server>& out) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {errc::io_error, "cannot create " + dir + ": " + ec.message()};
  const auto log = dir + "/redis.log";
  std::string last_error = "no free port";
  // The port may be taken between free_port() and the server's bind: then
  // the server exits at once, and the next attempt takes another port.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto port = free_port();
    if (port == 0 || port == 6379) continue;
    std::vector<std::string> argv = {
        exe,     "--port", std::to_string(port), "--bind", "127.0.0.1",   "--save", "",
        "--dir", dir,      "--logfile",          log,      "--daemonize", "no",     "--databases",
        "1"};
    if (p == redis_persistence::aof_everysec) {
      for (const char* a : {"--appendonly", "yes", "--appendfsync", "everysec"}) argv.push_back(a);
    } else {
      argv.push_back("--appendonly");
      argv.push_back("no");
    }
    std::unique_ptr<child_process> proc;
    if (auto st = child_process::start(argv, dir + "/redis.stderr", proc); !st) return st;
    // Wait until it answers PING: connect attempts, bounded in number; after
    // a refused one, wait on the process (pidfd) for up to connect_wait_ms,
    // so that a server that exits is seen at once.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, proc->pid(), 0));
    bool exited = false;
    for (int i = 0; i < connect_attempts && !exited; ++i) {
      std::unique_ptr<resp_connection> c;
      if (resp_connection::connect(port, std::chrono::seconds(5), c)) {
        resp_reply r;
        auto st = c->call({"PING"}, r);
        if (st && r.type == resp_reply::kind::simple && r.text == "PONG") {
          if (pidfd >= 0) ::close(pidfd);
          out.reset(new redis_server(std::move(proc), port));
          return {};
        }
        last_error = "no PONG from redis-server: " +
                     (st ? (r.type == resp_reply::kind::error ? r.text : "unexpected reply")
                         : st.to_string());
        // A server still loading answers -LOADING: ask again.
      }
      if (pidfd >= 0) {
        pollfd pf{pidfd, POLLIN, 0};
        exited = ::poll(&pf, 1, connect_wait_ms) > 0;
      } else {
        // No pidfd (old kernel): a bounded wait on nothing.
        ::poll(nullptr, 0, connect_wait_ms);
      }
    }
    if (pidfd >= 0) ::close(pidfd);
    proc->stop(std::chrono::seconds(5));
    auto text = tail_of(log);
    if (!exited) {
      return {errc::timeout, "redis-server on port " + std::to_string(port) +
                                 " did not answer PING (" + last_error + "); its log: " + text};
    }
    last_error = "redis-server exited at start; its log: " + text + tail_of(dir + "/redis.stderr");
    if (text.find("Address already in use") == std::string::npos) break;
  }
  return {errc::unavailable, last_error};
}

void redis_server::stop() {
  if (!proc_) return;
  // SHUTDOWN NOSAVE: the server closes the connection and exits without an
  // RDB save; then the process is reaped (SIGTERM if it is still running).
  std::unique_ptr<resp_connection> c;
  if (resp_connection::connect(port_, std::chrono::seconds(2), c)) {
    resp_reply r;
    static_cast<void>(c->call({"SHUTDOWN", "NOSAVE"}, r));
  }
  proc_->stop(std::chrono::seconds(5));
  proc_.reset();
}

// -- redis_side ---------------------------------------------------------------------

redis_side::redis_side(std::string dir, std::string exe)
    : dir_(std::move(dir)), exe_(std::move(exe)) {}

redis_side::~redis_side() {
  memory_.reset();
  aof_.reset();
}

redis_server* redis_side::server(workload_kind kind) const {
  switch (kind) {
    case workload_kind::get:
      return memory_.get();
    case workload_kind::put:
      return aof_.get();
    default:
      return nullptr;
  }
}

std::string redis_side::prepare(workload_kind kind, uint64_t key_count) {
  if (exe_.empty()) exe_ = find_redis_server();
  if (exe_.empty()) return "redis-server not installed";
  if (::access(exe_.c_str(), X_OK) != 0) return "redis-server not found (" + exe_ + ")";
  if (kind == workload_kind::put) {
    if (aof_) return {};
    if (auto st =
            redis_server::start(exe_, dir_ + "/redis-aof", redis_persistence::aof_everysec, aof_);
        !st)
      return "cannot start redis-server: " + st.to_string();
    return {};
  }
  if (kind != workload_kind::get) return "no Redis baseline for this workload";
  if (!memory_) {
    if (auto st =
            redis_server::start(exe_, dir_ + "/redis-memory", redis_persistence::none, memory_);
        !st)
      return "cannot start redis-server: " + st.to_string();
  }
  if (loaded_ >= key_count) return {};
  // The loaded keys and values of vstore's database, SET in pipelined rounds.
  std::unique_ptr<resp_connection> c;
  if (auto st = resp_connection::connect(memory_->port(), io_timeout, c); !st)
    return "cannot connect to redis-server: " + st.to_string();
  char key[key_size];
  char value[value_size];
  resp_reply r;
  for (uint64_t first = loaded_; first < key_count; first += load_batch) {
    auto last = std::min(key_count, first + load_batch);
    for (uint64_t i = first; i < last; ++i) {
      loaded_key(i, key);
      make_value(i, value);
      c->append({"SET", {key, key_size}, {value, value_size}});
    }
    if (auto st = c->flush(); !st) return "cannot load redis-server: " + st.to_string();
    for (uint64_t i = first; i < last; ++i) {
      if (auto st = c->read(r); !st) return "cannot load redis-server: " + st.to_string();
      if (r.type != resp_reply::kind::simple)
        return "cannot load redis-server: SET answered " + r.text;
    }
  }
  loaded_ = key_count;
  return {};
}

rep_result redis_side::run(const workload& w, size_t connections, size_t pipeline) {
  rep_result out;
  auto* srv = server(w.kind);
  if (srv == nullptr) {
    out.errors = 1;
    out.first_error = "redis: no server prepared for this workload";
    return out;
  }
  connections = std::max<size_t>(connections, 1);
  pipeline = std::max<size_t>(pipeline, 1);
  std::vector<std::unique_ptr<resp_connection>> conns(connections);
  for (auto& c : conns) {
    if (auto st = resp_connection::connect(srv->port(), io_timeout, c); !st) {
      out.errors = 1;
      out.first_error = "redis: " + st.to_string();
      return out;
    }
  }
  const bool is_get = w.kind == workload_kind::get;
  // One connection's loop: write up to `pipeline` commands, read their
  // replies, until its range or the deadline ends.
  auto body = [&](resp_connection& c, uint64_t begin, uint64_t end, issuer_result& res) {
    char key[key_size];
    char value[value_size];
    resp_reply r;
    for (uint64_t i = begin; more(w, i, end);) {
      size_t n = 0;
      for (; n < pipeline && i < end; ++n, ++i) {
        if (is_get) {
          loaded_key(pick(w.seed, i, w.key_count), key);
          c.append({"GET", {key, key_size}});
        } else {
          written_key(w.write_base + i, key);
          make_value(w.write_base + i, value);
          c.append({"SET", {key, key_size}, {value, value_size}});
        }
      }
      if (auto st = c.flush(); !st) {
        res.error("redis: " + st.to_string());
        return;
      }
      for (size_t k = 0; k < n; ++k) {
        if (auto st = c.read(r); !st) {
          res.error("redis: " + st.to_string());
          return;
        }
        ++res.completed;
        if (is_get ? r.type != resp_reply::kind::bulk || r.text.size() != value_size
                   : r.type != resp_reply::kind::simple)
          res.error(is_get ? "redis GET: loaded key not found" : "redis SET answered " + r.text);
      }
    }
  };
  // Threads released together; the clock runs from the release to the end of
  // the last one (as raw_db::run).
  std::vector<issuer_result> results(connections);
  std::mutex mtx;
  std::condition_variable cv;
  size_t ready = 0;
  bool go = false;
  std::vector<std::thread> pool;
  pool.reserve(connections);
  for (size_t t = 0; t < connections; ++t) {
    auto range = issuer_range(w, t, connections);
    pool.emplace_back([&, t, range] {
      {
        std::unique_lock<std::mutex> lock{mtx};
        ++ready;
        cv.notify_all();
        cv.wait(lock, [&] { return go; });
      }
      body(*conns[t], range.first, range.second, results[t]);
    });
  }
  {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return ready == connections; });
    go = true;
  }
  auto cpu0 = cpu_seconds_with(srv->pid());
  auto t0 = clock_type::now();
  cv.notify_all();
  for (auto& th : pool) th.join();
  auto t1 = clock_type::now();
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  out.cpu_seconds = cpu_seconds_with(srv->pid()) - cpu0;
  for (const auto& r : results) add_to(out, r);
  return out;
}

void redis_side::run_latency(row& r, const latency_plan& p) {
  r.lower_is_better = true;
  auto note = [&r](bool vstore_side, const issuer_result& res) {
    if (res.errors == 0) return;
    if (r.vstore_errors + r.raw_errors == 0)
      r.first_error = std::string{vstore_side ? "vstore: " : "redis: "} + res.first_error;
    (vstore_side ? r.vstore_errors : r.raw_errors) += res.errors;
  };
  bool run_vstore = p.run_vstore;
  bool run_redis = p.run_redis;
  std::unique_ptr<client> vc;
  if (run_vstore) {
    issuer_result e;
    vc = connect_local(p.vstored_port, "vstored", e);
    if (!vc) {
      note(true, e);
      run_vstore = false;
    }
  }
  std::unique_ptr<resp_connection> rc;
  if (run_redis) {
    if (!memory_) {
      issuer_result e;
      e.error("no redis-server prepared for gets");
      note(false, e);
      run_redis = false;
    } else if (auto st = resp_connection::connect(memory_->port(), io_timeout, rc); !st) {
      issuer_result e;
      e.error(st.to_string());
      note(false, e);
      run_redis = false;
    }
  }
  // CAF 0.17's floor: the same blocking client against the echo server.
  bool run_floor = p.floor_port != 0;
  auto note_floor = [&r](const issuer_result& res) {
    if (res.errors == 0) return;
    if (r.floor_errors == 0) r.floor_first_error = res.first_error;
    r.floor_errors += res.errors;
  };
  std::unique_ptr<client> fc;
  if (run_floor) {
    issuer_result e;
    fc = connect_local(p.floor_port, "the echo server", e);
    if (!fc) {
      note_floor(e);
      run_floor = false;
    }
  }
  auto client_rep = [&](client& c, pid_t server, uint64_t seed, bool warm_up) {
    auto w = p.make_workload(seed, warm_up);
    std::optional<std::string> v;
    return time_gets(w, server, [&](uint64_t i) -> std::string {
      auto st = c.get(bench_space, loaded_key(pick(w.seed, i, w.key_count)), v);
      if (!st) return st.to_string();
      if (!v || v->size() != value_size) return "get: loaded key not found";
      return {};
    });
  };
  auto vstore_rep = [&](uint64_t seed, bool warm_up) {
    return client_rep(*vc, p.vstored_pid, seed, warm_up);
  };
  auto redis_rep = [&](uint64_t seed, bool warm_up) {
    auto w = p.make_workload(seed, warm_up);
    char key[key_size];
    resp_reply reply;
    return time_gets(w, memory_->pid(), [&](uint64_t i) -> std::string {
      loaded_key(pick(w.seed, i, w.key_count), key);
      if (auto st = rc->call({"GET", {key, key_size}}, reply); !st) return st.to_string();
      if (reply.type != resp_reply::kind::bulk || reply.text.size() != value_size)
        return "GET: loaded key not found";
      return {};
    });
  };
  // One unmeasured warm-up per side, then interleaved repetitions.
  if (run_vstore) note(true, vstore_rep(1000, true).result);
  if (run_redis) note(false, redis_rep(1000, true).result);
  if (run_floor) note_floor(client_rep(*fc, p.floor_pid, 1000, true).result);
  for (size_t rep = 0; rep < p.reps; ++rep) {
    double v = 0;
    double b = 0;
    if (run_vstore) {
      auto res = vstore_rep(rep + 1, false);
      note(true, res.result);
      v = res.p50_us;
      if (v > 0) r.vstore.values.push_back(v);
      if (res.cpu_us_per_get > 0) r.vstore_cpu_us.values.push_back(res.cpu_us_per_get);
    }
    if (run_redis) {
      auto res = redis_rep(rep + 1, false);
      note(false, res.result);
      b = res.p50_us;
      if (b > 0) r.raw.values.push_back(b);
      if (res.cpu_us_per_get > 0) r.raw_cpu_us.values.push_back(res.cpu_us_per_get);
    }
    double f = 0;
    if (run_floor) {
      auto res = client_rep(*fc, p.floor_pid, rep + 1, false);
      note_floor(res.result);
      f = res.p50_us;
      if (f > 0) r.floor.values.push_back(f);
      if (res.cpu_us_per_get > 0) r.floor_cpu_us.values.push_back(res.cpu_us_per_get);
    }
    if (v > 0 && b > 0) r.rep_ratios.values.push_back(v / b);
    char text[200];
    std::snprintf(text, sizeof(text),
                  "[%s] rep %zu/%zu: vstore p50 %.1f us, redis p50 %.1f us, CAF floor p50 %.1f us",
                  r.name.c_str(), rep + 1, p.reps, v, b, f);
    std::cerr << text << std::endl;
  }
}

}  // namespace vstore::bench
