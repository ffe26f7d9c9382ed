#pragma once

// Read replicas (docs/replication.md): a node that copies a snapshot of a
// primary vstored, then follows its log over CAF's network transport and
// serves reads. vstored --follow uses these; an embedding program may too.

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "vstore/errc.hpp"
#include "vstore/options.hpp"
#include "vstore/protocol.hpp"
#include "vstore/remote_options.hpp"

namespace vstore {

/// Receives one line of progress (a bootstrap's files and bytes copied).
using progress_fn = std::function<void(const std::string&)>;

/// Returns whether opts.db.path holds no store yet (absent or empty): a
/// replica then bootstraps first.
bool needs_bootstrap(const options& opts);

/// Copies a consistent snapshot of the primary at `primary` into
/// opts.db.path, which must be absent or empty. The files travel in chunks
/// of the primary's replication.chunk-size into `opts.db.path` + ".bootstrap"
/// (removed first if a crash left it), each synced, and the copy records the
/// snapshot's primary sequence (store::set_applied_log); only then is it
/// renamed to opts.db.path, so the directory never holds a partial copy.
/// The primary deletes its snapshot afterwards. Blocks; `progress` gets a
/// line per file and every ~64 MiB. The system needs configure_network().
status bootstrap_replica(caf::actor_system& sys, const options& opts, const remote_options& primary,
                         const progress_fn& progress);

/// Opens the replica's store at opts.db.path (RocksDB; bootstrapped before)
/// and spawns a StorageManager that follows `primary`: it serves reads,
/// refuses writes with errc::read_only, and applies the primary's log from
/// the sequence its store recorded. `name` is how it appears in the
/// primary's status (e.g. its listen address). Blocks while RocksDB opens.
status spawn_replica(caf::actor_system& sys, const options& opts, const remote_options& primary,
                     std::string name, manager_actor& out);

}  // namespace vstore
