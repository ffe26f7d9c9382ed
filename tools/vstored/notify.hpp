#pragma once

// systemd readiness notification (Type=notify). Every call is a no-op when
// vstored does not run under systemd (no NOTIFY_SOCKET in the environment).

#include <string_view>

namespace vstore::server {

/// Tells systemd that vstored serves (READY=1) with a STATUS= line.
void notify_ready(std::string_view status);

/// Tells systemd that vstored began to stop (STOPPING=1) with a STATUS= line.
void notify_stopping(std::string_view status);

}  // namespace vstore::server
