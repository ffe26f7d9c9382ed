// Disk full, for real: a vstored on a small tmpfs (mounted by the test; the
// machines and CI run as root) is written until the file system is full.
// Proves (docs/reliability.md, "Disk full"): the server does not crash and
// keeps its clients connected; writes are answered no_space (not applied) or,
// only when a commit itself failed, in_doubt; reads are served; once a filler
// file placed beforehand is deleted, writes succeed again without a restart;
// after a restart every acknowledged write is present.
//
// Two variants: with the free-space reserve (store.min-free-space) the store
// refuses writes before the disk is full; without it (0) RocksDB itself meets
// ENOSPC (its WAL, its flushes) and vstore must still survive and recover.
//
// Figures are printed as "[ measure  ]" lines.

#include <fstream>
#include <map>

#include "tests/net/subprocess.hpp"
#include "tests/reliability/reliability_support.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/tmpfs.hpp"
#include "vstore/client.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

const std::string vstored_bin = VSTORE_VSTORED;

/// Writes `bytes` of random (incompressible) data to `path`.
bool write_filler(const std::string& path, size_t bytes) {
  std::ofstream out{path, std::ios::binary};
  auto chunk = random_bytes(7, 1u << 20);
  for (size_t done = 0; done < bytes && out; done += chunk.size())
    out.write(chunk.data(), static_cast<std::streamsize>(std::min(chunk.size(), bytes - done)));
  out.flush();
  return static_cast<bool>(out);
}

std::string key_of(uint64_t batch, int i) {
  return "k" + std::to_string(batch) + "." + std::to_string(i);
}

/// What filling the disk produced.
struct fill_result {
  /// Acknowledged key → value.
  std::map<std::string, std::string> acked;
  std::map<std::string, uint64_t> codes;
  uint64_t batches = 0;
  bool refused = false;
  long ms = 0;
};

constexpr int puts_per_batch = 50;
constexpr size_t value_size = 1024;

/// Writes batches of `puts_per_batch` incompressible values until a write is
/// answered no_space (bounded by `max_batches` and 60 s).
fill_result fill(client& c, uint64_t max_batches) {
  fill_result r;
  auto t0 = clock_type::now();
  for (uint64_t b = 0; b < max_batches && clock_type::now() - t0 < 60s; ++b) {
    write_request req;
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = 0; i < puts_per_batch; ++i) {
      kv.emplace_back(key_of(b, i), random_bytes(static_cast<uint32_t>(b * 1000 + i), value_size));
      req.put(spaces::data, kv.back().first, kv.back().second);
    }
    commit_ack ack;
    auto st = c.write(std::move(req), ack);
    ++r.batches;
    ++r.codes[st ? "ok" : to_name(st.code())];
    if (st) {
      for (auto& [k, v] : kv) r.acked.emplace(std::move(k), std::move(v));
    } else if (st.code() == errc::no_space) {
      r.refused = true;
      break;
    }
  }
  r.ms = ms_since(t0);
  return r;
}

/// Returns how many of `acked` read back with their value.
size_t read_back(client& c, const std::map<std::string, std::string>& acked, size_t& errors) {
  size_t ok = 0;
  errors = 0;
  std::vector<std::string> keys;
  std::vector<const std::string*> want;
  auto flush = [&] {
    if (keys.empty()) return;
    multi_get_reply rep;
    if (!c.multi_get(spaces::data, keys, rep)) {
      ++errors;
    } else {
      for (size_t i = 0; i < keys.size(); ++i)
        if (rep.found[i] != 0 && rep.values[i] == *want[i]) ++ok;
    }
    keys.clear();
    want.clear();
  };
  for (const auto& [k, v] : acked) {
    keys.push_back(k);
    want.push_back(&v);
    if (keys.size() == 500) flush();
  }
  flush();
  return ok;
}

std::string codes_text(const std::map<std::string, uint64_t>& codes) {
  std::string out;
  for (const auto& [k, n] : codes) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n);
  return out;
}

void run_disk_full(uint64_t min_free_bytes, const char* tag, const std::string& fs_size,
                   size_t filler_bytes) {
  const bool reserve = min_free_bytes > 0;
  temp_dir dir{std::string{"rel-diskfull-"} + tag};
  auto mnt = dir / "mnt";
  tmpfs_mount fs{mnt, fs_size};
  if (!fs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs (" << fs.error()
                 << "): the disk-full test needs root (CAP_SYS_ADMIN)";
  const auto filler = mnt + "/filler";
  ASSERT_TRUE(write_filler(filler, filler_bytes));
  {
    std::ofstream ini{dir / "vstore.ini"};
    ini << "[store]\nwrite-buffer-size = 1048576\nblock-cache-size = 8388608\n"
        << "min-free-space = " << min_free_bytes
        << "\nrecovery-backoff = 50ms\nrecovery-backoff-max = 500ms\n";
  }
  auto args = std::vector<std::string>{
      "--config", dir / "vstore.ini", "--data-dir", mnt + "/db", "--log-level",
      "warn",     "--max-threads",    "2"};
  std::map<std::string, std::string> acked;
  uint64_t next_batch = 0;
  {
    vstored_process srv{vstored_bin, args};
    ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
    std::unique_ptr<client> c;
    client::settings cs;
    cs.timeout = 20s;
    cs.write_retries = 0;  // see each answer as it is
    ASSERT_TRUE(client::connect(local(srv.port(), 3s), c, cs));

    // 1. Fill until a write is refused.
    auto f = fill(*c, 2000);
    next_batch = f.batches;
    acked = f.acked;
    std::cout << "[ measure  ] " << tag << ": " << f.batches << " batches of " << puts_per_batch
              << " x " << value_size << " B in " << f.ms
              << " ms until refused; answers: " << codes_text(f.codes) << "\n";
    ASSERT_TRUE(f.refused) << "the disk never filled: " << codes_text(f.codes);
    for (const auto& [code, n] : f.codes)
      EXPECT_TRUE(code == "ok" || code == "no_space" || code == "in_doubt")
          << n << " writes answered " << code;
    status_reply info;
    ASSERT_TRUE(c->info(info));
    if (reserve) {
      EXPECT_EQ(info.health.state, "degraded") << info.health.message;
      EXPECT_EQ(info.health.code, "no_space") << info.health.message;
      EXPECT_EQ(f.codes.count("in_doubt"), 0u) << "the reserve let RocksDB meet ENOSPC";
    }
    EXPECT_NE(info.health.message.find(mnt), std::string::npos) << info.health.message;
    std::cout << "[ measure  ] " << tag << ": degraded: " << info.health.message << "; free "
              << info.health.free_bytes << " bytes\n";

    // 2. Reads are served, writes refused at once and not applied.
    size_t read_errors = 0;
    EXPECT_EQ(read_back(*c, acked, read_errors), acked.size());
    EXPECT_EQ(read_errors, 0u);
    commit_ack ack;
    auto refused = c->write(write_request{}.put(spaces::data, "refused", "x"), ack);
    std::optional<std::string> v;
    ASSERT_TRUE(c->get(spaces::data, "refused", v));
    if (refused.code() == errc::no_space) {
      EXPECT_FALSE(v.has_value()) << "a write answered no_space was applied";
    } else {
      // The store may have recovered meanwhile (a compaction freed space, or
      // a failed compaction was resumed), or, without a reserve, met ENOSPC
      // in the commit: in doubt.
      EXPECT_TRUE(refused || (!reserve && refused.code() == errc::in_doubt)) << refused.to_string();
      if (refused) acked.emplace("refused", "x");
    }
    // The batch the fill loop saw refused was not applied, none of its keys.
    for (int i = 0; i < puts_per_batch; ++i) {
      std::optional<std::string> rv;
      ASSERT_TRUE(c->get(spaces::data, key_of(f.batches - 1, i), rv));
      EXPECT_FALSE(rv.has_value()) << "key " << i << " of the batch answered no_space was applied";
    }

    // 3. Free the filler: writes succeed again without a restart.
    std::filesystem::remove(filler);
    auto t0 = clock_type::now();
    bool back = false;
    uint64_t attempts = 0;
    std::string last_refusal;
    const auto wait_for = reserve ? 30s : 10s;
    while (!back && clock_type::now() - t0 < wait_for) {
      ++attempts;
      auto k = "after." + std::to_string(attempts);
      auto st = c->write(write_request{}.put(spaces::data, k, "v"), ack);
      if (st) {
        back = true;
        acked.emplace(k, "v");
      } else {
        ASSERT_TRUE(st.code() == errc::no_space || st.code() == errc::io_error ||
                    st.code() == errc::in_doubt)
            << st.to_string();
        last_refusal = st.to_string();
      }
    }
    if (!reserve && !back) {
      // The known limit above: the restart below must still find everything.
      std::cout << "[ measure  ] " << tag
                << ": still degraded 10 s after the filler was deleted (known limit without "
                   "the reserve): "
                << last_refusal << "\n";
      EXPECT_EQ(last_refusal.rfind("no_space", 0), 0u) << last_refusal;
    } else {
      ASSERT_TRUE(back) << "writes still refused 30 s after space was freed; the last refusal: "
                        << last_refusal << "\nvstored's log:\n"
                        << srv.proc().stderr_text();
    }
    auto recover_ms = ms_since(t0);
    ASSERT_TRUE(c->info(info));
    if (back) {
      EXPECT_EQ(info.health.state, "ok");
      EXPECT_GE(info.health.recoveries, 1u);
      std::cout << "[ measure  ] " << tag << ": writes accepted again " << recover_ms
                << " ms after the filler was deleted (" << attempts << " attempts), "
                << info.health.recoveries << " recoveries\n";
    }
    // More writes now succeed.
    for (int b = 0; back && b < 20; ++b, ++next_batch) {
      write_request req;
      for (int i = 0; i < puts_per_batch; ++i) {
        auto k = key_of(next_batch, i);
        auto val = random_bytes(static_cast<uint32_t>(next_batch * 1000 + i), value_size);
        req.put(spaces::data, k, val);
        acked.emplace(k, val);
      }
      auto st = c->write(std::move(req), ack);
      ASSERT_TRUE(st) << "batch " << b << " after recovery: " << st.to_string();
    }
    if (back) {
      srv.proc().signal(SIGTERM);
      auto rc = srv.proc().wait(30s);
      ASSERT_TRUE(rc.has_value());
      EXPECT_EQ(*rc, 0) << srv.proc().stderr_text();
    } else {
      // Known limit: a store stuck degraded by a failed flush may not close
      // (RocksDB waits for its background work); restart it the hard way.
      srv.proc().signal(SIGKILL);
      ASSERT_TRUE(srv.proc().wait(30s).has_value());
    }
    auto err = srv.proc().stderr_text();
    EXPECT_EQ(err.find("Assertion"), std::string::npos) << err;
  }

  // 4. Restart on the same directory: everything acknowledged is there.
  vstored_process again{vstored_bin, args};
  ASSERT_NE(again.port(), 0) << again.proc().stderr_text();
  std::unique_ptr<client> c;
  ASSERT_TRUE(client::connect(local(again.port(), 3s), c));
  size_t read_errors = 0;
  EXPECT_EQ(read_back(*c, acked, read_errors), acked.size());
  EXPECT_EQ(read_errors, 0u);
  std::cout << "[ measure  ] " << tag << ": " << acked.size()
            << " acknowledged writes all present after a restart\n";
}

// The reserve (store.min-free-space) refuses writes before the disk is full:
// RocksDB never meets ENOSPC, and writes resume within a recovery backoff of
// the space being freed.
TEST(DiskFull, ReserveRefusesWritesServesReadsAndRecoversWithoutRestart) {
  run_disk_full(4u << 20, "reserve", "32m", 8u << 20);
}

// Without a reserve RocksDB itself runs out of space (WAL append, flush): the
// server must not abort (RocksDB's info logger used to, on an assertion), must
// answer, serve reads, and resume once space is freed (DB::Resume, or
// RocksDB's own recovery through its SstFileManager).
//
// Known limit (docs/reliability.md, "Disk full"): after a failed *flush*
// (RocksDB's hard error) DB::Resume can keep answering the original ENOSPC
// although space was freed (seen under ASan in most runs, never in Debug so
// far); the store then stays degraded, refusing writes with no_space, until a
// restart. So here recovery without a restart is reported, not required; the
// restart must find everything acknowledged. The reserve (the default) keeps
// RocksDB from meeting ENOSPC at all.
//
// The filler is larger than the data the fill leaves (~5 MB here): once it is
// deleted, RocksDB's catch-up compaction (inputs and outputs on disk at once)
// must fit, or the writes after recovery meet ENOSPC again. With an 8 MB
// filler the fill wrote ~9 MB and one CI run failed that way.
TEST(DiskFull, WithoutReserveRocksDbMeetsEnospcAndTheServerSurvives) {
  run_disk_full(0, "no-reserve", "32m", 20u << 20);
}

}  // namespace
}  // namespace vstore::test
