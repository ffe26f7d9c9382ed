#pragma once

// How to reach a vstored over the network. Plain C++ (no CAF), shared by the
// blocking client (client.hpp) and by actor code (connect.hpp).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vstore {

/// The address of a vstored and the transport settings of the connection.
struct remote_options {
  /// Host name or IP address of the server. Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  /// TCP port the server listens on (its "vstored listening on HOST:PORT"
  /// line). Default: 0 (invalid; must be set).
  uint16_t port = 0;
  /// Mutual TLS: this node's certificate (PEM), its private key (PEM) and the
  /// CA file (PEM) the server's certificate must be signed by. Either all
  /// three are set (TLS) or none (plain TCP, loopback only). CAF checks the
  /// peer's certificate against the CA but not its host name: use a CA
  /// dedicated to the cluster. Default: empty (plain TCP).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// Bounds connecting: connect_manager() and client::connect() return
  /// within it (plus 100 ms). A blocking client's reconnect is bounded by it
  /// and by the time left of the call's own timeout. Also CAF's
  /// middleman.connection-timeout: a connection that stayed silent this long
  /// is closed (checked at each heartbeat), so a frozen server is detected
  /// after about this time. Default: 5 s. Range: 100 ms .. 1 h, and more than
  /// heartbeat_interval.
  std::chrono::milliseconds connect_timeout{5000};
  /// Interval of the heartbeats both nodes send on an idle connection:
  /// CAF's middleman.heartbeat-interval. Default: 500 ms. Range: 10 ms ..
  /// connect_timeout (exclusive).
  std::chrono::milliseconds heartbeat_interval{500};

  /// Read replicas of this server ("host:port" each, docs/replication.md),
  /// reached with the same TLS settings and bounds. The blocking client sends
  /// get, multi_get and scan to the first that answers and everything else to
  /// the server above; a read the replica cannot answer (down, draining, or
  /// lagging past its replication.min-seq-wait) goes to the server instead.
  /// Default: none (every request goes to the server).
  std::vector<std::string> read_replicas;
  /// With read_replicas: each read carries min_seq = the highest sequence
  /// this client has seen the server reach (its own acknowledged writes
  /// included), so it sees its own writes and never reads older state than
  /// it read before. Default: true.
  bool read_your_writes = true;
  /// Returns whether any TLS field is set (then all three must be).
  bool tls() const noexcept { return !tls_cert.empty() || !tls_key.empty() || !tls_ca.empty(); }
};

}  // namespace vstore
