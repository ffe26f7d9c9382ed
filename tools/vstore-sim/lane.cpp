#include "tools/vstore-sim/lane.hpp"

#include <algorithm>

namespace vstore::sim {

namespace {

/// The largest scan page a lane asks for.
constexpr uint32_t max_page = 4096;

}  // namespace

uint64_t prune_step_of(uint64_t prune_window) noexcept {
  return std::max<uint64_t>(1, prune_window / 10);
}

void lane_plan::reset(const sim_params& p, const lane_rules& r, uint32_t scheduler_id,
                      uint32_t lane_id, uint64_t scheduler_batches, uint64_t seed) {
  rules = r;
  scheduler = scheduler_id;
  lane = lane_id;
  chain = chain_layout(p, uint64_t{scheduler_id} * p.lanes + lane_id);
  target = lane_batches(scheduler_batches, p.lanes, lane_id);
  commits = 0;
  live = 0;
  pruned = 0;
  rollback_due = false;
  rng.seed(chain_seed(seed, chain.chain));
}

bool lane_plan::prune_due() const noexcept {
  return rules.prune_window > 0 && live >= pruned + rules.prune_window + rules.prune_step;
}

/// A due prune waits for an empty pipeline (as a rollback does) and otherwise
/// runs at the next drain, but not later than max(prune_step, 4 x pipeline)
/// batches after it became due.
bool lane_plan::prune_forces_drain() const noexcept {
  auto slack = std::max<uint64_t>(rules.prune_step, 4 * uint64_t{rules.pipeline});
  return rules.prune_window > 0 && live >= pruned + rules.prune_window + slack;
}

lane_step lane_plan::next(size_t in_flight) {
  if (in_flight == 0) {
    if (rollback_due) {
      // Only unpruned batches can be rolled back.
      auto depth = std::min<uint64_t>(rules.rollback_depth, live - pruned);
      if (depth > 0) {
        rollback.reset(chain.chain, live - depth, live);
        return lane_step::rollback;
      }
      rollback_due = false;
    }
    if (prune_due()) {
      prune.reset(chain.chain, pruned, live - rules.prune_window);
      return lane_step::prune;
    }
    if (commits >= target) return lane_step::done;
  }
  if (rollback_due || prune_forces_drain()) return lane_step::wait;  // draining
  if (commits < target && in_flight < std::max<uint32_t>(rules.pipeline, 1)) {
    batch.make(chain, live, rules.transfers, rng);
    return lane_step::batch;
  }
  return lane_step::wait;
}

void lane_plan::count_commit() {
  ++commits;
  ++live;
  if (rules.rollback_every > 0 && commits % rules.rollback_every == 0) rollback_due = true;
}

void lane_plan::count_rollback() {
  live -= rollback.batches();
  rollback_due = false;
}

void lane_plan::count_prune() { pruned += prune.batches(); }

uint32_t lane_plan::rollback_page() const noexcept {
  return std::min<uint32_t>(max_page, 2 * rules.transfers + 1);
}

uint32_t lane_plan::prune_page() const noexcept {
  auto want = 2 * uint64_t{rules.transfers} * prune.batches() + 1;
  return static_cast<uint32_t>(std::min<uint64_t>(max_page, want));
}

}  // namespace vstore::sim
