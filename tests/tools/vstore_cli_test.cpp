// The vstore CLI end to end: embedded (--data-dir) and remote (--connect to a
// vstored on 127.0.0.1). Every command runs as a process with a timeout.

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/net/subprocess.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;
using test::run;
using test::run_result;
using test::temp_dir;
using test::vstored_process;

const std::string cli_bin = VSTORE_CLI;
const std::string vstored_bin = VSTORE_VSTORED;

/// Runs `vstore` with `where` (e.g. --data-dir DIR) followed by `args`.
run_result vstore(const std::vector<std::string>& where, const std::vector<std::string>& args,
                  std::optional<std::string> input = std::nullopt) {
  std::vector<std::string> argv{cli_bin};
  argv.insert(argv.end(), where.begin(), where.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, std::move(input), 60s);
}

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, HelpForEveryCommand) {
  auto top = vstore({}, {"--help"});
  EXPECT_EQ(top.code, 0);
  for (auto cmd : {"get", "put", "delete", "outcome", "scan", "stats", "info", "flush", "bulk-load",
                   "checkpoint"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    auto h = vstore({}, {cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_NE(h.out.find(std::string{"Usage: vstore"}), std::string::npos) << cmd;
    auto h2 = vstore({}, {"help", cmd});
    EXPECT_EQ(h2.code, 0) << cmd;
    EXPECT_EQ(h2.out, h.out) << cmd;
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  EXPECT_EQ(vstore({}, {}).code, 2);
  EXPECT_EQ(vstore(db, {"frobnicate"}).code, 2);
  EXPECT_EQ(vstore(db, {"get", "data"}).code, 2);
  EXPECT_EQ(vstore({}, {"get", "data", "k"}).code, 2);  // no store given
  EXPECT_EQ(vstore({"--connect", "127.0.0.1:1", "--data-dir", dir / "db"}, {"stats"}).code, 2);
  EXPECT_EQ(vstore(db, {"--hex", "put", "data", "zz", "00"}).code, 2);
  EXPECT_EQ(vstore(db, {"put", "no_such_space", "k", "v"}).code, 2);
  EXPECT_EQ(vstore(db, {"--bogus", "stats"}).code, 2);
  auto r = vstore({"--connect", "localhost"}, {"stats"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("HOST:PORT"), std::string::npos) << r.err;
}

TEST(Cli, EmbeddedPutGetDeleteScan) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  // Reading a store that does not exist is an error, not a new empty store.
  EXPECT_EQ(vstore(db, {"get", "data", "k"}).code, 3);
  ASSERT_EQ(vstore(db, {"put", "data", "k1", "v1"}).code, 0);
  ASSERT_EQ(vstore(db, {"put", "data", "k2", "v2"}).code, 0);
  ASSERT_EQ(vstore(db, {"put", "data", "k3", "v3"}).code, 0);
  ASSERT_EQ(vstore(db, {"put", "metas", "k1", "meta"}).code, 0);
  auto g = vstore(db, {"get", "data", "k1"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, "v1\n");
  EXPECT_EQ(vstore(db, {"get", "metas", "k1"}).out, "meta\n");
  auto missing = vstore(db, {"get", "data", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("not found"), std::string::npos);
  auto s = vstore(db, {"scan", "data", "k"});
  EXPECT_EQ(s.code, 0);
  EXPECT_EQ(s.out, "k1\tv1\nk2\tv2\nk3\tv3\n");
  auto page = vstore(db, {"scan", "data", "k", "--limit", "1", "--start-after", "k1"});
  EXPECT_EQ(page.out, "k2\tv2\n");
  EXPECT_NE(page.err.find("--start-after k2"), std::string::npos) << page.err;
  ASSERT_EQ(vstore(db, {"delete", "data", "k2"}).code, 0);
  EXPECT_EQ(vstore(db, {"get", "data", "k2"}).code, 1);
  EXPECT_EQ(vstore(db, {"scan", "data", ""}).out, "k1\tv1\nk3\tv3\n");
  auto info = vstore(db, {"info"});
  EXPECT_EQ(info.code, 0);
  EXPECT_NE(info.out.find("backend: rocksdb"), std::string::npos);
  EXPECT_NE(info.out.find("proof_receipt"), std::string::npos);
  EXPECT_EQ(vstore(db, {"flush"}).code, 0);
}

TEST(Cli, BinarySafeWithHexAndEscapes) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  ASSERT_EQ(vstore(db, {"--hex", "put", "data", "00ff5c41", "0a0962"}).code, 0);
  auto g = vstore(db, {"--hex", "get", "data", "00ff5c41"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, "0a0962\n");
  // Without --hex, non-printable bytes and the backslash are escaped.
  auto s = vstore(db, {"scan", "data", ""});
  EXPECT_EQ(s.out, "\\x00\\xff\\\\A\t\\x0a\\x09b\n");
  auto sh = vstore(db, {"--hex", "scan", "data", "00"});
  EXPECT_EQ(sh.out, "00ff5c41\t0a0962\n");
}

TEST(Cli, BulkLoadAndCheckpointOpenAsStore) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  std::string input;
  constexpr int n = 5000;
  for (int i = 0; i < n; ++i)
    input += "key" + std::to_string(100000 + i) + "\tvalue" + std::to_string(i) + "\n";
  auto file = dir / "load.tsv";
  std::ofstream{file} << input;
  auto r = vstore(db, {"bulk-load", "data", file, "--batch", "700"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("loaded 5000 ops into data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ops/s"), std::string::npos) << r.out;
  // From stdin, hex.
  auto rh = vstore(db, {"--hex", "bulk-load", "metas", "-"}, std::string{"6b\t76\n6b32\t7632\n"});
  ASSERT_EQ(rh.code, 0) << rh.err;
  EXPECT_EQ(vstore(db, {"get", "metas", "k2"}).out, "v2\n");
  // A malformed line stops the load with a usage error naming the line.
  auto bad = vstore(db, {"bulk-load", "metas", "-"}, std::string{"a\t1\nno-tab\n"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("-:2:"), std::string::npos) << bad.err;

  auto ckpt = dir / "ckpt";
  auto c = vstore(db, {"checkpoint", ckpt});
  ASSERT_EQ(c.code, 0) << c.err;
  std::vector<std::string> cdb{"--data-dir", ckpt};
  EXPECT_EQ(vstore(cdb, {"get", "data", "key100042"}).out, "value42\n");
  EXPECT_EQ(vstore(cdb, {"get", "metas", "k"}).out, "v\n");
  auto all = vstore(cdb, {"scan", "data", "key"});
  EXPECT_EQ(all.code, 0);
  EXPECT_EQ(count_lines(all.out), static_cast<size_t>(n));
  EXPECT_EQ(all.out, vstore(db, {"scan", "data", "key"}).out);
  // The target must not exist yet.
  EXPECT_EQ(vstore(db, {"checkpoint", ckpt}).code, 3);
}

TEST(Cli, RemoteAgainstVstored) {
  temp_dir dir{"cli"};
  vstored_process srv{vstored_bin, {"--data-dir", dir / "db"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::vector<std::string> remote{"--connect", srv.endpoint()};
  ASSERT_EQ(vstore(remote, {"put", "data", "alpha", "1"}).code, 0);
  ASSERT_EQ(vstore(remote, {"put", "latest_ptr", "alpha", "p1"}).code, 0);
  auto g = vstore(remote, {"get", "data", "alpha"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, "1\n");
  EXPECT_EQ(vstore(remote, {"get", "data", "beta"}).code, 1);
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "bulk/" + std::to_string(1000 + i) + "\tx\n";
  auto bl = vstore(remote, {"bulk-load", "data", "-"}, input);
  ASSERT_EQ(bl.code, 0) << bl.err;
  EXPECT_NE(bl.out.find("loaded 3000 ops"), std::string::npos);
  EXPECT_EQ(count_lines(vstore(remote, {"scan", "data", "bulk/"}).out), 3000u);
  EXPECT_EQ(vstore(remote, {"scan", "data", "bulk/", "--limit", "10"}).out.size(), 10u * 12);

  auto table = vstore(remote, {"stats"});
  EXPECT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("latest_ptr"), std::string::npos);
  auto json = vstore(remote, {"stats", "--json"});
  EXPECT_EQ(json.code, 0);
  EXPECT_EQ(json.out.front(), '{');
  EXPECT_NE(json.out.find("\"name\": \"data\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"name\": \"proof_receipt\""), std::string::npos);
  EXPECT_NE(json.out.find("\"rounds\": "), std::string::npos);
  auto prom = vstore(remote, {"stats", "--prometheus"});
  EXPECT_EQ(prom.code, 0);
  EXPECT_NE(prom.out.find("# TYPE vstore_reads_total counter\n"), std::string::npos);
  EXPECT_NE(prom.out.find("# HELP vstore_writes_total "), std::string::npos);
  EXPECT_NE(prom.out.find("vstore_reads_total{space=\"data\"} "), std::string::npos);
  EXPECT_NE(prom.out.find("vstore_writes_total{space=\"data\"} "), std::string::npos);
  EXPECT_EQ(vstore(remote, {"stats", "--json", "--prometheus"}).code, 2);

  // Checkpoint is embedded-only.
  auto ck = vstore(remote, {"checkpoint", dir / "ckpt"});
  EXPECT_EQ(ck.code, 2);
  EXPECT_NE(ck.err.find("embedded"), std::string::npos);
  // After the server stops, the data is in its directory.
  srv.proc().signal(SIGTERM);
  ASSERT_EQ(srv.proc().finish(20s), std::optional<int>{0});
  EXPECT_EQ(vstore({"--data-dir", dir / "db"}, {"get", "latest_ptr", "alpha"}).out, "p1\n");
}

/// Returns N of put's `{"seq": N, "token": ...}` output, or "" if it is not there.
std::string seq_of(const std::string& json) {
  const std::string head = "{\"seq\": ";
  if (json.rfind(head, 0) != 0) return "";
  auto end = json.find(',', head.size());
  return end == std::string::npos ? "" : json.substr(head.size(), end - head.size());
}

// put/delete --token: a write whose token committed is not applied again (its
// ack is the original one); outcome TOKEN tells what became of a token, with
// its own exit code. Remote (vstored) and embedded (a new process each time,
// so the tokens come from the store's directory).
TEST(Cli, TokenAppliesWritesOnceAndOutcomeTellsIt) {
  temp_dir dir{"cli"};
  vstored_process srv{vstored_bin, {"--data-dir", dir / "served"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::vector<std::string> remote{"--connect", srv.endpoint()};
  std::vector<std::string> embedded{"--data-dir", dir / "db"};
  for (const auto& where : {remote, embedded}) {
    SCOPED_TRACE(where[0]);
    auto put = vstore(where, {"put", "--token", "abc", "--json", "data", "k", "v1"});
    ASSERT_EQ(put.code, 0) << put.err;
    auto seq = seq_of(put.out);
    ASSERT_NE(seq, "") << put.out;
    EXPECT_EQ(put.out, "{\"seq\": " + seq + ", \"token\": \"abc\"}\n");
    auto o = vstore(where, {"outcome", "abc"});
    EXPECT_EQ(o.code, 0) << o.err;
    EXPECT_EQ(o.out, "committed " + seq + "\n");
    auto oj = vstore(where, {"--json", "outcome", "abc"});
    EXPECT_EQ(oj.code, 0) << oj.err;
    EXPECT_EQ(oj.out, "{\"token\": \"abc\", \"state\": \"committed\", \"seq\": " + seq + "}\n");
    auto never = vstore(where, {"outcome", "never-used"});
    EXPECT_EQ(never.code, 1) << never.err;
    EXPECT_EQ(never.out, "not_committed\n");
    auto nj = vstore(where, {"outcome", "never-used", "--json"});
    EXPECT_EQ(nj.code, 1) << nj.err;
    EXPECT_EQ(nj.out, "{\"token\": \"never-used\", \"state\": \"not_committed\", \"seq\": 0}\n");
    // The same token again, with another value: answered with the first ack,
    // not applied.
    auto again = vstore(where, {"--json", "put", "--token=abc", "data", "k", "v2"});
    EXPECT_EQ(again.code, 0) << again.err;
    EXPECT_EQ(again.out, put.out);
    EXPECT_EQ(vstore(where, {"get", "data", "k"}).out, "v1\n");
    // Without --token every put is a new write.
    ASSERT_EQ(vstore(where, {"put", "data", "k", "v3"}).code, 0);
    EXPECT_EQ(vstore(where, {"get", "data", "k"}).out, "v3\n");
    // delete: applied once as well.
    auto del = vstore(where, {"--json", "delete", "--token", "del-1", "data", "k"});
    ASSERT_EQ(del.code, 0) << del.err;
    EXPECT_EQ(vstore(where, {"get", "data", "k"}).code, 1);
    ASSERT_EQ(vstore(where, {"put", "data", "k", "v4"}).code, 0);
    auto del2 = vstore(where, {"--json", "delete", "--token", "del-1", "data", "k"});
    EXPECT_EQ(del2.code, 0) << del2.err;
    EXPECT_EQ(del2.out, del.out);
    EXPECT_EQ(vstore(where, {"get", "data", "k"}).out, "v4\n");
    EXPECT_EQ(vstore(where, {"outcome", "del-1"}).out, "committed " + seq_of(del.out) + "\n");
    // Tokens are bytes: hex with --hex, in and out.
    auto hp = vstore(where, {"--hex", "--json", "put", "--token", "00ff", "data", "6b68", "01"});
    ASSERT_EQ(hp.code, 0) << hp.err;
    EXPECT_EQ(hp.out, "{\"seq\": " + seq_of(hp.out) + ", \"token\": \"00ff\"}\n");
    EXPECT_EQ(vstore(where, {"--hex", "outcome", "00ff"}).out,
              "committed " + seq_of(hp.out) + "\n");
    EXPECT_EQ(vstore(where, {"outcome", "00ff"}).out, "not_committed\n");  // the text "00ff"
    // Usage errors.
    EXPECT_EQ(vstore(where, {"get", "--token", "abc", "data", "k"}).code, 2);
    EXPECT_EQ(vstore(where, {"put", "--token", "", "data", "k", "v"}).code, 2);
    EXPECT_EQ(vstore(where, {"--hex", "put", "--token", "zz", "data", "6b", "76"}).code, 2);
    EXPECT_EQ(vstore(where, {"outcome"}).code, 2);
    EXPECT_EQ(vstore(where, {"outcome", ""}).code, 2);
    EXPECT_EQ(vstore(where, {"outcome", "a", "b"}).code, 2);
    EXPECT_EQ(vstore(where, {"get", "data", "k"}).out, "v4\n");
  }
}

TEST(Cli, UnreachableServerExitsThree) {
  auto r = vstore({"--connect", "127.0.0.1:1", "--connect-timeout", "2s"}, {"get", "data", "k"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("disconnected"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vstore
