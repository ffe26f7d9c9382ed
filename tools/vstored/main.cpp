// vstored: serves a vstore store over the network.
//
// Opens the store from configuration, spawns its StorageManager and publishes
// the manager's typed handle with CAF's middleman (or over mutual TLS). Prints
// exactly one line "vstored listening on HOST:PORT" to stdout once it accepts
// connections; everything else (spdlog) goes to stderr. SIGINT or SIGTERM
// drains the manager (open batches committed, queued requests answered) and
// exits 0; a second signal aborts at once with exit code 130.
//
// Roles (docs/operations.md, "Who may do what"): the peers of the main
// listener get --role (default admin in plain TCP, write with TLS); optional
// extra listeners (--admin-port, --read-port), each with its own client CA,
// give their peers the admin or read role. A listener without the admin role
// publishes a role guard (role_guard.hpp) instead of the manager; an extra
// listener runs in an actor system of its own (CAF's OpenSSL options are per
// system), and prints "vstored admin listener on HOST:PORT" (or read) before
// the listening line.
//
// With --status-addr, an HTTP status server (status_http.hpp) serves /metrics,
// /health and /ready and prints "vstored status on HOST:PORT" before the
// listening line. Under systemd (Type=notify) vstored sends READY=1 once it
// serves and STOPPING=1 when the drain begins (notify.hpp).
//
// Exit codes: 0 clean shutdown, 1 runtime error (store failed to open, publish
// failed, status address not bound, drain failed), 2 usage or configuration
// error, 130 aborted by a second signal (or a signal during start-up).
//
// The tool parses its own command line with CLI11 (CAF's parser would also
// pick up a caf-application.ini from the working directory), reads the config
// file with vstore::config (the [vstored] section included) and sets CAF's
// options with cfg.set().

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "config/config.hpp"
#include "tools/vstored/notify.hpp"
#include "tools/vstored/role_guard.hpp"
#include "tools/vstored/status_http.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"
#include "vstore/replica.hpp"
#include "vstore/version.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;
constexpr int exit_aborted = 130;

/// The main thread's mailbox message for a termination signal.
using signal_atom = caf::atom_constant<caf::atom("vs_signal")>;

/// The server's own settings from the command line; unset fields take the
/// config file's [vstored] value, then the default.
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
  std::optional<std::string> status_addr;
  std::optional<std::string> status_timeout;
  std::optional<std::string> role;
  std::optional<std::string> admin_port;
  std::optional<std::string> admin_host;
  std::optional<std::string> admin_tls_ca;
  std::optional<std::string> read_port;
  std::optional<std::string> read_host;
  std::optional<std::string> read_tls_ca;
  std::optional<std::string> follow;
};

/// A usage error: message for stderr.
struct usage_error {
  std::string what;
};

constexpr const char* help_footer = R"(
The config file is vstore's INI file (config/vstore.ini): [store],
[space.NAME], [reader], [writer], [limits], [supervisor], [tokens], and
[vstored], whose keys are the long options above without "--" (host, port,
status-addr, role, admin-port, ...). The command line overrides the file.
CAF's own sections ([scheduler], [middleman], ...) are refused: use the
options above.

Status server (--status-addr HOST:PORT, off by default): HTTP GET /metrics
(Prometheus text), /health and /ready. HOST is an IP address and must be
given; 127.0.0.1:9464 (loopback) is the safe choice: the endpoints have no
authentication. With port 0, the line "vstored status on HOST:PORT" on stdout
names the bound port; it precedes "vstored listening on HOST:PORT".

Roles: the peers of a listener may read (get, multi-get, scan, stats,
status, outcome), write (also write and flush) or admin (also drain,
checkpoint). Refused requests are answered "forbidden" (nothing applied).
The main listener's peers get --role: admin by default in plain TCP
(loopback only), write by default with TLS. --admin-port and --read-port add
listeners whose peers get admin or read; with --admin-tls-ca / --read-tls-ca
they use mutual TLS (the server's --tls-cert and --tls-key, and client
certificates of that CA only), else plain TCP (loopback only). Each prints
"vstored admin listener on HOST:PORT" (or read) before the listening line.

Durations: an integer and a unit: ms, s, min, h (e.g. 500ms, 5s).
Exit codes: 0 clean shutdown, 1 runtime error, 2 usage or configuration error,
130 aborted by a second signal.)";

/// Parses argv with CLI11. Returns the exit code when vstored should exit at
/// once (help, version, usage error), else nothing.
std::optional<int> parse_args(int argc, char** argv, server_args& a) {
  CLI::App app{
      "Serves a vstore store over the network (CAF 0.17 middleman). Prints\n"
      "\"vstored listening on HOST:PORT\" on stdout once ready; logs go to stderr.\n"
      "SIGINT/SIGTERM drain and exit 0; a second signal aborts (exit code 130).",
      "vstored"};
  // The last of a repeated option wins (as vstored always did).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("-h,--help", "Print this help and exit.");
  app.footer(help_footer);
  bool version = false;
  app.add_flag("--version", version, "Print \"vstored VERSION\" and exit.");
  auto text = [&app](const char* name, std::optional<std::string>& slot, const char* type,
                     const char* group, const char* help) {
    return app
        .add_option_function<std::string>(
            name, [&slot](const std::string& v) { slot = v; }, help)
        ->type_name(type)
        ->group(group);
  };
  text("--config-file,--config", a.config_file, "FILE", "Store",
       "vstore INI file ([store], [space.NAME], ..., [vstored]; see below). --config is the "
       "older name, still accepted.");
  text("--data-dir", a.data_dir, "DIR", "Store",
       "RocksDB data directory (overrides [store] path).");
  app.add_flag("--memory", a.memory, "Use the memory backend (data is lost at exit).")
      ->group("Store");
  text("--host", a.host, "HOST", "Network",
       "Address to bind. Default: 127.0.0.1. Anything but loopback (127.0.0.0/8, ::1, "
       "localhost) requires TLS.");
  text("--port", a.port, "PORT", "Network", "TCP port; 0 picks a free port. Default: 0.");
  text("--tls-cert", a.tls_cert, "FILE", "Network", "This server's certificate (PEM).");
  text("--tls-key", a.tls_key, "FILE", "Network", "Its private key (PEM, unencrypted).");
  text("--tls-ca", a.tls_ca, "FILE", "Network",
       "CA file (PEM) that client certificates must be signed by. The three TLS options go "
       "together and switch on mutual TLS: clients without a certificate of this CA are "
       "refused. Host names are not checked: use a CA dedicated to vstore.");
  text("--role", a.role, "ROLE", "Roles",
       "What the main listener's peers may do: read, write or admin. Default: admin "
       "without TLS (plain TCP, loopback only), write with TLS.");
  text("--admin-port", a.admin_port, "PORT", "Roles",
       "An extra listener whose peers get the admin role (0 picks a free port). Default: "
       "none.");
  text("--admin-host", a.admin_host, "HOST", "Roles",
       "Address of the admin listener. Default: 127.0.0.1. Anything but loopback requires "
       "--admin-tls-ca.");
  text("--admin-tls-ca", a.admin_tls_ca, "FILE", "Roles",
       "CA file (PEM) of the admin listener's client certificates: mutual TLS with "
       "--tls-cert and --tls-key (required). Default: unset (plain TCP).");
  text("--read-port", a.read_port, "PORT", "Roles",
       "An extra listener whose peers get the read role (0 picks a free port). Default: "
       "none.");
  text("--read-host", a.read_host, "HOST", "Roles",
       "Address of the read listener. Default: 127.0.0.1. Anything but loopback requires "
       "--read-tls-ca.");
  text("--read-tls-ca", a.read_tls_ca, "FILE", "Roles",
       "CA file (PEM) of the read listener's client certificates, as --admin-tls-ca.");
  text("--follow", a.follow, "HOST:PORT", "Replication",
       "Run as a read replica of the vstored at HOST:PORT (docs/replication.md): with an "
       "absent or empty data directory, first copy a snapshot of it; then apply its log and "
       "serve reads; writes are refused (read_only). Connects with this server's TLS "
       "options (--tls-cert, --tls-key, --tls-ca) when they are set. Needs the rocksdb "
       "backend.");
  text("--heartbeat-interval", a.heartbeat_interval, "DUR", "Network",
       "Heartbeats on idle connections (CAF middleman.heartbeat-interval). Default: 500ms; "
       "0 = off.");
  text("--connection-timeout", a.connection_timeout, "DUR", "Network",
       "Drop a connection silent this long (CAF middleman.connection-timeout). Default: 5s; "
       "0 = off. Must exceed the heartbeat interval.");
  text("--status-addr", a.status_addr, "HOST:PORT", "Status",
       "Serve HTTP /metrics, /health and /ready on this address (e.g. 127.0.0.1:9464; IPv6 "
       "as [::1]:9464; port 0 picks a free port). Default: off.");
  text("--status-timeout", a.status_timeout, "DUR", "Status",
       "How long a status request waits for the storage manager before answering 503. "
       "Default: 2s. Range: 10ms..1min.");
  text("--max-threads", a.max_threads, "N", "Runtime",
       "Scheduler threads. Default: number of cores.");
  text("--log-level", a.log_level, "LEVEL", "Runtime",
       "trace, debug, info, warn, error, critical or off. Default: info.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    std::cerr << "vstored: " << e.what() << "\nTry 'vstored --help'.\n";
    return exit_usage;
  }
  if (version) {
    std::cout << "vstored " << vstore::version_string << "\n";
    return exit_ok;
  }
  return std::nullopt;
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

using vstore::config::peer_role;

/// An extra listener (--admin-port, --read-port).
struct extra_listener {
  /// "admin" or "read": the option prefix and the name in messages.
  std::string name;
  peer_role role = peer_role::read;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// The CA of its client certificates; empty = plain TCP.
  std::string tls_ca;
};

struct resolved {
  vstore::options store;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  vstore::remote_options net;
  /// The main listener's role.
  peer_role role = peer_role::admin;
  std::vector<extra_listener> extras;
  milliseconds heartbeat{500};
  milliseconds conn_timeout{5000};
  size_t max_threads = 0;
  spdlog::level::level_enum level = spdlog::level::info;
  /// The status server's address; unset = off.
  std::optional<vstore::config::host_port> status_addr;
  milliseconds status_timeout{2000};
  /// --follow: the primary this server replicates; unset = a primary.
  std::optional<vstore::remote_options> follow;
};

/// Resolves --role and the extra listeners (after the main listener and TLS).
std::optional<usage_error> resolve_roles(const server_args& a,
                                         const vstore::config::server_settings& file, resolved& r) {
  if (a.role) {
    auto role = vstore::config::parse_role(*a.role);
    if (!role) return usage_error{"--role: one of read, write, admin: " + *a.role};
    r.role = *role;
  } else if (file.role) {
    r.role = *file.role;
  } else {
    r.role = r.net.tls() ? peer_role::write : peer_role::admin;
  }
  struct source {
    const char* name;
    peer_role role;
    const std::optional<std::string>& port;
    const std::optional<std::string>& host;
    const std::optional<std::string>& tls_ca;
    const std::optional<uint16_t>& file_port;
    const std::optional<std::string>& file_host;
    const std::optional<std::string>& file_tls_ca;
  };
  const source sources[] = {
      {"admin", peer_role::admin, a.admin_port, a.admin_host, a.admin_tls_ca, file.admin_port,
       file.admin_host, file.admin_tls_ca},
      {"read", peer_role::read, a.read_port, a.read_host, a.read_tls_ca, file.read_port,
       file.read_host, file.read_tls_ca},
  };
  for (const auto& src : sources) {
    std::string opt = std::string{"--"} + src.name;
    auto host = src.host ? src.host : src.file_host;
    auto tls_ca = src.tls_ca ? src.tls_ca : src.file_tls_ca;
    std::optional<uint16_t> port = src.file_port;
    if (src.port) {
      uint64_t p = 0;
      if (!parse_u64(*src.port, 65535, p))
        return usage_error{opt + "-port: not a port number: " + *src.port};
      port = static_cast<uint16_t>(p);
    }
    if (!port) {
      if (host || tls_ca)
        return usage_error{opt + "-host and " + opt + "-tls-ca need " + opt + "-port (the " +
                           src.name + " listener is off without it)"};
      continue;
    }
    extra_listener x;
    x.name = src.name;
    x.role = src.role;
    x.port = *port;
    if (host) x.host = *host;
    if (x.host.empty()) return usage_error{opt + "-host: empty"};
    if (tls_ca) {
      if (tls_ca->empty()) return usage_error{opt + "-tls-ca: empty"};
      if (!r.net.tls())
        return usage_error{opt + "-tls-ca needs --tls-cert and --tls-key (and --tls-ca): the " +
                           src.name + " listener presents the server's certificate"};
      x.tls_ca = *tls_ca;
      vstore::remote_options check = r.net;
      check.tls_ca = x.tls_ca;
      if (auto st = vstore::check_tls_files(check); !st)
        return usage_error{opt + "-tls-ca: " + st.context()};
    } else if (!vstore::config::is_loopback(x.host)) {
      return usage_error{"refusing to bind the " + std::string{src.name} + " listener on " +
                         x.host +
                         " without TLS: only loopback may be served in plain text; "
                         "pass " +
                         opt + "-tls-ca (with --tls-cert and --tls-key)"};
    }
    r.extras.push_back(std::move(x));
  }
  // Each listener needs a port of its own (0 = a free one, never a clash).
  struct used {
    std::string what;
    uint16_t port;
  };
  std::vector<used> ports{{"--port", r.port}};
  if (r.status_addr) ports.push_back({"--status-addr", r.status_addr->port});
  for (const auto& x : r.extras) ports.push_back({"--" + x.name + "-port", x.port});
  for (size_t i = 0; i < ports.size(); ++i)
    for (size_t j = i + 1; j < ports.size(); ++j)
      if (ports[i].port != 0 && ports[i].port == ports[j].port)
        return usage_error{ports[j].what + ": port " + std::to_string(ports[j].port) + " is also " +
                           ports[i].what +
                           "'s: each listener needs a port of "
                           "its own"};
  return std::nullopt;
}

/// Turns the arguments and the file's [vstored] section into settings; usage
/// errors name the option (or the file, key and line).
std::optional<usage_error> resolve(server_args& a, resolved& r) {
  // The command line wins over the file; it is applied before loading too,
  // because load_file() validates the result.
  auto apply_backend = [](const std::optional<std::string>& data_dir, bool memory,
                          vstore::options& o) {
    if (data_dir) {
      o.db.path = *data_dir;
      o.backend = vstore::backend_kind::rocksdb;
    }
    if (memory) o.backend = vstore::backend_kind::memory;
  };
  apply_backend(a.data_dir, a.memory, r.store);
  vstore::config::server_settings file;
  if (a.config_file) {
    if (auto st = vstore::config::load_file(*a.config_file, r.store, file); !st)
      return usage_error{st.context().empty() ? st.to_string() : st.context()};
    apply_backend(file.data_dir, file.memory.value_or(false), r.store);
    apply_backend(a.data_dir, a.memory, r.store);
  }
  if (r.store.backend == vstore::backend_kind::rocksdb && r.store.db.path.empty())
    return usage_error{
        "no store: pass --data-dir DIR, --memory, or --config-file FILE with [store] path"};
  if (auto st = vstore::config::validate(r.store); !st) return usage_error{st.context()};
  if (a.host)
    r.host = *a.host;
  else if (file.host)
    r.host = *file.host;
  if (r.host.empty()) return usage_error{"--host: empty"};
  if (a.port) {
    uint64_t p = 0;
    if (!parse_u64(*a.port, 65535, p)) return usage_error{"--port: not a port number: " + *a.port};
    r.port = static_cast<uint16_t>(p);
  } else if (file.port) {
    r.port = *file.port;
  }
  auto dur = [](const std::optional<std::string>& s, const std::optional<milliseconds>& from_file,
                const char* name, milliseconds& out) -> std::optional<usage_error> {
    if (!s) {
      if (from_file) out = *from_file;
      return std::nullopt;
    }
    if (!vstore::config::parse_duration(*s, out))
      return usage_error{std::string{"--"} + name + ": not a duration (e.g. 500ms, 5s): " + *s};
    return std::nullopt;
  };
  if (auto e =
          dur(a.heartbeat_interval, file.heartbeat_interval, "heartbeat-interval", r.heartbeat))
    return e;
  if (auto e =
          dur(a.connection_timeout, file.connection_timeout, "connection-timeout", r.conn_timeout))
    return e;
  if (r.conn_timeout.count() > 0 && (r.heartbeat.count() == 0 || r.heartbeat >= r.conn_timeout))
    return usage_error{
        "--heartbeat-interval must be on and shorter than --connection-timeout (clients "
        "that stay silent longer than the timeout are dropped)"};
  if (a.max_threads) {
    uint64_t n = 0;
    if (!parse_u64(*a.max_threads, 1024, n) || n == 0)
      return usage_error{"--max-threads: 1..1024 expected: " + *a.max_threads};
    r.max_threads = static_cast<size_t>(n);
  } else if (file.max_threads) {
    r.max_threads = *file.max_threads;
  }
  if (auto level = a.log_level ? a.log_level : file.log_level) {
    r.level = spdlog::level::from_str(*level);
    if (r.level == spdlog::level::off && *level != "off")
      return usage_error{"--log-level: one of trace, debug, info, warn, error, critical, off"};
  }
  if (auto addr = a.status_addr ? a.status_addr : file.status_addr) {
    std::string error;
    r.status_addr = vstore::config::parse_host_port(*addr, &error);
    if (!r.status_addr) return usage_error{"--status-addr: " + error};
  }
  if (auto e = dur(a.status_timeout, file.status_timeout, "status-timeout", r.status_timeout))
    return e;
  if (r.status_timeout < 10ms || r.status_timeout > 1min)
    return usage_error{"--status-timeout: " + vstore::config::format_duration(r.status_timeout) +
                       " is out of range 10ms..1min"};
  auto pick = [](const std::optional<std::string>& cli, const std::optional<std::string>& f) {
    return cli ? cli : f;
  };
  auto tls_cert = pick(a.tls_cert, file.tls_cert);
  auto tls_key = pick(a.tls_key, file.tls_key);
  auto tls_ca = pick(a.tls_ca, file.tls_ca);
  auto set = [](const std::optional<std::string>& s) { return s && !s->empty(); };
  int tls_count = set(tls_cert) + set(tls_key) + set(tls_ca);
  if (tls_count != 0 && tls_count != 3)
    return usage_error{"--tls-cert, --tls-key and --tls-ca go together (mutual TLS)"};
  if (tls_count == 3) {
    r.net.tls_cert = *tls_cert;
    r.net.tls_key = *tls_key;
    r.net.tls_ca = *tls_ca;
    if (auto st = vstore::check_tls_files(r.net); !st) return usage_error{st.context()};
  }
  if (!r.net.tls() && !vstore::config::is_loopback(r.host))
    return usage_error{"refusing to bind " + r.host +
                       " without TLS: only loopback (127.0.0.0/8, ::1, localhost) may be served "
                       "in plain text; pass --tls-cert, --tls-key and --tls-ca"};
  if (a.follow) {
    std::string error;
    auto hp = vstore::config::parse_host_port(*a.follow, &error);
    if (!hp || hp->port == 0) return usage_error{"--follow: HOST:PORT expected: " + *a.follow};
    if (r.store.backend != vstore::backend_kind::rocksdb)
      return usage_error{"--follow needs the rocksdb backend (--data-dir), not --memory"};
    vstore::remote_options f = r.net;
    f.host = hp->host;
    f.port = hp->port;
    if (r.conn_timeout.count() > 0) f.connect_timeout = r.conn_timeout;
    if (r.heartbeat.count() > 0) f.heartbeat_interval = r.heartbeat;
    if (auto st = vstore::validate(f); !st) return usage_error{"--follow: " + st.context()};
    r.follow = f;
  }
  return resolve_roles(a, file, r);
}

std::string endpoint(const std::string& host, uint16_t port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

/// An extra listener's own actor system (CAF's OpenSSL options belong to a
/// whole system) and the guard it publishes.
struct listener_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  vstore::manager_actor guard;
  uint16_t port = 0;
};

/// How long a guard waits for the manager (longer than the manager's own bounds).
vstore::server::guard_timeouts guard_timeouts_for(const vstore::options& o) {
  vstore::server::guard_timeouts t;
  t.request = caf::timespan{o.supervisor.internal_timeout + 10s};
  t.drain = caf::timespan{o.supervisor.shutdown_grace + 10s};
  return t;
}

/// Starts the extra listener `x` in an actor system of its own: a guard
/// spawned there forwards to `mgr`. Returns nothing (after logging) when the
/// port cannot be published.
std::unique_ptr<listener_system> start_listener(const resolved& r, const extra_listener& x,
                                                const vstore::manager_actor& mgr) {
  auto l = std::make_unique<listener_system>();
  vstore::configure_actor_system(l->cfg, vstore::scheduler_polling::caf_default);
  vstore::remote_options net;
  if (!x.tls_ca.empty()) {
    net.tls_cert = r.net.tls_cert;
    net.tls_key = r.net.tls_key;
    net.tls_ca = x.tls_ca;
  }
  vstore::configure_network(l->cfg, net);
  l->cfg.set("middleman.heartbeat-interval", caf::timespan{r.heartbeat});
  l->cfg.set("middleman.connection-timeout", caf::timespan{r.conn_timeout});
  // The guard only relays: two threads are plenty.
  l->cfg.set("scheduler.max-threads", size_t{2});
  l->sys = std::make_unique<caf::actor_system>(l->cfg);
  l->guard = vstore::server::spawn_role_guard(*l->sys, mgr, x.role, x.name + " listener",
                                              guard_timeouts_for(r.store));
  auto port = net.tls() ? caf::openssl::publish(l->guard, x.port, x.host.c_str(), true)
                        : l->sys->middleman().publish(l->guard, x.port, x.host.c_str(), true);
  if (!port) {
    spdlog::error("vstored: cannot listen on {} (the {} listener): {}", endpoint(x.host, x.port),
                  x.name, l->sys->render(port.error()));
    caf::anon_send_exit(l->guard, caf::exit_reason::kill);
    return nullptr;
  }
  l->port = *port;
  spdlog::info("vstored: {} listener on {}: role {}, {}", x.name, endpoint(x.host, *port),
               vstore::config::to_name(x.role),
               net.tls() ? "mutual TLS, client CA " + x.tls_ca : std::string{"plain TCP"});
  return l;
}

/// Runs the server until a signal or the manager's end; returns the exit code.
int serve(const resolved& r) {
  caf::actor_system_config cfg;
  // CAF's own polling: eager polling made vstored's remote rows ~40% slower
  // on a 2-core machine shared with its clients (scheduler_polling).
  vstore::configure_actor_system(cfg, vstore::scheduler_polling::caf_default);
  vstore::configure_network(cfg, r.net);
  cfg.set("middleman.heartbeat-interval", caf::timespan{r.heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{r.conn_timeout});
  if (r.max_threads > 0) cfg.set("scheduler.max-threads", r.max_threads);
  caf::actor_system sys{cfg};
  // Declared after `sys`, so it stops (joining its threads, which use `sys`)
  // before the actor system goes away.
  std::optional<vstore::server::status_server> status;
  if (r.status_addr) {
    vstore::server::status_settings ss;
    ss.host = r.status_addr->host;
    ss.port = r.status_addr->port;
    ss.timeout = r.status_timeout;
    ss.version = vstore::version_string;
    status.emplace(sys, ss);
    std::string error;
    if (!status->start(error)) {
      spdlog::error("vstored: cannot serve the status endpoints on {}: {}",
                    endpoint(ss.host, ss.port), error);
      return exit_runtime;
    }
    if (!vstore::config::is_loopback(ss.host))
      spdlog::warn(
          "vstored: the status endpoints on {} are reachable from the network and have "
          "no authentication",
          endpoint(ss.host, status->port()));
    spdlog::info("vstored: status endpoints (/metrics, /health, /ready) on http://{}",
                 endpoint(ss.host, status->port()));
    std::cout << "vstored status on " << endpoint(ss.host, status->port()) << std::endl;
  }
  vstore::manager_actor mgr;
  spdlog::info("vstored: opening the {} store{}", vstore::config::to_name(r.store.backend),
               r.store.backend == vstore::backend_kind::rocksdb ? " at " + r.store.db.path : "");
  if (r.follow) {
    auto primary = endpoint(r.follow->host, r.follow->port);
    if (vstore::needs_bootstrap(r.store)) {
      spdlog::info("vstored: {} is empty: copying a snapshot of {}", r.store.db.path, primary);
      auto st = vstore::bootstrap_replica(sys, r.store, *r.follow, [](const std::string& line) {
        spdlog::info("vstored: {}", line);
      });
      if (!st) {
        spdlog::error("vstored: cannot bootstrap from {}: {}", primary, st.to_string());
        return exit_runtime;
      }
    }
    if (auto st = vstore::spawn_replica(sys, r.store, *r.follow, r.store.db.path, mgr); !st) {
      spdlog::error("vstored: cannot open the replica's store: {}", st.to_string());
      return exit_runtime;
    }
    spdlog::info("vstored: read replica of {}", primary);
  } else if (auto st = vstore::spawn_manager(sys, r.store, mgr); !st) {
    spdlog::error("vstored: cannot open the store: {}", st.to_string());
    return exit_runtime;
  }
  // The main listener publishes the manager itself for the admin role, else
  // a guard with its role.
  auto published = r.role == peer_role::admin
                       ? mgr
                       : vstore::server::spawn_role_guard(sys, mgr, r.role, "main listener",
                                                          guard_timeouts_for(r.store));
  auto port = r.net.tls() ? caf::openssl::publish(published, r.port, r.host.c_str(), true)
                          : sys.middleman().publish(published, r.port, r.host.c_str(), true);
  if (!port) {
    spdlog::error("vstored: cannot listen on {}: {}", endpoint(r.host, r.port),
                  sys.render(port.error()));
    caf::anon_send_exit(mgr, caf::exit_reason::kill);
    return exit_runtime;
  }
  // Declared after `sys`: destroyed first (each waits for its guard, which
  // quits when the manager goes down).
  std::vector<std::unique_ptr<listener_system>> extras;
  for (const auto& x : r.extras) {
    auto l = start_listener(r, x, mgr);
    if (!l) {
      caf::anon_send_exit(mgr, caf::exit_reason::kill);
      return exit_runtime;
    }
    extras.push_back(std::move(l));
  }
  caf::scoped_actor self{sys};
  self->monitor(mgr);
  {
    auto& rt = router();
    std::lock_guard<std::mutex> guard{rt.mtx};
    if (rt.count > 0) std::_Exit(exit_aborted);  // signalled during start-up
    rt.target = caf::actor_cast<caf::actor>(self);
  }
  spdlog::info("vstored: {} on {}, role {}, heartbeat {} ms, connection timeout {} ms",
               r.net.tls() ? "mutual TLS" : "plain TCP", endpoint(r.host, *port),
               vstore::config::to_name(r.role), r.heartbeat.count(), r.conn_timeout.count());
  if (status) status->set_manager(mgr);
  for (size_t i = 0; i < extras.size(); ++i)
    std::cout << "vstored " << r.extras[i].name << " listener on "
              << endpoint(r.extras[i].host, extras[i]->port) << std::endl;
  std::cout << "vstored listening on " << endpoint(r.host, *port) << std::endl;
  vstore::server::notify_ready("serving on " + endpoint(r.host, *port));
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
          // /ready answers 503 from here on, before the drain starts.
          if (status) status->set_phase(vstore::server::phase::draining);
          vstore::server::notify_stopping("draining");
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
          if (status) status->set_phase(vstore::server::phase::stopped);
          vstore::server::notify_stopping("the manager stopped");
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
  if (status) status->stop();
  spdlog::info("vstored: stopped");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  server_args args;
  if (auto code = parse_args(argc, argv, args)) return *code;
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
  // The store's own logger ("vstore") follows the server's level (both
  // enumerations list spdlog's levels in the same order).
  static_assert(static_cast<int>(vstore::log_level::warn) == spdlog::level::warn &&
                static_cast<int>(vstore::log_level::off) == spdlog::level::off);
  r.store.logging = static_cast<vstore::log_level>(static_cast<int>(r.level));
  // Block the termination signals in every thread (CAF's and the status
  // server's included) and take them on one thread with sigwait.
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
