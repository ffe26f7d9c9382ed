#include "actors/exceptions.hpp"

#include <string>
#include <string_view>

#include "messages/protocol.hpp"

namespace vstore {

namespace {

/// The context prefix that marks exception_to_error's reports.
constexpr std::string_view crash_marker = "actor crashed: ";

}  // namespace

caf::error exception_to_error(std::exception_ptr& eptr) {
  try {
    std::rethrow_exception(eptr);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{crash_marker} + e.what());
  } catch (...) {
    return make_error(errc::internal, std::string{crash_marker} + "unknown exception");
  }
}

bool is_crash_report(const caf::error& e) {
  if (e.category() != caf::atom("vstore") || e.code() != static_cast<uint8_t>(errc::internal))
    return false;
  auto st = to_status(e);
  return st.context().compare(0, crash_marker.size(), crash_marker) == 0;
}

}  // namespace vstore
