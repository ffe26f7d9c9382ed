#pragma once

// The pieces of remote access the blocking client and connect_manager share
// (internal): the link actor that stands in for a remote manager, and the
// bounded connect.

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "vstore/connect.hpp"
#include "vstore/requests.hpp"

namespace vstore {

/// Returns "host:port" ("[v6]:port"), with " (TLS)" when the options use TLS.
std::string endpoint(const remote_options& r);

/// Whether a link's connection is still up; written by the link, read by the
/// client before each call.
struct link_flag {
  std::atomic<bool> up{true};
};

/// Spawns a local actor with the manager's interface that forwards every
/// request to `remote` (with `timeout`, drains with `drain_timeout`) and fails
/// every pending and later request with errc::disconnected once `remote` goes
/// down (clearing `flag->up`). `peer` names the server in errors.
manager_actor spawn_remote_link(caf::actor_system& sys, manager_actor remote,
                                std::shared_ptr<link_flag> flag, caf::timespan timeout,
                                caf::timespan drain_timeout, std::string peer);

/// Obtains the manager published at `r` and checks with one status request
/// that it answers, every wait bounded by `deadline` (see connect.cpp).
/// `info`, if set, receives the status reply.
/// Spawns connect_manager's router for remote_options::read_replicas: a
/// local actor with the manager's interface that sends get, multi_get and
/// scan to `replica` (if set; with min_seq = the highest sequence a reply
/// through it showed, starting at `seen_seq`, when `read_your_writes`) and,
/// when the replica cannot answer one (down, draining, lagging), to
/// `primary`, which gets every other request. It goes down when `primary`
/// does, failing what is open with errc::disconnected.
manager_actor spawn_read_router(caf::actor_system& sys, manager_actor primary,
                                manager_actor replica, bool read_your_writes, caf::timespan timeout,
                                uint64_t seen_seq);

status connect_until(caf::actor_system& sys, const remote_options& r,
                     std::chrono::steady_clock::time_point deadline, manager_actor& out,
                     status_reply* info);

}  // namespace vstore
