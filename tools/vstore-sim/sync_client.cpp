#include "tools/vstore-sim/sync_client.hpp"

#include <caf/all.hpp>

namespace vstore::sim {

sync_client::sync_client(caf::actor_system& sys, manager_actor manager, caf::timespan timeout)
    : self_(sys), manager_(std::move(manager)), timeout_(timeout) {
  self_->monitor(manager_);
}

bool sync_client::manager_down() {
  while (!down_) {
    bool got = false;
    self_->receive([&](caf::down_msg& dm) { got = down_ = dm.source == manager_.address(); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    if (!got) break;
  }
  return down_;
}

status sync_client::get(space_id space, std::string key, std::optional<std::string>& out) {
  get_reply r;
  auto st = ask(get_request{space, std::move(key)}, r);
  if (!st) return st;
  out.reset();
  if (r.found) out = std::move(r.value);
  return {};
}

status sync_client::write(write_request req) {
  commit_ack ack;
  return ask(std::move(req), ack);
}

status sync_client::scan_all(space_id space, uint32_t page, std::vector<key_value>& out) {
  out.clear();
  scan_request req;
  req.space = space;
  req.limit = page;
  for (;;) {
    scan_reply r;
    if (auto st = ask(req, r); !st) return st;
    for (auto& kv : r.entries) out.push_back(std::move(kv));
    if (!r.more || r.entries.empty()) return {};
    req.start_after = out.back().key;
  }
}

status sync_client::load_image(const space_set& s, uint32_t page, store_image& out) {
  store_image img;
  if (auto st = get(s.metas, std::string{params_key}, img.params); !st) return st;
  if (auto st = scan_all(s.latest, page, img.latest); !st) return st;
  if (auto st = scan_all(s.data, page, img.data); !st) return st;
  if (auto st = scan_all(s.rollback, page, img.rollback); !st) return st;
  if (auto st = scan_all(s.meta, page, img.meta); !st) return st;
  out = std::move(img);
  return {};
}

}  // namespace vstore::sim
