#pragma once

// What the state service's end-to-end tests share: a model of the layout on
// plain std::maps (written from the semantics of vstore/state.hpp, not from
// state/layout.hpp), a driver that sends a service its requests and checks
// every key of the four spaces and every read against the model, and a
// random workload.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "tests/support/actor_fixture.hpp"
#include "vstore/state.hpp"

namespace vstore::test {

// -- the model ---------------------------------------------------------------------------

inline std::string be8(uint64_t x) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(7 - i)] = static_cast<char>((x >> (8 * i)) & 0xff);
  return out;
}

inline uint64_t from_be8(const std::string& s) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) x = (x << 8) | static_cast<uint8_t>(s[i]);
  return x;
}

inline const std::string& model_head_key() {
  static const std::string k = std::string(8, '\xff') + "head";
  return k;
}
inline const std::string& model_floor_key() {
  static const std::string k = std::string(8, '\xff') + "floor";
  return k;
}

/// The four spaces as the service must leave them, and the value history
/// of every resource, updated by the semantics of each operation.
class state_model {
 public:
  using space = std::map<std::string, std::string>;
  space data, latest, rollback, meta;
  batch_index head = 0;
  batch_index floor = 0;
  /// resource -> batch -> value (nullopt: removed at that batch).
  std::map<std::string, std::map<batch_index, std::optional<std::string>>> history;

  void apply(const apply_batch& b) {
    std::map<std::string, const resource_write*> last;  // a batch keeps a resource's last write
    for (const auto& w : b.writes) last[w.resource] = &w;
    for (const auto& [r, w] : last) {
      const uint64_t prev = latest.count(r) ? from_be8(latest[r]) : 0;
      if (!w->remove) data[be8(b.index) + r] = w->value;
      rollback[be8(b.index) + r] = be8(prev);
      latest[r] = be8(b.index);
      history[r][b.index] = w->remove ? std::nullopt : std::optional<std::string>{w->value};
    }
    meta[be8(b.index)] = b.metadata;
    meta[model_head_key()] = be8(b.index);
    head = b.index;
  }

  /// Undoes the batches after `index` newest first; returns (batches,
  /// pointers) as rollback_ack counts them.
  std::pair<uint64_t, uint64_t> rollback_to(batch_index index) {
    if (index == head) return {0, 0};
    std::set<std::string> touched;
    for (auto it = rollback.rbegin(); it != rollback.rend(); ++it) {
      if (from_be8(it->first) <= index) break;
      const auto r = it->first.substr(8);
      const auto prev = from_be8(it->second);
      if (prev == 0)
        latest.erase(r);
      else
        latest[r] = be8(prev);
      touched.insert(r);
    }
    const auto from = be8(index + 1);
    data.erase(data.lower_bound(from), data.end());
    rollback.erase(rollback.lower_bound(from), rollback.end());
    uint64_t batches = 0;
    for (auto it = meta.lower_bound(from); it != meta.end();) {
      if (it->first.size() != 8) break;
      it = meta.erase(it);
      ++batches;
    }
    for (auto& [r, h] : history) h.erase(h.upper_bound(index), h.end());
    meta[model_head_key()] = be8(index);
    head = index;
    return {batches, touched.size()};
  }

  /// Raises the floor (never lowers it) and deletes what nothing at or above
  /// it needs.
  prune_ack prune(batch_index f) {
    prune_ack out;
    if (f > floor) {
      floor = f;
      meta[model_floor_key()] = be8(f);
    }
    out.floor = floor;
    std::vector<std::pair<std::string, std::string>> below;
    for (const auto& [k, v] : rollback) {
      if (from_be8(k) > floor) break;
      below.emplace_back(k, v);
    }
    for (const auto& [k, v] : below) {
      const auto b = from_be8(k);
      const auto r = k.substr(8);
      const auto prev = from_be8(v);
      if (prev != 0 && data.erase(be8(prev) + r)) ++out.versions_deleted;
      rollback.erase(k);
      ++out.entries_deleted;
      auto l = latest.find(r);
      if (l != latest.end() && from_be8(l->second) == b && !data.count(be8(b) + r)) {
        latest.erase(l);
        ++out.tombstones_deleted;
      }
    }
    return out;
  }

  std::optional<std::string> value_at(const std::string& r, batch_index index) const {
    auto it = history.find(r);
    if (it == history.end()) return std::nullopt;
    auto v = it->second.upper_bound(index);
    if (v == it->second.begin()) return std::nullopt;
    return std::prev(v)->second;
  }

  std::vector<std::string> resources() const {
    std::vector<std::string> out;
    for (const auto& [r, h] : history) out.push_back(r);
    return out;
  }
};

/// Renders a key: the first 8 bytes in hex, then "|" and the rest (hex
/// where not printable).
inline std::string show_key(const std::string& k) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < k.size(); ++i) {
    auto c = static_cast<uint8_t>(k[i]);
    if (i >= 8 && c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
    if (i == 7 && k.size() > 8) out += '|';
  }
  return out;
}

inline std::string show_value(const std::optional<std::string>& v) {
  return v ? "\"" + show_key(*v) + "\"" : "(none)";
}

// -- the driver ----------------------------------------------------------------------------

/// The four spaces' ids of one service.
struct four_spaces {
  space_id data = 0, latest = 1, rollback = 2, metadata = 3;
};

/// Sends one service its requests from a scoped actor of its own (so that
/// several drivers can run on several threads), and checks the store and
/// the reads against its model.
class state_driver {
 public:
  state_driver(caf::actor_system& sys, manager_actor m, state_actor s, four_spaces ids)
      : self(sys), manager(std::move(m)), service(std::move(s)), ids_(ids) {}

  caf::scoped_actor self;
  manager_actor manager;
  state_actor service;
  state_model model;

  template <class Reply, class Handle, class Request>
  status ask(const Handle& h, Request req, Reply& out) {
    status result;
    self->request(h, reply_timeout, std::move(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }

  /// Applies a batch and, once acknowledged, the model.
  /// Where an acknowledgement disagreed with the model (taken by
  /// take_ack_problem(), so that tests of broken variants can expect it).
  std::string ack_problem;

  std::string take_ack_problem() {
    auto out = std::move(ack_problem);
    ack_problem.clear();
    return out;
  }

  /// Applies a batch and, once acknowledged, the model.
  status apply(batch_index index, std::vector<resource_write> writes, std::string md = "m") {
    apply_batch b{index, std::move(writes), std::move(md)};
    apply_ack ack;
    auto st = ask(service, b, ack);
    if (st) {
      expect_same("apply_ack.index", ack.index, index);
      model.apply(b);
    }
    return st;
  }

  /// Rolls back and, once acknowledged, the model; the ack's counts must
  /// match the model's.
  status rollback(batch_index index) {
    rollback_ack ack;
    auto st = ask(service, rollback_to{index}, ack);
    if (st) {
      auto [batches, pointers] = model.rollback_to(index);
      expect_same("rollback_ack.head", ack.head, index);
      expect_same("rollback_ack.batches_undone", ack.batches_undone, batches);
      expect_same("rollback_ack.pointers_restored", ack.pointers_restored, pointers);
    }
    return st;
  }

  status prune(batch_index floor) {
    prune_ack ack;
    auto st = ask(service, prune_below{floor}, ack);
    if (st) {
      auto expect = model.prune(floor);
      expect_same("prune_ack.floor", ack.floor, expect.floor);
      expect_same("prune_ack.versions_deleted", ack.versions_deleted, expect.versions_deleted);
      expect_same("prune_ack.entries_deleted", ack.entries_deleted, expect.entries_deleted);
      expect_same("prune_ack.tombstones_deleted", ack.tombstones_deleted,
                  expect.tombstones_deleted);
    }
    return st;
  }

  state_info info() {
    state_info out;
    auto st = ask(service, state_info_request{}, out);
    EXPECT_TRUE(st) << st.to_string();
    return out;
  }

  /// Every key of one space, scanned through the manager.
  std::map<std::string, std::string> scan_all(space_id s) {
    std::map<std::string, std::string> out;
    std::string after;
    for (int page = 0; page < 10000; ++page) {
      scan_reply r;
      auto st = ask(manager, scan_request{s, "", after, 1000}, r);
      if (!st) {
        ADD_FAILURE() << "scan: " << st.to_string();
        break;
      }
      for (auto& kv : r.entries) out.emplace(kv.key, kv.value);
      if (!r.more || r.entries.empty()) break;
      after = r.entries.back().key;
    }
    return out;
  }

  /// Compares every key of the four spaces with the model: "" when equal,
  /// else the first differences.
  std::string check_keys() {
    std::string out;
    int shown = 0;
    auto compare = [&](const char* name, space_id s, const state_model::space& want) {
      auto have = scan_all(s);
      std::set<std::string> keys;
      for (const auto& [k, v] : have) keys.insert(k);
      for (const auto& [k, v] : want) keys.insert(k);
      for (const auto& k : keys) {
        auto h = have.find(k);
        auto w = want.find(k);
        std::optional<std::string> hv, wv;
        if (h != have.end()) hv = h->second;
        if (w != want.end()) wv = w->second;
        if (hv == wv) continue;
        if (++shown > 8) continue;
        out += std::string{name} + " " + show_key(k) + ": store " + show_value(hv) + ", model " +
               show_value(wv) + "\n";
      }
    };
    compare("data", ids_.data, model.data);
    compare("latest_ptr", ids_.latest, model.latest);
    compare("rollback_ptr", ids_.rollback, model.rollback);
    compare("batch_metadata", ids_.metadata, model.meta);
    if (shown > 8) out += "... " + std::to_string(shown - 8) + " more\n";
    return out;
  }

  /// Compares read_at(resources, index) (read_latest for UINT64_MAX) with
  /// the model: "" when equal.
  std::string check_read(const std::vector<std::string>& resources, batch_index index) {
    state_values v;
    status st = index == UINT64_MAX ? ask(service, read_latest{resources}, v)
                                    : ask(service, read_at{resources, index}, v);
    const std::string what =
        index == UINT64_MAX ? std::string{"read_latest"} : "read_at " + std::to_string(index);
    if (index != UINT64_MAX && index < model.floor) {
      if (st.code() == errc::pruned && !st) return {};
      return what + " below the floor " + std::to_string(model.floor) + ": " + st.to_string() +
             " (expected pruned)\n";
    }
    if (!st) return what + ": " + st.to_string() + "\n";
    return compare_values(what, resources, index, v);
  }

  std::string compare_values(const std::string& what, const std::vector<std::string>& resources,
                             batch_index index, const state_values& v) const {
    if (v.found.size() != resources.size() || v.values.size() != resources.size())
      return what + ": " + std::to_string(v.found.size()) + " answers for " +
             std::to_string(resources.size()) + " resources\n";
    std::string out;
    for (size_t i = 0; i < resources.size(); ++i) {
      auto want = model.value_at(resources[i], index);
      std::optional<std::string> have;
      if (v.found[i]) have = v.values[i];
      if (have != want)
        out += what + " of " + show_key(resources[i]) + ": service " + show_value(have) +
               ", model " + show_value(want) + "\n";
    }
    return out;
  }

  /// read_at of every resource the model knows (and one it does not) at
  /// every index from the floor to past the head, and read_latest.
  std::string check_all_reads() {
    auto rs = model.resources();
    rs.push_back(std::string(rs.empty() ? 32 : rs.front().size(), '?'));
    std::string out = check_read(rs, UINT64_MAX);
    for (batch_index i = model.floor; i <= model.head + 1 && out.empty(); ++i)
      out += check_read(rs, i);
    if (model.floor > 0 && out.empty()) out += check_read(rs, model.floor - 1);
    return out;
  }

 private:
  void expect_same(const char* what, uint64_t have, uint64_t want) {
    if (have != want)
      ack_problem +=
          std::string{what} + " " + std::to_string(have) + ", model " + std::to_string(want) + "\n";
  }

  four_spaces ids_;
};

/// A resource id of `len` bytes: `n` in the first bytes, so that ids of
/// different n differ early.
inline std::string rid(int n, uint32_t len = 32) {
  auto s = "r" + std::to_string(1000 + n);
  s.resize(len, '.');
  return s;
}

inline resource_write put_w(int n, std::string v) {
  return resource_write{rid(n), false, std::move(v)};
}
inline resource_write remove_w(int n) { return resource_write{rid(n), true, {}}; }

// -- a manager that holds snapshot reads ----------------------------------------------------------

/// What a manager_proxy saw: the limit of each scan_request, in order.
struct proxy_seen {
  std::mutex mutex;
  std::vector<uint32_t> scan_limits;

  std::vector<uint32_t> limits() {
    std::lock_guard<std::mutex> guard{mutex};
    return scan_limits;
  }
};

/// The state of a manager_proxy: the manager it forwards to, how many
/// snapshot reads it still lets through before it holds the rest (< 0: it
/// holds none; set by the test, read by the proxy), and what it saw.
struct proxy_state {
  manager_actor inner;
  std::shared_ptr<std::atomic<int>> pass;
  std::shared_ptr<proxy_seen> seen;
  std::vector<std::function<void()>> held;
  static inline const char* name = "vstore.test.manager_proxy";
};

using proxy_pointer = manager_actor::stateful_pointer<proxy_state>;

/// A manager_actor that forwards everything to `inner`, except that it holds
/// the snapshot reads beyond the next `*pass` ones (when *pass >= 0) until
/// it receives a tick_atom. A test can then run another operation between
/// two steps of a read, in a fixed order, with no sleep.
inline manager_actor::behavior_type manager_proxy(proxy_pointer self, manager_actor inner,
                                                  std::shared_ptr<std::atomic<int>> pass,
                                                  std::shared_ptr<proxy_seen> seen) {
  self->state.inner = std::move(inner);
  self->state.pass = std::move(pass);
  self->state.seen = std::move(seen);
  auto fwd = [self](auto& r) { return self->delegate(self->state.inner, std::move(r)); };
  return {
      [fwd](get_request& r) { return fwd(r); },
      [fwd](multi_get_request& r) { return fwd(r); },
      [self, fwd](scan_request& r) {
        if (auto& log = self->state.seen) {
          std::lock_guard<std::mutex> guard{log->mutex};
          log->scan_limits.push_back(r.limit);
        }
        return fwd(r);
      },
      [self, fwd](snapshot_read_request& r) -> caf::result<snapshot_read_reply> {
        auto& left = *self->state.pass;
        if (left.load() < 0) return fwd(r);
        if (left.load() > 0) {
          --left;
          return fwd(r);
        }
        auto rp = self->make_response_promise<snapshot_read_reply>();
        self->state.held.emplace_back(
            [self, rp, r]() mutable { rp.delegate(self->state.inner, std::move(r)); });
        return rp;
      },
      [fwd](write_request& r) { return fwd(r); },
      [fwd](flush_request& r) { return fwd(r); },
      [fwd](stats_request& r) { return fwd(r); },
      [fwd](status_request& r) { return fwd(r); },
      [fwd](drain_request& r) { return fwd(r); },
      [fwd](outcome_request& r) { return fwd(r); },
      [fwd](checkpoint_request& r) { return fwd(r); },
      [fwd](log_request& r) { return fwd(r); },
      [fwd](snapshot_request& r) { return fwd(r); },
      [fwd](chunk_request& r) { return fwd(r); },
      [fwd](snapshot_release& r) { return fwd(r); },
      [fwd](promote_request& r) { return fwd(r); },
      [self](tick_atom) {
        self->state.pass->store(-1);
        auto held = std::move(self->state.held);
        self->state.held.clear();
        for (auto& f : held) f();
      },
      [](min_seq_atom) {},
      [](read_batch_atom) {},
      [](written_parts&) {},
  };
}

// -- a random workload --------------------------------------------------------------------------

/// What a random workload did.
struct workload_counts {
  uint64_t applies = 0, rollbacks = 0, prunes = 0, refused = 0, reads = 0, key_checks = 0;
  std::string to_string() const {
    return std::to_string(applies) + " applies, " + std::to_string(rollbacks) + " rollbacks, " +
           std::to_string(prunes) + " prunes, " + std::to_string(refused) + " refused requests, " +
           std::to_string(reads) + " reads, " + std::to_string(key_checks) + " checks of every key";
  }
};

/// Random applies (with removes; some pipelined, with a read among them that
/// must see their pending writes), rollbacks (some with a read in flight
/// that must answer the state before), prunes, invalid requests, and reads
/// after every step; every key checked every `check_every` steps and at
/// the end. Stops at the first problem; returns it ("" when none).
inline std::string random_workload(state_driver& d, std::mt19937_64& rng, int steps,
                                   int check_every, workload_counts* counts = nullptr,
                                   uint32_t id_length = 32) {
  workload_counts local;
  auto& n = counts ? *counts : local;
  auto pick = [&](uint64_t lo, uint64_t hi) {  // lo..hi inclusive
    return std::uniform_int_distribution<uint64_t>{lo, hi}(rng);
  };
  // Resource ids, including the extremes of the byte order.
  std::vector<std::string> pool;
  for (int i = 0; i < 10; ++i) pool.push_back(rid(i, id_length));
  pool.push_back(std::string(id_length, '\xff'));
  pool.push_back(std::string(id_length, '\0'));
  auto random_writes = [&] {
    std::vector<resource_write> ws;
    const auto count = pick(0, 4);
    for (uint64_t i = 0; i < count; ++i) {
      const auto& r = pool[pick(0, pool.size() - 1)];
      if (pick(0, 4) == 0)
        ws.push_back({r, true, {}});
      else
        ws.push_back({r, false, "v" + std::to_string(pick(0, 999999))});
    }
    return ws;
  };
  auto some = [&] {
    std::vector<std::string> rs;
    for (int i = 0; i < 3; ++i) rs.push_back(pool[pick(0, pool.size() - 1)]);
    return rs;
  };
  for (int step = 0; step < steps; ++step) {
    const auto roll = pick(0, 99);
    std::string where = "step " + std::to_string(step) + ": ";
    if (roll < 60) {
      // A pipeline of 1..5 applies, a read sent right after them.
      const auto k = pick(1, 5);
      n.applies += k;
      ++n.reads;
      using handle_type = decltype(d.self->request(d.service, reply_timeout, apply_batch{}));
      std::vector<handle_type> acks;
      std::vector<batch_index> indexes;
      for (uint64_t i = 0; i < k; ++i) {
        const auto index = d.model.head + (pick(0, 9) == 0 ? pick(2, 4) : 1);
        apply_batch b{index, random_writes(), "meta" + std::to_string(index)};
        acks.push_back(d.self->request(d.service, reply_timeout, b));
        indexes.push_back(index);
        d.model.apply(b);  // expected to succeed: reads below must see it
      }
      const auto rs = some();
      auto read = d.self->request(d.service, reply_timeout, read_latest{rs});
      std::string problem;
      read.receive(
          [&](state_values& v) {
            problem += d.compare_values("pipelined read_latest", rs, UINT64_MAX, v);
          },
          [&](caf::error& e) { problem += "pipelined read_latest: " + to_status(e).to_string(); });
      for (size_t i = 0; i < acks.size(); ++i)
        acks[i].receive(
            [&](apply_ack& a) {
              if (a.index != indexes[i]) problem += "ack of " + std::to_string(a.index) + "\n";
            },
            [&](caf::error& e) {
              problem += "apply " + std::to_string(indexes[i]) + ": " + to_status(e).to_string();
            });
      if (!problem.empty()) return where + problem;
    } else if (roll < 72) {
      const auto index = pick(d.model.floor, d.model.head);
      ++n.rollbacks;
      if (pick(0, 2) == 0) {
        // A read in flight when the rollback starts answers the state before it.
        const auto rs = some();
        const auto at = pick(d.model.floor, d.model.head);
        auto before = d.model;
        ++n.reads;
        auto read = d.self->request(d.service, reply_timeout, read_at{rs, at});
        auto st = d.rollback(index);
        if (!st) return where + "rollback to " + std::to_string(index) + ": " + st.to_string();
        std::string problem;
        read.receive(
            [&](state_values& v) {
              std::swap(before, d.model);
              problem = d.compare_values("read_at before a rollback", rs, at, v);
              std::swap(before, d.model);
            },
            [&](caf::error& e) {
              problem = "read_at before a rollback: " + to_status(e).to_string();
            });
        if (!problem.empty()) return where + problem;
      } else if (auto st = d.rollback(index); !st) {
        return where + "rollback to " + std::to_string(index) + ": " + st.to_string();
      }
    } else if (roll < 77) {
      const auto floor = pick(d.model.floor > 2 ? d.model.floor - 2 : 0, d.model.head);
      ++n.prunes;
      if (auto st = d.prune(floor); !st)
        return where + "prune to " + std::to_string(floor) + ": " + st.to_string();
    } else if (roll < 80) {
      // Refused, nothing changes: an index not above the head, a rollback
      // above it, a rollback below the floor.
      n.refused += d.model.floor > 0 ? 3 : 2;
      apply_ack ack;
      auto st = d.ask(d.service, apply_batch{d.model.head, random_writes(), ""}, ack);
      if (d.model.head > 0 && st.code() != errc::invalid_argument)
        return where + "apply at the head: " + st.to_string();
      rollback_ack rb;
      st = d.ask(d.service, rollback_to{d.model.head + 1}, rb);
      if (st.code() != errc::invalid_argument)
        return where + "rollback above the head: " + st.to_string();
      if (d.model.floor > 0) {
        st = d.ask(d.service, rollback_to{d.model.floor - 1}, rb);
        if (st.code() != errc::pruned) return where + "rollback below the floor: " + st.to_string();
      }
    }
    if (auto p = d.take_ack_problem(); !p.empty()) return where + p;
    // Reads after every step.
    n.reads += d.model.floor > 0 ? 3 : 2;
    auto problem = d.check_read(some(), UINT64_MAX);
    problem += d.check_read(some(), pick(d.model.floor, d.model.head + 1));
    if (d.model.floor > 0) problem += d.check_read(some(), pick(0, d.model.floor - 1));
    if (!problem.empty()) return where + problem;
    if ((step + 1) % check_every == 0 || step + 1 == steps) {
      ++n.key_checks;
      if (auto diff = d.check_keys(); !diff.empty()) return where + "keys differ:\n" + diff;
    }
  }
  return {};
}

}  // namespace vstore::test
