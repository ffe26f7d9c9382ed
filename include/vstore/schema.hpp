#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vstore {

/// Identifies a state space inside a store: its index in the schema (0-based).
using space_id = uint16_t;

/// The most state spaces one store may have (multi-space batches carry a 64-bit
/// space mask).
inline constexpr size_t max_spaces = 64;

/// A reserved key space for vstore's own records (idempotency tokens). It is
/// not part of any schema and never counts in schema::size(). With RocksDB it
/// is the "default" column family, which every RocksDB database has, so
/// existing databases open unchanged; it runs with default column family
/// options (no prefix extractor, no bloom filter). With the memory backend it
/// is a separate map. Every backend accepts it wherever it takes a space id,
/// and its keys are never visible in a schema space (nor theirs in it). The
/// StorageManager refuses it in every user request (space ids at or above the
/// schema size are errc::unknown_space): only vstore's own actors use it.
inline constexpr space_id system_space = 0xFFFF;
static_assert(max_spaces <= system_space, "a schema space id must never be system_space");

/// Block compression of a state space's SST files.
enum class compression : uint8_t { none, snappy, zlib, bzip2, lz4, zstd };

/// Returns the configuration name of a compression ("lz4", "none", ...).
constexpr const char* to_name(compression x) noexcept {
  switch (x) {
    case compression::none:
      return "none";
    case compression::snappy:
      return "snappy";
    case compression::zlib:
      return "zlib";
    case compression::bzip2:
      return "bzip2";
    case compression::lz4:
      return "lz4";
    case compression::zstd:
      return "zstd";
  }
  return "?";
}

/// Parses a compression name; returns nothing for an unknown name.
inline std::optional<compression> parse_compression(std::string_view name) {
  for (auto c : {compression::none, compression::snappy, compression::zlib, compression::bzip2,
                 compression::lz4, compression::zstd})
    if (name == to_name(c)) return c;
  return std::nullopt;
}

/// Per-space storage options (RocksDB column family options; the memory backend
/// ignores them).
struct space_options {
  /// SST block compression. Default: lz4.
  compression comp = compression::lz4;
  /// Length of the fixed prefix extractor in bytes; 0 = no prefix extractor.
  /// Default: 0. Range: 0..1024.
  uint32_t prefix_length = 0;
  /// Bloom filter bits per key; 0 = no bloom filter. Default: 10. Range: 0..64.
  uint32_t bloom_bits = 10;
};

/// One state space: a named key space (a RocksDB column family).
struct space_def {
  /// Column family name; unique within a schema, non-empty, not "default".
  std::string name;
  space_options options;
};

/// The set of state spaces of a store, in id order: spaces[i] has id i.
struct schema {
  std::vector<space_def> spaces;

  /// Returns the number of spaces.
  size_t size() const noexcept { return spaces.size(); }
  /// Returns whether `id` names a space of this schema (never system_space).
  bool contains(space_id id) const noexcept { return id < spaces.size(); }
  /// Returns the id of the space named `name`, if any.
  std::optional<space_id> find(std::string_view name) const {
    for (size_t i = 0; i < spaces.size(); ++i)
      if (spaces[i].name == name) return static_cast<space_id>(i);
    return std::nullopt;
  }
};

/// The ids of the engine's eight state spaces in the default schema.
namespace spaces {
inline constexpr space_id data = 0;
inline constexpr space_id latest_ptr = 1;
inline constexpr space_id rollback_ptr = 2;
inline constexpr space_id batch_metadata = 3;
inline constexpr space_id metas = 4;
inline constexpr space_id smt_node = 5;
inline constexpr space_id smt_stale = 6;
inline constexpr space_id proof_receipt = 7;
}  // namespace spaces

/// Returns the engine's schema: eight spaces with its column-family names and
/// fixed prefix lengths (8 bytes for data, rollback_ptr, smt_stale and
/// proof_receipt; 34 for smt_node), lz4 and 10 bloom bits each.
inline schema default_schema() {
  auto def = [](const char* name, uint32_t prefix) {
    space_def d;
    d.name = name;
    d.options.prefix_length = prefix;
    return d;
  };
  schema s;
  s.spaces = {def("data", 8),           def("latest_ptr", 0),   def("rollback_ptr", 8),
              def("batch_metadata", 0), def("metas", 0),        def("smt_node", 34),
              def("smt_stale", 8),      def("proof_receipt", 8)};
  return s;
}

}  // namespace vstore
