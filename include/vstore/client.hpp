#pragma once

// A blocking client for code that is not an actor. It holds its own actor
// system; every call blocks until the reply arrives or its timeout passes. The
// header has no CAF types, so including it is cheap. Calls may come from
// several threads (they are serialised; the wait for another call counts
// against each call's own timeout).
//
// The bound: every call returns within its own timeout (settings::timeout;
// drain(): see there) plus a margin of 100 ms, whatever the server does
// (killed, frozen, unreachable). The timeout is one deadline per call, taken
// when the call starts; everything the call does — waiting for another call
// of this client, reconnecting, the request, and for write() its outcome
// lookups and resends — only gets the time left. The margin covers the
// scheduling latency of the client's threads (measured against a frozen
// vstored on 127.0.0.1: usually under 10 ms, 54 ms at worst on a busy 2-core
// machine; tests/net/client_bound_test.cpp, docs/operations.md section 3).
// A call may fail sooner, e.g. with errc::disconnected when the connection is
// known to be lost.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/remote_options.hpp"
#include "vstore/requests.hpp"

namespace vstore {

/// A blocking handle to a StorageManager, embedded in this process or remote.
class client {
 public:
  /// Client-side settings.
  struct settings {
    /// The timeout of every call (except drain()): the call returns within
    /// it plus 100 ms, reconnect and write retries included. Default: 10 s.
    std::chrono::milliseconds timeout{10000};
    /// scheduler.max-threads of the client's actor system; 0 = number of cores.
    uint32_t max_threads = 0;
    /// How often write() retries a write whose outcome is in doubt (with the
    /// same token, so it is applied at most once), within the write's own
    /// timeout: when the timeout runs out first, fewer retries happen.
    /// Default: 3. 0 = never.
    uint32_t write_retries = 3;
  };

  /// Opens the store `opts` configures in this process and starts its manager.
  static status open_embedded(const options& opts, std::unique_ptr<client>& out,
                              const settings& cfg);
  /// Same with default settings.
  static status open_embedded(const options& opts, std::unique_ptr<client>& out) {
    return open_embedded(opts, out, settings{});
  }

  /// Connects to a remote StorageManager (a vstored) at `remote`. Returns
  /// within remote.connect_timeout plus the margin (100 ms), starting the
  /// client's actor system included. The client monitors the connection: when
  /// it is lost, the pending call fails at once with errc::disconnected (it
  /// does not wait for its timeout), and the next call reconnects, bounded by
  /// connect_timeout and by the time left of the call's own timeout, and fails
  /// with errc::disconnected if the server is still unreachable (or did not
  /// answer in that time). A write that failed with errc::disconnected may or
  /// may not have been applied. Errors: errc::invalid_config (incomplete or
  /// unloadable TLS settings, port 0), errc::disconnected (unreachable,
  /// refused, no answer within connect_timeout, TLS handshake failed).
  static status connect(const remote_options& remote, std::unique_ptr<client>& out,
                        const settings& cfg);
  /// Same with default settings.
  static status connect(const remote_options& remote, std::unique_ptr<client>& out) {
    return connect(remote, out, settings{});
  }

  /// Drains and closes an embedded store (remote: only disconnects).
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Reads `key`; `value` is empty when the key does not exist.
  status get(space_id space, std::string_view key, std::optional<std::string>& value);
  /// Reads several keys with one batched read.
  status multi_get(space_id space, std::vector<std::string> keys, multi_get_reply& out);
  /// The same with every field of the request (min_seq: read your writes on
  /// a read replica, docs/replication.md).
  status multi_get(multi_get_request req, multi_get_reply& out);
  /// Reads one page of a prefix scan.
  status scan(scan_request req, scan_reply& out);
  /// Reads keys and scan pages of any spaces at one snapshot of the store
  /// (snapshot_read_request). Always sent to the primary: a kept snapshot
  /// lives on the node that took it.
  status snapshot_read(snapshot_read_request req, snapshot_read_reply& out);
  /// Calls `each` with every entry of `space` whose key starts with `prefix`
  /// (empty: the whole space), in key order, `page` entries per request
  /// (1..limits.max-scan-limit), all read at ONE snapshot: a write that
  /// commits meanwhile is wholly in what `each` sees or not at all. Stops
  /// early when `each` returns false. Returns the first error; a page that
  /// came more than reader.snapshot-lease after the one before it gets
  /// errc::snapshot_expired (start again). Each request has the client's
  /// timeout. The snapshot is released at the end, also after an early stop
  /// or an error.
  status for_each(space_id space, std::string_view prefix,
                  const std::function<bool(const key_value&)>& each, uint32_t page = 1000);
  /// Commits a write atomically; returns after it is committed. A write
  /// without a token gets a fresh one. When the answer is in doubt (in_doubt,
  /// timeout, disconnected), write() asks the store for the token's outcome and
  /// resends the write with the same token only when it certainly did not
  /// commit, up to settings::write_retries times; so an error it returns is
  /// "not applied" exactly when write_outcome_of(code) says so. All of that
  /// shares the one timeout of the call (the bound above). A write still in
  /// doubt after the retries, or when its timeout runs out, returns
  /// errc::in_doubt (never "not applied"); its token is in `req.token` of the
  /// caller's copy only if the caller set one, so set a token to ask outcome()
  /// later.
  status write(write_request req, commit_ack& out);
  /// Asks what became of the write that carried `token` (see outcome_request).
  /// `not_before_seq` is a sequence number the store had reached before that
  /// write was sent (known_sequence() read before the write); with 0, a token
  /// the store may have forgotten is answered unknown, never not_committed.
  status outcome(const std::string& token, outcome_reply& out, uint64_t not_before_seq = 0);
  /// Returns the highest sequence number this client has seen the store reach
  /// (from acks and info()); read it before a write to pass to outcome().
  uint64_t known_sequence() const;
  /// Commits every open batch.
  status flush(commit_ack& out);
  /// Reads the counters of every space.
  status stats(stats_reply& out);
  /// Reads the manager's state.
  status info(status_reply& out);
  /// The timeout of checkpoint(dir, out): 10 minutes.
  static constexpr std::chrono::milliseconds default_checkpoint_timeout{600000};
  /// Writes a consistent point-in-time copy of the store to `dir` while the
  /// store keeps serving (see checkpoint_request for what it holds and every
  /// error). `dir` is a path on the SERVER's file system (embedded: this
  /// process's); it must be absolute and must not exist yet, and its parent
  /// must exist. A checkpoint flushes the memtables and links or copies every
  /// file, so it may take seconds: its timeout is default_checkpoint_timeout
  /// (10 min), not settings::timeout; the other overload sets it (the server
  /// and a remote client's link give up after 1 hour at most). A checkpoint
  /// whose wait times out goes on on the server, and `dir` appears only if it
  /// completes.
  status checkpoint(const std::string& dir, checkpoint_reply& out) {
    return checkpoint(dir, out, default_checkpoint_timeout);
  }
  /// Same with an explicit timeout for this call (it returns within it plus
  /// the margin).
  status checkpoint(const std::string& dir, checkpoint_reply& out,
                    std::chrono::milliseconds timeout);
  /// Drains the manager: commits open batches, answers queued requests, closes
  /// the backend. Further calls answer errc::unavailable (unless the drain was
  /// refused with errc::forbidden: the client stays usable). Its own timeout is
  /// longer than settings::timeout, because the store drains for its grace
  /// period: remote, settings::timeout + 60 s; embedded,
  /// supervisor.shutdown_grace + 5 s; it returns within that plus 100 ms.
  status drain(drain_reply& out);
  /// Makes the read replica this client is connected to a primary
  /// (promote_request; docs/replication.md, "Promotion").
  status promote(promote_reply& out);

  struct impl;

 private:
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace vstore
