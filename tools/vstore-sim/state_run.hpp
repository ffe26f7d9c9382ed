#pragma once

// vstore-sim --state: the single-chain workload driven through a state
// service (vstore/state.hpp, docs/state.md) spawned in the sim's process over
// its manager (embedded, or the --connect proxy), instead of the sim's
// hand-written requests.
//
// Layout. The service keeps the engine's layout in the sim's own four spaces
// (state_options names "data", "latest_ptr", "rollback_ptr",
// "batch_metadata"; id_length 8: a resource id is its number, 8 bytes BE, as
// latest_key() writes it). The bytes of each key match the sim's layout, but
// the numbering does not (a version is the index of the apply that wrote it,
// and the service keeps its head and floor in batch_metadata), so a --state
// store has its own verification (below) and its own run record in metas
// (state_params_key); the default verification refuses it.
//
// Numbering. The genesis is applies 1..g (every resource at the initial
// balance; g = 1 unless the resources exceed one write's limits.max-batch-ops);
// batch n of the chain (lane_plan's number: 0, 1, ..., reused after a
// rollback) is apply g + 1 + n. So head = g + live, a rollback of the last M
// batches is rollback_to(head - M) and a prune of the batches below
// live - window is prune_below(head - window).
//
// Pipelining. Each batch: read_latest of the resources its transfers touch
// (the service answers those written by applies in flight from its overlay),
// the new balances, apply_batch. Up to --pipeline applies are in flight; the
// read of batch n + 1 is sent once apply n was sent. Rollbacks and prunes are
// sent without draining: the service applies the requests in the order sent.
//
// Verification (also --verify-only --state): state_info's head equals g +
// the live batches the chain expects (when known); batch_metadata holds
// exactly the applies 1..head; read_latest of every resource finds a balance
// and the balances sum to resources x initial balance; read_at at up to five
// indexes from max(floor, g) to the head conserves the same sum.
//
// Side log (--ack-log). "intent sN-aI" before apply_batch I is sent,
// "intent sN-rI" before rollback_to I (N numbers the requests of the run, so
// tokens are unique although indexes are reused after rollbacks), "ack
// TOKEN" once its reply arrived; each line flushed (ack_log). After a crash,
// --verify-only --state --ack-log checks the head: the service applies its
// requests in the order sent, one atomic write at a time, so the store holds
// the effect of a prefix of the logged requests that contains every
// acknowledged one; the head must be the head after such a prefix (an apply
// I leaves head I, a rollback to I leaves I). Prunes change no head and are
// not logged.

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "tools/vstore-sim/run_context.hpp"
#include "tools/vstore-sim/sync_client.hpp"

namespace vstore::sim {

/// The metas key of a --state run's record: encode_params() ‖ g (8 bytes BE,
/// the genesis applies).
inline constexpr std::string_view state_params_key = "vstore-sim/state";

/// What the side log allows of a store's head (the rule above).
struct state_log_result {
  /// Intents logged and acknowledged.
  uint64_t intents = 0;
  uint64_t acked = 0;
  /// Whether `head` is the head after a prefix of the intents that contains
  /// every acknowledged one; how many intents that prefix holds (the first
  /// such one).
  bool head_ok = false;
  uint64_t prefix = 0;
  /// A malformed line, or "" (plain C++ for the unit tests).
  std::string error;
};

/// Checks `head` against the side log's text `log` for a run whose genesis
/// was applies 1..`genesis`. A last line without its newline (torn by a
/// crash) is ignored.
state_log_result check_state_log(const std::string& log, uint64_t genesis, uint64_t head);

/// Runs the --state workload (unless --verify-only) and its verification
/// over `manager`, whose spaces `client` reads. Fills ctx.summary. Returns an
/// exit code.
int drive_state(caf::actor_system& sys, const manager_actor& manager, sync_client& client,
                run_context& ctx);

}  // namespace vstore::sim
