#pragma once

// The echo server of CAF 0.17's remote floor (vstore-hop-floor --serve-echo):
// the bench's remote rows measure it as a third side (bench/floor_side.hpp).

namespace vstore::bench {

/// Runs `vstore-hop-floor --serve-echo [--max-threads N] [--port P]`: an
/// actor system configured like vstored's (configure_actor_system,
/// configure_network with the default remote_options: heartbeat 500 ms,
/// connection timeout 5 s; --max-threads as vstored's) publishing, on
/// 127.0.0.1 (port P, default 0 = any), one scheduled actor with the
/// StorageManager's typed interface that does nothing but reply: a get gets a
/// fixed found 100 B value, a write a commit_ack with a counter, a status
/// request an empty status_reply (connect_manager's check), multi_get as
/// many fixed values as keys; every other request errc::unavailable. So a
/// client reaches it exactly as it reaches vstored, and what it measures is
/// CAF's own remote round trip (serialization, BASP, the middleman's and the
/// schedulers' threads on both ends) with no store behind it. Prints
/// "vstore-hop-floor echo listening on 127.0.0.1:PORT" on stdout (then sends
/// stdout to stderr, as vstored does) and serves until SIGTERM or SIGINT.
/// Returns the exit code.
int serve_echo_main(int argc, char** argv);

}  // namespace vstore::bench
