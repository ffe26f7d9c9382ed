// The reading commands of the vstore CLI: get, multi-get, scan, outcome,
// stats and info. An embedded store is opened read-only for them.

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "tools/common/json.hpp"
#include "tools/common/prometheus.hpp"
#include "tools/vstore/commands.hpp"
#include "tools/vstore/format.hpp"

namespace vstore::cli {

using tools::json_string;

namespace {

/// Keys per multi_get request (the store's limits.max-multi-get is larger by
/// default).
constexpr size_t multi_get_page = 1000;

/// Entries per scan request.
constexpr uint64_t scan_page = 1000;

/// Reads the keys of `multi-get SPACE -`: one per line, in the format of scan's
/// output (escaped, or hex with --hex); empty lines are skipped.
bool read_keys(const session& s, std::istream& in, std::vector<std::string>& keys) {
  std::string line;
  uint64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto key = s.decode_line(line);
    if (!key) {
      usage("-:" + std::to_string(lineno) + ": not a valid key" +
            (s.globals().hex ? " (hex expected)" : " (bad escape)"));
      return false;
    }
    keys.push_back(std::move(*key));
  }
  return true;
}

}  // namespace

int run_get(session& s, const get_args& a) {
  auto key = s.decode_arg(a.key);
  if (!key) return usage("KEY is not valid hex: " + a.key);
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  std::optional<std::string> value;
  if (auto st = s.db().get(*sp, *key, value); !st) return fail(st);
  if (a.json) {
    std::cout << "{\"space\": " << json_string(a.space)
              << ", \"key\": " << json_string(s.render(*key))
              << ", \"found\": " << (value ? "true" : "false");
    if (value) std::cout << ", \"value\": " << json_string(s.render(*value));
    std::cout << "}\n";
  }
  if (!value) {
    std::cerr << "vstore: not found: " << a.space << " " << s.render(*key) << "\n";
    return exit_not_found;
  }
  if (a.raw)
    std::cout.write(value->data(), static_cast<std::streamsize>(value->size()));
  else if (!a.json)
    std::cout << s.render(*value) << "\n";
  std::cout.flush();
  return std::cout ? exit_ok : exit_store;
}

int run_multi_get(session& s, const multi_get_args& a) {
  std::vector<std::string> keys;
  if (a.keys.size() == 1 && a.keys.front() == "-") {
    if (!read_keys(s, std::cin, keys)) return exit_usage;
  } else {
    for (const auto& k : a.keys) {
      auto key = s.decode_arg(k);
      if (!key) return usage("KEY is not valid hex: " + k);
      keys.push_back(std::move(*key));
    }
  }
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  size_t missing = 0;
  if (a.json) std::cout << "{\"space\": " << json_string(a.space) << ", \"entries\": [";
  for (size_t first = 0; first < keys.size(); first += multi_get_page) {
    auto last = std::min(keys.size(), first + multi_get_page);
    std::vector<std::string> page(keys.begin() + static_cast<std::ptrdiff_t>(first),
                                  keys.begin() + static_cast<std::ptrdiff_t>(last));
    multi_get_reply r;
    if (auto st = s.db().multi_get(*sp, page, r); !st) {
      std::cout.flush();
      return fail(st);
    }
    for (size_t i = 0; i < page.size(); ++i) {
      bool found = i < r.found.size() && r.found[i] != 0 && i < r.values.size();
      auto key = s.render(page[i]);
      if (a.json) {
        std::cout << (first + i == 0 ? "\n  " : ",\n  ") << "{\"key\": " << json_string(key)
                  << ", \"found\": " << (found ? "true" : "false");
        if (found) std::cout << ", \"value\": " << json_string(s.render(r.values[i]));
        std::cout << "}";
      } else if (found) {
        std::cout << key << '\t' << s.render(r.values[i]) << '\n';
      }
      if (!found) {
        ++missing;
        if (!a.json) std::cerr << "vstore: not found: " << a.space << " " << key << "\n";
      }
    }
  }
  if (a.json) std::cout << (keys.empty() ? "]}\n" : "\n]}\n");
  std::cout.flush();
  if (!std::cout) return exit_store;
  return missing > 0 ? exit_not_found : exit_ok;
}

int run_scan(session& s, const scan_args& a) {
  auto prefix = s.decode_arg(a.prefix);
  if (!prefix) return usage("PREFIX is not valid hex: " + a.prefix);
  std::string after;
  if (a.start_after) {
    auto k = s.decode_arg(*a.start_after);
    if (!k) return usage("--start-after is not valid hex: " + *a.start_after);
    after = std::move(*k);
  }
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  if (a.json)
    std::cout << "{\"space\": " << json_string(a.space)
              << ", \"prefix\": " << json_string(s.render(*prefix)) << ", \"entries\": [";
  uint64_t printed = 0;
  bool cut = false;
  // Every page is read at the snapshot of the first one (kept between the
  // requests, released at the end): a write committed meanwhile is wholly in
  // the output or not at all.
  uint64_t snapshot = 0;
  auto release = [&] {
    if (snapshot == 0) return;
    snapshot_read_request r;
    r.snapshot = snapshot;
    snapshot_read_reply ignored;
    (void)s.db().snapshot_read(std::move(r), ignored);
  };
  for (;;) {
    snapshot_read_request req;
    req.items.push_back(read_item::page(
        *sp, *prefix,
        static_cast<uint32_t>(a.limit == 0 ? scan_page : std::min(scan_page, a.limit - printed)),
        after));
    req.snapshot = snapshot;
    req.keep = true;
    snapshot_read_reply reply;
    if (auto st = s.db().snapshot_read(std::move(req), reply); !st) {
      std::cout.flush();
      release();
      return fail(st);
    }
    snapshot = reply.snapshot;
    auto& page = reply.results.front();
    for (const auto& kv : page.entries) {
      if (a.json)
        std::cout << (printed == 0 ? "\n  " : ",\n  ")
                  << "{\"key\": " << json_string(s.render(kv.key))
                  << ", \"value\": " << json_string(s.render(kv.value)) << "}";
      else
        std::cout << s.render(kv.key) << '\t' << s.render(kv.value) << '\n';
      ++printed;
    }
    if (!page.more || page.entries.empty()) break;
    after = page.entries.back().key;
    if (a.limit != 0 && printed >= a.limit) {
      cut = true;
      break;
    }
  }
  release();
  if (a.json) {
    std::cout << (printed == 0 ? "]" : "\n]") << ", \"more\": " << (cut ? "true" : "false");
    if (cut) std::cout << ", \"next_start_after\": " << json_string(s.render(after));
    std::cout << "}\n";
  }
  std::cout.flush();
  if (cut)
    std::cerr << "vstore: more entries follow; continue with " << (s.globals().hex ? "--hex " : "")
              << "--start-after " << s.render(after) << "\n";
  return std::cout ? exit_ok : exit_store;
}

int run_outcome(session& s, const outcome_args& a) {
  auto token = s.decode_arg(a.token);
  if (!token) return usage("TOKEN is not valid hex: " + a.token);
  if (token->empty()) return usage("outcome: TOKEN is empty");
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  outcome_reply r;
  if (auto st = s.db().outcome(*token, r); !st) return fail(st);
  if (a.json) {
    std::cout << "{\"token\": " << json_string(s.render(*token))
              << ", \"state\": " << json_string(to_name(r.state))
              << ", \"seq\": " << (r.state == write_state::committed ? r.seq : 0) << "}\n";
  } else {
    std::cout << to_name(r.state);
    if (r.state == write_state::committed) std::cout << " " << r.seq;
    std::cout << "\n";
  }
  switch (r.state) {
    case write_state::committed:
      return exit_ok;
    case write_state::not_committed:
      return exit_not_found;
    case write_state::pending:
      return exit_pending;
    case write_state::unknown:
      return exit_unknown;
  }
  return exit_unknown;
}

int run_stats(session& s, const stats_args& a) {
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  stats_reply r;
  if (auto st = s.db().stats(r); !st) return fail(st);
  if (a.json)
    std::cout << stats_json(r);
  else if (a.prometheus)
    std::cout << prometheus::render(r);
  else
    std::cout << stats_table(r);
  return exit_ok;
}

int run_info(session& s, const info_args& a) {
  if (int rc = s.open(access::read_only); rc != exit_ok) return rc;
  status_reply r;
  if (auto st = s.db().info(r); !st) return fail(st);
  std::cout << (a.json ? info_json(r) : info_text(r));
  return exit_ok;
}

}  // namespace vstore::cli
