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

/// Escapes a Prometheus label value.
std::string label(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
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
         " ops), aborted batches: " + std::to_string(s.aborted_batches) +
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
  out += "  \"aborted_batches\": " + std::to_string(s.aborted_batches) + ",\n";
  out += "  \"committer_restarts\": " + std::to_string(s.committer_restarts) + ",\n";
  out += "  \"writes_not_applied\": " + std::to_string(s.writes_not_applied) + ",\n";
  out += "  \"writes_in_doubt\": " + std::to_string(s.writes_in_doubt) + ",\n";
  out += "  \"duplicates\": " + std::to_string(s.duplicates) + ",\n";
  out += "  \"tokens\": " + std::to_string(s.tokens) + ",\n";
  out += "  \"tokens_forgotten\": " + std::to_string(s.tokens_forgotten) + ",\n";
  const auto& h = s.health;
  out += "  \"health\": {\"state\": " + json_string(h.state) +
         ", \"code\": " + json_string(h.code) + ", \"message\": " + json_string(h.message) +
         ", \"since_unix_ms\": " + std::to_string(h.since_unix_ms) +
         ", \"recoveries\": " + std::to_string(h.recoveries) +
         ", \"recovery_attempts\": " + std::to_string(h.recovery_attempts) + ", \"free_bytes\": " +
         (h.free_bytes == UINT64_MAX ? "null" : std::to_string(h.free_bytes)) +
         ", \"writes_in_flight\": " + std::to_string(h.writes_in_flight) +
         ", \"oldest_write_ms\": " + std::to_string(h.oldest_write_ms) + "}\n}\n";
  return out;
}

std::string stats_prometheus(const stats_reply& s) {
  std::string out;
  auto header = [&out](const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto per_space = [&](const char* name, const char* type, const char* help,
                       const std::function<uint64_t(const space_stats&)>& get) {
    header(name, type, help);
    for (const auto& sp : s.spaces)
      out += std::string{name} + "{space=\"" + label(sp.name) + "\"} " + std::to_string(get(sp)) +
             "\n";
  };
  per_space("vstore_up", "gauge", "1 if the state space serves requests, 0 if it failed.",
            [](const space_stats& x) -> uint64_t { return x.state == "ok" ? 1 : 0; });
  per_space("vstore_reads_total", "counter", "Reads answered successfully.",
            [](const space_stats& x) { return x.reads; });
  per_space("vstore_writes_total", "counter", "Write commands acknowledged.",
            [](const space_stats& x) { return x.writes; });
  per_space("vstore_reads_queued", "gauge", "Reads admitted whose reader has not answered yet.",
            [](const space_stats& x) { return x.reads_queued; });
  per_space("vstore_writes_queued", "gauge", "Writes admitted and not settled yet.",
            [](const space_stats& x) { return x.writes_queued; });
  per_space("vstore_commits_total", "counter", "Batches sealed by the space's writer.",
            [](const space_stats& x) { return x.commits; });
  per_space("vstore_ops_total", "counter", "Operations in the sealed batches.",
            [](const space_stats& x) { return x.ops; });
  per_space("vstore_bytes_total", "counter", "Key and value bytes in the sealed batches.",
            [](const space_stats& x) { return x.bytes; });
  per_space("vstore_restarts_total", "counter", "Restarts of the space's readers and writer.",
            [](const space_stats& x) { return x.restarts; });
  per_space("vstore_write_latency_p50_microseconds", "gauge",
            "Median commit latency of write commands (upper bound of its power-of-two bucket).",
            [](const space_stats& x) { return latency_percentile(x.latency_us, 0.5); });
  per_space("vstore_write_latency_p99_microseconds", "gauge",
            "99th percentile commit latency of write commands (upper bound of its bucket).",
            [](const space_stats& x) { return latency_percentile(x.latency_us, 0.99); });
  header("vstore_flushes_total", "counter", "Sealed batches by the reason of the flush.");
  for (const auto& sp : s.spaces)
    for (size_t i = 0; i < flush_reason_count; ++i)
      out += "vstore_flushes_total{space=\"" + label(sp.name) + "\",reason=\"" +
             to_name(static_cast<flush_reason>(i)) + "\"} " + std::to_string(at(sp.flushes, i)) +
             "\n";
  header("vstore_errors_total", "counter", "Errors answered, by error code.");
  for (const auto& sp : s.spaces)
    for (uint8_t c = 1; c <= errc_max; ++c)
      out += "vstore_errors_total{space=\"" + label(sp.name) + "\",code=\"" +
             to_name(static_cast<errc>(c)) + "\"} " + std::to_string(at(sp.errors, c)) + "\n";
  auto global = [&](const char* name, const char* help, uint64_t v) {
    header(name, "counter", help);
    out += std::string{name} + " " + std::to_string(v) + "\n";
  };
  global("vstore_commit_rounds_total", "Backend commits (one DB::Write each).", s.rounds);
  global("vstore_commit_round_ops_total", "Operations in the backend commits.", s.round_ops);
  global("vstore_aborted_batches_total", "Multi-space batches aborted because a part was lost.",
         s.aborted_batches);
  global("vstore_committer_restarts_total", "Restarts of the commit actor.", s.committer_restarts);
  global("vstore_write_errors_not_applied_total",
         "Write errors whose write was not applied and never will be.", s.writes_not_applied);
  global("vstore_write_errors_in_doubt_total",
         "Write errors whose write may have committed (in doubt).", s.writes_in_doubt);
  global("vstore_duplicate_writes_total",
         "Writes not applied again because their token had committed.", s.duplicates);
  global("vstore_tokens_forgotten_total", "Idempotency tokens forgotten by retention.",
         s.tokens_forgotten);
  header("vstore_tokens", "gauge", "Idempotency tokens remembered now.");
  out += "vstore_tokens " + std::to_string(s.tokens) + "\n";
  const auto& h = s.health;
  header(
      "vstore_health", "gauge",
      "1 for the store's health state (ok, degraded: writes refused, failed), 0 for the others.");
  for (const char* state : {"ok", "degraded", "failed"})
    out += std::string{"vstore_health{state=\""} + state + "\"} " + (h.state == state ? "1" : "0") +
           "\n";
  global("vstore_recoveries_total", "Times the store returned to ok by itself.", h.recoveries);
  global("vstore_recovery_attempts_total", "Recovery attempts while the store was not ok.",
         h.recovery_attempts);
  if (h.free_bytes != UINT64_MAX) {
    header("vstore_free_bytes", "gauge", "Free bytes on the data directory's file system.");
    out += "vstore_free_bytes " + std::to_string(h.free_bytes) + "\n";
  }
  header("vstore_writes_in_flight", "gauge", "Writes admitted and not settled.");
  out += "vstore_writes_in_flight " + std::to_string(h.writes_in_flight) + "\n";
  header("vstore_oldest_write_milliseconds", "gauge",
         "Age of the oldest write in flight (grows while the backend is stalled).");
  out += "vstore_oldest_write_milliseconds " + std::to_string(h.oldest_write_ms) + "\n";
  return out;
}

}  // namespace vstore::cli
