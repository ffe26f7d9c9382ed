// Every manager message against both backends, and request validation.
#include <functional>

#include "tests/support/actor_fixture.hpp"

namespace vstore::test {
namespace {

template <backend_kind Kind>
struct backend_param {
  static constexpr backend_kind kind = Kind;
};

template <class Param>
class Manager : public actor_test {
 protected:
  scratch_dir dir_;
  manager_actor m_ = start(test_options(Param::kind, dir_.path()));

  status write(write_request w, commit_ack& ack) { return ask(m_, std::move(w), ack); }
  status write(write_request w) {
    commit_ack ack;
    return write(std::move(w), ack);
  }
};

using backends =
    ::testing::Types<backend_param<backend_kind::memory>, backend_param<backend_kind::rocksdb>>;

struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::kind == backend_kind::memory ? "memory" : "rocksdb";
  }
};

TYPED_TEST_SUITE(Manager, backends, backend_names);

TYPED_TEST(Manager, AcknowledgedWriteIsVisibleToTheNextRead) {
  for (int i = 0; i < 50; ++i) {
    auto v = "v" + std::to_string(i);
    ASSERT_TRUE(this->put(this->m_, spaces::metas, "k", v));
    EXPECT_EQ(this->get(this->m_, spaces::metas, "k"), std::optional<std::string>{v});
  }
}

TYPED_TEST(Manager, GetAbsentKeyIsNotAnError) {
  EXPECT_EQ(this->get(this->m_, spaces::data, "missing"), std::nullopt);
}

TYPED_TEST(Manager, CommitAckSequenceNumbersIncrease) {
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    commit_ack ack;
    ASSERT_TRUE(this->write(write_request{}.put(spaces::data, "k", std::to_string(i)), ack));
    EXPECT_GT(ack.seq, last);
    last = ack.seq;
  }
}

TYPED_TEST(Manager, DeleteAndDeleteRange) {
  write_request w;
  for (char c = 'a'; c <= 'f'; ++c) w.put(spaces::metas, std::string(1, c), "x");
  ASSERT_TRUE(this->write(std::move(w)));
  ASSERT_TRUE(
      this->write(write_request{}.del(spaces::metas, "a").del_range(spaces::metas, "c", "e")));
  scan_reply r;
  ASSERT_TRUE(this->ask(this->m_, scan_request{spaces::metas, "", "", 100}, r));
  std::vector<std::string> keys;
  for (auto& kv : r.entries) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "e", "f"}));
}

TYPED_TEST(Manager, MultiGetAnswersInOrder) {
  ASSERT_TRUE(
      this->write(write_request{}.put(spaces::metas, "a", "1").put(spaces::metas, "c", "3")));
  multi_get_reply r;
  ASSERT_TRUE(this->ask(this->m_, multi_get_request{spaces::metas, {"c", "b", "a"}}, r));
  EXPECT_EQ(r.found, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(r.values[0], "3");
  EXPECT_EQ(r.values[2], "1");
}

TYPED_TEST(Manager, ScanPagesThroughAPrefix) {
  write_request w;
  for (uint64_t i = 0; i < 25; ++i)
    w.put(spaces::rollback_ptr, concat_bytes(be_u64(7), be_u64(i)), std::to_string(i));
  w.put(spaces::rollback_ptr, concat_bytes(be_u64(8), be_u64(0)), "other");
  ASSERT_TRUE(this->write(std::move(w)));
  std::string after;
  std::vector<std::string> values;
  for (int page = 0; page < 10; ++page) {
    scan_reply r;
    ASSERT_TRUE(this->ask(
        this->m_, scan_request{spaces::rollback_ptr, std::string{be_u64(7).view()}, after, 10}, r));
    for (auto& kv : r.entries) values.push_back(kv.value);
    if (!r.more) break;
    after = r.entries.back().key;
  }
  ASSERT_EQ(values.size(), 25u);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], std::to_string(i));
}

TYPED_TEST(Manager, MultiSpaceWriteIsVisibleInEverySpace) {
  commit_ack ack;
  ASSERT_TRUE(this->write(write_request{}
                              .put(spaces::data, "k", "d")
                              .put(spaces::latest_ptr, "k", "l")
                              .put(spaces::proof_receipt, "k", "p"),
                          ack));
  EXPECT_EQ(this->get(this->m_, spaces::data, "k"), std::optional<std::string>{"d"});
  EXPECT_EQ(this->get(this->m_, spaces::latest_ptr, "k"), std::optional<std::string>{"l"});
  EXPECT_EQ(this->get(this->m_, spaces::proof_receipt, "k"), std::optional<std::string>{"p"});
}

TYPED_TEST(Manager, FlushStatsStatusAndDrain) {
  ASSERT_TRUE(this->write(write_request{}.put(spaces::data, "k", "v")));
  commit_ack ack;
  ASSERT_TRUE(this->ask(this->m_, flush_request{}, ack));
  auto s = this->stats(this->m_);
  ASSERT_EQ(s.spaces.size(), 8u);
  EXPECT_EQ(s.spaces[spaces::data].name, "data");
  EXPECT_EQ(s.spaces[spaces::data].writes, 1u);
  EXPECT_GE(s.rounds, 1u);
  status_reply st;
  ASSERT_TRUE(this->ask(this->m_, status_request{}, st));
  EXPECT_EQ(st.spaces.size(), 8u);
  EXPECT_FALSE(st.shutting_down);
  EXPECT_EQ(st.backend, TypeParam::kind == backend_kind::memory ? "memory" : "rocksdb");
  auto d = this->drain(this->m_);
  EXPECT_EQ(d.cut_off, 0u);
  get_reply g;
  auto after = this->ask(this->m_, get_request{spaces::data, "k"}, g);
  EXPECT_FALSE(after);
}

TYPED_TEST(Manager, BadRequestsGetClearErrorsAndChangeNothing) {
  auto code_of = [this](auto req) {
    using reply_t = std::conditional_t<
        std::is_same_v<decltype(req), write_request>, commit_ack,
        std::conditional_t<std::is_same_v<decltype(req), get_request>, get_reply,
                           std::conditional_t<std::is_same_v<decltype(req), scan_request>,
                                              scan_reply, multi_get_reply>>>;
    reply_t r;
    auto st = this->ask(this->m_, std::move(req), r);
    EXPECT_FALSE(st);
    return st.code();
  };
  EXPECT_EQ(code_of(get_request{99, "k"}), errc::unknown_space);
  EXPECT_EQ(code_of(get_request{0, ""}), errc::empty_key);
  EXPECT_EQ(code_of(get_request{0, std::string(70000, 'k')}), errc::too_large);
  EXPECT_EQ(code_of(scan_request{0, "", "", 0}), errc::invalid_argument);
  EXPECT_EQ(code_of(scan_request{0, "", "", 1u << 30}), errc::too_large);
  EXPECT_EQ(code_of(multi_get_request{0, std::vector<std::string>(20000, "k")}), errc::too_large);
  EXPECT_EQ(code_of(multi_get_request{0, {"a", ""}}), errc::empty_key);
  EXPECT_EQ(code_of(write_request{}), errc::invalid_argument);
  EXPECT_EQ(code_of(write_request{}.put(99, "k", "v")), errc::unknown_space);
  EXPECT_EQ(code_of(write_request{}.put(0, "ok", "v").put(1, "", "v")), errc::empty_key);
  EXPECT_EQ(code_of(write_request{}.put(0, "k", std::string(17u << 20, 'v'))), errc::too_large);
  EXPECT_EQ(code_of(write_request{}.del_range(0, "b", "a")), errc::invalid_argument);
  // None of the rejected writes left anything behind.
  EXPECT_EQ(this->get(this->m_, 0, "ok"), std::nullopt);
  EXPECT_EQ(this->get(this->m_, 0, "k"), std::nullopt);
}

}  // namespace
}  // namespace vstore::test

namespace vstore::test {
namespace {

class ManagerSpawn : public actor_test {
 protected:
  scratch_dir dir_;
};

// spawn_manager checks its options with the configuration file's validator:
// options built in code get the same errors as a bad vstore.ini, and nothing
// is spawned (no division by a pool of 0 readers, no shift past bit 63).
TEST_F(ManagerSpawn, RefusesInvalidOptionsWithTheValidatorsMessage) {
  auto base = test_options(backend_kind::memory, dir_.path());
  std::shared_ptr<store> backend;
  ASSERT_TRUE(open_store(base, backend));
  struct bad_case {
    const char* key;
    std::function<void(options&)> set;
  };
  std::vector<bad_case> cases{
      {"reader.pool-size", [](options& o) { o.reader.pool_size = 0; }},
      {"supervisor.stall-abort",
       [](options& o) { o.supervisor.stall_abort = o.supervisor.internal_timeout; }},
      {"supervisor.shutdown-grace",
       [](options& o) { o.supervisor.shutdown_grace = std::chrono::milliseconds(0); }},
      {"tokens.retain-count", [](options& o) { o.tokens.retain_count = 0; }},
  };
  for (const auto& c : cases) {
    auto o = base;
    c.set(o);
    manager_actor m;
    auto st = spawn_manager(sys_, manager_setup{o, backend, nullptr, std::nullopt}, m);
    EXPECT_EQ(st.code(), errc::invalid_config) << c.key;
    EXPECT_NE(st.context().find(c.key), std::string::npos) << st.to_string();
    EXPECT_FALSE(m) << c.key;
  }
  auto o = base;
  for (int i = 0; i < 65; ++i)
    o.schema.spaces.push_back(space_def{"extra" + std::to_string(i), {}});
  manager_actor m;
  EXPECT_EQ(spawn_manager(sys_, manager_setup{o, backend, nullptr, std::nullopt}, m).code(),
            errc::invalid_config);
  EXPECT_FALSE(m);
}

}  // namespace
}  // namespace vstore::test
