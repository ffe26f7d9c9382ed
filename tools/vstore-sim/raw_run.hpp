#pragma once

// vstore-sim --raw: the same workload (the same lanes, plans, seeds and
// verification) written directly into RocksDB from plain threads, the
// baseline of vstore-bench's sim rows. The database is opened with
// make_rocksdb_settings of the store's options (the settings rocksdb_store
// uses), one column family per state space. One thread per scheduler runs
// its lanes one step at a time, round robin (lane_plan::next with nothing
// in flight):
//
//   batch:    DB::MultiGet of latest_ptr, DB::MultiGet of data, one
//             WriteBatch (batch_plan::commit) via DB::Write
//   rollback: iterator pages over rollback_ptr (rollback_plan), one WriteBatch
//   prune:    iterator pages over rollback_ptr (prune_plan), one WriteBatch
//
// Every DB::Write uses the settings' write options (WAL on, sync per
// store.sync). The single-chain shape (--chains 1) is one thread running the
// chain: pipelining means nothing without a transport. The verification
// reads every entry of the workload's spaces into a store_image and runs
// check() as the actor run does. RocksDB's headers stay in raw_run.cpp.

#include "tools/vstore-sim/run_context.hpp"

namespace vstore::sim {

/// Runs the workload of `ctx` (after shape_run) against the RocksDB database
/// at ctx.store.db.path, which must not hold a vstore-sim run yet, then
/// verifies it and closes it. Fills ctx.summary (db_writes and db_ops count
/// the workload's DB::Write calls and their operations; drain_s is the
/// close). Returns an exit code. Blocks.
int drive_raw(run_context& ctx);

}  // namespace vstore::sim
