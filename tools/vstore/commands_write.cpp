// The writing commands of the vstore CLI: put, delete, delete-range, flush and
// bulk-load.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>

#include "tools/common/json.hpp"
#include "tools/vstore/commands.hpp"
#include "tools/vstore/format.hpp"

namespace vstore::cli {

namespace {

/// Returns a fresh random token of 16 lower-case hex digits (printable, so
/// stderr can name it without escapes).
std::string random_token() {
  std::random_device rd;
  std::mt19937_64 gen{(uint64_t{rd()} << 32) ^ rd()};
  auto x = gen();
  std::string raw(8, '\0');
  for (size_t i = 0; i < 8; ++i) raw[i] = static_cast<char>(x >> (8 * i));
  return to_hex(raw);
}

/// Decodes --token into `out` (a random token without it); false after
/// printing a usage error.
bool decode_token(const session& s, const write_args& a, std::string& out) {
  if (!a.token) {
    out = random_token();
    return true;
  }
  auto token = s.decode_arg(*a.token);
  if (!token) {
    usage("--token is not valid hex: " + *a.token);
    return false;
  }
  if (token->empty()) {
    usage("--token: empty");
    return false;
  }
  out = std::move(*token);
  return true;
}

/// Commits a put, delete or delete-range with its token and reports the
/// outcome: with --json its seq and token; on an error that leaves the write
/// in doubt, the token to ask `outcome` with.
int commit_write(session& s, const write_args& a, write_request w) {
  auto token = w.token;
  w.flush_now = true;
  commit_ack ack;
  if (auto st = s.db().write(std::move(w), ack); !st) {
    int rc = fail(st);
    if (write_outcome_of(st.code()) == write_outcome::maybe)
      std::cerr << "vstore: the write may have been applied; ask: vstore outcome "
                << (s.globals().hex ? "--hex " : "") << s.render(token) << "\n";
    return rc;
  }
  if (a.json)
    std::cout << "{\"seq\": " << ack.seq << ", \"token\": " << tools::json_string(s.render(token))
              << "}\n";
  return exit_ok;
}

/// Reads put's value from stdin: the exact bytes, or hex (surrounding white
/// space ignored) with --hex.
std::optional<std::string> read_value(const session& s) {
  std::string in{std::istreambuf_iterator<char>{std::cin}, std::istreambuf_iterator<char>{}};
  if (std::cin.bad()) return std::nullopt;
  if (!s.globals().hex) return in;
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  size_t b = 0, e = in.size();
  while (b < e && is_space(in[b])) ++b;
  while (e > b && is_space(in[e - 1])) --e;
  return from_hex(std::string_view{in}.substr(b, e - b));
}

/// Draws the bulk-load progress bar on stderr.
void draw_progress(uint64_t ops, double seconds, uint64_t done_bytes, uint64_t total_bytes) {
  constexpr int width = 30;
  std::string bar;
  if (total_bytes > 0) {
    auto frac = std::min(1.0, static_cast<double>(done_bytes) / static_cast<double>(total_bytes));
    auto filled = static_cast<int>(frac * width);
    bar = "[" + std::string(static_cast<size_t>(filled), '#') +
          std::string(static_cast<size_t>(width - filled), ' ') + "] " +
          std::to_string(static_cast<int>(frac * 100)) + "% ";
  }
  auto rate = seconds > 0 ? static_cast<uint64_t>(static_cast<double>(ops) / seconds) : 0;
  std::fprintf(stderr, "\r%s%llu ops, %llu ops/s   ", bar.c_str(),
               static_cast<unsigned long long>(ops), static_cast<unsigned long long>(rate));
  std::fflush(stderr);
}

}  // namespace

int run_put(session& s, const put_args& a) {
  auto key = s.decode_arg(a.key);
  if (!key) return usage("KEY is not valid hex: " + a.key);
  std::optional<std::string> value;
  if (a.value == "-") {
    value = read_value(s);
    if (!value) return usage(s.globals().hex ? "stdin: not valid hex" : "cannot read stdin");
  } else {
    value = s.decode_arg(a.value);
    if (!value) return usage("VALUE is not valid hex: " + a.value);
  }
  write_request w;
  if (!decode_token(s, a.write, w.token)) return exit_usage;
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  w.put(*sp, *key, *value);
  return commit_write(s, a.write, std::move(w));
}

int run_delete(session& s, const delete_args& a) {
  auto key = s.decode_arg(a.key);
  if (!key) return usage("KEY is not valid hex: " + a.key);
  write_request w;
  if (!decode_token(s, a.write, w.token)) return exit_usage;
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  w.del(*sp, *key);
  return commit_write(s, a.write, std::move(w));
}

int run_delete_range(session& s, const delete_range_args& a) {
  auto begin = s.decode_arg(a.begin);
  if (!begin) return usage("BEGIN is not valid hex: " + a.begin);
  auto end = s.decode_arg(a.end);
  if (!end) return usage("END is not valid hex: " + a.end);
  if (!(*begin < *end))
    return usage("delete-range: BEGIN must sort before END (the range is [BEGIN, END))");
  write_request w;
  if (!decode_token(s, a.write, w.token)) return exit_usage;
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  w.del_range(*sp, *begin, *end);
  return commit_write(s, a.write, std::move(w));
}

int run_flush(session& s) {
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  commit_ack ack;
  if (auto st = s.db().flush(ack); !st) return fail(st);
  return exit_ok;
}

int run_bulk_load(session& s, const bulk_load_args& a) {
  const auto& file = a.file;
  std::ifstream fin;
  std::istream* in = &std::cin;
  uint64_t total_bytes = 0;
  if (file != "-") {
    fin.open(file, std::ios::binary);
    if (!fin) return usage("bulk-load: cannot read " + file);
    in = &fin;
    struct stat sb {};
    if (::stat(file.c_str(), &sb) == 0 && S_ISREG(sb.st_mode))
      total_bytes = static_cast<uint64_t>(sb.st_size);
  }
  if (int rc = s.open(access::read_write); rc != exit_ok) return rc;
  auto sp = s.space(a.space);
  if (!sp) return exit_usage;
  bool progress = !a.no_progress && ::isatty(STDERR_FILENO) == 1;
  constexpr size_t max_batch_bytes = 4u << 20;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  uint64_t loaded = 0, read_bytes = 0, lineno = 0;
  write_request w;
  size_t w_bytes = 0;
  auto commit = [&]() -> status {
    if (w.ops.empty()) return {};
    auto n = w.ops.size();
    w.flush_now = true;
    commit_ack ack;
    auto st = s.db().write(std::move(w), ack);
    w = write_request{};
    w_bytes = 0;
    if (st) loaded += n;
    if (progress) draw_progress(loaded, elapsed(), read_bytes, total_bytes);
    return st;
  };
  auto stop = [&](int code, const std::string& msg) {
    if (progress) std::fputc('\n', stderr);
    std::cerr << "vstore: " << msg << " (" << loaded << " ops were committed before)\n";
    return code;
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++lineno;
    read_bytes += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto tab = line.find('\t');
    auto where = file + ":" + std::to_string(lineno) + ": ";
    if (tab == std::string::npos) return stop(exit_usage, where + "expected KEY<TAB>VALUE");
    auto key = s.decode_line(std::string_view{line}.substr(0, tab));
    auto value = s.decode_line(std::string_view{line}.substr(tab + 1));
    if (!key || !value)
      return stop(exit_usage, where + (s.globals().hex ? "not valid hex" : "bad escape"));
    if (key->empty()) return stop(exit_usage, where + "empty key");
    w_bytes += key->size() + value->size();
    w.put(*sp, *key, *value);
    if (w.ops.size() >= a.batch || w_bytes >= max_batch_bytes)
      if (auto st = commit(); !st) return stop(exit_store, "error: " + st.to_string());
  }
  if (in->bad()) return stop(exit_store, "error reading " + file);
  if (auto st = commit(); !st) return stop(exit_store, "error: " + st.to_string());
  auto secs = elapsed();
  if (progress) std::fputc('\n', stderr);
  auto rate = secs > 0 ? static_cast<uint64_t>(static_cast<double>(loaded) / secs) : loaded;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", secs);
  std::cout << "loaded " << loaded << " ops into " << a.space << " in " << buf << " s (" << rate
            << " ops/s)\n";
  return exit_ok;
}

}  // namespace vstore::cli
