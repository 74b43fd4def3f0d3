// The storage array controller (SCC-2) at LUN 0 when no LU 0 is configured: just enough
// for discovery (INQUIRY, REPORT LUNS) and the commands every LU must answer.
#include "devices/device_type.h"
#include "devices/spc/spc.h"
#include "devices/table_builder.h"

namespace stgt::devices {
namespace {

using scsi::DataDirection;

// SPC-5 5.16.2.4: RSOC also answers in standby and unavailable; REPORT TARGET PORT GROUPS
// in every state; SET TARGET PORT GROUPS in every state but transitioning.
constexpr std::array<scsi::ServiceAction, 2> kMaintenanceIn{{
    sa(spc::kRtpgServiceAction, spc::report_target_port_groups, "REPORT TARGET PORT GROUPS",
       12, DataDirection::kIn, usage({0xa3, 0xea, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowAll),
    sa(spc::kRsocServiceAction, spc::report_supported_opcodes,
       "REPORT SUPPORTED OPERATION CODES", 12, DataDirection::kIn,
       usage({0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowStandby | scsi::kAluaAllowUnavailable),
}};

constexpr std::array<scsi::ServiceAction, 1> kMaintenanceOut{{
    sa(spc::kStpgServiceAction, spc::set_target_port_groups, "SET TARGET PORT GROUPS", 12,
       DataDirection::kOut, usage({0xa4, 0x0a, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowStandby | scsi::kAluaAllowUnavailable),
}};

constexpr scsi::OpcodeTable kControllerOpcodes = [] {
  scsi::OpcodeTable t{};
  t[0x00] = op(spc::test_unit_ready, "TEST UNIT READY", DataDirection::kNone,
               usage({0x00, 0, 0, 0, 0, kControl}), kNoMediumPersistentAllowed);
  t[0x03] = op(spc::request_sense, "REQUEST SENSE", DataDirection::kIn,
               usage({0x03, 0x01, 0, 0, 0xff, kControl}), kUaExempt);
  t[0x12] = op(spc::inquiry, "INQUIRY", DataDirection::kIn,
               usage({0x12, 0x01, 0xff, 0xff, 0xff, kControl}), kUaExempt);
  t[0xa0] = op(spc::report_luns, "REPORT LUNS", DataDirection::kIn,
               usage({0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, kControl}), kUaExempt);
  t[0xa3] = sa_op("MAINTENANCE IN", 12, kMaintenanceIn, kNoMediumNoConflict);
  t[0xa4] = sa_op("MAINTENANCE OUT", 12, kMaintenanceOut, kNoMedium);
  return t;
}();

constexpr scsi::DeviceType kController{0x0c, "controller", &kControllerOpcodes};

}  // namespace

const scsi::DeviceType& controller_device_type() { return kController; }

}  // namespace stgt::devices
