#include "log/log.hpp"

#include <memory>
#include <mutex>

namespace vstore {

namespace {

std::shared_ptr<spdlog::logger> find_or_make() {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get("vstore")) return existing;
  auto def = spdlog::default_logger();
  auto made = std::make_shared<spdlog::logger>("vstore", def->sinks().begin(), def->sinks().end());
  made->set_level(spdlog::level::warn);
  spdlog::register_logger(made);
  return made;
}

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::critical:
      return spdlog::level::critical;
    case log_level::off:
      return spdlog::level::off;
  }
  return spdlog::level::warn;
}

}  // namespace

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = find_or_make();
  return *instance;
}

void set_log_level(log_level level) { logger().set_level(to_spdlog(level)); }

}  // namespace vstore
