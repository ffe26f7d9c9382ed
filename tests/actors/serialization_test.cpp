// Every message type survives a binary serialization round trip (what BASP
// does over the network), and truncated input is an error, not a crash.
#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "messages/protocol.hpp"
#include "vstore/manager.hpp"

namespace vstore {
namespace {

struct config : caf::actor_system_config {
  config() { configure_actor_system(*this); }
};

class Serialization : public ::testing::Test {
 protected:
  config cfg_;
  caf::actor_system sys_{cfg_};

  template <class T>
  T round_trip(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys_, buf};
    EXPECT_FALSE(sink(x));
    T y;
    caf::binary_deserializer src{sys_, buf};
    EXPECT_FALSE(src(y));
    // Every strict prefix fails cleanly.
    for (size_t n = 0; n + 1 < buf.size(); n += 1 + buf.size() / 16) {
      std::vector<char> cut(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      caf::binary_deserializer partial{sys_, cut};
      T z;
      EXPECT_TRUE(partial(z)) << "prefix of " << n << " bytes accepted";
    }
    return y;
  }
};

const std::string binary{"a\0b\xff\x01", 5};

TEST_F(Serialization, Checkpoint) {
  auto q = round_trip(checkpoint_request{"/backup/x\xff"});
  EXPECT_EQ(q.dir, "/backup/x\xff");
  auto r = round_trip(checkpoint_reply{"/backup/x", 1234567, 17, 1u << 30, 2500});
  EXPECT_EQ(r.dir, "/backup/x");
  EXPECT_EQ(r.sequence, 1234567u);
  EXPECT_EQ(r.files, 17u);
  EXPECT_EQ(r.bytes, 1u << 30);
  EXPECT_EQ(r.elapsed_ms, 2500u);
  stats_reply st;
  st.checkpoints = 9;
  EXPECT_EQ(round_trip(st).checkpoints, 9u);
  // Registered under its name (what a remote node looks up).
  EXPECT_EQ(sys_.types().portable_name(caf::make_rtti_pair<checkpoint_request>()),
            "vstore::checkpoint_request");
  EXPECT_EQ(sys_.types().portable_name(caf::make_rtti_pair<checkpoint_reply>()),
            "vstore::checkpoint_reply");
}

TEST_F(Serialization, Requests) {
  auto g = round_trip(get_request{3, binary});
  EXPECT_EQ(g.space, 3);
  EXPECT_EQ(g.key, binary);
  auto m = round_trip(multi_get_request{1, {"a", binary, ""}});
  EXPECT_EQ(m.keys, (std::vector<std::string>{"a", binary, ""}));
  auto s = round_trip(scan_request{2, "p", binary, 77});
  EXPECT_EQ(s.prefix, "p");
  EXPECT_EQ(s.start_after, binary);
  EXPECT_EQ(s.limit, 77u);
  auto w = round_trip(write_request{}.put(1, "k", binary).del(2, "d").del_range(3, "a", "b"));
  ASSERT_EQ(w.ops.size(), 3u);
  EXPECT_EQ(w.ops[0].value, binary);
  EXPECT_EQ(w.ops[1].kind, op_kind::del);
  EXPECT_EQ(w.ops[2].kind, op_kind::del_range);
  EXPECT_EQ(w.ops[2].value, "b");
  auto r = round_trip(snapshot_read_request{
      {read_item::get(1, binary), read_item::page(2, "p", 10, binary)}, 77, true, 5});
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].key, binary);
  EXPECT_FALSE(r.items[0].scan);
  EXPECT_TRUE(r.items[1].scan);
  EXPECT_EQ(r.items[1].start_after, binary);
  EXPECT_EQ(r.items[1].limit, 10u);
  EXPECT_EQ(r.snapshot, 77u);
  EXPECT_TRUE(r.keep);
  EXPECT_EQ(r.min_seq, 5u);
}

TEST_F(Serialization, Replies) {
  auto g = round_trip(get_reply{true, binary});
  EXPECT_TRUE(g.found);
  EXPECT_EQ(g.value, binary);
  auto m = round_trip(multi_get_reply{{1, 0}, {"x", ""}});
  EXPECT_EQ(m.found, (std::vector<uint8_t>{1, 0}));
  auto s = round_trip(scan_reply{{{"k", binary}}, true});
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].value, binary);
  EXPECT_TRUE(s.more);
  EXPECT_EQ(round_trip(commit_ack{99}).seq, 99u);
  auto sr = round_trip(snapshot_read_reply{
      {read_result{true, binary, {}, false}, read_result{false, {}, {{"k", binary}}, true}},
      42,
      77});
  ASSERT_EQ(sr.results.size(), 2u);
  EXPECT_EQ(sr.results[0].value, binary);
  EXPECT_EQ(sr.results[1].entries[0].value, binary);
  EXPECT_TRUE(sr.results[1].more);
  EXPECT_EQ(sr.seq, 42u);
  EXPECT_EQ(sr.snapshot, 77u);
  auto d = round_trip(drain_reply{5, 2});
  EXPECT_EQ(d.answered, 5u);
  EXPECT_EQ(d.cut_off, 2u);
  space_stats sp;
  sp.name = "data";
  sp.flushes = {1, 2, 3};
  sp.latency_us = {4, 5};
  sp.errors = {0, 1};
  sp.restarts = 7;
  stats_reply st;
  st.spaces = {sp};
  st.rounds = 11;
  auto st2 = round_trip(st);
  ASSERT_EQ(st2.spaces.size(), 1u);
  EXPECT_EQ(st2.spaces[0].name, "data");
  EXPECT_EQ(st2.spaces[0].flushes, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(st2.spaces[0].restarts, 7u);
  EXPECT_EQ(st2.rounds, 11u);
  health_report h{
      "degraded", "no_space", "free space on /d is 1.0 MiB", 1700000000000, 2, 5, 1048576, 9, 4500};
  status_reply info{"rocksdb", {"data"}, {"ok"}, true, 12, 34, h};
  auto info2 = round_trip(info);
  EXPECT_EQ(info2.backend, "rocksdb");
  EXPECT_TRUE(info2.shutting_down);
  EXPECT_EQ(info2.sequence, 34u);
  EXPECT_EQ(info2.health.state, "degraded");
  EXPECT_EQ(info2.health.code, "no_space");
  EXPECT_EQ(info2.health.message, h.message);
  EXPECT_EQ(info2.health.since_unix_ms, 1700000000000);
  EXPECT_EQ(info2.health.free_bytes, 1048576u);
  EXPECT_EQ(info2.health.oldest_write_ms, 4500u);
  stats_reply with_health;
  with_health.health = h;
  EXPECT_EQ(round_trip(with_health).health.recovery_attempts, 5u);
}

TEST_F(Serialization, InternalMessages) {
  batch_part p{9, 3, {write_op{op_kind::put, 0, "k", binary}}, true, binary, nullptr};
  auto o = round_trip(owned_part{p});
  EXPECT_EQ(o.part.g, 9u);
  EXPECT_EQ(o.part.token, binary);
  EXPECT_EQ(o.part.mask, 3u);
  EXPECT_TRUE(o.part.flush_now);
  EXPECT_EQ(round_trip(sibling_part{p}).part.ops[0].value, binary);
  EXPECT_EQ(round_trip(sealed_batch{1, {p, p}, nullptr, 0, nullptr, false}).parts.size(), 2u);
  auto r = round_trip(
      sealed_result{5, {1}, {2}, errc::io_error, "disk", {7}, {70}, {3}, errc::no_space, "full"});
  EXPECT_EQ(r.refused, (std::vector<uint64_t>{3}));
  EXPECT_EQ(r.refuse_code, errc::no_space);
  EXPECT_EQ(r.refuse_context, "full");
  EXPECT_EQ(r.fail_code, errc::io_error);
  EXPECT_EQ(r.failed, (std::vector<uint64_t>{2}));
  EXPECT_EQ(r.duplicate, (std::vector<uint64_t>{7}));
  EXPECT_EQ(r.duplicate_seq, (std::vector<uint64_t>{70}));
  EXPECT_EQ(round_trip(abort_space{4, 8}).up_to_g, 8u);
  auto cs = round_trip(committer_stats{1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(cs.recovery_attempts, 7u);
  EXPECT_EQ(cs.aborted_batches, 3u);
  EXPECT_EQ(cs.duplicates, 4u);
  EXPECT_EQ(cs.tokens_forgotten, 6u);
  round_trip(fence_request{});
}

TEST_F(Serialization, TokensAndOutcomes) {
  write_request w;
  w.put(1, "k", "v").token = binary;
  EXPECT_EQ(round_trip(w).token, binary);
  auto q = round_trip(outcome_request{binary, 77});
  EXPECT_EQ(q.token, binary);
  EXPECT_EQ(q.not_before_seq, 77u);
  auto a = round_trip(outcome_reply{write_state::committed, 42});
  EXPECT_EQ(a.state, write_state::committed);
  EXPECT_EQ(a.seq, 42u);
  EXPECT_EQ(round_trip(outcome_reply{write_state::not_committed, 0}).state,
            write_state::not_committed);
}

TEST_F(Serialization, ErrorsKeepTheirCodeAndContext) {
  for (uint8_t c = 1; c <= errc_max; ++c) {
    auto code = static_cast<errc>(c);
    auto st = to_status(make_error(code, "ctx"));
    EXPECT_EQ(st.code(), code);
    EXPECT_EQ(st.context(), "ctx");
  }
  EXPECT_EQ(to_status(caf::make_error(caf::sec::request_timeout)).code(), errc::timeout);
  EXPECT_EQ(to_status(caf::make_error(caf::sec::request_receiver_down)).code(), errc::unavailable);
  EXPECT_TRUE(to_status(caf::error{}));
  EXPECT_NE(sys_.render(make_error(errc::overloaded, "x")).find("overloaded"), std::string::npos);
}

}  // namespace
}  // namespace vstore
