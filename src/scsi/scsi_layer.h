// The mid-layer entry point. submit() runs the SAM gate for one command, in this order
// (DESIGN.md): LUN exists and is mapped for this initiator -> ACA -> sanitize in progress
// (SBC-4 4.11, NOT READY) -> unit attention ->
// ALUA access state of the nexus's target port group -> reservation conflict -> task-set
// capacity (TASK SET FULL / BUSY) -> task-set ordering -> CDB decode and range checks ->
// execute.
// It runs on the caller's reactor and completes through cmd.owner (possibly inline).
#pragma once

#include <memory>

#include "scsi/command.h"

namespace stgt::scsi {

void submit(Command& cmd);

// Task-set entry points for transports (SAM-5 8.6, scsi/task_set.h). arrive() when a
// command arrives in the transport's order (CmdSN order for iSCSI), before its data-out is
// in; data_ready() once every byte of it is in (right after arrive() when there is none).
// The command runs submit() as soon as its task set enables it and its data is ready, which
// may be inline; it completes through cmd.owner as before. Commands to a LUN without a
// logical unit join no task set.
void arrive(Command& cmd);
void data_ready(Command& cmd);
// Task management (SAM-5 5.6): takes an arrived command that has not started out of its task
// set. True if it was (it will never complete: the caller owns it again); false if it has
// started (wait for its completion) or never arrived. A command for a LUN without a logical
// unit is in no task set; it counts as unstarted until its data is in. `release` false keeps
// the commands it held back dormant (the caller is aborting them too: ABORT TASK SET, resets).
bool abort_unstarted(Command& cmd, bool release = true);
// Task management is aborting `cmd`, which has started: if its device lets it end before
// the work it started (Command::on_abort; SANITIZE, whose operation belongs to the LU), the
// command will complete soon (posted, never inline) and its result is to be dropped as for
// any aborted task; otherwise nothing happens and the caller waits for it as before. At
// most once per command. On the command's reactor.
void abort_started(Command& cmd);

// The transport tells the mid-layer when an I_T nexus starts (after a successful login,
// with its owner set: ItNexus::set_owner) and when it is lost (logout, connection drop,
// session reinstatement). Both run on the nexus's reactor. nexus_lost() is where state
// the nexus held on shared LUs is released (SPC-2 reservations, PREVENT ALLOW MEDIUM
// REMOVAL); persistent reservations survive it by design.
void nexus_established(const std::shared_ptr<ItNexus>& nexus);
void nexus_lost(ItNexus& nexus);

// What a LOGICAL UNIT RESET (and each LU of a TARGET WARM/COLD RESET) must do to the LU's
// per-nexus state once its tasks are aborted (SAM-5 6.3.3): release the SPC-2
// RESERVE(6)/(10) reservation and every nexus's PREVENT ALLOW MEDIUM REMOVAL. Persistent
// reservations are not affected. The caller also queues the reset UA. Any thread.
// An I_T NEXUS RESET calls nexus_lost()'s per-LU part: LogicalUnit::release_nexus(id).
void logical_unit_reset(LogicalUnit& lu);

}  // namespace stgt::scsi
