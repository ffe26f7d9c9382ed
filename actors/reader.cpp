#include "actors/reader.hpp"

#include <caf/all.hpp>

#include "actors/exceptions.hpp"
#include "actors/snapshot_table.hpp"

namespace vstore {

namespace {

/// The error category of would_wait_error (internal to the manager and its
/// readers, so not an errc).
constexpr auto would_wait_category = caf::atom("vs_wait");

/// Runs the blocking read, or for a cache-only reader its try_ twin
/// (std::nullopt: it would wait).
template <class Blocking, class Cached>
std::optional<status> read_with(bool cache_only, Blocking&& blocking, Cached&& cached) {
  if (cache_only) return cached();
  return blocking();
}

}  // namespace

caf::error would_wait_error() { return caf::error{uint8_t{1}, would_wait_category}; }

bool is_would_wait(const caf::error& e) { return e && e.category() == would_wait_category; }

multi_get_reply to_reply(std::vector<std::optional<std::string>>&& values) {
  multi_get_reply out;
  out.found.reserve(values.size());
  out.values.reserve(values.size());
  for (auto& v : values) {
    out.found.push_back(v ? 1 : 0);
    out.values.push_back(v ? std::move(*v) : std::string{});
  }
  return out;
}

reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::shared_ptr<const store> backend, space_id space,
                                   std::shared_ptr<fault_hooks> hooks, bool cache_only) {
  self->state.backend = std::move(backend);
  self->state.space = space;
  self->state.hooks = std::move(hooks);
  self->state.cache_only = cache_only;
  self->set_exception_handler(exception_to_error);
  // Lets go of the store before it goes down: the manager closes the store
  // once its children are down.
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (!m.reason) return;
    self->state.backend.reset();
    self->quit(m.reason);
  });
  auto before_read = [self] {
    if (self->state.hooks) self->state.hooks->on_read(self->state.space);
  };
  auto multi_get = [self,
                    before_read](const multi_get_request& req) -> caf::result<multi_get_reply> {
    before_read();
    std::vector<std::optional<std::string>> values;
    const auto& b = *self->state.backend;
    auto st = read_with(
        self->state.cache_only, [&] { return b.multi_get(req.space, req.keys, values); },
        [&] { return b.try_multi_get(req.space, req.keys, values); });
    if (!st) return would_wait_error();
    if (!*st) return to_error(*st);
    return to_reply(std::move(values));
  };
  return {
      [=](get_request& req) -> caf::result<get_reply> {
        before_read();
        get_reply out;
        const auto& b = *self->state.backend;
        auto st = read_with(
            self->state.cache_only, [&] { return b.get(req.space, req.key, out.value, out.found); },
            [&] { return b.try_get(req.space, req.key, out.value, out.found); });
        if (!st) return would_wait_error();
        if (!*st) return to_error(*st);
        return out;
      },
      [=](multi_get_request& req) { return multi_get(req); },
      [=](scan_request& req) -> caf::result<scan_reply> {
        before_read();
        scan_page page;
        const auto& b = *self->state.backend;
        auto st = read_with(
            self->state.cache_only,
            [&] { return b.scan(req.space, req.prefix, req.start_after, req.limit, page); },
            [&] { return b.try_scan(req.space, req.prefix, req.start_after, req.limit, page); });
        if (!st) return would_wait_error();
        if (!*st) return to_error(*st);
        return scan_reply{std::move(page.entries), page.more};
      },
      [=](key_batch& batch) { return multi_get(*batch.keys); },
      [=](scan_batch& batch) -> scan_batch_reply {
        before_read();
        const auto& scans = *batch.scans;
        const auto& b = *self->state.backend;
        scan_batch_reply out;
        out.outcomes.resize(scans.size());
        out.pages.resize(scans.size());
        for (size_t i = 0; i < scans.size(); ++i) {
          const auto& req = scans[i];
          scan_page page;
          out.outcomes[i] = read_with(
              self->state.cache_only,
              [&] { return b.scan(req.space, req.prefix, req.start_after, req.limit, page); },
              [&] { return b.try_scan(req.space, req.prefix, req.start_after, req.limit, page); });
          if (out.outcomes[i] && *out.outcomes[i])
            out.pages[i] = scan_reply{std::move(page.entries), page.more};
        }
        return out;
      },
      [=](snapshot_job& job) -> caf::result<snapshot_read_reply> {
        before_read();
        snapshot_read_reply out;
        auto st = read_with(
            self->state.cache_only, [&] { return read_items(*job.view, job.items, out.results); },
            [&] { return try_read_items(*job.view, job.items, out.results); });
        if (!st) return would_wait_error();
        if (!*st) return to_error(*st);
        out.seq = job.view->sequence();
        out.snapshot = job.id;
        return out;
      },
  };
}

}  // namespace vstore
