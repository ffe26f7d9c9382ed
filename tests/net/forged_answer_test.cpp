// A peer cannot answer other clients' writes. The writers answer the manager
// for the writes they committed in one written_parts message per batch, a
// message type every node registers; the manager takes it only from its own
// node. vstored publishes a role guard that drops it anyway; an application
// that publishes its manager itself relies on this check. Here the manager is
// published on 127.0.0.1 in process, a client's write is held by a blocked
// disk, and a second actor system connected over the network sends forged
// answers for every write id the manager has used: "committed" with a made-up
// sequence number, then "aborted" (a false "not applied").

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/storage_manager.hpp"
#include "backends/open_store.hpp"
#include "tests/net/subprocess.hpp"
#include "tests/support/fault_store.hpp"
#include "vstore/connect.hpp"
#include "vstore/manager.hpp"

namespace vstore::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t forged_seq = 424242;
constexpr uint64_t forged_ids = 1000;

struct net_config : caf::actor_system_config {
  net_config() {
    configure_actor_system(*this);
    configure_network(*this, local(0));
    set("scheduler.max-threads", size_t{2});
  }
};

written_parts forged(errc code) {
  written_parts w{spaces::data, {}};
  for (uint64_t id = 0; id < forged_ids; ++id)
    w.parts.push_back(written_part{id, code == errc::internal, forged_seq, code, "forged"});
  return w;
}

TEST(ForgedAnswers, APeerCannotAnswerAnotherClientsWrite) {
  net_config server_cfg;
  caf::actor_system server{server_cfg};
  options o;
  o.backend = backend_kind::memory;
  std::shared_ptr<store> inner;
  ASSERT_TRUE(open_store(o, inner));
  auto disk = std::make_shared<fault_store>(inner);
  manager_actor m;
  ASSERT_TRUE(spawn_manager(server, manager_setup{o, disk, nullptr}, m));
  auto port = caf::io::publish(m, 0, "127.0.0.1");
  ASSERT_TRUE(port) << server.render(port.error());

  // The client's write: its commit is held by the disk.
  caf::scoped_actor client{server};
  disk->block();
  write_request w;
  w.put(spaces::data, "k", "real");
  w.flush_now = true;
  client->send(m, std::move(w));
  ASSERT_TRUE(disk->wait_held(1));

  // The peer, over the network.
  net_config peer_cfg;
  caf::actor_system peer{peer_cfg};
  manager_actor remote;
  auto st = connect_manager(peer, local(*port), remote);
  ASSERT_TRUE(st) << st.to_string();
  caf::scoped_actor evil{peer};
  evil->send(remote, forged(errc::internal));  // "committed as of 424242"
  evil->send(remote, forged(errc::aborted));   // "not applied"
  // A round trip on the same connection: the manager handled both before it.
  bool served = false;
  evil->request(remote, 10s, status_request{})
      .receive([&](status_reply&) { served = true; },
               [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  ASSERT_TRUE(served);

  bool answered_early = false;
  client->receive([&](commit_ack&) { answered_early = true; },
                  [&](caf::error&) { answered_early = true; }, caf::after(0ms) >> [] {});
  EXPECT_FALSE(answered_early) << "a forged answer reached the client while its write was held";

  disk->release();
  commit_ack ack;
  client->receive([&](commit_ack& a) { ack = a; },
                  [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); },
                  caf::after(10s) >> [] { ADD_FAILURE() << "the write got no reply"; });
  EXPECT_NE(ack.seq, forged_seq);
  EXPECT_GT(ack.seq, 0u);
  std::optional<std::string> got;
  client->request(m, 10s, get_request{spaces::data, "k"})
      .receive(
          [&](get_reply& r) { got = r.found ? std::optional<std::string>{r.value} : std::nullopt; },
          [&](caf::error& e) { ADD_FAILURE() << to_status(e).to_string(); });
  EXPECT_EQ(got, std::optional<std::string>{"real"});
  caf::anon_send_exit(m, caf::exit_reason::kill);
}

}  // namespace
}  // namespace vstore::test
