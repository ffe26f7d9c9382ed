#include "bench/sim_side.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/proc.hpp"
#include "tools/vstore-sim/raw_run.hpp"
#include "tools/vstore-sim/run_context.hpp"

namespace vstore::bench {

uint64_t sim_batches(const sim_shape& shape, bool full) {
  // The multi-chain shape needs more than rollback-every x lanes and
  // prune-window (+ a tenth) x lanes batches per scheduler (the sim's
  // defaults: 50 and 100 x 16) for every lane to roll back and prune.
  uint64_t quick = shape.pipeline > 0 ? 1200 : 2000;
  return full ? 8 * quick : quick;
}

rep_result run_sim_rep(actor_side* actors, const options& base, const std::string& dir,
                       const sim_shape& shape, uint64_t seed) {
  rep_result out;
  auto fail = [&](std::string what) {
    out.errors = 1;
    out.first_error = std::move(what);
    return out;
  };
  // The sim's own command line, so that its checks of the shape apply.
  std::vector<std::string> args = {
      "vstore-sim",         "--no-progress", "--no-torn-reader",           "--seed",
      std::to_string(seed), "--batches",     std::to_string(shape.batches)};
  if (shape.pipeline > 0) {
    args.insert(args.end(), {"--chains", "1", "--pipeline", std::to_string(shape.pipeline)});
  } else {
    if (shape.schedulers > 0)
      args.insert(args.end(), {"--schedulers", std::to_string(shape.schedulers)});
    args.insert(args.end(), {"--in-flight", std::to_string(shape.lanes)});
  }
  if (actors == nullptr) args.emplace_back("--raw");
  if (shape.state) args.emplace_back("--state");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  sim::run_context ctx;
  if (auto st = sim::parse_args(static_cast<int>(argv.size()), argv.data(), ctx.cli); !st)
    return fail("vstore-sim arguments: " + st.to_string());
  ctx.store = base;
  ctx.store.db.path = dir;
  ctx.timeout = std::chrono::milliseconds(ctx.cli.timeout_ms);
  if (sim::shape_run(ctx) != sim::exit_verified) return fail("vstore-sim: bad shape");
  double cpu0 = 0;
  double cpu1 = 0;
  ctx.after_genesis = [&] { cpu0 = process_cpu_seconds(); };
  ctx.after_workload = [&] { cpu1 = process_cpu_seconds(); };
  int rc = sim::exit_usage;
  if (actors != nullptr) {
    size_t slot = 0;
    if (auto st = actors->open_manager(ctx.store, slot); !st)
      return fail("cannot open the store: " + st.to_string());
    rc = actors->run_sim(slot, ctx);
    if (auto st = actors->close(slot); !st && rc == sim::exit_verified)
      return fail("drain: " + st.to_string());
  } else {
    rc = sim::drive_raw(ctx);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const auto& sum = ctx.summary;
  out.seconds = sum.elapsed_s;
  out.cpu_seconds = cpu1 - cpu0;
  out.completed = sum.batches;
  if (rc != sim::exit_verified) return fail("vstore-sim: " + sum.verdict());
  return out;
}

}  // namespace vstore::bench
