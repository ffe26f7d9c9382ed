#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "messages/internal.hpp"
#include "vstore/errc.hpp"

namespace vstore {

/// The committer's logic without CAF: per-space FIFO queues of sealed parts,
/// the table of multi-space batches still missing parts, and the watermark rule.
///
/// A commit round takes every queued part whose batch number g is below the
/// watermark W (the smallest g of a multi-space batch still missing a part) from
/// every space. A multi-space batch below W has all of its parts queued, and
/// each lies in the below-W prefix of its space's queue, so one round takes all
/// of them: one backend commit, all or nothing. Queues are sorted by g (the
/// manager numbers batches in the order it receives them, and each writer
/// forwards its space's parts in that order), so rounds keep per-space order.
class commit_queue {
 public:
  using clock = std::chrono::steady_clock;
  /// Identifies one sealed batch (the writer's request waiting for its answer).
  using token = uint64_t;

  /// A part taken into a round, with where it came from.
  struct round_part {
    space_id space;
    token tok;
    batch_part part;
  };

  /// A sealed batch whose every part is finished, with its answer.
  struct ready_ack {
    token tok;
    sealed_result result;
  };

  /// Creates queues for `spaces` spaces. Parts numbered below `min_g` belong to
  /// an earlier commit actor and are answered as aborted.
  explicit commit_queue(size_t spaces, uint64_t min_g = 0);

  /// Queues a writer's sealed batch of `space` and returns its token. Parts of
  /// aborted batches (or below min_g) finish at once as aborted.
  token add(space_id space, std::vector<batch_part>&& parts, clock::time_point now);

  /// Returns the watermark: the smallest g of an incomplete multi-space batch,
  /// or UINT64_MAX if there is none.
  uint64_t watermark() const noexcept;

  /// Moves every queued part below the watermark into the returned round, in
  /// per-space g order.
  std::vector<round_part> take_round();

  /// Records the outcome of a round's backend commit: committed as of `seq`, or
  /// failed with `st`. Parts of the batches in `duplicates` were left out of
  /// the commit because their token had committed before, as of the mapped
  /// sequence number (0: earlier in this same round, so as of `seq`, or failed
  /// with the round). Parts of the batches in `refused` were left out because
  /// an earlier commit of their token failed: they fail in doubt.
  void finish_round(const std::vector<round_part>& round, const status& st, uint64_t seq,
                    const std::map<uint64_t, uint64_t>& duplicates = {},
                    const std::set<uint64_t>& refused = {});

  /// Records that the backend wrote nothing of the round: it refused it with
  /// `st` (a degraded store, errc::no_space) before writing. Parts are
  /// answered as refused (not applied) with st's code, except the batches in
  /// `duplicates` with a known sequence (their token committed before: a
  /// duplicate) and those in `doubtful` (an earlier commit of their token
  /// failed: in doubt, as in finish_round).
  void refuse_round(const std::vector<round_part>& round, const status& st,
                    const std::map<uint64_t, uint64_t>& duplicates = {},
                    const std::set<uint64_t>& doubtful = {});

  /// Returns the token of the latest sealed batch added (0 if none).
  token last_token() const noexcept { return next_token_ - 1; }
  /// Returns whether every sealed batch up to `tok` has been answered (taken
  /// out by take_ready), so that nothing received up to then can still commit.
  bool finished_through(token tok) const noexcept {
    return pending_.empty() || pending_.begin()->first > tok;
  }

  /// Moves out the answers of every sealed batch whose parts are all finished.
  std::vector<ready_ack> take_ready();

  /// Aborts the incomplete multi-space batches older than `max_age`; returns
  /// how many.
  size_t abort_stalled(clock::time_point now, clock::duration max_age);

  /// Records that the writer of `space` went down after it was sent parts up to
  /// `up_to_g`: every multi-space batch numbered up to it that misses its part
  /// of `space`, now or when its other parts arrive later, is aborted. Returns
  /// how many were aborted now.
  size_t abort_space(space_id space, uint64_t up_to_g);

  /// Forgets aborted batch numbers older than `max_age` (a late part of a
  /// forgotten batch starts a new incomplete batch, which stalls and is
  /// aborted again, so forgetting is safe).
  void prune_aborted(clock::time_point now, clock::duration max_age);

  /// Returns whether multi-space batches are waiting for parts.
  bool has_incomplete() const noexcept { return !incomplete_.empty(); }
  /// Returns the operations queued and not yet committed.
  size_t queued_ops() const noexcept { return queued_ops_; }
  /// Returns the parts queued and not yet committed.
  size_t queued_parts() const noexcept { return queued_parts_; }
  /// Returns the number of batches aborted so far.
  uint64_t aborted_total() const noexcept { return aborted_total_; }
  /// Returns the number of aborted batch numbers remembered.
  size_t aborted_remembered() const noexcept { return aborted_.size(); }

 private:
  struct queued {
    token tok;
    batch_part part;
  };
  struct incomplete {
    uint64_t need;
    uint64_t have;
    clock::time_point since;
  };
  struct pending {
    size_t remaining;
    sealed_result result;
  };

  /// The body of finish_round (unwritten false) and refuse_round (true).
  void settle_round(const std::vector<round_part>& round, const status& st, uint64_t seq,
                    const std::map<uint64_t, uint64_t>& duplicates,
                    const std::set<uint64_t>& doubtful, bool unwritten);
  void abort(uint64_t g, clock::time_point now);
  bool misses_lost_part(uint64_t g, uint64_t missing) const;
  void finish(token tok, uint64_t g, bool aborted);

  std::vector<std::deque<queued>> queues_;
  std::map<uint64_t, incomplete> incomplete_;
  std::map<uint64_t, clock::time_point> aborted_;
  /// Per space: parts of batches up to this number will never arrive (their
  /// writer went down); a batch still missing such a part is aborted.
  std::vector<uint64_t> lost_up_to_;
  /// Ordered, so that finished_through() is one look at the oldest.
  std::map<token, pending> pending_;
  std::vector<token> ready_;
  uint64_t min_g_;
  token next_token_ = 1;
  size_t queued_ops_ = 0;
  size_t queued_parts_ = 0;
  uint64_t aborted_total_ = 0;
};

}  // namespace vstore
