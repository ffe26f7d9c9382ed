#pragma once

// JSON output helpers shared by the tools (vstore, vstore-sim, vstore-bench).

#include <cstdio>
#include <string>
#include <string_view>

namespace vstore::tools {

/// Returns `s` as a quoted JSON string. Control characters and bytes outside
/// printable ASCII are written as \u00XX, so binary keys stay valid JSON.
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace vstore::tools
