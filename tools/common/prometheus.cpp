#include "tools/common/prometheus.hpp"

#include <cstdint>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::prometheus {

namespace {

uint64_t at(const std::vector<uint64_t>& v, size_t i) { return i < v.size() ? v[i] : 0; }

/// Renders a whole number of microseconds as seconds, exactly ("0.000002").
std::string seconds_from_us(uint64_t us) {
  auto out = std::to_string(us / 1000000);
  auto frac = us % 1000000;
  if (frac == 0) return out;
  auto digits = std::to_string(frac);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

/// Builds the text: one family header, then its samples.
class exposition {
 public:
  /// Starts a metric family.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  /// Appends a sample; `labels` is empty or `a="x",b="y"` (values escaped).
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    sample(name, labels, std::to_string(value));
  }

  /// A family with one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string space_label(const space_stats& sp) { return "space=\"" + escape_label(sp.name) + "\""; }

std::string replica_label(const replica_seen& r) {
  return "replica=\"" + escape_label(r.node) + "\"";
}

/// A family with one sample per space.
template <class F>
void per_space(exposition& x, const stats_reply& s, std::string_view name, std::string_view type,
               std::string_view help, F get) {
  x.family(name, type, help);
  for (const auto& sp : s.spaces) x.sample(name, space_label(sp), get(sp));
}

/// The write latency histogram: space_stats::latency_us[i] counts commands
/// that took [2^i, 2^(i+1)) microseconds (the first bucket also holds 0 and
/// 1, the last everything above), so bucket i has the upper bound
/// le = 2^(i+1) us, and the last one is +Inf. The manager reports no sum of
/// the observed latencies, so there is no _sum sample.
void latency_histogram(exposition& x, const stats_reply& s) {
  constexpr std::string_view name = "vstore_write_latency_seconds";
  x.family(name, "histogram",
           "Commit latency of write commands (writer receipt to acknowledgement), in "
           "power-of-two buckets.");
  for (const auto& sp : s.spaces) {
    auto space = space_label(sp);
    uint64_t cumulative = 0;
    const auto& b = sp.latency_us;
    for (size_t i = 0; i + 1 < b.size() && i < 62; ++i) {
      cumulative += b[i];
      x.sample("vstore_write_latency_seconds_bucket",
               space + ",le=\"" + seconds_from_us(uint64_t{2} << i) + "\"", cumulative);
    }
    uint64_t total = 0;
    for (auto n : b) total += n;
    x.sample("vstore_write_latency_seconds_bucket", space + ",le=\"+Inf\"", total);
    x.sample("vstore_write_latency_seconds_sum", space, seconds_from_us(sp.latency_sum_us));
    x.sample("vstore_write_latency_seconds_count", space, total);
  }
}

void render_stats(exposition& x, const stats_reply& s) {
  per_space(x, s, "vstore_reads_total", "counter", "Reads answered successfully.",
            [](const space_stats& sp) { return sp.reads; });
  per_space(x, s, "vstore_writes_total", "counter", "Write commands acknowledged.",
            [](const space_stats& sp) { return sp.writes; });
  per_space(x, s, "vstore_reads_batched_total", "counter",
            "Point gets and scans sent to a reader in a batch (reader.batch-max).",
            [](const space_stats& sp) { return sp.reads_batched; });
  per_space(x, s, "vstore_reads_queued", "gauge",
            "Reads admitted whose reader has not answered yet.",
            [](const space_stats& sp) { return sp.reads_queued; });
  per_space(x, s, "vstore_writes_queued", "gauge", "Writes admitted and not settled yet.",
            [](const space_stats& sp) { return sp.writes_queued; });
  per_space(x, s, "vstore_commits_total", "counter",
            "Sealed batches the space's writer sent to the commit actor.",
            [](const space_stats& sp) { return sp.commits; });
  per_space(x, s, "vstore_ops_total", "counter", "Operations the space's writer flushed.",
            [](const space_stats& sp) { return sp.ops; });
  per_space(x, s, "vstore_bytes_total", "counter",
            "Key and value bytes the space's writer flushed.",
            [](const space_stats& sp) { return sp.bytes; });
  per_space(x, s, "vstore_restarts_total", "counter", "Restarts of the space's readers and writer.",
            [](const space_stats& sp) { return sp.restarts; });
  per_space(x, s, "vstore_write_latency_p50_microseconds", "gauge",
            "Median commit latency of write commands (upper bound of its power-of-two bucket).",
            [](const space_stats& sp) { return latency_percentile(sp.latency_us, 0.5); });
  per_space(x, s, "vstore_write_latency_p99_microseconds", "gauge",
            "99th percentile commit latency of write commands (upper bound of its bucket).",
            [](const space_stats& sp) { return latency_percentile(sp.latency_us, 0.99); });
  latency_histogram(x, s);
  x.family("vstore_flushes_total", "counter",
           "Flushes of the writer by reason (a sealed batch, or one that joined the last).");
  for (const auto& sp : s.spaces)
    for (size_t i = 0; i < flush_reason_count; ++i)
      x.sample("vstore_flushes_total",
               space_label(sp) + ",reason=\"" + to_name(static_cast<flush_reason>(i)) + "\"",
               at(sp.flushes, i));
  x.family("vstore_errors_total", "counter", "Errors answered, by error code.");
  for (const auto& sp : s.spaces)
    for (uint8_t c = 1; c <= errc_max; ++c)
      x.sample("vstore_errors_total",
               space_label(sp) + ",code=\"" + to_name(static_cast<errc>(c)) + "\"",
               at(sp.errors, c));
  x.single("vstore_commit_rounds_total", "counter", "Backend commits (one DB::Write each).",
           s.rounds);
  x.single("vstore_commit_round_ops_total", "counter", "Operations in the backend commits.",
           s.round_ops);
  x.single("vstore_commit_rounds_offloaded_total", "counter",
           "Backend commits written on the commit actor's I/O thread (fsync, stall, slow).",
           s.rounds_offloaded);
  x.single("vstore_commit_slow_inline_total", "counter",
           "Inline backend commits slower than writer.slow-commit.", s.slow_rounds);
  x.single("vstore_aborted_batches_total", "counter",
           "Multi-space batches aborted because a part was lost.", s.aborted_batches);
  x.single("vstore_committer_restarts_total", "counter", "Restarts of the commit actor.",
           s.committer_restarts);
  x.single("vstore_write_errors_not_applied_total", "counter",
           "Write errors whose write was not applied and never will be.", s.writes_not_applied);
  x.single("vstore_write_errors_in_doubt_total", "counter",
           "Write errors whose write may have committed (in doubt).", s.writes_in_doubt);
  x.single("vstore_duplicate_writes_total", "counter",
           "Writes not applied again because their token had committed.", s.duplicates);
  x.single("vstore_tokens_forgotten_total", "counter", "Idempotency tokens forgotten by retention.",
           s.tokens_forgotten);
  x.single("vstore_tokens", "gauge", "Idempotency tokens remembered now.", s.tokens);
  x.single("vstore_checkpoints_total", "counter", "Online checkpoints written.", s.checkpoints);
  const auto& h = s.health;
  x.family(
      "vstore_health", "gauge",
      "1 for the store's health state (ok, degraded: writes refused, failed), 0 for the others.");
  for (const char* state : {"ok", "degraded", "failed"})
    x.sample("vstore_health", std::string{"state=\""} + state + "\"", h.state == state ? 1 : 0);
  x.single("vstore_recoveries_total", "counter", "Times the store returned to ok by itself.",
           h.recoveries);
  x.single("vstore_recovery_attempts_total", "counter",
           "Recovery attempts while the store was not ok.", h.recovery_attempts);
  if (h.free_bytes != UINT64_MAX)
    x.single("vstore_free_bytes", "gauge", "Free bytes on the data directory's file system.",
             h.free_bytes);
  x.single("vstore_writes_in_flight", "gauge", "Writes admitted and not settled.",
           h.writes_in_flight);
  x.single("vstore_oldest_write_milliseconds", "gauge",
           "Age of the oldest write in flight (grows while the backend is stalled).",
           h.oldest_write_ms);
}

/// A gauge in seconds from whole milliseconds ("1.5").
void seconds_gauge(exposition& x, std::string_view name, std::string_view help, uint64_t ms) {
  x.family(name, "gauge", help);
  x.sample(name, {}, seconds_from_us(ms * 1000));
}

/// The replication part of status_reply: the role, then a replica's view of
/// its primary or a primary's view of its replicas.
void render_replication(exposition& x, const replication_status& r) {
  x.family("vstore_replication_role", "gauge",
           "1 for this node's replication role (primary, replica), 0 for the other.");
  for (const char* role : {"primary", "replica"})
    x.sample("vstore_replication_role", std::string{"role=\""} + role + "\"",
             r.role == role ? 1 : 0);
  if (r.role == "replica") {
    const auto& v = r.replica;
    x.single("vstore_replica_primary_up", "gauge",
             "1 while the replica follows its primary's log (state following), else 0.",
             v.state == "following" ? 1 : 0);
    x.single("vstore_replica_applied_sequence", "gauge",
             "The primary's sequence number this replica has applied through.", v.applied_seq);
    x.single("vstore_replica_primary_sequence", "gauge",
             "The primary's latest sequence number as last heard.", v.primary_seq);
    x.single("vstore_replica_lag_sequences", "gauge",
             "Sequence numbers the replica is behind its primary, as last heard.", v.lag_seq);
    seconds_gauge(x, "vstore_replica_lag_seconds",
                  "Seconds since the replica last held everything its primary had (0: caught up).",
                  v.lag_ms);
    seconds_gauge(x, "vstore_replica_last_contact_seconds",
                  "Seconds since the last answer from the primary.", v.last_contact_ms);
    x.single("vstore_replica_batches_total", "counter", "Log batches applied from the primary.",
             v.batches);
    x.single("vstore_replica_bytes_total", "counter", "Log bytes applied from the primary.",
             v.bytes);
    x.single("vstore_replica_reconnects_total", "counter", "Reconnects to the primary.",
             v.reconnects);
    x.single("vstore_replica_resyncs_total", "counter",
             "Re-syncs from a new snapshot (the primary no longer held the log needed).",
             v.resyncs);
    return;
  }
  x.single("vstore_replication_replicas", "gauge",
           "Replicas that asked for this primary's log within the last minute.", r.replicas.size());
  x.family("vstore_replication_replica_applied_sequence", "gauge",
           "The sequence number a replica has applied through, as its last log request said.");
  for (const auto& n : r.replicas)
    x.sample("vstore_replication_replica_applied_sequence", replica_label(n), n.applied_seq);
  x.family("vstore_replication_replica_last_seen_seconds", "gauge",
           "Seconds since a replica's last log request.");
  for (const auto& n : r.replicas)
    x.sample("vstore_replication_replica_last_seen_seconds", replica_label(n),
             seconds_from_us(n.last_seen_ms * 1000));
  x.family("vstore_replication_replica_bytes_sent_total", "counter",
           "Log bytes sent to a replica since this node started.");
  for (const auto& n : r.replicas)
    x.sample("vstore_replication_replica_bytes_sent_total", replica_label(n), n.bytes_sent);
  x.single("vstore_replication_snapshots_total", "counter",
           "Snapshots (replica bootstrap copies) served since this node started.", r.snapshots);
}

void render_status(exposition& x, const status_reply& s) {
  x.single("vstore_draining", "gauge", "1 while the manager drains (shuts down), else 0.",
           s.shutting_down ? 1 : 0);
  x.family("vstore_uptime_seconds", "gauge", "Seconds since the manager started.");
  x.sample("vstore_uptime_seconds", {}, seconds_from_us(s.uptime_ms * 1000));
  x.single("vstore_sequence", "gauge", "The backend's latest sequence number.", s.sequence);
  render_replication(x, s.replication);
}

}  // namespace

std::string escape_label(std::string_view s) {
  std::string out;
  out.reserve(s.size());
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

std::string render(const scrape& s) {
  exposition x;
  x.family("vstore_up", "gauge", "1 if the storage manager answered this scrape, else 0.");
  x.sample("vstore_up", {}, s.stats != nullptr ? 1 : 0);
  if (s.stats != nullptr) {
    x.family("vstore_space_up", "gauge", "1 if the state space serves requests, 0 if it failed.");
    for (const auto& sp : s.stats->spaces)
      x.sample("vstore_space_up", space_label(sp), sp.state == "ok" ? 1 : 0);
  }
  if (!s.version.empty()) {
    x.family("vstore_build_info", "gauge", "Always 1; the version label names the build.");
    x.sample("vstore_build_info", "version=\"" + escape_label(s.version) + "\"", 1);
  }
  if (s.stats != nullptr) render_stats(x, *s.stats);
  if (s.status != nullptr) render_status(x, *s.status);
  return x.take();
}

std::string render(const stats_reply& stats) {
  scrape s;
  s.stats = &stats;
  return render(s);
}

}  // namespace vstore::prometheus
