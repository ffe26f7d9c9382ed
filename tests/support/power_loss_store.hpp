#pragma once

// What the power-loss loops share (tests/reliability/power_loss_test.cpp,
// sim_power_loss_test.cpp): a rocksdb_store on the power-loss file system
// handed to a manager with a signal for its close, and the "no repair" rule
// for the WAL report of a reopen.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/rocksdb/rocksdb_store.hpp"
#include "backends/rocksdb/wal_report.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/power_loss_fs.hpp"

namespace vstore::test {

/// An unsigned integer from the environment, or `fallback`.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
  if (const char* s = std::getenv(name)) return std::strtoull(s, nullptr, 10);
  return fallback;
}

/// Signals that a store was destroyed (RocksDB closed).
struct close_signal {
  std::mutex mtx;
  std::condition_variable cv;
  bool closed = false;
  void set() {
    {
      std::lock_guard<std::mutex> g{mtx};
      closed = true;
    }
    cv.notify_all();
  }
  bool wait(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g{mtx};
    return cv.wait_for(g, bound, [&] { return closed; });
  }
};

/// Hands `s` over as a shared store whose deleter closes it, then sets `sig`;
/// `env` (the file system it runs on) is released only after the store.
inline std::shared_ptr<store> signalling_store(std::unique_ptr<rocksdb_store> s,
                                               std::shared_ptr<power_loss_env> env,
                                               std::shared_ptr<close_signal> sig) {
  return std::shared_ptr<store>{s.release(),
                                [env = std::move(env), sig = std::move(sig)](store* p) {
                                  delete p;
                                  sig->set();
                                  (void)env;  // released after the store
                                }};
}

/// Kills `m`, waits for its down message and for `sig` (the close of its
/// store); returns what went wrong ("" if nothing). Bounded: reply_timeout for
/// the down message, 30 s for the close.
inline std::string kill_and_wait_closed(caf::scoped_actor& self, const manager_actor& m,
                                        std::shared_ptr<close_signal> sig) {
  self->monitor(m);
  caf::anon_send_exit(m, caf::exit_reason::kill);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(reply_timeout) >> [] {});
  if (!down) return "the killed manager sent no down message";
  if (sig && !sig->wait(std::chrono::seconds(30)))
    return "the store was not closed 30 s after the kill";
  return {};
}

/// Checks that a reopen needed no repair: point-in-time recovery may only
/// drop a torn record at the end of the last WAL, after a cut that kept a
/// torn tail. Adds the records dropped to `dropped`; returns one line per
/// file that breaks the rule (with `sync`; without it, losses are counted
/// only).
inline std::vector<std::string> wal_repairs(const wal_report& r, unsynced_loss loss, bool sync,
                                            uint64_t& dropped) {
  std::vector<std::string> out;
  for (size_t k = 0; k < r.files.size(); ++k) {
    const auto& file = r.files[k];
    if (file.dropped() == 0) continue;
    dropped += file.dropped();
    const bool tail = k + 1 == r.files.size() && loss == unsynced_loss::torn_tail &&
                      file.scan.damage == "the file ends inside the record";
    if (!tail && sync)
      out.push_back("the reopen dropped " + std::to_string(file.dropped()) + " records of " +
                    file.name + " (" + file.scan.damage + ")");
  }
  return out;
}

}  // namespace vstore::test
