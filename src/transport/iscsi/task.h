// Task: the iSCSI side of one SCSI command — its scsi::Command plus the state of its data
// transfer (immediate/unsolicited data, R2Ts, Data-In sequence numbers).
//
// Owned by a Connection's TaskTable (fixed slots, reused; no allocation per command). A
// task lives on its connection's reactor from the SCSI Command PDU to the moment the last
// PDU that points into its buffers has been written to the socket.
#pragma once

#include <array>
#include <cstdint>

#include "scsi/command.h"

namespace stgt::iscsi {

inline constexpr uint32_t kMaxOutstandingR2t = 16;

struct R2tSlot {
  bool active = false;
  uint32_t ttt = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t received = 0;
  uint32_t next_data_sn = 0;
};

struct Task {
  scsi::Command cmd;
  uint32_t slot = 0;        // index in the task table (part of every TTT we hand out)
  uint32_t itt = 0;
  uint32_t cmd_sn = 0;
  uint64_t lun_field = 0;
  uint32_t edtl = 0;        // expected data transfer length
  bool read = false;
  bool write = false;
  bool immediate = false;   // I bit: not CmdSN-ordered
  bool started = false;     // its CmdSN turn has come
  bool in_scsi = false;     // arrived in its task set: the SCSI layer holds the command
  bool data_done = false;   // every byte of data-out is in and the SCSI layer knows
  bool completed = false;   // the SCSI layer is done with it (or it was aborted and ended)
  bool aborted = false;     // task management aborted it (SAM-5 5.6)
  bool abort_report = false;  // ... and it ends with TASK ABORTED status (TAS=1, other nexus)
  bool failed_early = false;  // answered without reaching the SCSI layer, once its data is in
  scsi::SenseReason fail_reason = scsi::SenseReason::kNone;  // kNone: fail with fail_status
  scsi::Status fail_status = scsi::Status::kGood;
  uint32_t buffered = 0;  // bytes counted against the session's write buffer

  // Data-Out bookkeeping (RFC 7143 10.7, 10.8).
  uint32_t received = 0;             // data bytes received so far (all sequences)
  uint32_t unsolicited_end = 0;      // immediate + unsolicited data may fill [0, this)
  uint32_t unsolicited_received = 0;
  uint32_t unsolicited_next_data_sn = 0;
  bool unsolicited_done = true;      // the unsolicited sequence ended (F bit) or none expected
  uint32_t next_r2t_offset = 0;      // first byte not yet solicited
  uint32_t r2t_sn = 0;
  uint32_t outstanding_r2ts = 0;
  std::array<R2tSlot, kMaxOutstandingR2t> r2ts{};

  uint32_t data_sn = 0;              // next Data-In DataSN (also counts R2Ts: RFC 7143 11.4.6)
  uint32_t pdus_in_flight = 0;       // queued PDUs that reference this task
  Task* next_free = nullptr;

  // Back to the state of a fresh slot (keeps `slot`; the command's buffers go back to the
  // pool). Field by field, so that no Command or BufferChain is constructed per command.
  void reset() {
    cmd.reset();
    itt = 0;
    cmd_sn = 0;
    lun_field = 0;
    edtl = 0;
    read = write = immediate = started = in_scsi = data_done = completed = failed_early = false;
    aborted = abort_report = false;
    fail_reason = scsi::SenseReason::kNone;
    fail_status = scsi::Status::kGood;
    buffered = 0;
    received = unsolicited_end = unsolicited_received = unsolicited_next_data_sn = 0;
    unsolicited_done = true;
    // Every R2T slot activation counts in r2t_sn, so with r2t_sn == 0 the slots are still as
    // the last reset left them: a write carried whole by immediate/unsolicited data (and
    // every READ) skips the 16-slot reset (~100 instructions per command).
    if (r2t_sn != 0) {
      for (R2tSlot& r : r2ts)
        r = R2tSlot{};
    }
    next_r2t_offset = r2t_sn = outstanding_r2ts = 0;
    data_sn = 0;
    pdus_in_flight = 0;
    next_free = nullptr;
  }
};

}  // namespace stgt::iscsi
