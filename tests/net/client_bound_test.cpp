// Every blocking-client call returns within its own timeout plus a small margin
// (client.hpp), reconnect and write retries included: vstored is frozen
// (SIGSTOP: its socket stays open and nothing answers) for longer than three
// call timeouts while each kind of call is measured, then thawed, and the
// client works again. The test itself includes no CAF header.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/net/subprocess.hpp"
#include "vstore/client.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::local;
using test::ms_since;
using test::vstored_process;
using clock_type = std::chrono::steady_clock;

const std::string vstored_bin = VSTORE_VSTORED;

/// The call timeout of the test's client (small, so that the test is fast),
/// and the margin client.hpp documents.
constexpr milliseconds call_timeout = 1000ms;
constexpr milliseconds margin = 100ms;

client::settings bounded_settings() {
  client::settings s;
  s.timeout = call_timeout;
  s.max_threads = 2;
  s.write_retries = 3;  // the default: retries must stay inside the timeout too
  return s;
}

/// Freezes a vstored for longer than three call timeouts, measures every
/// kind of call meanwhile, thaws it and checks that the client works again.
/// `connect_timeout` is also how soon the client notices the frozen server
/// (CAF's connection timeout, checked at each heartbeat tick).
void check_calls_bounded(milliseconds connect_timeout, milliseconds heartbeat = 200ms) {
  vstored_process srv{vstored_bin, {"--memory"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  auto r = local(srv.port(), connect_timeout);
  r.heartbeat_interval = heartbeat;
  std::unique_ptr<client> c;
  {
    auto st = client::connect(r, c, bounded_settings());
    ASSERT_TRUE(st) << st.to_string();
  }
  {
    write_request w;
    w.put(spaces::data, "k", "v");
    commit_ack ack;
    auto st = c->write(std::move(w), ack);
    ASSERT_TRUE(st) << st.to_string();
    std::optional<std::string> v;
    st = c->get(spaces::data, "k", v);
    ASSERT_TRUE(st) << st.to_string();
    ASSERT_EQ(v, std::optional<std::string>{"v"});
  }
  const auto not_before = c->known_sequence();
  const std::string token = "client-bound-token-1";

  // One entry per kind of call; `write` says whether it is a write (then any
  // error must leave its outcome open, never "not applied").
  struct kind {
    const char* name;
    bool write;
    std::function<status()> run;
  };
  std::vector<kind> kinds{
      {"write (token)", true,
       [&] {
         write_request w;
         w.token = token;
         w.put(spaces::data, "frozen", "x");
         commit_ack ack;
         return c->write(std::move(w), ack);
       }},
      {"get", false,
       [&] {
         std::optional<std::string> v;
         return c->get(spaces::data, "k", v);
       }},
      {"scan", false,
       [&] {
         scan_request q;
         q.space = spaces::data;
         scan_reply out;
         return c->scan(std::move(q), out);
       }},
      {"stats", false,
       [&] {
         stats_reply out;
         return c->stats(out);
       }},
      {"outcome", false,
       [&] {
         outcome_reply out;
         return c->outcome(token, out, not_before);
       }},
      {"multi_get", false,
       [&] {
         multi_get_reply out;
         return c->multi_get(spaces::data, {"k", "frozen"}, out);
       }},
      {"flush", false,
       [&] {
         commit_ack out;
         return c->flush(out);
       }},
      {"info", false,
       [&] {
         status_reply out;
         return c->info(out);
       }},
  };

  ASSERT_TRUE(srv.proc().freeze());
  const auto t_freeze = clock_type::now();
  const auto bound = call_timeout.count() + margin.count();
  // Every kind once (the first, a write, finds the connection up; the later
  // ones reconnect once it is known to be dead), and on until the server has
  // been frozen for three call timeouts.
  long worst = 0;
  size_t calls = 0;
  for (size_t i = 0; calls < kinds.size() || clock_type::now() - t_freeze < 3 * call_timeout;
       ++i, ++calls) {
    ASSERT_LT(calls, 100u);
    const auto& k = kinds[i % kinds.size()];
    auto t0 = clock_type::now();
    auto st = k.run();
    auto ms = ms_since(t0);
    worst = std::max(worst, ms);
    std::cout << "[ measure  ] frozen server: " << k.name << " returned "
              << (st ? std::string{"ok"} : std::string{to_string(st.code())}) << " after " << ms
              << " ms (timeout " << call_timeout.count() << " ms, bound " << bound << " ms)\n";
    EXPECT_FALSE(st) << k.name << " succeeded against a frozen server";
    EXPECT_TRUE(st.code() == errc::timeout || st.code() == errc::disconnected ||
                (k.write && st.code() == errc::in_doubt))
        << k.name << ": " << st.to_string();
    if (k.write) {
      EXPECT_EQ(write_outcome_of(st.code()), write_outcome::maybe) << st.to_string();
    }
    EXPECT_LE(ms, bound) << k.name << ": " << st.to_string();
  }
  // Calls from several threads are serialised, but the wait for another
  // call counts against each call's own timeout.
  {
    constexpr size_t callers = 3;
    std::vector<std::future<std::pair<status, long>>> futures;
    for (size_t i = 0; i < callers; ++i)
      futures.push_back(std::async(std::launch::async, [&, i] {
        auto t0 = clock_type::now();
        auto st = kinds[i].run();
        return std::make_pair(st, ms_since(t0));
      }));
    for (size_t i = 0; i < callers; ++i) {
      auto [st, ms] = futures[i].get();
      std::cout << "[ measure  ] frozen server, " << callers << " threads: " << kinds[i].name
                << " returned " << (st ? std::string{"ok"} : std::string{to_string(st.code())})
                << " after " << ms << " ms\n";
      EXPECT_FALSE(st) << kinds[i].name;
      EXPECT_LE(ms, bound) << kinds[i].name << ": " << st.to_string();
      ++calls;
    }
  }
  // connect() itself is bounded by connect_timeout.
  {
    std::unique_ptr<client> c2;
    auto t0 = clock_type::now();
    auto st = client::connect(r, c2, bounded_settings());
    auto ms = ms_since(t0);
    std::cout << "[ measure  ] frozen server: connect returned "
              << (st ? std::string{"ok"} : std::string{to_string(st.code())}) << " after " << ms
              << " ms (connect timeout " << connect_timeout.count() << " ms)\n";
    EXPECT_EQ(st.code(), errc::disconnected) << st.to_string();
    EXPECT_LE(ms, connect_timeout.count() + margin.count());
  }
  const auto frozen_ms = ms_since(t_freeze);
  std::cout << "[ measure  ] " << calls << " calls while frozen for " << frozen_ms
            << " ms; slowest " << worst << " ms (bound " << bound << " ms)\n";
  EXPECT_GE(frozen_ms, 3 * call_timeout.count());

  // Thawed: the client reconnects. The first calls may still fail (the
  // server first works off the stale handshakes of the timed-out attempts);
  // bounded by count and time.
  srv.proc().signal(SIGCONT);
  const auto t_thaw = clock_type::now();
  int failures = 0;
  std::optional<std::string> v;
  status st;
  for (;;) {
    auto t0 = clock_type::now();
    st = c->get(spaces::data, "k", v);
    EXPECT_LE(ms_since(t0), bound) << st.to_string();
    if (st || failures >= 20 || clock_type::now() - t_thaw > 20s) break;
    ++failures;
  }
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(v, std::optional<std::string>{"v"});
  std::cout << "[ measure  ] thawed server reachable again after " << failures
            << " failed call(s), " << ms_since(t_thaw) << " ms\n";
  // The write sent while frozen was in doubt; its token now tells.
  outcome_reply o;
  auto q = c->outcome(token, o, not_before);
  ASSERT_TRUE(q) << q.to_string();
  EXPECT_TRUE(o.state == write_state::committed || o.state == write_state::not_committed)
      << static_cast<int>(o.state);
}

// connect_timeout = the call timeout: the first call notices the frozen
// server, later calls reconnect.
TEST(ClientBound, CallsBoundedWhenConnectTimeoutEqualsCallTimeout) {
  check_calls_bounded(call_timeout);
}

// connect_timeout = 3 x the call timeout: calls time out while the dead
// connection is not noticed yet, so a write's outcome lookups and resends go
// to a server that does not answer.
TEST(ClientBound, CallsBoundedWhenConnectTimeoutExceedsCallTimeout) {
  check_calls_bounded(3 * call_timeout);
}

// Heartbeats every 2 s: CAF gives up a connection to the frozen server only
// at a heartbeat tick, so a reconnect takes longer than the call timeout.
TEST(ClientBound, CallsBoundedWhenReconnectingTakesLongerThanTheCallTimeout) {
  check_calls_bounded(3 * call_timeout, 2 * call_timeout);
}

}  // namespace
}  // namespace vstore
