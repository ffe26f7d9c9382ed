#include "tools/vstore-sim/torn_reader.hpp"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "tools/vstore-sim/sync_client.hpp"

namespace vstore::sim {

namespace {

/// How long the reader waits when no new batch was published.
constexpr auto idle_pause = std::chrono::microseconds(200);

/// Reads `keys` of `space` into `found` (and `values`, if not null).
status read_keys(sync_client& client, space_id space, std::vector<std::string> keys,
                 std::vector<uint8_t>& found, std::vector<std::string>* values) {
  multi_get_reply r;
  auto n = keys.size();
  if (auto st = client.ask(multi_get_request{space, std::move(keys)}, r); !st) return st;
  if (r.found.size() != n || r.values.size() != n)
    return {errc::internal, "multi_get answered " + std::to_string(r.found.size()) + " of " +
                                std::to_string(n) + " keys"};
  found = std::move(r.found);
  if (values) *values = std::move(r.values);
  return {};
}

}  // namespace

torn_reader::torn_reader(caf::actor_system& sys, manager_actor manager, space_set spaces,
                         caf::timespan timeout, std::shared_ptr<run_board> board)
    : sys_(sys),
      manager_(std::move(manager)),
      spaces_(spaces),
      timeout_(timeout),
      board_(std::move(board)) {}

torn_reader::~torn_reader() { stop(); }

void torn_reader::start() {
  board_->torn.enable();
  thread_ = std::thread{[this] { run(); }};
}

torn_stats torn_reader::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  return stats_;
}

void torn_reader::run() {
  sync_client client{sys_, manager_, timeout_};
  while (!stop_.load(std::memory_order_relaxed)) {
    auto b = board_->torn.take();
    if (!b) {
      std::this_thread::sleep_for(idle_pause);
      continue;
    }
    torn_probe p;
    p.index = b->index;
    p.version = b->version;
    p.touched = b->touched;
    p.expected_meta = b->meta;
    std::vector<std::string> data, rollback, latest;
    for (auto r : p.touched) {
      data.push_back(data_key(p.version, r));
      rollback.push_back(rollback_key(p.index, r));
      latest.push_back(latest_key(r));
    }
    // The order matters to judge_torn(): meta, data, rollback_ptr,
    // latest_ptr, meta.
    auto st = client.get(spaces_.meta, batch_key(p.index), p.meta_first);
    if (st) st = read_keys(client, spaces_.data, std::move(data), p.data_found, nullptr);
    if (st)
      st = read_keys(client, spaces_.rollback, std::move(rollback), p.rollback_found, nullptr);
    if (st)
      st = read_keys(client, spaces_.latest, std::move(latest), p.latest_found, &p.latest_values);
    if (st) st = client.get(spaces_.meta, batch_key(p.index), p.meta_last);
    p.rollback_sent = board_->torn.rolled_back(*b);
    // After a failed write the outcome of the batch is unknown: judge nothing.
    if (!st || board_->failed()) {
      ++stats_.abandoned;
      continue;
    }
    ++stats_.checks;
    std::string what;
    switch (judge_torn(p, what)) {
      case torn_verdict::consistent:
        ++stats_.consistent;
        break;
      case torn_verdict::inconclusive:
        ++stats_.inconclusive;
        break;
      case torn_verdict::torn:
        if (stats_.torn++ == 0) {
          stats_.first_torn = what;
          board_->fail("torn state: " + what);
        }
        break;
    }
  }
}

}  // namespace vstore::sim
