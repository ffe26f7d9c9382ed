#include "bench/raw_side.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/rocksdb/rocksdb_settings.hpp"
#include "bench/proc.hpp"
#include "vstore/concat_bytes.hpp"

namespace vstore::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// The errors one thread saw.
struct thread_errors {
  uint64_t count = 0;
  std::string first;

  void add(const std::string& what) {
    if (count++ == 0) first = what;
  }
  void add(const rocksdb::Status& s, const char* what) {
    if (count++ == 0) first = std::string{what} + ": " + s.ToString();
  }
};

/// What one thread did.
struct thread_result {
  thread_errors errors;
  uint64_t completed = 0;
};

/// Starts `threads` threads that each run body(begin, end, result) on their
/// issuer_range of `w`, releases them at once and times them until the last
/// one ends. Bodies stop at `end` or at w.deadline.
template <class Body>
rep_result run_threads(const workload& w, size_t threads, Body body) {
  threads = std::max<size_t>(threads, 1);
  std::vector<thread_result> results(threads);
  std::mutex mtx;
  std::condition_variable cv;
  size_t ready = 0;
  bool go = false;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    auto range = issuer_range(w, t, threads);
    pool.emplace_back([&, t, range] {
      {
        std::unique_lock<std::mutex> lock{mtx};
        ++ready;
        cv.notify_all();
        cv.wait(lock, [&] { return go; });
      }
      body(range.first, range.second, results[t]);
    });
  }
  {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return ready == threads; });
    go = true;
  }
  auto cpu0 = process_cpu_seconds();
  auto t0 = clock_type::now();
  cv.notify_all();
  for (auto& th : pool) th.join();
  auto t1 = clock_type::now();
  rep_result out;
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  out.cpu_seconds = process_cpu_seconds() - cpu0;
  for (auto& r : results) {
    if (r.errors.count > 0 && out.errors == 0) out.first_error = r.errors.first;
    out.errors += r.errors.count;
    out.completed += r.completed;
  }
  return out;
}

/// Returns whether a thread may issue request `i` of [.., end).
bool more(const workload& w, uint64_t i, uint64_t end) {
  return i < end && clock_type::now() < w.deadline;
}

rocksdb::Slice slice_of(const char* p, size_t n) { return rocksdb::Slice{p, n}; }

}  // namespace

struct raw_db::impl {
  rocksdb_settings settings;
  rocksdb::DB* db = nullptr;
  /// Handle per space id (without "default").
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* default_handle = nullptr;

  ~impl() {
    if (db == nullptr) return;
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    if (default_handle != nullptr)
      db->DestroyColumnFamilyHandle(default_handle).PermitUncheckedError();
    db->Close().PermitUncheckedError();
    delete db;
  }

  rocksdb::ColumnFamilyHandle* cf(space_id s) const { return handles[s]; }

  rep_result run_get(const workload& w, size_t threads) {
    return run_threads(w, threads, [&](uint64_t b, uint64_t e, thread_result& res) {
      std::string key(w.key_bytes, '\0');
      rocksdb::PinnableSlice v;
      std::string value;
      rocksdb::ReadOptions ro;
      for (uint64_t i = b; more(w, i, e); ++i) {
        loaded_key(pick(w.seed, i, w.key_count), key.data(), w.key_bytes);
        v.Reset();
        auto s = db->Get(ro, cf(bench_space), rocksdb::Slice{key}, &v);
        ++res.completed;
        if (!s.ok()) {
          res.errors.add(s, "get");
          continue;
        }
        if (v.size() != w.value_bytes) res.errors.add("get: loaded value has a wrong size");
        value.assign(v.data(), v.size());
      }
    });
  }

  rep_result run_multi_get(const workload& w, size_t threads) {
    return run_threads(w, threads, [&](uint64_t b, uint64_t e, thread_result& res) {
      std::vector<std::string> keys(multi_get_keys, std::string(w.key_bytes, '\0'));
      std::vector<rocksdb::Slice> slices(multi_get_keys);
      std::vector<rocksdb::PinnableSlice> values(multi_get_keys);
      std::vector<rocksdb::Status> statuses(multi_get_keys);
      std::vector<std::string> out(multi_get_keys);
      rocksdb::ReadOptions ro;
      for (uint64_t i = b; more(w, i, e); ++i) {
        for (size_t j = 0; j < multi_get_keys; ++j) {
          loaded_key(pick(w.seed, i * multi_get_keys + j, w.key_count), keys[j].data(),
                     w.key_bytes);
          slices[j] = rocksdb::Slice{keys[j]};
          values[j].Reset();
        }
        db->MultiGet(ro, cf(bench_space), multi_get_keys, slices.data(), values.data(),
                     statuses.data(), false);
        ++res.completed;
        for (size_t j = 0; j < multi_get_keys; ++j) {
          if (!statuses[j].ok()) {
            res.errors.add(statuses[j], "multi_get");
            continue;
          }
          out[j].assign(values[j].data(), values[j].size());
        }
      }
    });
  }

  rep_result run_scan(const workload& w, size_t threads) {
    auto groups = std::max<uint64_t>(prefix_groups(w.key_count), 1);
    return run_threads(w, threads, [&](uint64_t b, uint64_t e, thread_result& res) {
      char prefix[8];
      std::vector<std::string> keys(scan_entries);
      std::vector<std::string> vals(scan_entries);
      for (uint64_t i = b; more(w, i, e); ++i) {
        group_prefix(pick(w.seed, i, groups), prefix);
        // The options rocksdb_store::scan uses for a prefix as long as the
        // space's prefix extractor.
        std::string upper = prefix_successor(std::string_view{prefix, 8});
        rocksdb::Slice upper_slice{upper};
        rocksdb::ReadOptions ro;
        ro.prefix_same_as_start = true;
        ro.iterate_upper_bound = &upper_slice;
        std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, cf(bench_space))};
        size_t n = 0;
        for (it->Seek(slice_of(prefix, 8)); it->Valid() && n < scan_entries; it->Next()) {
          keys[n].assign(it->key().data(), it->key().size());
          vals[n].assign(it->value().data(), it->value().size());
          ++n;
        }
        ++res.completed;
        if (!it->status().ok())
          res.errors.add(it->status(), "scan");
        else if (n != scan_entries)
          res.errors.add("scan returned " + std::to_string(n) + " entries");
      }
    });
  }

  /// Puts of written keys, `per_write` per DB::Write. A thread's range is
  /// cut into writes of per_write consecutive indices.
  rep_result run_puts(const workload& w, size_t threads, size_t per_write) {
    return run_threads(w, threads, [&](uint64_t b, uint64_t e, thread_result& res) {
      std::string key(w.key_bytes, '\0');
      std::string value(w.value_bytes, '\0');
      for (uint64_t i = b; more(w, i, e); i += per_write) {
        rocksdb::WriteBatch batch;
        auto last = std::min(e, i + per_write);
        for (uint64_t j = i; j < last; ++j) {
          written_key(w.write_base + j, key.data(), w.key_bytes);
          make_value(w.write_base + j, value.data(), w.value_bytes);
          batch.Put(cf(bench_space), rocksdb::Slice{key}, rocksdb::Slice{value})
              .PermitUncheckedError();
        }
        auto s = db->Write(settings.write, &batch);
        res.completed += last - i;
        if (!s.ok()) res.errors.add(s, "write");
      }
    });
  }

  /// Atomic batches of multi_batch_ops puts over w.batch_spaces spaces, one
  /// DB::Write each.
  rep_result run_multi_batch(const workload& w, size_t threads) {
    return run_threads(w, threads, [&](uint64_t b, uint64_t e, thread_result& res) {
      std::string key(w.key_bytes, '\0');
      std::string value(w.value_bytes, '\0');
      for (uint64_t i = b; more(w, i, e); ++i) {
        rocksdb::WriteBatch batch;
        for (size_t op = 0; op < multi_batch_ops; ++op) {
          auto n = (w.write_base + i) * multi_batch_ops + op;
          written_key(n, key.data(), w.key_bytes);
          make_value(n, value.data(), w.value_bytes);
          auto space = multi_batch_space(w.write_base + i, op, w.batch_spaces, w.schema_spaces);
          batch.Put(cf(space), rocksdb::Slice{key}, rocksdb::Slice{value}).PermitUncheckedError();
        }
        auto s = db->Write(settings.write, &batch);
        ++res.completed;
        if (!s.ok()) res.errors.add(s, "write");
      }
    });
  }
};

raw_db::raw_db(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

raw_db::~raw_db() = default;

status raw_db::open(const options& opts, std::unique_ptr<raw_db>& out) {
  out.reset();
  if (opts.db.path.empty()) return {errc::invalid_config, "raw database path is empty"};
  std::error_code ec;
  std::filesystem::create_directories(opts.db.path, ec);
  if (ec) return {errc::io_error, "cannot create " + opts.db.path + ": " + ec.message()};
  auto p = std::make_unique<impl>();
  p->settings = make_rocksdb_settings(opts);
  auto dbo = p->settings.db;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  auto s = rocksdb::DB::Open(dbo, opts.db.path, p->settings.families, &handles, &p->db);
  if (!s.ok()) return {errc::io_error, "open " + opts.db.path + ": " + s.ToString()};
  p->default_handle = handles.at(0);
  p->handles.assign(handles.begin() + 1, handles.end());
  out.reset(new raw_db(std::move(p)));
  return {};
}

status raw_db::load(uint64_t count, size_t key_bytes, size_t value_bytes) {
  auto& x = *impl_;
  constexpr uint64_t per_batch = 1000;
  std::string key(key_bytes, '\0');
  std::string value(value_bytes, '\0');
  for (uint64_t i = 0; i < count; i += per_batch) {
    rocksdb::WriteBatch batch;
    for (uint64_t j = i; j < std::min(count, i + per_batch); ++j) {
      loaded_key(j, key.data(), key_bytes);
      make_value(j, value.data(), value_bytes);
      batch.Put(x.cf(bench_space), rocksdb::Slice{key}, rocksdb::Slice{value})
          .PermitUncheckedError();
    }
    rocksdb::WriteOptions wo;  // loading needs no fsync per batch
    auto s = x.db->Write(wo, &batch);
    if (!s.ok()) return {errc::io_error, "load: " + s.ToString()};
  }
  auto s = x.db->Flush(rocksdb::FlushOptions{}, x.handles);
  if (!s.ok()) return {errc::io_error, "flush after load: " + s.ToString()};
  s = x.db->FlushWAL(true);
  if (!s.ok()) return {errc::io_error, "sync WAL after load: " + s.ToString()};
  return {};
}

status raw_db::settle() {
  auto& x = *impl_;
  auto s = x.db->Flush(rocksdb::FlushOptions{}, x.handles);
  if (!s.ok()) return {errc::io_error, "flush memtables: " + s.ToString()};
  return {};
}

status raw_db::write(const std::vector<write_op>& ops) {
  auto& x = *impl_;
  rocksdb::WriteBatch batch;
  for (const auto& op : ops) {
    if (op.space >= x.handles.size())
      return {errc::unknown_space, "space id " + std::to_string(op.space)};
    auto* cf = x.cf(op.space);
    auto s = op.kind == op_kind::put   ? batch.Put(cf, op.key, op.value)
             : op.kind == op_kind::del ? batch.Delete(cf, op.key)
                                       : batch.DeleteRange(cf, op.key, op.value);
    if (!s.ok()) return {errc::io_error, s.ToString()};
  }
  auto s = x.db->Write(x.settings.write, &batch);
  if (!s.ok()) return {errc::io_error, "write: " + s.ToString()};
  return {};
}

rep_result raw_db::run(const workload& w, size_t threads, size_t batch_puts) {
  auto& x = *impl_;
  switch (w.kind) {
    case workload_kind::get:
      return x.run_get(w, threads);
    case workload_kind::multi_get:
      return x.run_multi_get(w, threads);
    case workload_kind::scan:
      return x.run_scan(w, threads);
    case workload_kind::put:
    case workload_kind::flush_put:
      return x.run_puts(w, threads, 1);
    case workload_kind::put_batched:
      return x.run_puts(w, threads, batch_puts);
    case workload_kind::multi_batch:
      return x.run_multi_batch(w, threads);
  }
  rep_result r;
  r.errors = 1;
  r.first_error = "unknown workload";
  return r;
}

status create_loaded_database(const options& opts, uint64_t count, size_t key_bytes,
                              size_t value_bytes) {
  std::unique_ptr<raw_db> db;
  if (auto st = raw_db::open(opts, db); !st) return st;
  return db->load(count, key_bytes, value_bytes);
}

}  // namespace vstore::bench
