#pragma once

// The commands of the vstore CLI, apart from their parsing: main.cpp parses
// the command line with CLI11 into the *_args structs below and calls the
// command's run_*() function. Plain C++: no CLI11, no CAF (the store is
// reached through the blocking client, vstore/client.hpp).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/client.hpp"

namespace vstore::cli {

/// Exit codes of the CLI.
constexpr int exit_ok = 0;
/// get / multi-get: a key does not exist; outcome: not committed.
constexpr int exit_not_found = 1;
/// A usage error: unknown option or command, bad argument.
constexpr int exit_usage = 2;
/// A store or connection error.
constexpr int exit_store = 3;
/// outcome: the write is admitted and not settled yet (ask again).
constexpr int exit_pending = 4;
/// outcome: the store no longer remembers the token.
constexpr int exit_unknown = 5;

/// The global options: where the store is and how to talk to it.
struct global_args {
  /// HOST:PORT of a vstored; empty = embedded.
  std::string connect;
  /// `connect` came from the environment (VSTORE_CONNECT), not --connect.
  bool connect_from_env = false;
  /// --data-dir and --config (empty = not given).
  std::string data_dir;
  std::string config_file;
  /// Mutual TLS files (remote only; empty = not given).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// Durations such as "5s" (empty = the default).
  std::string connect_timeout;
  std::string timeout;
  /// Keys, values, prefixes and tokens are hex, in and out.
  bool hex = false;
};

/// put's, delete's and delete-range's options.
struct write_args {
  std::optional<std::string> token;
  bool json = false;
};

struct get_args {
  std::string space;
  std::string key;
  bool raw = false;
  bool json = false;
};

struct multi_get_args {
  std::string space;
  /// The keys; a single "-" reads them from stdin, one per line.
  std::vector<std::string> keys;
  bool json = false;
};

struct scan_args {
  std::string space;
  std::string prefix;
  /// At most this many entries (0 = all).
  uint64_t limit = 0;
  std::optional<std::string> start_after;
  bool json = false;
};

struct put_args {
  std::string space;
  std::string key;
  /// The value; "-" reads it from stdin.
  std::string value;
  write_args write;
};

struct delete_args {
  std::string space;
  std::string key;
  write_args write;
};

struct delete_range_args {
  std::string space;
  std::string begin;
  std::string end;
  write_args write;
};

struct outcome_args {
  std::string token;
  bool json = false;
};

struct stats_args {
  bool json = false;
  bool prometheus = false;
};

struct info_args {
  bool json = false;
};

struct bulk_load_args {
  std::string space;
  std::string file;
  uint64_t batch = 1000;
  bool no_progress = false;
};

struct drain_args {
  bool json = false;
};

struct promote_args {
  bool json = false;
};

struct checkpoint_args {
  std::string target;
};

/// How a command uses the store.
enum class access {
  /// Reads only: an embedded store opens read-only and must exist.
  read_only,
  /// Reads and writes: an embedded store is created if missing.
  read_write,
};

/// Prints a store error on stderr and returns exit_store.
int fail(const status& st);

/// Prints a usage error on stderr and returns exit_usage.
int usage(const std::string& what);

/// The store a command runs against, remote or embedded, and how its bytes are
/// written (escaped or hex).
class session {
 public:
  explicit session(const global_args& g) : g_(g) {}

  /// Connects to the vstored, or opens the embedded store (read-only for
  /// access::read_only, which also refuses to create a missing store).
  /// Returns exit_ok or the exit code after printing the error. An embedded
  /// directory held by another process is refused with a message naming it.
  int open(access mode);

  /// The options of the embedded store: --config, then --data-dir over it.
  status embedded_options(access mode, options& o) const;

  /// Returns exit_ok if no other process holds the store in `dir` open, else
  /// exit_store after saying so on stderr.
  static int check_not_in_use(const std::string& dir);

  /// Returns the exit code for an error opening the embedded store in `dir`:
  /// the message that another process holds the directory when it does (or
  /// when `st` is RocksDB's lock error), else fail(st).
  static int fail_open(const status& st, const std::string& dir);

  /// Decodes a command-line argument: hex with --hex, else the bytes as given.
  std::optional<std::string> decode_arg(std::string_view arg) const;

  /// Decodes a field of an input line (bulk-load, multi-get -): hex with
  /// --hex, else unescape() (the format scan prints).
  std::optional<std::string> decode_line(std::string_view text) const;

  /// Renders bytes for output: hex with --hex, else escape().
  std::string render(std::string_view bytes) const;

  /// Finds a space by name; prints an error (listing the known ones) if none.
  std::optional<space_id> space(const std::string& name) const;

  /// Whether the store is a remote vstored.
  bool remote() const { return !g_.connect.empty(); }

  /// The global options.
  const global_args& globals() const { return g_; }

  /// The open store (after open()).
  client& db() { return *client_; }

 private:
  const global_args& g_;
  std::unique_ptr<client> client_;
  std::map<std::string, space_id> spaces_;
};

// Reads (commands_read.cpp).
int run_get(session& s, const get_args& a);
int run_multi_get(session& s, const multi_get_args& a);
int run_scan(session& s, const scan_args& a);
int run_outcome(session& s, const outcome_args& a);
int run_stats(session& s, const stats_args& a);
int run_info(session& s, const info_args& a);

// Writes (commands_write.cpp).
int run_put(session& s, const put_args& a);
int run_delete(session& s, const delete_args& a);
int run_delete_range(session& s, const delete_range_args& a);
int run_flush(session& s);
int run_bulk_load(session& s, const bulk_load_args& a);

// Administration (commands_admin.cpp).
int run_drain(session& s, const drain_args& a);
int run_promote(session& s, const promote_args& a);
int run_checkpoint(session& s, const checkpoint_args& a);

}  // namespace vstore::cli
