// Every proof can fail (design §3, rule 12): for each deliberately broken
// store of tests/support/broken_stores.hpp, the check meant to catch its
// defect runs against the broken store and against the healthy
// forwarding_store over the same kind of backend. The healthy store must pass
// and the broken one must be reported. Checks:
//
//   torn-state reader    a concurrent reader reads the three spaces of every
//                        multi-space batch in commit order; a later space
//                        older than an earlier one is a torn batch
//   read-back            every acknowledged write (per key, the last one
//                        wins) reads back, also after a simulated reopen
//   per-space order      increasing values to one key, one commit each: the
//                        final value is the last one sent
//   del_range conformance  the conformance suite's range-delete cases
//   history checker      concurrent clients through the manager, each key's
//                        history checked for linearizability
//
// Each defect prints "[ measure  ] defect -> caught by -> result". Nothing
// sleeps; split_commit stops between its parts on a pause_point that the
// reader releases, so the torn window is seen every time, not by chance.

#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/broken_stores.hpp"
#include "tests/support/history.hpp"

namespace vstore::test {
namespace {

const char* name_of(backend_kind k) { return k == backend_kind::rocksdb ? "rocksdb" : "memory"; }

/// What a check found on one store.
struct finding {
  /// Whether the check reports a violation.
  bool violation = false;
  /// A one-line account ("0 torn of 812 checks", "lost 1 of 36 writes ...").
  std::string text;
};

/// Prints the table line of one defect and expects the healthy store to pass
/// and the broken one to be reported.
void report(const char* defect, backend_kind kind, const char* check, const finding& healthy,
            const finding& broken) {
  std::cout << "[ measure  ] " << defect << " (" << name_of(kind) << ") -> " << check
            << " -> healthy: " << (healthy.violation ? "VIOLATION" : "ok") << " (" << healthy.text
            << "); broken: " << (broken.violation ? "caught" : "NOT CAUGHT") << " (" << broken.text
            << ")\n";
  EXPECT_FALSE(healthy.violation) << check << " failed on the healthy store: " << healthy.text;
  EXPECT_TRUE(broken.violation) << check << " did not catch " << defect << ": " << broken.text;
}

// --- Checks ------------------------------------------------------------------

/// The spaces of the multi-space batches (no prefix extractor, so short keys
/// are in domain with RocksDB).
constexpr space_id batch_spaces[] = {spaces::latest_ptr, spaces::batch_metadata, spaces::metas};

/// Torn-state reader: one thread commits `batches` batches, batch i setting
/// marker "m" to i in each of batch_spaces; a concurrent reader reads the
/// marker of each space in that order, and each must be at least as new as
/// the one before (an absent marker is 0). When the store announces a pause
/// (split_commit between two parts), the reader's next check runs inside it
/// and then releases it.
finding torn_check(store& s, pause_point& pp, int batches) {
  std::atomic<bool> done{false};
  std::atomic<int> write_failures{0};
  std::thread writer{[&] {
    for (int i = 1; i <= batches; ++i) {
      auto b = s.make_batch();
      for (auto sp : batch_spaces) b->put(sp, "m", std::to_string(i));
      uint64_t seq = 0;
      if (!s.commit(*b, seq)) ++write_failures;
    }
    done = true;
  }};
  uint64_t checks = 0, torn = 0, in_pause = 0, read_errors = 0;
  for (int n = 0; n < 5'000'000; ++n) {
    const bool last = done.load();
    const bool held = pp.paused();
    uint64_t prev = 0;
    bool bad = false;
    for (auto sp : batch_spaces) {
      std::string v;
      bool found = false;
      if (!s.get(sp, "m", v, found)) {
        ++read_errors;
        bad = true;
        break;
      }
      uint64_t x = found ? std::stoull(v) : 0;
      if (x < prev) bad = true;
      prev = x;
    }
    ++checks;
    torn += bad ? 1 : 0;
    if (held) {
      ++in_pause;
      pp.resume();
    }
    if (last) break;
  }
  // Bounded: a pause waits at most 5 s for the reader.
  pp.resume();
  writer.join();
  finding f;
  f.violation = torn > 0 || read_errors > 0 || write_failures > 0;
  std::ostringstream os;
  os << torn << " torn of " << checks << " checks, " << in_pause << " of them inside "
     << pp.pauses() << " pauses between parts";
  if (write_failures > 0) os << ", " << write_failures << " commits failed";
  f.text = os.str();
  return f;
}

/// Per space and key: the value of the last acknowledged write (nullopt: a
/// delete).
using ledger = std::map<std::pair<space_id, std::string>, std::optional<std::string>>;

/// Commits `batches` multi-space batches: batch i puts "k<i%7>" in each of
/// batch_spaces, and every third batch also deletes a key of metas. Records
/// in `acked` what was acknowledged.
void write_workload(store& s, int from, int batches, ledger& acked) {
  for (int i = from; i < from + batches; ++i) {
    auto b = s.make_batch();
    std::vector<std::pair<std::pair<space_id, std::string>, std::optional<std::string>>> ops;
    for (auto sp : batch_spaces) {
      auto key = "k" + std::to_string(i % 7);
      auto value = "v" + std::to_string(i) + "-" + std::to_string(sp);
      b->put(sp, key, value);
      ops.push_back({{sp, key}, value});
    }
    if (i % 3 == 0) {
      auto key = "k" + std::to_string((i + 3) % 7);
      b->del(spaces::metas, key);
      ops.push_back({{spaces::metas, key}, std::nullopt});
    }
    uint64_t seq = 0;
    if (!s.commit(*b, seq)) continue;
    for (auto& [k, v] : ops) acked[k] = v;
  }
}

/// Read-back: every key of `acked` holds its last acknowledged value.
finding read_back(const store& s, const ledger& acked, const char* when) {
  size_t lost = 0;
  std::string first;
  for (const auto& [k, want] : acked) {
    std::string v;
    bool found = false;
    auto st = s.get(k.first, k.second, v, found);
    std::optional<std::string> got;
    if (found) got = v;
    if (st && got == want) continue;
    if (++lost == 1)
      first = space_name(s.schema(), k.first) + "/" + k.second + " holds " +
              (got ? "'" + *got + "'" : "nothing") + ", acknowledged " +
              (want ? "'" + *want + "'" : "a delete");
  }
  finding f;
  f.violation = lost > 0;
  f.text = std::to_string(lost) + " of " + std::to_string(acked.size()) +
           " acknowledged writes lost " + when + (lost > 0 ? ", first: " + first : "");
  return f;
}

/// Per-space order: `keys` keys of metas get the values 1..`writes`, one
/// commit per write, key after key; each key's final value must be the last
/// one sent.
finding order_check(store& s, int keys, int writes) {
  int wrong = 0;
  std::string first;
  for (int k = 0; k < keys; ++k) {
    auto key = "o" + std::to_string(k);
    for (int v = 1; v <= writes; ++v) {
      auto b = s.make_batch();
      b->put(spaces::metas, key, std::to_string(v));
      uint64_t seq = 0;
      if (!s.commit(*b, seq)) ++wrong;
    }
  }
  for (int k = 0; k < keys; ++k) {
    auto key = "o" + std::to_string(k);
    std::string v;
    bool found = false;
    if (s.get(spaces::metas, key, v, found) && found && v == std::to_string(writes)) continue;
    if (++wrong == 1)
      first = "metas/" + key + " holds " + (found ? v : "nothing") + ", last sent " +
              std::to_string(writes);
  }
  finding f;
  f.violation = wrong > 0;
  f.text = std::to_string(wrong) + " of " + std::to_string(keys) + " keys out of order" +
           (wrong > 0 ? ", first: " + first : "");
  return f;
}

/// The conformance suite's range-delete cases (tests/backends/conformance_test.cpp:
/// DeleteRangeRemovesBeginInclusiveEndExclusive and
/// DeleteRangeInPrefixExtractorSpaceSpansPrefixes), counting failed
/// expectations instead of failing the test.
finding del_range_check(store& s) {
  std::vector<std::string> failures;
  auto commit = [&](write_batch& b) {
    uint64_t seq = 0;
    if (!s.commit(b, seq)) failures.push_back("commit failed");
  };
  auto keys_of = [&](space_id sp, std::string_view prefix) {
    std::vector<std::string> out;
    scan_page page;
    if (!s.scan(sp, prefix, "", 100000, page)) failures.push_back("scan failed");
    for (auto& kv : page.entries) out.push_back(kv.key);
    return out;
  };
  auto expect = [&](bool ok, std::string what) {
    if (!ok) failures.push_back(std::move(what));
  };
  // Begin inclusive, end exclusive.
  auto b = s.make_batch();
  for (const char* k : {"k1", "k2", "k2a", "k3", "k4", "k5"})
    b->put(spaces::latest_ptr, k, std::string{"v:"} + k);
  commit(*b);
  auto d = s.make_batch();
  d->delete_range(spaces::latest_ptr, "k2", "k4");
  commit(*d);
  expect(keys_of(spaces::latest_ptr, "") == std::vector<std::string>{"k1", "k4", "k5"},
         "latest_ptr after delete_range [k2, k4) is not {k1, k4, k5}");
  std::string v;
  bool found = false;
  expect(s.get(spaces::latest_ptr, "k2", v, found) && !found, "k2 survived delete_range");
  expect(s.get(spaces::latest_ptr, "k4", v, found) && found && v == "v:k4",
         "k4 (the range's end) was removed");
  // Across the prefixes of a space with a prefix extractor.
  auto p = s.make_batch();
  for (uint64_t i = 0; i < 6; ++i)
    for (uint32_t j = 0; j < 3; ++j) p->put(spaces::data, concat_bytes(be_u64(i), be_u32(j)), "x");
  commit(*p);
  auto pd = s.make_batch();
  pd->delete_range(spaces::data, concat_bytes(be_u64(1), be_u32(1)), concat_bytes(be_u64(4)));
  commit(*pd);
  expect(keys_of(spaces::data, "").size() == 10, "data does not hold 10 keys after delete_range");
  expect(keys_of(spaces::data, concat_bytes(be_u64(2))).empty(),
         "prefix 2 of data survived delete_range");
  finding f;
  f.violation = !failures.empty();
  f.text = std::to_string(failures.size()) + " of 5 expectations failed" +
           (failures.empty() ? "" : ", first: " + failures.front());
  return f;
}

// --- Fixture -----------------------------------------------------------------

class BrokenStore : public actor_test, public ::testing::WithParamInterface<backend_kind> {
 protected:
  scratch_dir dir_;
  int next_db_ = 0;

  /// Options for a manager (or a RocksDB store) in a fresh directory.
  options fresh_options() {
    auto o = test_options(GetParam(), dir_.path() / ("s" + std::to_string(next_db_++)));
    return o;
  }

  /// Opens a fresh inner store of the test's backend and wraps it in `T`
  /// (constructor arguments after the inner store: `args`, then the reopen
  /// function).
  template <class T, class... Args>
  std::shared_ptr<T> make(Args&&... args) {
    auto o = fresh_options();
    std::shared_ptr<store> inner;
    auto st = open_store(o, inner);
    EXPECT_TRUE(st) << st.to_string();
    forwarding_store::reopen_fn reopen;
    if (GetParam() == backend_kind::rocksdb)
      reopen = [o](std::shared_ptr<store>& s) {
        s.reset();  // closes the DB (the decorator is its only owner)
        return open_store(o, s);
      };
    return std::make_shared<T>(std::move(inner), std::forward<Args>(args)..., std::move(reopen));
  }

  /// The torn-state reader through a manager: one client sends `batches`
  /// write requests (request i puts marker "m" = i in each of batch_spaces)
  /// and waits for each reply; a concurrent client reads the marker of each
  /// space in that order with get requests, as torn_check does on the store.
  finding torn_check_via_manager(const manager_actor& m, pause_point& pp, int batches) {
    std::atomic<bool> done{false};
    std::atomic<int> write_failures{0};
    std::thread writer{[&] {
      caf::scoped_actor self{sys_};
      for (int i = 1; i <= batches; ++i) {
        write_request req;
        for (auto sp : batch_spaces) req.put(sp, "m", std::to_string(i));
        self->request(m, reply_timeout, std::move(req))
            .receive([](commit_ack&) {}, [&](caf::error&) { ++write_failures; });
      }
      done = true;
    }};
    uint64_t checks = 0, torn = 0, in_pause = 0, read_errors = 0;
    for (int n = 0; n < 1'000'000; ++n) {
      const bool last = done.load();
      const bool held = pp.paused();
      uint64_t prev = 0;
      bool bad = false;
      for (auto sp : batch_spaces) {
        get_reply r;
        if (!ask(m, get_request{sp, "m"}, r)) {
          ++read_errors;
          bad = true;
          break;
        }
        uint64_t x = r.found ? std::stoull(r.value) : 0;
        if (x < prev) bad = true;
        prev = x;
      }
      ++checks;
      torn += bad ? 1 : 0;
      if (held) {
        ++in_pause;
        pp.resume();
      }
      if (last) break;
    }
    pp.resume();
    writer.join();
    finding f;
    f.violation = torn > 0 || read_errors > 0 || write_failures > 0;
    std::ostringstream os;
    os << torn << " torn of " << checks << " checks, " << in_pause << " of them inside "
       << pp.pauses() << " pauses between parts";
    if (write_failures > 0) os << ", " << write_failures << " writes failed";
    if (read_errors > 0) os << ", " << read_errors << " reads failed";
    f.text = os.str();
    return f;
  }

  /// Records a history through a manager `m`: two concurrent clients
  /// write unique values to and read three keys of metas, then one client
  /// writes and reads back each key alone. Returns the checker's finding.
  finding history_check(const manager_actor& m) {
    history h;
    auto client = [&](int id, int ops, bool alone) {
      caf::scoped_actor self{sys_};
      std::mt19937 rng{static_cast<uint32_t>(31 * id + 7)};
      for (int n = 0; n < ops; ++n) {
        auto key = "h" + std::to_string(alone ? n / 2 % 3 : static_cast<int>(rng() % 3));
        bool write = alone ? n % 2 == 0 : rng() % 2 == 0;
        auto reg = "metas/" + key;
        if (write) {
          auto value = "c" + std::to_string(id) + "-" + std::to_string(n);
          write_request req;
          req.put(spaces::metas, key, value);
          history_op op{id, reg, register_op::write, value, h.tick(), 0, op_result::ok};
          self->request(m, reply_timeout, std::move(req))
              .receive([&](commit_ack&) { op.completed = h.tick(); },
                       [&](caf::error& e) {
                         op.completed = h.tick();
                         op.result = write_result_of(to_status(e).code());
                       });
          h.add(std::move(op));
        } else {
          history_op op{id, reg, register_op::read, {}, h.tick(), 0, op_result::ok};
          self->request(m, reply_timeout, get_request{spaces::metas, key})
              .receive(
                  [&](get_reply& r) {
                    op.completed = h.tick();
                    if (r.found) op.value = std::move(r.value);
                  },
                  [&](caf::error&) {
                    op.completed = h.tick();
                    op.result = op_result::failed;
                  });
          h.add(std::move(op));
        }
      }
    };
    std::thread c1{client, 1, 40, false};
    std::thread c2{client, 2, 40, false};
    c1.join();
    c2.join();
    client(3, 6, true);  // write, then read back, each key alone
    auto ops = h.ops();
    auto res = check_history(ops);
    finding f;
    f.violation = res.result != verdict::ok;
    f.text = std::to_string(ops.size()) + " ops, " + res.to_string().substr(0, 240);
    return f;
  }
};

std::string param_name(const ::testing::TestParamInfo<backend_kind>& i) { return name_of(i.param); }

// --- (a) split_commit: torn-state reader -------------------------------------

TEST_P(BrokenStore, SplitCommitIsCaughtByTornStateReader) {
  constexpr int batches = 150;
  auto healthy = make<forwarding_store>();
  pause_point healthy_pp;  // the healthy store never pauses
  auto ok = torn_check(*healthy, healthy_pp, batches);

  auto broken = make<split_commit>();
  auto pp = std::make_shared<pause_point>();
  broken->set_pause(pp);
  auto bad = torn_check(*broken, *pp, batches);
  report(broken->defect(), GetParam(), "torn-state reader", ok, bad);
  // Every split batch was seen torn inside a pause: the catch is not luck.
  EXPECT_EQ(pp->pauses(), 2u * batches);
}

TEST_P(BrokenStore, SplitCommitIsCaughtByTornStateReaderThroughTheManager) {
  constexpr int batches = 60;
  pause_point healthy_pp;
  auto ok = torn_check_via_manager(start_over(fresh_options(), make<forwarding_store>()),
                                   healthy_pp, batches);
  auto broken = make<split_commit>();
  auto pp = std::make_shared<pause_point>();
  broken->set_pause(pp);
  auto bad = torn_check_via_manager(start_over(fresh_options(), broken), *pp, batches);
  report(broken->defect(), GetParam(), "torn-state reader through the manager", ok, bad);
  EXPECT_EQ(pp->pauses(), 2u * batches);
}

// --- (b) drop_space_part: read-back (and torn-state reader) ------------------

TEST_P(BrokenStore, DropSpacePartIsCaughtByReadBack) {
  ledger acked_ok, acked_bad;
  auto healthy = make<forwarding_store>();
  write_workload(*healthy, 0, 40, acked_ok);
  auto ok = read_back(*healthy, acked_ok, "at rest");

  auto broken = make<drop_space_part>(spaces::batch_metadata);
  write_workload(*broken, 0, 40, acked_bad);
  auto bad = read_back(*broken, acked_bad, "at rest");
  report(broken->defect(), GetParam(), "read-back of acknowledged writes", ok, bad);

  // The torn-state reader sees it too (batch_metadata never catches up).
  pause_point pp;
  auto torn = torn_check(*make<drop_space_part>(spaces::batch_metadata), pp, 20);
  report("drop_space_part", GetParam(), "torn-state reader", torn_check(*healthy, pp, 20), torn);
}

// --- (c) ack_before_apply: crash check (read-back after a simulated crash) ---

TEST_P(BrokenStore, AckBeforeApplyIsCaughtByCrashCheck) {
  ledger acked_ok, acked_bad;
  auto healthy = make<forwarding_store>();
  write_workload(*healthy, 0, 30, acked_ok);
  ASSERT_TRUE(healthy->reopen());
  auto ok = read_back(*healthy, acked_ok, "after a crash and reopen");

  auto broken = make<ack_before_apply>();
  write_workload(*broken, 0, 30, acked_bad);
  ASSERT_TRUE(broken->reopen());  // a crash: no sync, no clean shutdown
  auto bad = read_back(*broken, acked_bad, "after a crash and reopen");
  report(broken->defect(), GetParam(), "crash check (read-back after reopen)", ok, bad);

  // With a sync before the crash nothing is lost: the check is about the
  // crash window, not a decorator that never applies.
  ledger acked_synced;
  auto synced = make<ack_before_apply>();
  write_workload(*synced, 0, 30, acked_synced);
  ASSERT_TRUE(synced->sync());
  ASSERT_TRUE(synced->reopen());
  auto after_sync = read_back(*synced, acked_synced, "after sync, crash and reopen");
  EXPECT_FALSE(after_sync.violation) << after_sync.text;
}

// --- (d) swap_commits: per-space order check ----------------------------------

TEST_P(BrokenStore, SwapCommitsIsCaughtByOrderCheck) {
  constexpr int keys = 3, writes = 5;
  auto ok = order_check(*make<forwarding_store>(), keys, writes);
  // Holds the second-to-last write of the first key and applies it after the
  // last one. (A swap of two writes to different keys leaves both final
  // values right; only a read in between, as the history checker makes, can
  // see that one.)
  auto broken = make<swap_commits>(spaces::metas, writes - 1);
  auto bad = order_check(*broken, keys, writes);
  report(broken->defect(), GetParam(), "per-space order check", ok, bad);
}

// --- (e) drop_del_range: del_range conformance ----------------------------------

TEST_P(BrokenStore, DropDelRangeIsCaughtByConformance) {
  auto ok = del_range_check(*make<forwarding_store>());
  auto broken = make<drop_del_range>();
  auto bad = del_range_check(*broken);
  report(broken->defect(), GetParam(), "del_range conformance cases", ok, bad);
}

// --- (f) stale_reads: linearizability history checker -------------------------

TEST_P(BrokenStore, StaleReadsAreCaughtByHistoryChecker) {
  auto healthy = make<forwarding_store>();
  auto ok = history_check(start_over(fresh_options(), healthy));
  auto broken = make<stale_reads>(size_t{1});
  auto bad = history_check(start_over(fresh_options(), broken));
  report(broken->defect(), GetParam(), "linearizability history checker", ok, bad);
}

// --- (g) lose_last_round_at_reopen: read-back after reopen ---------------------

TEST_P(BrokenStore, LostLastRoundAtReopenIsCaughtByReadBackAfterReopen) {
  ledger acked_ok, acked_bad;
  auto healthy = make<forwarding_store>();
  write_workload(*healthy, 0, 30, acked_ok);
  ASSERT_TRUE(healthy->reopen());
  auto ok = read_back(*healthy, acked_ok, "after reopen");

  auto broken = make<lose_last_round_at_reopen>();
  write_workload(*broken, 0, 30, acked_bad);
  // At rest the store looks right: only the reopen shows the loss.
  auto at_rest = read_back(*broken, acked_bad, "before reopen");
  EXPECT_FALSE(at_rest.violation) << at_rest.text;
  ASSERT_TRUE(broken->reopen());
  auto bad = read_back(*broken, acked_bad, "after reopen");
  report(broken->defect(), GetParam(), "read-back after reopen", ok, bad);
}

INSTANTIATE_TEST_SUITE_P(Backends, BrokenStore,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         param_name);

}  // namespace
}  // namespace vstore::test
