// A thin LU whose file system fills up. The image lives on a small tmpfs mounted for the
// test (root only; skipped otherwise): writes past the free space fail with DATA PROTECT,
// SPACE ALLOCATION FAILED WRITE PROTECT (27/07), what VMware and Windows take as "out of
// space, pause" rather than a broken disk; the session stays up, what was written before
// reads back intact, and once UNMAP has given blocks back, writes succeed again. On both
// reactor backends.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kFsBytes = 8 << 20;     // the tmpfs
constexpr uint64_t kLunBytes = 64 << 20;   // the thin LU on it
constexpr size_t kChunk = 1 << 20;         // one WRITE (16)

struct Outcome {
  int status = -1;
  int key = 0;
  int ascq = 0;  // asc << 8 | ascq
};

Outcome write16(IscsiSession& s, uint64_t lba, Bytes data) {
  scsi_task* t = iscsi_write16_sync(s.get(), 1, lba, data.data(), uint32_t(data.size()),
                                    kBlockSize, 0, 0, 0, 0, 0);
  Outcome o;
  if (t == nullptr) return o;
  o = {t->status, t->sense.key, t->sense.ascq};
  scsi_free_scsi_task(t);
  return o;
}

class OutOfSpaceTest : public StgtdTest, public testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    mount_ = stgtd_.dir() + "/small";
    ASSERT_EQ(::mkdir(mount_.c_str(), 0755), 0);
    const std::string options = "size=" + std::to_string(kFsBytes);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (logged_in_) {
      EXPECT_TRUE(s_.logout());
    }
    StgtdTest::TearDown();  // stops stgtd, which holds the image open
    if (mounted_) {
      EXPECT_EQ(::umount2(mount_.c_str(), MNT_DETACH), 0);
    }
  }

  std::string mount_;
  bool mounted_ = false;
  bool logged_in_ = false;
  IscsiSession s_;
};

TEST_P(OutOfSpaceTest, WritesPastTheFreeSpaceAreSpaceAllocationFailedUntilUnmapFreesSome) {
  config::LunConfig lun = stgtd_.file_lun(kLunBytes, 1);
  lun.path = mount_ + "/thin.img";
  lun.provisioning = "thin";
  config::Config config = stgtd_.base_config({lun});
  config.daemon.io_backend = GetParam();
  stgtd_.write_config(config);
  ASSERT_TRUE(stgtd_.start());
  ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
  logged_in_ = true;

  // Fill: 1 MiB at a time until the file system is full (at most the LU's size).
  uint64_t written = 0;
  Outcome failed;
  for (uint64_t at = 0; at < kLunBytes; at += kChunk) {
    const Outcome o = write16(s_, at / kBlockSize, make_pattern(at, kChunk));
    if (o.status != SCSI_STATUS_GOOD) {
      failed = o;
      break;
    }
    written += kChunk;
  }
  ASSERT_LT(written, kFsBytes + kChunk) << "the tmpfs never filled up";
  ASSERT_GE(written, 2 * kChunk);
  EXPECT_EQ(failed.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(failed.key, SCSI_SENSE_DATA_PROTECTION);
  EXPECT_EQ(failed.ascq, 0x2707);  // SPACE ALLOCATION FAILED WRITE PROTECT

  // The session is fine and the data written before is intact.
  for (uint64_t at = 0; at < written; at += kChunk) {
    Bytes back;
    ASSERT_TRUE(s_.read(at / kBlockSize, kChunk, back));
    EXPECT_EQ(back, make_pattern(at, kChunk)) << at;
  }

  // UNMAP the first 2 MiB: the tmpfs gets those pages back, and the write that failed
  // now succeeds.
  Bytes list(8 + 16, 0);
  list[1] = 22;
  list[3] = 16;
  list[8 + 8 + 2] = uint8_t((2 * kChunk / kBlockSize) >> 8);  // 4096 blocks from LBA 0
  const ScsiReply unmapped =
      send_cdb(s_, {0x42, 0, 0, 0, 0, 0, 0, 0, uint8_t(list.size()), 0}, list);
  ASSERT_EQ(unmapped.status, SCSI_STATUS_GOOD);
  const Outcome again = write16(s_, written / kBlockSize, make_pattern(written, kChunk));
  EXPECT_EQ(again.status, SCSI_STATUS_GOOD) << std::hex << again.key << " " << again.ascq;
  Bytes back;
  ASSERT_TRUE(s_.read(written / kBlockSize, kChunk, back));
  EXPECT_EQ(back, make_pattern(written, kChunk));
  ASSERT_TRUE(s_.read(0, kChunk, back));
  EXPECT_EQ(back, Bytes(kChunk, 0));
}

INSTANTIATE_TEST_SUITE_P(Backends, OutOfSpaceTest, testing::Values("uring", "epoll"),
                         [](const testing::TestParamInfo<const char*>& i) {
                           return std::string(i.param);
                         });

}  // namespace
}  // namespace stgt::functional
