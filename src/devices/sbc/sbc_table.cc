// The disk opcode table (SBC-4 table 36 plus the SPC-5 commands a disk must support).
#include "devices/device_type.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/spc.h"
#include "devices/table_builder.h"

namespace stgt::devices {
namespace {

using scsi::DataDirection;
constexpr auto kIn = DataDirection::kIn;
constexpr auto kOut = DataDirection::kOut;
constexpr auto kNone = DataDirection::kNone;

constexpr std::array<scsi::ServiceAction, 2> kServiceActionIn16{{
    sa(0x10, sbc::read_capacity16, "READ CAPACITY (16)", 16, kIn,
       usage({0x9e, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0x01, kControl})),
    sa(0x12, sbc::get_lba_status, "GET LBA STATUS", 16, kIn,
       usage({0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0x00, kControl})),
}};

// SPC-5 5.16.2.4: RSOC also answers in standby and unavailable; REPORT TARGET PORT GROUPS
// in every state; SET TARGET PORT GROUPS in every state but transitioning.
constexpr std::array<scsi::ServiceAction, 2> kMaintenanceIn{{
    sa(spc::kRtpgServiceAction, spc::report_target_port_groups, "REPORT TARGET PORT GROUPS",
       12, kIn, usage({0xa3, 0xea, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowAll),
    sa(spc::kRsocServiceAction, spc::report_supported_opcodes,
       "REPORT SUPPORTED OPERATION CODES", 12, kIn,
       usage({0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowStandby | scsi::kAluaAllowUnavailable),
}};

constexpr std::array<scsi::ServiceAction, 1> kMaintenanceOut{{
    sa(spc::kStpgServiceAction, spc::set_target_port_groups, "SET TARGET PORT GROUPS", 12,
       kOut, usage({0xa4, 0x0a, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, kControl}),
       scsi::kAluaAllowStandby | scsi::kAluaAllowUnavailable),
}};

// SPC-5 6.16 / 6.17: PERSISTENT RESERVE IN and OUT, one entry per service action.
constexpr Usage prin(uint8_t action) {
  return usage({0x5e, action, 0, 0, 0, 0, 0, 0xff, 0xff, kControl});
}
constexpr Usage prout(uint8_t action) {
  return usage({0x5f, action, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, kControl});
}

constexpr std::array<scsi::ServiceAction, 4> kPersistentReserveIn{{
    sa(spc::kPrinReadKeys, spc::persistent_reserve_in, "PERSISTENT RESERVE IN / READ KEYS", 10,
       kIn, prin(0x00)),
    sa(spc::kPrinReadReservation, spc::persistent_reserve_in,
       "PERSISTENT RESERVE IN / READ RESERVATION", 10, kIn, prin(0x01)),
    sa(spc::kPrinReportCapabilities, spc::persistent_reserve_in,
       "PERSISTENT RESERVE IN / REPORT CAPABILITIES", 10, kIn, prin(0x02)),
    sa(spc::kPrinReadFullStatus, spc::persistent_reserve_in,
       "PERSISTENT RESERVE IN / READ FULL STATUS", 10, kIn, prin(0x03)),
}};

constexpr std::array<scsi::ServiceAction, 8> kPersistentReserveOut{{
    sa(0x00, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / REGISTER", 10, kOut,
       prout(0x00)),
    sa(0x01, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / RESERVE", 10, kOut,
       prout(0x01)),
    sa(0x02, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / RELEASE", 10, kOut,
       prout(0x02)),
    sa(0x03, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / CLEAR", 10, kOut,
       prout(0x03)),
    sa(0x04, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / PREEMPT", 10, kOut,
       prout(0x04)),
    sa(0x05, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / PREEMPT AND ABORT", 10,
       kOut, prout(0x05)),
    sa(0x06, spc::persistent_reserve_out,
       "PERSISTENT RESERVE OUT / REGISTER AND IGNORE EXISTING KEY", 10, kOut, prout(0x06)),
    sa(0x07, spc::persistent_reserve_out, "PERSISTENT RESERVE OUT / REGISTER AND MOVE", 10,
       kOut, prout(0x07)),
}};

// SPC-4 6.3, 6.18: THIRD-PARTY COPY OUT / IN, 16-byte CDBs. EXTENDED COPY has its PARAMETER
// LIST LENGTH in bytes 10..13; RECEIVE COPY RESULTS its LIST IDENTIFIER in byte 2 (reserved
// for OPERATING PARAMETERS) and ALLOCATION LENGTH in bytes 10..13.
constexpr Usage copy_out(uint8_t action) {
  return usage({0x83, action, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, kControl});
}
constexpr Usage copy_in(uint8_t action, uint8_t list_id) {
  return usage({0x84, action, list_id, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, kControl});
}

// SBC-4 5.11, 5.53: the token commands: LIST IDENTIFIER in bytes 6..9, PARAMETER LIST
// LENGTH in 10..13, GROUP NUMBER in 14.
constexpr Usage token_out(uint8_t action) {
  return usage({0x83, action, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f,
                kControl});
}

constexpr std::array<scsi::ServiceAction, 3> kThirdPartyCopyOut{{
    sa(sbc::kExtendedCopyLid1, sbc::extended_copy, "EXTENDED COPY (LID1)", 16, kOut,
       copy_out(sbc::kExtendedCopyLid1)),
    sa(sbc::kPopulateToken, sbc::populate_token, "POPULATE TOKEN", 16, kOut,
       token_out(sbc::kPopulateToken)),
    sa(sbc::kWriteUsingToken, sbc::write_using_token, "WRITE USING TOKEN", 16, kOut,
       token_out(sbc::kWriteUsingToken)),
}};

constexpr std::array<scsi::ServiceAction, 5> kThirdPartyCopyIn{{
    sa(sbc::kRcrCopyStatus, sbc::receive_copy_results, "RECEIVE COPY STATUS (LID1)", 16, kIn,
       copy_in(sbc::kRcrCopyStatus, 0xff)),
    sa(sbc::kRcrReceiveData, sbc::receive_copy_results, "RECEIVE COPY DATA (LID1)", 16, kIn,
       copy_in(sbc::kRcrReceiveData, 0xff)),
    sa(sbc::kRcrOperatingParameters, sbc::receive_copy_results,
       "RECEIVE COPY OPERATING PARAMETERS", 16, kIn, copy_in(sbc::kRcrOperatingParameters, 0)),
    sa(sbc::kRcrFailedSegmentDetails, sbc::receive_copy_results,
       "RECEIVE COPY FAILURE DETAILS (LID1)", 16, kIn,
       copy_in(sbc::kRcrFailedSegmentDetails, 0xff)),
    sa(sbc::kRcrRodTokenInformation, sbc::receive_rod_token_information,
       "RECEIVE ROD TOKEN INFORMATION", 16, kIn,
       usage({0x84, sbc::kRcrRodTokenInformation, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff,
              0xff, 0xff, 0, kControl})),
}};

// SBC-4 5.30: SANITIZE: byte 1 IMMED and AUSE with the service action, PARAMETER LIST
// LENGTH in bytes 7..8. Media access from every nexus waits out the operation (the SAM
// gate answers SANITIZE IN PROGRESS); refused by reservations like a write.
constexpr Usage sanitize_usage(uint8_t action) {
  return usage({0x48, uint8_t(0xa0 | action), 0, 0, 0, 0, 0, 0xff, 0xff, kControl});
}

constexpr std::array<scsi::ServiceAction, 4> kSanitize{{
    sa(sbc::kSanitizeOverwrite, sbc::sanitize_overwrite, "SANITIZE / OVERWRITE", 10, kOut,
       sanitize_usage(sbc::kSanitizeOverwrite)),
    sa(sbc::kSanitizeBlockErase, sbc::sanitize_block_erase, "SANITIZE / BLOCK ERASE", 10, kNone,
       sanitize_usage(sbc::kSanitizeBlockErase)),
    offered_if(
        sa(sbc::kSanitizeCryptoErase, sbc::sanitize_crypto_erase, "SANITIZE / CRYPTOGRAPHIC ERASE",
           10, kNone, sanitize_usage(sbc::kSanitizeCryptoErase)),
        sbc::crypto_erase_offered),
    sa(sbc::kSanitizeExitFailureMode, sbc::sanitize_exit_failure_mode,
       "SANITIZE / EXIT FAILURE MODE", 10, kNone, sanitize_usage(sbc::kSanitizeExitFailureMode)),
}};

constexpr Usage rw10(uint8_t op, uint8_t flags) {
  return usage({op, flags, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, kControl});
}
constexpr Usage rw12(uint8_t op, uint8_t flags) {
  return usage({op, flags, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, kControl});
}
constexpr Usage rw16(uint8_t op, uint8_t flags) {
  return usage({op, flags, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0x3f, kControl});
}

// Byte 1 of the READ/WRITE CDBs: PROTECT, DPO, FUA, FUA_NV (bits 7..5, 4, 3, 1).
constexpr uint8_t kRwFlags = 0xfa;
// Byte 1 of VERIFY / WRITE AND VERIFY: PROTECT, DPO, BYTCHK.
constexpr uint8_t kVerifyFlags = 0xf6;

// WRITE SAME: byte 1 WRPROTECT and UNMAP (ANCHOR is not supported: ANC_SUP = 0), plus
// NDOB in the 16-byte CDB; GROUP NUMBER.
constexpr Usage write_same10() {
  return usage({0x41, 0xe8, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, kControl});
}
constexpr Usage write_same16() {
  return usage({0x93, 0xe9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0x1f, kControl});
}

// COMPARE AND WRITE: byte 1 as READ/WRITE; NUMBER OF LOGICAL BLOCKS; GROUP NUMBER.
constexpr Usage compare_and_write() {
  return usage({0x89, kRwFlags, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff,
                0x1f, kControl});
}

// SBC-4 4.17 table 13: PREVENT ALLOW MEDIUM REMOVAL with PREVENT 00b and START STOP UNIT with
// START=1 and POWER CONDITION 0h pass every persistent reservation (the former also an SPC-2
// one); otherwise they change the LU's state and conflict.
scsi::ConflictPolicy prevent_allow_policy(const scsi::Command& cmd) {
  return (cmd.cdb[4] & 0x03) == 0 ? scsi::conflict::kAlwaysAllowed : scsi::conflict::kWritesMedium;
}
scsi::ConflictPolicy start_stop_policy(const scsi::Command& cmd) {
  const bool start = (cmd.cdb[4] & 0x01) != 0;
  return start && (cmd.cdb[4] >> 4) == 0 ? scsi::conflict::kPersistentAllowed
                                         : scsi::conflict::kWritesMedium;
}

// SBC-4 table 13: READ CAPACITY (16) passes every persistent reservation; GET LBA STATUS
// reads the medium's state like a read.
scsi::ConflictPolicy service_action_in16_policy(const scsi::Command& cmd) {
  return (cmd.cdb[1] & 0x1f) == 0x10 ? scsi::conflict::kPersistentAllowed
                                     : scsi::conflict::kReadsMedium;
}

// SPC-5 table 67: POPULATE TOKEN reads its LU's medium; EXTENDED COPY and WRITE USING TOKEN
// write (the copy targets' reservations are checked per copy as well).
scsi::ConflictPolicy third_party_copy_out_policy(const scsi::Command& cmd) {
  return (cmd.cdb[1] & 0x1f) == sbc::kPopulateToken ? scsi::conflict::kReadsMedium
                                                    : scsi::conflict::kWritesMedium;
}

// SPC-5 5.16.2.4.4: MODE SELECT and MODE SENSE also run in the standby state.
constexpr OpFlags kModeSelect = with_alua(kNoMedium, scsi::kAluaAllowStandby);
constexpr OpFlags kModeSense = with_alua(kNoMediumReads, scsi::kAluaAllowStandby);

constexpr scsi::OpcodeTable kSbcOpcodes = [] {
  scsi::OpcodeTable t{};
  t[0x00] = op(spc::test_unit_ready, "TEST UNIT READY", kNone, usage({0x00, 0, 0, 0, 0, kControl}),
               kPersistentAllowed);
  t[0x03] = op(spc::request_sense, "REQUEST SENSE", kIn,
               usage({0x03, 0x01, 0, 0, 0xff, kControl}), kUaExempt);
  t[0x08] = op(sbc::read, "READ (6)", kIn, usage({0x08, 0x1f, 0xff, 0xff, 0xff, kControl}), kReads);
  t[0x0a] = op(sbc::write, "WRITE (6)", kOut, usage({0x0a, 0x1f, 0xff, 0xff, 0xff, kControl}));
  t[0x12] = op(spc::inquiry, "INQUIRY", kIn, usage({0x12, 0x01, 0xff, 0xff, 0xff, kControl}),
               kUaExempt);
  t[0x15] = op(spc::mode_select, "MODE SELECT (6)", kOut,
               usage({0x15, 0x11, 0, 0, 0xff, kControl}), kModeSelect);
  t[0x1a] = op(spc::mode_sense, "MODE SENSE (6)", kIn,
               usage({0x1a, 0x08, 0xff, 0xff, 0xff, kControl}), kModeSense);
  t[0x1b] = with_cdb_policy(op(sbc::start_stop_unit, "START STOP UNIT", kNone,
                               usage({0x1b, 0x01, 0, 0x0f, 0xf7, kControl}), kNoMedium),
                            start_stop_policy);
  t[0x1e] = with_cdb_policy(op(sbc::prevent_allow_medium_removal, "PREVENT ALLOW MEDIUM REMOVAL",
                               kNone, usage({0x1e, 0, 0, 0, 0x03, kControl}), kNoMedium),
                            prevent_allow_policy);
  t[0x25] = op(sbc::read_capacity10, "READ CAPACITY (10)", kIn,
               usage({0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, kControl}), kPersistentAllowed);
  t[0x28] = op(sbc::read, "READ (10)", kIn, rw10(0x28, kRwFlags), kReads);
  t[0x2a] = op(sbc::write, "WRITE (10)", kOut, rw10(0x2a, kRwFlags));
  t[0x2e] = op(sbc::write_and_verify, "WRITE AND VERIFY (10)", kOut, rw10(0x2e, kVerifyFlags));
  t[0x2f] = op(sbc::verify, "VERIFY (10)", kOut, rw10(0x2f, kVerifyFlags), kReads);
  t[0x34] = op(sbc::pre_fetch, "PRE-FETCH (10)", kNone, rw10(0x34, 0x02), kReads);
  t[0x35] = op(sbc::synchronize_cache, "SYNCHRONIZE CACHE (10)", kNone, rw10(0x35, 0x02));
  t[0x37] = op(sbc::read_defect_data10, "READ DEFECT DATA (10)", kIn,
               usage({0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, kControl}));
  t[0x41] = op(sbc::write_same, "WRITE SAME (10)", kOut, write_same10());
  t[0x42] = op(sbc::unmap, "UNMAP", kOut, usage({0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, kControl}));
  t[0x16] = op(spc::reserve, "RESERVE (6)", kNone, usage({0x16, 0, 0, 0, 0, kControl}),
               kNoMediumNoConflict);
  t[0x17] = op(spc::release, "RELEASE (6)", kNone, usage({0x17, 0, 0, 0, 0, kControl}),
               kNoMediumNoConflict);
  t[0x56] = op(spc::reserve, "RESERVE (10)", kNone,
               usage({0x56, 0, 0, 0, 0, 0, 0, 0, 0, kControl}), kNoMediumNoConflict);
  t[0x57] = op(spc::release, "RELEASE (10)", kNone,
               usage({0x57, 0, 0, 0, 0, 0, 0, 0, 0, kControl}), kNoMediumNoConflict);
  t[0x5e] = sa_op("PERSISTENT RESERVE IN", 10, kPersistentReserveIn, kNoMediumPersistentAllowed);
  t[0x5f] = sa_op("PERSISTENT RESERVE OUT", 10, kPersistentReserveOut,
                  kNoMediumPersistentAllowed);
  t[0x48] = sa_op("SANITIZE", 10, kSanitize, kDefault);
  t[0x55] = op(spc::mode_select, "MODE SELECT (10)", kOut,
               usage({0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, kControl}), kModeSelect);
  t[0x5a] = op(spc::mode_sense, "MODE SENSE (10)", kIn,
               usage({0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, kControl}),
               kModeSense);
  // THIRD-PARTY COPY IN reports results: refused like a read.
  t[0x83] = with_cdb_policy(sa_op("THIRD-PARTY COPY OUT", 16, kThirdPartyCopyOut, kDefault),
                            third_party_copy_out_policy);
  t[0x84] = sa_op("THIRD-PARTY COPY IN", 16, kThirdPartyCopyIn, kReads);
  t[0x88] = op(sbc::read, "READ (16)", kIn, rw16(0x88, kRwFlags), kReads);
  t[0x89] = op(sbc::compare_and_write, "COMPARE AND WRITE", kOut, compare_and_write());
  t[0x8a] = op(sbc::write, "WRITE (16)", kOut, rw16(0x8a, kRwFlags));
  t[0x8b] = op(sbc::orwrite, "ORWRITE (16)", kOut, rw16(0x8b, kRwFlags));
  t[0x8e] = op(sbc::write_and_verify, "WRITE AND VERIFY (16)", kOut, rw16(0x8e, kVerifyFlags));
  t[0x8f] = op(sbc::verify, "VERIFY (16)", kOut, rw16(0x8f, kVerifyFlags), kReads);
  t[0x90] = op(sbc::pre_fetch, "PRE-FETCH (16)", kNone, rw16(0x90, 0x02), kReads);
  t[0x91] = op(sbc::synchronize_cache, "SYNCHRONIZE CACHE (16)", kNone, rw16(0x91, 0x02));
  t[0x93] = op(sbc::write_same, "WRITE SAME (16)", kOut, write_same16());
  t[0x9c] = op(sbc::write_atomic16, "WRITE ATOMIC (16)", kOut,
               usage({0x9c, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0x3f, kControl}));
  t[0x9e] = with_cdb_policy(sa_op("SERVICE ACTION IN (16)", 16, kServiceActionIn16, kReads),
                            service_action_in16_policy);
  t[0xa0] = op(spc::report_luns, "REPORT LUNS", kIn,
               usage({0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, kControl}), kUaExempt);
  t[0xa3] = sa_op("MAINTENANCE IN", 12, kMaintenanceIn, kNoMediumNoConflict);
  t[0xa4] = sa_op("MAINTENANCE OUT", 12, kMaintenanceOut, kNoMedium);
  t[0xa8] = op(sbc::read, "READ (12)", kIn, rw12(0xa8, kRwFlags), kReads);
  t[0xb7] = op(sbc::read_defect_data12, "READ DEFECT DATA (12)", kIn,
               usage({0xb7, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, kControl}),
               kReads);
  t[0xaa] = op(sbc::write, "WRITE (12)", kOut, rw12(0xaa, kRwFlags));
  t[0xae] = op(sbc::write_and_verify, "WRITE AND VERIFY (12)", kOut, rw12(0xae, kVerifyFlags));
  t[0xaf] = op(sbc::verify, "VERIFY (12)", kOut, rw12(0xaf, kVerifyFlags), kReads);
  return t;
}();

constexpr scsi::DeviceType kSbc{0x00, "disk", &kSbcOpcodes};

}  // namespace

const scsi::DeviceType& sbc_device_type() { return kSbc; }

}  // namespace stgt::devices
