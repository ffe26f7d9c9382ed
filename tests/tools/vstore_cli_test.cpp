// The vstore CLI end to end: embedded (--data-dir) and remote (--connect to a
// vstored on 127.0.0.1). Every command runs as a process with a timeout.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
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

/// Runs `vstore` as above with the environment variables `env` (NAME=VALUE)
/// added, through env(1).
run_result vstore_env(const std::vector<std::string>& env, const std::vector<std::string>& where,
                      const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(cli_bin);
  argv.insert(argv.end(), where.begin(), where.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, std::nullopt, 60s);
}

/// A strict JSON syntax check (RFC 8259, one value, white space around it).
class json_checker {
 public:
  explicit json_checker(const std::string& text) : s_(text) {}

  bool valid() {
    skip_ws();
    if (!value()) return false;
    skip_ws();
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }
  bool object() {
    ++i_;
    skip_ws();
    if (peek('}')) return ++i_, true;
    for (;;) {
      skip_ws();
      if (!string()) return false;
      skip_ws();
      if (!peek(':')) return false;
      ++i_;
      skip_ws();
      if (!value()) return false;
      skip_ws();
      if (peek('}')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool array() {
    ++i_;
    skip_ws();
    if (peek(']')) return ++i_, true;
    for (;;) {
      skip_ws();
      if (!value()) return false;
      skip_ws();
      if (peek(']')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool string() {
    if (!peek('"')) return false;
    for (++i_; i_ < s_.size(); ++i_) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k)
            if (++i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])))
              return false;
        } else if (std::string{"\"\\/bfnrt"}.find(e) == std::string::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    auto start = i_;
    if (peek('-')) ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-'))
      ++i_;
    return i_ > start && std::isdigit(static_cast<unsigned char>(s_[i_ - 1]));
  }
  bool literal(const char* word) {
    std::string w{word};
    if (s_.compare(i_, w.size(), w) != 0) return false;
    i_ += w.size();
    return true;
  }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }

  const std::string& s_;
  size_t i_ = 0;
};

bool is_json(const std::string& text) { return json_checker{text}.valid(); }

/// Every byte value once: 0x00..0xff.
std::string all_bytes() {
  std::string out;
  for (int b = 0; b < 256; ++b) out += static_cast<char>(b);
  return out;
}

/// Renders bytes as lower-case hex.
std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 0xf];
  }
  return out;
}

/// The names and sizes of the files in `dir`, one per line, sorted.
std::string listing(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& e : std::filesystem::directory_iterator{dir})
    lines.push_back(e.path().filename().string() + " " +
                    (e.is_regular_file() ? std::to_string(e.file_size()) : "dir"));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(Cli, HelpForEveryCommand) {
  auto top = vstore({}, {"--help"});
  EXPECT_EQ(top.code, 0);
  for (auto cmd : {"get", "multi-get", "put", "delete", "delete-range", "outcome", "scan", "stats",
                   "info", "flush", "bulk-load", "drain", "checkpoint"}) {
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
  // A primary without replicas: its role, no replica seen, no snapshot served.
  auto info = vstore(remote, {"info"});
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("\nrole: primary\n  snapshots_served: 0\n  replicas: 0\n"),
            std::string::npos)
      << info.out;
  auto info_json = vstore(remote, {"info", "--json"});
  EXPECT_EQ(info_json.code, 0) << info_json.err;
  EXPECT_TRUE(is_json(info_json.out)) << info_json.out;
  EXPECT_NE(info_json.out.find(
                "\"replication\": {\"role\": \"primary\", \"snapshots\": 0, \"replicas\": []}"),
            std::string::npos)
      << info_json.out;

  // Checkpoint runs online, on the server's file system: an absolute target.
  auto ck = vstore(remote, {"checkpoint", dir / "ckpt"});
  EXPECT_EQ(ck.code, 0) << ck.err;
  EXPECT_NE(ck.out.find("checkpoint written to"), std::string::npos) << ck.out;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path{dir / "ckpt"} / "CURRENT"));
  EXPECT_EQ(vstore(remote, {"checkpoint", "relative-ckpt"}).code, 2);
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

// Every command accepts only its own options (and the global ones): another
// command's option is a usage error naming it.
TEST(Cli, ForeignOptionsExitTwo) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  ASSERT_EQ(vstore(db, {"put", "data", "k", "v"}).code, 0);
  auto r = vstore(db, {"get", "data", "k", "--prometheus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--prometheus"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("vstore get"), std::string::npos) << r.err;
  EXPECT_EQ(vstore(db, {"flush", "--json"}).code, 2);
  EXPECT_EQ(vstore(db, {"--json", "flush"}).code, 2);
  EXPECT_EQ(vstore(db, {"scan", "data", "", "--batch", "10"}).code, 2);
  EXPECT_EQ(vstore(db, {"bulk-load", "data", "-", "--limit", "1"}).code, 2);
  EXPECT_EQ(vstore(db, {"info", "--raw"}).code, 2);
  EXPECT_EQ(vstore(db, {"get", "data", "k", "--raw", "--json"}).code, 2);
  EXPECT_EQ(vstore(db, {"--hex", "stats"}).code, 2);  // stats takes no bytes
  EXPECT_EQ(vstore(db, {"scan", "data", "", "--limit", "0"}).code, 2);
  EXPECT_EQ(vstore(db, {"get", "data", "k", "extra"}).code, 2);
  // Nothing was written by the refused commands.
  EXPECT_EQ(vstore(db, {"get", "data", "k"}).out, "v\n");
}

TEST(Cli, VersionPrintsProjectVersion) {
  auto r = vstore({}, {"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex{"vstore [0-9]+\\.[0-9]+\\.[0-9]+\n"})) << r.out;
}

// VSTORE_CONNECT is the default of --connect; --data-dir / --config win over it.
TEST(Cli, ConnectFromEnvironment) {
  auto r = vstore_env({"VSTORE_CONNECT=127.0.0.1:1"}, {"--timeout", "2s"}, {"get", "data", "k"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("VSTORE_CONNECT"), std::string::npos) << r.err;
  auto bad = vstore_env({"VSTORE_CONNECT=nowhere"}, {}, {"info"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("VSTORE_CONNECT"), std::string::npos) << bad.err;
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  EXPECT_EQ(vstore_env({"VSTORE_CONNECT=127.0.0.1:1", "VSTORE_TLS_CA=/nonexistent"}, db,
                       {"put", "data", "k", "v"})
                .code,
            0);
  EXPECT_EQ(vstore(db, {"get", "data", "k"}).out, "v\n");
  // Given on the command line, both are a usage error.
  EXPECT_EQ(vstore({"--connect", "127.0.0.1:1", "--data-dir", dir / "db"}, {"info"}).code, 2);
  // Against a running vstored.
  vstored_process srv{vstored_bin, {"--data-dir", dir / "served"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  ASSERT_EQ(vstore({"--connect", srv.endpoint()}, {"put", "data", "remote", "yes"}).code, 0);
  auto g = vstore_env({"VSTORE_CONNECT=" + srv.endpoint()}, {}, {"get", "data", "remote"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, "yes\n");
}

// put SPACE KEY - takes the exact bytes of stdin; get --raw prints them back
// exactly, without a newline.
TEST(Cli, PutFromStdinAndGetRawAreExact) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  const std::string value = all_bytes() + "\n\n" + all_bytes() + "\r\n";
  auto p = vstore(db, {"put", "data", "blob", "-"}, value);
  ASSERT_EQ(p.code, 0) << p.err;
  auto g = vstore(db, {"get", "data", "blob", "--raw"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out, value);
  EXPECT_EQ(vstore(db, {"--hex", "get", "data", "626c6f62"}).out, hex(value) + "\n");
  // An empty stdin is an empty value.
  ASSERT_EQ(vstore(db, {"put", "data", "empty", "-"}, std::string{}).code, 0);
  auto e = vstore(db, {"get", "data", "empty", "--raw"});
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.out, "");
  // With --hex, stdin is hex (white space around it ignored).
  ASSERT_EQ(vstore(db, {"--hex", "put", "data", "6b", "-"}, std::string{" 00ff2d\n"}).code, 0);
  EXPECT_EQ(vstore(db, {"get", "data", "k", "--raw"}).out, std::string("\0\xff-", 3));
  EXPECT_EQ(vstore(db, {"--hex", "put", "data", "6b", "-"}, std::string{"zz"}).code, 2);
  // A missing key prints nothing on stdout with --raw.
  auto m = vstore(db, {"get", "data", "nope", "--raw"});
  EXPECT_EQ(m.code, 1);
  EXPECT_EQ(m.out, "");
}

TEST(Cli, JsonOutputsParse) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  ASSERT_EQ(vstore(db, {"--hex", "put", "data", "6b31", "22005c0aff"}).code, 0);
  ASSERT_EQ(vstore(db, {"put", "data", "k2", "v2"}).code, 0);
  auto g = vstore(db, {"get", "data", "k1", "--json"});
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_TRUE(is_json(g.out)) << g.out;
  EXPECT_EQ(g.out,
            "{\"space\": \"data\", \"key\": \"k1\", \"found\": true, "
            "\"value\": \"\\\"\\\\x00\\\\\\\\\\\\x0a\\\\xff\"}\n");
  auto gh = vstore(db, {"--hex", "get", "data", "6b31", "--json"});
  EXPECT_TRUE(is_json(gh.out)) << gh.out;
  EXPECT_NE(gh.out.find("\"value\": \"22005c0aff\""), std::string::npos) << gh.out;
  auto missing = vstore(db, {"get", "data", "nope", "--json"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_TRUE(is_json(missing.out)) << missing.out;
  EXPECT_NE(missing.out.find("\"found\": false"), std::string::npos);

  auto sc = vstore(db, {"scan", "data", "k", "--json"});
  EXPECT_EQ(sc.code, 0) << sc.err;
  EXPECT_TRUE(is_json(sc.out)) << sc.out;
  EXPECT_NE(sc.out.find("\"entries\": ["), std::string::npos);
  EXPECT_NE(sc.out.find("{\"key\": \"k2\", \"value\": \"v2\"}"), std::string::npos) << sc.out;
  EXPECT_NE(sc.out.find("\"more\": false"), std::string::npos);
  auto cut = vstore(db, {"scan", "data", "k", "--limit", "1", "--json"});
  EXPECT_TRUE(is_json(cut.out)) << cut.out;
  EXPECT_NE(cut.out.find("\"more\": true, \"next_start_after\": \"k1\""), std::string::npos)
      << cut.out;
  auto none = vstore(db, {"scan", "data", "zzz", "--json"});
  EXPECT_TRUE(is_json(none.out)) << none.out;

  auto info = vstore(db, {"info", "--json"});
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_TRUE(is_json(info.out)) << info.out;
  for (auto field : {"\"backend\": \"rocksdb\"",
                     "\"sequence\": ", "\"uptime_ms\": ", "\"name\": \"proof_receipt\"",
                     "\"health\": {\"state\": \"ok\"", "\"replication\": {\"role\": \"primary\""})
    EXPECT_NE(info.out.find(field), std::string::npos) << field << " in " << info.out;

  auto mg = vstore(db, {"multi-get", "data", "k2", "nope", "--json"});
  EXPECT_EQ(mg.code, 1);
  EXPECT_TRUE(is_json(mg.out)) << mg.out;
  EXPECT_NE(mg.out.find("{\"key\": \"nope\", \"found\": false}"), std::string::npos) << mg.out;
  auto stats = vstore(db, {"stats", "--json"});
  EXPECT_TRUE(is_json(stats.out)) << stats.out;
  // --json before the command still works (the old parser's order).
  auto before = vstore(db, {"--json", "get", "data", "k2"});
  EXPECT_EQ(before.code, 0);
  EXPECT_TRUE(is_json(before.out)) << before.out;
}

// scan's escaped output loads back with bulk-load: keys and values made of
// every byte value (backslash, tab, newline, CR, NUL, 0x80..0xff) included.
TEST(Cli, ScanBulkLoadRoundTripsEveryByte) {
  temp_dir dir{"cli"};
  std::vector<std::string> src{"--data-dir", dir / "src"};
  std::vector<std::string> dst{"--data-dir", dir / "dst"};
  const auto bytes = all_bytes();
  std::string input;
  for (int b = 0; b < 256; ++b) {
    auto c = static_cast<char>(b);
    std::string key = std::string{c} + "k\\" + c + "\t\n";
    std::string value = std::string{c} + bytes.substr(static_cast<size_t>(b)) + "\\x41\\";
    input += hex(key) + "\t" + hex(value) + "\n";
  }
  input += hex("\\") + "\t" + "\n";  // an empty value
  auto load = vstore(src, {"--hex", "bulk-load", "data", "-"}, input);
  ASSERT_EQ(load.code, 0) << load.err;
  EXPECT_NE(load.out.find("loaded 257 ops"), std::string::npos) << load.out;

  auto escaped = vstore(src, {"scan", "data", ""});
  ASSERT_EQ(escaped.code, 0) << escaped.err;
  EXPECT_EQ(count_lines(escaped.out), 257u);  // no raw newline inside an entry
  auto copy = vstore(dst, {"bulk-load", "data", "-"}, escaped.out);
  ASSERT_EQ(copy.code, 0) << copy.err;
  EXPECT_NE(copy.out.find("loaded 257 ops"), std::string::npos) << copy.out;
  auto a = vstore(src, {"--hex", "scan", "data", ""});
  auto b = vstore(dst, {"--hex", "scan", "data", ""});
  EXPECT_EQ(count_lines(a.out), 257u);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(vstore(dst, {"scan", "data", ""}).out, escaped.out);
  // A bad escape stops the load as a usage error naming the line.
  auto bad = vstore(dst, {"bulk-load", "metas", "-"}, std::string{"ok\tv\nk\\q\tv\n"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("-:2:"), std::string::npos) << bad.err;
  EXPECT_EQ(vstore(dst, {"bulk-load", "metas", "-"}, std::string{"k\t\\x4\n"}).code, 2);
}

// Reading commands open an embedded store read-only: nothing in the directory
// changes. A directory another process holds is refused with a clear message,
// for reading and writing commands alike.
TEST(Cli, EmbeddedReadOnlyAndDirectoryInUse) {
  temp_dir dir{"cli"};
  auto path = dir / "db";
  std::vector<std::string> db{"--data-dir", path};
  ASSERT_EQ(vstore(db, {"put", "data", "k", "v"}).code, 0);
  auto before = listing(path);
  EXPECT_EQ(vstore(db, {"get", "data", "k"}).out, "v\n");
  EXPECT_EQ(vstore(db, {"scan", "data", ""}).out, "k\tv\n");
  EXPECT_EQ(vstore(db, {"info"}).code, 0);
  EXPECT_EQ(vstore(db, {"stats"}).code, 0);
  EXPECT_EQ(vstore(db, {"multi-get", "data", "k"}).out, "k\tv\n");
  EXPECT_EQ(listing(path), before);

  vstored_process srv{vstored_bin, {"--data-dir", path}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::vector<std::vector<std::string>> commands = {{"get", "data", "k"},
                                                    {"multi-get", "data", "k"},
                                                    {"scan", "data", ""},
                                                    {"info"},
                                                    {"stats"},
                                                    {"outcome", "t"},
                                                    {"put", "data", "k", "v2"},
                                                    {"delete", "data", "k"},
                                                    {"flush"},
                                                    {"checkpoint", dir / "ckpt"}};
  for (const auto& cmd : commands) {
    auto r = vstore(db, cmd);
    EXPECT_EQ(r.code, 3) << cmd[0];
    EXPECT_NE(r.err.find("the data directory " + path + " is in use by another process"),
              std::string::npos)
        << cmd[0] << ": " << r.err;
    EXPECT_NE(r.err.find("--connect"), std::string::npos) << r.err;
  }
  // Through the server all is well.
  EXPECT_EQ(vstore({"--connect", srv.endpoint()}, {"get", "data", "k"}).out, "v\n");
}

TEST(Cli, MultiGet) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  ASSERT_EQ(vstore(db, {"bulk-load", "data", "-"}, std::string{"a\t1\nb\t2\nc\\x00\t3\n"}).code, 0);
  auto all = vstore(db, {"multi-get", "data", "a", "b"});
  EXPECT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(all.out, "a\t1\nb\t2\n");
  EXPECT_EQ(vstore(db, {"multi-get", "data", "c"}).code, 1);  // the key is "c\0"
  auto some = vstore(db, {"multi-get", "data", "b", "nope", "a"});
  EXPECT_EQ(some.code, 1);
  EXPECT_EQ(some.out, "b\t2\na\t1\n");
  EXPECT_NE(some.err.find("not found: data nope"), std::string::npos) << some.err;
  // Keys from stdin, escaped like scan's output.
  auto in = vstore(db, {"multi-get", "data", "-"}, std::string{"c\\x00\n\nb\n"});
  EXPECT_EQ(in.code, 0) << in.err;
  EXPECT_EQ(in.out, "c\\x00\t3\nb\t2\n");
  auto h = vstore(db, {"--hex", "multi-get", "data", "6300", "61"});
  EXPECT_EQ(h.out, "6300\t33\n61\t31\n");
  // Many keys (several batched reads).
  std::string keys;
  for (int i = 0; i < 2500; ++i) keys += (i % 2 == 0 ? "a" : "b") + std::string{"\n"};
  auto many = vstore(db, {"multi-get", "data", "-"}, keys);
  EXPECT_EQ(many.code, 0) << many.err;
  EXPECT_EQ(count_lines(many.out), 2500u);
  EXPECT_EQ(vstore(db, {"multi-get", "data"}).code, 2);
}

TEST(Cli, DeleteRange) {
  temp_dir dir{"cli"};
  std::vector<std::string> db{"--data-dir", dir / "db"};
  ASSERT_EQ(
      vstore(db, {"bulk-load", "data", "-"}, std::string{"a1\t1\na2\t2\nb1\t3\nb2\t4\nc\t5\n"})
          .code,
      0);
  auto r = vstore(db, {"delete-range", "data", "a2", "b2", "--json", "--token", "dr-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(is_json(r.out)) << r.out;
  EXPECT_NE(r.out.find("\"token\": \"dr-1\""), std::string::npos) << r.out;
  EXPECT_EQ(vstore(db, {"scan", "data", ""}).out, "a1\t1\nb2\t4\nc\t5\n");
  EXPECT_EQ(vstore(db, {"outcome", "dr-1"}).code, 0);
  ASSERT_EQ(vstore(db, {"--hex", "delete-range", "data", "00", "ff"}).code, 0);
  EXPECT_EQ(vstore(db, {"scan", "data", ""}).out, "");
  EXPECT_EQ(vstore(db, {"delete-range", "data", "b", "a"}).code, 2);
  EXPECT_EQ(vstore(db, {"delete-range", "data", "a", "a"}).code, 2);
  EXPECT_EQ(vstore(db, {"delete-range", "data", "a"}).code, 2);
}

// drain: a vstored drains and exits 0; embedded, the store closes cleanly.
TEST(Cli, Drain) {
  temp_dir dir{"cli"};
  vstored_process srv{vstored_bin, {"--data-dir", dir / "db"}};
  ASSERT_NE(srv.port(), 0) << srv.proc().stderr_text();
  std::vector<std::string> remote{"--connect", srv.endpoint()};
  ASSERT_EQ(vstore(remote, {"put", "data", "k", "v"}).code, 0);
  auto d = vstore(remote, {"drain", "--json"});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_TRUE(is_json(d.out)) << d.out;
  EXPECT_NE(d.out.find("\"cut_off\": 0"), std::string::npos) << d.out;
  EXPECT_EQ(srv.proc().finish(20s), std::optional<int>{0});
  std::vector<std::string> db{"--data-dir", dir / "db"};
  EXPECT_EQ(vstore(db, {"get", "data", "k"}).out, "v\n");
  auto e = vstore(db, {"drain"});
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("drained: "), std::string::npos) << e.out;
}

}  // namespace
}  // namespace vstore
