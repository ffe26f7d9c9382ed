#pragma once

// A store decorator whose commits a test blocks or fails on command: a slow
// disk (commit held until the test releases it), a failing disk (commit
// refused), and the worst case of a failing disk (the batch applied, then an
// error reported, as when RocksDB wrote the WAL record but its sync failed).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "vstore/store.hpp"

namespace vstore::test {

class fault_store final : public store {
 public:
  explicit fault_store(std::shared_ptr<store> inner) : inner_(std::move(inner)) {}

  /// Holds every commit from now on until release() (at most 20 s each).
  void block() {
    std::lock_guard<std::mutex> g{mtx_};
    blocked_ = true;
  }
  /// Lets held and later commits through.
  void release() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      blocked_ = false;
    }
    cv_.notify_all();
  }
  /// Waits until `n` commits are held (bounded by `max_wait`); returns whether
  /// they are.
  bool wait_held(int n, std::chrono::milliseconds max_wait = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, max_wait, [&] { return held_ >= n; });
  }
  /// The next `n` commits fail with errc::io_error; with `applied`, each is
  /// applied to the inner store before the error is reported.
  void fail_next(int n, bool applied) {
    std::lock_guard<std::mutex> g{mtx_};
    failures_ = n;
    fail_applied_ = applied;
  }
  /// The next `n` reads (get, multi_get, scan) fail with `code`.
  void fail_reads(int n, errc code) {
    std::lock_guard<std::mutex> g{mtx_};
    read_failures_ = n;
    read_code_ = code;
  }
  /// Returns how many commits reached the inner store.
  int commits() const { return commits_.load(); }

  const vstore::schema& schema() const noexcept override { return inner_->schema(); }
  std::unique_ptr<vstore::write_batch> make_batch() const override { return inner_->make_batch(); }
  status commit(vstore::write_batch& batch, uint64_t& seq) override {
    bool fail = false;
    bool applied = false;
    {
      std::unique_lock<std::mutex> g{mtx_};
      if (blocked_) {
        ++held_;
        cv_.notify_all();
        cv_.wait_for(g, std::chrono::seconds(20), [this] { return !blocked_; });
        --held_;
      }
      if (failures_ > 0) {
        --failures_;
        fail = true;
        applied = fail_applied_;
      }
    }
    if (fail && !applied) return {errc::io_error, "injected: commit refused"};
    ++commits_;
    auto st = inner_->commit(batch, seq);
    if (fail) return {errc::io_error, "injected: commit applied, then failed"};
    return st;
  }
  uint64_t latest_sequence() const noexcept override { return inner_->latest_sequence(); }
  using store::next_sequence;
  uint64_t next_sequence(const vstore::write_batch& batch, size_t pending) const override {
    return inner_->next_sequence(batch, pending);
  }
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    if (auto st = read_fault(); !st) return st;
    return inner_->get(space, key, value, found);
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    if (auto st = read_fault(); !st) return st;
    return inner_->multi_get(space, keys, values);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    if (auto st = read_fault(); !st) return st;
    return inner_->scan(space, prefix, start_after, limit, page);
  }
  status sync() override { return inner_->sync(); }
  health_state state() const noexcept override { return inner_->state(); }
  store_health health() const override { return inner_->health(); }
  status recover() override { return inner_->recover(); }

 private:
  /// Consumes one armed read failure, if any.
  status read_fault() const {
    std::lock_guard<std::mutex> g{mtx_};
    if (read_failures_ == 0) return {};
    --read_failures_;
    return {read_code_, "injected read failure"};
  }

  std::shared_ptr<store> inner_;
  mutable std::mutex mtx_;
  mutable int read_failures_ = 0;
  errc read_code_ = errc::io_error;
  std::condition_variable cv_;
  bool blocked_ = false;
  int held_ = 0;
  int failures_ = 0;
  bool fail_applied_ = false;
  std::atomic<int> commits_{0};
};

}  // namespace vstore::test
