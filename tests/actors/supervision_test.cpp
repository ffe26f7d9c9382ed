// Supervised restarts under faults, the restart limit, bounded queues
// (overloaded), and draining shutdown.
#include <iostream>
#include <set>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_backend.hpp"

namespace vstore::test {
namespace {

class Supervision : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_switch> faults_ = std::make_shared<fault_switch>();

  ~Supervision() override { faults_->open(); }

  options opts(backend_kind kind = backend_kind::rocksdb) {
    auto o = test_options(kind, dir_.path());
    o.supervisor.restart_limit = 50;
    o.supervisor.restart_window = std::chrono::milliseconds(60000);
    return o;
  }

  /// Waits for the replies of n requests sent with send(); returns
  /// (acknowledged, errors by code).
  std::pair<int, std::map<errc, int>> collect(int n) {
    int ok = 0;
    std::map<errc, int> errors;
    for (int i = 0; i < n; ++i)
      self_->receive(
          [&](commit_ack&) { ++ok; }, [&](get_reply&) { ++ok; },
          [&](caf::error& e) { ++errors[to_status(e).code()]; },
          caf::after(reply_timeout) >> [] { ADD_FAILURE() << "a request got no reply"; });
    return {ok, errors};
  }

  void sync(const manager_actor& m) {
    status_reply st;
    ASSERT_TRUE(ask(m, status_request{}, st));
  }
};

TEST_F(Supervision, CrashedReaderIsReplacedAndTheReadRetried) {
  auto m = start(opts(), faults_);
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  faults_->fail_reads(spaces::data, 1);
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
  EXPECT_EQ(stats(m).spaces[spaces::data].restarts, 1u);
}

TEST_F(Supervision, CrashedWriterAnswersWithAnErrorAndServiceResumes) {
  auto m = start(opts(), faults_);
  faults_->fail_writes(spaces::data, 1);
  auto st = put(m, spaces::data, "lost", "v");
  EXPECT_FALSE(st);
  EXPECT_EQ(get(m, spaces::data, "lost"), std::nullopt);  // error: nothing applied
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
  EXPECT_EQ(stats(m).spaces[spaces::data].restarts, 1u);
}

TEST_F(Supervision, LostSiblingPartAbortsTheWholeBatch) {
  auto m = start(opts(), faults_);
  faults_->fail_writes(spaces::latest_ptr, 1);  // the data writer owns the reply
  commit_ack ack;
  auto st =
      ask(m, write_request{}.put(spaces::data, "a", "1").put(spaces::latest_ptr, "a", "1"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::aborted);
  EXPECT_EQ(get(m, spaces::data, "a"), std::nullopt);
  EXPECT_EQ(get(m, spaces::latest_ptr, "a"), std::nullopt);
  ASSERT_TRUE(
      ask(m, write_request{}.put(spaces::data, "b", "2").put(spaces::latest_ptr, "b", "2"), ack));
  EXPECT_EQ(get(m, spaces::latest_ptr, "b"), std::optional<std::string>{"2"});
  auto s = stats(m);
  EXPECT_EQ(s.spaces[spaces::latest_ptr].restarts, 1u);
  EXPECT_EQ(s.aborted_batches, 1u);
}

TEST_F(Supervision, CrashedCommitterIsReplacedAndWritersFollow) {
  auto m = start(opts(), faults_);
  faults_->fail_commits(1);
  auto st = put(m, spaces::metas, "lost", "v");
  // The commit actor died before its commit, after it took the batch: the
  // writer cannot know which, so the write is in doubt (it did not commit).
  EXPECT_EQ(st.code(), errc::in_doubt) << st.to_string();
  EXPECT_EQ(get(m, spaces::metas, "lost"), std::nullopt);
  // The in-doubt reply and the commit actor's down message reach the manager
  // from different senders, in either order: wait (bounded, by round trips)
  // until the manager has replaced it and told the writers.
  for (int i = 0; i < 1000 && stats(m).committer_restarts == 0; ++i) {
  }
  ASSERT_TRUE(put(m, spaces::metas, "k", "v"));
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  EXPECT_EQ(stats(m).committer_restarts, 1u);
}

/// What the load actor saw: per write, acknowledged or not; every reply counted.
struct load_result {
  std::vector<int> outcome;  // 1 acknowledged, 0 error "not applied", 2 error "maybe"
  int replies = 0;
};

struct load_state {
  load_result result;
};

/// Sends writes (some multi-space) and reads in waves of `wave` requests in
/// flight; before each wave it arms the next fault, so that faults hit actors
/// in the middle of load. Reports when every reply is in.
void send_wave(caf::stateful_actor<load_state>* self, manager_actor m, int wave, int size,
               std::shared_ptr<fault_switch> faults, caf::actor report_to) {
  switch (wave) {
    case 1:
      faults->fail_writes(spaces::data, 2);
      break;
    case 2:
      faults->fail_reads(spaces::latest_ptr, 3);
      break;
    case 3:
      faults->fail_writes(spaces::latest_ptr, 1);
      break;
    case 4:
      faults->fail_commits(1);
      break;
    default:
      break;
  }
  auto pending = std::make_shared<int>(2 * size);
  auto done = [self, m, wave, size, faults, report_to, pending] {
    ++self->state.result.replies;
    if (--*pending > 0) return;
    if (wave + 1 < 6)
      send_wave(self, m, wave + 1, size, faults, report_to);
    else {
      self->send(report_to, self->state.result);
      self->quit();
    }
  };
  for (int j = 0; j < size; ++j) {
    auto i = wave * size + j;
    auto key = "key" + std::to_string(i);
    auto s = static_cast<space_id>(i % 3 == 0 ? spaces::latest_ptr : spaces::data);
    write_request w;
    w.put(s, key, key);
    if (i % 5 == 0) w.put(spaces::metas, key, key);  // some multi-space batches
    w.token = "tok" + std::to_string(i);
    self->request(m, reply_timeout, std::move(w))
        .then(
            [self, i, done](commit_ack&) {
              self->state.result.outcome[static_cast<size_t>(i)] = 1;
              done();
            },
            [self, i, done](caf::error& e) {
              auto maybe = write_outcome_of(to_status(e).code()) == write_outcome::maybe;
              self->state.result.outcome[static_cast<size_t>(i)] = maybe ? 2 : 0;
              done();
            });
    self->request(m, reply_timeout, get_request{spaces::latest_ptr, "key0"})
        .then([done](get_reply&) { done(); }, [done](caf::error&) { done(); });
  }
}

caf::behavior load_actor(caf::stateful_actor<load_state>* self, manager_actor m, int n,
                         std::shared_ptr<fault_switch> faults, caf::actor report_to) {
  self->state.result.outcome.assign(static_cast<size_t>(n), -1);
  send_wave(self, m, 0, n / 6, std::move(faults), std::move(report_to));
  return {[](caf::unit_t) {}};
}

}  // namespace
}  // namespace vstore::test

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vstore::test::load_result)

namespace vstore::test {
namespace {

TEST_F(Supervision, FaultsUnderLoadLoseNothingAcknowledged) {
  auto m = start(opts(), faults_);
  constexpr int n = 600;
  self_->spawn(load_actor, m, n, faults_, caf::actor{self_});
  load_result res;
  self_->receive(
      [&](load_result& r) { res = std::move(r); },
      caf::after(std::chrono::seconds(30)) >> [] { ADD_FAILURE() << "replies missing"; });
  // Every request got exactly one reply or error.
  ASSERT_EQ(res.replies, 2 * n);
  // Service resumes, and restarts were counted.
  ASSERT_TRUE(put(m, spaces::data, "after", "x"));
  ASSERT_TRUE(put(m, spaces::latest_ptr, "after", "x"));
  auto s = stats(m);
  EXPECT_EQ(s.spaces[spaces::data].restarts, 2u);
  EXPECT_EQ(s.spaces[spaces::latest_ptr].restarts, 4u);  // 3 readers + 1 writer
  EXPECT_EQ(s.committer_restarts, 1u);
  // Every acknowledged write is there, whole; a failed one is whole or absent:
  // absent if its reply said "not applied", and exactly what its token's
  // outcome says if its reply said "maybe".
  int acked = 0, failed = 0, lost = 0, torn = 0, not_applied = 0, found_not_applied = 0,
      in_doubt = 0, resolved_committed = 0, resolved_not = 0, unresolved = 0, mismatch = 0;
  for (int i = 0; i < n; ++i) {
    auto key = "key" + std::to_string(i);
    auto sp = static_cast<space_id>(i % 3 == 0 ? spaces::latest_ptr : spaces::data);
    outcome_reply o;
    auto oc = res.outcome[static_cast<size_t>(i)];
    if (oc == 2) {
      ASSERT_TRUE(ask(m, outcome_request{"tok" + std::to_string(i), 0, 10000}, o));
    }
    auto v = get(m, sp, key);
    if (i % 5 == 0 && v.has_value() != get(m, spaces::metas, key).has_value()) ++torn;
    if (oc == 1) {
      ++acked;
      if (v != std::optional<std::string>{key}) ++lost;
      continue;
    }
    ++failed;
    if (oc == 0) {
      ++not_applied;
      if (v.has_value()) ++found_not_applied;
      continue;
    }
    ++in_doubt;
    if (o.state == write_state::committed)
      ++resolved_committed;
    else if (o.state == write_state::not_committed)
      ++resolved_not;
    else
      ++unresolved;
    if ((o.state == write_state::committed) != v.has_value()) ++mismatch;
  }
  std::cout << "[ measure  ] " << n << " writes under faults: " << acked << " acknowledged, "
            << not_applied << " not applied, " << in_doubt
            << " in doubt (resolved: " << resolved_committed << " committed, " << resolved_not
            << " not committed, " << unresolved << " unresolved)\n";
  EXPECT_EQ(lost, 0) << "acknowledged writes missing";
  EXPECT_EQ(torn, 0) << "multi-space writes half applied";
  EXPECT_EQ(found_not_applied, 0) << "writes answered \"not applied\" are in the store";
  EXPECT_EQ(unresolved, 0) << "in-doubt writes whose outcome stayed open";
  EXPECT_EQ(mismatch, 0) << "outcomes that disagree with the store";
  EXPECT_GT(failed, 0);  // the faults did hit writes
  // A crash fails the work queued at the crashed actor; the first and the last
  // wave see no fault and are acknowledged whole.
  EXPECT_GE(acked, 2 * n / 6);
}

TEST_F(Supervision, PastTheRestartLimitTheSpaceAnswersUnavailable) {
  auto o = opts();
  o.supervisor.restart_limit = 2;
  o.supervisor.read_retries = 0;
  auto m = start(o, faults_);
  faults_->fail_reads(spaces::metas, 100);
  get_reply r;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(ask(m, get_request{spaces::metas, "k"}, r));
  auto st = ask(m, get_request{spaces::metas, "k"}, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::unavailable);
  auto s = stats(m);
  EXPECT_EQ(s.spaces[spaces::metas].state, "unavailable");
  EXPECT_EQ(s.spaces[spaces::metas].restarts, 3u);
  // Other spaces are unaffected.
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
}

TEST_F(Supervision, StuckChildrenCannotHoldARequestPastTheInternalTimeout) {
  auto o = opts(backend_kind::memory);
  o.supervisor.internal_timeout = std::chrono::milliseconds(300);
  o.supervisor.stall_abort = std::chrono::milliseconds(200);
  o.reader.pool_size = 1;
  auto m = start(o, faults_);
  faults_->gate_writer(spaces::data, 1);
  auto t0 = std::chrono::steady_clock::now();
  auto st = put(m, spaces::data, "k", "v");
  ASSERT_FALSE(st);
  // The writer holds the write: it may still commit, so it is in doubt.
  EXPECT_EQ(st.code(), errc::in_doubt);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  // One stuck actor at a time: the test's scheduler has two threads, and a
  // gate blocks the thread it runs on.
  faults_->open();
  faults_->gate_readers(spaces::metas);
  get_reply r;
  t0 = std::chrono::steady_clock::now();
  st = ask(m, get_request{spaces::metas, "k"}, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  faults_->open();
  ASSERT_TRUE(put(m, spaces::data, "k2", "v"));  // the late reply was dropped, service goes on
  EXPECT_EQ(get(m, spaces::data, "k2"), std::optional<std::string>{"v"});
}

TEST_F(Supervision, FullWriteQueueAnswersOverloadedAtOnce) {
  auto o = opts(backend_kind::memory);
  o.writer.max_queued = 4;
  auto m = start(o, faults_);
  faults_->gate_writer(spaces::data, 1);
  for (int i = 0; i < 10; ++i)
    self_->send(m, write_request{}.put(spaces::data, "k" + std::to_string(i), "v"));
  // The six writes past the bound are refused while the writer is still stuck.
  auto [ok, errors] = collect(6);
  EXPECT_EQ(ok, 0);
  EXPECT_EQ(errors[errc::overloaded], 6);
  faults_->open();
  auto [ok2, errors2] = collect(4);
  EXPECT_EQ(ok2, 4);
  EXPECT_TRUE(errors2.empty());
  ASSERT_TRUE(put(m, spaces::data, "after", "v"));  // recovered
  EXPECT_EQ(stats(m).spaces[spaces::data].errors[static_cast<size_t>(errc::overloaded)], 6u);
}

TEST_F(Supervision, FullReadQueueAnswersOverloadedAtOnce) {
  auto o = opts(backend_kind::memory);
  o.reader.max_queued = 2;
  o.reader.pool_size = 1;
  auto m = start(o, faults_);
  faults_->gate_readers(spaces::data);
  for (int i = 0; i < 5; ++i) self_->send(m, get_request{spaces::data, "k"});
  auto [ok, errors] = collect(3);
  EXPECT_EQ(errors[errc::overloaded], 3);
  faults_->open();
  auto [ok2, errors2] = collect(2);
  EXPECT_EQ(ok2, 2);
}

TEST_F(Supervision, DrainAnswersEveryQueuedRequest) {
  auto m = start(opts(), faults_);
  faults_->gate_writer(spaces::data, 1);
  for (int i = 0; i < 20; ++i)
    self_->send(m, write_request{}.put(spaces::data, "k" + std::to_string(i), "v"));
  sync(m);
  self_->send(m, drain_request{});
  // Open the gate only once the manager drains (it answers the status after
  // the drain request): the 20 writes are queued when the drain begins, and
  // the drain answers them. Opened earlier, they could commit before the
  // manager looks at the drain request, and be answered before it.
  sync(m);
  faults_->open();
  int acks = 0;
  drain_reply d;
  bool drained = false;
  for (int i = 0; i < 21; ++i)
    self_->receive([&](commit_ack&) { ++acks; },
                   [&](drain_reply& r) {
                     d = r;
                     drained = true;
                   },
                   [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
  EXPECT_EQ(acks, 20);
  ASSERT_TRUE(drained);
  EXPECT_EQ(d.answered, 20u);
  EXPECT_EQ(d.cut_off, 0u);
  // The store was closed with the writes in it.
  std::shared_ptr<store> reopened;
  auto o = opts();
  ASSERT_TRUE(open_store(o, reopened));
  std::string v;
  bool found = false;
  ASSERT_TRUE(reopened->get(spaces::data, "k19", v, found));
  EXPECT_TRUE(found);
}

TEST_F(Supervision, DrainCutsOffWorkPastTheGracePeriod) {
  auto o = opts(backend_kind::memory);
  o.supervisor.shutdown_grace = std::chrono::milliseconds(200);
  auto m = start(o, faults_);
  faults_->gate_writer(spaces::data, 1);
  for (int i = 0; i < 5; ++i)
    self_->send(m, write_request{}.put(spaces::data, "k" + std::to_string(i), "v"));
  sync(m);
  self_->send(m, drain_request{});
  auto [ok, errors] = collect(5);
  // The writer holds them and commits what the drain sealed before it stops:
  // in doubt, never "not applied".
  EXPECT_EQ(errors[errc::in_doubt], 5);
  faults_->open();
  drain_reply d;
  self_->receive([&](drain_reply& r) { d = r; },
                 caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no drain reply"; });
  EXPECT_EQ(d.cut_off, 5u);
}

TEST_F(Supervision, NewRequestsDuringDrainAreRefused) {
  auto m = start(opts(backend_kind::memory), faults_);
  faults_->gate_writer(spaces::data, 1);
  self_->send(m, write_request{}.put(spaces::data, "k", "v"));
  sync(m);
  self_->send(m, drain_request{});
  get_reply r;
  auto st = ask(m, get_request{spaces::data, "k"}, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::shutting_down);
  faults_->open();
  int acks = 0, drained = 0;
  for (int i = 0; i < 2; ++i)
    self_->receive([&](commit_ack&) { ++acks; }, [&](drain_reply&) { ++drained; },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(drained, 1);
}

}  // namespace
}  // namespace vstore::test
