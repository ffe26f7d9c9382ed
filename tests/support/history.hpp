#pragma once

// Operation histories of single-key registers and a linearizability checker
// for them (plain C++, no CAF). A test records every read and write its
// clients make (invocation time, completion time, result), then checks each
// key's history with a Wing–Gong search (Lowe's memoized variant, as in
// Knossos and Porcupine): is there a total order of the operations that
// respects real time and in which every read returns the latest write?
//
// Writes whose outcome is unknown (an in-doubt reply, or no reply) may take
// effect at any point after their invocation, or never. Writes certainly not
// applied (write_outcome_of(code) == not_applied) never take effect. Reads
// that failed constrain nothing.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vstore/errc.hpp"

namespace vstore::test {

/// Whether an operation reads or writes its register.
enum class register_op : uint8_t { read, write };

/// What a client learnt about an operation.
enum class op_result : uint8_t {
  /// Acknowledged (a write committed; a read returned `value`).
  ok,
  /// Certainly not applied: a write answered with a code whose
  /// write_outcome_of() is not_applied; a read answered with any error.
  failed,
  /// A write that may have committed or may still commit: an error whose
  /// write_outcome_of() is maybe, or no reply at all. (A read without a reply
  /// is recorded as failed: it constrains nothing either way.)
  unknown,
};

/// Returns "ok", "failed" or "unknown".
const char* to_name(op_result x) noexcept;

/// Returns the result a write answered with `code` has: failed when the code
/// says "not applied", unknown otherwise.
constexpr op_result write_result_of(errc code) noexcept {
  return write_outcome_of(code) == write_outcome::not_applied ? op_result::failed
                                                              : op_result::unknown;
}

/// One operation on one register.
struct history_op {
  /// The client that made the call (for messages only).
  int client = 0;
  /// The register's name (e.g. "data/k3"); each name is a separate register.
  std::string key;
  register_op kind = register_op::read;
  /// A write: the value written (nullopt = a delete). A read: the value it
  /// returned (nullopt = absent).
  std::optional<std::string> value;
  /// When the client sent the request and when it got the reply, on one
  /// clock for the whole history (history::tick() or steady_clock ticks). An
  /// operation precedes another when it completed strictly before the other
  /// was invoked; equal times count as concurrent. The completion of an
  /// unknown write is ignored (it counts as +infinity).
  uint64_t invoked = 0;
  uint64_t completed = 0;
  op_result result = op_result::ok;
};

/// Renders an op for messages: "client 2 write 'c2-7' ok [t 14..19]".
std::string to_string(const history_op& op);

/// A thread-safe recorder of operations with a logical clock.
class history {
 public:
  /// Returns the next time of the history's clock. Take it right before a
  /// request is sent (invocation) and right after its reply arrived
  /// (completion): the clock's total order then respects real time.
  uint64_t tick() noexcept { return clock_.fetch_add(1) + 1; }

  /// Appends one operation. A write that touches several registers at once
  /// (a multi-space write) is recorded as one op per register with the same
  /// times and result.
  void add(history_op op);

  /// Returns a copy of every operation recorded so far, in recording order.
  std::vector<history_op> ops() const;

 private:
  std::atomic<uint64_t> clock_{0};
  mutable std::mutex mtx_;
  std::vector<history_op> ops_;
};

/// The verdict of a check.
enum class verdict : uint8_t {
  /// Every checked key's history is linearizable.
  ok,
  /// Some key's history is not linearizable (a bug, or a broken history).
  violation,
  /// The search ran out of budget, or a key holds too many operations: no
  /// conclusion. Never counts as ok.
  undecided,
};

/// Returns "ok", "violation" or "undecided".
const char* to_name(verdict x) noexcept;

/// Bounds of the search.
struct check_limits {
  /// The most operations a key's history may hold once failed ops are left
  /// out (ok reads, ok writes, unknown writes); a longer history is undecided
  /// without a search. Default: 200.
  size_t max_ops_per_key = 200;
  /// Search steps per key (one step tries to linearize one op, or backtracks
  /// one); past it the key is undecided. Default: 2,000,000.
  uint64_t max_steps_per_key = 2'000'000;
  /// Wall time for the whole check (all keys); keys not finished in time are
  /// undecided. Default: 10 s.
  std::chrono::milliseconds max_time{10000};
};

/// The result of checking one key.
struct key_verdict {
  std::string key;
  verdict result = verdict::ok;
  /// Why (violation or undecided); empty when ok.
  std::string explanation;
  /// Indices (into the checked vector) of the ops the explanation names.
  std::vector<size_t> involved;
  /// Ops the search considered (failed ones left out), and steps it took.
  size_t ops = 0;
  uint64_t steps = 0;
};

/// The result of checking a whole history.
struct check_result {
  /// violation if any key has one, else undecided if any key is, else ok.
  verdict result = verdict::ok;
  /// Every key, in name order.
  std::vector<key_verdict> keys;
  /// Counts over the keys.
  size_t violations = 0;
  size_t undecided = 0;
  /// The most steps one key took.
  uint64_t max_steps = 0;

  /// Returns "ok (N keys)" or the first violation's (else undecided key's)
  /// explanation, prefixed with the verdict.
  std::string to_string() const;
};

/// Checks the history of one register: every op in `ops` must name the same
/// key. Indices in the result refer to `ops`.
key_verdict check_key(const std::vector<history_op>& ops, const check_limits& limits = {});

/// Checks every key of `ops` (a register whose initial value is absent, one
/// per key name). Indices in the result refer to `ops`.
check_result check_history(const std::vector<history_op>& ops, const check_limits& limits = {});

}  // namespace vstore::test
