#include "bench/floor_side.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "bench/proc.hpp"

namespace vstore::bench {

floor_side::floor_side(std::string exe, size_t max_threads, std::string dir)
    : exe_(std::move(exe)), max_threads_(max_threads), dir_(std::move(dir)) {}

floor_side::~floor_side() {
  if (proc_) proc_->stop(std::chrono::seconds(5));
}

pid_t floor_side::pid() const noexcept { return proc_ ? proc_->pid() : 0; }

const char* floor_side::what() {
  return "the same clients against an echo actor with the manager's interface that only replies "
         "(vstore-hop-floor --serve-echo: its own process, vstored's CAF settings, no store)";
}

std::string floor_side::prepare(actor_side& actors) {
  if (slot_) return {};
  if (!skip_.empty()) return skip_;
  if (access(exe_.c_str(), X_OK) != 0) return skip_ = "vstore-hop-floor not found (" + exe_ + ")";
  std::vector<std::string> argv = {exe_, "--serve-echo"};
  if (max_threads_ > 0) {
    argv.push_back("--max-threads");
    argv.push_back(std::to_string(max_threads_));
  }
  auto log = dir_ + "/floor-echo.log";
  if (auto st = child_process::start(argv, log, proc_); !st)
    return skip_ = "cannot start vstore-hop-floor --serve-echo: " + st.to_string();
  const std::string prefix = "vstore-hop-floor echo listening on ";
  std::string line;
  if (auto st = proc_->wait_for_line(prefix, std::chrono::seconds(30), line); !st) {
    std::ifstream l{log};
    std::string text{std::istreambuf_iterator<char>{l}, {}};
    proc_.reset();
    return skip_ = "the echo server did not start: " + st.to_string() + "; its log: " + text;
  }
  auto colon = line.rfind(':');
  port_ = static_cast<uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
  size_t slot = 0;
  if (auto st = actors.connect(port_, slot); !st)
    return skip_ = "cannot connect to the echo server: " + st.to_string();
  slot_ = slot;
  return {};
}

rep_result floor_side::run(actor_side& actors, const workload& w, const client_plan& plan) {
  if (!slot_) {
    rep_result out;
    out.errors = 1;
    out.first_error = skip_.empty() ? "the echo server is not prepared" : skip_;
    return out;
  }
  auto peer0 = process_cpu_seconds_of(pid());
  auto res = actors.run(*slot_, w, plan);
  res.cpu_seconds += process_cpu_seconds_of(pid()) - peer0;
  return res;
}

namespace {

/// Adds one repetition of a bound to its fields (see add_floor_rep).
void add_bound_rep(samples& values, samples* cpu_us, uint64_t& errors, std::string& first_error,
                   const rep_result& res, uint64_t units_per_request, bool measured) {
  if (res.errors > 0) {
    if (errors == 0) first_error = res.first_error;
    errors += res.errors;
  }
  if (!measured) return;
  auto units = static_cast<double>(res.completed * units_per_request);
  values.values.push_back(res.seconds > 0 ? units / res.seconds : 0);
  if (cpu_us != nullptr && units > 0) cpu_us->values.push_back(res.cpu_seconds * 1e6 / units);
}

}  // namespace

void add_floor_rep(row& r, const rep_result& res, uint64_t units_per_request, bool measured) {
  add_bound_rep(r.floor, &r.floor_cpu_us, r.floor_errors, r.floor_first_error, res,
                units_per_request, measured);
}

void add_ceiling_rep(row& r, const rep_result& res, uint64_t units_per_request, bool measured) {
  add_bound_rep(r.ceiling, nullptr, r.ceiling_errors, r.ceiling_first_error, res, units_per_request,
                measured);
}

}  // namespace vstore::bench
