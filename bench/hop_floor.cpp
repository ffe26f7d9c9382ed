// vstore-hop-floor: what CAF 0.17's own message hops cost on this machine,
// the floor under vstore's sequential commit (docs/performance.md). An
// event-based client sends N sequential requests down a chain of relay actors;
// the last one answers and every relay passes the answer back with
// request/then, as vstore's manager and writer do. It prints the median
// microseconds per round trip of:
//   echo, scheduled / detached                client -> E -> client
//   commit path shape, detached / scheduled   client -> manager -> writer -> C
// where C is the last actor on its own thread (a round on the commit actor's
// I/O thread) or on the scheduler (a round written inline, try_commit). No RocksDB: add one
// DB::Write (~7-15 us without fsync) for vstore's floor. Usage: vstore-hop-floor [ROUNDS [REPS
// [stealing|sharing]]] (default 20000 rounds, 5 repetitions, CAF's work-stealing scheduler, 2
// scheduler threads as vstore-bench uses on this machine).
// vstore-hop-floor --serve-echo [...] instead serves the remote floor's echo
// (bench/floor_echo.hpp) that vstore-bench's remote rows measure.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "bench/floor_echo.hpp"

namespace {
using clock_type = std::chrono::steady_clock;
using ping_atom = caf::atom_constant<caf::atom("hf_ping")>;
constexpr auto tmo = std::chrono::seconds(30);
caf::behavior echo(caf::event_based_actor*) {
  return {[](ping_atom, int x) { return x; }};
}
caf::behavior relay(caf::event_based_actor* self, caf::actor next) {
  return {[self, next](ping_atom, int x) -> caf::result<int> {
    auto rp = self->make_response_promise<int>();
    self->request(next, tmo, ping_atom::value, x).then([rp](int y) mutable { rp.deliver(y); });
    return rp;
  }};
}
struct client_state {
  clock_type::time_point start;
  int left = 0;
};
caf::behavior client(caf::stateful_actor<client_state>* self, caf::actor first, int rounds,
                     caf::actor report) {
  self->state.start = clock_type::now();
  self->state.left = rounds;
  auto step = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = step;
  *step = [self, first, report, weak] {
    if (self->state.left == 0) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() -
                                                                     self->state.start);
      self->send(report, static_cast<double>(ns.count()));
      self->quit();
      return;
    }
    --self->state.left;
    self->request(first, tmo, ping_atom::value, self->state.left).then([weak](int) {
      if (auto s = weak.lock()) (*s)();
    });
  };
  self->send(self, ping_atom::value, 0);
  return {[step](ping_atom, int) { (*step)(); }};
}
double run_chain(caf::actor_system& sys, int relays, bool detached_end, int rounds) {
  caf::actor last = detached_end ? sys.spawn<caf::detached>(echo) : sys.spawn(echo);
  std::vector<caf::actor> chain{last};
  caf::actor first = last;
  for (int i = 0; i < relays; ++i) {
    first = sys.spawn(relay, first);
    chain.push_back(first);
  }
  caf::scoped_actor self{sys};
  sys.spawn(client, first, rounds, caf::actor{self});
  double ns = -1;
  self->receive([&](double x) { ns = x; },
                caf::after(std::chrono::seconds(60)) >>
                    [] { std::fprintf(stderr, "no report within 60 s\n"); });
  for (auto& a : chain) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return ns / 1000.0 / rounds;
}
}  // namespace
int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "--serve-echo")
    return vstore::bench::serve_echo_main(argc, argv);
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20000, reps = argc > 2 ? std::atoi(argv[2]) : 5;
  caf::actor_system_config cfg;
  if (argc > 3)
    cfg.set("scheduler.policy",
            std::string{argv[3]} == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  struct shape {
    const char* name;
    int relays;
    bool detached;
    int hops;
  };
  const shape shapes[] = {{"echo, scheduled", 0, false, 2},
                          {"echo, detached", 0, true, 2},
                          {"commit path shape, detached end (client>m>w>D)", 2, true, 6},
                          {"commit path shape, scheduled end (client>m>w>C)", 2, false, 6}};
  std::printf("%-50s %14s %10s\n", "chain", "us/round trip", "us/hop");
  for (const auto& s : shapes) {
    std::vector<double> us;
    for (int r = 0; r < reps; ++r) us.push_back(run_chain(sys, s.relays, s.detached, rounds));
    std::sort(us.begin(), us.end());
    std::printf("%-50s %14.2f %10.2f\n", s.name, us[us.size() / 2], us[us.size() / 2] / s.hops);
  }
}
