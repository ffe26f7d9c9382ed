#pragma once

// Reads, validates and writes vstore's INI configuration (config/vstore.ini).
//
// The dialect is the one CAF 0.17 reads, so one file can configure both CAF and
// vstore:
//
//   [section]            section header; dotted names such as [space.data]
//   key = value          one option per line
//   ; comment            full-line comment ('#' is accepted as well, but CAF
//   key = 1  ; comment   does not understand it); trailing comments too
//
// Values:
//   "text"               quoted string; escapes \" \\ \n \r \t and \xHH
//                        (\xHH is a vstore extension)
//   42                   unsigned integer (decimal)
//   true / false         boolean
//   10ms 2s 500us 1min   duration: an integer and one of the units ns, us, ms,
//   1h                   s, min, h (vstore keeps whole milliseconds)
//   ["a", "b"]           list; it may span lines and hold comments
//
// Byte sizes (the keys ending in -size or -bytes, and bytes-per-sync) also
// accept the suffixes KiB, MiB and GiB (powers of 1024), unquoted (`64MiB`) or
// quoted (`"64MiB"`). This is a vstore extension; config/vstore.ini writes
// plain integers so that the file stays in CAF's dialect.
//
// Sections: [store], [space.NAME], [reader], [writer], [limits], [supervisor],
// [tokens], [replication] (the store's options) and [vstored] (the server's,
// see server_settings); every key inside them must be known and appear once per
// section. [cli] and its subsections are skipped (their lines must still be
// well formed). CAF's own sections ([scheduler], [middleman], [openssl],
// [logger], [stream], [caf] and their subsections) are refused with an error
// naming the section: no vstore program hands this file to CAF, so their
// options would be silently ignored (vstored sets CAF's options from its own:
// --max-threads, --heartbeat-interval, ...). Any other section is an error too,
// and so are keys before the first section header.
//
// This library is plain C++ (no CAF, no RocksDB): it never throws on bad input
// and accepts arbitrary bytes.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"

namespace vstore::config {

/// Parses INI `text` and applies every option it sets on top of `out`; options
/// the text does not mention keep their value in `out`. `[store] spaces`
/// replaces the list of spaces: a listed name that `out` already has keeps its
/// per-space options, a name of default_schema() gets that schema's options,
/// any other name gets `space_options{}`; [space.NAME] sections then adjust
/// them, wherever they appear in the text. Calls validate() at the end. On
/// failure returns errc::invalid_config whose context names the key as
/// `section.key`, its line and what is wrong, e.g.
/// `writer.max-batch-commands (line 12): 0 is out of range 1..1000000`, and
/// leaves `out` unchanged. Never throws (except std::bad_alloc).
vstore::status parse_ini(std::string_view text, vstore::options& out);

/// Checks every documented range of options.hpp and schema.hpp and the rules
/// that span fields: the backend is known; `path` is non-empty (and free of
/// NUL bytes) for rocksdb; 1..max_spaces spaces whose names are unique,
/// non-empty, at most 255 characters of [A-Za-z0-9_.-] and not "default";
/// prefix-length 0..1024 and bloom-bits 0..64 per space; the limits are at
/// least 1; shutdown-grace is 100ms..24h; tokens.max-token-size is 1..1024,
/// tokens.retain-count 1..100,000,000 and tokens.retain-age 1s..30d;
/// replication.wal-keep-age is 0..30d in whole seconds, max-log-bytes
/// 64 KiB..256 MiB, chunk-size 64 KiB..64 MiB, poll-wait 1ms..60s and
/// min-seq-wait 0..60s.
/// vstore additionally requires restart-window, internal-timeout and
/// stall-abort to be 1ms..24h (no overflow when the actors convert them to
/// nanoseconds), and stall-abort to be strictly less than internal-timeout (a
/// stalled multi-space batch must be aborted before the requests waiting for
/// it time out). Range errors are checked before that rule. Returns
/// errc::invalid_config whose context starts with `section.key:`.
vstore::status validate(const vstore::options& o);

/// Reads the file at `path` and calls parse_ini() on its contents. A missing,
/// unreadable or oversized (over 16 MiB) file, or a directory, is
/// errc::invalid_config whose context names `path`; parse errors are prefixed
/// with `path: `. Blocks on file I/O.
vstore::status load_file(const std::string& path, vstore::options& out);

/// Renders `o` as INI text in the layout of config/vstore.ini: every vstore key
/// with its value, one [space.NAME] section per space, byte sizes as plain
/// integers (with the size in KiB/MiB/GiB as a trailing comment) and durations
/// in their largest exact unit. The output is CAF-compatible, and parse_ini()
/// on it reproduces `o` exactly when validate(o) succeeds.
std::string to_ini(const vstore::options& o);

/// Parses a byte size: a decimal integer, optionally followed directly by
/// KiB, MiB or GiB (powers of 1024). Returns false for anything else,
/// including signs, spaces and overflow of uint64_t.
bool parse_bytes(std::string_view text, uint64_t& out);

/// Parses a CAF duration: a decimal integer followed directly by ns, us, ms,
/// s, min or h. Returns false for anything else, for a negative duration, for
/// a duration that is not a whole number of milliseconds (`500us`) and on
/// overflow.
bool parse_duration(std::string_view text, std::chrono::milliseconds& out);

/// Renders a duration in its largest exact unit: `2s`, `10ms`, `1min`, `1h`.
std::string format_duration(std::chrono::milliseconds x);

/// Renders a byte size with the largest exact suffix: `64MiB`, `1000`.
std::string format_bytes(uint64_t x);

/// Returns the configuration name of a backend: "rocksdb" or "memory".
const char* to_name(vstore::backend_kind x) noexcept;

/// Parses a backend name; returns nothing for an unknown name.
std::optional<vstore::backend_kind> parse_backend(std::string_view name);

/// Returns the configuration name of a log level: "trace" ... "off".
const char* to_name(vstore::log_level x) noexcept;

/// Parses a log level name (spdlog's names); returns nothing for an unknown one.
std::optional<vstore::log_level> parse_log_level(std::string_view name);

/// Returns whether parse_ini() skips `section`: [cli] and its dotted
/// subsections (reserved for the vstore CLI).
bool is_foreign_section(std::string_view section) noexcept;

/// Returns whether `section` is one of CAF's ([scheduler], [middleman],
/// [openssl], [logger], [stream], [caf] or a dotted subsection of them), which
/// parse_ini() refuses.
bool is_caf_section(std::string_view section) noexcept;

/// What the peers of a vstored listener may send to the storage manager
/// (docs/operations.md, "Who may do what"). Each role includes the ones
/// before it; a refused request is answered errc::forbidden.
enum class peer_role : uint8_t {
  /// get, multi_get, scan, stats, status and outcome requests.
  read = 1,
  /// read's requests, and write and flush.
  write,
  /// Everything: also drain, checkpoint and every admin command to come.
  admin,
};

/// Returns the configuration name of a role: "read", "write" or "admin".
const char* to_name(peer_role x) noexcept;

/// Parses a role name; returns nothing for an unknown name.
std::optional<peer_role> parse_role(std::string_view name);

/// The [vstored] section: the server's own settings. Each key is the long
/// command-line option of the same name; vstored's command line overrides the
/// file. A field is unset when the file does not set its key.
struct server_settings {
  /// data-dir: RocksDB directory; overrides [store] path and selects the
  /// rocksdb backend (like --data-dir). Non-empty string.
  std::optional<std::string> data_dir;
  /// memory: true selects the memory backend (like --memory); false changes
  /// nothing.
  std::optional<bool> memory;
  /// host: the address the CAF middleman binds. Default: "127.0.0.1".
  /// Non-empty string; anything but loopback requires the TLS keys.
  std::optional<std::string> host;
  /// port: the middleman's TCP port, 0 = any free port. Default: 0.
  /// Range: 0..65535.
  std::optional<uint16_t> port;
  /// tls-cert, tls-key, tls-ca: PEM files for mutual TLS (all three or
  /// none). Non-empty strings.
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> tls_ca;
  /// heartbeat-interval: CAF middleman heartbeats; 0 = off. Default: 500ms.
  /// Range: 0ms..1h.
  std::optional<std::chrono::milliseconds> heartbeat_interval;
  /// connection-timeout: drop a connection silent this long; 0 = off.
  /// Default: 5s. Range: 0ms..24h.
  std::optional<std::chrono::milliseconds> connection_timeout;
  /// max-threads: CAF scheduler threads. Default: the number of cores.
  /// Range: 1..1024.
  std::optional<uint32_t> max_threads;
  /// log-level: "trace", "debug", "info", "warn", "error", "critical" or
  /// "off". Default: "info".
  std::optional<std::string> log_level;
  /// status-addr: "HOST:PORT" of the HTTP status server (/metrics, /health,
  /// /ready); see parse_host_port(). Default: off.
  std::optional<std::string> status_addr;
  /// status-timeout: how long a status request waits for the manager before
  /// answering 503. Default: 2s. Range: 10ms..1min.
  std::optional<std::chrono::milliseconds> status_timeout;
  /// role: what the peers of the main listener (host, port) may do: "read",
  /// "write" or "admin". Default: "admin" without TLS (plain TCP serves
  /// loopback only), "write" with TLS.
  std::optional<peer_role> role;
  /// admin-port: an extra listener whose peers get the admin role; unset =
  /// none; 0 = any free port. Range: 0..65535. admin-host: the address it
  /// binds. Default: "127.0.0.1"; non-empty; anything but loopback requires
  /// admin-tls-ca. admin-tls-ca: PEM CA file that the listener's client
  /// certificates must be signed by (mutual TLS with tls-cert and tls-key,
  /// which must be set); unset = plain TCP. Non-empty string.
  std::optional<uint16_t> admin_port;
  std::optional<std::string> admin_host;
  std::optional<std::string> admin_tls_ca;
  /// read-port, read-host, read-tls-ca: the same for an extra listener whose
  /// peers get the read role.
  std::optional<uint16_t> read_port;
  std::optional<std::string> read_host;
  std::optional<std::string> read_tls_ca;
};

/// Like parse_ini(text, out), and also fills `server` from the [vstored]
/// section (fields the text does not set keep their value). On failure
/// neither `out` nor `server` changes. parse_ini(text, out) checks the
/// [vstored] section by the same rules and discards it.
vstore::status parse_ini(std::string_view text, vstore::options& out, server_settings& server);

/// Like load_file(path, out), and also fills `server` from the [vstored]
/// section.
vstore::status load_file(const std::string& path, vstore::options& out, server_settings& server);

/// An address to listen on.
struct host_port {
  /// An IPv4 or IPv6 address literal (without brackets).
  std::string host;
  /// 0 = any free port.
  uint16_t port = 0;
};

/// Parses "HOST:PORT": HOST is an IPv4 address (127.0.0.1) or an IPv6
/// address in brackets ([::1]); it must be given (":9464" is refused, so that
/// no address is bound by accident); host names are refused (no DNS lookup
/// decides what is bound). PORT is 0..65535 (0 = any free port). On failure
/// returns nothing and sets `error` (when non-null) to what is wrong.
std::optional<host_port> parse_host_port(std::string_view text, std::string* error = nullptr);

/// Returns whether `host` is a loopback address: 127.0.0.0/8, ::1 or
/// "localhost".
bool is_loopback(std::string_view host);

}  // namespace vstore::config
