#pragma once

// One vstore-sim run against a manager that is already up: the genesis, the
// scheduler actors and the torn-state reader, the verification and the exact
// crash check. main.cpp opens (or connects to) the store around it; the
// power-loss loop (tests/reliability/sim_power_loss_test.cpp) drives it over
// a store on a file system that forgets unsynced bytes.

#include <caf/fwd.hpp>

#include "tools/vstore-sim/run_context.hpp"
#include "tools/vstore-sim/sync_client.hpp"

namespace vstore::sim {

/// Runs the workload (unless --verify-only) and the verification; with
/// --verify-only and --ack-log also the exact crash check. Fills ctx.summary.
/// The torn-state reader reads from `torn_target` when given (a read replica
/// of `manager`), else from `manager`. Returns an exit code.
int drive(caf::actor_system& sys, const manager_actor& manager, sync_client& client,
          run_context& ctx, const manager_actor* torn_target = nullptr);

}  // namespace vstore::sim
