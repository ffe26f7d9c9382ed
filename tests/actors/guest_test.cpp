// vstore as a guest in someone else's program (issue 12): it logs through its
// own spdlog logger named "vstore" at the level options::logging sets, never
// through the program's default logger, and configure_actor_system keeps a
// scheduler.max-threads the program chose. Its own test binary: the "vstore"
// logger is a process-wide singleton picked at first use.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "tests/support/actor_fixture.hpp"
#include "vstore/manager.hpp"

namespace vstore::test {
namespace {

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

TEST(Guest, LogsThroughItsOwnLoggerAtTheLevelItsOptionsSet) {
  // The program routes vstore's lines (a logger named "vstore" registered
  // before the first store opens) and keeps its own default logger.
  auto vstore_lines = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  spdlog::register_logger(std::make_shared<spdlog::logger>("vstore", vstore_lines));
  auto program_lines = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  auto program = std::make_shared<spdlog::logger>("program", program_lines);
  program->set_level(spdlog::level::trace);
  spdlog::set_default_logger(program);

  auto run = [](log_level level) {
    scratch_dir dir;
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    auto o = test_options(backend_kind::rocksdb, dir.path());
    o.logging = level;
    manager_actor m;
    auto st = spawn_manager(sys, o, m);
    ASSERT_TRUE(st) << st.to_string();
    caf::scoped_actor self{sys};
    bool drained = false;
    self->request(m, reply_timeout, drain_request{})
        .receive([&](drain_reply&) { drained = true; }, [](caf::error&) {});
    EXPECT_TRUE(drained);
  };
  // warn (the default): a clean open and drain say nothing.
  run(log_level::warn);
  EXPECT_FALSE(any_contains(vstore_lines->last_formatted(), "drained"));
  // info: the drain is logged, on vstore's logger only.
  run(log_level::info);
  EXPECT_TRUE(any_contains(vstore_lines->last_formatted(), "drained"));
  EXPECT_TRUE(program_lines->last_formatted().empty())
      << "vstore wrote to the program's default logger: " << program_lines->last_formatted()[0];
  EXPECT_EQ(spdlog::default_logger().get(), program.get());
  EXPECT_EQ(program->level(), spdlog::level::trace);
  spdlog::drop_all();
}

TEST(Guest, ConfigureActorSystemKeepsTheCallersSchedulerThreads) {
  caf::actor_system_config mine;
  mine.set("scheduler.max-threads", size_t{3});
  configure_actor_system(mine);
  EXPECT_EQ(caf::get_or(mine, "scheduler.max-threads", size_t{0}), 3u);
  caf::actor_system_config unset;
  configure_actor_system(unset);
  EXPECT_GE(caf::get_or(unset, "scheduler.max-threads", size_t{0}), 1u);
}

TEST(Guest, ConfigureActorSystemTunesStealingUnlessTheCallerChose) {
  caf::actor_system_config unset;
  configure_actor_system(unset);
  EXPECT_EQ(caf::get_or(unset, "work-stealing.moderate-steal-interval", size_t{0}), 1u);
  EXPECT_EQ(caf::get_or(unset, "work-stealing.moderate-sleep-duration", caf::timespan{0}),
            caf::timespan{std::chrono::microseconds(25)});
  EXPECT_EQ(caf::get_or(unset, "work-stealing.relaxed-sleep-duration", caf::timespan{0}),
            caf::timespan{std::chrono::milliseconds(1)});
  caf::actor_system_config mine;
  mine.set("work-stealing.moderate-steal-interval", size_t{7});
  mine.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds(20)});
  configure_actor_system(mine);
  EXPECT_EQ(caf::get_or(mine, "work-stealing.moderate-steal-interval", size_t{0}), 7u);
  EXPECT_EQ(caf::get_or(mine, "work-stealing.relaxed-sleep-duration", caf::timespan{0}),
            caf::timespan{std::chrono::milliseconds(20)});
  caf::actor_system_config server;
  configure_actor_system(server, scheduler_polling::caf_default);
  EXPECT_FALSE(caf::get_if<size_t>(&server, "work-stealing.moderate-steal-interval"));
  // An actor system built from it runs (the hook sets each thread's slack).
  caf::actor_system sys{unset};
  caf::scoped_actor self{sys};
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int x) { return x + 1; }}; });
  int got = 0;
  self->request(echo, std::chrono::seconds(10), 41)
      .receive([&](int x) { got = x; }, [](caf::error&) {});
  EXPECT_EQ(got, 42);
}

}  // namespace
}  // namespace vstore::test
