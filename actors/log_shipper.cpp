#include "actors/log_shipper.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>
#include <vector>

#include <caf/all.hpp>

#include "actors/exceptions.hpp"
#include "log/log.hpp"

namespace vstore {

namespace fs = std::filesystem;

std::string snapshot_root(const std::string& db_path) {
  return (fs::path{db_path} / "replication-snapshots").string();
}

namespace {

using clock_type = std::chrono::steady_clock;

struct held_log {
  log_request req;
  caf::typed_response_promise<log_reply> rp;
  clock_type::time_point deadline;
};

struct snapshot {
  std::string dir;
  std::map<std::string, uint64_t> files;
  clock_type::time_point last_used;
};

struct shipper_state {
  std::shared_ptr<store> backend;
  std::string db_path;
  replication_options opts;
  std::shared_ptr<replication_board> board;
  std::vector<held_log> held;
  std::map<uint64_t, snapshot> snapshots;
  uint64_t next_id = 0;
  bool poll_armed = false;
  static inline const char* name = "vstore.log-shipper";
};

using shipper_pointer = log_shipper_actor::stateful_pointer<shipper_state>;

void arm_poll(shipper_pointer self) {
  auto& st = self->state;
  if (st.poll_armed || (st.held.empty() && st.snapshots.empty())) return;
  st.poll_armed = true;
  // Snapshots alone need no fast timer.
  auto period = st.held.empty() ? std::chrono::milliseconds(1000) : ship_poll_period;
  self->delayed_send(self, period, ship_poll_atom::value);
}

uint64_t max_bytes_of(const shipper_state& st, const log_request& req) {
  uint64_t cap = st.opts.max_log_bytes;
  return req.max_bytes == 0 ? cap : std::min<uint64_t>(req.max_bytes, cap);
}

/// Reads the log for `req`: a reply, or the error to answer.
caf::error read_for(shipper_pointer self, const log_request& req, log_reply& out) {
  auto& st = self->state;
  out.latest = st.backend->latest_sequence();
  if (auto s = st.backend->read_log(req.from_seq, max_bytes_of(st, req), out.batches); !s)
    return to_error(s);
  uint64_t bytes = 0;
  for (const auto& b : out.batches) bytes += b.data.size();
  st.board->served(req.replica.empty() ? "unnamed" : req.replica, req.from_seq, bytes);
  return {};
}

void answer(shipper_pointer self, held_log& h) {
  log_reply out;
  if (auto e = read_for(self, h.req, out))
    h.rp.deliver(e);
  else
    h.rp.deliver(std::move(out));
}

void on_poll(shipper_pointer self) {
  auto& st = self->state;
  st.poll_armed = false;
  auto now = clock_type::now();
  auto latest = st.backend->latest_sequence();
  auto keep = st.held.begin();
  for (auto& h : st.held) {
    if (latest >= h.req.from_seq || now >= h.deadline)
      answer(self, h);
    else {
      // Never a self-move: it empties a std::string or std::vector.
      if (&*keep != &h) *keep = std::move(h);
      ++keep;
    }
  }
  st.held.erase(keep, st.held.end());
  for (auto i = st.snapshots.begin(); i != st.snapshots.end();) {
    if (now - i->second.last_used < snapshot_idle) {
      ++i;
      continue;
    }
    logger().warn("vstore: replication snapshot {} unused for {} minutes: deleted", i->first,
                  std::chrono::duration_cast<std::chrono::minutes>(snapshot_idle).count());
    std::error_code ec;
    fs::remove_all(i->second.dir, ec);
    i = st.snapshots.erase(i);
  }
  arm_poll(self);
}

caf::result<snapshot_reply> make_snapshot(shipper_pointer self) {
  auto& st = self->state;
  std::error_code ec;
  fs::create_directories(snapshot_root(st.db_path), ec);
  if (ec)
    return make_error(errc::io_error,
                      "cannot create " + snapshot_root(st.db_path) + ": " + ec.message());
  auto id = ++st.next_id;
  auto dir = (fs::path{snapshot_root(st.db_path)} / std::to_string(id)).string();
  snapshot_reply r;
  r.id = id;
  if (auto s = st.backend->checkpoint(dir, r.sequence); !s) return to_error(s);
  snapshot snap;
  snap.dir = dir;
  snap.last_used = clock_type::now();
  for (auto i = fs::recursive_directory_iterator{dir, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    std::error_code fec;
    if (!i->is_regular_file(fec)) continue;
    auto size = i->file_size(fec);
    if (fec) continue;
    auto name = fs::relative(i->path(), dir, fec).generic_string();
    if (fec) continue;
    snap.files.emplace(name, size);
    r.files.push_back(snapshot_file{name, size});
    r.bytes += size;
  }
  if (ec) {
    fs::remove_all(dir, ec);
    return make_error(errc::io_error, "cannot list snapshot " + dir);
  }
  st.snapshots.emplace(id, std::move(snap));
  st.board->count_snapshot();
  logger().info("vstore: replication snapshot {} at sequence {}: {} files, {} bytes", id,
                r.sequence, r.files.size(), r.bytes);
  arm_poll(self);
  return r;
}

caf::result<chunk_reply> read_chunk(shipper_pointer self, const chunk_request& req) {
  auto& st = self->state;
  auto i = st.snapshots.find(req.id);
  if (i == st.snapshots.end())
    return make_error(errc::invalid_argument,
                      "snapshot " + std::to_string(req.id) + " is unknown or was released");
  auto f = i->second.files.find(req.name);
  if (f == i->second.files.end())
    return make_error(errc::invalid_argument,
                      "snapshot " + std::to_string(req.id) + " has no file '" + req.name + "'");
  i->second.last_used = clock_type::now();
  chunk_reply out;
  if (req.offset >= f->second) return out;
  uint64_t len = req.max_bytes == 0 ? st.opts.chunk_bytes
                                    : std::min<uint64_t>(req.max_bytes, st.opts.chunk_bytes);
  len = std::min(len, f->second - req.offset);
  std::ifstream in{(fs::path{i->second.dir} / req.name).string(), std::ios::binary};
  out.data.resize(len);
  in.seekg(static_cast<std::streamoff>(req.offset));
  in.read(out.data.data(), static_cast<std::streamsize>(len));
  if (!in || static_cast<uint64_t>(in.gcount()) != len)
    return make_error(errc::io_error, "cannot read " + req.name + " of snapshot " +
                                          std::to_string(req.id) + " at offset " +
                                          std::to_string(req.offset));
  return out;
}

void drop_snapshots(shipper_state& st) {
  std::error_code ec;
  for (auto& kv : st.snapshots) fs::remove_all(kv.second.dir, ec);
  st.snapshots.clear();
}

log_shipper_actor::behavior_type log_shipper(shipper_pointer self, std::shared_ptr<store> backend,
                                             std::string db_path, replication_options opts,
                                             std::shared_ptr<replication_board> board) {
  auto& st = self->state;
  st.backend = std::move(backend);
  st.db_path = std::move(db_path);
  st.opts = opts;
  st.board = std::move(board);
  {
    // Snapshots of an earlier run are of no use: nobody holds their ids.
    std::error_code ec;
    fs::remove_all(snapshot_root(st.db_path), ec);
  }
  self->set_exception_handler(exception_to_error);
  // Answers every held request (CAF 0.17 has no broken promise), deletes the
  // snapshots and lets go of the store before going down.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& s = self->state;
    for (auto& h : s.held) h.rp.deliver(make_error(errc::shutting_down, "the primary stops"));
    s.held.clear();
    drop_snapshots(s);
    s.backend.reset();
    self->quit(m.reason);
  });
  return {
      [self](log_request& req) -> caf::result<log_reply> {
        auto& s = self->state;
        if (req.from_seq == 0) return make_error(errc::invalid_argument, "log from sequence 0");
        auto own = s.board->epoch();
        if (req.epoch < own)
          return make_error(errc::resync_needed,
                            "the replica is of epoch " + std::to_string(req.epoch) +
                                " and this primary of epoch " + std::to_string(own) +
                                " (promoted since): its sequence numbers mean nothing here");
        if (req.epoch > own) {
          if (s.board->superseded_by() < req.epoch)
            logger().error(
                "vstore: a replica of epoch {} asked this primary (epoch {}): another node was "
                "promoted; this node refuses writes from now on",
                req.epoch, own);
          s.board->supersede(req.epoch);
          return make_error(errc::read_only, "this node was superseded by epoch " +
                                                 std::to_string(req.epoch) +
                                                 ": follow the promoted primary");
        }
        auto wait = std::min<std::chrono::milliseconds>(std::chrono::milliseconds{req.wait_ms},
                                                        s.opts.poll_wait);
        if (wait.count() == 0 || s.backend->latest_sequence() >= req.from_seq) {
          log_reply out;
          if (auto e = read_for(self, req, out)) return e;
          return out;
        }
        auto rp = self->make_response_promise<log_reply>();
        s.held.push_back(held_log{std::move(req), rp, clock_type::now() + wait});
        arm_poll(self);
        return rp;
      },
      [self](snapshot_request) -> caf::result<snapshot_reply> { return make_snapshot(self); },
      [self](chunk_request& req) -> caf::result<chunk_reply> { return read_chunk(self, req); },
      [self](snapshot_release& req) -> release_reply {
        auto& s = self->state;
        auto i = s.snapshots.find(req.id);
        if (i == s.snapshots.end()) return release_reply{false};
        std::error_code ec;
        fs::remove_all(i->second.dir, ec);
        s.snapshots.erase(i);
        return release_reply{true};
      },
      [self](ship_poll_atom) { on_poll(self); },
  };
}

}  // namespace

log_shipper_actor spawn_log_shipper(caf::actor_system& sys, std::shared_ptr<store> backend,
                                    std::string db_path, replication_options opts,
                                    std::shared_ptr<replication_board> board) {
  return sys.spawn<caf::detached>(log_shipper, std::move(backend), std::move(db_path), opts,
                                  std::move(board));
}

}  // namespace vstore
