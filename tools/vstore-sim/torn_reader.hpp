#pragma once

// The torn-state reader: while the schedulers commit, a thread of its own
// (talking to the manager through a scoped actor, like the main thread)
// takes the newest batch commit the schedulers published (run_board::torn),
// usually still in flight, reads that batch's keys in every space it writes
// and judges the reads with judge_torn() (verify.hpp). A torn state fails the
// run through the run board. Read errors are counted, never judged: the
// schedulers report a failing manager themselves.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <caf/fwd.hpp>

#include "tools/vstore-sim/run_board.hpp"
#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"
#include "vstore/protocol.hpp"

namespace vstore::sim {

/// What the torn-state reader did.
struct torn_stats {
  /// Batches probed (five reads each), and how they were judged.
  uint64_t checks = 0;
  uint64_t consistent = 0;
  uint64_t inconclusive = 0;
  uint64_t torn = 0;
  /// Probes abandoned on a read error or after the run failed.
  uint64_t abandoned = 0;
  /// The first torn state found ("" if none).
  std::string first_torn;
};

/// Probes published batches from start() until stop().
class torn_reader {
 public:
  /// Reads through `manager`, every request with `timeout`.
  torn_reader(caf::actor_system& sys, manager_actor manager, space_set spaces,
              caf::timespan timeout, std::shared_ptr<run_board> board);
  ~torn_reader();
  torn_reader(const torn_reader&) = delete;
  torn_reader& operator=(const torn_reader&) = delete;

  /// Starts the reader thread.
  void start();
  /// Stops the thread (after its current probe, at most five request
  /// timeouts) and returns what it did.
  torn_stats stop();

 private:
  void run();

  caf::actor_system& sys_;
  manager_actor manager_;
  space_set spaces_;
  caf::timespan timeout_;
  std::shared_ptr<run_board> board_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  torn_stats stats_;
};

}  // namespace vstore::sim
