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
  /// Answer only what the store can read without waiting (store::try_get and
  /// its twins); anything else gets would_wait_error().
  bool cache_only = false;
  static inline const char* name = "vstore.reader";
};

/// A reader of one space. Every read runs against the backend in the handler
/// and answers the value or a vstore error. The manager validates requests
/// before they get here; a reader checks nothing twice. A `cache_only`
/// reader runs on the scheduler (reader.cache-first) and answers a read that
/// would wait for the disk with would_wait_error(), for the manager to send
/// it on to a reader that may wait.
reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::shared_ptr<const store> backend, space_id space,
                                   std::shared_ptr<fault_hooks> hooks, bool cache_only);

/// The answer of a cache-only reader to a read it cannot make without waiting
/// (never leaves the process: the manager sends the read on).
caf::error would_wait_error();

/// Returns whether `e` is would_wait_error().
bool is_would_wait(const caf::error& e);

/// The reply to a multi_get whose backend read answered `values`.
multi_get_reply to_reply(std::vector<std::optional<std::string>>&& values);

}  // namespace vstore
