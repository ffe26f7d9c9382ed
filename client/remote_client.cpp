// The blocking client's remote mode (client::connect in vstore/client.hpp):
// a link actor (remote.hpp) over a connection, replaced by a reconnect
// bounded by the call's deadline and connect_timeout.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "client/client_impl.hpp"
#include "client/remote.hpp"
#include "config/config.hpp"

namespace vstore {

using steady = std::chrono::steady_clock;

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
    x.mgr = spawn_remote_link(*x.sys, std::move(mgr), f, x.timeout, x.drain_timeout, peer);
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
  if (!remote.read_replicas.empty()) {
    p->read_your_writes = remote.read_your_writes;
    std::vector<remote_options> replicas;
    for (const auto& r : remote.read_replicas) {
      auto hp = config::parse_host_port(r);
      if (!hp || hp->port == 0)
        return {errc::invalid_config, "read_replicas: HOST:PORT expected: " + r};
      auto o = remote;
      o.read_replicas.clear();
      o.host = hp->host;
      o.port = hp->port;
      replicas.push_back(std::move(o));
    }
    // Tries the replicas in order, at most once a second while none
    // answers, each try bounded by a quarter of the call's time left (the
    // read then still has time on the server).
    auto rflag = std::make_shared<link_flag>();
    rflag->up = false;
    auto last_try = std::make_shared<steady::time_point>();
    p->reconnect_replica = [replicas, rflag, last_try](
                               impl& x, steady::time_point call_deadline) mutable -> status {
      if (rflag->up) return {};
      auto now = steady::now();
      if (now - *last_try < std::chrono::seconds(1))
        return {errc::disconnected, "no read replica answered within the last second"};
      *last_try = now;
      status st;
      for (const auto& r : replicas) {
        auto until = std::min(now + (call_deadline - now) / 4, now + r.connect_timeout);
        manager_actor mgr;
        st = connect_until(*x.sys, r, until, mgr, nullptr);
        if (!st) continue;
        rflag = std::make_shared<link_flag>();
        auto old = x.replica;
        x.replica = spawn_remote_link(*x.sys, std::move(mgr), rflag, x.timeout, x.drain_timeout,
                                      endpoint(r));
        if (old) caf::anon_send_exit(old, caf::exit_reason::user_shutdown);
        return {};
      }
      return st;
    };
  }
  out.reset(new client(std::move(p)));
  return {};
}

}  // namespace vstore
