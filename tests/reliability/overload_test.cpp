// Overload: floods of writes far beyond what a slowed writer can commit, in
// process and against a vstored. Each test proves that (a) the excess is
// answered errc::overloaded at once (counted, and equal to the manager's own
// counter), (b) every request gets exactly one reply (acknowledged, overloaded,
// or another error: none time out), (c) the manager never holds more than
// writer.max-queued admitted writes per space and the RSS stays under a bound
// computed from the limits, (d) the service recovers when the flood stops,
// and nothing acknowledged is missing while nothing refused was applied.
//
// Figures are printed as "[ measure  ]" lines.

#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <caf/io/all.hpp>

#include "tests/net/subprocess.hpp"
#include "tests/reliability/reliability_support.hpp"
#include "tests/support/actor_fixture.hpp"
#include "vstore/client.hpp"
#include "vstore/connect.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

const std::string vstored_bin = VSTORE_VSTORED;

/// Whether RSS figures mean anything in this build: ASan keeps freed memory
/// in a quarantine (256 MiB by default) and TSan shadows every byte, so the
/// RSS bounds are checked only without sanitizers (the figures are printed
/// anyway).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool check_rss = false;
#else
constexpr bool check_rss = true;
#endif

// -- the flood client ---------------------------------------------------------------------

/// What one flooding client sends.
struct flood_spec {
  /// Keys are PREFIX + zero-padded request index.
  std::string prefix;
  uint64_t total = 0;
  /// Requests kept in flight.
  uint32_t window = 0;
  size_t value_size = 0;
  space_id space = spaces::data;
  milliseconds timeout{30000};
};

/// The outcome of one request.
enum class outcome : uint8_t { none = 0, acked, overloaded, other };

/// What a flooding client reports when every request was answered.
struct flood_result {
  uint64_t acked = 0;
  uint64_t overloaded = 0;
  /// Errors other than overloaded, by code (timeouts included).
  std::map<errc, uint64_t> errors;
  /// Replies received in total (one per request).
  uint64_t replies = 0;
  /// Replies to requests that were answered already (must stay 0).
  uint64_t duplicates = 0;
  /// Per request index.
  std::vector<outcome> outcomes;
};

struct flood_state {
  manager_actor mgr;
  flood_spec spec;
  std::string value;
  uint64_t next = 0;
  uint64_t finished = 0;
  std::set<uint64_t> pending;
  /// The connection to the manager was lost: nothing more is sent.
  bool lost = false;
  flood_result res;
  std::shared_ptr<std::promise<flood_result>> done;
  static inline const char* name = "test.flood";
};

using flood_pointer = caf::stateful_actor<flood_state>*;

std::string flood_key(const std::string& prefix, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08llu", static_cast<unsigned long long>(i));
  return prefix + buf;
}

void send_next(flood_pointer self);

void record(flood_pointer self, uint64_t i, outcome o, errc code = errc::internal) {
  auto& st = self->state;
  if (st.pending.erase(i) == 0) {  // a second reply to the same request
    ++st.res.duplicates;
    return;
  }
  ++st.res.replies;
  st.res.outcomes[i] = o;
  if (o == outcome::acked) ++st.res.acked;
  if (o == outcome::overloaded) ++st.res.overloaded;
  if (o == outcome::other) ++st.res.errors[code];
  if (++st.finished == st.spec.total) {
    st.done->set_value(std::move(st.res));
    self->quit();
    return;
  }
  if (!st.lost) send_next(self);
}

/// Sends request `next` (one put of a fresh key) if any is left.
void send_next(flood_pointer self) {
  auto& st = self->state;
  if (st.next >= st.spec.total) return;
  auto i = st.next++;
  st.pending.insert(i);
  write_request w;
  w.put(st.spec.space, flood_key(st.spec.prefix, i), st.value);
  self->request(st.mgr, st.spec.timeout, std::move(w))
      .then([self, i](commit_ack&) { record(self, i, outcome::acked); },
            [self, i](caf::error& e) {
              auto code = to_status(e).code();
              record(self, i, code == errc::overloaded ? outcome::overloaded : outcome::other,
                     code);
            });
}

caf::behavior flood_client(flood_pointer self, manager_actor mgr, flood_spec spec,
                           std::shared_ptr<std::promise<flood_result>> done) {
  auto& st = self->state;
  st.mgr = mgr;
  st.value.assign(spec.value_size, 'v');
  st.spec = std::move(spec);
  st.done = std::move(done);
  st.res.outcomes.assign(st.spec.total, outcome::none);
  self->monitor(mgr);
  self->set_down_handler([self](caf::down_msg& dm) {
    // A lost connection: fail what is pending (CAF would only time it out).
    auto& s = self->state;
    if (dm.source != s.mgr.address() || s.lost) return;
    s.lost = true;
    auto failed = s.pending;
    while (s.next < s.spec.total) failed.insert(s.next++);  // never sent
    for (auto i : failed) {
      s.pending.insert(i);
      record(self, i, outcome::other, errc::disconnected);
    }
  });
  return {
      [self](caf::put_atom) {
        for (uint32_t i = 0; i < self->state.spec.window; ++i) send_next(self);
      },
  };
}

/// The sum of several clients' results.
struct flood_total {
  uint64_t requests = 0, replies = 0, duplicates = 0, acked = 0, overloaded = 0, other = 0,
           timeouts = 0;
  void add(const flood_result& r, uint64_t total) {
    requests += total;
    replies += r.replies;
    duplicates += r.duplicates;
    acked += r.acked;
    overloaded += r.overloaded;
    for (auto& [code, n] : r.errors) {
      other += n;
      if (code == errc::timeout) timeouts += n;
    }
  }
};

/// Splits the keys of finished floods by outcome.
void keys_by_outcome(const std::vector<flood_spec>& specs, const std::vector<flood_result>& results,
                     std::vector<std::string>& acked, std::vector<std::string>& refused) {
  for (size_t c = 0; c < specs.size(); ++c)
    for (uint64_t i = 0; i < specs[c].total; ++i) {
      auto o = results[c].outcomes[i];
      if (o == outcome::acked) acked.push_back(flood_key(specs[c].prefix, i));
      if (o == outcome::overloaded) refused.push_back(flood_key(specs[c].prefix, i));
    }
}

/// What run_flood measured.
struct flood_run {
  std::vector<flood_spec> specs;
  std::vector<flood_result> results;
  flood_total sum;
  /// False if the clients did not finish within the deadline.
  bool finished = false;
  long flood_ms = 0;
  long rss_before = 0;
  long rss_peak = 0;
  bool hwm_reset = false;
  uint64_t max_writes_queued = 0;
  int samples = 0;
};

/// Starts `clients` flooding clients against `mgr` and waits (polling with a
/// 45 s deadline) until each has every reply, sampling the RSS of process
/// `pid` ("self" or a pid) and the admitted writes of space data through
/// `read_stats` meanwhile.
flood_run run_flood(caf::actor_system& sys, const manager_actor& mgr, const std::string& prefix,
                    int clients, uint64_t per_client, uint32_t window, size_t value_size,
                    const std::string& pid, const std::function<bool(stats_reply&)>& read_stats) {
  flood_run run;
  run.rss_before = proc_status_kib(pid, "VmRSS");
  run.hwm_reset = reset_peak_rss(pid);
  std::vector<std::future<flood_result>> futures;
  std::vector<caf::actor> actors;
  for (int c = 0; c < clients; ++c) {
    flood_spec s;
    s.prefix = prefix + std::to_string(c) + "/";
    s.total = per_client;
    s.window = window;
    s.value_size = value_size;
    run.specs.push_back(s);
    auto p = std::make_shared<std::promise<flood_result>>();
    futures.push_back(p->get_future());
    actors.push_back(sys.spawn(flood_client, mgr, s, p));
  }
  auto t0 = clock_type::now();
  for (auto& a : actors) caf::anon_send(a, caf::put_atom::value);
  long rss_peak_sampled = run.rss_before;
  auto deadline = clock_type::now() + 45s;
  for (size_t c = 0; c < futures.size();) {
    if (futures[c].wait_for(20ms) == std::future_status::ready) {
      ++c;
      continue;
    }
    if (clock_type::now() >= deadline) {
      ADD_FAILURE() << "the flood did not finish: requests left unanswered";
      return run;
    }
    rss_peak_sampled = std::max(rss_peak_sampled, proc_status_kib(pid, "VmRSS"));
    stats_reply st;
    if (read_stats(st)) {
      run.max_writes_queued =
          std::max(run.max_writes_queued, st.spaces[spaces::data].writes_queued);
      ++run.samples;
    }
  }
  run.flood_ms = ms_since(t0);
  const long hwm = proc_status_kib(pid, "VmHWM");
  run.rss_peak = std::max(rss_peak_sampled, run.hwm_reset ? hwm : 0L);
  for (size_t c = 0; c < futures.size(); ++c) {
    run.results.push_back(futures[c].get());
    run.sum.add(run.results.back(), run.specs[c].total);
  }
  run.finished = true;
  return run;
}

// -- in process ---------------------------------------------------------------------------

/// A writer that needs `cost` per part it receives: stands in for a slow
/// device, so that the flood is far beyond the writer's capacity (at most
/// 1 s / cost parts per second).
class slow_writer : public fault_hooks {
 public:
  explicit slow_writer(std::chrono::microseconds cost) : cost_(cost) {}
  void on_write(space_id) override { std::this_thread::sleep_for(cost_); }

 private:
  std::chrono::microseconds cost_;
};

class Overload : public actor_test {
 protected:
  scratch_dir dir_;
};

// The RSS bound (documented in docs/reliability.md by the lead):
//
//   growth <= in_flight + queued + memtables + block_cache + slack
//
//   in_flight   = clients * window * (key + value + 1 KiB)   the manager's mailbox
//                 can hold at most every client's window; 1 KiB covers CAF's
//                 mailbox element, the write_request and its op vector, and the
//                 response promise / pending entry of an admitted write.
//   queued      = writer.max-queued * spaces * (key + value + 1 KiB)   admitted
//                 writes (the manager's pending_write, the writer's open batch,
//                 the committer's queue hold each at most once at a time).
//   memtables   = 2 * write-buffer-size   the acknowledged data of the one space
//                 written (RocksDB keeps one active and at most one immutable
//                 memtable being flushed per family with the default
//                 max_write_buffer_number = 2).
//   block_cache = block-cache-size   (reads of the verification pass).
//   slack       = 32 MiB   allocator arenas of the 2 scheduler threads, the
//                 detached committer and RocksDB's background threads (glibc
//                 keeps freed chunks in per-thread arenas), gtest bookkeeping
//                 (the outcome vectors: 1 byte per request).
//
// The offered load is clients * total * (key + value), far above the bound: a
// manager that queued what it cannot commit would exceed it.
TEST_F(Overload, InProcessFloodIsRefusedBoundedAnsweredAndRecovers) {
  constexpr uint32_t max_queued = 256;
  constexpr int clients = 8;
  constexpr uint32_t window = 64;
  const auto per_client = static_cast<uint64_t>(8000 * std::min(1.0, test_scale()));
  constexpr size_t value_size = 4096;
  constexpr auto writer_cost = std::chrono::microseconds(200);
  auto o = test_options(backend_kind::rocksdb, dir_.path());
  o.writer.max_queued = max_queued;
  o.db.sync = true;
  auto m = start(o, std::make_shared<slow_writer>(writer_cost));

  // Acknowledged data before the flood, checked after it.
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(put(m, spaces::latest_ptr, "before/" + std::to_string(i), "v" + std::to_string(i)));

  auto run =
      run_flood(sys_, m, "f", clients, per_client, window, value_size, "self",
                [&](stats_reply& st) { return static_cast<bool>(ask(m, stats_request{}, st)); });
  ASSERT_TRUE(run.finished);
  const auto& [specs, results, sum, finished, flood_ms, rss_before, rss_peak, hwm_reset,
               max_writes_queued, samples] = run;

  // (b) every request got exactly one reply; nothing timed out.
  EXPECT_EQ(sum.replies, sum.requests);
  EXPECT_EQ(sum.duplicates, 0u);
  EXPECT_EQ(sum.acked + sum.overloaded + sum.other, sum.requests);
  EXPECT_EQ(sum.timeouts, 0u);
  EXPECT_EQ(sum.other, 0u) << "errors other than overloaded";
  // (a) the excess was refused, and the manager counted exactly those.
  EXPECT_GT(sum.overloaded, 0u);
  EXPECT_GT(sum.acked, 0u);
  // (d) recovery: the backlog drains, then normal writes succeed and the
  // overloaded counter stops growing.
  uint64_t counted = 0;
  auto drained_by = clock_type::now() + 20s;
  for (;;) {
    auto s = stats(m);
    counted = s.spaces[spaces::data].errors[static_cast<size_t>(errc::overloaded)];
    if (s.spaces[spaces::data].writes_queued == 0) break;
    ASSERT_LT(clock_type::now(), drained_by) << "the write queue never drained";
  }
  EXPECT_EQ(counted, sum.overloaded);
  auto t_rec = clock_type::now();
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(put(m, spaces::data, "after/" + std::to_string(i), "ok", i % 10 == 0)) << i;
  const long recovery_ms = ms_since(t_rec);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(get(m, spaces::data, "after/" + std::to_string(i)), std::optional<std::string>{"ok"});
  EXPECT_EQ(stats(m).spaces[spaces::data].errors[static_cast<size_t>(errc::overloaded)], counted);
  const long rss_after = proc_status_kib("self", "VmRSS");
  // Nothing acknowledged is missing, nothing refused was applied.
  std::vector<std::string> acked, refused;
  keys_by_outcome(specs, results, acked, refused);
  auto check = [&](const std::vector<std::string>& keys, bool expect_found, const char* what) {
    size_t wrong = 0;
    for (size_t off = 0; off < keys.size(); off += 1000) {
      multi_get_request req{spaces::data, {}};
      req.keys.assign(keys.begin() + static_cast<long>(off),
                      keys.begin() + static_cast<long>(std::min(keys.size(), off + 1000)));
      multi_get_reply r;
      ASSERT_TRUE(ask(m, req, r));
      for (auto f : r.found) wrong += (f != 0) != expect_found;
    }
    EXPECT_EQ(wrong, 0u) << what;
  };
  check(acked, true, "acknowledged writes missing");
  check(refused, false, "refused (overloaded) writes applied");
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(get(m, spaces::latest_ptr, "before/" + std::to_string(i)),
              std::optional<std::string>{"v" + std::to_string(i)});

  // (c) bounded: the manager's counter, then the RSS.
  EXPECT_LE(max_writes_queued, max_queued);
  const size_t per_request = 16 + value_size + 1024;
  const long bound_kib =
      static_cast<long>((clients * window * per_request + max_queued * 1 * per_request +
                         2 * o.db.write_buffer_bytes + o.db.block_cache_bytes + (32u << 20)) /
                        1024);
  const double offered_mib = static_cast<double>(sum.requests * (16 + value_size)) / (1 << 20);
  if (check_rss) {
    EXPECT_LE(rss_peak - rss_before, bound_kib) << "RSS grew by " << mib(rss_peak - rss_before)
                                                << " MiB, bound " << mib(bound_kib) << " MiB";
  }

  std::cout << "[ measure  ] in-process flood: " << clients << " clients x window " << window
            << " x " << per_client << " writes of " << value_size << " B (offered " << offered_mib
            << " MiB), writer.max-queued " << max_queued << ", writer cost " << writer_cost.count()
            << " us/part, sync on\n"
            << "[ measure  ]   " << sum.requests << " requests: " << sum.acked << " acked, "
            << sum.overloaded << " overloaded ("
            << 100.0 * static_cast<double>(sum.overloaded) / static_cast<double>(sum.requests)
            << "%), " << sum.other << " other errors, " << sum.timeouts << " timeouts; "
            << sum.replies << " replies; manager counted " << counted << " overloaded\n"
            << "[ measure  ]   flood took " << flood_ms << " ms; max writes_queued seen "
            << max_writes_queued << " (bound " << max_queued << ", " << samples << " samples)\n"
            << "[ measure  ]   RSS before " << mib(rss_before) << " MiB, peak " << mib(rss_peak)
            << " MiB (VmHWM " << (hwm_reset ? "reset before the flood" : "not resettable")
            << "), after recovery " << mib(rss_after) << " MiB; growth "
            << mib(rss_peak - rss_before) << " MiB, bound " << mib(bound_kib) << " MiB\n"
            << "[ measure  ]   recovery: 50 sequential writes after the flood in " << recovery_ms
            << " ms, overloaded counter unchanged\n";
}

// -- against vstored --------------------------------------------------------------------

struct remote_config : caf::actor_system_config {
  explicit remote_config(const remote_options& r) {
    configure_actor_system(*this);
    configure_network(*this, r);
    set("scheduler.max-threads", size_t{2});
  }
};

// The same flood over the network against a vstored whose writer fsyncs every
// commit (sync = true) and admits 16 writes per space. The server's RSS is
// read from /proc/PID/status; its bound is computed as in the in-process test
// (in_flight is every client's window, held in the server's mailbox or its
// BASP buffers), with the server's write-buffer-size and block-cache-size
// set small in its configuration.
TEST(OverloadRemote, FloodAgainstVstoredIsRefusedBoundedAnsweredAndRecovers) {
  temp_dir dir{"rel-overload"};
  constexpr uint32_t max_queued = 16;
  constexpr uint64_t write_buffer = 4u << 20;
  constexpr uint64_t block_cache = 8u << 20;
  {
    std::ofstream ini{dir / "vstore.ini"};
    ini << "[store]\nsync = true\nwrite-buffer-size = " << write_buffer
        << "\nblock-cache-size = " << block_cache << "\n[writer]\nmax-queued = " << max_queued
        << "\n";
  }
  vstored_process srv{vstored_bin,
                      {"--config", dir / "vstore.ini", "--data-dir", dir / "db", "--log-level",
                       "warn", "--max-threads", "2"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  const auto pid = std::to_string(srv.proc().pid());
  auto r = local(srv.port(), 3s);
  std::unique_ptr<client> c;
  client::settings cs;
  cs.timeout = 20s;
  cs.max_threads = 2;
  ASSERT_TRUE(client::connect(r, c, cs));
  for (int i = 0; i < 100; ++i) {
    commit_ack ack;
    ASSERT_TRUE(c->write(write_request{}.put(spaces::latest_ptr, "before/" + std::to_string(i),
                                             "v" + std::to_string(i)),
                         ack));
  }

  constexpr int clients = 4;
  constexpr uint32_t window = 64;
  const auto per_client = static_cast<uint64_t>(10000 * std::min(1.0, test_scale()));
  constexpr size_t value_size = 1024;
  remote_config cfg{r};
  caf::actor_system sys{cfg};
  manager_actor mgr;
  ASSERT_TRUE(connect_manager(sys, r, mgr));
  auto run = run_flood(sys, mgr, "r", clients, per_client, window, value_size, pid,
                       [&](stats_reply& st) { return static_cast<bool>(c->stats(st)); });
  ASSERT_TRUE(run.finished);
  const auto& [specs, results, sum, finished, flood_ms, rss_before, rss_peak, hwm_reset,
               max_writes_queued, samples] = run;
  EXPECT_EQ(sum.replies, sum.requests);
  EXPECT_EQ(sum.duplicates, 0u);
  EXPECT_EQ(sum.acked + sum.overloaded + sum.other, sum.requests);
  EXPECT_EQ(sum.timeouts, 0u);
  EXPECT_EQ(sum.other, 0u) << "errors other than overloaded";
  EXPECT_GT(sum.acked, 0u);
  EXPECT_GT(sum.overloaded, 0u) << "the flood never exceeded the server's capacity";

  // Recovery, through the blocking client.
  uint64_t counted = 0;
  auto drained_by = clock_type::now() + 20s;
  for (;;) {
    stats_reply s;
    ASSERT_TRUE(c->stats(s));
    counted = s.spaces[spaces::data].errors[static_cast<size_t>(errc::overloaded)];
    if (s.spaces[spaces::data].writes_queued == 0) break;
    ASSERT_LT(clock_type::now(), drained_by) << "the write queue never drained";
  }
  EXPECT_LE(max_writes_queued, max_queued);
  EXPECT_EQ(counted, sum.overloaded);
  auto t_rec = clock_type::now();
  for (int i = 0; i < 20; ++i) {
    commit_ack ack;
    ASSERT_TRUE(
        c->write(write_request{}.put(spaces::data, "after/" + std::to_string(i), "ok"), ack))
        << i;
  }
  const long recovery_ms = ms_since(t_rec);
  {
    stats_reply s;
    ASSERT_TRUE(c->stats(s));
    EXPECT_EQ(s.spaces[spaces::data].errors[static_cast<size_t>(errc::overloaded)], counted);
  }
  const long rss_after = proc_status_kib(pid, "VmRSS");
  std::vector<std::string> acked, refused;
  keys_by_outcome(specs, results, acked, refused);
  auto check = [&](const std::vector<std::string>& keys, bool expect_found, const char* what) {
    size_t wrong = 0;
    for (size_t off = 0; off < keys.size(); off += 2000) {
      std::vector<std::string> part(
          keys.begin() + static_cast<long>(off),
          keys.begin() + static_cast<long>(std::min(keys.size(), off + 2000)));
      multi_get_reply mg;
      ASSERT_TRUE(c->multi_get(spaces::data, part, mg));
      for (auto f : mg.found) wrong += (f != 0) != expect_found;
    }
    EXPECT_EQ(wrong, 0u) << what;
  };
  check(acked, true, "acknowledged writes missing");
  check(refused, false, "refused (overloaded) writes applied");
  for (int i = 0; i < 100; ++i) {
    std::optional<std::string> v;
    ASSERT_TRUE(c->get(spaces::latest_ptr, "before/" + std::to_string(i), v));
    EXPECT_EQ(v, std::optional<std::string>{"v" + std::to_string(i)});
  }
  const size_t per_request = 16 + value_size + 1024;
  const long bound_kib =
      static_cast<long>((clients * window * per_request + max_queued * per_request +
                         2 * write_buffer + block_cache + (32u << 20)) /
                        1024);
  if (check_rss) {
    EXPECT_LE(rss_peak - rss_before, bound_kib)
        << "vstored's RSS grew by " << mib(rss_peak - rss_before) << " MiB, bound "
        << mib(bound_kib) << " MiB";
  }
  std::cout << "[ measure  ] remote flood: " << clients << " clients x window " << window << " x "
            << per_client << " writes of " << value_size << " B against vstored (sync on, "
            << "writer.max-queued " << max_queued << ")\n"
            << "[ measure  ]   " << sum.requests << " requests: " << sum.acked << " acked, "
            << sum.overloaded << " overloaded ("
            << 100.0 * static_cast<double>(sum.overloaded) / static_cast<double>(sum.requests)
            << "%), " << sum.other << " other errors, " << sum.timeouts << " timeouts; "
            << sum.replies << " replies; server counted " << counted << " overloaded\n"
            << "[ measure  ]   flood took " << flood_ms << " ms ("
            << (flood_ms > 0
                    ? static_cast<long>(sum.requests * 1000 / static_cast<uint64_t>(flood_ms))
                    : 0)
            << " replies/s); max writes_queued seen " << max_writes_queued << " (bound "
            << max_queued << ", " << samples << " samples)\n"
            << "[ measure  ]   vstored RSS before " << mib(rss_before) << " MiB, peak "
            << mib(rss_peak) << " MiB (VmHWM " << (hwm_reset ? "reset" : "not resettable")
            << "), after recovery " << mib(rss_after) << " MiB; growth "
            << mib(rss_peak - rss_before) << " MiB, bound " << mib(bound_kib) << " MiB\n"
            << "[ measure  ]   recovery: 20 sequential remote writes in " << recovery_ms
            << " ms, overloaded counter unchanged\n";
}

}  // namespace
}  // namespace vstore::test
