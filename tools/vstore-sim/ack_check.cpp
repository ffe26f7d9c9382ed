#include "tools/vstore-sim/ack_check.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace vstore::sim {

namespace {

/// Parses "a-b-c..." (decimal fields separated by '-') into exactly `n` numbers.
bool parse_fields(std::string_view s, size_t n, uint64_t* out) {
  for (size_t i = 0; i < n; ++i) {
    auto end = s.find('-');
    auto field = s.substr(0, end);
    if (field.empty()) return false;
    auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), out[i]);
    if (ec != std::errc{} || p != field.data() + field.size()) return false;
    if (i + 1 < n) {
      if (end == std::string_view::npos) return false;
      s.remove_prefix(end + 1);
    } else if (end != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

/// One possible history of a chain: its batches so far, or broken (a write
/// in effect that does not fit the chain at its point).
struct chain_outcome {
  uint64_t live = 0;
  bool broken = false;
  bool operator<(const chain_outcome& o) const {
    return broken != o.broken ? broken < o.broken : live < o.live;
  }
};

/// Applies `w` in effect to `o`.
chain_outcome apply(chain_outcome o, const chain_write& w) {
  if (o.broken) return o;
  if (!w.rollback) {
    if (o.live != w.first) return {o.live, true};
    return {w.first + 1, false};
  }
  if (o.live != w.first + w.count) return {o.live, true};
  return {w.first, false};
}

std::string describe(const chain_outcome& o) {
  return o.broken ? "a broken chain" : std::to_string(o.live) + " batches";
}

}  // namespace

std::string write_token(const chain_write& w) {
  auto token = (w.rollback ? "r" : "c") + std::to_string(w.chain) + "-" + std::to_string(w.first);
  if (w.rollback) token += "-" + std::to_string(w.count);
  return token + "-" + std::to_string(w.ordinal);
}

bool parse_token(std::string_view token, chain_write& out) {
  if (token.empty()) return false;
  chain_write w;
  w.rollback = token.front() == 'r';
  if (!w.rollback && token.front() != 'c') return false;
  token.remove_prefix(1);
  uint64_t f[4] = {};
  if (w.rollback) {
    if (!parse_fields(token, 4, f) || f[2] == 0) return false;
    w.count = f[2];
    w.ordinal = f[3];
  } else {
    if (!parse_fields(token, 3, f)) return false;
    w.ordinal = f[2];
  }
  w.chain = f[0];
  w.first = f[1];
  out = w;
  return true;
}

std::vector<std::string> side_log::in_doubt() const {
  std::vector<std::string> out;
  for (const auto& i : intents)
    if (!i.acked) out.push_back(i.token);
  return out;
}

status parse_side_log(std::string_view text, side_log& out) {
  std::unordered_map<std::string, size_t> by_token;
  std::unordered_map<uint64_t, uint64_t> next_ordinal;
  size_t line_no = 0;
  while (!text.empty()) {
    auto eol = text.find('\n');
    if (eol == std::string_view::npos) break;  // torn by the kill
    auto line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    ++line_no;
    auto bad = [&](const std::string& why) {
      return status{errc::invalid_argument, "side log line " + std::to_string(line_no) + " '" +
                                                std::string{line} + "': " + why};
    };
    auto space = line.find(' ');
    if (space == std::string_view::npos) return bad("expected 'intent TOKEN' or 'ack TOKEN'");
    auto verb = line.substr(0, space);
    auto token = std::string{line.substr(space + 1)};
    chain_write w;
    if (!parse_token(token, w)) return bad("malformed token");
    if (verb == "intent") {
      if (by_token.count(token)) return bad("token logged twice");
      auto& next = next_ordinal[w.chain];
      if (w.ordinal != next) return bad("expected ordinal " + std::to_string(next));
      ++next;
      by_token.emplace(token, out.intents.size());
      out.intents.push_back(side_log::intent{token, w, false});
    } else if (verb == "ack") {
      auto i = by_token.find(token);
      if (i == by_token.end()) return bad("ack without an intent");
      out.intents[i->second].acked = true;
    } else {
      return bad("expected 'intent TOKEN' or 'ack TOKEN'");
    }
  }
  return {};
}

status read_side_log(const std::string& path, side_log& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {errc::io_error, "cannot read the side log " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_side_log(text.str(), out);
}

ack_check_result check_side_log(const side_log& log,
                                const std::map<std::string, write_state>& resolved,
                                const std::vector<uint64_t>& live) {
  ack_check_result r;
  // Every possible history per chain; a single one unless an intent is unresolved.
  std::map<uint64_t, std::set<chain_outcome>> chains;
  for (uint64_t c = 0; c < live.size(); ++c) chains[c].insert(chain_outcome{});
  for (const auto& i : log.intents) {
    ++r.intents;
    auto& possible = chains[i.write.chain];
    if (possible.empty()) possible.insert(chain_outcome{});
    bool in_effect = i.acked, maybe = false;
    if (i.acked) {
      ++(i.write.rollback ? r.acked_rollbacks : r.acked_commits);
    } else {
      auto s = resolved.find(i.token);
      auto state = s == resolved.end() ? write_state::unknown : s->second;
      if (state == write_state::committed) {
        ++r.resolved_committed;
        in_effect = true;
      } else if (state == write_state::not_committed) {
        ++r.resolved_not_committed;
      } else {
        ++r.unresolved;
        maybe = true;
      }
    }
    if (!in_effect && !maybe) continue;
    std::set<chain_outcome> next;
    for (const auto& o : possible) {
      next.insert(apply(o, i.write));
      if (maybe) next.insert(o);
    }
    // A broken history is no legal resolution of an unresolved write while
    // another one fits the chain.
    if (next.size() > 1 && !next.begin()->broken)
      next.erase(next.lower_bound({0, true}), next.end());
    possible = std::move(next);
  }
  for (const auto& [chain, possible] : chains) {
    ++r.chains;
    chain_outcome found{chain < live.size() ? live[chain] : 0, false};
    auto name = "chain " + std::to_string(chain) + " holds " + describe(found);
    if (possible.size() == 1) {
      const auto& want = *possible.begin();
      if (want.broken)
        r.failures.push_back("chain " + std::to_string(chain) +
                             ": a write in effect does not fit the chain at its point (a lost "
                             "or reordered earlier write)");
      else if (want.live != found.live)
        r.failures.push_back(name + ", but its acknowledged and resolved-committed writes leave " +
                             describe(want));
      continue;
    }
    if (possible.count(found)) {
      r.failures.push_back(name + ": cannot decide, unresolved in-doubt writes allow " +
                           std::to_string(possible.size()) + " results");
    } else {
      r.failures.push_back(name + ", which no resolution of its in-doubt writes gives");
    }
  }
  return r;
}

}  // namespace vstore::sim
