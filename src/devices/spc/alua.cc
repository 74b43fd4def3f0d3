// REPORT TARGET PORT GROUPS and SET TARGET PORT GROUPS (SPC-5 6.36, 6.44): the SCSI face of
// the target's ALUA model (scsi/alua.h).
#include <vector>

#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "scsi/alua.h"
#include "scsi/it_nexus.h"

namespace stgt::devices::spc {
namespace {

constexpr size_t kDescriptorHeader = 8;
constexpr size_t kPortDescriptor = 4;
constexpr size_t kStpgHeader = 4;
constexpr size_t kStpgDescriptor = 4;

// SPC-5 6.36.2 byte 1: T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP (no offline, no LBA dependent).
constexpr uint8_t kSupportedStates = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;

void put_group(std::vector<uint8_t>& out, const scsi::TargetPortGroup& g) {
  const size_t at = out.size();
  const std::span<const uint16_t> ports = g.relative_port_ids();
  const size_t count = std::min<size_t>(ports.size(), 255);
  out.resize(at + kDescriptorHeader + count * kPortDescriptor, 0);
  out[at] = uint8_t((g.preferred() ? 0x80 : 0) | uint8_t(g.state()));
  out[at + 1] = kSupportedStates;
  put_be16(out, at + 2, g.id());
  out[at + 5] = uint8_t(g.status_code());
  out[at + 7] = uint8_t(count);
  for (size_t i = 0; i < count; ++i) put_be16(out, at + kDescriptorHeader + i * 4 + 2, ports[i]);
}

void fail_param(scsi::Command& cmd, size_t byte, int bit = -1) {
  scsi::FieldPointer f{.cdb = false, .byte = uint16_t(byte), .bit = std::nullopt};
  if (bit >= 0) f.bit = uint8_t(bit);
  cmd.complete_sense(scsi::SenseReason::kInvalidFieldInParameterList, {.field = f});
}

// A state SET TARGET PORT GROUPS may ask for (SPC-5 6.44.2: not transitioning; offline and
// LBA dependent are not supported here).
bool settable(uint8_t state) {
  return state == uint8_t(scsi::AluaState::kActiveOptimized) ||
         state == uint8_t(scsi::AluaState::kActiveNonOptimized) ||
         state == uint8_t(scsi::AluaState::kStandby) ||
         state == uint8_t(scsi::AluaState::kUnavailable);
}

}  // namespace

// SPC-5 6.36: REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah). PARAMETER
// DATA FORMAT 000b: a 4-byte length header; 001b: the extended header (format type 1,
// implicit transition time 0: states change at once).
void report_target_port_groups(scsi::Command& cmd) {
  const uint8_t format = cmd.cdb[1] >> 5;
  if (format > 1) {
    cmd.fail_cdb_field(1, 7);
    return;
  }
  const uint32_t allocation_length = cdb_be32(cmd, 6);
  const size_t header = format == 1 ? 8 : 4;
  std::vector<uint8_t> out(header, 0);
  const scsi::AluaGroups& groups = cmd.nexus->target().alua();
  for (size_t i = 0; i < groups.size(); ++i) put_group(out, groups.at(i));
  put_be32(out, 0, uint32_t(out.size() - 4));
  if (format == 1) out[4] = 0x10;  // FORMAT TYPE 001b
  cmd.complete_data(out, allocation_length);
}

// SPC-5 6.44: SET TARGET PORT GROUPS (MAINTENANCE OUT, service action 0Ah): explicit ALUA.
// Every descriptor is checked before any state changes; the other I_T nexuses then get
// ASYMMETRIC ACCESS STATE CHANGED (scsi::change_alua_state).
void set_target_port_groups(scsi::Command& cmd) {
  const scsi::Target& target = cmd.nexus->target();
  if (!target.alua().explicit_allowed()) {
    // TPGS without explicit support: the service action is not supported (SPC-5 6.7.2).
    cmd.fail_cdb_field(1, 4);
    return;
  }
  const uint32_t length = cdb_be32(cmd, 6);
  cmd.out_length = length;
  if (length == 0) {
    cmd.complete_good();
    return;
  }
  std::vector<uint8_t> list(std::min<size_t>(length, cmd.data.size()));
  cmd.data.copy_out(0, list.data(), list.size());
  if (list.size() < kStpgHeader || (list.size() - kStpgHeader) % kStpgDescriptor != 0) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return;
  }
  std::vector<std::pair<uint16_t, scsi::AluaState>> changes;
  for (size_t at = kStpgHeader; at < list.size(); at += kStpgDescriptor) {
    const uint8_t state = list[at] & 0x0f;
    if (!settable(state)) {
      fail_param(cmd, at, 3);
      return;
    }
    const uint16_t id = base::load_be16(&list[at + 2]);
    if (target.alua().find(id) == nullptr) {
      fail_param(cmd, at + 2);
      return;
    }
    changes.emplace_back(id, scsi::AluaState(state));
  }
  for (const auto& [id, state] : changes) {
    (void)scsi::change_alua_state(target, id, state,
                                  scsi::AluaStatusCode::kChangedBySetTargetPortGroups, cmd.nexus);
  }
  cmd.complete_good();
}

}  // namespace stgt::devices::spc
