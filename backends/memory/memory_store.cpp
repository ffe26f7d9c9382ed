#include "backends/memory/memory_store.hpp"

#include <exception>
#include <mutex>
#include <utility>

namespace vstore {

namespace {

/// One recorded operation of a memory batch.
struct memory_op {
  enum class kind : uint8_t { put, del, del_range };
  kind what;
  space_id space;
  std::string key;    // the key, or the range's begin
  std::string value;  // the value, or the range's end
};

/// A write batch that records operations for memory_store::commit.
class memory_batch final : public write_batch {
 public:
  memory_batch(const memory_store* owner, const vstore::schema& s) : owner_(owner), schema_(s) {}

  void put(space_id space, std::string_view key, std::string_view value) override {
    if (!accept(space, key)) return;
    add(memory_op::kind::put, space, key, value);
  }

  void del(space_id space, std::string_view key) override {
    if (!accept(space, key)) return;
    add(memory_op::kind::del, space, key, {});
  }

  void delete_range(space_id space, std::string_view begin, std::string_view end) override {
    if (!accept(space, begin) || !accept(space, end)) return;
    if (begin > end) {
      error_ = status{errc::invalid_argument,
                      "delete_range end before begin in space " + space_name(schema_, space)};
      return;
    }
    add(memory_op::kind::del_range, space, begin, end);
  }

  size_t count() const noexcept override { return ops_.size(); }
  size_t byte_size() const noexcept override { return bytes_; }
  const status& error() const noexcept override { return error_; }

  const memory_store* owner() const noexcept { return owner_; }
  const std::vector<memory_op>& ops() const noexcept { return ops_; }

 private:
  bool accept(space_id space, std::string_view key) {
    if (!error_) return false;
    error_ = check_op(schema_, space, key);
    return error_.is_ok();
  }

  void add(memory_op::kind what, space_id space, std::string_view a, std::string_view b) {
    ops_.push_back(memory_op{what, space, std::string{a}, std::string{b}});
    bytes_ += a.size() + b.size();
  }

  const memory_store* owner_;
  const vstore::schema& schema_;
  std::vector<memory_op> ops_;
  size_t bytes_ = 0;
  status error_;
};

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

memory_store::memory_store(vstore::schema s) : schema_(std::move(s)), spaces_(schema_.size()) {}

memory_store::~memory_store() = default;

status memory_store::get(space_id space, std::string_view key, std::string& value,
                         bool& found) const {
  found = false;
  if (auto st = check_op(schema_, space, key); !st) return st;
  std::shared_lock lock{mutex_};
  const auto& m = map_of(space);
  if (auto i = m.find(key); i != m.end()) {
    value = i->second;
    found = true;
  }
  return {};
}

status memory_store::multi_get(space_id space, const std::vector<std::string>& keys,
                               std::vector<std::optional<std::string>>& values) const {
  values.clear();
  for (const auto& k : keys)
    if (auto st = check_op(schema_, space, k); !st) return st;
  values.reserve(keys.size());
  std::shared_lock lock{mutex_};
  const auto& m = map_of(space);
  for (const auto& k : keys) {
    if (auto i = m.find(k); i != m.end())
      values.emplace_back(i->second);
    else
      values.emplace_back(std::nullopt);
  }
  return {};
}

status memory_store::scan(space_id space, std::string_view prefix, std::string_view start_after,
                          size_t limit, scan_page& page) const {
  page.entries.clear();
  page.more = false;
  if (!accepts_space(schema_, space))
    return {errc::unknown_space, "space id " + std::to_string(space)};
  if (limit == 0) return {errc::invalid_argument, "scan limit 0"};
  // Start at the prefix, or at start_after when it lies inside or beyond it.
  std::string_view from = prefix;
  if (!start_after.empty() && start_after > prefix) {
    // A start_after above the prefix that does not start with it is greater
    // than every key with the prefix: the page is empty.
    if (!starts_with(start_after, prefix)) return {};
    from = start_after;
  }
  std::shared_lock lock{mutex_};
  const auto& m = map_of(space);
  auto i = m.lower_bound(from);
  if (!start_after.empty() && i != m.end() && i->first == start_after) ++i;
  for (; i != m.end() && starts_with(i->first, prefix); ++i) {
    if (page.entries.size() == limit) {
      page.more = true;
      break;
    }
    page.entries.push_back(key_value{i->first, i->second});
  }
  return {};
}

std::unique_ptr<write_batch> memory_store::make_batch() const {
  return std::make_unique<memory_batch>(this, schema_);
}

status memory_store::commit(write_batch& batch, uint64_t& seq) {
  auto* b = dynamic_cast<memory_batch*>(&batch);
  if (b == nullptr || b->owner() != this)
    return {errc::invalid_argument, "batch was not made by this memory store"};
  if (!b->error()) return b->error();
  if (b->count() == 0) {
    seq = seq_.load();
    return {};
  }
  try {
    std::unique_lock lock{mutex_};
    for (const auto& op : b->ops()) {
      auto& m = map_of(op.space);
      switch (op.what) {
        case memory_op::kind::put:
          m.insert_or_assign(op.key, op.value);
          break;
        case memory_op::kind::del:
          if (auto i = m.find(op.key); i != m.end()) m.erase(i);
          break;
        case memory_op::kind::del_range:
          m.erase(m.lower_bound(op.key), m.lower_bound(op.value));
          break;
      }
    }
    seq = seq_.fetch_add(1) + 1;
  } catch (const std::exception& e) {
    // Only an allocation failure can land here; the batch may be partly applied.
    return {errc::internal, std::string{"memory store commit: "} + e.what()};
  }
  return {};
}

uint64_t memory_store::latest_sequence() const noexcept { return seq_.load(); }

uint64_t memory_store::next_sequence(const write_batch& batch, size_t pending_ops) const {
  // The rule of commit(): a non-empty batch advances the sequence by one.
  const uint64_t latest = seq_.load();
  return batch.count() + pending_ops == 0 ? latest : latest + 1;
}

namespace {

/// A copy of a memory store as a read_view.
class memory_view final : public read_view {
 public:
  memory_view(std::unique_ptr<memory_store> copy, uint64_t seq)
      : copy_(std::move(copy)), seq_(seq) {}

  status get(space_id space, std::string_view key, std::string& value, bool& found) const override {
    return copy_->get(space, key, value, found);
  }
  status multi_get(space_id space, const std::vector<std::string>& keys,
                   std::vector<std::optional<std::string>>& values) const override {
    return copy_->multi_get(space, keys, values);
  }
  status scan(space_id space, std::string_view prefix, std::string_view start_after, size_t limit,
              scan_page& page) const override {
    return copy_->scan(space, prefix, start_after, limit, page);
  }
  std::optional<status> try_get(space_id space, std::string_view key, std::string& value,
                                bool& found) const override {
    return get(space, key, value, found);
  }
  std::optional<status> try_multi_get(
      space_id space, const std::vector<std::string>& keys,
      std::vector<std::optional<std::string>>& values) const override {
    return multi_get(space, keys, values);
  }
  std::optional<status> try_scan(space_id space, std::string_view prefix,
                                 std::string_view start_after, size_t limit,
                                 scan_page& page) const override {
    return scan(space, prefix, start_after, limit, page);
  }
  uint64_t sequence() const noexcept override { return seq_; }

 private:
  std::unique_ptr<memory_store> copy_;
  uint64_t seq_;
};

}  // namespace

status memory_store::snapshot(std::shared_ptr<const read_view>& out) const {
  try {
    auto copy = std::make_unique<memory_store>(schema_);
    uint64_t seq = 0;
    {
      std::shared_lock lock{mutex_};
      copy->spaces_ = spaces_;
      copy->system_ = system_;
      seq = seq_.load();
    }
    copy->seq_ = seq;
    out = std::make_shared<memory_view>(std::move(copy), seq);
  } catch (const std::exception& e) {
    return {errc::internal, std::string{"memory store snapshot: "} + e.what()};
  }
  return {};
}

memory_store::space_map& memory_store::map_of(space_id space) noexcept {
  return space == system_space ? system_ : spaces_[space];
}

const memory_store::space_map& memory_store::map_of(space_id space) const noexcept {
  return space == system_space ? system_ : spaces_[space];
}

std::unique_ptr<memory_store> make_memory_store(vstore::schema s) {
  return std::make_unique<memory_store>(std::move(s));
}

}  // namespace vstore
