#pragma once

// Helpers of the reliability tests: memory figures from /proc, raw TCP
// connections to a published port, CAF 0.17 BASP headers built by hand, and a
// recording TCP proxy that can inject bytes into a live connection. Every
// socket call is bounded by poll() timeouts; nothing here sleeps to wait.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace vstore::test {

// -- memory -----------------------------------------------------------------------------

/// Returns a "VmRSS"-style field of /proc/PID/status in KiB ("self" for this
/// process), or -1 if it cannot be read.
inline long proc_status_kib(const std::string& pid, const std::string& field) {
  std::ifstream in{"/proc/" + pid + "/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size() + 1, field + ":") != 0) continue;
    std::istringstream is{line.substr(field.size() + 1)};
    long kib = -1;
    is >> kib;
    return kib;
  }
  return -1;
}

/// Resets the peak RSS (VmHWM) of PID to its current RSS (Linux >= 4.0,
/// "echo 5 > /proc/PID/clear_refs"). Returns whether it worked.
inline bool reset_peak_rss(const std::string& pid) {
  std::ofstream out{"/proc/" + pid + "/clear_refs"};
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

inline double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

// -- bytes ------------------------------------------------------------------------------

/// `n` pseudo-random bytes from std::mt19937 seeded with `seed` (its raw
/// output is fixed by the standard, so the bytes are the same everywhere).
inline std::string random_bytes(uint32_t seed, size_t n) {
  std::mt19937 gen{seed};
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(gen() & 0xffu);
  return out;
}

/// The BASP message types of CAF 0.17 (caf/io/basp/message_type.hpp).
enum class basp_op : uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  direct_message = 2,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
  heartbeat = 6,
};

/// A 32-byte CAF 0.17 BASP header: operation, two padding bytes, flags,
/// payload length (u32), operation data (u64), source and destination actor
/// ids (u64 each), integers in network byte order (CAF's binary serializer).
inline std::string basp_header(basp_op op, uint32_t payload_len, uint64_t op_data,
                               uint64_t source_actor, uint64_t dest_actor) {
  std::string h;
  auto put = [&h](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) h.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  };
  put(static_cast<uint8_t>(op), 1);
  put(0, 2);  // padding
  put(0, 1);  // flags
  put(payload_len, 4);
  put(op_data, 8);
  put(source_actor, 8);
  put(dest_actor, 8);
  return h;
}

/// Size of a serialized BASP header.
inline constexpr size_t basp_header_size = 32;

// -- raw sockets ------------------------------------------------------------------------

/// A plain TCP connection to 127.0.0.1:port.
class raw_connection {
 public:
  explicit raw_connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) close();
  }
  ~raw_connection() { close(); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool ok() const { return fd_ >= 0; }

  /// Writes all of `bytes` (or until the peer closed); returns the bytes written.
  size_t send_all(const std::string& bytes, std::chrono::milliseconds timeout) {
    size_t off = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0 && off < bytes.size()) {
      if (!wait_for(POLLOUT, deadline)) break;
      auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    return off;
  }

  /// Reads until `n` bytes arrived, EOF, or `timeout`; returns what arrived.
  std::string read_up_to(size_t n, std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (fd_ >= 0 && out.size() < n) {
      if (!wait_for(POLLIN, deadline)) break;
      auto r = ::recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }

  /// Waits up to `timeout` for the peer to close the connection (EOF or reset);
  /// discards whatever it sends. Returns whether it closed.
  bool wait_closed_by_peer(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (fd_ >= 0) {
      if (!wait_for(POLLIN, deadline)) return false;
      auto r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return true;
    }
    return false;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool wait_for(short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      auto r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      return r > 0;
    }
  }

  int fd_ = -1;
};

// -- a recording, injecting TCP proxy ---------------------------------------------------------

/// Listens on 127.0.0.1 (a free port), accepts ONE connection, connects it to
/// 127.0.0.1:upstream and relays both ways on its own thread. It records what
/// the client sent, and inject() writes extra bytes to the server as if the
/// client had sent them. When either side closes, both are closed.
class tcp_proxy {
 public:
  explicit tcp_proxy(uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 4) != 0)
      return;
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~tcp_proxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close_all();
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// The port clients connect to (0 if the proxy failed to listen).
  uint16_t port() const { return port_; }

  /// Writes `bytes` to the server on the relayed connection. Returns whether
  /// all of them were written.
  bool inject(const std::string& bytes) {
    std::lock_guard<std::mutex> g{up_mtx_};
    if (server_fd_ < 0) return false;
    return write_all(server_fd_, bytes);
  }

  /// Closes the relayed connection on both sides.
  void cut() {
    std::lock_guard<std::mutex> g{up_mtx_};
    if (server_fd_ >= 0) ::shutdown(server_fd_, SHUT_RDWR);
    if (client_fd_ >= 0) ::shutdown(client_fd_, SHUT_RDWR);
  }

  /// Bytes the client sent so far.
  std::string client_bytes() {
    std::lock_guard<std::mutex> g{rec_mtx_};
    return from_client_;
  }

  /// Whether the relayed connection ended (either side closed).
  bool ended() const { return ended_.load(); }

  /// Waits up to `timeout` for the relayed connection to end.
  bool wait_ended(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g{rec_mtx_};
    return cv_.wait_for(g, timeout, [this] { return ended_.load(); });
  }

 private:
  static bool write_all(int fd, const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  void run() {
    // Accept one client (polling, so that the destructor can stop us).
    int client = -1;
    while (!stop_ && client < 0) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    ::close(listen_fd_);  // one connection only: later connects are refused
    listen_fd_ = -1;
    if (client < 0) return finish();
    int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(upstream_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      return finish();
    }
    int one = 1;
    ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      std::lock_guard<std::mutex> g{up_mtx_};
      client_fd_ = client;
      server_fd_ = server;
    }
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      auto r = ::poll(p, 2, 50);
      if (r < 0 && errno != EINTR) break;
      if (r <= 0) continue;
      bool closed = false;
      if (p[0].revents != 0) {
        auto n = ::recv(client, buf, sizeof(buf), 0);
        if (n <= 0) {
          closed = true;
        } else {
          std::string chunk(buf, static_cast<size_t>(n));
          {
            std::lock_guard<std::mutex> g{rec_mtx_};
            from_client_ += chunk;
          }
          std::lock_guard<std::mutex> g{up_mtx_};
          if (!write_all(server, chunk)) closed = true;
        }
      }
      if (!closed && p[1].revents != 0) {
        auto n = ::recv(server, buf, sizeof(buf), 0);
        if (n <= 0 || !write_all(client, std::string(buf, static_cast<size_t>(n)))) closed = true;
      }
      if (closed) break;
    }
    close_all();
    finish();
  }

  void close_all() {
    std::lock_guard<std::mutex> g{up_mtx_};
    if (client_fd_ >= 0) ::close(client_fd_);
    if (server_fd_ >= 0) ::close(server_fd_);
    client_fd_ = server_fd_ = -1;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  void finish() {
    {
      std::lock_guard<std::mutex> g{rec_mtx_};
      ended_ = true;
    }
    cv_.notify_all();
  }

  uint16_t upstream_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int client_fd_ = -1;
  int server_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::mutex up_mtx_;
  std::mutex rec_mtx_;
  std::condition_variable cv_;
  std::string from_client_;
  std::thread thread_;
};

}  // namespace vstore::test
