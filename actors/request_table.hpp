#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/schema.hpp"

namespace vstore {

/// What a write's owner writer answered, as the table sees it.
enum class owner_answer : uint8_t {
  /// Committed (or a duplicate of a committed token).
  committed,
  /// errc::aborted: the batch can never commit.
  aborted,
  /// errc::in_doubt: the commit failed or the commit actor went down. Nothing
  /// can commit it later, but it may have committed before.
  in_doubt_final,
  /// The store refused the write before writing anything (a degraded or
  /// failed store: errc::no_space, errc::io_error, errc::unavailable): not
  /// applied; answered with that code, settled.
  refused,
  /// Anything else (the writer crashed in its handler): settled only once the
  /// writer's down message makes it an orphan and a sweep ends; answered
  /// in_doubt at once without a token, from the token's outcome with one.
  other,
};

/// The StorageManager's bookkeeping without CAF: the reads and writes it
/// admitted and has not settled, their deadlines, the per-space queue counters
/// that bound memory, the tokens still in flight, and the outcome rules.
///
/// A write is *answered* once its client got a reply, and *settled* once
/// nothing in the pipeline can commit it any more. Until it settles it counts
/// against writer.max-queued and its token is `pending`. The rules:
/// - owner's ack: answered committed, settled.
/// - owner's aborted part: answered errc::aborted (not applied), settled.
/// - owner's in_doubt (commit failed, commit actor down): answered in_doubt,
///   settled (nothing can commit it later).
/// - deadline passed: answered in_doubt, still unsettled (its parts are queued
///   and may commit); the owner's later answer settles it.
/// - owner writer down: the write becomes an orphan; orphans settle when a
///   sweep (every live writer flushed, then a commit-actor fence) that began
///   after they became orphans ends. An unanswered orphan without a token is
///   answered in_doubt at once; one with a token is held until its sweep
///   ends, then handed back (end_sweep) for the caller to look its token up:
///   committed answers the original ack, not committed errc::aborted (nothing
///   can commit it any more), anything else in_doubt (resolve_held). Its
///   deadline and the shutdown cut-off still answer it in_doubt first.
/// - shutdown cut-off: every unanswered write answered in_doubt.
/// Nothing is ever answered "not applied" while it can still commit.
///
/// `ReadPromise` and `WritePromise` are whatever the caller delivers replies
/// through (CAF response promises in the manager, plain values in tests).
template <class ReadPromise, class WritePromise>
class request_table {
 public:
  using clock = std::chrono::steady_clock;

  /// How a write was answered (for stats and tests).
  struct write_counts {
    uint64_t committed = 0;
    uint64_t not_applied = 0;
    uint64_t in_doubt = 0;
  };

  /// An orphan whose sweep ended unanswered: look up its token's outcome
  /// (not before `admitted_seq`) and answer it through resolve_held().
  struct held_orphan {
    WritePromise rp;
    std::string token;
    uint64_t admitted_seq;
    space_id owner;
  };

  /// A write answered by the table itself, with the error to deliver.
  struct write_answer {
    WritePromise rp;
    errc code;
    /// The space whose writer owned the write (for per-space error counters).
    space_id owner;
  };

  request_table(size_t spaces, clock::duration timeout)
      : timeout_(timeout), reads_queued_(spaces, 0), writes_queued_(spaces, 0) {}

  // -- reads ---------------------------------------------------------------------

  /// Admits a read of `space`; returns its id. The read counts against
  /// reader.max-queued until its reader answered it (take_read), also when its
  /// deadline answered the client first: a reader stuck in the backend holds
  /// the request, so its slot stays taken.
  uint64_t add_read(space_id space, ReadPromise rp, clock::time_point now) {
    auto id = next_id_++;
    reads_.emplace(id, read_entry{space, std::move(rp)});
    read_deadlines_.emplace_back(now + timeout_, id);
    ++reads_queued_[space];
    ++unanswered_reads_;
    return id;
  }

  /// Returns whether read `id` is admitted and its client not answered yet.
  bool has_read(uint64_t id) const {
    auto i = reads_.find(id);
    return i != reads_.end() && i->second.rp.has_value();
  }

  /// The reader answered read `id` (or can no longer: it died): releases its
  /// slot and returns its space and promise, or nothing if the client was
  /// answered already (e.g. at its deadline) or the read is unknown.
  std::optional<std::pair<space_id, ReadPromise>> take_read(uint64_t id) {
    auto i = reads_.find(id);
    if (i == reads_.end()) return std::nullopt;
    auto space = i->second.space;
    auto rp = std::move(i->second.rp);
    --reads_queued_[space];
    reads_.erase(i);
    if (!rp) return std::nullopt;
    --unanswered_reads_;
    return std::make_pair(space, std::move(*rp));
  }

  // -- writes --------------------------------------------------------------------

  /// Admits a write touching the spaces in `mask` whose reply comes from the
  /// writer of `owner`; returns its id.
  /// `admitted_seq` is the store's sequence number at admission (the write
  /// can only commit above it).
  uint64_t add_write(uint64_t mask, space_id owner, std::string token, WritePromise rp,
                     clock::time_point now, uint64_t admitted_seq = 0) {
    auto id = next_id_++;
    if (!token.empty()) ++tokens_[token];
    writes_.emplace(id, write_entry{mask, owner, std::move(token), std::move(rp), false, false,
                                    admitted_seq, now});
    write_deadlines_.emplace_back(now + timeout_, id);
    for (size_t s = 0; s < writes_queued_.size(); ++s)
      if ((mask >> s) & 1u) ++writes_queued_[s];
    ++unanswered_writes_;
    return id;
  }

  /// Records the owner writer's answer to write `id` (`refused_code`: the code
  /// of a refused write). Returns the promise to deliver through and the code
  /// to deliver (nothing for committed: deliver the ack), or nothing if the
  /// write was answered already.
  std::optional<std::pair<WritePromise, std::optional<errc>>> owner_answered(
      uint64_t id, owner_answer a, errc refused_code = errc::no_space) {
    auto i = writes_.find(id);
    if (i == writes_.end()) return std::nullopt;
    std::optional<errc> code;
    switch (a) {
      case owner_answer::committed:
        break;
      case owner_answer::aborted:
        code = errc::aborted;
        break;
      case owner_answer::refused:
        code = refused_code;
        break;
      case owner_answer::in_doubt_final:
      case owner_answer::other:
        code = errc::in_doubt;
        break;
    }
    // A writer that crashed in its handler goes down: a write with a token
    // then waits for its sweep and is answered from the token's outcome.
    if (a == owner_answer::other && !i->second.token.empty()) return std::nullopt;
    auto rp = answer(i->second, code);
    if (a != owner_answer::other) settle(i);
    if (!rp) return std::nullopt;
    return std::make_pair(std::move(*rp), code);
  }

  /// Holds write `id` for a token lookup instead of answering it in_doubt: its
  /// owner answered in_doubt because the commit actor went down or its commit
  /// failed, so nothing can commit it any more (a failed commit's token is
  /// answered pending by the lookup, so it stays in doubt). Settles it.
  /// Returns nothing if it has no token or was answered already.
  std::optional<held_orphan> hold(uint64_t id) {
    auto i = writes_.find(id);
    if (i == writes_.end() || i->second.answered || i->second.token.empty()) return std::nullopt;
    auto& w = i->second;
    w.answered = true;
    --unanswered_writes_;
    ++held_;
    held_orphan h{std::move(*w.rp), w.token, w.admitted_seq, w.owner};
    w.rp.reset();
    settle(i);
    return h;
  }

  /// The writer of `owner` went down: its unsettled writes become orphans (it
  /// may have sealed them). The unanswered ones without a token are answered
  /// in_doubt now; those with a token wait for their sweep (end_sweep).
  std::vector<write_answer> orphan_writes(space_id owner) {
    std::vector<write_answer> out;
    for (auto& [id, w] : writes_) {
      if (w.owner != owner || w.orphan) continue;
      w.orphan = true;
      orphans_.push_back(id);
      if (!w.token.empty()) continue;
      if (auto rp = answer(w, errc::in_doubt))
        out.push_back(write_answer{std::move(*rp), errc::in_doubt, w.owner});
    }
    return out;
  }

  /// Returns whether orphans wait for a sweep that is not running.
  bool sweep_wanted() const noexcept { return !orphans_.empty() && !sweeping_; }

  /// Starts a sweep: the orphans now known settle when end_sweep() is called
  /// (after every live writer was flushed and then the commit actor fenced).
  void begin_sweep() {
    if (sweeping_) return;  // one sweep at a time: its orphans are in swept_
    sweeping_ = true;
    swept_.swap(orphans_);
    orphans_.clear();
  }

  /// Ends the sweep begun last: settles the orphans it covered and hands back
  /// those still unanswered (they carry a token) for resolve_held().
  std::vector<held_orphan> end_sweep() {
    std::vector<held_orphan> held;
    for (auto id : swept_) {
      auto i = writes_.find(id);
      if (i == writes_.end()) continue;
      auto& w = i->second;
      if (!w.answered) {
        w.answered = true;
        --unanswered_writes_;
        ++held_;
        held.push_back(held_orphan{std::move(*w.rp), w.token, w.admitted_seq, w.owner});
        w.rp.reset();
      }
      settle(i);
    }
    swept_.clear();
    sweeping_ = false;
    return held;
  }

  /// Decides the answer of a held orphan from its token's settled outcome:
  /// nothing (deliver the ack) for committed, errc::aborted for not
  /// committed, errc::in_doubt otherwise. Counts it.
  std::optional<errc> resolve_held(bool committed, bool not_committed) {
    if (held_ > 0) --held_;
    std::optional<errc> code;
    if (!committed) code = not_committed ? errc::aborted : errc::in_doubt;
    count(code);
    return code;
  }

  /// Returns how many held orphans wait for resolve_held().
  size_t held() const noexcept { return held_; }

  /// Returns whether a write carrying `token` is admitted and not settled.
  bool token_pending(const std::string& token) const { return tokens_.count(token) > 0; }

  // -- deadlines and shutdown ------------------------------------------------------

  /// Requests whose deadline passed: reads (answered now; errc::timeout) and
  /// writes (answered errc::in_doubt, still unsettled).
  struct overdue {
    /// Each read's space and promise.
    std::vector<std::pair<space_id, ReadPromise>> reads;
    std::vector<write_answer> writes;
  };

  /// Answers every request whose deadline is at or before `now`.
  overdue expire(clock::time_point now) {
    overdue out;
    while (!read_deadlines_.empty() && read_deadlines_.front().first <= now) {
      auto id = read_deadlines_.front().second;
      read_deadlines_.pop_front();
      if (auto r = answer_read(id)) out.reads.push_back(std::move(*r));
    }
    while (!write_deadlines_.empty() && write_deadlines_.front().first <= now) {
      auto id = write_deadlines_.front().second;
      write_deadlines_.pop_front();
      auto i = writes_.find(id);
      if (i == writes_.end()) continue;
      if (auto rp = answer(i->second, errc::in_doubt))
        out.writes.push_back(write_answer{std::move(*rp), errc::in_doubt, i->second.owner});
    }
    return out;
  }

  /// The shutdown grace period ran out: answers every unanswered request
  /// (reads errc::shutting_down, writes errc::in_doubt: their parts were handed
  /// to writers that commit what the drain sealed before they stop).
  overdue cut_off() {
    overdue out;
    for (auto& kv : reads_)
      if (auto r = answer_read(kv.first)) out.reads.push_back(std::move(*r));
    for (auto& kv : writes_)
      if (auto rp = answer(kv.second, errc::in_doubt))
        out.writes.push_back(write_answer{std::move(*rp), errc::in_doubt, kv.second.owner});
    return out;
  }

  /// Returns whether every admitted request has been answered (held orphans
  /// included).
  bool all_answered() const noexcept {
    return unanswered_reads_ == 0 && unanswered_writes_ == 0 && held_ == 0;
  }

  // -- counters --------------------------------------------------------------------

  /// Reads of `s` admitted and not answered by their reader (answered or not).
  uint64_t reads_queued(space_id s) const { return reads_queued_[s]; }
  /// Writes touching `s` that are admitted and not settled.
  uint64_t writes_queued(space_id s) const { return writes_queued_[s]; }
  /// Reads admitted and not answered by their reader.
  size_t reads_in_flight() const noexcept { return reads_.size(); }
  /// Reads whose client has not been answered.
  size_t unanswered_reads() const noexcept { return unanswered_reads_; }
  /// Writes admitted and not settled (answered or not).
  size_t writes_in_flight() const noexcept { return writes_.size(); }
  size_t unanswered_writes() const noexcept { return unanswered_writes_; }
  const write_counts& counts() const noexcept { return counts_; }
  /// Returns how long the oldest write admitted and not settled has been in
  /// flight at `now` (zero when none): a stalled backend shows here.
  clock::duration oldest_write_age(clock::time_point now) const {
    if (writes_.empty()) return clock::duration::zero();
    return now - writes_.begin()->second.admitted;
  }
  /// Returns whether a deadline is pending (the caller's tick must run).
  bool has_deadlines() const noexcept {
    return !read_deadlines_.empty() || !write_deadlines_.empty() || !orphans_.empty() || sweeping_;
  }

 private:
  struct read_entry {
    space_id space;
    /// Empty once the client was answered (deadline, cut-off).
    std::optional<ReadPromise> rp;
  };

  /// Answers the client of read `id` without releasing its slot: its reader
  /// still holds the request.
  std::optional<std::pair<space_id, ReadPromise>> answer_read(uint64_t id) {
    auto i = reads_.find(id);
    if (i == reads_.end() || !i->second.rp) return std::nullopt;
    auto out = std::make_pair(i->second.space, std::move(*i->second.rp));
    i->second.rp.reset();
    --unanswered_reads_;
    return out;
  }
  struct write_entry {
    uint64_t mask;
    space_id owner;
    std::string token;
    std::optional<WritePromise> rp;
    bool answered;
    bool orphan;
    uint64_t admitted_seq;
    clock::time_point admitted;
  };
  using write_iter = typename std::map<uint64_t, write_entry>::iterator;

  /// Moves out the promise of an unanswered write and counts the outcome.
  std::optional<WritePromise> answer(write_entry& w, std::optional<errc> code) {
    if (w.answered) return std::nullopt;
    w.answered = true;
    --unanswered_writes_;
    count(code);
    auto rp = std::move(w.rp);
    w.rp.reset();
    return rp;
  }

  void count(std::optional<errc> code) {
    if (!code)
      ++counts_.committed;
    else if (write_outcome_of(*code) == write_outcome::not_applied)
      ++counts_.not_applied;
    else
      ++counts_.in_doubt;
  }

  void settle(write_iter i) {
    auto& w = i->second;
    for (size_t s = 0; s < writes_queued_.size(); ++s)
      if ((w.mask >> s) & 1u) --writes_queued_[s];
    if (!w.token.empty()) {
      auto t = tokens_.find(w.token);
      if (t != tokens_.end() && --t->second == 0) tokens_.erase(t);
    }
    if (!w.answered) --unanswered_writes_;  // settled without an answer: never happens
    writes_.erase(i);
  }

  clock::duration timeout_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, read_entry> reads_;
  std::map<uint64_t, write_entry> writes_;
  /// Deadlines in admission order (every request gets the same timeout).
  std::deque<std::pair<clock::time_point, uint64_t>> read_deadlines_;
  std::deque<std::pair<clock::time_point, uint64_t>> write_deadlines_;
  std::vector<uint64_t> reads_queued_;
  std::vector<uint64_t> writes_queued_;
  std::unordered_map<std::string, uint32_t> tokens_;
  std::vector<uint64_t> orphans_;
  std::vector<uint64_t> swept_;
  bool sweeping_ = false;
  size_t unanswered_writes_ = 0;
  size_t unanswered_reads_ = 0;
  size_t held_ = 0;
  write_counts counts_;
};

}  // namespace vstore
