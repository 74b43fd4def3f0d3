// Live changes through the real stgtadm against a real stgtd: an LU resized in place (its
// sessions stay and every I_T nexus is told CAPACITY DATA HAS CHANGED; shrinking under
// sessions needs --force) and portals bound and unbound live (sessions on other portals left
// alone; removing a portal sessions use needs --force). Error paths: one sentence, exit status.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <nlohmann/json.hpp>

#include <string>

#include "base/unique_fd.h"
#include "iscsi_session.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Json = nlohmann::json;
constexpr int kCapacityDataChanged = 0x2a09;  // SPC-5 table F.2
constexpr const char* kOtherInitiator = "iqn.2026-11.org.stgt.test:other";

// READ CAPACITY (16): the LU's size in bytes, 0 on failure.
uint64_t capacity(IscsiSession& s, uint32_t lun) {
  scsi_task* t = iscsi_readcapacity16_sync(s.get(), int(lun));
  if (t == nullptr || t->status != SCSI_STATUS_GOOD) {
    if (t != nullptr) scsi_free_scsi_task(t);
    return 0;
  }
  auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
  const uint64_t bytes = rc == nullptr ? 0 : (rc->returned_lba + 1) * rc->block_length;
  scsi_free_scsi_task(t);
  return bytes;
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

class LiveChangeTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    config::Config c =
        stgtd_.base_config({stgtd_.file_lun(4 << 20), StgtdProcess::memory_lun(1 << 20, 2)});
    c.targets[0].acls = {{.initiator = "ALL"}};
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }
  std::string lun_file() const { return stgtd_.dir() + "/lun1.img"; }
};

TEST_F(LiveChangeTest, GrowingALunKeepsItsSessionsAndTellsEveryNexus) {
  IscsiSession a;
  ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn, 1));
  IscsiSession b(kOtherInitiator);
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(5, 16384);
  ASSERT_TRUE(a.write(100, data));
  ASSERT_EQ(capacity(a, 1), uint64_t{4} << 20);

  const CliResult r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--size", "8MiB"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("resized from 4194304 to 8388608 bytes"), std::string::npos) << r.out;
  EXPECT_EQ(file_size(lun_file()), uint64_t{8} << 20);
  for (IscsiSession* s : {&a, &b}) {
    EXPECT_EQ(tur_sense(*s, 1), kCapacityDataChanged);
    EXPECT_EQ(tur_sense(*s, 1), 0);
    EXPECT_EQ(capacity(*s, 1), uint64_t{8} << 20);
  }
  // LUN 2 was not touched: nothing queued there.
  EXPECT_EQ(tur_sense(a, 2) == kCapacityDataChanged, false);
  std::vector<uint8_t> back;
  ASSERT_TRUE(a.read(100, data.size(), back));
  EXPECT_EQ(back, data);
  const uint64_t past_old_end = (uint64_t{6} << 20) / kBlockSize;
  ASSERT_TRUE(b.write(past_old_end, data));
  ASSERT_TRUE(a.read(past_old_end, data.size(), back));
  EXPECT_EQ(back, data);
  EXPECT_EQ(adm_json(stgtd_, {"session", "list"}).size(), 2u);

  // What runs is what restarts.
  a.logout();
  b.logout();
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start());
  IscsiSession again;
  ASSERT_TRUE(again.login(stgtd_.portal(), kTargetIqn, 1));
  EXPECT_EQ(capacity(again, 1), uint64_t{8} << 20);
  ASSERT_TRUE(again.read(past_old_end, data.size(), back));
  EXPECT_EQ(back, data);
}

TEST_F(LiveChangeTest, ShrinkingUnderSessionsNeedsForce) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  CliResult r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--size", "2MiB"});
  EXPECT_EQ(r.rc, 6);
  EXPECT_EQ(r.err, std::string("stgtadm: lun 1 of ") + kTargetIqn +
                       " is in use by 1 session(s); shrinking it loses the blocks past the new "
                       "end, use --force to shrink it anyway\n");
  EXPECT_EQ(file_size(lun_file()), uint64_t{4} << 20);
  EXPECT_EQ(tur_sense(s, 1), 0);  // nothing happened
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--size", "2MiB", "--force"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(file_size(lun_file()), uint64_t{2} << 20);
  EXPECT_EQ(tur_sense(s, 1), kCapacityDataChanged);
  EXPECT_EQ(capacity(s, 1), uint64_t{2} << 20);
  std::vector<uint8_t> back;
  EXPECT_FALSE(s.read((uint64_t{3} << 20) / kBlockSize, kBlockSize, back));  // past the new end
}

// Offline: the LUN stays reported and its session stays; media access gets NOT READY,
// OFFLINE until it is brought back online, and the state is written back and restarts.
TEST_F(LiveChangeTest, OfflineAndBackOnlineKeepsTheSession) {
  constexpr int kOffline = 0x0412;  // LOGICAL UNIT NOT READY, OFFLINE
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(9, 8192);
  ASSERT_TRUE(s.write(10, data));
  CliResult r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--offline"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("(offline)"), std::string::npos) << r.out;
  EXPECT_EQ(tur_sense(s, 1), kOffline);
  std::vector<uint8_t> back;
  EXPECT_FALSE(s.read(10, data.size(), back));
  int other = tur_sense(s, 2);
  if ((other >> 8) == 0x29) other = tur_sense(s, 2);  // its first command: POWER ON, RESET
  EXPECT_EQ(other, 0);  // the other LUN of the target is untouched
  scsi_task* inq = iscsi_inquiry_sync(s.get(), 1, 0, 0, 36);
  ASSERT_NE(inq, nullptr);
  EXPECT_EQ(inq->status, SCSI_STATUS_GOOD);
  scsi_free_scsi_task(inq);
  const Json luns = adm_json(stgtd_, {"lun", "list", kTargetIqn});
  ASSERT_TRUE(luns.is_array());
  ASSERT_GE(luns.size(), 1u);
  EXPECT_EQ(luns[0].value("offline", false), true) << luns.dump();

  // Written back: a restart keeps it offline.
  s.logout();
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start());
  IscsiSession again;  // through LUN 2: libiscsi's login waits for its LUN to be ready
  ASSERT_TRUE(again.login(stgtd_.portal(), kTargetIqn, 2));
  int sense = tur_sense(again, 1);
  if ((sense >> 8) == 0x29) sense = tur_sense(again, 1);  // POWER ON, RESET first, if any
  EXPECT_EQ(sense, kOffline);
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--online"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(tur_sense(again, 1), 0);
  IscsiSession lun1;
  ASSERT_TRUE(lun1.login(stgtd_.portal(), kTargetIqn, 1));
  ASSERT_TRUE(lun1.read(10, data.size(), back));
  EXPECT_EQ(back, data);
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "stgtadm: lun set needs --size, --offline or --online\n");
}

TEST_F(LiveChangeTest, ResizeErrorsAreOneSentence) {
  CliResult r = adm(stgtd_, {"lun", "set", kTargetIqn, "2", "--size", "2MiB"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, std::string("stgtadm: LUN 2 of ") + kTargetIqn +
                       " (a memory store) cannot be resized live\n");
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "7", "--size", "2MiB"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, std::string("stgtadm: target ") + kTargetIqn + " has no LUN 7\n");
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--size", "lots"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "stgtadm: not a size: lots (examples: 4096, 512MiB, 10GiB)\n");
  r = adm(stgtd_, {"lun", "set", kTargetIqn, "1", "--size", "100"});
  EXPECT_EQ(r.rc, 7);
  EXPECT_EQ(r.err, "stgtadm: the size must hold at least one 512-byte block\n");
  EXPECT_EQ(file_size(lun_file()), uint64_t{4} << 20);
}

TEST_F(LiveChangeTest, PortalsComeAndGoWithoutTouchingOtherSessions) {
  const std::string second = "127.0.0.1:" + std::to_string(pick_free_port());
  CliResult r = adm(stgtd_, {"portal", "add", second});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("+ portal " + second), std::string::npos) << r.out;
  const Json portals = adm_json(stgtd_, {"portal", "list"});
  ASSERT_EQ(portals.size(), 2u) << portals.dump();

  IscsiSession first_portal;
  ASSERT_TRUE(first_portal.login(stgtd_.portal(), kTargetIqn, 1));
  IscsiSession second_portal(kOtherInitiator);
  ASSERT_TRUE(second_portal.login(second, kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(8, 4096);
  ASSERT_TRUE(second_portal.write(0, data));

  r = adm(stgtd_, {"portal", "remove", second});
  EXPECT_EQ(r.rc, 6);
  EXPECT_EQ(r.err, "stgtadm: portal " + second + " has 1 session(s); use --force to remove it\n");
  r = adm(stgtd_, {"portal", "remove", second, "--force"});
  ASSERT_EQ(r.rc, 0) << r.err;
  second_portal.abandon();
  EXPECT_EQ(adm_json(stgtd_, {"portal", "list"}).size(), 1u);
  const Json sessions = adm_json(stgtd_, {"session", "list"});
  ASSERT_EQ(sessions.size(), 1u) << sessions.dump();
  EXPECT_EQ(sessions[0]["initiator"], kInitiatorIqn);
  // The session on the first portal carries on without a unit attention.
  EXPECT_EQ(tur_sense(first_portal, 1), 0);
  std::vector<uint8_t> back;
  ASSERT_TRUE(first_portal.read(0, data.size(), back));
  EXPECT_EQ(back, data);
  IscsiSession refused;
  EXPECT_FALSE(refused.login(second, kTargetIqn, 1));
  // Saved: the file no longer has it.
  EXPECT_EQ(adm(stgtd_, {"config", "show"}).out.find(second), std::string::npos);
}

TEST_F(LiveChangeTest, PortalErrorsAreOneSentence) {
  // A port somebody else listens on.
  base::UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(taken.get(), 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  CliResult r = adm(stgtd_, {"portal", "add", busy});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "stgtadm: cannot bind " + busy + ": Address already in use\n");
  EXPECT_EQ(adm_json(stgtd_, {"portal", "list"}).size(), 1u);

  r = adm(stgtd_, {"portal", "add", "300.1.2.3:3260"});
  EXPECT_EQ(r.rc, 7);
  EXPECT_EQ(r.err.rfind("stgtadm: bad portal address 300.1.2.3:3260: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = adm(stgtd_, {"portal", "add", stgtd_.portal()});
  EXPECT_EQ(r.rc, 5);
  EXPECT_EQ(r.err, "stgtadm: portal " + stgtd_.portal() + " already exists\n");
  r = adm(stgtd_, {"portal", "remove", "127.0.0.1:1"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, "stgtadm: no portal 127.0.0.1:1\n");
  r = adm(stgtd_, {"portal", "remove", stgtd_.portal()});
  EXPECT_EQ(r.rc, 7);
  EXPECT_EQ(r.err,
            "stgtadm: portal " + stgtd_.portal() + " is the last one; add another portal first\n");
}

}  // namespace
}  // namespace stgt::functional
