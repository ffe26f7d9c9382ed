#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// An in-memory store: one ordered std::map per state space, for tests and
/// small jobs that need no disk. It passes the same conformance suite as the
/// RocksDB backend (key order, prefix iteration, atomic commit, range delete).
///
/// Concurrency: every read (get, multi_get, scan) takes a shared lock and
/// commit takes the unique lock, so reads run in parallel with each other and
/// a commit applies its whole batch while no reader looks: a reader sees a
/// batch wholly or not at all. multi_get and scan copy their results under one
/// shared lock, so a page is a consistent snapshot of its space. Reads never
/// block each other; a commit waits for running reads and blocks new ones
/// while it applies its batch.
///
/// Sequence numbers: a new store is at sequence 0; every commit of a non-empty
/// batch increases it by exactly one. Committing an empty batch succeeds and
/// leaves the sequence number unchanged.
///
/// system_space is one more map, apart from the schema's spaces.
///
/// The store keeps nothing on disk: checkpoint() answers errc::not_supported
/// and sync() does nothing. The per-space options of the schema are ignored.
class memory_store final : public store {
 public:
  /// Constructs an empty store with the state spaces of `s`.
  explicit memory_store(vstore::schema s);

  /// Destroys the store and its data.
  ~memory_store() override;

  /// Stores are not copyable.
  memory_store(const memory_store&) = delete;
  /// Stores are not copyable.
  memory_store& operator=(const memory_store&) = delete;

  /// Looks up `key` in `space` under the shared lock. Fails with
  /// errc::unknown_space or errc::empty_key on bad input.
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override;

  /// Looks up every key of `keys` under one shared lock, so the answers are
  /// consistent with each other.
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override;

  /// Copies one page of a prefix iteration under the shared lock (see
  /// read_store::scan). A limit of 0 is errc::invalid_argument.
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override;

  /// Memory never waits for a disk: the try_ reads are the reads.
  std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                bool& found) const override {
    return get(space, key, value, found);
  }
  std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override {
    return multi_get(space, keys, values);
  }
  std::optional<status> try_scan(space_id space, std::string_view prefix,
                                 std::string_view start_after, size_t limit,
                                 scan_page& page) const override {
    return scan(space, prefix, start_after, limit, page);
  }

  /// Returns the schema the store was made with.
  const vstore::schema& schema() const noexcept override { return schema_; }

  /// Opens an empty batch that records its operations in order. The batch
  /// refers to this store and must not outlive it.
  std::unique_ptr<vstore::write_batch> make_batch() const override;

  /// Applies `batch` (made by this store's make_batch) under the unique lock.
  /// Refuses an invalid batch (its error()) and a batch of another store
  /// (errc::invalid_argument) without applying anything. Does not change the
  /// batch, which may be committed again.
  status commit(vstore::write_batch& batch, uint64_t& seq) override;

  /// Memory never waits for a disk: the same as commit().
  std::optional<status> try_commit(vstore::write_batch& batch, uint64_t& seq) override {
    return commit(batch, seq);
  }

  /// Returns the number of non-empty commits so far.
  uint64_t latest_sequence() const noexcept override;

  /// Returns latest_sequence() + 1 if `batch` holds operations or
  /// `pending_ops` > 0, else latest_sequence(): what commit answers for the
  /// batch with `pending_ops` more operations if no other commit runs first.
  uint64_t next_sequence(const vstore::write_batch& batch, size_t pending_ops) const override;
  /// Makes store::next_sequence(batch) callable on this type as well.
  using store::next_sequence;

  /// A copy of every space taken under the shared lock (O(size of the
  /// store)), read like the store itself.
  status snapshot(std::shared_ptr<const read_view>& out) const override;

 private:
  /// The keys of one space in bytewise order (std::string compares like
  /// RocksDB's default comparator); heterogeneous lookup by string_view.
  using space_map = std::map<std::string, std::string, std::less<>>;

  /// The spaces, fixed at construction.
  vstore::schema schema_;
  /// Shared by readers, held unique by commit.
  mutable std::shared_mutex mutex_;
  /// Returns the map of `space` (a schema space or system_space; checked by
  /// the caller).
  space_map& map_of(space_id space) noexcept;
  /// Returns the map of `space` (a schema space or system_space; checked by
  /// the caller).
  const space_map& map_of(space_id space) const noexcept;

  /// The data of each space, indexed by space id; guarded by mutex_.
  std::vector<space_map> spaces_;
  /// The data of system_space; guarded by mutex_.
  space_map system_;
  /// The number of non-empty commits; written under the unique lock, read
  /// without it by latest_sequence().
  std::atomic<uint64_t> seq_{0};
};

/// Returns a new empty memory store with the state spaces of `s`.
std::unique_ptr<memory_store> make_memory_store(vstore::schema s);

}  // namespace vstore
