#pragma once

// The state behind vstore::client, shared by the embedded client (client.cpp)
// and the remote client (remote_client.cpp).

#include <functional>
#include <memory>
#include <mutex>

#include <caf/all.hpp>

#include "vstore/client.hpp"
#include "vstore/manager.hpp"

namespace vstore {

struct client::impl {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// Embedded: the manager. Remote: the link actor that forwards to the
  /// remote manager and fails pending calls when the connection dies.
  manager_actor mgr;
  std::mutex mtx;
  caf::timespan timeout{};
  bool embedded = false;
  caf::timespan drain_timeout{};
  /// Remote only: runs under `mtx` before every call; reconnects when the
  /// connection was lost. Empty when embedded.
  std::function<status(impl&)> reconnect;
  /// Remote only: added to the wait for `mgr`'s reply, because the link actor
  /// itself waits up to the call's timeout for the server.
  caf::timespan margin{};

  template <class Reply, class Request>
  status call(Request&& req, Reply& out, caf::timespan t) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!mgr) return {errc::unavailable, "the client is closed"};
    if (reconnect)
      if (auto st = reconnect(*this); !st) return st;
    caf::scoped_actor self{*sys};
    status result;
    self->request(mgr, t + margin, std::forward<Request>(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }
  template <class Reply, class Request>
  status call(Request&& req, Reply& out) {
    return call(std::forward<Request>(req), out, timeout);
  }
};

}  // namespace vstore
