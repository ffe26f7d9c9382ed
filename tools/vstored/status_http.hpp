#pragma once

// vstored's HTTP status server (--status-addr): /metrics (Prometheus text),
// /health and /ready. It runs on threads of its own (cpp-httplib) and asks the
// storage manager through a scoped actor with a timeout per request, so a
// stuck manager costs a scrape at most `timeout` and answers 503.
//
//   /metrics  200 with the exposition (tools/common/prometheus.hpp) when the
//             manager answered; 503 with vstore_up 0 (and build info) when not.
//   /health   200 "ok" when the store's health is ok and every space is up;
//             503 with the reason otherwise (also while starting).
//   /ready    200 "ready" once the manager serves (opened and published) and
//             does not drain; 503 while starting, draining or stopped.
//
// Bodies are text/plain, one line.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vstore/manager.hpp"

namespace caf {
class actor_system;
}

namespace vstore::server {

/// Where the status server listens and how it behaves.
struct status_settings {
  /// An IP address literal; nothing else is bound.
  std::string host;
  /// 0 = any free port.
  uint16_t port = 0;
  /// How long one request waits for the manager before answering 503.
  std::chrono::milliseconds timeout{2000};
  /// vstore's version, for vstore_build_info.
  std::string version;
};

/// The lifecycle /ready reports.
enum class phase { starting, serving, draining, stopped };

/// The HTTP status server. Not copyable. The actor system must outlive it.
class status_server {
 public:
  status_server(caf::actor_system& sys, status_settings settings);
  ~status_server();
  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;

  /// Binds host:port (SO_REUSEADDR only, so a port in use is an error) and
  /// starts serving on its own threads; until set_manager(), /ready and
  /// /health answer 503 "starting". Returns false with `error` set when the
  /// address cannot be bound.
  bool start(std::string& error);

  /// The bound port (after start()).
  uint16_t port() const;

  /// Hands over the manager: from now on requests ask it (phase serving).
  void set_manager(manager_actor mgr);

  /// Moves to `p` (draining or stopped: /ready answers 503 at once).
  void set_phase(phase p);

  /// Stops accepting, finishes the requests in progress (each bounded by the
  /// timeout) and joins the server's threads. Idempotent; the destructor
  /// calls it.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vstore::server
