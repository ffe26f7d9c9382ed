// Roles by listener (docs/operations.md, "Who may do what"): the role guard's
// table and behaviour in process, then real vstored processes on 127.0.0.1
// with a main TLS listener (role write), a read listener and an admin
// listener, each trusting its own test CA (three runs of
// scripts/gen-test-certs, which uses the openssl CLI). Every wait is bounded.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "tests/net/subprocess.hpp"
#include "tools/vstored/role_guard.hpp"
#include "vstore/client.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using config::peer_role;
using server::allows;
using server::request_kind;
using test::local;
using test::temp_dir;
using test::vstored_process;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string vstore_cli = VSTORE_CLI;
const std::string gen_certs = VSTORE_GEN_CERTS;

// -- the role table and the guard, in process -------------------------------------------------

TEST(RoleGuard, TableGrantsEachRoleItsRequests) {
  const request_kind reads[] = {request_kind::get,       request_kind::multi_get,
                                request_kind::scan,      request_kind::stats,
                                request_kind::status,    request_kind::outcome,
                                request_kind::replicate, request_kind::snapshot_read};
  for (auto k : reads) {
    EXPECT_TRUE(allows(peer_role::read, k)) << to_name(k);
    EXPECT_TRUE(allows(peer_role::write, k)) << to_name(k);
    EXPECT_TRUE(allows(peer_role::admin, k)) << to_name(k);
  }
  for (auto k : {request_kind::write, request_kind::flush}) {
    EXPECT_FALSE(allows(peer_role::read, k)) << to_name(k);
    EXPECT_TRUE(allows(peer_role::write, k)) << to_name(k);
    EXPECT_TRUE(allows(peer_role::admin, k)) << to_name(k);
  }
  for (auto k : {request_kind::drain, request_kind::checkpoint, request_kind::promote}) {
    EXPECT_FALSE(allows(peer_role::read, k)) << to_name(k);
    EXPECT_FALSE(allows(peer_role::write, k)) << to_name(k);
    EXPECT_TRUE(allows(peer_role::admin, k)) << to_name(k);
  }
  EXPECT_EQ(config::parse_role("write"), peer_role::write);
  EXPECT_FALSE(config::parse_role("root"));
  EXPECT_STREQ(config::to_name(peer_role::admin), "admin");
}

struct local_config : caf::actor_system_config {
  local_config() {
    configure_actor_system(*this);
    set("scheduler.max-threads", size_t{2});
  }
};

/// A memory-backend manager in one actor system; guards spawned in a second
/// one, as vstored does for its extra listeners.
class RoleGuardActor : public ::testing::Test {
 protected:
  void SetUp() override {
    options o;
    o.backend = backend_kind::memory;
    o.supervisor.shutdown_grace = 1s;
    auto st = spawn_manager(main_sys_, o, mgr_);
    ASSERT_TRUE(st) << st.to_string();
  }
  void TearDown() override {
    for (auto& g : guards_) caf::anon_send_exit(g, caf::exit_reason::kill);
    caf::anon_send_exit(mgr_, caf::exit_reason::kill);
  }

  manager_actor guard(peer_role role) {
    auto g = server::spawn_role_guard(guard_sys_, mgr_, role, "test listener");
    guards_.push_back(g);
    return g;
  }

  /// Sends `req` to `to` and returns the status (the reply is dropped).
  template <class Reply, class Request>
  status ask(const manager_actor& to, Request req) {
    status result;
    self_->request(to, 10s, std::move(req))
        .receive([](Reply&) {}, [&](caf::error& e) { result = to_status(e); });
    return result;
  }

  static write_request put(const std::string& key) {
    write_request w;
    w.put(spaces::data, key, "v");
    w.flush_now = true;
    return w;
  }

  bool has(const std::string& key) {
    bool found = false;
    self_->request(mgr_, 10s, get_request{spaces::data, key})
        .receive([&](get_reply& r) { found = r.found; },
                 [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
    return found;
  }

  local_config main_cfg_;
  caf::actor_system main_sys_{main_cfg_};
  local_config guard_cfg_;
  caf::actor_system guard_sys_{guard_cfg_};
  caf::scoped_actor self_{guard_sys_};
  manager_actor mgr_;
  std::vector<manager_actor> guards_;
};

TEST_F(RoleGuardActor, ReadRoleReadsButNeverWrites) {
  auto g = guard(peer_role::read);
  EXPECT_TRUE((ask<get_reply>(g, get_request{spaces::data, "k"})));
  EXPECT_TRUE((ask<stats_reply>(g, stats_request{})));
  EXPECT_TRUE((ask<status_reply>(g, status_request{})));
  EXPECT_TRUE((ask<scan_reply>(g, scan_request{spaces::data, "", "", 10})));
  EXPECT_TRUE((ask<outcome_reply>(g, outcome_request{"t", 0, 0})));
  auto w = ask<commit_ack>(g, put("ro"));
  EXPECT_EQ(w.code(), errc::forbidden) << w.to_string();
  EXPECT_NE(w.context().find("write needs the write role"), std::string::npos) << w.context();
  EXPECT_NE(w.context().find("test listener have the read role"), std::string::npos) << w.context();
  EXPECT_FALSE(has("ro"));
  EXPECT_EQ((ask<commit_ack>(g, flush_request{})).code(), errc::forbidden);
  EXPECT_EQ((ask<drain_reply>(g, drain_request{})).code(), errc::forbidden);
  EXPECT_EQ((ask<checkpoint_reply>(g, checkpoint_request{"/tmp/x"})).code(), errc::forbidden);
}

TEST_F(RoleGuardActor, WriteRoleWritesButNeitherDrainsNorCheckpoints) {
  auto g = guard(peer_role::write);
  EXPECT_TRUE((ask<commit_ack>(g, put("rw"))));
  EXPECT_TRUE(has("rw"));
  EXPECT_TRUE((ask<commit_ack>(g, flush_request{})));
  auto d = ask<drain_reply>(g, drain_request{});
  EXPECT_EQ(d.code(), errc::forbidden) << d.to_string();
  EXPECT_NE(d.context().find("drain needs the admin role"), std::string::npos) << d.context();
  EXPECT_EQ((ask<checkpoint_reply>(g, checkpoint_request{"/tmp/x"})).code(), errc::forbidden);
  // The manager still serves.
  EXPECT_TRUE((ask<status_reply>(mgr_, status_request{})));
  // The manager's timer message is swallowed, not forwarded.
  caf::anon_send(g, tick_atom::value);
  EXPECT_TRUE((ask<status_reply>(g, status_request{})));
}

TEST_F(RoleGuardActor, AdminRoleForwardsEverythingAndQuitsWithTheManager) {
  auto g = guard(peer_role::admin);
  // Forwarded: the memory backend itself refuses a checkpoint.
  auto c = ask<checkpoint_reply>(g, checkpoint_request{"/tmp/vstore-roles-ckpt"});
  EXPECT_NE(c.code(), errc::forbidden) << c.to_string();
  self_->monitor(g);
  EXPECT_TRUE((ask<drain_reply>(g, drain_request{})));
  bool down = false;
  self_->receive([&](caf::down_msg& dm) { down = dm.source == g.address(); },
                 caf::after(10s) >> [] {});
  EXPECT_TRUE(down) << "the guard outlived its manager";
}

// -- vstored with three listeners ------------------------------------------------------------

client::settings client_settings() {
  client::settings s;
  s.timeout = 10s;
  s.max_threads = 2;
  return s;
}

class Roles : public ::testing::Test {
 protected:
  /// Three CAs (main, admin, read), each with a server and a client
  /// certificate; the server presents main/server.pem on every listener.
  static void SetUpTestSuite() {
    certs_ = new temp_dir("roles-certs");
    for (std::string ca : {"main", "admin", "read"}) {
      auto r = test::run({gen_certs, *certs_ / ca}, std::nullopt, 60s);
      ASSERT_EQ(r.code, 0) << r.out << r.err;
    }
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static std::string cert(const std::string& ca, const std::string& name) {
    return *certs_ / (ca + "/" + name);
  }

  /// The server's TLS options (main CA) and its extra listeners.
  static std::vector<std::string> server_args() {
    return {"--memory",
            "--tls-cert",
            cert("main", "server.pem"),
            "--tls-key",
            cert("main", "server.key"),
            "--tls-ca",
            cert("main", "ca.pem"),
            "--admin-port",
            "0",
            "--admin-tls-ca",
            cert("admin", "ca.pem"),
            "--read-port",
            "0",
            "--read-tls-ca",
            cert("read", "ca.pem")};
  }

  void SetUp() override {
    server_ = std::make_unique<vstored_process>(vstored_bin, server_args());
    ASSERT_NE(server_->port(), 0) << server_->proc().stderr_text();
    admin_port_ = extra_port("admin");
    read_port_ = extra_port("read");
    ASSERT_NE(admin_port_, 0) << server_->proc().stdout_text();
    ASSERT_NE(read_port_, 0) << server_->proc().stdout_text();
  }

  /// The port of "vstored NAME listener on HOST:PORT" (printed before the
  /// listening line).
  uint16_t extra_port(const std::string& name) {
    auto line = server_->proc().wait_for_line("vstored " + name + " listener on ", 1s);
    if (!line) return 0;
    return static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
  }

  /// A client of `ca`'s client certificate at `port`; it trusts the main CA
  /// (which signed the server's certificate).
  remote_options as(const std::string& ca, uint16_t port) {
    auto r = local(port);
    r.tls_cert = cert(ca, "client.pem");
    r.tls_key = cert(ca, "client.key");
    r.tls_ca = cert("main", "ca.pem");
    return r;
  }

  std::unique_ptr<client> must_connect(const remote_options& r) {
    std::unique_ptr<client> c;
    auto st = client::connect(r, c, client_settings());
    EXPECT_TRUE(st) << st.to_string() << "\n" << server_->proc().stderr_text();
    return c;
  }

  bool server_running() { return !server_->proc().wait(200ms); }

  static temp_dir* certs_;
  std::unique_ptr<vstored_process> server_;
  uint16_t admin_port_ = 0;
  uint16_t read_port_ = 0;
};

temp_dir* Roles::certs_ = nullptr;

status put(client& c, const std::string& key, const std::string& value) {
  write_request w;
  w.put(spaces::data, key, value);
  commit_ack ack;
  return c.write(std::move(w), ack);
}

std::optional<std::string> get(client& c, const std::string& key) {
  std::optional<std::string> v;
  auto st = c.get(spaces::data, key, v);
  EXPECT_TRUE(st) << st.to_string();
  return v;
}

// (1) The main TLS listener defaults to the write role.
TEST_F(Roles, MainTlsListenerWritesButCannotDrain) {
  auto c = must_connect(as("main", server_->port()));
  ASSERT_TRUE(c);
  auto st = put(*c, "k", "v");
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(get(*c, "k"), std::optional<std::string>{"v"});
  commit_ack ack;
  EXPECT_TRUE(c->flush(ack));
  checkpoint_reply cp;
  auto cs = c->checkpoint("/tmp/vstore-roles-nope", cp);
  EXPECT_EQ(cs.code(), errc::forbidden) << cs.to_string();
  drain_reply d;
  auto ds = c->drain(d);  // closes this client, whatever the answer
  EXPECT_EQ(ds.code(), errc::forbidden) << ds.to_string();
  EXPECT_NE(ds.context().find("drain needs the admin role"), std::string::npos) << ds.context();
  // Still up and serving.
  EXPECT_TRUE(server_running());
  auto again = must_connect(as("main", server_->port()));
  ASSERT_TRUE(again);
  status_reply info;
  EXPECT_TRUE(again->info(info));
  EXPECT_FALSE(info.shutting_down);
  EXPECT_EQ(get(*again, "k"), std::optional<std::string>{"v"});
  EXPECT_NE(server_->proc().stderr_text().find("role write"), std::string::npos);
}

// (2) A client of the read CA on the read listener.
TEST_F(Roles, ReadListenerReadsButRefusesWritesAndDrain) {
  {
    auto w = must_connect(as("main", server_->port()));
    ASSERT_TRUE(w);
    ASSERT_TRUE(put(*w, "seen", "1"));
  }
  auto c = must_connect(as("read", read_port_));
  ASSERT_TRUE(c);
  EXPECT_EQ(get(*c, "seen"), std::optional<std::string>{"1"});
  stats_reply stats;
  EXPECT_TRUE(c->stats(stats));
  status_reply info;
  EXPECT_TRUE(c->info(info));
  auto st = put(*c, "ro", "x");
  EXPECT_EQ(st.code(), errc::forbidden) << st.to_string();
  EXPECT_EQ(write_outcome_of(st.code()), write_outcome::not_applied);
  commit_ack ack;
  EXPECT_EQ(c->flush(ack).code(), errc::forbidden);
  EXPECT_EQ(get(*c, "ro"), std::nullopt);  // nothing applied
  drain_reply d;
  EXPECT_EQ(c->drain(d).code(), errc::forbidden);
  EXPECT_TRUE(server_running());
  auto again = must_connect(as("read", read_port_));
  ASSERT_TRUE(again);
  EXPECT_EQ(get(*again, "ro"), std::nullopt);
}

// The CLI against the read listener: put fails with a clear message.
TEST_F(Roles, CliPutOnReadListenerSaysForbidden) {
  auto r =
      test::run({vstore_cli, "--connect", "127.0.0.1:" + std::to_string(read_port_), "--tls-cert",
                 cert("read", "client.pem"), "--tls-key", cert("read", "client.key"), "--tls-ca",
                 cert("main", "ca.pem"), "put", "data", "cli", "x"},
                std::nullopt, 30s);
  EXPECT_NE(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("forbidden"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was applied"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("may have been applied"), std::string::npos) << r.err;
  auto g =
      test::run({vstore_cli, "--connect", "127.0.0.1:" + std::to_string(read_port_), "--tls-cert",
                 cert("read", "client.pem"), "--tls-key", cert("read", "client.key"), "--tls-ca",
                 cert("main", "ca.pem"), "get", "data", "cli"},
                std::nullopt, 30s);
  EXPECT_EQ(g.code, 1) << g.out << g.err;  // not found: the put was not applied
}

// (3) A client of the admin CA on the admin listener drains the store.
TEST_F(Roles, AdminListenerDrains) {
  auto c = must_connect(as("admin", admin_port_));
  ASSERT_TRUE(c);
  ASSERT_TRUE(put(*c, "a", "1"));
  drain_reply d;
  auto st = c->drain(d);
  EXPECT_TRUE(st) << st.to_string();
  auto rc = server_->proc().finish(20s);
  ASSERT_TRUE(rc) << "vstored did not exit after the admin's drain";
  EXPECT_EQ(*rc, 0) << server_->proc().stderr_text();
  EXPECT_NE(server_->proc().stderr_text().find("drained by a client"), std::string::npos);
}

// (4) Certificates of another listener's CA are refused at the handshake.
TEST_F(Roles, CertificateOfAnotherListenersCaIsRefused) {
  struct refusal {
    remote_options r;
    const char* what;
  };
  std::vector<refusal> cases = {
      {as("admin", server_->port()), "admin certificate on the main listener"},
      {as("read", server_->port()), "read certificate on the main listener"},
      {as("main", admin_port_), "main certificate on the admin listener"},
      {as("read", admin_port_), "read certificate on the admin listener"},
      {local(admin_port_), "plain TCP on the admin listener"},
  };
  for (auto& x : cases) {
    std::unique_ptr<client> c;
    auto st = client::connect(x.r, c, client_settings());
    EXPECT_EQ(st.code(), errc::disconnected) << x.what << ": " << st.to_string();
  }
  EXPECT_TRUE(server_running());
}

// (5) Plain loopback without TLS keeps full access, drain included.
TEST(RolesPlain, LoopbackWithoutTlsIsAdmin) {
  vstored_process srv{vstored_bin, {"--memory"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::unique_ptr<client> c;
  auto st = client::connect(local(srv.port()), c, client_settings());
  ASSERT_TRUE(st) << st.to_string();
  write_request w;
  w.put(spaces::data, "k", "v");
  commit_ack ack;
  ASSERT_TRUE(c->write(std::move(w), ack));
  drain_reply d;
  auto ds = c->drain(d);
  EXPECT_TRUE(ds) << ds.to_string();
  auto rc = srv.proc().finish(20s);
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 0);
  EXPECT_NE(srv.proc().stderr_text().find("role admin"), std::string::npos)
      << srv.proc().stderr_text();
}

// A plain loopback listener may also be read-only: --role read.
TEST(RolesPlain, ReadRoleOnPlainLoopback) {
  vstored_process srv{vstored_bin, {"--memory", "--role", "read", "--admin-port", "0"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  auto line = srv.proc().wait_for_line("vstored admin listener on ", 1s);
  ASSERT_TRUE(line) << srv.proc().stdout_text();
  auto admin_port = static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
  {
    std::unique_ptr<client> c;
    ASSERT_TRUE(client::connect(local(srv.port()), c, client_settings()));
    write_request w;
    w.put(spaces::data, "k", "v");
    commit_ack ack;
    EXPECT_EQ(c->write(std::move(w), ack).code(), errc::forbidden);
  }
  std::unique_ptr<client> admin;
  ASSERT_TRUE(client::connect(local(admin_port), admin, client_settings()));
  drain_reply d;
  EXPECT_TRUE(admin->drain(d));
  auto rc = srv.proc().finish(20s);
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 0);
}

// One actor system that reaches two listeners of one vstored keeps each
// listener's role (each listener's system has a node id of its own).
TEST(RolesPlain, OneActorSystemReachesTwoListenersWithTheirRoles) {
  vstored_process srv{vstored_bin, {"--memory", "--role", "read", "--admin-port", "0"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  auto line = srv.proc().wait_for_line("vstored admin listener on ", 1s);
  ASSERT_TRUE(line) << srv.proc().stdout_text();
  auto admin_port = static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  configure_network(cfg, local(srv.port()));
  caf::actor_system sys{cfg};
  manager_actor main_h;
  manager_actor admin_h;
  ASSERT_TRUE(connect_manager(sys, local(srv.port()), main_h));
  ASSERT_TRUE(connect_manager(sys, local(admin_port), admin_h));
  EXPECT_NE(main_h.node(), admin_h.node());
  caf::scoped_actor self{sys};
  auto write = [&](const manager_actor& to, const std::string& key) {
    write_request w;
    w.put(spaces::data, key, "v");
    w.flush_now = true;
    status result;
    self->request(to, 10s, std::move(w))
        .receive([](commit_ack&) {}, [&](caf::error& e) { result = to_status(e); });
    return result;
  };
  EXPECT_EQ(write(main_h, "m").code(), errc::forbidden);
  EXPECT_TRUE(write(admin_h, "a"));
  EXPECT_EQ(write(main_h, "m2").code(), errc::forbidden);
  get_reply r;
  self->request(main_h, 10s, get_request{spaces::data, "a"})
      .receive([&](get_reply& x) { r = std::move(x); },
               [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  EXPECT_TRUE(r.found);
}

// (6) Bad role settings are usage errors (exit code 2) that name the option.
TEST_F(Roles, BadSettingsAreUsageErrors) {
  auto ini = *certs_ / "bad-role.ini";
  {
    std::ofstream f{ini};
    f << "[vstored]\nport = 0\nrole = \"root\"\n";
  }
  auto tls = std::vector<std::string>{"--tls-cert", cert("main", "server.pem"),
                                      "--tls-key",  cert("main", "server.key"),
                                      "--tls-ca",   cert("main", "ca.pem")};
  auto with_tls = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), tls.begin(), tls.end());
    return extra;
  };
  struct bad_case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {{"--memory", "--role", "root"}, "--role: one of read, write, admin"},
      {{"--memory", "--config-file", ini}, "vstored.role (line 3): unknown role \"root\""},
      {{"--memory", "--admin-port", "0", "--admin-tls-ca", cert("admin", "ca.pem")},
       "--admin-tls-ca needs --tls-cert and --tls-key"},
      {{"--memory", "--read-tls-ca", cert("read", "ca.pem")}, "need --read-port"},
      {{"--memory", "--port", "17433", "--admin-port", "17433"},
       "--admin-port: port 17433 is also --port's"},
      {with_tls({"--memory", "--admin-port", "17434", "--read-port", "17434"}),
       "--read-port: port 17434 is also --admin-port's"},
      {{"--memory", "--admin-port", "0", "--admin-host", "0.0.0.0"},
       "refusing to bind the admin listener on 0.0.0.0 without TLS"},
      {with_tls({"--memory", "--read-port", "0", "--read-tls-ca", *certs_ / "missing.pem"}),
       "missing.pem"},
      {{"--memory", "--admin-port", "70000"}, "--admin-port: not a port number"},
  };
  for (auto& c : cases) {
    c.args.insert(c.args.begin(), vstored_bin);
    auto r = test::run(c.args, std::nullopt, 20s);
    EXPECT_EQ(r.code, 2) << c.expected << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.expected;
  }
}

}  // namespace
}  // namespace vstore
