// vstore-sim --raw (raw_run.hpp).

#include "tools/vstore-sim/raw_run.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/rocksdb/rocksdb_settings.hpp"
#include "tools/vstore-sim/verify.hpp"
#include "tools/vstore-sim/workload.hpp"
#include "vstore/concat_bytes.hpp"

namespace vstore::sim {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

status failed(const rocksdb::Status& s, const std::string& what) {
  return {errc::io_error, what + ": " + s.ToString()};
}

/// A RocksDB database opened with a store's settings; the handles of its
/// spaces. Safe to use from several threads (RocksDB is).
class raw_store {
 public:
  raw_store() = default;
  raw_store(const raw_store&) = delete;
  raw_store& operator=(const raw_store&) = delete;
  ~raw_store() { static_cast<void>(close()); }

  /// Opens (creating) the database at opts.db.path with
  /// make_rocksdb_settings(opts), one family per space of opts.schema.
  status open(const options& opts) {
    std::error_code ec;
    std::filesystem::create_directories(opts.db.path, ec);
    if (ec) return {errc::io_error, "cannot create " + opts.db.path + ": " + ec.message()};
    settings_ = make_rocksdb_settings(opts);
    auto dbo = settings_.db;
    dbo.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    auto s = rocksdb::DB::Open(dbo, opts.db.path, settings_.families, &handles, &db_);
    if (!s.ok()) return failed(s, "open " + opts.db.path);
    handles_ = std::move(handles);
    prefix_length_.clear();
    for (const auto& sp : opts.schema.spaces) prefix_length_.push_back(sp.options.prefix_length);
    return {};
  }

  /// Closes the database (waits for RocksDB's background work).
  status close() {
    if (db_ == nullptr) return {};
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    auto s = db_->Close();
    delete db_;
    db_ = nullptr;
    return s.ok() ? status{} : failed(s, "close");
  }

  /// Commits `w` as one WriteBatch with the settings' write options; adds
  /// its operations to `ops`.
  status write(const write_request& w, uint64_t& ops) {
    rocksdb::WriteBatch b;
    for (const auto& op : w.ops) {
      auto* cf = family(op.space);
      rocksdb::Status s;
      switch (op.kind) {
        case op_kind::put:
          s = b.Put(cf, slice(op.key), slice(op.value));
          break;
        case op_kind::del:
          s = b.Delete(cf, slice(op.key));
          break;
        case op_kind::del_range:
          s = b.DeleteRange(cf, slice(op.key), slice(op.value));
          break;
      }
      if (!s.ok()) return failed(s, "write batch");
    }
    ops += b.Count();
    auto s = db_->Write(settings_.write, &b);
    return s.ok() ? status{} : failed(s, "write");
  }

  /// Reads `keys` of `space` with one MultiGet: found flags and values.
  status multi_get(space_id space, const std::vector<std::string>& keys, multi_get_reply& out) {
    const auto n = keys.size();
    out.found.assign(n, 0);
    out.values.assign(n, std::string{});
    if (n == 0) return {};
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(n);
    std::vector<rocksdb::Status> statuses(n);
    db_->MultiGet(rocksdb::ReadOptions{}, family(space), n, slices.data(), values.data(),
                  statuses.data(), false);
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return failed(statuses[i], "multi_get");
      out.found[i] = 1;
      out.values[i].assign(values[i].data(), values[i].size());
    }
    return {};
  }

  /// Reads one page of a prefix scan with an iterator: at most req.limit
  /// entries with req.prefix after req.start_after (as the store's scan).
  status scan(const scan_request& req, scan_reply& out) {
    out.entries.clear();
    out.more = false;
    rocksdb::ReadOptions ro;
    // The extractor covers the prefix only when the prefix is at least as
    // long; a shorter one spans several extracted prefixes.
    auto extractor = req.space < prefix_length_.size() ? prefix_length_[req.space] : 0;
    ro.total_order_seek = extractor == 0 || req.prefix.size() < extractor;
    ro.prefix_same_as_start = !ro.total_order_seek;
    auto upper = prefix_successor(req.prefix);
    rocksdb::Slice upper_slice{upper};
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator(ro, family(req.space))};
    bool after = req.start_after > req.prefix;
    it->Seek(slice(after ? req.start_after : req.prefix));
    if (after && it->Valid() && it->key() == slice(req.start_after)) it->Next();
    for (; it->Valid() && it->key().starts_with(slice(req.prefix)); it->Next()) {
      if (out.entries.size() == req.limit) {
        out.more = true;
        break;
      }
      out.entries.push_back(key_value{it->key().ToString(), it->value().ToString()});
    }
    return it->status().ok() ? status{} : failed(it->status(), "scan");
  }

  /// Reads one key.
  status get(space_id space, const std::string& key, std::optional<std::string>& out) {
    multi_get_reply r;
    if (auto st = multi_get(space, {key}, r); !st) return st;
    out.reset();
    if (r.found[0]) out = std::move(r.values[0]);
    return {};
  }

  /// Reads every entry of `space` in key order.
  status read_all(space_id space, std::vector<key_value>& out) {
    out.clear();
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator(ro, family(space))};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out.push_back(key_value{it->key().ToString(), it->value().ToString()});
    return it->status().ok() ? status{} : failed(it->status(), "read all");
  }

 private:
  /// Space id i is family i + 1 ("default" comes first).
  rocksdb::ColumnFamilyHandle* family(space_id space) const { return handles_.at(space + 1u); }

  rocksdb_settings settings_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<uint32_t> prefix_length_;
};

/// Backend commits of the workload, over all threads.
struct write_totals {
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> ops{0};
};

/// One scheduler's thread: its lanes, one step at a time, round robin.
class raw_scheduler {
 public:
  raw_scheduler(raw_store& db, const run_context& ctx, const space_set& spaces, run_board& board,
                write_totals& totals, uint32_t id)
      : db_(db), ctx_(ctx), spaces_(spaces), board_(board), totals_(totals), id_(id) {}

  /// Runs every lane to its end (or until the run failed) and reports.
  void run() {
    const auto& p = ctx_.summary.params;
    const auto rules = rules_of(ctx_);
    lanes_.resize(p.lanes);
    for (uint32_t i = 0; i < p.lanes; ++i)
      lanes_[i].reset(p, rules, id_, i, ctx_.cli.batches, ctx_.cli.seed);
    std::vector<uint8_t> clean(p.lanes, 1), done(p.lanes, 0);
    latency_ns_.reserve(ctx_.cli.batches + ctx_.cli.batches / 8 + 16);
    size_t left = lanes_.size();
    while (left > 0 && !board_.failed()) {
      for (size_t i = 0; i < lanes_.size() && !board_.failed(); ++i) {
        if (done[i]) continue;
        auto& l = lanes_[i];
        bool write_failed = false;
        auto err = step(l, write_failed);
        if (!err) continue;
        if (write_failed) clean[i] = 0;
        if (!err->empty())
          board_.fail("scheduler " + std::to_string(id_) + " lane " + std::to_string(l.lane) +
                      " (chain " + std::to_string(l.chain.chain) + "): " + *err);
        done[i] = 1;
        --left;
      }
    }
    totals_.writes.fetch_add(writes_, std::memory_order_relaxed);
    totals_.ops.fetch_add(ops_, std::memory_order_relaxed);
    scheduler_report r;
    r.scheduler = id_;
    for (size_t i = 0; i < lanes_.size(); ++i)
      r.lanes.push_back(lane_report{lanes_[i].chain.chain, lanes_[i].live, clean[i] != 0});
    r.write_latency_ns = std::move(latency_ns_);
    board_.finish(std::move(r));
  }

 private:
  /// Runs the lane's next step. Returns nothing to go on, "" when the lane
  /// is done, or an error text (write_failed: a write's outcome is unknown).
  std::optional<std::string> step(lane_plan& l, bool& write_failed) {
    switch (l.next(0)) {
      case lane_step::batch:
        return run_batch(l, write_failed);
      case lane_step::rollback:
        return run_rollback(l, write_failed);
      case lane_step::prune:
        return run_prune(l, write_failed);
      case lane_step::wait:  // never with nothing in flight
      case lane_step::done:
        break;
    }
    return std::string{};
  }

  std::optional<std::string> run_batch(lane_plan& l, bool& write_failed) {
    const auto what = " of batch " + std::to_string(l.batch.index());
    multi_get_reply r;
    if (auto st = read(spaces_.latest, l.batch.latest_read(), r); !st)
      return "latest_ptr read" + what + ": " + st.to_string();
    if (auto err = l.batch.on_latest(r.found, r.values)) return err;
    if (auto st = read(spaces_.data, l.batch.data_read(), r); !st)
      return "data read" + what + ": " + st.to_string();
    if (auto err = l.batch.on_data(r.found, r.values)) return err;
    if (auto st = write(l.batch.commit(spaces_, id_, l.lane, ctx_.summary.params.value_bytes));
        !st) {
      write_failed = true;
      return "commit" + what + ": " + st.to_string();
    }
    l.count_commit();
    auto& c = board_.counters;
    c.batches.fetch_add(1, std::memory_order_relaxed);
    c.transfers.fetch_add(l.batch.transfer_count(), std::memory_order_relaxed);
    return std::nullopt;
  }

  /// Reads every page of `plan`'s rollback_ptr scan (pages of `page`
  /// entries), then commits its write.
  template <class Plan>
  std::optional<std::string> scan_and_write(Plan& plan, uint32_t page, const std::string& what,
                                            bool& write_failed) {
    scan_reply r;
    while (!plan.done()) {
      if (auto st = scan(plan.next_scan(spaces_, page), r); !st)
        return "rollback_ptr scan" + what + ": " + st.to_string();
      if (auto err = plan.on_page(r)) return err;
    }
    if (auto st = write(plan.commit(spaces_, ctx_.cli.range_deletes)); !st) {
      write_failed = true;
      return "write" + what + ": " + st.to_string();
    }
    return std::nullopt;
  }

  std::optional<std::string> run_rollback(lane_plan& l, bool& write_failed) {
    auto first = batch_index(l.chain.chain, l.live - l.rollback.batches());
    auto what = " of rollback to batch " + std::to_string(first);
    if (auto err = scan_and_write(l.rollback, l.rollback_page(), what, write_failed)) return err;
    auto& c = board_.counters;
    c.rollbacks.fetch_add(1, std::memory_order_relaxed);
    c.rolled_back_batches.fetch_add(l.rollback.batches(), std::memory_order_relaxed);
    l.count_rollback();
    return std::nullopt;
  }

  std::optional<std::string> run_prune(lane_plan& l, bool& write_failed) {
    auto end = batch_index(l.chain.chain, l.pruned + l.prune.batches());
    auto what = " of prune to batch " + std::to_string(end);
    if (auto err = scan_and_write(l.prune, l.prune_page(), what, write_failed)) return err;
    auto& c = board_.counters;
    c.prunes.fetch_add(1, std::memory_order_relaxed);
    c.pruned_batches.fetch_add(l.prune.batches(), std::memory_order_relaxed);
    c.pruned_versions.fetch_add(l.prune.versions(), std::memory_order_relaxed);
    l.count_prune();
    return std::nullopt;
  }

  status read(space_id space, const std::vector<std::string>& keys, multi_get_reply& out) {
    count_read(keys.size());
    return db_.multi_get(space, keys, out);
  }

  status scan(const scan_request& req, scan_reply& out) {
    auto st = db_.scan(req, out);
    count_read(out.entries.size());
    return st;
  }

  void count_read(size_t keys) {
    auto& c = board_.counters;
    c.read_requests.fetch_add(1, std::memory_order_relaxed);
    c.read_keys.fetch_add(keys, std::memory_order_relaxed);
  }

  /// Commits `w`, timing the DB::Write (and the WriteBatch it builds).
  status write(const write_request& w) {
    auto t0 = clock_type::now();
    auto st = db_.write(w, ops_);
    if (!st) return st;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0);
    latency_ns_.push_back(static_cast<uint64_t>(ns.count()));
    ++writes_;
    board_.counters.writes.fetch_add(1, std::memory_order_relaxed);
    return {};
  }

  raw_store& db_;
  const run_context& ctx_;
  const space_set& spaces_;
  run_board& board_;
  write_totals& totals_;
  uint32_t id_;
  std::vector<lane_plan> lanes_;
  std::vector<uint64_t> latency_ns_;
  uint64_t writes_ = 0;
  uint64_t ops_ = 0;
};

/// Writes the genesis unless the database already holds a run.
int write_genesis(raw_store& db, run_context& ctx, const space_set& spaces) {
  std::optional<std::string> existing;
  if (auto st = db.get(spaces.metas, std::string{params_key}, existing); !st) {
    ctx.summary.error = "reading metas: " + st.to_string();
    return exit_failed;
  }
  if (existing)
    return usage_error("the store already holds a vstore-sim run; use a fresh --data-dir");
  size_t max_ops = std::min<size_t>(50000, ctx.store.limits.max_batch_ops);
  uint64_t ops = 0;
  for (auto& w : genesis(ctx.summary.params, spaces, max_ops)) {
    if (auto st = db.write(w, ops); !st) {
      ctx.summary.error = "genesis write: " + st.to_string();
      return exit_failed;
    }
  }
  return exit_verified;
}

/// Runs the schedulers' threads and fills the summary; returns the live
/// batches of every clean chain.
std::vector<std::optional<uint64_t>> run_workload(raw_store& db, run_context& ctx,
                                                  const space_set& spaces) {
  const auto& p = ctx.summary.params;
  run_board board;
  write_totals totals;
  std::vector<raw_scheduler> schedulers;
  schedulers.reserve(p.schedulers);
  for (uint32_t k = 0; k < p.schedulers; ++k)
    schedulers.emplace_back(db, ctx, spaces, board, totals, k);
  progress_meter meter{uint64_t{p.schedulers} * ctx.cli.batches, !ctx.cli.no_progress};
  auto started = clock_type::now();
  std::vector<std::thread> threads;
  threads.reserve(schedulers.size());
  for (auto& s : schedulers) threads.emplace_back([&s] { s.run(); });
  while (!board.wait(schedulers.size(), std::chrono::milliseconds(200)))
    meter.update(board.counters.batches.load(std::memory_order_relaxed),
                 clock_type::now() - started);
  for (auto& t : threads) t.join();
  meter.finish();
  auto expected = collect_run(board, started, ctx.summary);
  ctx.summary.db_writes = totals.writes.load();
  ctx.summary.db_ops = totals.ops.load();
  return expected;
}

/// Reads what the verification needs.
status load_image(raw_store& db, const space_set& s, store_image& img) {
  if (auto st = db.get(s.metas, std::string{params_key}, img.params); !st) return st;
  for (auto [space, out] : {std::pair{s.latest, &img.latest}, std::pair{s.data, &img.data},
                            std::pair{s.rollback, &img.rollback}, std::pair{s.meta, &img.meta}})
    if (auto st = db.read_all(space, *out); !st) return st;
  return {};
}

}  // namespace

int drive_raw(run_context& ctx) {
  auto& sum = ctx.summary;
  std::vector<std::string> names;
  for (const auto& sp : ctx.store.schema.spaces) names.push_back(sp.name);
  space_set spaces;
  if (auto missing = resolve_spaces(names, spaces))
    return usage_error("the store has no state space '" + *missing + "'");
  raw_store db;
  if (auto st = db.open(ctx.store); !st)
    return usage_error("cannot open the database: " + st.to_string());
  auto t0 = clock_type::now();
  if (auto rc = write_genesis(db, ctx, spaces); rc != exit_verified) return rc;
  sum.genesis_s = seconds_since(t0);
  if (ctx.after_genesis) ctx.after_genesis();
  auto expected = run_workload(db, ctx, spaces);
  if (ctx.after_workload) ctx.after_workload();
  t0 = clock_type::now();
  store_image img;
  if (auto st = load_image(db, spaces, img); !st) {
    sum.verify_error = st.to_string();
  } else {
    sum.verify = check(img, expected);
    sum.verified = true;
  }
  sum.verify_s = seconds_since(t0);
  t0 = clock_type::now();
  if (auto st = db.close(); !st && sum.error.empty()) sum.error = st.to_string();
  sum.drain_s = seconds_since(t0);
  return sum.ok() ? exit_verified : exit_failed;
}

}  // namespace vstore::sim
