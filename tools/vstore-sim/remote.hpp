#pragma once

// The --connect hook: how vstore-sim reaches a running vstored through the
// network layer (vstore/connect.hpp: configure_network, connect_manager).

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "vstore/errc.hpp"
#include "vstore/protocol.hpp"

namespace vstore::sim {

/// Prepares an actor system config for a connection to host:port (loads the
/// network modules). Call it before the actor system is constructed.
void prepare_remote(caf::actor_system_config& cfg, const std::string& host, uint16_t port);

/// Connects to the vstored at host:port and returns its manager handle in
/// `out`. Blocks until connected or failed (bounded by the network layer's
/// connect timeout).
status connect_remote(caf::actor_system& sys, const std::string& host, uint16_t port,
                      manager_actor& out);

}  // namespace vstore::sim
