// libFuzzer target: the iSCSI receive path as a hostile initiator reaches it. The input is
// the byte stream an initiator sends on one TCP connection: PDUs decoded by the
// Connection's receive state machine (BHS, AHS, data segment, padding; RFC 7143 11) and
// handed to login, text, SCSI command, Data-Out, NOP-Out, task management and logout
// handling, with a disk target on the memory store behind it.
//
// Each input gets a fresh Connection (and target) on one epoll reactor thread, over a
// socketpair. The fuzzing thread writes the input, reads and discards every response,
// half-closes its end; the connection must then close and drop itself within the time
// libFuzzer allows (-timeout): a connection that survives its peer is a leak.
#include <cstddef>
#include <cstdint>

#include "fuzz/connection_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stgt::fuzz::run_connection(data, size);
  return 0;
}
