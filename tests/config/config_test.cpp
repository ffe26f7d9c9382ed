// Tests of vstore_config: config/vstore.ini, parse_ini, validate, load_file,
// to_ini and the byte size and duration helpers.

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace vstore::config {
namespace {

using namespace std::chrono_literals;

std::string source_dir() {
  if (const char* dir = std::getenv("VSTORE_SOURCE_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return VSTORE_TEST_SOURCE_DIR;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Options that validate: the defaults plus a path.
options base() {
  options o;
  o.db.path = "/tmp/vstore-config-test";
  return o;
}

/// Expects `a` and `b` to hold the same value in every field.
void expect_same(const options& a, const options& b) {
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.db.path, b.db.path);
  EXPECT_EQ(a.db.create_if_missing, b.db.create_if_missing);
  EXPECT_EQ(a.db.allow_new_spaces, b.db.allow_new_spaces);
  EXPECT_EQ(a.db.sync, b.db.sync);
  EXPECT_EQ(a.db.parallelism, b.db.parallelism);
  EXPECT_EQ(a.db.max_background_jobs, b.db.max_background_jobs);
  EXPECT_EQ(a.db.bytes_per_sync, b.db.bytes_per_sync);
  EXPECT_EQ(a.db.dynamic_level_bytes, b.db.dynamic_level_bytes);
  EXPECT_EQ(a.db.paranoid_checks, b.db.paranoid_checks);
  EXPECT_EQ(a.db.block_cache_bytes, b.db.block_cache_bytes);
  EXPECT_EQ(a.db.write_buffer_bytes, b.db.write_buffer_bytes);
  EXPECT_EQ(a.db.info_log_max_bytes, b.db.info_log_max_bytes);
  EXPECT_EQ(a.db.info_log_keep, b.db.info_log_keep);
  EXPECT_EQ(a.db.min_free_bytes, b.db.min_free_bytes);
  EXPECT_EQ(a.db.max_disk_bytes, b.db.max_disk_bytes);
  EXPECT_EQ(a.db.recovery_backoff, b.db.recovery_backoff);
  EXPECT_EQ(a.db.recovery_backoff_max, b.db.recovery_backoff_max);
  ASSERT_EQ(a.schema.size(), b.schema.size());
  for (size_t i = 0; i < a.schema.size(); ++i) {
    SCOPED_TRACE("space " + std::to_string(i));
    EXPECT_EQ(a.schema.spaces[i].name, b.schema.spaces[i].name);
    EXPECT_EQ(a.schema.spaces[i].options.comp, b.schema.spaces[i].options.comp);
    EXPECT_EQ(a.schema.spaces[i].options.prefix_length, b.schema.spaces[i].options.prefix_length);
    EXPECT_EQ(a.schema.spaces[i].options.bloom_bits, b.schema.spaces[i].options.bloom_bits);
  }
  EXPECT_EQ(a.reader.pool_size, b.reader.pool_size);
  EXPECT_EQ(a.reader.max_queued, b.reader.max_queued);
  EXPECT_EQ(a.reader.detached, b.reader.detached);
  EXPECT_EQ(a.reader.cache_first, b.reader.cache_first);
  EXPECT_EQ(a.reader.inline_max_keys, b.reader.inline_max_keys);
  EXPECT_EQ(a.reader.batch_max, b.reader.batch_max);
  EXPECT_EQ(a.reader.batch_max_keys, b.reader.batch_max_keys);
  EXPECT_EQ(a.reader.snapshot_lease, b.reader.snapshot_lease);
  EXPECT_EQ(a.reader.max_snapshots, b.reader.max_snapshots);
  EXPECT_EQ(a.writer.max_batch_commands, b.writer.max_batch_commands);
  EXPECT_EQ(a.writer.max_batch_bytes, b.writer.max_batch_bytes);
  EXPECT_EQ(a.writer.max_delay, b.writer.max_delay);
  EXPECT_EQ(a.writer.max_queued, b.writer.max_queued);
  EXPECT_EQ(a.writer.inline_commits, b.writer.inline_commits);
  EXPECT_EQ(a.writer.slow_commit, b.writer.slow_commit);
  EXPECT_EQ(a.writer.gather_rounds, b.writer.gather_rounds);
  EXPECT_EQ(a.limits.max_key_bytes, b.limits.max_key_bytes);
  EXPECT_EQ(a.limits.max_value_bytes, b.limits.max_value_bytes);
  EXPECT_EQ(a.limits.max_batch_ops, b.limits.max_batch_ops);
  EXPECT_EQ(a.limits.max_request_bytes, b.limits.max_request_bytes);
  EXPECT_EQ(a.limits.max_multi_get, b.limits.max_multi_get);
  EXPECT_EQ(a.limits.max_scan_limit, b.limits.max_scan_limit);
  EXPECT_EQ(a.supervisor.restart_limit, b.supervisor.restart_limit);
  EXPECT_EQ(a.supervisor.restart_window, b.supervisor.restart_window);
  EXPECT_EQ(a.supervisor.read_retries, b.supervisor.read_retries);
  EXPECT_EQ(a.supervisor.internal_timeout, b.supervisor.internal_timeout);
  EXPECT_EQ(a.supervisor.stall_abort, b.supervisor.stall_abort);
  EXPECT_EQ(a.supervisor.shutdown_grace, b.supervisor.shutdown_grace);
  EXPECT_EQ(a.tokens.max_token_bytes, b.tokens.max_token_bytes);
  EXPECT_EQ(a.tokens.retain_count, b.tokens.retain_count);
  EXPECT_EQ(a.tokens.retain_age, b.tokens.retain_age);
  EXPECT_EQ(a.replication.wal_keep_age, b.replication.wal_keep_age);
  EXPECT_EQ(a.replication.wal_keep_bytes, b.replication.wal_keep_bytes);
  EXPECT_EQ(a.replication.max_log_bytes, b.replication.max_log_bytes);
  EXPECT_EQ(a.replication.chunk_bytes, b.replication.chunk_bytes);
  EXPECT_EQ(a.replication.poll_wait, b.replication.poll_wait);
  EXPECT_EQ(a.replication.min_seq_wait, b.replication.min_seq_wait);
}

/// Options with every field away from its default.
options everything_changed() {
  options o;
  o.backend = backend_kind::memory;
  o.db.path = "/srv/\"quoted\"\\dir\twith\nescapes";
  o.db.create_if_missing = false;
  o.db.allow_new_spaces = true;
  o.db.sync = true;
  o.db.parallelism = 7;
  o.db.max_background_jobs = 9;
  o.db.bytes_per_sync = 0;
  o.db.dynamic_level_bytes = false;
  o.db.paranoid_checks = false;
  o.db.block_cache_bytes = 12345;
  o.db.write_buffer_bytes = 3ull << 30;
  o.db.info_log_max_bytes = 64u << 10;
  o.db.info_log_keep = 1000;
  o.db.min_free_bytes = 0;
  o.db.max_disk_bytes = 5ull << 30;
  o.db.recovery_backoff = 10ms;
  o.db.recovery_backoff_max = 1h;
  o.schema.spaces.clear();
  space_def a;
  a.name = "alpha";
  a.options = {compression::zstd, 16, 0};
  space_def b;
  b.name = "smt_node";
  b.options = {compression::none, 34, 64};
  space_def c;
  c.name = "x.y-z_1";
  c.options = {compression::snappy, 1024, 5};
  o.schema.spaces = {a, b, c};
  o.reader.pool_size = 64;
  o.reader.max_queued = 1;
  o.reader.detached = false;
  o.reader.cache_first = false;
  o.reader.inline_max_keys = 1024;
  o.reader.batch_max = 1024;
  o.reader.batch_max_keys = 1000000;
  o.reader.snapshot_lease = 3600000ms;
  o.reader.max_snapshots = 4096;
  o.writer.max_batch_commands = 1000000;
  o.writer.max_batch_bytes = 1;
  o.writer.max_delay = 0ms;
  o.writer.max_queued = 10000000;
  o.writer.inline_commits = false;
  o.writer.slow_commit = 10s;
  o.writer.gather_rounds = false;
  o.limits.max_key_bytes = 16u << 20;
  o.limits.max_value_bytes = 1u << 30;
  o.limits.max_batch_ops = 4294967295u;
  o.limits.max_request_bytes = 18446744073709551615ull;
  o.limits.max_multi_get = 1;
  o.limits.max_scan_limit = 2;
  o.supervisor.restart_limit = 0;
  o.supervisor.restart_window = 1ms;
  o.supervisor.read_retries = 0;
  o.supervisor.internal_timeout = 24h;
  o.supervisor.stall_abort = 90s;
  o.supervisor.shutdown_grace = 100ms;  // the minimum
  o.tokens.max_token_bytes = 1024;
  o.tokens.retain_count = 1;
  o.tokens.retain_age = 720h;
  o.replication.wal_keep_age = 720h;
  o.replication.wal_keep_bytes = 0;
  o.replication.max_log_bytes = 256u << 20;
  o.replication.chunk_bytes = 64u << 10;
  o.replication.poll_wait = 1ms;
  o.replication.min_seq_wait = 0ms;
  return o;
}

// -- the default file ----------------------------------------------------------

TEST(Config, DefaultFileParsesToDefaults) {
  options o;
  auto st = load_file(source_dir() + "/config/vstore.ini", o);
  ASSERT_TRUE(st) << st.to_string();
  options expected;
  expected.db.path = "/var/lib/vstore";
  expect_same(o, expected);
}

TEST(Config, DefaultFileOnlyUsesSemicolonComments) {
  // CAF's INI reader knows only ';' comments and no byte size suffixes.
  auto text = read_text(source_dir() + "/config/vstore.ini");
  ASSERT_FALSE(text.empty());
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.find('#'), std::string::npos) << line;
    auto code = line.substr(0, line.find(';'));
    EXPECT_EQ(code.find("iB"), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos);
  }
}

TEST(Config, DefaultFileMentionsEveryKey) {
  auto text = read_text(source_dir() + "/config/vstore.ini");
  auto rendered = to_ini(options{});
  std::istringstream in(rendered);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find(" = ");
    if (line.empty() || line[0] == ';' || line[0] == '[' || eq == std::string::npos) continue;
    EXPECT_NE(text.find("\n" + line.substr(0, eq + 3)), std::string::npos) << line;
  }
}

TEST(Config, DefaultsNeedAPathForRocksdb) {
  auto st = validate(options{});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find("store.path"), std::string::npos) << st.context();
  EXPECT_TRUE(validate(base()));
  options memory;
  memory.backend = backend_kind::memory;
  EXPECT_TRUE(validate(memory));
}

TEST(Config, EmptyTextKeepsTheOptions) {
  auto o = base();
  ASSERT_TRUE(parse_ini("", o));
  ASSERT_TRUE(parse_ini("\n\n ; nothing\n# nothing either\n", o));
  expect_same(o, base());
}

// -- to_ini --------------------------------------------------------------------

TEST(Config, ToIniRoundTripsTheDefaults) {
  auto o = base();
  auto text = to_ini(o);
  options parsed;
  auto st = parse_ini(text, parsed);
  ASSERT_TRUE(st) << st.to_string() << "\n" << text;
  expect_same(parsed, o);
}

TEST(Config, ToIniRoundTripsEveryField) {
  auto o = everything_changed();
  ASSERT_TRUE(validate(o)) << validate(o).to_string();
  auto text = to_ini(o);
  options parsed;
  auto st = parse_ini(text, parsed);
  ASSERT_TRUE(st) << st.to_string() << "\n" << text;
  expect_same(parsed, o);
  EXPECT_EQ(to_ini(parsed), text);
}

TEST(Config, ToIniRendersReadableValues) {
  auto text = to_ini(base());
  EXPECT_NE(text.find("write-buffer-size = 67108864  ; 64MiB\n"), std::string::npos) << text;
  EXPECT_NE(text.find("max-delay = 10ms\n"), std::string::npos);
  EXPECT_NE(text.find("internal-timeout = 30s\n"), std::string::npos);
  EXPECT_NE(text.find("[space.smt_node]\ncompression = \"lz4\"\nprefix-length = 34\n"),
            std::string::npos);
  EXPECT_NE(text.find("backend = \"rocksdb\"\n"), std::string::npos);
  EXPECT_NE(text.find("[supervisor]\n"), std::string::npos);
  EXPECT_NE(text.find("shutdown-grace = 10s\n\n[tokens]\nmax-token-size = 64\n"
                      "retain-count = 100000\nretain-age = 1h\n"),
            std::string::npos)
      << text;
  auto o = base();
  o.tokens.max_token_bytes = 1024;
  o.tokens.retain_age = 720h;
  text = to_ini(o);
  EXPECT_NE(text.find("max-token-size = 1024  ; 1KiB\n"), std::string::npos) << text;
  EXPECT_NE(text.find("retain-age = 720h\n"), std::string::npos) << text;
  EXPECT_NE(to_ini(base()).find("retain-age = 1h\n\n[replication]\nwal-keep-age = 10min\n"
                                "wal-keep-size = 1073741824  ; 1GiB\n"
                                "max-log-bytes = 4194304  ; 4MiB\n"
                                "chunk-size = 1048576  ; 1MiB\n"
                                "poll-wait = 200ms\nmin-seq-wait = 1s\n"),
            std::string::npos)
      << to_ini(base());
}

// -- setting keys ----------------------------------------------------------------

TEST(Config, EveryKeyCanBeSet) {
  const char* text = R"(
[store]
backend = "memory"
path = "/data/x"
create-if-missing = false
allow-new-spaces = true
sync = true
parallelism = 256
max-background-jobs = 1
bytes-per-sync = 0
dynamic-level-bytes = false
paranoid-checks = false
block-cache-size = 1GiB
write-buffer-size = 64KiB
spaces = ["data", "extra"]

[space.data]
compression = "zstd"
prefix-length = 1024
bloom-bits = 0

[space.extra]
compression = "bzip2"
prefix-length = 3
bloom-bits = 64

[reader]
pool-size = 1
max-queued = 10000000

[writer]
max-batch-commands = 1
max-batch-bytes = 1GiB
max-delay = 10s
max-queued = 1
inline-commits = false
slow-commit = 10s

[limits]
max-key-size = 16MiB
max-value-size = 1GiB
max-batch-ops = 1
max-request-bytes = 1
max-multi-get = 4294967295
max-scan-limit = 77

[supervisor]
restart-limit = 4294967295
restart-window = 1min
read-retries = 9
internal-timeout = 1h
stall-abort = 1500ms
shutdown-grace = 100ms

[tokens]
max-token-size = 1KiB
retain-count = 100000000
retain-age = 1s

[replication]
wal-keep-age = 90s
wal-keep-size = 3MiB
max-log-bytes = 64KiB
chunk-size = 64MiB
poll-wait = 1min
min-seq-wait = 0ms
)";
  options o;
  auto st = parse_ini(text, o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.backend, backend_kind::memory);
  EXPECT_EQ(o.db.path, "/data/x");
  EXPECT_FALSE(o.db.create_if_missing);
  EXPECT_TRUE(o.db.allow_new_spaces);
  EXPECT_TRUE(o.db.sync);
  EXPECT_EQ(o.db.parallelism, 256u);
  EXPECT_EQ(o.db.max_background_jobs, 1u);
  EXPECT_EQ(o.db.bytes_per_sync, 0u);
  EXPECT_FALSE(o.db.dynamic_level_bytes);
  EXPECT_FALSE(o.db.paranoid_checks);
  EXPECT_EQ(o.db.block_cache_bytes, 1ull << 30);
  EXPECT_EQ(o.db.write_buffer_bytes, 64u << 10);
  ASSERT_EQ(o.schema.size(), 2u);
  EXPECT_EQ(o.schema.spaces[0].name, "data");
  EXPECT_EQ(o.schema.spaces[0].options.comp, compression::zstd);
  EXPECT_EQ(o.schema.spaces[0].options.prefix_length, 1024u);
  EXPECT_EQ(o.schema.spaces[0].options.bloom_bits, 0u);
  EXPECT_EQ(o.schema.spaces[1].name, "extra");
  EXPECT_EQ(o.schema.spaces[1].options.comp, compression::bzip2);
  EXPECT_EQ(o.schema.spaces[1].options.prefix_length, 3u);
  EXPECT_EQ(o.schema.spaces[1].options.bloom_bits, 64u);
  EXPECT_EQ(o.reader.pool_size, 1u);
  EXPECT_EQ(o.reader.max_queued, 10000000u);
  EXPECT_EQ(o.writer.max_batch_commands, 1u);
  EXPECT_EQ(o.writer.max_batch_bytes, 1u << 30);
  EXPECT_EQ(o.writer.max_delay, 10s);
  EXPECT_EQ(o.writer.max_queued, 1u);
  EXPECT_FALSE(o.writer.inline_commits);
  EXPECT_EQ(o.writer.slow_commit, 10s);
  EXPECT_EQ(o.limits.max_key_bytes, 16u << 20);
  EXPECT_EQ(o.limits.max_value_bytes, 1u << 30);
  EXPECT_EQ(o.limits.max_batch_ops, 1u);
  EXPECT_EQ(o.limits.max_request_bytes, 1u);
  EXPECT_EQ(o.limits.max_multi_get, 4294967295u);
  EXPECT_EQ(o.limits.max_scan_limit, 77u);
  EXPECT_EQ(o.supervisor.restart_limit, 4294967295u);
  EXPECT_EQ(o.supervisor.restart_window, 1min);
  EXPECT_EQ(o.supervisor.read_retries, 9u);
  EXPECT_EQ(o.supervisor.internal_timeout, 1h);
  EXPECT_EQ(o.supervisor.stall_abort, 1500ms);
  EXPECT_EQ(o.supervisor.shutdown_grace, 100ms);
  EXPECT_EQ(o.tokens.max_token_bytes, 1024u);
  EXPECT_EQ(o.tokens.retain_count, 100000000u);
  EXPECT_EQ(o.tokens.retain_age, 1s);
  EXPECT_EQ(o.replication.wal_keep_age, 90s);
  EXPECT_EQ(o.replication.wal_keep_bytes, 3u << 20);
  EXPECT_EQ(o.replication.max_log_bytes, 64u << 10);
  EXPECT_EQ(o.replication.chunk_bytes, 64u << 20);
  EXPECT_EQ(o.replication.poll_wait, 1min);
  EXPECT_EQ(o.replication.min_seq_wait, 0ms);
}

TEST(Config, OnlyTheKeysInTheTextChange) {
  auto o = base();
  ASSERT_TRUE(parse_ini("[writer]\nmax-queued = 17\n", o));
  auto expected = base();
  expected.writer.max_queued = 17;
  expect_same(o, expected);
}

TEST(Config, ByteSizesAcceptSuffixesAndQuotes) {
  auto o = base();
  auto st = parse_ini(
      "[store]\nbytes-per-sync = 3KiB\nblock-cache-size = \"2GiB\"\n"
      "write-buffer-size = 65536\n[limits]\nmax-request-bytes = 5MiB\n",
      o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.db.bytes_per_sync, 3u * 1024);
  EXPECT_EQ(o.db.block_cache_bytes, 2ull << 30);
  EXPECT_EQ(o.db.write_buffer_bytes, 65536u);
  EXPECT_EQ(o.limits.max_request_bytes, 5u << 20);
}

TEST(Config, DurationsAcceptEveryCafUnit) {
  struct row {
    const char* text;
    std::chrono::milliseconds expected;
  };
  for (auto [text, expected] :
       {row{"2000000ns", 2ms}, row{"3000us", 3ms}, row{"4ms", 4ms}, row{"5s", 5s},
        row{"6min", 6min}, row{"7h", 7h}, row{"0ms", 0ms}, row{"0h", 0ms}}) {
    std::chrono::milliseconds x{-1};
    EXPECT_TRUE(parse_duration(text, x)) << text;
    EXPECT_EQ(x, expected) << text;
  }
  auto o = base();
  ASSERT_TRUE(parse_ini("[supervisor]\nstall-abort = 1000000ns\nshutdown-grace=2h\n", o));
  EXPECT_EQ(o.supervisor.stall_abort, 1ms);
  EXPECT_EQ(o.supervisor.shutdown_grace, 2h);
}

TEST(Config, ParseDurationRejectsMalformedText) {
  for (const char* text :
       {"", "10", "ms", "-1s", "+1s", "1.5s", "10 ms", "10MS", "500us", "1ns", "10sec", "10m",
        "1e3ms", "99999999999999999999ms", "9999999999999999h", " 1s", "1s ", "0x10ms"}) {
    std::chrono::milliseconds x{42};
    EXPECT_FALSE(parse_duration(text, x)) << text;
    EXPECT_EQ(x, 42ms) << text;
  }
}

TEST(Config, ParseBytes) {
  uint64_t x = 0;
  EXPECT_TRUE(parse_bytes("0", x));
  EXPECT_EQ(x, 0u);
  EXPECT_TRUE(parse_bytes("18446744073709551615", x));
  EXPECT_EQ(x, 18446744073709551615ull);
  EXPECT_TRUE(parse_bytes("1KiB", x));
  EXPECT_EQ(x, 1024u);
  EXPECT_TRUE(parse_bytes("7MiB", x));
  EXPECT_EQ(x, 7u << 20);
  EXPECT_TRUE(parse_bytes("3GiB", x));
  EXPECT_EQ(x, 3ull << 30);
  EXPECT_TRUE(parse_bytes("17179869183GiB", x));
  x = 42;
  for (const char* text : {"", "-1", "+1", "1 KiB", "1kib", "1KB", "1K", "1TiB", "KiB", "1.5MiB",
                           "18446744073709551616", "17179869184GiB", "0x10", " 1", "1 "}) {
    EXPECT_FALSE(parse_bytes(text, x)) << text;
    EXPECT_EQ(x, 42u) << text;
  }
}

TEST(Config, FormatHelpers) {
  EXPECT_EQ(format_bytes(0), "0");
  EXPECT_EQ(format_bytes(1000), "1000");
  EXPECT_EQ(format_bytes(1024), "1KiB");
  EXPECT_EQ(format_bytes(3u << 20), "3MiB");
  EXPECT_EQ(format_bytes(4ull << 30), "4GiB");
  EXPECT_EQ(format_duration(0ms), "0ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2min), "2min");
  EXPECT_EQ(format_duration(24h), "24h");
  EXPECT_STREQ(to_name(backend_kind::memory), "memory");
  EXPECT_EQ(parse_backend("rocksdb"), backend_kind::rocksdb);
  EXPECT_FALSE(parse_backend("RocksDB"));
}

TEST(Config, SyntaxVariants) {
  // Comments everywhere, '#' comments, CRLF, blanks, multi-line lists with
  // comments and a trailing comma, escapes, repeated sections, a [space.NAME]
  // section before the list of spaces, the skipped [cli] section with values
  // vstore has no use for (atoms, maps), a [vstored] section.
  const char* text =
      "\xEF\xBB\xBF; leading comment\r\n"
      "# hash comment\n"
      "[space.b]   ; the list comes later\n"
      "  bloom-bits=3 # trailing hash comment\n"
      "[ store ]\n"
      "\tpath   =   \"/a\\x41\\t\\\"q\\\"\\\\\" ; trailing comment\r\n"
      "spaces = [ ; the spaces\n"
      "  \"data\",  # first\n"
      "  \"b\",\n"
      "]\n"
      "[cli]\n"
      "max-threads = 2\n"
      "policy = 'stealing'\n"
      "identifiers = [\"a\", 'b', 1, [2, 3], {x = 1, y = \"z\"}]\n"
      "[cli.nested]\n"
      "anything = { a = 1\n b = { c = [1,\n 2] } }\n"
      "verbosity = 'trace'\n"
      "batch = 50us\n"
      "[vstored]\nport = 4242\n"
      "[cli]\ntimeout = 5s\n"
      "[store]\n"
      "sync = true\n"
      "[reader]\npool-size=3";  // no final newline
  auto o = base();
  auto st = parse_ini(text, o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.db.path, "/aA\t\"q\"\\");
  EXPECT_TRUE(o.db.sync);
  EXPECT_EQ(o.reader.pool_size, 3u);
  ASSERT_EQ(o.schema.size(), 2u);
  EXPECT_EQ(o.schema.spaces[0].name, "data");
  EXPECT_EQ(o.schema.spaces[0].options.prefix_length, 8u);  // kept from default_schema()
  EXPECT_EQ(o.schema.spaces[1].name, "b");
  EXPECT_EQ(o.schema.spaces[1].options.bloom_bits, 3u);
  EXPECT_EQ(o.schema.spaces[1].options.prefix_length, 0u);
  EXPECT_EQ(o.schema.spaces[1].options.comp, compression::lz4);
}

TEST(Config, SpacesListReplacesTheSchema) {
  auto o = base();
  ASSERT_TRUE(parse_ini("[store]\nspaces = [\"new\", \"smt_node\", \"data\"]\n", o));
  ASSERT_EQ(o.schema.size(), 3u);
  EXPECT_EQ(o.schema.find("new"), space_id{0});
  EXPECT_EQ(o.schema.find("smt_node"), space_id{1});
  EXPECT_EQ(o.schema.find("data"), space_id{2});
  EXPECT_EQ(o.schema.spaces[0].options.prefix_length, 0u);
  EXPECT_EQ(o.schema.spaces[0].options.bloom_bits, 10u);
  EXPECT_EQ(o.schema.spaces[1].options.prefix_length, 34u);
  EXPECT_EQ(o.schema.spaces[2].options.prefix_length, 8u);
  EXPECT_FALSE(o.schema.find("metas"));
}

TEST(Config, SpacesKeepTheOptionsOfTheGivenSchema) {
  auto o = base();
  ASSERT_TRUE(parse_ini("[store]\nspaces=[\"a\"]\n[space.a]\nprefix-length=5\n", o));
  ASSERT_TRUE(parse_ini("[store]\nspaces=[\"b\", \"a\"]\n", o));
  ASSERT_EQ(o.schema.size(), 2u);
  EXPECT_EQ(o.schema.spaces[1].name, "a");
  EXPECT_EQ(o.schema.spaces[1].options.prefix_length, 5u);
}

TEST(Config, ErrorLeavesTheOptionsUnchanged) {
  auto o = base();
  auto st = parse_ini("[reader]\npool-size = 7\n[writer]\nmax-queued = 0\n", o);
  ASSERT_FALSE(st);
  expect_same(o, base());
}

TEST(Config, ErrorMessageShowsKeyLineAndProblem) {
  auto o = base();
  auto st = parse_ini("; comment\n[writer]\n\n\n\n\n\n\n\n\n\nmax-batch-commands = 0\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_EQ(st.context(), "writer.max-batch-commands (line 12): 0 is out of range 1..1000000");
  EXPECT_NE(st.to_string().find("invalid_config"), std::string::npos);
}

TEST(Config, ValidationErrorsNameTheLineOfTheKey) {
  auto o = base();
  auto st = parse_ini("[store]\nbackend = \"rocksdb\"\npath = \"\"\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context(), "store.path (line 3): must not be empty when the backend is rocksdb");
  st = parse_ini("[store]\n\nspaces = [\"a\",\n \"a\"]\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context(), "store.spaces (line 3): duplicate space name \"a\"");
}

// -- invalid values: one case per key and class ---------------------------------

/// One input that parse_ini must reject, and a substring its context holds.
struct bad_case {
  std::string name;
  std::string text;
  std::string expected;
};

void PrintTo(const bad_case& c, std::ostream* os) { *os << c.name; }

/// How a key is written, for generating invalid values.
enum class key_type { flag, u32, u64, bytes32, bytes64, duration, text, backend, compression };

struct key_spec {
  const char* section;
  const char* key;
  key_type type;
  uint64_t min;
  uint64_t max;
};

constexpr uint64_t u32_max = 4294967295ull;
constexpr uint64_t u64_max = 18446744073709551615ull;
constexpr uint64_t ms_24h = 24ull * 3600 * 1000;

/// Every vstore key except store.spaces, with its range (durations in ms).
const std::vector<key_spec>& all_keys() {
  static const std::vector<key_spec> keys = {
      {"store", "backend", key_type::backend, 0, 0},
      {"store", "path", key_type::text, 0, 0},
      {"store", "create-if-missing", key_type::flag, 0, 0},
      {"store", "allow-new-spaces", key_type::flag, 0, 0},
      {"store", "sync", key_type::flag, 0, 0},
      {"store", "parallelism", key_type::u32, 1, 256},
      {"store", "max-background-jobs", key_type::u32, 1, 256},
      {"store", "bytes-per-sync", key_type::bytes64, 0, u64_max},
      {"store", "dynamic-level-bytes", key_type::flag, 0, 0},
      {"store", "paranoid-checks", key_type::flag, 0, 0},
      {"store", "block-cache-size", key_type::bytes64, 0, u64_max},
      {"store", "write-buffer-size", key_type::bytes64, 64 << 10, 4ull << 30},
      {"store", "info-log-max-size", key_type::bytes64, 64 << 10, 1ull << 30},
      {"store", "info-log-keep", key_type::u32, 1, 1000},
      {"store", "min-free-space", key_type::bytes64, 0, 1ull << 40},
      {"store", "max-disk-space", key_type::bytes64, 0, u64_max},
      {"store", "recovery-backoff", key_type::duration, 10, 60000},
      {"store", "recovery-backoff-max", key_type::duration, 10, 3600000},
      {"space.data", "compression", key_type::compression, 0, 0},
      {"space.data", "prefix-length", key_type::u32, 0, 1024},
      {"space.data", "bloom-bits", key_type::u32, 0, 64},
      {"reader", "pool-size", key_type::u32, 1, 64},
      {"reader", "max-queued", key_type::u32, 1, 10000000},
      {"reader", "detached", key_type::flag, 0, 0},
      {"reader", "cache-first", key_type::flag, 0, 0},
      {"reader", "inline-max-keys", key_type::u32, 0, 1024},
      {"reader", "batch-max", key_type::u32, 0, 1024},
      {"reader", "batch-max-keys", key_type::u32, 1, 1000000},
      {"reader", "snapshot-lease", key_type::duration, 10, 3600000},
      {"reader", "max-snapshots", key_type::u32, 1, 4096},
      {"writer", "max-batch-commands", key_type::u32, 1, 1000000},
      {"writer", "max-batch-bytes", key_type::bytes64, 1, 1ull << 30},
      {"writer", "max-delay", key_type::duration, 0, 10000},
      {"writer", "max-queued", key_type::u32, 1, 10000000},
      {"writer", "inline-commits", key_type::flag, 0, 0},
      {"writer", "slow-commit", key_type::duration, 1, 10000},
      {"writer", "gather-rounds", key_type::flag, 0, 0},
      {"limits", "max-key-size", key_type::bytes32, 1, 16 << 20},
      {"limits", "max-value-size", key_type::bytes32, 1, 1 << 30},
      {"limits", "max-batch-ops", key_type::u32, 1, u32_max},
      {"limits", "max-request-bytes", key_type::bytes64, 1, u64_max},
      {"limits", "max-multi-get", key_type::u32, 1, u32_max},
      {"limits", "max-scan-limit", key_type::u32, 1, u32_max},
      {"supervisor", "restart-limit", key_type::u32, 0, u32_max},
      {"supervisor", "restart-window", key_type::duration, 1, ms_24h},
      {"supervisor", "read-retries", key_type::u32, 0, u32_max},
      {"supervisor", "internal-timeout", key_type::duration, 1, ms_24h},
      {"supervisor", "stall-abort", key_type::duration, 1, ms_24h},
      {"supervisor", "shutdown-grace", key_type::duration, 100, ms_24h},
      {"tokens", "max-token-size", key_type::bytes32, 1, 1024},
      {"tokens", "retain-count", key_type::u64, 1, 100000000},
      {"tokens", "retain-age", key_type::duration, 1000, 30 * ms_24h},
      {"replication", "wal-keep-age", key_type::duration, 0, 30 * ms_24h},
      {"replication", "wal-keep-size", key_type::bytes64, 0, u64_max},
      {"replication", "max-log-bytes", key_type::bytes64, 64 << 10, 256 << 20},
      {"replication", "chunk-size", key_type::bytes64, 64 << 10, 64 << 20},
      {"replication", "poll-wait", key_type::duration, 1, 60000},
      {"replication", "min-seq-wait", key_type::duration, 0, 60000},
  };
  return keys;
}

/// Returns `s` with every character that gtest rejects in a name replaced.
std::string test_name(std::string s) {
  for (auto& c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  return s;
}

/// The invalid values of one key type: {class name, value text}.
std::vector<std::pair<std::string, std::string>> invalid_values(const key_spec& k) {
  std::vector<std::pair<std::string, std::string>> v;
  auto common = [&] {
    v.push_back({"List", "[1, 2]"});
    v.push_back({"Map", "{a = 1}"});
    v.push_back({"Atom", "'x'"});
    v.push_back({"TrailingGarbage", "1 2"});
    v.push_back({"TrailingQuote", "\"a\"\"b\""});
    v.push_back({"Missing", ""});
    v.push_back({"MissingWithComment", " ; nothing"});
  };
  switch (k.type) {
    case key_type::flag:
      v.push_back({"Word", "yes"});
      v.push_back({"Number", "1"});
      v.push_back({"Quoted", "\"true\""});
      v.push_back({"Uppercase", "TRUE"});
      break;
    case key_type::text:
    case key_type::backend:
    case key_type::compression:
      v.push_back({"Unquoted", "memory"});
      v.push_back({"Number", "5"});
      v.push_back({"UnterminatedString", "\"abc"});
      v.push_back({"BadEscape", "\"a\\qb\""});
      v.push_back({"BadHexEscape", "\"a\\xZZ\""});
      v.push_back({"StringSpansLines", "\"ab\ncd\""});
      if (k.type == key_type::backend) {
        v.push_back({"Unknown", "\"leveldb\""});
        v.push_back({"Empty", "\"\""});
        v.push_back({"WrongCase", "\"RocksDB\""});
      }
      if (k.type == key_type::compression) {
        v.push_back({"Unknown", "\"lzma\""});
        v.push_back({"Empty", "\"\""});
        v.push_back({"WrongCase", "\"LZ4\""});
      }
      if (k.type == key_type::text) v.push_back({"EmptyForRocksdb", "\"\""});
      break;
    case key_type::u32:
    case key_type::u64:
    case key_type::bytes32:
    case key_type::bytes64: {
      bool is_bytes = k.type == key_type::bytes32 || k.type == key_type::bytes64;
      bool is_32 = k.type == key_type::u32 || k.type == key_type::bytes32;
      if (k.min > 0) v.push_back({"BelowMin", std::to_string(k.min - 1)});
      if (k.max < (is_32 ? u32_max : u64_max)) v.push_back({"AboveMax", std::to_string(k.max + 1)});
      if (is_32) v.push_back({"Above32Bits", "4294967296"});
      v.push_back({"Negative", "-1"});
      v.push_back({"NegativeZero", "-0"});
      v.push_back({"Overflow", "18446744073709551616"});
      v.push_back({"HugeOverflow", "999999999999999999999999999999"});
      v.push_back({"Word", "abc"});
      v.push_back({"Bool", "true"});
      v.push_back({"Fraction", "1.5"});
      v.push_back({"Hex", "0x10"});
      v.push_back({"Duration", "10ms"});
      v.push_back({"SpaceInNumber", "1 000"});
      if (is_bytes) {
        v.push_back({"BadSuffix", "1KB"});
        v.push_back({"LowercaseSuffix", "1kib"});
        v.push_back({"SuffixOverflow", "17179869184GiB"});
        v.push_back({"QuotedWord", "\"abc\""});
        v.push_back({"SpaceBeforeSuffix", "1 KiB"});
      } else {
        v.push_back({"Quoted", "\"5\""});
        v.push_back({"Suffix", "1KiB"});
      }
      if (is_32 && is_bytes) v.push_back({"SuffixAbove32Bits", "4GiB"});
      break;
    }
    case key_type::duration:
      if (k.min > 0) v.push_back({"BelowMin", std::to_string(k.min - 1) + "ms"});
      if (k.min > 1) v.push_back({"Zero", "0ms"});
      v.push_back({"AboveMax", std::to_string(k.max + 1) + "ms"});
      v.push_back({"NoUnit", "10"});
      v.push_back({"BadUnit", "10sec"});
      v.push_back({"UppercaseUnit", "10MS"});
      v.push_back({"Negative", "-1s"});
      v.push_back({"NotWholeMs", "500us"});
      v.push_back({"Fraction", "1.5s"});
      v.push_back({"Quoted", "\"10ms\""});
      v.push_back({"Overflow", "99999999999999999999ms"});
      v.push_back({"HoursOverflow", "9999999999999999h"});
      v.push_back({"Word", "soon"});
      v.push_back({"Bool", "false"});
      break;
  }
  common();
  return v;
}

std::vector<bad_case> generated_cases() {
  std::vector<bad_case> out;
  for (const auto& k : all_keys()) {
    std::string where = std::string(k.section) + "." + k.key;
    for (auto& [cls, val] : invalid_values(k)) {
      bad_case c;
      c.name = test_name(where) + "_" + cls;
      c.text = "; invalid value\n[" + std::string(k.section) + "]\n" + k.key + " = " + val + "\n";
      c.expected = where + " (line 3): ";
      out.push_back(std::move(c));
    }
  }
  return out;
}

/// Names a parameterized test after its case.
std::string case_name(const testing::TestParamInfo<bad_case>& param_info) {
  return param_info.param.name;
}

class InvalidValue : public testing::TestWithParam<bad_case> {};

TEST_P(InvalidValue, IsRejectedNamingTheKey) {
  const auto& c = GetParam();
  auto o = base();
  auto st = parse_ini(c.text, o);
  ASSERT_FALSE(st) << c.text;
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find(c.expected), std::string::npos)
      << "context: " << st.context() << "\nexpected: " << c.expected << "\ntext:\n"
      << c.text;
  EXPECT_GT(st.context().size(), c.expected.size());  // says what is wrong
  expect_same(o, base());
}

INSTANTIATE_TEST_SUITE_P(EveryKey, InvalidValue, testing::ValuesIn(generated_cases()), case_name);

TEST(Config, EveryNumericKeyAcceptsItsBounds) {
  for (const auto& k : all_keys()) {
    if (k.type == key_type::flag || k.type == key_type::text || k.type == key_type::backend ||
        k.type == key_type::compression)
      continue;
    std::string where = std::string(k.section) + "." + k.key;
    for (uint64_t x : {k.min, k.max}) {
      // stall-abort < internal-timeout (both 1ms..24h) narrows their bounds by
      // 1ms; the other supervisor key is set to make room.
      std::string extra;
      if (where == "supervisor.internal-timeout") {
        extra = "stall-abort = 1ms\n";
        if (x == k.min) x = k.min + 1;
      }
      if (where == "supervisor.stall-abort") {
        extra = "internal-timeout = 24h\n";
        if (x == k.max) x = k.max - 1;
      }
      // recovery-backoff <= recovery-backoff-max.
      if (where == "store.recovery-backoff") extra = "recovery-backoff-max = 1h\n";
      if (where == "store.recovery-backoff-max") extra = "recovery-backoff = 10ms\n";
      std::string value = k.type == key_type::duration
                              ? format_duration(std::chrono::milliseconds(x))
                              : std::to_string(x);
      std::string line = std::string(k.key) + " = " + value;
      std::string text = "[" + std::string(k.section) + "]\n" + line + "\n" + extra;
      SCOPED_TRACE(text);
      auto o = base();
      auto st = parse_ini(text, o);
      ASSERT_TRUE(st) << st.to_string();
      auto rendered = to_ini(o);
      auto at = rendered.find("\n[" + std::string(k.section) + "]\n");
      ASSERT_NE(at, std::string::npos) << rendered;
      auto found = rendered.find("\n" + line, at);
      auto next = rendered.find("\n[", at + 1);
      ASSERT_LT(found, next) << rendered;
      auto after = rendered[found + 1 + line.size()];  // a newline or a comment
      EXPECT_TRUE(after == '\n' || after == ' ') << rendered;
    }
  }
}

std::string many_spaces(size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) s += (i ? ", \"s" : "\"s") + std::to_string(i) + "\"";
  return s + "]";
}

/// Structural errors and the rules of store.spaces.
std::vector<bad_case> structural_cases() {
  return {
      {"UnknownKey", "[writer]\nmax-batch-size = 5\n",
       "writer.max-batch-size (line 2): unknown key"},
      {"ReplacedKey", "[writer]\ndetached-committer = true\n",
       "writer.detached-committer (line 2): writer.detached-committer was replaced by "
       "writer.inline-commits"},
      {"UnknownKeyInSpace", "[space.data]\nblock-size = 5\n",
       "space.data.block-size (line 2): unknown key"},
      {"DottedKey", "[store]\nspace.data = 5\n", "store.space.data (line 2): unknown key"},
      {"KeyOfAnotherSection", "[reader]\nmax-delay = 1s\n", "reader.max-delay (line 2)"},
      {"UnknownSection", "[store]\n[bogus]\nx = 1\n", "[bogus] (line 2): unknown section"},
      {"EmptyUnknownSection", "[storage]\n", "[storage] (line 1): unknown section"},
      {"GlobalSection", "[global]\nx = 1\n", "[global] (line 1): unknown section"},
      {"SpaceWithoutName", "[space]\n", "[space] (line 1): unknown section"},
      {"SpaceWithEmptyName", "[space.]\n", "[space.] (line 1): unknown section"},
      {"KeyOutsideSection", "sync = true\n[store]\n", "global.sync (line 1): key outside"},
      {"DuplicateKey", "[reader]\npool-size = 2\n; again\npool-size = 3\n",
       "reader.pool-size (line 4): duplicate key (first set on line 2)"},
      {"DuplicateKeyInRepeatedSection",
       "[reader]\npool-size = 2\n[writer]\n[reader]\npool-size=2\n",
       "reader.pool-size (line 5): duplicate key"},
      {"DuplicateSpaceKey", "[space.data]\nbloom-bits=1\n[space.data]\nbloom-bits=2\n",
       "space.data.bloom-bits (line 4): duplicate key"},
      {"DuplicateSpacesKey", "[store]\nspaces=[\"a\"]\nspaces=[\"b\"]\n",
       "store.spaces (line 3): duplicate key"},
      {"MissingEquals", "[reader]\npool-size 2\n", "reader.pool-size (line 2): missing '='"},
      {"MissingEqualsBareKey", "[reader]\npool-size\n", "reader.pool-size (line 2): missing '='"},
      {"ColonInsteadOfEquals", "[reader]\npool-size: 2\n",
       "reader.pool-size (line 2): missing '='"},
      {"MissingKey", "[reader]\n= 2\n", "reader (line 2): unexpected '='"},
      {"BinaryGarbage", "[reader]\n\x01\x02\n", "reader (line 2): unexpected byte \\x01"},
      {"UnterminatedString", "[store]\npath = \"/var/lib\n",
       "store.path (line 2): unterminated string"},
      {"UnterminatedStringAtEof", "[store]\npath = \"/var/lib",
       "store.path (line 2): unterminated string"},
      {"UnterminatedList", "[store]\nspaces = [\"a\", \"b\"\n",
       "store.spaces (line 2): unterminated list"},
      {"UnterminatedListAfterComma", "[store]\nspaces = [\"a\",\n; c\n",
       "store.spaces (line 2): unterminated list"},
      {"UnterminatedListInSkippedSection", "[cli]\nx = [1, 2\n",
       "cli.x (line 2): unterminated list"},
      {"UnterminatedMapInSkippedSection", "[cli.sub]\nx = {a = 1\n",
       "cli.sub.x (line 2): unterminated map"},
      {"ListMissingComma", "[store]\nspaces = [\"a\" \"b\"]\n",
       "store.spaces (line 2): unexpected '\"'"},
      {"ListLeadingComma", "[store]\nspaces = [, \"a\"]\n",
       "store.spaces (line 2): unexpected ','"},
      {"NestedTooDeep", "[cli]\nx = " + std::string(100, '[') + "\n",
       "cli.x (line 2): lists or maps nested too deeply"},
      {"TrailingGarbageInSkippedSection", "[cli]\nmax-threads = 2 3\n",
       "cli.max-threads (line 2): unexpected '3'"},
      {"CafSchedulerSection", "[store]\n[scheduler]\nmax-threads = 2\n",
       "[scheduler] (line 2): CAF's options are not read from this file"},
      {"CafMiddlemanSubsection", "[middleman.x]\n", "[middleman.x] (line 1): CAF's options"},
      {"CafDottedSection", "[caf.scheduler]\nmax-threads = 2\n",
       "[caf.scheduler] (line 1): CAF's options"},
      {"CafOpensslSection", "[openssl]\n", "[openssl] (line 1): CAF's options"},
      {"CafLoggerSection", "[logger]\n", "[logger] (line 1): CAF's options"},
      {"CafStreamSection", "[stream]\n", "[stream] (line 1): CAF's options"},
      {"VstoredUnknownKey", "[vstored]\nlisten = \"x\"\n",
       "vstored.listen (line 2): unknown key in [vstored]"},
      {"VstoredDuplicateKey", "[vstored]\nport = 1\n[vstored]\nport = 2\n",
       "vstored.port (line 4): duplicate key (first set on line 2)"},
      {"VstoredSubsection", "[vstored.x]\n", "[vstored.x] (line 1): unknown section"},
      {"TrailingGarbageAfterHeader", "[store] x\n", "[store] (line 1): unexpected 'x'"},
      {"UnclosedHeader", "[store\npath=\"a\"\n", "[store] (line 1): malformed section header"},
      {"EmptyHeader", "[]\n", "section header (line 1): malformed"},
      {"HeaderWithSpace", "[st ore]\n", "[st] (line 1): malformed section header"},
      {"SpaceSectionForUnknownSpace", "[space.nope]\nbloom-bits = 1\n",
       "space.nope (line 1): unknown space \"nope\""},
      {"EmptySpaceSectionForUnknownSpace", "[store]\nspaces=[\"a\"]\n[space.data]\n",
       "space.data (line 3): unknown space \"data\""},
      {"SpaceSectionBeforeListWithoutIt", "[space.data]\nbloom-bits=1\n[store]\nspaces=[\"b\"]\n",
       "space.data (line 1): unknown space"},
      {"DuplicateSpaceNames", "[store]\nspaces = [\"a\", \"b\", \"a\"]\n",
       "store.spaces (line 2): duplicate space name \"a\""},
      {"EmptySpacesList", "[store]\nspaces = []\n", "store.spaces (line 2): at least one space"},
      {"DefaultAsSpaceName", "[store]\nspaces = [\"data\", \"default\"]\n",
       "store.spaces (line 2): \"default\" is reserved"},
      {"EmptySpaceName", "[store]\nspaces = [\"\"]\n",
       "store.spaces (line 2): a space name is empty"},
      {"SpaceNameWithBlank", "[store]\nspaces = [\"a b\"]\n",
       "store.spaces (line 2): space name \"a b\" contains ' '"},
      {"SpaceNameWithSlash", "[store]\nspaces = [\"a/b\"]\n",
       "store.spaces (line 2): space name \"a/b\" contains '/'"},
      {"SpaceNameWithNul", "[store]\nspaces = [\"a\\x00\"]\n",
       "store.spaces (line 2): space name \"a\\x00\" contains byte \\x00"},
      {"SpaceNameStartingWithDash", "[store]\nspaces = [\"-a\"]\n",
       "store.spaces (line 2): space name \"-a\" must start"},
      {"SpaceNameWithEmptyPart", "[store]\nspaces = [\"a..b\"]\n",
       "store.spaces (line 2): space name \"a..b\" must start"},
      {"SpaceNameTooLong", "[store]\nspaces = [\"" + std::string(256, 'n') + "\"]\n",
       "store.spaces (line 2): space name"},
      {"TooManySpaces", "[store]\nspaces = " + many_spaces(65) + "\n",
       "store.spaces (line 2): 65 spaces exceed the maximum of 64"},
      {"SpacesNotAList", "[store]\nspaces = \"data\"\n", "store.spaces (line 2): expected a list"},
      {"SpacesListOfNumbers", "[store]\nspaces = [1, 2]\n",
       "store.spaces (line 2): expected a list of quoted strings"},
      {"SpacesUnquoted", "[store]\nspaces = [data]\n",
       "store.spaces (line 2): expected a list of quoted strings"},
      {"SpacesNestedList", "[store]\nspaces = [[\"a\"]]\n",
       "store.spaces (line 2): expected a list of quoted strings"},
      {"SpacesTrailingGarbage", "[store]\nspaces = [\"a\"] x\n",
       "store.spaces (line 2): unexpected 'x'"},
      {"PathWithNul", "[store]\npath = \"a\\x00b\"\n", "store.path (line 2): contains a NUL byte"},
      {"RocksdbWithoutPath", "[store]\nbackend = \"rocksdb\"\npath = \"\"\n",
       "store.path (line 3): must not be empty"},
  };
}

class InvalidStructure : public testing::TestWithParam<bad_case> {};

TEST_P(InvalidStructure, IsRejectedNamingTheKey) {
  const auto& c = GetParam();
  auto o = base();
  auto st = parse_ini(c.text, o);
  ASSERT_FALSE(st) << c.text;
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find(c.expected), std::string::npos)
      << "context: " << st.context() << "\nexpected: " << c.expected;
  expect_same(o, base());
}

INSTANTIATE_TEST_SUITE_P(Cases, InvalidStructure, testing::ValuesIn(structural_cases()), case_name);

TEST(Config, MemoryBackendNeedsNoPath) {
  options o;
  auto st = parse_ini("[store]\nbackend = \"memory\"\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.backend, backend_kind::memory);
}

TEST(Config, SixtyFourSpacesAreAllowed) {
  auto o = base();
  auto st = parse_ini("[store]\nspaces = " + many_spaces(64) + "\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.schema.size(), 64u);
}

// -- validate on options built in code -------------------------------------------

TEST(Config, ValidateChecksEveryRange) {
  struct row {
    std::string key;
    void (*mutate)(options&);
  };
  const std::vector<row> rows = {
      {"store.backend", [](options& o) { o.backend = static_cast<backend_kind>(9); }},
      {"store.path", [](options& o) { o.db.path.clear(); }},
      {"store.parallelism", [](options& o) { o.db.parallelism = 0; }},
      {"store.parallelism", [](options& o) { o.db.parallelism = 257; }},
      {"store.max-background-jobs", [](options& o) { o.db.max_background_jobs = 0; }},
      {"store.write-buffer-size", [](options& o) { o.db.write_buffer_bytes = 65535; }},
      {"store.write-buffer-size", [](options& o) { o.db.write_buffer_bytes = (4ull << 30) + 1; }},
      {"store.spaces", [](options& o) { o.schema.spaces.clear(); }},
      {"store.spaces", [](options& o) { o.schema.spaces[1].name = "data"; }},
      {"store.spaces", [](options& o) { o.schema.spaces[1].name = "default"; }},
      {"store.spaces", [](options& o) { o.schema.spaces[1].name = ""; }},
      {"store.spaces", [](options& o) { o.schema.spaces[1].name = "a;b"; }},
      {"store.spaces",
       [](options& o) {
         auto first = o.schema.spaces[0];
         o.schema.spaces.resize(65, first);
       }},
      {"space.smt_node.prefix-length",
       [](options& o) { o.schema.spaces[5].options.prefix_length = 1025; }},
      {"space.data.bloom-bits", [](options& o) { o.schema.spaces[0].options.bloom_bits = 65; }},
      {"space.metas.compression",
       [](options& o) { o.schema.spaces[4].options.comp = static_cast<compression>(42); }},
      {"reader.pool-size", [](options& o) { o.reader.pool_size = 0; }},
      {"reader.pool-size", [](options& o) { o.reader.pool_size = 65; }},
      {"reader.max-queued", [](options& o) { o.reader.max_queued = 0; }},
      {"reader.max-queued", [](options& o) { o.reader.max_queued = 10000001; }},
      {"writer.max-batch-commands", [](options& o) { o.writer.max_batch_commands = 0; }},
      {"writer.max-batch-bytes", [](options& o) { o.writer.max_batch_bytes = 0; }},
      {"writer.max-batch-bytes", [](options& o) { o.writer.max_batch_bytes = (1u << 30) + 1; }},
      {"writer.max-delay", [](options& o) { o.writer.max_delay = -1ms; }},
      {"writer.max-delay", [](options& o) { o.writer.max_delay = 10001ms; }},
      {"writer.max-queued", [](options& o) { o.writer.max_queued = 0; }},
      {"limits.max-key-size", [](options& o) { o.limits.max_key_bytes = 0; }},
      {"limits.max-key-size", [](options& o) { o.limits.max_key_bytes = (16u << 20) + 1; }},
      {"limits.max-value-size", [](options& o) { o.limits.max_value_bytes = 0; }},
      {"limits.max-value-size", [](options& o) { o.limits.max_value_bytes = (1u << 30) + 1; }},
      {"limits.max-batch-ops", [](options& o) { o.limits.max_batch_ops = 0; }},
      {"limits.max-request-bytes", [](options& o) { o.limits.max_request_bytes = 0; }},
      {"limits.max-multi-get", [](options& o) { o.limits.max_multi_get = 0; }},
      {"limits.max-scan-limit", [](options& o) { o.limits.max_scan_limit = 0; }},
      {"supervisor.restart-window", [](options& o) { o.supervisor.restart_window = 0ms; }},
      {"supervisor.internal-timeout", [](options& o) { o.supervisor.internal_timeout = 25h; }},
      {"supervisor.stall-abort", [](options& o) { o.supervisor.stall_abort = -5ms; }},
      {"supervisor.stall-abort", [](options& o) { o.supervisor.stall_abort = 30s; }},
      {"supervisor.stall-abort", [](options& o) { o.supervisor.stall_abort = 31s; }},
      {"supervisor.stall-abort", [](options& o) { o.supervisor.internal_timeout = 2s; }},
      {"supervisor.stall-abort",
       [](options& o) {
         o.supervisor.internal_timeout = 24h;
         o.supervisor.stall_abort = 24h;
       }},
      {"supervisor.shutdown-grace", [](options& o) { o.supervisor.shutdown_grace = -1ms; }},
      {"supervisor.shutdown-grace", [](options& o) { o.supervisor.shutdown_grace = 0ms; }},
      {"supervisor.shutdown-grace", [](options& o) { o.supervisor.shutdown_grace = 99ms; }},
      {"supervisor.shutdown-grace", [](options& o) { o.supervisor.shutdown_grace = 24h + 1ms; }},
      {"tokens.max-token-size", [](options& o) { o.tokens.max_token_bytes = 0; }},
      {"tokens.max-token-size", [](options& o) { o.tokens.max_token_bytes = 1025; }},
      {"tokens.retain-count", [](options& o) { o.tokens.retain_count = 0; }},
      {"tokens.retain-count", [](options& o) { o.tokens.retain_count = 100000001; }},
      {"tokens.retain-age", [](options& o) { o.tokens.retain_age = -1ms; }},
      {"tokens.retain-age", [](options& o) { o.tokens.retain_age = 0ms; }},
      {"tokens.retain-age", [](options& o) { o.tokens.retain_age = 999ms; }},
      {"tokens.retain-age", [](options& o) { o.tokens.retain_age = 720h + 1ms; }},
      {"replication.wal-keep-age", [](options& o) { o.replication.wal_keep_age = -1s; }},
      {"replication.wal-keep-age", [](options& o) { o.replication.wal_keep_age = 720h + 1s; }},
      {"replication.wal-keep-age",
       [](options& o) { o.replication.wal_keep_age = std::chrono::seconds::max(); }},
      {"replication.max-log-bytes", [](options& o) { o.replication.max_log_bytes = 65535; }},
      {"replication.max-log-bytes",
       [](options& o) { o.replication.max_log_bytes = (256u << 20) + 1; }},
      {"replication.chunk-size", [](options& o) { o.replication.chunk_bytes = 65535; }},
      {"replication.chunk-size", [](options& o) { o.replication.chunk_bytes = (64u << 20) + 1; }},
      {"replication.poll-wait", [](options& o) { o.replication.poll_wait = 0ms; }},
      {"replication.poll-wait", [](options& o) { o.replication.poll_wait = 60001ms; }},
      {"replication.min-seq-wait", [](options& o) { o.replication.min_seq_wait = -1ms; }},
      {"replication.min-seq-wait", [](options& o) { o.replication.min_seq_wait = 60001ms; }},
  };
  for (const auto& r : rows) {
    auto o = base();
    r.mutate(o);
    auto st = validate(o);
    ASSERT_FALSE(st) << r.key;
    EXPECT_EQ(st.code(), errc::invalid_config);
    EXPECT_EQ(st.context().rfind(r.key + ": ", 0), 0u) << st.context();
    // parse_ini validates the options it starts from as well.
    auto copy = o;
    EXPECT_FALSE(parse_ini("", copy)) << r.key;
  }
}

// -- rules that span fields ----------------------------------------------------------

TEST(Config, RecoveryBackoffMustNotExceedItsMax) {
  auto o = base();
  auto st = parse_ini("[store]\nrecovery-backoff = 10s\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find("store.recovery-backoff"), std::string::npos) << st.context();
  EXPECT_NE(st.context().find("exceeds store.recovery-backoff-max (5s)"), std::string::npos)
      << st.context();
  expect_same(o, base());
  st = parse_ini("[store]\nrecovery-backoff = 5s\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.db.recovery_backoff, 5s);
}

TEST(Config, StallAbortMustBeLessThanInternalTimeout) {
  auto o = base();
  auto st = parse_ini("[supervisor]\ninternal-timeout = 5s\nstall-abort = 5s\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_EQ(st.context(),
            "supervisor.stall-abort (line 3): 5s is not less than supervisor.internal-timeout "
            "(5s): a stalled multi-space batch must be aborted before the requests waiting for "
            "it time out");
  expect_same(o, base());
  st = parse_ini("[supervisor]\nstall-abort = 6s\ninternal-timeout = 5s\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind("supervisor.stall-abort (line 2): 6s is not less than "
                               "supervisor.internal-timeout (5s)",
                               0),
            0u)
      << st.context();
  // Lowering internal-timeout alone below the default stall-abort (2s) is
  // reported on stall-abort too, naming both values.
  st = parse_ini("[supervisor]\ninternal-timeout = 2s\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind(
                "supervisor.stall-abort: 2s is not less than supervisor.internal-timeout (2s)", 0),
            0u)
      << st.context();
  expect_same(o, base());
  // One millisecond less is fine.
  st = parse_ini("[supervisor]\ninternal-timeout = 5s\nstall-abort = 4999ms\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.supervisor.internal_timeout, 5s);
  EXPECT_EQ(o.supervisor.stall_abort, 4999ms);
  // A range error is reported before the rule.
  o = base();
  st = parse_ini("[supervisor]\nstall-abort = 0ms\ninternal-timeout = 0ms\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind("supervisor.stall-abort (line 2): 0ms is out of range", 0), 0u)
      << st.context();
}

TEST(Config, ValidateChecksStallAbortAgainstInternalTimeout) {
  auto o = base();
  o.supervisor.internal_timeout = 300ms;
  o.supervisor.stall_abort = 299ms;
  EXPECT_TRUE(validate(o)) << validate(o).to_string();
  o.supervisor.stall_abort = 300ms;
  auto st = validate(o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_EQ(st.context(),
            "supervisor.stall-abort: 300ms is not less than supervisor.internal-timeout (300ms): "
            "a stalled multi-space batch must be aborted before the requests waiting for it time "
            "out");
  o.supervisor.stall_abort = 301ms;
  EXPECT_FALSE(validate(o));
  // The tightest pair: internal-timeout 2ms, stall-abort 1ms.
  o.supervisor.internal_timeout = 2ms;
  o.supervisor.stall_abort = 1ms;
  EXPECT_TRUE(validate(o)) << validate(o).to_string();
  o.supervisor.internal_timeout = 1ms;
  EXPECT_FALSE(validate(o));
}

TEST(Config, ShutdownGraceIsAtLeast100ms) {
  auto o = base();
  auto st = parse_ini("[supervisor]\nshutdown-grace = 100ms\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.supervisor.shutdown_grace, 100ms);
  o = base();
  st = parse_ini("[supervisor]\nshutdown-grace = 99ms\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_EQ(st.context(),
            "supervisor.shutdown-grace (line 2): 99ms is out of range 100ms..24h (a shorter grace "
            "would cut off writes that are about to commit)");
  expect_same(o, base());
  st = parse_ini("[supervisor]\nshutdown-grace = 0ms\n", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind("supervisor.shutdown-grace (line 2): 0ms is out of range", 0), 0u)
      << st.context();
  st = parse_ini("[supervisor]\nshutdown-grace = 0s\n", o);
  ASSERT_FALSE(st);
  o.supervisor.shutdown_grace = 100ms;
  EXPECT_TRUE(validate(o));
  o.supervisor.shutdown_grace = 99ms;
  st = validate(o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind("supervisor.shutdown-grace: 99ms is out of range 100ms..24h", 0), 0u)
      << st.context();
  o.supervisor.shutdown_grace = 0ms;
  st = validate(o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context().rfind("supervisor.shutdown-grace: 0ms is out of range", 0), 0u)
      << st.context();
}

// -- [tokens] ------------------------------------------------------------------------

TEST(Config, TokenDefaults) {
  options o;
  EXPECT_EQ(o.tokens.max_token_bytes, 64u);
  EXPECT_EQ(o.tokens.retain_count, 100000u);
  EXPECT_EQ(o.tokens.retain_age, 1h);
  // The section is optional: without it the defaults stay.
  o = base();
  ASSERT_TRUE(parse_ini("[store]\nsync = true\n", o));
  EXPECT_EQ(o.tokens.max_token_bytes, 64u);
  EXPECT_EQ(o.tokens.retain_count, 100000u);
  EXPECT_EQ(o.tokens.retain_age, 1h);
  // An empty [tokens] section is allowed.
  ASSERT_TRUE(parse_ini("[tokens]\n", o));
  EXPECT_EQ(o.tokens.retain_age, 1h);
}

TEST(Config, TokenKeysParse) {
  auto o = base();
  auto st =
      parse_ini("[tokens]\nmax-token-size = 1\nretain-count = 1\nretain-age = 1000000000ns\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.tokens.max_token_bytes, 1u);
  EXPECT_EQ(o.tokens.retain_count, 1u);
  EXPECT_EQ(o.tokens.retain_age, 1s);
  st = parse_ini(
      "[tokens]\nmax-token-size = \"1KiB\"\nretain-count = 100000000\nretain-age = 720h\n", o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.tokens.max_token_bytes, 1024u);
  EXPECT_EQ(o.tokens.retain_count, 100000000u);
  EXPECT_EQ(o.tokens.retain_age, 720h);
  auto expected = base();
  expected.tokens = o.tokens;
  expect_same(o, expected);  // nothing else changed
}

TEST(Config, TokenRangeErrorsNameTheKey) {
  struct row {
    const char* text;
    const char* context;
  };
  for (auto [text, context] : {
           row{"[tokens]\nmax-token-size = 0\n",
               "tokens.max-token-size (line 2): 0 is out of range 1..1KiB"},
           row{"[tokens]\nmax-token-size = 1025\n",
               "tokens.max-token-size (line 2): 1025 is out of range 1..1KiB"},
           row{"[tokens]\nmax-token-size = 2KiB\n",
               "tokens.max-token-size (line 2): 2KiB is out of range 1..1KiB"},
           row{"[tokens]\nretain-count = 0\n",
               "tokens.retain-count (line 2): 0 is out of range 1..100000000"},
           row{"[tokens]\nretain-count = 100000001\n",
               "tokens.retain-count (line 2): 100000001 is out of range 1..100000000"},
           row{"[tokens]\nretain-count = 1KiB\n",
               "tokens.retain-count (line 2): 1KiB is not an unsigned integer"},
           row{"[tokens]\nretain-age = 999ms\n",
               "tokens.retain-age (line 2): 999ms is out of range 1s..720h"},
           row{"[tokens]\nretain-age = 721h\n",
               "tokens.retain-age (line 2): 721h is out of range 1s..720h"},
           row{"[tokens]\nretain-age = 30d\n", "tokens.retain-age (line 2): 30d is not a duration"},
           row{"[tokens]\nretain-ages = 1h\n",
               "tokens.retain-ages (line 2): unknown key in [tokens]"},
       }) {
    auto o = base();
    auto st = parse_ini(text, o);
    ASSERT_FALSE(st) << text;
    EXPECT_EQ(st.code(), errc::invalid_config);
    EXPECT_EQ(st.context().rfind(context, 0), 0u) << "context: " << st.context();
    expect_same(o, base());
  }
}

TEST(Config, TokenOptionsRoundTripThroughToIni) {
  for (auto [size, count, age] :
       {std::tuple{1u, uint64_t{1}, std::chrono::milliseconds(1s)},
        std::tuple{1024u, uint64_t{100000000}, std::chrono::milliseconds(720h)},
        std::tuple{33u, uint64_t{12345}, std::chrono::milliseconds(1500ms)}}) {
    auto o = base();
    o.tokens.max_token_bytes = size;
    o.tokens.retain_count = count;
    o.tokens.retain_age = age;
    ASSERT_TRUE(validate(o));
    auto text = to_ini(o);
    options parsed;
    auto st = parse_ini(text, parsed);
    ASSERT_TRUE(st) << st.to_string() << "\n" << text;
    expect_same(parsed, o);
    EXPECT_EQ(to_ini(parsed), text);
  }
}

// -- [replication] -------------------------------------------------------------------

TEST(Config, ReplicationDefaults) {
  options o;
  EXPECT_EQ(o.replication.wal_keep_age, 600s);
  EXPECT_EQ(o.replication.wal_keep_bytes, 1ull << 30);
  EXPECT_EQ(o.replication.max_log_bytes, 4u << 20);
  EXPECT_EQ(o.replication.chunk_bytes, 1u << 20);
  EXPECT_EQ(o.replication.poll_wait, 200ms);
  EXPECT_EQ(o.replication.min_seq_wait, 1s);
  // The section is optional, and may be empty.
  o = base();
  ASSERT_TRUE(parse_ini("[store]\nsync = true\n[replication]\n", o));
  EXPECT_EQ(o.replication.wal_keep_age, 600s);
  EXPECT_EQ(o.replication.poll_wait, 200ms);
}

TEST(Config, ReplicationKeysParse) {
  auto o = base();
  auto st = parse_ini(
      "[replication]\nwal-keep-age = 0s\nwal-keep-size = 0\nmax-log-bytes = \"256MiB\"\n"
      "chunk-size = 65536\npoll-wait = 1000us\nmin-seq-wait = 1min\n",
      o);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.replication.wal_keep_age, 0s);
  EXPECT_EQ(o.replication.wal_keep_bytes, 0u);
  EXPECT_EQ(o.replication.max_log_bytes, 256u << 20);
  EXPECT_EQ(o.replication.chunk_bytes, 64u << 10);
  EXPECT_EQ(o.replication.poll_wait, 1ms);
  EXPECT_EQ(o.replication.min_seq_wait, 1min);
  auto expected = base();
  expected.replication = o.replication;
  expect_same(o, expected);  // nothing else changed
  // wal-keep-age takes any unit that makes whole seconds.
  for (auto [text, want] : {std::pair{"720h", std::chrono::seconds(720h)},
                            std::pair{"1500000ms", std::chrono::seconds(1500)},
                            std::pair{"2000000000ns", std::chrono::seconds(2)}}) {
    st = parse_ini(std::string{"[replication]\nwal-keep-age = "} + text + "\n", o);
    ASSERT_TRUE(st) << text << ": " << st.to_string();
    EXPECT_EQ(o.replication.wal_keep_age, want) << text;
  }
}

TEST(Config, ReplicationRangeErrorsNameTheKey) {
  struct row {
    const char* text;
    const char* context;
  };
  for (auto [text, context] : {
           row{"[replication]\nwal-keep-age = 1500ms\n",
               "replication.wal-keep-age (line 2): 1500ms is not a whole number of seconds"},
           row{"[replication]\nwal-keep-age = 721h\n",
               "replication.wal-keep-age (line 2): 721h is out of range 0ms..720h"},
           row{"[replication]\nwal-keep-age = 600\n",
               "replication.wal-keep-age (line 2): 600 has no unit"},
           row{"[replication]\nmax-log-bytes = 65535\n",
               "replication.max-log-bytes (line 2): 65535 is out of range 64KiB..256MiB"},
           row{"[replication]\nmax-log-bytes = 257MiB\n",
               "replication.max-log-bytes (line 2): 257MiB is out of range 64KiB..256MiB"},
           row{"[replication]\nchunk-size = 1KiB\n",
               "replication.chunk-size (line 2): 1KiB is out of range 64KiB..64MiB"},
           row{"[replication]\npoll-wait = 0ms\n",
               "replication.poll-wait (line 2): 0ms is out of range 1ms..1min"},
           row{"[replication]\nmin-seq-wait = 61s\n",
               "replication.min-seq-wait (line 2): 61s is out of range 0ms..1min"},
           row{"[replication]\nwal-keep-bytes = 1\n",
               "replication.wal-keep-bytes (line 2): unknown key in [replication]"},
       }) {
    auto o = base();
    auto st = parse_ini(text, o);
    ASSERT_FALSE(st) << text;
    EXPECT_EQ(st.code(), errc::invalid_config);
    EXPECT_EQ(st.context().rfind(context, 0), 0u) << "context: " << st.context();
    expect_same(o, base());
  }
}

TEST(Config, ReplicationOptionsRoundTripThroughToIni) {
  for (auto [age, keep, poll] : {std::tuple{std::chrono::seconds(0), uint64_t{0}, 1ms},
                                 std::tuple{std::chrono::seconds(720h), UINT64_MAX, 60000ms},
                                 std::tuple{std::chrono::seconds(61), uint64_t{12345}, 1500ms}}) {
    auto o = base();
    o.replication.wal_keep_age = age;
    o.replication.wal_keep_bytes = keep;
    o.replication.poll_wait = poll;
    ASSERT_TRUE(validate(o)) << validate(o).to_string();
    auto text = to_ini(o);
    options parsed;
    auto st = parse_ini(text, parsed);
    ASSERT_TRUE(st) << st.to_string() << "\n" << text;
    expect_same(parsed, o);
    EXPECT_EQ(to_ini(parsed), text);
  }
}

// -- load_file ---------------------------------------------------------------------

std::string temp_path(const std::string& name) {
  return testing::TempDir() + "/vstore_config_test_" + std::to_string(::getpid()) + "_" + name;
}

TEST(Config, LoadFileReportsAMissingFile) {
  options o;
  std::string path = temp_path("does-not-exist.ini");
  auto st = load_file(path, o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find(path), std::string::npos) << st.context();
  EXPECT_NE(st.context().find("No such file"), std::string::npos) << st.context();
}

TEST(Config, LoadFileReportsADirectory) {
  options o;
  auto st = load_file(source_dir() + "/config", o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find(source_dir() + "/config"), std::string::npos) << st.context();
  EXPECT_FALSE(load_file("", o));
}

TEST(Config, LoadFilePrefixesParseErrorsWithThePath) {
  auto path = temp_path("bad.ini");
  {
    std::ofstream out(path, std::ios::binary);
    out << "[store]\npath = \"/x\"\n[reader]\npool-size = 0\n";
  }
  options o;
  auto st = load_file(path, o);
  std::remove(path.c_str());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context(), path + ": reader.pool-size (line 4): 0 is out of range 1..64");
}

TEST(Config, LoadFileReadsAGoodFile) {
  auto path = temp_path("good.ini");
  {
    std::ofstream out(path, std::ios::binary);
    out << to_ini(everything_changed());
  }
  options o;
  auto st = load_file(path, o);
  std::remove(path.c_str());
  ASSERT_TRUE(st) << st.to_string();
  expect_same(o, everything_changed());
}

// -- the [vstored] section -------------------------------------------------------------

TEST(ConfigServer, EveryKeyParses) {
  const char* text =
      "[store]\npath = \"/srv/vstore\"\n"
      "[vstored]\n"
      "data-dir = \"/data\"\n"
      "memory = false\n"
      "host = \"::1\"\n"
      "port = 7400\n"
      "tls-cert = \"s.pem\"\n"
      "tls-key = \"s.key\"\n"
      "tls-ca = \"ca.pem\"\n"
      "heartbeat-interval = 200ms\n"
      "connection-timeout = 2s\n"
      "max-threads = 3\n"
      "log-level = \"debug\"\n"
      "status-addr = \"127.0.0.1:9464\"\n"
      "status-timeout = 1500ms\n";
  auto o = base();
  server_settings srv;
  auto st = parse_ini(text, o, srv);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(o.db.path, "/srv/vstore");
  EXPECT_EQ(srv.data_dir, "/data");
  EXPECT_EQ(srv.memory, false);
  EXPECT_EQ(srv.host, "::1");
  EXPECT_EQ(srv.port, uint16_t{7400});
  EXPECT_EQ(srv.tls_cert, "s.pem");
  EXPECT_EQ(srv.tls_key, "s.key");
  EXPECT_EQ(srv.tls_ca, "ca.pem");
  EXPECT_EQ(srv.heartbeat_interval, 200ms);
  EXPECT_EQ(srv.connection_timeout, 2s);
  EXPECT_EQ(srv.max_threads, 3u);
  EXPECT_EQ(srv.log_level, "debug");
  EXPECT_EQ(srv.status_addr, "127.0.0.1:9464");
  EXPECT_EQ(srv.status_timeout, 1500ms);
}

TEST(ConfigServer, RoleAndExtraListenersParse) {
  const char* text =
      "[vstored]\n"
      "role = \"read\"\n"
      "admin-port = 7401\n"
      "admin-host = \"127.0.0.2\"\n"
      "admin-tls-ca = \"admin-ca.pem\"\n"
      "read-port = 0\n"
      "read-host = \"::1\"\n"
      "read-tls-ca = \"read-ca.pem\"\n";
  auto o = base();
  server_settings srv;
  auto st = parse_ini(text, o, srv);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(srv.role, peer_role::read);
  EXPECT_EQ(srv.admin_port, uint16_t{7401});
  EXPECT_EQ(srv.admin_host, "127.0.0.2");
  EXPECT_EQ(srv.admin_tls_ca, "admin-ca.pem");
  EXPECT_EQ(srv.read_port, uint16_t{0});
  EXPECT_EQ(srv.read_host, "::1");
  EXPECT_EQ(srv.read_tls_ca, "read-ca.pem");
  for (auto r : {peer_role::read, peer_role::write, peer_role::admin}) {
    server_settings one;
    ASSERT_TRUE(parse_ini(std::string("[vstored]\nrole = \"") + to_name(r) + "\"\n", o, one));
    EXPECT_EQ(one.role, r);
    EXPECT_EQ(parse_role(to_name(r)), r);
  }
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role(""));
  EXPECT_LT(peer_role::read, peer_role::write);
  EXPECT_LT(peer_role::write, peer_role::admin);
}

TEST(ConfigServer, KeysNotInTheFileStayUnset) {
  auto o = base();
  server_settings srv;
  ASSERT_TRUE(parse_ini("[vstored]\nport = 0\n", o, srv));
  EXPECT_EQ(srv.port, uint16_t{0});
  EXPECT_FALSE(srv.host);
  EXPECT_FALSE(srv.status_addr);
  EXPECT_FALSE(srv.memory);
  server_settings none;
  ASSERT_TRUE(parse_ini("[store]\nsync = true\n", o, none));
  EXPECT_FALSE(none.port);
}

TEST(ConfigServer, DefaultFileHasAVstoredSection) {
  options o;
  server_settings srv;
  auto st = load_file(source_dir() + "/config/vstore.ini", o, srv);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(srv.host, "127.0.0.1");
  EXPECT_EQ(srv.port, uint16_t{0});
  EXPECT_EQ(srv.heartbeat_interval, 500ms);
  EXPECT_EQ(srv.connection_timeout, 5s);
  EXPECT_EQ(srv.log_level, "info");
  EXPECT_EQ(srv.status_timeout, 2s);
  EXPECT_FALSE(srv.status_addr);  // off unless set
}

/// Expects `text` to fail with `expected` in the context, leaving both outputs
/// unchanged, through both overloads of parse_ini.
void expect_server_error(const std::string& text, const std::string& expected) {
  SCOPED_TRACE(text);
  auto o = base();
  server_settings srv;
  srv.port = 1;
  auto st = parse_ini(text, o, srv);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), errc::invalid_config);
  EXPECT_NE(st.context().find(expected), std::string::npos)
      << "context: " << st.context() << "\nexpected: " << expected;
  expect_same(o, base());
  EXPECT_EQ(srv.port, uint16_t{1});
  EXPECT_FALSE(srv.host);
  auto st2 = parse_ini(text, o);  // the same rules without a server_settings
  ASSERT_FALSE(st2);
  EXPECT_EQ(st2.context(), st.context());
}

TEST(ConfigServer, DuplicateKeyIsAnError) {
  expect_server_error("[vstored]\nhost = \"127.0.0.1\"\nport = 1\nport = 2\n",
                      "vstored.port (line 4): duplicate key (first set on line 3)");
}

TEST(ConfigServer, UnknownKeyIsAnError) {
  expect_server_error("[vstored]\nhost = \"127.0.0.1\"\nconfig = \"x.ini\"\n",
                      "vstored.config (line 3): unknown key in [vstored]");
  expect_server_error("[vstored]\nstatus-address = \"127.0.0.1:1\"\n",
                      "vstored.status-address (line 2): unknown key");
}

TEST(ConfigServer, BadValuesNameTheKeyAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"port = 70000", "vstored.port (line 2): 70000 is out of range 0..65535"},
      {"port = \"7400\"", "vstored.port (line 2): expected an unsigned integer, got the string"},
      {"port = -1", "vstored.port (line 2): -1 is negative"},
      {"host = 127.0.0.1", "vstored.host (line 2): expected a quoted string"},
      {"host = \"\"", "vstored.host (line 2): must not be empty"},
      {"tls-cert = \"\"", "vstored.tls-cert (line 2): must not be empty"},
      {"data-dir = \"a\\x00\"", "vstored.data-dir (line 2): contains a NUL byte"},
      {"memory = \"yes\"", "vstored.memory (line 2): expected true or false"},
      {"heartbeat-interval = 500", "vstored.heartbeat-interval (line 2): 500 has no unit"},
      {"heartbeat-interval = 2h", "vstored.heartbeat-interval (line 2): 2h is out of range"},
      {"connection-timeout = 5", "vstored.connection-timeout (line 2): 5 has no unit"},
      {"max-threads = 0", "vstored.max-threads (line 2): 0 is out of range 1..1024"},
      {"max-threads = 1025", "vstored.max-threads (line 2): 1025 is out of range 1..1024"},
      {"log-level = \"loud\"", "vstored.log-level (line 2): unknown log level \"loud\""},
      {"log-level = info", "vstored.log-level (line 2): expected a quoted string"},
      {"status-addr = \":9464\"", "vstored.status-addr (line 2): \":9464\": no host"},
      {"status-addr = \"localhost:9464\"",
       "vstored.status-addr (line 2): \"localhost:9464\": not "
       "an IPv4 address"},
      {"status-addr = \"127.0.0.1\"", "vstored.status-addr (line 2): \"127.0.0.1\": no ':PORT'"},
      {"status-addr = \"127.0.0.1:65536\"", "not a port number (0..65535)"},
      {"status-addr = \"::1:9464\"", "not an IPv4 address (IPv6 goes in brackets)"},
      {"status-addr = 9464", "vstored.status-addr (line 2): expected a quoted string"},
      {"status-timeout = 5ms", "vstored.status-timeout (line 2): 5ms is out of range 10ms..1min"},
      {"status-timeout = 2min", "vstored.status-timeout (line 2): 2min is out of range"},
      {"role = \"root\"",
       "vstored.role (line 2): unknown role \"root\" (expected \"read\", \"write\" or "
       "\"admin\")"},
      {"role = admin", "vstored.role (line 2): expected a quoted string"},
      {"admin-port = 65536", "vstored.admin-port (line 2): 65536 is out of range 0..65535"},
      {"admin-port = \"7401\"", "vstored.admin-port (line 2): expected an unsigned integer"},
      {"read-port = -2", "vstored.read-port (line 2): -2 is negative"},
      {"admin-host = \"\"", "vstored.admin-host (line 2): must not be empty"},
      {"read-host = 1", "vstored.read-host (line 2): expected a quoted string"},
      {"admin-tls-ca = \"\"", "vstored.admin-tls-ca (line 2): must not be empty"},
      {"read-tls-ca = \"a\\x00\"", "vstored.read-tls-ca (line 2): contains a NUL byte"},
      {"read-role = \"read\"", "vstored.read-role (line 2): unknown key in [vstored]"},
  };
  for (const auto& [line, expected] : cases)
    expect_server_error("[vstored]\n" + line + "\n", expected);
}

TEST(ConfigServer, CafSectionsAreRefusedByName) {
  for (std::string section : {"scheduler", "middleman", "openssl", "logger", "stream", "caf",
                              "caf.scheduler", "middleman.x"}) {
    expect_server_error("[vstored]\nport = 1\n[" + section + "]\nmax-threads = 2\n",
                        "[" + section + "] (line 3): CAF's options are not read from this file");
    EXPECT_TRUE(is_caf_section(section));
  }
  EXPECT_FALSE(is_caf_section("cli"));
  EXPECT_FALSE(is_caf_section("schedulers"));
  EXPECT_FALSE(is_caf_section("vstored"));
  EXPECT_TRUE(is_foreign_section("cli"));
  EXPECT_TRUE(is_foreign_section("cli.x"));
  EXPECT_FALSE(is_foreign_section("vstored"));
  EXPECT_FALSE(is_foreign_section("scheduler"));
}

TEST(ConfigServer, LoadFileNamesThePathLineAndKey) {
  auto path = temp_path("server.ini");
  {
    std::ofstream out(path, std::ios::binary);
    out << "[store]\npath = \"/x\"\n\n[vstored]\nport = 99999\n";
  }
  options o;
  server_settings srv;
  auto st = load_file(path, o, srv);
  std::remove(path.c_str());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.context(), path + ": vstored.port (line 5): 99999 is out of range 0..65535");
  EXPECT_FALSE(srv.port);
}

TEST(ConfigServer, ParseHostPort) {
  auto a = parse_host_port("127.0.0.1:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  auto b = parse_host_port("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  EXPECT_TRUE(parse_host_port("0.0.0.0:80"));
  for (const char* bad : {"", ":", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x",
                          "127.0.0.1:-1", "127.0.0.1:65536", "[::1:9464", "[]:1", "[127.0.0.1]:1",
                          "::1:9464", "example.com:80", "127.0.0.1 :80"}) {
    std::string error;
    EXPECT_FALSE(parse_host_port(bad, &error)) << bad;
    EXPECT_NE(error.find("expected HOST:PORT"), std::string::npos) << bad << ": " << error;
  }
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("10.0.0.5"));
}

// -- robustness ----------------------------------------------------------------------

/// Checks the contract on any input: an error is invalid_config with a
/// context; a success validates and round-trips through to_ini.
void check_any(std::string_view text) {
  auto o = base();
  auto st = parse_ini(text, o);
  if (!st) {
    ASSERT_EQ(st.code(), errc::invalid_config);
    ASSERT_FALSE(st.context().empty());
    expect_same(o, base());
    return;
  }
  ASSERT_TRUE(validate(o)) << validate(o).to_string();
  options again;
  auto st2 = parse_ini(to_ini(o), again);
  ASSERT_TRUE(st2) << st2.to_string();
  EXPECT_EQ(to_ini(again), to_ini(o));
}

TEST(Config, RandomInputNeverCrashes) {
  std::mt19937_64 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::string seed = read_text(source_dir() + "/config/vstore.ini");
  ASSERT_FALSE(seed.empty());
  const std::vector<std::string> tokens = {"[",
                                           "]",
                                           "[store]",
                                           "[space.data]",
                                           "[space.x]",
                                           "[reader]",
                                           "[writer]",
                                           "[limits]",
                                           "[supervisor]",
                                           "[tokens]",
                                           "[replication]",
                                           "[scheduler]",
                                           "[bogus]",
                                           "\n",
                                           "\r\n",
                                           " ",
                                           "\t",
                                           "=",
                                           "\"",
                                           "\\",
                                           "\\x",
                                           "\\x4",
                                           ",",
                                           ";",
                                           "#",
                                           "'",
                                           "{",
                                           "}",
                                           "path",
                                           "spaces",
                                           "backend",
                                           "pool-size",
                                           "max-delay",
                                           "stall-abort",
                                           "shutdown-grace",
                                           "retain-age",
                                           "max-token-size",
                                           "wal-keep-age",
                                           "bloom-bits",
                                           "compression",
                                           "\"lz4\"",
                                           "\"memory\"",
                                           "\"x\"",
                                           "[\"x\"]",
                                           "true",
                                           "false",
                                           "0",
                                           "1",
                                           "-1",
                                           "64",
                                           "10ms",
                                           "500us",
                                           "1h",
                                           "99999999999999999999",
                                           "4GiB",
                                           "1KiB",
                                           "\"default\"",
                                           std::string(1, '\0'),
                                           "\xff",
                                           "\xEF\xBB\xBF",
                                           "[[[[",
                                           "]]]]"};
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    switch (i % 4) {
      case 0: {  // random bytes
        auto n = pick(300);
        for (size_t j = 0; j < n; ++j) text += static_cast<char>(rng() & 0xff);
        break;
      }
      case 1: {  // printable soup biased to INI punctuation
        static const char alphabet[] = "[]=\"\\;#,{}'\n \t.-_0123456789abcdeklmnoprstuxyzKMGiBh";
        auto n = pick(300);
        for (size_t j = 0; j < n; ++j) text += alphabet[pick(sizeof(alphabet) - 1)];
        break;
      }
      case 2: {  // token soup
        auto n = pick(60);
        for (size_t j = 0; j < n; ++j) text += tokens[pick(tokens.size())];
        break;
      }
      default: {  // mutations of the default file
        text = seed;
        auto edits = 1 + pick(8);
        for (size_t j = 0; j < edits && !text.empty(); ++j) {
          auto at = pick(text.size());
          switch (pick(4)) {
            case 0:
              text[at] = static_cast<char>(rng() & 0xff);
              break;
            case 1:
              text.erase(at, 1 + pick(20));
              break;
            case 2:
              text.insert(at, tokens[pick(tokens.size())]);
              break;
            default:
              text.resize(at);
              break;
          }
        }
        break;
      }
    }
    SCOPED_TRACE("input " + std::to_string(i));
    check_any(text);
    if (HasFatalFailure()) return;
  }
}

TEST(Config, DeepNestingAndLongInputsAreHandled) {
  check_any("[cli]\nx = " + std::string(100000, '['));
  check_any("[cli]\nx = " + std::string(100000, '{'));
  check_any("[store]\npath = \"" + std::string(1 << 20, 'a') + "\"\n");
  check_any(std::string(1 << 16, '\n') + "[reader]\npool-size = 0");
  auto o = base();
  auto st = parse_ini(std::string(70000, '\n') + "[reader]\npool-size = 0", o);
  ASSERT_FALSE(st);
  EXPECT_NE(st.context().find("(line 70002)"), std::string::npos) << st.context();
}

}  // namespace
}  // namespace vstore::config
