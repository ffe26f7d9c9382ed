#pragma once

// Reaching a remote StorageManager (a vstored) from actor code: configure the
// network modules of an actor system, then obtain the manager's typed handle,
// which is used exactly like a local one.
//
//   caf::actor_system_config cfg;
//   vstore::configure_actor_system(cfg);
//   vstore::configure_network(cfg, remote);
//   caf::actor_system sys{cfg};
//   vstore::manager_actor mgr;
//   if (auto st = vstore::connect_manager(sys, remote, mgr); !st) ...
//
// The handle is a proxy: when the connection dies, monitors of `mgr` receive a
// down_msg (reason remote_link_unreachable) within about connect_timeout for a
// frozen server and at once for a closed connection. Requests still pending on
// the proxy are NOT failed by CAF (they run into their own timeout): an actor
// that wants them to fail promptly tracks its outstanding requests and fails
// them in its down handler, then calls connect_manager again to reconnect.

#include <caf/fwd.hpp>

#include "vstore/errc.hpp"
#include "vstore/protocol.hpp"
#include "vstore/remote_options.hpp"

namespace vstore {

/// Loads CAF's network module (io::middleman) into `cfg`, and the OpenSSL
/// module with openssl.certificate / key / cafile when `remote` sets TLS
/// (mutual TLS), and sets middleman.heartbeat-interval and
/// middleman.connection-timeout from `remote` so that connecting can never
/// block forever and a dead peer is detected. Call it once per config, after
/// configure_actor_system() and before constructing the actor system; do not
/// load the middleman yourself as well. The TLS files are read when the actor
/// system starts, not here.
void configure_network(caf::actor_system_config& cfg, const remote_options& remote);

/// Connects to the manager published at remote.host:remote.port (over TLS
/// when remote.tls() is set), checks with one status_request that it answers,
/// and stores its typed handle in `out`. Blocks the calling thread up to
/// remote.connect_timeout (plus scheduling delay; call it from a non-actor
/// thread or a detached actor). `sys` must have been configured
/// with configure_network() for the same TLS mode. Errors:
/// errc::invalid_config (port 0, incomplete TLS settings, `sys` lacks the
/// middleman / OpenSSL module or a connection timeout), errc::disconnected
/// (refused, unreachable, timed out, TLS handshake failed, or nothing
/// compatible published on that port). On error `out` is unchanged.
/// With remote.read_replicas, `out` is a local router (docs/replication.md,
/// "Clients"): reads go to the first replica that answered (with min_seq for
/// read your writes when remote.read_your_writes), falling back to the
/// server when it cannot answer; it goes down when the server's connection
/// does. A replica that went down is not reconnected: reads then go to the
/// server until connect_manager is called again.
status connect_manager(caf::actor_system& sys, const remote_options& remote, manager_actor& out);

/// Checks `remote` without connecting: port set, TLS all-or-nothing, timeouts
/// in range. Returns errc::invalid_config naming the field.
status validate(const remote_options& remote);

/// Loads the TLS files of `remote` the way CAF's OpenSSL module will (PEM
/// certificate chain, unencrypted PEM private key matching it, CA file) and
/// returns errc::invalid_config naming the file and OpenSSL's reason when one
/// fails. Ok when `remote` sets no TLS. CAF's module throws inside its
/// middleman actor on such files, after which connecting or accepting hangs,
/// so both vstored and connect_manager() call this first. Blocks on file I/O.
status check_tls_files(const remote_options& remote);

}  // namespace vstore
