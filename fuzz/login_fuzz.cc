// libFuzzer target: login and text negotiation (transport/iscsi login.cc, params.cc, text.cc,
// chap.cc, discovery.cc) fed key=value data segments, without sockets.
//
// Input: a first byte choosing the policy (bit 0: the target requires CHAP; bit 1: mutual
// CHAP offered; bit 2: discovery requires CHAP; bit 3: admit() refuses), then Login Request
// records
//   u8   bits 0-1 CSG, 2-3 NSG, 4 T, 5 C, 6 TSIH != 0, 7 VersionMin 1
//   u16  data segment length, then the data segment (key=value\0 ...)
// Each record goes through one LoginMachine (until it fails or completes) and, as the
// request of a full feature phase Text PDU, through handle_text_request() for a normal and a
// discovery session; every value is also read as a number and as a binary value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "transport/iscsi/chap.h"
#include "transport/iscsi/discovery.h"
#include "transport/iscsi/login.h"
#include "transport/iscsi/text.h"
#include "fuzz/fuzz_target.h"

using namespace stgt;
using namespace stgt::iscsi;

namespace {

constexpr char kTarget[] = "iqn.2024-01.org.stgt:fuzz";

class Context final : public LoginContext {
 public:
  LoginStatus admit(const LoginIdentity& who) override {
    verdict = LoginStatus::kSuccess;
    if (refuse) {
      verdict = LoginStatus::kAuthorizationFailure;
    } else if (who.type == SessionType::kNormal && who.target_name != kTarget) {
      verdict = LoginStatus::kNotFound;
    }
    return verdict;
  }
  std::string target_alias(const std::string&) override { return "fuzz"; }
  uint16_t portal_group_tag() override { return 1; }
  TargetLimits limits() override { return TargetLimits{}; }
  bool conceal_targets() override { return conceal; }
  bool refuse = false;
  bool conceal = false;
  LoginStatus verdict = LoginStatus::kSuccess;
};

std::vector<DiscoveredTarget> targets() {
  return {{kTarget, {{"192.0.2.1", 3260, 1}, {"2001:db8::1", 3260, 2}}},
          {"iqn.2024-01.org.stgt:other", {{"192.0.2.2", 3261, 1}}}};
}

void text_phase(std::span<const uint8_t> segment) {
  for (const SessionType type : {SessionType::kNormal, SessionType::kDiscovery}) {
    TextSession session;
    session.type = type;
    if (type == SessionType::kNormal) session.target_name = kTarget;
    auto r = handle_text_request(segment, session, targets);
    if (r && parse_text(r->data, size_t(1) << 20).ok() == false) {
      std::fprintf(stderr, "a Text response that does not parse\n");
      std::abort();
    }
  }
  auto pairs = parse_text(segment);
  if (!pairs) return;
  for (const KeyValue& kv : *pairs) {
    (void)parse_number(kv.value);
    (void)decode_binary_value(kv.value);
    (void)is_valid_key_name(kv.key);
  }
  // What we encode must parse back the same.
  const std::vector<uint8_t> encoded = encode_text(*pairs);
  auto back = parse_text(encoded, size_t(1) << 20);
  if (!back || *back != *pairs) {
    std::fprintf(stderr, "encode_text does not round-trip\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  fuzz::Cursor in(data, size);
  const uint8_t policy_bits = in.u8();
  ChapPolicy policy;
  policy.incoming.push_back({"alice", "alice-secret-12"});
  if ((policy_bits & 2) != 0) policy.outgoing = ChapAccount{"target", "target-secret-12"};
  ChapAuthenticator chap([policy_bits, policy](const LoginIdentity& who) -> std::optional<ChapPolicy> {
    if (who.type == SessionType::kDiscovery) {
      return (policy_bits & 4) != 0 ? std::optional<ChapPolicy>(policy) : std::nullopt;
    }
    return (policy_bits & 1) != 0 ? std::optional<ChapPolicy>(policy) : std::nullopt;
  });
  Context context;
  context.refuse = (policy_bits & 8) != 0;
  context.conceal = (policy_bits & 16) != 0;
  LoginMachine login(context, &chap);

  for (int records = 0; !in.empty() && records < 80; ++records) {
    const uint8_t h = in.u8();
    const auto segment = in.bytes(in.u16());
    if (!login.failed() && !login.complete()) {
      LoginRequest req;
      req.csg = h & 3;
      req.nsg = (h >> 2) & 3;
      req.transit = (h & 0x10) != 0;
      req.cont = (h & 0x20) != 0;
      req.tsih = (h & 0x40) != 0 ? 1 : 0;
      req.version_min = (h & 0x80) != 0 ? 1 : 0;
      req.isid = 0x23d000000001ull;
      req.cid = 1;
      req.itt = uint32_t(records);
      req.cmd_sn = 1;
      req.data = segment;
      const LoginResponse resp = login.step(req);
      if (!parse_text(resp.data, size_t(1) << 20)) {
        std::fprintf(stderr, "a Login response that does not parse\n");
        std::abort();
      }
      if (resp.complete && !resp.status.ok()) {
        std::fprintf(stderr, "login complete with a failure status\n");
        std::abort();
      }
      // A refused login never reaches the full feature phase, concealed or not.
      if (resp.complete && !context.verdict.ok()) {
        std::fprintf(stderr, "a refused login completed\n");
        std::abort();
      }
    }
    text_phase(segment);
  }
  return 0;
}
