#pragma once

// Copying a primary's snapshot into a directory, as a store ready to follow
// it (docs/replication.md, "Bootstrap"): used by a replica's first start
// (vstore::bootstrap_replica) and by its re-sync (the follower).

#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "messages/protocol.hpp"
#include "vstore/options.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// Opens the store `opts` configures (the composition root's open_store,
/// handed down so that the actors do not depend on the backends).
using store_opener = std::function<status(const options& opts, std::shared_ptr<store>& out)>;

/// Receives one line of progress.
using copy_progress = std::function<void(const std::string&)>;

/// Asks `primary` for a snapshot and copies its files, in chunks, into
/// `dest` (removed first when it exists), each file synced; opens the copy
/// with `open` (opts with db.path = dest) and records the snapshot's
/// sequence in it (store::set_applied_log); releases the snapshot on the
/// primary. On success `sequence` is that sequence. Blocks (a scoped actor
/// of `sys` waits for each reply); call it off the scheduler's threads.
status copy_snapshot(caf::actor_system& sys, const manager_actor& primary, const options& opts,
                     const std::string& dest, const store_opener& open,
                     const copy_progress& progress, uint64_t& sequence);

/// Where a replica's follower stages a fresh copy of its primary (a re-sync)
/// for the manager to switch to: beside the data directory.
inline std::string replica_staged_path(const std::string& db_path) { return db_path + ".resync"; }

/// Syncs the directory (or file) `path` (fsync), so that a rename in it is
/// durable.
status sync_path(const std::string& path);

}  // namespace vstore
