// The store a CLI command runs against: connecting to a vstored, or opening
// the store in this process (read-only for reading commands), and refusing a
// data directory another process holds with a message that says so.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "config/config.hpp"
#include "tools/vstore/commands.hpp"
#include "tools/vstore/format.hpp"

namespace vstore::cli {

namespace {

using std::chrono::milliseconds;

bool parse_port(const std::string& s, uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

/// Returns the pid of the process holding RocksDB's LOCK file in `dir` (a
/// POSIX record lock, which RocksDB takes for as long as the store is open
/// read-write), -1 if it is held by a process of unknown pid, 0 if nobody
/// holds it. F_GETLK takes no lock. Call it only while this process holds no
/// lock on the file: closing the descriptor would release it.
pid_t lock_holder(const std::string& dir) {
  auto path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  int rc = ::fcntl(fd, F_GETLK, &fl);
  ::close(fd);
  if (rc != 0 || fl.l_type == F_UNLCK) return 0;
  return fl.l_pid > 0 ? fl.l_pid : -1;
}

int in_use(const std::string& dir, pid_t pid) {
  std::cerr << "vstore: the data directory " << dir << " is in use by another process (vstored?"
            << (pid > 0 ? ", pid " + std::to_string(pid) : std::string{})
            << "); use --connect HOST:PORT or stop it\n";
  return exit_store;
}

}  // namespace

int fail(const status& st) {
  std::cerr << "vstore: error: " << st.to_string() << "\n";
  return exit_store;
}

int usage(const std::string& what) {
  std::cerr << "vstore: " << what << "\nTry 'vstore --help'.\n";
  return exit_usage;
}

int session::check_not_in_use(const std::string& dir) {
  auto pid = lock_holder(dir);
  return pid == 0 ? exit_ok : in_use(dir, pid);
}

int session::fail_open(const status& st, const std::string& dir) {
  if (auto pid = lock_holder(dir); pid != 0) return in_use(dir, pid);
  // The holder may have gone since; RocksDB's own error says "lock file".
  if (st.code() == errc::io_error && st.context().find("lock file") != std::string::npos)
    return in_use(dir, 0);
  return fail(st);
}

int session::open(access mode) {
  client::settings cs;
  cs.max_threads = 2;
  if (!g_.timeout.empty() && !config::parse_duration(g_.timeout, cs.timeout))
    return usage("--timeout: not a duration: " + g_.timeout);
  if (remote()) {
    const std::string from = g_.connect_from_env ? " (from VSTORE_CONNECT)" : "";
    remote_options r;
    const auto& ep = g_.connect;
    auto colon = ep.rfind(':');
    if (colon == std::string::npos || !parse_port(ep.substr(colon + 1), r.port))
      return usage("--connect: expected HOST:PORT, got '" + ep + "'" + from);
    r.host = ep.substr(0, colon);
    if (r.host.size() >= 2 && r.host.front() == '[' && r.host.back() == ']')
      r.host = r.host.substr(1, r.host.size() - 2);
    r.tls_cert = g_.tls_cert;
    r.tls_key = g_.tls_key;
    r.tls_ca = g_.tls_ca;
    if (g_.connect_timeout.empty())
      r.connect_timeout = std::min(r.connect_timeout, cs.timeout);
    else if (!config::parse_duration(g_.connect_timeout, r.connect_timeout))
      return usage("--connect-timeout: not a duration: " + g_.connect_timeout);
    if (r.heartbeat_interval >= r.connect_timeout) r.heartbeat_interval = r.connect_timeout / 4;
    if (r.tls() && (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty()))
      return usage("--tls-cert, --tls-key and --tls-ca go together (mutual TLS)");
    if (auto st = client::connect(r, client_, cs); !st) {
      std::cerr << "vstore: cannot connect to " << ep << from << ": " << st.to_string() << "\n";
      return exit_store;
    }
    status_reply info;
    if (auto st = client_->info(info); !st) return fail(st);
    for (size_t i = 0; i < info.spaces.size(); ++i)
      spaces_[info.spaces[i]] = static_cast<space_id>(i);
    return exit_ok;
  }
  options o;
  if (auto st = embedded_options(mode, o); !st) return fail(st);
  // Read-only, RocksDB would not notice the holder (it takes no lock), and
  // would read a store that changes under it.
  if (o.backend == backend_kind::rocksdb)
    if (int rc = check_not_in_use(o.db.path); rc != exit_ok) return rc;
  for (size_t i = 0; i < o.schema.spaces.size(); ++i)
    spaces_[o.schema.spaces[i].name] = static_cast<space_id>(i);
  if (auto st = client::open_embedded(o, client_, cs); !st) return fail_open(st, o.db.path);
  return exit_ok;
}

status session::embedded_options(access mode, options& o) const {
  // --data-dir wins over the file; it is applied before loading too,
  // because load_file() validates the result.
  auto apply_cli = [this](options& x) {
    if (!g_.data_dir.empty()) {
      x.backend = backend_kind::rocksdb;
      x.db.path = g_.data_dir;
    }
  };
  apply_cli(o);
  if (!g_.config_file.empty())
    if (auto st = config::load_file(g_.config_file, o); !st) return st;
  apply_cli(o);
  if (mode == access::read_only) {
    o.db.create_if_missing = false;
    o.db.read_only = true;
  }
  // A CLI command is short: keep shutdown quick.
  o.supervisor.shutdown_grace = std::min(o.supervisor.shutdown_grace, milliseconds(5000));
  return config::validate(o);
}

std::optional<std::string> session::decode_arg(std::string_view arg) const {
  if (!g_.hex) return std::string{arg};
  return from_hex(arg);
}

std::optional<std::string> session::decode_line(std::string_view text) const {
  return g_.hex ? from_hex(text) : unescape(text);
}

std::string session::render(std::string_view bytes) const {
  return g_.hex ? to_hex(bytes) : escape(bytes);
}

std::optional<space_id> session::space(const std::string& name) const {
  if (auto i = spaces_.find(name); i != spaces_.end()) return i->second;
  std::string known;
  for (const auto& kv : spaces_) known += (known.empty() ? "" : ", ") + kv.first;
  std::cerr << "vstore: unknown state space '" << name << "' (known: " << known << ")\n";
  return std::nullopt;
}

}  // namespace vstore::cli
