#pragma once

// The online checkpoint (checkpoint_request): a one-shot detached actor that
// writes a store::checkpoint on a thread of its own, so that neither the
// manager nor the commit actor blocks while RocksDB flushes its memtables and
// links or copies its files. The worker holds the backend (a shared_ptr): a
// drain that ends while it runs cannot close the store under it.

#include <memory>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/protocol.hpp"
#include "vstore/store.hpp"

namespace vstore {

/// Checks a checkpoint directory without touching the file system: it must be
/// a non-empty absolute path other than the root. On success `normalized` is
/// its lexically normal form without a trailing separator. Otherwise
/// errc::invalid_argument says why.
status normalize_checkpoint_dir(const std::string& dir, std::string& normalized);

/// Writes a checkpoint of `backend` to `dir` (normalized) and fills `out`:
/// refuses with errc::invalid_argument, writing nothing, when `dir` exists or
/// its parent is not a directory; then calls store::checkpoint and counts the
/// files and bytes written. `out.sequence` is the store's sequence number
/// read just before the checkpoint began. Blocks for as long as the backend
/// takes.
status write_checkpoint(store& backend, const std::string& dir, checkpoint_reply& out);

/// The worker's interface: one checkpoint_request, then it quits.
using checkpoint_worker_actor =
    caf::typed_actor<caf::replies_to<checkpoint_request>::with<checkpoint_reply>>;

/// A worker that answers one checkpoint_request with write_checkpoint() and
/// quits. Spawn it with caf::detached: the request blocks.
checkpoint_worker_actor::behavior_type checkpoint_worker(checkpoint_worker_actor::pointer self,
                                                         std::shared_ptr<store> backend);

}  // namespace vstore
