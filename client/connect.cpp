// Connecting to a published manager within a deadline: connect_manager
// (vstore/connect.hpp) and connect_until (remote.hpp), which the blocking
// client's reconnect also uses.

#include <chrono>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "client/remote.hpp"
#include "config/config.hpp"

namespace vstore {

std::string endpoint(const remote_options& r) {
  auto host = r.host.find(':') != std::string::npos ? "[" + r.host + "]" : r.host;
  return host + ":" + std::to_string(r.port) + (r.tls() ? " (TLS)" : "");
}

namespace {

using steady = std::chrono::steady_clock;

caf::timespan time_left(steady::time_point deadline) {
  return std::chrono::duration_cast<caf::timespan>(deadline - steady::now());
}

std::string in_ms(caf::timespan t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) + " ms";
}

}  // namespace

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
  if (r.read_replicas.empty()) return connect_until(sys, r, deadline, out, nullptr);
  // With read replicas: the primary first, then the first replica that
  // answers within a share of the time left; a router stands in for both.
  manager_actor primary;
  status_reply info;
  if (auto st = connect_until(sys, r, deadline, primary, &info); !st) return st;
  manager_actor replica;
  for (const auto& text : r.read_replicas) {
    auto hp = config::parse_host_port(text);
    if (!hp || hp->port == 0)
      return {errc::invalid_config, "read_replicas: HOST:PORT expected: " + text};
    auto o = r;
    o.read_replicas.clear();
    o.host = hp->host;
    o.port = hp->port;
    auto until = steady::now() + (deadline - steady::now()) / 2;
    if (connect_until(sys, o, until, replica, nullptr)) break;
    replica = manager_actor{};
  }
  // Each relayed request is bounded as a remote client's: the server's
  // internal timeout answers first.
  out = spawn_read_router(sys, std::move(primary), std::move(replica), r.read_your_writes,
                          std::chrono::seconds(60), info.sequence);
  return {};
}

}  // namespace vstore
