#include "tools/vstore-sim/ack_check.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

status check_ack_log(const std::string& path, const std::vector<uint64_t>& live,
                     uint32_t rollback_depth, ack_check_result& out) {
  std::ifstream in(path);
  if (!in) return {errc::io_error, "cannot read the ack log " + path};
  std::map<uint64_t, uint64_t> acked;  // chain -> live batches as acknowledged
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    uint64_t index = 0;
    if (!(fields >> kind >> index)) continue;  // a line torn by the kill
    auto chain = chain_of(index);
    auto n = index & ((uint64_t{1} << chain_shift) - 1);
    if (kind == "commit") {
      acked[chain] = n + 1;
      ++out.commits;
    } else if (kind == "rollback") {
      auto& a = acked[chain];
      a = std::min(a, n);
      ++out.rollbacks;
    }
  }
  for (const auto& [chain, a] : acked) {
    ++out.chains;
    auto s = chain < live.size() ? live[chain] : 0;
    auto rolled = a - std::min<uint64_t>(a, rollback_depth);
    if (s == a || s == a + 1 || s == rolled) continue;
    out.failures.push_back("chain " + std::to_string(chain) + " holds " + std::to_string(s) +
                           " batches, but " + std::to_string(a) + " were acknowledged");
  }
  return {};
}

}  // namespace vstore::sim
