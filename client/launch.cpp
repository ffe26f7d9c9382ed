// The composition root: the one place that joins actors and backends
// (configure_actor_system and spawn_manager of vstore/manager.hpp).
#include <algorithm>
#include <thread>

#include <caf/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "config/config.hpp"
#include "log/log.hpp"
#include "vstore/manager.hpp"

namespace vstore {

void configure_actor_system(caf::actor_system_config& cfg) {
  register_types(cfg);
  // One scheduler thread per core, unless the embedding program chose.
  if (!caf::get_if<size_t>(&cfg, "scheduler.max-threads")) {
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", static_cast<size_t>(cores));
  }
}

status spawn_manager(caf::actor_system& sys, const options& opts, manager_actor& out) {
  if (auto st = config::validate(opts); !st) return st;
  set_log_level(opts.logging);
  std::shared_ptr<store> backend;
  if (auto st = open_store(opts, backend); !st) return st;
  return spawn_manager(sys, manager_setup{opts, std::move(backend), nullptr}, out);
}

}  // namespace vstore
