// The replication part of a status_reply as `vstore info` prints it (text and
// JSON) and as /metrics exposes it (Prometheus text), rendered from replies
// built by hand: a replica following its primary, and a primary with two
// replicas, one with a name that needs escaping. Plain C++, no CAF.

#include <gtest/gtest.h>

#include <string>

#include "tools/common/prometheus.hpp"
#include "tools/vstore/format.hpp"

namespace vstore {
namespace {

status_reply replica_reply() {
  status_reply r;
  r.backend = "rocksdb";
  r.spaces = {"data"};
  r.states = {"ok"};
  r.sequence = 120;
  r.uptime_ms = 5000;
  auto& v = r.replication.replica;
  r.replication.role = "replica";
  v.primary = "10.0.0.1:7000";
  v.state = "following";
  v.applied_seq = 120;
  v.primary_seq = 125;
  v.lag_seq = 5;
  v.lag_ms = 1500;
  v.last_contact_ms = 12;
  v.batches = 7;
  v.bytes = 4096;
  v.reconnects = 2;
  v.resyncs = 1;
  v.last_error = "connection refused";
  return r;
}

status_reply primary_reply() {
  status_reply r;
  r.backend = "rocksdb";
  r.spaces = {"data"};
  r.states = {"ok"};
  r.sequence = 300;
  r.replication.snapshots = 3;
  r.replication.replicas = {{"10.0.0.2:7000", 290, 40, 8192}, {"odd\"name", 10, 2500, 0}};
  return r;
}

/// The exposition of `s` alone (no stats: the status part only).
std::string metrics(const status_reply& s) {
  prometheus::scrape x;
  x.status = &s;
  return prometheus::render(x);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(StatusFormat, ReplicaInfoText) {
  auto t = cli::info_text(replica_reply());
  EXPECT_TRUE(has(t, "\nhealth: ok\n")) << t;
  EXPECT_TRUE(has(t,
                  "role: replica\n"
                  "  primary: 10.0.0.1:7000\n"
                  "  state: following\n"
                  "  applied_seq: 120\n"
                  "  primary_seq: 125\n"
                  "  lag: 5 sequences, 1500 ms\n"
                  "  last_contact_ms: 12\n"
                  "  applied: 7 batches, 4096 bytes\n"
                  "  reconnects: 2, resyncs: 1\n"
                  "  last_error: connection refused\n"))
      << t;
  EXPECT_FALSE(has(t, "replicas:")) << t;
  auto r = replica_reply();
  r.replication.replica.last_error.clear();
  EXPECT_TRUE(has(cli::info_text(r), "  last_error: none\n"));
}

TEST(StatusFormat, PrimaryInfoText) {
  auto t = cli::info_text(primary_reply());
  EXPECT_TRUE(has(t,
                  "role: primary\n"
                  "  snapshots_served: 3\n"
                  "  replicas: 2\n"
                  "    10.0.0.2:7000 applied_seq=290 last_seen_ms=40 bytes_sent=8192\n"
                  "    odd\"name applied_seq=10 last_seen_ms=2500 bytes_sent=0\n"))
      << t;
  EXPECT_FALSE(has(t, "primary:")) << t;
  status_reply none;
  EXPECT_TRUE(has(cli::info_text(none), "role: primary\n  snapshots_served: 0\n  replicas: 0\n"));
}

TEST(StatusFormat, ReplicationJson) {
  EXPECT_TRUE(has(cli::info_json(replica_reply()),
                  ", \"replication\": {\"role\": \"replica\", \"replica\": {\"primary\": "
                  "\"10.0.0.1:7000\", \"state\": \"following\", \"applied_seq\": 120, "
                  "\"primary_seq\": 125, \"lag_seq\": 5, \"lag_ms\": 1500, \"last_contact_ms\": "
                  "12, \"batches\": 7, \"bytes\": 4096, \"reconnects\": 2, \"resyncs\": 1, "
                  "\"last_error\": \"connection refused\"}}}\n"));
  EXPECT_TRUE(has(cli::info_json(primary_reply()),
                  ", \"replication\": {\"role\": \"primary\", \"snapshots\": 3, \"replicas\": "
                  "[{\"node\": \"10.0.0.2:7000\", \"applied_seq\": 290, \"last_seen_ms\": 40, "
                  "\"bytes_sent\": 8192}, {\"node\": \"odd\\\"name\", \"applied_seq\": 10, "
                  "\"last_seen_ms\": 2500, \"bytes_sent\": 0}]}}\n"));
}

TEST(StatusFormat, ReplicaMetrics) {
  auto m = metrics(replica_reply());
  for (const char* line : {
           "vstore_replication_role{role=\"primary\"} 0\n",
           "vstore_replication_role{role=\"replica\"} 1\n",
           "# TYPE vstore_replica_primary_up gauge\nvstore_replica_primary_up 1\n",
           "# TYPE vstore_replica_applied_sequence gauge\nvstore_replica_applied_sequence 120\n",
           "# TYPE vstore_replica_primary_sequence gauge\nvstore_replica_primary_sequence 125\n",
           "# TYPE vstore_replica_lag_sequences gauge\nvstore_replica_lag_sequences 5\n",
           "# TYPE vstore_replica_lag_seconds gauge\nvstore_replica_lag_seconds 1.5\n",
           "# TYPE vstore_replica_last_contact_seconds gauge\n"
           "vstore_replica_last_contact_seconds 0.012\n",
           "# TYPE vstore_replica_batches_total counter\nvstore_replica_batches_total 7\n",
           "# TYPE vstore_replica_bytes_total counter\nvstore_replica_bytes_total 4096\n",
           "# TYPE vstore_replica_reconnects_total counter\nvstore_replica_reconnects_total 2\n",
           "# TYPE vstore_replica_resyncs_total counter\nvstore_replica_resyncs_total 1\n",
       })
    EXPECT_TRUE(has(m, line)) << line << " in\n" << m;
  EXPECT_FALSE(has(m, "vstore_replication_replicas")) << m;
  EXPECT_FALSE(has(m, "vstore_replication_snapshots_total")) << m;
  // Any state but following: the primary is not up for this replica.
  auto r = replica_reply();
  r.replication.replica.state = "primary down";
  EXPECT_TRUE(has(metrics(r), "\nvstore_replica_primary_up 0\n"));
}

TEST(StatusFormat, PrimaryMetrics) {
  auto m = metrics(primary_reply());
  for (const char* line : {
           "vstore_replication_role{role=\"primary\"} 1\n",
           "vstore_replication_role{role=\"replica\"} 0\n",
           "# TYPE vstore_replication_replicas gauge\nvstore_replication_replicas 2\n",
           "vstore_replication_replica_applied_sequence{replica=\"10.0.0.2:7000\"} 290\n",
           "vstore_replication_replica_applied_sequence{replica=\"odd\\\"name\"} 10\n",
           "vstore_replication_replica_last_seen_seconds{replica=\"10.0.0.2:7000\"} 0.04\n",
           "vstore_replication_replica_last_seen_seconds{replica=\"odd\\\"name\"} 2.5\n",
           "# TYPE vstore_replication_replica_bytes_sent_total counter\n",
           "vstore_replication_replica_bytes_sent_total{replica=\"10.0.0.2:7000\"} 8192\n",
           "vstore_replication_replica_bytes_sent_total{replica=\"odd\\\"name\"} 0\n",
           "# TYPE vstore_replication_snapshots_total counter\n"
           "vstore_replication_snapshots_total 3\n",
       })
    EXPECT_TRUE(has(m, line)) << line << " in\n" << m;
  EXPECT_FALSE(has(m, "vstore_replica_")) << m;
}

}  // namespace
}  // namespace vstore
