// The commit gate (actors/commit_gate.hpp), plain C++ without CAF: a write of
// an era that has ended never runs, the current era's writes run, and opening
// an era waits for a write already running.
// Threads meet on condition variables with bounded waits; nothing sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/commit_gate.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;

/// How long a thread waits for an event that must happen (a test that hangs
/// fails instead).
constexpr auto must_happen = 10s;

/// How long a thread waits for an event that must NOT happen while the gate
/// holds it off: long enough for a waiting thread to run into the gate.
constexpr auto must_not_happen = 200ms;

/// A one-shot event with a bounded wait.
class event {
 public:
  void set() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      set_ = true;
    }
    cv_.notify_all();
  }
  /// Returns whether the event was set within `d`.
  bool wait_for(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, d, [&] { return set_; });
  }
  bool is_set() {
    std::lock_guard<std::mutex> g{mtx_};
    return set_;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool set_ = false;
};

/// The order in which things happened, across threads.
class journal {
 public:
  void add(std::string what) {
    std::lock_guard<std::mutex> g{mtx_};
    entries_.push_back(std::move(what));
  }
  std::vector<std::string> entries() {
    std::lock_guard<std::mutex> g{mtx_};
    return entries_;
  }

 private:
  std::mutex mtx_;
  std::vector<std::string> entries_;
};

using strings = std::vector<std::string>;

TEST(CommitGate, CurrentEraRuns) {
  commit_gate gate;
  auto era = gate.open_era();
  int runs = 0;
  EXPECT_TRUE(gate.run(era, [&] { ++runs; }));
  EXPECT_TRUE(gate.run(era, [&] { ++runs; }));
  EXPECT_EQ(runs, 2);
}

TEST(CommitGate, EachOpenedEraIsNewer) {
  commit_gate gate;
  auto a = gate.open_era();
  auto b = gate.open_era();
  auto c = gate.open_era();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(CommitGate, EarlierEraNeverRunsOnceANewEraOpened) {
  commit_gate gate;
  auto old_era = gate.open_era();
  bool old_ran = false;
  ASSERT_TRUE(gate.run(old_era, [] {}));
  auto new_era = gate.open_era();
  EXPECT_FALSE(gate.run(old_era, [&] { old_ran = true; }));
  EXPECT_FALSE(old_ran);
  bool new_ran = false;
  EXPECT_TRUE(gate.run(new_era, [&] { new_ran = true; }));
  EXPECT_TRUE(new_ran);
  // Still dropped later, after the new era has written: the dead actor's
  // round must never land after the new actor's writes.
  EXPECT_FALSE(gate.run(old_era, [&] { old_ran = true; }));
  EXPECT_FALSE(old_ran);
}

// A write handed to another thread (the I/O thread) before the era changed,
// and started only after it: dropped.
TEST(CommitGate, WriteHandedToAnotherThreadIsDroppedIfANewEraOpensFirst) {
  commit_gate gate;
  auto era = gate.open_era();
  event handed;
  event era_changed;
  bool ran = false;
  bool accepted = true;
  std::thread io{[&] {
    handed.set();
    ASSERT_TRUE(era_changed.wait_for(must_happen));
    accepted = gate.run(era, [&] { ran = true; });
  }};
  ASSERT_TRUE(handed.wait_for(must_happen));
  gate.open_era();
  era_changed.set();
  io.join();
  EXPECT_FALSE(accepted);
  EXPECT_FALSE(ran);
}

// Era 1's write runs on thread A and holds the gate; a new commit actor
// opens era 2 on thread B: open_era returns only after A's write has ended
// (the new actor reads the token records after it, so they include A's
// round). Without the wait the journal would show "era 2 opened" before
// "A ends".
TEST(CommitGate, OpeningAnEraWaitsForTheRunningWrite) {
  commit_gate gate;
  journal log;
  event a_running;
  event b_about_to_open;
  event b_opened;
  auto era1 = gate.open_era();
  bool a_ok = false;
  std::thread a{[&] {
    a_ok = gate.run(era1, [&] {
      log.add("A starts");
      a_running.set();
      // Hold the gate while B runs into it (B must not get through: this
      // wait ends by its bound, not by B).
      ASSERT_TRUE(b_about_to_open.wait_for(must_happen));
      EXPECT_FALSE(b_opened.wait_for(must_not_happen));
      log.add("A ends");
    });
  }};
  ASSERT_TRUE(a_running.wait_for(must_happen));
  uint64_t era2 = 0;
  std::thread b{[&] {
    b_about_to_open.set();
    era2 = gate.open_era();
    log.add("era 2 opened");
    b_opened.set();
  }};
  a.join();
  b.join();
  EXPECT_TRUE(a_ok);  // already running when era 2 was asked for: it finishes
  EXPECT_TRUE(gate.run(era2, [&] { log.add("era 2 writes"); }));
  EXPECT_FALSE(gate.run(era1, [&] { log.add("era 1 writes again"); }));
  EXPECT_EQ(log.entries(), (strings{"A starts", "A ends", "era 2 opened", "era 2 writes"}));
}

// Era 1 has a write running (A) and a second one waiting for the gate (C)
// when era 2 is asked for: whichever of C and open_era gets the gate first,
// C never runs after open_era has returned (it ran before, or never).
TEST(CommitGate, WriteWaitingBehindARunningOneNeverRunsAfterANewEraOpened) {
  commit_gate gate;
  journal log;
  event a_running;
  event release_a;
  event c_about_to_run;
  event b_about_to_open;
  auto era1 = gate.open_era();
  std::thread a{[&] {
    gate.run(era1, [&] {
      log.add("A starts");
      a_running.set();
      ASSERT_TRUE(release_a.wait_for(must_happen));
      log.add("A ends");
    });
  }};
  ASSERT_TRUE(a_running.wait_for(must_happen));
  bool c_ok = false;
  std::thread c{[&] {
    c_about_to_run.set();
    c_ok = gate.run(era1, [&] { log.add("C runs"); });
  }};
  ASSERT_TRUE(c_about_to_run.wait_for(must_happen));
  uint64_t era2 = 0;
  std::thread b{[&] {
    b_about_to_open.set();
    era2 = gate.open_era();
    log.add("era 2 opened");
  }};
  ASSERT_TRUE(b_about_to_open.wait_for(must_happen));
  release_a.set();
  a.join();
  c.join();
  b.join();
  EXPECT_TRUE(gate.run(era2, [&] { log.add("era 2 writes"); }));
  auto entries = log.entries();
  auto at = [&](const char* what) {
    return std::find(entries.begin(), entries.end(), what) - entries.begin();
  };
  ASSERT_EQ(entries.front(), "A starts");
  EXPECT_LT(at("A ends"), at("era 2 opened"));
  if (c_ok)
    EXPECT_LT(at("C runs"), at("era 2 opened"));
  else
    EXPECT_EQ(std::count(entries.begin(), entries.end(), "C runs"), 0);
  EXPECT_EQ(entries.back(), "era 2 writes");
}

// Many threads, each writing with the era it saw last, while one of them
// opens new eras: no write of an era runs after a write of a later era.
TEST(CommitGate, NoWriteOfAnEarlierEraLandsAfterALaterOne) {
  commit_gate gate;
  constexpr int threads = 4;
  constexpr int writes_per_thread = 2000;
  std::atomic<uint64_t> latest{gate.open_era()};
  std::mutex mtx;
  uint64_t highest = 0;
  int out_of_order = 0;
  int ran = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      uint64_t era = latest.load();
      for (int i = 0; i < writes_per_thread; ++i) {
        if (t == 0 && i % 50 == 0) latest.store(era = gate.open_era());
        if (t != 0 && i % 64 == 0) era = latest.load();
        gate.run(era, [&] {
          std::lock_guard<std::mutex> g{mtx};
          if (era < highest) ++out_of_order;
          highest = std::max(highest, era);
          ++ran;
        });
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(out_of_order, 0);
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace vstore
