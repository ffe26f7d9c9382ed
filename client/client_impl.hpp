#pragma once

// The state behind vstore::client, shared by the embedded client (client.cpp)
// and the remote client (remote_client.cpp).

#include <atomic>
#include <chrono>
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
  using clock = std::chrono::steady_clock;

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// Embedded: the manager. Remote: the link actor that forwards to the
  /// remote manager and fails pending calls when the connection dies.
  manager_actor mgr;
  /// Serialises the calls; a call waits for it only until its deadline.
  std::timed_mutex mtx;
  caf::timespan timeout{};
  bool embedded = false;
  /// The own timeout of drain() (the server drains for its grace period).
  caf::timespan drain_timeout{};
  /// Set by drain(): every later call answers errc::unavailable.
  std::atomic<bool> closed{false};
  /// Remote only: runs under `mtx` before every call with the call's
  /// deadline; reconnects when the connection was lost, bounded by that
  /// deadline and by connect_timeout. Empty when embedded.
  std::function<status(impl&, clock::time_point)> reconnect;
  /// Remote with read replicas (remote_options::read_replicas): the link to
  /// the replica that serves reads, and how to (re)open it under `mtx`;
  /// empty without replicas.
  manager_actor replica;
  std::function<status(impl&, clock::time_point)> reconnect_replica;
  bool read_your_writes = true;
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

  /// The time left until `deadline` (negative once it passed).
  static caf::timespan left(clock::time_point deadline) {
    return std::chrono::duration_cast<caf::timespan>(deadline - clock::now());
  }

  /// Sends `req` and waits for the reply, every step bounded by `deadline`:
  /// the wait for another call of this client, the reconnect, the request.
  /// With `close`, the client is closed afterwards (drain), unless the
  /// request was refused (errc::forbidden: the store goes on serving).
  template <class Reply, class Request>
  status call_until(Request&& req, Reply& out, clock::time_point deadline, bool close = false,
                    bool on_replica = false) {
    std::unique_lock<std::timed_mutex> guard{mtx, std::defer_lock};
    if (!guard.try_lock_until(deadline))
      return {errc::timeout,
              "another call of this client did not finish within this call's timeout"};
    if (closed || !mgr) return {errc::unavailable, "the client is closed"};
    status result;
    // The reconnect replaces the link: take the handle after it.
    if (on_replica)
      result = reconnect_replica(*this, deadline);
    else if (reconnect)
      result = reconnect(*this, deadline);
    auto target = on_replica ? replica : mgr;
    if (result) {
      auto t = left(deadline);
      if (t <= caf::timespan{0}) {
        result = {errc::timeout, "the call's timeout ran out before the request was sent"};
      } else {
        caf::scoped_actor self{*sys};
        self->request(target, t, std::forward<Request>(req))
            .receive([&](Reply& r) { out = std::move(r); },
                     [&](caf::error& e) { result = to_status(e); });
      }
    }
    if (close && result.code() != errc::forbidden) {
      closed = true;
      // Remote: mgr is the local link actor; stop it, or the actor system's
      // shutdown waits for it forever.
      if (!embedded && mgr) caf::anon_send_exit(mgr, caf::exit_reason::user_shutdown);
      mgr = manager_actor{};
    }
    return result;
  }
  /// The same with the client's timeout, counted from now.
  template <class Reply, class Request>
  status call(Request&& req, Reply& out) {
    return call_until(std::forward<Request>(req), out, clock::now() + timeout);
  }
  /// A read: to the read replica when there is one (with min_seq for read
  /// your writes), else, or when the replica cannot answer it, to the server.
  template <class Reply, class Request>
  status read_call(Request req, Reply& out) {
    const auto deadline = clock::now() + timeout;
    if (reconnect_replica) {
      auto r = req;
      if (read_your_writes && r.min_seq == 0) r.min_seq = known_seq.load();
      auto st = call_until(std::move(r), out, deadline, false, true);
      if (st || !replica_falls_back(st.code())) return st;
    }
    return call_until(std::move(req), out, deadline);
  }
  /// Whether a read the replica answered with `c` goes to the server.
  static bool replica_falls_back(errc c) {
    return c == errc::lagging || c == errc::disconnected || c == errc::unavailable ||
           c == errc::shutting_down || c == errc::read_only;
  }
};

}  // namespace vstore
