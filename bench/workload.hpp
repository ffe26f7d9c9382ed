#pragma once

// The data and requests of vstore-bench, shared by the vstore side and the raw
// RocksDB side so that both do exactly the same work: the same keys, values,
// key choices and batch shapes. Plain C++ (no CAF, no RocksDB).

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "vstore/schema.hpp"

namespace vstore::bench {

/// Bytes of every key (the scenarios; a workload's key_bytes may be longer).
inline constexpr size_t key_size = 16;
/// Bytes of every value (the scenarios; see workload::value_bytes).
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
/// Spaces of the default schema, over which multi-space batches rotate.
inline constexpr size_t default_schema_spaces = 8;
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
  /// Bytes of every key read or written: key_size or more (longer keys are
  /// padded, loaded_key). Reads need a database loaded with the same size.
  size_t key_bytes = key_size;
  /// Bytes of every value written, and expected of every value read.
  size_t value_bytes = value_size;
  /// multi_batch: spaces each batch spans (1..schema_spaces), and the spaces
  /// of the schema the batches rotate over (multi_batch_space).
  size_t batch_spaces = multi_batch_spaces;
  size_t schema_spaces = default_schema_spaces;
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

/// Bytes of filler_pool().
inline constexpr size_t filler_pool_size = size_t{1} << 20;

/// Returns filler_pool_size + 64 KiB pseudo-random bytes (made once), the
/// source of long values and key padding: copying a slice costs far less than
/// computing its bytes, which would otherwise dominate a 64 KiB put.
inline const char* filler_pool() {
  static const std::unique_ptr<char[]> pool = [] {
    const size_t n = filler_pool_size + (size_t{64} << 10);
    std::unique_ptr<char[]> p{new char[n]};
    uint64_t x = 0x5eed;
    for (size_t i = 0; i < n; i += 8) {
      x = mix64(x);
      put_be64(x, p.get() + i);
    }
    return p;
  }();
  return pool.get();
}

/// Copies `n` bytes (at most 64 KiB) of filler_pool() from an offset chosen
/// by `seed` into `out`.
inline void fill_from_pool(uint64_t seed, char* out, size_t n) noexcept {
  std::memcpy(out, filler_pool() + mix64(seed) % filler_pool_size, n);
}

/// Writes loaded key number `i` of `bytes` bytes (at least key_size):
/// be64(i / 10) + be64(i % 10), so every 8-byte prefix holds exactly
/// keys_per_prefix keys (the last one possibly fewer), then for longer keys
/// filler bytes chosen by i (the key-size sweep).
inline void loaded_key(uint64_t i, char* out, size_t bytes = key_size) noexcept {
  put_be64(i / keys_per_prefix, out);
  put_be64(i % keys_per_prefix, out + 8);
  if (bytes > key_size) fill_from_pool(i ^ 0x6b6579, out + key_size, bytes - key_size);
}

/// Returns loaded key number `i` of `bytes` bytes.
inline std::string loaded_key(uint64_t i, size_t bytes = key_size) {
  std::string k(bytes, '\0');
  loaded_key(i, k.data(), bytes);
  return k;
}

/// Writes the 8-byte prefix of prefix group `p` (loaded keys 10p..10p+9).
inline void group_prefix(uint64_t p, char* out) noexcept { put_be64(p, out); }

/// Writes written key number `n` of `bytes` bytes (at least key_size):
/// be64(mix64(n) | 2^63) + be64(n), then filler as loaded_key; distinct for
/// every n and never equal to a loaded key (their first byte is < 0x80).
inline void written_key(uint64_t n, char* out, size_t bytes = key_size) noexcept {
  put_be64(mix64(n) | (uint64_t{1} << 63), out);
  put_be64(n, out + 8);
  if (bytes > key_size) fill_from_pool(n ^ 0x6b6579, out + key_size, bytes - key_size);
}

/// Writes a value of `bytes` bytes derived from `n` (not all equal bytes, so
/// compression does not make it trivially small): up to 256 bytes computed
/// from n, longer ones (at most 64 KiB) be64(n) and then a slice of
/// filler_pool() chosen by n.
inline void make_value(uint64_t n, char* out, size_t bytes = value_size) noexcept {
  if (bytes > 256) {
    put_be64(n, out);
    fill_from_pool(n, out + 8, bytes - 8);
    return;
  }
  uint64_t x = n;
  for (size_t i = 0; i < bytes; i += 8) {
    x = mix64(x);
    char buf[8];
    put_be64(x, buf);
    std::memcpy(out + i, buf, bytes - i < 8 ? bytes - i : 8);
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
/// batch `b`: `spans` consecutive spaces of a schema of `schema_spaces`
/// starting at b % schema_spaces, an equal share of the operations each (by
/// default four spaces of the default schema, 25 operations each).
constexpr space_id multi_batch_space(uint64_t b, size_t op, size_t spans = multi_batch_spaces,
                                     size_t schema_spaces = default_schema_spaces) noexcept {
  return static_cast<space_id>((b + op * spans / multi_batch_ops) % schema_spaces);
}

}  // namespace vstore::bench
