#include "raw_iscsi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/byte_order.h"
#include "transport/iscsi/text.h"

namespace stgt::functional {
namespace {

using Clock = std::chrono::steady_clock;
using iscsi::Bhs;
using iscsi::kBhsLength;
using iscsi::kReservedTag;
using iscsi::Opcode;

// RFC 7143 11.12.3 / 11.12.2: Login Request flags byte.
constexpr uint8_t kLoginTransit = 0x80;
constexpr uint8_t login_flags(uint8_t csg, uint8_t nsg) {
  return uint8_t(kLoginTransit | csg << 2 | nsg);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return int(std::max<int64_t>(left, 0));
}

std::vector<uint8_t> operational_text(const RawLoginParams& p) {
  std::vector<uint8_t> text;
  iscsi::append_key(text, "HeaderDigest", "None");
  iscsi::append_key(text, "DataDigest", p.data_digest ? "CRC32C" : "None");
  iscsi::append_key(text, "MaxRecvDataSegmentLength",
                    std::to_string(p.max_recv_data_segment_length));
  if (!p.discovery) {
    iscsi::append_key(text, "InitialR2T", "No");
    iscsi::append_key(text, "ImmediateData", "Yes");
    iscsi::append_key(text, "MaxBurstLength", std::to_string(p.max_burst_length));
    iscsi::append_key(text, "FirstBurstLength", std::to_string(p.first_burst_length));
    iscsi::append_key(text, "MaxOutstandingR2T", std::to_string(p.max_outstanding_r2t));
    iscsi::append_key(text, "MaxConnections", "1");
    iscsi::append_key(text, "DataPDUInOrder", "Yes");
    iscsi::append_key(text, "DataSequenceInOrder", "Yes");
  }
  iscsi::append_key(text, "ErrorRecoveryLevel", "0");
  iscsi::append_key(text, "DefaultTime2Wait", "2");
  iscsi::append_key(text, "DefaultTime2Retain", "0");
  return text;
}

}  // namespace

std::string hex(uint64_t value) {
  std::ostringstream s;
  s << "0x" << std::hex << value;
  return s.str();
}

std::string RawPdu::describe() const {
  std::ostringstream s;
  s << iscsi::to_string(opcode()) << " (0x" << std::hex << int(bhs.bytes[0] & 0x3f) << ") flags 0x"
    << int(bhs.flags()) << " byte2 0x" << int(bhs.bytes[2]) << " itt 0x" << bhs.itt() << " ttt 0x"
    << ttt() << std::dec << " data " << data.size();
  return s.str();
}

testing::AssertionResult decode_sense(std::span<const uint8_t> sense, DecodedSense& out) {
  if (sense.empty()) return testing::AssertionFailure() << "no sense data";
  const uint8_t code = sense[0] & 0x7f;
  if (code == 0x70 || code == 0x71) {
    // SPC-5 4.4.3: fixed format.
    if (sense.size() < 18) return testing::AssertionFailure() << "fixed sense too short";
    out.key = sense[2] & 0x0f;
    out.asc = sense[12];
    out.ascq = sense[13];
    out.sksv = (sense[15] & 0x80) != 0;
    out.command_data = (sense[15] & 0x40) != 0;
    out.field_pointer = base::load_be16(&sense[16]);
    return testing::AssertionSuccess();
  }
  if (code == 0x72 || code == 0x73) {
    // SPC-5 4.4.2: descriptor format; the sense-key specific descriptor is type 02h.
    if (sense.size() < 8) return testing::AssertionFailure() << "descriptor sense too short";
    out.key = sense[1] & 0x0f;
    out.asc = sense[2];
    out.ascq = sense[3];
    const size_t end = std::min<size_t>(sense.size(), 8 + size_t(sense[7]));
    for (size_t at = 8; at + 2 <= end; at += 2 + size_t(sense[at + 1])) {
      if (sense[at] != 0x02 || at + 7 > end) continue;
      out.sksv = (sense[at + 4] & 0x80) != 0;
      out.command_data = (sense[at + 4] & 0x40) != 0;
      out.field_pointer = base::load_be16(&sense[at + 5]);
    }
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "unknown sense response code " << hex(code);
}

testing::AssertionResult RawIscsi::connect(uint16_t port) {
  rx_.clear();
  fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) return testing::AssertionFailure() << "socket: " << std::strerror(errno);
  const timeval send_timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return testing::AssertionFailure()
           << "connect to port " << port << ": " << std::strerror(errno);
  }
  return testing::AssertionSuccess();
}

void RawIscsi::reset() {
  if (!fd_.valid()) return;
  const linger abort_on_close{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  fd_.reset();
}

void RawIscsi::shutdown_send() {
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_WR);
}

testing::AssertionResult RawIscsi::send_bytes(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return testing::AssertionFailure() << "send: " << std::strerror(errno);
    done += size_t(n);
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult RawIscsi::send(const Bhs& bhs, std::span<const uint8_t> data) {
  std::vector<uint8_t> wire(bhs.bytes.begin(), bhs.bytes.end());
  wire.insert(wire.end(), data.begin(), data.end());
  wire.resize(kBhsLength + iscsi::padded(uint32_t(data.size())), 0);
  return send_bytes(wire);
}

RecvStatus RawIscsi::receive(RawPdu& out, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (rx_.size() >= kBhsLength) {
      std::copy_n(rx_.begin(), kBhsLength, out.bhs.bytes.begin());
      // No digests are negotiated; AHS is never sent by a target (RFC 7143 11.2.1.4).
      const size_t dsl = out.bhs.data_segment_length();
      const size_t digest = data_digest_ && dsl > 0 ? 4 : 0;  // not checked
      const size_t total = kBhsLength + size_t(out.bhs.total_ahs_length()) * 4 +
                           iscsi::padded(uint32_t(dsl)) + digest;
      if (rx_.size() >= total) {
        const auto data_at = rx_.begin() + long(total - digest - iscsi::padded(uint32_t(dsl)));
        out.data.assign(data_at, data_at + long(dsl));
        rx_.erase(rx_.begin(), rx_.begin() + long(total));
        track(out);
        return RecvStatus::kPdu;
      }
    }
    if (!fd_.valid()) return RecvStatus::kClosed;
    pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return RecvStatus::kTimeout;
    std::array<uint8_t, 16384> buf;
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return RecvStatus::kClosed;  // EOF or reset
    rx_.insert(rx_.end(), buf.begin(), buf.begin() + n);
  }
}

void RawIscsi::track(const RawPdu& pdu) {
  const Opcode op = pdu.opcode();
  // PDUs that carry a StatSN of their own (RFC 7143 4.2.2.2); a NOP-In with the reserved
  // ITT and an R2T repeat the next StatSN without consuming it.
  const bool data_in_status = op == Opcode::kDataIn && (pdu.bhs.flags() & 0x01) != 0;
  const bool status = data_in_status || op == Opcode::kScsiResponse ||
                      op == Opcode::kLoginResponse || op == Opcode::kTextResponse ||
                      op == Opcode::kLogoutResponse || op == Opcode::kReject ||
                      op == Opcode::kTaskManagementResponse ||
                      (op == Opcode::kNopIn && pdu.bhs.itt() != kReservedTag);
  if (status && iscsi::sn_le(exp_stat_sn_, pdu.stat_sn())) exp_stat_sn_ = pdu.stat_sn() + 1;
  if (op != Opcode::kDataIn || data_in_status) {
    exp_cmd_sn_ = pdu.exp_cmd_sn();
    max_cmd_sn_ = pdu.max_cmd_sn();
  }
}

testing::AssertionResult RawIscsi::expect(Opcode op, RawPdu& out, Millis timeout) {
  switch (receive(out, timeout)) {
    case RecvStatus::kTimeout:
      return testing::AssertionFailure()
             << "no " << iscsi::to_string(op) << " within " << timeout.count() << " ms";
    case RecvStatus::kClosed:
      return testing::AssertionFailure()
             << "connection closed while waiting for " << iscsi::to_string(op);
    case RecvStatus::kPdu:
      break;
  }
  if (out.opcode() != op) {
    return testing::AssertionFailure()
           << "expected " << iscsi::to_string(op) << ", got " << out.describe();
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult RawIscsi::expect_silence(Millis quiet) {
  RawPdu pdu;
  switch (receive(pdu, quiet)) {
    case RecvStatus::kTimeout:
      return testing::AssertionSuccess();
    case RecvStatus::kClosed:
      return testing::AssertionFailure() << "connection closed instead of staying silent";
    case RecvStatus::kPdu:
      break;
  }
  return testing::AssertionFailure() << "unexpected " << pdu.describe();
}

testing::AssertionResult RawIscsi::expect_closed(Millis timeout, std::vector<RawPdu>* seen) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    RawPdu pdu;
    switch (receive(pdu, Millis(remaining_ms(deadline)))) {
      case RecvStatus::kClosed:
        close();
        return testing::AssertionSuccess();
      case RecvStatus::kTimeout:
        return testing::AssertionFailure()
               << "connection still open after " << timeout.count() << " ms";
      case RecvStatus::kPdu:
        if (seen != nullptr) seen->push_back(std::move(pdu));
        break;
    }
  }
}

testing::AssertionResult RawIscsi::login_step(const RawLoginParams& p, uint8_t flags, uint32_t itt,
                                              const std::vector<uint8_t>& text, RawPdu& response) {
  // RFC 7143 11.12: Login Requests are immediate and carry the session's first CmdSN.
  Bhs b;
  b.set_opcode(Opcode::kLoginRequest, true);
  b.bytes[1] = flags;
  b.bytes[2] = 0;  // Version-max
  b.bytes[3] = p.version_min;
  b.set_data_segment_length(uint32_t(text.size()));
  base::store_be48(&b.bytes[8], p.isid);
  base::store_be16(&b.bytes[14], tsih_ != 0 ? tsih_ : p.tsih);
  b.set_itt(itt);
  base::store_be16(&b.bytes[20], 0);  // CID
  b.set32(24, cmd_sn_);
  b.set32(28, exp_stat_sn_);
  auto sent = send(b, text);
  if (!sent) return sent;
  return expect(Opcode::kLoginResponse, response);
}

testing::AssertionResult RawIscsi::login_first(const RawLoginParams& p, RawPdu& response) {
  std::vector<uint8_t> text;
  if (!p.initiator.empty()) iscsi::append_key(text, "InitiatorName", p.initiator);
  if (!p.discovery && !p.target.empty()) iscsi::append_key(text, "TargetName", p.target);
  iscsi::append_key(text, "SessionType", p.discovery ? "Discovery" : "Normal");
  iscsi::append_key(text, "AuthMethod", "None");
  return login_step(p, login_flags(iscsi::kStageSecurity, iscsi::kStageOperational), next_itt(),
                    text, response);
}

testing::AssertionResult RawIscsi::login(const RawLoginParams& p) {
  RawPdu r;
  auto ok = login_first(p, r);
  if (!ok) return ok;
  if (r.login_status() != 0 || (r.bhs.flags() & kLoginTransit) == 0) {
    return testing::AssertionFailure()
           << "security stage: status " << hex(r.login_status()) << ", " << r.describe();
  }
  ok = login_step(p, login_flags(iscsi::kStageOperational, iscsi::kStageFullFeature), next_itt(),
                  operational_text(p), r);
  if (!ok) return ok;
  if (r.login_status() != 0 || (r.bhs.flags() & 0x83) != 0x83) {
    return testing::AssertionFailure() << "operational stage: status " << hex(r.login_status())
                                       << ", " << r.describe() << ": " << r.text();
  }
  tsih_ = r.bhs.tsih();
  const auto keys = iscsi::parse_text(r.data);
  if (!keys) return testing::AssertionFailure() << "unparsable login text: " << r.text();
  for (const iscsi::KeyValue& kv : *keys) {
    if (kv.key == "MaxRecvDataSegmentLength") target_mrdsl_ = uint32_t(std::stoul(kv.value));
    if (kv.key == "DataDigest") data_digest_ = kv.value == "CRC32C";
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult RawIscsi::login_discovery(uint32_t max_recv_data_segment_length) {
  RawLoginParams p;
  p.discovery = true;
  p.max_recv_data_segment_length = max_recv_data_segment_length;
  return login(p);
}

Bhs RawIscsi::scsi_command(std::span<const uint8_t> cdb, uint32_t itt, uint32_t cmd_sn,
                           uint32_t edtl, bool read, bool write, uint32_t immediate_length,
                           uint16_t lun) const {
  Bhs b;
  b.set_opcode(Opcode::kScsiCommand);
  b.bytes[1] = uint8_t(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01);  // F, R, W, SIMPLE
  b.set_data_segment_length(immediate_length);
  b.set_lun(lun_field(lun));
  b.set_itt(itt);
  b.set32(20, edtl);
  b.set32(24, cmd_sn);
  b.set32(28, exp_stat_sn_);
  std::copy_n(cdb.begin(), std::min<size_t>(cdb.size(), 16), b.bytes.begin() + 32);
  return b;
}

Bhs RawIscsi::data_out(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset,
                       uint32_t length, bool final_pdu, uint16_t lun) const {
  Bhs b;
  b.set_opcode(Opcode::kDataOut);
  b.bytes[1] = final_pdu ? 0x80 : 0;
  b.set_data_segment_length(length);
  b.set_lun(lun_field(lun));
  b.set_itt(itt);
  b.set32(20, ttt);
  b.set32(28, exp_stat_sn_);
  b.set32(36, data_sn);
  b.set32(40, offset);
  return b;
}

Bhs RawIscsi::nop_out(uint32_t itt, uint32_t ttt, uint32_t length) const {
  Bhs b;
  b.set_opcode(Opcode::kNopOut, true);
  b.bytes[1] = 0x80;
  b.set_data_segment_length(length);
  b.set_itt(itt);
  b.set32(20, ttt);
  b.set32(24, cmd_sn_);  // immediate: the next CmdSN, not consumed (RFC 7143 11.18)
  b.set32(28, exp_stat_sn_);
  return b;
}

Bhs RawIscsi::text_request(uint32_t itt, uint32_t ttt, uint32_t cmd_sn, uint32_t length) const {
  Bhs b;
  b.set_opcode(Opcode::kTextRequest);
  b.bytes[1] = 0x80;  // F, C=0
  b.set_data_segment_length(length);
  b.set_itt(itt);
  b.set32(20, ttt);
  b.set32(24, cmd_sn);
  b.set32(28, exp_stat_sn_);
  return b;
}

Bhs RawIscsi::logout_request(uint32_t itt, uint32_t cmd_sn, uint8_t reason) const {
  Bhs b;
  b.set_opcode(Opcode::kLogoutRequest, true);
  b.bytes[1] = uint8_t(0x80 | reason);
  b.set_itt(itt);
  base::store_be16(&b.bytes[20], 0);  // CID
  b.set32(24, cmd_sn);
  b.set32(28, exp_stat_sn_);
  return b;
}

testing::AssertionResult RawIscsi::scsi(std::span<const uint8_t> cdb, uint32_t edtl,
                                        RawScsiResult& out) {
  const uint32_t itt = next_itt();
  auto sent = send(scsi_command(cdb, itt, take_cmd_sn(), edtl, edtl > 0, false));
  if (!sent) return sent;
  out = RawScsiResult{};
  while (true) {
    RawPdu pdu;
    if (receive(pdu, Millis(5000)) != RecvStatus::kPdu) {
      return testing::AssertionFailure() << "no answer to SCSI command " << hex(cdb[0]);
    }
    if (pdu.opcode() == Opcode::kNopIn && pdu.bhs.itt() == kReservedTag) continue;
    if (pdu.bhs.itt() != itt) {
      return testing::AssertionFailure() << "unexpected " << pdu.describe();
    }
    if (pdu.opcode() == Opcode::kDataIn) {
      out.data_in.insert(out.data_in.end(), pdu.data.begin(), pdu.data.end());
      if ((pdu.bhs.flags() & 0x01) == 0) continue;
      out.status = pdu.scsi_status();
      return testing::AssertionSuccess();
    }
    if (pdu.opcode() != Opcode::kScsiResponse) {
      return testing::AssertionFailure() << "unexpected " << pdu.describe();
    }
    if (pdu.response() != 0) {
      return testing::AssertionFailure() << "iSCSI response " << hex(pdu.response());
    }
    out.status = pdu.scsi_status();
    if (pdu.data.size() >= 2) {
      // RFC 7143 11.4.7: SenseLength, then the sense data.
      const size_t len = std::min<size_t>(base::load_be16(pdu.data.data()), pdu.data.size() - 2);
      out.sense.assign(pdu.data.begin() + 2, pdu.data.begin() + 2 + long(len));
    }
    return testing::AssertionSuccess();
  }
}

testing::AssertionResult RawIscsi::clear_unit_attention() {
  constexpr std::array<uint8_t, 6> kTestUnitReady{};
  for (int attempt = 0; attempt < 4; ++attempt) {
    RawScsiResult r;
    auto ok = scsi(kTestUnitReady, 0, r);
    if (!ok) return ok;
    if (r.status == 0) return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "TEST UNIT READY never returned GOOD";
}

testing::AssertionResult RawIscsi::ping(std::string_view payload) {
  const uint32_t itt = next_itt();
  const std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size());
  auto sent = send(nop_out(itt, kReservedTag, uint32_t(data.size())), data);
  if (!sent) return sent;
  const auto deadline = Clock::now() + Millis(5000);
  while (true) {
    RawPdu pdu;
    auto got = expect(Opcode::kNopIn, pdu, Millis(remaining_ms(deadline)));
    if (!got) return got;
    if (pdu.bhs.itt() == kReservedTag) continue;  // a window update or a ping of the target's
    if (pdu.bhs.itt() != itt || pdu.ttt() != kReservedTag) {
      return testing::AssertionFailure() << "NOP-In does not answer ours: " << pdu.describe();
    }
    if (pdu.text() != payload) {
      return testing::AssertionFailure()
             << "NOP-In echoed '" << pdu.text() << "', sent '" << payload << "'";
    }
    return testing::AssertionSuccess();
  }
}

}  // namespace stgt::functional
