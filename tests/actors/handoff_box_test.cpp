// The hand-off box (actors/handoff_box.hpp), plain C++ without CAF: the
// commit actor puts answers (the writes it acknowledged, for the manager;
// its answers to a writer's sealed batches), the taker takes them before it
// handles a message. Nothing put is lost or taken twice, answers come out in
// the order they went in, and a put says whether the taker asked to be woken.

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "actors/handoff_box.hpp"

namespace vstore {
namespace {

written_parts batch(uint64_t id) {
  return written_parts{0, {written_part{id, true, id, errc::internal, {}}}};
}

std::vector<uint64_t> ids(const std::vector<written_parts>& batches) {
  std::vector<uint64_t> out;
  for (const auto& b : batches)
    for (const auto& p : b.parts) out.push_back(p.id);
  return out;
}

TEST(HandoffBox, TakesWhatWasPutInOrderOnce) {
  settled_box box;
  EXPECT_TRUE(box.take().empty());
  box.put(batch(1));
  box.put(batch(2));
  EXPECT_EQ(ids(box.take()), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(box.take().empty());
  box.put(batch(3));
  EXPECT_EQ(ids(box.take()), (std::vector<uint64_t>{3}));
}

TEST(HandoffBox, APutAsksForAWakeUpOnlyWhileTheManagerWantsOne) {
  settled_box box;
  EXPECT_FALSE(box.put(batch(1)));
  // Asking reports the batch put before: no wake-up comes for it.
  EXPECT_TRUE(box.wake_on_put(true));
  EXPECT_EQ(ids(box.take()), (std::vector<uint64_t>{1}));
  EXPECT_FALSE(box.wake_on_put(true));
  EXPECT_TRUE(box.put(batch(2)));
  EXPECT_TRUE(box.put(batch(3)));
  EXPECT_TRUE(box.wake_on_put(false));  // 2 and 3 wait
  EXPECT_EQ(ids(box.take()), (std::vector<uint64_t>{2, 3}));
  EXPECT_FALSE(box.put(batch(4)));
  EXPECT_EQ(ids(box.take()), (std::vector<uint64_t>{4}));
}

// A commit actor's thread puts while a manager's thread takes: every batch is
// taken exactly once and in order (take() looks at a flag without the lock
// first, so a batch put between the look and the lock must not be lost).
TEST(HandoffBox, EveryBatchIsTakenOnceInOrderBetweenTwoThreads) {
  constexpr uint64_t n = 20000;
  settled_box box;
  std::thread putter([&] {
    for (uint64_t i = 1; i <= n; ++i) box.put(batch(i));
  });
  std::vector<uint64_t> taken;
  for (uint64_t spins = 0; taken.size() < n && spins < 100'000'000; ++spins)
    for (auto id : ids(box.take())) taken.push_back(id);
  putter.join();
  for (auto id : ids(box.take())) taken.push_back(id);
  ASSERT_EQ(taken.size(), n);
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(taken[i], i + 1) << "at " << i;
  EXPECT_TRUE(box.take().empty());
}

}  // namespace
}  // namespace vstore
