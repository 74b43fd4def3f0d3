// Task management that reaches beyond one I_T nexus (SAM-5 7.7 LOGICAL UNIT RESET, the
// target hard resets of SAM-5 6.3.2 that iSCSI calls TARGET WARM / COLD RESET), and the one
// function where the effects of a reset on a logical unit's state are applied.
//
// Threads: called on the requesting nexus's reactor. The aborts fan out through the
// target's NexusRegistry to every nexus's own reactor; `done` runs back on `home` once every
// affected command has completed or can no longer touch the medium ("safe" task management:
// the transport sends the TMF response from `done`). Functions that stay inside one nexus
// (ABORT TASK, ABORT TASK SET, CLEAR TASK SET, QUERY ...) are the transport's, on its own
// task table, through scsi::abort_unstarted (scsi/scsi_layer.h).
#pragma once

#include <cstdint>
#include <functional>

namespace stgt::reactor {
class Reactor;
}

namespace stgt::scsi {

class ItNexus;
class LogicalUnit;

enum class ResetKind : uint8_t { kLogicalUnitReset, kTargetWarmReset, kTargetColdReset };

// SAM-5 6.3.3: what a reset does to the state of `lu` itself (not to its tasks, which the
// caller has aborted, nor to unit attentions). Thread-safe (LU state is atomic).
void reset_logical_unit(LogicalUnit& lu, ResetKind kind);

// LOGICAL UNIT RESET (SAM-5 7.7) requested on `origin`: aborts every task of every nexus on
// `lu`, resets the LU, and establishes BUS DEVICE RESET FUNCTION OCCURRED for every nexus
// that sees it (the requester included), then runs `done` on `home`.
void logical_unit_reset(ItNexus& origin, LogicalUnit& lu, reactor::Reactor* home,
                        std::function<void()> done);

// TARGET WARM / COLD RESET (RFC 7143 11.5.1, SAM-5 6.3.2 hard reset) requested on `origin`:
// aborts every task of every nexus of the target, resets each of its LUs, and establishes
// POWER ON, RESET, OR BUS DEVICE RESET OCCURRED on every LUN of every nexus, then runs `done`
// on `home`. On a cold reset every other session ends once its tasks are done; the
// requester's transport ends its own after sending the response.
void target_reset(ItNexus& origin, bool cold, reactor::Reactor* home, std::function<void()> done);

}  // namespace stgt::scsi
