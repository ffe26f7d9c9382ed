#include "actors/reader.hpp"

#include <caf/all.hpp>

#include "actors/exceptions.hpp"

namespace vstore {

reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::shared_ptr<const store> backend, space_id space,
                                   std::shared_ptr<fault_hooks> hooks) {
  self->state.backend = std::move(backend);
  self->state.space = space;
  self->state.hooks = std::move(hooks);
  self->set_exception_handler(exception_to_error);
  auto before_read = [self] {
    if (self->state.hooks) self->state.hooks->on_read(self->state.space);
  };
  return {
      [=](get_request& req) -> caf::result<get_reply> {
        before_read();
        get_reply out;
        auto st = self->state.backend->get(req.space, req.key, out.value, out.found);
        if (!st) return to_error(st);
        return out;
      },
      [=](multi_get_request& req) -> caf::result<multi_get_reply> {
        before_read();
        std::vector<std::optional<std::string>> values;
        auto st = self->state.backend->multi_get(req.space, req.keys, values);
        if (!st) return to_error(st);
        multi_get_reply out;
        out.found.reserve(values.size());
        out.values.reserve(values.size());
        for (auto& v : values) {
          out.found.push_back(v ? 1 : 0);
          out.values.push_back(v ? std::move(*v) : std::string{});
        }
        return out;
      },
      [=](scan_request& req) -> caf::result<scan_reply> {
        before_read();
        scan_page page;
        auto st =
            self->state.backend->scan(req.space, req.prefix, req.start_after, req.limit, page);
        if (!st) return to_error(st);
        return scan_reply{std::move(page.entries), page.more};
      },
  };
}

}  // namespace vstore
