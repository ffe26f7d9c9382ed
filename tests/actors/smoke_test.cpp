#include "tests/support/actor_fixture.hpp"

namespace vstore::test {
namespace {

class Smoke : public actor_test {};

TEST_F(Smoke, PutGetScanMemory) {
  scratch_dir dir;
  auto m = start(test_options(backend_kind::memory, dir.path()));
  ASSERT_TRUE(put(m, spaces::data, "k1", "v1"));
  EXPECT_EQ(get(m, spaces::data, "k1"), std::optional<std::string>{"v1"});
  EXPECT_EQ(get(m, spaces::data, "nope"), std::nullopt);
  write_request w;
  w.put(spaces::data, "a", "1").put(spaces::latest_ptr, "b", "2");
  commit_ack ack;
  ASSERT_TRUE(ask(m, w, ack));
  EXPECT_EQ(get(m, spaces::latest_ptr, "b"), std::optional<std::string>{"2"});
  scan_reply sr;
  ASSERT_TRUE(ask(m, scan_request{spaces::data, "", "", 10}, sr));
  EXPECT_EQ(sr.entries.size(), 2u);
  auto s = stats(m);
  EXPECT_EQ(s.spaces.size(), 8u);
  auto d = drain(m);
  EXPECT_EQ(d.cut_off, 0u);
}

}  // namespace
}  // namespace vstore::test
