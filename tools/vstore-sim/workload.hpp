#pragma once

// The scheduler workload's model in plain C++ (no CAF): the key layouts, the
// numbering of batches and versions, and the planning of batches, rollbacks,
// prunes and the genesis as vstore write requests. The scheduler actor
// (scheduler.hpp) only moves these plans through the manager.
//
// Layout (every integer is 8 bytes big-endian, vstore::be_u64):
//
//   latest_ptr      resource                  -> version
//   data            version ‖ resource        -> balance (‖ zero padding)
//   rollback_ptr    batch index ‖ resource    -> previous version (0 = none)
//   batch_metadata  batch index               -> batch_meta (see below)
//   metas           "vstore-sim/params"       -> sim_params (written by the genesis)
//
// Chains. A scheduler with W lanes runs W independent chains of batches; chain
// c = scheduler * W + lane owns a disjoint range of resource ids and a disjoint
// range of batch indexes: batch index = c << 40 | n, where n = 0, 1, 2, ... is
// the batch's number within its chain. A rollback removes the chain's last
// batches and the chain continues with the numbers it freed, so every chain's
// batch_metadata always holds exactly the numbers 0..live-1 (contiguous).
//
// Versions. Batch n of chain c writes version (c + 1) << 40 | (n + 1) for every
// resource it touches; the genesis writes version (c + 1) << 40. A resource
// belongs to exactly one chain, so its versions only grow along its chain of
// live batches (a version freed by a rollback is written again by the batch
// that reuses the number).
//
// Pruning. Batch n made the previous versions of the resources it touched
// obsolete; its rollback_ptr entries name them. Pruning batches [a, b) of a
// chain deletes those previous versions from data (point deletes: the live
// versions of untouched resources lie between them, so no key range is all
// garbage) and the rollback_ptr entries of [a, b). Pruned batches can no
// longer be rolled back; batch_metadata keeps them, so its contiguity stays
// checkable.
//
// Range deletes. A rollback removes its batches' batch_metadata with one range
// delete (the workload never reads batch_metadata while it runs). rollback_ptr
// entries are removed with point deletes by default, since the scan already
// returned their keys: with RocksDB 7.8 every read of a space (Get, MultiGet,
// iterator) re-fragments all range tombstones in that space's memtable, so
// range deletes in a space that is read keep getting more expensive until the
// memtable flushes (measured: over 20% of the CPU at ~4000 tombstones).
// `range_deletes` = true uses one range delete per rollback and per prune in
// rollback_ptr instead (vstore-sim --range-deletes) to measure exactly that.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vstore/concat_bytes.hpp"
#include "vstore/requests.hpp"
#include "vstore/schema.hpp"

namespace vstore::sim {

/// Bits of a batch index (and version) below the chain number.
inline constexpr unsigned chain_shift = 40;

/// The most chains a store can hold (the chain number takes 23 bits so that
/// versions, which add one, stay below 2^63).
inline constexpr uint64_t max_chains = uint64_t{1} << 22;

/// The balance every resource starts with.
inline constexpr uint64_t initial_balance = 1'000'000;

/// The metas key of the run's parameters.
inline constexpr std::string_view params_key = "vstore-sim/params";

/// Returns the global batch index of batch `n` of chain `chain`.
constexpr uint64_t batch_index(uint64_t chain, uint64_t n) noexcept {
  return (chain << chain_shift) | n;
}
/// Returns the chain of a batch index.
constexpr uint64_t chain_of(uint64_t index) noexcept { return index >> chain_shift; }
/// Returns the number of a batch within its chain.
constexpr uint64_t number_of(uint64_t index) noexcept {
  return index & ((uint64_t{1} << chain_shift) - 1);
}
/// Returns the version written by batch `n` of chain `chain`.
constexpr uint64_t batch_version(uint64_t chain, uint64_t n) noexcept {
  return ((chain + 1) << chain_shift) | (n + 1);
}
/// Returns the version the genesis writes for the resources of `chain`.
constexpr uint64_t genesis_version(uint64_t chain) noexcept { return (chain + 1) << chain_shift; }

/// The batch_metadata checksum before any resource (FNV-1a offset basis).
inline constexpr uint64_t checksum_start = 14695981039346656037ull;
/// Adds one data put (resource, its new version, its new balance) to a batch
/// checksum; a batch's resources are added in ascending order.
uint64_t checksum_step(uint64_t checksum, uint64_t resource, uint64_t version, uint64_t balance);

/// Returns the latest_ptr key of a resource.
std::string latest_key(uint64_t resource);
/// Returns the data key of a resource's version.
std::string data_key(uint64_t version, uint64_t resource);
/// Returns the rollback_ptr key of a resource touched by a batch.
std::string rollback_key(uint64_t index, uint64_t resource);
/// Returns the batch_metadata key of a batch (also the rollback_ptr prefix of its entries).
std::string batch_key(uint64_t index);
/// Returns the 3-byte key prefix shared by every batch index of a chain.
std::string chain_prefix(uint64_t chain);

/// Encodes a balance as a data value: 8 bytes big-endian, zero-padded to
/// `value_bytes` (at least 8).
std::string encode_balance(uint64_t balance, uint32_t value_bytes);
/// Decodes the first 8 bytes of `bytes` as big-endian; false if too short.
bool decode_u64(std::string_view bytes, uint64_t& out);

/// The state spaces the workload uses, resolved by name from the store's schema.
struct space_set {
  space_id data = spaces::data;
  space_id latest = spaces::latest_ptr;
  space_id rollback = spaces::rollback_ptr;
  space_id meta = spaces::batch_metadata;
  space_id metas = spaces::metas;
};

/// Finds the workload's spaces among `names` (in id order). Returns the name
/// of the first missing space, or nothing on success.
std::optional<std::string> resolve_spaces(const std::vector<std::string>& names, space_set& out);

/// The run's shape, stored in metas by the genesis so that --verify-only can
/// check a store without being told how it was made.
struct sim_params {
  /// Scheduler actors (K).
  uint32_t schedulers = 0;
  /// Lanes (independent chains) per scheduler (W).
  uint32_t lanes = 1;
  /// Resources per scheduler (R), split across its lanes.
  uint64_t resources = 0;
  /// Bytes of every data value (the balance plus zero padding).
  uint32_t value_bytes = 8;
  /// The balance of every resource at the genesis.
  uint64_t balance = initial_balance;

  /// Returns the number of chains (K * W).
  uint64_t chains() const noexcept { return uint64_t{schedulers} * lanes; }
  /// Returns the number of resources (K * R).
  uint64_t total_resources() const noexcept { return uint64_t{schedulers} * resources; }
  /// Returns the total balance the store must hold at any time.
  uint64_t total_balance() const noexcept { return total_resources() * balance; }
};

/// Encodes the parameters as the metas value.
std::string encode_params(const sim_params& p);
/// Decodes the metas value; false if malformed.
bool decode_params(std::string_view bytes, sim_params& out);

/// The resources one chain owns: ids [first, first + count).
struct chain_spec {
  uint64_t chain = 0;
  uint64_t first = 0;
  uint64_t count = 0;
};

/// Returns the resources of chain `chain` (scheduler chain / W, lane chain % W):
/// the scheduler's R resources split into W nearly equal parts.
chain_spec chain_layout(const sim_params& p, uint64_t chain);

/// What batch_metadata holds for a batch.
struct batch_meta {
  /// The chain (scheduler * W + lane) that committed the batch.
  uint64_t chain = 0;
  /// The scheduler and lane, for humans reading the store.
  uint32_t scheduler = 0;
  uint32_t lane = 0;
  /// Transfers in the batch and distinct resources it touched.
  uint32_t transfers = 0;
  uint32_t touched = 0;
  /// FNV-1a over (resource, new version, new balance) of every data put.
  uint64_t checksum = 0;
};

/// Encodes batch metadata (32 bytes).
std::string encode_meta(const batch_meta& m);
/// Decodes batch metadata; false if malformed.
bool decode_meta(std::string_view bytes, batch_meta& out);

/// One transfer of `amount` from `from` to `to` (clamped to what `from` holds
/// when the batch is built).
struct transfer {
  uint64_t from = 0;
  uint64_t to = 0;
  uint64_t amount = 0;
};

class pending_writes;

/// One batch of a chain, from its random transfers to its write request.
/// Use: make(), optionally use_pending(), latest_read(), on_latest(),
/// data_read(), on_data(), commit(). Resources taken from pending writes are
/// left out of both reads (a read with no keys need not be sent).
class batch_plan {
 public:
  /// Draws `transfers` random transfers between distinct resources of `chain`
  /// (which must own at least two) for batch `n`.
  void make(const chain_spec& chain, uint64_t n, uint32_t transfers, std::mt19937_64& rng);

  /// Returns the batch's global index.
  uint64_t index() const noexcept { return index_; }
  /// Returns the number of transfers.
  size_t transfer_count() const noexcept { return transfers_.size(); }
  /// Returns the distinct resources touched, ascending.
  const std::vector<uint64_t>& touched() const noexcept { return touched_; }

  /// Takes the version and balance of every touched resource that `pending`
  /// holds (written by a batch sent but not yet acknowledged) instead of
  /// reading them from the store. Call it right after make().
  void use_pending(const pending_writes& pending);
  /// Returns how many touched resources came from pending writes.
  size_t from_pending() const noexcept;

  /// Returns the latest_ptr keys of the touched resources still to read.
  std::vector<std::string> latest_read() const;
  /// Takes the latest_ptr values (found flags and values in key order).
  /// Returns an error text if one is missing or malformed.
  std::optional<std::string> on_latest(const std::vector<uint8_t>& found,
                                       const std::vector<std::string>& values);
  /// Returns the data keys of the current versions of the touched resources
  /// still to read.
  std::vector<std::string> data_read() const;
  /// Takes the data values; returns an error text if one is missing or malformed.
  std::optional<std::string> on_data(const std::vector<uint8_t>& found,
                                     const std::vector<std::string>& values);

  /// Takes the balance of every touched resource, in touched() order, as a
  /// state service's read_latest answers it (vstore-sim --state: the service
  /// keeps the versions). Returns an error text if one is missing or malformed.
  std::optional<std::string> on_balances(const std::vector<uint8_t>& found,
                                         const std::vector<std::string>& values);

  /// Applies the transfers and returns the batch's one atomic write: new data
  /// versions, latest_ptr updates, rollback_ptr entries and batch_metadata.
  write_request commit(const space_set& s, uint32_t scheduler, uint32_t lane,
                       uint32_t value_bytes) const;

  /// Returns the version this batch writes for every resource it touches.
  uint64_t version() const noexcept { return batch_version(chain_, n_); }
  /// Returns the balances after the transfers, in touched() order (valid
  /// once the reads are done).
  std::vector<uint64_t> balances_after() const;

 private:
  uint64_t chain_ = 0;
  uint64_t n_ = 0;
  uint64_t index_ = 0;
  std::vector<transfer> transfers_;
  std::vector<uint64_t> touched_;
  std::vector<uint64_t> versions_;
  std::vector<uint64_t> balances_;
  /// Per touched resource: 1 if its version and balance came from pending writes.
  std::vector<uint8_t> known_;
};

/// A pipelining scheduler's record of its pending writes: for every resource
/// that a batch sent but not yet acknowledged wrote, the newest such batch,
/// the version it wrote and the balance it left. The next batch of the chain
/// takes those resources from here instead of the store, so it never waits
/// for an acknowledgement; the store is right for every other resource,
/// since nothing in flight writes it.
class pending_writes {
 public:
  /// One resource's newest pending write.
  struct entry {
    uint64_t index = 0;
    uint64_t version = 0;
    uint64_t balance = 0;
  };

  /// Records batch `b` as sent (its reads done).
  void sent(const batch_plan& b);
  /// Forgets batch `b`'s writes where no later pending batch overwrote them.
  void acknowledged(const batch_plan& b);
  /// Returns the newest pending write of `resource`, or null.
  const entry* find(uint64_t resource) const;
  /// Returns the number of resources with a pending write.
  size_t size() const noexcept { return entries_.size(); }
  /// Forgets everything (the pipeline failed).
  void clear() noexcept { entries_.clear(); }

 private:
  std::unordered_map<uint64_t, entry> entries_;
};

/// Rolls back batches [first, end) of a chain (its last ones).
/// Use: reset(), then scan_request() / on_page() per batch until done(), then commit().
class rollback_plan {
 public:
  /// Starts a rollback of batches [first, end) of `chain` (end > first).
  void reset(uint64_t chain, uint64_t first, uint64_t end);

  /// Returns whether every batch's rollback_ptr entries were read.
  bool done() const noexcept { return next_ >= end_; }
  /// Returns the scan of the rollback_ptr entries still to read (prefix =
  /// the current batch's 8-byte index).
  scan_request next_scan(const space_set& s, uint32_t page) const;
  /// Takes one page of that scan. Returns an error text if the batch has no
  /// entries or an entry is malformed.
  std::optional<std::string> on_page(const scan_reply& page);

  /// Returns the rollback's one atomic write: latest_ptr set back to the
  /// previous versions (deleted where there was none), the rolled-back data
  /// versions and rollback_ptr entries deleted (one range delete with
  /// `range_deletes`), batch_metadata of the batches range-deleted.
  write_request commit(const space_set& s, bool range_deletes) const;

  /// Returns the number of batches rolled back.
  uint64_t batches() const noexcept { return end_ - first_; }

 private:
  struct entry {
    uint64_t n;
    uint64_t resource;
    uint64_t previous;
  };
  uint64_t chain_ = 0;
  uint64_t first_ = 0;
  uint64_t end_ = 0;
  uint64_t next_ = 0;
  std::string start_after_;
  bool seen_ = false;
  std::vector<entry> entries_;
};

/// Prunes batches [first, end) of a chain: deletes the versions they made
/// obsolete and their rollback_ptr entries.
/// Use: reset(), then next_scan() / on_page() until done(), then commit().
class prune_plan {
 public:
  /// Starts a prune of batches [first, end) of `chain` (end > first).
  void reset(uint64_t chain, uint64_t first, uint64_t end);

  /// Returns whether every rollback_ptr entry of the range was read.
  bool done() const noexcept { return done_; }
  /// Returns the next page's scan: the chain's prefix, after the entries read
  /// so far, at most `page` entries.
  scan_request next_scan(const space_set& s, uint32_t page) const;
  /// Takes one page; returns an error text on a malformed entry.
  std::optional<std::string> on_page(const scan_reply& page);

  /// Returns the prune's one atomic write: the obsolete data versions and
  /// the rollback_ptr entries deleted (one range delete with `range_deletes`).
  write_request commit(const space_set& s, bool range_deletes) const;

  /// Returns the number of batches pruned and data versions deleted.
  uint64_t batches() const noexcept { return end_ - first_; }
  uint64_t versions() const noexcept { return obsolete_.size(); }

 private:
  uint64_t chain_ = 0;
  uint64_t first_ = 0;
  uint64_t end_ = 0;
  std::string start_after_;
  bool done_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> obsolete_;  // (version, resource)
  std::vector<std::string> entries_;                     // rollback_ptr keys
};

/// Returns the genesis as write requests of at most `max_ops` operations each:
/// every resource at version genesis_version(chain) with `p.balance`, and the
/// parameters record in metas in the LAST request, so that a store holding the
/// record holds the whole genesis.
std::vector<write_request> genesis(const sim_params& p, const space_set& s, size_t max_ops);

/// Returns the number of forward batches lane `lane` of a scheduler commits
/// when the scheduler commits `batches` split across `lanes` lanes.
uint64_t lane_batches(uint64_t batches, uint32_t lanes, uint32_t lane) noexcept;

/// Returns a seed for chain `chain` of a run seeded with `seed` (splitmix64).
uint64_t chain_seed(uint64_t seed, uint64_t chain) noexcept;

}  // namespace vstore::sim
