#pragma once

// Prometheus text exposition (format 0.0.4) of vstore's counters: one place
// for vstored's /metrics and `vstore stats --prometheus`. Plain C++, no CAF.
//
// Metric families (every sample of a family follows its `# HELP` and `# TYPE`
// lines; counters end in `_total`):
//   vstore_up                       gauge: 1 if the manager answered
//   vstore_space_up{space}          gauge: 1 if the space serves
//   vstore_build_info{version}      gauge, always 1 (only with a version)
//   vstore_reads_total{space} ... vstore_restarts_total{space}   counters
//     (vstore_reads_batched_total{space} among them)
//   vstore_reads_queued{space}, vstore_writes_queued{space}      gauges
//   vstore_write_latency_p50_microseconds{space}, ..._p99_...    gauges
//   vstore_write_latency_seconds{space}   histogram (buckets, sum, count)
//   vstore_flushes_total{space,reason}, vstore_errors_total{space,code}
//   vstore_commit_rounds_total ... vstore_tokens_forgotten_total,
//   vstore_checkpoints_total                                     counters
//   vstore_tokens, vstore_health{state}, vstore_free_bytes,
//   vstore_writes_in_flight, vstore_oldest_write_milliseconds   gauges
//   vstore_recoveries_total, vstore_recovery_attempts_total     counters
//   vstore_draining, vstore_uptime_seconds, vstore_sequence     gauges (only
//                                   with a status_reply)
//   vstore_replication_role{role}   gauge (with a status_reply; the rest of
//                                   replication by role)
//   on a replica: vstore_replica_primary_up, ..._applied_sequence,
//     ..._primary_sequence, ..._lag_sequences, ..._lag_seconds,
//     ..._last_contact_seconds                                  gauges
//     vstore_replica_batches_total, ..._bytes_total, ..._reconnects_total,
//     ..._resyncs_total                                         counters
//   on a primary: vstore_replication_replicas                   gauge
//     vstore_replication_replica_applied_sequence{replica},
//     vstore_replication_replica_last_seen_seconds{replica}     gauges
//     vstore_replication_replica_bytes_sent_total{replica},
//     vstore_replication_snapshots_total                        counters

#include <string>
#include <string_view>

#include "vstore/requests.hpp"

namespace vstore::prometheus {

/// The HTTP Content-Type of the text exposition format 0.0.4.
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

/// What one exposition shows. A null reply means the manager did not give it
/// (e.g. it did not answer in time): its metrics are left out, and without
/// stats vstore_up is 0.
struct scrape {
  /// The counters (stats_request), or null.
  const stats_reply* stats = nullptr;
  /// The manager's state (status_request), or null.
  const status_reply* status = nullptr;
  /// vstore's version for vstore_build_info; empty leaves the metric out.
  std::string_view version;
};

/// Renders `s` as Prometheus text (format 0.0.4), ending in a newline.
std::string render(const scrape& s);

/// Renders the counters alone: render({&stats, nullptr, {}}). Its metric
/// names are those `vstore stats --prometheus` has always printed, plus
/// vstore_up (unlabelled) and the latency histogram.
std::string render(const stats_reply& stats);

/// Escapes a label value: backslash, double quote and newline.
std::string escape_label(std::string_view s);

}  // namespace vstore::prometheus
