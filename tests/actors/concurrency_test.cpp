// Concurrency: atomic multi-space batches under concurrent readers, no
// deadlock with many overlapping multi-space batches, per-space order, and
// scheduler-style event-based actors with several requests in flight.
#include <map>

#include "tests/support/actor_fixture.hpp"

namespace vstore::test {
namespace {

/// What a client writes: batch i of client c puts, in every space it touches,
/// the marker "c<c>/m" = "<i>:<mask>" and data keys "c<c>/k<r>" = "<i>".
struct batch_plan {
  uint64_t index;
  uint64_t mask;
  write_request req;
};

batch_plan make_batch(int client, uint64_t i, std::mt19937& rng, int multi_percent) {
  batch_plan b{i, 0, {}};
  auto n_spaces = (static_cast<int>(rng() % 100) < multi_percent) ? 2 + rng() % 3 : 1;
  while (static_cast<size_t>(__builtin_popcountll(b.mask)) < n_spaces)
    b.mask |= 1ull << (rng() % 8);
  for (space_id s = 0; s < 8; ++s) {
    if (((b.mask >> s) & 1u) == 0) continue;
    auto prefix = "c" + std::to_string(client) + "/";
    b.req.put(s, prefix + "m", std::to_string(i) + ":" + std::to_string(b.mask));
    for (int k = 0; k < 2; ++k)
      b.req.put(s, prefix + "k" + std::to_string(rng() % 6), std::to_string(i));
  }
  return b;
}

struct client_result {
  int client;
  int ok;
  int errors;
  /// Per space: every key this client wrote and the value of its last write.
  std::vector<std::map<std::string, std::string>> expected;
};

struct client_state {
  manager_actor m;
  int id = 0;
  uint64_t total = 0;
  uint64_t next = 0;
  int in_flight = 0;
  int window = 1;
  int multi_percent = 60;
  std::mt19937 rng;
  client_result result;
  caf::actor report_to;
};

/// A scheduler-style client: an event-based actor that keeps `window` write
/// requests in flight and reports when all `total` batches are answered.
caf::behavior writer_client(caf::stateful_actor<client_state>* self, manager_actor m, int id,
                            uint64_t total, int window, int multi_percent, caf::actor report_to) {
  auto& s = self->state;
  s.m = m;
  s.id = id;
  s.total = total;
  s.window = window;
  s.multi_percent = multi_percent;
  s.rng.seed(static_cast<uint32_t>(1000 + id));
  s.result.client = id;
  s.result.expected.resize(8);
  s.report_to = std::move(report_to);
  auto pump = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = pump;
  *pump = [self, weak] {
    auto& st = self->state;
    while (st.in_flight < st.window && st.next < st.total) {
      auto b = make_batch(st.id, st.next++, st.rng, st.multi_percent);
      ++st.in_flight;
      // The expected final state follows the order of sending (replies of
      // different spaces may arrive in any order); every write must succeed.
      for (auto& op : b.req.ops) st.result.expected[op.space][op.key] = op.value;
      self->request(st.m, reply_timeout, std::move(b.req))
          .then(
              [self, weak](commit_ack&) {
                auto& s2 = self->state;
                ++s2.result.ok;
                --s2.in_flight;
                if (auto p = weak.lock()) (*p)();
              },
              [self, weak](caf::error&) {
                ++self->state.result.errors;
                --self->state.in_flight;
                if (auto p = weak.lock()) (*p)();
              });
    }
    if (st.in_flight == 0 && st.next == st.total) {
      self->send(st.report_to, st.result);
      self->quit();
    }
  };
  (*pump)();
  return {[pump](caf::unit_t) {}};  // keeps pump alive while the actor lives
}

/// Looks for torn multi-space batches: reads a client's marker in one space,
/// then the markers in the other spaces its batch touched; each must be at
/// least as new. Runs until told to stop; reports (checks, torn).
struct checker_state {
  manager_actor m;
  int clients = 0;
  uint64_t checks = 0;
  uint64_t torn = 0;
  bool stop = false;
  caf::actor report_to;
  std::mt19937 rng{7};
};

std::pair<uint64_t, uint64_t> parse_marker(const std::string& v) {
  auto colon = v.find(':');
  return {std::stoull(v.substr(0, colon)), std::stoull(v.substr(colon + 1))};
}

void check_one(caf::stateful_actor<checker_state>* self);

void check_rest(caf::stateful_actor<checker_state>* self, std::string key, uint64_t index,
                std::vector<space_id> rest) {
  if (rest.empty()) {
    ++self->state.checks;
    check_one(self);
    return;
  }
  auto s = rest.back();
  rest.pop_back();
  self->request(self->state.m, reply_timeout, get_request{s, key})
      .then(
          [self, key, index, rest](get_reply& r) {
            if (!r.found || parse_marker(r.value).first < index) ++self->state.torn;
            check_rest(self, key, index, rest);
          },
          [self](caf::error&) { ++self->state.torn; });
}

void check_one(caf::stateful_actor<checker_state>* self) {
  auto& st = self->state;
  if (st.stop) {
    self->send(st.report_to, st.checks, st.torn);
    self->quit();
    return;
  }
  auto client = static_cast<int>(st.rng() % static_cast<uint32_t>(st.clients));
  auto first = static_cast<space_id>(st.rng() % 8);
  auto key = "c" + std::to_string(client) + "/m";
  self->request(st.m, reply_timeout, get_request{first, key})
      .then(
          [self, key, first](get_reply& r) {
            if (!r.found) return check_one(self);
            auto [index, mask] = parse_marker(r.value);
            std::vector<space_id> rest;
            for (space_id s = 0; s < 8; ++s)
              if (s != first && ((mask >> s) & 1u)) rest.push_back(s);
            check_rest(self, key, index, rest);
          },
          [self](caf::error&) { ++self->state.torn; });
}

caf::behavior checker(caf::stateful_actor<checker_state>* self, manager_actor m, int clients,
                      caf::actor report_to) {
  self->state.m = m;
  self->state.clients = clients;
  self->state.report_to = std::move(report_to);
  check_one(self);
  return {[self](caf::close_atom) { self->state.stop = true; }};
}

}  // namespace
}  // namespace vstore::test

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::test::client_result)

namespace vstore::test {
namespace {

class Concurrency : public actor_test {
 protected:
  scratch_dir dir_;

  /// Runs `clients` writer clients (and a torn-state checker) to completion
  /// and checks replies, atomicity and the final state of every key.
  void run(backend_kind kind, int clients, uint64_t batches, int window, int multi_percent) {
    auto m = start(test_options(kind, dir_.path()));
    auto chk = self_->spawn(checker, m, clients, caf::actor{self_});
    for (int c = 0; c < clients; ++c)
      self_->spawn(writer_client, m, c, batches, window, multi_percent, caf::actor{self_});
    std::vector<client_result> results;
    // Bound: every client must finish within 60 s in all.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (results.size() < static_cast<size_t>(clients)) {
      auto left = deadline - std::chrono::steady_clock::now();
      bool timed_out = false;
      self_->receive([&](client_result& r) { results.push_back(std::move(r)); },
                     caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(left)) >>
                         [&] { timed_out = true; });
      ASSERT_FALSE(timed_out) << "deadlock? only " << results.size() << " of " << clients
                              << " clients finished within 60 s";
    }
    self_->send(chk, caf::close_atom::value);
    uint64_t checks = 0, torn = 0;
    self_->receive([&](uint64_t c, uint64_t t) { checks = c, torn = t; },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "checker silent"; });
    EXPECT_EQ(torn, 0u) << "torn multi-space batches observed";
    EXPECT_GT(checks, 0u);
    // Every request was answered with success, and every key holds the value
    // of the client's last write to it (per-space order).
    size_t mismatches = 0, keys = 0;
    for (auto& r : results) {
      EXPECT_EQ(r.ok, static_cast<int>(batches));
      EXPECT_EQ(r.errors, 0);
      for (space_id s = 0; s < 8; ++s)
        for (auto& [k, v] : r.expected[s]) {
          ++keys;
          if (get(m, s, k) != std::optional<std::string>{v}) ++mismatches;
        }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << keys << " keys";
    auto st = stats(m);
    EXPECT_LT(st.rounds, static_cast<uint64_t>(clients) * batches) << "no group commit";
    RecordProperty("checks", static_cast<int>(checks));
    RecordProperty("rounds", static_cast<int>(st.rounds));
  }
};

TEST_F(Concurrency, MultiSpaceBatchesAreNeverSeenTorn) {
  run(backend_kind::rocksdb, 4, 250, 4, 100);  // 1000 multi-space batches, at any scale
}

TEST_F(Concurrency, ManyOverlappingMultiSpaceBatchesNeverDeadlock) {
  // 8 clients x 500 mixed batches (fewer under VSTORE_TEST_SCALE).
  run(backend_kind::rocksdb, 8, static_cast<uint64_t>(500 * test_scale()), 8, 60);
}

TEST_F(Concurrency, MemoryBackendKeepsOrderAndAtomicity) {
  run(backend_kind::memory, 8, static_cast<uint64_t>(500 * test_scale()), 8, 60);
}

/// A scheduler actor that pipelines reads and writes: each round writes a key
/// and reads it back with get and multi_get, 16 rounds in flight.
struct sched_state {
  manager_actor m;
  int started = 0, done = 0, wrong = 0, total = 0;
  caf::actor report_to;
};

void sched_round(caf::stateful_actor<sched_state>* self) {
  auto& st = self->state;
  auto i = st.started++;
  auto key = "sched/" + std::to_string(i);
  auto value = std::string(static_cast<size_t>(i % 50), 'x') + std::to_string(i);
  self->request(st.m, reply_timeout, write_request{}.put(spaces::metas, key, value))
      .then(
          [self, key, value](commit_ack&) {
            self->request(self->state.m, reply_timeout,
                          multi_get_request{spaces::metas, {key, "none"}})
                .then(
                    [self, value](multi_get_reply& r) {
                      auto& s = self->state;
                      if (r.found != std::vector<uint8_t>{1, 0} || r.values[0] != value) ++s.wrong;
                      if (++s.done == s.total) {
                        self->send(s.report_to, s.done, s.wrong);
                        self->quit();
                      } else if (s.started < s.total) {
                        sched_round(self);
                      }
                    },
                    [self](caf::error&) { ++self->state.wrong; });
          },
          [self](caf::error&) { ++self->state.wrong; });
}

caf::behavior scheduler_actor(caf::stateful_actor<sched_state>* self, manager_actor m, int total,
                              caf::actor report_to) {
  self->state.m = m;
  self->state.total = total;
  self->state.report_to = std::move(report_to);
  for (int i = 0; i < 16 && i < total; ++i) sched_round(self);
  return {[](caf::unit_t) {}};
}

TEST_F(Concurrency, SchedulerActorPipelinesRequests) {
  auto m = start(test_options(backend_kind::rocksdb, dir_.path()));
  self_->spawn(scheduler_actor, m, 400, caf::actor{self_});
  int done = 0, wrong = -1;
  self_->receive([&](int d, int w) { done = d, wrong = w; },
                 caf::after(std::chrono::seconds(30)) >> [] { ADD_FAILURE() << "no report"; });
  EXPECT_EQ(done, 400);
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace vstore::test
