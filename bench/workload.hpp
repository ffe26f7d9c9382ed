#pragma once

// The data and requests of vstore-bench, shared by the vstore side and the raw
// RocksDB side so that both do exactly the same work: the same keys, values,
// key choices and batch shapes. Plain C++ (no CAF, no RocksDB).

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "vstore/schema.hpp"

namespace vstore::bench {

/// Bytes of every key.
inline constexpr size_t key_size = 16;
/// Bytes of every value.
inline constexpr size_t value_size = 100;
/// Keys that share one 8-byte prefix (the `data` space's prefix extractor).
inline constexpr uint64_t keys_per_prefix = 10;
/// Keys per multi_get request.
inline constexpr size_t multi_get_keys = 32;
/// Entries per scan request.
inline constexpr uint32_t scan_entries = 10;
/// Puts per raw WriteBatch in put_small_vs_batched.
inline constexpr size_t raw_batch_puts = 100;
/// Operations per commit_multi batch, and the spaces it spans.
inline constexpr size_t multi_batch_ops = 100;
inline constexpr size_t multi_batch_spaces = 4;
/// The space every read and single-space write uses.
inline constexpr space_id bench_space = spaces::data;

/// What one request of a scenario is.
enum class workload_kind : uint8_t {
  get,          ///< one point get of a loaded key
  multi_get,    ///< multi_get_keys loaded keys of one space
  scan,         ///< a prefix scan returning scan_entries entries
  put,          ///< one put of a new key (one request, or one DB::Write)
  put_batched,  ///< raw only: puts grouped in WriteBatches of raw_batch_puts
  multi_batch,  ///< an atomic batch of multi_batch_ops puts over 4 spaces
  flush_put,    ///< one put with flush_now (vstore) / one one-put DB::Write (raw)
};

/// One repetition's work on one side. Request i is fully determined by
/// (kind, seed, key_count, write_base, i), so both sides do the same work when
/// given the same spec. A repetition issues requests until `requests` were
/// issued or `deadline` passed, whichever comes first, and counts the ones
/// completed.
struct workload {
  workload_kind kind = workload_kind::get;
  /// At most this many requests (request indices 0..requests-1).
  uint64_t requests = 0;
  /// No request is issued after this moment (time_point::max(): no limit).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Chooses the keys read (same seed = same keys).
  uint64_t seed = 1;
  /// Loaded keys (reads choose among them).
  uint64_t key_count = 0;
  /// Written key numbers start here: put request i writes key write_base + i,
  /// multi-space batch i writes keys (write_base + i) * 100 + op.
  uint64_t write_base = 0;
};

/// Index ranges handed to concurrent issuers (threads, client actors) in a
/// repetition bounded by a deadline: issuer k uses indices from k * this.
inline constexpr uint64_t issuer_stride = uint64_t{1} << 36;

/// Returns whether `w` is bounded by a deadline (else by its request count).
inline bool timed(const workload& w) noexcept {
  return w.deadline != std::chrono::steady_clock::time_point::max();
}

/// Returns the request indices [first, second) of issuer k of n: an even
/// share of the count, or (timed) a range of its own that never runs out.
inline std::pair<uint64_t, uint64_t> issuer_range(const workload& w, size_t k, size_t n) noexcept {
  if (timed(w)) return {k * issuer_stride, (k + 1) * issuer_stride};
  return {w.requests * k / n, w.requests * (k + 1) / n};
}

/// SplitMix64: a fast, well-mixed 64-bit hash.
constexpr uint64_t mix64(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Writes `x` big-endian into out[0..8).
inline void put_be64(uint64_t x, char* out) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(x & 0xffu);
    x >>= 8;
  }
}

/// Writes loaded key number `i`: be64(i / 10) + be64(i % 10), so every 8-byte
/// prefix holds exactly keys_per_prefix keys (the last one possibly fewer).
inline void loaded_key(uint64_t i, char* out) noexcept {
  put_be64(i / keys_per_prefix, out);
  put_be64(i % keys_per_prefix, out + 8);
}

/// Returns loaded key number `i`.
inline std::string loaded_key(uint64_t i) {
  std::string k(key_size, '\0');
  loaded_key(i, k.data());
  return k;
}

/// Writes the 8-byte prefix of prefix group `p` (loaded keys 10p..10p+9).
inline void group_prefix(uint64_t p, char* out) noexcept { put_be64(p, out); }

/// Writes written key number `n`: be64(mix64(n) | 2^63) + be64(n); distinct
/// for every n and never equal to a loaded key (their first byte is < 0x80).
inline void written_key(uint64_t n, char* out) noexcept {
  put_be64(mix64(n) | (uint64_t{1} << 63), out);
  put_be64(n, out + 8);
}

/// Writes a value_size-byte value derived from `n` (not all equal bytes, so
/// compression does not make it trivially small).
inline void make_value(uint64_t n, char* out) noexcept {
  uint64_t x = n;
  for (size_t i = 0; i < value_size; i += 8) {
    x = mix64(x);
    char buf[8];
    put_be64(x, buf);
    std::memcpy(out + i, buf, value_size - i < 8 ? value_size - i : 8);
  }
}

/// Returns the loaded key index read by draw `j` of a repetition with `seed`.
constexpr uint64_t pick(uint64_t seed, uint64_t j, uint64_t key_count) noexcept {
  return mix64(seed * 0x100000001b3ULL ^ j) % key_count;
}

/// Returns the number of prefix groups of `key_count` loaded keys.
constexpr uint64_t prefix_groups(uint64_t key_count) noexcept {
  return key_count / keys_per_prefix;  // only full groups: each scan returns 10
}

/// Returns the space of operation `op` (0..multi_batch_ops) of multi-space
/// batch `b`: four consecutive spaces of the default schema starting at b % 8,
/// 25 operations each.
constexpr space_id multi_batch_space(uint64_t b, size_t op) noexcept {
  return static_cast<space_id>((b + op / (multi_batch_ops / multi_batch_spaces)) % 8);
}

}  // namespace vstore::bench
