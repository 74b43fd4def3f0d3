// LUN masking and initiator groups through the real daemon: what each initiator sees
// (REPORT LUNS, the LU behind each LUN, write protection of a read-only map entry), address
// rules, default deny, and a live map change reaching a logged-in session.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <set>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr const char* kOther = "iqn.2026-11.org.stgt.test:someone-else";
constexpr const char* kStranger = "iqn.2026-11.org.stgt.test:stranger";

std::set<uint32_t> report_luns(IscsiSession& s) {
  std::set<uint32_t> out;
  scsi_task* t = iscsi_reportluns_sync(s.get(), 0, 4096);
  if (t == nullptr || t->status != SCSI_STATUS_GOOD) return out;
  auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(t));
  for (uint32_t i = 0; list != nullptr && i < list->num; ++i) out.insert(list->luns[i]);
  scsi_free_scsi_task(t);
  return out;
}

// Clears pending unit attentions on `lun`.
void settle(IscsiSession& s, uint32_t lun) {
  for (int i = 0; i < 4; ++i) {
    scsi_task* t = iscsi_testunitready_sync(s.get(), int(lun));
    const bool good = t != nullptr && t->status == SCSI_STATUS_GOOD;
    if (t != nullptr) scsi_free_scsi_task(t);
    if (good) return;
  }
}

// WRITE(10) of one block at LBA 0 of `lun`; returns the sense key (0 = GOOD).
int write_block(IscsiSession& s, uint32_t lun, uint8_t fill) {
  std::vector<uint8_t> data(512, fill);
  scsi_task* t = iscsi_write10_sync(s.get(), int(lun), 0, data.data(), 512, 512, 0, 0, 0, 0, 0);
  if (t == nullptr) return -1;
  const int key = t->status == SCSI_STATUS_GOOD ? 0 : int(t->sense.key);
  scsi_free_scsi_task(t);
  return key;
}

int read_first_byte(IscsiSession& s, uint32_t lun) {
  scsi_task* t = iscsi_read10_sync(s.get(), int(lun), 0, 512, 512, 0, 0, 0, 0, 0);
  if (t == nullptr || t->status != SCSI_STATUS_GOOD || t->datain.size < 1) return -1;
  const int b = t->datain.data[0];
  scsi_free_scsi_task(t);
  return b;
}

class LunMaskingTest : public StgtdTest {
 protected:
  // LUs 1, 2, 3. Group "db" (our initiator, from 127.0.0.0/8) sees LU 2 as LUN 0
  // (read-only) and LU 3 as LUN 1; `kOther` sees every LUN; a group for 10.0.0.0/8 admits
  // nobody here; everyone else is refused.
  void SetUp() override {
    StgtdTest::SetUp();
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20, 1),
                                           StgtdProcess::memory_lun(1 << 20, 2),
                                           StgtdProcess::memory_lun(1 << 20, 3)});
    c.groups = {{.name = "db", .initiators = {kInitiatorIqn}, .addresses = {"127.0.0.0/8"}},
                {.name = "elsewhere", .addresses = {"10.0.0.0/8"}}};
    c.targets[0].acls = {
        {.group = "elsewhere"},
        {.group = "db", .maps = {{.lun = 0, .lu = 2, .read_only = true}, {.lun = 1, .lu = 3}}},
        {.initiator = kOther}};
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }
};

TEST_F(LunMaskingTest, EachInitiatorSeesItsOwnMap) {
  IscsiSession mine;
  ASSERT_TRUE(mine.login(stgtd_.portal(), kTargetIqn, 1));
  settle(mine, 0);
  EXPECT_EQ(report_luns(mine), (std::set<uint32_t>{0, 1}));
  IscsiSession other(kOther);
  ASSERT_TRUE(other.login(stgtd_.portal(), kTargetIqn, 1));
  for (uint32_t lun : {0u, 2u, 3u}) settle(other, lun);
  EXPECT_EQ(report_luns(other), (std::set<uint32_t>{0, 1, 2, 3}));  // 0: the controller

  // Our LUN 1 is the target's LU 3: what we write there, the other initiator reads at LUN 3.
  EXPECT_EQ(write_block(mine, 1, 0x5a), 0);
  EXPECT_EQ(read_first_byte(other, 3), 0x5a);
  // Our LUN 0 is LU 2, mapped read-only: DATA PROTECT for us, writable for the other.
  EXPECT_EQ(write_block(mine, 0, 0x11), SCSI_SENSE_DATA_PROTECTION);
  EXPECT_EQ(write_block(other, 2, 0x22), 0);
  EXPECT_EQ(read_first_byte(mine, 0), 0x22);
  // LU 1 is not in our map at all.
  scsi_task* t = iscsi_testunitready_sync(mine.get(), 2);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->sense.ascq, SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED);
  scsi_free_scsi_task(t);
}

TEST_F(LunMaskingTest, DefaultDenyAndDiscoveryFollowTheRules) {
  IscsiSession stranger(kStranger);
  EXPECT_FALSE(stranger.login(stgtd_.portal(), kTargetIqn, 1));
  IscsiSession look(kStranger);
  std::vector<std::string> targets;
  ASSERT_TRUE(look.discover(stgtd_.portal(), targets));
  EXPECT_TRUE(targets.empty());
  IscsiSession mine;
  ASSERT_TRUE(mine.discover(stgtd_.portal(), targets));
  EXPECT_EQ(targets, std::vector<std::string>{kTargetIqn});
}

TEST_F(LunMaskingTest, AddressRulesExcludeOtherNetworks) {
  // Only "elsewhere" would admit the stranger's name-less rule, and 127.0.0.1 is not in it.
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20, 1)});
  c.groups = {{.name = "elsewhere", .addresses = {"10.0.0.0/8", "fd00::/8"}}};
  c.targets[0].acls = {{.group = "elsewhere"}};
  stgtd_.write_config(c);
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start());
  IscsiSession s(kStranger);
  EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn, 1));
  c.groups[0].addresses.push_back("127.0.0.1");
  stgtd_.write_config(c);
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start());
  IscsiSession again(kStranger);
  EXPECT_TRUE(again.login(stgtd_.portal(), kTargetIqn, 1));
}

}  // namespace
}  // namespace stgt::functional
