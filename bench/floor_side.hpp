#pragma once

// CAF 0.17's remote floor, the third side of the remote rows measured against
// Redis (remote_get, remote_put, remote_rtt): an echo server that does nothing
// but reply (vstore-hop-floor --serve-echo, bench/floor_echo.hpp), started in
// its own process as vstored is, and reached by the same client actors (and
// for remote_rtt the same blocking vstore::client) with the same requests in
// flight and the same messages (a 16 B key in and a 100 B value out; a put of
// 16 + 100 B in and a commit_ack out). Its figures are what any store behind
// CAF 0.17's network layer pays before doing any work: when they miss a
// target too, the target is out of reach on CAF 0.17 (result FLOOR). Plain
// C++: no CAF, no RocksDB headers.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bench/actor_side.hpp"
#include "bench/raw_side.hpp"
#include "bench/report.hpp"
#include "bench/workload.hpp"

namespace vstore::bench {

class child_process;

/// The echo server of one bench run and the actor side's handle to it.
class floor_side {
 public:
  /// `exe`: the vstore-hop-floor binary; `max_threads`: its
  /// scheduler.max-threads (0 = vstored's default, the number of cores);
  /// `dir`: where its log (floor-echo.log) goes.
  floor_side(std::string exe, size_t max_threads, std::string dir);
  /// Stops the server (SIGTERM, SIGKILL after 5 s).
  ~floor_side();
  floor_side(const floor_side&) = delete;
  floor_side& operator=(const floor_side&) = delete;

  /// Starts the server unless it runs already, and connects `actors` to it
  /// (actor_side::connect, as for vstored). Returns "" when ready, else why
  /// the floor is not measured (a later call tries nothing again). Blocks up
  /// to about 35 s.
  std::string prepare(actor_side& actors);

  /// One repetition of `w` through actor_side::run against the echo, with
  /// the echo process's CPU time added to this process's. Needs prepare().
  rep_result run(actor_side& actors, const workload& w, const client_plan& plan);

  /// Returns the server's port on 127.0.0.1 (0 before prepare()).
  uint16_t port() const noexcept { return port_; }
  /// Returns the server's process id (0 if none).
  pid_t pid() const noexcept;

  /// What the floor is, for the report's legend.
  static const char* what();

 private:
  std::string exe_;
  size_t max_threads_;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
  std::optional<size_t> slot_;
  uint16_t port_ = 0;
  std::string skip_;
};

/// Adds one floor repetition to `r`: its errors always, and when `measured`
/// (not a warm-up) its rate in units per second (`units_per_request` units per
/// completed request) and its CPU µs per unit.
void add_floor_rep(row& r, const rep_result& res, uint64_t units_per_request, bool measured);

/// Adds one repetition of the disk's ceiling (row::ceiling) to `r`, as
/// add_floor_rep does for the floor (without CPU time).
void add_ceiling_rep(row& r, const rep_result& res, uint64_t units_per_request, bool measured);

}  // namespace vstore::bench
