#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace vstore {

/// A fixed number of bytes held by value, e.g. a big-endian integer; converts to
/// std::string_view so it can be passed to concat_bytes.
template <size_t N>
struct fixed_bytes {
  std::array<char, N> data{};
  constexpr std::string_view view() const noexcept { return {data.data(), N}; }
  constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT
};

/// Encodes an unsigned integer as big-endian bytes, so that byte order equals
/// numeric order in RocksDB's default comparator.
template <class T>
constexpr fixed_bytes<sizeof(T)> be(T x) noexcept {
  static_assert(std::is_unsigned_v<T>, "be() takes unsigned integers");
  fixed_bytes<sizeof(T)> out;
  for (size_t i = 0; i < sizeof(T); ++i)
    out.data[sizeof(T) - 1 - i] = static_cast<char>(static_cast<uint8_t>(x >> (8 * i)));
  return out;
}

/// Encodes a uint64_t as 8 big-endian bytes.
constexpr fixed_bytes<8> be_u64(uint64_t x) noexcept { return be<uint64_t>(x); }
/// Encodes a uint32_t as 4 big-endian bytes.
constexpr fixed_bytes<4> be_u32(uint32_t x) noexcept { return be<uint32_t>(x); }
/// Encodes a uint16_t as 2 big-endian bytes.
constexpr fixed_bytes<2> be_u16(uint16_t x) noexcept { return be<uint16_t>(x); }

/// Decodes `sizeof(T)` big-endian bytes starting at `bytes[offset]`. Returns
/// false if `bytes` is too short.
template <class T>
constexpr bool read_be(std::string_view bytes, size_t offset, T& out) noexcept {
  static_assert(std::is_unsigned_v<T>, "read_be() takes unsigned integers");
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  T x = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    x = static_cast<T>((x << 8) | static_cast<uint8_t>(bytes[offset + i]));
  out = x;
  return true;
}

/// Builds a key from byte pieces with exactly one allocation. Each piece is
/// anything convertible to std::string_view (std::string, string literals,
/// fixed_bytes from be_u64 and friends).
template <class... Pieces>
std::string concat_bytes(const Pieces&... pieces) {
  const std::string_view views[] = {std::string_view{pieces}..., std::string_view{}};
  size_t total = 0;
  for (auto v : views) total += v.size();
  std::string out;
  out.reserve(total);
  for (auto v : views) out.append(v.data(), v.size());
  return out;
}

/// Returns the smallest key greater than every key that starts with `prefix`, or
/// an empty string if there is none (the prefix is empty or all 0xFF bytes).
inline std::string prefix_successor(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty()) {
    auto& c = out.back();
    if (static_cast<uint8_t>(c) != 0xFF) {
      c = static_cast<char>(static_cast<uint8_t>(c) + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace vstore
