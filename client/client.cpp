#include "vstore/client.hpp"

#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "client/client_impl.hpp"
#include "vstore/manager.hpp"

namespace vstore {

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() {
  if (!impl_) return;
  if (impl_->embedded && impl_->mgr && !impl_->closed) {
    auto mgr = impl_->mgr;  // drain() closes the client
    drain_reply r;
    if (auto st = drain(r); !st) caf::anon_send_exit(mgr, caf::exit_reason::kill);
  }
  if (!impl_->embedded && impl_->mgr)  // remote: stop the link actors
    caf::anon_send_exit(impl_->mgr, caf::exit_reason::user_shutdown);
  if (impl_->replica) caf::anon_send_exit(impl_->replica, caf::exit_reason::user_shutdown);
  impl_->mgr = manager_actor{};
}

status client::open_embedded(const options& opts, std::unique_ptr<client>& out,
                             const settings& cfg) {
  auto p = std::make_unique<impl>();
  configure_actor_system(p->cfg);
  if (cfg.max_threads > 0)
    p->cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.max_threads));
  p->sys = std::make_unique<caf::actor_system>(p->cfg);
  p->timeout = cfg.timeout;
  p->write_retries = cfg.write_retries;
  p->embedded = true;
  p->drain_timeout = opts.supervisor.shutdown_grace + std::chrono::seconds(5);
  if (auto st = spawn_manager(*p->sys, opts, p->mgr); !st) return st;
  out.reset(new client(std::move(p)));
  status_reply info;
  out->info(info);  // learns the store's sequence number for outcome requests
  return {};
}

status client::get(space_id space, std::string_view key, std::optional<std::string>& value) {
  get_reply r;
  auto st = impl_->read_call(get_request{space, std::string{key}}, r);
  if (st) value = r.found ? std::optional<std::string>{std::move(r.value)} : std::nullopt;
  return st;
}

status client::multi_get(space_id space, std::vector<std::string> keys, multi_get_reply& out) {
  return impl_->read_call(multi_get_request{space, std::move(keys)}, out);
}

status client::multi_get(multi_get_request req, multi_get_reply& out) {
  return impl_->read_call(std::move(req), out);
}

status client::scan(scan_request req, scan_reply& out) {
  return impl_->read_call(std::move(req), out);
}

status client::snapshot_read(snapshot_read_request req, snapshot_read_reply& out) {
  return impl_->call(std::move(req), out);
}

status client::for_each(space_id space, std::string_view prefix,
                        const std::function<bool(const key_value&)>& each, uint32_t page) {
  snapshot_read_request req;
  req.items.push_back(read_item::page(space, prefix, page));
  req.keep = true;
  snapshot_read_reply out;
  if (auto st = impl_->call(req, out); !st) return st;
  const uint64_t id = out.snapshot;
  status result;
  for (;;) {
    auto& r = out.results.front();
    bool stopped = false;
    for (const auto& kv : r.entries) {
      if (!each(kv)) {
        stopped = true;
        break;
      }
    }
    if (stopped || !r.more) break;
    req.items.front().start_after = r.entries.back().key;
    req.snapshot = id;
    snapshot_read_reply next;
    if (result = impl_->call(req, next); !result) break;
    out = std::move(next);
  }
  // Release the snapshot (if it expired meanwhile, there is nothing to release).
  snapshot_read_request release;
  release.snapshot = id;
  snapshot_read_reply ignored;
  (void)impl_->call(std::move(release), ignored);
  return result;
}

status client::write(write_request req, commit_ack& out) {
  auto& x = *impl_;
  // One deadline for the whole call: the write, the outcome lookups and the
  // resends (and any reconnect before each) share the call's timeout.
  const auto deadline = impl::clock::now() + x.timeout;
  if (req.token.empty()) req.token = x.new_token();
  const auto not_before = x.known_seq.load();
  auto st = x.call_until(write_request{req}, out, deadline);
  // Each round: the write's fate is in doubt; find it out, and resend only
  // when it certainly did not commit (a resend with the same token is applied
  // at most once anyway, but its own "not applied" would say nothing of the
  // first attempt).
  for (uint32_t attempt = 0; !st && write_outcome_of(st.code()) == write_outcome::maybe;) {
    if (attempt >= x.write_retries)
      return {errc::in_doubt, "after " + std::to_string(attempt) + " retries: " + st.to_string()};
    // The store waits for a pending write to settle (up to three quarters of
    // the time left) before it answers.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(impl::left(deadline)) * 3 / 4;
    if (wait.count() <= 0)
      return {errc::in_doubt, "the call's timeout ran out while the write was in doubt after " +
                                  std::to_string(attempt) + " retries: " + st.to_string()};
    outcome_reply o;
    auto q = x.call_until(
        outcome_request{req.token, not_before, static_cast<uint32_t>(wait.count())}, o, deadline);
    if (q && o.state == write_state::committed) {
      out = commit_ack{o.seq};
      st = {};
      break;
    }
    ++attempt;
    if (!q || o.state != write_state::not_committed) {
      if (q && o.state == write_state::unknown)
        return {errc::in_doubt,
                "the store no longer remembers the write's token: " + st.to_string()};
      continue;  // the outcome is still open: ask again
    }
    st = x.call_until(write_request{req}, out, deadline);
  }
  if (st) x.note_seq(out.seq);
  return st;
}

uint64_t client::known_sequence() const { return impl_->known_seq.load(); }

status client::outcome(const std::string& token, outcome_reply& out, uint64_t not_before_seq) {
  auto st = impl_->call(outcome_request{token, not_before_seq, 0}, out);
  if (st && out.state == write_state::committed) impl_->note_seq(out.seq);
  return st;
}

status client::flush(commit_ack& out) { return impl_->call(flush_request{}, out); }

status client::stats(stats_reply& out) { return impl_->call(stats_request{}, out); }

status client::info(status_reply& out) {
  auto st = impl_->call(status_request{}, out);
  if (st) impl_->note_seq(out.sequence);
  return st;
}

status client::checkpoint(const std::string& dir, checkpoint_reply& out,
                          std::chrono::milliseconds timeout) {
  auto st = impl_->call_until(checkpoint_request{dir}, out, impl::clock::now() + timeout);
  if (st) impl_->note_seq(out.sequence);
  return st;
}

status client::promote(promote_reply& out) { return impl_->call(promote_request{}, out); }

status client::drain(drain_reply& out) {
  // Closes the client unless the drain was refused (forbidden: a peer
  // without the admin role; the store goes on serving).
  return impl_->call_until(drain_request{}, out, impl::clock::now() + impl_->drain_timeout,
                           /*close=*/true);
}

}  // namespace vstore
