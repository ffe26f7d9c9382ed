// Read replicas end to end (docs/replication.md): vstored processes on
// 127.0.0.1, a primary under vstore-sim's write load and a replica started
// with --follow that bootstraps from the primary's snapshot while the load
// runs, then follows its log. Checks: every space identical once the load
// stops (a digest of every key and value), writes refused with read_only,
// min_seq read-your-writes, a replica SIGKILLed during streaming resumes
// from the sequence it recorded, and a replica keeps serving while its
// primary is down and catches up when it returns. Every wait is bounded in
// count and time; nothing sleeps to synchronise.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/net/subprocess.hpp"
#include "vstore/client.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

#include <caf/all.hpp>

namespace vstore {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::local;
using test::subprocess;
using test::temp_dir;
using test::vstored_process;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string sim_bin = VSTORE_SIM;

std::unique_ptr<client> connect_to(uint16_t port) {
  std::unique_ptr<client> c;
  client::settings cs;
  cs.max_threads = 2;
  auto st = client::connect(local(port), c, cs);
  EXPECT_TRUE(st) << st.to_string();
  return c;
}

status_reply info_of(client& c) {
  status_reply s;
  auto st = c.info(s);
  EXPECT_TRUE(st) << st.to_string();
  return s;
}

/// Every key and value of every space, in order (bounded pages).
std::map<std::string, std::string> dump(client& c) {
  std::map<std::string, std::string> out;
  auto s = info_of(c);
  for (space_id sp = 0; sp < s.spaces.size(); ++sp) {
    scan_request req;
    req.space = sp;
    req.limit = 10000;
    for (int page = 0; page < 100000; ++page) {
      scan_reply r;
      auto st = c.scan(req, r);
      EXPECT_TRUE(st) << st.to_string();
      if (!st) return out;
      for (auto& kv : r.entries) out[s.spaces[sp] + "/" + kv.key] = kv.value;
      if (!r.more || r.entries.empty()) break;
      req.start_after = r.entries.back().key;
    }
  }
  return out;
}

/// Waits (bounded) until the replica has applied the primary's sequence.
bool caught_up(client& replica, uint64_t seq, std::chrono::milliseconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline; ++i) {
    status_reply s;
    if (replica.info(s) && s.replication.replica.applied_seq >= seq) return true;
  }
  return false;
}

/// Waits (bounded) until the primary's sequence passes `seq`.
uint64_t wait_for_sequence(client& c, uint64_t seq, std::chrono::milliseconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t last = 0;
  for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i) {
    status_reply s;
    if (!c.info(s)) return last;
    last = s.sequence;
    if (last >= seq) break;
  }
  return last;
}

/// After a client that wrote to the primary was killed: waits (bounded)
/// until the primary's sequence stops moving with nothing in flight, and the
/// replica has applied through it; returns that sequence (0 on timeout).
/// Writes the killed client had already sent can still commit for a while
/// (they were in vstored's socket or queues), so the sequence read right
/// after the kill is only a lower bound.
uint64_t settled(client& primary, client& replica, std::chrono::milliseconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 10000 && std::chrono::steady_clock::now() < deadline; ++i) {
    auto seq = info_of(primary).sequence;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!caught_up(replica, seq, left)) return 0;
    auto again = info_of(primary);
    if (again.sequence == seq && again.health.writes_in_flight == 0) return seq;
  }
  return 0;
}

TEST(ReplicationNet, ReplicaBootstrappedUnderLoadEndsIdentical) {
  temp_dir dir{"repl"};
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  subprocess sim{{sim_bin, "--connect", primary.endpoint(), "--schedulers", "2", "--batches",
                  "10000000", "--no-progress", "--timeout", "30000"}};
  auto p = connect_to(primary.port());
  ASSERT_TRUE(p);
  ASSERT_GE(wait_for_sequence(*p, 5000), 5000u) << sim.stderr_text();
  vstored_process replica{
      vstored_bin, {"--data-dir", dir / "replica", "--follow", primary.endpoint()}, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  auto r = connect_to(replica.port());
  ASSERT_TRUE(r);
  // It follows while the load goes on.
  auto seq = wait_for_sequence(*p, info_of(*p).sequence + 5000);
  ASSERT_TRUE(caught_up(*r, seq)) << replica.proc().stderr_text();
  auto ri = info_of(*r);
  EXPECT_EQ(ri.replication.role, "replica");
  EXPECT_EQ(ri.replication.replica.primary, primary.endpoint());
  EXPECT_EQ(ri.replication.replica.state, "following");
  EXPECT_GT(ri.replication.replica.batches, 0u);
  auto pi = info_of(*p);
  EXPECT_EQ(pi.replication.role, "primary");
  EXPECT_EQ(pi.replication.snapshots, 1u);
  ASSERT_EQ(pi.replication.replicas.size(), 1u);
  // Writes are refused, naming the primary; nothing is applied.
  write_request w;
  w.ops.push_back(write_op{op_kind::put, 0, "replica-write", "x"});
  commit_ack ack;
  auto ws = r->write(w, ack);
  EXPECT_EQ(ws.code(), errc::read_only) << ws.to_string();
  EXPECT_NE(ws.context().find(primary.endpoint()), std::string::npos) << ws.context();
  // Stop the load; the replica ends with every space identical.
  sim.signal(SIGKILL);
  ASSERT_TRUE(sim.wait(10s));
  auto last = settled(*p, *r);
  ASSERT_NE(last, 0u) << replica.proc().stderr_text();
  auto a = dump(*p);
  auto b = dump(*r);
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "the replica differs from the primary";
  EXPECT_EQ(info_of(*r).replication.replica.applied_seq, last);
  // The snapshot was released on the primary.
  EXPECT_FALSE(fs::exists(fs::path{dir / "primary"} / "replication-snapshots" / "1"));
}

TEST(ReplicationNet, TornStateReaderOnTheReplicaNeverSeesPartOfABatch) {
  temp_dir dir{"repl-torn"};
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  vstored_process replica{
      vstored_bin, {"--data-dir", dir / "replica", "--follow", primary.endpoint()}, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  // The sim writes to the primary; its torn-state reader probes each newest
  // multi-space batch on the replica while the replica applies the log.
  auto r =
      test::run({sim_bin, "--connect", primary.endpoint(), "--torn-reader-at", replica.endpoint(),
                 "--schedulers", "2", "--batches", "2000", "--no-progress"},
                std::nullopt, 180s);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\nVERIFIED\n"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex{"torn reader: +([0-9]+) batches probed: ([0-9]+) consistent, [0-9]+ "
                 "inconclusive, ([0-9]+) torn"}))
      << r.out;
  EXPECT_GT(std::stoull(m[2].str()), 0u) << "no probe was conclusive: " << r.out;
  EXPECT_EQ(m[3].str(), "0") << r.out;
}

TEST(ReplicationNet, MinSeqReadsSeeTheirOwnWrites) {
  temp_dir dir{"repl-minseq"};
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  vstored_process replica{
      vstored_bin, {"--data-dir", dir / "replica", "--follow", primary.endpoint()}, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  auto p = connect_to(primary.port());
  auto r = connect_to(replica.port());
  ASSERT_TRUE(p && r);
  int seen = 0;
  for (int i = 0; i < 200; ++i) {
    write_request w;
    auto key = "rw-" + std::to_string(i);
    w.ops.push_back(write_op{op_kind::put, 0, key, "v" + std::to_string(i)});
    commit_ack ack;
    ASSERT_TRUE(p->write(w, ack));
    multi_get_request mg;
    mg.space = 0;
    mg.keys = {key};
    mg.min_seq = ack.seq;
    multi_get_reply got;
    auto st = r->multi_get(mg, got);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_EQ(got.found.size(), 1u);
    EXPECT_TRUE(got.found[0]) << key << " not visible at sequence " << ack.seq;
    seen += got.found[0] ? 1 : 0;
  }
  EXPECT_EQ(seen, 200);
  // A sequence the primary never reaches: lagging after the wait.
  multi_get_request far;
  far.space = 0;
  far.keys = {"rw-0"};
  far.min_seq = info_of(*p).sequence + 1000000;
  multi_get_reply got;
  EXPECT_EQ(r->multi_get(far, got).code(), errc::lagging);
}

TEST(ReplicationNet, ClientReadsFromTheReplicaAndFallsBackToThePrimary) {
  temp_dir dir{"repl-client"};
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  vstored_process replica{
      vstored_bin, {"--data-dir", dir / "replica", "--follow", primary.endpoint()}, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  auto opts = local(primary.port());
  opts.read_replicas = {replica.endpoint()};
  std::unique_ptr<client> c;
  client::settings cs;
  cs.max_threads = 2;
  ASSERT_TRUE(client::connect(opts, c, cs));
  auto on_replica = connect_to(replica.port());
  ASSERT_TRUE(on_replica);
  // Writes go to the primary; each read of the client's own write is
  // answered (by the replica, once it applied it: read your writes).
  for (int i = 0; i < 100; ++i) {
    write_request w;
    w.ops.push_back(write_op{op_kind::put, 0, "c-" + std::to_string(i), std::to_string(i)});
    commit_ack ack;
    ASSERT_TRUE(c->write(w, ack));
    std::optional<std::string> v;
    ASSERT_TRUE(c->get(0, "c-" + std::to_string(i), v));
    ASSERT_TRUE(v.has_value()) << "c-" << i << " not read back";
    EXPECT_EQ(*v, std::to_string(i));
  }
  // The reads were served by the replica: its reads counter moved.
  stats_reply st;
  ASSERT_TRUE(on_replica->stats(st));
  uint64_t reads = 0;
  for (const auto& sp : st.spaces) reads += sp.reads;
  EXPECT_GE(reads, 100u) << "the replica served " << reads << " reads";
  // The replica dies: reads go to the primary.
  on_replica.reset();
  replica.proc().signal(SIGKILL);
  ASSERT_TRUE(replica.proc().wait(10s));
  std::optional<std::string> v;
  auto gs = c->get(0, "c-99", v);
  ASSERT_TRUE(gs) << gs.to_string();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "99");
}

TEST(ReplicationNet, ConnectManagerRoutesReadsToTheReplica) {
  temp_dir dir{"repl-router"};
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary"}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  vstored_process replica{
      vstored_bin, {"--data-dir", dir / "replica", "--follow", primary.endpoint()}, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  auto opts = local(primary.port());
  opts.read_replicas = {replica.endpoint()};
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  configure_network(cfg, opts);
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  manager_actor router;
  ASSERT_TRUE(connect_manager(sys, opts, router));
  caf::scoped_actor self{sys};
  auto ask_router = [&](auto req, auto& out) {
    status result;
    self->request(router, 20s, std::move(req))
        .receive([&](std::decay_t<decltype(out)>& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  };
  for (int i = 0; i < 50; ++i) {
    write_request w;
    w.ops.push_back(write_op{op_kind::put, 0, "r-" + std::to_string(i), "v"});
    commit_ack ack;
    ASSERT_TRUE(ask_router(w, ack));
    get_reply g;
    ASSERT_TRUE(ask_router(get_request{0, "r-" + std::to_string(i)}, g));
    EXPECT_TRUE(g.found) << i;
  }
  auto on_replica = connect_to(replica.port());
  ASSERT_TRUE(on_replica);
  stats_reply st;
  ASSERT_TRUE(on_replica->stats(st));
  uint64_t reads = 0;
  for (const auto& sp : st.spaces) reads += sp.reads;
  EXPECT_GE(reads, 50u) << "the replica served " << reads << " reads";
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
}

TEST(ReplicationNet, KilledReplicaResumesAndPrimaryOutageIsSurvived) {
  temp_dir dir{"repl-kill"};
  const auto pdir = dir / "primary";
  auto primary =
      std::make_unique<vstored_process>(vstored_bin, std::vector<std::string>{"--data-dir", pdir});
  ASSERT_NE(primary->port(), 0) << primary->proc().stderr_text();
  const auto port = std::to_string(primary->port());
  subprocess sim{{sim_bin, "--connect", primary->endpoint(), "--schedulers", "2", "--batches",
                  "10000000", "--no-progress", "--timeout", "30000"}};
  auto p = connect_to(primary->port());
  ASSERT_TRUE(p);
  ASSERT_GE(wait_for_sequence(*p, 2000), 2000u) << sim.stderr_text();
  const std::vector<std::string> rargs{"--data-dir", dir / "replica", "--follow",
                                       primary->endpoint()};
  uint64_t applied_before = 0;
  for (int round = 0; round < 4; ++round) {
    vstored_process replica{vstored_bin, rargs, 60s};
    ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
    auto r = connect_to(replica.port());
    ASSERT_TRUE(r);
    auto ri = info_of(*r);
    EXPECT_GE(ri.replication.replica.applied_seq, applied_before)
        << "round " << round << ": the replica went back";
    auto target = info_of(*p).sequence + 2000;
    ASSERT_TRUE(caught_up(*r, target)) << replica.proc().stderr_text();
    applied_before = info_of(*r).replication.replica.applied_seq;
    r.reset();
    replica.proc().signal(SIGKILL);
    ASSERT_TRUE(replica.proc().wait(10s));
  }
  // The primary goes away: the replica keeps serving reads and says so.
  vstored_process replica{vstored_bin, rargs, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  auto r = connect_to(replica.port());
  ASSERT_TRUE(r);
  sim.signal(SIGKILL);
  ASSERT_TRUE(sim.wait(10s));
  // Writes the killed sim had sent may still commit on the primary after
  // this (they were in its socket or queues): `last` is a lower bound, and
  // the replica's reads are compared only once the primary is gone.
  auto last = info_of(*p).sequence;
  ASSERT_TRUE(caught_up(*r, last));
  p.reset();
  primary->proc().signal(SIGKILL);
  ASSERT_TRUE(primary->proc().wait(10s));
  primary.reset();
  bool reported = false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline && !reported; ++i)
    reported = info_of(*r).replication.replica.state != "following";
  EXPECT_TRUE(reported) << "the replica did not notice its primary's death";
  // Nothing it had applied is lost, and its reads stay put.
  auto applied = info_of(*r).replication.replica.applied_seq;
  EXPECT_GE(applied, last) << "the replica went back when its primary died";
  auto before = dump(*r);
  EXPECT_FALSE(before.empty());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(dump(*r) == before)
        << "reads changed while the primary was down (pass " << i << ")";
  EXPECT_EQ(info_of(*r).replication.replica.applied_seq, applied);
  // It returns on the same port with more writes: the replica catches up.
  primary = std::make_unique<vstored_process>(
      vstored_bin, std::vector<std::string>{"--data-dir", pdir, "--port", port});
  ASSERT_NE(primary->port(), 0) << primary->proc().stderr_text();
  p = connect_to(primary->port());
  ASSERT_TRUE(p);
  write_request w;
  w.ops.push_back(write_op{op_kind::put, 0, "after-return", "yes"});
  commit_ack ack;
  ASSERT_TRUE(p->write(w, ack));
  ASSERT_TRUE(caught_up(*r, ack.seq)) << replica.proc().stderr_text();
  EXPECT_TRUE(dump(*p) == dump(*r));
  EXPECT_GE(info_of(*r).replication.replica.reconnects, 1u);
}

TEST(ReplicationNet, PromotionMakesAReplicaPrimaryAndFencesTheOldOne) {
  temp_dir dir{"repl-promote"};
  const auto pdir = dir / "primary";
  auto old_primary =
      std::make_unique<vstored_process>(vstored_bin, std::vector<std::string>{"--data-dir", pdir});
  ASSERT_NE(old_primary->port(), 0) << old_primary->proc().stderr_text();
  const auto old_port = std::to_string(old_primary->port());
  const auto old_endpoint = old_primary->endpoint();
  vstored_process a{vstored_bin, {"--data-dir", dir / "a", "--follow", old_endpoint}, 60s};
  vstored_process b{vstored_bin, {"--data-dir", dir / "b", "--follow", old_endpoint}, 60s};
  ASSERT_NE(a.port(), 0) << a.proc().stderr_text();
  ASSERT_NE(b.port(), 0) << b.proc().stderr_text();
  auto p = connect_to(old_primary->port());
  ASSERT_TRUE(p);
  commit_ack ack;
  for (int i = 0; i < 50; ++i) {
    write_request w;
    w.ops.push_back(write_op{op_kind::put, 0, "before-" + std::to_string(i), "1"});
    ASSERT_TRUE(p->write(w, ack));
  }
  auto ca = connect_to(a.port());
  auto cb = connect_to(b.port());
  ASSERT_TRUE(ca && cb);
  ASSERT_TRUE(caught_up(*ca, ack.seq));
  ASSERT_TRUE(caught_up(*cb, ack.seq));
  // A primary refuses a promotion.
  promote_reply pr;
  EXPECT_EQ(p->promote(pr).code(), errc::invalid_argument);
  // The primary dies; replica a is promoted and takes writes.
  p.reset();
  old_primary->proc().signal(SIGKILL);
  ASSERT_TRUE(old_primary->proc().wait(10s));
  old_primary.reset();
  auto ps = ca->promote(pr);
  ASSERT_TRUE(ps) << ps.to_string() << a.proc().stderr_text();
  EXPECT_EQ(pr.epoch, 1u);
  EXPECT_EQ(pr.applied_seq, ack.seq);
  write_request w;
  w.ops.push_back(write_op{op_kind::put, 0, "after", "promoted"});
  auto ws = ca->write(w, ack);
  ASSERT_TRUE(ws) << ws.to_string();
  auto ai = info_of(*ca);
  EXPECT_EQ(ai.replication.role, "primary");
  EXPECT_EQ(ai.replication.epoch, 1u);
  std::optional<std::string> v;
  ASSERT_TRUE(ca->get(0, "before-49", v));
  EXPECT_TRUE(v.has_value()) << "the old history is gone";
  // Replica b (epoch 0) follows the new primary: its sequence numbers mean
  // nothing there, so it is told to re-sync, copies a fresh snapshot of the
  // new primary and follows it at epoch 1.
  cb.reset();
  b.proc().signal(SIGTERM);
  ASSERT_EQ(b.proc().finish(30s), std::optional<int>{0}) << b.proc().stderr_text();
  vstored_process b2{vstored_bin, {"--data-dir", dir / "b", "--follow", a.endpoint()}, 60s};
  ASSERT_NE(b2.port(), 0) << b2.proc().stderr_text();
  std::unique_ptr<client> cb2;
  bool resynced = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline && !resynced; ++i) {
    if (!cb2) cb2 = connect_to(b2.port());
    status_reply s;
    if (cb2 && cb2->info(s))
      resynced = s.replication.replica.resyncs == 1 && s.replication.epoch == 1 &&
                 s.replication.replica.applied_seq >= ack.seq;
  }
  ASSERT_TRUE(resynced) << b2.proc().stderr_text();
  std::optional<std::string> after_v;
  ASSERT_TRUE(cb2->get(0, "after", after_v));
  EXPECT_EQ(after_v, std::optional<std::string>{"promoted"});
  // A fresh replica of the new primary (epoch 1), pointed at the returning
  // old primary, tells it that it was superseded: it refuses writes.
  vstored_process c{vstored_bin, {"--data-dir", dir / "c", "--follow", a.endpoint()}, 60s};
  ASSERT_NE(c.port(), 0) << c.proc().stderr_text();
  {
    auto cc = connect_to(c.port());
    ASSERT_TRUE(cc);
    ASSERT_TRUE(caught_up(*cc, ack.seq));
    EXPECT_EQ(info_of(*cc).replication.epoch, 1u);
  }
  c.proc().signal(SIGTERM);
  ASSERT_EQ(c.proc().finish(30s), std::optional<int>{0}) << c.proc().stderr_text();
  old_primary = std::make_unique<vstored_process>(
      vstored_bin, std::vector<std::string>{"--data-dir", pdir, "--port", old_port});
  ASSERT_NE(old_primary->port(), 0) << old_primary->proc().stderr_text();
  vstored_process c2{vstored_bin, {"--data-dir", dir / "c", "--follow", old_endpoint}, 60s};
  ASSERT_NE(c2.port(), 0) << c2.proc().stderr_text();
  p = connect_to(old_primary->port());
  ASSERT_TRUE(p);
  bool fenced = false;
  const auto deadline2 = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline2 && !fenced; ++i)
    fenced = info_of(*p).replication.superseded_by == 1;
  ASSERT_TRUE(fenced) << old_primary->proc().stderr_text();
  write_request late;
  late.ops.push_back(write_op{op_kind::put, 0, "late", "x"});
  auto ls = p->write(late, ack);
  EXPECT_EQ(ls.code(), errc::read_only) << ls.to_string();
}

TEST(ReplicationNet, RetentionExceededReSyncsFromAFreshSnapshotAndConverges) {
  temp_dir dir{"repl-retention"};
  // No WAL retention: a flushed WAL file is deleted at once.
  const auto ini = dir / "vstore.ini";
  {
    std::ofstream f{ini};
    f << "[replication]\nwal-keep-age = 0s\nwal-keep-size = 0\n";
  }
  vstored_process primary{vstored_bin, {"--data-dir", dir / "primary", "--config-file", ini}};
  ASSERT_NE(primary.port(), 0) << primary.proc().stderr_text();
  auto p = connect_to(primary.port());
  ASSERT_TRUE(p);
  commit_ack ack;
  write_request w;
  w.ops.push_back(write_op{op_kind::put, 0, "first", "1"});
  ASSERT_TRUE(p->write(w, ack));
  const std::vector<std::string> rargs{"--data-dir", dir / "replica", "--follow",
                                       primary.endpoint()};
  {
    vstored_process replica{vstored_bin, rargs, 60s};
    ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
    auto r = connect_to(replica.port());
    ASSERT_TRUE(r && caught_up(*r, ack.seq));
    r.reset();
    replica.proc().signal(SIGTERM);
    ASSERT_EQ(replica.proc().finish(30s), std::optional<int>{0});
  }
  // While the replica is away the primary writes and flushes (a checkpoint
  // flushes the memtables): the WAL the replica needs is gone.
  for (int i = 0; i < 200; ++i) {
    write_request more;
    more.ops.push_back(write_op{op_kind::put, 0, "away-" + std::to_string(i), "x"});
    ASSERT_TRUE(p->write(more, ack));
  }
  checkpoint_reply cr;
  ASSERT_TRUE(p->checkpoint(fs::path{dir / "flush-ckpt"}.string(), cr));
  for (int i = 0; i < 10; ++i) {
    write_request more;
    more.ops.push_back(write_op{op_kind::put, 0, "after-flush-" + std::to_string(i), "y"});
    ASSERT_TRUE(p->write(more, ack));
  }
  // The replica returns: the primary no longer holds its log, so it copies a
  // fresh snapshot beside its data directory and switches to it.
  vstored_process replica{vstored_bin, rargs, 60s};
  ASSERT_NE(replica.port(), 0) << replica.proc().stderr_text();
  std::unique_ptr<client> r;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool resynced = false;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline && !resynced; ++i) {
    if (!r) r = connect_to(replica.port());
    status_reply s;
    if (r && r->info(s))
      resynced = s.replication.replica.resyncs == 1 && s.replication.replica.applied_seq >= ack.seq;
  }
  ASSERT_TRUE(resynced) << replica.proc().stderr_text();
  EXPECT_TRUE(dump(*p) == dump(*r));
  EXPECT_EQ(info_of(*r).replication.replica.state, "following");
  EXPECT_FALSE(fs::exists(fs::path{dir / "replica"}.string() + ".resync"));
  EXPECT_FALSE(fs::exists(fs::path{dir / "replica"}.string() + ".old"));
  // It goes on following.
  write_request later;
  later.ops.push_back(write_op{op_kind::put, 0, "later", "z"});
  ASSERT_TRUE(p->write(later, ack));
  ASSERT_TRUE(caught_up(*r, ack.seq));
}

}  // namespace
}  // namespace vstore
