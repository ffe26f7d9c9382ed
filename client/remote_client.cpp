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
  out.reset(new client(std::move(p)));
  return {};
}

}  // namespace vstore
