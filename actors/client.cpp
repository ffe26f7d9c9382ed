#include "vstore/client.hpp"

#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/client_impl.hpp"
#include "vstore/manager.hpp"

namespace vstore {

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() {
  if (impl_ && impl_->embedded && impl_->mgr) {
    drain_reply r;
    if (auto st = drain(r); !st) {
      caf::anon_send_exit(impl_->mgr, caf::exit_reason::kill);
    }
  }
  if (impl_ && !impl_->embedded && impl_->mgr)  // remote: stop the link actor
    caf::anon_send_exit(impl_->mgr, caf::exit_reason::user_shutdown);
  impl_->mgr = manager_actor{};
}

status client::open_embedded(const options& opts, std::unique_ptr<client>& out,
                             const settings& cfg) {
  auto p = std::make_unique<impl>();
  configure_actor_system(p->cfg);
  if (cfg.max_threads > 0)
    p->cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.max_threads));
  p->sys = std::make_unique<caf::actor_system>(p->cfg);
  p->timeout = cfg.timeout;
  p->embedded = true;
  p->drain_timeout = opts.supervisor.shutdown_grace + std::chrono::seconds(5);
  if (auto st = spawn_manager(*p->sys, opts, p->mgr); !st) return st;
  out.reset(new client(std::move(p)));
  return {};
}

status client::get(space_id space, std::string_view key, std::optional<std::string>& value) {
  get_reply r;
  auto st = impl_->call(get_request{space, std::string{key}}, r);
  if (st) value = r.found ? std::optional<std::string>{std::move(r.value)} : std::nullopt;
  return st;
}

status client::multi_get(space_id space, std::vector<std::string> keys, multi_get_reply& out) {
  return impl_->call(multi_get_request{space, std::move(keys)}, out);
}

status client::scan(scan_request req, scan_reply& out) { return impl_->call(std::move(req), out); }

status client::write(write_request req, commit_ack& out) {
  return impl_->call(std::move(req), out);
}

status client::flush(commit_ack& out) { return impl_->call(flush_request{}, out); }

status client::stats(stats_reply& out) { return impl_->call(stats_request{}, out); }

status client::info(status_reply& out) { return impl_->call(status_request{}, out); }

status client::drain(drain_reply& out) {
  auto st = impl_->call(drain_request{}, out, impl_->drain_timeout);
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->mgr = manager_actor{};
  return st;
}

}  // namespace vstore
