#include "actors/commit_queue.hpp"

#include <limits>
#include <utility>

namespace vstore {

namespace {

bool is_multi_space(uint64_t mask) { return (mask & (mask - 1)) != 0; }

}  // namespace

commit_queue::commit_queue(size_t spaces, uint64_t min_g)
    : queues_(spaces), lost_up_to_(spaces, 0), min_g_(min_g) {}

bool commit_queue::misses_lost_part(uint64_t g, uint64_t missing) const {
  for (size_t s = 0; s < lost_up_to_.size(); ++s)
    if (((missing >> s) & 1u) != 0 && g <= lost_up_to_[s]) return true;
  return false;
}

commit_queue::token commit_queue::add(space_id space, std::vector<batch_part>&& parts,
                                      clock::time_point now) {
  auto tok = next_token_++;
  auto& p = pending_[tok];
  p.remaining = parts.size();
  if (parts.empty()) ready_.push_back(tok);
  for (auto& part : parts) {
    auto g = part.g;
    if (g < min_g_ || aborted_.count(g) > 0 || space >= queues_.size()) {
      finish(tok, g, true);
      continue;
    }
    if (is_multi_space(part.mask)) {
      auto bit = uint64_t{1} << space;
      auto i = incomplete_.find(g);
      if (i == incomplete_.end()) i = incomplete_.emplace(g, incomplete{part.mask, 0, now}).first;
      i->second.have |= bit;
      if (i->second.have == i->second.need) {
        incomplete_.erase(i);
      } else if (misses_lost_part(g, i->second.need & ~i->second.have)) {
        // A sibling part died with its writer: this batch can never complete.
        queued_ops_ += part.ops.size();
        ++queued_parts_;
        queues_[space].push_back(queued{tok, std::move(part)});
        abort(g, now);
        continue;
      }
    }
    queued_ops_ += part.ops.size();
    ++queued_parts_;
    queues_[space].push_back(queued{tok, std::move(part)});
  }
  return tok;
}

uint64_t commit_queue::watermark() const noexcept {
  return incomplete_.empty() ? std::numeric_limits<uint64_t>::max() : incomplete_.begin()->first;
}

std::vector<commit_queue::round_part> commit_queue::take_round() {
  std::vector<round_part> round;
  auto w = watermark();
  for (size_t s = 0; s < queues_.size(); ++s) {
    auto& q = queues_[s];
    while (!q.empty() && q.front().part.g < w) {
      queued_ops_ -= q.front().part.ops.size();
      --queued_parts_;
      round.push_back(
          round_part{static_cast<space_id>(s), q.front().tok, std::move(q.front().part)});
      q.pop_front();
    }
  }
  return round;
}

void commit_queue::finish_round(const std::vector<round_part>& round, const status& st,
                                uint64_t seq, const std::map<uint64_t, uint64_t>& duplicates,
                                const std::set<uint64_t>& refused) {
  settle_round(round, st, seq, duplicates, refused, false);
}

void commit_queue::refuse_round(const std::vector<round_part>& round, const status& st,
                                const std::map<uint64_t, uint64_t>& duplicates,
                                const std::set<uint64_t>& doubtful) {
  settle_round(round, st, 0, duplicates, doubtful, true);
}

void commit_queue::settle_round(const std::vector<round_part>& round, const status& st,
                                uint64_t seq, const std::map<uint64_t, uint64_t>& duplicates,
                                const std::set<uint64_t>& doubtful, bool unwritten) {
  for (const auto& rp : round) {
    auto i = pending_.find(rp.tok);
    if (i == pending_.end()) continue;
    auto& res = i->second.result;
    auto dup = duplicates.find(rp.part.g);
    if (doubtful.count(rp.part.g) > 0) {
      res.failed.push_back(rp.part.g);
      res.fail_code = errc::in_doubt;
      res.fail_context =
          "an earlier commit of its token failed; its fate is known after the store reopens";
    } else if (dup != duplicates.end() && (dup->second != 0 || st)) {
      // A token that committed before, or (0) earlier in this round, which
      // counts only if the round committed.
      res.duplicate.push_back(rp.part.g);
      res.duplicate_seq.push_back(dup->second != 0 ? dup->second : seq);
    } else if (st) {
      if (seq > res.seq) res.seq = seq;
    } else if (unwritten) {
      res.refused.push_back(rp.part.g);
      res.refuse_code = st.code();
      res.refuse_context = st.context();
    } else {
      res.failed.push_back(rp.part.g);
      res.fail_code = st.code();
      res.fail_context = st.context();
    }
    if (--i->second.remaining == 0) ready_.push_back(rp.tok);
  }
}

std::vector<commit_queue::ready_ack> commit_queue::take_ready() {
  std::vector<ready_ack> out;
  out.reserve(ready_.size());
  for (auto tok : ready_) {
    auto i = pending_.find(tok);
    if (i == pending_.end()) continue;
    out.push_back(ready_ack{tok, std::move(i->second.result)});
    pending_.erase(i);
  }
  ready_.clear();
  return out;
}

void commit_queue::finish(token tok, uint64_t g, bool aborted) {
  auto i = pending_.find(tok);
  if (i == pending_.end()) return;
  if (aborted) i->second.result.aborted.push_back(g);
  if (--i->second.remaining == 0) ready_.push_back(tok);
}

void commit_queue::abort(uint64_t g, clock::time_point now) {
  incomplete_.erase(g);
  aborted_.emplace(g, now);
  ++aborted_total_;
  for (auto& q : queues_) {
    for (auto i = q.begin(); i != q.end();) {
      if (i->part.g == g) {
        queued_ops_ -= i->part.ops.size();
        --queued_parts_;
        finish(i->tok, g, true);
        i = q.erase(i);
      } else {
        ++i;
      }
    }
  }
}

size_t commit_queue::abort_stalled(clock::time_point now, clock::duration max_age) {
  std::vector<uint64_t> victims;
  for (const auto& [g, inc] : incomplete_)
    if (now - inc.since >= max_age) victims.push_back(g);
  for (auto g : victims) abort(g, now);
  return victims.size();
}

size_t commit_queue::abort_space(space_id space, uint64_t up_to_g) {
  if (space >= lost_up_to_.size()) return 0;
  if (up_to_g > lost_up_to_[space]) lost_up_to_[space] = up_to_g;
  auto bit = uint64_t{1} << space;
  std::vector<uint64_t> victims;
  for (const auto& [g, inc] : incomplete_) {
    if (g > up_to_g) break;
    if ((inc.need & bit) != 0 && (inc.have & bit) == 0) victims.push_back(g);
  }
  auto now = clock::now();
  for (auto g : victims) abort(g, now);
  return victims.size();
}

void commit_queue::prune_aborted(clock::time_point now, clock::duration max_age) {
  for (auto i = aborted_.begin(); i != aborted_.end();) {
    if (now - i->second >= max_age)
      i = aborted_.erase(i);
    else
      ++i;
  }
}

}  // namespace vstore
