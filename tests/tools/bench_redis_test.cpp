// vstore-bench's Redis anchor (bench/redis_side.hpp) against a real
// redis-server on 127.0.0.1: the RESP client, the server's start and stop,
// and the Redis side's repetitions. Skipped when redis-server is not
// installed. The rows themselves run end to end in the Bench.* tool tests.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "bench/proc.hpp"
#include "bench/redis_side.hpp"

namespace vstore::bench {
namespace {

using namespace std::chrono_literals;

/// A temporary directory and the redis-server on PATH (skips without one).
class BenchRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    exe_ = find_redis_server();
    if (exe_.empty()) GTEST_SKIP() << "redis-server not installed (Debian: redis-server)";
    const char* tmp = std::getenv("TMPDIR");
    ASSERT_TRUE(temp_dir::make(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", dir_));
  }

  std::unique_ptr<redis_server> start(redis_persistence p) {
    std::unique_ptr<redis_server> s;
    auto st = redis_server::start(exe_, dir_->path() + "/server", p, s);
    EXPECT_TRUE(st) << st.to_string();
    return s;
  }

  std::unique_ptr<resp_connection> connect(uint16_t port) {
    std::unique_ptr<resp_connection> c;
    auto st = resp_connection::connect(port, 5s, c);
    EXPECT_TRUE(st) << st.to_string();
    return c;
  }

  std::string exe_;
  std::unique_ptr<temp_dir> dir_;
};

/// Returns a request count bounded workload of `kind` over `keys` keys.
workload counted(workload_kind kind, uint64_t requests, uint64_t keys, uint64_t base = 0) {
  workload w;
  w.kind = kind;
  w.requests = requests;
  w.key_count = keys;
  w.seed = 3;
  w.write_base = base;
  return w;
}

TEST_F(BenchRedis, RespClientSpeaksToRedisServer) {
  auto srv = start(redis_persistence::none);
  ASSERT_TRUE(srv);
  EXPECT_NE(srv->port(), 6379);
  EXPECT_GT(srv->pid(), 0);
  auto c = connect(srv->port());
  ASSERT_TRUE(c);
  resp_reply r;

  ASSERT_TRUE(c->call({"PING"}, r));
  EXPECT_EQ(r.type, resp_reply::kind::simple);
  EXPECT_EQ(r.text, "PONG");

  // Binary-safe keys and values: a loaded key holds zero bytes.
  auto key = loaded_key(12345);
  std::string value(value_size, '\0');
  make_value(12345, value.data());
  ASSERT_TRUE(c->call({"SET", key, value}, r));
  EXPECT_EQ(r.type, resp_reply::kind::simple);
  EXPECT_EQ(r.text, "OK");
  ASSERT_TRUE(c->call({"GET", key}, r));
  EXPECT_EQ(r.type, resp_reply::kind::bulk);
  EXPECT_EQ(r.text, value);

  ASSERT_TRUE(c->call({"GET", "no such key"}, r));
  EXPECT_EQ(r.type, resp_reply::kind::nil);
  ASSERT_TRUE(c->call({"INCR", "counter"}, r));
  EXPECT_EQ(r.type, resp_reply::kind::integer);
  EXPECT_EQ(r.integer, 1);
  ASSERT_TRUE(c->call({"NOSUCHCOMMAND", "x"}, r));
  EXPECT_EQ(r.type, resp_reply::kind::error);
  EXPECT_NE(r.text.find("ERR"), std::string::npos) << r.text;
  ASSERT_TRUE(c->call({"SET", "", ""}, r));  // empty bulk strings
  ASSERT_TRUE(c->call({"GET", ""}, r));
  EXPECT_EQ(r.type, resp_reply::kind::bulk);
  EXPECT_EQ(r.text, "");

  // An array with a nil element.
  ASSERT_TRUE(c->call({"MGET", key, "no such key", "counter"}, r));
  ASSERT_EQ(r.type, resp_reply::kind::array);
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].text, value);
  EXPECT_EQ(r.elements[1].type, resp_reply::kind::nil);
  EXPECT_EQ(r.elements[2].text, "1");

  // A value larger than one socket read.
  std::string big(3 * 1024 * 1024 + 7, 'x');
  big[1] = '\r';
  big[2] = '\n';
  ASSERT_TRUE(c->call({"SET", "big", big}, r));
  ASSERT_TRUE(c->call({"GET", "big"}, r));
  EXPECT_EQ(r.text, big);

  // A pipeline: 1000 commands written at once, then 1000 replies in order.
  for (int i = 0; i < 500; ++i) {
    auto n = std::to_string(i);
    c->append({"SET", "k" + n, "v" + n});
    c->append({"GET", "k" + n});
  }
  ASSERT_TRUE(c->flush());
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(c->read(r));
    EXPECT_EQ(r.text, "OK");
    ASSERT_TRUE(c->read(r));
    EXPECT_EQ(r.text, "v" + std::to_string(i));
  }

  // stop() shuts the server down (SHUTDOWN NOSAVE) and reaps it.
  auto port = srv->port();
  srv->stop();
  EXPECT_FALSE(c->call({"PING"}, r));
  std::unique_ptr<resp_connection> again;
  EXPECT_FALSE(resp_connection::connect(port, 1s, again));
}

TEST_F(BenchRedis, ServersRunWithTheBenchSettings) {
  auto mem = start(redis_persistence::none);
  ASSERT_TRUE(mem);
  auto c = connect(mem->port());
  ASSERT_TRUE(c);
  resp_reply r;
  auto config = [&](const char* name) {
    EXPECT_TRUE(c->call({"CONFIG", "GET", name}, r));
    EXPECT_EQ(r.type, resp_reply::kind::array);
    return r.elements.size() == 2 ? r.elements[1].text : std::string{"?"};
  };
  EXPECT_EQ(config("bind"), "127.0.0.1");
  EXPECT_EQ(config("save"), "");
  EXPECT_EQ(config("appendonly"), "no");
  c.reset();
  mem.reset();

  std::unique_ptr<redis_server> aof;
  ASSERT_TRUE(
      redis_server::start(exe_, dir_->path() + "/aof", redis_persistence::aof_everysec, aof));
  c = connect(aof->port());
  ASSERT_TRUE(c);
  EXPECT_EQ(config("appendonly"), "yes");
  EXPECT_EQ(config("appendfsync"), "everysec");
  EXPECT_EQ(config("save"), "");
}

TEST_F(BenchRedis, RedisSideRunsGetsAndPuts) {
  redis_side side{dir_->path(), exe_};
  ASSERT_EQ(side.prepare(workload_kind::get, 1000), "");
  ASSERT_EQ(side.prepare(workload_kind::put, 1000), "");
  ASSERT_NE(side.server(workload_kind::get), nullptr);
  ASSERT_NE(side.server(workload_kind::put), nullptr);
  EXPECT_NE(side.server(workload_kind::get)->port(), side.server(workload_kind::put)->port());

  auto gets = side.run(counted(workload_kind::get, 1001, 1000), 3, 8);
  EXPECT_EQ(gets.errors, 0u) << gets.first_error;
  EXPECT_EQ(gets.completed, 1001u);
  EXPECT_GT(gets.seconds, 0);

  auto puts = side.run(counted(workload_kind::put, 500, 1000, 77), 2, 8);
  EXPECT_EQ(puts.errors, 0u) << puts.first_error;
  EXPECT_EQ(puts.completed, 500u);
  auto c = connect(side.server(workload_kind::put)->port());
  ASSERT_TRUE(c);
  resp_reply r;
  ASSERT_TRUE(c->call({"DBSIZE"}, r));
  EXPECT_EQ(r.integer, 500);
  char key[key_size];
  written_key(77 + 499, key);
  ASSERT_TRUE(c->call({"GET", {key, key_size}}, r));
  EXPECT_EQ(r.text.size(), value_size);

  // A get of a key the server does not hold counts as an error.
  auto missing = side.run(counted(workload_kind::get, 10, 1000000), 1, 8);
  EXPECT_GT(missing.errors, 0u);
}

TEST(BenchRedisSkip, MissingRedisServerIsNamed) {
  redis_side absent{"/nonexistent-dir", "/nonexistent/redis-server"};
  EXPECT_EQ(absent.prepare(workload_kind::get, 10),
            "redis-server not found (/nonexistent/redis-server)");
  // Searched on PATH when not given.
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  redis_side none{"/nonexistent-dir"};
  auto why = none.prepare(workload_kind::get, 10);
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(why, "redis-server not installed");
}

}  // namespace
}  // namespace vstore::bench
