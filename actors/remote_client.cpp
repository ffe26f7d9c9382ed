// Remote access to a StorageManager: configure_network, connect_manager and
// the blocking client's remote mode (client::connect).
//
// The blocking client talks to a local "link" actor that implements the
// manager's interface: it forwards each request to the remote manager, keeps
// the request's response promise, and monitors the remote manager. When the
// connection dies, CAF does not fail requests pending on the proxy (they would
// only run into their timeout), so the link fails every one of them at once
// with errc::disconnected and answers later requests the same way, until the
// client replaces it with a link over a new connection.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/client_impl.hpp"
#include "vstore/connect.hpp"

namespace vstore {

namespace {

std::string endpoint(const remote_options& r) {
  auto host = r.host.find(':') != std::string::npos ? "[" + r.host + "]" : r.host;
  return host + ":" + std::to_string(r.port) + (r.tls() ? " (TLS)" : "");
}

// -- the link actor -------------------------------------------------------------

/// Whether a link's connection is still up; written by the link, read by the
/// client before each call.
struct link_flag {
  std::atomic<bool> up{true};
};

/// A request forwarded and not answered yet: fails its promise.
using fail_fn = std::function<void(const caf::error&)>;

struct link_state {
  manager_actor remote;
  std::shared_ptr<link_flag> flag;
  caf::timespan timeout{};
  caf::timespan drain_timeout{};
  std::string peer;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, fail_fn> pending;
  static inline const char* name = "vstore.remote_link";
};

using link_pointer = manager_actor::stateful_pointer<link_state>;

/// Forwards `req` to the remote manager and relays its reply or error.
template <class Reply, class Request>
caf::result<Reply> forward(link_pointer self, Request&& req, caf::timespan t) {
  auto& st = self->state;
  if (!st.remote) return make_error(errc::disconnected, "connection to " + st.peer + " lost");
  auto rp = self->make_response_promise<Reply>();
  auto id = st.next_id++;
  st.pending.emplace(id, [rp](const caf::error& e) mutable { rp.deliver(e); });
  self->request(st.remote, t, std::forward<Request>(req))
      .then(
          [self, id, rp](Reply& r) mutable {
            if (self->state.pending.erase(id) > 0) rp.deliver(std::move(r));
          },
          [self, id, rp](caf::error& e) mutable {
            if (self->state.pending.erase(id) > 0) rp.deliver(std::move(e));
          });
  return rp;
}

manager_actor::behavior_type remote_link(link_pointer self, manager_actor remote,
                                         std::shared_ptr<link_flag> flag, caf::timespan timeout,
                                         caf::timespan drain_timeout, std::string peer) {
  auto& st = self->state;
  st.remote = remote;
  st.flag = std::move(flag);
  st.timeout = timeout;
  st.drain_timeout = drain_timeout;
  st.peer = std::move(peer);
  self->monitor<caf::message_priority::high>(remote);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.remote || dm.source != s.remote.address()) return;
    s.flag->up = false;
    s.remote = manager_actor{};
    auto err = make_error(errc::disconnected,
                          "connection to " + s.peer + " lost: " + caf::to_string(dm.reason));
    auto pending = std::move(s.pending);
    s.pending.clear();
    for (auto& kv : pending) kv.second(err);
  });
  return {
      [self](get_request& r) {
        return forward<get_reply>(self, std::move(r), self->state.timeout);
      },
      [self](multi_get_request& r) {
        return forward<multi_get_reply>(self, std::move(r), self->state.timeout);
      },
      [self](scan_request& r) {
        return forward<scan_reply>(self, std::move(r), self->state.timeout);
      },
      [self](write_request& r) {
        return forward<commit_ack>(self, std::move(r), self->state.timeout);
      },
      [self](flush_request& r) { return forward<commit_ack>(self, r, self->state.timeout); },
      [self](stats_request& r) { return forward<stats_reply>(self, r, self->state.timeout); },
      [self](status_request& r) { return forward<status_reply>(self, r, self->state.timeout); },
      [self](drain_request& r) { return forward<drain_reply>(self, r, self->state.drain_timeout); },
      [self](outcome_request& r) {
        return forward<outcome_reply>(self, std::move(r), self->state.timeout);
      },
      [](tick_atom) {},
  };
}

}  // namespace

// -- free functions ---------------------------------------------------------------

status validate(const remote_options& r) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  if (r.host.empty()) return {errc::invalid_config, "remote.host: empty"};
  if (r.port == 0) return {errc::invalid_config, "remote.port: 0 (set the server's port)"};
  if (r.tls() && (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty()))
    return {errc::invalid_config,
            "remote.tls: set the certificate, the key and the CA file together (mutual TLS)"};
  if (r.connect_timeout < milliseconds(100) || r.connect_timeout > hours(1))
    return {errc::invalid_config, "remote.connect-timeout: out of range 100ms..1h"};
  if (r.heartbeat_interval < milliseconds(10) || r.heartbeat_interval >= r.connect_timeout)
    return {errc::invalid_config,
            "remote.heartbeat-interval: out of range 10ms..connect-timeout (exclusive)"};
  return {};
}

status check_tls_files(const remote_options& r) {
  if (!r.tls()) return {};
  if (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty())
    return {errc::invalid_config,
            "remote.tls: set the certificate, the key and the CA file together (mutual TLS)"};
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx) return {errc::internal, "SSL_CTX_new failed"};
  // Never prompt for a passphrase on the terminal: encrypted keys fail.
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char*, int, int, void*) { return 0; });
  auto failed = [](const char* what, const std::string& file) -> status {
    auto code = ERR_get_error();
    ERR_clear_error();
    char reason[256] = "unknown reason";
    if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
    return {errc::invalid_config, std::string{what} + " " + file + ": " + reason};
  };
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), r.tls_cert.c_str()) != 1)
    return failed("cannot load the TLS certificate", r.tls_cert);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), r.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return failed("cannot load the TLS private key (PEM, unencrypted)", r.tls_key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return failed("the TLS private key does not match the certificate", r.tls_key);
  if (SSL_CTX_load_verify_locations(ctx.get(), r.tls_ca.c_str(), nullptr) != 1)
    return failed("cannot load the TLS CA file", r.tls_ca);
  return {};
}

void configure_network(caf::actor_system_config& cfg, const remote_options& r) {
  cfg.load<caf::io::middleman>();
  if (r.tls()) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", r.tls_cert);
    cfg.set("openssl.key", r.tls_key);
    cfg.set("openssl.cafile", r.tls_ca);
  }
  cfg.set("middleman.heartbeat-interval", caf::timespan{r.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{r.connect_timeout});
}

namespace {

using steady = std::chrono::steady_clock;

caf::timespan time_left(steady::time_point deadline) {
  return std::chrono::duration_cast<caf::timespan>(deadline - steady::now());
}

std::string in_ms(caf::timespan t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) + " ms";
}

/// Obtains the manager's handle from CAF's middleman (or its OpenSSL twin)
/// and checks with one status request that it answers, every wait bounded by
/// `deadline`. CAF's blocking remote_actor() is not used: it waits for the
/// middleman without a timeout (its connect is bounded only by the system's
/// connection-timeout); asking the middleman actor directly lets the caller
/// give up at its deadline, while the middleman finishes (or fails) that
/// connect in the background. `info`, if set, receives the status reply.
status connect_until(caf::actor_system& sys, const remote_options& r, steady::time_point deadline,
                     manager_actor& out, status_reply* info) {
  auto mm = r.tls() ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  // CAF's middleman caches the proxy of every host:port it connected to and
  // drops it only when it sees the proxy's down message; right after a
  // connection died, it can still return the dead proxy. The status request
  // proves the handle works (one round trip); a dead cached proxy fails it at
  // once, and the second attempt (if time is left) then connects anew.
  status result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto t = time_left(deadline);
    if (t <= caf::timespan{0}) {
      if (attempt == 0)
        result = {errc::disconnected, "cannot connect to " + endpoint(r) + ": no time left"};
      break;
    }
    caf::scoped_actor self{sys};
    caf::strong_actor_ptr ptr;
    std::set<std::string> ifs;
    bool answered = false;
    self->request(mm, t, caf::connect_atom::value, r.host, r.port)
        .receive(
            [&](caf::node_id&, caf::strong_actor_ptr& p, std::set<std::string>& xs) {
              ptr = std::move(p);
              ifs = std::move(xs);
              answered = true;
            },
            [&](caf::error& e) {
              result = {errc::disconnected,
                        "cannot connect to " + endpoint(r) + ": " +
                            (e == caf::sec::request_timeout ? "no connection within " + in_ms(t)
                                                            : sys.render(e))};
            });
    if (!answered) return result;
    if (!ptr) return {errc::disconnected, "no manager published at " + endpoint(r)};
    if (!sys.assignable<manager_actor>(ifs))
      return {errc::disconnected, "cannot connect to " + endpoint(r) +
                                      ": the actor published there is not a StorageManager"};
    auto mgr = caf::actor_cast<manager_actor>(std::move(ptr));
    t = time_left(deadline);
    if (t <= caf::timespan{0})
      return {errc::disconnected,
              "connected to " + endpoint(r) + " but no time was left to check the manager"};
    result = {};
    self->request(mgr, t, status_request{})
        .receive(
            [&](status_reply& rep) {
              if (info) *info = std::move(rep);
            },
            [&](caf::error& e) {
              result = {errc::disconnected,
                        "connected to " + endpoint(r) + " but the manager does not answer: " +
                            (e == caf::sec::request_timeout ? "no reply within " + in_ms(t)
                                                            : sys.render(e))};
            });
    if (result) {
      out = std::move(mgr);
      return result;
    }
  }
  return result;
}

}  // namespace

status connect_manager(caf::actor_system& sys, const remote_options& r, manager_actor& out) {
  const auto deadline = steady::now() + r.connect_timeout;
  if (auto st = validate(r); !st) return st;
  if (!sys.has_middleman())
    return {errc::invalid_config,
            "the actor system has no middleman: call configure_network() on its config"};
  if (caf::get_or(sys.config(), "middleman.connection-timeout", caf::timespan{0}).count() == 0)
    return {errc::invalid_config,
            "middleman.connection-timeout is not set, so connecting could block forever: call "
            "configure_network() on the config"};
  if (r.tls() && !sys.has_openssl_manager())
    return {errc::invalid_config,
            "TLS requested but the actor system has no OpenSSL module: call configure_network() "
            "with the same TLS settings"};
  if (auto st = check_tls_files(r); !st) return st;
  return connect_until(sys, r, deadline, out, nullptr);
}

// -- the blocking client's remote mode ----------------------------------------------

status client::connect(const remote_options& remote, std::unique_ptr<client>& out,
                       const settings& cfg) {
  const auto deadline = steady::now() + remote.connect_timeout;
  if (auto st = validate(remote); !st) return st;
  if (auto st = check_tls_files(remote); !st) return st;
  auto p = std::make_unique<impl>();
  configure_actor_system(p->cfg);
  configure_network(p->cfg, remote);
  if (cfg.max_threads > 0)
    p->cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.max_threads));
  try {
    p->sys = std::make_unique<caf::actor_system>(p->cfg);
  } catch (const std::exception& e) {  // e.g. unreadable TLS files
    return {errc::invalid_config, std::string{"cannot start the network: "} + e.what()};
  }
  p->timeout = cfg.timeout;
  p->write_retries = cfg.write_retries;
  p->embedded = false;
  // The server drains for its own grace period; allow a generous wait.
  p->drain_timeout = cfg.timeout + std::chrono::seconds(60);
  auto peer = endpoint(remote);
  auto flag = std::make_shared<link_flag>();
  // Connects (bounded by `until`), learns the store's sequence number for
  // outcome requests from the status reply, and replaces the link.
  auto open_link = [remote, peer](impl& x, std::shared_ptr<link_flag>& f,
                                  steady::time_point until) -> status {
    manager_actor mgr;
    status_reply info;
    if (auto st = connect_until(*x.sys, remote, until, mgr, &info); !st) return st;
    x.note_seq(info.sequence);
    f = std::make_shared<link_flag>();
    auto old = x.mgr;
    x.mgr = x.sys->spawn(remote_link, std::move(mgr), f, x.timeout, x.drain_timeout, peer);
    if (old) caf::anon_send_exit(old, caf::exit_reason::user_shutdown);
    return {};
  };
  if (auto st = open_link(*p, flag, deadline); !st) return st;
  // A reconnect is bounded by the call's deadline and by connect_timeout.
  p->reconnect = [open_link, flag, connect_timeout = remote.connect_timeout](
                     impl& x, steady::time_point call_deadline) mutable -> status {
    if (flag->up) return {};
    return open_link(x, flag, std::min(call_deadline, steady::now() + connect_timeout));
  };
  out.reset(new client(std::move(p)));
  return {};
}

}  // namespace vstore
