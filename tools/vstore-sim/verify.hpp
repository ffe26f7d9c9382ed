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

/// What the torn-state reader saw of one batch while batches committed. The
/// reads are separate requests, in this order: batch_metadata (meta_first),
/// the batch's data versions, its rollback_ptr entries, the latest_ptr of its
/// resources, batch_metadata again (meta_last). One request reads one space
/// at one point in time; the five together are no snapshot.
struct torn_probe {
  /// The batch: global index, the version it writes, its resources
  /// (ascending) and the batch_metadata value its commit writes.
  uint64_t index = 0;
  uint64_t version = 0;
  std::vector<uint64_t> touched;
  std::string expected_meta;
  /// Whether a rollback write that may remove the batch (of its chain, from
  /// its index or below) was sent between the batch's commit being sent and
  /// the last read (seen after the last read).
  bool rollback_sent = false;
  /// batch_metadata at the first and the last read (empty = absent).
  std::optional<std::string> meta_first;
  std::optional<std::string> meta_last;
  /// Per touched resource: data version `version` found; rollback_ptr entry
  /// found; latest_ptr found and its value.
  std::vector<uint8_t> data_found;
  std::vector<uint8_t> rollback_found;
  std::vector<uint8_t> latest_found;
  std::vector<std::string> latest_values;
};

/// The torn-state reader's judgment of one probe.
enum class torn_verdict : uint8_t {
  /// The batch was wholly present or wholly absent.
  consistent,
  /// The batch was committed or rolled back during the reads: no judgment.
  inconclusive,
  /// Part of the batch was visible without the rest.
  torn,
};

/// Judges a probe (the rule; a batch's commit, rollback and prune are each
/// one atomic write, and a batch is committed once and removed at most once):
///
/// - Present throughout: meta_first and meta_last both equal expected_meta
///   and no rollback that may remove the batch was sent, so the batch was
///   visible during every read in between (not even removed and committed
///   again with the same bytes). Then every latest_ptr is a version of the
///   batch's chain >= version (later batches only raise it, rollbacks of
///   later batches only lower it back to >= version); the rollback_ptr
///   entries are all present or all absent (a prune removes them in one
///   write, a multi_get reads one space at one point in time); a data
///   version may be absent only once a later batch that touched the resource
///   was pruned, which pruned this batch before: so a missing data version
///   needs all rollback_ptr entries absent (read after data) and a
///   latest_ptr > version (read after data).
/// - Absent throughout: both meta reads absent and no rollback that may
///   remove the batch sent since its commit was sent. The batch was not
///   visible at the last read and never removed, so it was never visible:
///   none of its data versions or rollback_ptr entries may be present and
///   no latest_ptr may name its version (earlier incarnations were rolled
///   back, acknowledged, before this one was sent; nothing else writes its
///   version).
/// - Anything else (committed or rolled back between the reads, or another
///   incarnation seen) is inconclusive and never a failure.
///
/// Returns the verdict; `what` gets a description when torn.
torn_verdict judge_torn(const torn_probe& p, std::string& what);

}  // namespace vstore::sim
