// Each group-commit trigger (size, bytes, age, flush_now, mailbox dry) shown
// through stats. A gate in the writer builds a backlog deterministically: the
// writer is held inside its handler while the test queues more commands, and a
// status request proves the manager has forwarded them all.
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_backend.hpp"

namespace vstore::test {
namespace {

class GroupCommit : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_switch> faults_ = std::make_shared<fault_switch>();

  options opts() {
    auto o = test_options(backend_kind::memory, dir_.path());
    o.writer.max_delay = std::chrono::milliseconds(0);
    return o;
  }

  uint64_t flushes(const manager_actor& m, space_id s, flush_reason why) {
    return stats(m).spaces[s].flushes[static_cast<size_t>(why)];
  }

  /// Sends n puts of `value_size` bytes to space `s` without waiting, then makes
  /// sure the manager has forwarded them all before returning.
  void send_puts(const manager_actor& m, space_id s, int n, size_t value_size = 1) {
    for (int i = 0; i < n; ++i) {
      write_request w;
      w.put(s, "k" + std::to_string(i), std::string(value_size, 'v'));
      self_->send(m, std::move(w));
    }
    status_reply st;
    ASSERT_TRUE(ask(m, status_request{}, st));
  }

  /// Holds the commit actor in its first round (one put), sends `n` more
  /// writes with flush_now while it is held (write i puts "k" = i and "ji"),
  /// and lets it go once the writer has them all.
  void puts_while_the_commit_actor_writes(const manager_actor& m, int n) {
    faults_->gate_commit();
    write_request first;
    first.put(spaces::data, "k0", "v");
    self_->send(m, std::move(first));
    ASSERT_TRUE(faults_->wait_gated(1));
    for (int i = 1; i <= n; ++i) {
      write_request w;
      w.put(spaces::data, "k", std::to_string(i));
      w.put(spaces::data, "j" + std::to_string(i), "v");
      w.flush_now = true;
      self_->send(m, std::move(w));
    }
    ASSERT_TRUE(faults_->wait_writes(spaces::data, static_cast<uint64_t>(n) + 1));
    faults_->open();
  }

  /// Collects n acknowledgements (or errors) of writes sent with send_puts.
  int collect(int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i)
      self_->receive([&](commit_ack&) { ++ok; }, [&](caf::error&) {},
                     caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
    return ok;
  }
};

TEST_F(GroupCommit, FlushNowSealsAtOnce) {
  auto m = start(opts());
  ASSERT_TRUE(put(m, spaces::data, "k", "v", true));
  EXPECT_EQ(flushes(m, spaces::data, flush_reason::now), 1u);
  EXPECT_EQ(flushes(m, spaces::data, flush_reason::dry), 0u);
}

TEST_F(GroupCommit, MailboxRunningDrySealsTheBatch) {
  auto m = start(opts());
  ASSERT_TRUE(put(m, spaces::data, "k", "v", false));
  EXPECT_EQ(flushes(m, spaces::data, flush_reason::dry), 1u);
  EXPECT_EQ(flushes(m, spaces::data, flush_reason::now), 0u);
}

TEST_F(GroupCommit, SizeLimitSealsTheBatch) {
  auto o = opts();
  o.writer.max_batch_commands = 3;
  auto m = start(o, faults_);
  faults_->gate_writer(spaces::data, 1);
  send_puts(m, spaces::data, 10);
  faults_->open();
  EXPECT_EQ(collect(10), 10);
  auto s = stats(m).spaces[spaces::data];
  EXPECT_GE(s.flushes[static_cast<size_t>(flush_reason::size)], 2u);
  EXPECT_EQ(s.writes, 10u);
  EXPECT_LE(s.commits, 5u);  // 10 commands grouped, never one per command
}

TEST_F(GroupCommit, ByteLimitSealsTheBatch) {
  auto o = opts();
  o.writer.max_batch_bytes = 100;
  auto m = start(o, faults_);
  faults_->gate_writer(spaces::data, 1);
  send_puts(m, spaces::data, 6, 60);
  faults_->open();
  EXPECT_EQ(collect(6), 6);
  EXPECT_GE(flushes(m, spaces::data, flush_reason::bytes), 2u);
}

TEST_F(GroupCommit, AgeLimitSealsTheBatch) {
  auto o = opts();
  o.writer.max_delay = std::chrono::milliseconds(5);
  auto m = start(o, faults_);
  // The writer spends 20 ms inside its second command while a third waits in
  // its mailbox: the open batch is older than max-delay before it runs dry.
  faults_->gate_writer(spaces::data, 1);
  faults_->delay_writer(spaces::data, 2, std::chrono::milliseconds(20));
  send_puts(m, spaces::data, 3);
  faults_->open();
  EXPECT_EQ(collect(3), 3);
  EXPECT_GE(flushes(m, spaces::data, flush_reason::age), 1u);
}

TEST_F(GroupCommit, BatchesSealedWhileTheCommitActorWritesJoinTheOneWaiting) {
  auto m = start(opts(), faults_);
  puts_while_the_commit_actor_writes(m, 20);
  EXPECT_EQ(collect(21), 21);
  auto s = stats(m).spaces[spaces::data];
  EXPECT_EQ(s.flushes[static_cast<size_t>(flush_reason::now)], 20u);
  EXPECT_EQ(s.ops, 41u);
  // The first round's batch, the one that waited with the 19 or 20 that
  // joined it, and the last one if it came after the commit actor took it.
  EXPECT_LE(s.commits, 3u);
  // Each in order, every one applied: "k" holds the last value.
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"20"});
  for (int i = 1; i <= 20; ++i)
    EXPECT_EQ(get(m, spaces::data, "j" + std::to_string(i)), std::optional<std::string>{"v"}) << i;
}

TEST_F(GroupCommit, BatchesThatJoinedAreAnsweredInDoubtWhenTheCommitActorDies) {
  auto m = start(opts(), faults_);
  faults_->fail_commits(1);  // the held round throws once let go
  puts_while_the_commit_actor_writes(m, 20);
  // In doubt because the commit actor died, not later, at the manager's
  // deadline for writes nobody answered.
  int in_doubt = 0;
  for (int i = 0; i < 21; ++i)
    self_->receive([&](commit_ack&) { ADD_FAILURE() << "acknowledged"; },
                   [&](caf::error& e) {
                     auto st = to_status(e);
                     EXPECT_NE(st.context().find("commit actor"), std::string::npos)
                         << st.to_string();
                     in_doubt += st.code() == errc::in_doubt;
                   },
                   caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no reply"; });
  EXPECT_EQ(in_doubt, 21);
  // The next commit actor writes what comes after.
  ASSERT_TRUE(put(m, spaces::data, "k", "after"));
  EXPECT_EQ(get(m, spaces::data, "k"), std::optional<std::string>{"after"});
}

TEST_F(GroupCommit, ExplicitFlushIsCountedAndAnswered) {
  auto m = start(opts());
  ASSERT_TRUE(put(m, spaces::data, "k", "v"));
  commit_ack ack;
  ASSERT_TRUE(ask(m, flush_request{}, ack));
  EXPECT_GE(ack.seq, 1u);
}

TEST_F(GroupCommit, LatencyHistogramCountsEveryCommand) {
  auto m = start(opts());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(put(m, spaces::metas, "k", std::to_string(i)));
  auto s = stats(m).spaces[spaces::metas];
  uint64_t total = 0;
  for (auto n : s.latency_us) total += n;
  EXPECT_EQ(total, 20u);
  EXPECT_GT(latency_percentile(s.latency_us, 0.99), 0u);
}

}  // namespace
}  // namespace vstore::test
