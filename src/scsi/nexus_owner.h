// NexusOwner: what the mid-layer asks of the transport session that owns an I_T nexus when
// state shared by several nexuses changes: task management that reaches other initiators
// (LOGICAL UNIT RESET, TARGET RESET, PREEMPT AND ABORT) and session-level actions.
//
// Threads: every method is called on the nexus's own reactor (ItNexus::reactor()), never
// inline from another reactor; the registry (scsi/nexus_registry.h) posts there. A
// transport implements it on the object that owns the nexus (an iSCSI Connection) and
// hands the nexus a weak_ptr to it, so a message to a session that has gone is dropped.
#pragma once

#include <functional>

namespace stgt::scsi {

class LogicalUnit;

// Why tasks are being aborted; decides what the aborted tasks' initiator is told
// (SAM-5 5.6, 7.x; SPC-5 control mode page TAS).
enum class AbortCause : uint8_t {
  kAbortTaskSet,     // ABORT TASK SET / CLEAR TASK SET from this nexus
  kLuReset,          // LOGICAL UNIT RESET from any nexus
  kTargetReset,      // TARGET WARM RESET from any nexus
  kTargetColdReset,  // TARGET COLD RESET from any nexus: the session ends afterwards
  kNexusReset,       // I_T NEXUS RESET of this nexus
  kPreemptAndAbort,  // PERSISTENT RESERVE OUT PREEMPT AND ABORT by another nexus
  kLuRemoved,        // the LU is going away (control plane)
};

class NexusOwner {
 public:
  // Aborts every task of this nexus addressed to `lu` (every LU when null). `by_other_nexus`
  // tells whether the request came from another I_T nexus (TAS decides whether such tasks
  // get TASK ABORTED status or vanish; with TAS=0 and a cause other than a reset the nexus
  // gets COMMANDS CLEARED BY ANOTHER INITIATOR). Calls `done` on this reactor once none of
  // the aborted tasks can touch the medium any more (they completed or were never
  // started); on the requesting nexus also once their Data-Out sequences have ended
  // (RFC 7143 11.5.1: the initiator answers every outstanding R2T).
  virtual void abort_tasks(const LogicalUnit* lu, AbortCause cause, bool by_other_nexus,
                           std::function<void()> done) = 0;

 protected:
  ~NexusOwner() = default;
};

}  // namespace stgt::scsi
