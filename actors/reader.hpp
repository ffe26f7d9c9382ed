#pragma once

#include <memory>

#include "actors/fault_hooks.hpp"
#include "messages/protocol.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// The state of a reader: the backend it reads (shared, thread-safe reads).
struct reader_state {
  std::shared_ptr<const store> backend;
  space_id space = 0;
  std::shared_ptr<fault_hooks> hooks;
  static inline const char* name = "vstore.reader";
};

/// A reader of one space. Every read runs against the backend in the handler
/// and answers the value or a vstore error. The manager validates requests
/// before they get here; a reader checks nothing twice.
reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::shared_ptr<const store> backend, space_id space,
                                   std::shared_ptr<fault_hooks> hooks);

}  // namespace vstore
