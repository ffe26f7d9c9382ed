// The administrative commands of the vstore CLI: drain, promote and checkpoint.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "config/config.hpp"
#include "tools/vstore/commands.hpp"

namespace vstore::cli {

int run_drain(session& s, const drain_args& a) {
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  drain_reply r;
  if (auto st = s.db().drain(r); !st) return fail(st);
  if (a.json)
    std::cout << "{\"answered\": " << r.answered << ", \"cut_off\": " << r.cut_off << "}\n";
  else
    std::cout << "drained: " << r.answered << " requests answered, " << r.cut_off << " cut off\n";
  return exit_ok;
}

// PROMOTE: makes the read replica at --connect a primary (promote_request).
// Output: "promoted: epoch E, applied sequence A, sequence S"; exit codes 0,
// 3 (a primary already: invalid_argument; the epoch could not be written).
int run_promote(session& s, const promote_args& a) {
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  promote_reply r;
  if (auto st = s.db().promote(r); !st) return fail(st);
  if (a.json)
    std::cout << "{\"epoch\": " << r.epoch << ", \"applied_seq\": " << r.applied_seq
              << ", \"sequence\": " << r.sequence << "}\n";
  else
    std::cout << "promoted: epoch " << r.epoch << ", applied sequence " << r.applied_seq
              << ", sequence " << r.sequence << "\n";
  return exit_ok;
}

// CHECKPOINT: an online checkpoint through client::checkpoint, remote
// (TARGET is a directory on the server, so it must be absolute) or embedded
// (TARGET made absolute here; the store must exist: a checkpoint creates none).
// Output: "checkpoint written to TARGET (sequence N)"; exit codes 0, 2 (usage,
// e.g. a relative TARGET with --connect), 3 (store error, e.g. TARGET exists,
// or another checkpoint is running: overloaded). The wait is
// client::default_checkpoint_timeout (10 min), or --timeout when given.
int run_checkpoint(session& s, const checkpoint_args& a) {
  namespace fs = std::filesystem;
  std::string target = a.target;
  if (s.remote()) {
    if (!fs::path{target}.is_absolute())
      return usage("checkpoint: TARGET '" + target +
                   "' must be an absolute path with --connect: it names a directory on the "
                   "server");
  } else {
    std::error_code ec;
    auto abs = fs::absolute(target, ec);
    if (ec) return usage("checkpoint: TARGET '" + target + "': " + ec.message());
    target = abs.string();
    options o;
    if (auto st = s.embedded_options(access::read_write, o); !st) return fail(st);
    if (o.backend == backend_kind::rocksdb && !fs::exists(fs::path{o.db.path} / "CURRENT", ec))
      return fail({errc::invalid_argument,
                   "no store in " + o.db.path + " (a checkpoint does not create one)"});
  }
  auto timeout = client::default_checkpoint_timeout;
  const auto& t = s.globals().timeout;
  if (!t.empty() && !config::parse_duration(t, timeout))
    return usage("--timeout: not a duration: " + t);
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  checkpoint_reply r;
  if (auto st = s.db().checkpoint(target, r, timeout); !st) return fail(st);
  std::cout << "checkpoint written to " << r.dir << " (sequence " << r.sequence << ")\n";
  return exit_ok;
}

}  // namespace vstore::cli
