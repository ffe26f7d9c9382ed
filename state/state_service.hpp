#pragma once

// The state service's spawn function with test hooks (source tree only; the
// public API is vstore/state.hpp). Each hook breaks one property on purpose,
// so that tests/state can show that the check of that property fails on it
// (a test that cannot fail proves nothing). Never set them outside tests.

#include "vstore/state.hpp"

namespace vstore {

/// Deliberate defects of a state service.
struct state_test_hooks {
  /// A rollback leaves out the first pointer it should restore (in resource
  /// order): that resource keeps the pointer of an undone batch.
  bool skip_one_restore = false;
  /// Each step of a read's walk reads a NEW snapshot (keep = false) instead
  /// of the one its first step took: a rollback or prune that runs between
  /// two steps tears the read.
  bool snapshot_per_step = false;
  /// Reads ignore the overlay of pending applies: a read sent after an apply
  /// that is not yet committed misses its writes.
  bool skip_overlay = false;
  /// A prune also deletes the rollback entries (and what they supersede) of
  /// the batch right above the floor.
  bool prune_one_above = false;
  /// A starting service ignores the floor stored in the metadata space.
  bool ignore_stored_floor = false;
};

/// spawn_state (vstore/state.hpp) with `hooks`.
status spawn_state(caf::actor_system& sys, manager_actor manager, const schema& s,
                   state_options opts, state_actor& out, const state_test_hooks& hooks);

}  // namespace vstore
