// SPC-5 6.17: PERSISTENT RESERVE OUT. This file decodes the CDB and parameter list and
// turns the state machine's answer (scsi/reservations.h) into effects on other initiators:
// unit attentions through the target's nexus registry, task aborts for PREEMPT AND ABORT,
// and the APTPL image on disk.
#include <optional>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "base/log.h"
#include "devices/spc/cdb.h"
#include "devices/spc/persistent_reserve.h"
#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

using scsi::PrOutAction;

constexpr size_t kBasicLength = 24;

void fail_param(scsi::Command& cmd, uint16_t byte, int bit = -1) {
  scsi::FieldPointer f{.cdb = false, .byte = byte, .bit = std::nullopt};
  if (bit >= 0) f.bit = uint8_t(bit);
  cmd.complete_sense(scsi::SenseReason::kInvalidFieldInParameterList,
                     scsi::SenseDetail{.field = f});
}

// Called by Reservations::out() with the LU's state locked: makes the APTPL image durable
// (SPC-5 5.13.5) before the command completes, or removes it when APTPL is switched off.
bool persist_aptpl(void* ctx, std::string_view image) {
  const auto& lu = *static_cast<const scsi::LogicalUnit*>(ctx);
  if (lu.aptpl_path().empty()) return image.empty();
  const auto done = image.empty() ? base::remove_file_durably(lu.aptpl_path())
                                  : base::write_file_atomic(lu.aptpl_path(), image);
  if (!done) {
    STGT_LOG_ERROR("persistent reservations: cannot save APTPL state: {}", done.error());
    return false;
  }
  return true;
}

// Every other live I_T nexus that a registration covers learns what happened to it.
void deliver(const scsi::Command& cmd, const std::vector<scsi::Notice>& notices) {
  if (notices.empty()) return;
  cmd.nexus->target().registry().for_each([&](scsi::ItNexus& n) {
    if (&n == cmd.nexus) return;
    const scsi::Initiator who = n.initiator();
    for (const scsi::Notice& note : notices) {
      if (!note.to.covers(who)) continue;
      for (const uint32_t lun : n.luns_of(*cmd.lu)) n.queue_unit_attention(lun, note.reason);
    }
  });
}

// The TransportIDs of a SPEC_I_PT list (SPC-5 6.17.4: TRANSPORTID PARAMETER DATA LENGTH at
// byte 24, the TransportIDs from byte 28). False after failing the command.
bool parse_specified(scsi::Command& cmd, std::span<const uint8_t> p, scsi::PrOutRequest& req) {
  if (p.size() < kBasicLength + 4) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  const uint32_t tid_length = base::load_be32(&p[24]);
  if (uint64_t(kBasicLength) + 4 + tid_length != p.size()) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  size_t at = kBasicLength + 4;
  while (at < p.size()) {
    const std::optional<ParsedTransportId> tid = parse_transport_id(p.subspan(at));
    if (!tid) {
      fail_param(cmd, uint16_t(at));
      return false;
    }
    req.specified_ports.push_back(tid->port);
    at += tid->length;
  }
  return true;
}

// REGISTER AND MOVE parameter list (SPC-5 6.17.5). False after failing the command.
bool parse_move(scsi::Command& cmd, std::span<const uint8_t> p, scsi::PrOutRequest& req) {
  req.unreg = (p[17] & 0x02) != 0;
  req.aptpl = (p[17] & 0x01) != 0;
  req.move_relative_port_id = base::load_be16(&p[18]);
  const uint32_t tid_length = base::load_be32(&p[20]);
  if (uint64_t(kBasicLength) + tid_length > p.size() || tid_length == 0) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  if (req.move_relative_port_id == 0) {
    fail_param(cmd, 18);
    return false;
  }
  const std::optional<ParsedTransportId> tid =
      parse_transport_id(p.subspan(kBasicLength, tid_length));
  if (!tid) {
    fail_param(cmd, kBasicLength);
    return false;
  }
  req.move_port = tid->port;
  return true;
}

// Decodes CDB and parameter list into `req`; false after failing the command.
bool decode(scsi::Command& cmd, std::span<const uint8_t> p, scsi::PrOutRequest& req) {
  req.action = PrOutAction(cmd.cdb[1] & 0x1f);
  req.scope = cmd.cdb[2] >> 4;
  req.type = cmd.cdb[2] & 0x0f;
  if (p.size() < kBasicLength) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  req.key = base::load_be64(&p[0]);
  req.sa_key = base::load_be64(&p[8]);
  if (req.action == PrOutAction::kRegisterAndMove) return parse_move(cmd, p, req);
  const bool registering = req.action == PrOutAction::kRegister ||
                           req.action == PrOutAction::kRegisterAndIgnoreExistingKey;
  req.spec_i_pt = (p[20] & 0x08) != 0;
  // ALL_TG_PT and APTPL mean something to the register actions only (6.17.3).
  req.all_tg_pt = registering && (p[20] & 0x04) != 0;
  req.aptpl = registering && (p[20] & 0x01) != 0;
  if (req.spec_i_pt && req.action != PrOutAction::kRegister) {
    fail_param(cmd, 20, 3);
    return false;
  }
  if (req.spec_i_pt) return parse_specified(cmd, p, req);
  if (p.size() != kBasicLength) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  return true;
}

}  // namespace

void persistent_reserve_out(scsi::Command& cmd) {
  scsi::LogicalUnit& lu = *cmd.lu;
  // Bytes 3 and 4 are reserved (6.17.1).
  for (const uint16_t at : {uint16_t(3), uint16_t(4)}) {
    if (cmd.cdb[at] != 0) {
      cmd.fail_cdb_field(at);
      return;
    }
  }
  const uint32_t length = cdb_be32(cmd, 5);
  cmd.out_length = length;
  if (length > cmd.data.size()) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return;
  }
  std::vector<uint8_t> list(length);
  cmd.data.copy_out(0, list.data(), list.size());
  scsi::PrOutRequest req;
  if (!decode(cmd, list, req)) return;
  // PTPL_C = 0 without a state directory: APTPL cannot be honoured (6.16.4).
  if (req.aptpl && lu.aptpl_path().empty()) {
    fail_param(cmd, req.action == PrOutAction::kRegisterAndMove ? 17 : 20, 0);
    return;
  }
  scsi::PrResult r = lu.reservations().out(cmd.nexus->initiator(), req, persist_aptpl, &lu);
  deliver(cmd, r.notices);
  if (r.status == scsi::Status::kReservationConflict) {
    cmd.complete_status(r.status);
    return;
  }
  if (r.status != scsi::Status::kGood) {
    cmd.complete_sense(r.sense, scsi::SenseDetail{.field = r.field});
    return;
  }
  if (req.action != PrOutAction::kPreemptAndAbort || r.preempted.empty()) {
    cmd.complete_good();
    return;
  }
  // SPC-5 5.13.11.4.5: the tasks of every preempted I_T nexus are aborted; the command
  // completes once none of them can touch the medium any more.
  auto preempted = std::make_shared<std::vector<scsi::Registration>>(std::move(r.preempted));
  cmd.nexus->target().registry().abort_tasks(
      [preempted, self = cmd.nexus](const scsi::ItNexus& n) {
        if (&n == self) return false;
        const scsi::Initiator who = n.initiator();
        for (const scsi::Registration& reg : *preempted) {
          if (reg.covers(who)) return true;
        }
        return false;
      },
      &lu, scsi::AbortCause::kPreemptAndAbort, cmd.nexus, cmd.reactor,
      [&cmd] { cmd.complete_good(); });
}

}  // namespace stgt::devices::spc
