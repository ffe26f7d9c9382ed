#pragma once

// The scheduler actor: an event-based CAF actor that runs W lanes, each an
// independent chain of batches over its own part of the scheduler's
// resources, with exactly one request in flight per lane. A lane loops:
//
//   batch:    multi_get latest_ptr -> multi_get data -> one atomic write
//   rollback: (every Nth commit) scan rollback_ptr of each of the last M
//             batches -> one atomic write
//   prune:    (when more than prune_window + step batches are live and
//             unpruned) scan the chain's rollback_ptr -> one atomic write
//
// The single-chain pipelined mode (settings.pipeline > 0, one lane) sends
// batch n+1 before batch n is acknowledged, up to `pipeline` batches in
// flight: a batch takes the latest_ptr and balance of every resource a pending
// batch wrote from the scheduler's own record (pending_writes) and reads only
// the others from the store; its reads run one batch at a time, in chain
// order. Rollbacks and prunes wait until the pipeline has drained (no batch in
// flight), then run as above.
//
// With a side log (--ack-log, ack_check.hpp) every batch commit and every
// rollback carries a unique idempotency token; the lane logs "intent TOKEN"
// before the first send and "ack TOKEN" after the acknowledgement (a retry
// after an overload sends the same token). Prunes carry none: they do not
// change which batches are live.
//
// For the torn-state reader (torn_reader.hpp) a lane publishes every batch
// commit on the run board right before sending it, and counts every rollback
// write before sending it (run_board::torn; nothing when the reader is off).
//
// Every request has a deadline (settings.timeout). The requests themselves
// are untimed, as the README advises in-process clients: a timed CAF 0.17
// request wakes CAF's clock thread and stays in its queue for the whole
// timeout (vstore-bench's sim_lanes spent 92-103 us of CPU per batch with
// them, 63-84 without; docs/performance.md). The
// scheduler keeps the deadlines itself: when each lane's request was sent,
// checked by one watch timer (watch_period) that fails a lane whose request
// went unanswered past the deadline exactly as a request timeout would (a
// write's outcome is then unknown); a late answer is ignored. A monitor on the
// manager fails every lane at once when it (or its connection) goes down.
// errc::overloaded answers are retried with a doubling delay (delayed_send,
// never a sleep); any other error fails the lane, records the error on the
// run board and stops every lane at its next step. When all lanes are done the
// scheduler reports and quits.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "tools/vstore-sim/lane.hpp"
#include "tools/vstore-sim/run_board.hpp"
#include "tools/vstore-sim/workload.hpp"
#include "vstore/protocol.hpp"

namespace vstore::sim {

/// Starts a scheduler's lanes (sent once by the main thread).
using start_atom = caf::atom_constant<caf::atom("sim_start")>;
/// A lane's retry timer: re-send the lane's current request.
using retry_atom = caf::atom_constant<caf::atom("sim_retry")>;
/// The scheduler's watch timer: fail the lanes whose request is overdue.
using watch_atom = caf::atom_constant<caf::atom("sim_watch")>;

/// The scheduler's interface (local only; nothing crosses the network).
using scheduler_actor =
    caf::typed_actor<caf::reacts_to<start_atom>, caf::reacts_to<retry_atom, uint32_t>,
                     caf::reacts_to<watch_atom>>;

/// How a scheduler runs.
struct scheduler_settings {
  /// This scheduler's number, 0..K-1.
  uint32_t id = 0;
  /// The run's shape (K, W, R, value size).
  sim_params params;
  /// Where the workload's spaces are.
  space_set spaces;
  /// Forward batch commits of the whole scheduler, split across its lanes.
  uint64_t batches = 0;
  /// The run's seed; each chain derives its own.
  uint64_t seed = 1;
  /// Transfers per batch, rollbacks, prunes, and (rules.pipeline = N >= 1)
  /// the single-chain pipelined mode (params.lanes must be 1), up to N
  /// batches in flight; 0: every lane has one request in flight.
  lane_rules rules;
  /// Range deletes in rollback_ptr instead of point deletes.
  bool range_deletes = false;
  /// Test only: send every batch commit as two writes (not with pipeline).
  bool split_commits = false;
  /// Deadline of every request, from its send (the scheduler's watch timer
  /// checks it every watch_period(timeout)).
  caf::timespan timeout = std::chrono::seconds(30);
  /// Retries of an overloaded request before the lane gives up.
  uint32_t max_retries = 200;
};

/// What a lane is waiting for.
enum class lane_phase : uint8_t {
  idle,
  read_latest,
  read_data,
  commit,
  rollback_scan,
  rollback_write,
  prune_scan,
  prune_write,
  done,
};

/// A batch sent and not yet acknowledged (pipelined mode).
struct inflight_batch {
  batch_plan batch;
  /// When its write was sent.
  std::chrono::steady_clock::time_point sent;
  /// Its idempotency token ("" without a side log).
  std::string token;
};

/// One lane: an independent chain of batches (lane_plan: its chain, its
/// numbers and its next step) and the requests the actor has out for it.
struct lane_state : lane_plan {
  /// False once a write failed (its outcome is unknown).
  bool clean = true;
  lane_phase phase = lane_phase::idle;
  /// Attempts of the current request (for the overload backoff).
  uint32_t attempts = 0;
  /// When the current write was first sent.
  std::chrono::steady_clock::time_point write_started;
  /// Whether the lane's current request (not a pipelined write: those are
  /// in `pipe`) waits for its answer, since when, and its number (an answer
  /// to an older number, late after its deadline, is ignored).
  bool asking = false;
  std::chrono::steady_clock::time_point asked;
  uint64_t asks = 0;
  /// With a side log: the token of the current commit or rollback write (a
  /// retry sends it again), and the chain's next write ordinal.
  std::string token;
  uint64_t ordinal = 0;
  /// Pipelined mode: the batches in flight, oldest first; the record of their
  /// writes; whether `batch` is reading (its write not sent yet).
  std::deque<inflight_batch> pipe;
  pending_writes pending;
  bool reading = false;
};

/// The scheduler actor's state.
struct scheduler_state {
  scheduler_settings cfg;
  manager_actor manager;
  std::shared_ptr<run_board> board;
  /// The ack log, or null.
  std::shared_ptr<ack_log> log;
  std::vector<lane_state> lanes;
  size_t lanes_done = 0;
  std::vector<uint64_t> write_latency_ns;
  /// Whether the final report went to the board.
  bool reported = false;
  static inline const char* name = "vstore-sim.scheduler";
  /// Reports a scheduler that ends without finishing (an exception, a kill)
  /// as failed, so that the main thread never waits for it.
  ~scheduler_state();
};

using scheduler_pointer = scheduler_actor::stateful_pointer<scheduler_state>;

/// How often a scheduler checks its requests' deadlines: a quarter of the
/// timeout, at least 1 ms and at most 250 ms (an overdue request fails
/// within timeout + this).
caf::timespan watch_period(caf::timespan timeout) noexcept;

/// The error of a request unanswered past `timeout` (errc::timeout, "no reply
/// within N ms"), as the watch timers report it.
status overdue(caf::timespan timeout);

/// The scheduler behaviour: waits for start_atom, then runs its lanes to the
/// end and reports to `board`. Spawn it with sys.spawn(scheduler, ...).
scheduler_actor::behavior_type scheduler(scheduler_pointer self, scheduler_settings cfg,
                                         manager_actor manager, std::shared_ptr<run_board> board,
                                         std::shared_ptr<ack_log> log);

}  // namespace vstore::sim
