#pragma once

// Rendering for the vstore CLI: byte strings (escaped or hex, and back), the
// info reply as text or JSON and the stats reply as a table, JSON or
// Prometheus text.
// Plain C++, no CAF.

#include <optional>
#include <string>
#include <string_view>

#include "vstore/requests.hpp"

namespace vstore::cli {

/// Renders bytes for a terminal: printable ASCII (0x20..0x7e) as is, a
/// backslash as `\\`, every other byte as `\xHH` (lower-case hex). Tabs and
/// newlines are escaped, so the output of `scan` stays one entry per line.
std::string escape(std::string_view bytes);

/// Reverses escape(): `\\` is a backslash, `\xHH` (either case) the byte HH;
/// `\t`, `\n`, `\r` and `\0` are accepted too (for hand-written input).
/// Every other byte stands for itself. Nothing on a malformed escape (another
/// character after the backslash, a trailing backslash, `\x` without two hex
/// digits). unescape(escape(b)) == b for all bytes b.
std::optional<std::string> unescape(std::string_view text);

/// Renders bytes as lower-case hex, two digits per byte.
std::string to_hex(std::string_view bytes);

/// Parses hex (either case, even length, no separators); nothing on error.
std::optional<std::string> from_hex(std::string_view hex);

/// Renders the stats as an aligned text table, one row per space, followed by
/// the commit path's counters.
std::string stats_table(const stats_reply& s);

/// Renders a store's health as lines for humans: "health: ok" or
/// "health: degraded (no_space) since ...: <last error>", then free space and
/// writes in flight with the age of the oldest.
std::string health_text(const health_report& h);

/// Renders a store's health as one JSON object (no newline): {"state": "ok",
/// "code": "", "message": "", "since_unix_ms": 0, ..., "oldest_write_ms": 0}.
std::string health_json(const health_report& h);

/// Renders the info reply as lines for humans: backend, sequence, uptime_ms,
/// shutting_down, the spaces, health_text() and replication_text().
std::string info_text(const status_reply& r);

/// Renders a node's replication part as lines for humans, "role: primary" or
/// "role: replica" followed by indented lines. A primary: snapshots_served,
/// then "replicas: N" and one line per replica seen ("<node> applied_seq=N
/// last_seen_ms=N bytes_sent=N"). A replica: its primary, state, applied_seq,
/// primary_seq, lag (sequences and ms), last_contact_ms, batches and bytes,
/// reconnects and resyncs, last_error ("none" when empty). Names and errors
/// are escaped as escape() does.
std::string replication_text(const replication_status& r);

/// Renders a node's replication part as one JSON object (no newline). A
/// primary: {"role": "primary", "snapshots": N, "replicas": [{"node": ...,
/// "applied_seq": N, "last_seen_ms": N, "bytes_sent": N}, ...]}. A replica:
/// {"role": "replica", "replica": {"primary": ..., "state": ..., "applied_seq":
/// N, "primary_seq": N, "lag_seq": N, "lag_ms": N, "last_contact_ms": N,
/// "batches": N, "bytes": N, "reconnects": N, "resyncs": N, "last_error": ""}}.
std::string replication_json(const replication_status& r);

/// Renders the info reply as one JSON object followed by a newline:
/// {"backend": ..., "sequence": N, "uptime_ms": N, "shutting_down": false,
/// "spaces": [{"id": 0, "name": "data", "state": "ok"}, ...], "health": {...},
/// "replication": {...}} (replication_json()).
std::string info_json(const status_reply& r);

/// Renders the stats as one JSON object: {"spaces": [...], "rounds": ...}.
std::string stats_json(const stats_reply& s);

}  // namespace vstore::cli
