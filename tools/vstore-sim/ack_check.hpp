#pragma once

// The exact crash check. Plain C++, no CAF.
//
// The side log (--ack-log) holds one line per event, flushed line by line:
//
//   intent TOKEN    written before the write is sent
//   ack TOKEN       written after its commit_ack arrived
//
// Every write that changes a chain's batches carries a unique idempotency
// token that names it (see write_token()):
//
//   c<chain>-<n>-<s>      the commit of batch number n of the chain
//   r<chain>-<n>-<k>-<s>  one rollback write removing batches n..n+k-1
//
// s is the chain's write ordinal (0, 1, 2, ... over its logged intents), so
// a batch number committed again after a rollback gets a new token. Intents
// of one chain appear in chain order (the order the writes were sent).
//
// After a kill, each intent without an ack is in doubt; the store's token
// table resolves it (outcome_request). The check then replays each chain's
// intents in order, acknowledged and resolved-committed ones in effect, the
// others not, and requires the store's live batches to EQUAL the result:
// an acknowledged write lost, an in-doubt write resolved committed but not
// there, a batch beyond the logged intents, all fail.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/requests.hpp"

namespace vstore::sim {

/// One write that changes a chain's batches.
struct chain_write {
  /// A batch commit, or a rollback of the chain's last `count` batches.
  bool rollback = false;
  uint64_t chain = 0;
  /// Commit: the batch's number in its chain. Rollback: the first batch
  /// number it removes.
  uint64_t first = 0;
  /// Batches removed (rollback only).
  uint64_t count = 0;
  /// The chain's write ordinal.
  uint64_t ordinal = 0;
};

/// Returns the write's token ("c3-17-20", "r3-15-2-21"); at most 64 bytes.
std::string write_token(const chain_write& w);
/// Parses a token made by write_token(); false if it is not one.
bool parse_token(std::string_view token, chain_write& out);

/// A side log, read.
struct side_log {
  /// One logged intent, in log order.
  struct intent {
    std::string token;
    chain_write write;
    bool acked = false;
  };
  std::vector<intent> intents;
  /// Returns the tokens of the intents without an ack, in log order.
  std::vector<std::string> in_doubt() const;
};

/// Parses the side log's text. A last line without its newline (torn by the
/// kill) is ignored; any other malformed line, an ack without its intent, a
/// token logged twice or a chain's ordinals out of sequence is an error.
status parse_side_log(std::string_view text, side_log& out);
/// Reads and parses the side log at `path`.
status read_side_log(const std::string& path, side_log& out);

/// What the exact check found.
struct ack_check_result {
  /// Logged intents, and the acknowledged commits and rollbacks among them.
  uint64_t intents = 0;
  uint64_t acked_commits = 0;
  uint64_t acked_rollbacks = 0;
  /// In-doubt intents the store resolved committed / not committed, and
  /// those it could not resolve (pending or unknown).
  uint64_t resolved_committed = 0;
  uint64_t resolved_not_committed = 0;
  uint64_t unresolved = 0;
  /// Chains compared with the store.
  uint64_t chains = 0;
  /// One line per chain whose store state differs (empty = passed).
  std::vector<std::string> failures;
};

/// Replays `log` per chain: an acknowledged intent is in effect; an in-doubt
/// one as `resolved` says (committed: in effect; not_committed: not; pending,
/// unknown or missing: either way). A commit of batch n in effect needs the
/// chain to hold exactly n batches at that point, a rollback of n..n+k-1
/// exactly n+k. Every chain 0..live.size()-1 (and every chain in the log)
/// must hold exactly the resulting number of batches; a chain without intents
/// holds none. When the unresolved intents leave several results possible and
/// the store matches one of them, the chain fails as "cannot decide".
ack_check_result check_side_log(const side_log& log,
                                const std::map<std::string, write_state>& resolved,
                                const std::vector<uint64_t>& live);

}  // namespace vstore::sim
