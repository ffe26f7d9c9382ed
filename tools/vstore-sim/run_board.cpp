#include "tools/vstore-sim/run_board.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "tools/vstore-sim/workload.hpp"

namespace vstore::sim {

void run_board::fail(std::string what) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (errors_++ == 0) first_error_ = std::move(what);
  failed_.store(true, std::memory_order_relaxed);
}

std::string run_board::first_error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return first_error_;
}

uint64_t run_board::errors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return errors_;
}

void run_board::finish(scheduler_report r) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    reports_.push_back(std::move(r));
    last_finish_ = std::chrono::steady_clock::now();
  }
  cv_.notify_all();
}

bool run_board::wait(size_t n, std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, d, [&] { return reports_.size() >= n; });
}

std::chrono::steady_clock::time_point run_board::last_finish() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_finish_;
}

std::vector<scheduler_report> run_board::take_reports() {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::move(reports_);
}

ack_log::~ack_log() {
  if (file_) std::fclose(file_);
}

status ack_log::open(const std::string& path) {
  std::lock_guard<std::mutex> guard{mtx_};
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) return {errc::io_error, "--ack-log " + path + ": " + std::strerror(errno)};
  return {};
}

void ack_log::intent(const std::string& token) { line("intent", token); }

void ack_log::ack(const std::string& token) { line("ack", token); }

void ack_log::line(const char* verb, const std::string& token) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!file_) return;
  std::fprintf(file_, "%s %s\n", verb, token.c_str());
  std::fflush(file_);
}

void torn_feed::commit_sent(published_batch b) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock{mtx_};
  b.rollbacks = rollbacks_;
  newest_ = std::move(b);
}

void torn_feed::rollback_sent(uint64_t first) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock{mtx_};
  ++rollbacks_;
  recent_.push_back(first);
  if (recent_.size() > kept_rollbacks) recent_.pop_front();
}

std::optional<published_batch> torn_feed::take() {
  std::lock_guard<std::mutex> lock{mtx_};
  std::optional<published_batch> r;
  r.swap(newest_);
  return r;
}

bool torn_feed::rolled_back(const published_batch& b) const {
  std::lock_guard<std::mutex> lock{mtx_};
  auto since = rollbacks_ - b.rollbacks;
  if (since > recent_.size()) return true;
  for (auto i = recent_.size() - since; i < recent_.size(); ++i)
    if (chain_of(recent_[i]) == chain_of(b.index) && recent_[i] <= b.index) return true;
  return false;
}

}  // namespace vstore::sim
