// Fuzzes the configuration parser: any input is either a valid configuration
// that survives a to_ini round trip, or an invalid_config error with a context.
#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vstore::options o;
  o.db.path = "/x";
  auto st = vstore::config::parse_ini(text, o);
  if (st) {
    if (!vstore::config::validate(o)) abort();
    vstore::options again;
    auto ini = vstore::config::to_ini(o);
    if (!vstore::config::parse_ini(ini, again)) abort();
    if (vstore::config::to_ini(again) != ini) abort();
  } else if (st.code() != vstore::errc::invalid_config || st.context().empty()) {
    abort();
  }
  uint64_t bytes = 0;
  std::chrono::milliseconds d{};
  vstore::config::parse_bytes(text, bytes);
  vstore::config::parse_duration(text, d);
  return 0;
}
