// vstore: the command-line client. Talks to a running vstored (--connect) or
// opens a store in this process (--data-dir / --config).
//
// This file only parses the command line (CLI11: one subcommand per command,
// each accepting only its own options) and calls the command's run_*()
// function (commands.hpp). Exit codes: 0 ok, 1 not found (get, multi-get) or
// not committed (outcome), 2 usage error, 3 store or connection error, 4
// pending and 5 unknown (outcome).

#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "tools/vstore/commands.hpp"
#include "vstore/version.hpp"

namespace {

using namespace vstore::cli;

constexpr const char* main_description =
    "A command-line client for vstore, remote (a running vstored) or embedded (the store\n"
    "opened in this process; no vstored may hold it open).\n";

constexpr const char* main_footer =
    R"(SPACE is a state space name (data, latest_ptr, rollback_ptr, batch_metadata, metas,
smt_node, smt_stale, proof_receipt with the default schema).

Bytes: without --hex, command-line arguments are taken as raw bytes; output shows
printable ASCII as is, a backslash as \\ and every other byte (tab, newline, bytes
0x80..0xff included) as \xHH. Input lines (bulk-load, multi-get -) are read in that
same escaped form, so 'vstore scan SPACE "" | vstore bulk-load SPACE -' copies any
keys and values exactly. With --hex, all of them are hex instead.

Environment: VSTORE_CONNECT (HOST:PORT) is the default of --connect, used when
neither --data-dir nor --config is given; VSTORE_TLS_CERT, VSTORE_TLS_KEY and
VSTORE_TLS_CA are the defaults of the --tls-* options for a remote store.

Durations: an integer and a unit: ms, s, min, h (e.g. 500ms, 5s).
Exit codes: 0 ok (outcome: committed), 1 not found (get, multi-get) or not committed
(outcome), 2 usage error, 3 store or connection error, 4 pending (outcome),
5 unknown (outcome).
Run 'vstore COMMAND --help' (or 'vstore help COMMAND') for a command's help.)";

/// The footer of every command's help.
constexpr const char* global_note =
    "\n\nGlobal options (where the store is, --hex, --timeout): see 'vstore --help'.";

/// The part of put's, delete's and delete-range's help about tokens.
constexpr const char* write_token_help =
    R"(The write carries an idempotency token: TOKEN with --token (at most 64 bytes by
default), else a random one. A write whose token already committed is not applied
again: it is answered with its first commit. When the answer is in doubt (e.g. the
connection was lost), the CLI asks the store for the token's outcome and resends the
write only if it did not commit. A write still in doubt exits 3 and stderr names its
token: ask 'vstore outcome TOKEN' later. --json prints {"seq": N, "token": "..."}
(the token escaped, or hex with --hex); without it nothing is printed.)";

/// Commands that take or print keys, values or tokens (and so --hex).
const std::set<std::string> byte_commands = {"get",    "multi-get",    "scan",    "put",
                                             "delete", "delete-range", "outcome", "bulk-load"};

/// Everything the command line fills in.
struct cli_state {
  global_args g;
  get_args get;
  multi_get_args multi_get;
  scan_args scan;
  put_args put;
  delete_args del;
  delete_range_args delete_range;
  outcome_args outcome;
  stats_args stats;
  info_args info;
  bulk_load_args bulk_load;
  drain_args drain;
  promote_args promote;
  checkpoint_args checkpoint;
  std::string help_topic;
  /// --json given before the command (kept from the old parser).
  bool json_before_command = false;
  /// Whether --connect / --tls-* were on the command line (not from the
  /// environment); noted when the command's arguments are parsed, before
  /// CLI11 reads the environment.
  bool connect_given = false;
  bool tls_given = false;
  /// The command's --json flag, if it has one.
  std::map<const CLI::App*, bool*> json_of;
  /// The command's run function.
  std::map<const CLI::App*, std::function<int(session&)>> run_of;
};

/// Validates a duration option (config::parse_duration, positive).
CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::chrono::milliseconds d{0};
        if (!vstore::config::parse_duration(s, d) || d.count() <= 0)
          return "not a positive duration (e.g. 500ms, 5s): " + s;
        return {};
      },
      "");
}

/// Adds a positional argument.
CLI::Option* positional(CLI::App* cmd, const std::string& name, std::string& into,
                        const std::string& help) {
  return cmd->add_option(name, into, help)->required()->type_name("");
}

/// Adds --json.
CLI::Option* json_flag(cli_state& st, CLI::App* cmd, bool& into, const std::string& help) {
  st.json_of[cmd] = &into;
  return cmd->add_flag("--json", into, help);
}

/// Adds --token and --json of a write.
void write_options(cli_state& st, CLI::App* cmd, write_args& w) {
  cmd->add_option("--token", w.token, "Idempotency token of the write (hex with --hex).")
      ->type_name("TOKEN");
  json_flag(st, cmd, w.json, "Print {\"seq\": N, \"token\": \"...\"}.");
}

/// Declares every command.
void add_commands(CLI::App& app, cli_state& st) {
  auto add = [&](const std::string& name, const std::string& description, const std::string& footer,
                 std::function<int(session&)> run) {
    auto* cmd = app.add_subcommand(name, description);
    cmd->footer(footer + global_note);
    st.run_of[cmd] = std::move(run);
    return cmd;
  };

  auto* get =
      add("get", "Print the value of KEY (exit 1 if absent).",
          "Prints the value of KEY in SPACE followed by a newline (escaped, or hex with\n"
          "--hex); with --raw, the exact bytes of the value and nothing else. With --json:\n"
          "{\"space\": ..., \"key\": ..., \"found\": true, \"value\": ...} (key and value\n"
          "escaped, or hex). Exit code 1 and a message on stderr when the key does not\n"
          "exist (with --json, \"found\": false is printed too).",
          [&st](session& s) { return run_get(s, st.get); });
  positional(get, "SPACE", st.get.space, "The state space.");
  positional(get, "KEY", st.get.key, "The key (hex with --hex).");
  auto* raw = get->add_flag("--raw", st.get.raw, "Write the exact value bytes, no newline.");
  json_flag(st, get, st.get.json, "Print a JSON object.")->excludes(raw);

  auto* mget =
      add("multi-get", "Print the values of several keys of SPACE.",
          "Reads the KEYs of SPACE with batched reads and prints KEY<TAB>VALUE for each key that\n"
          "exists, in the order given (the format of scan and bulk-load). A single KEY '-'\n"
          "reads the keys from stdin, one per line, escaped as scan prints them (hex with\n"
          "--hex). Each missing key is named on stderr, and the exit code is 1 if any is\n"
          "missing. With --json: {\"space\": ..., \"entries\": [{\"key\": ..., \"found\": true,\n"
          "\"value\": ...}, {\"key\": ..., \"found\": false}, ...]}.",
          [&st](session& s) { return run_multi_get(s, st.multi_get); });
  positional(mget, "SPACE", st.multi_get.space, "The state space.");
  mget->add_option("KEY", st.multi_get.keys, "The keys (hex with --hex), or '-' for stdin.")
      ->required()
      ->type_name("");
  json_flag(st, mget, st.multi_get.json, "Print a JSON object.");

  auto* scan =
      add("scan", "Print KEY<TAB>VALUE for keys starting with PREFIX.",
          "Prints KEY<TAB>VALUE, one entry per line in key order, for every key of SPACE that\n"
          "starts with PREFIX ('' = all keys), after KEY when --start-after is given, at most\n"
          "N entries with --limit (default: all). Every page is read at ONE snapshot of the\n"
          "store: a write committed during the scan is wholly in the output or not at all.\n"
          "When --limit cut the scan short, stderr says\n"
          "where to continue. The output loads back with 'vstore bulk-load SPACE -' (with\n"
          "--hex on both sides, or on neither). With --json: {\"space\": ..., \"prefix\": ...,\n"
          "\"entries\": [{\"key\": ..., \"value\": ...}, ...], \"more\": false} (with\n"
          "\"more\": true and \"next_start_after\" when --limit cut it short).",
          [&st](session& s) { return run_scan(s, st.scan); });
  positional(scan, "SPACE", st.scan.space, "The state space.");
  positional(scan, "PREFIX", st.scan.prefix, "The key prefix ('' = all; hex with --hex).");
  scan->add_option("--limit", st.scan.limit, "Print at most N entries.")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  scan->add_option("--start-after", st.scan.start_after, "Start after this key (hex with --hex).")
      ->type_name("KEY");
  json_flag(st, scan, st.scan.json, "Print a JSON object.");

  auto* put =
      add("put", "Set KEY to VALUE ('-': VALUE from stdin).",
          "Sets KEY to VALUE in SPACE and returns once the write is committed (in the WAL).\n"
          "VALUE '-' reads the value from stdin: its exact bytes (with --hex: hex, white\n"
          "space around it ignored; so a value of the single byte '-' is --hex ... 2d).\n"
          "With --hex, KEY, VALUE and TOKEN are hex.\n\n" +
              std::string{write_token_help},
          [&st](session& s) { return run_put(s, st.put); });
  positional(put, "SPACE", st.put.space, "The state space.");
  positional(put, "KEY", st.put.key, "The key (hex with --hex).");
  positional(put, "VALUE", st.put.value, "The value (hex with --hex), or '-' for stdin.");
  write_options(st, put, st.put.write);

  auto* del = add(
      "delete", "Remove KEY.",
      "Removes KEY from SPACE (no error if it does not exist).\n\n" + std::string{write_token_help},
      [&st](session& s) { return run_delete(s, st.del); });
  positional(del, "SPACE", st.del.space, "The state space.");
  positional(del, "KEY", st.del.key, "The key (hex with --hex).");
  write_options(st, del, st.del.write);

  auto* drange =
      add("delete-range", "Remove every key from BEGIN (included) to END (excluded).",
          "Removes every key k of SPACE with BEGIN <= k < END (byte-wise order) in one atomic\n"
          "write; BEGIN must sort before END.\n\n" +
              std::string{write_token_help},
          [&st](session& s) { return run_delete_range(s, st.delete_range); });
  positional(drange, "SPACE", st.delete_range.space, "The state space.");
  positional(drange, "BEGIN", st.delete_range.begin, "The first key removed (hex with --hex).");
  positional(drange, "END", st.delete_range.end, "The first key kept (hex with --hex).");
  write_options(st, drange, st.delete_range.write);

  auto* outcome = add(
      "outcome", "Print what became of the write with TOKEN.",
      "Asks the store what became of the write that carried TOKEN (hex with --hex) and\n"
      "prints one of:\n"
      "  committed SEQ   committed as of sequence number SEQ            (exit 0)\n"
      "  not_committed   not committed, and it never will be: retrying  (exit 1)\n"
      "                  is safe\n"
      "  pending         admitted and not settled yet: ask again        (exit 4)\n"
      "  unknown         the store no longer remembers the token        (exit 5)\n"
      "                  ([tokens] retain-count / retain-age): read the data\n"
      "With --json: {\"token\": \"...\", \"state\": \"committed\", \"seq\": SEQ} (seq 0 unless\n"
      "committed), same exit codes.",
      [&st](session& s) { return run_outcome(s, st.outcome); });
  positional(outcome, "TOKEN", st.outcome.token, "The token (hex with --hex).");
  json_flag(st, outcome, st.outcome.json, "Print a JSON object.");

  auto* stats =
      add("stats", "Print the counters of every space.",
          "Prints the counters of every state space: a table by default, one JSON object with\n"
          "--json, or Prometheus' text exposition format with --prometheus (metrics such as\n"
          "vstore_reads_total{space=\"data\"}). Embedded, the counters start at zero.",
          [&st](session& s) { return run_stats(s, st.stats); });
  auto* prom = stats->add_flag("--prometheus", st.stats.prometheus,
                               "Print Prometheus' text exposition format.");
  json_flag(st, stats, st.stats.json, "Print one JSON object.")->excludes(prom);

  auto* info =
      add("info", "Print the backend, the spaces and their state.",
          "Prints the backend, the latest sequence number, the uptime, every space with its\n"
          "state, and the store's health. With --json: {\"backend\": ..., \"sequence\": N,\n"
          "\"uptime_ms\": N, \"shutting_down\": false, \"spaces\": [{\"id\": 0, \"name\": ...,\n"
          "\"state\": ...}, ...], \"health\": {\"state\": \"ok\", ...}}, and the replication\n"
          "role: a replica's primary, state, applied sequence and lag, or a primary's\n"
          "replicas. 'status' is the same command.",
          [&st](session& s) { return run_info(s, st.info); });
  info->alias("status");
  json_flag(st, info, st.info.json, "Print one JSON object.");

  add("flush", "Commit every open batch now.",
      "Commits every open batch of every space now; returns once they are committed.",
      [](session& s) { return run_flush(s); });

  auto* bulk = add(
      "bulk-load", "Load KEY<TAB>VALUE lines from FILE ('-' = stdin).",
      "Loads FILE ('-' = stdin) into SPACE: one KEY<TAB>VALUE per line (split at the first\n"
      "TAB; a trailing CR is dropped; empty lines are skipped), escaped as scan prints them\n"
      "(\\\\ a backslash, \\xHH a byte; \\t, \\n, \\r and \\0 are accepted too), hex with --hex.\n"
      "Writes batches of N operations (default 1000, also cut at 4 MiB), each committed\n"
      "atomically. Shows a progress bar on stderr when it is a terminal and prints the\n"
      "count and the rate (ops/s) at the end. A malformed line stops the load (exit 2);\n"
      "the batches before it are committed.",
      [&st](session& s) { return run_bulk_load(s, st.bulk_load); });
  positional(bulk, "SPACE", st.bulk_load.space, "The state space.");
  positional(bulk, "FILE", st.bulk_load.file, "The file to load, '-' = stdin.");
  bulk->add_option("--batch", st.bulk_load.batch, "Operations per write (default 1000).")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000}));
  bulk->add_flag("--no-progress", st.bulk_load.no_progress, "No progress bar.");

  auto* drain =
      add("drain", "Drain the store (a vstored then exits).",
          "Drains the store: commits the open batches, answers the queued requests (for at most\n"
          "the shutdown grace period) and closes the backend; prints how many requests were\n"
          "answered and how many were cut off. A vstored exits once drained (exit code 0), so\n"
          "this is a clean remote shutdown. With --json: {\"answered\": N, \"cut_off\": N}.",
          [&st](session& s) { return run_drain(s, st.drain); });
  json_flag(st, drain, st.drain.json, "Print a JSON object.");

  auto* promote =
      add("promote", "Make the read replica a primary (docs/replication.md).",
          "Makes the read replica at --connect (a vstored --follow) a primary: it stops\n"
          "following, records the next epoch in its store and accepts writes. Use it only\n"
          "when the old primary is gone for good: its other replicas must copy a fresh\n"
          "snapshot of the new primary (they get resync_needed), and an old primary that\n"
          "returns refuses writes once a replica of the new epoch reaches it. Needs the admin\n"
          "role. With --json: {\"epoch\": N, \"applied_seq\": N, \"sequence\": N}.",
          [&st](session& s) { return run_promote(s, st.promote); });
  json_flag(st, promote, st.promote.json, "Print a JSON object.");

  auto* ckpt =
      add("checkpoint", "Copy the store consistently to TARGET, online.",
          "Writes a consistent point-in-time copy of the store to directory TARGET (which must\n"
          "not exist; its parent must) while the store keeps serving, using a RocksDB\n"
          "checkpoint (hard links on the data directory's file system, copies elsewhere).\n"
          "With --connect, the vstored writes it: TARGET is a path on the server and must be\n"
          "absolute. Embedded (--data-dir or --config), TARGET is made absolute. Prints\n"
          "\"checkpoint written to TARGET (sequence N)\": every write acknowledged before the\n"
          "command is in it. Waits up to 10 minutes (or --timeout). TARGET opens as a store:\n"
          "vstored --data-dir TARGET, or vstore --data-dir TARGET get SPACE KEY.",
          [&st](session& s) { return run_checkpoint(s, st.checkpoint); });
  positional(ckpt, "TARGET", st.checkpoint.target, "The directory to create.");

  auto* help = app.add_subcommand("help", "Print this help or a command's help.");
  help->footer("");
  help->add_option("COMMAND", st.help_topic, "The command.")->type_name("");
}

/// Prints a usage error that CLI11 found, naming the command.
int parse_failure(const CLI::App& app, const CLI::ParseError& e) {
  auto cmds = app.get_subcommands();
  if (cmds.empty()) {
    auto rest = app.remaining();
    for (const auto& r : rest)
      if (!r.empty() && r[0] != '-') return usage("unknown command '" + r + "'");
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && rest.empty())
      return usage("no command given");
    return usage(e.what());
  }
  auto name = cmds.front()->get_name();
  std::cerr << "vstore " << name << ": " << e.what() << "\nTry 'vstore " << name << " --help'.\n";
  return exit_usage;
}

/// Checks the combination of options CLI11 cannot express; moves --json given
/// before the command to the command. Returns exit_ok or a usage error.
int check_options(cli_state& st, CLI::App& cmd) {
  const auto name = cmd.get_name();
  auto& g = st.g;
  if (st.json_before_command) {
    auto j = st.json_of.find(&cmd);
    if (j == st.json_of.end()) return usage("--json: not an option of '" + name + "'");
    *j->second = true;
    if (auto* opt = cmd.get_option_no_throw("--json"))
      for (const auto* other : opt->get_excludes())
        if (other->count() > 0) return usage(name + ": --json excludes " + other->get_name());
  }
  if (g.hex && byte_commands.count(name) == 0)
    return usage("--hex: '" + name + "' takes and prints no keys or values");
  const bool local = !g.data_dir.empty() || !g.config_file.empty();
  if (st.connect_given && local)
    return usage("say where the store is: --connect HOST:PORT, or --data-dir DIR / --config FILE");
  if (local) {
    // VSTORE_CONNECT and VSTORE_TLS_* are defaults for a remote store only.
    g.connect.clear();
    if (st.tls_given) return usage("--tls-* options need --connect");
    g.tls_cert.clear();
    g.tls_key.clear();
    g.tls_ca.clear();
  } else if (g.connect.empty()) {
    if (st.tls_given) return usage("--tls-* options need --connect");
    return usage(
        "say where the store is: --connect HOST:PORT (or VSTORE_CONNECT), or --data-dir DIR / "
        "--config FILE");
  } else {
    g.connect_from_env = !st.connect_given;
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  cli_state st;
  CLI::App app{main_description, "vstore"};
  app.set_version_flag("--version", std::string{"vstore "} + vstore::version_string,
                       "Print the version and exit.");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command too
  app.get_formatter()->column_width(34);
  app.get_formatter()->label("REQUIRED", "");

  auto& g = st.g;
  const std::string where = "Where the store is (exactly one)";
  auto* connect = app.add_option("--connect", g.connect, "A running vstored.")
                      ->type_name("HOST:PORT")
                      ->envname("VSTORE_CONNECT")
                      ->group(where);
  app.add_option("--data-dir", g.data_dir, "A RocksDB store in DIR, opened in this process.")
      ->type_name("DIR")
      ->group(where);
  app.add_option("--config", g.config_file, "A vstore INI file (--data-dir overrides its path).")
      ->type_name("FILE")
      ->group(where);
  const std::string remote = "Remote options";
  std::vector<CLI::Option*> tls = {
      app.add_option("--tls-cert", g.tls_cert, "Client certificate (PEM); the three go together.")
          ->type_name("FILE")
          ->envname("VSTORE_TLS_CERT")
          ->group(remote),
      app.add_option("--tls-key", g.tls_key, "Its private key (PEM).")
          ->type_name("FILE")
          ->envname("VSTORE_TLS_KEY")
          ->group(remote),
      app.add_option("--tls-ca", g.tls_ca, "CA (PEM) that signed the server's certificate.")
          ->type_name("FILE")
          ->envname("VSTORE_TLS_CA")
          ->group(remote)};
  app.add_option("--connect-timeout", g.connect_timeout,
                 "Bound on connecting. Default: 5s, at most --timeout.")
      ->type_name("DUR")
      ->check(duration_validator())
      ->group(remote);
  const std::string common = "Common options";
  app.add_flag("--hex", g.hex, "Keys, values, prefixes and tokens are hex, in and out.")
      ->group(common);
  app.add_option("--timeout", g.timeout, "Wait this long for each reply. Default: 10s.")
      ->type_name("DUR")
      ->check(duration_validator())
      ->group(common);
  // Accepted before the command as the old parser did; moved to the command.
  app.add_flag("--json", st.json_before_command, "")->group("");

  add_commands(app, st);
  app.footer(main_footer);
  // Note which location options came from the command line: each command's
  // parse ends before CLI11 fills in the environment variables.
  for (auto* cmd : app.get_subcommands([](CLI::App*) { return true; }))
    cmd->parse_complete_callback([&st, connect, tls] {
      st.connect_given = connect->count() > 0;
      for (auto* t : tls) st.tls_given = st.tls_given || t->count() > 0;
    });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return exit_ok;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return parse_failure(app, e);
  }

  auto* cmd = app.get_subcommands().front();
  if (cmd->get_name() == "help") {
    if (st.help_topic.empty()) {
      std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
      return exit_ok;
    }
    CLI::App* topic = nullptr;
    for (auto* c : app.get_subcommands([](CLI::App*) { return true; }))
      if (c != cmd && c->get_name() == st.help_topic) topic = c;
    if (topic == nullptr) return usage("unknown command '" + st.help_topic + "'");
    std::cout << topic->help(app.get_name());
    return exit_ok;
  }
  if (int rc = check_options(st, *cmd); rc != exit_ok) return rc;
  // The store's own log lines (embedded) go to stderr, warnings and errors only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vstore"));
  spdlog::set_level(spdlog::level::warn);
  session s{st.g};
  return st.run_of.at(cmd)(s);
}
