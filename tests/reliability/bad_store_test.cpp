// Bad data directories: corrupt SST, MANIFEST, CURRENT and WAL files, a
// read-only directory, and a schema that does not match the column families
// on disk. Opening (client::open_embedded, vstored, the vstore CLI) must give a
// clear status (corruption, io_error, schema_mismatch) or, where RocksDB opens
// the store, reads must report the damage: never a crash, a hang, or a wrong
// value.
//
// Figures are printed as "[ measure  ]" lines.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>

#include "tests/net/subprocess.hpp"
#include "tests/reliability/reliability_support.hpp"
#include "tests/support/actor_fixture.hpp"
#include "vstore/client.hpp"

namespace vstore::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string vstored_bin = VSTORE_VSTORED;
const std::string cli_bin = VSTORE_CLI;

constexpr int flushed_keys = 3000;  // in SST files
constexpr int wal_keys = 200;       // only in the WAL

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%05d", i);
  return buf;
}
std::string value_of(space_id s, int i) {
  return std::string(180, static_cast<char>('a' + i % 26)) + "/" + std::to_string(s) + "/" +
         std::to_string(i);
}

/// The first line of `text`, at most `n` characters.
std::string first_line(const std::string& text, size_t n = 240) {
  return text.substr(0, std::min(text.find('\n'), n));
}

/// The first line of `text` from `marker` on (or from its start).
std::string line_from(const std::string& text, const std::string& marker, size_t n = 240) {
  auto at = text.find(marker);
  return first_line(text.substr(at == std::string::npos ? 0 : at), n);
}

options store_options(const fs::path& db) {
  auto o = test_options(backend_kind::rocksdb, db.parent_path());
  o.db.path = db.string();
  return o;
}

/// Writes flushed_keys keys into `data` and `latest_ptr`, flushes them to SST
/// files, then writes wal_keys more (in batches of 10) that stay in the WAL,
/// and closes.
void make_store(const fs::path& db) {
  std::shared_ptr<store> s;
  auto o = store_options(db);
  auto st = open_store(o, s);
  ASSERT_TRUE(st) << st.to_string();
  auto write = [&](int from, int to, int per_batch) {
    for (int b = from; b < to; b += per_batch) {
      auto batch = s->make_batch();
      for (int i = b; i < std::min(to, b + per_batch); ++i)
        for (space_id sp : {spaces::data, spaces::latest_ptr})
          batch->put(sp, key_of(i), value_of(sp, i));
      uint64_t seq = 0;
      auto cst = s->commit(*batch, seq);
      ASSERT_TRUE(cst) << cst.to_string();
    }
  };
  write(0, flushed_keys, 500);
  ASSERT_TRUE(s->sync());
  write(flushed_keys, flushed_keys + wal_keys, 10);  // 20 WAL records
}

std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix,
                                   const std::string& prefix = "") {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        name.compare(0, prefix.size(), prefix) == 0)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return fs::file_size(a) > fs::file_size(b);
  });
  return out;
}

void overwrite(const fs::path& f, uint64_t at, const std::string& bytes) {
  std::fstream io{f, std::ios::in | std::ios::out | std::ios::binary};
  io.seekp(static_cast<std::streamoff>(at));
  io.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// What opening and reading a damaged store gave.
struct probe_result {
  status open;
  /// Reads of the expected keys: answered right, absent, wrong value, failed.
  int right = 0, absent = 0, wrong = 0, failed = 0;
  status first_failure;
  std::string summary() const {
    if (!open) return "open refused: " + open.to_string();
    std::string s = "opened; reads: " + std::to_string(right) + " right, " +
                    std::to_string(absent) + " absent, " + std::to_string(wrong) + " wrong, " +
                    std::to_string(failed) + " failed";
    if (!first_failure) s += " (" + first_failure.to_string() + ")";
    return s;
  }
};

/// Opens the store at `db` with the blocking embedded client and reads every
/// expected key of both spaces, 500 at a time.
probe_result probe(const fs::path& db) {
  probe_result r;
  std::unique_ptr<client> c;
  client::settings cs;
  cs.timeout = 10s;
  cs.max_threads = 2;
  r.open = client::open_embedded(store_options(db), c, cs);
  if (!r.open) return r;
  for (space_id sp : {spaces::data, spaces::latest_ptr}) {
    for (int b = 0; b < flushed_keys + wal_keys; b += 500) {
      std::vector<std::string> keys;
      for (int i = b; i < std::min(flushed_keys + wal_keys, b + 500); ++i)
        keys.push_back(key_of(i));
      multi_get_reply mg;
      auto st = c->multi_get(sp, keys, mg);
      if (!st) {
        // Find the failing keys one by one (a multi_get fails as a whole).
        for (int i = b; i < b + static_cast<int>(keys.size()); ++i) {
          std::optional<std::string> v;
          auto gst = c->get(sp, key_of(i), v);
          if (!gst) {
            if (r.first_failure) r.first_failure = gst;
            ++r.failed;
          } else if (!v) {
            ++r.absent;
          } else if (*v == value_of(sp, i)) {
            ++r.right;
          } else {
            ++r.wrong;
          }
        }
        continue;
      }
      for (size_t k = 0; k < keys.size(); ++k) {
        int i = b + static_cast<int>(k);
        if (!mg.found[k])
          ++r.absent;
        else if (mg.values[k] == value_of(sp, i))
          ++r.right;
        else
          ++r.wrong;
      }
    }
  }
  return r;
}

class BadStore : public ::testing::Test {
 protected:
  void SetUp() override {
    make_store(pristine());
    ssts_ = files_ending(pristine(), ".sst");
    ASSERT_FALSE(ssts_.empty()) << "no SST file was written";
    manifests_ = files_ending(pristine(), "", "MANIFEST-");
    ASSERT_EQ(manifests_.size(), 1u);
    wals_ = files_ending(pristine(), ".log");
    ASSERT_FALSE(wals_.empty());
  }

  fs::path pristine() const { return dir_.path() / "pristine"; }

  /// A fresh copy of the pristine store.
  fs::path copy(const std::string& name) {
    auto to = dir_.path() / name;
    fs::copy(pristine(), to, fs::copy_options::recursive);
    return to;
  }
  fs::path in(const fs::path& db, const fs::path& f) const { return db / f.filename(); }

  scratch_dir dir_;
  std::vector<fs::path> ssts_, manifests_, wals_;
};

TEST_F(BadStore, CorruptFilesGiveAClearStatusNeverACrashOrAWrongValue) {
  struct damage {
    const char* what;
    std::function<void(const fs::path&)> apply;
    /// Whether the damage must be detected (open refused or a read failed).
    /// False for the WAL: RocksDB's default recovery (point in time) replays
    /// the WAL up to the first bad record and drops the rest without an error.
    bool must_detect;
    /// Open may also be refused with schema_mismatch: RocksDB reads a MANIFEST
    /// cut mid-way as if its end were a torn last record, so the store shows
    /// the column families created before the cut.
    bool mismatch_ok = false;
  };
  const auto sst = ssts_.front();
  const auto manifest = manifests_.front();
  const auto wal = wals_.front();
  std::vector<damage> cases = {
      {"the largest SST truncated to half its size",
       [&](const fs::path& db) { fs::resize_file(in(db, sst), fs::file_size(sst) / 2); }, true},
      {"the largest SST truncated to 0 bytes",
       [&](const fs::path& db) { fs::resize_file(in(db, sst), 0); }, true},
      {"4 KiB of garbage in the middle of the largest SST (size unchanged)",
       [&](const fs::path& db) {
         overwrite(in(db, sst), fs::file_size(sst) / 3, random_bytes(1, 4096));
       },
       true},
      {"the largest SST deleted", [&](const fs::path& db) { fs::remove(in(db, sst)); }, true},
      {"the MANIFEST truncated to half its size",
       [&](const fs::path& db) { fs::resize_file(in(db, manifest), fs::file_size(manifest) / 2); },
       true, true},
      {"the MANIFEST truncated to 0 bytes",
       [&](const fs::path& db) { fs::resize_file(in(db, manifest), 0); }, true},
      {"the MANIFEST overwritten with garbage (size unchanged)",
       [&](const fs::path& db) {
         overwrite(in(db, manifest), 0, random_bytes(2, fs::file_size(manifest)));
       },
       true},
      {"CURRENT names a MANIFEST that does not exist",
       [&](const fs::path& db) { std::ofstream{db / "CURRENT"} << "MANIFEST-999999\n"; }, true},
      {"CURRENT overwritten with garbage",
       [&](const fs::path& db) { std::ofstream{db / "CURRENT"} << random_bytes(3, 40); }, true},
      {"CURRENT deleted (other files kept)",
       [&](const fs::path& db) { fs::remove(db / "CURRENT"); }, true},
      {"4 KiB of garbage in the middle of the WAL",
       [&](const fs::path& db) {
         overwrite(in(db, wal), fs::file_size(wal) / 2, random_bytes(4, 4096));
       },
       false},
  };
  int detected = 0;
  for (auto& d : cases) {
    auto db = copy("case" + std::to_string(&d - cases.data()));
    d.apply(db);
    auto t0 = std::chrono::steady_clock::now();
    auto r = probe(db);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::cout << "[ measure  ]   " << d.what << ": " << r.summary() << " (" << ms << " ms)\n";
    EXPECT_EQ(r.wrong, 0) << d.what << ": a wrong value was returned";
    bool found = !r.open || r.failed > 0;
    if (!r.open) {
      EXPECT_TRUE(r.open.code() == errc::corruption || r.open.code() == errc::io_error ||
                  (d.mismatch_ok && r.open.code() == errc::schema_mismatch))
          << d.what << ": " << r.open.to_string();
    }
    if (r.failed > 0) {
      EXPECT_TRUE(r.first_failure.code() == errc::corruption ||
                  r.first_failure.code() == errc::io_error)
          << d.what << ": " << r.first_failure.to_string();
    }
    if (d.must_detect) {
      EXPECT_TRUE(found) << d.what << ": undetected: " << r.summary();
      // Nothing may silently vanish: a key is right or its read failed.
      if (r.open) {
        EXPECT_EQ(r.absent, 0) << d.what;
      }
    }
    detected += found;
  }
  std::cout << "[ measure  ] " << cases.size() << " kinds of damage; " << detected
            << " reported (open refused or reads failed), 0 crashes, 0 wrong values\n";
}

TEST_F(BadStore, VstoredAndTheCliExitWithAClearMessageOnACorruptStore) {
  auto db = copy("garbage-manifest");
  overwrite(in(db, manifests_.front()), 0, random_bytes(5, fs::file_size(manifests_.front())));
  auto srv = run({vstored_bin, "--data-dir", db.string()}, std::nullopt, 20s);
  EXPECT_EQ(srv.code, 1) << srv.err;
  EXPECT_NE(srv.err.find("cannot open the store: corruption"), std::string::npos) << srv.err;
  EXPECT_EQ(srv.out, "");
  auto cli = run({cli_bin, "--data-dir", db.string(), "get", "data", key_of(1)}, std::nullopt, 20s);
  EXPECT_EQ(cli.code, 3) << cli.err;
  EXPECT_NE(cli.err.find("corruption"), std::string::npos) << cli.err;
  std::cout << "[ measure  ] vstored on a garbage MANIFEST: exit " << srv.code << ", "
            << line_from(srv.err, "cannot open") << "\n"
            << "[ measure  ] vstore CLI on it: exit " << cli.code << ", " << first_line(cli.err)
            << "\n";
}

// -- a read-only data directory ------------------------------------------------------------------

TEST_F(BadStore, ReadOnlyDirectoryGivesAClearError) {
  auto db = copy("read-only");
  ::chmod(db.c_str(), 0500);
  struct restore {
    fs::path p;
    ~restore() { ::chmod(p.c_str(), 0700); }
  } guard{db};
  // As root, permission bits do not restrict: run the children without the
  // capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
  // CAP_FOWNER), via setpriv. Check first that this makes the directory
  // read-only for them.
  std::vector<std::string> prefix;
  const bool root = ::geteuid() == 0;
  if (root) {
    if (!fs::exists("/usr/bin/setpriv"))
      GTEST_SKIP() << "running as root without /usr/bin/setpriv: cannot make a directory read-only";
    prefix = {"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"};
    auto with = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), prefix.begin(), prefix.end());
      return argv;
    };
    auto touch =
        run(with({"/bin/sh", "-c", "touch '" + (db / "probe").string() + "'"}), std::nullopt, 10s);
    if (touch.code == 0)
      GTEST_SKIP() << "running as root and dropping CAP_DAC_OVERRIDE did not make the directory "
                      "read-only (container without capability support?)";
  } else {
    // In process: the blocking embedded client.
    std::unique_ptr<client> c;
    auto st = client::open_embedded(store_options(db), c);
    EXPECT_FALSE(st) << "opened a store in a read-only directory";
    EXPECT_EQ(st.code(), errc::io_error) << st.to_string();
    std::cout << "[ measure  ] client::open_embedded on a read-only directory: " << st.to_string()
              << "\n";
  }
  auto argv = [&](std::vector<std::string> a) {
    a.insert(a.begin(), prefix.begin(), prefix.end());
    return a;
  };
  auto srv = run(argv({vstored_bin, "--data-dir", db.string()}), std::nullopt, 20s);
  EXPECT_EQ(srv.code, 1) << srv.err;
  EXPECT_NE(srv.err.find("cannot open the store: io_error"), std::string::npos) << srv.err;
  auto put =
      run(argv({cli_bin, "--data-dir", db.string(), "put", "data", "new", "v"}), std::nullopt, 20s);
  EXPECT_EQ(put.code, 3) << put.err;
  EXPECT_NE(put.err.find("io_error"), std::string::npos) << put.err;
  auto get =
      run(argv({cli_bin, "--data-dir", db.string(), "get", "data", key_of(1)}), std::nullopt, 20s);
  EXPECT_TRUE(get.code == 0 || get.code == 3) << get.err;
  if (get.code == 3) {
    EXPECT_NE(get.err.find("io_error"), std::string::npos) << get.err;
  }
  std::cout << "[ measure  ] read-only directory"
            << (root ? " (root without DAC capabilities)" : "")
            << ":\n[ measure  ]   vstored: exit " << srv.code << ", "
            << line_from(srv.err, "cannot open") << "\n[ measure  ]   vstore put: exit " << put.code
            << ", " << first_line(put.err) << "\n[ measure  ]   vstore get: exit " << get.code
            << ", " << first_line(get.code == 0 ? get.out : get.err) << "\n";
  // Nothing was damaged: writable again, the store opens with all its data.
  ::chmod(db.c_str(), 0700);
  auto r = probe(db);
  EXPECT_TRUE(r.open) << r.open.to_string();
  EXPECT_EQ(r.right, 2 * (flushed_keys + wal_keys)) << r.summary();
}

// -- a schema that does not match the column families on disk -----------------------------------

TEST_F(BadStore, MissingColumnFamilyIsASchemaMismatchUnlessAllowed) {
  auto db = copy("schema");
  auto extra = store_options(db);
  extra.schema.spaces.push_back(space_def{"extra", {}});
  std::unique_ptr<client> c;
  auto st = client::open_embedded(extra, c);
  EXPECT_EQ(st.code(), errc::schema_mismatch) << st.to_string();
  EXPECT_NE(st.context().find("lacks configured column families [extra]"), std::string::npos)
      << st.to_string();
  EXPECT_NE(st.context().find("allow-new-spaces"), std::string::npos) << st.to_string();
  std::cout << "[ measure  ] open_embedded with an extra space: " << st.to_string() << "\n";

  auto fewer = store_options(db);
  fewer.schema.spaces.pop_back();  // proof_receipt
  st = client::open_embedded(fewer, c);
  EXPECT_EQ(st.code(), errc::schema_mismatch) << st.to_string();
  EXPECT_NE(st.context().find("unconfigured column families [proof_receipt]"), std::string::npos)
      << st.to_string();
  std::cout << "[ measure  ] open_embedded without proof_receipt: " << st.to_string() << "\n";

  // vstored with the extra space in its configuration: exit 1, clear message.
  {
    std::ofstream ini{dir_.path() / "extra.ini"};
    ini << "[store]\nspaces = [\"data\", \"latest_ptr\", \"rollback_ptr\", \"batch_metadata\", "
           "\"metas\", \"smt_node\", \"smt_stale\", \"proof_receipt\", \"extra\"]\n";
  }
  auto srv = run(
      {vstored_bin, "--config", (dir_.path() / "extra.ini").string(), "--data-dir", db.string()},
      std::nullopt, 20s);
  EXPECT_EQ(srv.code, 1) << srv.err;
  EXPECT_NE(srv.err.find("schema_mismatch"), std::string::npos) << srv.err;
  EXPECT_NE(srv.err.find("[extra]"), std::string::npos) << srv.err;
  EXPECT_EQ(srv.out, "");
  std::cout << "[ measure  ] vstored with an extra configured space: exit " << srv.code << ", "
            << line_from(srv.err, "cannot open", 300) << "\n";

  // Nothing changed on disk; with allow-new-spaces the space is created and
  // the old data is intact.
  auto r = probe(db);
  EXPECT_EQ(r.right, 2 * (flushed_keys + wal_keys)) << r.summary();
  extra.db.allow_new_spaces = true;
  st = client::open_embedded(extra, c);
  ASSERT_TRUE(st) << st.to_string();
  commit_ack ack;
  ASSERT_TRUE(c->write(write_request{}.put(8, "in-extra", "yes"), ack));
  std::optional<std::string> v;
  ASSERT_TRUE(c->get(spaces::data, key_of(7), v));
  EXPECT_EQ(v, std::optional<std::string>{value_of(spaces::data, 7)});
  c.reset();
  // Spaces are never dropped: the default schema no longer matches.
  st = client::open_embedded(store_options(db), c);
  EXPECT_EQ(st.code(), errc::schema_mismatch) << st.to_string();
}

}  // namespace
}  // namespace vstore::test
