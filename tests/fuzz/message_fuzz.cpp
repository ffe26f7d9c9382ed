// Fuzzes the deserialization of every vstore message type, as BASP does with
// the payload of a frame from the network: the first byte picks the type, the
// rest is its serialized form. Deserialization must fail cleanly or produce a
// value that serializes back to something that deserializes to the same bytes.
#include <cstdlib>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/protocol.hpp"
#include "tests/fuzz/fuzz_target.hpp"

namespace {

template <class T>
void check(const char* data, size_t size) {
  T x;
  caf::binary_deserializer src{nullptr, data, size};
  if (src(x)) return;  // rejected: fine
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(x)) abort();
  T y;
  caf::binary_deserializer again{nullptr, buf};
  if (again(y)) abort();
  std::vector<char> buf2;
  caf::binary_serializer sink2{nullptr, buf2};
  if (sink2(y) || buf2 != buf) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto p = reinterpret_cast<const char*>(data) + 1;
  auto n = size - 1;
  using namespace vstore;
  switch (data[0] % 26) {
    case 0:
      check<get_request>(p, n);
      break;
    case 1:
      check<get_reply>(p, n);
      break;
    case 2:
      check<multi_get_request>(p, n);
      break;
    case 3:
      check<multi_get_reply>(p, n);
      break;
    case 4:
      check<scan_request>(p, n);
      break;
    case 5:
      check<scan_reply>(p, n);
      break;
    case 6:
      check<write_request>(p, n);
      break;
    case 7:
      check<commit_ack>(p, n);
      break;
    case 8:
      check<stats_reply>(p, n);
      break;
    case 9:
      check<status_reply>(p, n);
      break;
    case 10:
      check<drain_reply>(p, n);
      break;
    case 11:
      check<space_stats>(p, n);
      break;
    case 12:
      check<owned_part>(p, n);
      break;
    case 13:
      check<sibling_part>(p, n);
      break;
    case 14:
      check<sealed_batch>(p, n);
      break;
    case 15:
      check<sealed_result>(p, n);
      break;
    case 16:
      check<abort_space>(p, n);
      break;
    case 17:
      check<committer_stats>(p, n);
      break;
    case 18:
      check<write_op>(p, n);
      break;
    case 20:
      check<outcome_request>(p, n);
      break;
    case 21:
      check<outcome_reply>(p, n);
      break;
    case 22:
      check<checkpoint_request>(p, n);
      break;
    case 23:
      check<checkpoint_reply>(p, n);
      break;
    case 24:
      check<snapshot_read_request>(p, n);
      break;
    case 25:
      check<snapshot_read_reply>(p, n);
      break;
    default:
      check<key_value>(p, n);
      break;
  }
  return 0;
}
