// Login, the first commands every initiator sends, and logout.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 64ull << 20;

class LoginTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
    ASSERT_TRUE(stgtd_.start());
  }
};

TEST_F(LoginTest, InquiryReportsADisk) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  scsi_task* task = iscsi_inquiry_sync(session.get(), 1, 0, 0, 255);
  ASSERT_NE(task, nullptr) << session.error();
  ASSERT_EQ(task->status, SCSI_STATUS_GOOD) << session.error();
  const auto* inq = static_cast<scsi_inquiry_standard*>(scsi_datain_unmarshall(task));
  ASSERT_NE(inq, nullptr);
  EXPECT_EQ(inq->qualifier, 0);
  EXPECT_EQ(inq->device_type, SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS);
  EXPECT_GE(inq->version, 5);  // SPC-3 or later
  EXPECT_EQ(inq->response_data_format, 2);
  scsi_free_scsi_task(task);
  EXPECT_TRUE(session.logout());
}

TEST_F(LoginTest, ReadCapacityMatchesTheConfig) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  scsi_task* task = iscsi_readcapacity16_sync(session.get(), 1);
  ASSERT_NE(task, nullptr) << session.error();
  ASSERT_EQ(task->status, SCSI_STATUS_GOOD) << session.error();
  const auto* rc16 = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(task));
  ASSERT_NE(rc16, nullptr);
  EXPECT_EQ(rc16->returned_lba, kLunSize / kBlockSize - 1);
  EXPECT_EQ(rc16->block_length, kBlockSize);
  scsi_free_scsi_task(task);

  task = iscsi_readcapacity10_sync(session.get(), 1, 0, 0);
  ASSERT_NE(task, nullptr) << session.error();
  ASSERT_EQ(task->status, SCSI_STATUS_GOOD) << session.error();
  const auto* rc10 = static_cast<scsi_readcapacity10*>(scsi_datain_unmarshall(task));
  ASSERT_NE(rc10, nullptr);
  EXPECT_EQ(rc10->lba, kLunSize / kBlockSize - 1);
  EXPECT_EQ(rc10->block_size, kBlockSize);
  scsi_free_scsi_task(task);
}

TEST_F(LoginTest, ReportLunsAndTestUnitReady) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  scsi_task* task = iscsi_testunitready_sync(session.get(), 1);
  ASSERT_NE(task, nullptr) << session.error();
  EXPECT_EQ(task->status, SCSI_STATUS_GOOD);
  scsi_free_scsi_task(task);
  task = iscsi_reportluns_sync(session.get(), 0, 16384);
  ASSERT_NE(task, nullptr) << session.error();
  ASSERT_EQ(task->status, SCSI_STATUS_GOOD);
  const auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(task));
  ASSERT_NE(list, nullptr);
  // LUN 0 is the controller LU that answers when no LU 0 is configured (so REPORT LUNS
  // always has a LUN to go to), then the configured LUN 1.
  ASSERT_EQ(list->num, 2u);
  EXPECT_EQ(list->luns[0], 0);
  EXPECT_EQ(list->luns[1], 1);
  scsi_free_scsi_task(task);
  task = iscsi_inquiry_sync(session.get(), 0, 0, 0, 255);
  ASSERT_NE(task, nullptr) << session.error();
  ASSERT_EQ(task->status, SCSI_STATUS_GOOD);
  const auto* inq = static_cast<scsi_inquiry_standard*>(scsi_datain_unmarshall(task));
  ASSERT_NE(inq, nullptr);
  EXPECT_EQ(inq->device_type, SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_STORAGE_ARRAY_CONTROLLER);
  scsi_free_scsi_task(task);
}

TEST_F(LoginTest, LogoutThenLoginAgain) {
  for (int round = 0; round < 3; ++round) {
    IscsiSession session;
    ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn)) << "round " << round;
    std::vector<uint8_t> block;
    ASSERT_TRUE(session.read(0, kBlockSize, block));
    ASSERT_TRUE(session.logout()) << "round " << round;
  }
}

TEST_F(LoginTest, ReadBeyondTheEndIsRejected) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  scsi_task* task = iscsi_read16_sync(session.get(), 1, kLunSize / kBlockSize, kBlockSize,
                                      kBlockSize, 0, 0, 0, 0, 0);
  ASSERT_NE(task, nullptr) << session.error();
  EXPECT_EQ(task->status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(task->sense.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(task->sense.ascq, SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE);
  scsi_free_scsi_task(task);
}

}  // namespace
}  // namespace stgt::functional
