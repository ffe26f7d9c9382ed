// A committed write is acknowledged by the commit actor itself (two hops
// fewer than through its writer and the manager), and a write gets exactly
// one reply when the manager's deadline and the commit actor both answer it
// (actors/write_reply.hpp). The commit actor hands the manager and the
// writer their answers through boxes (actors/handoff_box.hpp): whoever waits
// for one with no message of its own coming is woken.
#include <thread>

#include "actors/write_reply.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_backend.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vstore::write_reply>)

namespace vstore::test {
namespace {

/// The manager's part in two plain actors: admits a write with a
/// write_reply, hands it to `acker`, and once that one has answered, answers
/// the write itself too (as a deadline that passes before the commit actor's
/// report arrives would).
caf::behavior admitting(caf::event_based_actor* self, caf::actor acker) {
  return {[self, acker](write_request&) -> caf::result<commit_ack> {
    auto rp = self->make_response_promise<commit_ack>();
    auto reply = std::make_shared<write_reply>(rp);
    self->request(acker, caf::infinite, reply).then([reply](bool) {
      reply->deliver(make_error(errc::in_doubt, "the deadline passed"));
    });
    return rp;
  }};
}

/// The commit actor's part: acknowledges the write from its own thread.
caf::behavior acking(caf::event_based_actor* self) {
  return {[self](std::shared_ptr<write_reply>& r) {
    return r->deliver_from(caf::actor_cast<caf::strong_actor_ptr>(self), commit_ack{7});
  }};
}

class WriteReply : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_switch> faults_ = std::make_shared<fault_switch>();

  /// Counts the replies to request `id` waiting in the mailbox, without
  /// waiting (a blocking actor keeps a reply nobody awaits).
  int replies_left(caf::message_id id) {
    int n = 0;
    caf::blocking_actor::accept_one_cond once;
    self_->varargs_receive(
        once, id, [&](commit_ack&) { ++n; }, [&](caf::error&) { ++n; },
        caf::after(std::chrono::seconds(0)) >> [] {});
    return n;
  }
};

TEST_F(WriteReply, TheCommitActorAcknowledgesACommittedWriteItself) {
  auto m = start(test_options(backend_kind::memory, dir_.path()));
  auto manager = caf::actor_cast<caf::strong_actor_ptr>(m);
  for (int i = 0; i < 3; ++i) {
    write_request w;
    w.put(spaces::data, "k", std::to_string(i));
    caf::strong_actor_ptr from;
    bool acked = false;
    self_->request(m, reply_timeout, std::move(w))
        .receive(
            [&](commit_ack&) {
              acked = true;
              from = self_->current_sender();
            },
            [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
    ASSERT_TRUE(acked);
    ASSERT_NE(from, nullptr);
    EXPECT_NE(from, manager) << "the acknowledgement went through the manager";
  }
  // Read back through the manager right after: an acknowledged write is visible.
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"2"});
  auto s = stats(m);
  EXPECT_EQ(s.spaces[spaces::data].writes, 3u);
  EXPECT_EQ(s.health.writes_in_flight, 0u);
}

TEST_F(WriteReply, AWriteHeldPastItsDeadlineIsAnsweredInDoubtOnceAndStillCommits) {
  auto o = test_options(backend_kind::memory, dir_.path());
  o.supervisor.internal_timeout = std::chrono::milliseconds(200);
  o.supervisor.stall_abort = std::chrono::milliseconds(100);
  auto m = start(o, faults_);
  // The commit actor holds the write's round past its deadline: the manager
  // answers in doubt first; the commit then succeeds.
  faults_->gate_commit();
  write_request w;
  w.put(spaces::data, "k", "v");
  status first;
  auto held = self_->request(m, reply_timeout, std::move(w));
  held.receive([&](commit_ack&) { ADD_FAILURE() << "acknowledged while held"; },
               [&](caf::error& e) { first = to_status(e); });
  EXPECT_EQ(first.code(), errc::in_doubt) << first.to_string();
  ASSERT_TRUE(faults_->wait_gated(1));
  faults_->open();
  // The next write's acknowledgement comes after the held one's would have:
  // by then a second reply to the first write would wait in the mailbox.
  ASSERT_TRUE(put(m, spaces::data, "k2", "v"));
  EXPECT_EQ(replies_left(held.id()), 0) << "a second reply to the write answered in doubt";
  // In doubt, and it did commit.
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
  auto s = stats(m);
  EXPECT_EQ(s.writes_in_doubt, 1u);
  EXPECT_EQ(s.health.writes_in_flight, 0u);
}

// The commit actor hands the manager its acknowledged writes through a box
// (actors/handoff_box.hpp), not a message. An outcome lookup waiting for a
// write's token must still hear of the commit at once: with the manager's
// tick an hour apart, only the box's wake-up can answer it.
TEST_F(WriteReply, AnOutcomeLookupWaitingForTheCommitIsAnsweredByItNotByATick) {
  auto m = start(test_options(backend_kind::memory, dir_.path()), faults_);
  faults_->slow_ticks(std::chrono::hours(1));
  faults_->gate_commit();
  write_request w;
  w.put(spaces::data, "k", "v");
  w.token = "T";
  w.flush_now = true;
  auto write = self_->request(m, reply_timeout, std::move(w));
  ASSERT_TRUE(faults_->wait_gated(1));
  auto lookup = self_->request(m, reply_timeout, outcome_request{"T", 0, 60000});
  status_reply st;
  ASSERT_TRUE(ask(m, status_request{}, st));  // the lookup waits in the manager now
  faults_->open();
  write.receive([](commit_ack&) {},
                [](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  outcome_reply r;
  lookup.receive([&](outcome_reply& x) { r = x; },
                 [](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  EXPECT_EQ(r.state, write_state::committed);
}

// The writer, likewise, takes the commit actor's answers to its sealed
// batches from a box at its next message. A flush waiting for a held commit
// has no next message: only the box's wake-up can answer it.
TEST_F(WriteReply, AFlushWaitingForTheCommitIsAnsweredByIt) {
  auto m = start(test_options(backend_kind::memory, dir_.path()), faults_);
  faults_->gate_commit();
  write_request w;
  w.put(spaces::data, "k", "v");
  auto write = self_->request(m, reply_timeout, std::move(w));
  ASSERT_TRUE(faults_->wait_gated(1));
  auto flush = self_->request(m, reply_timeout, flush_request{});
  status_reply st;
  ASSERT_TRUE(ask(m, status_request{}, st));  // the flush went to the writer
  faults_->open();
  write.receive([](commit_ack&) {},
                [](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  bool flushed = false;
  flush.receive([&](commit_ack&) { flushed = true; },
                [](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  EXPECT_TRUE(flushed);
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"v"});
}

// A sequential write's batch is quiet (sealed_batch::quiet): its writer is
// not woken for the commit actor's answer and takes it at its next message,
// here the stats request a long pause later. The write's latency still ends
// when it committed.
TEST_F(WriteReply, AQuietCommitsLatencyEndsWhenItCommittedNotWhenTheWriterLooks) {
  auto m = start(test_options(backend_kind::memory, dir_.path()));
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  // Not a synchronisation: the pause a latency counted at the take would include.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto s = stats(m).spaces[spaces::data];
  EXPECT_EQ(s.writes, 1u);
  EXPECT_LT(s.latency_sum_us, 200'000u) << "the latency counted the pause after the commit";
}

TEST_F(WriteReply, AnAcknowledgementLeavesNothingForTheManagerToAnswer) {
  auto admit = sys_.spawn(admitting, sys_.spawn(acking));
  for (int i = 0; i < 3; ++i) {
    auto h = self_->request(admit, reply_timeout, write_request{});
    uint64_t seq = 0;
    h.receive([&](commit_ack& a) { seq = a.seq; },
              [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
    EXPECT_EQ(seq, 7u);
    // The admitting actor's own answer went out before it takes the next
    // request: after that one's round trip it would be in the mailbox.
    auto next = self_->request(admit, reply_timeout, write_request{});
    next.receive([](commit_ack&) {}, [](caf::error&) {});
    EXPECT_EQ(replies_left(h.id()), 0) << "the write was answered twice";
  }
  caf::anon_send_exit(admit, caf::exit_reason::kill);
}

TEST(WriteReplyClaim, ExactlyOneOfTwoThreadsAnswers) {
  // Without an actor behind the promise nothing is sent; what counts is that
  // exactly one answer wins each race.
  constexpr int rounds = 2000;
  std::vector<std::shared_ptr<write_reply>> replies;
  for (int i = 0; i < rounds; ++i)
    replies.push_back(std::make_shared<write_reply>(caf::response_promise{}));
  int by_manager = 0;
  int by_committer = 0;
  std::thread manager{[&] {
    for (auto& r : replies)
      by_manager += r->deliver(make_error(errc::in_doubt, "deadline")) ? 1 : 0;
  }};
  std::thread committer{[&] {
    for (auto& r : replies) by_committer += r->deliver_from(nullptr, commit_ack{1}) ? 1 : 0;
  }};
  manager.join();
  committer.join();
  EXPECT_EQ(by_manager + by_committer, rounds);
  // Answered: nothing more goes out.
  for (auto& r : replies) EXPECT_FALSE(r->deliver(commit_ack{2}));
}

}  // namespace
}  // namespace vstore::test
