#include "tools/vstore-sim/remote.hpp"

#include "vstore/connect.hpp"

namespace vstore::sim {

namespace {

// Plain TCP with the network layer's default timeouts (a vstored on loopback).
remote_options make_remote(const std::string& host, uint16_t port) {
  remote_options r;
  r.host = host;
  r.port = port;
  return r;
}

}  // namespace

void prepare_remote(caf::actor_system_config& cfg, const std::string& host, uint16_t port) {
  configure_network(cfg, make_remote(host, port));
}

status connect_remote(caf::actor_system& sys, const std::string& host, uint16_t port,
                      manager_actor& out) {
  return connect_manager(sys, make_remote(host, port), out);
}

}  // namespace vstore::sim
