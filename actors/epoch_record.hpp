#pragma once

// The replication epoch as the store keeps it (docs/replication.md,
// "Promotion"): one record of the system space, written by a promotion in an
// ordinary commit, so that the promoted node's replicas receive it with its
// log. Plain C++, no CAF.

#include <cstdint>
#include <string>
#include <string_view>

#include "vstore/store.hpp"

namespace vstore {

struct epoch_record {
  /// 0 for a store never promoted; + 1 at each promotion.
  uint64_t epoch = 0;
  /// The old primary's sequence the node had applied when it was promoted.
  uint64_t promoted_at = 0;

  /// The system-space key ("m." like the commit actor's records, and
  /// RocksDB's "m.applied-log").
  static std::string_view key() noexcept { return "m.epoch"; }

  std::string encode() const {
    std::string out;
    for (uint64_t v : {epoch, promoted_at})
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  }

  static bool decode(std::string_view in, epoch_record& out) {
    if (in.size() != 16) return false;
    auto u64 = [&](size_t at) {
      uint64_t v = 0;
      for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
      return v;
    };
    out.epoch = u64(0);
    out.promoted_at = u64(8);
    return true;
  }

  /// Reads the record of `s` (a zero record when absent). Blocks on a cache
  /// miss.
  static status read(const store& s, epoch_record& out) {
    std::string v;
    bool found = false;
    if (auto st = s.get(system_space, key(), v, found); !st) return st;
    out = epoch_record{};
    if (found && !decode(v, out))
      return {errc::corruption, "the epoch record holds " + std::to_string(v.size()) + " bytes"};
    return {};
  }
};

}  // namespace vstore
