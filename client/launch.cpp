// The composition root: the one place that joins actors and backends
// (configure_actor_system and spawn_manager of vstore/manager.hpp).
#include <algorithm>
#include <thread>

#include <sys/prctl.h>

#include <caf/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "config/config.hpp"
#include "log/log.hpp"
#include "vstore/manager.hpp"

namespace vstore {

namespace {

/// Sets a CAF option unless the embedding program set it already.
template <class T>
void set_unless_chosen(caf::actor_system_config& cfg, const char* key, T value) {
  if (!caf::get_if<T>(&cfg, key)) cfg.set(key, std::move(value));
}

/// Makes the short sleeps of CAF's threads as short as asked: Linux stretches
/// every sleep of a thread by its timer slack (50 us by default), so a 25 us
/// poll interval would be 75 us. 1 us of slack, for CAF's threads only.
class timer_slack_hook : public caf::thread_hook {
 public:
  void init(caf::actor_system&) override {}
  void thread_started() override { prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); }
  void thread_terminates() override {}
};

}  // namespace

void configure_actor_system(caf::actor_system_config& cfg, scheduler_polling polling) {
  register_types(cfg);
  // One scheduler thread per core, unless the embedding program chose.
  set_unless_chosen(cfg, "scheduler.max-threads",
                    static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency())));
  if (polling == scheduler_polling::caf_default) return;
  // With CAF's defaults a chain of actors (client, manager, writer, commit
  // actor) ran on one core while the other slept: put_small 0.86 of raw,
  // 45% of 2 cores busy (scheduler_polling::eager).
  set_unless_chosen(cfg, "work-stealing.moderate-steal-interval", size_t{1});
  // 25 us, not 10: every sleep of a polling worker is a timer armed and a
  // wake-up, which on a virtual machine costs the host's time: at 10 us a
  // profile of sim_lanes put a quarter of the process's samples in those
  // sleeps, and five runs of each gave put_small 1.15 -> 1.41, sim_lanes
  // 0.73 -> 0.78, get 0.50 -> 0.55 at 25 us (50 us: no better).
  set_unless_chosen(cfg, "work-stealing.moderate-sleep-duration",
                    caf::timespan{std::chrono::microseconds(25)});
  set_unless_chosen(cfg, "work-stealing.relaxed-sleep-duration",
                    caf::timespan{std::chrono::milliseconds(1)});
  cfg.add_thread_hook<timer_slack_hook>();
}

status spawn_manager(caf::actor_system& sys, const options& opts, manager_actor& out) {
  if (auto st = config::validate(opts); !st) return st;
  set_log_level(opts.logging);
  std::shared_ptr<store> backend;
  if (auto st = open_store(opts, backend); !st) return st;
  return spawn_manager(sys, manager_setup{opts, std::move(backend), nullptr, std::nullopt}, out);
}

}  // namespace vstore
