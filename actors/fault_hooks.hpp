#pragma once

#include <chrono>

#include "vstore/schema.hpp"

namespace vstore {

/// Test-only fault injection points. Production code passes no hooks (one null
/// check per command). A hook that throws kills the calling actor, exactly as a
/// crash inside a backend call would; the manager then restarts it.
class fault_hooks {
 public:
  virtual ~fault_hooks() = default;
  /// Runs in a reader before every read of `space`.
  virtual void on_read(space_id space) { (void)space; }
  /// Runs in the writer of `space` for every part it receives.
  virtual void on_write(space_id space) { (void)space; }
  /// Runs in the committer before every backend commit.
  virtual void on_commit() {}
  /// Runs in the committer after every backend commit, before any answer (a
  /// throw here is a commit actor that dies with its round applied).
  virtual void after_commit() {}
  /// Returns whether the committer skips batches whose token already
  /// committed. Only the tests' deliberately broken store answers false.
  virtual bool dedup_tokens() { return true; }
  /// Returns the period of the manager's tick (deadlines, waiting lookups, a
  /// drain's pace), given its usual one. A test lengthens it to show that
  /// something happens without waiting for a tick.
  virtual std::chrono::milliseconds tick_period(std::chrono::milliseconds usual) { return usual; }
};

}  // namespace vstore
