#pragma once

// What the replication actors know, for status and for reads that wait for a
// sequence: a plain class (no CAF), shared between the log shipper or the
// follower that writes it and the manager that reads it. Thread-safe: the
// follower and the shipper run on threads of their own.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vstore/requests.hpp"

namespace vstore {

class replication_board {
 public:
  using clock = std::chrono::steady_clock;

  /// How long a primary lists a replica after its last log request.
  static constexpr auto seen_window = std::chrono::minutes(1);

  // -- a replica's side --------------------------------------------------------

  /// Marks this node as a replica of `primary` that has applied through
  /// `applied` (read from its store).
  void start_replica(std::string primary, uint64_t applied) {
    std::lock_guard<std::mutex> lock{mutex_};
    replica_ = true;
    contacted_ = false;
    caught_up_ = clock::now();
    view_.primary = std::move(primary);
    view_.state = "connecting";
    view_.applied_seq = applied;
    view_.primary_seq = applied;
  }

  bool is_replica() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return replica_;
  }

  /// The primary's sequence this node holds everything through (0 on a
  /// primary: it holds all it answered).
  uint64_t applied() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return view_.applied_seq;
  }

  void set_state(std::string state, std::string error = {}) {
    std::lock_guard<std::mutex> lock{mutex_};
    view_.state = std::move(state);
    if (!error.empty()) view_.last_error = std::move(error);
  }

  void count_reconnect() {
    std::lock_guard<std::mutex> lock{mutex_};
    ++view_.reconnects;
  }

  void count_resync() {
    std::lock_guard<std::mutex> lock{mutex_};
    ++view_.resyncs;
  }

  /// Whether the follower staged a fresh copy for the manager to switch to.
  bool resync_ready() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return replica_ && view_.state == "resync ready";
  }

  /// A log reply arrived: the primary was at `primary_latest`.
  void heard(uint64_t primary_latest, clock::time_point now = clock::now()) {
    std::lock_guard<std::mutex> lock{mutex_};
    last_contact_ = now;
    contacted_ = true;
    if (primary_latest > view_.primary_seq) view_.primary_seq = primary_latest;
    view_.state = "following";
    note_lag(now);
  }

  /// A batch of `bytes` bytes was applied through `seq`.
  void applied_through(uint64_t seq, uint64_t bytes, clock::time_point now = clock::now()) {
    std::lock_guard<std::mutex> lock{mutex_};
    view_.applied_seq = seq;
    if (seq > view_.primary_seq) view_.primary_seq = seq;
    ++view_.batches;
    view_.bytes += bytes;
    note_lag(now);
  }

  /// The replica's view, its lags computed at `now`.
  replica_view view(clock::time_point now = clock::now()) const {
    std::lock_guard<std::mutex> lock{mutex_};
    auto v = view_;
    v.lag_seq = v.primary_seq > v.applied_seq ? v.primary_seq - v.applied_seq : 0;
    v.lag_ms = v.lag_seq == 0 ? 0 : ms(now - caught_up_);
    v.last_contact_ms = contacted_ ? ms(now - last_contact_) : UINT64_MAX;
    return v;
  }

  /// The replica became a primary with `epoch`.
  void promoted(uint64_t epoch) {
    std::lock_guard<std::mutex> lock{mutex_};
    replica_ = false;
    view_.state = "promoted";
    epoch_.store(epoch);
  }

  // -- both sides: the epoch ------------------------------------------------------

  void set_epoch(uint64_t e) { epoch_.store(e); }
  uint64_t epoch() const { return epoch_.load(); }
  /// A replica of a newer epoch asked: another node was promoted.
  void supersede(uint64_t newer) {
    auto cur = superseded_by_.load();
    while (newer > cur && !superseded_by_.compare_exchange_weak(cur, newer)) {
    }
  }
  uint64_t superseded_by() const { return superseded_by_.load(); }

  // -- a primary's side ----------------------------------------------------------

  /// Replica `node` asked for the log from `from_seq` and got `bytes` bytes.
  void served(const std::string& node, uint64_t from_seq, uint64_t bytes,
              clock::time_point now = clock::now()) {
    std::lock_guard<std::mutex> lock{mutex_};
    auto& r = seen_[node];
    r.applied = from_seq - 1;
    r.last = now;
    r.bytes += bytes;
  }

  void count_snapshot() {
    std::lock_guard<std::mutex> lock{mutex_};
    ++snapshots_;
  }

  /// The status part: the role and either side's view.
  replication_status status(clock::time_point now = clock::now()) const {
    replication_status out;
    {
      std::lock_guard<std::mutex> lock{mutex_};
      out.role = replica_ ? "replica" : "primary";
      out.snapshots = snapshots_;
      out.epoch = epoch_.load();
      out.superseded_by = superseded_by_.load();
      for (const auto& [node, r] : seen_) {
        if (now - r.last > seen_window) continue;
        out.replicas.push_back(replica_seen{node, r.applied, ms(now - r.last), r.bytes});
      }
    }
    if (out.role == "replica") out.replica = view(now);
    return out;
  }

 private:
  static uint64_t ms(clock::duration d) {
    auto n = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return n < 0 ? 0 : static_cast<uint64_t>(n);
  }

  /// Keeps the last time the replica held everything it knew of.
  void note_lag(clock::time_point now) {
    if (view_.applied_seq >= view_.primary_seq) caught_up_ = now;
  }

  struct seen {
    uint64_t applied = 0;
    clock::time_point last;
    uint64_t bytes = 0;
  };

  mutable std::mutex mutex_;
  bool replica_ = false;
  replica_view view_;
  bool contacted_ = false;
  clock::time_point last_contact_{};
  clock::time_point caught_up_ = clock::now();
  std::map<std::string, seen> seen_;
  uint64_t snapshots_ = 0;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> superseded_by_{0};
};

}  // namespace vstore
