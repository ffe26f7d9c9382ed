// vstore: the command-line client. Talks to a running vstored (--connect) or
// opens a store in this process (--data-dir / --config).
//
// Exit codes: 0 ok, 1 not found (get) or not committed (outcome), 2 usage
// error, 3 store or connection error, 4 pending and 5 unknown (outcome).

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "backends/open_store.hpp"
#include "config/config.hpp"
#include "tools/common/json.hpp"
#include "tools/vstore/format.hpp"
#include "vstore/client.hpp"

namespace {

using namespace vstore;
using std::chrono::milliseconds;

constexpr int exit_ok = 0;
constexpr int exit_not_found = 1;
constexpr int exit_usage = 2;
constexpr int exit_store = 3;
/// outcome: the write is admitted and not settled yet (ask again).
constexpr int exit_pending = 4;
/// outcome: the store no longer remembers the token.
constexpr int exit_unknown = 5;

constexpr const char* main_help = R"(Usage: vstore [OPTIONS] COMMAND [ARGS]

A command-line client for vstore, remote (a running vstored) or embedded (the
store opened in this process; no vstored may hold it open).

Commands:
  get SPACE KEY                 Print the value of KEY (exit 1 if absent).
  put SPACE KEY VALUE           Set KEY to VALUE [--token TOKEN].
  delete SPACE KEY              Remove KEY [--token TOKEN].
  outcome TOKEN                 Print what became of the write with TOKEN.
  scan SPACE PREFIX             Print KEY<TAB>VALUE for keys starting with PREFIX.
  stats                         Print the counters of every space.
  info                          Print the backend, the spaces and their state.
  flush                         Commit every open batch now.
  bulk-load SPACE FILE          Load KEY<TAB>VALUE lines from FILE ('-' = stdin).
  checkpoint DIR                Copy the store consistently to DIR (embedded only).
  help [COMMAND]                Print this help or a command's help.

Where the store is (exactly one of):
  --connect HOST:PORT           A running vstored.
  --data-dir DIR                A RocksDB store in DIR, opened in this process.
  --config FILE                 A vstore INI file (embedded; --data-dir overrides
                                its [store] path).

Remote options:
  --tls-cert FILE               Client certificate (PEM) for mutual TLS.
  --tls-key FILE                Its private key (PEM).
  --tls-ca FILE                 CA file (PEM) the server's certificate must be
                                signed by. The three go together.
  --connect-timeout DUR         Bound on connecting. Default: 5s.

Common options:
  --hex                         Keys, values, prefixes and tokens are hex, in
                                and out.
  --timeout DUR                 Wait this long for each reply. Default: 10s.
  -h, --help                    Help (after a command: that command's help).

SPACE is a state space name (data, latest_ptr, rollback_ptr, batch_metadata,
metas, smt_node, smt_stale, proof_receipt with the default schema). Without
--hex, arguments are taken as raw bytes, and output shows printable ASCII as is,
a backslash as \\ and every other byte as \xHH.
Durations: an integer and a unit: ms, s, min, h (e.g. 500ms, 5s).
Exit codes: 0 ok (outcome: committed), 1 not found (get) or not committed
(outcome), 2 usage error, 3 store or connection error, 4 pending (outcome),
5 unknown (outcome).
)";

struct command_info {
  const char* name;
  size_t args;
  const char* help;
};

/// The part of put's and delete's help about idempotency tokens.
#define VSTORE_WRITE_TOKEN_HELP                                                      \
  "\n"                                                                               \
  "The write carries an idempotency token: TOKEN with --token (at most 64 bytes\n"   \
  "by default), else a random one. A write whose token already committed is not\n"   \
  "applied again: it is answered with its first commit. When the answer is in\n"     \
  "doubt (e.g. the connection was lost), the CLI asks the store for the token's\n"   \
  "outcome and resends the write only if it did not commit. A write still in\n"      \
  "doubt exits 3 and stderr names its token: ask 'vstore outcome TOKEN' later.\n"    \
  "--json prints {\"seq\": N, \"token\": \"...\"} (the token escaped, or hex with\n" \
  "--hex); without it nothing is printed.\n"

const std::vector<command_info>& commands() {
  static const std::vector<command_info> list = {
      {"get", 2,
       "Usage: vstore [OPTIONS] get SPACE KEY\n\n"
       "Prints the value of KEY in SPACE followed by a newline (escaped, or hex with --hex).\n"
       "Exit code 1 and a message on stderr when the key does not exist.\n"},
      {"put", 3,
       "Usage: vstore [OPTIONS] put SPACE KEY VALUE [--token TOKEN] [--json]\n\n"
       "Sets KEY to VALUE in SPACE and returns once the write is committed (in the WAL).\n"
       "With --hex, KEY, VALUE and TOKEN are hex.\n" VSTORE_WRITE_TOKEN_HELP},
      {"delete", 2,
       "Usage: vstore [OPTIONS] delete SPACE KEY [--token TOKEN] [--json]\n\n"
       "Removes KEY from SPACE (no error if it does not exist).\n" VSTORE_WRITE_TOKEN_HELP},
      {"scan", 2,
       "Usage: vstore [OPTIONS] scan SPACE PREFIX [--limit N] [--start-after KEY]\n\n"
       "Prints KEY<TAB>VALUE, one entry per line in key order, for every key of SPACE that\n"
       "starts with PREFIX ('' = all keys), after KEY when --start-after is given, at most\n"
       "N entries with --limit (default: all). When --limit cut the scan short, stderr says\n"
       "where to continue.\n"},
      {"stats", 0,
       "Usage: vstore [OPTIONS] stats [--json | --prometheus]\n\n"
       "Prints the counters of every state space: a table by default, one JSON object with\n"
       "--json, or Prometheus' text exposition format with --prometheus (metrics such as\n"
       "vstore_reads_total{space=\"data\"}). Embedded, the counters start at zero.\n"},
      {"info", 0,
       "Usage: vstore [OPTIONS] info\n\n"
       "Prints the backend, the latest sequence number, the uptime and every space with its\n"
       "state.\n"},
      {"outcome", 1,
       "Usage: vstore [OPTIONS] outcome TOKEN [--json]\n\n"
       "Asks the store what became of the write that carried TOKEN (hex with --hex) and\n"
       "prints one of:\n"
       "  committed SEQ   committed as of sequence number SEQ            (exit 0)\n"
       "  not_committed   not committed, and it never will be: retrying  (exit 1)\n"
       "                  is safe\n"
       "  pending         admitted and not settled yet: ask again        (exit 4)\n"
       "  unknown         the store no longer remembers the token        (exit 5)\n"
       "                  ([tokens] retain-count / retain-age): read the data\n"
       "With --json: {\"token\": \"...\", \"state\": \"committed\", \"seq\": SEQ} (seq 0 unless\n"
       "committed), same exit codes.\n"},
      {"flush", 0,
       "Usage: vstore [OPTIONS] flush\n\n"
       "Commits every open batch of every space now; returns once they are committed.\n"},
      {"bulk-load", 2,
       "Usage: vstore [OPTIONS] bulk-load SPACE FILE [--batch N] [--no-progress]\n\n"
       "Loads FILE ('-' = stdin) into SPACE: one KEY<TAB>VALUE per line (split at the first\n"
       "TAB; a trailing CR is dropped; empty lines are skipped), hex with --hex. Writes\n"
       "batches of N operations (default 1000, also cut at 4 MiB), each committed atomically.\n"
       "Shows a progress bar on stderr when it is a terminal and prints the count and the\n"
       "rate (ops/s) at the end. A malformed line stops the load (exit 2); the batches\n"
       "before it are committed.\n"},
      {"checkpoint", 1,
       "Usage: vstore --data-dir DIR|--config FILE checkpoint TARGET\n\n"
       "Writes a consistent copy of the store to directory TARGET (which must not exist),\n"
       "using RocksDB checkpoints (hard links where possible). Embedded only: stop vstored\n"
       "first (or run it on a copy), because the store cannot be opened twice. TARGET opens\n"
       "as a store: vstore --data-dir TARGET get SPACE KEY.\n"},
  };
  return list;
}

const command_info* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

struct cli_args {
  std::optional<std::string> connect, data_dir, config_file;
  std::string tls_cert, tls_key, tls_ca;
  std::optional<std::string> connect_timeout, timeout, limit, start_after, batch, token;
  bool hex = false, json = false, prometheus = false, no_progress = false, help = false;
  std::vector<std::string> positional;
};

/// A usage error (exit code 2).
struct usage_error {
  std::string what;
};

std::optional<usage_error> parse_args(int argc, char** argv, cli_args& a) {
  std::map<std::string, std::function<void(std::string)>> valued = {
      {"connect", [&](std::string v) { a.connect = std::move(v); }},
      {"data-dir", [&](std::string v) { a.data_dir = std::move(v); }},
      {"config", [&](std::string v) { a.config_file = std::move(v); }},
      {"tls-cert", [&](std::string v) { a.tls_cert = std::move(v); }},
      {"tls-key", [&](std::string v) { a.tls_key = std::move(v); }},
      {"tls-ca", [&](std::string v) { a.tls_ca = std::move(v); }},
      {"connect-timeout", [&](std::string v) { a.connect_timeout = std::move(v); }},
      {"timeout", [&](std::string v) { a.timeout = std::move(v); }},
      {"limit", [&](std::string v) { a.limit = std::move(v); }},
      {"start-after", [&](std::string v) { a.start_after = std::move(v); }},
      {"batch", [&](std::string v) { a.batch = std::move(v); }},
      {"token", [&](std::string v) { a.token = std::move(v); }},
  };
  std::map<std::string, bool*> flags = {{"hex", &a.hex},
                                        {"json", &a.json},
                                        {"prometheus", &a.prometheus},
                                        {"no-progress", &a.no_progress},
                                        {"help", &a.help}};
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return usage_error{"unknown option '" + arg + "'"};
    auto name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (auto f = flags.find(name); f != flags.end()) {
      if (inline_value) return usage_error{"--" + name + " takes no value"};
      *f->second = true;
      continue;
    }
    auto v = valued.find(name);
    if (v == valued.end()) return usage_error{"unknown option '--" + name + "'"};
    if (inline_value) {
      v->second(*inline_value);
    } else {
      if (i + 1 >= argc) return usage_error{"option '--" + name + "' needs a value"};
      v->second(argv[++i]);
    }
  }
  return std::nullopt;
}

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

std::optional<usage_error> parse_duration(const std::optional<std::string>& s, const char* name,
                                          milliseconds& out) {
  if (!s) return std::nullopt;
  if (!config::parse_duration(*s, out) || out.count() == 0)
    return usage_error{std::string{"--"} + name + ": not a positive duration (e.g. 5s): " + *s};
  return std::nullopt;
}

/// Exits with a store error.
int fail(const status& st) {
  std::cerr << "vstore: error: " << st.to_string() << "\n";
  return exit_store;
}

int usage(const std::string& what) {
  std::cerr << "vstore: " << what << "\nTry 'vstore --help'.\n";
  return exit_usage;
}

/// The command being run, with its connection.
class session {
 public:
  explicit session(cli_args& a) : a_(a) {}

  /// Decodes a key/value/prefix argument (hex with --hex).
  std::optional<std::string> decode(const std::string& arg) const {
    if (!a_.hex) return arg;
    return cli::from_hex(arg);
  }

  /// Renders bytes for output.
  std::string render(std::string_view bytes) const {
    return a_.hex ? cli::to_hex(bytes) : cli::escape(bytes);
  }

  /// Opens the connection or the embedded store. `read_only` commands do not
  /// create a missing embedded store.
  int open(bool read_only) {
    client::settings cs;
    cs.max_threads = 2;
    milliseconds t{10000};
    if (auto e = parse_duration(a_.timeout, "timeout", t)) return usage(e->what);
    cs.timeout = t;
    if (a_.connect) {
      remote_options r;
      auto& ep = *a_.connect;
      auto colon = ep.rfind(':');
      uint64_t port = 0;
      if (colon == std::string::npos || !parse_u64(ep.substr(colon + 1), port) || port == 0 ||
          port > 65535)
        return usage("--connect: expected HOST:PORT, got '" + ep + "'");
      r.host = ep.substr(0, colon);
      if (r.host.size() >= 2 && r.host.front() == '[' && r.host.back() == ']')
        r.host = r.host.substr(1, r.host.size() - 2);
      r.port = static_cast<uint16_t>(port);
      r.tls_cert = a_.tls_cert;
      r.tls_key = a_.tls_key;
      r.tls_ca = a_.tls_ca;
      if (auto e = parse_duration(a_.connect_timeout, "connect-timeout", r.connect_timeout))
        return usage(e->what);
      if (r.heartbeat_interval >= r.connect_timeout) r.heartbeat_interval = r.connect_timeout / 4;
      if (r.tls() && (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty()))
        return usage("--tls-cert, --tls-key and --tls-ca go together (mutual TLS)");
      if (auto st = client::connect(r, client_, cs); !st) return fail(st);
      status_reply info;
      if (auto st = client_->info(info); !st) return fail(st);
      for (size_t i = 0; i < info.spaces.size(); ++i)
        spaces_[info.spaces[i]] = static_cast<space_id>(i);
      return exit_ok;
    }
    if (auto st = embedded_options(read_only, opts_); !st) return fail(st);
    for (size_t i = 0; i < opts_.schema.spaces.size(); ++i)
      spaces_[opts_.schema.spaces[i].name] = static_cast<space_id>(i);
    if (auto st = client::open_embedded(opts_, client_, cs); !st) return fail(st);
    return exit_ok;
  }

  /// The options of the embedded store.
  status embedded_options(bool read_only, options& o) const {
    // --data-dir wins over the file; it is applied before loading too,
    // because load_file() validates the result.
    auto apply_cli = [this](options& x) {
      if (a_.data_dir) {
        x.backend = backend_kind::rocksdb;
        x.db.path = *a_.data_dir;
      }
    };
    apply_cli(o);
    if (a_.config_file)
      if (auto st = config::load_file(*a_.config_file, o); !st) return st;
    apply_cli(o);
    if (read_only) o.db.create_if_missing = false;
    // A CLI command is short: keep RocksDB's memory small and shutdown quick.
    o.supervisor.shutdown_grace = std::min(o.supervisor.shutdown_grace, milliseconds(5000));
    return config::validate(o);
  }

  /// Finds a space by name; prints an error otherwise.
  std::optional<space_id> space(const std::string& name) const {
    if (auto i = spaces_.find(name); i != spaces_.end()) return i->second;
    std::string known;
    for (const auto& kv : spaces_) known += (known.empty() ? "" : ", ") + kv.first;
    std::cerr << "vstore: unknown state space '" << name << "' (known: " << known << ")\n";
    return std::nullopt;
  }

  client& db() { return *client_; }
  cli_args& args() { return a_; }

 private:
  cli_args& a_;
  std::unique_ptr<client> client_;
  options opts_;
  std::map<std::string, space_id> spaces_;
};

/// Decodes argument `i` or prints a usage error.
#define VSTORE_DECODE(var, text, what) \
  auto var = s.decode(text);           \
  if (!var) return usage(std::string{what} + " is not valid hex: " + text)

int cmd_get(session& s, const std::vector<std::string>& p) {
  auto sp = s.space(p[1]);
  if (!sp) return exit_usage;
  VSTORE_DECODE(key, p[2], "KEY");
  std::optional<std::string> value;
  if (auto st = s.db().get(*sp, *key, value); !st) return fail(st);
  if (!value) {
    std::cerr << "vstore: not found: " << p[1] << " " << s.render(*key) << "\n";
    return exit_not_found;
  }
  std::cout << s.render(*value) << "\n";
  return exit_ok;
}

/// Returns a fresh random token of 16 lower-case hex digits (printable, so
/// stderr can name it without escapes).
std::string random_token() {
  std::random_device rd;
  std::mt19937_64 gen{(uint64_t{rd()} << 32) ^ rd()};
  auto x = gen();
  std::string raw(8, '\0');
  for (size_t i = 0; i < 8; ++i) raw[i] = static_cast<char>(x >> (8 * i));
  return cli::to_hex(raw);
}

/// Commits a put or delete with the --token (or a random token) and reports
/// the outcome: with --json its seq and token; on an error that leaves the
/// write in doubt, the token to ask `outcome` with.
int commit_write(session& s, write_request w) {
  if (s.args().token) {
    VSTORE_DECODE(token, *s.args().token, "--token");
    if (token->empty()) return usage("--token: empty");
    w.token = std::move(*token);
  } else {
    w.token = random_token();
  }
  auto token = w.token;
  w.flush_now = true;
  commit_ack ack;
  if (auto st = s.db().write(std::move(w), ack); !st) {
    int rc = fail(st);
    if (write_outcome_of(st.code()) == write_outcome::maybe)
      std::cerr << "vstore: the write may have been applied; ask: vstore outcome "
                << (s.args().hex ? "--hex " : "") << s.render(token) << "\n";
    return rc;
  }
  if (s.args().json)
    std::cout << "{\"seq\": " << ack.seq << ", \"token\": " << tools::json_string(s.render(token))
              << "}\n";
  return exit_ok;
}

int cmd_put(session& s, const std::vector<std::string>& p) {
  auto sp = s.space(p[1]);
  if (!sp) return exit_usage;
  VSTORE_DECODE(key, p[2], "KEY");
  VSTORE_DECODE(value, p[3], "VALUE");
  write_request w;
  w.put(*sp, *key, *value);
  return commit_write(s, std::move(w));
}

int cmd_delete(session& s, const std::vector<std::string>& p) {
  auto sp = s.space(p[1]);
  if (!sp) return exit_usage;
  VSTORE_DECODE(key, p[2], "KEY");
  write_request w;
  w.del(*sp, *key);
  return commit_write(s, std::move(w));
}

int cmd_outcome(session& s, const std::vector<std::string>& p) {
  VSTORE_DECODE(token, p[1], "TOKEN");
  if (token->empty()) return usage("outcome: TOKEN is empty");
  outcome_reply r;
  if (auto st = s.db().outcome(*token, r); !st) return fail(st);
  if (s.args().json) {
    std::cout << "{\"token\": " << tools::json_string(s.render(*token))
              << ", \"state\": " << tools::json_string(to_name(r.state))
              << ", \"seq\": " << (r.state == write_state::committed ? r.seq : 0) << "}\n";
  } else {
    std::cout << to_name(r.state);
    if (r.state == write_state::committed) std::cout << " " << r.seq;
    std::cout << "\n";
  }
  switch (r.state) {
    case write_state::committed:
      return exit_ok;
    case write_state::not_committed:
      return exit_not_found;
    case write_state::pending:
      return exit_pending;
    case write_state::unknown:
      return exit_unknown;
  }
  return exit_unknown;
}

int cmd_scan(session& s, const std::vector<std::string>& p) {
  auto sp = s.space(p[1]);
  if (!sp) return exit_usage;
  VSTORE_DECODE(prefix, p[2], "PREFIX");
  uint64_t limit = 0;
  if (s.args().limit && (!parse_u64(*s.args().limit, limit) || limit == 0))
    return usage("--limit: a positive integer expected: " + *s.args().limit);
  std::string after;
  if (s.args().start_after) {
    VSTORE_DECODE(k, *s.args().start_after, "--start-after");
    after = *k;
  }
  constexpr uint64_t page_size = 1000;
  uint64_t printed = 0;
  for (;;) {
    scan_request req;
    req.space = *sp;
    req.prefix = *prefix;
    req.start_after = after;
    req.limit =
        static_cast<uint32_t>(limit == 0 ? page_size : std::min(page_size, limit - printed));
    scan_reply page;
    if (auto st = s.db().scan(std::move(req), page); !st) return fail(st);
    for (const auto& kv : page.entries)
      std::cout << s.render(kv.key) << '\t' << s.render(kv.value) << '\n';
    printed += page.entries.size();
    if (!page.more || page.entries.empty()) break;
    after = page.entries.back().key;
    if (limit != 0 && printed >= limit) {
      std::cout.flush();
      std::cerr << "vstore: more entries follow; continue with --start-after " << s.render(after)
                << "\n";
      break;
    }
  }
  return exit_ok;
}

int cmd_stats(session& s, const std::vector<std::string>&) {
  if (s.args().json && s.args().prometheus) return usage("stats: --json or --prometheus, not both");
  stats_reply r;
  if (auto st = s.db().stats(r); !st) return fail(st);
  if (s.args().json)
    std::cout << cli::stats_json(r);
  else if (s.args().prometheus)
    std::cout << cli::stats_prometheus(r);
  else
    std::cout << cli::stats_table(r);
  return exit_ok;
}

int cmd_info(session& s, const std::vector<std::string>&) {
  status_reply r;
  if (auto st = s.db().info(r); !st) return fail(st);
  std::cout << "backend: " << r.backend << "\nsequence: " << r.sequence
            << "\nuptime_ms: " << r.uptime_ms
            << "\nshutting_down: " << (r.shutting_down ? "true" : "false") << "\nspaces:\n";
  for (size_t i = 0; i < r.spaces.size(); ++i)
    std::cout << "  " << i << " " << r.spaces[i] << " " << (i < r.states.size() ? r.states[i] : "?")
              << "\n";
  std::cout << cli::health_text(r.health);
  return exit_ok;
}

int cmd_flush(session& s, const std::vector<std::string>&) {
  commit_ack ack;
  if (auto st = s.db().flush(ack); !st) return fail(st);
  return exit_ok;
}

/// Draws the bulk-load progress bar on stderr.
void draw_progress(uint64_t ops, double seconds, uint64_t done_bytes, uint64_t total_bytes) {
  constexpr int width = 30;
  std::string bar;
  if (total_bytes > 0) {
    auto frac = std::min(1.0, static_cast<double>(done_bytes) / static_cast<double>(total_bytes));
    auto filled = static_cast<int>(frac * width);
    bar = "[" + std::string(static_cast<size_t>(filled), '#') +
          std::string(static_cast<size_t>(width - filled), ' ') + "] " +
          std::to_string(static_cast<int>(frac * 100)) + "% ";
  }
  auto rate = seconds > 0 ? static_cast<uint64_t>(static_cast<double>(ops) / seconds) : 0;
  std::fprintf(stderr, "\r%s%llu ops, %llu ops/s   ", bar.c_str(),
               static_cast<unsigned long long>(ops), static_cast<unsigned long long>(rate));
  std::fflush(stderr);
}

int cmd_bulk_load(session& s, const std::vector<std::string>& p) {
  auto sp = s.space(p[1]);
  if (!sp) return exit_usage;
  uint64_t batch = 1000;
  if (s.args().batch && (!parse_u64(*s.args().batch, batch) || batch == 0 || batch > 100000))
    return usage("--batch: 1..100000 expected: " + *s.args().batch);
  const auto& file = p[2];
  std::ifstream fin;
  std::istream* in = &std::cin;
  uint64_t total_bytes = 0;
  if (file != "-") {
    fin.open(file, std::ios::binary);
    if (!fin) return usage("bulk-load: cannot read " + file);
    in = &fin;
    struct stat sb {};
    if (::stat(file.c_str(), &sb) == 0 && S_ISREG(sb.st_mode))
      total_bytes = static_cast<uint64_t>(sb.st_size);
  }
  bool progress = !s.args().no_progress && ::isatty(STDERR_FILENO) == 1;
  constexpr size_t max_batch_bytes = 4u << 20;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  uint64_t loaded = 0, read_bytes = 0, lineno = 0;
  write_request w;
  size_t w_bytes = 0;
  auto commit = [&]() -> status {
    if (w.ops.empty()) return {};
    auto n = w.ops.size();
    w.flush_now = true;
    commit_ack ack;
    auto st = s.db().write(std::move(w), ack);
    w = write_request{};
    w_bytes = 0;
    if (st) loaded += n;
    if (progress) draw_progress(loaded, elapsed(), read_bytes, total_bytes);
    return st;
  };
  auto stop = [&](int code, const std::string& msg) {
    if (progress) std::fputc('\n', stderr);
    std::cerr << "vstore: " << msg << " (" << loaded << " ops were committed before)\n";
    return code;
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++lineno;
    read_bytes += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto tab = line.find('\t');
    auto where = file + ":" + std::to_string(lineno) + ": ";
    if (tab == std::string::npos) return stop(exit_usage, where + "expected KEY<TAB>VALUE");
    auto key = s.decode(line.substr(0, tab));
    auto value = s.decode(line.substr(tab + 1));
    if (!key || !value) return stop(exit_usage, where + "not valid hex");
    if (key->empty()) return stop(exit_usage, where + "empty key");
    w_bytes += key->size() + value->size();
    w.put(*sp, *key, *value);
    if (w.ops.size() >= batch || w_bytes >= max_batch_bytes)
      if (auto st = commit(); !st) return stop(exit_store, "error: " + st.to_string());
  }
  if (in->bad()) return stop(exit_store, "error reading " + file);
  if (auto st = commit(); !st) return stop(exit_store, "error: " + st.to_string());
  auto secs = elapsed();
  if (progress) std::fputc('\n', stderr);
  auto rate = secs > 0 ? static_cast<uint64_t>(static_cast<double>(loaded) / secs) : loaded;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", secs);
  std::cout << "loaded " << loaded << " ops into " << p[1] << " in " << buf << " s (" << rate
            << " ops/s)\n";
  return exit_ok;
}

int cmd_checkpoint(session& s, const std::vector<std::string>& p) {
  if (s.args().connect) {
    std::cerr << "vstore: checkpoint works on an embedded store only (--data-dir or --config): "
                 "the network protocol has no checkpoint message. Stop vstored and run "
                 "'vstore --data-dir DIR checkpoint TARGET'.\n";
    return exit_usage;
  }
  options o;
  if (auto st = s.embedded_options(true, o); !st) return fail(st);
  std::shared_ptr<store> backend;
  if (auto st = open_store(o, backend); !st) return fail(st);
  if (auto st = backend->checkpoint(p[1]); !st) return fail(st);
  std::cout << "checkpoint written to " << p[1] << " (sequence " << backend->latest_sequence()
            << ")\n";
  return exit_ok;
}

using handler = int (*)(session&, const std::vector<std::string>&);

handler handler_of(const std::string& name) {
  static const std::map<std::string, handler> table = {{"get", cmd_get},
                                                       {"put", cmd_put},
                                                       {"delete", cmd_delete},
                                                       {"scan", cmd_scan},
                                                       {"stats", cmd_stats},
                                                       {"info", cmd_info},
                                                       {"outcome", cmd_outcome},
                                                       {"flush", cmd_flush},
                                                       {"bulk-load", cmd_bulk_load},
                                                       {"checkpoint", cmd_checkpoint}};
  return table.at(name);
}

bool is_read_only(const std::string& name) {
  return name == "get" || name == "scan" || name == "stats" || name == "info" || name == "outcome";
}

}  // namespace

int main(int argc, char** argv) {
  cli_args a;
  if (auto err = parse_args(argc, argv, a)) return usage(err->what);
  auto& p = a.positional;
  if (!p.empty() && p[0] == "help") {
    if (p.size() == 1) {
      std::cout << main_help;
      return exit_ok;
    }
    auto c = find_command(p[1]);
    if (!c) return usage("unknown command '" + p[1] + "'");
    std::cout << c->help;
    return exit_ok;
  }
  if (p.empty()) {
    if (a.help) {
      std::cout << main_help;
      return exit_ok;
    }
    return usage("no command given");
  }
  auto cmd = find_command(p[0]);
  if (!cmd) return usage("unknown command '" + p[0] + "'");
  if (a.help) {
    std::cout << cmd->help;
    return exit_ok;
  }
  if (p.size() != cmd->args + 1)
    return usage(std::string{cmd->name} + ": expected " + std::to_string(cmd->args) +
                 " argument(s), got " + std::to_string(p.size() - 1) + "\n" + cmd->help);
  int where = (a.connect ? 1 : 0) + ((a.data_dir || a.config_file) ? 1 : 0);
  if (where != 1)
    return usage("say where the store is: --connect HOST:PORT, or --data-dir DIR / --config FILE");
  if (!a.connect && (!a.tls_cert.empty() || !a.tls_key.empty() || !a.tls_ca.empty()))
    return usage("--tls-* options need --connect");
  if (a.token && cmd->name != std::string{"put"} && cmd->name != std::string{"delete"})
    return usage("--token works with put and delete only");
  // The store's own log lines (embedded) go to stderr, warnings and errors only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vstore"));
  spdlog::set_level(spdlog::level::warn);
  session s{a};
  if (cmd->name != std::string{"checkpoint"})
    if (int rc = s.open(is_read_only(cmd->name)); rc != exit_ok) return rc;
  return handler_of(cmd->name)(s, p);
}
