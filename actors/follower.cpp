#include "actors/follower.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <caf/all.hpp>

#include "actors/epoch_record.hpp"
#include "actors/exceptions.hpp"
#include "log/log.hpp"

namespace vstore {

namespace {

/// The first and the longest wait before connecting or asking again after
/// a failure (doubling in between).
constexpr auto backoff_min = std::chrono::milliseconds(50);
constexpr auto backoff_max = std::chrono::milliseconds(2000);

/// Added to the primary's hold (poll-wait) to bound a log request.
constexpr auto request_margin = std::chrono::seconds(30);

struct follower_state {
  std::shared_ptr<store> backend;
  replica_setup setup;
  options opts;
  std::shared_ptr<replication_board> board;
  manager_actor primary;
  bool connected_once = false;
  bool stopped = false;
  /// Bumped when the primary is lost: a reply or error of an older log
  /// request is then ignored (its loop was restarted).
  uint64_t epoch = 0;
  std::chrono::milliseconds backoff = backoff_min;
  static inline const char* name = "vstore.follower";
};

using follower_pointer = follower_actor::stateful_pointer<follower_state>;

void retry_later(follower_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.backoff, follow_atom::value);
  st.backoff = std::min(2 * st.backoff, backoff_max);
}

void lose_primary(follower_pointer self, const std::string& why) {
  auto& st = self->state;
  if (st.primary) self->demonitor(st.primary.address());
  st.primary = manager_actor{};
  ++st.epoch;
  st.board->set_state("primary down", why);
  logger().warn("vstore: replica of {}: primary down: {}", st.setup.primary, why);
}

/// Applies a log reply; false (the state says why) when a batch failed.
bool apply(follower_pointer self, log_reply& r) {
  auto& st = self->state;
  st.board->heard(r.latest);
  for (auto& b : r.batches) {
    if (auto s = st.backend->apply_log(b); !s) {
      st.board->set_state("apply failed", s.to_string());
      logger().error("vstore: replica of {}: applying the batch at sequence {} failed: {}",
                     st.setup.primary, b.seq, s.to_string());
      return false;
    }
    st.board->applied_through(b.last_seq(), b.data.size());
  }
  return true;
}

/// The primary no longer holds the log this replica needs: copies a fresh
/// snapshot beside the data directory (replica_staged_path) while the old
/// store goes on serving, then tells the manager (board state "resync
/// ready"), which switches to it and starts a new follower. Without a store
/// opener, or when the copy fails, it stops with "resync needed" (the copy
/// is tried again after the backoff).
void resync(follower_pointer self, const status& why) {
  auto& st = self->state;
  logger().warn("vstore: replica of {}: {}; copying a fresh snapshot", st.setup.primary,
                why.to_string());
  if (!st.setup.open) {
    st.stopped = true;
    st.board->set_state("resync needed", why.to_string());
    return;
  }
  st.board->set_state("re-syncing", why.to_string());
  namespace fs = std::filesystem;
  const auto staged = replica_staged_path(st.opts.db.path);
  const auto tmp = staged + ".tmp";
  uint64_t seq = 0;
  auto primary = st.setup.primary;
  auto copied = copy_snapshot(
      self->system(), st.primary, st.opts, tmp, st.setup.open,
      [primary](const std::string& line) {
        logger().info("vstore: re-sync from {}: {}", primary, line);
      },
      seq);
  std::error_code ec;
  if (copied) {
    fs::remove_all(staged, ec);
    fs::rename(tmp, staged, ec);
    if (ec) copied = status{errc::io_error, "cannot rename " + tmp + ": " + ec.message()};
  }
  if (!copied) {
    fs::remove_all(tmp, ec);
    st.board->set_state("resync needed", "re-sync failed: " + copied.to_string());
    logger().error("vstore: replica of {}: re-sync failed: {}", st.setup.primary,
                   copied.to_string());
    retry_later(self);
    return;
  }
  st.stopped = true;
  st.board->set_state("resync ready");
  logger().warn("vstore: replica of {}: fresh copy at sequence {} staged in {}", st.setup.primary,
                seq, staged);
}

void step(follower_pointer self) {
  auto& st = self->state;
  if (st.stopped) return;
  if (!st.primary) {
    manager_actor p;
    if (auto s = st.setup.connect(self->system(), p); !s) {
      st.board->set_state(st.connected_once ? "primary down" : "connecting", s.to_string());
      retry_later(self);
      return;
    }
    st.primary = p;
    self->monitor(st.primary);
    if (st.connected_once) st.board->count_reconnect();
    st.connected_once = true;
    st.board->set_state("following");
    logger().info("vstore: replica of {}: connected", st.setup.primary);
  }
  uint64_t applied = 0;
  if (auto s = st.backend->applied_log(applied); !s) {
    st.board->set_state("apply failed", s.to_string());
    retry_later(self);
    return;
  }
  epoch_record epoch;
  if (auto s = epoch_record::read(*st.backend, epoch); !s) {
    st.board->set_state("apply failed", s.to_string());
    retry_later(self);
    return;
  }
  st.board->set_epoch(epoch.epoch);
  log_request req;
  req.from_seq = applied + 1;
  req.epoch = epoch.epoch;
  req.wait_ms = static_cast<uint32_t>(st.opts.replication.poll_wait.count());
  req.replica = st.setup.name;
  auto bound =
      std::chrono::duration_cast<caf::timespan>(st.opts.replication.poll_wait + request_margin);
  self->request(st.primary, bound, std::move(req))
      .then(
          [self, epoch = st.epoch](log_reply& r) {
            auto& s = self->state;
            if (epoch != s.epoch) return;
            if (!apply(self, r)) {
              retry_later(self);
              return;
            }
            s.backoff = backoff_min;
            self->send(self, follow_atom::value);
          },
          [self, epoch = st.epoch](caf::error& e) {
            auto& s = self->state;
            if (epoch != s.epoch) return;
            auto why = to_status(e);
            if (why.code() == errc::resync_needed) {
              resync(self, why);
              return;
            }
            lose_primary(self, why.to_string());
            retry_later(self);
          });
}

follower_actor::behavior_type follower(follower_pointer self, std::shared_ptr<store> backend,
                                       replica_setup setup, options opts,
                                       std::shared_ptr<replication_board> board) {
  auto& st = self->state;
  st.backend = std::move(backend);
  st.setup = std::move(setup);
  st.opts = std::move(opts);
  st.board = std::move(board);
  self->set_exception_handler(exception_to_error);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.primary || dm.source != s.primary.address()) return;
    lose_primary(self, caf::to_string(dm.reason));
    retry_later(self);
  });
  // Lets go of the store before it goes down (the drain waits for that).
  self->set_exit_handler([self](caf::exit_msg& m) {
    self->state.backend.reset();
    self->quit(m.reason);
  });
  self->send(self, follow_atom::value);
  return {
      [self](follow_atom) { step(self); },
  };
}

}  // namespace

follower_actor spawn_follower(caf::actor_system& sys, std::shared_ptr<store> backend,
                              replica_setup setup, options opts,
                              std::shared_ptr<replication_board> board) {
  return sys.spawn<caf::detached>(follower, std::move(backend), std::move(setup), opts,
                                  std::move(board));
}

}  // namespace vstore
