// Connection: task management (RFC 7143 11.5 / 11.6, RFC 7144 4) and aborting tasks on
// behalf of the mid-layer (scsi::NexusOwner).
//
// "Safe" semantics: a TMF response goes out only once every task it aborted has ended or can
// no longer touch the medium: a task that waits in its task set is taken out at once
// (scsi::abort_unstarted); one that started is waited for, and its result is dropped. At
// ErrorRecoveryLevel 0 the requesting session's initiator keeps answering the R2Ts it was
// sent (RFC 7143 11.5.1), so the response also waits until those Data-Out sequences ended;
// the data is read and thrown away. Aborted tasks of the requesting session get no response
// (RFC 7143 11.5.1: none after the TMF response); tasks of other sessions end with TASK
// ABORTED status when the LU's TAS bit is set, else silently (SAM-5 5.6).
#include <algorithm>

#include "base/log.h"
#include "scsi/logical_unit.h"
#include "scsi/lun.h"
#include "scsi/scsi_layer.h"
#include "scsi/task_management.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/connection_internal.h"

namespace stgt::iscsi {

namespace {

// RFC 7143 11.5.1 and RFC 7144 4.1: Function field.
enum class TmfFunction : uint8_t {
  kAbortTask = 1,
  kAbortTaskSet = 2,
  kClearAca = 3,
  kClearTaskSet = 4,
  kLogicalUnitReset = 5,
  kTargetWarmReset = 6,
  kTargetColdReset = 7,
  kTaskReassign = 8,
  kQueryTask = 9,
  kQueryTaskSet = 10,
  kItNexusReset = 11,
  kQueryAsyncEvent = 12,
};

// RFC 7143 11.6.1 and RFC 7144 4.2: Response field.
constexpr uint8_t kFunctionComplete = 0;
constexpr uint8_t kTaskDoesNotExist = 1;
constexpr uint8_t kLunDoesNotExist = 2;
constexpr uint8_t kReassignNotSupported = 4;
constexpr uint8_t kFunctionNotSupported = 5;
constexpr uint8_t kFunctionSucceeded = 7;

}  // namespace

scsi::LogicalUnit* Connection::task_lu(const Task& t) const {
  if (t.cmd.lu != nullptr) return t.cmd.lu;
  const std::optional<uint32_t> lun = scsi::decode_lun(t.lun_field);
  return lun && nexus_ != nullptr ? nexus_->target().lookup(*lun) : nullptr;
}

// Marks a task aborted. False if it has already ended (nothing to abort). A batch that
// aborts a whole task set passes release_successors=false, so that no command it is about to
// abort starts because an older one just left.
bool Connection::abort_task(Task& t, bool report, bool release_successors) {
  if (t.completed) return false;
  if (t.aborted) return true;  // aborted before: wait for it again
  t.aborted = true;
  t.abort_report = report;
  scsi::count_abort(t.cmd, task_lu(t));
  // Started: it runs to its end, but a long one (a copy) may end early when asked.
  if (!take_back_unstarted(t, release_successors) && t.in_scsi) t.cmd.abort_requested = true;
  return true;
}

bool Connection::take_back_unstarted(Task& t, bool release_successors) {
  if (!t.in_scsi) return false;
  // Also a command to a LUN without a logical unit whose data is not yet in (it joins no
  // task set; scsi::abort_unstarted knows it by Command::unmapped_waiting). Before, such a
  // WRITE whose Data-Out never came kept ABORT TASK unanswered and its connection alive.
  if (!scsi::abort_unstarted(t.cmd, release_successors)) {
    // Started: waited for, unless its device can let the command go first (SANITIZE).
    scsi::abort_started(t.cmd);
    return false;
  }
  t.in_scsi = false;
  --tasks_busy_;
  return true;
}

bool Connection::abort_settled(const Task& t, bool wait_data) const {
  if (t.in_scsi) return false;  // started: it may still touch the medium
  if (!wait_data || closed_ || !t.write) return true;
  return t.outstanding_r2ts == 0 && t.unsolicited_done;
}

// Ends an aborted task once the SCSI layer is done with it, its CmdSN turn has come and no
// Data-Out sequence is open: TASK ABORTED status, or silently.
void Connection::maybe_end_aborted(Task& t) {
  if (!t.aborted || t.completed || t.in_scsi) return;
  if (!closed_ && (!t.started || (t.write && (t.outstanding_r2ts > 0 || !t.unsolicited_done)))) {
    return;
  }
  t.completed = true;
  if (t.abort_report && !closed_) {
    scsi::Command& c = t.cmd;
    c.status = scsi::Status::kTaskAborted;
    c.sense_length = 0;
    c.in_length = 0;
    c.out_length = 0;
    c.data.reset();
    send_task_result(t);
    return;
  }
  if (t.pdus_in_flight == 0) release_task(t);
}

void Connection::forget_aborted(const Task& t) {
  for (const std::unique_ptr<AbortWait>& w : abort_waits_)
    std::erase(w->tasks, &t);
}

void Connection::wait_for_aborts(std::vector<Task*> tasks, bool wait_data,
                                 std::function<void()> done) {
  auto w = std::make_unique<AbortWait>();
  w->tasks = tasks;
  w->wait_data = wait_data;
  w->done = std::move(done);
  abort_waits_.push_back(std::move(w));
  for (Task* t : tasks)
    maybe_end_aborted(*t);
  check_abort_waits();
}

void Connection::check_abort_waits() {
  std::vector<std::unique_ptr<AbortWait>> ready;
  for (auto it = abort_waits_.begin(); it != abort_waits_.end();) {
    AbortWait& w = **it;
    std::erase_if(w.tasks, [&](const Task* t) { return abort_settled(*t, w.wait_data); });
    if (!w.tasks.empty()) {
      ++it;
      continue;
    }
    ready.push_back(std::move(*it));
    it = abort_waits_.erase(it);
  }
  // Outside the loop: a continuation may start more task management.
  for (const std::unique_ptr<AbortWait>& w : ready)
    w->done();
}

// Aborts every task of this session on `lu` (every LU when null) that has not ended.
std::vector<Task*> Connection::abort_session_tasks(const scsi::LogicalUnit* lu, bool report_tas) {
  std::vector<Task*> aborted;
  if (tasks_ == nullptr) return aborted;
  tasks_->for_each_used([&](Task& t) {
    const scsi::LogicalUnit* tl = task_lu(t);
    if (lu != nullptr && tl != lu) return;
    if (abort_task(t, report_tas && tl != nullptr && tl->tas(), false)) aborted.push_back(&t);
  });
  return aborted;
}

// SAM-5 5.11: an overlapped command aborts every command of the nexus.
void Connection::abort_overlapped(uint32_t itt) {
  STGT_LOG_WARN("connection {}: ITT {:#x} reused while its task is live: overlapped command", id_,
                itt);
  wait_for_aborts(abort_session_tasks(nullptr, false), false, [] {});
}

void Connection::skip_cancelled_cmd_sns() {
  while (!cancelled_cmd_sns_.empty()) {
    const auto it = std::find(cancelled_cmd_sns_.begin(), cancelled_cmd_sns_.end(), exp_cmd_sn_);
    if (it == cancelled_cmd_sns_.end()) return;
    cancelled_cmd_sns_.erase(it);
    ++exp_cmd_sn_;
  }
}

// scsi::NexusOwner: task management from the mid-layer (LOGICAL UNIT RESET, target resets,
// PREEMPT AND ABORT), on this reactor.
void Connection::abort_tasks(const scsi::LogicalUnit* lu, scsi::AbortCause cause,
                             bool by_other_nexus, std::function<void()> done) {
  using scsi::AbortCause;
  const bool cold = cause == AbortCause::kTargetColdReset;
  const bool session_ends = cold || cause == AbortCause::kNexusReset;
  std::vector<Task*> aborted = abort_session_tasks(lu, by_other_nexus && !session_ends);
  const bool reset = cause == AbortCause::kLuReset || cause == AbortCause::kTargetReset || cold;
  if (by_other_nexus && !reset && !session_ends && nexus_ != nullptr) {
    // SAM-5 5.6 / SPC-5 7.5.10: with TAS=0 the tasks vanish and the nexus learns of it
    // through COMMANDS CLEARED BY ANOTHER INITIATOR (a reset reports its own condition).
    for (const Task* t : aborted) {
      const scsi::LogicalUnit* tl = task_lu(*t);
      const std::optional<uint32_t> lun = scsi::decode_lun(t->lun_field);
      if (tl != nullptr && !tl->tas() && lun) {
        nexus_->queue_unit_attention(*lun, scsi::SenseReason::kCommandsClearedByAnotherInitiator);
      }
    }
  }
  std::function<void()> then = std::move(done);
  if (cold && by_other_nexus) {
    // RFC 7143 11.5.1: after a TARGET COLD RESET the target drops every session.
    then = [this, d = std::move(then)] {
      d();
      close("target cold reset");
    };
  }
  wait_for_aborts(std::move(aborted), !by_other_nexus, std::move(then));
  if (!closed_) flush_tx();
}

void Connection::send_tmf_response(uint32_t itt, uint8_t response,
                                   std::array<uint8_t, 3> additional) {
  if (closed_) return;
  Bhs b = make_task_management_response(itt, response, next_sn(true));
  // RFC 7144: Additional Response Information (QUERY ASYNCHRONOUS EVENT), BHS bytes 8-10,
  // where a request carries its LUN.
  std::copy(additional.begin(), additional.end(), b.bytes.begin() + 8);
  TxPdu& p = tx_new();
  tx_queue(p, b);
}

// RFC 7143 4.2.2.1 / 11.5: a non-immediate request is carried out in CmdSN order, after every
// command numbered before it (outside the window it is silently ignored).
void Connection::handle_task_management() {
  const Bhs& h = rx_bhs_;
  if (!h.immediate()) {
    if (!accept_cmd_sn(h.cmd_sn(), false)) return;
    if (h.cmd_sn() != exp_cmd_sn_) {
      held_tmfs_.push_back(h);
      return;
    }
    ++exp_cmd_sn_;
    skip_cancelled_cmd_sns();
  }
  run_task_management(h);
  start_ready_tasks();
}

void Connection::run_task_management(const Bhs& h) {
  const uint32_t itt = h.itt();
  const std::optional<uint32_t> lun = scsi::decode_lun(h.lun());
  scsi::LogicalUnit* lu = lun && nexus_ != nullptr ? nexus_->target().lookup(*lun) : nullptr;
  auto respond = [this, itt](uint8_t response) { send_tmf_response(itt, response); };
  switch (TmfFunction(h.function())) {
    case TmfFunction::kAbortTask:
      tmf_abort_task(h);
      break;
    case TmfFunction::kAbortTaskSet:
    case TmfFunction::kClearTaskSet:
      // SAM-5 7.2 / 7.4: with one task set per I_T nexus (TST=001b) both abort this nexus's
      // commands on the LU and nobody else's.
      if (lu == nullptr) {
        respond(kLunDoesNotExist);
        break;
      }
      wait_for_aborts(abort_session_tasks(lu, false), true,
                      [respond] { respond(kFunctionComplete); });
      break;
    case TmfFunction::kClearAca:
      // SAM-5 7.3: NACA=1 is refused, so no ACA condition exists to clear.
      respond(lu == nullptr ? kLunDoesNotExist : kFunctionComplete);
      break;
    case TmfFunction::kLogicalUnitReset:
    case TmfFunction::kTargetWarmReset:
    case TmfFunction::kTargetColdReset:
      tmf_reset(h, lu);
      break;
    case TmfFunction::kTaskReassign:
      // RFC 7143 11.5.1: reassignment needs ErrorRecoveryLevel 2; we negotiate 0.
      respond(kReassignNotSupported);
      break;
    case TmfFunction::kQueryTask:
    case TmfFunction::kQueryTaskSet:
    case TmfFunction::kQueryAsyncEvent:
      tmf_query(h, lu);
      break;
    case TmfFunction::kItNexusReset:
      // RFC 7144 4.1 / SAM-5 7.6: the I_T nexus is lost: every task aborted, then the
      // session ends (scsi::nexus_lost releases what the nexus held).
      wait_for_aborts(abort_session_tasks(nullptr, false), true, [this, itt] {
        send_tmf_response(itt, kFunctionComplete);
        close_after_tx_ = true;
        close_reason_ = "I_T nexus reset";
      });
      break;
    default:
      respond(kFunctionNotSupported);
      break;
  }
}

// RFC 7143 11.5.1 ABORT TASK: a live task is aborted (Function complete once it ended); an
// unknown ITT whose RefCmdSN is in the window and below the request's own CmdSN means a
// command still on its way, which counts as received and aborted; anything else is Task does
// not exist.
void Connection::tmf_abort_task(const Bhs& h) {
  const uint32_t itt = h.itt();
  Task* t = tasks_->find(h.referenced_task_tag());
  if (t != nullptr && !t->completed && t->lun_field == h.lun()) {
    abort_task(*t, false, true);
    wait_for_aborts({t}, true, [this, itt] { send_tmf_response(itt, kFunctionComplete); });
    return;
  }
  const uint32_t ref = h.ref_cmd_sn();
  if (t == nullptr && sn_le(exp_cmd_sn_, ref) && sn_le(ref, last_max_cmd_sn_) &&
      sn_lt(ref, h.cmd_sn())) {
    cancelled_cmd_sns_.push_back(ref);
    skip_cancelled_cmd_sns();
    send_tmf_response(itt, kFunctionComplete);
    return;
  }
  send_tmf_response(itt, kTaskDoesNotExist);
}

// RFC 7144 4.1 / SAM-5 7.9, 7.10, 7.8: "Function succeeded" when the task / any task / a
// unit attention is there, "Function complete" when not.
void Connection::tmf_query(const Bhs& h, scsi::LogicalUnit* lu) {
  const uint32_t itt = h.itt();
  if (lu == nullptr) {
    send_tmf_response(itt, kLunDoesNotExist);
    return;
  }
  auto live = [](const Task& t) { return !t.completed && !t.aborted; };
  bool found = false;
  std::array<uint8_t, 3> info{};
  switch (TmfFunction(h.function())) {
    case TmfFunction::kQueryTask: {
      const Task* t = tasks_->find(h.referenced_task_tag());
      found = t != nullptr && live(*t) && t->lun_field == h.lun();
      break;
    }
    case TmfFunction::kQueryTaskSet:
      tasks_->for_each_used([&](Task& t) { found = found || (live(t) && task_lu(t) == lu); });
      break;
    default: {
      // SAM-5 7.8: the oldest pending unit attention's sense key, ASC and ASCQ.
      const scsi::SenseReason r = nexus_->peek_unit_attention(*scsi::decode_lun(h.lun()));
      if (r != scsi::SenseReason::kNone) {
        const scsi::SenseCode code = scsi::sense_code(r);
        found = true;
        info = {uint8_t(code.key), code.asc, code.ascq};
      }
      break;
    }
  }
  send_tmf_response(itt, found ? kFunctionSucceeded : kFunctionComplete,
                    found ? info : std::array<uint8_t, 3>{});
}

// LOGICAL UNIT RESET and TARGET WARM / COLD RESET: the mid-layer aborts across every nexus
// (scsi/task_management.h) and calls back here, on this reactor, when all is done.
void Connection::tmf_reset(const Bhs& h, scsi::LogicalUnit* lu) {
  const uint32_t itt = h.itt();
  const auto fn = TmfFunction(h.function());
  if (fn == TmfFunction::kLogicalUnitReset && lu == nullptr) {
    send_tmf_response(itt, kLunDoesNotExist);
    return;
  }
  const bool cold = fn == TmfFunction::kTargetColdReset;
  auto respond = [weak = weak_from_this(), itt, cold] {
    const std::shared_ptr<Connection> self = weak.lock();
    if (self == nullptr || self->closed_) return;
    self->send_tmf_response(itt, kFunctionComplete);
    if (cold) {
      // RFC 7143 11.5.1: the session ends once the response is out.
      self->close_after_tx_ = true;
      self->close_reason_ = "target cold reset";
    }
    self->flush_tx();
  };
  if (fn == TmfFunction::kLogicalUnitReset) {
    scsi::logical_unit_reset(*nexus_, *lu, &reactor_, std::move(respond));
  } else {
    scsi::target_reset(*nexus_, cold, &reactor_, std::move(respond));
  }
}

}  // namespace stgt::iscsi
