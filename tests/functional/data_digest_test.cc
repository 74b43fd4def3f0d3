// Data digests (RFC 7143 13.1, DataDigest=CRC32C) on Data-Out: stgtd checks the CRC32C of
// every data segment it receives, whether the segment was copied out of the reactor's receive
// buffers or received straight into the command's buffers (--direct-receive=on), and a wrong
// digest keeps the data from the store and drops the connection (ErrorRecoveryLevel 0).
#include <chrono>
#include <thread>

#include "base/byte_order.h"
#include "base/crc32c.h"
#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using namespace std::chrono_literals;
using iscsi::Opcode;

constexpr uint64_t kLunSize = 16ull << 20;

class DataDigestTest : public StgtdTest, public testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
    ASSERT_TRUE(
        stgtd_.start({"--io-backend", "uring", "--direct-receive", GetParam() ? "on" : "off"}));
  }

  testing::AssertionResult login(RawIscsi& raw) {
    auto ok = raw.connect(stgtd_.port());
    if (!ok) return ok;
    RawLoginParams p;
    p.data_digest = true;
    p.first_burst_length = 262144;
    p.max_burst_length = 262144;
    ok = raw.login(p);
    if (!ok) return ok;
    return raw.clear_unit_attention();
  }

  // WRITE(10) of `data` at `lba`, all of it immediate data, sent in pieces with pauses so
  // that the target sees the segment arrive while it waits for the rest. `digest_xor`
  // spoils the data digest.
  testing::AssertionResult write(RawIscsi& raw, uint32_t lba, const std::vector<uint8_t>& data,
                                 uint32_t digest_xor = 0) {
    std::array<uint8_t, 10> cdb{};
    cdb[0] = 0x2a;
    base::store_be32(&cdb[2], lba);
    base::store_be16(&cdb[7], uint16_t(data.size() / kBlockSize));
    const iscsi::Bhs bhs =
        raw.scsi_command(cdb, raw.next_itt(), raw.take_cmd_sn(), uint32_t(data.size()), false, true,
                         uint32_t(data.size()));
    std::array<uint8_t, 4> digest{};
    const uint32_t crc =
        base::crc32c_finish(base::crc32c_update(base::crc32c_begin(), data.data(), data.size())) ^
        digest_xor;
    for (size_t i = 0; i < 4; ++i)
      digest[i] = uint8_t(crc >> (8 * i));  // little-endian on the wire, like the header's
    std::vector<uint8_t> first(bhs.bytes.begin(), bhs.bytes.end());
    first.insert(first.end(), data.begin(), data.begin() + 1000);
    auto ok = raw.send_bytes(first);
    if (!ok) return ok;
    std::this_thread::sleep_for(5ms);
    ok = raw.send_bytes(std::span(data).subspan(1000));
    if (!ok) return ok;
    std::this_thread::sleep_for(1ms);
    return raw.send_bytes(digest);
  }
};

TEST_P(DataDigestTest, GoodDigestsCarryDataIntact) {
  RawIscsi raw;
  ASSERT_TRUE(login(raw));
  ASSERT_GE(raw.target_max_recv_data_segment_length(), 65536u);
  const uint32_t len = std::min<uint32_t>(raw.target_max_recv_data_segment_length(), 262144);
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(write(raw, i * 1024, make_pattern(40 + i, len)));
    RawPdu r;
    ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r));
    EXPECT_EQ(r.scsi_status(), 0) << r.describe();
  }
  IscsiSession reader;
  ASSERT_TRUE(reader.login(stgtd_.portal(), kTargetIqn));
  for (uint32_t i = 0; i < 8; ++i) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(reader.read(i * 1024, len, data));
    EXPECT_TRUE(data == make_pattern(40 + i, len)) << "write " << i;
  }
}

TEST_P(DataDigestTest, WrongDigestKeepsTheDataFromTheStore) {
  RawIscsi raw;
  ASSERT_TRUE(login(raw));
  const uint32_t len = std::min<uint32_t>(raw.target_max_recv_data_segment_length(), 262144);
  ASSERT_TRUE(write(raw, 2048, make_pattern(1, len)));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r));
  ASSERT_TRUE(write(raw, 2048, make_pattern(2, len), 0x10));
  ASSERT_TRUE(raw.expect_closed(5000ms));
  IscsiSession reader;
  ASSERT_TRUE(reader.login(stgtd_.portal(), kTargetIqn));
  std::vector<uint8_t> data;
  ASSERT_TRUE(reader.read(2048, len, data));
  EXPECT_TRUE(data == make_pattern(1, len));
  EXPECT_NE(stgtd_.log().find("data digest mismatch"), std::string::npos) << stgtd_.log();
}

INSTANTIATE_TEST_SUITE_P(DirectReceive, DataDigestTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& p) {
                           return p.param ? "On" : "Off";
                         });

}  // namespace
}  // namespace stgt::functional
