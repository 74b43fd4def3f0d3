// libFuzzer target: the iSCSI receive path with CRC32C header and data digests on (RFC 7143
// 11.1, 13.1). A mutated byte stream almost never carries a right digest, so pdu_fuzz stops
// at the digest check once a login negotiates digests; here the harness frames the PDUs and
// computes their digests, so the fuzzer reaches everything behind the check, and chooses
// per PDU to send a wrong digest instead.
//
// The stream starts with a fixed login (operational stage straight to the full feature
// phase, HeaderDigest=CRC32C, DataDigest=CRC32C); digests apply from the next PDU on. Then
// records until the input ends:
//   u8     flags  bit 0  wrong header digest     bit 1  wrong data digest
//                 bit 2  the rest of the input goes out as it is (no framing, no digests)
//   48     BHS    (zero-filled when the input ends)
//   AHS    TotalAHSLength * 4 bytes from the input
//   data   DataSegmentLength bytes from the input (fewer when it ends: a truncated PDU)
// Each PDU goes out as BHS, AHS, header digest, data, padding, data digest (when the data
// segment is not empty). Everything then runs as in pdu_fuzz (fuzz/connection_harness.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "fuzz/connection_harness.h"

using namespace stgt;

namespace {

constexpr size_t kBhs = 48;
constexpr size_t kMaxData = 65536;  // the harness's MaxRecvDataSegmentLength

void append_digest(std::vector<uint8_t>& out, uint32_t crc) {
  // RFC 7143 11.1, B.4: least significant byte first.
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(crc >> (8 * i)));
}

std::vector<uint8_t> login_pdu() {
  std::string text;
  auto key = [&text](const char* k, const char* v) {
    text += k;
    text += '=';
    text += v;
    text += '\0';
  };
  key("InitiatorName", "iqn.1994-05.com.example:host1");
  key("TargetName", fuzz::kTargetName);
  key("SessionType", "Normal");
  key("HeaderDigest", "CRC32C");
  key("DataDigest", "CRC32C");
  key("MaxRecvDataSegmentLength", "65536");
  key("InitialR2T", "No");
  key("ImmediateData", "Yes");
  key("MaxBurstLength", "262144");
  key("FirstBurstLength", "65536");
  std::vector<uint8_t> pdu(kBhs);
  pdu[0] = 0x43;                  // Login Request, immediate
  pdu[1] = 0x80 | 1 << 2 | 3;     // T=1, CSG operational, NSG full feature phase
  pdu[5] = uint8_t(text.size() >> 16);
  pdu[6] = uint8_t(text.size() >> 8);
  pdu[7] = uint8_t(text.size());
  const uint8_t isid[6] = {0x23, 0xd0, 0, 0, 0, 1};
  std::copy(isid, isid + 6, pdu.begin() + 8);
  pdu[21] = 1;  // CID
  pdu[27] = 1;  // CmdSN
  pdu.insert(pdu.end(), text.begin(), text.end());
  pdu.resize((pdu.size() + 3) & ~size_t(3));
  return pdu;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> login = login_pdu();
  std::vector<uint8_t> stream = login;
  fuzz::Cursor in(data, size);
  while (!in.empty()) {
    const uint8_t flags = in.u8();
    if ((flags & 4) != 0) {
      const auto rest = in.rest();
      stream.insert(stream.end(), rest.begin(), rest.end());
      break;
    }
    std::vector<uint8_t> header(kBhs);
    const auto bhs = in.bytes(kBhs);
    std::copy(bhs.begin(), bhs.end(), header.begin());
    const auto ahs = in.bytes(size_t(header[4]) * 4);
    header.insert(header.end(), ahs.begin(), ahs.end());
    const size_t dsl = size_t(header[5]) << 16 | size_t(header[6]) << 8 | header[7];
    const auto payload = in.bytes(std::min(dsl, kMaxData));
    stream.insert(stream.end(), header.begin(), header.end());
    append_digest(stream, base::crc32c(header.data(), header.size()) ^ ((flags & 1) != 0 ? 1u : 0u));
    if (payload.empty()) continue;
    const size_t at = stream.size();
    stream.insert(stream.end(), payload.begin(), payload.end());
    stream.resize((stream.size() + 3) & ~size_t(3));
    append_digest(stream, base::crc32c(stream.data() + at, stream.size() - at) ^
                              ((flags & 2) != 0 ? 1u : 0u));
  }
  fuzz::run_connection(stream.data(), stream.size());
  return 0;
}
