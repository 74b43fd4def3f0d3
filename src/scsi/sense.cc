#include "scsi/sense.h"

#include <array>
#include <cstring>

#include "base/byte_order.h"

namespace stgt::scsi {
namespace {

constexpr SenseCode code(SenseKey key, uint8_t asc, uint8_t ascq) { return {key, asc, ascq}; }

using K = SenseKey;
constexpr size_t kReasons = static_cast<size_t>(SenseReason::kCount);

// The one table: SenseReason -> key/ASC/ASCQ (SPC-5 4.4.1, table D.1 for the codes).
constexpr std::array<SenseCode, kReasons> kTable = [] {
  std::array<SenseCode, kReasons> t{};
  auto set = [&t](SenseReason r, SenseCode c) { t[static_cast<size_t>(r)] = c; };
  set(SenseReason::kNone, code(K::kNoSense, 0x00, 0x00));
  set(SenseReason::kInvalidOpcode, code(K::kIllegalRequest, 0x20, 0x00));
  set(SenseReason::kInvalidFieldInCdb, code(K::kIllegalRequest, 0x24, 0x00));
  set(SenseReason::kInvalidFieldInParameterList, code(K::kIllegalRequest, 0x26, 0x00));
  set(SenseReason::kParameterListLengthError, code(K::kIllegalRequest, 0x1a, 0x00));
  set(SenseReason::kLbaOutOfRange, code(K::kIllegalRequest, 0x21, 0x00));
  set(SenseReason::kLunNotSupported, code(K::kIllegalRequest, 0x25, 0x00));
  set(SenseReason::kSavingParametersNotSupported, code(K::kIllegalRequest, 0x39, 0x00));
  set(SenseReason::kInvalidCommandOperationCode, code(K::kIllegalRequest, 0x20, 0x00));
  set(SenseReason::kInvalidReleaseOfPersistentReservation, code(K::kIllegalRequest, 0x26, 0x04));
  set(SenseReason::kMediumRemovalPrevented, code(K::kIllegalRequest, 0x53, 0x02));
  set(SenseReason::kInvalidMessageError, code(K::kIllegalRequest, 0x49, 0x00));
  set(SenseReason::kInsufficientRegistrationResources, code(K::kIllegalRequest, 0x55, 0x04));
  set(SenseReason::kTooManyTargetDescriptors, code(K::kIllegalRequest, 0x26, 0x06));
  set(SenseReason::kUnsupportedTargetDescriptorType, code(K::kIllegalRequest, 0x26, 0x07));
  set(SenseReason::kTooManySegmentDescriptors, code(K::kIllegalRequest, 0x26, 0x08));
  set(SenseReason::kUnsupportedSegmentDescriptorType, code(K::kIllegalRequest, 0x26, 0x09));
  set(SenseReason::kOperationInProgress, code(K::kIllegalRequest, 0x00, 0x16));
  set(SenseReason::kInvalidTokenOperation, code(K::kIllegalRequest, 0x23, 0x00));
  set(SenseReason::kTokenUnknown, code(K::kIllegalRequest, 0x23, 0x04));
  set(SenseReason::kTokenCorrupt, code(K::kIllegalRequest, 0x23, 0x05));
  set(SenseReason::kTokenRevoked, code(K::kIllegalRequest, 0x23, 0x06));
  set(SenseReason::kTokenExpired, code(K::kIllegalRequest, 0x23, 0x07));
  set(SenseReason::kInvalidTokenLength, code(K::kIllegalRequest, 0x23, 0x0a));
  set(SenseReason::kLunNotReadyManualIntervention, code(K::kNotReady, 0x04, 0x03));
  set(SenseReason::kLunNotReadyOffline, code(K::kNotReady, 0x04, 0x12));
  set(SenseReason::kMediumNotPresent, code(K::kNotReady, 0x3a, 0x00));
  set(SenseReason::kLunNotReadyFormatInProgress, code(K::kNotReady, 0x04, 0x04));
  set(SenseReason::kLunNotReadySanitizeInProgress, code(K::kNotReady, 0x04, 0x1b));
  set(SenseReason::kLunNotAccessibleTransition, code(K::kNotReady, 0x04, 0x0a));
  set(SenseReason::kLunNotAccessibleStandby, code(K::kNotReady, 0x04, 0x0b));
  set(SenseReason::kLunNotAccessibleUnavailable, code(K::kNotReady, 0x04, 0x0c));
  set(SenseReason::kPowerOnReset, code(K::kUnitAttention, 0x29, 0x00));
  set(SenseReason::kItNexusLoss, code(K::kUnitAttention, 0x29, 0x07));
  set(SenseReason::kLunReset, code(K::kUnitAttention, 0x29, 0x03));  // SAM-5 6.3.3
  set(SenseReason::kModeParametersChanged, code(K::kUnitAttention, 0x2a, 0x01));
  set(SenseReason::kCapacityDataChanged, code(K::kUnitAttention, 0x2a, 0x09));
  set(SenseReason::kReportedLunsDataChanged, code(K::kUnitAttention, 0x3f, 0x0e));
  set(SenseReason::kInquiryDataChanged, code(K::kUnitAttention, 0x3f, 0x03));
  set(SenseReason::kCommandsClearedByAnotherInitiator, code(K::kUnitAttention, 0x2f, 0x00));
  set(SenseReason::kAsymmetricAccessStateChanged, code(K::kUnitAttention, 0x2a, 0x06));
  set(SenseReason::kReservationsPreempted, code(K::kUnitAttention, 0x2a, 0x03));
  set(SenseReason::kReservationsReleased, code(K::kUnitAttention, 0x2a, 0x04));
  set(SenseReason::kRegistrationsPreempted, code(K::kUnitAttention, 0x2a, 0x05));
  set(SenseReason::kWriteProtected, code(K::kDataProtect, 0x27, 0x00));
  set(SenseReason::kSpaceAllocationFailed, code(K::kDataProtect, 0x27, 0x07));
  set(SenseReason::kReadError, code(K::kMediumError, 0x11, 0x00));
  set(SenseReason::kWriteError, code(K::kMediumError, 0x0c, 0x00));
  set(SenseReason::kInternalTargetFailure, code(K::kHardwareError, 0x44, 0x00));
  set(SenseReason::kInitiatorDetectedErrorMessage, code(K::kAbortedCommand, 0x48, 0x00));
  set(SenseReason::kDataPhaseError, code(K::kAbortedCommand, 0x4b, 0x00));
  set(SenseReason::kOverlappedCommandsAttempted, code(K::kAbortedCommand, 0x4e, 0x00));
  set(SenseReason::kMiscompareDuringVerify, code(K::kMiscompare, 0x1d, 0x00));
  set(SenseReason::kCopyAborted, code(K::kCopyAborted, 0x00, 0x00));
  set(SenseReason::kCopyTargetNotReachable, code(K::kCopyAborted, 0x0d, 0x02));
  set(SenseReason::kCopyReadError, code(K::kCopyAborted, 0x11, 0x00));
  set(SenseReason::kCopyWriteError, code(K::kCopyAborted, 0x0c, 0x00));
  set(SenseReason::kSanitizeFailed, code(K::kMediumError, 0x31, 0x03));
  return t;
}();

// Every reason except kNone must map to a real sense key.
constexpr bool table_complete() {
  for (size_t i = 1; i < kReasons; ++i) {
    if (kTable[i].key == K::kNoSense) return false;
  }
  return true;
}
static_assert(table_complete(), "every SenseReason needs a row in kTable");

constexpr size_t kFixedLength = 18;

// The three sense-key specific bytes (SPC-5 4.4.2.4); false when there are none.
bool sense_key_specific(const SenseDetail& detail, uint8_t* out) {
  if (detail.field) {
    const FieldPointer& f = *detail.field;
    // SPC-5 4.4.2.4.2: SKSV, C/D, BPV, bit pointer, field pointer.
    out[0] = uint8_t(0x80 | (f.cdb ? 0x40 : 0) | (f.bit ? 0x08 | (*f.bit & 0x07) : 0));
    base::store_be16(out + 1, f.byte);
    return true;
  }
  if (detail.progress) {
    // SPC-5 4.4.2.4.4: progress indication.
    out[0] = 0x80;
    base::store_be16(out + 1, *detail.progress);
    return true;
  }
  return false;
}

// SPC-5 4.4.3: fixed format, response code 70h.
size_t encode_fixed(SenseCode c, const SenseDetail& detail, std::span<uint8_t> out) {
  if (out.size() < kFixedLength) return 0;
  uint8_t* p = out.data();
  std::memset(p, 0, kFixedLength);
  p[0] = 0x70;
  p[2] = static_cast<uint8_t>(c.key);
  if (detail.information) {
    // The INFORMATION field holds 32 bits; VALID only when the value fits.
    const uint64_t info = *detail.information;
    base::store_be32(p + 3, uint32_t(info));
    if (info <= 0xffffffffu) p[0] |= 0x80;
  }
  p[7] = kFixedLength - 8;
  p[12] = c.asc;
  p[13] = c.ascq;
  sense_key_specific(detail, p + 15);
  return kFixedLength;
}

// SPC-5 4.4.2: descriptor format, response code 72h, with an information descriptor
// (4.4.2.2, type 00h) and a sense-key specific descriptor (4.4.2.4, type 02h).
size_t encode_descriptor(SenseCode c, const SenseDetail& detail, std::span<uint8_t> out) {
  constexpr size_t kHeader = 8, kInfo = 12, kSpecific = 8;
  if (out.size() < kHeader + kInfo + kSpecific) return 0;
  uint8_t* p = out.data();
  std::memset(p, 0, kHeader + kInfo + kSpecific);
  p[0] = 0x72;
  p[1] = static_cast<uint8_t>(c.key);
  p[2] = c.asc;
  p[3] = c.ascq;
  size_t len = kHeader;
  if (detail.information) {
    p[len] = 0x00;
    p[len + 1] = 0x0a;
    p[len + 2] = 0x80;  // VALID
    base::store_be64(p + len + 4, *detail.information);
    len += kInfo;
  }
  if (sense_key_specific(detail, p + len + 4)) {
    p[len] = 0x02;
    p[len + 1] = 0x06;
    len += kSpecific;
  }
  p[7] = uint8_t(len - kHeader);
  return len;
}

}  // namespace

SenseCode sense_code(SenseReason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kReasons ? kTable[i] : kTable[static_cast<size_t>(SenseReason::kInternalTargetFailure)];
}

size_t encode_sense(SenseFormat format, SenseCode code, const SenseDetail& detail,
                    std::span<uint8_t> out) {
  return format == SenseFormat::kDescriptor ? encode_descriptor(code, detail, out)
                                            : encode_fixed(code, detail, out);
}

}  // namespace stgt::scsi
