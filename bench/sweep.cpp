#include "bench/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include "bench/actor_side.hpp"
#include "bench/proc.hpp"
#include "bench/raw_side.hpp"
#include "bench/workload.hpp"
#include "tools/common/json.hpp"

namespace vstore::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using tools::json_string;

/// Written key numbers reserved per repetition (as main.cpp's rows: a timed
/// repetition's issuers span at most 64 x issuer_stride).
constexpr uint64_t write_numbers_per_rep = uint64_t{1} << 44;

/// Data each read database of the key- and value-size sweeps holds at their
/// largest x, at most: the key count is fixed per sweep so that x is the only
/// thing that changes, and chosen so that the data fits the block cache.
constexpr uint64_t sized_data_bytes = uint64_t{64} << 20;

/// The swept values.
const std::vector<uint64_t> spaces_xs = {1, 2, 4, 8, 16};
const std::vector<uint64_t> in_flight_xs = {1, 4, 16, 64, 256};
const std::vector<uint64_t> key_size_xs = {16, 64, 256, 1024};
const std::vector<uint64_t> value_size_xs = {16, 256, 4096, 65536};

/// The spaces of the spaces sweep's schema: the default schema's eight plus
/// eight more, so that a batch can span 16.
constexpr size_t wide_schema_spaces = 16;

/// What one point runs.
struct point_spec {
  std::string series;
  uint64_t x = 0;
  std::string unit;
  /// Kind, key count and sizes (seed, requests, deadline and write_base are
  /// set per repetition).
  workload shape;
  client_plan plan;
  size_t raw_threads = 2;
  uint64_t units_per_request = 1;
  std::string vstore_what;
  std::string raw_what;
};

/// A vstore store and a raw database with the same settings and data.
struct db_pair {
  actor_side* actors = nullptr;
  std::optional<size_t> slot;
  std::unique_ptr<raw_db> raw;
  std::string vstore_path;
  std::string raw_path;

  db_pair() = default;
  db_pair(const db_pair&) = delete;
  db_pair& operator=(const db_pair&) = delete;

  /// Closes both sides and removes their directories.
  ~db_pair() {
    if (slot) static_cast<void>(actors->close(*slot));
    raw.reset();
    std::error_code ec;
    if (!vstore_path.empty()) std::filesystem::remove_all(vstore_path, ec);
    if (!raw_path.empty()) std::filesystem::remove_all(raw_path, ec);
  }
};

/// Everything the sweeps share.
struct sweep_env {
  actor_side& actors;
  const options& base;
  const std::string& dir;
  const bench_args& args;
  const std::function<void(const std::string&)>& progress;
  size_t reps = 3;
  std::chrono::milliseconds rep_time{200};
  /// Written key numbers so far (both sides write the same numbers).
  uint64_t write_counter = 0;
};

options options_at(const options& base, const std::string& path) {
  auto o = base;
  o.db.path = path;
  return o;
}

/// Opens a fresh pair under env.dir/`name`-{vstore,raw} with `opts`' settings,
/// loaded with `keys` keys of the given sizes (none: keys == 0).
status open_pair(sweep_env& env, const options& opts, const std::string& name, uint64_t keys,
                 size_t key_bytes, size_t value_bytes, db_pair& out) {
  out.actors = &env.actors;
  out.vstore_path = env.dir + "/" + name + "-vstore";
  out.raw_path = env.dir + "/" + name + "-raw";
  auto vopts = options_at(opts, out.vstore_path);
  if (keys > 0) {
    if (auto st = create_loaded_database(vopts, keys, key_bytes, value_bytes); !st) return st;
  }
  size_t slot = 0;
  if (auto st = env.actors.open_manager(vopts, slot); !st) return st;
  out.slot = slot;
  if (auto st = raw_db::open(options_at(opts, out.raw_path), out.raw); !st) return st;
  if (keys > 0) {
    if (auto st = out.raw->load(keys, key_bytes, value_bytes); !st) return st;
  }
  return {};
}

void add_error(row& r, bool vstore_side, const rep_result& res) {
  if (res.errors == 0) return;
  if (r.vstore_errors + r.raw_errors == 0)
    r.first_error = std::string{vstore_side ? "vstore: " : "raw: "} + res.first_error;
  (vstore_side ? r.vstore_errors : r.raw_errors) += res.errors;
}

/// Runs one point on `pair` as main.cpp runs a row: one unmeasured warm-up
/// repetition per side (a quarter of the length), then env.reps repetitions
/// per side interleaved, vstore first.
sweep_point run_point(sweep_env& env, db_pair& pair, const point_spec& p) {
  sweep_point out;
  out.series = p.series;
  out.x = p.x;
  auto& r = out.figures;
  r.name = p.series;
  r.unit = p.unit;
  r.vstore_what = p.vstore_what;
  r.raw_what = p.raw_what;
  auto started = clock_type::now();
  reset_peak_rss();
  const bool run_vstore = env.args.only != "raw";
  const bool run_raw = env.args.only != "vstore";
  auto make_workload = [&](uint64_t seed, bool warm_up) {
    auto w = p.shape;
    w.seed = seed;
    w.write_base = env.write_counter;
    if (env.args.ops) {
      w.requests = warm_up ? std::max<uint64_t>(*env.args.ops / 4, 1) : *env.args.ops;
    } else {
      w.requests = issuer_stride;
      w.deadline = clock_type::now() + (warm_up ? env.rep_time / 4 : env.rep_time);
    }
    return w;
  };
  auto vstore_rep = [&](uint64_t seed, bool warm_up) {
    return env.actors.run(*pair.slot, make_workload(seed, warm_up), p.plan);
  };
  auto raw_rep = [&](uint64_t seed, bool warm_up) {
    return pair.raw->run(make_workload(seed, warm_up), p.raw_threads);
  };
  auto rate = [&](const rep_result& res, samples& rates, samples& cpu) {
    auto units = static_cast<double>(res.completed * p.units_per_request);
    double v = res.seconds > 0 ? units / res.seconds : 0;
    rates.values.push_back(v);
    if (units > 0) cpu.values.push_back(res.cpu_seconds * 1e6 / units);
    return v;
  };
  if (run_vstore) add_error(r, true, vstore_rep(1000, true));
  if (run_raw) add_error(r, false, raw_rep(1000, true));
  env.write_counter += write_numbers_per_rep;
  for (size_t rep = 0; rep < env.reps; ++rep) {
    double v = 0;
    double b = 0;
    if (run_vstore) {
      auto res = vstore_rep(rep + 1, false);
      add_error(r, true, res);
      v = rate(res, r.vstore, r.vstore_cpu_us);
    }
    if (run_raw) {
      auto res = raw_rep(rep + 1, false);
      add_error(r, false, res);
      b = rate(res, r.raw, r.raw_cpu_us);
    }
    env.write_counter += write_numbers_per_rep;
    if (v > 0 && b > 0) r.rep_ratios.values.push_back(v / b);
  }
  r.peak_rss = peak_rss_bytes();
  r.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  std::ostringstream s;
  s.precision(2);
  s << std::fixed << r.ratio();
  env.progress("[sweep] " + p.series + " x=" + std::to_string(p.x) + ": vstore " +
               format_rate(r.vstore.median()) + "/s, raw " + format_rate(r.raw.median()) +
               "/s, ratio " + s.str());
  return out;
}

/// Returns the plan of the in-process clients: untimed requests unless
/// --timed-requests (as main.cpp's rows).
client_plan plan(const sweep_env& env, size_t clients, size_t window) {
  client_plan p;
  p.clients = clients;
  p.window = window;
  if (!env.args.timed_requests) p.request_timeout = std::chrono::milliseconds(0);
  return p;
}

/// The get and put points of the key- and value-size sweeps at one size: the
/// get row's shape (16 clients x 8 in flight vs DB::Get, 2 threads) and
/// put_small's (64 clients x 1 vs one put per DB::Write, 2 threads).
void sized_points(sweep_env& env, db_pair& pair, sweep_result& out, uint64_t x, uint64_t keys,
                  size_t key_bytes, size_t value_bytes) {
  point_spec p;
  p.x = x;
  p.shape.key_count = keys;
  p.shape.key_bytes = key_bytes;
  p.shape.value_bytes = value_bytes;
  p.series = "get";
  p.unit = "get";
  p.shape.kind = workload_kind::get;
  p.plan = plan(env, 16, 8);
  p.vstore_what = "point gets of loaded keys, 16 client actors x 8 in flight";
  p.raw_what = "DB::Get, 2 threads";
  out.points.push_back(run_point(env, pair, p));
  p.series = "put";
  p.unit = "put";
  p.shape.kind = workload_kind::put;
  p.plan = plan(env, 64, 1);
  p.vstore_what = "one put per write_request, 64 client actors x 1 in flight";
  p.raw_what = "one put per DB::Write, 2 threads";
  out.points.push_back(run_point(env, pair, p));
}

void sweep_spaces(sweep_env& env, sweep_result& out) {
  out.x_label = "spaces per batch";
  out.description =
      "commit_multi: atomic batches of 100 puts (16 B keys, 100 B values) spread evenly over x "
      "consecutive spaces of a 16-space schema (the default 8 + 8), batch b starting at space "
      "b % 16; 8 client actors x 8 in flight vs the same WriteBatch via DB::Write, 2 threads";
  auto opts = env.base;
  while (opts.schema.size() < wide_schema_spaces) {
    space_def d;
    d.name = "sweep_" + std::to_string(opts.schema.size());
    opts.schema.spaces.push_back(d);
  }
  db_pair pair;
  if (auto st = open_pair(env, opts, "sweep-spaces", 0, key_size, value_size, pair); !st) {
    out.skipped = st.to_string();
    return;
  }
  for (auto x : spaces_xs) {
    point_spec p;
    p.series = "commit_multi";
    p.x = x;
    p.unit = "op";
    p.shape.kind = workload_kind::multi_batch;
    p.shape.batch_spaces = x;
    p.shape.schema_spaces = wide_schema_spaces;
    p.plan = plan(env, 8, 8);
    p.units_per_request = multi_batch_ops;
    p.vstore_what = "atomic batches of 100 puts over " + std::to_string(x) +
                    " spaces, 8 client actors x 8 in flight";
    p.raw_what = "the same WriteBatch via DB::Write, 2 threads";
    out.points.push_back(run_point(env, pair, p));
  }
}

void sweep_in_flight(sweep_env& env, sweep_result& out) {
  out.x_label = "requests in flight";
  out.keys = env.args.keys;
  out.description =
      "get and put_small with x requests in flight in all: min(x, 16) client actors x "
      "x / min(x, 16) each, vs DB::Get / one put per DB::Write on min(x, 2) threads; 16 B keys, "
      "100 B values, " +
      std::to_string(out.keys) + " keys loaded";
  db_pair pair;
  if (auto st = open_pair(env, env.base, "sweep-in-flight", out.keys, key_size, value_size, pair);
      !st) {
    out.skipped = st.to_string();
    return;
  }
  // Reads first (writes grow the memtables the reads search).
  for (auto kind : {workload_kind::get, workload_kind::put}) {
    for (auto x : in_flight_xs) {
      point_spec p;
      const bool get = kind == workload_kind::get;
      p.series = get ? "get" : "put";
      p.unit = p.series;
      p.x = x;
      p.shape.kind = kind;
      p.shape.key_count = out.keys;
      auto clients = std::min<uint64_t>(x, 16);
      p.plan = plan(env, clients, x / clients);
      p.raw_threads = std::min<uint64_t>(x, 2);
      p.vstore_what = std::string{get ? "point gets" : "one put per write_request"} + ", " +
                      std::to_string(clients) + " client actors x " + std::to_string(x / clients) +
                      " in flight";
      p.raw_what = std::string{get ? "DB::Get" : "one put per DB::Write"} + ", " +
                   std::to_string(p.raw_threads) + (p.raw_threads == 1 ? " thread" : " threads");
      out.points.push_back(run_point(env, pair, p));
    }
  }
}

/// The key count of a sized sweep: args.keys, or fewer so that the largest
/// point's data fits sized_data_bytes.
uint64_t sized_keys(const sweep_env& env, size_t largest_entry) {
  return std::max<uint64_t>(std::min<uint64_t>(env.args.keys, sized_data_bytes / largest_entry),
                            100);
}

void sweep_key_size(sweep_env& env, sweep_result& out) {
  out.x_label = "key bytes";
  out.keys = sized_keys(env, key_size_xs.back() + value_size);
  out.description =
      "get (16 client actors x 8 in flight vs DB::Get, 2 threads) and put (64 x 1 vs one put per "
      "DB::Write, 2 threads) with keys of x bytes (the bench's 16-byte key, then filler), 100 B "
      "values, " +
      std::to_string(out.keys) + " keys loaded into a fresh database pair per x";
  for (auto x : key_size_xs) {
    db_pair pair;
    auto name = "sweep-key-" + std::to_string(x);
    if (auto st = open_pair(env, env.base, name, out.keys, x, value_size, pair); !st) {
      out.skipped = "x=" + std::to_string(x) + ": " + st.to_string();
      return;
    }
    sized_points(env, pair, out, x, out.keys, x, value_size);
  }
}

void sweep_value_size(sweep_env& env, sweep_result& out) {
  out.x_label = "value bytes";
  out.keys = sized_keys(env, key_size + value_size_xs.back());
  out.description =
      "get (16 client actors x 8 in flight vs DB::Get, 2 threads) and put (64 x 1 vs one put per "
      "DB::Write, 2 threads) with values of x bytes, 16 B keys, " +
      std::to_string(out.keys) + " keys loaded into a fresh database pair per x";
  for (auto x : value_size_xs) {
    db_pair pair;
    auto name = "sweep-value-" + std::to_string(x);
    if (auto st = open_pair(env, env.base, name, out.keys, key_size, x, pair); !st) {
      out.skipped = "x=" + std::to_string(x) + ": " + st.to_string();
      return;
    }
    sized_points(env, pair, out, x, out.keys, key_size, x);
  }
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

std::string json_samples(const samples& s) {
  std::string out = "{\"median\": " + json_number(s.median()) +
                    ", \"min\": " + json_number(s.min()) + ", \"max\": " + json_number(s.max()) +
                    ", \"reps\": [";
  for (size_t i = 0; i < s.values.size(); ++i)
    out += (i > 0 ? ", " : "") + json_number(s.values[i]);
  return out + "]}";
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string rate_cell(const samples& s) {
  if (s.values.empty()) return "-";
  return format_rate(s.median()) + " (" + format_rate(s.min()) + "-" + format_rate(s.max()) + ")";
}

std::string cpu_cell(const samples& s) {
  if (s.values.empty()) return "-";
  auto m = s.median();
  return fixed(m, m < 10 ? 2 : 1);
}

}  // namespace

const std::vector<std::string>& sweep_names() {
  static const std::vector<std::string> names = {"spaces", "in-flight", "key-size", "value-size"};
  return names;
}

std::vector<sweep_result> run_sweeps(actor_side& actors, const options& base,
                                     const std::string& dir, const bench_args& args,
                                     const std::function<void(const std::string&)>& progress) {
  sweep_env env{actors, base, dir, args, progress};
  env.reps = args.reps ? *args.reps : (args.full ? 5 : 3);
  env.rep_time = std::chrono::milliseconds(args.rep_ms ? *args.rep_ms : (args.full ? 1000 : 200));
  std::vector<sweep_result> out;
  for (const auto& name : sweep_names()) {
    if (std::find(args.sweeps.begin(), args.sweeps.end(), name) == args.sweeps.end()) continue;
    auto started = clock_type::now();
    progress("[sweep] " + name);
    sweep_result r;
    r.name = name;
    r.reps = env.reps;
    r.rep_ms = args.ops ? 0 : static_cast<uint64_t>(env.rep_time.count());
    r.ops = args.ops ? *args.ops : 0;
    if (name == "spaces")
      sweep_spaces(env, r);
    else if (name == "in-flight")
      sweep_in_flight(env, r);
    else if (name == "key-size")
      sweep_key_size(env, r);
    else
      sweep_value_size(env, r);
    r.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    if (!r.skipped.empty()) progress("[sweep] " + name + " skipped: " + r.skipped);
    out.push_back(std::move(r));
  }
  return out;
}

void print_sweeps(std::ostream& out, const std::vector<sweep_result>& sweeps) {
  for (const auto& s : sweeps) {
    out << "\nsweep " << s.name << " (" << fixed(s.seconds, 1) << " s): " << s.description << "\n";
    if (!s.skipped.empty()) {
      out << "  skipped: " << s.skipped << "\n";
      if (s.points.empty()) continue;
    }
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"series", s.x_label, "vstore/s (min-max)", "raw/s (min-max)", "ratio",
                     "cpu us/unit v:r", "unit"});
    for (const auto& p : s.points) {
      const auto& r = p.figures;
      bool both = !r.vstore.values.empty() && !r.raw.values.empty();
      cells.push_back({p.series, std::to_string(p.x), rate_cell(r.vstore), rate_cell(r.raw),
                       both ? fixed(r.ratio(), 2) : "-",
                       cpu_cell(r.vstore_cpu_us) + ":" + cpu_cell(r.raw_cpu_us), r.unit});
    }
    std::vector<size_t> w(cells[0].size(), 0);
    for (const auto& c : cells)
      for (size_t i = 0; i < c.size(); ++i) w[i] = std::max(w[i], c[i].size());
    for (const auto& c : cells) {
      std::string line;
      for (size_t i = 0; i < c.size(); ++i) {
        bool right = i == 1 || i == 4;
        std::string fill(w[i] - c[i].size(), ' ');
        line += "  " + (right ? fill + c[i] : c[i] + fill);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
    for (const auto& p : s.points) {
      const auto& r = p.figures;
      if (r.vstore_errors + r.raw_errors == 0) continue;
      out << "  " << p.series << " x=" << p.x << ": " << r.vstore_errors << " vstore and "
          << r.raw_errors << " raw errors; first: " << r.first_error << "\n";
    }
  }
}

std::string sweeps_json(const std::vector<sweep_result>& sweeps) {
  std::ostringstream f;
  f << "  \"sweeps\": [";
  for (size_t i = 0; i < sweeps.size(); ++i) {
    const auto& s = sweeps[i];
    f << (i > 0 ? ",\n" : "\n") << "    {\"name\": " << json_string(s.name)
      << ", \"x\": " << json_string(s.x_label)
      << ",\n     \"description\": " << json_string(s.description) << ",\n     \"keys\": " << s.keys
      << ", \"reps\": " << s.reps << ", \"rep_ms\": " << s.rep_ms << ", \"ops\": " << s.ops
      << ", \"seconds\": " << json_number(s.seconds) << ", \"skipped\": " << json_string(s.skipped)
      << ",\n     \"points\": [";
    for (size_t k = 0; k < s.points.size(); ++k) {
      const auto& p = s.points[k];
      const auto& r = p.figures;
      f << (k > 0 ? ",\n" : "\n") << "       {\"series\": " << json_string(p.series)
        << ", \"x\": " << p.x << ", \"unit\": " << json_string(r.unit)
        << ", \"vstore_median_per_s\": " << json_number(r.vstore.median())
        << ", \"raw_median_per_s\": " << json_number(r.raw.median())
        << ", \"ratio_of_medians\": " << json_number(r.ratio())
        << ",\n        \"vstore_per_s\": " << json_samples(r.vstore)
        << ",\n        \"raw_per_s\": " << json_samples(r.raw)
        << ",\n        \"rep_ratios\": " << json_samples(r.rep_ratios)
        << ",\n        \"vstore_cpu_us_per_unit\": " << json_samples(r.vstore_cpu_us)
        << ",\n        \"raw_cpu_us_per_unit\": " << json_samples(r.raw_cpu_us)
        << ",\n        \"vstore_path\": " << json_string(r.vstore_what)
        << ", \"raw_baseline\": " << json_string(r.raw_what)
        << ",\n        \"vstore_errors\": " << r.vstore_errors
        << ", \"raw_errors\": " << r.raw_errors
        << ", \"first_error\": " << json_string(r.first_error)
        << ", \"peak_rss_bytes\": " << r.peak_rss << ", \"seconds\": " << json_number(r.seconds)
        << "}";
    }
    f << (s.points.empty() ? "]}" : "\n     ]}");
  }
  f << (sweeps.empty() ? "]" : "\n  ]");
  return f.str();
}

bool sweep_errors(const std::vector<sweep_result>& sweeps) {
  for (const auto& s : sweeps)
    for (const auto& p : s.points)
      if (p.figures.vstore_errors + p.figures.raw_errors > 0) return true;
  return false;
}

}  // namespace vstore::bench
