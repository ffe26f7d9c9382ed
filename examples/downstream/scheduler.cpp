// A scheduler actor of an execution engine, written only against vstore's
// public API (<vstore/...>): it spawns an embedded StorageManager on a fresh
// directory, commits one batch across two state spaces, reads it back with
// multi_get and scan, checks what it read, drains the store and exits 0 (1 on
// any mismatch or error). Usage: downstream-scheduler [DATA_DIR].

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <vstore/concat_bytes.hpp>
#include <vstore/manager.hpp>
#include <vstore/version.hpp>

namespace {

using namespace vstore;

/// The scheduler: one batch, then its reads; reports "" or what went wrong.
caf::behavior scheduler(caf::event_based_actor* self, manager_actor store, caf::actor report) {
  auto fail = [self, report](const std::string& what) {
    self->send(report, what);
    self->quit();
  };
  const auto key = concat_bytes("resource", be_u64(42));
  write_request batch;
  batch.put(spaces::data, concat_bytes(be_u64(7), "resource"), "balance=100")
      .put(spaces::latest_ptr, key, "7");
  batch.token = "downstream-batch-7";
  self->request(store, std::chrono::seconds(10), std::move(batch))
      .then(
          [=](const commit_ack& ack) {
            std::printf("downstream: batch committed at sequence %llu\n",
                        static_cast<unsigned long long>(ack.seq));
            self->request(store, std::chrono::seconds(10),
                          multi_get_request{spaces::latest_ptr, {key, "absent"}})
                .then(
                    [=](const multi_get_reply& r) {
                      if (r.found.size() != 2 || !r.found[0] || r.found[1] || r.values[0] != "7")
                        return fail("multi_get did not return the committed pointer");
                      scan_request scan;
                      scan.space = spaces::data;
                      scan.limit = 10;
                      self->request(store, std::chrono::seconds(10), std::move(scan))
                          .then(
                              [=](const scan_reply& s) {
                                if (s.entries.size() != 1 || s.entries[0].value != "balance=100")
                                  return fail("scan did not return the committed version");
                                self->send(report, std::string{});
                                self->quit();
                              },
                              [=](const caf::error& e) {
                                fail("scan: " + to_status(e).to_string());
                              });
                    },
                    [=](const caf::error& e) { fail("multi_get: " + to_status(e).to_string()); });
          },
          [=](const caf::error& e) { fail("write: " + to_status(e).to_string()); });
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "downstream-data";
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  options opts;
  opts.db.path = dir;
  manager_actor store;
  if (auto st = spawn_manager(sys, opts, store); !st) {
    std::fprintf(stderr, "downstream: cannot open the store: %s\n", st.to_string().c_str());
    return 1;
  }
  std::printf("downstream: vstore %s, store at %s\n", version_string, dir.c_str());
  caf::scoped_actor self{sys};
  sys.spawn(scheduler, store, caf::actor{self});
  std::string outcome = "no report within 30 s";
  self->receive([&](const std::string& what) { outcome = what; },
                caf::after(std::chrono::seconds(30)) >> [] {});
  drain_reply drained;
  self->request(store, std::chrono::seconds(30), drain_request{})
      .receive([&](drain_reply& r) { drained = r; },
               [&](caf::error& e) { outcome += "; drain: " + to_status(e).to_string(); });
  if (!outcome.empty()) {
    std::fprintf(stderr, "downstream: FAILED: %s\n", outcome.c_str());
    return 1;
  }
  std::printf("downstream: OK (write, multi_get, scan verified; drained)\n");
  return 0;
}
