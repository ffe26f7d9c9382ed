// The online backup end to end: a vstored on 127.0.0.1 under vstore-sim's
// write load, a checkpoint taken over the network with the vstore CLI and
// with the blocking client while the load runs, then the original deleted,
// and each copy restored and verified by vstore-sim --verify-only (directly
// on the copy, and through a second vstored started on the other copy).
// Every wait is bounded in count and time; nothing sleeps.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/net/subprocess.hpp"
#include "vstore/client.hpp"

namespace vstore {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::local;
using test::ms_since;
using test::run;
using test::subprocess;
using test::temp_dir;
using test::vstored_process;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string cli_bin = VSTORE_CLI;
const std::string sim_bin = VSTORE_SIM;

/// Asks the server's state until its sequence number reaches `seq` (bounded
/// in count and time); returns the last sequence seen.
uint64_t wait_for_sequence(client& c, uint64_t seq, std::chrono::milliseconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t last = 0;
  for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i) {
    status_reply s;
    if (!c.info(s)) return last;
    last = s.sequence;
    if (last >= seq) break;
  }
  return last;
}

/// Counts the SST files of `dir` and how many of them have more than one
/// hard link.
std::pair<int, int> sst_links(const fs::path& dir) {
  int ssts = 0, linked = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator{dir, ec}) {
    if (e.path().extension() != ".sst") continue;
    ++ssts;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0 && st.st_nlink > 1) ++linked;
  }
  return {ssts, linked};
}

TEST(OnlineCheckpoint, TakenUnderSimLoadRestoresAndVerifies) {
  temp_dir dir{"ckpt"};
  const auto live = dir / "live";
  const auto copy_cli = dir / "copy-cli";
  const auto copy_client = dir / "copy-client";
  vstored_process srv{vstored_bin, {"--data-dir", live}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  // A load that outlasts the test (about 5k batches/s here): stopped below.
  subprocess sim{{sim_bin, "--connect", srv.endpoint(), "--schedulers", "2", "--batches",
                  "10000000", "--no-progress", "--timeout", "30000"}};
  std::unique_ptr<client> c;
  client::settings cs;
  cs.max_threads = 2;
  ASSERT_TRUE(client::connect(local(srv.port()), c, cs));
  auto seq0 = wait_for_sequence(*c, 20000);
  ASSERT_GE(seq0, 20000u) << "the sim made no progress: " << sim.stderr_text();
  ASSERT_FALSE(sim.wait(0ms)) << "the sim ended early: " << sim.stdout_text() << sim.stderr_text();

  // 1. The CLI over --connect, while the sim writes.
  auto t0 = std::chrono::steady_clock::now();
  auto r = run({cli_bin, "--connect", srv.endpoint(), "checkpoint", copy_cli}, std::nullopt, 120s);
  auto cli_ms = ms_since(t0);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m,
                               std::regex{"checkpoint written to (.*) \\(sequence ([0-9]+)\\)\n"}))
      << r.out;
  EXPECT_EQ(m[1].str(), copy_cli);
  EXPECT_GE(std::stoull(m[2].str()), seq0);
  auto [ssts, linked] = sst_links(copy_cli);

  // 2. The blocking client, still under load.
  checkpoint_reply reply;
  auto st = c->checkpoint(copy_client, reply);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(reply.dir, copy_client);
  EXPECT_GE(reply.sequence, std::stoull(m[2].str()));
  EXPECT_GT(reply.files, 0u);
  EXPECT_GT(reply.bytes, 0u);
  // The load ran on through both checkpoints: the store kept serving.
  ASSERT_FALSE(sim.wait(0ms)) << "the sim ended: " << sim.stdout_text() << sim.stderr_text();
  auto seq_after = wait_for_sequence(*c, reply.sequence + 1000);
  EXPECT_GE(seq_after, reply.sequence + 1000) << "no writes after the checkpoint";
  stats_reply stats;
  ASSERT_TRUE(c->stats(stats));
  EXPECT_EQ(stats.checkpoints, 2u);
  std::printf(
      "[ measure  ] online checkpoint under vstore-sim load: CLI %ld ms; client: %llu files, "
      "%llu bytes, %llu ms on the server, sequence %llu; %d SST files in the CLI copy, %d "
      "hard-linked\n",
      cli_ms, static_cast<unsigned long long>(reply.files),
      static_cast<unsigned long long>(reply.bytes),
      static_cast<unsigned long long>(reply.elapsed_ms),
      static_cast<unsigned long long>(reply.sequence), ssts, linked);

  // 3. Stop the load and the server, and delete the original: the copies
  // share its SST files by hard links and do not depend on it.
  sim.signal(SIGKILL);
  ASSERT_TRUE(sim.wait(10s));
  c.reset();
  srv.proc().signal(SIGTERM);
  ASSERT_EQ(srv.proc().finish(30s), std::optional<int>{0}) << srv.proc().stderr_text();
  fs::remove_all(live);

  // 4. The acceptance: each copy restores and verifies.
  auto v =
      run({sim_bin, "--verify-only", "--data-dir", copy_cli, "--no-progress"}, std::nullopt, 120s);
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("\nVERIFIED\n"), std::string::npos) << v.out;
  vstored_process restored{vstored_bin, {"--data-dir", copy_client}};
  ASSERT_NE(restored.port(), 0) << restored.proc().stderr_text();
  auto info = run({cli_bin, "--connect", restored.endpoint(), "info"}, std::nullopt, 30s);
  EXPECT_EQ(info.code, 0) << info.err;
  auto rv = run({sim_bin, "--verify-only", "--connect", restored.endpoint(), "--no-progress"},
                std::nullopt, 120s);
  EXPECT_EQ(rv.code, 0) << rv.out << rv.err;
  EXPECT_NE(rv.out.find("\nVERIFIED\n"), std::string::npos) << rv.out;
  restored.proc().signal(SIGTERM);
  EXPECT_EQ(restored.proc().finish(30s), std::optional<int>{0});
}

TEST(OnlineCheckpoint, RemoteTargetsAreCheckedOnTheServer) {
  temp_dir dir{"ckpt"};
  vstored_process srv{vstored_bin, {"--data-dir", dir / "live"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::vector<std::string> remote{cli_bin, "--connect", srv.endpoint()};
  auto with = [&](std::vector<std::string> args) {
    auto argv = remote;
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, std::nullopt, 60s);
  };
  ASSERT_EQ(with({"put", "data", "alpha", "1"}).code, 0);
  // A relative TARGET names nothing on the server: a usage error.
  auto rel = with({"checkpoint", "relative/copy"});
  EXPECT_EQ(rel.code, 2) << rel.out << rel.err;
  EXPECT_NE(rel.err.find("absolute"), std::string::npos) << rel.err;
  // The target must not exist yet; nothing in it is touched.
  fs::create_directories(dir / "exists");
  auto ex = with({"checkpoint", dir / "exists"});
  EXPECT_EQ(ex.code, 3) << ex.out << ex.err;
  EXPECT_NE(ex.err.find("invalid_argument"), std::string::npos) << ex.err;
  EXPECT_NE(ex.err.find("already exists"), std::string::npos) << ex.err;
  EXPECT_TRUE(fs::is_empty(dir / "exists"));
  // Its parent must exist.
  auto orphan = with({"checkpoint", dir / "missing/copy"});
  EXPECT_EQ(orphan.code, 3) << orphan.err;
  EXPECT_FALSE(fs::exists(dir / "missing"));
  // The blocking client gets the same answers.
  std::unique_ptr<client> c;
  ASSERT_TRUE(client::connect(local(srv.port()), c));
  checkpoint_reply reply;
  EXPECT_EQ(c->checkpoint("relative", reply).code(), errc::invalid_argument);
  EXPECT_EQ(c->checkpoint(dir / "exists", reply).code(), errc::invalid_argument);
  ASSERT_TRUE(c->checkpoint(dir / "ok", reply, 30000ms));
  c.reset();
  srv.proc().signal(SIGTERM);
  ASSERT_EQ(srv.proc().finish(30s), std::optional<int>{0});
  auto g = run({cli_bin, "--data-dir", dir / "ok", "get", "data", "alpha"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, "1\n");
}

TEST(OnlineCheckpoint, MemoryServerAnswersNotSupported) {
  vstored_process srv{vstored_bin, {"--memory"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  temp_dir dir{"ckpt"};
  auto r =
      run({cli_bin, "--connect", srv.endpoint(), "checkpoint", dir / "copy"}, std::nullopt, 60s);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("not_supported"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "copy"));
  srv.proc().signal(SIGTERM);
  EXPECT_EQ(srv.proc().finish(30s), std::optional<int>{0});
}

}  // namespace
}  // namespace vstore
