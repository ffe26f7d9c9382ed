// vstore-sim: the scheduler workload (see workload.hpp for the key layouts,
// scheduler.hpp for the actors, verify.hpp for the invariants, and --help).
//
// The main thread opens the store (or, later, connects to vstored), writes the
// genesis, spawns K scheduler actors and the torn-state reader
// (torn_reader.hpp, unless --no-torn-reader), waits for the schedulers'
// reports while it draws the progress, stops the reader, then verifies the
// store, drains the manager and prints the figures. With --raw the same
// workload runs directly against RocksDB (raw_run.hpp), without actors; with
// --state the chain runs through a state service (state_run.hpp).
// Exit code: 0 VERIFIED, 1 FAILED (also on a torn state), 2 usage or setup
// error.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "config/config.hpp"
#include "tools/vstore-sim/cli.hpp"
#include "tools/vstore-sim/driver.hpp"
#include "tools/vstore-sim/raw_run.hpp"
#include "tools/vstore-sim/remote.hpp"
#include "tools/vstore-sim/report.hpp"
#include "tools/vstore-sim/state_run.hpp"
#include "tools/vstore-sim/sync_client.hpp"
#include "vstore/manager.hpp"
#include "vstore/version.hpp"

namespace {

using namespace vstore;
using namespace vstore::sim;
using clock_type = std::chrono::steady_clock;

/// A fresh temporary directory, removed at destruction unless kept.
class temp_dir {
 public:
  ~temp_dir() {
    if (path_.empty()) return;
    if (keep_) {
      std::fprintf(stderr, "vstore-sim: kept data directory %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  /// Creates the directory under the system's temporary directory.
  status create(bool keep) {
    keep_ = keep;
    std::error_code ec;
    auto base = std::filesystem::temp_directory_path(ec);
    if (ec) base = "/tmp";
    auto pattern = (base / "vstore-sim-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) return {errc::io_error, "cannot create a temporary directory"};
    path_ = buf.data();
    return {};
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_ = false;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Prints the summary (unless setup failed, rc == exit_usage); returns rc.
int print_summary(const run_context& ctx, int rc) {
  if (rc != exit_usage) {
    if (ctx.cli.json)
      print_json(stdout, ctx.summary);
    else
      print_text(stdout, ctx.summary);
  }
  return rc;
}

/// Opens (or connects to) the store, drives the run, drains an embedded
/// manager. Returns an exit code; prints the summary unless setup failed.
int run(run_context& ctx) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  if (ctx.cli.remote()) prepare_remote(cfg, ctx.cli.connect_host, ctx.cli.connect_port);
  caf::actor_system sys{cfg};
  manager_actor manager;
  manager_actor torn;
  if (ctx.cli.remote()) {
    if (auto st = connect_remote(sys, ctx.cli.connect_host, ctx.cli.connect_port, manager); !st)
      return usage_error(st.to_string());
    if (ctx.cli.torn_port != 0) {
      if (auto st = connect_remote(sys, ctx.cli.torn_host, ctx.cli.torn_port, torn); !st)
        return usage_error("--torn-reader-at: " + st.to_string());
    }
  } else if (auto st = spawn_manager(sys, ctx.store, manager); !st) {
    return usage_error("cannot open the store: " + st.to_string());
  }
  int rc = exit_usage;
  {
    sync_client client{sys, manager, ctx.timeout};
    rc = ctx.cli.state ? drive_state(sys, manager, client, ctx)
                       : drive(sys, manager, client, ctx, torn ? &torn : nullptr);
    if (!ctx.cli.remote()) {
      auto t0 = clock_type::now();
      drain_reply drained;
      auto grace = caf::timespan{ctx.store.supervisor.shutdown_grace} + std::chrono::seconds(10);
      if (auto st = client.ask(drain_request{}, drained, grace); !st) {
        std::fprintf(stderr, "vstore-sim: drain failed: %s\n", st.to_string().c_str());
        caf::anon_send_exit(manager, caf::exit_reason::kill);
        if (rc == exit_verified) rc = exit_failed;
        if (ctx.summary.error.empty()) ctx.summary.error = "drain failed: " + st.to_string();
      }
      ctx.summary.drain_s = seconds_since(t0);
    }
  }
  return print_summary(ctx, rc);
}

}  // namespace

int main(int argc, char** argv) {
  // The store's log goes to stderr (stdout carries the results, maybe JSON),
  // warnings and errors only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vstore-sim"));
  spdlog::set_level(spdlog::level::warn);
  run_context ctx;
  if (auto st = parse_args(argc, argv, ctx.cli); !st) {
    std::fprintf(stderr, "vstore-sim: %s\nTry 'vstore-sim --help'.\n", st.context().c_str());
    return exit_usage;
  }
  auto& cli = ctx.cli;
  if (cli.version) {
    std::printf("vstore-sim %s\n", version_string);
    return exit_verified;
  }
  if (cli.help) {
    std::fputs(help_text().c_str(), stdout);
    return exit_verified;
  }
  ctx.timeout = std::chrono::milliseconds(cli.timeout_ms);
  if (!cli.config_file.empty()) {
    // The data directory comes from --data-dir or a temporary directory; a
    // placeholder lets the file validate without a [store] path.
    ctx.store.db.path = "(vstore-sim)";
    if (auto st = config::load_file(cli.config_file, ctx.store); !st)
      return usage_error(st.to_string());
  }
  if (cli.memory) ctx.store.backend = backend_kind::memory;
  auto& sum = ctx.summary;
  temp_dir scratch;  // outlives the actor system in run()
  if (cli.remote()) {
    sum.backend = "remote";
    sum.location = cli.connect_host + ":" + std::to_string(cli.connect_port);
  } else if (ctx.store.backend == backend_kind::memory) {
    if (cli.raw) return usage_error("--raw needs the RocksDB backend");
    if (cli.verify_only) return usage_error("--verify-only needs a persistent store");
    sum.backend = "memory";
  } else {
    sum.backend = "rocksdb";
    if (!cli.data_dir.empty()) {
      ctx.store.db.path = cli.data_dir;
    } else {
      if (auto st = scratch.create(cli.keep); !st) return usage_error(st.to_string());
      ctx.store.db.path = scratch.path();
    }
    if (cli.verify_only) ctx.store.db.create_if_missing = false;
    sum.location = ctx.store.db.path;
  }
  if (auto rc = shape_run(ctx); rc != exit_verified) return rc;
  if (cli.raw) return print_summary(ctx, drive_raw(ctx));
  return run(ctx);
}
