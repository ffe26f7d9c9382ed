// Writes the message fuzz corpus: one serialized, valid example of every
// message type, prefixed with the selector byte message_fuzz.cpp uses.
// Usage: vstore-fuzz-seeds DIR
#include <fstream>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "messages/protocol.hpp"

namespace {

template <class T>
void write_seed(const std::string& dir, uint8_t selector, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(x)) return;
  std::ofstream out(dir + "/seed-" + std::to_string(selector), std::ios::binary);
  out.put(static_cast<char>(selector));
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string dir = argv[1];
  using namespace vstore;
  batch_part part{7, 3, {write_op{op_kind::put, 1, "k", "v"}}, true, "token", nullptr};
  write_seed(dir, 0, get_request{1, "key"});
  write_seed(dir, 1, get_reply{true, "value"});
  write_seed(dir, 2, multi_get_request{0, {"a", "b"}});
  write_seed(dir, 3, multi_get_reply{{1, 0}, {"x", ""}});
  write_seed(dir, 4, scan_request{2, "p", "pa", 10});
  write_seed(dir, 5, scan_reply{{{"k", "v"}}, true});
  auto w = write_request{}.put(0, "k", "v").del(1, "d").del_range(2, "a", "b");
  w.token = "token-1";
  write_seed(dir, 6, w);
  write_seed(dir, 7, commit_ack{42});
  stats_reply st;
  st.spaces.push_back(space_stats{"data", "ok", 1, 2, 3, 4, 8, 5, 6, 7, {1, 2}, {3}, 9, 1, {0, 1}});
  write_seed(dir, 8, st);
  write_seed(dir, 9, status_reply{"rocksdb", {"data"}, {"ok"}, false, 1, 2, health_report{}});
  write_seed(dir, 10, drain_reply{1, 2});
  write_seed(dir, 11, st.spaces[0]);
  write_seed(dir, 12, owned_part{part});
  write_seed(dir, 13, sibling_part{part});
  write_seed(dir, 14, sealed_batch{1, {part}, nullptr, 0, nullptr, false});
  write_seed(dir, 15,
             sealed_result{9, {1}, {2}, errc::io_error, "x", {3}, {4}, {5}, errc::no_space, "y"});
  write_seed(dir, 16, abort_space{1, 5});
  write_seed(dir, 17, committer_stats{1, 2, 3, 4, 5, 6});
  write_seed(dir, 18, write_op{op_kind::del, 3, "k", ""});
  write_seed(dir, 19, key_value{"k", "v"});
  write_seed(dir, 20, outcome_request{"token-1", 12});
  write_seed(dir, 21, outcome_reply{write_state::committed, 13});
  write_seed(dir, 22, checkpoint_request{"/backup/ckpt-1"});
  write_seed(dir, 23, checkpoint_reply{"/backup/ckpt-1", 99, 12, 4096, 37});
  write_seed(dir, 24,
             snapshot_read_request{
                 {read_item::get(1, "k"), read_item::page(2, "p", 10, "pa")}, 77, true, 5});
  write_seed(
      dir, 25,
      snapshot_read_reply{
          {read_result{true, "v", {}, false}, read_result{false, {}, {{"k", "v"}}, true}}, 42, 77});
  return 0;
}
