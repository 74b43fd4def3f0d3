// The mid-layer entry point. submit() runs the SAM gate for one command, in this order
// (DESIGN.md): LUN exists and is mapped for this initiator -> ACA -> unit attention ->
// reservation conflict -> task-set ordering -> CDB decode and range checks -> execute.
// It runs on the caller's reactor and completes through cmd.owner (possibly inline).
#pragma once

#include "scsi/command.h"

namespace stgt::scsi {

void submit(Command& cmd);

}  // namespace stgt::scsi
