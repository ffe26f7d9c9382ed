#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vstore/requests.hpp"

namespace vstore {

/// The commit actor's memory of committed idempotency tokens, without CAF.
///
/// Every token is written to the backend's system space in the same atomic
/// commit as its write (key "t" + token, value: commit sequence number and
/// wall-clock milliseconds, both 8 bytes big-endian), so the index is rebuilt
/// from the backend when a commit actor starts. Tokens are forgotten oldest
/// first, past `retain_count` or `retain_age`; the highest sequence number of a
/// forgotten token is kept (key "m.forgotten-through") so that an outcome is
/// never answered `not_committed` for a token that may have been forgotten.
class token_index {
 public:
  /// What the index knows of one committed token.
  struct entry {
    uint64_t seq = 0;
    /// Wall-clock milliseconds since the epoch of the commit.
    int64_t unix_ms = 0;
  };

  token_index(uint64_t retain_count, std::chrono::milliseconds retain_age);

  /// The system-space key of a token's record.
  static std::string record_key(std::string_view token);
  /// The system-space key holding forgotten_through().
  static std::string forgotten_key();
  /// The prefix of every token record.
  static std::string_view record_prefix() noexcept { return "t"; }
  /// Encodes and decodes a record's value; decode returns false on a value of
  /// the wrong size.
  static std::string encode(const entry& e);
  static bool decode(std::string_view value, entry& out);
  /// Encodes and decodes a sequence number (8 bytes big-endian).
  static std::string encode_seq(uint64_t seq);
  static bool decode_seq(std::string_view value, uint64_t& out);

  /// Adds a record read from the backend (any order; call finish_load after).
  void load(std::string token, entry e);
  /// Sorts what load() added into commit order.
  void finish_load();
  /// Sets the highest forgotten sequence number (read from the backend, or
  /// UINT64_MAX when the records could not be read: then no absent token is
  /// ever answered not_committed).
  void set_forgotten_through(uint64_t seq) noexcept { forgotten_through_ = seq; }

  /// Returns the commit of `token`, if remembered.
  std::optional<entry> find(const std::string& token) const;
  /// Remembers a token committed as `e` (a token already present keeps its
  /// first commit).
  void insert(const std::string& token, entry e);
  /// Records a token whose backend commit failed: its fate is known only after
  /// the store reopens, so outcome() answers pending, and the committer refuses
  /// to apply a retry of it (both could end up applied). Bounded by
  /// retain_count: once one was dropped, every absent token is answered
  /// unknown, never not_committed.
  void mark_doubtful(const std::string& token);
  /// Returns whether `token`'s commit failed (see mark_doubtful).
  bool doubtful(const std::string& token) const { return doubtful_.count(token) > 0; }

  /// Forgets the oldest tokens past retain_count and those committed before
  /// now_ms - retain_age; returns them (their records are to be deleted in the
  /// next commit, together with the new forgotten_through()).
  std::vector<std::string> forget(int64_t now_ms);

  /// Answers an outcome_request for a token nothing in the pipeline carries.
  outcome_reply outcome(const std::string& token, uint64_t not_before_seq) const;

  uint64_t forgotten_through() const noexcept { return forgotten_through_; }
  size_t size() const noexcept { return by_token_.size(); }
  uint64_t forgotten_total() const noexcept { return forgotten_total_; }

 private:
  struct ordered {
    uint64_t seq;
    int64_t unix_ms;
    std::string token;
  };

  uint64_t retain_count_;
  int64_t retain_age_ms_;
  std::unordered_map<std::string, entry> by_token_;
  /// Tokens in commit order (oldest first).
  std::deque<ordered> order_;
  std::unordered_set<std::string> doubtful_;
  std::deque<std::string> doubtful_order_;
  uint64_t forgotten_through_ = 0;
  uint64_t forgotten_total_ = 0;
  /// Whether a doubtful token was dropped by the bound.
  bool doubt_dropped_ = false;
};

}  // namespace vstore
