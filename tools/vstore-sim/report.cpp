#include "tools/vstore-sim/report.hpp"

#include "tools/common/json.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>

namespace vstore::sim {

namespace {

/// Returns the escaped content of a JSON string, without the quotes (the
/// format string below writes them).
std::string json_escape(const std::string& x) {
  auto quoted = tools::json_string(x);
  return quoted.substr(1, quoted.size() - 2);
}

double per_second(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; }

}  // namespace

std::string run_summary::verdict() const {
  if (ok()) return "VERIFIED";
  if (!error.empty()) return "FAILED: " + error;
  if (!verify_error.empty()) return "FAILED: verification could not run: " + verify_error;
  return "FAILED: " + verify.reason();
}

double percentile_us(std::vector<uint64_t>& ns, double p) {
  if (ns.empty()) return 0;
  auto rank = static_cast<size_t>(p * static_cast<double>(ns.size() - 1) + 0.5);
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(rank), ns.end());
  return static_cast<double>(ns[rank]) / 1000.0;
}

void print_text(std::FILE* out, const run_summary& s) {
  const auto& p = s.params;
  std::fprintf(out, "vstore-sim: %s%s%s%s\n", s.backend.c_str(), s.location.empty() ? "" : " ",
               s.location.c_str(),
               s.raw ? " (raw: RocksDB from plain threads, one per scheduler, no actors)" : "");
  if (!s.verify_only) {
    std::fprintf(out,
                 "workload:       %u schedulers x %u lanes, %" PRIu64 " resources and %" PRIu64
                 " batches per scheduler, %u transfers per batch\n",
                 p.schedulers, p.lanes, p.resources, s.batches_per_scheduler,
                 s.transfers_per_batch);
    if (s.state)
      std::fprintf(out,
                   "                through a state service: up to %u applies in flight "
                   "(rollbacks and prunes ordered by the service)\n",
                   s.pipeline);
    else if (s.pipeline > 0)
      std::fprintf(out,
                   "                one chain, pipelined: up to %u batches in flight "
                   "(drained before every rollback and prune)\n",
                   s.pipeline);
    std::fprintf(out,
                 "                rollback %u batches every %" PRIu64
                 " commits per lane, prune window %" PRIu64 " batches\n",
                 s.rollback_depth, s.rollback_every, s.prune_window);
    std::fprintf(out, "elapsed:        %.3f s\n", s.elapsed_s);
    std::fprintf(out, "batches:        %" PRIu64 " committed, %.0f batches/s\n", s.batches,
                 per_second(s.batches, s.elapsed_s));
    std::fprintf(out, "transfers:      %" PRIu64 ", %.0f transfers/s\n", s.transfers,
                 per_second(s.transfers, s.elapsed_s));
    std::fprintf(out, "reads:          %" PRIu64 " requests (%" PRIu64 " keys), %.0f reads/s\n",
                 s.read_requests, s.read_keys, per_second(s.read_requests, s.elapsed_s));
    std::fprintf(
        out, "commit latency: p50 %.0f us, p99 %.0f us, max %.0f us (%" PRIu64 " write requests)\n",
        s.latency_p50_us, s.latency_p99_us, s.latency_max_us, s.writes);
    std::fprintf(out, "rollbacks:      %" PRIu64 " (%" PRIu64 " batches rolled back)\n",
                 s.rollbacks, s.rolled_back_batches);
    std::fprintf(
        out, "prunes:         %" PRIu64 " (%" PRIu64 " batches, %" PRIu64 " versions deleted)\n",
        s.prunes, s.pruned_batches, s.pruned_versions);
    if (s.db_writes > 0)
      std::fprintf(out,
                   "backend:        %" PRIu64
                   " commits, %.2f write requests per commit, %.1f ops "
                   "per commit\n",
                   s.db_writes, static_cast<double>(s.writes) / static_cast<double>(s.db_writes),
                   static_cast<double>(s.db_ops) / static_cast<double>(s.db_writes));
    if (s.retries > 0) std::fprintf(out, "retries:        %" PRIu64 " (overloaded)\n", s.retries);
    if (s.torn_reader)
      std::fprintf(out,
                   "torn reader:    %" PRIu64 " batches probed: %" PRIu64 " consistent, %" PRIu64
                   " inconclusive, %" PRIu64 " torn (%" PRIu64 " abandoned)\n",
                   s.torn_checks, s.torn_consistent, s.torn_inconclusive, s.torn_states,
                   s.torn_abandoned);
    else
      std::fprintf(out, "torn reader:    off\n");
  }
  if (s.verified && s.state) {
    const auto& v = s.verify;
    std::fprintf(
        out,
        "verify:         %" PRIu64 " resources, total %" PRIu64 " (expected %" PRIu64
        "), head %" PRIu64 " (expected %s), floor %" PRIu64 ", %" PRIu64
        " genesis applies, %" PRIu64 " batch_metadata entries, sum conserved at %" PRIu64
        " read_at indexes\n",
        v.resources, v.total, v.expected_total, s.state_head,
        s.state_expected_head > 0 ? std::to_string(s.state_expected_head).c_str() : "unknown",
        s.state_floor, s.state_genesis, s.state_metadata, s.state_read_at);
    for (size_t i = 0; i < v.failures.size(); ++i)
      std::fprintf(out, "violation:      %s\n", v.failures[i].c_str());
    if (v.more_failures > 0)
      std::fprintf(out, "violation:      ... and %" PRIu64 " more\n", v.more_failures);
  } else if (s.verified) {
    const auto& v = s.verify;
    std::fprintf(out,
                 "verify:         %" PRIu64 " resources, total %" PRIu64 " (expected %" PRIu64
                 "), %" PRIu64 " live batches in %" PRIu64 " chains, %" PRIu64
                 " data versions, %" PRIu64 " rollback_ptr entries, %" PRIu64 " batch checksums\n",
                 v.resources, v.total, v.expected_total, v.batches, v.chains_with_batches,
                 v.data_versions, v.rollback_entries, v.checksums);
    for (size_t i = 0; i < v.failures.size(); ++i)
      std::fprintf(out, "violation:      %s\n", v.failures[i].c_str());
    if (v.more_failures > 0)
      std::fprintf(out, "violation:      ... and %" PRIu64 " more\n", v.more_failures);
  }
  std::fprintf(out, "timing:         genesis %.3f s, verify %.3f s, drain %.3f s\n", s.genesis_s,
               s.verify_s, s.drain_s);
  if (s.errors > 1)
    std::fprintf(out, "errors:         %" PRIu64 " (the first one is shown)\n", s.errors);
  std::fprintf(out, "%s\n", s.verdict().c_str());
  std::fflush(out);
}

void print_json(std::FILE* out, const run_summary& s) {
  const auto& p = s.params;
  const auto& v = s.verify;
  std::string failures = "[";
  for (size_t i = 0; i < v.failures.size(); ++i) {
    if (i > 0) failures += ",";
    failures += tools::json_string(v.failures[i]);
  }
  failures += "]";
  auto torn = "{\"ran\":" + std::string{s.torn_reader ? "true" : "false"} +
              ",\"checks\":" + std::to_string(s.torn_checks) +
              ",\"consistent\":" + std::to_string(s.torn_consistent) +
              ",\"inconclusive\":" + std::to_string(s.torn_inconclusive) +
              ",\"torn\":" + std::to_string(s.torn_states) +
              ",\"abandoned\":" + std::to_string(s.torn_abandoned) + "}";
  // --state: the service's figures ("null" otherwise).
  std::string state = "null";
  if (s.state)
    state = "{\"head\":" + std::to_string(s.state_head) +
            ",\"expected_head\":" + std::to_string(s.state_expected_head) +
            ",\"floor\":" + std::to_string(s.state_floor) +
            ",\"genesis\":" + std::to_string(s.state_genesis) +
            ",\"metadata\":" + std::to_string(s.state_metadata) +
            ",\"read_at\":" + std::to_string(s.state_read_at) + "}";
  std::fprintf(
      out,
      "{\"backend\":\"%s\",\"location\":\"%s\",\"verify_only\":%s,\"schedulers\":%u,"
      "\"lanes\":%u,\"resources_per_scheduler\":%" PRIu64 ",\"batches_per_scheduler\":%" PRIu64
      ",\"transfers_per_batch\":%u,\"rollback_every\":%" PRIu64
      ",\"rollback_depth\":%u,"
      "\"prune_window\":%" PRIu64
      ",\"pipeline\":%u,\"raw\":%s,\"state\":%s,\"elapsed_s\":%.6f,\"batches\":%" PRIu64
      ",\"batches_per_s\":%.1f,\"transfers\":%" PRIu64
      ",\"transfers_per_s\":%.1f,"
      "\"read_requests\":%" PRIu64 ",\"read_keys\":%" PRIu64
      ",\"reads_per_s\":%.1f,"
      "\"writes\":%" PRIu64
      ",\"commit_latency_p50_us\":%.1f,\"commit_latency_p99_us\":%.1f,"
      "\"commit_latency_max_us\":%.1f,\"rollbacks\":%" PRIu64 ",\"rolled_back_batches\":%" PRIu64
      ",\"prunes\":%" PRIu64 ",\"pruned_batches\":%" PRIu64 ",\"pruned_versions\":%" PRIu64
      ",\"retries\":%" PRIu64 ",\"db_writes\":%" PRIu64 ",\"db_ops\":%" PRIu64
      ",\"torn_reader\":%s,\"errors\":%" PRIu64
      ",\"genesis_s\":%.6f,\"verify_s\":%.6f,\"drain_s\":%.6f,\"verify\":{\"ran\":%s,\"ok\":%s,"
      "\"resources\":%" PRIu64 ",\"total\":%" PRIu64 ",\"expected_total\":%" PRIu64
      ",\"live_batches\":%" PRIu64 ",\"data_versions\":%" PRIu64 ",\"rollback_entries\":%" PRIu64
      ",\"checksums\":%" PRIu64 ",\"violations\":%s},\"ok\":%s,\"verdict\":\"%s\"}\n",
      json_escape(s.backend).c_str(), json_escape(s.location).c_str(),
      s.verify_only ? "true" : "false", p.schedulers, p.lanes, p.resources, s.batches_per_scheduler,
      s.transfers_per_batch, s.rollback_every, s.rollback_depth, s.prune_window, s.pipeline,
      s.raw ? "true" : "false", state.c_str(), s.elapsed_s, s.batches,
      per_second(s.batches, s.elapsed_s), s.transfers, per_second(s.transfers, s.elapsed_s),
      s.read_requests, s.read_keys, per_second(s.read_requests, s.elapsed_s), s.writes,
      s.latency_p50_us, s.latency_p99_us, s.latency_max_us, s.rollbacks, s.rolled_back_batches,
      s.prunes, s.pruned_batches, s.pruned_versions, s.retries, s.db_writes, s.db_ops, torn.c_str(),
      s.errors, s.genesis_s, s.verify_s, s.drain_s, s.verified ? "true" : "false",
      v.ok ? "true" : "false", v.resources, v.total, v.expected_total, v.batches, v.data_versions,
      v.rollback_entries, v.checksums, failures.c_str(), s.ok() ? "true" : "false",
      json_escape(s.verdict()).c_str());
  std::fflush(out);
}

progress_meter::progress_meter(uint64_t total, bool enabled)
    : total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

void progress_meter::update(uint64_t done, std::chrono::steady_clock::duration elapsed) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  auto period = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  if (now - last_ < period) return;
  bool first = last_ == std::chrono::steady_clock::time_point{};
  last_ = now;
  if (first && !tty_) return;  // no line at t = 0
  auto secs = std::chrono::duration<double>(elapsed).count();
  auto rate = per_second(done, secs);
  double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done) / total_) : 1.0;
  if (tty_) {
    constexpr int width = 30;
    auto filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    std::fprintf(stderr, "\r[%s] %3.0f%% %" PRIu64 "/%" PRIu64 " batches, %.0f/s ", bar.c_str(),
                 frac * 100, done, total_, rate);
  } else {
    std::fprintf(stderr, "vstore-sim: %" PRIu64 "/%" PRIu64 " batches (%.0f%%), %.0f/s\n", done,
                 total_, frac * 100, rate);
  }
  std::fflush(stderr);
}

void progress_meter::finish() {
  if (enabled_ && tty_ && last_ != std::chrono::steady_clock::time_point{}) {
    std::fprintf(stderr, "\r%*s\r", 79, "");
    std::fflush(stderr);
  }
}

}  // namespace vstore::sim
