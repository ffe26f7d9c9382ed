#include "bench/floor_echo.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "bench/workload.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"
#include "vstore/protocol.hpp"

namespace vstore::bench {

namespace {

struct echo_state {
  /// The value every get answers with (value_size bytes).
  std::string value = std::string(value_size, 'v');
  uint64_t seq = 0;
  static inline const char* name = "vstore-hop-floor.echo";
};

using echo_pointer = manager_actor::stateful_pointer<echo_state>;

template <class Reply>
caf::result<Reply> refuse() {
  return make_error(errc::unavailable, "vstore-hop-floor echo: only get, multi_get and write");
}

/// Replies and does nothing else.
manager_actor::behavior_type echo(echo_pointer self) {
  return {
      [self](get_request&) {
        return get_reply{true, self->state.value};
      },
      [self](multi_get_request& r) {
        multi_get_reply out;
        out.found.assign(r.keys.size(), 1);
        out.values.assign(r.keys.size(), self->state.value);
        return out;
      },
      [](scan_request&) { return refuse<scan_reply>(); },
      [](snapshot_read_request&) { return refuse<snapshot_read_reply>(); },
      [self](write_request&) { return commit_ack{++self->state.seq}; },
      [](flush_request&) { return refuse<commit_ack>(); },
      [](stats_request&) { return refuse<stats_reply>(); },
      [](status_request&) {
        status_reply r;
        r.backend = "vstore-hop-floor echo";
        return r;
      },
      [](drain_request&) { return refuse<drain_reply>(); },
      [](outcome_request&) { return refuse<outcome_reply>(); },
      [](checkpoint_request&) { return refuse<checkpoint_reply>(); },
      [](log_request&) { return refuse<log_reply>(); },
      [](snapshot_request&) { return refuse<snapshot_reply>(); },
      [](chunk_request&) { return refuse<chunk_reply>(); },
      [](snapshot_release&) { return refuse<release_reply>(); },
      [](promote_request&) { return refuse<promote_reply>(); },
      [](tick_atom) {},
      [](min_seq_atom) {},
      [](read_batch_atom) {},
      [](written_parts&) {},
  };
}

int usage(const std::string& what) {
  std::cerr << "vstore-hop-floor --serve-echo [--max-threads N] [--port P]: " << what << '\n';
  return 2;
}

}  // namespace

int serve_echo_main(int argc, char** argv) {
  size_t max_threads = 0;
  unsigned long port = 0;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--max-threads" || a == "--port") && i + 1 < argc) {
      char* end = nullptr;
      auto n = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || (a == "--port" && n > 65535) || (a == "--max-threads" && n == 0))
        return usage("bad value for " + a);
      (a == "--port" ? port : max_threads) = n;
    } else {
      return usage("unknown argument " + a);
    }
  }
  // Block the stop signals in every thread (CAF's inherit this mask); the
  // main thread waits for them with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // vstored's actor system settings (tools/vstored/main.cpp, serve()).
  caf::actor_system_config cfg;
  configure_actor_system(cfg, scheduler_polling::caf_default);
  configure_network(cfg, remote_options{});
  if (max_threads > 0) cfg.set("scheduler.max-threads", max_threads);
  caf::actor_system sys{cfg};
  auto handle = sys.spawn(echo);
  auto published = sys.middleman().publish(handle, static_cast<uint16_t>(port), "127.0.0.1", true);
  if (!published) {
    std::cerr << "vstore-hop-floor --serve-echo: cannot publish: " << sys.render(published.error())
              << '\n';
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::cout << "vstore-hop-floor echo listening on 127.0.0.1:" << *published << std::endl;
  // CAF prints some diagnostics to stdout; the reader of the line above may
  // stop reading: send them to stderr (as vstored does).
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  int sig = 0;
  sigwait(&stop, &sig);
  caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  return 0;
}

}  // namespace vstore::bench
