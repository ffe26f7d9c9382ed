// The tail of a sealed batch (messages/sealed_tail.hpp), plain C++ without
// CAF: what joins before the commit actor takes the batch is taken with it,
// in order; what comes after is refused and left with the writer; with the
// two on different threads, every part ends up in exactly one of the two.

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "messages/sealed_tail.hpp"

namespace vstore {
namespace {

std::vector<batch_part> parts(uint64_t from, uint64_t to) {
  std::vector<batch_part> out;
  for (auto g = from; g < to; ++g) out.push_back(batch_part{g, 1, {}, false, {}, nullptr});
  return out;
}

std::vector<uint64_t> numbers(const std::vector<batch_part>& ps) {
  std::vector<uint64_t> out;
  for (const auto& p : ps) out.push_back(p.g);
  return out;
}

TEST(SealedTail, WhatJoinsBeforeTheTakeIsTakenInOrder) {
  sealed_tail tail;
  auto a = parts(1, 3);
  auto b = parts(3, 6);
  ASSERT_TRUE(tail.join(a));
  ASSERT_TRUE(tail.join(b));
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(numbers(tail.take()), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST(SealedTail, NothingJoinsAfterTheTake) {
  sealed_tail tail;
  EXPECT_TRUE(tail.take().empty());
  auto late = parts(7, 9);
  EXPECT_FALSE(tail.join(late));
  EXPECT_EQ(numbers(late), (std::vector<uint64_t>{7, 8}));  // left with the writer
  EXPECT_TRUE(tail.take().empty());
}

TEST(SealedTail, EveryPartIsEitherTakenOrLeftWithTheWriter) {
  for (int round = 0; round < 200; ++round) {
    sealed_tail tail;
    std::vector<uint64_t> joined;
    std::vector<uint64_t> refused;
    std::thread writer{[&] {
      for (uint64_t g = 1; g <= 64; ++g) {
        auto p = parts(g, g + 1);
        if (tail.join(p))
          joined.push_back(g);
        else
          refused.push_back(numbers(p).at(0));
      }
    }};
    auto taken = numbers(tail.take());
    writer.join();
    EXPECT_EQ(taken, joined);
    // Once one is refused, every later one is too.
    ASSERT_EQ(joined.size() + refused.size(), 64u);
    for (size_t i = 0; i < refused.size(); ++i) EXPECT_EQ(refused[i], joined.size() + 1 + i);
  }
}

}  // namespace
}  // namespace vstore
