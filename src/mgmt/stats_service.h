// The statistics method `stats.get` (docs/api.md): per LU, per session and per connection —
// commands by class, bytes, CHECK CONDITIONs, task aborts and a latency histogram.
//
// LU counters are summed from their per-reactor shards on the control thread; session and
// connection counters are read on each session's reactor (IscsiServer::sessions()). A
// session has exactly one connection (MaxConnections=1), so a connection's counters are its
// session's. Threads: the control thread (or the metrics thread through the Dispatcher).
#pragma once

#include "mgmt/json_rpc.h"
#include "mgmt/runtime.h"
#include "scsi/io_stats.h"

namespace stgt::mgmt {

// The counters of one object as stats.get reports them (flat keys plus "latency").
Json io_stats_json(const scsi::IoStats& s);

void register_stats(Dispatcher& dispatcher, Runtime& runtime);

}  // namespace stgt::mgmt
