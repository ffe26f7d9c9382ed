#pragma once

// vstore's own logger (internal): an spdlog logger named "vstore", so that a
// program embedding vstore can tell vstore's lines from its own, route them
// (register its own logger named "vstore" before the first store opens) and
// set how much vstore says through options::logging ([store] log-level).
// vstore never touches spdlog's default logger or the global level.

#include <spdlog/spdlog.h>

#include "vstore/options.hpp"

namespace vstore {

/// Returns the "vstore" logger: the one registered under that name if the
/// program registered it, else one created at first use that writes to the
/// sinks of spdlog's default logger at level warn. Thread-safe.
spdlog::logger& logger();

/// Sets the "vstore" logger's level (spawn_manager does, from options).
void set_log_level(log_level level);

}  // namespace vstore
