#pragma once

// The workload's invariants, checked on a full image of the four spaces (plain
// C++, no CAF). Every write of the workload (batch, rollback, prune, genesis
// chunk) keeps them, and every write is atomic, so they hold after any crash.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/vstore-sim/workload.hpp"
#include "vstore/store.hpp"

namespace vstore::sim {

/// Everything the check reads: the params record and every entry of the
/// workload's spaces, each in ascending key order (as a scan returns them).
struct store_image {
  /// The metas params record, if present.
  std::optional<std::string> params;
  std::vector<key_value> latest;
  std::vector<key_value> data;
  std::vector<key_value> rollback;
  std::vector<key_value> meta;
};

/// The outcome of a check.
struct verify_result {
  /// Whether every invariant holds.
  bool ok = false;
  /// The failed invariants (at most max_failures), first one first.
  std::vector<std::string> failures;
  /// Failures past the ones listed.
  uint64_t more_failures = 0;
  /// The parameters found in metas (valid when ok or when the record decoded).
  sim_params params;
  /// What was found.
  uint64_t resources = 0;
  uint64_t total = 0;
  uint64_t expected_total = 0;
  uint64_t batches = 0;
  uint64_t chains_with_batches = 0;
  uint64_t data_versions = 0;
  uint64_t rollback_entries = 0;
  /// Kept batches whose data was checked against their batch_metadata checksum.
  uint64_t checksums = 0;
  /// Live batches per chain (batch_metadata 0..n-1).
  std::vector<uint64_t> live;

  /// The failures listed, in the order found.
  static constexpr size_t max_failures = 8;
  /// Returns the first failure plus a count of the others ("" when ok).
  std::string reason() const;
};

/// Checks:
/// 1. metas holds a well-formed params record (the genesis completed);
/// 2. every resource 0..K*R-1 has exactly one latest_ptr, pointing to a
///    version of its own chain, and nothing else is in latest_ptr;
/// 3. every latest_ptr resolves to a data entry, and the balances sum to
///    K * R * initial balance (conservation);
/// 4. per chain, batch_metadata holds the numbers 0..n-1 (contiguous) with
///    well-formed values naming that chain; if `expected_live` has a value for
///    a chain, n equals it;
/// 5. rollback_ptr entries exist exactly for a contiguous suffix of every
///    chain's live batches, and both the batch's own version and the previous
///    version they name resolve to data entries;
/// 6. every data entry is either some resource's latest version or a previous
///    version named by rollback_ptr (no leaked versions after rollbacks and prunes).
/// 7. every latest_ptr names its resource's newest data version (per-space
///    order: a batch's writes overwritten by an earlier batch's are found).
verify_result check(const store_image& img,
                    const std::vector<std::optional<uint64_t>>& expected_live);

}  // namespace vstore::sim
