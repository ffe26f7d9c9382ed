#pragma once

// The Redis anchor of vstore-bench (perf.md's remote_get, remote_put and
// remote_rtt): what a user would otherwise pick for a networked key-value
// store, measured in the same run as vstored. A redis-server the bench starts
// itself on 127.0.0.1 (a free port, never 6379), a tiny pipelined RESP client
// over a TCP socket (no client library), the Redis side's repetitions, and
// remote_rtt's sequential-latency repetitions on both sides (vstore through
// the blocking vstore::client). Plain C++: no CAF, no RocksDB headers.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/raw_side.hpp"
#include "bench/report.hpp"
#include "bench/workload.hpp"
#include "vstore/errc.hpp"

namespace vstore::bench {

class child_process;

/// One RESP2 reply.
struct resp_reply {
  enum class kind : uint8_t {
    simple,   ///< +OK
    error,    ///< -ERR ...
    integer,  ///< :1
    bulk,     ///< $3 abc
    nil,      ///< $-1 (or *-1)
    array,    ///< *2 ...
  };
  kind type = kind::nil;
  /// The text of a simple string, an error or a bulk string (binary safe).
  std::string text;
  /// The value of an integer, or the element count of an array.
  int64_t integer = 0;
  /// The elements of an array.
  std::vector<resp_reply> elements;
};

/// A blocking RESP connection to a Redis server on 127.0.0.1. Commands are
/// appended to an output buffer and written together (a pipeline); replies
/// are read one at a time, in order. Every socket read and write is bounded by
/// the connection's timeout (SO_RCVTIMEO / SO_SNDTIMEO). Not thread-safe: one
/// thread per connection.
class resp_connection {
 public:
  /// Connects to 127.0.0.1:`port` (TCP_NODELAY); `io_timeout` bounds every
  /// later read and write. Fails at once when nothing listens there.
  static status connect(uint16_t port, std::chrono::milliseconds io_timeout,
                        std::unique_ptr<resp_connection>& out);
  /// Closes the socket.
  ~resp_connection();
  resp_connection(const resp_connection&) = delete;
  resp_connection& operator=(const resp_connection&) = delete;

  /// Appends one command (an array of bulk strings, binary safe) to the
  /// output buffer; sends nothing.
  void append(std::initializer_list<std::string_view> args);
  /// Writes everything appended so far. Blocks.
  status flush();
  /// Reads the next reply. Blocks up to the timeout per socket read.
  status read(resp_reply& out);
  /// Writes one command (and anything appended before it) and reads one
  /// reply: that command's when nothing else was pending.
  status call(std::initializer_list<std::string_view> args, resp_reply& out);

 private:
  explicit resp_connection(int fd) : fd_(fd) {}
  /// Receives until at least `n` unparsed bytes are buffered. Blocks.
  status fill(size_t n);
  /// Consumes one line ending in \r\n; `line` (without the \r\n) stays
  /// valid until the next fill().
  status read_line(std::string_view& line);
  /// Parses one reply (arrays: at most 8 levels deep).
  status read_into(resp_reply& out, int depth);

  int fd_;
  /// Commands appended and not yet written.
  std::string out_;
  /// Received bytes; [rpos_, wpos_) are not yet parsed.
  std::vector<char> in_;
  size_t rpos_ = 0;
  size_t wpos_ = 0;
};

/// How a redis-server the bench starts persists writes.
enum class redis_persistence : uint8_t {
  none,          ///< --save "" --appendonly no: memory only (the get rows)
  aof_everysec,  ///< --appendonly yes --appendfsync everysec (remote_put)
};

/// Returns the path of the first executable redis-server on $PATH, or ""
/// when there is none.
std::string find_redis_server();

/// A redis-server child process on 127.0.0.1 with its files in its own
/// directory. Killed (SIGKILL) if the bench dies; stopped when destroyed.
class redis_server {
 public:
  /// Starts `exe` on a free port of 127.0.0.1 (never 6379: the port the
  /// kernel picks for a bind to port 0), working directory `dir` (created),
  /// log in `dir`/redis.log, and waits until it answers PING: a bounded
  /// number of connect attempts, each refused one followed by a wait of up
  /// to 10 ms that ends early if the server exits (then its log tail is the
  /// error). Tries another port if the first one was taken meanwhile. Blocks
  /// up to about 5 s per attempt.
  static status start(const std::string& exe, const std::string& dir, redis_persistence p,
                      std::unique_ptr<redis_server>& out);
  /// stop().
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// Sends SHUTDOWN NOSAVE, then SIGTERM and waits up to 5 s for the exit
  /// (SIGKILL after that). Idempotent.
  void stop();
  /// Returns the TCP port on 127.0.0.1.
  uint16_t port() const noexcept { return port_; }
  /// Returns the server's process id.
  pid_t pid() const noexcept;

 private:
  redis_server(std::unique_ptr<child_process> proc, uint16_t port);
  std::unique_ptr<child_process> proc_;
  uint16_t port_;
};

/// What remote_rtt runs: sequential gets, one at a time, on each side.
struct latency_plan {
  /// The vstored the vstore side reaches (127.0.0.1), and its pid (its CPU
  /// time counts; 0 = not counted).
  uint16_t vstored_port = 0;
  pid_t vstored_pid = 0;
  /// CAF 0.17's floor (floor_side.hpp): the echo server the same blocking
  /// client reaches as a third side (0 = no floor), and its pid.
  uint16_t floor_port = 0;
  pid_t floor_pid = 0;
  /// Measured repetitions per side, after one unmeasured warm-up each.
  size_t reps = 1;
  bool run_vstore = true;
  bool run_redis = true;
  /// Returns the workload of one repetition (kind get): its seed, key count,
  /// and request count or deadline.
  std::function<workload(uint64_t seed, bool warm_up)> make_workload;
};

/// The Redis side of the remote_* rows in one bench run: a memory-only
/// server loaded with the same keys and values as vstore's database (the get
/// rows) and an AOF server (remote_put), each started when a row first needs
/// it and stopped when this object is destroyed.
class redis_side {
 public:
  /// `dir`: where the servers' directories go (the run's temporary
  /// directory). `exe`: the redis-server binary; "" = find_redis_server().
  explicit redis_side(std::string dir, std::string exe = {});
  /// Stops the servers.
  ~redis_side();
  redis_side(const redis_side&) = delete;
  redis_side& operator=(const redis_side&) = delete;

  /// Makes the server for `kind` ready: for get, the memory-only server with
  /// loaded keys 0..key_count-1 (pipelined SETs of 1000); for put, the AOF
  /// server. Returns "" when ready, else why the row is skipped ("redis-server
  /// not installed" when there is none). Blocks.
  std::string prepare(workload_kind kind, uint64_t key_count);

  /// Runs one repetition of `w` (get or put) on the server prepare(w.kind)
  /// readied: `connections` connections, a thread each, each writing up to
  /// `pipeline` commands of its issuer_range and then reading their replies,
  /// until its range or the deadline ends. CPU time counts this process and
  /// redis-server. Blocks.
  rep_result run(const workload& w, size_t connections, size_t pipeline);

  /// remote_rtt: for each repetition (after a warm-up on each side),
  /// sequential gets through vstored (one blocking vstore::client) and
  /// sequential GETs on the memory-only server (one connection), and with
  /// p.floor_port sequential gets through another blocking client on the
  /// echo server (r.floor), interleaved; fills r.vstore, r.raw (and r.floor)
  /// with the p50 latency of each repetition in microseconds, r.rep_ratios,
  /// the CPU µs per get (with the server's), errors and r.lower_is_better.
  /// Needs prepare(get) first. Prints progress to stderr. Blocks.
  void run_latency(row& r, const latency_plan& p);

  /// Returns the server prepared for `kind` (nullptr if none).
  redis_server* server(workload_kind kind) const;

 private:
  std::string dir_;
  std::string exe_;
  std::unique_ptr<redis_server> memory_;
  std::unique_ptr<redis_server> aof_;
  uint64_t loaded_ = 0;
};

}  // namespace vstore::bench
