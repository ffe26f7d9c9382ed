#pragma once

// The state service's layout and rules as plain C++ (no CAF actors): the key
// encoding of the four spaces (vstore/state.hpp), and the rules that turn
// applies, rollbacks and prunes into write operations, the overlay of
// pending applies that reads consult, and the walk that reads a resource as
// of a batch. state_service.cpp only moves these between the manager and the
// callers; tests/state/state_layout_test.cpp drives them without an actor.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/requests.hpp"
#include "vstore/schema.hpp"

namespace vstore {

/// A batch index (vstore/state.hpp).
using batch_index = uint64_t;

namespace state_layout {

/// One write of a batch (vstore::resource_write without CAF): `resource`
/// gets `value`, or (remove) is deleted.
struct change {
  std::string resource;
  bool remove = false;
  std::string value;
};

/// The reserved batch index: meta keys start with its encoding.
inline constexpr batch_index reserved_index = UINT64_MAX;

/// The ids of the four spaces of one service.
struct space_ids {
  space_id data = 0;
  space_id latest = 0;
  space_id rollback = 0;
  space_id metadata = 0;
};

/// Returns `b` as 8 big-endian bytes (byte order = numeric order).
std::string encode_index(batch_index b);

/// Decodes 8 big-endian bytes; nothing when `bytes` is not 8 bytes long.
std::optional<batch_index> decode_index(std::string_view bytes);

/// Returns the key of a version or rollback entry: BE(b) ‖ resource.
std::string version_key(batch_index b, std::string_view resource);

/// Returns the key of batch `b`'s metadata: BE(b).
inline std::string metadata_key(batch_index b) { return encode_index(b); }

/// The meta keys in the metadata space: eight 0xff bytes + "head" / "floor".
/// They sort after every batch's key, and after BE(2^64 - 1) itself.
std::string head_key();
std::string floor_key();

/// One rollback entry: batch `batch` changed `resource`, whose version before
/// was `prev` (0 = none).
struct rollback_entry {
  batch_index batch = 0;
  std::string resource;
  batch_index prev = 0;
  friend bool operator==(const rollback_entry& a, const rollback_entry& b) {
    return a.batch == b.batch && a.resource == b.resource && a.prev == b.prev;
  }
};

/// Parses a rollback entry from its key (BE(b) ‖ id of `id_length` bytes)
/// and value (BE(prev)); errc::corruption names what is malformed.
status parse_rollback_entry(const key_value& kv, uint32_t id_length, rollback_entry& out);

// -- apply --------------------------------------------------------------------

/// An apply as the service keeps it: each resource at most once (its last
/// write in the request), in the order of first appearance.
struct pending_batch {
  batch_index index = 0;
  std::vector<change> writes;
  std::string metadata;
};

/// Returns `writes` with each resource once: its last write wins, at the
/// place of its first appearance.
std::vector<change> last_write_wins(std::vector<change> writes);

/// Appends to `out` the operations of one atomic write of `group` (batches
/// in ascending index order): per batch and resource r a data put at
/// BE(b) ‖ r (none for a remove: a tombstone), a rollback entry BE(b) ‖ r ->
/// BE(prev), the batch's metadata; then per resource its final latest_ptr,
/// and the head = the group's last index. `latest` holds every resource's
/// version before the group (missing = 0, none) and is advanced to its
/// version after it.
void build_apply_ops(const space_ids& s, const std::vector<const pending_batch*>& group,
                     std::unordered_map<std::string, batch_index>& latest,
                     std::vector<write_op>& out);

// -- rollback -------------------------------------------------------------------

/// What a rollback to `index` restores: fed with the rollback entries of the
/// batches after `index` (in any order, page by page), it keeps per resource
/// the prev of its OLDEST entry after `index`: the version it had at `index`.
class rollback_plan {
 public:
  explicit rollback_plan(batch_index index) : index_(index) {}

  /// Takes one entry; errc::corruption if its batch is not above the index.
  status add(const rollback_entry& e);

  /// Resources whose pointer is restored or deleted.
  size_t pointers() const noexcept { return restore_.size(); }
  /// The resources whose pointer the rollback restores or deletes.
  std::vector<std::string> restored() const;

  /// Appends the operations of the rollback from `head` to the index: each
  /// pointer restored (prev 0: deleted), the versions and rollback entries of
  /// the entries taken deleted one by one, the metadata of batches index + 1
  /// .. head deleted by range, and the head record = index. Point deletes in
  /// data and rollback_ptr, because RocksDB 7.8 re-fragments every range
  /// tombstone of a space's memtable on each read of that space (measured
  /// by vstore-sim: over 20% of the CPU at ~4000 tombstones), and data is
  /// read by every read of the service; batch_metadata is read only by
  /// rollbacks. `skip_one` leaves out the first restore (a broken
  /// variant that tests must catch; never set outside tests).
  void build(const space_ids& s, batch_index head, std::vector<write_op>& out,
             bool skip_one = false) const;

 private:
  batch_index index_;
  /// resource -> (batch of its oldest entry after index_, its prev).
  std::map<std::string, std::pair<batch_index, batch_index>> restore_;
  /// The key of every entry taken: BE(batch) ‖ resource, the key of its
  /// rollback entry and of the version its batch wrote.
  std::vector<std::string> undone_;
};

/// The key to start the scan of rollback entries after `index` from:
/// BE(index) ‖ 0xff * id_length (every entry of batch `index` sorts before).
std::string rollback_scan_start(batch_index index, uint32_t id_length);

// -- prune ----------------------------------------------------------------------

/// What a prune deleted.
struct prune_counts {
  uint64_t versions = 0;
  uint64_t entries = 0;
  uint64_t tombstones = 0;
};

/// One page of a prune to `floor`: rollback entries of batches <= floor. The
/// service reads `reads()` at one snapshot, then `build()` turns the answers
/// into deletions: per entry (b, r, prev) the version prev of r when it
/// exists (superseded at b <= floor), the entry itself, and latest_ptr[r]
/// when it points at b and b wrote no data (a tombstone no rollback to an
/// index >= floor reaches).
class prune_page {
 public:
  /// `kept`: resources whose latest_ptr the page keeps for sure (the
  /// service's cache knows them live, or removed above the floor, so their
  /// pointer is no tombstone at a batch of the page): neither their pointer
  /// nor their data at b is read.
  explicit prune_page(std::vector<rollback_entry> entries,
                      std::unordered_set<std::string> kept = {})
      : entries_(std::move(entries)), kept_(std::move(kept)) {}

  const std::vector<rollback_entry>& entries() const noexcept { return entries_; }

  /// The reads: per entry the data at prev (prev != 0), and for a resource
  /// not kept its data at b; per distinct resource not kept its latest_ptr.
  /// At most 3 per entry, 1 when every resource is kept.
  std::vector<read_item> reads(const space_ids& s) const;

  /// Appends the deletions given the answers to reads() (in its order);
  /// errc::corruption on a malformed latest_ptr, errc::internal on a
  /// result count that does not match.
  status build(const space_ids& s, const std::vector<read_result>& answers,
               std::vector<write_op>& out, prune_counts& counts) const;

 private:
  std::vector<rollback_entry> entries_;
  std::unordered_set<std::string> kept_;
};

/// How many rollback entries a prune's scan asks for. The scan has no end
/// key: it reads `limit` entries from where the last prune stopped, and
/// those above the floor are read for nothing (with the default page of
/// 1,000, a prune every 10 batches of a 100-batch window read ~220 entries
/// to use ~20: 266k iterator steps in a 12,000-batch vstore-sim --state
/// run, 50.5k with the estimate below). So the service
/// counts the rollback entries of the batches it wrote (one per resource a
/// batch writes) and asks for what the batches up to the floor should
/// hold, with a margin, so that the first entry above the floor comes in
/// the same page; a page that ends short of the floor is followed by
/// another (one more round trip, nothing lost).
class prune_scan_size {
 public:
  /// Counts a batch of `entries` rollback entries written.
  void add(uint64_t entries) noexcept {
    ++batches_;
    entries_ += entries;
  }
  /// Entries to ask for to cover the batches after `from` through `floor`:
  /// their expected count x 5/4 + 2, at most `page`; `page` before any
  /// batch was counted.
  uint32_t limit(batch_index from, batch_index floor, uint32_t page) const noexcept;

 private:
  uint64_t batches_ = 0;
  uint64_t entries_ = 0;
};

// -- reads ----------------------------------------------------------------------

/// One value as pending (accepted, not acknowledged) or known: a value, or
/// removed.
struct overlay_entry {
  batch_index batch = 0;
  bool removed = false;
  std::string value;
};

/// The writes of applies the service accepted and the store may not hold
/// yet (and of the last acknowledged group, to spare reads of their
/// pointers), per resource, oldest first. Per resource the entries are
/// always ALL versions above some batch (a suffix of its history), so the
/// newest entry at or below an index is the resource's version there.
class pending_overlay {
 public:
  /// Adds the writes of batch `b` (above every batch added before).
  void add(const pending_batch& b);

  /// Drops every entry of a batch <= `b`.
  void drop_through(batch_index b);

  /// Drops everything.
  void clear() noexcept { by_resource_.clear(); }

  /// The newest entry of `resource` with batch <= `at`, or nullptr.
  const overlay_entry* find(const std::string& resource, batch_index at) const;

  /// Whether the overlay holds nothing.
  bool empty() const noexcept { return by_resource_.empty(); }

  /// Resources with entries.
  size_t size() const noexcept { return by_resource_.size(); }

 private:
  std::unordered_map<std::string, std::vector<overlay_entry>> by_resource_;
};

/// The latest COMMITTED value of resources the service wrote (it is their
/// only writer), so that reads and the pointer reads of an apply need not go
/// to the store: bounded (`capacity` resources, 0 = off; when full, an
/// arbitrary entry makes room). The service fills it when a group commits;
/// a rollback erases the resources it restores (every other one keeps its
/// latest value); a prune forgets the tombstones it may delete; a write in
/// doubt clears it.
class latest_cache {
 public:
  struct entry {
    batch_index version = 0;
    bool removed = false;
    std::string value;
  };

  explicit latest_cache(size_t capacity) : capacity_(capacity) {}

  /// Records that `resource` got `value` (or was removed) at `version`.
  void put(const std::string& resource, batch_index version, bool removed,
           const std::string& value);
  /// The entry of `resource`, or nullptr.
  const entry* find(const std::string& resource) const;
  void erase(const std::string& resource);
  /// Forgets the removed resources of versions <= `floor`: a prune to that
  /// floor deletes their tombstone pointers (then the next write of such a
  /// resource records "none" as its previous version, not the tombstone).
  /// Walks the cache only while it holds a removed resource (a prune walked
  /// all 65,536 entries for nothing: 2.4 % of the sim_state row's samples).
  void forget_removed_through(batch_index floor);
  void clear() noexcept {
    by_resource_.clear();
    removed_ = 0;
  }
  size_t size() const noexcept { return by_resource_.size(); }
  /// How many entries are removed resources.
  size_t removed() const noexcept { return removed_; }

 private:
  /// Drops the entry at `it`.
  void drop(std::unordered_map<std::string, entry>::iterator it);

  size_t capacity_;
  std::unordered_map<std::string, entry> by_resource_;
  size_t removed_ = 0;
};

/// How a walk reads the store: the items of each step go to ONE snapshot.
/// read_latest and read_at: first the latest_ptr of every resource, then,
/// while a resource's version is above the asked index, its rollback entry
/// at that version (whose prev is the version before), then the data of
/// each version found. A version of 0 or a version without data (a
/// tombstone) is "not found".
class read_walk {
 public:
  /// Reads `resources` as of batch `index` (UINT64_MAX: the latest).
  read_walk(std::vector<std::string> resources, batch_index index);

  /// The reads of the current step (empty once done()).
  std::vector<read_item> items(const space_ids& s) const;

  /// Takes the answers to items() (in its order) and moves on; errc::corruption
  /// on a malformed pointer or a walk that does not go down.
  status take(const std::vector<read_result>& answers);

  /// Whether the next step is the last (the data reads).
  bool at_data() const noexcept { return phase_ == phase::data; }
  bool done() const noexcept { return phase_ == phase::done; }
  /// Steps taken so far.
  uint64_t steps() const noexcept { return steps_; }

  const std::vector<std::string>& resources() const noexcept { return resources_; }
  /// Results, valid once done(): found[i], values[i] answer resources[i].
  const std::vector<uint8_t>& found() const noexcept { return found_; }
  std::vector<std::string>& values() noexcept { return values_; }

 private:
  enum class phase { latest, walk, data, done };
  void settle();

  std::vector<std::string> resources_;
  batch_index index_;
  phase phase_ = phase::latest;
  /// Per resource: the version found so far (0 = none).
  std::vector<batch_index> version_;
  std::vector<uint8_t> found_;
  std::vector<std::string> values_;
  uint64_t steps_ = 0;
};

}  // namespace state_layout
}  // namespace vstore
