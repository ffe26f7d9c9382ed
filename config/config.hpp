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
// quoted (`"64MiB"`). This is a vstore extension: CAF's own INI reader rejects
// an unquoted `64MiB` and then fails on the whole file, so in a file that CAF
// reads too (vstored --config-file) write plain integers or the quoted form.
//
// Sections that belong to CAF or to the tools ([scheduler], [middleman],
// [openssl], [logger], [stream], [vstored], [cli], and their subsections) are
// skipped; their lines must still be well formed. Every other section must be
// one of [store], [space.NAME], [reader], [writer], [limits], [supervisor],
// [tokens], and every key inside them must be known. Keys before the first
// section header are an error.
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
/// tokens.retain-count 1..100,000,000 and tokens.retain-age 1s..30d.
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

/// Returns whether parse_ini() skips `section` because CAF or the tools read it
/// ([scheduler], [middleman], [openssl], [logger], [stream], [vstored], [cli]
/// and their dotted subsections).
bool is_foreign_section(std::string_view section) noexcept;

}  // namespace vstore::config
