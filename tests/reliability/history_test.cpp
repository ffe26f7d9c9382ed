// Linearizability under faults (design §3, rules 1, 3, 7, 10 and 12):
// concurrent clients read, write and write several spaces at once on a few
// keys while readers, writers and the commit actor are killed and restarted;
// every operation is recorded (invocation, completion, ok / failed / unknown)
// and each key's history in each space is checked for linearizability as a
// single register (tests/support/history.hpp). Then recorded histories are
// made non-linearizable on purpose (a stale read, two swapped writes, a read
// write answered "not applied", every in-doubt write of a run without tokens
// answered "not applied"), and the checker must say so each time.
//
// Figures are printed as "[ measure  ]" lines. Every run is bounded in
// operations and time; nothing sleeps.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_backend.hpp"
#include "tests/support/history.hpp"

namespace vstore::test {
namespace {

/// The shape of a run.
struct workload {
  int clients = 6;
  int ops_per_client = 150;
  int keys = 5;
  /// Rounds, each on its own keys (r<round>-k<i>) with fresh client threads:
  /// more operations while each key's history stays within the checker's
  /// bound.
  int rounds = 4;
  /// Whether every write carries an idempotency token (then a write whose
  /// writer or commit actor died is answered from its token's outcome, and
  /// in-doubt replies are rare); without tokens such writes are in doubt.
  bool tokens = true;
  /// One fault is armed after every this many operations (all clients).
  int fault_every = 15;
  /// Clients stop early past this (the run stays bounded on a slow machine).
  std::chrono::seconds max_time{30};
};

/// What a run did.
struct run_counts {
  std::atomic<int> reads_ok{0}, reads_failed{0};
  std::atomic<int> writes_ok{0}, writes_failed{0}, writes_unknown{0};
  std::atomic<int> multi_space{0};
  std::atomic<int> faults_armed{0};
  std::atomic<int> ops{0};
};

/// The spaces a client uses: a read of either is a read of that space's
/// register, and a multi-space write writes both registers at once.
constexpr space_id used_spaces[] = {spaces::data, spaces::metas};

std::string space_name(space_id s) { return s == spaces::data ? "data" : "metas"; }
std::string register_of(space_id s, const std::string& key) { return space_name(s) + "/" + key; }

/// Records runs of concurrent clients against a store with a fault switch.
class history_fixture : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_switch> faults_ = std::make_shared<fault_switch>();

  ~history_fixture() override { faults_->open(); }

  options opts(backend_kind kind) {
    auto o = test_options(kind, dir_.path());
    o.supervisor.restart_limit = 1000;
    o.supervisor.restart_window = std::chrono::milliseconds(60000);
    return o;
  }

  /// Arms the next fault of a fixed rotation (called by whichever client
  /// completes every fault_every-th operation).
  void arm_fault(int n) {
    switch (n % 7) {
      case 0:
        faults_->fail_reads(spaces::data, 1);
        break;
      case 1:
        faults_->fail_writes(spaces::data, 1);
        break;
      case 2:
        faults_->fail_commits(1);
        break;
      case 3:
        faults_->fail_reads(spaces::metas, 1);
        break;
      case 4:
        faults_->fail_writes(spaces::metas, 1);
        break;
      case 5:
        faults_->fail_after_commits(1);
        break;
      case 6:
        faults_->fail_nth_write(spaces::data, 2);
        break;
    }
  }

  /// One client in one round: a fixed random mix of reads (either space),
  /// single-space writes and multi-space writes (the same key and value in
  /// both spaces), each with a value unique in the run (and its own token).
  void client(const manager_actor& m, int id, int round, const workload& w, history& h,
              run_counts& counts, std::chrono::steady_clock::time_point deadline) {
    caf::scoped_actor self{sys_};
    std::mt19937 rng{static_cast<uint32_t>(7919 * (id + 1) + round)};
    auto pick = [&rng](int n) { return std::uniform_int_distribution<int>{0, n - 1}(rng); };
    for (int n = 0; n < w.ops_per_client && std::chrono::steady_clock::now() < deadline; ++n) {
      auto key = key_of(round, pick(w.keys));
      auto dice = pick(10);
      if (dice < 5) {
        auto s = used_spaces[pick(2)];
        history_op op{id, register_of(s, key), register_op::read, {}, h.tick(), 0, op_result::ok};
        self->request(m, reply_timeout, get_request{s, key})
            .receive(
                [&](get_reply& r) {
                  op.completed = h.tick();
                  if (r.found) op.value = std::move(r.value);
                  ++counts.reads_ok;
                },
                [&](caf::error&) {
                  op.completed = h.tick();
                  op.result = op_result::failed;
                  ++counts.reads_failed;
                });
        h.add(std::move(op));
      } else {
        std::vector<space_id> targets;
        if (dice < 7)
          targets = {spaces::data};
        else if (dice < 8)
          targets = {spaces::metas};
        else
          targets = {spaces::data, spaces::metas};
        auto value = "c" + std::to_string(id) + "-" + std::to_string(n);
        write_request req;
        for (auto s : targets) req.put(s, key, value);
        if (w.tokens) req.token = "hist-r" + std::to_string(round) + "-" + value;
        if (targets.size() > 1) ++counts.multi_space;
        auto invoked = h.tick();
        uint64_t completed = 0;
        auto result = op_result::ok;
        self->request(m, reply_timeout, std::move(req))
            .receive(
                [&](commit_ack&) {
                  completed = h.tick();
                  ++counts.writes_ok;
                },
                [&](caf::error& e) {
                  completed = h.tick();
                  result = write_result_of(to_status(e).code());
                  ++(result == op_result::failed ? counts.writes_failed : counts.writes_unknown);
                });
        for (auto s : targets)
          h.add(history_op{id, register_of(s, key), register_op::write, value, invoked, completed,
                           result});
      }
      if (auto done = ++counts.ops; done % w.fault_every == 0) {
        arm_fault(done / w.fault_every);
        ++counts.faults_armed;
      }
    }
  }

  static std::string key_of(int round, int k) {
    return "r" + std::to_string(round) + "-k" + std::to_string(k);
  }

  /// Runs `w` against a fresh store of `kind` with faults injected and
  /// returns its history, with a final read of every register at the end
  /// (after every client is done).
  std::vector<history_op> record(backend_kind kind, const workload& w, run_counts& counts) {
    auto m = start(opts(kind), faults_);
    history h;
    auto deadline = std::chrono::steady_clock::now() + w.max_time;
    for (int round = 0; round < w.rounds; ++round) {
      std::vector<std::thread> threads;
      for (int c = 0; c < w.clients; ++c)
        threads.emplace_back([&, c] { client(m, c + 1, round, w, h, counts, deadline); });
      for (auto& t : threads) t.join();
    }
    for (int round = 0; round < w.rounds; ++round)
      for (int k = 0; k < w.keys; ++k)
        for (auto s : used_spaces) {
          auto key = key_of(round, k);
          history_op op{0, register_of(s, key), register_op::read, {}, h.tick(), 0, op_result::ok};
          op.value = get(m, s, key);
          op.completed = h.tick();
          h.add(std::move(op));
        }
    auto st = stats(m);
    restarts_ = st.committer_restarts;
    for (auto s : used_spaces) restarts_ += st.spaces[s].restarts;
    committer_restarts_ = st.committer_restarts;
    return h.ops();
  }

  uint64_t restarts_ = 0;
  uint64_t committer_restarts_ = 0;
};

class History : public history_fixture, public ::testing::WithParamInterface<backend_kind> {
 public:
  using history_fixture::committer_restarts_;
  using history_fixture::record;
  using history_fixture::restarts_;
};

class HistoryCheck : public history_fixture {};

/// The most ops one register holds.
size_t most_ops_per_key(const check_result& r) {
  size_t most = 0;
  for (auto& k : r.keys) most = std::max(most, k.ops);
  return most;
}

/// The share of ops (in percent) that overlap another op on their register:
/// the part of the history where order is not given by real time.
int concurrent_percent(const std::vector<history_op>& ops) {
  std::map<std::string, std::vector<const history_op*>> by_key;
  for (auto& o : ops) by_key[o.key].push_back(&o);
  size_t overlapping = 0;
  for (auto& [key, list] : by_key)
    for (auto* x : list)
      for (auto* y : list)
        if (x != y && y->invoked <= x->completed && x->invoked <= y->completed) {
          ++overlapping;
          break;
        }
  return ops.empty() ? 0 : static_cast<int>(100 * overlapping / ops.size());
}

/// Records a run of `w` on the test's backend, prints its figures, and
/// returns the check of its history.
check_result run_and_check(History& t, const workload& w, run_counts& counts, const char* label,
                           std::vector<history_op>* ops_out = nullptr) {
  auto t0 = std::chrono::steady_clock::now();
  auto ops = t.record(t.GetParam(), w, counts);
  auto t1 = std::chrono::steady_clock::now();
  auto res = check_history(ops);
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "[ measure  ] history, " << label << " ("
            << (t.GetParam() == backend_kind::rocksdb ? "rocksdb" : "memory") << "): " << w.rounds
            << " rounds of " << w.clients << " clients, " << counts.ops << " ops in " << ms(t1 - t0)
            << " ms, " << counts.faults_armed << " faults armed, " << t.restarts_ << " restarts ("
            << t.committer_restarts_ << " of the commit actor); reads " << counts.reads_ok
            << " ok, " << counts.reads_failed << " failed; writes " << counts.writes_ok << " ok, "
            << counts.writes_failed << " failed, " << counts.writes_unknown << " unknown ("
            << counts.multi_space << " multi-space); " << concurrent_percent(ops)
            << "% of register ops concurrent with another; " << res.keys.size()
            << " registers, at most " << most_ops_per_key(res) << " ops and " << res.max_steps
            << " search steps per key, checked in " << ms(t2 - t1) << " ms: " << to_name(res.result)
            << "\n";
  // The run was complete, and the faults did hit actors.
  EXPECT_EQ(counts.ops, w.rounds * w.clients * w.ops_per_client)
      << "the run stopped at its time bound";
  EXPECT_GT(t.restarts_, 0u);
  EXPECT_GT(t.committer_restarts_, 0u);
  EXPECT_LE(most_ops_per_key(res), check_limits{}.max_ops_per_key);
  EXPECT_EQ(res.keys.size(), static_cast<size_t>(2 * w.keys * w.rounds));
  if (ops_out) *ops_out = std::move(ops);
  return res;
}

TEST_P(History, ConcurrentClientsUnderFaultsAreLinearizable) {
  workload w;
  run_counts counts;
  auto res = run_and_check(*this, w, counts, "tokened writes");
  EXPECT_GT(counts.writes_failed + counts.writes_unknown, 0);
  // The verdict: never undecided, never a violation.
  EXPECT_EQ(res.result, verdict::ok) << res.to_string();
}

// Without tokens, a write whose writer or commit actor died is answered in
// doubt at once, though it may have committed (fail_after_commits) or may
// still commit: the history holds unknown writes that did take effect.
TEST_P(History, InDoubtWritesWithoutTokensAreLinearizable) {
  workload w;
  w.tokens = false;
  w.rounds = 2;
  run_counts counts;
  std::vector<history_op> ops;
  auto res = run_and_check(*this, w, counts, "writes without tokens", &ops);
  EXPECT_GT(counts.writes_unknown, 0);
  EXPECT_EQ(res.result, verdict::ok) << res.to_string();
  // How many in-doubt writes a read then saw: they did take effect, and the
  // checker accepted them.
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& o : ops)
    if (o.kind == register_op::read && o.result == op_result::ok && o.value)
      seen.emplace(o.key, *o.value);
  int unknown = 0, observed = 0;
  for (auto& o : ops) {
    if (o.kind != register_op::write || o.result != op_result::unknown) continue;
    ++unknown;
    observed += seen.count({o.key, *o.value}) > 0 ? 1 : 0;
  }
  std::cout << "[ measure  ] " << observed << " of " << unknown
            << " unknown register writes were seen by a later read\n";
  EXPECT_GT(observed, 0) << "no in-doubt write was seen to take effect";
  // Had the store answered those writes "not applied" (a lie about rule 10),
  // the check would have failed.
  for (auto& o : ops)
    if (o.kind == register_op::write && o.result == op_result::unknown)
      o.result = op_result::failed;
  auto lied = check_history(ops);
  EXPECT_EQ(lied.result, verdict::violation) << lied.to_string();
  std::cout << "[ measure  ] the same history with in-doubt writes answered \"not applied\": "
            << lied.to_string().substr(0, 300) << "\n";
}

INSTANTIATE_TEST_SUITE_P(Backends, History,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const ::testing::TestParamInfo<backend_kind>& i) {
                           return std::string{i.param == backend_kind::memory ? "memory"
                                                                              : "rocksdb"};
                         });

/// Returns whether op a completed before op b was invoked (a certainly
/// precedes b); an unknown write precedes nothing.
bool before(const history_op& a, const history_op& b) {
  return a.result != op_result::unknown && a.completed < b.invoked;
}

bool ok_write(const history_op& o) {
  return o.kind == register_op::write && o.result == op_result::ok;
}
bool ok_read(const history_op& o) {
  return o.kind == register_op::read && o.result == op_result::ok;
}

/// Finds, on one register, ok writes w1, w2 and an ok read r with w1 before
/// w2 before r and r returning w2's value: {w1, w2, r}.
std::optional<std::array<size_t, 3>> ordered_triple(const std::vector<history_op>& ops) {
  for (size_t r = 0; r < ops.size(); ++r) {
    if (!ok_read(ops[r]) || !ops[r].value) continue;
    for (size_t w2 = 0; w2 < ops.size(); ++w2) {
      if (!ok_write(ops[w2]) || ops[w2].key != ops[r].key || ops[w2].value != ops[r].value ||
          !before(ops[w2], ops[r]))
        continue;
      for (size_t w1 = 0; w1 < ops.size(); ++w1)
        if (ok_write(ops[w1]) && ops[w1].key == ops[r].key && before(ops[w1], ops[w2]))
          return std::array<size_t, 3>{w1, w2, r};
    }
  }
  return std::nullopt;
}

/// Expects the checker to report a violation on `key` (the only register
/// changed), naming op `culprit` if given.
void expect_caught(const std::vector<history_op>& ops, const std::string& key,
                   std::optional<size_t> culprit, const char* what) {
  auto res = check_history(ops);
  ASSERT_EQ(res.result, verdict::violation) << what << ": " << res.to_string();
  for (auto& k : res.keys) {
    if (k.result != verdict::violation) continue;
    EXPECT_EQ(k.key, key) << what << ": " << k.explanation;
    if (culprit) {
      EXPECT_NE(std::find(k.involved.begin(), k.involved.end(), *culprit), k.involved.end())
          << what << ": " << k.explanation;
    }
  }
  std::cout << "[ measure  ] " << what << " caught: " << res.to_string().substr(0, 400) << "\n";
}

TEST_F(HistoryCheck, RecordedHistoryMadeNonLinearizableIsCaught) {
  workload w;
  w.rounds = 1;
  w.ops_per_client = 120;
  run_counts counts;
  auto ops = record(backend_kind::memory, w, counts);
  auto res = check_history(ops);
  ASSERT_EQ(res.result, verdict::ok) << res.to_string();
  auto triple = ordered_triple(ops);
  ASSERT_TRUE(triple) << "the run holds no write-write-read chain to break";
  auto [w1, w2, r] = *triple;
  auto key = ops[r].key;

  // 1. A stale read: r returns w1's value, which w2 overwrote before r began.
  auto stale = ops;
  stale[r].value = ops[w1].value;
  expect_caught(stale, key, std::nullopt, "a stale read");

  // 2. Swapped writes: w1 and w2 exchange values, so r now reads the older one.
  auto swapped = ops;
  std::swap(swapped[w1].value, swapped[w2].value);
  expect_caught(swapped, key, std::nullopt, "two swapped writes");

  // 3. A write answered "not applied" whose value is read: the store lied.
  // The checker names that write.
  auto lied = ops;
  lied[w2].result = op_result::failed;
  expect_caught(lied, key, w2, "a read of a write answered not applied");
}

}  // namespace
}  // namespace vstore::test
