// Replication inside one process, without the network: a primary manager and
// a replica manager whose follower reaches the primary's handle directly.
// Covers the log shipper, the follower, min_seq reads, read_only writes, a
// drain of a replica while it follows, and promotion; small enough for TSan.

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "actors/storage_manager.hpp"
#include "tests/support/actor_fixture.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using test::actor_test;
using test::reply_timeout;
using test::scratch_dir;
using test::test_options;

class Replication : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<store> primary_store_;
  manager_actor primary_;
  manager_actor replica_;
  std::atomic<int> connects_{0};

  /// Starts the primary with some data, copies a checkpoint of it, and
  /// starts a replica over the copy.
  void SetUp() override {
    auto po = test_options(backend_kind::rocksdb, dir_.path() / "p");
    primary_ = start(po, nullptr, &primary_store_);
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(put(primary_, spaces::data, "k" + std::to_string(i), "v0"));
    uint64_t seq = 0;
    auto copy = (dir_.path() / "r" / "db").string();
    std::filesystem::create_directories(dir_.path() / "r");
    ASSERT_TRUE(primary_store_->checkpoint(copy, seq));
    auto ro = test_options(backend_kind::rocksdb, dir_.path() / "r");
    std::shared_ptr<store> replica_store;
    ASSERT_TRUE(open_store(ro, replica_store));
    ASSERT_TRUE(replica_store->set_applied_log(seq));
    manager_setup setup{ro, std::move(replica_store), nullptr};
    replica_setup r;
    r.primary = "in-process primary";
    r.name = "in-process replica";
    auto p = primary_;
    r.connect = [p, this](caf::actor_system&, manager_actor& out) {
      ++connects_;
      out = p;
      return status{};
    };
    setup.replica = std::move(r);
    ASSERT_TRUE(spawn_manager(sys_, std::move(setup), replica_));
    managers_.push_back(replica_);
  }

  status_reply info(const manager_actor& m) {
    status_reply r;
    auto st = ask(m, status_request{}, r);
    EXPECT_TRUE(st) << st.to_string();
    return r;
  }

  /// Every key and value of every space of `m`.
  std::map<std::string, std::string> dump(const manager_actor& m) {
    std::map<std::string, std::string> out;
    for (space_id sp = 0; sp < default_schema().size(); ++sp) {
      scan_request req;
      req.space = sp;
      req.limit = 1000;
      for (int page = 0; page < 1000; ++page) {
        scan_reply r;
        auto st = ask(m, req, r);
        EXPECT_TRUE(st) << st.to_string();
        if (!st) return out;
        for (auto& kv : r.entries) out[std::to_string(sp) + "/" + kv.key] = kv.value;
        if (!r.more || r.entries.empty()) break;
        req.start_after = r.entries.back().key;
      }
    }
    return out;
  }

  /// Waits (min_seq read, bounded) until the replica applied `seq`.
  bool applied(uint64_t seq) {
    multi_get_request mg;
    mg.space = spaces::data;
    mg.keys = {"k0"};
    mg.min_seq = seq;
    for (int i = 0; i < 20; ++i) {
      multi_get_reply r;
      auto st = ask(replica_, mg, r);
      if (st) return true;
      if (st.code() != errc::lagging) return false;
    }
    return false;
  }
};

TEST_F(Replication, ReplicaFollowsAndEndsIdentical) {
  commit_ack ack;
  for (int i = 0; i < 300; ++i) {
    write_request w;
    w.put(spaces::data, "k" + std::to_string(i % 150), "v" + std::to_string(i));
    w.put(spaces::metas, "m" + std::to_string(i), std::to_string(i));
    if (i % 10 == 0) w.del(spaces::data, "k" + std::to_string(i % 7));
    ASSERT_TRUE(ask(primary_, w, ack));
  }
  ASSERT_TRUE(applied(ack.seq));
  EXPECT_TRUE(dump(primary_) == dump(replica_));
  auto r = info(replica_);
  EXPECT_EQ(r.replication.role, "replica");
  EXPECT_EQ(r.replication.replica.applied_seq, ack.seq);
  EXPECT_EQ(r.replication.replica.state, "following");
  EXPECT_EQ(stats(replica_).replication.replica.applied_seq, ack.seq);
  auto p = info(primary_);
  std::string names;
  for (const auto& x : p.replication.replicas)
    names += "'" + x.node + "' (applied " + std::to_string(x.applied_seq) + ") ";
  ASSERT_EQ(p.replication.replicas.size(), 1u) << names;
  EXPECT_EQ(p.replication.replicas[0].node, "in-process replica");
}

TEST_F(Replication, MinSeqReadsWaitForTheirSequence) {
  for (int i = 0; i < 100; ++i) {
    write_request w;
    w.put(spaces::data, "rw" + std::to_string(i), "x");
    commit_ack ack;
    ASSERT_TRUE(ask(primary_, w, ack));
    get_request g{spaces::data, "rw" + std::to_string(i)};
    g.min_seq = ack.seq;
    get_reply r;
    auto st = ask(replica_, g, r);
    ASSERT_TRUE(st) << st.to_string();
    EXPECT_TRUE(r.found) << i;
  }
  get_request far{spaces::data, "rw0"};
  far.min_seq = info(primary_).sequence + 1000;
  get_reply r;
  EXPECT_EQ(ask(replica_, far, r).code(), errc::lagging);
}

TEST_F(Replication, WritesAreRefusedAndNothingIsApplied) {
  write_request w;
  w.put(spaces::data, "refused", "x");
  commit_ack ack;
  auto st = ask(replica_, w, ack);
  EXPECT_EQ(st.code(), errc::read_only) << st.to_string();
  EXPECT_EQ(write_outcome_of(st.code()), write_outcome::not_applied);
  EXPECT_FALSE(get(replica_, spaces::data, "refused").has_value());
  EXPECT_FALSE(get(primary_, spaces::data, "refused").has_value());
  log_request lr;
  log_reply out;
  EXPECT_EQ(ask(replica_, lr, out).code(), errc::read_only) << "chained replication";
}

TEST_F(Replication, ReplicaDrainsWhileFollowingAndHeldReadsAreAnswered) {
  // A read held for a sequence the primary never reaches, then a drain: the
  // read is answered (shutting_down) and the drain completes.
  get_request g{spaces::data, "k0"};
  g.min_seq = info(primary_).sequence + 1000;
  caf::scoped_actor reader{sys_};
  reader->send(replica_, g);
  drain_reply d;
  auto st = ask(replica_, drain_request{}, d);
  EXPECT_TRUE(st) << st.to_string();
  bool answered = false;
  reader->receive([&](get_reply&) { answered = true; },
                  [&](caf::error& e) { answered = to_status(e).code() == errc::shutting_down; },
                  caf::after(reply_timeout) >> [] {});
  EXPECT_TRUE(answered) << "the held read got no answer";
}

TEST_F(Replication, PromotionTakesWritesAtTheNextEpoch) {
  commit_ack ack;
  write_request w;
  w.put(spaces::data, "before", "1");
  ASSERT_TRUE(ask(primary_, w, ack));
  ASSERT_TRUE(applied(ack.seq));
  promote_reply pr;
  EXPECT_EQ(ask(primary_, promote_request{}, pr).code(), errc::invalid_argument);
  ASSERT_TRUE(ask(replica_, promote_request{}, pr));
  EXPECT_EQ(pr.epoch, 1u);
  EXPECT_EQ(pr.applied_seq, ack.seq);
  write_request after;
  after.put(spaces::data, "after", "2");
  auto st = ask(replica_, after, ack);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(get(replica_, spaces::data, "before"), std::optional<std::string>{"1"});
  EXPECT_EQ(info(replica_).replication.epoch, 1u);
  // The old primary, asked by a replica of epoch 1, learns it was superseded.
  log_request lr;
  lr.epoch = 1;
  log_reply out;
  EXPECT_EQ(ask(primary_, lr, out).code(), errc::read_only);
  write_request late;
  late.put(spaces::data, "late", "x");
  EXPECT_EQ(ask(primary_, late, ack).code(), errc::read_only);
}

}  // namespace
}  // namespace vstore
