// vstored's HTTP status server (--status-addr): /metrics, /health and /ready
// read with curl from a real vstored on 127.0.0.1, its command line (CLI11:
// --version, --config-file and its older name --config, a bad --status-addr),
// the [vstored] section of its config file, and the shipped systemd unit
// (systemd-analyze verify). Every wait is bounded in count and time.

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/net/subprocess.hpp"
#include "vstore/client.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using test::local;
using test::run;
using test::subprocess;
using test::temp_dir;
using test::vstored_process;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string curl_bin = "/usr/bin/curl";
const std::string version = VSTORE_VERSION;

/// One HTTP answer as curl saw it; code 0 means no connection.
struct http_reply {
  int code = 0;
  std::string content_type;
  std::string body;
};

/// GETs http://127.0.0.1:`port``path` with curl (5 s at most).
http_reply http_get(uint16_t port, const std::string& path) {
  auto r =
      run({curl_bin, "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code} %{content_type}",
           "http://127.0.0.1:" + std::to_string(port) + path},
          std::nullopt, 10s);
  http_reply out;
  auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return out;
  out.body = r.out.substr(0, nl);
  std::istringstream tail{r.out.substr(nl + 1)};
  tail >> out.code;
  std::getline(tail >> std::ws, out.content_type);
  return out;
}

/// A vstored with a status server on a free port of 127.0.0.1.
class status_vstored {
 public:
  explicit status_vstored(std::vector<std::string> args = {"--memory"},
                          std::chrono::milliseconds timeout = 20s) {
    args.push_back("--status-addr");
    args.push_back("127.0.0.1:0");
    server_ = std::make_unique<vstored_process>(vstored_bin, args, timeout);
    if (auto line = server_->proc().wait_for_line("vstored status on 127.0.0.1:", 1s)) {
      status_port_ = static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
    }
  }

  vstored_process& server() { return *server_; }
  uint16_t status_port() const { return status_port_; }

 private:
  std::unique_ptr<vstored_process> server_;
  uint16_t status_port_ = 0;
};

/// Returns the value of the sample `series` (name and labels exactly as
/// printed) in the exposition `text`, or -1 if it is absent.
long long sample(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, series.size() + 1, series + " ") == 0)
      return std::stoll(line.substr(series.size() + 1));
  return -1;
}

/// Checks the exposition format: every sample belongs to a family declared
/// before it with one # HELP and one # TYPE line; counters end in _total.
void expect_well_formed(const std::string& text) {
  std::map<std::string, std::string> types;
  std::set<std::string> helps;
  std::istringstream in{text};
  std::string line;
  size_t samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty()) << "empty line in the exposition";
    if (line.rfind("# HELP ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(helps.insert(name).second) << "second HELP for " << name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l{line.substr(7)};
      std::string name, type;
      l >> name >> type;
      EXPECT_TRUE(types.emplace(name, type).second) << "second TYPE for " << name;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      if (type == "counter") {
        EXPECT_EQ(name.size() > 6 ? name.substr(name.size() - 6) : "", "_total") << name;
      }
      EXPECT_TRUE(helps.count(name)) << "TYPE before HELP: " << name;
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    auto name = line.substr(0, line.find_first_of("{ "));
    auto family = name;
    for (std::string suffix : {"_bucket", "_count", "_sum"}) {
      auto base = name.size() > suffix.size() ? name.substr(0, name.size() - suffix.size()) : "";
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          types.count(base) && types[base] == "histogram")
        family = base;
    }
    EXPECT_TRUE(types.count(family)) << "sample without # TYPE: " << line;
    ++samples;
  }
  EXPECT_GT(samples, 50u);
}

bool have_curl() { return ::access(curl_bin.c_str(), X_OK) == 0; }

TEST(StatusHttp, MetricsHealthAndReadyAnswer) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  status_vstored v;
  ASSERT_NE(v.server().port(), 0) << v.server().proc().stderr_text();
  ASSERT_NE(v.status_port(), 0) << v.server().proc().stdout_text();

  auto m = http_get(v.status_port(), "/metrics");
  ASSERT_EQ(m.code, 200) << m.body;
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  expect_well_formed(m.body);
  EXPECT_EQ(sample(m.body, "vstore_up"), 1);
  EXPECT_EQ(sample(m.body, "vstore_space_up{space=\"data\"}"), 1);
  EXPECT_EQ(sample(m.body, "vstore_build_info{version=\"" + version + "\"}"), 1);
  EXPECT_EQ(sample(m.body, "vstore_health{state=\"ok\"}"), 1);
  EXPECT_EQ(sample(m.body, "vstore_health{state=\"degraded\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_writes_total{space=\"data\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_writes_in_flight"), 0);
  EXPECT_EQ(sample(m.body, "vstore_oldest_write_milliseconds"), 0);
  EXPECT_EQ(sample(m.body, "vstore_errors_total{space=\"data\",code=\"overloaded\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_flushes_total{space=\"data\",reason=\"size\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_draining"), 0);
  EXPECT_GE(sample(m.body, "vstore_write_latency_p99_microseconds{space=\"data\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_write_latency_seconds_count{space=\"data\"}"), 0);
  // The memory backend has no file system to measure.
  EXPECT_EQ(m.body.find("vstore_free_bytes"), std::string::npos);
  // A primary without replicas: its role, no replica seen, no snapshot
  // served, and none of a replica's metrics.
  EXPECT_EQ(sample(m.body, "vstore_replication_role{role=\"primary\"}"), 1) << m.body;
  EXPECT_EQ(sample(m.body, "vstore_replication_role{role=\"replica\"}"), 0);
  EXPECT_EQ(sample(m.body, "vstore_replication_replicas"), 0);
  EXPECT_EQ(sample(m.body, "vstore_replication_snapshots_total"), 0);
  EXPECT_NE(m.body.find("# TYPE vstore_replication_replica_applied_sequence gauge\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("# TYPE vstore_replication_replica_bytes_sent_total counter\n"),
            std::string::npos);
  EXPECT_EQ(m.body.find("vstore_replication_replica_applied_sequence{"), std::string::npos);
  EXPECT_EQ(m.body.find("vstore_replica_"), std::string::npos);

  auto h = http_get(v.status_port(), "/health");
  EXPECT_EQ(h.code, 200) << h.body;
  EXPECT_EQ(h.body, "ok\n");
  auto r = http_get(v.status_port(), "/ready");
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.body, "ready\n");
  EXPECT_EQ(http_get(v.status_port(), "/nothing").code, 404);

  // A write moves the counters.
  std::unique_ptr<client> c;
  client::settings cs;
  cs.timeout = 20s;
  cs.max_threads = 2;
  auto st = client::connect(local(v.server().port()), c, cs);
  ASSERT_TRUE(st) << st.to_string();
  write_request w;
  w.put(0, "k1", "v1").put(0, "k2", "v2");
  w.flush_now = true;
  commit_ack ack;
  st = c->write(std::move(w), ack);
  ASSERT_TRUE(st) << st.to_string();
  // The ack can reach the client before the writer has counted the commit:
  // scrape until the counters show it (bounded: 200 scrapes).
  http_reply after;
  for (int i = 0; i < 200; ++i) {
    after = http_get(v.status_port(), "/metrics");
    ASSERT_EQ(after.code, 200);
    if (sample(after.body, "vstore_ops_total{space=\"data\"}") == 2 &&
        sample(after.body, "vstore_write_latency_seconds_count{space=\"data\"}") >= 1)
      break;
  }
  expect_well_formed(after.body);
  // One write command (request) of two operations.
  EXPECT_EQ(sample(after.body, "vstore_writes_total{space=\"data\"}"), 1) << after.body;
  EXPECT_EQ(sample(after.body, "vstore_ops_total{space=\"data\"}"), 2);
  EXPECT_GE(sample(after.body, "vstore_commit_rounds_total"), 1);
  auto count = sample(after.body, "vstore_write_latency_seconds_count{space=\"data\"}");
  EXPECT_GE(count, 1);
  EXPECT_EQ(sample(after.body, "vstore_write_latency_seconds_bucket{space=\"data\",le=\"+Inf\"}"),
            count);
  // The histogram's sum (seconds, fractional): present.
  EXPECT_GE(sample(after.body, "vstore_write_latency_seconds_sum{space=\"data\"}"), 0)
      << after.body;
  EXPECT_GE(sample(after.body, "vstore_sequence"), 1);
  c.reset();

  v.server().proc().signal(SIGTERM);
  EXPECT_EQ(v.server().proc().wait(30s), 0);
}

// A primary (RocksDB: the memory backend serves no snapshot) and a replica
// following it, both with a status server: each /metrics shows its side of
// replication once the replica has applied a write.
TEST(StatusHttp, ReplicationMetricsOnPrimaryAndReplica) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  temp_dir dir{"status"};
  status_vstored primary{{"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.status_port(), 0) << primary.server().proc().stderr_text();
  std::unique_ptr<client> c;
  client::settings cs;
  cs.timeout = 20s;
  cs.max_threads = 2;
  auto st = client::connect(local(primary.server().port()), c, cs);
  ASSERT_TRUE(st) << st.to_string();
  write_request w;
  w.put(0, "k1", "v1");
  w.flush_now = true;
  commit_ack ack;
  ASSERT_TRUE(c->write(std::move(w), ack));
  status_reply pi;
  ASSERT_TRUE(c->info(pi));
  const auto seq = static_cast<long long>(pi.sequence);
  ASSERT_GE(seq, 1);

  const auto primary_at = "127.0.0.1:" + std::to_string(primary.server().port());
  status_vstored replica{{"--data-dir", dir / "replica", "--follow", primary_at}, 60s};
  ASSERT_NE(replica.server().port(), 0) << replica.server().proc().stderr_text();
  ASSERT_NE(replica.status_port(), 0) << replica.server().proc().stdout_text();
  // Scrape until the replica follows and holds the write (bounded: 500
  // scrapes of at most 5 s each).
  http_reply r;
  for (int i = 0; i < 500; ++i) {
    r = http_get(replica.status_port(), "/metrics");
    ASSERT_EQ(r.code, 200) << r.body;
    if (sample(r.body, "vstore_replica_primary_up") == 1 &&
        sample(r.body, "vstore_replica_applied_sequence") >= seq)
      break;
  }
  expect_well_formed(r.body);
  EXPECT_EQ(sample(r.body, "vstore_replication_role{role=\"replica\"}"), 1) << r.body;
  EXPECT_EQ(sample(r.body, "vstore_replication_role{role=\"primary\"}"), 0);
  EXPECT_EQ(sample(r.body, "vstore_replica_primary_up"), 1);
  EXPECT_GE(sample(r.body, "vstore_replica_applied_sequence"), seq);
  EXPECT_GE(sample(r.body, "vstore_replica_primary_sequence"), seq);
  EXPECT_GE(sample(r.body, "vstore_replica_lag_sequences"), 0);
  EXPECT_NE(r.body.find("\nvstore_replica_lag_seconds "), std::string::npos);
  EXPECT_NE(r.body.find("\nvstore_replica_last_contact_seconds "), std::string::npos);
  EXPECT_GE(sample(r.body, "vstore_replica_batches_total"), 0);
  EXPECT_GE(sample(r.body, "vstore_replica_bytes_total"), 0);
  EXPECT_GE(sample(r.body, "vstore_replica_reconnects_total"), 0);
  EXPECT_EQ(sample(r.body, "vstore_replica_resyncs_total"), 0);
  EXPECT_EQ(r.body.find("vstore_replication_replicas"), std::string::npos);

  // The primary saw the replica's log requests and served one snapshot.
  http_reply p;
  for (int i = 0; i < 500; ++i) {
    p = http_get(primary.status_port(), "/metrics");
    ASSERT_EQ(p.code, 200) << p.body;
    if (sample(p.body, "vstore_replication_replicas") == 1) break;
  }
  expect_well_formed(p.body);
  EXPECT_EQ(sample(p.body, "vstore_replication_role{role=\"primary\"}"), 1) << p.body;
  EXPECT_EQ(sample(p.body, "vstore_replication_replicas"), 1) << p.body;
  EXPECT_EQ(sample(p.body, "vstore_replication_snapshots_total"), 1);
  EXPECT_NE(p.body.find("\nvstore_replication_replica_applied_sequence{replica=\""),
            std::string::npos)
      << p.body;
  EXPECT_NE(p.body.find("\nvstore_replication_replica_bytes_sent_total{replica=\""),
            std::string::npos);
  EXPECT_NE(p.body.find("\nvstore_replication_replica_last_seen_seconds{replica=\""),
            std::string::npos);
  c.reset();
  replica.server().proc().signal(SIGTERM);
  EXPECT_EQ(replica.server().proc().wait(30s), 0);
  primary.server().proc().signal(SIGTERM);
  EXPECT_EQ(primary.server().proc().wait(30s), 0);
}

TEST(StatusHttp, ReadyFailsOnceTheDrainBegins) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  status_vstored v;
  ASSERT_NE(v.status_port(), 0) << v.server().proc().stderr_text();
  ASSERT_EQ(http_get(v.status_port(), "/ready").code, 200);
  v.server().proc().signal(SIGTERM);
  // From the signal on, /ready answers 503 until the server closes (then the
  // connection is refused: code 0). Bounded: 100 requests of at most 5 s.
  bool not_ready = false;
  for (int i = 0; i < 100 && !not_ready; ++i) {
    auto r = http_get(v.status_port(), "/ready");
    ASSERT_TRUE(r.code == 200 || r.code == 503 || r.code == 0) << r.code << " " << r.body;
    if (r.code == 503) {
      EXPECT_EQ(r.body.rfind("draining", 0), 0u) << r.body;
    }
    not_ready = r.code != 200;
  }
  EXPECT_TRUE(not_ready);
  EXPECT_EQ(v.server().proc().wait(30s), 0);
  EXPECT_EQ(http_get(v.status_port(), "/ready").code, 0);  // closed with vstored
}

TEST(StatusHttp, BadStatusAddrIsAUsageError) {
  for (std::string addr : {":9464", "9464", "localhost:9464", "127.0.0.1:65536",
                           "127.0.0.1:", "::1:9464", "[::1:9464"}) {
    auto r = run({vstored_bin, "--memory", "--status-addr", addr});
    EXPECT_EQ(r.code, 2) << addr << ": " << r.err;
    EXPECT_NE(r.err.find("--status-addr"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("expected HOST:PORT"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  auto r =
      run({vstored_bin, "--memory", "--status-timeout", "5ms", "--status-addr", "127.0.0.1:0"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--status-timeout"), std::string::npos) << r.err;
}

TEST(StatusHttp, StatusPortInUseIsARuntimeError) {
  status_vstored first;
  ASSERT_NE(first.status_port(), 0) << first.server().proc().stderr_text();
  auto r = run({vstored_bin, "--memory", "--status-addr",
                "127.0.0.1:" + std::to_string(first.status_port())});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot serve the status endpoints on 127.0.0.1:" +
                       std::to_string(first.status_port())),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("vstored listening"), std::string::npos);
}

TEST(StatusHttp, NoStatusServerUnlessAsked) {
  vstored_process v{vstored_bin, {"--memory"}};
  ASSERT_NE(v.port(), 0);
  EXPECT_EQ(v.proc().stdout_text().find("vstored status on"), std::string::npos);
}

TEST(VstoredCli, VersionAndHelp) {
  auto r = run({vstored_bin, "--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "vstored " + version + "\n");
  auto h = run({vstored_bin, "--help"});
  EXPECT_EQ(h.code, 0) << h.err;
  for (const char* opt :
       {"--config-file", "--config", "--data-dir", "--memory", "--host", "--port", "--tls-cert",
        "--tls-key", "--tls-ca", "--heartbeat-interval", "--connection-timeout", "--max-threads",
        "--log-level", "--status-addr", "--status-timeout", "--version", "--help"})
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt;
  auto bad = run({vstored_bin, "--no-such-option"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("Try 'vstored --help'"), std::string::npos) << bad.err;
  auto extra = run({vstored_bin, "--memory", "stray"});
  EXPECT_EQ(extra.code, 2) << extra.err;
}

TEST(VstoredCli, ConfigFileAndItsOlderNameReadTheVstoredSection) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  temp_dir dir{"status"};
  auto path = dir / "vstore.ini";
  {
    std::ofstream f{path};
    f << "[store]\nbackend = \"memory\"\n[vstored]\nhost = \"127.0.0.1\"\n"
         "status-addr = \"127.0.0.1:0\"\nstatus-timeout = 1s\n";
  }
  for (const char* flag : {"--config-file", "--config"}) {
    vstored_process v{vstored_bin, {flag, path}};
    ASSERT_NE(v.port(), 0) << flag << ": " << v.proc().stderr_text();
    auto line = v.proc().wait_for_line("vstored status on 127.0.0.1:", 1s);
    ASSERT_TRUE(line) << v.proc().stdout_text();
    auto port = static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
    EXPECT_EQ(http_get(port, "/health").code, 200);
    v.proc().signal(SIGTERM);
    EXPECT_EQ(v.proc().wait(30s), 0);
  }
}

TEST(VstoredCli, ConfigFileErrorsNameFileKeyAndLine) {
  temp_dir dir{"status"};
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream f{dir / name};
    f << text;
    return dir / name;
  };
  auto caf = write("caf.ini", "[store]\nbackend = \"memory\"\n[scheduler]\nmax-threads = 2\n");
  auto r = run({vstored_bin, "--config-file", caf});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(caf + ": [scheduler] (line 3): CAF's options are not read"),
            std::string::npos)
      << r.err;
  auto dup = write("dup.ini", "[store]\nbackend = \"memory\"\n[vstored]\nport = 1\nport = 2\n");
  r = run({vstored_bin, "--config-file", dup});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(dup + ": vstored.port (line 5): duplicate key"), std::string::npos) << r.err;
  auto bad = write("bad.ini", "[store]\nbackend = \"memory\"\n[vstored]\nstatus-addr = \":1\"\n");
  r = run({vstored_bin, "--config-file", bad});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(bad + ": vstored.status-addr (line 4)"), std::string::npos) << r.err;
}

// -- systemd notification -------------------------------------------------------------

/// Receives one datagram on `fd` within `timeout`; empty on timeout.
std::string receive_datagram(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return {};
  char buf[1024];
  auto n = ::recv(fd, buf, sizeof(buf), 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

TEST(Systemd, NotifiesReadyAndStopping) {
  temp_dir dir{"notify"};
  auto path = dir / "notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::copy(path.begin(), path.end(), addr.sun_path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // The child inherits the environment at spawn; the test's own is restored.
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  vstored_process v{vstored_bin, {"--memory"}};
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_NE(v.port(), 0) << v.proc().stderr_text();
  auto ready = receive_datagram(fd, 10s);
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=serving on " + v.endpoint()), std::string::npos) << ready;
  v.proc().signal(SIGTERM);
  auto stopping = receive_datagram(fd, 10s);
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
  EXPECT_EQ(v.proc().wait(30s), 0);
  ::close(fd);
}

// -- the systemd unit ----------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ServiceFile, SystemdAnalyzeVerifiesIt) {
  const std::string unit = std::string{VSTORE_SOURCE_DIR_FOR_TESTS} + "/packaging/vstored.service";
  auto text = read_text(unit);
  ASSERT_FALSE(text.empty()) << unit;
  EXPECT_NE(text.find("\nType=notify\n"), std::string::npos);
  EXPECT_NE(text.find("\nExecStart=/usr/bin/vstored --config-file "), std::string::npos);
  // systemd has no end-of-line comments: every setting stands alone.
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && line[0] != ';') {
      EXPECT_EQ(line.find(';'), std::string::npos) << line;
    }
  const std::string analyze = "/usr/bin/systemd-analyze";
  if (::access(analyze.c_str(), X_OK) != 0)
    GTEST_SKIP() << "systemd-analyze is not installed: the unit was not verified";
  // verify checks that ExecStart's binary exists: point it at the one built.
  temp_dir dir{"unit"};
  auto copy = dir / "vstored.service";
  {
    std::string patched = text;
    const std::string from = "/usr/bin/vstored";
    patched.replace(patched.find(from), from.size(), vstored_bin);
    std::ofstream f{copy};
    f << patched;
  }
  auto r = run({analyze, "verify", copy}, std::nullopt, 60s);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("vstored.service"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace vstore
