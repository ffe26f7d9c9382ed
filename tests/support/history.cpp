#include "tests/support/history.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>
#include <utility>

namespace vstore::test {

const char* to_name(op_result x) noexcept {
  switch (x) {
    case op_result::ok:
      return "ok";
    case op_result::failed:
      return "failed";
    case op_result::unknown:
      return "unknown";
  }
  return "?";
}

const char* to_name(verdict x) noexcept {
  switch (x) {
    case verdict::ok:
      return "ok";
    case verdict::violation:
      return "violation";
    case verdict::undecided:
      return "undecided";
  }
  return "?";
}

namespace {

std::string render(const std::optional<std::string>& v) {
  return v ? "'" + *v + "'" : std::string{"absent"};
}

}  // namespace

std::string to_string(const history_op& op) {
  std::string out = "client " + std::to_string(op.client) + ": ";
  if (op.kind == register_op::read)
    out += "read -> " + render(op.value);
  else
    out += op.value ? "write " + render(op.value) : std::string{"delete"};
  out += " ";
  out += to_name(op.result);
  out += " [t " + std::to_string(op.invoked) + ".." + std::to_string(op.completed) + "]";
  return out;
}

void history::add(history_op op) {
  std::lock_guard<std::mutex> g{mtx_};
  ops_.push_back(std::move(op));
}

std::vector<history_op> history::ops() const {
  std::lock_guard<std::mutex> g{mtx_};
  return ops_;
}

std::string check_result::to_string() const {
  auto first = [this](verdict v) -> const key_verdict* {
    for (auto& k : keys)
      if (k.result == v) return &k;
    return nullptr;
  };
  if (result == verdict::ok) return "ok (" + std::to_string(keys.size()) + " keys)";
  auto* k = first(result);
  std::string out = to_name(result);
  out += " (" + std::to_string(violations) + " violations, " + std::to_string(undecided) +
         " undecided of " + std::to_string(keys.size()) + " keys): ";
  out += k ? k->explanation : std::string{"?"};
  return out;
}

namespace {

using clock_type = std::chrono::steady_clock;

/// The (linearized set, register state) pairs the search has visited, stored
/// exactly (no lossy hashing: a false "visited" could hide a valid order).
/// Each entry is `words` bitset words then the state, in one arena.
class visited_set {
 public:
  explicit visited_set(size_t words) : words_(words + 1), set_(64, hasher{this}, same{this}) {}
  visited_set(const visited_set&) = delete;
  visited_set& operator=(const visited_set&) = delete;

  /// Adds (bits, state); returns false if it was there already.
  bool insert(const std::vector<uint64_t>& bits, uint64_t state) {
    auto off = arena_.size();
    arena_.insert(arena_.end(), bits.begin(), bits.end());
    arena_.push_back(state);
    if (set_.insert(off).second) return true;
    arena_.resize(off);
    return false;
  }

 private:
  struct hasher {
    const visited_set* s;
    size_t operator()(size_t off) const noexcept {
      uint64_t h = 0xcbf29ce484222325ull;
      for (size_t i = 0; i < s->words_; ++i) {
        h ^= s->arena_[off + i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
      }
      return static_cast<size_t>(h);
    }
  };
  struct same {
    const visited_set* s;
    bool operator()(size_t a, size_t b) const noexcept {
      return std::equal(s->arena_.begin() + static_cast<std::ptrdiff_t>(a),
                        s->arena_.begin() + static_cast<std::ptrdiff_t>(a + s->words_),
                        s->arena_.begin() + static_cast<std::ptrdiff_t>(b));
    }
  };

  size_t words_;
  std::vector<uint64_t> arena_;
  std::unordered_set<size_t, hasher, same> set_;
};

constexpr uint64_t infinity = std::numeric_limits<uint64_t>::max();

/// The search over one key. `all` is the caller's vector; `idx` the indices of
/// this key's ops in it.
class key_search {
 public:
  key_search(const std::vector<history_op>& all, std::vector<size_t> idx,
             const check_limits& limits, clock_type::time_point deadline)
      : all_(all), idx_(std::move(idx)), limits_(limits), deadline_(deadline) {}

  key_verdict run() {
    key_verdict out;
    out.key = all_[idx_.front()].key;
    select();
    out.ops = ops_.size();
    if (precheck(out)) return out;
    if (ops_.size() > limits_.max_ops_per_key) {
      out.result = verdict::undecided;
      out.explanation = "key " + out.key + ": " + std::to_string(ops_.size()) +
                        " ops, more than the checker's bound of " +
                        std::to_string(limits_.max_ops_per_key) + " per key";
      return out;
    }
    search(out);
    return out;
  }

 private:
  const history_op& op(size_t local) const { return all_[ops_[local]]; }

  /// Keeps the ops that constrain the register: ok reads, ok and unknown
  /// writes. Failed writes are remembered for explanations only.
  void select() {
    for (auto i : idx_) {
      auto& o = all_[i];
      if (o.kind == register_op::read) {
        if (o.result == op_result::ok) ops_.push_back(i);
      } else if (o.result == op_result::failed) {
        failed_writes_.push_back(i);
      } else {
        ops_.push_back(i);
      }
    }
  }

  /// Finds the plain cases with a precise explanation: a read of a value no
  /// write that may have taken effect wrote, or one that completed before
  /// every write of its value was invoked. Returns whether it found one.
  bool precheck(key_verdict& out) {
    std::map<std::string, std::vector<size_t>> writers_of;
    for (auto i : ops_)
      if (all_[i].kind == register_op::write && all_[i].value)
        writers_of[*all_[i].value].push_back(i);
    for (auto r : ops_) {
      auto& rd = all_[r];
      if (rd.kind != register_op::read || !rd.value) continue;
      auto w = writers_of.find(*rd.value);
      if (w != writers_of.end() && std::any_of(w->second.begin(), w->second.end(), [&](size_t i) {
            return all_[i].invoked <= rd.completed;
          }))
        continue;
      out.result = verdict::violation;
      out.involved.push_back(r);
      out.explanation = "key " + out.key + ": " + to_string(rd) + " returned a value ";
      if (w != writers_of.end()) {
        out.explanation += "whose every write was invoked after the read completed: ";
        for (auto i : w->second) {
          out.explanation += to_string(all_[i]) + "; ";
          out.involved.push_back(i);
        }
        out.explanation.resize(out.explanation.size() - 2);
        return true;
      }
      auto failed = std::find_if(failed_writes_.begin(), failed_writes_.end(),
                                 [&](size_t i) { return all_[i].value == rd.value; });
      if (failed == failed_writes_.end()) {
        out.explanation += "that no write wrote";
      } else {
        out.explanation += "written only by a write that failed (certainly not applied): ";
        out.explanation += to_string(all_[*failed]);
        out.involved.push_back(*failed);
      }
      return true;
    }
    return false;
  }

  /// The entries of the history as a doubly linked list: node 0 is the head;
  /// node 1 + 2i is op i's call, node 2 + 2i its return.
  void build_list() {
    struct event {
      uint64_t time;
      bool is_return;
      size_t op;
    };
    std::vector<event> events;
    for (size_t i = 0; i < ops_.size(); ++i) {
      auto& o = op(i);
      auto ret = o.kind == register_op::write && o.result == op_result::unknown
                     ? infinity
                     : std::max(o.completed, o.invoked);
      events.push_back({o.invoked, false, i});
      events.push_back({ret, true, i});
    }
    // Calls before returns at equal times: ties count as concurrent.
    std::sort(events.begin(), events.end(), [](const event& a, const event& b) {
      if (a.time != b.time) return a.time < b.time;
      if (a.is_return != b.is_return) return !a.is_return;
      return a.op < b.op;
    });
    auto nodes = 1 + 2 * ops_.size();
    next_.assign(nodes, 0);
    prev_.assign(nodes, 0);
    size_t last = 0;
    for (auto& e : events) {
      auto node = e.is_return ? 2 + 2 * e.op : 1 + 2 * e.op;
      next_[last] = node;
      prev_[node] = last;
      last = node;
    }
    next_[last] = 0;  // 0 ends the list
  }

  /// Removes op i's call and return from the list.
  void lift(size_t i) {
    for (auto node : {1 + 2 * i, 2 + 2 * i}) {
      next_[prev_[node]] = next_[node];
      if (next_[node] != 0) prev_[next_[node]] = prev_[node];
    }
  }

  /// Puts op i's return and call back (the reverse order of lift).
  void unlift(size_t i) {
    for (auto node : {2 + 2 * i, 1 + 2 * i}) {
      next_[prev_[node]] = node;
      if (next_[node] != 0) prev_[next_[node]] = node;
    }
  }

  /// Interns every value: 0 is "absent".
  void intern_values() {
    std::map<std::string, uint64_t> ids;
    value_of_.assign(ops_.size(), 0);
    for (size_t i = 0; i < ops_.size(); ++i) {
      auto& v = op(i).value;
      if (!v) continue;
      auto [it, fresh] = ids.emplace(*v, ids.size() + 1);
      value_of_[i] = it->second;
    }
  }

  /// The Wing–Gong search with Lowe's memoization (Porcupine's loop): walk the
  /// entries; at a call, linearize its op if the register allows it and the
  /// resulting (set, state) is new; at a return of an op not linearized yet,
  /// undo the latest choice and try the next entry. Unknown writes return at
  /// +infinity, so "never took effect" is "linearized after everything else".
  void search(key_verdict& out) {
    build_list();
    intern_values();
    std::vector<uint64_t> bits((ops_.size() + 63) / 64, 0);
    visited_set visited{bits.size()};
    struct choice {
      size_t op;
      uint64_t state_before;
    };
    std::vector<choice> stack;
    uint64_t state = 0;
    size_t best_depth = 0;
    std::vector<size_t> best_prefix;
    std::optional<size_t> best_blocked;
    uint64_t best_state = 0;
    size_t node = next_[0];
    uint64_t steps = 0;
    while (next_[0] != 0) {
      if (++steps > limits_.max_steps_per_key ||
          ((steps & 0xfff) == 0 && clock_type::now() > deadline_)) {
        out.steps = steps;
        out.result = verdict::undecided;
        out.explanation = "key " + out.key + ": search budget exhausted after " +
                          std::to_string(steps - 1) + " steps (" + std::to_string(ops_.size()) +
                          " ops)";
        return;
      }
      if (node == 0) {  // cannot happen: the last entry is always a return
        out.steps = steps;
        out.result = verdict::undecided;
        out.explanation = "key " + out.key + ": internal error: the search ran off its list";
        return;
      }
      bool is_call = node % 2 == 1;
      auto i = (node - 1) / 2;
      if (is_call) {
        auto& o = op(i);
        bool allowed = o.kind == register_op::write || value_of_[i] == state;
        auto next_state = o.kind == register_op::write ? value_of_[i] : state;
        if (allowed) {
          bits[i / 64] |= uint64_t{1} << (i % 64);
          if (visited.insert(bits, next_state)) {
            stack.push_back({i, state});
            state = next_state;
            lift(i);
            node = next_[0];
            continue;
          }
          bits[i / 64] &= ~(uint64_t{1} << (i % 64));
        }
        node = next_[node];
        continue;
      }
      // A return of an op not linearized yet: this branch is dead.
      if (stack.size() > best_depth || !best_blocked) {
        best_depth = stack.size();
        best_prefix.clear();
        for (auto& c : stack) best_prefix.push_back(c.op);
        best_blocked = i;
        best_state = state;
      }
      if (stack.empty()) {
        out.steps = steps;
        explain(out, best_prefix, *best_blocked, best_state);
        return;
      }
      auto top = stack.back();
      stack.pop_back();
      state = top.state_before;
      bits[top.op / 64] &= ~(uint64_t{1} << (top.op % 64));
      unlift(top.op);
      node = next_[1 + 2 * top.op];
    }
    out.steps = steps;
  }

  /// Describes a violation from the deepest point the search reached: the
  /// valid order found so far, the register's value there, and the op that
  /// could take effect in no order before its completion.
  void explain(key_verdict& out, const std::vector<size_t>& prefix, size_t blocked,
               uint64_t state) {
    out.result = verdict::violation;
    auto& b = op(blocked);
    std::optional<size_t> last_write;
    for (auto it = prefix.rbegin(); it != prefix.rend(); ++it)
      if (op(*it).kind == register_op::write) {
        last_write = *it;
        break;
      }
    std::string held = state == 0 ? "absent" : render(op(*last_write).value);
    out.explanation = "key " + out.key + ": no linearization; ";
    out.explanation += "the longest valid order has " + std::to_string(prefix.size()) + " of " +
                       std::to_string(ops_.size()) + " ops";
    if (last_write) {
      out.explanation +=
          " and leaves the register at " + held + " (" + to_string(op(*last_write)) + ")";
    } else {
      out.explanation += " and leaves the register " + held;
    }
    out.explanation += "; then " + to_string(b) + " cannot take effect before it completes";
    out.involved.push_back(ops_[blocked]);
    if (last_write) out.involved.push_back(ops_[*last_write]);
    if (b.kind == register_op::read && b.value) {
      for (size_t w = 0; w < ops_.size(); ++w) {
        if (op(w).kind != register_op::write || op(w).value != b.value) continue;
        out.explanation += "; its value was written by " + to_string(op(w));
        out.involved.push_back(ops_[w]);
      }
    }
  }

  const std::vector<history_op>& all_;
  std::vector<size_t> idx_;
  const check_limits& limits_;
  clock_type::time_point deadline_;
  std::vector<size_t> ops_;  // indices into all_ of the ops searched
  std::vector<size_t> failed_writes_;
  std::vector<uint64_t> value_of_;
  std::vector<size_t> next_;
  std::vector<size_t> prev_;
};

}  // namespace

key_verdict check_key(const std::vector<history_op>& ops, const check_limits& limits) {
  key_verdict out;
  if (ops.empty()) return out;
  for (auto& o : ops)
    if (o.key != ops.front().key) {
      out.key = ops.front().key;
      out.result = verdict::undecided;
      out.explanation =
          "check_key got ops of several keys (" + ops.front().key + ", " + o.key + ")";
      return out;
    }
  std::vector<size_t> idx(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) idx[i] = i;
  return key_search{ops, std::move(idx), limits, clock_type::now() + limits.max_time}.run();
}

check_result check_history(const std::vector<history_op>& ops, const check_limits& limits) {
  check_result out;
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < ops.size(); ++i) by_key[ops[i].key].push_back(i);
  auto deadline = clock_type::now() + limits.max_time;
  for (auto& [key, idx] : by_key) {
    auto k = key_search{ops, idx, limits, deadline}.run();
    if (k.result == verdict::violation) ++out.violations;
    if (k.result == verdict::undecided) ++out.undecided;
    out.max_steps = std::max(out.max_steps, k.steps);
    out.keys.push_back(std::move(k));
  }
  if (out.violations > 0)
    out.result = verdict::violation;
  else if (out.undecided > 0)
    out.result = verdict::undecided;
  return out;
}

}  // namespace vstore::test
