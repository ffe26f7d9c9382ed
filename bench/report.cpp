#include "bench/report.hpp"

#include "tools/common/json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace vstore::bench {

using tools::json_string;

namespace {

/// Returns the display width of UTF-8 text (code points, not bytes).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0u) != 0x80u) ++n;
  return n;
}

std::string pad(const std::string& s, size_t w, bool right = false) {
  auto n = width(s);
  if (n >= w) return s;
  std::string fill(w - n, ' ');
  return right ? fill + s : s + fill;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string rate_cell(const samples& s, const row& r) {
  if (s.values.empty()) return "-";
  return format_rate(s.median()) + (r.lower_is_better ? " " + r.latency_unit : "") + " (" +
         format_rate(s.min()) + "–" + format_rate(s.max()) + ")";
}

std::string result_of(const row& r) {
  if (!r.skipped.empty()) return "SKIP";
  if (r.target <= 0) return "INFO";
  if (r.vstore.values.empty() || r.raw.values.empty()) return "n/a";  // --only
  if (r.vstore_errors + r.raw_errors > 0) return "ERROR";
  if (r.pass()) return "PASS";
  return r.floor_bounds() ? "FLOOR" : "MISS";
}

/// Median CPU microseconds per unit, vstore:raw ("-" for a side not run).
std::string cpu_cell(const row& r) {
  auto one = [](const samples& x) {
    if (x.values.empty()) return std::string{"-"};
    auto m = x.median();
    return fixed(m, m < 10 ? 2 : 1);
  };
  return one(r.vstore_cpu_us) + ":" + one(r.raw_cpu_us);
}

std::string target_text(const row& r) {
  if (r.absolute_target)
    return (r.lower_is_better ? "≤ " : "≥ ") + fixed(r.target, r.target < 10 ? 1 : 0) + " " +
           r.latency_unit;
  return (r.lower_is_better ? "≤ " : "≥ ") + fixed(r.target, 2);
}

/// Returns the unit suffix of a row's JSON figures: "_per_s", or for lower is
/// better rows "_us" or "_ms".
std::string json_per(const row& r) {
  if (!r.lower_is_better) return "_per_s";
  return r.latency_unit == "ms" ? "_ms" : "_us";
}

std::string target_cell(const row& r) { return r.target > 0 ? target_text(r) : "-"; }

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

/// A bound a row measures in this process, as print_local_bound prints it.
struct local_bound {
  /// "floor" or "ceiling".
  const char* noun;
  /// What was measured, after "<row>: ".
  std::string what;
  const samples& values;
  uint64_t errors;
  const std::string& first_error;
  const std::string& skipped;
  /// The verdict when the bound misses the target, and when it meets it.
  const char* misses;
  const char* meets;
};

/// Prints a bound in a block of its own: what it is, its rate, its ratio to
/// raw against the target, and vstore's to it.
void print_local_bound(std::ostream& out, const row& r, const local_bound& b) {
  out << "\n" << r.name << ": " << b.what << ", one rep after each vstore/raw pair\n  ";
  if (!b.skipped.empty()) {
    out << b.noun << " not measured: " << b.skipped << '\n';
    return;
  }
  auto raw = r.raw.median();
  auto ratio = raw > 0 && !b.values.values.empty() ? b.values.median() / raw : 0;
  out << b.noun << ' ' << format_rate(b.values.median()) << "/s (" << format_rate(b.values.min())
      << "–" << format_rate(b.values.max()) << ")  " << b.noun << "/raw " << fixed(ratio, 2)
      << " against " << target_text(r);
  if (b.errors == 0) out << (ratio < r.target ? b.misses : b.meets);
  if (!r.vstore.values.empty() && b.values.median() > 0)
    out << "  vstore/" << b.noun << ' ' << fixed(r.vstore.median() / b.values.median(), 2);
  if (b.errors > 0)
    out << "  " << b.errors << " errors, not a valid " << b.noun << "; first: " << b.first_error;
  out << '\n';
}

/// Prints the bounds a row measures in this process: the hop floor
/// (empty_commit, put_small_sync) and the disk's ceiling (put_small_sync).
void print_local_floor(std::ostream& out, const row& r) {
  static const std::string none;
  if (r.floor_is_hops)
    print_local_bound(out, r,
                      {"floor", "the hop floor, same run: " + r.floor_shape, r.floor,
                       r.floor_errors, r.floor_first_error, r.floor_skipped,
                       ": missed by CAF's hops themselves", ": the hops meet it"});
  if (!r.ceiling.values.empty() || r.ceiling_errors > 0)
    print_local_bound(out, r,
                      {"ceiling",
                       "the disk's ceiling, same run: raw RocksDB, one thread, synced "
                       "WriteBatches of as many puts as there are writes in flight (all of them "
                       "in one fsync, nothing between fsyncs)",
                       r.ceiling, r.ceiling_errors, r.ceiling_first_error, none,
                       ": out of reach with that many writes in flight", ": the ceiling meets it"});
}

/// Prints, under the table, CAF 0.17's floor of each remote row that has one
/// (bench/floor_side.hpp; only the rows against Redis): the floor, floor/redis
/// against the row's target, and how close vstore came to the floor.
void print_floor_lines(std::ostream& out, const std::vector<row>& rows) {
  bool any = false;
  size_t name_width = 0;
  for (const auto& r : rows) name_width = std::max(name_width, width(r.name));
  for (const auto& r : rows) {
    if (r.floor.values.empty() && r.floor_skipped.empty() && r.floor_errors == 0 &&
        r.ceiling.values.empty() && r.ceiling_errors == 0)
      continue;
    if (r.floor_is_hops || !r.ceiling.values.empty()) {
      print_local_floor(out, r);
      continue;
    }
    if (!any)
      out << "\nCAF 0.17's floor, same run: the same clients against an echo server that only "
             "replies (vstore-hop-floor --serve-echo, its own process), one rep after each "
             "vstore/redis pair\n";
    any = true;
    out << "  " << pad(r.name, name_width) << "  ";
    if (!r.floor_skipped.empty()) {
      out << "floor not measured: " << r.floor_skipped << '\n';
      continue;
    }
    const bool lat = r.lower_is_better;
    out << "floor " << format_rate(r.floor.median()) << (lat ? " µs" : "/s") << " ("
        << format_rate(r.floor.min()) << "–" << format_rate(r.floor.max()) << ")";
    if (!r.raw.values.empty())
      out << "  floor/redis " << fixed(r.floor_ratio(), 2) << " against " << target_text(r)
          << (r.floor_errors > 0 ? ""
              : r.floor_bounds() ? ": missed by CAF itself"
                                 : ": CAF's floor meets it");
    if (!r.vstore.values.empty() && r.floor.median() > 0)
      out << "  vstore/floor " << fixed(r.vstore.median() / r.floor.median(), 2)
          << (lat ? " (latency)" : "");
    if (!r.floor_cpu_us.values.empty()) {
      auto m = r.floor_cpu_us.median();
      // remote_rtt's unit is its latency; its CPU is per get.
      out << "  CPU µs/" << (lat ? std::string{"get"} : r.unit) << " " << fixed(m, m < 10 ? 2 : 1)
          << " (with the echo's)";
    }
    if (r.floor_errors > 0)
      out << "  " << r.floor_errors << " errors, not a valid floor; first: " << r.floor_first_error;
    out << '\n';
  }
}

std::string json_samples(const samples& s) {
  std::string out = "{\"median\": " + json_number(s.median()) +
                    ", \"min\": " + json_number(s.min()) + ", \"max\": " + json_number(s.max()) +
                    ", \"reps\": [";
  for (size_t i = 0; i < s.values.size(); ++i) {
    if (i > 0) out += ", ";
    out += json_number(s.values[i]);
  }
  return out + "]}";
}

}  // namespace

double samples::median() const {
  if (values.empty()) return 0;
  auto v = values;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double samples::min() const {
  return values.empty() ? 0 : *std::min_element(values.begin(), values.end());
}

double samples::max() const {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

double row::ratio() const {
  if (absolute_target) return target > 0 && !vstore.values.empty() ? vstore.median() / target : 0;
  auto r = raw.median();
  return r > 0 ? vstore.median() / r : 0;
}

bool row::pass() const {
  return skipped.empty() && vstore_errors + raw_errors == 0 && !raw.values.empty() &&
         (absolute_target   ? (lower_is_better ? ratio() <= 1 : ratio() >= 1)
          : lower_is_better ? ratio() > 0 && ratio() <= target
                            : ratio() >= target);
}

double row::score() const {
  auto x = ratio();
  auto goal = absolute_target ? 1.0 : target;
  if (!lower_is_better) return goal > 0 ? x / goal : 0;
  if (absolute_target && x <= 0) return vstore.values.empty() ? 0 : 1e9;  // a lag of 0
  return x > 0 ? goal / x : 0;
}

double row::floor_ratio() const {
  auto r = raw.median();
  return r > 0 && !floor.values.empty() ? floor.median() / r : 0;
}

bool row::floor_bounds() const {
  if (target <= 0 || floor.values.empty() || raw.values.empty() || floor_errors > 0) return false;
  auto x = floor_ratio();
  return lower_is_better ? x > target : x < target;
}

std::string format_rate(double x) {
  if (x >= 1e6) return fixed(x / 1e6, x >= 1e7 ? 1 : 2) + "M";
  if (x >= 1e3) return fixed(x / 1e3, x >= 1e5 ? 0 : 1) + "k";
  return fixed(x, x >= 100 ? 0 : 1);
}

std::string format_mib(uint64_t bytes) {
  return std::to_string((bytes + (1u << 19)) >> 20) + " MiB";
}

void print_table(std::ostream& out, const std::vector<row>& rows) {
  const std::vector<std::string> head = {"scenario",
                                         "unit",
                                         "vstore /s median (min–max)",
                                         "raw /s median (min–max)",
                                         "ratio",
                                         "target",
                                         "result",
                                         "CPU µs/unit vstore:raw",
                                         "peak RSS"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    std::string rss = r.peak_rss > 0 ? format_mib(r.peak_rss) : "-";
    if (r.peer_peak_rss > 0) rss += " (+vstored " + format_mib(r.peer_peak_rss) + ")";
    if (!r.skipped.empty()) {
      cells.push_back(
          {r.name, r.unit, "skipped: " + r.skipped, "", "", target_cell(r), result_of(r), "", ""});
      continue;
    }
    bool both = !r.vstore.values.empty() && !r.raw.values.empty();
    cells.push_back({r.name, r.unit, rate_cell(r.vstore, r), rate_cell(r.raw, r),
                     both ? fixed(r.ratio(), 2) : "-", target_cell(r), result_of(r), cpu_cell(r),
                     rss});
  }
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
  for (const auto& c : cells)
    for (size_t i = 0; i < c.size(); ++i)
      if (!(i == 2 && c[3].empty())) w[i] = std::max(w[i], width(c[i]));
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (size_t i = 0; i < c.size(); ++i) {
      bool numeric = i == 4;
      if (i == 2 && c[3].empty()) {
        // A skipped row: the reason spans the rate columns.
        s += pad(c[i], w[2] + w[3] + 2 + w[4] + 2);
        i = 4;
        s += "  ";
        continue;
      }
      s += pad(c[i], w[i], numeric);
      if (i + 1 < c.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(head);
  std::string rule;
  size_t total = 0;
  for (auto x : w) total += x + 2;
  for (size_t i = 0; i + 2 < total; ++i) rule += "-";
  out << rule << '\n';
  for (const auto& c : cells) line(c);
  for (const auto& r : rows) {
    if (r.vstore_errors + r.raw_errors == 0) continue;
    out << "  " << r.name << ": " << r.vstore_errors << " vstore and " << r.raw_errors
        << " raw errors; first: " << r.first_error << '\n';
  }
  for (const auto& r : rows)
    if (!r.note.empty() && r.skipped.empty()) out << "  " << r.name << ": " << r.note << '\n';
  print_floor_lines(out, rows);
}

std::string summary_line(const std::vector<row>& rows) {
  size_t ran = 0;
  size_t passed = 0;
  size_t skipped = 0;
  size_t errors = 0;
  size_t bounded = 0;  // missed, and so did CAF 0.17's floor (result FLOOR)
  const row* worst = nullptr;
  for (const auto& r : rows) {
    if (r.target <= 0) continue;  // informational rows have no target
    if (r.skipped.empty() && (r.vstore.values.empty() || r.raw.values.empty())) continue;
    if (!r.skipped.empty()) {
      ++skipped;
      continue;
    }
    ++ran;
    if (r.vstore_errors + r.raw_errors > 0) ++errors;
    if (r.pass()) ++passed;
    if (result_of(r) == "FLOOR") {
      ++bounded;
      continue;
    }
    if ((worst == nullptr || r.score() < worst->score())) worst = &r;
  }
  std::ostringstream s;
  s << "summary: " << passed << "/" << ran << " targets met";
  if (bounded > 0) s << ", " << bounded << " bounded by CAF 0.17's floor measured in the same run";
  if (skipped > 0) s << ", " << skipped << " skipped";
  if (errors > 0) s << ", " << errors << " with errors";
  if (worst != nullptr)
    s << (bounded > 0 ? "; worst other: " : "; worst: ") << worst->name
      << (worst->absolute_target
              ? " " + fixed(worst->vstore.median(), 1) + " " + worst->latency_unit
              : " ratio " + fixed(worst->ratio(), 2))
      << " against target "
      << (worst->lower_is_better ? target_text(*worst) : fixed(worst->target, 2)) << " ("
      << fixed(worst->score(), 2) << "× of target, " << result_of(*worst) << ")";
  return s.str();
}

status write_json(const std::string& path, const run_info& info, const std::vector<row>& rows,
                  const std::string& extra_members) {
  std::ofstream f{path};
  if (!f) return {errc::io_error, "cannot write " + path};
  f << "{\n  \"tool\": \"vstore-bench\",\n";
  f << "  \"mode\": " << json_string(info.mode) << ",\n";
  f << "  \"allocator\": " << json_string(info.allocator) << ",\n";
  f << "  \"build_type\": " << json_string(info.build_type) << ",\n";
  f << "  \"scheduler_threads\": " << info.scheduler_threads << ",\n";
  f << "  \"raw_threads\": " << info.raw_threads << ",\n";
  f << "  \"keys\": " << info.keys << ",\n";
  f << "  \"reps\": " << info.reps << ",\n";
  f << "  \"rocksdb_settings\": " << json_string(info.rocksdb_settings) << ",\n";
  f << "  \"seconds\": " << json_number(info.seconds) << ",\n";
  f << "  \"lifetime_peak_rss_bytes\": " << info.lifetime_peak_rss << ",\n";
  f << "  \"scenarios\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    f << "    {\"name\": " << json_string(r.name) << ", \"unit\": " << json_string(r.unit)
      << ", \"vstore_path\": " << json_string(r.vstore_what)
      << ", \"raw_baseline\": " << json_string(r.raw_what);
    if (!r.skipped.empty()) {
      f << ", \"skipped\": " << json_string(r.skipped) << ", \"target\": " << json_number(r.target)
        << ", \"result\": \"SKIP\"}";
    } else {
      // Rates per second, or (lower is better) latencies in microseconds or
      // milliseconds.
      const auto per = json_per(r);
      f << ",\n     \"vstore" << per << "\": " << json_samples(r.vstore) << ",\n     \"raw" << per
        << "\": " << json_samples(r.raw)
        << ",\n     \"ratio_of_medians\": " << json_number(r.ratio())
        << ", \"rep_ratios\": " << json_samples(r.rep_ratios)
        << ",\n     \"vstore_cpu_us_per_unit\": " << json_samples(r.vstore_cpu_us)
        << ",\n     \"raw_cpu_us_per_unit\": " << json_samples(r.raw_cpu_us)
        << ",\n     \"target\": " << json_number(r.target)
        << ", \"lower_is_better\": " << (r.lower_is_better ? "true" : "false")
        << ", \"result\": " << json_string(result_of(r))
        << ", \"vstore_errors\": " << r.vstore_errors << ", \"raw_errors\": " << r.raw_errors
        << ", \"first_error\": " << json_string(r.first_error)
        << ", \"peak_rss_bytes\": " << r.peak_rss
        << ", \"vstored_peak_rss_bytes\": " << r.peer_peak_rss
        << ", \"seconds\": " << json_number(r.seconds);
      if (r.absolute_target)
        f << ", \"target_is_absolute\": true, \"target_unit\": " << json_string(r.latency_unit);
      if (!r.figures.empty()) {
        f << ",\n     \"figures\": {";
        for (size_t k = 0; k < r.figures.size(); ++k)
          f << (k > 0 ? ", " : "") << json_string(r.figures[k].first) << ": "
            << json_number(r.figures[k].second);
        f << "}";
      }
      if (!r.note.empty()) f << ", \"note\": " << json_string(r.note);
      if (!r.floor.values.empty() || r.floor_errors > 0) {
        // CAF 0.17's floor (floor_side.hpp): same unit as the vstore column.
        f << ",\n     \"floor" << per << "\": " << json_samples(r.floor)
          << ", \"floor_ratio_of_medians\": " << json_number(r.floor_ratio())
          << ", \"floor_bounds_target\": " << (r.floor_bounds() ? "true" : "false")
          << ",\n     \"floor_cpu_us_per_unit\": " << json_samples(r.floor_cpu_us)
          << ", \"floor_errors\": " << r.floor_errors
          << ", \"floor_first_error\": " << json_string(r.floor_first_error)
          << ", \"floor_kind\": " << json_string(r.floor_is_hops ? "hops" : "caf");
      } else if (!r.floor_skipped.empty()) {
        f << ", \"floor_skipped\": " << json_string(r.floor_skipped);
      }
      if (!r.ceiling.values.empty() || r.ceiling_errors > 0) {
        // The disk's ceiling (put_small_sync): same unit as the vstore column.
        auto raw = r.raw.median();
        f << ",\n     \"ceiling" << per << "\": " << json_samples(r.ceiling)
          << ", \"ceiling_ratio_of_medians\": "
          << json_number(raw > 0 && !r.ceiling.values.empty() ? r.ceiling.median() / raw : 0)
          << ", \"ceiling_errors\": " << r.ceiling_errors
          << ", \"ceiling_first_error\": " << json_string(r.ceiling_first_error);
      }
      if (r.db_writes > 0) {
        f << ",\n     \"vstore_db_writes\": " << r.db_writes << ", \"vstore_ops_per_db_write\": "
          << json_number(static_cast<double>(r.db_write_ops) / static_cast<double>(r.db_writes))
          << ", \"vstore_seals_by_reason\": {";
        for (size_t k = 0; k < r.seals.size(); ++k)
          f << (k > 0 ? ", " : "") << json_string(r.seals[k].first) << ": " << r.seals[k].second;
        f << "}, \"vstore_sealed_batches\": " << r.sealed_batches;
      }
      f << "}";
    }
    f << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  f << "  ],\n";
  if (!extra_members.empty()) f << extra_members << ",\n";
  f << "  \"summary\": " << json_string(summary_line(rows)) << "\n}\n";
  f.flush();
  if (!f) return {errc::io_error, "cannot write " + path};
  return {};
}

}  // namespace vstore::bench
