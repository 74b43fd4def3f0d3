// The control plane through the real `stgtadm` binary against a real stgtd: every verb's
// happy path and error path (exit status and one sentence), live changes seen by initiators
// through unit attentions, sessions a change does not concern left alone, write-back and a
// restart into the same state, SIGHUP and `config apply`.
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "iscsi_session.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Json = nlohmann::json;
constexpr const char* kSecondIqn = "iqn.2026-11.org.stgt.test:second";
constexpr int kReportedLunsDataChanged = 0x3f0e;  // SPC-5 table F.2

class ManagementTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(8 << 20)});
    c.targets[0].acls = {{.initiator = "ALL"}};
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }

  CliResult adm(std::vector<std::string> args, const std::string& input = "") {
    return functional::adm(stgtd_, std::move(args), input);
  }
  Json adm_json(std::vector<std::string> args) {
    return functional::adm_json(stgtd_, std::move(args));
  }
};

TEST_F(ManagementTest, ControlSocketIsForItsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(::stat(stgtd_.control_socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ManagementTest, VerbsChangeTheDaemonLiveAndTheFileAndSurviveARestart) {
  EXPECT_EQ(adm({"target", "add", kSecondIqn, "--alias", "second"}).rc, 0);
  const std::string img = stgtd_.dir() + "/second-lun2.img";
  CliResult r = adm({"lun", "add", kSecondIqn, "2", "--store", "file", "--path", img, "--size",
                     "4MiB", "--provisioning", "thin", "--physical-block-size", "4096"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("+ lun 2 of " + std::string(kSecondIqn)), std::string::npos) << r.out;
  EXPECT_EQ(adm({"acl", "add", kSecondIqn, kInitiatorIqn}).rc, 0);

  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kSecondIqn, 2));
  const std::vector<uint8_t> data = make_pattern(3, 8192);
  ASSERT_TRUE(s.write(16, data));
  ASSERT_TRUE(s.logout());

  const Json before = adm_json({"target", "show", kSecondIqn});
  EXPECT_EQ(before["alias"], "second");
  EXPECT_EQ(before["lun_list"][0]["physical_block_size"], 4096);
  // The file on disk is what runs: mode 0600, and a restart reproduces the state.
  struct stat st {};
  ASSERT_EQ(::stat(stgtd_.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start());
  Json after = adm_json({"target", "show", kSecondIqn});
  EXPECT_EQ(after, before);
  IscsiSession again;
  ASSERT_TRUE(again.login(stgtd_.portal(), kSecondIqn, 2));
  std::vector<uint8_t> back;
  ASSERT_TRUE(again.read(16, data.size(), back));
  EXPECT_EQ(back, data);
}

TEST_F(ManagementTest, AddingALunTellsLiveSessionsAndLeavesThemUp) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(9, 4096);
  ASSERT_TRUE(s.write(0, data));
  ASSERT_EQ(adm({"lun", "add", kTargetIqn, "2", "--store", "memory", "--size", "1MiB"}).rc, 0);
  // SPC-5: REPORTED LUNS DATA HAS CHANGED, once, then the session carries on.
  EXPECT_EQ(tur_sense(s, 1), kReportedLunsDataChanged);
  EXPECT_EQ(tur_sense(s, 1), 0);
  std::vector<uint8_t> back;
  ASSERT_TRUE(s.read(0, data.size(), back));
  EXPECT_EQ(back, data);
  // The new LUN answers on the same session.
  scsi_task* rl = iscsi_reportluns_sync(s.get(), 0, 512);
  ASSERT_NE(rl, nullptr);
  auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(rl));
  ASSERT_NE(list, nullptr);
  bool has2 = false;
  for (uint32_t i = 0; i < list->num; ++i) has2 = has2 || list->luns[i] == 2;
  EXPECT_TRUE(has2);
  scsi_free_scsi_task(rl);
  int sense = tur_sense(s, 2);
  if (sense != 0) sense = tur_sense(s, 2);  // a unit attention first is allowed
  EXPECT_EQ(sense, 0);
}

TEST_F(ManagementTest, RemovingALunInUseNeedsForce) {
  ASSERT_EQ(adm({"lun", "add", kTargetIqn, "2", "--store", "memory", "--size", "1MiB"}).rc, 0);
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 2));
  CliResult r = adm({"lun", "remove", kTargetIqn, "2"});
  EXPECT_EQ(r.rc, 6);
  EXPECT_NE(r.err.find("in use by 1 session"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = adm({"lun", "remove", kTargetIqn, "2", "--force"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // The session stays; the LUN is gone; LUN 1 still works.
  EXPECT_EQ(tur_sense(s, 2), SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED);
  // LUN 1 still owes this session its power-on UA, then the inventory change; then GOOD.
  EXPECT_EQ(tur_sense(s, 1), SCSI_SENSE_ASCQ_BUS_RESET);
  EXPECT_EQ(tur_sense(s, 1), kReportedLunsDataChanged);
  EXPECT_EQ(tur_sense(s, 1), 0);
}

TEST_F(ManagementTest, RevokingAccessClosesOnlyThatInitiatorsSession) {
  const std::string other = "iqn.2026-11.org.stgt.test:other-host";
  ASSERT_EQ(adm({"acl", "remove", kTargetIqn, "ALL"}).rc, 0);
  ASSERT_EQ(adm({"acl", "add", kTargetIqn, kInitiatorIqn}).rc, 0);
  ASSERT_EQ(adm({"acl", "add", kTargetIqn, other}).rc, 0);
  IscsiSession mine;
  IscsiSession theirs(other);
  ASSERT_TRUE(mine.login(stgtd_.portal(), kTargetIqn, 1));
  ASSERT_TRUE(theirs.login(stgtd_.portal(), kTargetIqn, 1));
  EXPECT_EQ(adm_json({"session", "list"}).size(), 2u);
  ASSERT_EQ(adm({"acl", "remove", kTargetIqn, other}).rc, 0);
  theirs.abandon();
  const Json sessions = adm_json({"session", "list"});
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["initiator"], kInitiatorIqn);
  EXPECT_EQ(tur_sense(mine, 1), 0);
  IscsiSession retry(other);
  EXPECT_FALSE(retry.login(stgtd_.portal(), kTargetIqn, 1));
}

TEST_F(ManagementTest, GroupsAndLunMapsChangeLive) {
  ASSERT_EQ(adm({"lun", "add", kTargetIqn, "2", "--store", "memory", "--size", "1MiB"}).rc, 0);
  ASSERT_EQ(adm({"group", "add", "local", "--initiator", kInitiatorIqn, "--address", "127.0.0.0/8"})
                .rc,
            0);
  EXPECT_EQ(adm({"group", "add", "bad", "--address", "10.0.0.1/8"}).rc, 7);
  // The group's entry goes first: it decides for our initiator.
  ASSERT_EQ(adm({"acl", "remove", kTargetIqn, "ALL"}).rc, 0);
  ASSERT_EQ(adm({"acl", "add", kTargetIqn, "--group", "local"}).rc, 0);
  ASSERT_EQ(adm({"acl", "add", kTargetIqn, "ALL"}).rc, 0);
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  ASSERT_EQ(adm({"acl", "map", kTargetIqn, "--group", "local", "--lun", "5", "--lu", "2"}).rc, 0);
  // The session now sees only LUN 5 (LU 2), and is told so.
  EXPECT_EQ(tur_sense(s, 1), SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED);
  int sense = tur_sense(s, 5);
  while (sense == kReportedLunsDataChanged || sense == SCSI_SENSE_ASCQ_BUS_RESET) {
    sense = tur_sense(s, 5);
  }
  EXPECT_EQ(sense, 0);
  const CliResult list = adm({"acl", "list", kTargetIqn});
  EXPECT_EQ(list.out, "group local  lun 5=lu 2\nALL\n");
  EXPECT_EQ(adm({"group", "remove", "local"}).rc, 6);  // in use by the ACL
}

TEST_F(ManagementTest, AluaStateChangesLiveAndIsSaved) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  EXPECT_EQ(adm_json({"alua", "list", kTargetIqn})[0]["state"], "active/optimized");
  CliResult r = adm({"alua", "set", kTargetIqn, "1", "standby"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(adm_json({"alua", "list", kTargetIqn})[0]["state"], "standby");
  // SPC-5 5.16.2.6: ASYMMETRIC ACCESS STATE CHANGED first, then NOT READY in standby.
  EXPECT_EQ(tur_sense(s, 1), 0x2a06);
  EXPECT_EQ(tur_sense(s, 1), 0x040b);
  ASSERT_EQ(adm({"alua", "set", kTargetIqn, "1", "active/optimized"}).rc, 0);
  EXPECT_EQ(tur_sense(s, 1), 0x2a06);
  EXPECT_EQ(tur_sense(s, 1), 0);
  EXPECT_EQ(adm({"alua", "set", kTargetIqn, "9", "standby"}).rc, 4);
  EXPECT_EQ(adm({"alua", "set", kTargetIqn, "1", "asleep"}).rc, 7);
  std::ifstream in(stgtd_.config_path());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("[[target.port_group]]"), std::string::npos) << text.str();
}

TEST_F(ManagementTest, SessionListAndForcedClose) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const Json sessions = adm_json({"session", "list"});
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["initiator"], kInitiatorIqn);
  EXPECT_EQ(sessions[0]["target"], kTargetIqn);
  EXPECT_EQ(sessions[0]["parameters"]["ErrorRecoveryLevel"], 0);
  const std::string tsih = std::to_string(sessions[0]["tsih"].get<int>());
  EXPECT_EQ(adm({"session", "close", "999"}).rc, 4);
  ASSERT_EQ(adm({"session", "close", tsih, "--force"}).rc, 0);
  s.abandon();
  for (int i = 0; i < 100 && !adm_json({"session", "list"}).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(adm_json({"session", "list"}).empty());
}

TEST_F(ManagementTest, ErrorsHaveOneSentenceAndAMeaningfulExitStatus) {
  CliResult r = adm({"target", "show", "iqn.2026-11.org.stgt.test:nope"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, "stgtadm: no target iqn.2026-11.org.stgt.test:nope\n");
  r = adm({"target", "add", "not-an-iqn"});
  EXPECT_EQ(r.rc, 7);
  EXPECT_NE(r.err.find("bad target name"), std::string::npos) << r.err;
  r = adm({"target", "add", kTargetIqn});
  EXPECT_EQ(r.rc, 5);
  r = adm({"lun", "add", kTargetIqn, "7", "--store", "tape"});
  EXPECT_EQ(r.rc, 7);
  EXPECT_NE(r.err.find("store"), std::string::npos) << r.err;
  r = adm({"lun", "add", kTargetIqn, "7", "--store", "file", "--path", "/proc/nonexistent/x.img"});
  EXPECT_EQ(r.rc, 1);
  r = adm({"account", "add", "bob"}, "short\n");
  EXPECT_EQ(r.rc, 7);
  EXPECT_NE(r.err.find("12..255"), std::string::npos) << r.err;
  r = adm({"frobnicate"});
  EXPECT_EQ(r.rc, 2);
  r = stgtadm({"--socket", stgtd_.dir() + "/nobody.sock", "daemon", "status"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("cannot reach stgtd"), std::string::npos) << r.err;
  // A failed change changed nothing.
  EXPECT_EQ(adm_json({"target", "show", kTargetIqn})["lun_list"].size(), 1u);
}

TEST_F(ManagementTest, ConfigApplyShowsTheDifferenceAndLeavesOtherSessionsAlone) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(5, 4096);
  ASSERT_TRUE(s.write(8, data));
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(8 << 20)});
  c.targets[0].acls = {{.initiator = "ALL"}};
  config::TargetConfig second{.iqn = kSecondIqn};
  second.luns.push_back(StgtdProcess::memory_lun(1 << 20, 4));
  second.acls.push_back({.initiator = "ALL"});
  c.targets.push_back(second);
  const std::string file = stgtd_.dir() + "/next.toml";
  std::ofstream(file) << config::to_toml(c);

  CliResult r = adm({"config", "apply", file, "--dry-run"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("+ target " + std::string(kSecondIqn)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run"), std::string::npos);
  EXPECT_EQ(adm_json({"target", "list"}).size(), 1u);
  r = adm({"config", "apply", file});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(adm_json({"target", "list"}).size(), 2u);
  // The untouched target's session noticed nothing.
  EXPECT_EQ(tur_sense(s, 1), 0);
  std::vector<uint8_t> back;
  ASSERT_TRUE(s.read(8, data.size(), back));
  EXPECT_EQ(back, data);
  EXPECT_EQ(adm({"config", "apply", file}).out, "no change\n");
}

TEST_F(ManagementTest, ReplacingALunTellsInquiryAndCapacityChanges) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(16 << 20)});
  c.targets[0].acls = {{.initiator = "ALL"}};
  c.targets[0].luns[0].vendor = "NEWVEND";
  const std::string file = stgtd_.dir() + "/bigger.toml";
  std::ofstream(file) << config::to_toml(c);
  EXPECT_EQ(adm({"config", "apply", file}).rc, 6);  // in use
  CliResult r = adm({"config", "apply", file, "--force"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("(replaced)"), std::string::npos) << r.out;
  EXPECT_EQ(tur_sense(s, 1), 0x3f03);  // INQUIRY DATA HAS CHANGED
  EXPECT_EQ(tur_sense(s, 1), 0x2a09);  // CAPACITY DATA HAS CHANGED
  EXPECT_EQ(tur_sense(s, 1), 0);
  scsi_task* cap = iscsi_readcapacity10_sync(s.get(), 1, 0, 0);
  ASSERT_NE(cap, nullptr);
  auto* rc10 = static_cast<scsi_readcapacity10*>(scsi_datain_unmarshall(cap));
  ASSERT_NE(rc10, nullptr);
  EXPECT_EQ(uint64_t(rc10->lba) + 1, (uint64_t{16} << 20) / 512);
  scsi_free_scsi_task(cap);
}

TEST_F(ManagementTest, ChapBoundLiveThroughTargetSet) {
  ASSERT_EQ(adm({"account", "add", "host1"}, "host1-secret-0123\n").rc, 0);
  EXPECT_EQ(adm({"target", "set", kTargetIqn, "--chap-user", "nobody"}).rc, 7);
  ASSERT_EQ(adm({"target", "set", kTargetIqn, "--chap-user", "host1"}).rc, 0);
  IscsiSession without;
  EXPECT_FALSE(without.login(stgtd_.portal(), kTargetIqn, 1));
  IscsiSession with;
  ASSERT_EQ(iscsi_set_initiator_username_pwd(with.get(), "host1", "host1-secret-0123"), 0);
  EXPECT_TRUE(with.login(stgtd_.portal(), kTargetIqn, 1));
  EXPECT_EQ(adm({"account", "remove", "host1"}).rc, 6);  // the target uses it
  ASSERT_EQ(adm({"target", "set", kTargetIqn, "--no-chap"}).rc, 0);
  IscsiSession again;
  EXPECT_TRUE(again.login(stgtd_.portal(), kTargetIqn, 1));
}

TEST_F(ManagementTest, SighupReloadsTheFile) {
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(8 << 20)});
  c.targets[0].acls = {{.initiator = "ALL"}};
  config::TargetConfig second{.iqn = kSecondIqn};
  second.acls.push_back({.initiator = "ALL"});
  c.targets.push_back(second);
  stgtd_.write_config(c);
  ASSERT_EQ(::kill(stgtd_.pid(), SIGHUP), 0);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    seen = adm_json({"target", "list"}).size() == 2;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace stgt::functional

namespace stgt::functional {
namespace {

// systemd's Type=notify: stgtd sends READY=1 to $NOTIFY_SOCKET once it accepts logins and
// STOPPING=1 when it shuts down.
TEST(NotifyTest, ReadinessAndStoppingReachNotifySocket) {
  StgtdProcess stgtd;
  stgtd.write_config(stgtd.base_config({StgtdProcess::memory_lun(1 << 20)}));
  const std::string path = stgtd.dir() + "/notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)), 0);
  stgtd.set_extra_environment({"NOTIFY_SOCKET=" + path});
  ASSERT_TRUE(stgtd.start());
  auto receive = [fd] {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::string();
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
  };
  EXPECT_EQ(receive(), "READY=1");
  ASSERT_TRUE(stgtd.stop());
  EXPECT_EQ(receive(), "STOPPING=1");
  ::close(fd);
}

}  // namespace
}  // namespace stgt::functional
