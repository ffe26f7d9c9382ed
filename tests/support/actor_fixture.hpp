#pragma once

// A GoogleTest fixture with a real actor system, a scoped actor, and a manager
// over a memory or RocksDB backend. Every request waits with a timeout.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <caf/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "vstore/concat_bytes.hpp"
#include "vstore/manager.hpp"

namespace vstore::test {

/// Scales the size of long tests: VSTORE_TEST_SCALE (default 1; the tsan
/// preset sets 0.25 because ThreadSanitizer slows actors down ~10x).
inline double test_scale() {
  if (const char* s = std::getenv("VSTORE_TEST_SCALE")) return std::max(0.01, std::atof(s));
  return 1.0;
}

/// How long a test waits for any single reply (longer when VSTORE_TEST_SCALE
/// says the build is slow).
inline const auto reply_timeout =
    std::chrono::milliseconds(static_cast<int64_t>(10000 / std::min(1.0, test_scale())));

/// A temporary directory removed at destruction.
class scratch_dir {
 public:
  scratch_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("vstore-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Options for a test store: small limits so that tests reach them quickly.
inline options test_options(backend_kind kind, const std::filesystem::path& dir) {
  options o;
  o.backend = kind;
  o.db.path = (dir / "db").string();
  o.db.block_cache_bytes = 8u << 20;
  o.db.write_buffer_bytes = 4u << 20;
  o.supervisor.shutdown_grace = std::chrono::milliseconds(3000);
  o.supervisor.internal_timeout = std::chrono::milliseconds(5000);
  return o;
}

struct test_config : caf::actor_system_config {
  test_config() {
    configure_actor_system(*this);
    set("scheduler.max-threads", size_t{2});
  }
};

/// Base fixture: an actor system and a scoped actor.
class actor_test : public ::testing::Test {
 protected:
  test_config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor self_{sys_};
  std::vector<manager_actor> managers_;

  ~actor_test() override {
    for (auto& m : managers_) caf::anon_send_exit(m, caf::exit_reason::kill);
  }

  /// Spawns a manager over a freshly opened backend and remembers it for teardown.
  manager_actor start(const options& o, std::shared_ptr<fault_hooks> hooks = nullptr,
                      std::shared_ptr<store>* backend_out = nullptr) {
    std::shared_ptr<store> backend;
    auto st = open_store(o, backend);
    EXPECT_TRUE(st) << st.to_string();
    if (backend_out) *backend_out = backend;
    manager_actor m;
    auto sp = spawn_manager(sys_, manager_setup{o, std::move(backend), std::move(hooks)}, m);
    EXPECT_TRUE(sp) << sp.to_string();
    managers_.push_back(m);
    return m;
  }

  /// Spawns a manager over `backend` (e.g. a decorated or reopened store).
  manager_actor start_over(const options& o, std::shared_ptr<store> backend,
                           std::shared_ptr<fault_hooks> hooks = nullptr) {
    manager_actor m;
    auto sp = spawn_manager(sys_, manager_setup{o, std::move(backend), std::move(hooks)}, m);
    EXPECT_TRUE(sp) << sp.to_string();
    managers_.push_back(m);
    return m;
  }

  /// Sends `req` and waits for the reply; returns the status, fills `out`.
  template <class Reply, class Request>
  status ask(const manager_actor& m, Request req, Reply& out) {
    status result;
    self_->request(m, reply_timeout, std::move(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }

  status put(const manager_actor& m, space_id s, std::string k, std::string v,
             bool flush_now = false) {
    write_request w;
    w.put(s, k, v);
    w.flush_now = flush_now;
    commit_ack ack;
    return ask(m, std::move(w), ack);
  }

  std::optional<std::string> get(const manager_actor& m, space_id s, std::string k) {
    get_reply r;
    auto st = ask(m, get_request{s, std::move(k)}, r);
    EXPECT_TRUE(st) << st.to_string();
    if (!r.found) return std::nullopt;
    return r.value;
  }

  stats_reply stats(const manager_actor& m) {
    stats_reply r;
    auto st = ask(m, stats_request{}, r);
    EXPECT_TRUE(st) << st.to_string();
    return r;
  }

  /// Drains the manager and waits for it to finish.
  drain_reply drain(const manager_actor& m) {
    drain_reply r;
    auto st = ask(m, drain_request{}, r);
    EXPECT_TRUE(st) << st.to_string();
    return r;
  }
};

}  // namespace vstore::test
