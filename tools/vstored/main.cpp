// vstored: serves a vstore store over the network.
//
// Opens the store from configuration, spawns its StorageManager and publishes
// the manager's typed handle with CAF's middleman (or over mutual TLS). Prints
// exactly one line "vstored listening on HOST:PORT" to stdout once it accepts
// connections; everything else (spdlog) goes to stderr. SIGINT or SIGTERM
// drains the manager (open batches committed, queued requests answered) and
// exits 0; a second signal aborts at once with exit code 130.
//
// Exit codes: 0 clean shutdown, 1 runtime error (store failed to open, publish
// failed, drain failed), 2 usage or configuration error, 130 aborted by a
// second signal (or a signal during start-up).
//
// The tool parses its own command line (CAF's parser would also pick up a
// caf-application.ini from the working directory) and sets CAF's options with
// cfg.set().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "config/config.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;
constexpr int exit_aborted = 130;

/// The main thread's mailbox message for a termination signal.
using signal_atom = caf::atom_constant<caf::atom("vs_signal")>;

constexpr const char* help_text = R"(Usage: vstored [OPTIONS]

Serves a vstore store over the network (CAF 0.17 middleman). Prints
"vstored listening on HOST:PORT" on stdout once ready; logs go to stderr.
SIGINT/SIGTERM drain and exit 0; a second signal aborts (exit code 130).

Store:
  --config FILE               vstore INI file: [store], [space.NAME], [reader],
                              [writer], [limits], [supervisor], and [vstored]
                              whose keys are the long options below without
                              "--" (host, port, tls-cert, ...). The command
                              line overrides the file.
  --data-dir DIR              RocksDB data directory (overrides [store] path).
  --memory                    Use the memory backend (data is lost at exit).

Network:
  --host HOST                 Address to bind. Default: 127.0.0.1. Anything but
                              loopback (127.0.0.0/8, ::1, localhost) requires TLS.
  --port PORT                 TCP port; 0 picks a free port. Default: 0.
  --tls-cert FILE             This server's certificate (PEM).
  --tls-key FILE              Its private key (PEM, unencrypted).
  --tls-ca FILE               CA file (PEM) that client certificates must be
                              signed by. The three TLS options go together and
                              switch on mutual TLS: clients without a
                              certificate of this CA are refused. Host names are
                              not checked: use a CA dedicated to vstore.
  --heartbeat-interval DUR    Heartbeats on idle connections (CAF
                              middleman.heartbeat-interval). Default: 500ms;
                              0 = off.
  --connection-timeout DUR    Drop a connection silent this long (CAF
                              middleman.connection-timeout). Default: 5s;
                              0 = off. Must exceed the heartbeat interval.

Runtime:
  --max-threads N             Scheduler threads. Default: number of cores.
  --log-level LEVEL           trace, debug, info, warn, error, critical or off.
                              Default: info.
  --help                      Print this help and exit.

Durations: an integer and a unit: ms, s, min, h (e.g. 500ms, 5s).
Exit codes: 0 clean shutdown, 1 runtime error, 2 usage or configuration error,
130 aborted by a second signal.
)";

/// The server's own settings; unset fields take the file's value, then the
/// default.
struct server_args {
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;
  bool memory = false;
  std::optional<std::string> host;
  std::optional<std::string> port;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> tls_ca;
  std::optional<std::string> heartbeat_interval;
  std::optional<std::string> connection_timeout;
  std::optional<std::string> max_threads;
  std::optional<std::string> log_level;
  bool help = false;
};

/// A usage error: message for stderr.
struct usage_error {
  std::string what;
};

std::optional<std::string>* value_slot(server_args& a, const std::string& name) {
  if (name == "config") return &a.config_file;
  if (name == "data-dir") return &a.data_dir;
  if (name == "host") return &a.host;
  if (name == "port") return &a.port;
  if (name == "tls-cert") return &a.tls_cert;
  if (name == "tls-key") return &a.tls_key;
  if (name == "tls-ca") return &a.tls_ca;
  if (name == "heartbeat-interval") return &a.heartbeat_interval;
  if (name == "connection-timeout") return &a.connection_timeout;
  if (name == "max-threads") return &a.max_threads;
  if (name == "log-level") return &a.log_level;
  return nullptr;
}

/// Parses argv: --name VALUE or --name=VALUE; flags --memory and --help.
std::optional<usage_error> parse_args(int argc, char** argv, server_args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      a.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return usage_error{"unexpected argument '" + arg + "'"};
    auto name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "memory") {
      if (inline_value) return usage_error{"--memory takes no value"};
      a.memory = true;
      continue;
    }
    auto slot = value_slot(a, name);
    if (!slot) return usage_error{"unknown option '--" + name + "'"};
    if (inline_value) {
      *slot = *inline_value;
    } else {
      if (i + 1 >= argc) return usage_error{"option '--" + name + "' needs a value"};
      *slot = argv[++i];
    }
  }
  return std::nullopt;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// Reads the [vstored] section of an INI file (the rest was already checked
/// by config::load_file): key = value, values quoted ("...") or bare, ';'
/// comments. Fills the fields of `a` the command line left unset.
std::optional<usage_error> read_server_section(const std::string& path, server_args& a) {
  std::ifstream in{path};
  if (!in) return usage_error{path + ": cannot read"};
  std::string line;
  bool inside = false;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto t = trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#') continue;
    if (t[0] == '[') {
      auto close = t.find(']');
      inside = close != std::string::npos && trim(t.substr(1, close - 1)) == "vstored";
      continue;
    }
    if (!inside) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos)
      return usage_error{path + ":" + std::to_string(lineno) + ": expected key = value"};
    auto key = trim(t.substr(0, eq));
    auto rest = trim(t.substr(eq + 1));
    std::string value;
    if (!rest.empty() && rest[0] == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      if (i >= rest.size())
        return usage_error{path + ":" + std::to_string(lineno) + ": unterminated string"};
    } else {
      value = trim(rest.substr(0, rest.find(';')));
    }
    if (key == "memory") {
      if (value != "true" && value != "false")
        return usage_error{path + ":" + std::to_string(lineno) + ": vstored.memory: true or false"};
      if (value == "true") a.memory = true;
      continue;
    }
    auto slot = key == "config" ? nullptr : value_slot(a, key);
    if (!slot)
      return usage_error{path + ":" + std::to_string(lineno) + ": unknown key vstored." + key};
    if (!*slot) *slot = value;
  }
  return std::nullopt;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

bool parse_u64(const std::string& s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

/// Where the signal thread sends termination signals once the server runs.
struct signal_router {
  std::mutex mtx;
  caf::actor target;
  int count = 0;
};

signal_router& router() {
  static auto* r = new signal_router;  // leaked: the signal thread outlives main
  return *r;
}

/// Waits for SIGINT/SIGTERM (blocked in every thread) and routes them: the
/// first to the main thread (or, during start-up, exit), the second aborts.
void signal_loop(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    auto& r = router();
    std::unique_lock<std::mutex> guard{r.mtx};
    ++r.count;
    if (r.count == 1 && r.target) {
      caf::anon_send(r.target, signal_atom::value, sig);
      continue;
    }
    static constexpr char msg[] = "vstored: aborting at once (second signal or during start-up)\n";
    auto ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    static_cast<void>(ignored);
    std::_Exit(exit_aborted);
  }
}

struct resolved {
  vstore::options store;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  vstore::remote_options net;
  milliseconds heartbeat{500};
  milliseconds conn_timeout{5000};
  size_t max_threads = 0;
  spdlog::level::level_enum level = spdlog::level::info;
};

/// Turns the arguments into settings; usage errors name the option.
std::optional<usage_error> resolve(server_args& a, resolved& r) {
  // The command line wins over the file; it is applied before loading too,
  // because load_file() validates the result.
  auto apply_cli = [&a](vstore::options& o) {
    if (a.data_dir) {
      o.db.path = *a.data_dir;
      o.backend = vstore::backend_kind::rocksdb;
    }
    if (a.memory) o.backend = vstore::backend_kind::memory;
  };
  apply_cli(r.store);
  if (a.config_file) {
    if (auto st = vstore::config::load_file(*a.config_file, r.store); !st)
      return usage_error{st.context().empty() ? st.to_string() : st.context()};
    if (auto err = read_server_section(*a.config_file, a)) return err;
  }
  apply_cli(r.store);
  if (r.store.backend == vstore::backend_kind::rocksdb && r.store.db.path.empty())
    return usage_error{
        "no store: pass --data-dir DIR, --memory, or --config FILE with [store] path"};
  if (auto st = vstore::config::validate(r.store); !st) return usage_error{st.context()};
  if (a.host) r.host = *a.host;
  if (r.host.empty()) return usage_error{"--host: empty"};
  if (a.port) {
    uint64_t p = 0;
    if (!parse_u64(*a.port, 65535, p)) return usage_error{"--port: not a port number: " + *a.port};
    r.port = static_cast<uint16_t>(p);
  }
  auto dur = [](const std::optional<std::string>& s, const char* name,
                milliseconds& out) -> std::optional<usage_error> {
    if (!s) return std::nullopt;
    if (!vstore::config::parse_duration(*s, out))
      return usage_error{std::string{"--"} + name + ": not a duration (e.g. 500ms, 5s): " + *s};
    return std::nullopt;
  };
  if (auto e = dur(a.heartbeat_interval, "heartbeat-interval", r.heartbeat)) return e;
  if (auto e = dur(a.connection_timeout, "connection-timeout", r.conn_timeout)) return e;
  if (r.conn_timeout.count() > 0 && (r.heartbeat.count() == 0 || r.heartbeat >= r.conn_timeout))
    return usage_error{
        "--heartbeat-interval must be on and shorter than --connection-timeout (clients "
        "that stay silent longer than the timeout are dropped)"};
  if (a.max_threads) {
    uint64_t n = 0;
    if (!parse_u64(*a.max_threads, 1024, n) || n == 0)
      return usage_error{"--max-threads: 1..1024 expected: " + *a.max_threads};
    r.max_threads = static_cast<size_t>(n);
  }
  if (a.log_level) {
    r.level = spdlog::level::from_str(*a.log_level);
    if (r.level == spdlog::level::off && *a.log_level != "off")
      return usage_error{"--log-level: one of trace, debug, info, warn, error, critical, off"};
  }
  auto set = [](const std::optional<std::string>& s) { return s && !s->empty(); };
  int tls_count = set(a.tls_cert) + set(a.tls_key) + set(a.tls_ca);
  if (tls_count != 0 && tls_count != 3)
    return usage_error{"--tls-cert, --tls-key and --tls-ca go together (mutual TLS)"};
  if (tls_count == 3) {
    r.net.tls_cert = *a.tls_cert;
    r.net.tls_key = *a.tls_key;
    r.net.tls_ca = *a.tls_ca;
    if (auto st = vstore::check_tls_files(r.net); !st) return usage_error{st.context()};
  }
  if (!r.net.tls() && !is_loopback(r.host))
    return usage_error{"refusing to bind " + r.host +
                       " without TLS: only loopback (127.0.0.0/8, ::1, localhost) may be served "
                       "in plain text; pass --tls-cert, --tls-key and --tls-ca"};
  return std::nullopt;
}

std::string endpoint(const std::string& host, uint16_t port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

/// Runs the server until a signal or the manager's end; returns the exit code.
int serve(const resolved& r) {
  caf::actor_system_config cfg;
  vstore::configure_actor_system(cfg);
  vstore::configure_network(cfg, r.net);
  cfg.set("middleman.heartbeat-interval", caf::timespan{r.heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{r.conn_timeout});
  if (r.max_threads > 0) cfg.set("scheduler.max-threads", r.max_threads);
  caf::actor_system sys{cfg};
  vstore::manager_actor mgr;
  spdlog::info("vstored: opening the {} store{}", vstore::config::to_name(r.store.backend),
               r.store.backend == vstore::backend_kind::rocksdb ? " at " + r.store.db.path : "");
  if (auto st = vstore::spawn_manager(sys, r.store, mgr); !st) {
    spdlog::error("vstored: cannot open the store: {}", st.to_string());
    return exit_runtime;
  }
  auto port = r.net.tls() ? caf::openssl::publish(mgr, r.port, r.host.c_str(), true)
                          : sys.middleman().publish(mgr, r.port, r.host.c_str(), true);
  if (!port) {
    spdlog::error("vstored: cannot listen on {}: {}", endpoint(r.host, r.port),
                  sys.render(port.error()));
    caf::anon_send_exit(mgr, caf::exit_reason::kill);
    return exit_runtime;
  }
  caf::scoped_actor self{sys};
  self->monitor(mgr);
  {
    auto& rt = router();
    std::lock_guard<std::mutex> guard{rt.mtx};
    if (rt.count > 0) std::_Exit(exit_aborted);  // signalled during start-up
    rt.target = caf::actor_cast<caf::actor>(self);
  }
  spdlog::info("vstored: {} on {}, heartbeat {} ms, connection timeout {} ms",
               r.net.tls() ? "mutual TLS" : "plain TCP", endpoint(r.host, *port),
               r.heartbeat.count(), r.conn_timeout.count());
  std::cout << "vstored listening on " << endpoint(r.host, *port) << std::endl;
  // Nothing else goes to stdout: CAF itself prints some diagnostics to
  // std::cout, among them "*** unexpected message" for every message outside
  // the manager's interface (or of a type this node does not know) that any
  // peer sends; they join the log on stderr instead (tests/reliability:
  // VstoredStdout).
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  int code = exit_ok;
  bool done = false;
  while (!done) {
    self->receive(
        [&](signal_atom, int sig) {
          done = true;
          spdlog::info("vstored: {} received, draining (a second signal aborts)",
                       sig == SIGINT ? "SIGINT" : "SIGTERM");
          auto wait = r.store.supervisor.shutdown_grace + 5s;
          self->request(mgr, wait, vstore::drain_request{})
              .receive(
                  [&](vstore::drain_reply& d) {
                    spdlog::info("vstored: drained: {} requests answered, {} cut off", d.answered,
                                 d.cut_off);
                  },
                  [&](caf::error& e) {
                    spdlog::error("vstored: drain failed: {}", sys.render(e));
                    caf::anon_send_exit(mgr, caf::exit_reason::kill);
                    code = exit_runtime;
                  });
        },
        [&](caf::down_msg& dm) {
          if (dm.source != mgr.address()) return;
          done = true;
          if (dm.reason == caf::exit_reason::user_shutdown || !dm.reason) {
            spdlog::info("vstored: the manager was drained by a client; exiting");
          } else {
            spdlog::error("vstored: the manager stopped: {}", sys.render(dm.reason));
            code = exit_runtime;
          }
        });
  }
  {
    auto& rt = router();
    std::lock_guard<std::mutex> guard{rt.mtx};
    rt.target = caf::actor{};
  }
  spdlog::info("vstored: stopped");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  server_args args;
  if (auto err = parse_args(argc, argv, args)) {
    std::cerr << "vstored: " << err->what << "\nTry 'vstored --help'.\n";
    return exit_usage;
  }
  if (args.help) {
    std::cout << help_text;
    return exit_ok;
  }
  resolved r;
  if (auto err = resolve(args, r)) {
    std::cerr << "vstored: " << err->what << "\n";
    return exit_usage;
  }
  // A write to a closed stdout or stderr pipe (e.g. after `vstored | head -1`)
  // must not kill the server: ignore SIGPIPE (CAF's sockets use MSG_NOSIGNAL
  // anyway), so such writes fail with EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  auto logger = spdlog::stderr_color_mt("vstored");
  spdlog::set_default_logger(logger);
  spdlog::set_level(r.level);
  // Block the termination signals in every thread (CAF's included) and take
  // them on one thread with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread{signal_loop, set}.detach();
  int code = serve(r);
  spdlog::default_logger()->flush();
  return code;
}
