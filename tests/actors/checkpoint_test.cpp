// The online checkpoint (checkpoint_request): taken under a concurrent write
// load it holds every write acknowledged before it was asked for, and no torn
// multi-space batch; the store keeps serving while it runs; bad directories,
// the memory backend, a second checkpoint and a drain are answered as
// documented. A gate in the backend's checkpoint() holds the checkpoint open
// for as long as a test needs, so nothing depends on timing.

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "actors/checkpoint_worker.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/broken_stores.hpp"

namespace vstore::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Where a gated store's checkpoint() stops until the test opens the gate,
/// and what the test waits for: the checkpoint entered, returned, and the
/// store destroyed.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;
  bool returned = false;
  bool destroyed = false;

  /// Waits up to `timeout` for `flag`; returns whether it was set.
  bool wait(bool gate::*flag, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> g{mtx};
    return cv.wait_for(g, timeout, [&] { return this->*flag; });
  }
  void set(bool gate::*flag) {
    {
      std::lock_guard<std::mutex> g{mtx};
      this->*flag = true;
    }
    cv.notify_all();
  }
};

/// A healthy store whose checkpoint() waits at a gate (at most 30 s) before
/// it writes the real checkpoint.
class gated_store final : public forwarding_store {
 public:
  gated_store(std::shared_ptr<store> inner, std::shared_ptr<gate> g)
      : forwarding_store(std::move(inner)), gate_(std::move(g)) {}
  ~gated_store() override {
    inner_.reset();  // RocksDB is closed before the test hears of it
    gate_->set(&gate::destroyed);
  }
  status checkpoint(const std::string& dir) override {
    gate_->set(&gate::entered);
    gate_->wait(&gate::open, 30s);
    auto st = inner_->checkpoint(dir);
    gate_->set(&gate::returned);
    return st;
  }
  status checkpoint(const std::string& dir, uint64_t& seq) override {
    gate_->set(&gate::entered);
    gate_->wait(&gate::open, 30s);
    auto st = inner_->checkpoint(dir, seq);
    gate_->set(&gate::returned);
    return st;
  }

 private:
  std::shared_ptr<gate> gate_;
};

/// The result of a checkpoint request.
struct checkpoint_result {
  status st;
  checkpoint_reply reply;
};

class Checkpoint : public actor_test {
 protected:
  scratch_dir dir_;

  options rocksdb_options(std::chrono::milliseconds grace = 3000ms) {
    auto o = test_options(backend_kind::rocksdb, dir_.path());
    o.supervisor.shutdown_grace = grace;
    return o;
  }

  /// Starts a manager over a RocksDB store whose checkpoint waits at `g`.
  /// The test keeps no reference to the store: only `weak` watches it.
  manager_actor start_gated(const options& o, const std::shared_ptr<gate>& g,
                            std::weak_ptr<store>* weak = nullptr) {
    std::shared_ptr<store> inner;
    auto st = open_store(o, inner);
    EXPECT_TRUE(st) << st.to_string();
    auto gated = std::make_shared<gated_store>(std::move(inner), g);
    if (weak) *weak = gated;
    return start_over(o, std::move(gated));
  }

  checkpoint_result checkpoint(const manager_actor& m, const std::string& dir) {
    checkpoint_result r;
    r.st = ask(m, checkpoint_request{dir}, r.reply);
    return r;
  }

  /// Sends a checkpoint request from a thread of its own.
  std::future<checkpoint_result> checkpoint_async(const manager_actor& m, std::string dir) {
    return std::async(std::launch::async, [this, m, dir = std::move(dir)] {
      caf::scoped_actor me{sys_};
      checkpoint_result r;
      me->request(m, 60s, checkpoint_request{dir})
          .receive([&](checkpoint_reply& x) { r.reply = std::move(x); },
                   [&](caf::error& e) { r.st = to_status(e); });
      return r;
    });
  }

  /// Asks for the manager's state until it says it is shutting down (a few
  /// round trips at most).
  bool wait_until_draining(const manager_actor& m) {
    for (int i = 0; i < 1000; ++i) {
      status_reply s;
      if (!ask(m, status_request{}, s)) return false;
      if (s.shutting_down) return true;
    }
    return false;
  }

  /// Opens a checkpoint as a store of its own.
  std::shared_ptr<store> open_copy(const std::string& path) {
    auto o = test_options(backend_kind::rocksdb, dir_.path());
    o.db.path = path;
    o.db.create_if_missing = false;
    std::shared_ptr<store> s;
    auto st = open_store(o, s);
    EXPECT_TRUE(st) << st.to_string();
    return s;
  }

  static std::optional<std::string> read(const store& s, space_id space, const std::string& key) {
    std::string v;
    bool found = false;
    auto st = s.get(space, key, v, found);
    EXPECT_TRUE(st) << st.to_string();
    if (!found) return std::nullopt;
    return v;
  }

  /// Lists a directory's entries (names only).
  static std::vector<std::string> entries(const fs::path& p) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator{p}) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// -- the directory check (no CAF) ----------------------------------------------------

TEST(CheckpointDir, NormalizesAbsolutePathsAndRefusesTheRest) {
  std::string out;
  ASSERT_TRUE(normalize_checkpoint_dir("/backup/vstore/", out));
  EXPECT_EQ(out, "/backup/vstore");
  ASSERT_TRUE(normalize_checkpoint_dir("/backup/./x/../vstore", out));
  EXPECT_EQ(out, "/backup/vstore");
  for (const char* bad : {"", "relative", "./x", "../x", "/", "//", "/.."}) {
    auto st = normalize_checkpoint_dir(bad, out);
    EXPECT_FALSE(st) << bad;
    EXPECT_EQ(st.code(), errc::invalid_argument) << bad;
  }
  EXPECT_NE(normalize_checkpoint_dir("relative", out).context().find("absolute"),
            std::string::npos);
}

// -- the manager ---------------------------------------------------------------------

/// Writer threads, each writing batches of two spaces (data and metas, the
/// same key and value) one after the other, with a token; acked[t] counts the
/// acknowledged batches of thread t (batch i is acknowledged after batch i-1).
class write_load {
 public:
  static constexpr int threads = 3;
  static constexpr uint64_t max_batches = 20000;

  write_load(caf::actor_system& sys, manager_actor m) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this, &sys, m, t] { run(sys, m, t); });
  }
  ~write_load() { stop(); }

  static std::string key(int t, uint64_t i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "t%d-%08llu", t, static_cast<unsigned long long>(i));
    return buf;
  }
  static std::string value(int t, uint64_t i) { return "v" + key(t, i); }

  /// The acknowledged batches of every thread now.
  std::vector<uint64_t> acked() const {
    std::vector<uint64_t> out;
    for (const auto& a : acked_) out.push_back(a.load());
    return out;
  }
  /// The highest commit_ack seq seen so far.
  uint64_t max_seq() const { return max_seq_.load(); }

  /// Waits until every thread has `n` more acknowledged batches than in
  /// `from` (bounded by `timeout`, and by the threads' own end).
  bool wait_progress(const std::vector<uint64_t>& from, uint64_t n,
                     std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, timeout, [&] {
      for (int t = 0; t < threads; ++t)
        if (acked_[t].load() < from[static_cast<size_t>(t)] + n) return false;
      return true;
    });
  }

  void stop() {
    stop_ = true;
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  /// Errors the writers got (none expected).
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> g{mtx_};
    return errors_;
  }

 private:
  void run(caf::actor_system& sys, manager_actor m, int t) {
    caf::scoped_actor me{sys};
    const auto deadline = clock_type::now() + 60s;
    for (uint64_t i = 0; i < max_batches && !stop_ && clock_type::now() < deadline; ++i) {
      write_request w;
      w.put(spaces::data, key(t, i), value(t, i)).put(spaces::metas, key(t, i), value(t, i));
      w.token = key(t, i);
      bool ok = false;
      me->request(m, reply_timeout, std::move(w))
          .receive(
              [&](commit_ack& a) {
                ok = true;
                auto cur = max_seq_.load();
                while (a.seq > cur && !max_seq_.compare_exchange_weak(cur, a.seq)) {
                }
              },
              [&](caf::error& e) {
                std::lock_guard<std::mutex> g{mtx_};
                errors_.push_back(key(t, i) + ": " + to_status(e).to_string());
              });
      if (!ok) break;
      {
        std::lock_guard<std::mutex> g{mtx_};
        acked_[t].store(i + 1);
      }
      cv_.notify_all();
    }
    cv_.notify_all();
  }

  std::atomic<bool> stop_{false};
  std::array<std::atomic<uint64_t>, threads> acked_{};
  std::atomic<uint64_t> max_seq_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> errors_;
  std::vector<std::thread> workers_;
};

TEST_F(Checkpoint, UnderWriteLoadHoldsEveryAcknowledgedWriteAndNoTornBatch) {
  auto g = std::make_shared<gate>();
  auto m = start_gated(rocksdb_options(), g);
  const auto target = (dir_.path() / "backup").string();
  write_load load{sys_, m};
  ASSERT_TRUE(load.wait_progress({0, 0, 0}, 50)) << "the writers made no progress";
  // Everything acknowledged now was acknowledged before the request is sent.
  const auto before = load.acked();
  const auto seq_before = load.max_seq();
  const auto t0 = clock_type::now();
  auto pending = checkpoint_async(m, target);
  ASSERT_TRUE(g->wait(&gate::entered)) << "the checkpoint never reached the backend";
  // The checkpoint is running (held at the gate): the store keeps serving.
  const auto at_entry = load.acked();
  EXPECT_TRUE(load.wait_progress(at_entry, 20)) << "no writes acknowledged during the checkpoint";
  EXPECT_EQ(get(m, spaces::data, write_load::key(0, 0)),
            std::optional<std::string>{write_load::value(0, 0)});
  const auto during = load.acked();
  g->set(&gate::open);
  // The real RocksDB checkpoint now runs under the load.
  ASSERT_EQ(pending.wait_for(60s), std::future_status::ready);
  auto r = pending.get();
  const auto elapsed = clock_type::now() - t0;
  ASSERT_TRUE(r.st) << r.st.to_string();
  const auto after = load.acked();
  load.stop();
  EXPECT_TRUE(load.errors().empty()) << load.errors().front();
  EXPECT_EQ(r.reply.dir, target);
  EXPECT_GE(r.reply.sequence, seq_before);
  EXPECT_GT(r.reply.files, 0u);
  EXPECT_GT(r.reply.bytes, 0u);
  EXPECT_EQ(stats(m).checkpoints, 1u);
  uint64_t total_during = 0, total_after = 0;
  for (int t = 0; t < write_load::threads; ++t) {
    total_during += during[static_cast<size_t>(t)] - at_entry[static_cast<size_t>(t)];
    total_after += after[static_cast<size_t>(t)] - at_entry[static_cast<size_t>(t)];
  }
  std::printf(
      "[ measure  ] checkpoint under load: %llu files, %llu bytes, %llu ms on the server, "
      "%lld ms in all; %llu writes acknowledged while it ran (%llu while held at the "
      "gate)\n",
      static_cast<unsigned long long>(r.reply.files),
      static_cast<unsigned long long>(r.reply.bytes),
      static_cast<unsigned long long>(r.reply.elapsed_ms),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
      static_cast<unsigned long long>(total_after), static_cast<unsigned long long>(total_during));

  auto copy = open_copy(target);
  ASSERT_TRUE(copy);
  for (int t = 0; t < write_load::threads; ++t) {
    const auto ts = static_cast<size_t>(t);
    // Each thread wrote its batches one after the other: the copy holds a
    // prefix of them, with both spaces of every batch or neither.
    uint64_t held = 0;
    for (uint64_t i = 0; i <= after[ts]; ++i) {
      auto d = read(*copy, spaces::data, write_load::key(t, i));
      auto x = read(*copy, spaces::metas, write_load::key(t, i));
      ASSERT_EQ(d.has_value(), x.has_value()) << "torn batch " << write_load::key(t, i);
      if (!d) break;
      EXPECT_EQ(*d, write_load::value(t, i));
      EXPECT_EQ(*x, write_load::value(t, i));
      held = i + 1;
    }
    for (uint64_t i = held; i <= after[ts]; ++i) {
      EXPECT_FALSE(read(*copy, spaces::data, write_load::key(t, i)))
          << "a hole before " << write_load::key(t, i);
      EXPECT_FALSE(read(*copy, spaces::metas, write_load::key(t, i)));
    }
    EXPECT_GE(held, before[ts]) << "thread " << t << ": a write acknowledged before the "
                                << "checkpoint was asked for is missing";
  }
  // The live store has everything.
  EXPECT_EQ(get(m, spaces::metas, write_load::key(2, after[2] - 1)),
            std::optional<std::string>{write_load::value(2, after[2] - 1)});
}

TEST_F(Checkpoint, WithoutGateUnderLoadOpensAsStore) {
  auto m = start(rocksdb_options());
  const auto target = (dir_.path() / "plain").string();
  // Some megabytes first, so that the checkpoint has SST files and a
  // memtable to flush.
  std::string pad(1024, ' ');
  std::mt19937 rng{7};
  for (auto& ch : pad) ch = static_cast<char>('a' + rng() % 26);  // not compressible to nothing
  for (int b = 0; b < 40; ++b) {
    write_request w;
    for (int i = 0; i < 100; ++i) w.put(spaces::data, "pre-" + std::to_string(b * 100 + i), pad);
    commit_ack ack;
    ASSERT_TRUE(ask(m, std::move(w), ack));
  }
  flush_request f;
  commit_ack fa;
  ASSERT_TRUE(ask(m, f, fa));
  write_load load{sys_, m};
  ASSERT_TRUE(load.wait_progress({0, 0, 0}, 100));
  const auto before = load.acked();
  auto r = checkpoint(m, target);
  const auto after = load.acked();
  load.stop();
  ASSERT_TRUE(r.st) << r.st.to_string();
  std::printf("[ measure  ] plain checkpoint under load: %llu files, %llu bytes, %llu ms\n",
              static_cast<unsigned long long>(r.reply.files),
              static_cast<unsigned long long>(r.reply.bytes),
              static_cast<unsigned long long>(r.reply.elapsed_ms));
  auto copy = open_copy(target);
  ASSERT_TRUE(copy);
  for (int t = 0; t < write_load::threads; ++t) {
    const auto ts = static_cast<size_t>(t);
    for (uint64_t i = 0; i < before[ts]; ++i)
      ASSERT_TRUE(read(*copy, spaces::data, write_load::key(t, i))) << write_load::key(t, i);
    for (uint64_t i = 0; i <= after[ts]; ++i)
      ASSERT_EQ(read(*copy, spaces::data, write_load::key(t, i)).has_value(),
                read(*copy, spaces::metas, write_load::key(t, i)).has_value())
          << "torn batch " << write_load::key(t, i);
  }
  EXPECT_EQ(read(*copy, spaces::data, "pre-3999"), std::optional<std::string>{pad});
}

TEST_F(Checkpoint, ExistingDirectoryIsRefusedAndUntouched) {
  auto m = start(rocksdb_options());
  ASSERT_TRUE(put(m, spaces::data, "key00001", "v"));
  const auto target = dir_.path() / "exists";
  fs::create_directories(target);
  std::ofstream{target / "keep"} << "mine";
  auto r = checkpoint(m, target.string());
  ASSERT_FALSE(r.st);
  EXPECT_EQ(r.st.code(), errc::invalid_argument) << r.st.to_string();
  EXPECT_NE(r.st.context().find("already exists"), std::string::npos) << r.st.to_string();
  EXPECT_EQ(entries(target), std::vector<std::string>{"keep"});
  std::string text;
  std::ifstream{target / "keep"} >> text;
  EXPECT_EQ(text, "mine");
  EXPECT_FALSE(fs::exists(target.string() + ".tmp"));
  // A trailing slash names the same directory.
  r = checkpoint(m, target.string() + "/");
  EXPECT_EQ(r.st.code(), errc::invalid_argument) << r.st.to_string();
  EXPECT_EQ(entries(target), std::vector<std::string>{"keep"});
  EXPECT_EQ(stats(m).checkpoints, 0u);
}

TEST_F(Checkpoint, RelativePathOrMissingParentIsRefused) {
  auto m = start(rocksdb_options());
  auto r = checkpoint(m, "relative-checkpoint-dir");
  EXPECT_EQ(r.st.code(), errc::invalid_argument) << r.st.to_string();
  EXPECT_NE(r.st.context().find("absolute"), std::string::npos) << r.st.to_string();
  EXPECT_FALSE(fs::exists("relative-checkpoint-dir"));
  r = checkpoint(m, "");
  EXPECT_EQ(r.st.code(), errc::invalid_argument) << r.st.to_string();
  const auto orphan = dir_.path() / "no-such-parent" / "ckpt";
  r = checkpoint(m, orphan.string());
  EXPECT_EQ(r.st.code(), errc::invalid_argument) << r.st.to_string();
  EXPECT_NE(r.st.context().find("parent"), std::string::npos) << r.st.to_string();
  EXPECT_FALSE(fs::exists(orphan.parent_path()));
  // The store is fine and a valid checkpoint still works.
  auto ok = checkpoint(m, (dir_.path() / "fine").string());
  EXPECT_TRUE(ok.st) << ok.st.to_string();
}

TEST_F(Checkpoint, MemoryBackendIsNotSupported) {
  auto m = start(test_options(backend_kind::memory, dir_.path()));
  auto r = checkpoint(m, (dir_.path() / "mem").string());
  EXPECT_EQ(r.st.code(), errc::not_supported) << r.st.to_string();
  EXPECT_FALSE(fs::exists(dir_.path() / "mem"));
}

TEST_F(Checkpoint, SecondConcurrentCheckpointIsRefused) {
  auto g = std::make_shared<gate>();
  auto m = start_gated(rocksdb_options(), g);
  ASSERT_TRUE(put(m, spaces::data, "key00001", "v1"));
  const auto first = (dir_.path() / "first").string();
  auto pending = checkpoint_async(m, first);
  ASSERT_TRUE(g->wait(&gate::entered));
  auto second = checkpoint(m, (dir_.path() / "second").string());
  EXPECT_EQ(second.st.code(), errc::overloaded) << second.st.to_string();
  EXPECT_NE(second.st.context().find("already"), std::string::npos) << second.st.to_string();
  EXPECT_NE(second.st.context().find(first), std::string::npos) << second.st.to_string();
  EXPECT_FALSE(fs::exists(dir_.path() / "second"));
  g->set(&gate::open);
  ASSERT_EQ(pending.wait_for(30s), std::future_status::ready);
  auto r = pending.get();
  ASSERT_TRUE(r.st) << r.st.to_string();
  // Once the first answered, the next one runs.
  auto third = checkpoint(m, (dir_.path() / "third").string());
  EXPECT_TRUE(third.st) << third.st.to_string();
  EXPECT_EQ(stats(m).checkpoints, 2u);
  auto copy = open_copy(first);
  ASSERT_TRUE(copy);
  EXPECT_EQ(read(*copy, spaces::data, "key00001"), std::optional<std::string>{"v1"});
}

TEST_F(Checkpoint, DrainWaitsForTheRunningCheckpoint) {
  auto g = std::make_shared<gate>();
  std::weak_ptr<store> weak;
  auto m = start_gated(rocksdb_options(20000ms), g, &weak);
  ASSERT_TRUE(put(m, spaces::data, "key00001", "v1"));
  const auto target = (dir_.path() / "drained").string();
  auto pending = checkpoint_async(m, target);
  ASSERT_TRUE(g->wait(&gate::entered));
  auto draining = std::async(std::launch::async, [this, m] {
    caf::scoped_actor me{sys_};
    status st;
    me->request(m, 60s, drain_request{})
        .receive([](drain_reply&) {}, [&](caf::error& e) { st = to_status(e); });
    return st;
  });
  ASSERT_TRUE(wait_until_draining(m));
  // Refused while draining.
  auto late = checkpoint(m, (dir_.path() / "late").string());
  EXPECT_EQ(late.st.code(), errc::shutting_down) << late.st.to_string();
  // The drain waits for the checkpoint (its grace period is 20 s).
  EXPECT_EQ(draining.wait_for(300ms), std::future_status::timeout);
  EXPECT_FALSE(weak.expired());
  g->set(&gate::open);
  ASSERT_EQ(pending.wait_for(30s), std::future_status::ready);
  auto r = pending.get();
  ASSERT_TRUE(r.st) << r.st.to_string();
  ASSERT_EQ(draining.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(draining.get());
  // The store closes once the manager and its children are gone.
  ASSERT_TRUE(g->wait(&gate::destroyed));
  auto copy = open_copy(target);
  ASSERT_TRUE(copy);
  EXPECT_EQ(read(*copy, spaces::data, "key00001"), std::optional<std::string>{"v1"});
}

TEST_F(Checkpoint, DrainGraceBoundsTheWaitAndTheStoreStaysOpenUnderTheCheckpoint) {
  auto g = std::make_shared<gate>();
  std::weak_ptr<store> weak;
  auto m = start_gated(rocksdb_options(300ms), g, &weak);
  ASSERT_TRUE(put(m, spaces::data, "key00001", "v1"));
  const auto target = (dir_.path() / "cut").string();
  auto pending = checkpoint_async(m, target);
  ASSERT_TRUE(g->wait(&gate::entered));
  drain_reply d;
  ASSERT_TRUE(ask(m, drain_request{}, d));  // within the 300 ms grace period
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  auto r = pending.get();
  EXPECT_EQ(r.st.code(), errc::shutting_down) << r.st.to_string();
  // The manager is gone, but the worker still holds the store: it is not
  // closed under the running checkpoint.
  EXPECT_FALSE(weak.expired());
  EXPECT_FALSE(fs::exists(target));
  g->set(&gate::open);
  ASSERT_TRUE(g->wait(&gate::returned));
  ASSERT_TRUE(g->wait(&gate::destroyed)) << "the worker did not let go of the store";
  auto copy = open_copy(target);
  ASSERT_TRUE(copy);
  EXPECT_EQ(read(*copy, spaces::data, "key00001"), std::optional<std::string>{"v1"});
}

}  // namespace
}  // namespace vstore::test
