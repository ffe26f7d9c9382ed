// Bad input against a real vstored on 127.0.0.1: requests over the configured
// limits (answered with typed vstore errors across the network), random bytes
// and truncated BASP frames on the published port, garbage after a real
// handshake, message types the server does not know, and clients that vanish
// mid-request. Before every test the fixture writes acknowledged data; after
// every bad input it checks that vstored still runs, that the data is intact,
// and that another client is still served.
//
// Figures are printed as "[ measure  ]" lines.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "tests/net/subprocess.hpp"
#include "tests/reliability/reliability_support.hpp"
#include "vstore/client.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

// -- message types the server does not know ----------------------------------------------

namespace evil {

/// A request type registered on the client only.
struct unknown_request {
  uint64_t x = 0;
  std::string payload;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unknown_request& r) {
  return f(caf::meta::type_name("evil::unknown_request"), r.x, r.payload);
}

/// The same fields as vstore::get_request, registered under another name.
struct renamed_get {
  uint16_t space = 0;
  std::string key;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, renamed_get& r) {
  return f(caf::meta::type_name("vstore::get_request_v2"), r.space, r.key);
}

}  // namespace evil

namespace vstore::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string cli_bin = VSTORE_CLI;

client::settings client_settings(milliseconds timeout = 10s) {
  client::settings s;
  s.timeout = timeout;
  s.max_threads = 2;
  return s;
}

/// A config for an actor system that talks to vstored, with two extra types
/// the server never registered.
struct evil_config : caf::actor_system_config {
  explicit evil_config(const remote_options& r) {
    configure_actor_system(*this);
    configure_network(*this, r);
    add_message_type<evil::unknown_request>("evil::unknown_request");
    add_message_type<evil::renamed_get>("vstore::get_request_v2");
    set("scheduler.max-threads", size_t{2});
  }
};

/// Limits small enough to reach with cheap requests.
constexpr uint32_t max_key = 64;
constexpr uint32_t max_value = 1024;
constexpr uint32_t max_ops = 100;
constexpr uint64_t max_request_bytes = 16384;
constexpr uint32_t max_multi_get = 50;
constexpr uint32_t max_scan = 1000;

/// Spaces the baseline data is written to.
const std::vector<space_id> base_spaces = {spaces::data, spaces::latest_ptr, spaces::metas};
constexpr int base_batches = 20;
constexpr int base_per_batch = 5;

std::string base_key(int b, int j) {
  return "base/" + std::to_string(100 + b) + "/" + std::to_string(j);
}
std::string base_value(space_id s, const std::string& key) {
  return "space" + std::to_string(s) + ":" + key;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      std::ofstream ini{dir_ / "vstore.ini"};
      ini << "[limits]\nmax-key-size = " << max_key << "\nmax-value-size = " << max_value
          << "\nmax-batch-ops = " << max_ops << "\nmax-request-bytes = " << max_request_bytes
          << "\nmax-multi-get = " << max_multi_get << "\nmax-scan-limit = " << max_scan << "\n";
    }
    server_ = std::make_unique<vstored_process>(
        vstored_bin, std::vector<std::string>{"--config", dir_ / "vstore.ini", "--data-dir",
                                              dir_ / "db", "--max-threads", "2"});
    ASSERT_NE(server_->port(), 0) << server_->proc().stderr_text();
    ASSERT_TRUE(client::connect(local(server_->port()), good_, client_settings()));
    ASSERT_TRUE(client::connect(local(server_->port()), other_, client_settings()));
    // Acknowledged data: multi-space batches, half of them flushed at once.
    for (int b = 0; b < base_batches; ++b) {
      write_request w;
      for (int j = 0; j < base_per_batch; ++j)
        for (auto s : base_spaces) w.put(s, base_key(b, j), base_value(s, base_key(b, j)));
      w.flush_now = b % 2 == 0;
      commit_ack ack;
      auto st = good_->write(std::move(w), ack);
      ASSERT_TRUE(st) << st.to_string();
    }
  }

  void TearDown() override {
    // VSTORE_REL_SERVER_LOG=1 shows what vstored printed (debugging aid).
    if (std::getenv("VSTORE_REL_SERVER_LOG") != nullptr && server_)
      std::cout << "---- vstored stdout ----\n"
                << server_->proc().stdout_text() << "---- vstored stderr ----\n"
                << server_->proc().stderr_text() << "----\n";
    std::cout << "[ measure  ] " << bad_inputs_ << " bad inputs tried, " << checks_
              << " post-checks (server alive, data intact, old and new clients served) passed\n";
  }

  /// Checks that vstored runs, the baseline is intact, the client connected
  /// before is served and a new client can connect; `after` names the bad
  /// input.
  void expect_unharmed(const std::string& after) {
    ++bad_inputs_;
    ASSERT_EQ(server_->proc().wait(0ms), std::nullopt) << "vstored exited after " << after << ":\n"
                                                       << server_->proc().stderr_text();
    for (auto s : base_spaces) {
      std::vector<std::string> keys;
      for (int b = 0; b < base_batches; ++b)
        for (int j = 0; j < base_per_batch; ++j) keys.push_back(base_key(b, j));
      for (size_t off = 0; off < keys.size(); off += max_multi_get) {
        std::vector<std::string> part(
            keys.begin() + static_cast<long>(off),
            keys.begin() + static_cast<long>(std::min<size_t>(keys.size(), off + max_multi_get)));
        multi_get_reply r;
        auto st = other_->multi_get(s, part, r);
        ASSERT_TRUE(st) << after << ": " << st.to_string();
        ASSERT_EQ(r.found.size(), part.size());
        for (size_t i = 0; i < part.size(); ++i) {
          ASSERT_TRUE(r.found[i]) << after << ": lost " << part[i] << " in space " << s;
          ASSERT_EQ(r.values[i], base_value(s, part[i])) << after;
        }
      }
    }
    // Nothing else appeared under the baseline prefix.
    scan_request sr;
    sr.space = spaces::data;
    sr.prefix = "base/";
    sr.limit = max_scan;
    scan_reply page;
    auto st = other_->scan(sr, page);
    ASSERT_TRUE(st) << after << ": " << st.to_string();
    EXPECT_EQ(page.entries.size(), static_cast<size_t>(base_batches * base_per_batch)) << after;
    // A new client connects and is served.
    {
      std::unique_ptr<client> fresh;
      auto cst = client::connect(local(server_->port()), fresh, client_settings());
      ASSERT_TRUE(cst) << after << ": a new client cannot connect: " << cst.to_string();
      status_reply info;
      ASSERT_TRUE(fresh->info(info)) << after;
    }
    // The client connected before is served: a write and its read.
    auto key = "served/" + std::to_string(checks_);
    commit_ack ack;
    st = other_->write(write_request{}.put(spaces::metas, key, "yes"), ack);
    ASSERT_TRUE(st) << after << ": " << st.to_string();
    std::optional<std::string> v;
    ASSERT_TRUE(other_->get(spaces::metas, key, v));
    ASSERT_EQ(v, std::optional<std::string>{"yes"}) << after;
    ++checks_;
  }

  /// The first byte of a pure-garbage payload, kept outside CAF's seven BASP
  /// operations (0..6): a garbage header with a valid operation makes CAF 0.17
  /// allocate its random payload length (up to 4 GiB) before anything else,
  /// which TruncatedFramesAreDropped measures with a bounded length instead.
  static std::string garbage(uint32_t seed, size_t n) {
    auto g = random_bytes(seed, n);
    auto b0 = static_cast<uint8_t>(g[0]);
    if (b0 < 7) g[0] = static_cast<char>(7 + b0);
    return g;
  }

  temp_dir dir_{"rel-bad"};
  std::unique_ptr<vstored_process> server_;
  std::unique_ptr<client> good_;
  std::unique_ptr<client> other_;
  int bad_inputs_ = 0;
  int checks_ = 0;
};

// -- request limits, remotely ----------------------------------------------------------------

TEST_F(BadInput, RequestErrorsCrossTheNetworkAsTypedCodes) {
  auto& c = *good_;
  struct bad_case {
    const char* what;
    errc expected;
    std::function<status()> call;
  };
  auto write = [&c](write_request w) {
    commit_ack ack;
    return c.write(std::move(w), ack);
  };
  auto get = [&c](space_id s, std::string k) {
    std::optional<std::string> v;
    return c.get(s, k, v);
  };
  auto scan = [&c](space_id s, std::string prefix, std::string after, uint32_t limit) {
    scan_reply r;
    return c.scan(scan_request{s, std::move(prefix), std::move(after), limit}, r);
  };
  auto multi_get = [&c](space_id s, std::vector<std::string> keys) {
    multi_get_reply r;
    return c.multi_get(s, std::move(keys), r);
  };
  const std::string long_key(max_key + 1, 'k');
  std::vector<bad_case> cases = {
      {"get from space 99", errc::unknown_space, [&] { return get(99, "k"); }},
      {"get from space 65535", errc::unknown_space, [&] { return get(65535, "k"); }},
      {"multi_get from space 8", errc::unknown_space, [&] { return multi_get(8, {"k"}); }},
      {"scan of space 1000", errc::unknown_space, [&] { return scan(1000, "", "", 10); }},
      {"put into space 8", errc::unknown_space,
       [&] { return write(write_request{}.put(8, "k", "v")); }},
      {"batch with one op in space 99", errc::unknown_space,
       [&] { return write(write_request{}.put(spaces::data, "half", "x").put(99, "half", "x")); }},
      {"get with an empty key", errc::empty_key, [&] { return get(spaces::data, ""); }},
      {"multi_get with an empty key", errc::empty_key,
       [&] {
         return multi_get(spaces::data, {"a", ""});
       }},
      {"put with an empty key", errc::empty_key,
       [&] {
         return write(write_request{}.put(spaces::data, "half", "x").put(spaces::metas, "", "x"));
       }},
      {"delete with an empty key", errc::empty_key,
       [&] { return write(write_request{}.del(spaces::data, "")); }},
      {"range delete with an empty end", errc::empty_key,
       [&] { return write(write_request{}.del_range(spaces::data, "a", "")); }},
      {"get with a key over max-key-size", errc::too_large,
       [&] { return get(spaces::data, long_key); }},
      {"put with a key over max-key-size", errc::too_large,
       [&] { return write(write_request{}.put(spaces::data, long_key, "v")); }},
      {"put with a value over max-value-size", errc::too_large,
       [&] {
         return write(write_request{}.put(spaces::data, "half", std::string(max_value + 1, 'v')));
       }},
      {"put with a 4 MiB value (4096x max-value-size)", errc::too_large,
       [&] {
         return write(write_request{}.put(spaces::data, "half", std::string(4u << 20, 'v')));
       }},
      {"batch over max-batch-ops", errc::too_large,
       [&] {
         write_request w;
         for (uint32_t i = 0; i <= max_ops; ++i)
           w.put(spaces::data, "half" + std::to_string(i), "v");
         return write(std::move(w));
       }},
      {"batch over max-request-bytes", errc::too_large,
       [&] {
         write_request w;
         for (int i = 0; i < 20; ++i)
           w.put(spaces::data, "half" + std::to_string(i), std::string(max_value, 'v'));
         return write(std::move(w));
       }},
      {"multi_get over max-multi-get", errc::too_large,
       [&] { return multi_get(spaces::data, std::vector<std::string>(max_multi_get + 1, "k")); }},
      {"scan limit 0", errc::invalid_argument, [&] { return scan(spaces::data, "", "", 0); }},
      {"scan limit over max-scan-limit", errc::too_large,
       [&] { return scan(spaces::data, "", "", max_scan + 1); }},
      {"scan limit 4294967295", errc::too_large,
       [&] { return scan(spaces::data, "", "", 4294967295u); }},
      {"scan prefix over max-key-size", errc::too_large,
       [&] { return scan(spaces::data, long_key, "", 10); }},
      {"scan start_after over max-key-size", errc::too_large,
       [&] { return scan(spaces::data, "", long_key, 10); }},
      {"range delete with end before begin", errc::invalid_argument,
       [&] { return write(write_request{}.del_range(spaces::data, "b", "a")); }},
      {"range delete with end == begin", errc::invalid_argument,
       [&] { return write(write_request{}.del_range(spaces::data, "a", "a")); }},
      {"empty write", errc::invalid_argument, [&] { return write(write_request{}); }},
      {"operation kind 0", errc::invalid_argument,
       [&] {
         write_request w;
         w.ops.push_back(write_op{static_cast<op_kind>(0), spaces::data, "half", "x"});
         return write(std::move(w));
       }},
      {"operation kind 200", errc::invalid_argument,
       [&] {
         write_request w;
         w.put(spaces::data, "half", "x");
         w.ops.push_back(write_op{static_cast<op_kind>(200), spaces::data, "half2", "x"});
         return write(std::move(w));
       }},
  };
  auto t0 = clock_type::now();
  for (auto& bc : cases) {
    auto st = bc.call();
    EXPECT_FALSE(st) << bc.what << " was accepted";
    EXPECT_EQ(st.code(), bc.expected) << bc.what << ": " << st.to_string();
    EXPECT_FALSE(st.context().empty()) << bc.what << ": no context";
    std::cout << "[ measure  ]   " << bc.what << " -> " << st.to_string() << "\n";
    expect_unharmed(bc.what);
  }
  // None of the refused writes left anything behind.
  for (std::string k : {"half", "half0", "half2", "k"}) {
    std::optional<std::string> v;
    ASSERT_TRUE(c.get(spaces::data, k, v));
    EXPECT_EQ(v, std::nullopt) << k;
  }
  std::cout << "[ measure  ] " << cases.size()
            << " invalid requests answered with their typed errc over the network in "
            << ms_since(t0) << " ms (with post-checks)\n";
}

// -- garbage on the published port ---------------------------------------------------------

TEST_F(BadInput, RandomBytesOnThePublishedPortAreDropped) {
  const auto port = server_->port();
  struct raw_case {
    std::string what;
    std::string bytes;
  };
  std::vector<raw_case> cases;
  for (uint32_t seed = 1; seed <= 16; ++seed)
    cases.push_back(
        {"4 KiB of random bytes (seed " + std::to_string(seed) + ")", garbage(seed, 4096)});
  cases.push_back({"1 MiB of random bytes", garbage(99, 1u << 20)});
  cases.push_back({"nothing (connect and close)", ""});
  cases.push_back({"10 random bytes (a partial header)", garbage(7, 10)});
  cases.push_back({"an HTTP request", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"});
  cases.push_back(
      {"a TLS ClientHello prefix",
       std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + random_bytes(5, 500)});
  int closed_by_server = 0;
  long worst_close_ms = 0;
  for (auto& rc : cases) {
    raw_connection conn{port};
    ASSERT_TRUE(conn.ok()) << rc.what;
    auto sent = conn.send_all(rc.bytes, 5s);
    // The server closes a connection whose first header is invalid: wait
    // for it (bounded), except for inputs too short to make a header.
    if (rc.bytes.size() >= basp_header_size) {
      auto t0 = clock_type::now();
      if (conn.wait_closed_by_peer(5s)) {
        ++closed_by_server;
        worst_close_ms = std::max(worst_close_ms, ms_since(t0));
      } else {
        ADD_FAILURE() << rc.what << ": the server kept the connection open";
      }
    }
    conn.close();
    EXPECT_TRUE(sent == rc.bytes.size() || sent >= basp_header_size) << rc.what;
    expect_unharmed(rc.what);
  }
  std::cout << "[ measure  ] " << cases.size() << " raw garbage connections; " << closed_by_server
            << " closed by vstored after an invalid header, the slowest in " << worst_close_ms
            << " ms\n";
}

TEST_F(BadInput, TruncatedFramesAreDropped) {
  const auto port = server_->port();
  const auto pid = std::to_string(server_->proc().pid());
  struct frame_case {
    std::string what;
    std::string bytes;
  };
  std::vector<frame_case> cases = {
      {"20 of the 32 header bytes",
       basp_header(basp_op::direct_message, 100, 0, 0, 1).substr(0, 20)},
      {"server_handshake header announcing 1 MiB, 100 bytes sent",
       basp_header(basp_op::server_handshake, 1u << 20, 3, 0, 0) + random_bytes(11, 100)},
      {"client_handshake header announcing 64 KiB, 10 bytes sent",
       basp_header(basp_op::client_handshake, 64u << 10, 0, 0, 0) + random_bytes(12, 10)},
      {"direct_message header announcing 1 MiB, 1000 bytes sent",
       basp_header(basp_op::direct_message, 1u << 20, 0, 0, 1) + random_bytes(13, 1000)},
      {"routed_message header announcing 4 KiB, nothing sent",
       basp_header(basp_op::routed_message, 4096, 0, 0, 1)},
      {"a heartbeat before any handshake", basp_header(basp_op::heartbeat, 0, 0, 0, 0)},
      {"a complete direct_message with a garbage payload before any handshake",
       basp_header(basp_op::direct_message, 200, 0, 0, 1) + random_bytes(14, 200)},
  };
  for (auto& fc : cases) {
    raw_connection conn{port};
    ASSERT_TRUE(conn.ok()) << fc.what;
    conn.send_all(fc.bytes, 5s);
    conn.close();  // truncated: the rest never comes
    expect_unharmed(fc.what);
  }
  // CAF 0.17 allocates (and zero-fills) a frame's announced payload as soon
  // as its header arrives, before the handshake: measure what 32 bytes cost.
  constexpr uint32_t announced = 64u << 20;
  const long rss0 = proc_status_kib(pid, "VmRSS");
  {
    raw_connection conn{port};
    ASSERT_TRUE(conn.ok());
    conn.send_all(basp_header(basp_op::direct_message, announced, 0, 0, 1), 5s);
    long peak = rss0;
    auto deadline = clock_type::now() + 3s;
    while (clock_type::now() < deadline && peak - rss0 < 60 * 1024) {
      peak = std::max(peak, proc_status_kib(pid, "VmRSS"));
      std::this_thread::sleep_for(5ms);  // polling interval (bounded by the deadline)
    }
    conn.close();
    auto t_close = clock_type::now();
    long now = peak;
    deadline = clock_type::now() + 5s;
    while (clock_type::now() < deadline && now - rss0 > 16 * 1024) {
      now = proc_status_kib(pid, "VmRSS");
      std::this_thread::sleep_for(5ms);  // polling interval (bounded by the deadline)
    }
    std::cout << "[ measure  ] a 32-byte header announcing " << (announced >> 20)
              << " MiB raised vstored's RSS from " << mib(rss0) << " to " << mib(peak) << " MiB; "
              << mib(now) << " MiB " << ms_since(t_close)
              << " ms after the peer closed (CAF 0.17 preallocates the announced payload, up to "
                 "4 GiB per connection)\n";
  }
  expect_unharmed("a header announcing 64 MiB");
}

// -- garbage after a real handshake ------------------------------------------------------------

/// The destination actor of the last direct_message the client sent (its
/// last call: the manager's id on the server; earlier ones may go to CAF's
/// named system actors), or 0. Also counts the frames and checks that the
/// first one is a client_handshake.
uint64_t last_dest_actor(const std::string& bytes, size_t& frames, bool& starts_with_handshake) {
  frames = 0;
  starts_with_handshake = !bytes.empty() && static_cast<uint8_t>(bytes[0]) ==
                                                static_cast<uint8_t>(basp_op::client_handshake);
  size_t off = 0;
  auto u = [&bytes](size_t at, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v = (v << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
    return v;
  };
  uint64_t dest = 0;
  while (off + basp_header_size <= bytes.size()) {
    auto op = static_cast<uint8_t>(bytes[off]);
    auto len = u(off + 4, 4);
    if (op == static_cast<uint8_t>(basp_op::direct_message)) dest = u(off + 24, 8);
    ++frames;
    off += basp_header_size + len;
  }
  return dest;
}

/// The last frame of `bytes` (a well-formed header) with every payload byte
/// inverted, or an empty string.
std::string inverted_last_frame(const std::string& bytes) {
  size_t off = 0;
  size_t last = std::string::npos;
  while (off + basp_header_size <= bytes.size()) {
    uint64_t len = 0;
    for (size_t i = 4; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(bytes[off + i]);
    if (off + basp_header_size + len > bytes.size()) break;
    last = off;
    off += basp_header_size + len;
  }
  if (last == std::string::npos) return {};
  auto frame = bytes.substr(last, off - last);
  for (size_t i = basp_header_size; i < frame.size(); ++i)
    frame[i] = static_cast<char>(~static_cast<uint8_t>(frame[i]));
  return frame;
}

TEST_F(BadInput, GarbageAfterAValidHandshakeDropsOnlyThatConnection) {
  struct inject_case {
    const char* what;
    /// Builds the bytes from the manager's actor id on the server.
    std::function<std::string(uint64_t)> bytes;
    bool then_cut;
  };
  std::vector<inject_case> cases = {
      {"4 KiB of random bytes after the handshake", [](uint64_t) { return garbage(21, 4096); },
       false},
      {"a direct_message to the manager with a garbage payload",
       [](uint64_t mgr) {
         return basp_header(basp_op::direct_message, 200, 0, 0, mgr) + random_bytes(22, 200);
       },
       false},
      {"a direct_message to actor 999999 with a garbage payload",
       [](uint64_t) {
         return basp_header(basp_op::direct_message, 64, 0, 0, 999999) + random_bytes(23, 64);
       },
       false},
      {"the client's last request frame replayed with its payload bytes inverted",
       [](uint64_t) { return std::string{}; },  // built from the recording below
       false},
      {"a frame announcing 1 MiB, 100 bytes, then the connection cut",
       [](uint64_t mgr) {
         return basp_header(basp_op::direct_message, 1u << 20, 0, 0, mgr) + random_bytes(24, 100);
       },
       true},
  };
  for (auto& ic : cases) {
    tcp_proxy proxy{server_->port()};
    ASSERT_NE(proxy.port(), 0);
    std::unique_ptr<client> victim;
    auto st = client::connect(local(proxy.port()), victim, client_settings(5s));
    ASSERT_TRUE(st) << st.to_string();
    commit_ack ack;
    ASSERT_TRUE(victim->write(write_request{}.put(spaces::metas, "victim", "1"), ack));
    std::optional<std::string> v;
    ASSERT_TRUE(victim->get(spaces::metas, "victim", v));
    size_t frames = 0;
    bool handshake = false;
    auto mgr_id = last_dest_actor(proxy.client_bytes(), frames, handshake);
    ASSERT_TRUE(handshake) << "the client's first frame is not a client_handshake";
    ASSERT_NE(mgr_id, 0u) << "no direct_message recorded";
    auto bytes = ic.bytes(mgr_id);
    if (bytes.empty()) bytes = inverted_last_frame(proxy.client_bytes());
    ASSERT_FALSE(bytes.empty()) << ic.what;
    ASSERT_TRUE(proxy.inject(bytes)) << ic.what;
    if (ic.then_cut) proxy.cut();
    // The victim's next call returns promptly: answered (vstored handled the
    // injected bytes before this call, on the same connection, and kept it),
    // or disconnected (vstored closed the connection).
    auto t0 = clock_type::now();
    auto next = victim->get(spaces::metas, "victim", v);
    auto ms = ms_since(t0);
    EXPECT_TRUE(next || next.code() == errc::disconnected) << ic.what << ": " << next.to_string();
    EXPECT_LT(ms, 5000) << ic.what;
    bool ended = next ? proxy.ended() : proxy.wait_ended(3s);
    EXPECT_EQ(ended, !next) << ic.what;
    std::cout << "[ measure  ]   " << ic.what << " (manager id " << mgr_id << ", " << frames
              << " client frames recorded): connection " << (ended ? "closed" : "kept")
              << " by vstored; the victim's next call: " << next.to_string() << " in " << ms
              << " ms\n";
    victim.reset();
    expect_unharmed(ic.what);
  }
}

// -- message types the server does not know ------------------------------------------------------

TEST_F(BadInput, UnregisteredMessageTypesAreRefusedOrDropped) {
  auto r = local(server_->port());
  evil_config cfg{r};
  caf::actor_system sys{cfg};
  manager_actor mgr;
  ASSERT_TRUE(connect_manager(sys, r, mgr));
  auto untyped = caf::actor_cast<caf::actor>(mgr);
  caf::scoped_actor self{sys};
  struct msg_case {
    const char* what;
    caf::message msg;
  };
  std::vector<msg_case> cases = {
      {"a type registered on the client only (evil::unknown_request)",
       caf::make_message(evil::unknown_request{42, std::string(100, 'x')})},
      {"get_request's fields under another type name (vstore::get_request_v2)",
       caf::make_message(evil::renamed_get{spaces::data, base_key(0, 0)})},
      {"a std::string", caf::make_message(std::string("hello"))},
      {"an int32 and a double", caf::make_message(int32_t{42}, 1.5)},
      {"a get_request with an extra argument",
       caf::make_message(get_request{spaces::data, base_key(0, 0)}, int32_t{1})},
      {"an atom", caf::make_message(caf::atom("drop_it"))},
      {"an empty message", caf::make_message()},
  };
  for (auto& mc : cases) {
    auto t0 = clock_type::now();
    std::string outcome;
    self->request(untyped, 2s, mc.msg)
        .receive([&](caf::message& m) { outcome = "answered " + caf::to_string(m); },
                 [&](caf::error& e) {
                   auto st = to_status(e);
                   outcome = (e == caf::sec::request_timeout ? "dropped (no reply within 2 s): "
                                                             : "refused: ") +
                             sys.render(e) + " -> " + st.to_string();
                 });
    auto ms = ms_since(t0);
    EXPECT_EQ(outcome.rfind("answered", 0), std::string::npos) << mc.what << ": " << outcome;
    // The same connection still works.
    status_reply sr;
    bool alive = false;
    self->request(mgr, 5s, status_request{})
        .receive([&](status_reply& x) { alive = !x.spaces.empty(); },
                 [&](caf::error& e) { ADD_FAILURE() << mc.what << ": " << sys.render(e); });
    EXPECT_TRUE(alive) << mc.what;
    std::cout << "[ measure  ]   " << mc.what << ": " << outcome << " (" << ms
              << " ms); the connection still serves\n";
    expect_unharmed(mc.what);
  }
  // The manager answers them with an error instead of letting CAF print them;
  // vstored's stdout still holds only its listening line.
  EXPECT_EQ(server_->proc().stdout_text(), "vstored listening on " + server_->endpoint() + "\n");
  EXPECT_EQ(server_->proc().stderr_text().find("unexpected message"), std::string::npos);
}

// A peer's unexpected message made vstored print to stdout; when stdout was a
// pipe whose reader had gone (`vstored | head -1`, the usual way to read the
// port), that write killed vstored with SIGPIPE (exit 141). vstored now
// ignores SIGPIPE and sends everything after its listening line to stderr.
TEST(VstoredStdout, UnexpectedMessagesDoNotKillAServerWhoseStdoutIsClosed) {
  temp_dir d{"rel-stdout"};
  auto fifo = d / "out.fifo";
  // sh starts vstored writing into a FIFO, prints its pid, lets `head -1`
  // read the listening line (then head exits: the FIFO has no reader), waits
  // for vstored and prints its exit code.
  std::string script = "mkfifo '" + fifo + "' && { '" + vstored_bin + "' --memory > '" + fifo +
                       "' & P=$!; echo \"pid $P\"; head -1 '" + fifo +
                       "'; wait $P; echo \"exit $?\"; }";
  subprocess sh{{"/bin/sh", "-c", script}};
  auto pid_line = sh.wait_for_line("pid ", 10s);
  ASSERT_TRUE(pid_line) << sh.stderr_text();
  const auto pid = static_cast<pid_t>(std::stol(pid_line->substr(4)));
  struct killer {
    pid_t pid;
    ~killer() {
      if (pid > 0) ::kill(pid, SIGKILL);  // the server is sh's child, not ours
    }
  } guard{pid};
  auto line = sh.wait_for_line("vstored listening on ", 20s);
  ASSERT_TRUE(line) << sh.stderr_text();
  auto port = static_cast<uint16_t>(std::stoul(line->substr(line->rfind(':') + 1)));
  auto r = local(port);
  {
    evil_config cfg{r};
    caf::actor_system sys{cfg};
    manager_actor mgr;
    ASSERT_TRUE(connect_manager(sys, r, mgr));
    caf::scoped_actor self{sys};
    for (int i = 0; i < 3; ++i)
      self->request(caf::actor_cast<caf::actor>(mgr), 2s, std::string("hello"))
          .receive([](caf::message&) { ADD_FAILURE() << "answered"; },
                   [&](caf::error& e) {
                     EXPECT_EQ(to_status(e).code(), errc::invalid_argument) << sys.render(e);
                   });
  }
  // Still serving (a new connection), then a clean drain on SIGTERM.
  std::unique_ptr<client> c;
  ASSERT_TRUE(client::connect(r, c, client_settings())) << sh.stdout_text();
  commit_ack ack;
  ASSERT_TRUE(c->write(write_request{}.put(spaces::data, "k", "v"), ack));
  c.reset();
  ::kill(pid, SIGTERM);
  auto exit_line = sh.wait_for_line("exit ", 20s);
  ASSERT_TRUE(exit_line);
  guard.pid = 0;  // exited and reaped by sh
  EXPECT_EQ(*exit_line, "exit 0") << "141 = killed by SIGPIPE";
}

// -- clients that vanish mid-request
// ---------------------------------------------------------------

TEST_F(BadInput, ClientKilledMidBulkLoadLosesNothingAcknowledged) {
  constexpr int lines = 60000;
  constexpr int batch = 50;
  {
    std::ofstream f{dir_ / "bulk.tsv"};
    char buf[64];
    for (int i = 0; i < lines; ++i) {
      std::snprintf(buf, sizeof(buf), "bulk/%06d\tvalue-%06d\n", i, i);
      f << buf;
    }
  }
  subprocess cli{{cli_bin, "--connect", "127.0.0.1:" + std::to_string(server_->port()), "bulk-load",
                  "data", dir_ / "bulk.tsv", "--batch", std::to_string(batch), "--no-progress"}};
  // Kill it once a few thousand operations are in (polled, bounded).
  auto deadline = clock_type::now() + 20s;
  std::optional<std::string> v;
  for (;;) {
    ASSERT_TRUE(good_->get(spaces::data, "bulk/003000", v));
    if (v) break;
    ASSERT_EQ(cli.wait(0ms), std::nullopt) << "the load finished before it was killed:\n"
                                           << cli.stdout_text() << cli.stderr_text();
    ASSERT_LT(clock_type::now(), deadline) << "the bulk load does not progress";
  }
  cli.signal(SIGKILL);
  ASSERT_EQ(cli.wait(10s), std::optional<int>{128 + SIGKILL});
  // Everything the CLI got acknowledged is there; batches are whole; the
  // loaded keys are a prefix of the file (batches are sent one at a time).
  size_t loaded = 0;
  scan_request sr{spaces::data, "bulk/", "", max_scan};
  bool in_order = true;
  for (;;) {
    scan_reply page;
    ASSERT_TRUE(good_->scan(sr, page));
    for (auto& kv : page.entries) {
      char want_k[32], want_v[32];
      std::snprintf(want_k, sizeof(want_k), "bulk/%06zu", loaded);
      std::snprintf(want_v, sizeof(want_v), "value-%06zu", loaded);
      in_order = in_order && kv.key == want_k && kv.value == want_v;
      ++loaded;
    }
    if (!page.more) break;
    sr.start_after = page.entries.back().key;
  }
  EXPECT_TRUE(in_order) << "the loaded keys are not a prefix of the file";
  EXPECT_GE(loaded, 3000u);
  EXPECT_LT(loaded, static_cast<size_t>(lines));
  EXPECT_EQ(loaded % batch, 0u) << "a batch was applied in part";
  std::cout << "[ measure  ] vstore bulk-load (batches of " << batch
            << ") killed with SIGKILL after " << loaded << " of " << lines
            << " lines were committed: " << loaded / batch << " whole batches, no partial batch\n";
  expect_unharmed("a CLI client killed mid bulk-load");

  // An actor system torn down with 256 writes in flight.
  {
    auto r = local(server_->port());
    evil_config cfg{r};
    auto sys = std::make_unique<caf::actor_system>(cfg);
    manager_actor mgr;
    ASSERT_TRUE(connect_manager(*sys, r, mgr));
    {
      caf::scoped_actor self{*sys};
      for (int i = 0; i < 256; ++i)
        self->send(mgr, write_request{}.put(spaces::metas, "orphan/" + std::to_string(i), "x"));
    }
    auto t0 = clock_type::now();
    sys.reset();
    std::cout << "[ measure  ] a client actor system with 256 writes in flight shut down in "
              << ms_since(t0) << " ms\n";
  }
  expect_unharmed("an actor system closed with 256 writes in flight");
}

}  // namespace
}  // namespace vstore::test
