// Linearizability over the network (design §3, rules 1, 3, 7, 10 and 12; the
// network variant of history_test.cpp): several client threads, each with its
// own blocking vstore::client, read, write and write two spaces at once on a
// few keys of a vstored (RocksDB, [store] sync = true) that is SIGKILLed and
// restarted on the same data directory and port several times during the run.
// Every operation is recorded (invocation, completion, ok / failed / unknown;
// write_retries = 0, so a write cut off by a kill stays in doubt) and, after a
// clean restart and a final read of every register, each key's history in each
// space is checked for linearizability (tests/support/history.hpp). Then the
// same real history is made non-linearizable on purpose (in-doubt writes that
// a read saw are relabelled "not applied") and the checker must say so.
//
// Figures are printed as "[ measure  ]" lines. The run is bounded in
// operations and time; nothing sleeps to synchronise (the clients wait for the
// restarted server on a condition variable, the test waits for vstored's
// "listening" line).

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/net/subprocess.hpp"
#include "tests/support/history.hpp"
#include "vstore/client.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

const std::string vstored_bin = VSTORE_VSTORED;

/// The shape of a run.
struct workload {
  int clients = 4;
  int ops_per_client = 300;
  int keys = 8;
  /// SIGKILLs of vstored, spread evenly over the run's operations.
  int kills = 3;
  /// Clients stop early past this (the run stays bounded on a slow machine).
  std::chrono::seconds max_time{20};
};

/// What a run did.
struct run_counts {
  std::atomic<int> reads_ok{0}, reads_failed{0};
  std::atomic<int> writes_ok{0}, writes_failed{0}, writes_unknown{0};
  std::atomic<int> multi_space{0};
  std::atomic<int> ops{0};
  int kills = 0;
  int port_changes = 0;
};

/// The spaces a client uses: a read of either is a read of that space's
/// register, and a multi-space write writes both registers at once.
constexpr space_id used_spaces[] = {spaces::data, spaces::metas};

std::string space_name(space_id s) { return s == spaces::data ? "data" : "metas"; }
std::string register_of(space_id s, const std::string& key) { return space_name(s) + "/" + key; }
std::string key_of(int k) { return "k" + std::to_string(k); }

/// Where the server is, shared by the clients and the thread that kills it.
/// `up` turns false before each SIGKILL and true once the restarted vstored
/// listens; a client whose call failed waits for it before its next call.
struct server_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool up = true;
  bool stop = false;
  uint16_t port = 0;
};

client::settings client_settings() {
  client::settings s;
  s.timeout = 5s;
  s.max_threads = 2;
  s.write_retries = 0;  // an in-doubt write is recorded as unknown
  return s;
}

/// One client: a fixed random mix of reads (either space), single-space
/// writes and multi-space writes (the same key and value in both spaces),
/// each write with a value unique in the run and its own token.
void run_client(int id, const workload& w, server_state& srv, history& h, run_counts& counts,
                clock_type::time_point deadline) {
  std::mt19937 rng{static_cast<uint32_t>(7919 * id + 17)};
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>{0, n - 1}(rng); };
  std::unique_ptr<client> c;
  uint16_t c_port = 0;
  // Waits until the server is up (or the run stops); returns its port, or 0.
  auto wait_up = [&]() -> uint16_t {
    std::unique_lock<std::mutex> guard{srv.mtx};
    srv.cv.wait_until(guard, deadline, [&] { return srv.up || srv.stop; });
    return srv.up && !srv.stop ? srv.port : 0;
  };
  for (int n = 0; n < w.ops_per_client && clock_type::now() < deadline;) {
    auto port = wait_up();
    if (port == 0) break;
    if (!c || c_port != port) {
      // First call, or the server came back on another port: a new client.
      c.reset();
      if (!client::connect(local(port), c, client_settings())) {
        // Refused: the server was killed meanwhile; wait for its restart.
        std::unique_lock<std::mutex> guard{srv.mtx};
        srv.cv.wait_until(guard, deadline, [&] { return !srv.up || srv.stop; });
        continue;
      }
      c_port = port;
    }
    auto key = key_of(pick(w.keys));
    auto dice = pick(10);
    bool failed = false;
    if (dice < 5) {
      auto s = used_spaces[pick(2)];
      history_op op{id, register_of(s, key), register_op::read, {}, h.tick(), 0, op_result::ok};
      std::optional<std::string> value;
      auto st = c->get(s, key, value);
      op.completed = h.tick();
      if (st) {
        op.value = std::move(value);
        ++counts.reads_ok;
      } else {
        op.result = op_result::failed;  // constrains nothing
        ++counts.reads_failed;
        failed = true;
      }
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
      req.token = "hist-net-" + value;
      if (targets.size() > 1) ++counts.multi_space;
      commit_ack ack;
      auto invoked = h.tick();
      auto st = c->write(std::move(req), ack);
      auto completed = h.tick();
      auto result = op_result::ok;
      if (st) {
        ++counts.writes_ok;
      } else {
        result = write_result_of(st.code());
        ++(result == op_result::failed ? counts.writes_failed : counts.writes_unknown);
        failed = true;
      }
      for (auto s : targets)
        h.add(history_op{id, register_of(s, key), register_op::write, value, invoked, completed,
                         result});
    }
    ++n;
    {
      std::lock_guard<std::mutex> guard{srv.mtx};
      ++counts.ops;
    }
    srv.cv.notify_all();
    if (failed) {
      // Most likely the server is being killed: wait for it to come back
      // (at once if it is up), so that a down server costs one op per client.
      std::unique_lock<std::mutex> guard{srv.mtx};
      srv.cv.wait_until(guard, deadline, [&] { return srv.up || srv.stop; });
    }
  }
}

/// Writes `text` to the file `path` (a vstored --config file).
bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f{path};
  f << text;
  return f.good();
}

/// Starts vstored on `args`, on `port` if it can (else on any port).
std::unique_ptr<vstored_process> start_vstored(const std::vector<std::string>& args,
                                               uint16_t port) {
  auto a = args;
  a.insert(a.end(), {"--port", std::to_string(port)});
  auto p = std::make_unique<vstored_process>(vstored_bin, a);
  if (p->port() != 0 || port == 0) return p;
  std::cerr << "vstored did not listen on port " << port
            << ", trying any port: " << p->proc().stderr_text() << "\n";
  p.reset();
  return std::make_unique<vstored_process>(vstored_bin, args);
}

TEST(HistoryNet, ClientsOfAKilledAndRestartedVstoredAreLinearizable) {
  auto t0 = clock_type::now();
  workload w;
  run_counts counts;
  temp_dir dir{"history-net"};
  ASSERT_TRUE(write_file(dir / "vstore.ini", "[store]\nsync = true\n"));
  const std::vector<std::string> args{"--config", dir / "vstore.ini", "--data-dir", dir / "db"};
  auto proc = start_vstored(args, 0);
  ASSERT_NE(proc->port(), 0) << proc->proc().stderr_text();

  server_state srv;
  srv.port = proc->port();
  history h;
  auto deadline = clock_type::now() + w.max_time;
  std::vector<std::thread> threads;
  for (int c = 0; c < w.clients; ++c)
    threads.emplace_back([&, c] { run_client(c + 1, w, srv, h, counts, deadline); });

  // Kill after every total / (kills + 1) operations; restart on the same
  // directory and port. A failure stops the clients before it is reported.
  const int total = w.clients * w.ops_per_client;
  std::string failure;
  for (int k = 1; k <= w.kills && failure.empty(); ++k) {
    {
      std::unique_lock<std::mutex> guard{srv.mtx};
      if (!srv.cv.wait_until(guard, deadline,
                             [&] { return counts.ops >= k * total / (w.kills + 1); })) {
        failure = "kill " + std::to_string(k) + " not reached in time (" +
                  std::to_string(counts.ops) + " ops)";
        break;
      }
      srv.up = false;
    }
    proc->proc().signal(SIGKILL);
    auto rc = proc->proc().wait(10s);
    if (rc != std::optional<int>{128 + SIGKILL}) {
      failure = "vstored did not die of SIGKILL";
      break;
    }
    auto old_port = proc->port();
    proc.reset();
    proc = start_vstored(args, old_port);
    if (proc->port() == 0) {
      failure = "vstored did not restart: " + proc->proc().stderr_text();
      break;
    }
    ++counts.kills;
    if (proc->port() != old_port) ++counts.port_changes;
    {
      std::lock_guard<std::mutex> guard{srv.mtx};
      srv.port = proc->port();
      srv.up = true;
    }
    srv.cv.notify_all();
  }
  if (!failure.empty()) {
    {
      std::lock_guard<std::mutex> guard{srv.mtx};
      srv.stop = true;
    }
    srv.cv.notify_all();
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(failure.empty()) << failure;
  auto run_ms = ms_since(t0);

  // A clean stop and restart, then a final read of every register.
  proc->proc().signal(SIGTERM);
  EXPECT_EQ(proc->proc().wait(20s), std::optional<int>{0}) << proc->proc().stderr_text();
  auto old_port = proc->port();
  proc.reset();
  proc = start_vstored(args, old_port);
  ASSERT_NE(proc->port(), 0) << proc->proc().stderr_text();
  std::unique_ptr<client> reader;
  auto st = client::connect(local(proc->port()), reader, client_settings());
  ASSERT_TRUE(st) << st.to_string();
  for (int k = 0; k < w.keys; ++k)
    for (auto s : used_spaces) {
      history_op op{
          0, register_of(s, key_of(k)), register_op::read, {}, h.tick(), 0, op_result::ok};
      std::optional<std::string> value;
      auto rst = reader->get(s, key_of(k), value);
      ASSERT_TRUE(rst) << op.key << ": " << rst.to_string();
      op.value = std::move(value);
      op.completed = h.tick();
      h.add(std::move(op));
    }
  reader.reset();

  auto ops = h.ops();
  auto t_check = clock_type::now();
  auto res = check_history(ops);
  auto check_ms = ms_since(t_check);
  EXPECT_EQ(res.result, verdict::ok) << res.to_string();
  EXPECT_EQ(res.keys.size(), static_cast<size_t>(2 * w.keys));
  for (auto& k : res.keys) EXPECT_LE(k.ops, check_limits{}.max_ops_per_key) << k.key;
  EXPECT_EQ(counts.kills, w.kills);
  EXPECT_EQ(counts.ops, total) << "the run stopped at its time bound";
  EXPECT_GT(counts.writes_unknown, 0) << "no write was cut off by a kill";

  // Which writes a read saw (values are unique, so a value names its write).
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& o : ops)
    if (o.kind == register_op::read && o.result == op_result::ok && o.value)
      seen.emplace(o.key, *o.value);
  auto was_read = [&seen](const history_op& o) {
    return o.kind == register_op::write && o.value && seen.count({o.key, *o.value}) > 0;
  };
  int unknown_read = 0;
  auto lied = ops;
  for (auto& o : lied)
    if (o.result == op_result::unknown && was_read(o)) {
      o.result = op_result::failed;
      ++unknown_read;
    }
  if (unknown_read == 0) {
    // No in-doubt write was seen: relabel an acknowledged write a read saw.
    auto it = std::find_if(lied.begin(), lied.end(), [&](const history_op& o) {
      return o.result == op_result::ok && was_read(o);
    });
    ASSERT_NE(it, lied.end()) << "no read saw any write";
    it->result = op_result::failed;
  }
  auto caught = check_history(lied);
  EXPECT_EQ(caught.result, verdict::violation) << caught.to_string();

  size_t most_ops = 0;
  for (auto& k : res.keys) most_ops = std::max(most_ops, k.ops);
  std::cout << "[ measure  ] history over the network (rocksdb, sync on): " << w.clients
            << " clients, " << counts.ops << " ops in " << run_ms << " ms with " << counts.kills
            << " SIGKILLs of vstored (" << counts.port_changes << " restarts on another port); "
            << "reads " << counts.reads_ok << " ok, " << counts.reads_failed << " failed; writes "
            << counts.writes_ok << " ok, " << counts.writes_failed << " failed, "
            << counts.writes_unknown << " unknown (" << counts.multi_space << " multi-space); "
            << unknown_read << " unknown register writes later read; " << res.keys.size()
            << " registers, at most " << most_ops << " ops and " << res.max_steps
            << " search steps per key, checked in " << check_ms << " ms: " << to_name(res.result)
            << "; total " << ms_since(t0) << " ms\n";
  std::cout << "[ measure  ] the same history with "
            << (unknown_read > 0 ? "the in-doubt writes a read saw" : "one acknowledged write")
            << " answered \"not applied\": " << caught.to_string().substr(0, 300) << "\n";
}

}  // namespace
}  // namespace vstore::test
