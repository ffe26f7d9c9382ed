#pragma once

// Rendering for the vstore CLI: byte strings (escaped or hex, and back), the
// info reply as JSON and the stats reply as a table, JSON or Prometheus text.
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

/// Renders the info reply as one JSON object followed by a newline:
/// {"backend": ..., "sequence": N, "uptime_ms": N, "shutting_down": false,
/// "spaces": [{"id": 0, "name": "data", "state": "ok"}, ...], "health": {...}}.
std::string info_json(const status_reply& r);

/// Renders the stats as one JSON object: {"spaces": [...], "rounds": ...}.
std::string stats_json(const stats_reply& s);

}  // namespace vstore::cli
