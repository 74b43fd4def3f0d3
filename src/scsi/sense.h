// SCSI sense: every failure the mid-layer or a device reports is a SenseReason; one
// constexpr table (sense.cc) maps it to key/ASC/ASCQ; encode_sense() writes it in fixed or
// descriptor format (SPC-5 4.4) according to the LU's D_SENSE bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace stgt::scsi {

enum class SenseKey : uint8_t {
  kNoSense = 0x0,
  kRecoveredError = 0x1,
  kNotReady = 0x2,
  kMediumError = 0x3,
  kHardwareError = 0x4,
  kIllegalRequest = 0x5,
  kUnitAttention = 0x6,
  kDataProtect = 0x7,
  kBlankCheck = 0x8,
  kCopyAborted = 0xa,
  kAbortedCommand = 0xb,
  kVolumeOverflow = 0xd,
  kMiscompare = 0xe,
};

enum class SenseReason : uint8_t {
  kNone,
  // ILLEGAL REQUEST
  kInvalidOpcode,              // 20/00
  kInvalidFieldInCdb,          // 24/00
  kInvalidFieldInParameterList,  // 26/00
  kParameterListLengthError,   // 1a/00
  kLbaOutOfRange,              // 21/00
  kLunNotSupported,            // 25/00
  kSavingParametersNotSupported,  // 39/00
  kInvalidCommandOperationCode,   // alias kept for tables: 20/00
  kInvalidReleaseOfPersistentReservation,  // 26/04
  kMediumRemovalPrevented,     // 53/02
  kInvalidMessageError,        // 49/00 (ACA task attribute without an ACA condition)
  kInsufficientRegistrationResources,  // 55/04
  kTooManyTargetDescriptors,   // 26/06 (EXTENDED COPY: too many CSCD descriptors)
  kUnsupportedTargetDescriptorType,   // 26/07
  kTooManySegmentDescriptors,  // 26/08
  kUnsupportedSegmentDescriptorType,  // 26/09
  kOperationInProgress,        // 00/16 (a copy with the same list identifier is running)
  kInvalidTokenOperation,      // 23/00 INVALID TOKEN OPERATION, CAUSE NOT REPORTABLE
  kTokenUnknown,               // 23/04
  kTokenCorrupt,               // 23/05
  kTokenRevoked,               // 23/06
  kTokenExpired,               // 23/07
  kInvalidTokenLength,         // 23/0a
  // NOT READY
  kLunNotReadyManualIntervention,  // 04/03
  kLunNotReadyOffline,         // 04/12 (taken offline by the operator)
  kMediumNotPresent,           // 3a/00
  kLunNotReadyFormatInProgress,  // 04/04
  kLunNotReadySanitizeInProgress,  // 04/1b
  kLunNotAccessibleTransition,  // 04/0a ASYMMETRIC ACCESS STATE TRANSITION
  kLunNotAccessibleStandby,     // 04/0b TARGET PORT IN STANDBY STATE
  kLunNotAccessibleUnavailable,  // 04/0c TARGET PORT IN UNAVAILABLE STATE
  // UNIT ATTENTION
  kPowerOnReset,               // 29/00
  kItNexusLoss,                // 29/07
  kLunReset,                   // 29/03 (bus device reset function occurred)
  kModeParametersChanged,      // 2a/01
  kCapacityDataChanged,        // 2a/09
  kReportedLunsDataChanged,    // 3f/0e
  kInquiryDataChanged,         // 3f/03
  kCommandsClearedByAnotherInitiator,  // 2f/00
  kAsymmetricAccessStateChanged,  // 2a/06
  kReservationsPreempted,      // 2a/03
  kReservationsReleased,       // 2a/04
  kRegistrationsPreempted,     // 2a/05
  // DATA PROTECT
  kWriteProtected,             // 27/00
  kSpaceAllocationFailed,      // 27/07 SPACE ALLOCATION FAILED WRITE PROTECT (out of space)
  // MEDIUM / HARDWARE / ABORTED COMMAND
  kReadError,                  // MEDIUM ERROR 11/00
  kWriteError,                 // MEDIUM ERROR 0c/00
  kInternalTargetFailure,      // HARDWARE ERROR 44/00
  kInitiatorDetectedErrorMessage,  // ABORTED COMMAND 48/00
  kDataPhaseError,             // ABORTED COMMAND 4b/00
  kOverlappedCommandsAttempted,  // ABORTED COMMAND 4e/00
  kMiscompareDuringVerify,     // MISCOMPARE 1d/00
  // COPY ABORTED (third-party copy, SPC-5 5.17)
  kCopyAborted,                // 00/00: a segment could not be processed
  kCopyTargetNotReachable,     // 0d/02 COPY TARGET DEVICE NOT REACHABLE
  kCopyReadError,              // COPY ABORTED, 11/00 (a copy source could not be read)
  kCopyWriteError,             // COPY ABORTED, 0c/00
  // MEDIUM ERROR
  kSanitizeFailed,             // 31/03 SANITIZE COMMAND FAILED
  kCount,
};

struct SenseCode {
  SenseKey key;
  uint8_t asc;
  uint8_t ascq;
};

// The key/ASC/ASCQ of a reason (the one table).
SenseCode sense_code(SenseReason reason);

// Sense-key specific field pointer (SPC-5 4.4.2.4.2): which byte (and optionally bit) of
// the CDB (cdb=true) or of the parameter list is wrong.
struct FieldPointer {
  bool cdb = true;
  uint16_t byte = 0;
  std::optional<uint8_t> bit;
};

struct SenseDetail {
  std::optional<FieldPointer> field;
  std::optional<uint64_t> information;
  // Progress indication (SPC-5 4.4.2.4.4), 0..65535, for NOT READY ... IN PROGRESS.
  std::optional<uint16_t> progress;
};

inline constexpr size_t kMaxSenseLength = 96;

enum class SenseFormat { kFixed, kDescriptor };

// Encodes into `out` (at least 18 bytes for fixed, 32 for descriptor); returns the length.
size_t encode_sense(SenseFormat format, SenseCode code, const SenseDetail& detail,
                    std::span<uint8_t> out);
inline size_t encode_sense(SenseFormat format, SenseReason reason, const SenseDetail& detail,
                           std::span<uint8_t> out) {
  return encode_sense(format, sense_code(reason), detail, out);
}

}  // namespace stgt::scsi
