// Connection: full feature phase — SCSI commands and their data, completions, NOP,
// logout, task management.
#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "scsi/scsi_layer.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/connection_internal.h"
#include "transport/iscsi/server.h"

namespace stgt::iscsi {

namespace {

// TTT layout: task slot in the upper bits, R2T slot in the low 4 bits; never 0xffffffff.
constexpr uint32_t make_ttt(uint32_t task_slot, uint32_t r2t_index) {
  return task_slot << 4 | r2t_index;
}

scsi::TaskAttribute task_attribute(uint8_t attr) {
  // RFC 7143 11.3.1: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA.
  switch (attr) {
    case 2:
      return scsi::TaskAttribute::kOrdered;
    case 3:
      return scsi::TaskAttribute::kHeadOfQueue;
    case 4:
      return scsi::TaskAttribute::kAca;
    default:
      return scsi::TaskAttribute::kSimple;
  }
}

}  // namespace

void Connection::TaskTable::release_idle(Connection& c) {
  for (uint32_t i = 0; i < tasks_.size(); ++i) {
    Task& t = *tasks_[i];
    if (!used_[i]) continue;
    if (t.in_scsi) continue;  // the SCSI layer still holds it
    if (t.pdus_in_flight == 0) c.release_task(t);
  }
}

uint32_t Connection::max_cmd_sn() const {
  // The window is what the task table can still take (RFC 7143 4.2.2.1). Completed tasks
  // whose responses are still queued count too, so a reader that stops reading closes its
  // own window instead of growing our queue.
  const uint32_t slots = shared_->settings.max_tasks_per_session;
  const uint32_t used = tasks_ != nullptr ? tasks_->in_use() : 0;
  const uint32_t free_slots = used >= slots ? 0 : slots - used;
  return exp_cmd_sn_ + free_slots - 1;
}

// RFC 7143 4.2.2.1: CmdSN outside [ExpCmdSN, MaxCmdSN] is silently ignored (immediate
// commands are not ordered).
bool Connection::accept_cmd_sn(uint32_t cmd_sn, bool immediate) {
  if (immediate) return true;
  return sn_le(exp_cmd_sn_, cmd_sn) && sn_le(cmd_sn, last_max_cmd_sn_);
}

void Connection::handle_scsi_command_header() {
  const Bhs& h = rx_bhs_;
  const bool immediate = h.immediate();
  if (!accept_cmd_sn(h.cmd_sn(), immediate)) {
    STGT_LOG_DEBUG("connection {}: CmdSN {} outside [{}, {}], ignored", id_, h.cmd_sn(),
                   exp_cmd_sn_, last_max_cmd_sn_);
    rx_discard_ = true;
    return;
  }
  if (!immediate && std::find(cancelled_cmd_sns_.begin(), cancelled_cmd_sns_.end(),
                              h.cmd_sn()) != cancelled_cmd_sns_.end()) {
    // ABORT TASK already declared this CmdSN received and aborted (RFC 7143 11.5.1 b).
    rx_discard_ = true;
    return;
  }
  // An ITT still in use (RFC 7143 11.2.1.8 requires it unique per session) is an overlapped
  // command (SAM-5 5.11): every task of the nexus is aborted and the new command answered
  // with OVERLAPPED COMMANDS ATTEMPTED.
  const bool overlapped = tasks_->find(h.itt()) != nullptr;
  if (overlapped) abort_overlapped(h.itt());
  const uint32_t edtl = h.expected_data_transfer_length();
  const bool write = h.write_bit();
  if (rx_dsl_ > 0 && (!write || !session_params_.immediate_data ||
                      rx_dsl_ > std::min(session_params_.first_burst_length, edtl))) {
    // RFC 7143 10.3: immediate data only on writes, when negotiated, within FirstBurst.
    rx_discard_ = true;
    rx_reject_ = RejectReason::kProtocolError;
    return;
  }
  if (!h.final_bit() && (!write || session_params_.initial_r2t)) {
    rx_discard_ = true;
    rx_reject_ = RejectReason::kProtocolError;
    return;
  }
  Task* t = tasks_->allocate(h.itt());
  if (t == nullptr) {
    rx_discard_ = true;
    rx_reject_ = immediate ? RejectReason::kImmediateCommandReject
                           : RejectReason::kLongOperationReject;
    return;
  }
  t->itt = h.itt();
  t->cmd_sn = h.cmd_sn();
  t->lun_field = h.lun();
  t->edtl = edtl;
  t->read = h.read_bit();
  t->write = write;
  t->immediate = immediate;

  scsi::Command& c = t->cmd;
  std::memcpy(c.cdb.data(), h.cdb(), 16);
  c.cdb_length = 16;
  const size_t ahs_len = size_t(h.total_ahs_length()) * 4;
  // RFC 7143 11.3.5 / 11.2.1.2: an Extended CDB AHS (type 1) carries bytes 16.. of the CDB.
  if (ahs_len >= 4 && rx_ahs_[2] == 1) {
    const size_t ext = std::min<size_t>(base::load_be16(&rx_ahs_[0]) - 1, c.cdb.size() - 16);
    std::memcpy(c.cdb.data() + 16, &rx_ahs_[4], ext);
    c.cdb_length = uint8_t(16 + ext);
  }
  c.lun = h.lun();
  c.tag = h.itt();
  c.attribute = task_attribute(h.task_attribute());
  c.expected_in_length = t->read ? edtl : 0;
  c.expected_out_length = write ? edtl : 0;
  c.nexus = nexus_.get();
  c.owner = this;
  c.reactor = &reactor_;
  c.pool = &reactor_.buffers();
  c.transport_context = t;

  if (overlapped) {
    t->failed_early = true;
    t->fail_reason = scsi::SenseReason::kOverlappedCommandsAttempted;
  } else if (write && edtl > 0) {
    if (write_buffered_ + edtl > shared_->settings.session_write_buffer) {
      // Throttling: this session already holds its share of write buffers. The data is
      // drained unread and the command answered TASK SET FULL; the initiator retries.
      t->failed_early = true;
      t->fail_status = scsi::Status::kTaskSetFull;
    } else if (!c.data.allocate(reactor_.buffers(), edtl)) {
      // The data is drained and the command answered once its turn comes: too large for one
      // command, CHECK CONDITION; otherwise the daemon's memory budget ([daemon]
      // memory_budget) is spent, TASK SET FULL as for the session's share above.
      t->failed_early = true;
      if (edtl > base::BufferChain::kMaxBytes) {
        t->fail_reason = scsi::SenseReason::kInvalidFieldInCdb;
      } else {
        t->fail_status = scsi::Status::kTaskSetFull;
      }
    } else {
      t->buffered = edtl;
      write_buffered_ += edtl;
    }
  }
  // RFC 7143 11.3.1: F=1 on a write means no unsolicited Data-Out follows, so the
  // unsolicited part is the immediate data alone (even below FirstBurstLength, which is
  // only an upper bound, 13.14) and the target solicits the rest with R2T. Without this a
  // write sent with F=1 and less than min(FirstBurstLength, EDTL) immediate data was never
  // solicited nor answered.
  t->unsolicited_end = session_params_.initial_r2t || h.final_bit()
                           ? rx_dsl_
                           : std::min(session_params_.first_burst_length, edtl);
  t->unsolicited_done = h.final_bit();
  t->next_r2t_offset = t->unsolicited_end;
  if (rx_dsl_ > 0) {
    if (t->failed_early) {
      rx_sink_ = true;
    } else {
      rx_dest_count_ = c.data.iovecs(0, rx_dsl_, {rx_dest_.data(), rx_dest_.size()});
    }
  }
  rx_task_ = t;
}

void Connection::handle_scsi_command() {
  Task& t = *rx_task_;
  t.received = rx_dsl_;
  t.unsolicited_received = rx_dsl_;
  if (t.unsolicited_received >= t.unsolicited_end) t.unsolicited_done = true;
  if (t.immediate) {
    start_task(t);
    return;
  }
  if (t.cmd_sn != exp_cmd_sn_) {
    held_.push_back(&t);  // a gap in CmdSN: wait for the missing commands
    return;
  }
  ++exp_cmd_sn_;
  skip_cancelled_cmd_sns();
  start_task(t);
  start_ready_tasks();
}

void Connection::start_ready_tasks() {
  bool progress = true;
  while (progress && (!held_.empty() || !held_tmfs_.empty())) {
    progress = false;
    skip_cancelled_cmd_sns();
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if ((*it)->cmd_sn != exp_cmd_sn_) continue;
      Task* t = *it;
      held_.erase(it);
      ++exp_cmd_sn_;
      start_task(*t);
      progress = true;
      break;
    }
    if (progress) continue;
    // A non-immediate task management request whose CmdSN turn has come.
    for (auto it = held_tmfs_.begin(); it != held_tmfs_.end(); ++it) {
      if (it->cmd_sn() != exp_cmd_sn_) continue;
      const Bhs h = *it;
      held_tmfs_.erase(it);
      ++exp_cmd_sn_;
      run_task_management(h);
      progress = true;
      break;
    }
  }
}

void Connection::start_task(Task& t) {
  t.started = true;
  if (t.aborted) {  // aborted while it waited for its CmdSN turn
    maybe_end_aborted(t);
    check_abort_waits();
    return;
  }
  if (t.failed_early) {
    // Wait for every byte the initiator means to send before answering.
    if (t.unsolicited_done) fail_task(t, t.fail_reason);
    return;
  }
  // SAM-5 8.6: the command enters its task set now, in CmdSN order, while its data may still
  // be arriving; it runs once the task set enables it and the data is in (maybe_submit).
  t.in_scsi = true;
  ++tasks_busy_;
  scsi::arrive(t.cmd);
  if (t.write) issue_r2ts(t);
  maybe_submit(t);
}

void Connection::issue_r2ts(Task& t) {
  // RFC 7143 10.8: at most MaxOutstandingR2T at a time, each at most MaxBurstLength.
  const uint32_t max_outstanding =
      std::min<uint32_t>(session_params_.max_outstanding_r2t, kMaxOutstandingR2t);
  while (!closed_ && !t.aborted && t.next_r2t_offset < t.edtl &&
         t.outstanding_r2ts < max_outstanding) {
    uint32_t idx = 0;
    while (idx < kMaxOutstandingR2t && t.r2ts[idx].active) ++idx;
    if (idx == kMaxOutstandingR2t) return;
    R2tSlot& r = t.r2ts[idx];
    r.active = true;
    r.ttt = make_ttt(t.slot, idx);
    r.offset = t.next_r2t_offset;
    r.length = std::min(session_params_.max_burst_length, t.edtl - r.offset);
    r.received = 0;
    r.next_data_sn = 0;
    t.next_r2t_offset += r.length;
    ++t.outstanding_r2ts;
    TxPdu& p = tx_new();
    R2tFields f{t.itt, t.lun_field, r.ttt, t.r2t_sn++, r.offset, r.length};
    tx_queue(p, make_r2t(f, next_sn(false)));
  }
}

void Connection::maybe_submit(Task& t) {
  if (!t.in_scsi || t.data_done || t.failed_early || t.aborted) return;
  if (t.write && (t.received < t.edtl || !t.unsolicited_done)) return;
  t.data_done = true;
  scsi::data_ready(t.cmd);
}

void Connection::handle_data_out_header() {
  const Bhs& h = rx_bhs_;
  const uint32_t ttt = h.ttt();
  Task* t = ttt == kReservedTag ? tasks_->find(h.itt()) : tasks_->at_slot(ttt >> 4);
  if (t == nullptr || t->itt != h.itt() || !t->write || t->data_done || t->completed) {
    // RFC 7143 11.7.2: data for a task we do not know, or no longer wait for.
    rx_discard_ = true;
    rx_reject_ = RejectReason::kInvalidPduField;
    return;
  }
  const uint32_t offset = h.buffer_offset();
  const uint64_t end = uint64_t(offset) + rx_dsl_;
  bool in_sequence;
  if (ttt == kReservedTag) {
    // Unsolicited data (InitialR2T=No): in order, within the first burst.
    in_sequence = !t->unsolicited_done && h.data_sn() == t->unsolicited_next_data_sn &&
                  offset == t->unsolicited_received && end <= t->unsolicited_end;
  } else {
    const R2tSlot& r = t->r2ts[ttt & 0xf];
    in_sequence = r.active && r.ttt == ttt && h.data_sn() == r.next_data_sn &&
                  offset == r.offset + r.received && end <= uint64_t(r.offset) + r.length;
  }
  if (!in_sequence && !t->failed_early && !t->aborted) {
    // RFC 7143 7.1.4.1 at ErrorRecoveryLevel 0: the command cannot be recovered; it is
    // answered with CHECK CONDITION once the initiator has sent what it meant to send.
    STGT_LOG_WARN("connection {}: Data-Out out of sequence (ITT {:#x}, DataSN {}, offset {})",
                  id_, h.itt(), h.data_sn(), offset);
    t->failed_early = true;
    t->fail_reason = scsi::SenseReason::kDataPhaseError;
  }
  rx_task_ = t;
  if (t->failed_early || t->aborted) {
    rx_sink_ = true;
    return;
  }
  if (rx_dsl_ == 0) return;
  rx_dest_count_ = t->cmd.data.iovecs(offset, rx_dsl_, {rx_dest_.data(), rx_dest_.size()});
}

void Connection::handle_data_out() {
  Task& t = *rx_task_;
  const Bhs& h = rx_bhs_;
  if (t.failed_early || t.aborted) {
    // Only the end of each sequence matters now (an aborted task's too: RFC 7143 11.5.1,
    // the initiator answers every R2T it was sent, and the task ends after that).
    if (h.final_bit()) {
      if (h.ttt() == kReservedTag) {
        t.unsolicited_done = true;
      } else if (R2tSlot& r = t.r2ts[h.ttt() & 0xf]; r.active) {
        r.active = false;
        --t.outstanding_r2ts;
      }
    }
    if (t.aborted) {
      maybe_end_aborted(t);
      check_abort_waits();
      return;
    }
    if (t.started && t.unsolicited_done && t.outstanding_r2ts == 0) fail_task(t, t.fail_reason);
    return;
  }
  t.received += rx_dsl_;
  if (h.ttt() == kReservedTag) {
    t.unsolicited_received += rx_dsl_;
    ++t.unsolicited_next_data_sn;
    if (h.final_bit()) {
      t.unsolicited_done = true;
      if (t.unsolicited_received < t.unsolicited_end) {
        // The initiator ended its unsolicited burst early (RFC 7143 10.7 allows it only at
        // EDTL); the command cannot complete.
        t.failed_early = true;
        t.fail_reason = scsi::SenseReason::kDataPhaseError;
        if (t.started && t.outstanding_r2ts == 0) fail_task(t, t.fail_reason);
        return;
      }
    }
  } else {
    R2tSlot& r = t.r2ts[h.ttt() & 0xf];
    r.received += rx_dsl_;
    ++r.next_data_sn;
    if (r.received == r.length) {
      r.active = false;
      --t.outstanding_r2ts;
    } else if (h.final_bit()) {
      // RFC 7143 11.8.1: F ends the sequence; one that ends short leaves a hole the
      // command can never fill at ErrorRecoveryLevel 0.
      r.active = false;
      --t.outstanding_r2ts;
      t.failed_early = true;
      t.fail_reason = scsi::SenseReason::kDataPhaseError;
      if (t.unsolicited_done && t.outstanding_r2ts == 0) fail_task(t, t.fail_reason);
      return;
    }
  }
  if (t.started) issue_r2ts(t);
  maybe_submit(t);
}

void Connection::fail_task(Task& t, scsi::SenseReason reason) {
  // Each calls command_done, which sends the response.
  if (reason == scsi::SenseReason::kNone) {
    t.cmd.complete_status(t.fail_status);
    return;
  }
  t.cmd.complete_sense(reason);
}

void Connection::command_done(scsi::Command& cmd) {
  Task& t = *static_cast<Task*>(cmd.transport_context);
  if (t.in_scsi) {
    t.in_scsi = false;
    --tasks_busy_;
  }
  if (t.aborted) {
    // It had started when it was aborted and ran to its end; its own result is never
    // reported (SAM-5 5.6). Task management waiting for it may answer now.
    maybe_end_aborted(t);
    check_abort_waits();
    if (closed_) return;
    flush_tx();
    maybe_finish_logout();
    return;
  }
  t.completed = true;
  if (closed_) {
    if (t.pdus_in_flight == 0) release_task(t);
    return;
  }
  send_task_result(t);
  schedule_flush();
  maybe_finish_logout();
}

// RFC 7143 11.4, 11.7: data-in in PDUs of at most the initiator's MaxRecvDataSegmentLength
// and sequences of at most MaxBurstLength; good status rides in the last Data-In.
void Connection::send_task_result(Task& t) {
  scsi::Command& c = t.cmd;
  const bool good = c.status == scsi::Status::kGood || c.status == scsi::Status::kConditionMet;
  const uint32_t intended = t.write && !t.read ? c.out_length : c.in_length;
  ScsiResponseFields r;
  r.itt = t.itt;
  r.status = uint8_t(c.status);
  r.overflow = intended > t.edtl;
  r.underflow = intended < t.edtl;
  r.residual = r.overflow ? intended - t.edtl : t.edtl - intended;

  uint32_t to_send = 0;
  if (good && t.read) {
    to_send = std::min<uint32_t>({c.in_length, t.edtl, uint32_t(c.data.size())});
  }
  const bool collapse = to_send > 0 && c.sense_length == 0;
  const uint32_t max_pdu = conn_params_.max_xmit_data_segment_length;
  const uint32_t burst = session_params_.max_burst_length;
  uint32_t offset = 0;
  while (offset < to_send) {
    const uint32_t in_burst = burst - offset % burst;
    const uint32_t len = std::min({max_pdu, to_send - offset, in_burst});
    const bool last = offset + len == to_send;
    TxPdu& p = tx_new();
    p.iov_count = uint8_t(c.data.iovecs(offset, len, {p.iov.data(), p.iov.size()}));
    p.data_len = len;
    p.task = &t;
    DataInFields f;
    f.itt = t.itt;
    f.lun = t.lun_field;
    f.data_sn = t.data_sn++;
    f.buffer_offset = offset;
    f.length = len;
    f.final_pdu = last || len == in_burst;
    f.with_status = last && collapse;
    f.status = r.status;
    f.overflow = r.overflow;
    f.underflow = r.underflow;
    f.residual = r.residual;
    tx_queue(p, make_data_in(f, next_sn(f.with_status)));
    offset += len;
  }
  if (collapse) return;
  TxPdu& p = tx_new();
  if (c.sense_length > 0) {
    p.owned.resize(2 + c.sense_length);
    base::store_be16(p.owned.data(), c.sense_length);
    std::memcpy(p.owned.data() + 2, c.sense.data(), c.sense_length);
    p.set_owned_data();
  }
  p.task = &t;
  r.exp_data_sn = t.data_sn + t.r2t_sn;
  r.data_segment_length = p.data_len;
  tx_queue(p, make_scsi_response(r, next_sn(true)));
}

void Connection::release_task(Task& t) {
  if (&t == rx_task_ && direct_hook_.direct_receive_pending()) {
    rx_direct_release_ = &t;  // the kernel may still write into its buffers
    return;
  }
  if (!abort_waits_.empty()) forget_aborted(t);
  const bool window_was_closed = last_max_cmd_sn_ + 1 == exp_cmd_sn_;
  write_buffered_ -= t.buffered;
  tasks_->free(t);
  if (window_was_closed && !closed_) send_window_update();
  if (closed_ && finished()) schedule_drop();
}

// RFC 7143 11.19: an unsolicited NOP-In (ITT and TTT reserved) tells the initiator the
// window has opened again. Only queued: tasks are released from inside flush_tx, whose loop
// sends it.
void Connection::send_window_update() {
  TxPdu& p = tx_new();
  tx_queue(p, make_nop_in(kReservedTag, kReservedTag, 0, 0, next_sn(false)));
}

void Connection::handle_nop_out() {
  const Bhs& h = rx_bhs_;
  if (h.itt() == kReservedTag) {
    // A reply to our ping (RFC 7143 11.18): nothing to answer.
    if (ping_ttt_.has_value() && h.ttt() == *ping_ttt_) ping_ttt_.reset();
    return;
  }
  if (!h.immediate()) {
    if (!accept_cmd_sn(h.cmd_sn(), false)) return;
    if (h.cmd_sn() == exp_cmd_sn_) ++exp_cmd_sn_;
  }
  TxPdu& p = tx_new();
  p.owned.assign(rx_data_.begin(), rx_data_.end());  // echo the ping data
  p.set_owned_data();
  tx_queue(p, make_nop_in(h.itt(), kReservedTag, h.lun(), p.data_len, next_sn(true)));
}

void Connection::handle_logout() {
  const Bhs& h = rx_bhs_;
  if (!h.immediate() && h.cmd_sn() == exp_cmd_sn_) ++exp_cmd_sn_;
  const uint8_t reason = h.function();
  if (reason == 2) {
    // RFC 7143 11.14.1: removing a connection for recovery needs ERL 2.
    TxPdu& p = tx_new();
    tx_queue(p, make_logout_response(h.itt(), 2, 0, 0, next_sn(true)));
    return;
  }
  if (reason == 1 && h.cid() != identity_.cid) {
    TxPdu& p = tx_new();
    tx_queue(p, make_logout_response(h.itt(), 1, 0, 0, next_sn(true)));  // CID not found
    return;
  }
  // RFC 7143 11.14: "close the session/connection" terminates every pending command,
  // acknowledged via ExpCmdSN or not. Commands held behind a CmdSN gap never reached the
  // SCSI layer; drop them here, or maybe_finish_logout() would wait for them forever.
  held_tmfs_.clear();
  std::vector<Task*> unordered;
  unordered.swap(held_);
  for (Task* t : unordered) {
    if (t->pdus_in_flight == 0) release_task(*t);
  }
  // Likewise commands still waiting for Data-Out in their task set: they never start, and
  // the data the initiator no longer sends is not waited for.
  tasks_->for_each_used([this](Task& t) {
    if (t.in_scsi && !t.data_done) abort_task(t, false, false);
  });
  phase_ = Phase::kLoggingOut;
  logout_pending_ = true;
  logout_itt_ = h.itt();
  maybe_finish_logout();
}

// The logout response goes out once every earlier command has been answered.
void Connection::maybe_finish_logout() {
  if (!logout_pending_ || tasks_busy_ > 0 || !held_.empty()) return;
  logout_pending_ = false;
  TxPdu& p = tx_new();
  tx_queue(p, make_logout_response(logout_itt_, 0, uint16_t(session_params_.default_time2wait),
                                   uint16_t(session_params_.default_time2retain),
                                   next_sn(true)));
  close_after_tx_ = true;
  close_reason_ = "logged out";
  flush_tx();
}

}  // namespace stgt::iscsi
