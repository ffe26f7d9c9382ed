#include "actors/token_index.hpp"

#include <algorithm>

namespace vstore {

namespace {

void put_u64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((x >> shift) & 0xFF));
}

uint64_t get_u64(std::string_view in) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i) x = (x << 8) | static_cast<uint8_t>(in[i]);
  return x;
}

}  // namespace

token_index::token_index(uint64_t retain_count, std::chrono::milliseconds retain_age)
    : retain_count_(retain_count), retain_age_ms_(retain_age.count()) {}

std::string token_index::record_key(std::string_view token) {
  std::string k{record_prefix()};
  k.append(token);
  return k;
}

std::string token_index::forgotten_key() { return "m.forgotten-through"; }

std::string token_index::encode(const entry& e) {
  std::string out;
  out.reserve(16);
  put_u64(out, e.seq);
  put_u64(out, static_cast<uint64_t>(e.unix_ms));
  return out;
}

bool token_index::decode(std::string_view value, entry& out) {
  if (value.size() != 16) return false;
  out.seq = get_u64(value.substr(0, 8));
  out.unix_ms = static_cast<int64_t>(get_u64(value.substr(8, 8)));
  return true;
}

std::string token_index::encode_seq(uint64_t seq) {
  std::string out;
  put_u64(out, seq);
  return out;
}

bool token_index::decode_seq(std::string_view value, uint64_t& out) {
  if (value.size() != 8) return false;
  out = get_u64(value);
  return true;
}

void token_index::load(std::string token, entry e) {
  if (!by_token_.emplace(token, e).second) return;
  order_.push_back(ordered{e.seq, e.unix_ms, std::move(token)});
}

void token_index::finish_load() {
  std::stable_sort(order_.begin(), order_.end(),
                   [](const ordered& a, const ordered& b) { return a.seq < b.seq; });
}

std::optional<token_index::entry> token_index::find(const std::string& token) const {
  auto i = by_token_.find(token);
  if (i == by_token_.end()) return std::nullopt;
  return i->second;
}

void token_index::insert(const std::string& token, entry e) {
  if (!by_token_.emplace(token, e).second) return;
  order_.push_back(ordered{e.seq, e.unix_ms, token});
  if (doubtful_.erase(token) > 0)
    doubtful_order_.erase(std::find(doubtful_order_.begin(), doubtful_order_.end(), token));
}

void token_index::mark_doubtful(const std::string& token) {
  if (by_token_.count(token) > 0 || !doubtful_.insert(token).second) return;
  doubtful_order_.push_back(token);
  while (doubtful_order_.size() > retain_count_) {
    doubtful_.erase(doubtful_order_.front());
    doubtful_order_.pop_front();
    doubt_dropped_ = true;
  }
}

std::vector<std::string> token_index::forget(int64_t now_ms) {
  std::vector<std::string> out;
  while (!order_.empty() &&
         (order_.size() > retain_count_ || now_ms - order_.front().unix_ms > retain_age_ms_)) {
    auto& o = order_.front();
    by_token_.erase(o.token);
    forgotten_through_ = std::max(forgotten_through_, o.seq);
    ++forgotten_total_;
    out.push_back(std::move(o.token));
    order_.pop_front();
  }
  return out;
}

outcome_reply token_index::outcome(const std::string& token, uint64_t not_before_seq) const {
  if (auto e = find(token)) return {write_state::committed, e->seq};
  if (doubtful_.count(token) > 0) return {write_state::pending, 0};
  // Had the token committed, it committed above not_before_seq; it would only
  // be gone if a token that high had been forgotten.
  if (forgotten_through_ <= not_before_seq && !doubt_dropped_)
    return {write_state::not_committed, 0};
  return {write_state::unknown, 0};
}

}  // namespace vstore
