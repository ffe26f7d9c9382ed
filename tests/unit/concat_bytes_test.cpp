#include "vstore/concat_bytes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace vstore {
namespace {

TEST(ConcatBytes, JoinsPiecesInOrder) {
  const std::string a = "abc";
  EXPECT_EQ(concat_bytes(a, "-", std::string_view{"xy"}, std::string{"z"}), "abc-xyz");
  EXPECT_EQ(concat_bytes("only"), "only");
}

TEST(ConcatBytes, EmptyPiecesAndNoPieces) {
  EXPECT_EQ(concat_bytes(), "");
  EXPECT_EQ(concat_bytes(""), "");
  EXPECT_EQ(concat_bytes("", "a", "", "", "b", ""), "ab");
}

TEST(ConcatBytes, KeepsBinaryBytes) {
  const std::string nul(3, '\0');
  const std::string high = "\xff\xfe";
  auto out = concat_bytes(nul, high, nul);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out, std::string("\0\0\0\xff\xfe\0\0\0", 8));
}

TEST(ConcatBytes, AllocatesOnceForTheExactSize) {
  // Longer than any small-string buffer, so the reserve is the only allocation:
  // the capacity equals the size when nothing grew the string.
  const std::string a(100, 'a');
  const std::string b(37, 'b');
  auto out = concat_bytes(a, be_u64(7), b, be_u32(1));
  EXPECT_EQ(out.size(), 100u + 8u + 37u + 4u);
  EXPECT_EQ(out.capacity(), out.size());
}

TEST(ConcatBytes, BigEndianIntegersRoundTrip) {
  for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256},
                     uint64_t{0x0102030405060708}, UINT64_MAX, UINT64_MAX - 1}) {
    auto bytes = be_u64(x);
    EXPECT_EQ(bytes.view().size(), 8u);
    uint64_t back = 0;
    ASSERT_TRUE(read_be(bytes.view(), 0, back));
    EXPECT_EQ(back, x);
  }
  for (uint32_t x : {0u, 1u, 0xABCDEFu, 0x01020304u, UINT32_MAX}) {
    auto bytes = be_u32(x);
    uint32_t back = 0;
    ASSERT_TRUE(read_be(bytes.view(), 0, back));
    EXPECT_EQ(back, x);
  }
  uint16_t s = 0;
  ASSERT_TRUE(read_be(be_u16(0xBEEF).view(), 0, s));
  EXPECT_EQ(s, 0xBEEF);
}

TEST(ConcatBytes, BigEndianLayoutIsMostSignificantFirst) {
  EXPECT_EQ(std::string{be_u64(0x0102030405060708).view()},
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(std::string{be_u32(0xA1B2C3D4u).view()}, std::string("\xa1\xb2\xc3\xd4", 4));
  EXPECT_EQ(std::string{be_u32(0).view()}, std::string(4, '\0'));
}

TEST(ConcatBytes, ReadBeAtOffsetAndTooShort) {
  auto key = concat_bytes("ab", be_u64(42), be_u32(7));
  uint64_t v = 0;
  ASSERT_TRUE(read_be(key, 2, v));
  EXPECT_EQ(v, 42u);
  uint32_t w = 0;
  ASSERT_TRUE(read_be(key, 10, w));
  EXPECT_EQ(w, 7u);
  EXPECT_FALSE(read_be(key, 11, w));
  EXPECT_FALSE(read_be(key, 15, v));
  EXPECT_FALSE(read_be(key, 100, v));
  EXPECT_FALSE(read_be(std::string_view{}, 0, w));
  EXPECT_EQ(w, 7u);  // untouched on failure
}

TEST(ConcatBytes, BigEndianByteOrderEqualsNumericOrder) {
  std::vector<uint64_t> values = {0,
                                  1,
                                  2,
                                  127,
                                  128,
                                  255,
                                  256,
                                  257,
                                  65535,
                                  65536,
                                  1u << 31,
                                  uint64_t{1} << 32,
                                  uint64_t{1} << 56,
                                  UINT64_MAX - 1,
                                  UINT64_MAX};
  for (uint64_t x = 1; x < (uint64_t{1} << 62); x = x * 3 + 1) values.push_back(x);
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t j = 0; j < values.size(); ++j) {
      const auto a = std::string{be_u64(values[i]).view()};
      const auto b = std::string{be_u64(values[j]).view()};
      EXPECT_EQ(values[i] < values[j], a < b) << values[i] << " vs " << values[j];
    }
  std::vector<uint32_t> small = {0, 1, 255, 256, 0x00FFFFFF, 0x01000000, UINT32_MAX};
  for (size_t i = 0; i + 1 < small.size(); ++i)
    EXPECT_LT(std::string{be_u32(small[i]).view()}, std::string{be_u32(small[i + 1]).view()});
}

TEST(ConcatBytes, PrefixSuccessorOfOrdinaryPrefix) {
  EXPECT_EQ(prefix_successor("abc"), "abd");
  EXPECT_EQ(prefix_successor(std::string("a\0", 2)), std::string("a\x01", 2));
  EXPECT_EQ(prefix_successor("\xfe"), "\xff");
  // Every key that starts with the prefix sorts below the successor.
  const std::string p = "ab";
  const auto succ = prefix_successor(p);
  for (const std::string k : {"ab", "ab\xff\xff\xff", "ab\x00", "abzzzz"}) EXPECT_LT(k, succ);
  EXPECT_GE(std::string("ac"), succ);
}

TEST(ConcatBytes, PrefixSuccessorDropsTrailingFf) {
  EXPECT_EQ(prefix_successor("a\xff"), "b");
  EXPECT_EQ(prefix_successor("a\xff\xff\xff"), "b");
  EXPECT_EQ(prefix_successor("ab\xfe\xff"), "ab\xff");
  EXPECT_EQ(prefix_successor(std::string("\0\xff", 2)), std::string("\x01", 1));
}

TEST(ConcatBytes, PrefixSuccessorOfEmptyAndAllFfIsEmpty) {
  EXPECT_EQ(prefix_successor(""), "");
  EXPECT_EQ(prefix_successor("\xff"), "");
  EXPECT_EQ(prefix_successor(std::string(8, '\xff')), "");
  EXPECT_EQ(prefix_successor(std::string(34, '\xff')), "");
}

}  // namespace
}  // namespace vstore
