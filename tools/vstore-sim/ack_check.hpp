#pragma once

// The crash check: every batch the workload acknowledged (its --ack-log) must
// be in the store. Plain C++, no CAF.

#include <cstdint>
#include <string>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::sim {

/// What the ack-log check found.
struct ack_check_result {
  /// Acknowledged commits and rollbacks read from the log.
  uint64_t commits = 0;
  uint64_t rollbacks = 0;
  /// Chains whose acknowledged state was compared with the store.
  uint64_t chains = 0;
  /// One line per chain that lost acknowledged work (empty = passed).
  std::vector<std::string> failures;
};

/// Replays the ack log at `path` ("commit N" / "rollback N" lines; a torn last
/// line from a kill is ignored) into the number of live batches per chain the
/// workload was told are committed, and compares it with `live`, the batches
/// per chain found in the store. Each lane has one request in flight, so the
/// store may be ahead by one unacknowledged commit or behind by one
/// unacknowledged rollback of `rollback_depth` batches; anything else lost
/// acknowledged work. Returns an error only if the log cannot be read.
status check_ack_log(const std::string& path, const std::vector<uint64_t>& live,
                     uint32_t rollback_depth, ack_check_result& out);

}  // namespace vstore::sim
