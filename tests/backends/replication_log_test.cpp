// The RocksDB side of read replicas: a primary's log (read_log over the WAL),
// a checkpoint with its exact sequence number, and a replica that replays the
// log (apply_log, applied_log, set_applied_log), the WAL retention of
// [replication], and the answers for a log the primary no longer holds.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "backends/memory/memory_store.hpp"
#include "backends/rocksdb/rocksdb_store.hpp"
#include "tests/backends/temp_dir.hpp"
#include "vstore/concat_bytes.hpp"
#include "vstore/options.hpp"
#include "vstore/schema.hpp"
#include "vstore/store.hpp"

namespace vstore {
namespace {

using namespace std::chrono_literals;

/// Three spaces: one without a prefix extractor, one with, one more.
vstore::schema test_schema() {
  vstore::schema s;
  for (const char* n : {"alpha", "beta", "gamma"}) {
    space_def d;
    d.name = n;
    s.spaces.push_back(d);
  }
  s.spaces[1].options.prefix_length = 4;
  return s;
}

constexpr space_id alpha = 0;
constexpr space_id beta = 1;
constexpr space_id gamma_space = 2;

/// Every key and value of a store, by space (system_space included, without
/// the applied-log record, which only a replica has).
using content = std::map<space_id, std::vector<key_value>>;

/// Renders batches as "seq+count seq+count ..." so that failures read well.
std::string describe(const std::vector<log_batch>& batches) {
  std::string out;
  for (const auto& b : batches) {
    if (!out.empty()) out += ' ';
    out += std::to_string(b.seq) + "+" + std::to_string(b.count);
  }
  return out;
}

class ReplicationLog : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  /// Options for a database in `sub`, with the default WAL retention.
  options opts_for(const std::string& sub) {
    options o;
    o.schema = test_schema();
    o.db.path = dir_.sub(sub);
    o.db.block_cache_bytes = 8u << 20;
    o.db.write_buffer_bytes = 4u << 20;
    o.db.min_free_bytes = 0;
    return o;
  }

  /// Options that keep no WAL a store no longer needs.
  options no_retention(const std::string& sub) {
    auto o = opts_for(sub);
    o.replication.wal_keep_age = 0s;
    o.replication.wal_keep_bytes = 0;
    return o;
  }

  static std::unique_ptr<rocksdb_store> open_ok(const options& o) {
    std::unique_ptr<rocksdb_store> s;
    auto st = rocksdb_store::open(o, s);
    EXPECT_TRUE(st) << st.to_string();
    return s;
  }

  /// Commits what `fill` adds to a batch; returns the commit's sequence.
  template <class F>
  static uint64_t commit(store& s, F&& fill) {
    auto b = s.make_batch();
    fill(*b);
    uint64_t seq = 0;
    auto st = s.commit(*b, seq);
    EXPECT_TRUE(st) << st.to_string();
    return seq;
  }

  /// Reads every page of `space`.
  static std::vector<key_value> all_of(const store& s, space_id space) {
    std::vector<key_value> out;
    std::string after;
    for (int pages = 0; pages < 10000; ++pages) {
      scan_page page;
      auto st = s.scan(space, "", after, 100, page);
      EXPECT_TRUE(st) << st.to_string();
      if (!st) break;
      out.insert(out.end(), page.entries.begin(), page.entries.end());
      if (!page.more || page.entries.empty()) break;
      after = page.entries.back().key;
    }
    return out;
  }

  static content content_of(const store& s) {
    content c;
    for (space_id id = 0; id < s.schema().size(); ++id) c[id] = all_of(s, id);
    auto sys = all_of(s, system_space);
    for (auto& kv : sys)
      if (kv.key != rocksdb_store::applied_log_key()) c[system_space].push_back(kv);
    return c;
  }

  static uint64_t applied(const store& s) {
    uint64_t seq = 0;
    auto st = s.applied_log(seq);
    EXPECT_TRUE(st) << st.to_string();
    return seq;
  }

  /// Reads the log from `from` to its end in pages of `max_bytes`; expects
  /// each page to continue where the last one ended.
  static std::vector<log_batch> read_all(const store& s, uint64_t from, size_t max_bytes) {
    std::vector<log_batch> all;
    for (int pages = 0; pages < 100000; ++pages) {
      std::vector<log_batch> page;
      auto st = s.read_log(from, max_bytes, page);
      EXPECT_TRUE(st) << st.to_string();
      if (!st || page.empty()) break;
      EXPECT_EQ(page.front().seq, from) << describe(page);
      all.insert(all.end(), page.begin(), page.end());
      from = page.back().last_seq() + 1;
    }
    return all;
  }

  /// Replays the primary's log onto the replica, from the replica's
  /// applied_log() + 1 to the primary's end, in small pages.
  static void catch_up(const store& primary, store& replica) {
    for (int rounds = 0; rounds < 100000; ++rounds) {
      std::vector<log_batch> page;
      auto st = primary.read_log(applied(replica) + 1, 300, page);
      ASSERT_TRUE(st) << st.to_string();
      if (page.empty()) return;
      for (const auto& b : page) {
        auto ast = replica.apply_log(b);
        ASSERT_TRUE(ast) << ast.to_string();
        EXPECT_EQ(applied(replica), b.last_seq());
      }
    }
    FAIL() << "the replica did not catch up";
  }

  /// Fills a primary with commits over every space: puts, deletes and range
  /// deletes, single- and multi-space. Returns the {seq, count} of each.
  static std::vector<std::pair<uint64_t, uint64_t>> write_history(store& s, int rounds) {
    std::vector<std::pair<uint64_t, uint64_t>> batches;
    auto add = [&](auto&& fill) {
      auto before = s.latest_sequence();
      auto seq = commit(s, fill);
      batches.emplace_back(before + 1, seq - before);
    };
    for (int i = 0; i < rounds; ++i) {
      auto n = std::to_string(i);
      add([&](write_batch& b) { b.put(alpha, "a" + n, "value " + n); });
      add([&](write_batch& b) {
        b.put(beta, "pref" + n, std::string(50 + i, 'b'));
        b.put(gamma_space, "g" + n, "g");
        b.put(system_space, "t-token-" + n, be_u64(static_cast<uint64_t>(i)));
      });
      add([&](write_batch& b) {
        b.del(alpha, "a" + std::to_string(i / 2));
        b.delete_range(gamma_space, "g", "g" + n);
        b.put(beta, "pref" + n, "overwritten");
      });
    }
    return batches;
  }

  /// Sets up a replica: a checkpoint of `primary` opened from `sub`, with
  /// its applied-log record at the checkpoint's sequence.
  std::unique_ptr<rocksdb_store> make_replica(rocksdb_store& primary, const std::string& sub) {
    uint64_t seq = 0;
    auto st = primary.checkpoint(dir_.sub(sub), seq);
    EXPECT_TRUE(st) << st.to_string();
    EXPECT_EQ(seq, primary.latest_sequence());
    auto replica = open_ok(opts_for(sub));
    if (replica == nullptr) return nullptr;
    EXPECT_EQ(replica->latest_sequence(), seq);
    st = replica->set_applied_log(seq);
    EXPECT_TRUE(st) << st.to_string();
    EXPECT_EQ(applied(*replica), seq);
    return replica;
  }

  /// Whether the store's data directory holds archived WAL files.
  bool has_archived_wal(const std::string& sub) const {
    std::error_code ec;
    std::filesystem::directory_iterator it{dir_.path() / sub / "archive", ec};
    if (ec) return false;
    for (const auto& e : it)
      if (e.path().extension() == ".log") return true;
    return false;
  }

  test::temp_dir dir_;
};

// -- read_log -----------------------------------------------------------------

TEST_F(ReplicationLog, ReadLogAnswersEveryCommitInOrder) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  auto expected = write_history(*s, 4);
  ASSERT_EQ(expected.size(), 12u);
  std::vector<log_batch> got;
  ASSERT_TRUE(s->read_log(1, 64u << 20, got));
  ASSERT_EQ(got.size(), expected.size()) << describe(got);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("batch " + std::to_string(i));
    EXPECT_EQ(got[i].seq, expected[i].first);
    EXPECT_EQ(got[i].count, expected[i].second);
    // The header of WriteBatch::Data(): the sequence, little-endian.
    ASSERT_GE(got[i].data.size(), 12u);
    uint64_t header_seq = 0;
    for (int k = 7; k >= 0; --k)
      header_seq = (header_seq << 8) | static_cast<uint8_t>(got[i].data[static_cast<size_t>(k)]);
    EXPECT_EQ(header_seq, got[i].seq);
  }
  EXPECT_EQ(got.back().last_seq(), s->latest_sequence());
  // From a later batch's start: that batch and the rest.
  std::vector<log_batch> tail;
  ASSERT_TRUE(s->read_log(expected[5].first, 64u << 20, tail));
  ASSERT_EQ(tail.size(), expected.size() - 5) << describe(tail);
  EXPECT_EQ(tail.front().seq, expected[5].first);
  EXPECT_EQ(tail.front().data, got[5].data);
  // read_log appends to what `out` holds.
  std::vector<log_batch> out(1);
  ASSERT_TRUE(s->read_log(expected[11].first, 64u << 20, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].seq, expected[11].first);
}

TEST_F(ReplicationLog, ReadLogPagesByMaxBytes) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  write_history(*s, 5);
  std::vector<log_batch> whole;
  ASSERT_TRUE(s->read_log(1, 64u << 20, whole));
  ASSERT_EQ(whole.size(), 15u);
  // A limit of exactly two batches' data: two per page, never more bytes.
  const size_t two = whole[0].data.size() + whole[1].data.size();
  std::vector<log_batch> page;
  ASSERT_TRUE(s->read_log(1, two, page));
  ASSERT_EQ(page.size(), 2u) << describe(page);
  ASSERT_TRUE(s->read_log(1, two - 1, page = {}));
  ASSERT_EQ(page.size(), 1u) << describe(page);
  for (size_t max_bytes : {size_t{0}, size_t{1}, two, size_t{200}, size_t{1000}}) {
    SCOPED_TRACE("max_bytes " + std::to_string(max_bytes));
    uint64_t from = 1;
    std::vector<log_batch> all;
    for (int pages = 0; pages < 100; ++pages) {
      page.clear();
      auto st = s->read_log(from, max_bytes, page);
      ASSERT_TRUE(st) << st.to_string();
      if (page.empty()) break;
      EXPECT_EQ(page.front().seq, from);
      size_t bytes = 0;
      for (const auto& b : page) bytes += b.data.size();
      if (page.size() > 1) {
        EXPECT_LE(bytes, max_bytes) << describe(page);
      }
      all.insert(all.end(), page.begin(), page.end());
      from = page.back().last_seq() + 1;
    }
    ASSERT_EQ(all.size(), whole.size()) << describe(all);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].seq, whole[i].seq);
      EXPECT_EQ(all[i].count, whole[i].count);
      EXPECT_EQ(all[i].data, whole[i].data);
    }
    EXPECT_EQ(from, s->latest_sequence() + 1);
  }
}

TEST_F(ReplicationLog, ReadLogAtAndBeyondTheEnd) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  std::vector<log_batch> out;
  // An empty store: nothing to send from 1, another history from 2 on.
  ASSERT_EQ(s->latest_sequence(), 0u);
  auto st = s->read_log(1, 1024, out);
  EXPECT_TRUE(st) << st.to_string();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s->read_log(2, 1024, out).code(), errc::resync_needed);
  write_history(*s, 2);
  const auto latest = s->latest_sequence();
  st = s->read_log(latest + 1, 1024, out);
  EXPECT_TRUE(st) << st.to_string();
  EXPECT_TRUE(out.empty());
  st = s->read_log(latest + 2, 1024, out);
  EXPECT_EQ(st.code(), errc::resync_needed) << st.to_string();
  EXPECT_NE(st.context().find(std::to_string(latest + 2)), std::string::npos) << st.context();
  EXPECT_NE(st.context().find(std::to_string(latest)), std::string::npos) << st.context();
  EXPECT_EQ(s->read_log(UINT64_MAX, 1024, out).code(), errc::resync_needed);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s->read_log(0, 1024, out).code(), errc::invalid_argument);
  EXPECT_TRUE(out.empty());
}

TEST_F(ReplicationLog, ReadLogFromInsideABatchIsAnotherHistory) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  auto batches = write_history(*s, 1);
  ASSERT_EQ(batches[1].second, 3u);  // the multi-space batch
  std::vector<log_batch> out;
  auto st = s->read_log(batches[1].first + 1, 1024, out);
  EXPECT_EQ(st.code(), errc::resync_needed) << st.to_string();
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s->read_log(batches[1].first, 1024, out));
  EXPECT_FALSE(out.empty());
}

// -- read_log's kept iterators ----------------------------------------------------

/// Commits `n` single-put batches; returns the sequence of each.
std::vector<uint64_t> commit_puts(store& s, int n, const std::string& tag) {
  std::vector<uint64_t> seqs;
  for (int i = 0; i < n; ++i) {
    auto b = s.make_batch();
    b->put(alpha, tag + std::to_string(i), "value " + std::to_string(i));
    uint64_t seq = 0;
    auto st = s.commit(*b, seq);
    EXPECT_TRUE(st) << st.to_string();
    seqs.push_back(seq);
  }
  return seqs;
}

/// Renders sequences as "seq+1 seq+1 ..." (single-put batches), to compare
/// with describe().
std::string describe_puts(const std::vector<uint64_t>& seqs) {
  std::string out;
  for (auto seq : seqs) out += (out.empty() ? "" : " ") + std::to_string(seq) + "+1";
  return out;
}

/// The WAL files in the data directory `dir` (the live one and those not yet
/// archived), by name.
std::vector<std::string> wal_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir})
    if (e.path().extension() == ".log") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ReplicationLog, ReadLogTailsNewCommitsAndAcrossAWalSwitch) {
  auto o = opts_for("primary");
  auto s = open_ok(o);
  ASSERT_NE(s, nullptr);
  auto expected = write_history(*s, 3);
  auto all = read_all(*s, 1, 64u << 20);
  ASSERT_EQ(all.size(), expected.size()) << describe(all);
  uint64_t from = s->latest_sequence() + 1;
  // Read to the end, commit more, read again from the next sequence: exactly
  // the new batches, in order, each time.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto seqs = commit_puts(*s, 2 + round, "tail" + std::to_string(round) + "-");
    std::vector<log_batch> page;
    ASSERT_TRUE(s->read_log(from, 64u << 20, page));
    EXPECT_EQ(describe(page), describe_puts(seqs));
    from = s->latest_sequence() + 1;
    ASSERT_TRUE(s->read_log(from, 64u << 20, page = {}));
    EXPECT_TRUE(page.empty()) << describe(page);
  }
  // A flush switches to a new WAL file. Commits before and after it: one
  // page holds the old file's tail and the new file's batches.
  auto before = commit_puts(*s, 3, "before-");
  const auto wal_before = wal_files(dir_.path() / "primary");
  ASSERT_TRUE(s->sync());
  auto after = commit_puts(*s, 4, "after-");
  ASSERT_NE(wal_files(dir_.path() / "primary"), wal_before) << "no WAL switch";
  // The kept iterator reads the old file's tail, then runs out (RocksDB's
  // iterator does not follow a WAL switch): one fresh read for the rest.
  const auto opened = s->log_iterators_opened();
  std::vector<log_batch> page;
  ASSERT_TRUE(s->read_log(from, 64u << 20, page));
  EXPECT_EQ(s->log_iterators_opened(), opened + 1);
  auto both = before;
  both.insert(both.end(), after.begin(), after.end());
  EXPECT_EQ(describe(page), describe_puts(both));
  // The same page as a store opened afresh reads (no kept iterator).
  std::vector<log_batch> fresh;
  {
    s.reset();
    auto again = open_ok(o);
    ASSERT_NE(again, nullptr);
    ASSERT_TRUE(again->read_log(from, 64u << 20, fresh));
    s = std::move(again);
  }
  ASSERT_EQ(fresh.size(), page.size());
  for (size_t i = 0; i < page.size(); ++i) EXPECT_EQ(page[i].data, fresh[i].data);
  // Tailing in the new WAL file.
  from = s->latest_sequence() + 1;
  auto more = commit_puts(*s, 2, "more-");
  ASSERT_TRUE(s->read_log(from, 64u << 20, page = {}));
  EXPECT_EQ(describe(page), describe_puts(more));
}

TEST_F(ReplicationLog, ReadLogContinuesItsIteratorInsteadOfReopeningTheWal) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  write_history(*s, 3);
  auto all = read_all(*s, 1, 64u << 20);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(s->log_iterators_opened(), 1u);
  uint64_t from = s->latest_sequence() + 1;
  // Tailing: 50 commits, each read as it comes, all from the first iterator.
  for (int i = 0; i < 50; ++i) {
    auto seqs = commit_puts(*s, 1, "t" + std::to_string(i) + "-");
    std::vector<log_batch> page;
    ASSERT_TRUE(s->read_log(from, 64u << 20, page));
    ASSERT_EQ(describe(page), describe_puts(seqs));
    from = seqs.back() + 1;
  }
  EXPECT_EQ(s->log_iterators_opened(), 1u);
  // Pages by max_bytes: the batch that did not fit is the next page's first.
  std::vector<log_batch> whole;
  ASSERT_TRUE(s->read_log(1, 64u << 20, whole));
  EXPECT_EQ(s->log_iterators_opened(), 2u);
  auto paged = read_all(*s, 1, 1);
  EXPECT_EQ(s->log_iterators_opened(), 3u);
  ASSERT_EQ(describe(paged), describe(whole));
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(paged[i].data, whole[i].data);
  // From anywhere else than where a kept iterator stopped: a fresh read.
  std::vector<log_batch> page;
  ASSERT_TRUE(s->read_log(whole[3].seq, 64u << 20, page));
  EXPECT_EQ(page.front().seq, whole[3].seq);
  EXPECT_EQ(s->log_iterators_opened(), 4u);
}

TEST_F(ReplicationLog, ReadLogServesInterleavedReadersAtDifferentPositions) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  write_history(*s, 4);
  std::vector<log_batch> whole;
  ASSERT_TRUE(s->read_log(1, 64u << 20, whole));
  ASSERT_EQ(whole.size(), 12u);
  // Two readers, one from the start, one from the middle, two batches per
  // page, taking turns; commits in between. They end at the same position,
  // tailing the commits.
  const size_t max_bytes = whole[0].data.size() + whole[1].data.size();
  struct reader {
    uint64_t from;
    std::vector<log_batch> got;
  };
  std::vector<reader> readers{{1, {}}, {whole[6].seq, {}}};
  const uint64_t opened = s->log_iterators_opened();
  for (int turn = 0; turn < 40; ++turn) {
    if (turn % 5 == 4) commit_puts(*s, 1, "turn" + std::to_string(turn) + "-");
    auto& r = readers[static_cast<size_t>(turn) % readers.size()];
    std::vector<log_batch> page;
    ASSERT_TRUE(s->read_log(r.from, max_bytes, page));
    if (page.empty()) continue;
    EXPECT_EQ(page.front().seq, r.from);
    r.got.insert(r.got.end(), page.begin(), page.end());
    r.from = page.back().last_seq() + 1;
  }
  // One iterator each, kept side by side (also once both are at the same
  // position).
  EXPECT_EQ(s->log_iterators_opened(), opened + 2);
  ASSERT_TRUE(s->read_log(1, 64u << 20, whole = {}));
  for (auto& r : readers) {
    // Catch up, then compare with one fresh read of everything.
    auto rest = read_all(*s, r.from, 64u << 20);
    r.got.insert(r.got.end(), rest.begin(), rest.end());
    const size_t skip = r.got.empty() ? 0 : static_cast<size_t>(r.got.front().seq == 1 ? 0 : 6);
    ASSERT_EQ(r.got.size() + skip, whole.size()) << describe(r.got);
    for (size_t i = 0; i < r.got.size(); ++i) {
      EXPECT_EQ(r.got[i].seq, whole[i + skip].seq);
      EXPECT_EQ(r.got[i].data, whole[i + skip].data);
    }
  }
}

TEST_F(ReplicationLog, ReadLogFromSeveralThreadsWhileCommitting) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  write_history(*s, 2);
  constexpr int commits = 300;
  std::atomic<bool> done{false};
  // Six readers: more than the iterators kept, so some are dropped and
  // reopened while the others continue.
  constexpr int reader_count = 6;
  std::vector<std::vector<log_batch>> got(reader_count);
  std::vector<std::thread> threads;
  for (int t = 0; t < reader_count; ++t)
    threads.emplace_back([&, t] {
      uint64_t from = 1;
      for (int rounds = 0; rounds < 1000000; ++rounds) {
        const bool last = done.load();  // read to the end once the writer is done
        std::vector<log_batch> page;
        auto st = s->read_log(from, t % 2 == 0 ? 300 : 64u << 20, page);
        if (!st) {
          ADD_FAILURE() << st.to_string();
          return;
        }
        if (!page.empty()) {
          if (page.front().seq != from) {
            ADD_FAILURE() << "from " << from << ": " << describe(page);
            return;
          }
          from = page.back().last_seq() + 1;
          got[static_cast<size_t>(t)].insert(got[static_cast<size_t>(t)].end(), page.begin(),
                                             page.end());
        } else if (last) {
          return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  auto seqs = commit_puts(*s, commits, "c");
  done.store(true);
  for (auto& th : threads) th.join();
  std::vector<log_batch> whole;
  ASSERT_TRUE(s->read_log(1, 64u << 20, whole));
  ASSERT_EQ(whole.back().seq, seqs.back());
  for (int t = 0; t < reader_count; ++t) {
    SCOPED_TRACE("reader " + std::to_string(t));
    const auto& g = got[static_cast<size_t>(t)];
    ASSERT_EQ(g.size(), whole.size()) << describe(g);
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i].seq, whole[i].seq);
      EXPECT_EQ(g[i].data, whole[i].data);
    }
  }
}

// -- WAL retention ---------------------------------------------------------------

TEST_F(ReplicationLog, ReadLogAnswersResyncNeededOnceTheWalIsDeleted) {
  auto o = no_retention("primary");
  auto s = open_ok(o);
  ASSERT_NE(s, nullptr);
  write_history(*s, 3);
  std::vector<log_batch> out;
  ASSERT_TRUE(s->read_log(1, 64u << 20, out));
  ASSERT_EQ(out.size(), 9u);
  // Flushed to SST files, the WAL is obsolete; the reopen deletes it.
  ASSERT_TRUE(s->sync());
  s.reset();
  s = open_ok(o);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(has_archived_wal("primary"));
  const auto latest = s->latest_sequence();
  out.clear();
  auto st = s->read_log(1, 64u << 20, out);
  EXPECT_EQ(st.code(), errc::resync_needed) << st.to_string();
  EXPECT_TRUE(out.empty()) << describe(out);
  // A commit after the reopen is in the new WAL: the log from 1 now starts
  // after a gap, and from that commit on it is there.
  auto seq = commit(*s, [](write_batch& b) { b.put(alpha, "after", "reopen"); });
  ASSERT_EQ(seq, latest + 1);
  st = s->read_log(1, 64u << 20, out);
  EXPECT_EQ(st.code(), errc::resync_needed) << st.to_string();
  EXPECT_NE(st.context().find("oldest batch starts at " + std::to_string(seq)), std::string::npos)
      << st.context();
  EXPECT_TRUE(out.empty()) << describe(out);
  EXPECT_EQ(s->read_log(latest, 64u << 20, out).code(), errc::resync_needed);
  st = s->read_log(seq, 64u << 20, out);
  ASSERT_TRUE(st) << st.to_string();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, seq);
}

TEST_F(ReplicationLog, RetainedWalStillAnswersAfterAFlushAndReopen) {
  auto o = opts_for("primary");  // the default retention: 10 min, 1 GiB
  auto s = open_ok(o);
  ASSERT_NE(s, nullptr);
  auto expected = write_history(*s, 3);
  ASSERT_TRUE(s->sync());
  s.reset();
  s = open_ok(o);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(has_archived_wal("primary"));
  auto seq = commit(*s, [](write_batch& b) { b.put(alpha, "after", "reopen"); });
  auto all = read_all(*s, 1, 500);
  ASSERT_EQ(all.size(), expected.size() + 1) << describe(all);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(all[i].seq, expected[i].first);
    EXPECT_EQ(all[i].count, expected[i].second);
  }
  EXPECT_EQ(all.back().seq, seq);
}

// -- checkpoint, apply_log, applied_log --------------------------------------------

TEST_F(ReplicationLog, ReplicaReplaysThePrimarysLog) {
  auto primary = open_ok(opts_for("primary"));
  ASSERT_NE(primary, nullptr);
  write_history(*primary, 3);
  auto replica = make_replica(*primary, "replica");
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(content_of(*replica), content_of(*primary));
  // The primary goes on; the replica follows.
  write_history(*primary, 6);
  commit(*primary, [](write_batch& b) {
    b.delete_range(beta, "pref", "preg");
    b.del(system_space, "t-token-1");
  });
  EXPECT_NE(content_of(*replica), content_of(*primary));
  catch_up(*primary, *replica);
  EXPECT_EQ(applied(*replica), primary->latest_sequence());
  EXPECT_EQ(content_of(*replica), content_of(*primary));
  EXPECT_TRUE(all_of(*replica, beta).empty());
  // A reopen loads the applied-log record.
  replica.reset();
  replica = open_ok(opts_for("replica"));
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(applied(*replica), primary->latest_sequence());
  EXPECT_EQ(content_of(*replica), content_of(*primary));
  // And the replay goes on from there.
  write_history(*primary, 2);
  catch_up(*primary, *replica);
  EXPECT_EQ(applied(*replica), primary->latest_sequence());
  EXPECT_EQ(content_of(*replica), content_of(*primary));
  // The record is 8 bytes big-endian in system_space.
  std::string v;
  bool found = false;
  ASSERT_TRUE(replica->get(system_space, rocksdb_store::applied_log_key(), v, found));
  ASSERT_TRUE(found);
  EXPECT_EQ(v, std::string{be_u64(primary->latest_sequence())});
}

TEST_F(ReplicationLog, ApplyLogRefusesABatchOutOfOrder) {
  auto primary = open_ok(opts_for("primary"));
  ASSERT_NE(primary, nullptr);
  write_history(*primary, 1);
  auto replica = make_replica(*primary, "replica");
  ASSERT_NE(replica, nullptr);
  const auto start = applied(*replica);
  write_history(*primary, 2);
  std::vector<log_batch> log;
  ASSERT_TRUE(primary->read_log(start + 1, 64u << 20, log));
  ASSERT_EQ(log.size(), 6u);
  const auto before = content_of(*replica);
  const auto replica_seq = replica->latest_sequence();
  auto refused = [&](const log_batch& b) {
    auto st = replica->apply_log(b);
    EXPECT_EQ(st.code(), errc::invalid_argument) << st.to_string();
    EXPECT_EQ(applied(*replica), start);
    EXPECT_EQ(replica->latest_sequence(), replica_seq);
    EXPECT_EQ(content_of(*replica), before);
  };
  {
    SCOPED_TRACE("the second batch first");
    refused(log[1]);
  }
  {
    SCOPED_TRACE("the last batch first");
    refused(log.back());
  }
  ASSERT_TRUE(replica->apply_log(log[0]));
  EXPECT_EQ(applied(*replica), log[0].last_seq());
  {
    SCOPED_TRACE("the same batch again");
    auto st = replica->apply_log(log[0]);
    EXPECT_EQ(st.code(), errc::invalid_argument) << st.to_string();
    EXPECT_EQ(applied(*replica), log[0].last_seq());
  }
  for (size_t i = 1; i < log.size(); ++i) ASSERT_TRUE(replica->apply_log(log[i]));
  EXPECT_EQ(content_of(*replica), content_of(*primary));
}

TEST_F(ReplicationLog, ApplyLogRefusesGarbageAndAppliesNothing) {
  auto primary = open_ok(opts_for("primary"));
  ASSERT_NE(primary, nullptr);
  write_history(*primary, 1);
  auto replica = make_replica(*primary, "replica");
  ASSERT_NE(replica, nullptr);
  const auto start = applied(*replica);
  commit(*primary, [](write_batch& b) {
    b.put(alpha, "k1", "v1");
    b.put(beta, "pref-x", "v2");
    b.del(gamma_space, "g0");
  });
  std::vector<log_batch> log;
  ASSERT_TRUE(primary->read_log(start + 1, 64u << 20, log));
  ASSERT_EQ(log.size(), 1u);
  const log_batch good = log[0];
  ASSERT_EQ(good.seq, start + 1);
  ASSERT_EQ(good.count, 3u);
  const auto before = content_of(*replica);
  const auto replica_seq = replica->latest_sequence();

  /// A batch apply_log must refuse, and a part of the reason it gives.
  struct bad_case {
    const char* name;
    log_batch batch;
    const char* why;
  };
  std::vector<bad_case> cases;
  auto with_data = [&](std::string data) {
    auto b = good;
    b.data = std::move(data);
    return b;
  };
  // The first record starts after the 12-byte header: its tag, then (for a
  // family other than "default") the family id.
  const auto header = good.data.substr(0, 12);
  cases.push_back({"empty data", with_data(""), "is no WriteBatch"});
  cases.push_back({"only part of a header", with_data(good.data.substr(0, 7)), "is no WriteBatch"});
  cases.push_back({"a header without records", with_data(header), "holds 0 operations"});
  cases.push_back({"the last byte cut off", with_data(good.data.substr(0, good.data.size() - 1)),
                   "record 3 (at byte"});
  cases.push_back({"a byte too many", with_data(good.data + "x"), "has tag 120"});
  cases.push_back(
      {"random bytes", with_data(std::string(good.data.size(), '\xA7')), "header names sequence"});
  {
    auto d = good.data;
    d[12] = '\x09';  // kTypeBeginPrepareXID: RocksDB asserts on a Handler refusing it
    cases.push_back({"a 2PC marker", with_data(d), "has tag 9,"});
  }
  {
    // kTypeCommitXIDAndTimestamp with an empty timestamp: RocksDB asserts.
    auto d = header + std::string{"\x15\x00\x01x", 4};
    cases.push_back({"a commit record with an empty timestamp", with_data(d), "has tag 21,"});
  }
  {
    // One put (count 1 in the header) to column family id 99.
    auto d = header + std::string{"\x05\x63\x01k\x01v", 6};
    d[8] = 1, d[9] = 0, d[10] = 0, d[11] = 0;
    auto b = with_data(d);
    b.count = 1;
    cases.push_back({"an unknown column family", b, "column family id 99"});
  }
  {
    auto b = good;
    b.count = good.count + 1;  // the header still says 3
    cases.push_back({"a count the header does not hold", b, "header counts 3 operations, not 4"});
  }
  {
    auto d = good.data;
    d[8] = 4;  // the header counts 4, 3 records follow
    auto b = with_data(d);
    b.count = 4;
    cases.push_back({"a header counting more records than follow", b,
                     "holds 3 operations, its header counts 4"});
  }
  {
    auto b = good;
    b.count = 0;
    cases.push_back({"a count of 0", b, "header counts 3 operations, not 0"});
  }
  {
    auto d = good.data;
    d[0] = static_cast<char>(d[0] + 1);  // the header names seq + 1
    cases.push_back({"a header naming another sequence", with_data(d), "header names sequence"});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto st = replica->apply_log(c.batch);
    EXPECT_EQ(st.code(), errc::invalid_argument) << st.to_string();
    EXPECT_NE(st.context().find(c.why), std::string::npos) << st.context();
    EXPECT_NE(st.context().find("nothing applied"), std::string::npos) << st.context();
    EXPECT_EQ(applied(*replica), start);
    EXPECT_EQ(replica->latest_sequence(), replica_seq);
    EXPECT_EQ(replica->state(), health_state::ok);
  }
  EXPECT_EQ(content_of(*replica), before);
  // The store is still fine, and the good batch applies.
  auto st = replica->apply_log(good);
  ASSERT_TRUE(st) << st.to_string();
  EXPECT_EQ(applied(*replica), good.last_seq());
  EXPECT_EQ(replica->latest_sequence(), replica_seq + good.count + 1);
  EXPECT_EQ(content_of(*replica), content_of(*primary));
}

TEST_F(ReplicationLog, CheckpointSequenceIsExactWhileCommitsRun) {
  auto primary = open_ok(opts_for("primary"));
  ASSERT_NE(primary, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  // Commits until the checkpoints are done (at most 200000).
  std::thread writer{[&] {
    for (int i = 0; i < 200000 && !stop.load(); ++i) {
      auto b = primary->make_batch();
      b->put(alpha, "w" + std::to_string(i), std::string(100, 'w'));
      b->put(beta, "pref" + std::to_string(i), "x");
      uint64_t seq = 0;
      if (!primary->commit(*b, seq)) break;
      commits.fetch_add(1);
    }
  }};
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~joiner() {
      stop.store(true);
      t.join();
    }
  } join_writer{stop, writer};
  // Wait (bounded, without sleeping) until the writer runs.
  for (int i = 0; i < 100000000 && commits.load() == 0; ++i) std::this_thread::yield();
  ASSERT_GT(commits.load(), 0);
  int overlapped = 0;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("checkpoint " + std::to_string(round));
    const auto sub = "cp" + std::to_string(round);
    uint64_t seq = 0;
    const int commits_before = commits.load();
    auto st = primary->checkpoint(dir_.sub(sub), seq);
    ASSERT_TRUE(st) << st.to_string();
    if (commits.load() > commits_before) ++overlapped;
    auto copy = open_ok(opts_for(sub));
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->latest_sequence(), seq);
  }
  // Commits ran while the checkpoints were taken (else this proves nothing).
  EXPECT_GT(overlapped, 0);
}

TEST_F(ReplicationLog, CheckpointWithoutSequenceStillWorks) {
  auto s = open_ok(opts_for("primary"));
  ASSERT_NE(s, nullptr);
  write_history(*s, 2);
  ASSERT_TRUE(s->checkpoint(dir_.sub("copy")));
  auto copy = open_ok(opts_for("copy"));
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->latest_sequence(), s->latest_sequence());
  EXPECT_EQ(content_of(*copy), content_of(*s));
  EXPECT_EQ(applied(*copy), 0u);
  uint64_t seq = 0;
  EXPECT_EQ(s->checkpoint(dir_.sub("copy"), seq).code(), errc::invalid_argument);  // exists
}

TEST_F(ReplicationLog, SetAppliedLogIsACommitThatSurvivesAReopen) {
  auto o = opts_for("replica");
  {
    auto s = open_ok(o);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(applied(*s), 0u);
    const auto seq = s->latest_sequence();
    ASSERT_TRUE(s->set_applied_log(41));
    EXPECT_EQ(applied(*s), 41u);
    EXPECT_EQ(s->latest_sequence(), seq + 1);
    ASSERT_TRUE(s->set_applied_log(UINT64_MAX - 1));
    EXPECT_EQ(applied(*s), UINT64_MAX - 1);
  }
  auto s = open_ok(o);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(applied(*s), UINT64_MAX - 1);
  s.reset();
  // Read-only: the record is read, nothing is written.
  o.db.read_only = true;
  s = open_ok(o);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(applied(*s), UINT64_MAX - 1);
  EXPECT_EQ(s->set_applied_log(7).code(), errc::not_supported);
  log_batch b;
  b.seq = UINT64_MAX;
  b.count = 1;
  EXPECT_EQ(s->apply_log(b).code(), errc::not_supported);
  EXPECT_EQ(applied(*s), UINT64_MAX - 1);
}

TEST_F(ReplicationLog, AMalformedAppliedLogRecordFailsTheOpen) {
  auto o = opts_for("replica");
  {
    auto s = open_ok(o);
    ASSERT_NE(s, nullptr);
    commit(*s, [](write_batch& b) {
      b.put(system_space, std::string{rocksdb_store::applied_log_key()}, "short");
    });
  }
  std::unique_ptr<rocksdb_store> s;
  auto st = rocksdb_store::open(o, s);
  EXPECT_EQ(st.code(), errc::corruption) << st.to_string();
  EXPECT_EQ(s, nullptr);
}

TEST_F(ReplicationLog, MemoryBackendKeepsNoLog) {
  auto m = make_memory_store(test_schema());
  std::vector<log_batch> out;
  EXPECT_EQ(m->read_log(1, 1024, out).code(), errc::not_supported);
  EXPECT_EQ(m->apply_log(log_batch{}).code(), errc::not_supported);
  EXPECT_EQ(m->set_applied_log(1).code(), errc::not_supported);
  uint64_t seq = 1;
  EXPECT_EQ(m->applied_log(seq).code(), errc::not_supported);
  EXPECT_EQ(seq, 0u);
}

}  // namespace
}  // namespace vstore
