#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace vstore {

/// Every error vstore answers to a caller. Code 0 is reserved (CAF treats it as
/// "no error"), so the first code is 1. Each code says what the caller should
/// do, and for a write whether it was applied (write_outcome_of): *no* means it
/// never will be, so retrying is safe; *maybe* means it may have committed or
/// may still commit, so retry only with the same idempotency token or ask
/// outcome_request.
enum class errc : uint8_t {
  /// The request names a state space the store does not have. Fix the request.
  unknown_space = 1,
  /// The request has an empty key. Fix the request.
  empty_key,
  /// A key, value, batch or scan limit exceeds a configured limit. Split or shrink it.
  too_large,
  /// A request field is malformed (for example a scan limit of 0). Fix the request.
  invalid_argument,
  /// The space's queue is full. Back off and retry later. Write: not applied.
  overloaded,
  /// The space failed past its restart limit, or the store is not open. Retry
  /// against another replica or after an operator intervened. Write: not
  /// applied (it was refused before admission).
  unavailable,
  /// A read, or a client's wait, was not answered in time. The store answers an
  /// admitted write whose deadline passed with in_doubt instead; a client that
  /// gives up waiting sees timeout. Write: maybe applied.
  timeout,
  /// The store is shutting down and accepts no new work. Write: not applied
  /// (refused before admission; a write cut off by the shutdown grace period is
  /// answered in_doubt).
  shutting_down,
  /// The write can never commit: the multi-space batch missed a part (its
  /// writer went down before sealing it, or the batch stalled past
  /// supervisor.stall-abort), or its token never committed and nothing can
  /// commit it any more (its writer or commit actor went down).
  /// Write: not applied, and never will be; retrying is safe.
  aborted,
  /// The backend reported an I/O error. Write: maybe applied (the manager
  /// answers a write whose commit failed with in_doubt; a write refused at
  /// admission because the store is degraded by an I/O error also gets
  /// io_error, its context saying nothing was applied).
  io_error,
  /// The backend found corrupt data. Stop and repair the store.
  corruption,
  /// The store on disk does not match the configured schema. Fix the configuration.
  schema_mismatch,
  /// A configuration value is invalid; the message names the key.
  invalid_config,
  /// The operation is not supported by this backend.
  not_supported,
  /// The connection to a remote store was lost. The outcome of writes is unknown.
  disconnected,
  /// An internal invariant failed. Report it as a bug. Write: maybe applied.
  internal,
  /// The write was admitted but its fate is not known: it may have committed or
  /// may still commit (shutdown cut-off, a writer or the commit actor went down
  /// after sealing it, its deadline passed, the backend commit failed). Retry
  /// with the same idempotency token (applied at most once), or ask
  /// outcome_request{token}. Write: maybe applied.
  in_doubt,
  /// The store's disk is full, or its free space fell below store.min-free-space:
  /// writes are refused until space is freed (reads are served). The store
  /// leaves this state by itself once space is free again. Write: not applied
  /// (refused before anything was written).
  no_space,
  /// The connection's role does not allow the request: vstored grants a role
  /// (read, write or admin) to each listener, and this listener's peers may
  /// not send it (a read-only peer a write or flush; a peer without the admin
  /// role drain, checkpoint or another admin command). Nothing was applied:
  /// retrying on the same connection fails again; connect to a listener whose
  /// role allows the request (docs/operations.md, "Who may do what"), or ask
  /// the operator for a certificate of its CA. Write: not applied.
  forbidden,
  /// This node is a read replica (vstored --follow): it serves reads and
  /// refuses every write; the context names its primary. Send writes to the
  /// primary. Write: not applied.
  read_only,
  /// A read asked for min_seq (read your writes) and the replica had not
  /// applied the primary's log that far within the wait: nothing was read.
  /// Retry, read from another node, or from the primary.
  lagging,
  /// A replica asked the primary for its log from a sequence the primary no
  /// longer holds (past its [replication] retention), or beyond its end: the
  /// replica must copy a fresh checkpoint (it does so by itself).
  resync_needed,
  /// A snapshot_read_request named a kept snapshot the store no longer holds
  /// (released, its lease ran out, or the store restarted): nothing was
  /// read. Start the reads again at a new snapshot.
  snapshot_expired,
  /// A state operation (vstore/state.hpp) asked for history below the
  /// pruning floor (a rollback or a read_at there): nothing was changed or
  /// read. The floor is in state_info.
  pruned,
};

/// The highest errc value (for iteration in tests and stats).
inline constexpr uint8_t errc_max = static_cast<uint8_t>(errc::pruned);

/// Whether a write answered with an error was applied.
enum class write_outcome : uint8_t {
  /// It was not applied and never will be: retrying is safe.
  not_applied,
  /// It may have committed or may still commit.
  maybe,
};

/// Returns what a write answered with `x` tells about the write: not_applied
/// for codes answered only before admission or for a batch that can never
/// commit; maybe for every other code (including codes a write should never
/// get, to stay on the safe side).
constexpr write_outcome write_outcome_of(errc x) noexcept {
  switch (x) {
    case errc::unknown_space:
    case errc::empty_key:
    case errc::too_large:
    case errc::invalid_argument:
    case errc::overloaded:
    case errc::unavailable:
    case errc::shutting_down:
    case errc::aborted:
    case errc::schema_mismatch:
    case errc::invalid_config:
    case errc::not_supported:
    case errc::no_space:
    case errc::forbidden:
    case errc::read_only:
    case errc::snapshot_expired:
    case errc::pruned:
      return write_outcome::not_applied;
    case errc::timeout:
    case errc::io_error:
    case errc::corruption:
    case errc::disconnected:
    case errc::internal:
    case errc::in_doubt:
    case errc::lagging:
    case errc::resync_needed:
      return write_outcome::maybe;
  }
  return write_outcome::maybe;
}

/// Returns "no" or "maybe": the outcome column of the README's error table.
constexpr const char* to_name(write_outcome x) noexcept {
  return x == write_outcome::not_applied ? "no" : "maybe";
}

/// Returns the short name of a code, e.g. "overloaded".
constexpr const char* to_name(errc x) noexcept {
  switch (x) {
    case errc::unknown_space:
      return "unknown_space";
    case errc::empty_key:
      return "empty_key";
    case errc::too_large:
      return "too_large";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::overloaded:
      return "overloaded";
    case errc::unavailable:
      return "unavailable";
    case errc::timeout:
      return "timeout";
    case errc::shutting_down:
      return "shutting_down";
    case errc::aborted:
      return "aborted";
    case errc::io_error:
      return "io_error";
    case errc::corruption:
      return "corruption";
    case errc::schema_mismatch:
      return "schema_mismatch";
    case errc::invalid_config:
      return "invalid_config";
    case errc::not_supported:
      return "not_supported";
    case errc::disconnected:
      return "disconnected";
    case errc::internal:
      return "internal";
    case errc::in_doubt:
      return "in_doubt";
    case errc::no_space:
      return "no_space";
    case errc::forbidden:
      return "forbidden";
    case errc::read_only:
      return "read_only";
    case errc::lagging:
      return "lagging";
    case errc::resync_needed:
      return "resync_needed";
    case errc::snapshot_expired:
      return "snapshot_expired";
    case errc::pruned:
      return "pruned";
  }
  return "unknown_error";
}

/// Returns a sentence describing a code and what the caller should do.
constexpr const char* to_message(errc x) noexcept {
  switch (x) {
    case errc::unknown_space:
      return "unknown state space";
    case errc::empty_key:
      return "empty key";
    case errc::too_large:
      return "request exceeds a configured size limit";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::overloaded:
      return "queue full, retry later (nothing was applied)";
    case errc::unavailable:
      return "state space unavailable";
    case errc::timeout:
      return "request timed out (a write may have been applied)";
    case errc::shutting_down:
      return "store is shutting down (nothing was applied)";
    case errc::aborted:
      return "write aborted: nothing was applied, and nothing will be";
    case errc::io_error:
      return "backend I/O error";
    case errc::corruption:
      return "backend data corruption";
    case errc::schema_mismatch:
      return "stored schema differs from the configuration";
    case errc::invalid_config:
      return "invalid configuration";
    case errc::not_supported:
      return "operation not supported";
    case errc::disconnected:
      return "connection to the store lost";
    case errc::internal:
      return "internal error";
    case errc::in_doubt:
      return "write outcome unknown: it may have committed or may still commit; "
             "retry with its token or ask for its outcome";
    case errc::no_space:
      return "no space left for the store: writes are refused until space is freed "
             "(nothing was applied)";
    case errc::forbidden:
      return "not allowed for this connection's role (read, write or admin): nothing was "
             "applied; use a listener whose role allows it";
    case errc::read_only:
      return "this node is a read replica: writes go to its primary (nothing was applied)";
    case errc::lagging:
      return "the replica has not applied the asked sequence yet: retry, or read elsewhere";
    case errc::resync_needed:
      return "the primary no longer holds the log from that sequence: copy a fresh checkpoint";
    case errc::snapshot_expired:
      return "the kept snapshot is gone (released or its lease ran out): nothing was read; "
             "read again at a new snapshot";
    case errc::pruned:
      return "that history is below the pruning floor: nothing was changed or read";
  }
  return "unknown error";
}

/// Returns the short name of a code (CAF renders errors with it).
inline std::string to_string(errc x) { return to_name(x); }

/// The outcome of a backend or client call: ok, or a code with a context message.
class status {
 public:
  /// Constructs a success.
  status() noexcept = default;
  /// Constructs a failure with `code` and a context message.
  status(errc code, std::string context) : code_(code), ok_(false), context_(std::move(context)) {}
  /// Constructs a failure with `code` and no context.
  explicit status(errc code) : code_(code), ok_(false) {}

  /// Returns whether the call succeeded, as rocksdb::Status::ok() does (a
  /// success is `status{}`). is_ok() and the bool conversion say the same.
  bool ok() const noexcept { return ok_; }
  bool is_ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  /// Returns the error code; meaningless on success.
  errc code() const noexcept { return code_; }
  /// Returns the context message (may be empty).
  const std::string& context() const noexcept { return context_; }
  /// Renders "name: message (context)" or "ok".
  std::string to_string() const {
    if (ok_) return "ok";
    std::string out = to_name(code_);
    out += ": ";
    out += to_message(code_);
    if (!context_.empty()) {
      out += " (";
      out += context_;
      out += ")";
    }
    return out;
  }

 private:
  errc code_ = errc::internal;
  bool ok_ = true;
  std::string context_;
};

}  // namespace vstore
