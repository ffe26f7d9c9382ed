#pragma once

// Deliberately broken stores (design §3, rule 12: every proof can fail).
// Each decorator wraps a real backend (memory or RocksDB) and has exactly one
// defect; tests/reliability/broken_store_test.cpp runs the check meant to
// catch each defect against it and against the healthy forwarding_store, and
// expects the check to pass on the healthy store and to report the broken one.
//
//   split_commit              a multi-space batch becomes one commit per space
//   drop_space_part           one space's ops vanish from multi-space batches
//   ack_before_apply          commit answers at once, applies on the next
//                             commit or sync; a crash loses acknowledged writes
//   swap_commits              one commit of a space is held and applied after
//                             the next one of that space
//   drop_del_range            delete_range is ignored
//   stale_reads               reads are served as of N commits ago
//   lose_last_round_at_reopen the last acknowledged commit is gone after reopen
//   live_snapshots            a snapshot reads the live store (no snapshot)
//
// Every decorator hands out its own batch type (recording_batch), which
// forwards each operation to a batch of the inner store and remembers it, so
// the decorator can commit the batch as is (healthy) or replay a changed copy.
// Nothing here sleeps; every wait is bounded.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/memory/memory_store.hpp"
#include "vstore/store.hpp"

namespace vstore::test {

/// One operation of a batch, as the caller added it.
struct recorded_op {
  enum class kind : uint8_t { put, del, del_range };
  kind what = kind::put;
  space_id space = 0;
  /// The key (put, del) or the range's begin (del_range).
  std::string key;
  /// The value (put) or the range's end (del_range).
  std::string value;
};

/// Adds `op` to `b`.
inline void replay(const recorded_op& op, write_batch& b) {
  switch (op.what) {
    case recorded_op::kind::put:
      b.put(op.space, op.key, op.value);
      break;
    case recorded_op::kind::del:
      b.del(op.space, op.key);
      break;
    case recorded_op::kind::del_range:
      b.delete_range(op.space, op.key, op.value);
      break;
  }
}

/// Returns the distinct spaces `ops` touch, in order of first appearance.
inline std::vector<space_id> spaces_of(const std::vector<recorded_op>& ops) {
  std::vector<space_id> out;
  for (const auto& op : ops)
    if (std::find(out.begin(), out.end(), op.space) == out.end()) out.push_back(op.space);
  return out;
}

/// A batch of a forwarding_store: forwards every operation to a batch of the
/// inner store (which validates it, counts it and predicts its sequence) and
/// records it in order.
class recording_batch final : public write_batch {
 public:
  recording_batch(std::unique_ptr<write_batch> inner, const store* owner)
      : inner_(std::move(inner)), owner_(owner) {}

  void put(space_id space, std::string_view key, std::string_view value) override {
    ops_.push_back({recorded_op::kind::put, space, std::string{key}, std::string{value}});
    inner_->put(space, key, value);
  }
  void del(space_id space, std::string_view key) override {
    ops_.push_back({recorded_op::kind::del, space, std::string{key}, {}});
    inner_->del(space, key);
  }
  void delete_range(space_id space, std::string_view begin, std::string_view end) override {
    ops_.push_back({recorded_op::kind::del_range, space, std::string{begin}, std::string{end}});
    inner_->delete_range(space, begin, end);
  }
  size_t count() const noexcept override { return inner_->count(); }
  size_t byte_size() const noexcept override { return inner_->byte_size(); }
  const status& error() const noexcept override { return inner_->error(); }

  /// Returns the operations in the order they were added.
  const std::vector<recorded_op>& ops() const noexcept { return ops_; }
  /// Returns the inner store's batch holding the same operations.
  write_batch& inner() noexcept { return *inner_; }
  const write_batch& inner() const noexcept { return *inner_; }
  /// Returns the store that made the batch.
  const store* owner() const noexcept { return owner_; }

 private:
  std::unique_ptr<write_batch> inner_;
  const store* owner_;
  std::vector<recorded_op> ops_;
};

/// The healthy decorator: forwards everything to the inner store and commits
/// each batch as it is. The defects below derive from it and override one
/// thing. Reads may run concurrently with commits; reopen() must not.
class forwarding_store : public store {
 public:
  /// Closes the inner store (the shared pointer must be its only owner) and
  /// opens it again from its durable state. For RocksDB: reset, then open the
  /// same directory; for the memory backend: keep the store (it stands for the
  /// durable state).
  using reopen_fn = std::function<status(std::shared_ptr<store>& inner)>;

  explicit forwarding_store(std::shared_ptr<store> inner, reopen_fn reopen = {})
      : inner_(std::move(inner)), reopen_(std::move(reopen)) {}

  /// Returns a short name of the defect ("healthy" here).
  virtual const char* defect() const noexcept { return "healthy"; }

  /// Simulates a process that stops without a clean shutdown (no sync) and is
  /// started again: the inner store is closed and reopened. Call it while no
  /// other thread uses the store.
  virtual status reopen() {
    std::lock_guard<std::mutex> g{commit_mtx_};
    return reopen_inner();
  }

  const vstore::schema& schema() const noexcept override { return inner_->schema(); }
  std::unique_ptr<vstore::write_batch> make_batch() const override {
    return std::make_unique<recording_batch>(inner_->make_batch(), this);
  }
  status commit(vstore::write_batch& batch, uint64_t& seq) override {
    auto* rb = dynamic_cast<recording_batch*>(&batch);
    if (rb == nullptr || rb->owner() != this)
      return {errc::invalid_argument, "batch of another store"};
    if (!rb->error()) return rb->error();
    std::lock_guard<std::mutex> g{commit_mtx_};
    return commit_recorded(*rb, seq);
  }
  uint64_t latest_sequence() const noexcept override { return inner_->latest_sequence(); }
  using store::next_sequence;
  uint64_t next_sequence(const vstore::write_batch& batch, size_t pending) const override {
    if (auto* rb = dynamic_cast<const recording_batch*>(&batch))
      return inner_->next_sequence(rb->inner(), pending);
    return inner_->next_sequence(batch, pending);
  }
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    return inner_->get(space, key, value, found);
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    return inner_->multi_get(space, keys, values);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    return inner_->scan(space, prefix, start_after, limit, page);
  }
  status snapshot(std::shared_ptr<const read_view>& out) const override {
    return inner_->snapshot(out);
  }
  status sync() override {
    std::lock_guard<std::mutex> g{commit_mtx_};
    return sync_locked();
  }
  health_state state() const noexcept override { return inner_->state(); }
  store_health health() const override { return inner_->health(); }
  status recover() override { return inner_->recover(); }

 protected:
  /// Commits a valid batch of this store; called with commit_mtx_ held.
  virtual status commit_recorded(recording_batch& b, uint64_t& seq) {
    return inner_->commit(b.inner(), seq);
  }
  /// Syncs; called with commit_mtx_ held.
  virtual status sync_locked() { return inner_->sync(); }

  /// Commits `ops` (those `keep` accepts) to the inner store as one new batch.
  status commit_ops(const std::vector<recorded_op>& ops, uint64_t& seq,
                    const std::function<bool(const recorded_op&)>& keep = {}) {
    auto b = inner_->make_batch();
    for (const auto& op : ops)
      if (!keep || keep(op)) replay(op, *b);
    return inner_->commit(*b, seq);
  }

  /// Reopens the inner store through reopen_ (nothing to do without one).
  status reopen_inner() { return reopen_ ? reopen_(inner_) : status{}; }

  std::shared_ptr<store> inner_;
  reopen_fn reopen_;
  /// Serializes commits, syncs and reopens of the decorator.
  std::mutex commit_mtx_;
};

/// Where split_commit stops between the parts of a split batch until an
/// observer has looked at the store: makes the window of the defect
/// deterministic instead of a matter of timing.
class pause_point {
 public:
  /// Called by the store: announces a pause and waits until resume() (at
  /// most `max_wait`).
  void pause(std::chrono::milliseconds max_wait = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> g{mtx_};
    const uint64_t mine = ++announced_;
    cv_.wait_for(g, max_wait, [&] { return resumed_ >= mine; });
    resumed_ = std::max(resumed_, mine);
  }
  /// Returns whether the store waits in pause() now.
  bool paused() const {
    std::lock_guard<std::mutex> g{mtx_};
    return announced_ > resumed_;
  }
  /// Lets a waiting pause() return.
  void resume() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      resumed_ = announced_;
    }
    cv_.notify_all();
  }
  /// Returns how many pauses were announced.
  uint64_t pauses() const {
    std::lock_guard<std::mutex> g{mtx_};
    return announced_;
  }

 private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t announced_ = 0;
  uint64_t resumed_ = 0;
};

/// (a) Commits a multi-space batch as one inner commit per space (in the
/// order the spaces first appear in the batch), and acknowledges after the
/// last one. Between two parts it stops at its pause_point, if it has one.
class split_commit final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "split_commit"; }
  /// Stops between parts at `p` from now on.
  void set_pause(std::shared_ptr<pause_point> p) { pause_ = std::move(p); }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    auto parts = spaces_of(b.ops());
    if (parts.size() < 2) return forwarding_store::commit_recorded(b, seq);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0 && pause_) pause_->pause();
      auto st =
          commit_ops(b.ops(), seq, [&](const recorded_op& op) { return op.space == parts[i]; });
      if (!st) return st;
    }
    return {};
  }

 private:
  std::shared_ptr<pause_point> pause_;
};

/// (b) Drops the operations of one space from every batch that touches
/// several spaces (a single-space batch is committed whole).
class drop_space_part final : public forwarding_store {
 public:
  drop_space_part(std::shared_ptr<store> inner, space_id dropped, reopen_fn reopen = {})
      : forwarding_store(std::move(inner), std::move(reopen)), dropped_(dropped) {}
  const char* defect() const noexcept override { return "drop_space_part"; }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    if (spaces_of(b.ops()).size() < 2) return forwarding_store::commit_recorded(b, seq);
    return commit_ops(b.ops(), seq, [this](const recorded_op& op) { return op.space != dropped_; });
  }

 private:
  space_id dropped_;
};

/// (c) Acknowledges a commit at once and applies it later: right before the
/// next commit, or on sync(). A crash (reopen() without a sync) loses the
/// acknowledged, unapplied batch.
class ack_before_apply final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "ack_before_apply"; }
  status reopen() override {
    std::lock_guard<std::mutex> g{commit_mtx_};
    pending_.reset();  // the crash: what was acknowledged but not applied is gone
    return reopen_inner();
  }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    if (auto st = apply_pending(); !st) return st;
    if (b.ops().empty()) return forwarding_store::commit_recorded(b, seq);
    seq = inner_->next_sequence(b.inner(), 0);  // what applying it next will answer
    pending_ = b.ops();
    return {};
  }
  status sync_locked() override {
    if (auto st = apply_pending(); !st) return st;
    return inner_->sync();
  }

 private:
  status apply_pending() {
    if (!pending_) return {};
    uint64_t seq = 0;
    auto st = commit_ops(*pending_, seq);
    pending_.reset();
    return st;
  }
  std::optional<std::vector<recorded_op>> pending_;
};

/// (d) Holds the `nth` commit (1-based) that touches `space`, acknowledges it
/// at once, and applies it right after the next commit that touches `space`
/// (or on sync): two consecutive commits of the space land swapped.
class swap_commits final : public forwarding_store {
 public:
  swap_commits(std::shared_ptr<store> inner, space_id space, int nth, reopen_fn reopen = {})
      : forwarding_store(std::move(inner), std::move(reopen)), space_(space), nth_(nth) {}
  const char* defect() const noexcept override { return "swap_commits"; }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    const auto touched = spaces_of(b.ops());
    if (std::find(touched.begin(), touched.end(), space_) == touched.end())
      return forwarding_store::commit_recorded(b, seq);
    if (++seen_ == nth_) {
      seq = inner_->next_sequence(b.inner(), 0);
      held_ = b.ops();
      return {};
    }
    auto st = forwarding_store::commit_recorded(b, seq);
    if (!st) return st;
    return apply_held();
  }
  status sync_locked() override {
    if (auto st = apply_held(); !st) return st;
    return inner_->sync();
  }

 private:
  status apply_held() {
    if (!held_) return {};
    uint64_t seq = 0;
    auto st = commit_ops(*held_, seq);
    held_.reset();
    return st;
  }
  space_id space_;
  int nth_;
  int seen_ = 0;
  std::optional<std::vector<recorded_op>> held_;
};

/// (e) Ignores delete_range: every other operation of the batch is committed.
class drop_del_range final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "drop_del_range"; }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    return commit_ops(b.ops(), seq, [](const recorded_op& op) {
      return op.what != recorded_op::kind::del_range;
    });
  }
};

/// (f) Serves get, multi_get and scan from a shadow memory store that receives
/// each commit `lag` commits late: a read sees the data as of `lag` commits
/// ago. Commits go to the inner store as they should.
class stale_reads final : public forwarding_store {
 public:
  stale_reads(std::shared_ptr<store> inner, size_t lag = 1, reopen_fn reopen = {})
      : forwarding_store(std::move(inner), std::move(reopen)),
        shadow_(make_memory_store(inner_->schema())),
        lag_(lag) {}
  const char* defect() const noexcept override { return "stale_reads"; }

  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    return shadow_->get(space, key, value, found);
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    return shadow_->multi_get(space, keys, values);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    return shadow_->scan(space, prefix, start_after, limit, page);
  }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    auto st = forwarding_store::commit_recorded(b, seq);
    if (!st || b.ops().empty()) return st;
    late_.push_back(b.ops());
    while (late_.size() > lag_) {
      auto sb = shadow_->make_batch();
      for (const auto& op : late_.front()) replay(op, *sb);
      uint64_t shadow_seq = 0;
      if (auto sst = shadow_->commit(*sb, shadow_seq); !sst) return sst;
      late_.pop_front();
    }
    return st;
  }

 private:
  std::unique_ptr<memory_store> shadow_;
  size_t lag_;
  std::deque<std::vector<recorded_op>> late_;
};

/// (g) Remembers how to undo its last non-empty commit (the previous values
/// of every key it touched, read right before it) and undoes it on reopen():
/// the last acknowledged commit is gone after a restart.
class lose_last_round_at_reopen final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "lose_last_round_at_reopen"; }
  status reopen() override {
    std::lock_guard<std::mutex> g{commit_mtx_};
    if (auto st = reopen_inner(); !st) return st;
    if (undo_.empty()) return {};
    uint64_t seq = 0;
    auto st = commit_ops(undo_, seq);
    undo_.clear();
    return st;
  }

 protected:
  status commit_recorded(recording_batch& b, uint64_t& seq) override {
    if (b.ops().empty()) return forwarding_store::commit_recorded(b, seq);
    std::vector<recorded_op> undo;
    if (auto st = undo_of(b.ops(), undo); !st) return st;
    auto st = forwarding_store::commit_recorded(b, seq);
    if (st) undo_ = std::move(undo);
    return st;
  }

 private:
  /// Fills `undo` with ops that restore every key `ops` touches to its value
  /// now (a put of the old value, or a del of a key that did not exist).
  status undo_of(const std::vector<recorded_op>& ops, std::vector<recorded_op>& undo) const {
    std::set<std::pair<space_id, std::string>> seen;
    auto restore = [&](space_id space, const std::string& key, const std::string* old) {
      if (!seen.emplace(space, key).second) return;
      if (old)
        undo.push_back({recorded_op::kind::put, space, key, *old});
      else
        undo.push_back({recorded_op::kind::del, space, key, {}});
    };
    for (const auto& op : ops) {
      if (op.what != recorded_op::kind::del_range) {
        std::string value;
        bool found = false;
        if (auto st = inner_->get(op.space, op.key, value, found); !st) return st;
        restore(op.space, op.key, found ? &value : nullptr);
        continue;
      }
      // Every key in [begin, end) now (a whole-space scan: test stores are small).
      std::string after;
      for (int page_no = 0; page_no < 100000; ++page_no) {
        scan_page page;
        if (auto st = inner_->scan(op.space, "", after, 1000, page); !st) return st;
        for (const auto& kv : page.entries)
          if (kv.key >= op.key && kv.key < op.value) restore(op.space, kv.key, &kv.value);
        if (!page.more || page.entries.empty()) break;
        after = page.entries.back().key;
      }
    }
    return {};
  }

  std::vector<recorded_op> undo_;
};

/// A read_view whose get and scan are those of `Inner` (a store or a view);
/// the views of the broken stores below change the rest.
template <class Inner>
class view_over : public read_view {
 public:
  explicit view_over(std::shared_ptr<const Inner> in) : in_(std::move(in)) {}
  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    return in_->get(space, key, value, found);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    return in_->scan(space, prefix, start_after, limit, page);
  }

 protected:
  std::shared_ptr<const Inner> in_;
};

/// snapshot() hands out a view that reads the live store: each read sees the
/// commits made up to that read, so two reads of one "snapshot" can see
/// different states (snapshot_read_test catches it).
class live_snapshots final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "live_snapshots"; }

  status snapshot(std::shared_ptr<const read_view>& out) const override {
    out = std::make_shared<live_view>(inner_);
    return {};
  }

 private:
  class live_view final : public view_over<store> {
   public:
    using view_over::view_over;
    uint64_t sequence() const noexcept override { return in_->latest_sequence(); }
  };
};

/// Snapshot views whose cache-only reads answer "absent" (an empty page)
/// where the real view would have to read the disk: the manager's and the
/// cache-only readers' first try then claims that stored keys do not exist,
/// instead of handing the read on to a reader that may block. Caught by
/// SnapshotReadCache.AStoreWhoseViewsCacheOnlyReadsLieIsCaught.
class cache_blind_views final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  const char* defect() const noexcept override { return "cache_blind_views"; }

  status snapshot(std::shared_ptr<const read_view>& out) const override {
    std::shared_ptr<const read_view> real;
    if (auto st = inner_->snapshot(real); !st) return st;
    out = std::make_shared<blind_view>(std::move(real));
    return {};
  }

 private:
  class blind_view final : public view_over<read_view> {
   public:
    using view_over::view_over;
    std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                  bool& found) const override {
      if (auto r = in_->try_get(space, key, value, found)) return r;
      value.clear();
      found = false;
      return status{};
    }
    std::optional<status> try_multi_get(
        space_id space, const std::vector<std::string>& keys,
        std::vector<std::optional<std::string>>& values) const override {
      if (auto r = in_->try_multi_get(space, keys, values)) return r;
      values.assign(keys.size(), std::nullopt);
      return status{};
    }
    std::optional<status> try_scan(space_id space, std::string_view prefix,
                                   std::string_view start_after, size_t limit,
                                   scan_page& page) const override {
      if (auto r = in_->try_scan(space, prefix, start_after, limit, page)) return r;
      page = scan_page{};
      return status{};
    }
    uint64_t sequence() const noexcept override { return in_->sequence(); }
  };
};

}  // namespace vstore::test
