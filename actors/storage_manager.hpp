#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <functional>

#include "actors/commit_gate.hpp"
#include "actors/fault_hooks.hpp"
#include "actors/follower.hpp"
#include "actors/handoff_box.hpp"
#include "actors/log_shipper.hpp"
#include "actors/min_seq_gate.hpp"
#include "actors/replication_board.hpp"
#include "actors/request_table.hpp"
#include "actors/snapshot_table.hpp"
#include "actors/write_reply.hpp"
#include "messages/protocol.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// What a manager needs: its configuration, the opened backend and, in tests,
/// fault hooks; for a read replica, how to reach its primary.
struct manager_setup {
  options opts;
  std::shared_ptr<store> backend;
  std::shared_ptr<fault_hooks> hooks;
  /// Set: the manager is a read replica (docs/replication.md). It refuses
  /// writes with errc::read_only and runs a follower that applies the
  /// primary's log.
  std::optional<replica_setup> replica = std::nullopt;
};

/// The manager's view of one state space.
struct space_slot {
  /// reader.pool-size readers that may block, then (reader.cache-first) as
  /// many cache-only readers on the scheduler; next_reader and next_cached
  /// pick among each in turn.
  std::vector<reader_actor> readers;
  size_t next_reader = 0;
  size_t next_cached = 0;
  /// Point gets and multi_gets waiting to be read together
  /// (reader.batch-max): their read ids (request_table), each one's number of
  /// keys (0: a point get, one key), and all their keys, in arrival order.
  std::vector<uint64_t> batch_ids;
  std::vector<uint32_t> batch_sizes;
  std::vector<std::string> batch_keys;
  /// Scans waiting to be read together, likewise.
  std::vector<uint64_t> scan_ids;
  std::vector<scan_request> scans;
  writer_actor writer;
  /// The highest batch number sent to the current writer.
  uint64_t last_g_sent = 0;
  uint64_t reads_ok = 0;
  /// Point gets and scans sent to a reader in a batch.
  uint64_t reads_batched = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_restarts;
  uint64_t restarts = 0;
  bool failed = false;
  std::vector<uint64_t> errors;
};

/// An outcome_request waiting for its token's write to settle.
struct outcome_waiter {
  outcome_request req;
  caf::typed_response_promise<outcome_reply> rp;
  std::chrono::steady_clock::time_point deadline;
};

/// Which child an actor address belongs to.
struct child_role {
  enum kind_t : uint8_t { reader, writer, committer, shipper, follower } kind;
  space_id space;
  size_t index;
};

/// A checkpoint being written (checkpoint_request; at most one at a time).
struct checkpoint_job {
  /// The detached worker that writes it (monitored; the job ends when it
  /// answers, or when it goes down after its answer timed out).
  caf::actor_addr worker;
  /// The directory, normalized.
  std::string dir;
  std::chrono::steady_clock::time_point started;
  /// The requester's promise, until it is answered.
  std::optional<caf::typed_response_promise<checkpoint_reply>> rp;
};

using clock_type_alias = std::chrono::steady_clock::time_point;

/// How a read held for its min_seq ends.
enum class held_read_end : uint8_t { applied, lagging, shutting_down };

/// The state of the StorageManager.
struct manager_state {
  manager_setup setup;
  /// The backend as the children hold it: an aliasing pointer that shares
  /// ownership with a lease, so that `children_lease` expires only once no
  /// reader, commit actor or I/O thread of it holds the store any more,
  /// whenever CAF destroys their state. The drain closes the store and
  /// replies only then. (A checkpoint worker holds the store itself: a
  /// checkpoint cut off by the drain goes on, and the store closes after it.)
  std::shared_ptr<store> child_backend;
  std::weak_ptr<const void> children_lease;
  std::vector<space_slot> spaces;
  committer_actor committer;
  /// Orders the writes of successive commit actors (commit_gate.hpp).
  std::shared_ptr<commit_gate> gate = std::make_shared<commit_gate>();
  /// The writes the commit actors acknowledged, not yet settled here
  /// (handoff_box.hpp), and whether the box is told to wake this actor.
  std::shared_ptr<settled_box> settled = std::make_shared<settled_box>();
  bool settled_wake = false;
  std::deque<std::chrono::steady_clock::time_point> committer_restart_times;
  uint64_t committer_restarts = 0;
  std::unordered_map<caf::actor_addr, child_role> roles;
  uint64_t next_g = 1;
  /// The reads and writes admitted and not settled, with the outcome rules.
  using table_type = request_table<caf::response_promise, write_promise>;
  std::unique_ptr<table_type> table;
  std::vector<outcome_waiter> outcome_waiters;
  /// Held writes whose token lookup found the commit actor down: asked again
  /// once it is replaced (or on the next tick), until their deadline.
  std::vector<std::pair<table_type::held_orphan, std::chrono::steady_clock::time_point>>
      held_lookups;
  /// Whether a stats_request to the commit actor is unanswered (at most one
  /// is sent at a time), and its last answer (used meanwhile).
  bool committer_stats_pending = false;
  committer_stats last_committer_stats;
  /// flush_requests and commit-actor outcome lookups unanswered (bounded by
  /// writer.max-queued and reader.max-queued).
  size_t flushes_in_flight = 0;
  size_t outcome_lookups = 0;
  /// When the commit actor was last told that the store is not ok.
  std::chrono::steady_clock::time_point last_recover_hint{};
  /// Whether a tick_atom is scheduled.
  bool tick_armed = false;
  /// Whether a read_batch_atom is on its way (a batch of reads waits).
  bool read_batch_sent = false;
  bool draining = false;
  std::chrono::steady_clock::time_point drain_deadline;
  std::vector<caf::typed_response_promise<drain_reply>> drain_waiters;
  drain_reply drained;
  /// The running checkpoint, if any, and the checkpoints written so far.
  std::optional<checkpoint_job> checkpoint;
  uint64_t checkpoints = 0;
  /// Replication: what the shipper or the follower report (status and the
  /// applied sequence), the primary's log shipper (spawned on the first
  /// replication request), the replica's follower, and the reads a replica
  /// holds for their min_seq (min_seq_atom looks at them while any is held).
  std::shared_ptr<replication_board> board = std::make_shared<replication_board>();
  log_shipper_actor shipper;
  follower_actor follower;
  std::deque<clock_type_alias> follower_restarts;
  min_seq_gate<std::function<void(held_read_end)>> min_seq_reads;
  bool min_seq_armed = false;
  /// The snapshots kept by snapshot_read_requests (keep = true); cleared
  /// when the store drains or switches to a re-synced copy.
  std::unique_ptr<snapshot_table> snapshots;
  /// A promote_request waiting for the follower to stop and the epoch to be
  /// written.
  std::optional<caf::typed_response_promise<promote_reply>> promoting;
  /// A re-sync switching to the follower's staged copy (check_resync).
  bool resyncing = false;
  bool resync_children_stopped = false;
  bool children_stopped = false;
  bool backend_closed = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  static inline const char* name = "vstore.manager";
  /// Stops every child still running.
  ~manager_state();
};

using manager_pointer = manager_actor::stateful_pointer<manager_state>;

/// The StorageManager: the single entry point, router and supervisor. For every
/// space it spawns opts.reader.pool_size readers and one writer, plus one commit
/// actor for all spaces; it validates every request, bounds the queued work per
/// space, numbers write batches and splits them by space, forwards reads round
/// robin (retrying a read whose reader died), restarts failed children within
/// the restart limit, runs a checkpoint_request on a detached worker, and
/// drains on drain_request or an exit message (a running checkpoint is waited
/// for, within the grace period). Which error a write gets, and when it
/// settles, is request_table's rule.
manager_actor::behavior_type storage_manager(manager_pointer self, manager_setup setup);

/// Validates setup.opts with the configuration file's validator (config::validate)
/// and spawns a StorageManager over the opened backend. On invalid options
/// returns errc::invalid_config naming the key and spawns nothing.
status spawn_manager(caf::actor_system& sys, manager_setup setup, manager_actor& out);

}  // namespace vstore
