// Stalled disk (issue 11, point 1): a backend whose commit blocks for seconds
// while clients flood writes. The proof that memory is bounded by what is
// really held: a write keeps its queue slot until it settles (committed,
// failed or dropped), not until its deadline passes, so however long the
// stall lasts the manager holds at most writer.max-queued writes per space;
// everything beyond is answered errc::overloaded at once, the held writes are
// answered errc::in_doubt at their deadline (supervisor.internal-timeout), and
// status reports the stall (health.writes_in_flight, health.oldest_write_ms).
// When the disk comes back, the held writes commit, the slots empty and new
// writes are acknowledged.
//
// Memory is measured twice: the RSS (/proc/self/statm) against a bound with a
// 32 MiB allowance for allocator slack, and the heap in use (glibc
// mallinfo2), which counts only what is allocated and so shows the cost of
// each held write, and that nothing grows while the stall goes on with every
// slot taken (the main test floods twice in one stall and compares).
//
// The flood clients send their requests without a CAF timeout (the test keeps
// its own deadline): in CAF 0.17 every timed request stays registered in the
// clock for its whole timeout even after its reply (~250 B each, see
// docs/architecture.md, "Timers"); at this flood's ~150,000 requests/s that
// alone would hold ~37 MiB per second of timeout.
//
// Figures are printed as "[ measure  ]" lines (docs/reliability.md, "Stalled
// disk").

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <thread>
#include <unordered_map>

#include "tests/reliability/reliability_support.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fault_store.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// RSS bounds mean nothing under ASan (freed memory sits in a quarantine) or
/// TSan (shadow memory): there the figures are printed but not checked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
constexpr bool check_rss = !sanitized;

/// Resident set size of this process in bytes (/proc/self/statm: resident
/// pages x page size), or -1.
long rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  long size = 0, resident = -1;
  in >> size >> resident;
  if (!in || resident < 0) return -1;
  return resident * ::sysconf(_SC_PAGESIZE);
}

/// Bytes the C heap has handed out and not taken back (glibc mallinfo2:
/// in-use chunks of every arena plus mmapped ones), or -1 under a sanitizer
/// (its allocator does not report here). Unlike the RSS it does not count
/// freed memory an arena keeps, so it measures what is really held.
long heap_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return -1;
#else
  auto mi = ::mallinfo2();
  return static_cast<long>(mi.uordblks + mi.hblkhd);
#endif
}

/// Peak RSS (VmHWM) in bytes, or -1.
long peak_rss_bytes() {
  auto kib = proc_status_kib("self", "VmHWM");
  return kib < 0 ? -1 : kib * 1024;
}

double in_mib(long bytes) { return static_cast<double>(bytes) / (1 << 20); }

int64_t us_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}

int64_t ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

// -- the flood client ---------------------------------------------------------------------

/// What one flooding client sends: one put of a fresh key per request, at most
/// `window` in flight, until `max_requests` were sent or `flood_for` passed
/// since it started; then it waits for the replies still due.
struct flood_spec {
  /// Keys are PREFIX + zero-padded request index.
  std::string prefix;
  space_id space = spaces::data;
  size_t value_size = 4096;
  uint32_t window = 8;
  uint64_t max_requests = 0;
  milliseconds flood_for{0};
};

/// The length of a flood key ("s<space>c<client>/" + 8 digits).
constexpr size_t flood_key_size = 13;

std::string flood_key(const std::string& prefix, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08llu", static_cast<unsigned long long>(i));
  return prefix + buf;
}

/// The value written under `key`: the key, then filler up to `size` bytes, so
/// that a read-back checks the content, not only the presence.
std::string flood_value(const std::string& key, size_t size) {
  std::string v = key;
  v.resize(size, 'v');
  return v;
}

enum class outcome : uint8_t { none = 0, acked, overloaded, in_doubt, other };

/// Latency histogram in 100 µs steps up to 2 s (slower ones in the last
/// bucket), allocated up front so that recording allocates nothing.
struct latency_histogram {
  static constexpr int64_t step_us = 100;
  std::vector<uint64_t> buckets = std::vector<uint64_t>(20001, 0);
  int64_t max_us = 0;
  int64_t min_us = INT64_MAX;
  uint64_t count = 0;
  void add(int64_t us) {
    auto b = std::min<size_t>(static_cast<size_t>(std::max<int64_t>(us, 0) / step_us),
                              buckets.size() - 1);
    ++buckets[b];
    max_us = std::max(max_us, us);
    min_us = std::min(min_us, us);
    ++count;
  }
  void merge(const latency_histogram& o) {
    for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
    max_us = std::max(max_us, o.max_us);
    min_us = std::min(min_us, o.min_us);
    count += o.count;
  }
  /// The upper end of the 100 µs step holding percentile `p` (0..1), in µs.
  int64_t percentile(double p) const {
    if (count == 0) return 0;
    auto rank = std::min(count - 1, static_cast<uint64_t>(p * static_cast<double>(count)));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      seen += buckets[i];
      if (seen > rank) return static_cast<int64_t>(i + 1) * step_us;
    }
    return max_us;
  }
};

/// What a flooding client reports once every request it sent was answered.
struct flood_result {
  space_id space = 0;
  uint64_t sent = 0, replies = 0, duplicates = 0;
  uint64_t acked = 0, overloaded = 0, in_doubt = 0, other = 0;
  std::map<errc, uint64_t> other_codes;
  /// Per request index.
  std::vector<outcome> outcomes;
  latency_histogram overloaded_latency;
  latency_histogram in_doubt_latency;
};

/// Live counters the test thread reads while the flood runs.
struct flood_progress {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> answered{0};
};

struct flood_state {
  manager_actor mgr;
  flood_spec spec;
  uint64_t next = 0;
  clock_type::time_point stop_at;
  std::unordered_map<uint64_t, clock_type::time_point> pending;
  /// Allocated by the test thread, so that the client allocates nothing
  /// after the memory baseline; read by the test once `done` is set.
  std::shared_ptr<flood_result> res;
  std::shared_ptr<flood_progress> progress;
  std::shared_ptr<std::promise<void>> done;
  bool finished = false;
  static inline const char* name = "test.stall_flood";
};

using flood_pointer = caf::stateful_actor<flood_state>*;

void send_next(flood_pointer self);

void finish_if_done(flood_pointer self) {
  auto& st = self->state;
  if (st.finished || !st.pending.empty()) return;
  st.finished = true;
  st.done->set_value();
  self->quit();
}

void record(flood_pointer self, uint64_t i, const caf::error* err) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto p = st.pending.find(i);
  if (p == st.pending.end()) {  // a second reply to the same request
    ++st.res->duplicates;
    return;
  }
  auto us = us_between(p->second, now);
  st.pending.erase(p);
  auto& res = *st.res;
  ++res.replies;
  ++st.progress->answered;
  outcome o = outcome::acked;
  if (err) {
    auto code = to_status(*err).code();
    if (code == errc::overloaded) {
      o = outcome::overloaded;
      res.overloaded_latency.add(us);
    } else if (code == errc::in_doubt) {
      o = outcome::in_doubt;
      res.in_doubt_latency.add(us);
    } else {
      o = outcome::other;
      ++res.other_codes[code];
    }
  }
  res.outcomes[i] = o;
  switch (o) {
    case outcome::acked:
      ++res.acked;
      break;
    case outcome::overloaded:
      ++res.overloaded;
      break;
    case outcome::in_doubt:
      ++res.in_doubt;
      break;
    default:
      ++res.other;
  }
  send_next(self);
  finish_if_done(self);
}

void send_next(flood_pointer self) {
  auto& st = self->state;
  if (st.next >= st.spec.max_requests || clock_type::now() >= st.stop_at) return;
  auto i = st.next++;
  auto key = flood_key(st.spec.prefix, i);
  write_request w;
  w.put(st.spec.space, key, flood_value(key, st.spec.value_size));
  st.pending.emplace(i, clock_type::now());
  ++st.res->sent;
  ++st.progress->sent;
  self->request(st.mgr, caf::duration{caf::infinite}, std::move(w))
      .then([self, i](commit_ack&) { record(self, i, nullptr); },
            [self, i](caf::error& e) { record(self, i, &e); });
}

caf::behavior flood_client(flood_pointer self, manager_actor mgr, flood_spec spec,
                           std::shared_ptr<flood_result> res,
                           std::shared_ptr<flood_progress> progress,
                           std::shared_ptr<std::promise<void>> done) {
  auto& st = self->state;
  st.mgr = std::move(mgr);
  st.res = std::move(res);
  st.pending.reserve(2 * spec.window);
  st.spec = std::move(spec);
  st.progress = std::move(progress);
  st.done = std::move(done);
  return {
      [self](caf::put_atom) {
        self->state.stop_at = clock_type::now() + self->state.spec.flood_for;
        for (uint32_t i = 0; i < self->state.spec.window; ++i) send_next(self);
        finish_if_done(self);
      },
  };
}

// -- one stalled run ------------------------------------------------------------------------

/// The configuration of one run.
struct stall_config {
  uint32_t max_queued = 64;
  milliseconds internal_timeout{500};
  milliseconds flood_for{3000};
  int clients = 4;
  /// Requests each client keeps in flight: together twice the slots of the
  /// 1x configuration, so that the flood fills them at once (a closed-loop
  /// client whose window is held by the stall sends nothing more until the
  /// deadline answers it).
  uint32_t window = 64;
  size_t value_size = 4096;
  /// The spaces written, client c writing spaces_written[c % size].
  std::vector<space_id> spaces_written{spaces::data, spaces::metas};
  uint64_t max_requests_per_client = 400000;
  /// Floods one after another within one stall, each by its own clients
  /// (at most 9 clients in all: keys are 13 bytes).
  int phases = 1;
  /// The slots the stall can fill: spaces written x max-queued.
  size_t slots() const { return spaces_written.size() * max_queued; }
};

/// One status sample taken during the stall.
struct status_sample {
  int64_t stall_ms = 0;  // time since block(), when the request was sent
  uint64_t in_flight = 0;
  uint64_t oldest_ms = 0;
};

/// What one run measured.
struct stall_run {
  stall_config cfg;
  bool finished = false;
  std::vector<flood_spec> specs;
  std::vector<flood_result> results;
  uint64_t sent = 0, replies = 0, duplicates = 0, acked = 0, overloaded = 0, in_doubt = 0,
           other = 0;
  latency_histogram overloaded_latency, in_doubt_latency;
  std::vector<status_sample> samples;
  uint64_t peak_in_flight = 0;
  uint64_t in_flight_before_release = 0;
  uint64_t oldest_before_release_ms = 0;
  int64_t stall_ms_before_release = 0;
  /// The largest lag of oldest_write_ms behind the stall's age, over the
  /// samples taken once the first write was admitted (~ms after block()).
  int64_t worst_oldest_lag_ms = 0;
  int64_t flood_ms = 0;
  long rss_before = 0, rss_peak = 0, rss_after_recovery = 0;
  /// Heap bytes in use: before the flood, at the largest sample during it,
  /// and once it was over with the disk still stalled (what the held writes
  /// hold).
  long heap_before = 0, heap_peak = 0, heap_held = 0;
  /// Heap in use after each phase, no request in flight, disk stalled.
  std::vector<long> heap_quiet;
  /// Heap growth from the end of the first phase to the end of the last:
  /// what the stall's continuation added once the slots were full.
  long heap_growth_later_phases() const {
    return heap_quiet.size() < 2 ? 0 : heap_quiet.back() - heap_quiet.front();
  }
  long heap_growth() const { return heap_peak - heap_before; }
  /// Heap bytes per write held (all costs, payload included).
  long heap_per_write() const {
    return in_flight_before_release > 0
               ? (heap_held - heap_before) / static_cast<long>(in_flight_before_release)
               : 0;
  }
  bool hwm_reset = false;
  int64_t settle_ms = -1;     // release -> writes_in_flight == 0
  int64_t first_ack_ms = -1;  // release -> first new write acknowledged
  int64_t recovery_writes_ms = 0;
  uint64_t manager_overloaded = 0, manager_in_doubt = 0;
  uint64_t checked_present = 0, checked_absent = 0;
  int64_t check_ms = 0;
  long rss_growth() const { return rss_peak - rss_before; }
  double offered_mib() const {
    return static_cast<double>(sent * (cfg.value_size + flood_key_size)) / (1 << 20);
  }
};

class Stall : public actor_test {
 protected:
  scratch_dir dir_;
  std::shared_ptr<fault_store> disk_;
  std::vector<caf::actor> clients_;

  ~Stall() override {
    for (auto& c : clients_) caf::anon_send_exit(c, caf::exit_reason::kill);
    if (disk_) disk_->release();
  }

  /// Opens a fresh RocksDB store under `sub`, wraps it in a fault_store and
  /// starts a manager over it.
  manager_actor start_stallable(const stall_config& c, const std::string& sub) {
    auto o = test_options(backend_kind::rocksdb, dir_.path() / sub);
    o.writer.max_queued = c.max_queued;
    o.supervisor.internal_timeout = c.internal_timeout;
    o.supervisor.stall_abort = c.internal_timeout / 2;  // the validator wants it shorter
    std::shared_ptr<store> inner;
    auto st = open_store(o, inner);
    EXPECT_TRUE(st) << st.to_string();
    disk_ = std::make_shared<fault_store>(inner);
    return start_over(o, disk_);
  }

  status_reply status(const manager_actor& m) {
    status_reply r;
    auto st = ask(m, status_request{}, r);
    EXPECT_TRUE(st) << st.to_string();
    return r;
  }

  /// Blocks the disk, floods, checks that every request is answered during
  /// the stall, releases the disk and measures the recovery, then checks the
  /// store's content against the replies. Assertions that hold for every
  /// configuration are made here; the bounds are the callers'.
  stall_run run(const stall_config& c, const std::string& sub) {
    stall_run r;
    r.cfg = c;
    auto m = start_stallable(c, sub);
    // Warm-up: the first commits, reads and status requests allocate what
    // every later one reuses (RocksDB's memtables, CAF's mailboxes).
    for (auto s : c.spaces_written)
      for (int i = 0; i < 20; ++i)
        EXPECT_TRUE(
            put(m, s, "warm/" + std::to_string(i), std::string(c.value_size, 'w'), i == 19));
    status(m);

    // Every client is spawned, and its bookkeeping allocated, before the
    // memory baseline; phase p starts when its clients get put_atom.
    struct client_slot {
      caf::actor actor;
      std::shared_ptr<flood_result> res;
      std::shared_ptr<flood_progress> progress;
      std::shared_ptr<std::promise<void>> done;
      std::future<void> finished;
    };
    std::vector<client_slot> slots;
    for (int p = 0; p < c.phases; ++p)
      for (int i = 0; i < c.clients; ++i) {
        flood_spec s;
        s.space = c.spaces_written[static_cast<size_t>(i) % c.spaces_written.size()];
        s.prefix = "s" + std::to_string(s.space) + "c" + std::to_string(p * c.clients + i) + "/";
        s.value_size = c.value_size;
        s.window = c.window;
        s.max_requests = c.max_requests_per_client;
        s.flood_for = c.flood_for;
        r.specs.push_back(s);
        client_slot cs;
        cs.res = std::make_shared<flood_result>();
        cs.res->space = s.space;
        cs.res->outcomes.assign(s.max_requests, outcome::none);
        cs.progress = std::make_shared<flood_progress>();
        cs.done = std::make_shared<std::promise<void>>();
        cs.finished = cs.done->get_future();
        cs.actor = sys_.spawn(flood_client, m, s, cs.res, cs.progress, cs.done);
        clients_.push_back(cs.actor);
        slots.push_back(std::move(cs));
      }
    disk_->block();
    const auto t_block = clock_type::now();
    r.rss_before = rss_bytes();
    r.heap_before = r.heap_peak = heap_in_use();
    r.hwm_reset = reset_peak_rss("self");
    long rss_peak_sampled = r.rss_before;

    for (int p = 0; p < c.phases; ++p) {
      const auto first = static_cast<size_t>(p * c.clients);
      const auto last = first + static_cast<size_t>(c.clients);
      const auto t_phase = clock_type::now();
      for (auto k = first; k < last; ++k) caf::anon_send(slots[k].actor, caf::put_atom::value);
      // Poll status and memory until every client has all its replies. Every
      // reply is due during the stall: overloaded at once, in_doubt at the
      // deadline.
      const auto deadline = t_phase + c.flood_for + c.internal_timeout + 5s;
      for (auto k = first; k < last;) {
        if (slots[k].finished.wait_for(10ms) == std::future_status::ready) {
          ++k;
          continue;
        }
        rss_peak_sampled = std::max(rss_peak_sampled, rss_bytes());
        r.heap_peak = std::max(r.heap_peak, heap_in_use());
        status_sample smp;
        smp.stall_ms = ms_between(t_block, clock_type::now());
        auto s = status(m);
        smp.in_flight = s.health.writes_in_flight;
        smp.oldest_ms = s.health.oldest_write_ms;
        r.samples.push_back(smp);
        r.peak_in_flight = std::max(r.peak_in_flight, smp.in_flight);
        if (clock_type::now() >= deadline) {
          uint64_t sent = 0, answered = 0;
          for (auto j = first; j < last; ++j) {
            sent += slots[j].progress->sent;
            answered += slots[j].progress->answered;
          }
          ADD_FAILURE() << "requests left unanswered during the stall: " << sent - answered
                        << " of " << sent;
          return r;
        }
      }
      // A quiet point: no request in flight, the disk still stalled.
      status(m);
      r.heap_quiet.push_back(heap_in_use());
    }
    r.flood_ms = ms_between(t_block, clock_type::now());
    const long hwm = peak_rss_bytes();
    r.rss_peak = std::max(rss_peak_sampled, r.hwm_reset ? hwm : 0L);
    for (auto& cs : slots) {
      r.results.push_back(std::move(*cs.res));
      const auto& x = r.results.back();
      r.sent += x.sent;
      r.replies += x.replies;
      r.duplicates += x.duplicates;
      r.acked += x.acked;
      r.overloaded += x.overloaded;
      r.in_doubt += x.in_doubt;
      r.other += x.other;
      r.overloaded_latency.merge(x.overloaded_latency);
      r.in_doubt_latency.merge(x.in_doubt_latency);
      for (auto& [code, n] : x.other_codes)
        ADD_FAILURE() << n << " replies " << to_name(code) << " (expected only overloaded and "
                      << "in_doubt during the stall)";
    }
    clients_.clear();
    r.finished = true;

    // Still stalled: the commit is held, the slots are still taken, and the
    // stall shows in status.
    EXPECT_TRUE(disk_->wait_held(1, 0ms)) << "the backend's commit was not held";
    {
      auto t = clock_type::now();
      auto s = status(m);
      r.in_flight_before_release = s.health.writes_in_flight;
      r.heap_held = heap_in_use();
      r.heap_peak = std::max(r.heap_peak, r.heap_held);
      r.oldest_before_release_ms = s.health.oldest_write_ms;
      r.stall_ms_before_release = ms_between(t_block, t);
      r.peak_in_flight = std::max(r.peak_in_flight, r.in_flight_before_release);
    }
    for (const auto& smp : r.samples)
      if (smp.stall_ms >= 200)
        r.worst_oldest_lag_ms =
            std::max(r.worst_oldest_lag_ms, smp.stall_ms - static_cast<int64_t>(smp.oldest_ms));

    // Every request was answered while the disk was still stalled.
    EXPECT_EQ(r.replies, r.sent);
    EXPECT_EQ(r.duplicates, 0u);
    EXPECT_EQ(r.acked + r.overloaded + r.in_doubt + r.other, r.sent);
    EXPECT_EQ(r.acked, 0u) << "nothing can be acknowledged while the commit is held";
    EXPECT_EQ(r.other, 0u);

    // The stall ends.
    const auto t_release = clock_type::now();
    disk_->release();
    for (;;) {
      auto s = status(m);
      if (s.health.writes_in_flight == 0) {
        r.settle_ms = ms_between(t_release, clock_type::now());
        EXPECT_EQ(s.health.oldest_write_ms, 0u);
        break;
      }
      if (clock_type::now() - t_release > 10s) {
        ADD_FAILURE() << "writes_in_flight stuck at " << s.health.writes_in_flight
                      << " after the stall ended";
        return r;
      }
      std::this_thread::sleep_for(2ms);  // a polling interval, not a synchronisation
    }
    // New writes commit: the first one timed from the release.
    bool first = true;
    for (auto s : c.spaces_written)
      for (int i = 0; i < 50; ++i) {
        auto st = put(m, s, "after/" + std::to_string(i), "ok" + std::to_string(i), i % 10 == 9);
        EXPECT_TRUE(st) << st.to_string();
        if (first) r.first_ack_ms = ms_between(t_release, clock_type::now());
        first = false;
      }
    r.recovery_writes_ms = ms_between(t_release, clock_type::now());
    for (auto s : c.spaces_written)
      for (int i = 0; i < 50; ++i)
        EXPECT_EQ(get(m, s, "after/" + std::to_string(i)),
                  std::optional<std::string>{"ok" + std::to_string(i)});

    // The manager's own counters agree with the clients.
    auto stats_now = stats(m);
    for (auto s : c.spaces_written)
      r.manager_overloaded += stats_now.spaces[s].errors[static_cast<size_t>(errc::overloaded)];
    r.manager_in_doubt = stats_now.writes_in_doubt;
    EXPECT_EQ(r.manager_overloaded, r.overloaded);
    EXPECT_EQ(r.manager_in_doubt, r.in_doubt);

    // Content: the writes answered in_doubt were only delayed by the stall,
    // so each of them committed once it ended; nothing refused overloaded was
    // applied. (None was acknowledged during the stall; the 50 after it are
    // checked above.)
    const auto t_check = clock_type::now();
    for (size_t ci = 0; ci < r.specs.size(); ++ci) {
      const auto& spec = r.specs[ci];
      const auto& res = r.results[ci];
      std::vector<std::string> present, absent;
      for (uint64_t i = 0; i < res.sent; ++i) {
        auto o = res.outcomes[i];
        if (o == outcome::acked || o == outcome::in_doubt)
          present.push_back(flood_key(spec.prefix, i));
        else if (o == outcome::overloaded)
          absent.push_back(flood_key(spec.prefix, i));
      }
      auto check = [&](const std::vector<std::string>& keys, bool expect_found) {
        size_t wrong = 0;
        for (size_t off = 0; off < keys.size(); off += 2000) {
          multi_get_request req{spec.space, {}};
          req.keys.assign(keys.begin() + static_cast<long>(off),
                          keys.begin() + static_cast<long>(std::min(keys.size(), off + 2000)));
          multi_get_reply mg;
          auto st = ask(m, req, mg);
          EXPECT_TRUE(st) << st.to_string();
          if (!st) return;
          for (size_t k = 0; k < req.keys.size(); ++k) {
            bool found = mg.found[k] != 0;
            if (found != expect_found ||
                (found && mg.values[k] != flood_value(req.keys[k], spec.value_size)))
              ++wrong;
          }
        }
        EXPECT_EQ(wrong, 0u) << (expect_found ? "in-doubt writes missing or wrong after the stall"
                                              : "overloaded writes were applied");
      };
      check(present, true);
      check(absent, false);
      r.checked_present += present.size();
      r.checked_absent += absent.size();
    }
    r.check_ms = ms_between(t_check, clock_type::now());
    r.rss_after_recovery = rss_bytes();
    return r;
  }

  /// Prints the figures of a run, with the bounds it is checked against.
  static void report(const std::string& label, const stall_run& r, long heap_bound,
                     long rss_bound) {
    std::cout << "[ measure  ] " << label << ": writer.max-queued " << r.cfg.max_queued << " x "
              << r.cfg.spaces_written.size() << " spaces, internal-timeout "
              << r.cfg.internal_timeout.count() << " ms, " << r.cfg.clients << " clients x window "
              << r.cfg.window << ", values " << r.cfg.value_size
              << " B, commit blocked for the whole flood (" << r.flood_ms << " ms)\n"
              << "[ measure  ]   " << r.sent << " requests (" << r.offered_mib()
              << " MiB offered), " << r.replies << " replies: " << r.acked << " acked, "
              << r.overloaded << " overloaded, " << r.in_doubt << " in_doubt, " << r.other
              << " other; manager counted " << r.manager_overloaded << " overloaded, "
              << r.manager_in_doubt << " in_doubt\n"
              << "[ measure  ]   overloaded reply latency: p50 <= "
              << r.overloaded_latency.percentile(0.5)
              << " us, p99 <= " << r.overloaded_latency.percentile(0.99) << " us, max "
              << r.overloaded_latency.max_us << " us; in_doubt after "
              << r.in_doubt_latency.min_us / 1000 << "-" << r.in_doubt_latency.max_us / 1000
              << " ms\n"
              << "[ measure  ]   writes_in_flight peak " << r.peak_in_flight << " (bound "
              << r.cfg.slots() << ", " << r.samples.size() << " samples), "
              << r.in_flight_before_release << " before release; oldest_write_ms "
              << r.oldest_before_release_ms << " at a stall age of " << r.stall_ms_before_release
              << " ms (largest lag behind the stall's age " << r.worst_oldest_lag_ms << " ms)\n"
              << "[ measure  ]   heap in use: growth " << in_mib(r.heap_growth())
              << " MiB at peak (bound " << in_mib(heap_bound) << " MiB), "
              << in_mib(r.heap_held - r.heap_before) << " MiB held by "
              << r.in_flight_before_release << " writes = " << r.heap_per_write()
              << " B per write (key + value " << flood_key_size + r.cfg.value_size << " B)";
    if (r.heap_quiet.size() > 1)
      std::cout << "; growth from the end of the first flood to the end of the last "
                << r.heap_growth_later_phases() / 1024 << " KiB";
    std::cout << "\n"
              << "[ measure  ]   RSS before " << in_mib(r.rss_before) << " MiB, peak "
              << in_mib(r.rss_peak) << " MiB (VmHWM " << (r.hwm_reset ? "reset" : "not reset")
              << "), growth " << in_mib(r.rss_growth()) << " MiB (bound " << in_mib(rss_bound)
              << " MiB); after recovery " << in_mib(r.rss_after_recovery) << " MiB\n"
              << "[ measure  ]   recovery after release: writes_in_flight 0 after " << r.settle_ms
              << " ms, first new write acked after " << r.first_ack_ms << " ms, "
              << 50 * r.cfg.spaces_written.size() << " new writes done after "
              << r.recovery_writes_ms << " ms; content checked: " << r.checked_present
              << " present, " << r.checked_absent << " absent in " << r.check_ms << " ms\n";
  }
};

/// The per-write overhead the bounds allow beyond key and value: the
/// manager's table entry and response promise, its pending request to the
/// writer, the batch part and its operation, the sealed batch's message and
/// the commit actor's queue entry, the writer's waiting owner, and allocator
/// rounding. Measured (heap in use per held write minus key and value):
/// see docs/reliability.md, "Stalled disk".
constexpr size_t per_write_overhead = 2048;
/// What a request in a client's window holds until the manager answers it:
/// its key and value plus the message, the request and the client's entry.
constexpr size_t per_request_overhead = 1024;
/// Heap allowance for the rest (status samples, CAF's bookkeeping; measured
/// about 0.3 MiB).
constexpr long heap_allowance = 2L << 20;
/// RSS allowance: allocator slack (glibc keeps freed chunks in per-thread
/// arenas), thread stacks, CAF and gtest bookkeeping.
constexpr long rss_allowance = 32L << 20;

/// The heap a stalled flood may hold under `c`: the admitted writes (at most
/// spaces written x max-queued, however long the stall), the requests of the
/// clients' windows not answered yet, and a small allowance. Nothing commits
/// during the stall, so RocksDB's memtables and block cache do not grow.
long heap_bound(const stall_config& c) {
  return static_cast<long>(c.slots() * (flood_key_size + c.value_size + per_write_overhead) +
                           static_cast<size_t>(c.clients) * c.window *
                               (flood_key_size + c.value_size + per_request_overhead)) +
         heap_allowance;
}

/// The RSS growth a stalled flood may cause: the heap bound plus the RSS
/// allowance.
long rss_bound(const stall_config& c) { return heap_bound(c) + rss_allowance; }

TEST_F(Stall, WriteFloodDuringABlockedCommitIsBoundedAndAnswered) {
  stall_config c;
  c.phases = 2;  // two floods of 1.5 s in one stall of 3 s
  c.flood_for = 1500ms;
  auto r = run(c, "main");
  ASSERT_TRUE(r.finished);
  const auto slots = c.slots();
  report("stalled disk", r, heap_bound(c), rss_bound(c));
  RecordProperty("rss_growth_bytes", static_cast<int>(r.rss_growth()));
  RecordProperty("heap_growth_bytes", static_cast<int>(r.heap_growth()));
  RecordProperty("heap_per_write_bytes", static_cast<int>(r.heap_per_write()));
  RecordProperty("peak_writes_in_flight", static_cast<int>(r.peak_in_flight));
  RecordProperty("overloaded", static_cast<int>(r.overloaded));
  RecordProperty("in_doubt", static_cast<int>(r.in_doubt));
  RecordProperty("settle_ms", static_cast<int>(r.settle_ms));

  // The flood far exceeded what the queues may hold.
  EXPECT_GT(r.sent, 20 * slots);
  // Writes in flight never exceeded spaces x max-queued; every slot was taken
  // and none was released by a deadline: exactly those writes were answered
  // in_doubt, at their deadline, and every other one overloaded.
  EXPECT_LE(r.peak_in_flight, slots);
  EXPECT_EQ(r.in_flight_before_release, slots);
  EXPECT_EQ(r.in_doubt, slots);
  EXPECT_EQ(r.overloaded, r.sent - slots);
  EXPECT_GE(r.in_doubt_latency.min_us, std::chrono::microseconds(c.internal_timeout).count());
  EXPECT_LE(r.in_doubt_latency.max_us,
            std::chrono::microseconds(c.internal_timeout + 1000ms).count());
  // Overloaded replies come at once, not after a deadline: p99 within 50 ms,
  // the slowest within 250 ms (half the internal timeout) on a shared machine.
  // Under a sanitizer, beside other tests (ctest -j2), the p99 reached 55 ms:
  // there p99 within 150 ms and the slowest within 450 ms, still short of
  // the 500 ms deadline that a held write would wait for.
  EXPECT_LE(r.overloaded_latency.percentile(0.99), sanitized ? 150000 : 50000);
  EXPECT_LE(r.overloaded_latency.max_us, sanitized ? 450000 : 250000);
  // The stall is reported: oldest_write_ms follows the stall's age.
  EXPECT_GE(r.oldest_before_release_ms + 300, static_cast<uint64_t>(r.stall_ms_before_release));
  EXPECT_GE(r.oldest_before_release_ms, static_cast<uint64_t>(r.flood_ms) - 300);
  EXPECT_LE(r.worst_oldest_lag_ms, 300);
  // The recovery: everything settled quickly once the disk came back.
  EXPECT_GE(r.settle_ms, 0);
  EXPECT_LE(r.settle_ms, 5000);
  // Memory: bounded by what the admitted writes hold.
  if (check_rss) {
    EXPECT_LE(r.heap_growth(), heap_bound(c))
        << "the heap grew by " << in_mib(r.heap_growth()) << " MiB during the stall";
    EXPECT_LE(r.heap_growth_later_phases(), 256L << 10)
        << "the heap grew while the stall went on with every slot taken";
    EXPECT_LE(r.rss_growth(), rss_bound(c))
        << "RSS grew by " << in_mib(r.rss_growth()) << " MiB during the stall";
  }
}

// The control: the same flood against writer.max-queued raised 16x holds 16x
// as many writes during the stall, and its heap exceeds the bound the test
// above checks. So that check can fail: the bound comes from max-queued, and a
// manager that held writes past their slots would break it. (The flood runs
// longer: each client's window is held until the deadline answers it, so the
// larger queue fills in several rounds of internal-timeout.)
TEST_F(Stall, RaisingMaxQueuedRaisesWhatAStallHolds) {
  const stall_config small;
  stall_config big = small;
  big.max_queued = 16 * small.max_queued;
  big.flood_for = 6000ms;
  auto r = run(big, "big");
  ASSERT_TRUE(r.finished);
  report("control, 16x max-queued", r, heap_bound(big), rss_bound(big));
  const auto payload = static_cast<long>(big.slots() * (flood_key_size + big.value_size));
  std::cout << "[ measure  ] control: heap growth " << in_mib(r.heap_growth())
            << " MiB against the 1x bound of " << in_mib(heap_bound(small)) << " MiB; payload held "
            << in_mib(payload) << " MiB\n";
  EXPECT_EQ(r.in_flight_before_release, big.slots()) << "the larger queue was not filled";
  EXPECT_LE(r.peak_in_flight, big.slots());
  EXPECT_EQ(r.in_doubt, big.slots());
  EXPECT_EQ(r.overloaded, r.sent - big.slots());
  if (check_rss) {
    EXPECT_GT(r.heap_growth(), heap_bound(small)) << "the 1x bound would not catch 16x the writes";
    EXPECT_GE(r.heap_held - r.heap_before, payload) << "the held writes' payload is not in memory";
    EXPECT_GE(r.rss_growth(), payload);
    EXPECT_LE(r.heap_growth(), heap_bound(big));
    EXPECT_LE(r.rss_growth(), rss_bound(big));
  }
}

// What else waits on a stuck commit actor is bounded too: stats requests
// share one outstanding commit-actor query (the others use its last answer),
// flush_requests are bounded by writer.max-queued and outcome lookups by
// reader.max-queued; past those, answered overloaded at once. Without the
// bounds each request would sit in a mailbox for as long as the stall lasts.
TEST_F(Stall, AdminRequestsDuringAStallAreBoundedAndAnswered) {
  auto o = test_options(backend_kind::rocksdb, dir_.path() / "admin");
  o.writer.max_queued = 8;
  o.reader.max_queued = 8;
  o.supervisor.internal_timeout = 3000ms;
  o.supervisor.stall_abort = 1000ms;
  std::shared_ptr<store> inner;
  ASSERT_TRUE(open_store(o, inner));
  disk_ = std::make_shared<fault_store>(inner);
  auto m = start_over(o, disk_);
  ASSERT_TRUE(put(m, spaces::data, "warm", "v", true));
  disk_->block();
  caf::anon_send(m, write_request{}.put(spaces::data, "stuck", "v"));
  ASSERT_TRUE(disk_->wait_held(1, 5000ms)) << "the commit was not held";

  constexpr int n = 200;
  const caf::duration wait{std::chrono::milliseconds(20000)};
  std::map<std::string, int> flush_codes;
  std::map<std::string, int> outcome_codes;
  auto code_of = [](const caf::error& e) { return std::string{to_name(to_status(e).code())}; };
  auto t0 = clock_type::now();
  std::vector<decltype(self_->request(m, wait, flush_request{}))> flushes;
  std::vector<decltype(self_->request(m, wait, outcome_request{}))> outcomes;
  for (int i = 0; i < n; ++i) {
    flushes.push_back(self_->request(m, wait, flush_request{}));
    outcomes.push_back(
        self_->request(m, wait, outcome_request{"absent-" + std::to_string(i), 0, 0}));
  }
  // The requests past each bound are answered at once, while the commit is
  // still held.
  int answered_during_stall = 0;
  for (int i = 8; i < n; ++i) {
    flushes[static_cast<size_t>(i)].receive([&](commit_ack&) { ++flush_codes["ok"]; },
                                            [&](caf::error& e) { ++flush_codes[code_of(e)]; });
    outcomes[static_cast<size_t>(i)].receive([&](outcome_reply&) { ++outcome_codes["answered"]; },
                                             [&](caf::error& e) { ++outcome_codes[code_of(e)]; });
    ++answered_during_stall;
  }
  auto refused_ms = ms_between(t0, clock_type::now());
  EXPECT_TRUE(disk_->wait_held(1, 0ms)) << "the commit was released before the excess was answered";
  // Stats requests are answered while the commit is held: one waits for the
  // commit actor's counters (until supervisor.internal-timeout at most), the
  // others meanwhile use their last values at once.
  stats_reply stats;
  auto ts = clock_type::now();
  auto first_stats = self_->request(m, wait, stats_request{});
  auto second_stats = self_->request(m, wait, stats_request{});
  int64_t stats2_ms = -1;
  int64_t stats_ms = -1;
  second_stats.receive([&](stats_reply&) { stats2_ms = ms_between(ts, clock_type::now()); },
                       [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  first_stats.receive([&](stats_reply&) { stats_ms = ms_between(ts, clock_type::now()); },
                      [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  EXPECT_LT(stats2_ms, 1000) << "a second stats request waited for the stuck commit actor";
  EXPECT_GE(stats_ms, 0);
  disk_->release();
  for (int i = 0; i < 8; ++i) {
    flushes[static_cast<size_t>(i)].receive([&](commit_ack&) { ++flush_codes["ok"]; },
                                            [&](caf::error& e) { ++flush_codes[code_of(e)]; });
    outcomes[static_cast<size_t>(i)].receive([&](outcome_reply&) { ++outcome_codes["answered"]; },
                                             [&](caf::error& e) { ++outcome_codes[code_of(e)]; });
  }
  std::cout << "[ measure  ] admin requests during a stall: " << answered_during_stall
            << " of each answered in " << refused_ms << " ms while the commit was held; flush "
            << flush_codes["ok"] << " ok, " << flush_codes["overloaded"] << " overloaded; outcome "
            << outcome_codes["answered"] << " answered, " << outcome_codes["overloaded"]
            << " overloaded; stats " << stats_ms
            << " ms (waited for the commit actor), a concurrent one " << stats2_ms << " ms\n";
  // The first 8 of each waited for the commit: answered once it was released,
  // or timeout past supervisor.internal-timeout (3 s here).
  EXPECT_EQ(flush_codes["overloaded"], n - 8);
  EXPECT_EQ(flush_codes["ok"] + flush_codes["timeout"], 8);
  // Outcome lookups: the commit actor is not the one held (the stalled
  // write waits on its I/O thread), so it answers lookups during the stall;
  // at most reader.max-queued of them are in flight at once, the rest are
  // refused. Every one is answered.
  EXPECT_EQ(outcome_codes["answered"] + outcome_codes["overloaded"] + outcome_codes["timeout"], n);
  EXPECT_GE(outcome_codes["answered"], 8);
  EXPECT_EQ(outcome_codes["timeout"], 0);
  EXPECT_LT(refused_ms, 2000);
}

}  // namespace
}  // namespace vstore::test
