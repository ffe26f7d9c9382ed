#pragma once

// The state behind vstore::client, shared by the embedded client (client.cpp)
// and the remote client (remote_client.cpp).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include <caf/all.hpp>

#include "vstore/client.hpp"
#include "vstore/manager.hpp"

namespace vstore {

struct client::impl {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// Embedded: the manager. Remote: the link actor that forwards to the
  /// remote manager and fails pending calls when the connection dies.
  manager_actor mgr;
  std::mutex mtx;
  caf::timespan timeout{};
  bool embedded = false;
  caf::timespan drain_timeout{};
  /// Remote only: runs under `mtx` before every call; reconnects when the
  /// connection was lost. Empty when embedded.
  std::function<status(impl&)> reconnect;
  /// Remote only: added to the wait for `mgr`'s reply, because the link actor
  /// itself waits up to the call's timeout for the server.
  caf::timespan margin{};
  /// Automatic retries of an in-doubt write (settings::write_retries).
  uint32_t write_retries = 3;
  /// The highest sequence number this client has seen the store reach: the
  /// not_before_seq of its outcome requests.
  std::atomic<uint64_t> known_seq{0};
  /// Token generation: a random 8-byte prefix per client and a counter.
  std::string token_prefix;
  std::atomic<uint64_t> token_counter{0};

  /// Returns a token no other client or call of this one uses.
  std::string new_token() {
    if (token_prefix.empty()) {
      std::random_device rd;
      std::mt19937_64 gen{(uint64_t{rd()} << 32) ^ rd()};
      auto x = gen();
      token_prefix.assign(8, '\0');
      for (int i = 0; i < 8; ++i)
        token_prefix[static_cast<size_t>(i)] = static_cast<char>(x >> (8 * i));
    }
    auto n = token_counter.fetch_add(1) + 1;
    std::string t = token_prefix;
    for (int i = 7; i >= 0; --i) t.push_back(static_cast<char>(n >> (8 * i)));
    return t;
  }
  /// Records a sequence number the store reached.
  void note_seq(uint64_t seq) {
    auto cur = known_seq.load();
    while (seq > cur && !known_seq.compare_exchange_weak(cur, seq)) {
    }
  }

  template <class Reply, class Request>
  status call(Request&& req, Reply& out, caf::timespan t) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!mgr) return {errc::unavailable, "the client is closed"};
    if (reconnect)
      if (auto st = reconnect(*this); !st) return st;
    caf::scoped_actor self{*sys};
    status result;
    self->request(mgr, t + margin, std::forward<Request>(req))
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { result = to_status(e); });
    return result;
  }
  template <class Reply, class Request>
  status call(Request&& req, Reply& out) {
    return call(std::forward<Request>(req), out, timeout);
  }
};

}  // namespace vstore
