// Every write reply tells the truth (design §3.10): for each path that can
// answer a write error, the reply's code, and what the store holds afterwards
// (also after a drain and a reopen): a "not applied" write is absent forever;
// an in-doubt write is resolved by outcome_request to exactly what the store
// holds. Faults are real where they can be: a store whose commits block
// (a slow disk) or fail (a failing disk), actors that die mid-way.
#include <map>

#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_backend.hpp"
#include "tests/support/fault_store.hpp"

namespace vstore::test {
namespace {

constexpr uint32_t settle_wait_ms = 10000;

class Outcome : public actor_test, public ::testing::WithParamInterface<backend_kind> {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_switch> faults_ = std::make_shared<fault_switch>();
  std::shared_ptr<store> inner_;
  std::shared_ptr<fault_store> disk_;

  ~Outcome() override {
    faults_->open();
    if (disk_) disk_->release();
  }

  options opts() {
    auto o = test_options(GetParam(), dir_.path());
    o.supervisor.restart_limit = 50;
    o.supervisor.restart_window = std::chrono::milliseconds(60000);
    return o;
  }

  /// Starts a manager over a fault_store wrapping a freshly opened backend.
  manager_actor start_faulty(const options& o) {
    auto st = open_store(o, inner_);
    EXPECT_TRUE(st) << st.to_string();
    disk_ = std::make_shared<fault_store>(inner_);
    return start_over(o, disk_, faults_);
  }

  /// Drains `m` and starts a new manager over the same data: the memory
  /// store object, or the RocksDB directory opened again.
  manager_actor reopen(const manager_actor& m, const options& o) {
    drain(m);
    if (GetParam() == backend_kind::rocksdb) {
      disk_.reset();
      inner_.reset();
      auto st = open_store(o, inner_);
      EXPECT_TRUE(st) << st.to_string();
    }
    return start_over(o, inner_);
  }

  /// Blocks the disk and sends {k1, token T1}; returns once its commit is
  /// held in the disk.
  bool hold_first_write(const manager_actor& m) {
    disk_->block();
    self_->send(m, tokened(spaces::data, "k1", "T1"));
    return disk_->wait_held(1);
  }

  static write_request tokened(space_id s, const std::string& key, const std::string& token) {
    write_request w;
    w.put(s, key, "v-" + key);
    w.token = token;
    w.flush_now = true;
    return w;
  }

  outcome_reply outcome(const manager_actor& m, const std::string& token, uint32_t wait = 0,
                        uint64_t not_before = 0) {
    outcome_reply r;
    auto st = ask(m, outcome_request{token, not_before, wait}, r);
    EXPECT_TRUE(st) << st.to_string();
    return r;
  }

  /// Waits for `n` replies to requests sent with send(): the code of each
  /// error (acks count under the key nullopt).
  std::map<std::optional<errc>, int> collect(int n) {
    std::map<std::optional<errc>, int> out;
    for (int i = 0; i < n; ++i)
      self_->receive([&](commit_ack&) { ++out[std::nullopt]; },
                     [&](caf::error& e) { ++out[to_status(e).code()]; },
                     caf::after(reply_timeout) >> [] { ADD_FAILURE() << "a write got no reply"; });
    return out;
  }

  /// Checks that an in-doubt write resolves to what the store holds.
  void expect_resolved(const manager_actor& m, space_id s, const std::string& key,
                       const std::string& token) {
    auto o = outcome(m, token, settle_wait_ms);
    auto present = get(m, s, key).has_value();
    ASSERT_TRUE(o.state == write_state::committed || o.state == write_state::not_committed)
        << to_name(o.state);
    EXPECT_EQ(o.state == write_state::committed, present) << key << " " << to_name(o.state);
    if (o.state == write_state::committed) {
      EXPECT_GT(o.seq, 0u);
    }
  }

  /// Writes {k = 1, token}, then {k = 2}, then retries the first. Returns ""
  /// if the retry was answered with the original commit and applied nothing,
  /// else what went wrong.
  std::string check_applied_once(const manager_actor& m, const std::string& token) {
    write_request first;
    first.put(spaces::data, "counter", "1");
    first.token = token;
    commit_ack a1, a2, a3;
    if (!ask(m, write_request{first}, a1)) return "first write failed";
    if (!ask(m, write_request{}.put(spaces::data, "counter", "2"), a2)) return "second failed";
    if (!ask(m, write_request{first}, a3)) return "retry failed";
    auto v = get(m, spaces::data, "counter");
    if (v != std::optional<std::string>{"2"}) return "the retry was applied again";
    if (a3.seq != a1.seq) return "the retry was not answered with the original commit";
    return {};
  }
};

TEST_P(Outcome, DeadlinePassedWhileTheDiskIsSlowIsInDoubtThenCommitted) {
  auto o = opts();
  o.supervisor.internal_timeout = std::chrono::milliseconds(300);
  o.supervisor.stall_abort = std::chrono::milliseconds(200);
  auto m = start_faulty(o);
  disk_->block();
  commit_ack ack;
  auto st = ask(m, tokened(spaces::data, "k1", "T1"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::in_doubt) << st.to_string();
  ASSERT_TRUE(disk_->wait_held(1));
  // Its commit is held by the disk: the store says so, and does not guess.
  EXPECT_EQ(outcome(m, "T1").state, write_state::pending);
  disk_->release();
  auto r = outcome(m, "T1", settle_wait_ms);
  EXPECT_EQ(r.state, write_state::committed);
  EXPECT_EQ(get(m, spaces::data, "k1"), std::optional<std::string>{"v-k1"});
  // A retry with the token is answered with the original commit, not applied again.
  ASSERT_TRUE(ask(m, tokened(spaces::data, "k1", "T1"), ack));
  EXPECT_EQ(ack.seq, r.seq);
}

TEST_P(Outcome, WriterKilledWithASealedBatchInFlightIsInDoubtThenResolved) {
  auto m = start_faulty(opts());
  disk_->block();
  self_->send(m, tokened(spaces::data, "k1", "T1"));  // sealed, held by the disk
  ASSERT_TRUE(disk_->wait_held(1));
  faults_->fail_writes(spaces::data, 1);
  self_->send(m, tokened(spaces::data, "k2", "T2"));  // kills the writer
  // Both wait for the sweep that settles them (the commit actor is held).
  EXPECT_EQ(outcome(m, "T1").state, write_state::pending);
  EXPECT_EQ(outcome(m, "T2").state, write_state::pending);
  disk_->release();
  // Then each is answered from its token: the sealed one was in the commit
  // actor and committed; the other died with the writer and never will.
  auto replies = collect(2);
  EXPECT_EQ(replies[std::nullopt], 1);
  EXPECT_EQ(replies[errc::aborted], 1);
  expect_resolved(m, spaces::data, "k1", "T1");
  expect_resolved(m, spaces::data, "k2", "T2");
  EXPECT_EQ(outcome(m, "T1").state, write_state::committed);
  EXPECT_EQ(outcome(m, "T2").state, write_state::not_committed);
}

// The owner writer dies after sealing its part of a multi-space batch whose
// other part is still held by a live writer: only a sweep that waits for that
// writer (then fences the commit actor) may settle it, because the batch
// commits once the other part arrives.
TEST_P(Outcome, WriterKilledWithASiblingPartStillQueuedWaitsForTheSweep) {
  auto m = start_faulty(opts());
  faults_->gate_writer(spaces::metas, 1);    // holds the metas part
  faults_->fail_nth_write(spaces::data, 2);  // the owner seals W1's part, dies at W2
  auto w1 = tokened(spaces::data, "k1", "T1");
  w1.put(spaces::metas, "k1", "v-k1");
  self_->send(m, w1);
  self_->send(m, tokened(spaces::data, "k2", "T2"));
  EXPECT_EQ(outcome(m, "T1").state, write_state::pending);
  faults_->open();
  auto replies = collect(2);
  EXPECT_EQ(replies[std::nullopt], 1) << "the batch committed once its metas part arrived";
  EXPECT_EQ(replies[errc::aborted], 1);
  expect_resolved(m, spaces::data, "k1", "T1");
  EXPECT_EQ(get(m, spaces::metas, "k1"), std::optional<std::string>{"v-k1"});
  expect_resolved(m, spaces::data, "k2", "T2");
}

TEST_P(Outcome, WriterKilledWithoutTokensAnswersInDoubtAtOnce) {
  auto m = start_faulty(opts());
  disk_->block();
  self_->send(m, write_request{}.put(spaces::data, "k1", "v"));
  ASSERT_TRUE(disk_->wait_held(1));
  faults_->fail_writes(spaces::data, 1);
  self_->send(m, write_request{}.put(spaces::data, "k2", "v"));
  // Without a token nothing can tell the outcome later: no waiting.
  auto replies = collect(2);
  EXPECT_EQ(replies[errc::in_doubt], 2);
  disk_->release();
}

// The commit actor dies after the store applied its round, before it answered.
// A write with a token is answered from the token the new commit actor reads
// back from the store: committed, with the original sequence number.
TEST_P(Outcome, CommitActorDyingAfterItsCommitAnswersTheCommitOfATokenedWrite) {
  auto m = start_faulty(opts());
  faults_->fail_after_commits(1);
  commit_ack ack;
  auto st = ask(m, tokened(spaces::metas, "k1", "T1"), ack);
  ASSERT_TRUE(st) << st.to_string();
  auto r = outcome(m, "T1", settle_wait_ms);
  EXPECT_EQ(r.state, write_state::committed);
  EXPECT_EQ(r.seq, ack.seq);
  EXPECT_EQ(get(m, spaces::metas, "k1"), std::optional<std::string>{"v-k1"});
  EXPECT_EQ(stats(m).committer_restarts, 1u);
}

// The commit actor dies before the store applied its round: a tokened write
// is answered "not applied", which is certain (no commit actor will ever
// commit it), and it is absent.
TEST_P(Outcome, CommitActorDyingBeforeItsCommitAnswersATokenedWriteNotApplied) {
  auto m = start_faulty(opts());
  faults_->fail_commits(1);
  commit_ack ack;
  auto st = ask(m, tokened(spaces::metas, "k1", "T1"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::aborted) << st.to_string();
  EXPECT_EQ(outcome(m, "T1", settle_wait_ms).state, write_state::not_committed);
  EXPECT_EQ(get(m, spaces::metas, "k1"), std::nullopt);
}

// Without a token nothing can tell which side of the commit the crash fell on.
TEST_P(Outcome, CommitActorDyingAnswersAWriteWithoutTokenInDoubt) {
  auto m = start_faulty(opts());
  faults_->fail_after_commits(1);
  commit_ack ack;
  auto st = ask(m, write_request{}.put(spaces::metas, "k1", "v"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::in_doubt) << st.to_string();
  EXPECT_EQ(get(m, spaces::metas, "k1"), std::optional<std::string>{"v"});  // it did commit
}

TEST_P(Outcome, FailedCommitIsInDoubtUntilTheStoreReopens) {
  auto o = opts();
  auto m = start_faulty(o);
  // The disk took the batch, then reported an error (a WAL sync that failed).
  disk_->fail_next(1, true);
  commit_ack ack;
  auto st = ask(m, tokened(spaces::data, "applied", "T1"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::in_doubt) << st.to_string();
  // The write is in the store: "not applied" would have been a lie.
  EXPECT_TRUE(get(m, spaces::data, "applied").has_value());
  EXPECT_EQ(outcome(m, "T1").state, write_state::pending);
  // A retry is refused, in doubt: it could end up applied beside the original.
  st = ask(m, tokened(spaces::data, "applied", "T1"), ack);
  EXPECT_EQ(st.code(), errc::in_doubt) << st.to_string();
  // The disk refused the batch.
  disk_->fail_next(1, false);
  st = ask(m, tokened(spaces::data, "refused", "T2"), ack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::in_doubt);
  EXPECT_EQ(outcome(m, "T2").state, write_state::pending);
  // Only a reopen settles what the failing disk kept.
  auto m2 = reopen(m, o);
  expect_resolved(m2, spaces::data, "applied", "T1");
  expect_resolved(m2, spaces::data, "refused", "T2");
  EXPECT_EQ(outcome(m2, "T1").state, write_state::committed);
  EXPECT_EQ(outcome(m2, "T2").state, write_state::not_committed);
}

TEST_P(Outcome, ShutdownCutOffIsInDoubtAndResolvedAfterReopen) {
  auto o = opts();
  o.supervisor.shutdown_grace = std::chrono::milliseconds(100);
  auto m = start_faulty(o);
  ASSERT_TRUE(hold_first_write(m));
  self_->send(m, tokened(spaces::data, "k2", "T2"));
  self_->send(m, tokened(spaces::metas, "k3", "T3"));
  auto multi = tokened(spaces::data, "k4", "T4");
  multi.put(spaces::metas, "k4", "v-k4");
  self_->send(m, multi);
  status_reply info;
  ASSERT_TRUE(ask(m, status_request{}, info));  // every write is admitted
  self_->send(m, drain_request{});
  auto replies = collect(4);
  EXPECT_EQ(replies[errc::in_doubt], 4) << "cut off writes may still commit";
  disk_->release();
  drain_reply d;
  self_->receive([&](drain_reply& r) { d = r; },
                 caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no drain reply"; });
  EXPECT_EQ(d.cut_off, 4u);
  if (GetParam() == backend_kind::rocksdb) {
    disk_.reset();
    inner_.reset();
    ASSERT_TRUE(open_store(o, inner_));
  }
  auto m2 = start_over(o, inner_);
  expect_resolved(m2, spaces::data, "k1", "T1");
  expect_resolved(m2, spaces::data, "k2", "T2");
  expect_resolved(m2, spaces::metas, "k3", "T3");
  expect_resolved(m2, spaces::data, "k4", "T4");
  EXPECT_EQ(get(m2, spaces::data, "k4").has_value(), get(m2, spaces::metas, "k4").has_value());
  // The held commit had the first write: it committed once the disk let it.
  EXPECT_EQ(outcome(m2, "T1").state, write_state::committed);
}

// The drain promises to close the store before it replies. Past the grace
// period it kills its children, but a write the commit actor's I/O thread
// runs ends only when the disk lets it: the reply waits for that write and
// for every child to let go of the store. (Replying at the kill, as before,
// answered while the held write still ran: the store was still open, a
// reopen of the directory failed on RocksDB's LOCK, and a new manager over
// the memory store read tokens the old write then changed.)
TEST_P(Outcome, DrainRepliesOnlyOnceNoChildHoldsTheStore) {
  auto o = opts();
  o.supervisor.shutdown_grace = std::chrono::milliseconds(100);
  auto m = start_faulty(o);
  ASSERT_TRUE(hold_first_write(m));
  status_reply info;
  ASSERT_TRUE(ask(m, status_request{}, info));
  self_->send(m, drain_request{});
  auto replies = collect(1);
  EXPECT_EQ(replies[errc::in_doubt], 1);
  // Past the grace period, with the write still held: no drain reply.
  bool early = false;
  self_->receive([&](drain_reply&) { early = true; },
                 caf::after(std::chrono::milliseconds(300)) >> [] {});
  EXPECT_FALSE(early) << "the drain replied while a write still held the store";
  disk_->release();
  drain_reply d;
  if (!early)
    self_->receive([&](drain_reply& r) { d = r; },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no drain reply"; });
  EXPECT_EQ(disk_.use_count(), 1) << "a child of the drained manager still holds the store";
}

TEST_P(Outcome, RetryWithACommittedTokenIsAppliedOnce) {
  auto m = start_faulty(opts());
  EXPECT_EQ(check_applied_once(m, "T-once"), "");
  EXPECT_EQ(stats(m).duplicates, 1u);
  EXPECT_EQ(outcome(m, "T-once").state, write_state::committed);
}

TEST_P(Outcome, ABrokenStoreThatAppliesRetriesTwiceIsCaught) {
  auto m = start_faulty(opts());
  faults_->break_dedup();
  EXPECT_EQ(check_applied_once(m, "T-twice"), "the retry was applied again");
}

TEST_P(Outcome, RetriesRacingTheOriginalAreAppliedOnce) {
  auto m = start_faulty(opts());
  disk_->block();  // the writes below queue up behind a held commit
  write_request first;
  first.put(spaces::data, "counter", "1");
  first.token = "T-round";
  self_->send(m, write_request{}.put(spaces::data, "warm", "x").put(spaces::data, "w", "y"));
  ASSERT_TRUE(disk_->wait_held(1));
  self_->send(m, write_request{first});
  self_->send(m, write_request{}.put(spaces::data, "counter", "2"));
  self_->send(m, write_request{first});
  std::vector<uint64_t> seqs;
  disk_->release();
  for (int i = 0; i < 4; ++i)
    self_->receive([&](commit_ack& a) { seqs.push_back(a.seq); },
                   [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
  EXPECT_EQ(get(m, spaces::data, "counter"), std::optional<std::string>{"2"});
  EXPECT_EQ(stats(m).duplicates, 1u);
}

TEST_P(Outcome, OutcomeRequestsAreCheckedAndForgottenTokensAreNeverNotCommitted) {
  auto o = opts();
  o.tokens.retain_count = 2;
  auto m = start_faulty(o);
  outcome_reply r;
  EXPECT_EQ(ask(m, outcome_request{"", 0, 0}, r).code(), errc::invalid_argument);
  EXPECT_EQ(ask(m, outcome_request{std::string(65, 't'), 0, 0}, r).code(), errc::too_large);
  commit_ack big;
  write_request w = tokened(spaces::data, "x", std::string(65, 't'));
  EXPECT_EQ(ask(m, std::move(w), big).code(), errc::too_large);
  EXPECT_EQ(outcome(m, "never-used").state, write_state::not_committed);
  commit_ack a1, a2, a3;
  ASSERT_TRUE(ask(m, tokened(spaces::data, "k1", "T1"), a1));
  ASSERT_TRUE(ask(m, tokened(spaces::data, "k2", "T2"), a2));
  ASSERT_TRUE(ask(m, tokened(spaces::data, "k3", "T3"), a3));
  ASSERT_TRUE(ask(m, write_request{}.put(spaces::data, "k4", "v").put(spaces::data, "k5", "v"),
                  a3));  // a commit that forgets T1 (retain-count 2)
  EXPECT_EQ(outcome(m, "T1").state, write_state::unknown);
  EXPECT_EQ(outcome(m, "T2").state, write_state::committed);
  // A token sent after the forgotten ones committed is certainly absent.
  EXPECT_EQ(outcome(m, "never-used").state, write_state::unknown);
  EXPECT_EQ(outcome(m, "never-used", 0, a1.seq).state, write_state::not_committed);
  auto s = stats(m);
  EXPECT_EQ(s.tokens, 2u);
  EXPECT_EQ(s.tokens_forgotten, 1u);
  // Forgetting survives a reopen.
  auto m2 = reopen(m, o);
  EXPECT_EQ(outcome(m2, "T1").state, write_state::unknown);
  EXPECT_EQ(outcome(m2, "T3").state, write_state::committed);
}

// The commit actor hands the writer its answers through a box
// (actors/handoff_box.hpp), which overtakes the messages already queued. Here
// the failed answer of the first batch lands in the box while a flush that
// covers that batch waits in the writer's mailbox (the writer is held in the
// handler of a second write): the flush must still fail.
TEST_P(Outcome, AFlushFailsForAFailureThatOvertookItInTheWritersBox) {
  auto m = start_faulty(opts());
  faults_->gate_writer(spaces::data, 2);
  disk_->block();
  auto w1 = self_->request(m, reply_timeout, write_request{}.put(spaces::data, "k1", "v"));
  ASSERT_TRUE(disk_->wait_held(1));
  auto w2 = self_->request(m, reply_timeout, write_request{}.put(spaces::data, "k2", "v"));
  ASSERT_TRUE(faults_->wait_gated(1));  // the writer is held in k2's handler
  auto flush = self_->request(m, reply_timeout, flush_request{});
  status_reply info;
  ASSERT_TRUE(ask(m, status_request{}, info));  // the flush waits in the writer's mailbox
  disk_->fail_next(1, false);
  disk_->release();
  // A write of another space commits in a later round: by its
  // acknowledgement the first batch's answer is in the writer's box.
  ASSERT_TRUE(put(m, spaces::metas, "m", "v"));
  faults_->open();
  status first;
  w1.receive([](commit_ack&) { ADD_FAILURE() << "the failed write was acknowledged"; },
             [&](caf::error& e) { first = to_status(e); });
  EXPECT_EQ(first.code(), errc::in_doubt) << first.to_string();
  w2.receive([](commit_ack&) {}, [](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  status flushed;
  flush.receive([](commit_ack&) {}, [&](caf::error& e) { flushed = to_status(e); });
  EXPECT_FALSE(flushed.is_ok()) << "a flush whose first batch failed was acknowledged";
  EXPECT_EQ(flushed.code(), errc::io_error) << flushed.to_string();
}

TEST_P(Outcome, FlushReportsTheFailureOfItsBatch) {
  auto m = start_faulty(opts());
  disk_->block();
  self_->send(m, write_request{}.put(spaces::data, "k1", "v"));
  ASSERT_TRUE(disk_->wait_held(1));
  self_->send(m, flush_request{});
  status_reply info;
  ASSERT_TRUE(ask(m, status_request{}, info));  // the flush reached the manager
  disk_->fail_next(1, false);
  disk_->release();
  int acks = 0;
  std::vector<errc> errors;
  for (int i = 0; i < 2; ++i)
    self_->receive([&](commit_ack&) { ++acks; },
                   [&](caf::error& e) { errors.push_back(to_status(e).code()); },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
  EXPECT_EQ(acks, 0) << "a flush whose batch failed must not be acknowledged";
  EXPECT_EQ(errors.size(), 2u);
  // A later flush with nothing failing succeeds again.
  commit_ack ack;
  EXPECT_TRUE(ask(m, flush_request{}, ack));
}

TEST_P(Outcome, EveryErrorIsAVstoreCodeEvenWhenCafReportsIt) {
  auto o = opts();
  o.reader.pool_size = 1;
  o.supervisor.read_retries = 1;
  auto m = start_faulty(o);
  faults_->fail_reads(spaces::data, 5);  // every retry finds a dead reader
  caf::error err;
  self_->request(m, reply_timeout, get_request{spaces::data, "k"})
      .receive([](get_reply&) { ADD_FAILURE() << "the read cannot succeed"; },
               [&](caf::error& e) { err = e; });
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), caf::atom("vstore")) << sys_.render(err);
}

// A backend error on a read is the read's answer, even errc::internal (which
// RocksDB's unknown codes become): no reader is replaced, no restart counted,
// and the space stays available past the restart limit.
TEST_P(Outcome, BackendReadErrorsAreAnsweredWithoutARestart) {
  auto o = opts();
  o.supervisor.restart_limit = 1;
  auto m = start_faulty(o);
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  disk_->fail_reads(3, errc::internal);
  for (int i = 0; i < 3; ++i) {
    get_reply r;
    auto st = ask(m, get_request{spaces::data, "k"}, r);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.code(), errc::internal) << st.to_string();
  }
  disk_->fail_reads(1, errc::io_error);
  get_reply r;
  auto st = ask(m, get_request{spaces::data, "k"}, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::io_error) << st.to_string();
  auto s = stats(m);
  EXPECT_EQ(s.spaces[spaces::data].restarts, 0u);
  EXPECT_EQ(s.spaces[spaces::data].state, "ok");
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
}

INSTANTIATE_TEST_SUITE_P(Backends, Outcome,
                         ::testing::Values(backend_kind::memory, backend_kind::rocksdb),
                         [](const auto& param_info) {
                           return std::string{param_info.param == backend_kind::memory ? "memory"
                                                                                       : "rocksdb"};
                         });

}  // namespace
}  // namespace vstore::test
