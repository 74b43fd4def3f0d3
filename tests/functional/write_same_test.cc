// WRITE SAME through stgtd on file LUs. Zeros on a fully provisioned LU (VMware's block
// zeroing) are zeroed in place by the store: the range reads back as zeros, the blocks
// around it keep their data, and the image keeps its blocks allocated (nothing deallocated,
// unlike WRITE SAME with UNMAP on a thin LU, which releases them). A whole-LU zeroing of a
// 1 GiB LU, 65535 blocks per command, completes and reads back zeros; a non-zero pattern is written as before.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;

uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_blocks) * 512 : 0;
}

// WRITE SAME (16) of one block `block` over [lba, lba + blocks); the SCSI status.
int write_same16(IscsiSession& s, uint64_t lba, uint32_t blocks, Bytes block, bool unmap = false) {
  scsi_task* t = iscsi_writesame16_sync(s.get(), 1, lba, block.data(), uint32_t(block.size()),
                                        blocks, 0, unmap ? 1 : 0, 0, 0);
  if (t == nullptr) return -1;
  const int status = t->status;
  scsi_free_scsi_task(t);
  return status;
}

Bytes slice(const Bytes& b, uint64_t from_block, uint64_t blocks) {
  return Bytes(b.begin() + ptrdiff_t(from_block * kBlockSize),
               b.begin() + ptrdiff_t((from_block + blocks) * kBlockSize));
}

class WriteSameTest : public StgtdTest {
 protected:
  void start(uint64_t size, const std::string& provisioning) {
    config::LunConfig lun = stgtd_.file_lun(size, 1);
    lun.provisioning = provisioning;
    stgtd_.write_config(stgtd_.base_config({lun}));
    ASSERT_TRUE(stgtd_.start());
    ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
  }
  void TearDown() override {
    EXPECT_TRUE(s_.logout());
    StgtdTest::TearDown();
  }
  std::string image() const { return stgtd_.dir() + "/lun1.img"; }

  IscsiSession s_;
};

TEST_F(WriteSameTest, ZerosOnAFullyProvisionedLuKeepTheBlocksAndTheNeighbours) {
  start(64 << 20, "thick");
  const Bytes data = make_pattern(7, 16 << 20);  // 32768 blocks
  ASSERT_TRUE(s_.write(0, data));
  ASSERT_EQ(send_cdb(s_, {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}).status, SCSI_STATUS_GOOD);
  const uint64_t before = allocated_bytes(image());
  ASSERT_GE(before, uint64_t(16) << 20);

  ASSERT_EQ(write_same16(s_, 4096, 16384, Bytes(kBlockSize, 0)), SCSI_STATUS_GOOD);
  ASSERT_EQ(send_cdb(s_, {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}).status, SCSI_STATUS_GOOD);
  Bytes back;
  ASSERT_TRUE(s_.read(0, data.size(), back));
  EXPECT_EQ(slice(back, 0, 4096), slice(data, 0, 4096));
  EXPECT_EQ(slice(back, 4096, 16384), Bytes(size_t(16384) * kBlockSize, 0));
  EXPECT_EQ(slice(back, 20480, 12288), slice(data, 20480, 12288));
  // Fully provisioned: the zeroed range keeps its blocks.
  EXPECT_GE(allocated_bytes(image()), before);

  // A pattern that is not zeros is written as such.
  Bytes ones(kBlockSize, 0xa5);
  ASSERT_EQ(write_same16(s_, 8000, 16, ones), SCSI_STATUS_GOOD);
  ASSERT_TRUE(s_.read(7999, 18 * kBlockSize, back));
  EXPECT_EQ(slice(back, 0, 1), Bytes(kBlockSize, 0));
  for (uint64_t b = 1; b <= 16; ++b) EXPECT_EQ(slice(back, b, 1), ones) << b;
  EXPECT_EQ(slice(back, 17, 1), Bytes(kBlockSize, 0));
}

TEST_F(WriteSameTest, ZeroingAWholeLuReadsBackZeros) {
  constexpr uint64_t kSize = uint64_t(1) << 30;
  start(kSize, "thick");
  const Bytes head = make_pattern(3, 1 << 20);
  ASSERT_TRUE(s_.write(0, head));
  ASSERT_TRUE(s_.write((kSize >> 9) - 2048, head));
  // As an eager-zeroing hypervisor does: MAXIMUM WRITE SAME LENGTH (65535 blocks) at a time.
  const uint64_t blocks = kSize >> 9;
  for (uint64_t lba = 0; lba < blocks; lba += 65535) {
    ASSERT_EQ(write_same16(s_, lba, uint32_t(std::min<uint64_t>(65535, blocks - lba)),
                           Bytes(kBlockSize, 0)),
              SCSI_STATUS_GOOD)
        << lba;
  }
  for (const uint64_t lba : {uint64_t(0), uint64_t(1000), (kSize >> 9) - 2048}) {
    Bytes back;
    ASSERT_TRUE(s_.read(lba, 1 << 20, back));
    EXPECT_EQ(back, Bytes(1 << 20, 0)) << lba;
  }
}

// On a thin LU, WRITE SAME with UNMAP releases the blocks (the contrast to the above).
TEST_F(WriteSameTest, UnmapOnAThinLuReleasesTheBlocks) {
  start(64 << 20, "thin");
  ASSERT_TRUE(s_.write(0, make_pattern(9, 8 << 20)));
  ASSERT_EQ(send_cdb(s_, {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}).status, SCSI_STATUS_GOOD);
  const uint64_t before = allocated_bytes(image());
  ASSERT_EQ(write_same16(s_, 0, 8192, Bytes(kBlockSize, 0), /*unmap=*/true), SCSI_STATUS_GOOD);
  EXPECT_LE(allocated_bytes(image()), before - (4u << 20));
  Bytes back;
  ASSERT_TRUE(s_.read(0, 4 << 20, back));
  EXPECT_EQ(back, Bytes(4 << 20, 0));
}

}  // namespace
}  // namespace stgt::functional
