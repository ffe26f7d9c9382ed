#include "tools/vstored/notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

#include <spdlog/spdlog.h>

namespace vstore::server {

namespace {

void send(const char* what, std::string_view status) {
  std::string msg = what;
  msg += "\nSTATUS=";
  for (char c : status) msg += c == '\n' ? ' ' : c;
  // 0: not under systemd (no NOTIFY_SOCKET); > 0: sent; < 0: -errno.
  if (int rc = sd_notify(0, msg.c_str()); rc < 0)
    spdlog::warn("vstored: sd_notify({}) failed: error {}", what, -rc);
}

}  // namespace

void notify_ready(std::string_view status) { send("READY=1", status); }

void notify_stopping(std::string_view status) { send("STOPPING=1", status); }

}  // namespace vstore::server
