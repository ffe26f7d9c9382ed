#include "tools/vstore/format.hpp"

#include "tools/common/json.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::cli {

using tools::json_string;

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint64_t at(const std::vector<uint64_t>& v, size_t i) { return i < v.size() ? v[i] : 0; }

uint64_t sum(const std::vector<uint64_t>& v) {
  uint64_t n = 0;
  for (auto x : v) n += x;
  return n;
}

}  // namespace

std::string escape(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u >= 0x20 && u <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += hex_digits[u >> 4];
      out += hex_digits[u & 0xf];
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'x': {
        if (i + 2 >= text.size()) return std::nullopt;
        auto hi = hex_value(text[i + 1]);
        auto lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += hex_digits[u >> 4];
    out += hex_digits[u & 0xf];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto hi = hex_value(hex[i]);
    auto lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string stats_table(const stats_reply& s) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"space", "state", "reads", "writes", "commits", "ops", "bytes", "queued_r",
                  "queued_w", "p50_us", "p99_us", "restarts", "errors"});
  for (const auto& sp : s.spaces) {
    rows.push_back({sp.name, sp.state, std::to_string(sp.reads), std::to_string(sp.writes),
                    std::to_string(sp.commits), std::to_string(sp.ops), std::to_string(sp.bytes),
                    std::to_string(sp.reads_queued), std::to_string(sp.writes_queued),
                    std::to_string(latency_percentile(sp.latency_us, 0.5)),
                    std::to_string(latency_percentile(sp.latency_us, 0.99)),
                    std::to_string(sp.restarts), std::to_string(sum(sp.errors))});
  }
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      // Names and states left-aligned, numbers right-aligned.
      auto pad = std::string(width[i] - r[i].size(), ' ');
      out += i < 2 ? r[i] + pad : pad + r[i];
      out += i + 1 < r.size() ? "  " : "\n";
    }
  }
  out += "commit rounds: " + std::to_string(s.rounds) + " (" + std::to_string(s.round_ops) +
         " ops; " + std::to_string(s.rounds_offloaded) + " on the I/O thread, " +
         std::to_string(s.slow_rounds) +
         " slow inline), aborted batches: " + std::to_string(s.aborted_batches) +
         ", committer restarts: " + std::to_string(s.committer_restarts) + "\n";
  out += "write errors: " + std::to_string(s.writes_not_applied) + " not applied, " +
         std::to_string(s.writes_in_doubt) + " in doubt; tokens: " + std::to_string(s.tokens) +
         " remembered, " + std::to_string(s.tokens_forgotten) + " forgotten, " +
         std::to_string(s.duplicates) + " duplicate writes not applied again\n";
  out += health_text(s.health);
  return out;
}

std::string health_text(const health_report& h) {
  std::string out = "health: " + h.state;
  if (!h.code.empty()) out += " (writes refused: " + h.code + ")";
  if (h.since_unix_ms > 0) {
    auto t = static_cast<std::time_t>(h.since_unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out += std::string{" since "} + when;
  }
  if (h.recoveries > 0 || h.recovery_attempts > 0)
    out += ", " + std::to_string(h.recoveries) + " recoveries";
  out += "\n";
  if (!h.message.empty()) out += (h.state == "ok" ? "last error: " : "error: ") + h.message + "\n";
  if (h.free_bytes != UINT64_MAX)
    out += "free space: " + std::to_string(h.free_bytes / (1024 * 1024)) + " MiB\n";
  out += "writes in flight: " + std::to_string(h.writes_in_flight);
  if (h.writes_in_flight > 0) out += ", oldest " + std::to_string(h.oldest_write_ms) + " ms";
  if (h.oldest_write_ms >= 5000) out += " (stalled?)";
  out += "\n";
  return out;
}

std::string stats_json(const stats_reply& s) {
  std::string out = "{\n  \"spaces\": [";
  for (size_t n = 0; n < s.spaces.size(); ++n) {
    const auto& sp = s.spaces[n];
    out += n == 0 ? "\n" : ",\n";
    out += "    {\"name\": " + json_string(sp.name) + ", \"state\": " + json_string(sp.state);
    auto field = [&out](const char* k, uint64_t v) {
      out += ", \"";
      out += k;
      out += "\": " + std::to_string(v);
    };
    field("reads_queued", sp.reads_queued);
    field("writes_queued", sp.writes_queued);
    field("reads", sp.reads);
    field("writes", sp.writes);
    field("reads_batched", sp.reads_batched);
    field("commits", sp.commits);
    field("ops", sp.ops);
    field("bytes", sp.bytes);
    field("restarts", sp.restarts);
    out += ", \"flushes\": {";
    for (size_t i = 0; i < flush_reason_count; ++i) {
      if (i > 0) out += ", ";
      out += json_string(to_name(static_cast<flush_reason>(i))) + ": " +
             std::to_string(at(sp.flushes, i));
    }
    out +=
        "}, \"latency_us\": {\"p50\": " + std::to_string(latency_percentile(sp.latency_us, 0.5)) +
        ", \"p99\": " + std::to_string(latency_percentile(sp.latency_us, 0.99)) +
        ", \"buckets\": [";
    for (size_t i = 0; i < sp.latency_us.size(); ++i) {
      if (i > 0) out += ", ";
      out += std::to_string(sp.latency_us[i]);
    }
    out += "]}, \"errors\": {";
    bool first = true;
    for (uint8_t c = 1; c <= errc_max; ++c) {
      auto v = at(sp.errors, c);
      if (v == 0) continue;
      if (!first) out += ", ";
      first = false;
      out += json_string(to_name(static_cast<errc>(c))) + ": " + std::to_string(v);
    }
    out += "}}";
  }
  out += s.spaces.empty() ? "],\n" : "\n  ],\n";
  out += "  \"rounds\": " + std::to_string(s.rounds) + ",\n";
  out += "  \"round_ops\": " + std::to_string(s.round_ops) + ",\n";
  out += "  \"rounds_offloaded\": " + std::to_string(s.rounds_offloaded) + ",\n";
  out += "  \"slow_rounds\": " + std::to_string(s.slow_rounds) + ",\n";
  out += "  \"aborted_batches\": " + std::to_string(s.aborted_batches) + ",\n";
  out += "  \"committer_restarts\": " + std::to_string(s.committer_restarts) + ",\n";
  out += "  \"writes_not_applied\": " + std::to_string(s.writes_not_applied) + ",\n";
  out += "  \"writes_in_doubt\": " + std::to_string(s.writes_in_doubt) + ",\n";
  out += "  \"duplicates\": " + std::to_string(s.duplicates) + ",\n";
  out += "  \"tokens\": " + std::to_string(s.tokens) + ",\n";
  out += "  \"tokens_forgotten\": " + std::to_string(s.tokens_forgotten) + ",\n";
  out += "  \"health\": " + health_json(s.health) + "\n}\n";
  return out;
}

std::string health_json(const health_report& h) {
  return "{\"state\": " + json_string(h.state) + ", \"code\": " + json_string(h.code) +
         ", \"message\": " + json_string(h.message) +
         ", \"since_unix_ms\": " + std::to_string(h.since_unix_ms) +
         ", \"recoveries\": " + std::to_string(h.recoveries) +
         ", \"recovery_attempts\": " + std::to_string(h.recovery_attempts) + ", \"free_bytes\": " +
         (h.free_bytes == UINT64_MAX ? "null" : std::to_string(h.free_bytes)) +
         ", \"writes_in_flight\": " + std::to_string(h.writes_in_flight) +
         ", \"oldest_write_ms\": " + std::to_string(h.oldest_write_ms) + "}";
}

std::string info_json(const status_reply& r) {
  std::string out =
      "{\"backend\": " + json_string(r.backend) + ", \"sequence\": " + std::to_string(r.sequence) +
      ", \"uptime_ms\": " + std::to_string(r.uptime_ms) +
      ", \"shutting_down\": " + (r.shutting_down ? "true" : "false") + ", \"spaces\": [";
  for (size_t i = 0; i < r.spaces.size(); ++i) {
    if (i > 0) out += ", ";
    out += "{\"id\": " + std::to_string(i) + ", \"name\": " + json_string(r.spaces[i]) +
           ", \"state\": " + json_string(i < r.states.size() ? r.states[i] : "unknown") + "}";
  }
  out += "], \"health\": " + health_json(r.health) +
         ", \"replication\": " + replication_json(r.replication) + "}\n";
  return out;
}

std::string info_text(const status_reply& r) {
  std::string out = "backend: " + r.backend + "\nsequence: " + std::to_string(r.sequence) +
                    "\nuptime_ms: " + std::to_string(r.uptime_ms) +
                    "\nshutting_down: " + (r.shutting_down ? "true" : "false") + "\nspaces:\n";
  for (size_t i = 0; i < r.spaces.size(); ++i)
    out += "  " + std::to_string(i) + " " + r.spaces[i] + " " +
           (i < r.states.size() ? r.states[i] : "?") + "\n";
  out += health_text(r.health);
  out += replication_text(r.replication);
  return out;
}

std::string replication_text(const replication_status& r) {
  std::string out = "role: " + r.role + "\n";
  if (r.role == "replica") {
    const auto& v = r.replica;
    out += "  primary: " + escape(v.primary) + "\n";
    out += "  state: " + v.state + "\n";
    out += "  applied_seq: " + std::to_string(v.applied_seq) + "\n";
    out += "  primary_seq: " + std::to_string(v.primary_seq) + "\n";
    out +=
        "  lag: " + std::to_string(v.lag_seq) + " sequences, " + std::to_string(v.lag_ms) + " ms\n";
    out += "  last_contact_ms: " + std::to_string(v.last_contact_ms) + "\n";
    out += "  applied: " + std::to_string(v.batches) + " batches, " + std::to_string(v.bytes) +
           " bytes\n";
    out += "  reconnects: " + std::to_string(v.reconnects) +
           ", resyncs: " + std::to_string(v.resyncs) + "\n";
    out += "  last_error: " + (v.last_error.empty() ? std::string{"none"} : escape(v.last_error)) +
           "\n";
    return out;
  }
  out += "  snapshots_served: " + std::to_string(r.snapshots) + "\n";
  out += "  replicas: " + std::to_string(r.replicas.size()) + "\n";
  for (const auto& x : r.replicas)
    out += "    " + escape(x.node) + " applied_seq=" + std::to_string(x.applied_seq) +
           " last_seen_ms=" + std::to_string(x.last_seen_ms) +
           " bytes_sent=" + std::to_string(x.bytes_sent) + "\n";
  return out;
}

std::string replication_json(const replication_status& r) {
  std::string out = "{\"role\": " + json_string(r.role);
  if (r.role == "replica") {
    const auto& v = r.replica;
    out += ", \"replica\": {\"primary\": " + json_string(v.primary) +
           ", \"state\": " + json_string(v.state) +
           ", \"applied_seq\": " + std::to_string(v.applied_seq) +
           ", \"primary_seq\": " + std::to_string(v.primary_seq) +
           ", \"lag_seq\": " + std::to_string(v.lag_seq) +
           ", \"lag_ms\": " + std::to_string(v.lag_ms) +
           ", \"last_contact_ms\": " + std::to_string(v.last_contact_ms) +
           ", \"batches\": " + std::to_string(v.batches) +
           ", \"bytes\": " + std::to_string(v.bytes) +
           ", \"reconnects\": " + std::to_string(v.reconnects) +
           ", \"resyncs\": " + std::to_string(v.resyncs) +
           ", \"last_error\": " + json_string(v.last_error) + "}}";
    return out;
  }
  out += ", \"snapshots\": " + std::to_string(r.snapshots) + ", \"replicas\": [";
  for (size_t i = 0; i < r.replicas.size(); ++i) {
    const auto& x = r.replicas[i];
    if (i > 0) out += ", ";
    out += "{\"node\": " + json_string(x.node) +
           ", \"applied_seq\": " + std::to_string(x.applied_seq) +
           ", \"last_seen_ms\": " + std::to_string(x.last_seen_ms) +
           ", \"bytes_sent\": " + std::to_string(x.bytes_sent) + "}";
  }
  out += "]}";
  return out;
}

}  // namespace vstore::cli
