#include "scsi/command.h"

#include <algorithm>

#include "scsi/io_stats.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/task_set.h"

namespace stgt::scsi {

bool Command::allocate_in(uint32_t length) {
  in_length = length;
  const uint32_t n = std::min(length, expected_in_length);
  if (n == 0) {
    data.reset();
    return true;
  }
  if (pool == nullptr) return false;
  return data.allocate(*pool, n);
}

void Command::complete_good() {
  status = Status::kGood;
  finish();
}

void Command::complete_data(std::span<const uint8_t> bytes, uint32_t allocation_length) {
  const auto n = uint32_t(std::min<size_t>(bytes.size(), allocation_length));
  if (!allocate_in(n)) {
    fail_no_buffers();
    return;
  }
  data.copy_in(0, bytes.data(), n);
  complete_good();
}

void Command::complete_status(Status s) {
  status = s;
  finish();
}

void Command::complete_sense(SenseReason reason, const SenseDetail& detail) {
  complete_sense(sense_code(reason), detail);
}

void Command::complete_sense(SenseCode code, const SenseDetail& detail) {
  status = Status::kCheckCondition;
  // SPC-5 7.5.10: D_SENSE in the LU's control page picks the format.
  const SenseFormat format = lu != nullptr ? lu->sense_format() : SenseFormat::kFixed;
  sense_length = uint8_t(encode_sense(format, code, detail, sense));
  // No data-in accompanies CHECK CONDITION.
  in_length = 0;
  data.reset();
  finish();
}

void Command::fail_cdb_field(uint16_t byte, int bit) {
  FieldPointer f{.cdb = true, .byte = byte, .bit = std::nullopt};
  if (bit >= 0) f.bit = uint8_t(bit);
  complete_sense(SenseReason::kInvalidFieldInCdb, SenseDetail{.field = f});
}

// Field by field rather than `*this = Command{}`: that would construct and move two
// BufferChains of 32 handles each for every command (measured: ~10% of the target's own
// CPU at 4 KiB QD32). Every field declared in command.h must be reset here.
bool Command::write_protected() const {
  return read_only_view || (lu != nullptr && lu->write_protected());
}

void Command::reset() {
  data.reset();
  aux.reset();
  cdb.fill(0);
  cdb_length = 0;
  lun = 0;
  tag = 0;
  attribute = TaskAttribute::kSimple;
  expected_in_length = 0;
  expected_out_length = 0;
  nexus = nullptr;
  owner = nullptr;
  reactor = nullptr;
  pool = nullptr;
  transport_context = nullptr;
  status = Status::kGood;
  in_length = 0;
  out_length = 0;
  sense_length = 0;
  lu = nullptr;
  read_only_view = false;
  lba = 0;
  blocks = 0;
  step = 0;
  fua = false;
  abort_requested = false;
  on_store_done = nullptr;
  on_abort = nullptr;
  device_context = nullptr;
  extent = ExtentHold{};
  in_task_set = false;
  task_set = nullptr;
  ts_older = ts_newer = ts_ready_next = nullptr;
  task_state = TaskState::kOutside;
  data_ready = false;
  arrived_ns = 0;
  unmapped_waiting = false;
  completed_ = false;
}

void Command::finish() {
  if (completed_) return;  // a second completion is a bug in a handler; never report twice
  completed_ = true;
  // Before the transport may reuse the command: waiters blocked by its range may run now.
  if (extent.state != ExtentHold::State::kNone && lu != nullptr) lu->extents().release(*this);
  aux.reset();  // device scratch is never part of the response
  if (in_task_set) {
    in_task_set = false;
    if (lu != nullptr) lu->leave_task_set();
    if (nexus != nullptr) nexus->left_task_set();
  }
  // SAM-5 8.6: leaving the task set may enable newer commands; they start after this
  // command's completion has been reported (the transport may reuse *this from then on).
  TaskSet* const ts = task_set;
  if (ts != nullptr) ts->remove(*this);
  count_completion(*this);
  if (owner != nullptr) owner->command_done(*this);
  if (ts != nullptr) ts->drain();
}

}  // namespace stgt::scsi
