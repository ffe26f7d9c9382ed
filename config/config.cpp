#include "config/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace vstore::config {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kib = 1024;
constexpr uint64_t mib = kib * 1024;
constexpr uint64_t gib = mib * 1024;
constexpr uint64_t u32_max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t ms_per_second = 1000;
constexpr uint64_t ms_per_minute = 60 * ms_per_second;
constexpr uint64_t ms_per_hour = 60 * ms_per_minute;
constexpr uint64_t ms_max = static_cast<uint64_t>(std::numeric_limits<milliseconds::rep>::max());

/// Lists and maps nest at most this deep (bounds the parser's recursion).
constexpr size_t max_nesting = 16;
/// The longest space name.
constexpr size_t max_name_length = 255;
/// load_file() refuses larger files.
constexpr size_t max_file_size = 16 * mib;
/// Error messages quote at most this many characters of user input.
constexpr size_t max_quoted = 64;

// -- characters (ASCII only: <cctype> depends on the locale and is undefined
//    for negative chars) ---------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_word_start(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

bool is_name_char(char c) { return is_word_start(c) || c == '-' || c == '.'; }

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Appends `c` escaped for a quoted INI string. Bytes >= 0x80 stay raw when
/// `keep_high` is set (UTF-8 paths), else they become \xHH.
void append_escaped(std::string& out, char c, bool keep_high) {
  static constexpr char digits[] = "0123456789abcdef";
  auto u = static_cast<unsigned char>(c);
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (u < 0x20 || u == 0x7f || (u >= 0x80 && !keep_high)) {
    out += "\\x";
    out += digits[u >> 4];
    out += digits[u & 0xf];
  } else {
    out += c;
  }
}

/// Renders user input for an error message: escaped, without quotes, and cut
/// after max_quoted characters.
std::string printable(std::string_view s) {
  std::string out;
  size_t n = 0;
  for (char c : s) {
    if (++n > max_quoted) {
      out += "...";
      break;
    }
    append_escaped(out, c, false);
  }
  return out;
}

/// Renders user input in double quotes for an error message.
std::string quoted(std::string_view s) { return "\"" + printable(s) + "\""; }

/// Describes one input character for an error message.
std::string describe(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  return "byte " + printable(std::string_view(&c, 1));
}

// -- numbers, byte sizes and durations --------------------------------------

/// The outcome of reading a number-like token.
enum class num { ok, malformed, negative, overflow, no_unit, bad_unit, fraction };

/// Reads the leading decimal digits of `s` into `out`; `rest` gets the text
/// after them. Returns num::malformed when there are no digits.
num read_digits(std::string_view s, uint64_t& out, std::string_view& rest) {
  size_t i = 0;
  uint64_t x = 0;
  bool overflow = false;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    auto d = static_cast<uint64_t>(s[i] - '0');
    if (x > (u64_max - d) / 10)
      overflow = true;
    else
      x = x * 10 + d;
  }
  if (i == 0) return num::malformed;
  rest = s.substr(i);
  out = x;
  return overflow ? num::overflow : num::ok;
}

/// Returns whether `s` is a '-' followed by digits (and maybe a suffix).
bool looks_negative(std::string_view s) { return s.size() > 1 && s[0] == '-' && is_digit(s[1]); }

num read_unsigned(std::string_view s, uint64_t& out) {
  if (looks_negative(s)) return num::negative;
  std::string_view rest;
  auto r = read_digits(s, out, rest);
  if (r != num::ok) return r;
  return rest.empty() ? num::ok : num::malformed;
}

num read_bytes(std::string_view s, uint64_t& out) {
  if (looks_negative(s)) return num::negative;
  std::string_view rest;
  uint64_t x = 0;
  auto r = read_digits(s, x, rest);
  if (r == num::overflow && (rest.empty() || rest == "KiB" || rest == "MiB" || rest == "GiB"))
    return num::overflow;
  if (r != num::ok) return num::malformed;
  uint64_t factor = 1;
  if (rest == "KiB")
    factor = kib;
  else if (rest == "MiB")
    factor = mib;
  else if (rest == "GiB")
    factor = gib;
  else if (!rest.empty())
    return num::bad_unit;
  if (x > u64_max / factor) return num::overflow;
  out = x * factor;
  return num::ok;
}

num read_duration(std::string_view s, milliseconds& out) {
  if (looks_negative(s)) return num::negative;
  std::string_view unit;
  uint64_t x = 0;
  auto r = read_digits(s, x, unit);
  if (r == num::malformed) return r;
  uint64_t ms = 0;
  uint64_t divisor = 1;
  uint64_t factor = 1;
  if (unit.empty())
    return r == num::overflow ? num::overflow : num::no_unit;
  else if (unit == "ns")
    divisor = 1000000;
  else if (unit == "us")
    divisor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = ms_per_second;
  else if (unit == "min")
    factor = ms_per_minute;
  else if (unit == "h")
    factor = ms_per_hour;
  else
    return num::bad_unit;
  if (r == num::overflow) return num::overflow;
  if (x % divisor != 0) return num::fraction;
  x /= divisor;
  if (x > ms_max / factor) return num::overflow;
  ms = x * factor;
  out = milliseconds{static_cast<milliseconds::rep>(ms)};
  return num::ok;
}

// -- the parsed file --------------------------------------------------------

/// The syntactic kind of a value.
enum class vkind { word, string, atom, list, map };

/// One value as written: a bare word (number, boolean, duration), a decoded
/// string, or a list of values. Maps are recognized (CAF has them) but their
/// contents are dropped.
struct value {
  vkind kind = vkind::word;
  std::string text;
  std::vector<value> items;
};

/// One `key = value` line of a vstore section.
struct entry {
  std::string section;
  std::string key;
  value val;
  size_t line = 0;
};

/// One [space.NAME] header.
struct space_header {
  std::string name;
  size_t line = 0;
};

/// Everything the first pass keeps.
struct parsed {
  std::vector<entry> entries;
  std::vector<space_header> space_headers;
};

/// A configuration error: where (`section.key` or `[section]`), the line
/// (0 when unknown) and what is wrong.
struct failure {
  std::string where;
  size_t line = 0;
  std::string what;
};

using maybe_failure = std::optional<failure>;
using maybe_message = std::optional<std::string>;

status to_status(const failure& f) {
  std::string ctx = f.where;
  if (f.line > 0) {
    ctx += " (line ";
    ctx += std::to_string(f.line);
    ctx += ")";
  }
  ctx += ": ";
  ctx += f.what;
  return status{errc::invalid_config, std::move(ctx)};
}

/// Describes a value for a type error: `yes`, `the string "4"`, `a list`.
std::string describe(const value& v) {
  switch (v.kind) {
    case vkind::word:
      return printable(v.text);
    case vkind::string:
      return "the string " + quoted(v.text);
    case vkind::atom:
      return "the atom '" + printable(v.text) + "'";
    case vkind::list:
      return "a list";
    case vkind::map:
      return "a map";
  }
  return "?";
}

bool is_vstore_section(std::string_view s) {
  return s == "store" || s == "reader" || s == "writer" || s == "limits" || s == "supervisor" ||
         s == "tokens" || s == "replication" || s == "vstored";
}

constexpr std::string_view space_prefix = "space.";

// -- first pass: syntax ------------------------------------------------------

/// Reads the INI text into entries; checks syntax, sections and duplicates.
class ini_reader {
 public:
  explicit ini_reader(std::string_view text) : text_(text) {}

  maybe_failure run(parsed& out) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
    std::string section;
    bool in_section = false;
    bool foreign = false;
    std::map<std::string, size_t> seen;
    for (;;) {
      skip_blanks();
      if (eof()) return std::nullopt;
      char c = peek();
      if (c == '\n') {
        ++pos_;
        ++line_;
        continue;
      }
      if (c == ';' || c == '#') {
        skip_comment();
        continue;
      }
      if (c == '[') {
        auto hline = line_;
        std::string name;
        if (auto f = read_header(name)) return f;
        in_section = true;
        section = name;
        if (is_caf_section(name))
          return failure{"[" + name + "]", hline,
                         "CAF's options are not read from this file (no vstore program hands it "
                         "to CAF, so they would be ignored): remove the section; vstored sets "
                         "CAF's options from its own (max-threads, heartbeat-interval, "
                         "connection-timeout, tls-cert/tls-key/tls-ca in [vstored] or on the "
                         "command line)"};
        foreign = is_foreign_section(name);
        if (foreign || is_vstore_section(name)) continue;
        if (name.size() > space_prefix.size() &&
            name.compare(0, space_prefix.size(), space_prefix) == 0) {
          out.space_headers.push_back({name.substr(space_prefix.size()), hline});
          continue;
        }
        return failure{"[" + name + "]", hline,
                       "unknown section (vstore reads [store], [space.NAME], [reader], [writer], "
                       "[limits], [supervisor], [tokens], [replication] and [vstored])"};
      }
      auto where_section = in_section ? section : std::string("global");
      auto start = pos_;
      while (!eof() && is_name_char(peek())) ++pos_;
      if (pos_ == start)
        return failure{where_section, line_,
                       "unexpected " + describe(c) + " (expected a key, a [section] or a comment)"};
      std::string key(text_.substr(start, pos_ - start));
      auto where = where_section + "." + key;
      auto key_line = line_;
      skip_blanks();
      if (eof() || peek() != '=') return failure{where, key_line, "missing '=' after the key"};
      ++pos_;
      skip_blanks();
      if (at_end_of_value()) return failure{where, key_line, "missing value after '='"};
      value v;
      if (auto msg = read_value(v, 0)) return failure{where, key_line, *msg};
      skip_blanks();
      if (!at_end_of_value())
        return failure{where, key_line,
                       "unexpected " + describe(peek()) + " after the value (trailing characters)"};
      if (foreign) continue;
      if (!in_section)
        return failure{where, key_line,
                       "key outside a section (vstore keys belong in [store], [reader], ...)"};
      if (auto [it, added] = seen.emplace(where, key_line); !added)
        return failure{where, key_line,
                       "duplicate key (first set on line " + std::to_string(it->second) + ")"};
      out.entries.push_back({section, std::move(key), std::move(v), key_line});
    }
  }

 private:
  bool eof() const { return pos_ >= text_.size(); }

  char peek() const { return text_[pos_]; }

  void skip_blanks() {
    while (!eof() && is_blank(peek())) ++pos_;
  }

  /// Skips to the end of the line (not past the newline).
  void skip_comment() {
    while (!eof() && peek() != '\n') ++pos_;
  }

  /// Skips blanks, newlines and comments (inside lists and maps).
  void skip_space() {
    while (!eof()) {
      char c = peek();
      if (is_blank(c)) {
        ++pos_;
      } else if (c == '\n') {
        ++pos_;
        ++line_;
      } else if (c == ';' || c == '#') {
        skip_comment();
      } else {
        return;
      }
    }
  }

  bool at_end_of_value() const { return eof() || peek() == '\n' || peek() == ';' || peek() == '#'; }

  maybe_failure read_header(std::string& name) {
    auto hline = line_;
    ++pos_;  // '['
    skip_blanks();
    auto start = pos_;
    while (!eof() && is_name_char(peek())) ++pos_;
    name.assign(text_.substr(start, pos_ - start));
    skip_blanks();
    if (name.empty() || eof() || peek() != ']')
      return failure{name.empty() ? std::string("section header") : "[" + name + "]", hline,
                     "malformed section header (expected [name] with a name of A-Z a-z 0-9 _ . -)"};
    ++pos_;
    skip_blanks();
    if (!at_end_of_value())
      return failure{"[" + name + "]", hline,
                     "unexpected " + describe(peek()) + " after the section header"};
    return std::nullopt;
  }

  maybe_message read_value(value& v, size_t depth) {
    char c = peek();
    if (c == '"') {
      v.kind = vkind::string;
      return read_string(v.text);
    }
    if (c == '\'') {
      v.kind = vkind::atom;
      ++pos_;
      while (!eof() && peek() != '\'' && peek() != '\n') v.text += text_[pos_++];
      if (eof() || peek() != '\'') return "unterminated atom (missing ')";
      ++pos_;
      return std::nullopt;
    }
    if (c == '[' || c == '{') {
      if (depth >= max_nesting) return "lists or maps nested too deeply";
      ++pos_;
      return c == '[' ? read_list(v, depth) : read_map(v, depth);
    }
    auto start = pos_;
    while (!eof()) {
      char x = peek();
      if (is_blank(x) || x == '\n' || x == ',' || x == '[' || x == ']' || x == '{' || x == '}' ||
          x == ';' || x == '#' || x == '"' || x == '\'' || x == '=')
        break;
      ++pos_;
    }
    if (pos_ == start) return "unexpected " + describe(c) + " (expected a value)";
    v.kind = vkind::word;
    v.text.assign(text_.substr(start, pos_ - start));
    return std::nullopt;
  }

  maybe_message read_string(std::string& out) {
    ++pos_;  // '"'
    for (;;) {
      if (eof() || peek() == '\n') return "unterminated string (missing '\"')";
      char c = text_[pos_++];
      if (c == '"') return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (eof() || peek() == '\n') return "unterminated string (missing '\"')";
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'x': {
          int hi = eof() ? -1 : hex_value(peek());
          int lo = pos_ + 1 < text_.size() ? hex_value(text_[pos_ + 1]) : -1;
          if (hi < 0 || lo < 0) return "invalid escape sequence \\x (expected two hex digits)";
          out += static_cast<char>(hi * 16 + lo);
          pos_ += 2;
          break;
        }
        default:
          return "invalid escape sequence \\" + printable(std::string_view(&e, 1)) +
                 " (use \\\" \\\\ \\n \\r \\t or \\xHH)";
      }
    }
  }

  maybe_message read_list(value& v, size_t depth) {
    v.kind = vkind::list;
    for (;;) {
      skip_space();
      if (eof()) return "unterminated list (missing ']')";
      if (peek() == ']') {
        ++pos_;
        return std::nullopt;
      }
      value item;
      if (auto msg = read_value(item, depth + 1)) return msg;
      v.items.push_back(std::move(item));
      skip_space();
      if (eof()) return "unterminated list (missing ']')";
      if (peek() == ',') {
        ++pos_;
      } else if (peek() == ']') {
        ++pos_;
        return std::nullopt;
      } else {
        return "unexpected " + describe(peek()) + " in a list (expected ',' or ']')";
      }
    }
  }

  maybe_message read_map(value& v, size_t depth) {
    v.kind = vkind::map;
    for (;;) {
      skip_space();
      if (eof()) return "unterminated map (missing '}')";
      char c = peek();
      if (c == '}') {
        ++pos_;
        return std::nullopt;
      }
      if (c == ',') {
        ++pos_;
        continue;
      }
      auto start = pos_;
      while (!eof() && is_name_char(peek())) ++pos_;
      if (pos_ == start) return "unexpected " + describe(c) + " in a map (expected a key)";
      skip_blanks();
      if (eof()) return "unterminated map (missing '}')";
      if (peek() == '=')
        ++pos_;
      else if (peek() != '{')
        return "missing '=' after a key in a map";
      skip_blanks();
      if (at_end_of_value()) return "missing value in a map";
      value item;
      if (auto msg = read_value(item, depth + 1)) return msg;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

// -- option tables -----------------------------------------------------------

/// How a scalar option is written and which values it accepts.
enum class kind { flag, text, number, bytes, duration };

/// The type and inclusive range of a scalar option (durations in ms), and
/// optionally why the range is what it is (appended to a range error).
struct rule {
  kind k;
  uint64_t min = 0;
  uint64_t max = 0;
  const char* why = nullptr;
};

constexpr rule flag_rule{kind::flag};
constexpr rule text_rule{kind::text};

constexpr rule number(uint64_t min, uint64_t max) { return {kind::number, min, max}; }

constexpr rule bytes(uint64_t min, uint64_t max) { return {kind::bytes, min, max}; }

constexpr rule duration(uint64_t min_ms, uint64_t max_ms) {
  return {kind::duration, min_ms, max_ms};
}

constexpr uint64_t max_duration_ms = 24 * ms_per_hour;

/// supervisor.shutdown-grace: 100ms..24h.
constexpr rule shutdown_grace_rule{kind::duration, 100, max_duration_ms,
                                   "a shorter grace would cut off writes that are about to commit"};

/// Calls f(section, key, field, rule) for every scalar option except
/// store.backend and store.spaces, in the order of vstore.ini.
template <class Options, class F>
void for_each_field(Options& o, F&& f) {
  auto& db = o.db;
  f("store", "path", db.path, text_rule);
  f("store", "create-if-missing", db.create_if_missing, flag_rule);
  f("store", "allow-new-spaces", db.allow_new_spaces, flag_rule);
  f("store", "sync", db.sync, flag_rule);
  f("store", "parallelism", db.parallelism, number(1, 256));
  f("store", "max-background-jobs", db.max_background_jobs, number(1, 256));
  f("store", "bytes-per-sync", db.bytes_per_sync, bytes(0, u64_max));
  f("store", "dynamic-level-bytes", db.dynamic_level_bytes, flag_rule);
  f("store", "paranoid-checks", db.paranoid_checks, flag_rule);
  f("store", "block-cache-size", db.block_cache_bytes, bytes(0, u64_max));
  f("store", "write-buffer-size", db.write_buffer_bytes, bytes(64 * kib, 4 * gib));
  f("store", "info-log-max-size", db.info_log_max_bytes, bytes(64 * kib, gib));
  f("store", "info-log-keep", db.info_log_keep, number(1, 1000));
  f("store", "min-free-space", db.min_free_bytes, bytes(0, 1024 * gib));
  f("store", "max-disk-space", db.max_disk_bytes, bytes(0, u64_max));
  f("store", "recovery-backoff", db.recovery_backoff, duration(10, 60 * ms_per_second));
  f("store", "recovery-backoff-max", db.recovery_backoff_max, duration(10, ms_per_hour));
  auto& rd = o.reader;
  f("reader", "pool-size", rd.pool_size, number(1, 64));
  f("reader", "max-queued", rd.max_queued, number(1, 10000000));
  f("reader", "detached", rd.detached, flag_rule);
  f("reader", "cache-first", rd.cache_first, flag_rule);
  f("reader", "inline-max-keys", rd.inline_max_keys, number(0, 1024));
  f("reader", "batch-max", rd.batch_max, number(0, 1024));
  f("reader", "batch-max-keys", rd.batch_max_keys, number(1, 1000000));
  f("reader", "snapshot-lease", rd.snapshot_lease, duration(10, ms_per_hour));
  f("reader", "max-snapshots", rd.max_snapshots, number(1, 4096));
  auto& wr = o.writer;
  f("writer", "max-batch-commands", wr.max_batch_commands, number(1, 1000000));
  f("writer", "max-batch-bytes", wr.max_batch_bytes, bytes(1, gib));
  f("writer", "max-delay", wr.max_delay, duration(0, 10 * ms_per_second));
  f("writer", "max-queued", wr.max_queued, number(1, 10000000));
  f("writer", "inline-commits", wr.inline_commits, flag_rule);
  f("writer", "slow-commit", wr.slow_commit, duration(1, 10 * ms_per_second));
  f("writer", "gather-rounds", wr.gather_rounds, flag_rule);
  auto& li = o.limits;
  f("limits", "max-key-size", li.max_key_bytes, bytes(1, 16 * mib));
  f("limits", "max-value-size", li.max_value_bytes, bytes(1, gib));
  f("limits", "max-batch-ops", li.max_batch_ops, number(1, u32_max));
  f("limits", "max-request-bytes", li.max_request_bytes, bytes(1, u64_max));
  f("limits", "max-multi-get", li.max_multi_get, number(1, u32_max));
  f("limits", "max-scan-limit", li.max_scan_limit, number(1, u32_max));
  auto& su = o.supervisor;
  f("supervisor", "restart-limit", su.restart_limit, number(0, u32_max));
  f("supervisor", "restart-window", su.restart_window, duration(1, max_duration_ms));
  f("supervisor", "read-retries", su.read_retries, number(0, u32_max));
  f("supervisor", "internal-timeout", su.internal_timeout, duration(1, max_duration_ms));
  f("supervisor", "stall-abort", su.stall_abort, duration(1, max_duration_ms));
  f("supervisor", "shutdown-grace", su.shutdown_grace, shutdown_grace_rule);
  auto& to = o.tokens;
  f("tokens", "max-token-size", to.max_token_bytes, bytes(1, 1024));
  f("tokens", "retain-count", to.retain_count, number(1, 100000000));
  f("tokens", "retain-age", to.retain_age, duration(ms_per_second, 30 * 24 * ms_per_hour));
  auto& re = o.replication;
  f("replication", "wal-keep-age", re.wal_keep_age, duration(0, 30 * 24 * ms_per_hour));
  f("replication", "wal-keep-size", re.wal_keep_bytes, bytes(0, u64_max));
  f("replication", "max-log-bytes", re.max_log_bytes, bytes(64 * kib, 256 * mib));
  f("replication", "chunk-size", re.chunk_bytes, bytes(64 * kib, 64 * mib));
  f("replication", "poll-wait", re.poll_wait, duration(1, 60 * ms_per_second));
  f("replication", "min-seq-wait", re.min_seq_wait, duration(0, 60 * ms_per_second));
}

/// Calls f(key, field, rule) for the numeric per-space options (compression is
/// handled on its own).
template <class SpaceOptions, class F>
void for_each_space_field(SpaceOptions& s, F&& f) {
  f("prefix-length", s.prefix_length, number(0, 1024));
  f("bloom-bits", s.bloom_bits, number(0, 64));
}

/// Renders a number of a rule's kind for a message.
std::string render(uint64_t x, kind k) {
  if (k == kind::bytes) return format_bytes(x);
  if (k == kind::duration && x <= ms_max)
    return format_duration(milliseconds{static_cast<milliseconds::rep>(x)});
  return std::to_string(x);
}

maybe_message check_range(uint64_t x, const rule& r) {
  if (x >= r.min && x <= r.max) return std::nullopt;
  std::string msg;
  if (r.max == u64_max)
    msg = render(x, r.k) + " is below the minimum of " + render(r.min, r.k);
  else
    msg = render(x, r.k) + " is out of range " + render(r.min, r.k) + ".." + render(r.max, r.k);
  if (r.why != nullptr) {
    msg += " (";
    msg += r.why;
    msg += ")";
  }
  return msg;
}

maybe_message number_error(num r, const value& v, const char* what) {
  switch (r) {
    case num::ok:
      return std::nullopt;
    case num::negative:
      return printable(v.text) + " is negative";
    case num::overflow:
      return printable(v.text) + " is too large";
    case num::fraction:
      return printable(v.text) + " is not a whole number of milliseconds";
    case num::no_unit:
      return printable(v.text) + " has no unit (use ns, us, ms, s, min or h)";
    case num::bad_unit:
    case num::malformed:
      break;
  }
  return describe(v) + " is not " + what;
}

constexpr const char* unsigned_name = "an unsigned integer";
constexpr const char* bytes_name =
    "a byte size (an unsigned integer with an optional suffix KiB, MiB or GiB)";
constexpr const char* duration_name =
    "a duration (an unsigned integer with a unit: ns, us, ms, s, min or h)";

/// Reads an unsigned integer or byte size from `v` and checks its range.
maybe_message to_u64(const value& v, const rule& r, uint64_t& out) {
  const char* what = r.k == kind::bytes ? bytes_name : unsigned_name;
  bool quoted_ok = r.k == kind::bytes;
  if (v.kind != vkind::word && !(quoted_ok && v.kind == vkind::string))
    return "expected " + std::string(what) + ", got " + describe(v);
  uint64_t x = 0;
  auto res = r.k == kind::bytes ? read_bytes(v.text, x) : read_unsigned(v.text, x);
  if (auto msg = number_error(res, v, what)) return msg;
  if (auto msg = check_range(x, r)) return msg;
  out = x;
  return std::nullopt;
}

maybe_message assign(const value& v, const rule&, bool& field) {
  if (v.kind == vkind::word && v.text == "true") {
    field = true;
    return std::nullopt;
  }
  if (v.kind == vkind::word && v.text == "false") {
    field = false;
    return std::nullopt;
  }
  return "expected true or false, got " + describe(v);
}

maybe_message assign(const value& v, const rule&, std::string& field) {
  if (v.kind != vkind::string) return "expected a quoted string, got " + describe(v);
  field = v.text;
  return std::nullopt;
}

maybe_message assign(const value& v, const rule& r, uint32_t& field) {
  uint64_t x = 0;
  if (auto msg = to_u64(v, r, x)) return msg;
  if (x > u32_max) return printable(v.text) + " is too large";
  field = static_cast<uint32_t>(x);
  return std::nullopt;
}

maybe_message assign(const value& v, const rule& r, uint64_t& field) { return to_u64(v, r, field); }

maybe_message assign(const value& v, const rule& r, milliseconds& field) {
  if (v.kind != vkind::word)
    return "expected " + std::string(duration_name) + ", got " + describe(v);
  milliseconds x{0};
  if (auto msg = number_error(read_duration(v.text, x), v, duration_name)) return msg;
  if (auto msg = check_range(static_cast<uint64_t>(x.count()), r)) return msg;
  field = x;
  return std::nullopt;
}

/// A duration kept in whole seconds (its rule is in milliseconds like every
/// other duration's).
maybe_message assign(const value& v, const rule& r, seconds& field) {
  milliseconds x{0};
  if (auto msg = assign(v, r, x)) return msg;
  if (x.count() % static_cast<milliseconds::rep>(ms_per_second) != 0)
    return printable(v.text) + " is not a whole number of seconds";
  field = std::chrono::duration_cast<seconds>(x);
  return std::nullopt;
}

/// Checks a field of an options struct built in code.
maybe_message check(bool, const rule&) { return std::nullopt; }

maybe_message check(const std::string&, const rule&) { return std::nullopt; }

maybe_message check(uint64_t x, const rule& r) { return check_range(x, r); }

maybe_message check(uint32_t x, const rule& r) { return check_range(x, r); }

maybe_message check(milliseconds x, const rule& r) {
  if (x.count() < 0) return std::to_string(x.count()) + "ms is negative";
  return check_range(static_cast<uint64_t>(x.count()), r);
}

maybe_message check(seconds x, const rule& r) {
  if (x.count() < 0) return std::to_string(x.count()) + "s is negative";
  if (static_cast<uint64_t>(x.count()) > ms_max / ms_per_second)
    return std::to_string(x.count()) + "s is out of range " + render(r.min, r.k) + ".." +
           render(r.max, r.k);
  return check_range(static_cast<uint64_t>(x.count()) * ms_per_second, r);
}

maybe_message to_string_list(const value& v, std::vector<std::string>& out) {
  if (v.kind != vkind::list) return "expected a list of quoted strings, got " + describe(v);
  out.clear();
  for (const auto& item : v.items) {
    if (item.kind != vkind::string)
      return "expected a list of quoted strings, got " + describe(item) + " in the list";
    out.push_back(item.text);
  }
  return std::nullopt;
}

/// Checks one space name; returns what is wrong with it.
maybe_message check_space_name(const std::string& name) {
  if (name.empty()) return "a space name is empty";
  if (name == "default")
    return "\"default\" is reserved (RocksDB's default column family) and cannot name a space";
  if (name.size() > max_name_length)
    return "space name " + quoted(name) + " is longer than " + std::to_string(max_name_length) +
           " characters";
  for (char c : name)
    if (!is_name_char(c))
      return "space name " + quoted(name) + " contains " + describe(c) +
             " (allowed: A-Z a-z 0-9 _ . -)";
  // Each dotted part must start like a CAF section name so that [space.NAME]
  // stays readable by CAF.
  for (size_t i = 0; i < name.size(); ++i) {
    bool part_start = i == 0 || name[i - 1] == '.';
    if (part_start && !is_word_start(name[i]))
      return "space name " + quoted(name) +
             " must start with A-Z a-z 0-9 or _, also after each '.'";
  }
  return std::nullopt;
}

/// The rules of validate(), reporting the first problem found.
maybe_failure check_options(const options& o) {
  if (o.backend != backend_kind::rocksdb && o.backend != backend_kind::memory)
    return failure{"store.backend", 0,
                   "unknown backend value " + std::to_string(static_cast<int>(o.backend))};
  maybe_failure result;
  for_each_field(
      o, [&](std::string_view section, std::string_view key, const auto& field, const rule& r) {
        if (result) return;
        if (auto msg = check(field, r))
          result = failure{std::string(section) + "." + std::string(key), 0, std::move(*msg)};
      });
  if (result) return result;
  if (o.backend == backend_kind::rocksdb && o.db.path.empty())
    return failure{"store.path", 0, "must not be empty when the backend is rocksdb"};
  if (o.db.path.find('\0') != std::string::npos)
    return failure{"store.path", 0, "contains a NUL byte"};
  const auto& spaces = o.schema.spaces;
  if (spaces.empty()) return failure{"store.spaces", 0, "at least one space is required"};
  if (spaces.size() > max_spaces)
    return failure{"store.spaces", 0,
                   std::to_string(spaces.size()) + " spaces exceed the maximum of " +
                       std::to_string(max_spaces)};
  std::set<std::string_view> names;
  for (const auto& s : spaces) {
    if (auto msg = check_space_name(s.name)) return failure{"store.spaces", 0, std::move(*msg)};
    if (!names.insert(s.name).second)
      return failure{"store.spaces", 0, "duplicate space name " + quoted(s.name)};
  }
  for (const auto& s : spaces) {
    auto prefix = std::string(space_prefix) + s.name + ".";
    auto c = s.options.comp;
    if (!parse_compression(vstore::to_name(c)))
      return failure{prefix + "compression", 0,
                     "unknown compression value " + std::to_string(static_cast<int>(c))};
    for_each_space_field(s.options, [&](std::string_view key, const auto& field, const rule& r) {
      if (result) return;
      if (auto msg = check(field, r))
        result = failure{prefix + std::string(key), 0, std::move(*msg)};
    });
    if (result) return result;
  }
  // Rules that span fields, after every field is in its own range.
  const auto& su = o.supervisor;
  if (su.stall_abort >= su.internal_timeout)
    return failure{"supervisor.stall-abort", 0,
                   format_duration(su.stall_abort) +
                       " is not less than supervisor.internal-timeout (" +
                       format_duration(su.internal_timeout) +
                       "): a stalled multi-space batch must be aborted before the requests "
                       "waiting for it time out"};
  if (o.db.recovery_backoff > o.db.recovery_backoff_max)
    return failure{"store.recovery-backoff", 0,
                   format_duration(o.db.recovery_backoff) +
                       " exceeds store.recovery-backoff-max (" +
                       format_duration(o.db.recovery_backoff_max) + ")"};
  return std::nullopt;
}

/// Returns the per-space options a newly listed space starts with.
space_options initial_space_options(const schema& current, const std::string& name) {
  if (auto id = current.find(name)) return current.spaces[*id].options;
  auto defaults = default_schema();
  if (auto id = defaults.find(name)) return defaults.spaces[*id].options;
  return space_options{};
}

/// The log levels vstored accepts (spdlog's names).
constexpr std::string_view log_levels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

/// Sets an optional field through assign() (the rules of every other key).
template <class T>
maybe_message assign_opt(const value& v, const rule& r, std::optional<T>& field) {
  T x{};
  if (auto msg = assign(v, r, x)) return msg;
  field = std::move(x);
  return std::nullopt;
}

maybe_message assign_path(const value& v, std::optional<std::string>& field) {
  std::string x;
  if (auto msg = assign(v, text_rule, x)) return msg;
  if (x.empty()) return std::string("must not be empty");
  if (x.find('\0') != std::string::npos) return std::string("contains a NUL byte");
  field = std::move(x);
  return std::nullopt;
}

/// Applies one key of [vstored]; sets `found` when the key is known.
maybe_message apply_server(const entry& e, server_settings& s, bool& found) {
  found = true;
  const auto& k = e.key;
  const auto& v = e.val;
  if (k == "data-dir") return assign_path(v, s.data_dir);
  if (k == "memory") return assign_opt(v, flag_rule, s.memory);
  if (k == "host") return assign_path(v, s.host);
  if (k == "tls-cert") return assign_path(v, s.tls_cert);
  if (k == "tls-key") return assign_path(v, s.tls_key);
  if (k == "tls-ca") return assign_path(v, s.tls_ca);
  if (k == "admin-host") return assign_path(v, s.admin_host);
  if (k == "admin-tls-ca") return assign_path(v, s.admin_tls_ca);
  if (k == "read-host") return assign_path(v, s.read_host);
  if (k == "read-tls-ca") return assign_path(v, s.read_tls_ca);
  auto port = [&v](std::optional<uint16_t>& field) -> maybe_message {
    uint64_t x = 0;
    if (auto msg = to_u64(v, number(0, 65535), x)) return msg;
    field = static_cast<uint16_t>(x);
    return std::nullopt;
  };
  if (k == "port") return port(s.port);
  if (k == "admin-port") return port(s.admin_port);
  if (k == "read-port") return port(s.read_port);
  if (k == "role") {
    std::string x;
    if (auto msg = assign(v, text_rule, x)) return msg;
    if (auto r = parse_role(x)) {
      s.role = *r;
      return std::nullopt;
    }
    return "unknown role " + quoted(x) + " (expected \"read\", \"write\" or \"admin\")";
  }
  if (k == "heartbeat-interval")
    return assign_opt(v, duration(0, ms_per_hour), s.heartbeat_interval);
  if (k == "connection-timeout")
    return assign_opt(v, duration(0, max_duration_ms), s.connection_timeout);
  if (k == "max-threads") return assign_opt(v, number(1, 1024), s.max_threads);
  if (k == "status-timeout") return assign_opt(v, duration(10, ms_per_minute), s.status_timeout);
  if (k == "log-level") {
    std::string x;
    if (auto msg = assign(v, text_rule, x)) return msg;
    for (auto name : log_levels) {
      if (x == name) {
        s.log_level = std::move(x);
        return std::nullopt;
      }
    }
    return "unknown log level " + quoted(x) +
           " (expected trace, debug, info, warn, error, critical or off)";
  }
  if (k == "status-addr") {
    std::string x;
    if (auto msg = assign(v, text_rule, x)) return msg;
    std::string error;
    if (!parse_host_port(x, &error)) return error;
    s.status_addr = std::move(x);
    return std::nullopt;
  }
  found = false;
  return std::nullopt;
}

/// Second pass: applies the entries to `o` and `server` (already copies of
/// the caller's).
maybe_failure apply(const parsed& p, options& o, server_settings& server) {
  // The list of spaces first: [space.NAME] sections may precede it.
  for (const auto& e : p.entries) {
    if (e.section != "store" || e.key != "spaces") continue;
    std::vector<std::string> names;
    if (auto msg = to_string_list(e.val, names)) return failure{"store.spaces", e.line, *msg};
    schema s;
    for (auto& name : names) {
      space_def d;
      d.options = initial_space_options(o.schema, name);
      d.name = std::move(name);
      s.spaces.push_back(std::move(d));
    }
    o.schema = std::move(s);
  }
  for (const auto& h : p.space_headers)
    if (!o.schema.find(h.name))
      return failure{std::string(space_prefix) + h.name, h.line,
                     "unknown space " + quoted(h.name) + " (not listed in store.spaces)"};
  for (const auto& e : p.entries) {
    auto where = e.section + "." + e.key;
    if (e.section == "store" && e.key == "spaces") continue;
    if (e.section == "store" && e.key == "backend") {
      if (e.val.kind != vkind::string)
        return failure{where, e.line, "expected a quoted string, got " + describe(e.val)};
      auto b = parse_backend(e.val.text);
      if (!b)
        return failure{
            where, e.line,
            "unknown backend " + quoted(e.val.text) + " (expected \"rocksdb\" or \"memory\")"};
      o.backend = *b;
      continue;
    }
    if (e.section == "store" && e.key == "log-level") {
      if (e.val.kind != vkind::string)
        return failure{where, e.line, "expected a quoted string, got " + describe(e.val)};
      auto level = parse_log_level(e.val.text);
      if (!level)
        return failure{where, e.line,
                       "unknown log level " + quoted(e.val.text) +
                           " (expected \"trace\", \"debug\", \"info\", \"warn\", \"error\", "
                           "\"critical\" or \"off\")"};
      o.logging = *level;
      continue;
    }
    maybe_message msg;
    bool found = false;
    if (e.section == "vstored") {
      msg = apply_server(e, server, found);
    } else if (e.section.compare(0, space_prefix.size(), space_prefix) == 0) {
      auto id = o.schema.find(std::string_view(e.section).substr(space_prefix.size()));
      if (!id) return failure{where, e.line, "unknown space"};  // checked above
      auto& so = o.schema.spaces[*id].options;
      if (e.key == "compression") {
        found = true;
        if (e.val.kind != vkind::string) {
          msg = "expected a quoted string, got " + describe(e.val);
        } else if (auto c = parse_compression(e.val.text)) {
          so.comp = *c;
        } else {
          msg = "unknown compression " + quoted(e.val.text) +
                " (expected none, snappy, zlib, bzip2, lz4 or zstd)";
        }
      }
      for_each_space_field(so, [&](std::string_view key, auto& field, const rule& r) {
        if (found || key != e.key) return;
        found = true;
        msg = assign(e.val, r, field);
      });
    } else {
      for_each_field(
          o, [&](std::string_view section, std::string_view key, auto& field, const rule& r) {
            if (found || section != e.section || key != e.key) return;
            found = true;
            msg = assign(e.val, r, field);
          });
    }
    if (!found && e.section == "writer" && e.key == "detached-committer")
      return failure{where, e.line,
                     "writer.detached-committer was replaced by writer.inline-commits (the "
                     "commit actor now always keeps synced and slow writes on its own thread)"};
    if (!found) return failure{where, e.line, "unknown key in [" + e.section + "]"};
    if (msg) return failure{where, e.line, std::move(*msg)};
  }
  return std::nullopt;
}

/// Appends `key = value` (with an optional trailing comment) to `out`.
void put(std::string& out, std::string_view key, std::string_view val,
         std::string_view comment = {}) {
  out += key;
  out += " = ";
  out += val;
  if (!comment.empty()) {
    out += "  ; ";
    out += comment;
  }
  out += '\n';
}

std::string quote_ini(std::string_view s) {
  std::string out = "\"";
  for (char c : s) append_escaped(out, c, true);
  out += '"';
  return out;
}

/// Renders one scalar option for to_ini().
void put_field(std::string& out, std::string_view key, bool x, const rule&) {
  put(out, key, x ? "true" : "false");
}

void put_field(std::string& out, std::string_view key, const std::string& x, const rule&) {
  put(out, key, quote_ini(x));
}

void put_field(std::string& out, std::string_view key, uint64_t x, const rule& r) {
  auto human = format_bytes(x);
  bool comment = r.k == kind::bytes && human != std::to_string(x);
  put(out, key, std::to_string(x), comment ? std::string_view(human) : std::string_view());
}

void put_field(std::string& out, std::string_view key, uint32_t x, const rule& r) {
  put_field(out, key, static_cast<uint64_t>(x), r);
}

void put_field(std::string& out, std::string_view key, milliseconds x, const rule&) {
  put(out, key, format_duration(x));
}

void put_field(std::string& out, std::string_view key, seconds x, const rule& r) {
  if (x.count() < 0 || static_cast<uint64_t>(x.count()) > ms_max / ms_per_second) {
    put(out, key, std::to_string(x.count()) + "s");  // out of range: validate() refuses it
    return;
  }
  put_field(out, key, std::chrono::duration_cast<milliseconds>(x), r);
}

}  // namespace

status parse_ini(std::string_view text, options& out) {
  server_settings ignored;
  return parse_ini(text, out, ignored);
}

status parse_ini(std::string_view text, options& out, server_settings& server) {
  parsed p;
  if (auto f = ini_reader{text}.run(p)) return to_status(*f);
  auto o = out;
  auto srv = server;
  if (auto f = apply(p, o, srv)) return to_status(*f);
  if (auto f = check_options(o)) {
    // Name the line that set the offending key, if the text set it.
    for (const auto& e : p.entries)
      if (f->where == e.section + "." + e.key) f->line = e.line;
    return to_status(*f);
  }
  out = std::move(o);
  server = std::move(srv);
  return status{};
}

status validate(const options& o) {
  if (auto f = check_options(o)) return to_status(*f);
  return status{};
}

status load_file(const std::string& path, options& out) {
  server_settings ignored;
  return load_file(path, out, ignored);
}

status load_file(const std::string& path, options& out, server_settings& server) {
  auto fail = [&](const std::string& what) {
    return status{errc::invalid_config, path + ": " + what};
  };
  if (path.empty()) return fail("empty path");
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return fail("cannot open: " + std::error_code(errno, std::generic_category()).message());
  std::string text;
  char buf[16384];
  bool error = false;
  for (;;) {
    auto n = std::fread(buf, 1, sizeof(buf), f);
    text.append(buf, n);
    if (text.size() > max_file_size) break;
    if (n < sizeof(buf)) {
      error = std::ferror(f) != 0;
      break;
    }
  }
  int err = errno;
  std::fclose(f);
  if (error) return fail("cannot read: " + std::error_code(err, std::generic_category()).message());
  if (text.size() > max_file_size) return fail("file is larger than 16 MiB");
  auto st = parse_ini(text, out, server);
  if (!st) return fail(st.context());
  return st;
}

std::string to_ini(const options& o) {
  std::string out;
  out += "; vstore configuration (rendered by vstore::config::to_ini)\n";
  auto section = [&](std::string_view name) {
    out += "\n[";
    out += name;
    out += "]\n";
    for_each_field(
        o, [&](std::string_view sec, std::string_view key, const auto& field, const rule& r) {
          if (sec == name) put_field(out, key, field, r);
        });
  };
  out += "\n[store]\n";
  put(out, "backend", quote_ini(to_name(o.backend)));
  put(out, "log-level", quote_ini(to_name(o.logging)));
  for_each_field(o,
                 [&](std::string_view sec, std::string_view key, const auto& field, const rule& r) {
                   if (sec == "store") put_field(out, key, field, r);
                 });
  out += "spaces = [\n";
  for (size_t i = 0; i < o.schema.spaces.size(); ++i) {
    out += "  ";
    out += quote_ini(o.schema.spaces[i].name);
    out += i + 1 < o.schema.spaces.size() ? ",\n" : "\n";
  }
  out += "]\n";
  for (const auto& s : o.schema.spaces) {
    out += "\n[";
    out += space_prefix;
    out += s.name;
    out += "]\n";
    put(out, "compression", quote_ini(vstore::to_name(s.options.comp)));
    for_each_space_field(s.options, [&](std::string_view key, const auto& field, const rule& r) {
      put_field(out, key, field, r);
    });
  }
  section("reader");
  section("writer");
  section("limits");
  section("supervisor");
  section("tokens");
  section("replication");
  return out;
}

bool parse_bytes(std::string_view text, uint64_t& out) {
  uint64_t x = 0;
  if (read_bytes(text, x) != num::ok) return false;
  out = x;
  return true;
}

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) {
  milliseconds x{0};
  if (read_duration(text, x) != num::ok) return false;
  out = x;
  return true;
}

std::string format_duration(std::chrono::milliseconds x) {
  auto ms = x.count();
  if (ms != 0 && ms % static_cast<milliseconds::rep>(ms_per_hour) == 0)
    return std::to_string(ms / static_cast<milliseconds::rep>(ms_per_hour)) + "h";
  if (ms != 0 && ms % static_cast<milliseconds::rep>(ms_per_minute) == 0)
    return std::to_string(ms / static_cast<milliseconds::rep>(ms_per_minute)) + "min";
  if (ms != 0 && ms % static_cast<milliseconds::rep>(ms_per_second) == 0)
    return std::to_string(ms / static_cast<milliseconds::rep>(ms_per_second)) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_bytes(uint64_t x) {
  if (x != 0 && x % gib == 0) return std::to_string(x / gib) + "GiB";
  if (x != 0 && x % mib == 0) return std::to_string(x / mib) + "MiB";
  if (x != 0 && x % kib == 0) return std::to_string(x / kib) + "KiB";
  return std::to_string(x);
}

const char* to_name(backend_kind x) noexcept {
  switch (x) {
    case backend_kind::rocksdb:
      return "rocksdb";
    case backend_kind::memory:
      return "memory";
  }
  return "?";
}

const char* to_name(peer_role x) noexcept {
  switch (x) {
    case peer_role::read:
      return "read";
    case peer_role::write:
      return "write";
    case peer_role::admin:
      return "admin";
  }
  return "?";
}

std::optional<peer_role> parse_role(std::string_view name) {
  if (name == "read") return peer_role::read;
  if (name == "write") return peer_role::write;
  if (name == "admin") return peer_role::admin;
  return std::nullopt;
}

std::optional<backend_kind> parse_backend(std::string_view name) {
  if (name == "rocksdb") return backend_kind::rocksdb;
  if (name == "memory") return backend_kind::memory;
  return std::nullopt;
}

const char* to_name(log_level x) noexcept {
  switch (x) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::critical:
      return "critical";
    case log_level::off:
      return "off";
  }
  return "?";
}

std::optional<log_level> parse_log_level(std::string_view name) {
  for (auto x : {log_level::trace, log_level::debug, log_level::info, log_level::warn,
                 log_level::error, log_level::critical, log_level::off})
    if (name == to_name(x)) return x;
  return std::nullopt;
}

namespace {

/// Returns whether `section` is `name` or a dotted subsection of it.
bool is_section_or_sub(std::string_view section, std::string_view name) {
  if (section == name) return true;
  return section.size() > name.size() && section.compare(0, name.size(), name) == 0 &&
         section[name.size()] == '.';
}

}  // namespace

bool is_foreign_section(std::string_view section) noexcept {
  return is_section_or_sub(section, "cli");
}

bool is_caf_section(std::string_view section) noexcept {
  for (std::string_view s : {"scheduler", "middleman", "openssl", "logger", "stream", "caf"})
    if (is_section_or_sub(section, s)) return true;
  return false;
}

std::optional<host_port> parse_host_port(std::string_view text, std::string* error) {
  auto fail = [&](std::string what) -> std::optional<host_port> {
    if (error != nullptr)
      *error = quoted(text) + ": " + std::move(what) +
               " (expected HOST:PORT with an IP address, e.g. 127.0.0.1:9464 or [::1]:9464)";
    return std::nullopt;
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("no ':PORT'");
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  bool v6 = false;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return fail("unbalanced '[' in the host");
    host = host.substr(1, host.size() - 2);
    v6 = true;
  }
  if (host.empty()) return fail("no host: give the address to bind explicitly");
  std::string h(host);
  in_addr a4{};
  in6_addr a6{};
  if (v6 ? inet_pton(AF_INET6, h.c_str(), &a6) != 1 : inet_pton(AF_INET, h.c_str(), &a4) != 1)
    return fail(v6 ? "not an IPv6 address" : "not an IPv4 address (IPv6 goes in brackets)");
  uint64_t port = 0;
  if (read_unsigned(port_text, port) != num::ok || port > 65535)
    return fail("not a port number (0..65535)");
  return host_port{std::move(h), static_cast<uint16_t>(port)};
}

bool is_loopback(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  in_addr a4{};
  if (inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

}  // namespace vstore::config
