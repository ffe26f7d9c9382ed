#pragma once

#include <exception>

#include <caf/error.hpp>

namespace vstore {

/// CAF exception handler for vstore's actors: turns an exception into a vstore
/// errc::internal error naming it. The actor still terminates afterwards (CAF
/// 0.17 always ends an actor whose handler threw) and its supervisor restarts it.
caf::error exception_to_error(std::exception_ptr& eptr);

/// Returns whether `e` is exception_to_error's report (its actor is gone), as
/// opposed to an errc::internal a live actor answered (e.g. a backend error
/// RocksDB has no better code for).
bool is_crash_report(const caf::error& e);

}  // namespace vstore
