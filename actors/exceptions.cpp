#include "actors/exceptions.hpp"

#include <string>

#include "messages/protocol.hpp"

namespace vstore {

caf::error exception_to_error(std::exception_ptr& eptr) {
  try {
    std::rethrow_exception(eptr);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"actor crashed: "} + e.what());
  } catch (...) {
    return make_error(errc::internal, "actor crashed: unknown exception");
  }
}

}  // namespace vstore
