#pragma once

// The vstore side of vstore-bench: one CAF actor system configured like
// vstore's tools (configure_actor_system + configure_network), StorageManagers
// spawned in it or reached in a vstored over loopback, and event-based client
// actors that each keep several requests in flight. CAF's headers stay in
// actor_side.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/raw_side.hpp"
#include "bench/workload.hpp"
#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/requests.hpp"

namespace vstore::sim {
struct run_context;
}  // namespace vstore::sim

namespace vstore::bench {

/// How the vstore side issues one repetition.
struct client_plan {
  /// Client actors; the requests are split evenly among them.
  size_t clients = 1;
  /// Requests each client keeps in flight (it sends the next one when a reply
  /// arrives).
  size_t window = 1;
  /// Timeout of every request; 0 = untimed (in-process clients: the manager
  /// answers every admitted request within supervisor.internal-timeout, and
  /// rep_timeout bounds the repetition).
  std::chrono::milliseconds request_timeout{30000};
  /// Upper bound of the whole repetition; past it the run is an error.
  std::chrono::milliseconds rep_timeout{180000};
};

/// A paced write load running in the background (actor_side::start_load).
struct load_plan {
  /// Client actors; each one sends rate / clients puts per second.
  size_t clients = 1;
  /// Most requests in flight per client: a server that cannot keep up lowers
  /// the rate instead of queueing more (missed sends are not made up later).
  size_t window = 8;
  /// Puts per second, all clients together.
  double rate = 1000;
  /// Timeout of every request.
  std::chrono::milliseconds request_timeout{30000};
};

/// What actor_side::probe_lag measured.
struct lag_result {
  /// One figure per probe, in milliseconds: from the arrival of a write's
  /// commit_ack from the primary to the arrival of the answer to a get of its
  /// key on the replica carrying min_seq = commit_ack.seq (the time until a
  /// write is visible on the replica, plus one read round trip to it).
  std::vector<double> lags_ms;
  /// Wall time of the run, seconds.
  double seconds = 0;
  /// Failed writes or reads, reads that did not find the key written.
  uint64_t errors = 0;
  std::string first_error;
};

/// Settings of the bench's actor system.
struct actor_settings {
  /// scheduler.max-threads; 0 = what configure_actor_system sets (the number
  /// of cores).
  size_t max_threads = 0;
  /// Further CAF options as KEY=VALUE: integers, true/false, durations (ns,
  /// us, ms, s), atoms for *.policy, strings otherwise.
  std::vector<std::string> caf_options;
};

/// Commit-path counters of a manager (from its stats_reply).
struct commit_counters {
  /// Backend commits (one DB::Write each) and the operations they held.
  uint64_t rounds = 0;
  uint64_t round_ops = 0;
  /// Rounds written on the commit actor's I/O thread, and inline writes
  /// slower than writer.slow-commit (stats_reply's rounds_offloaded and
  /// slow_rounds).
  uint64_t rounds_offloaded = 0;
  uint64_t slow_rounds = 0;
  /// Batches the writers sealed, summed over spaces and by flush reason
  /// (indexed like vstore::flush_reason).
  uint64_t seals = 0;
  std::vector<uint64_t> seals_by_reason;
};

/// An actor system with the managers the bench talks to.
class actor_side {
 public:
  /// Starts the actor system (with CAF's middleman, for the remote scenario).
  static status start(const actor_settings& cfg, std::unique_ptr<actor_side>& out);

  /// Stops every local manager still open (drain), then the actor system.
  ~actor_side();

  actor_side(const actor_side&) = delete;
  actor_side& operator=(const actor_side&) = delete;

  /// Opens the backend of `opts` and spawns a StorageManager over it
  /// (vstore::spawn_manager); `slot` names it in later calls. Blocks.
  status open_manager(const options& opts, size_t& slot);

  /// Flushes the memtables of the store under in-process manager `slot` to
  /// SST files and waits for the flushes (store::sync), as raw_db::settle
  /// does for the raw database; nothing for a floor or a remote manager.
  /// Blocks.
  status settle(size_t slot);

  /// Spawns the hop floor of a sequential commit: three plain actors shaped
  /// like vstore's commit path, with the StorageManager's typed interface at
  /// the head (manager -> writer -> commit actor). The first two only pass a
  /// write_request on (delegate), as vstore's manager and writer do; the last
  /// calls `write` with its operations on its scheduler thread (as an inline
  /// round does) and answers the client a commit_ack itself, as vstore's
  /// commit actor does: four hops per commit, with none of the messages
  /// vstore's manager and writer get beside them.
  /// Every other request gets errc::unavailable. `slot` names it; close()
  /// lets it go.
  status open_commit_floor(std::function<status(const std::vector<write_op>&)> write, size_t& slot);

  /// Spawns the hop floor of synced group commit, shaped like the commit
  /// path with vstore's group commit at its best: a head with the
  /// StorageManager's typed interface passing each write on; a writer's place
  /// that gathers the writes arriving while its mailbox has more into one
  /// message; a commit actor's place that knows the `in_flight` writes of the
  /// run and writes a round when all of them are there (an ideal gather; at a
  /// repetition's end, 1 ms after the last round), calling `write` with the
  /// round's operations on a detached I/O thread (as vstore's synced rounds
  /// are written), and answering each write's client itself (as vstore's
  /// commit actor does). `slot` names it; close() lets it go.
  status open_sync_floor(std::function<status(const std::vector<write_op>&)> write,
                         size_t in_flight, size_t& slot);

  /// Connects to the manager a vstored publishes on 127.0.0.1:`port`
  /// (vstore::connect_manager). Blocks up to the connect timeout.
  status connect(uint16_t port, size_t& slot);

  /// Runs one repetition of `w` through the manager in `slot`: spawns
  /// plan.clients client actors (each with its issuer_range of `w`), starts
  /// the clock, starts them, and stops the clock when the last one reports
  /// (after its last reply; none sends after w.deadline). Blocks.
  rep_result run(size_t slot, const workload& w, const client_plan& plan);

  /// Runs vstore-sim's workload `ctx` (after sim::shape_run) through the
  /// manager in `slot` with the sim's driver (sim::drive: the genesis, the
  /// scheduler actors, the verification). Returns the sim's exit code. Blocks.
  int run_sim(size_t slot, sim::run_context& ctx);

  /// Starts `plan.clients` paced client actors sending the puts of `w` (kind
  /// put; its issuer ranges, w.deadline ignored) to the manager in `slot`,
  /// until stop_load(). At most one load runs at a time. Does not block.
  status start_load(size_t slot, const workload& w, const load_plan& plan);

  /// Stops the load of start_load, waits for its replies (bounded by its
  /// request timeout plus 10 s), and returns what it did: completed puts and
  /// the seconds since start_load. Blocks.
  rep_result stop_load();

  /// Runs `probers` client actors, each one in turn writing one put of `w`
  /// (kind put) through the manager in `primary` and reading its key through
  /// the manager in `replica` with min_seq = the write's commit_ack.seq,
  /// until w.deadline passed (or its request indices ran out); see
  /// lag_result. Blocks at most `rep_timeout`.
  lag_result probe_lag(size_t primary, size_t replica, const workload& w, size_t probers,
                       std::chrono::milliseconds request_timeout,
                       std::chrono::milliseconds rep_timeout);

  /// Asks the manager in `slot` for its status_reply. Blocks up to 10 s.
  status status_of(size_t slot, status_reply& out);

  /// Asks the manager in `slot` for its counters. Blocks up to 10 s.
  status counters(size_t slot, commit_counters& out);

  /// Drains a local manager (commits, answers, closes its database) and
  /// forgets it; for a remote one only drops the handle. Blocks.
  status close(size_t slot);

  /// Returns the number of scheduler threads.
  size_t scheduler_threads() const;

  /// Implementation details; defined in actor_side.cpp.
  struct impl;

 private:
  explicit actor_side(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace vstore::bench
