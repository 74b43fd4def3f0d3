#include "transport/iscsi/pdu.h"

#include <gtest/gtest.h>

namespace stgt::iscsi {
namespace {

SequenceNumbers sn() { return {0x11223344, 0x55667788, 0x99aabbcc}; }

TEST(PduTest, DecodesScsiCommandFields) {
  Bhs b;
  b.bytes[0] = 0x41;  // immediate SCSI Command
  b.bytes[1] = 0x80 | 0x40 | 0x02;  // F, R, ordered
  b.bytes[4] = 1;
  base::store_be24(&b.bytes[5], 0x012345);
  base::store_be64(&b.bytes[8], 0x0001000000000000ull);
  base::store_be32(&b.bytes[16], 0xdeadbeef);
  base::store_be32(&b.bytes[20], 4096);
  base::store_be32(&b.bytes[24], 7);
  base::store_be32(&b.bytes[28], 9);
  b.bytes[32] = 0x28;
  EXPECT_EQ(b.opcode(), Opcode::kScsiCommand);
  EXPECT_TRUE(b.immediate());
  EXPECT_TRUE(b.final_bit());
  EXPECT_TRUE(b.read_bit());
  EXPECT_FALSE(b.write_bit());
  EXPECT_EQ(b.task_attribute(), 2);
  EXPECT_EQ(b.total_ahs_length(), 1);
  EXPECT_EQ(b.data_segment_length(), 0x012345u);
  EXPECT_EQ(b.lun(), 0x0001000000000000ull);
  EXPECT_EQ(b.itt(), 0xdeadbeefu);
  EXPECT_EQ(b.expected_data_transfer_length(), 4096u);
  EXPECT_EQ(b.cmd_sn(), 7u);
  EXPECT_EQ(b.exp_stat_sn(), 9u);
  EXPECT_EQ(b.cdb()[0], 0x28);
}

TEST(PduTest, DecodesLoginRequest) {
  Bhs b;
  b.bytes[0] = 0x43;
  b.bytes[1] = 0x80 | (1 << 2) | 3;  // T, CSG=1, NSG=3
  base::store_be48(&b.bytes[8], 0x023d00000001ull);
  base::store_be16(&b.bytes[14], 0x1234);
  base::store_be16(&b.bytes[20], 5);
  EXPECT_EQ(b.opcode(), Opcode::kLoginRequest);
  EXPECT_TRUE(b.transit());
  EXPECT_EQ(b.csg(), 1);
  EXPECT_EQ(b.nsg(), 3);
  EXPECT_EQ(b.isid(), 0x023d00000001ull);
  EXPECT_EQ(b.tsih(), 0x1234);
  EXPECT_EQ(b.cid(), 5);
}

TEST(PduTest, ScsiResponseCarriesResidualOnlyWithAFlag) {
  ScsiResponseFields f;
  f.itt = 3;
  f.status = 0x02;
  f.underflow = true;
  f.residual = 512;
  f.data_segment_length = 20;
  Bhs b = make_scsi_response(f, sn());
  EXPECT_EQ(b.opcode(), Opcode::kScsiResponse);
  EXPECT_EQ(b.bytes[1], 0x82);
  EXPECT_EQ(b.bytes[3], 0x02);
  EXPECT_EQ(b.data_segment_length(), 20u);
  EXPECT_EQ(b.field32(24), 0x11223344u);
  EXPECT_EQ(b.field32(28), 0x55667788u);
  EXPECT_EQ(b.field32(32), 0x99aabbccu);
  EXPECT_EQ(b.field32(44), 512u);
  f.underflow = false;
  EXPECT_EQ(make_scsi_response(f, sn()).field32(44), 0u);
}

TEST(PduTest, DataInWithStatusSetsFinalAndStatSn) {
  DataInFields f;
  f.itt = 1;
  f.lun = 0x0001000000000000ull;
  f.data_sn = 4;
  f.buffer_offset = 8192;
  f.length = 4096;
  f.with_status = true;
  f.overflow = true;
  f.residual = 100;
  Bhs b = make_data_in(f, sn());
  EXPECT_EQ(b.opcode(), Opcode::kDataIn);
  EXPECT_EQ(b.bytes[1], 0x80 | 0x04 | 0x01);
  EXPECT_EQ(b.field32(20), kReservedTag);
  EXPECT_EQ(b.field32(24), 0x11223344u);
  EXPECT_EQ(b.field32(36), 4u);
  EXPECT_EQ(b.field32(40), 8192u);
  EXPECT_EQ(b.field32(44), 100u);
}

TEST(PduTest, DataInWithoutStatusHasNoStatSn) {
  DataInFields f;
  f.length = 10;
  f.final_pdu = true;
  Bhs b = make_data_in(f, sn());
  EXPECT_EQ(b.bytes[1], 0x80);
  EXPECT_EQ(b.field32(24), 0u);
  EXPECT_EQ(b.field32(28), 0x55667788u);
}

TEST(PduTest, R2tFields) {
  Bhs b = make_r2t({7, 0, 0x30, 2, 65536, 262144}, sn());
  EXPECT_EQ(b.opcode(), Opcode::kR2t);
  EXPECT_EQ(b.itt(), 7u);
  EXPECT_EQ(b.ttt(), 0x30u);
  EXPECT_EQ(b.field32(36), 2u);
  EXPECT_EQ(b.buffer_offset(), 65536u);
  EXPECT_EQ(b.field32(44), 262144u);
}

TEST(PduTest, LoginResponseHasNsgOnlyWhenTransiting) {
  LoginResponseFields f;
  f.csg = 1;
  f.nsg = 3;
  f.isid = 0x800000000001ull;
  f.tsih = 9;
  f.status_class = 2;
  f.status_detail = 3;
  Bhs b = make_login_response(f, sn());
  EXPECT_EQ(b.bytes[1], 1 << 2);
  f.transit = true;
  b = make_login_response(f, sn());
  EXPECT_EQ(b.bytes[1], 0x80 | 1 << 2 | 3);
  EXPECT_EQ(b.isid(), 0x800000000001ull);
  EXPECT_EQ(b.tsih(), 9);
  EXPECT_EQ(b.bytes[36], 2);
  EXPECT_EQ(b.bytes[37], 3);
}

TEST(PduTest, RejectAndLogoutAndNop) {
  Bhs r = make_reject(RejectReason::kProtocolError, 48, sn());
  EXPECT_EQ(r.opcode(), Opcode::kReject);
  EXPECT_EQ(r.bytes[2], 0x04);
  EXPECT_EQ(r.itt(), kReservedTag);
  EXPECT_EQ(r.data_segment_length(), 48u);
  Bhs l = make_logout_response(5, 0, 2, 20, sn());
  EXPECT_EQ(base::load_be16(&l.bytes[40]), 2);
  EXPECT_EQ(base::load_be16(&l.bytes[42]), 20);
  Bhs n = make_nop_in(kReservedTag, 77, 0, 0, sn());
  EXPECT_EQ(n.ttt(), 77u);
}

TEST(PduTest, SerialNumberArithmetic) {
  EXPECT_TRUE(sn_lt(1, 2));
  EXPECT_FALSE(sn_lt(2, 1));
  EXPECT_TRUE(sn_lt(0xffffffffu, 0));  // wraps
  EXPECT_TRUE(sn_le(5, 5));
  EXPECT_FALSE(sn_lt(5, 5));
  EXPECT_EQ(padded(0), 0u);
  EXPECT_EQ(padded(1), 4u);
  EXPECT_EQ(padded(4), 4u);
  EXPECT_EQ(padded(5), 8u);
}

}  // namespace
}  // namespace stgt::iscsi
