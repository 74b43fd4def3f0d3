// Security of the daemon itself: privilege drop after the portals are bound ([daemon] user and
// group), with the portal, the stores, the control socket and the APTPL state directory still
// working; a configuration naming an unknown user refused at start. (CHAP and ACLs are in
// chap_test.cc, discovery_test.cc and lun_masking_test.cc; the control socket's owner check in
// management_test.cc; hostile peers in hostile_peer_test.cc and tests/faults.)
#include <arpa/inet.h>
#include <grp.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "control_client.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

// A free port below 1024 on 127.0.0.1 (only root can bind it); 0 if none.
uint16_t free_privileged_port() {
  for (uint16_t port = 900; port < 1000; ++port) {
    base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) return port;
  }
  return 0;
}

// The four ids of a "Uid:" or "Gid:" line of /proc/PID/status, and the "Groups:" line.
std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
  }
  return "";
}

std::vector<unsigned> ids(const std::string& text) {
  std::istringstream in(text);
  std::vector<unsigned> out;
  for (unsigned v = 0; in >> v;) out.push_back(v);
  return out;
}

TEST_F(StgtdTest, PrivilegesAreDroppedAfterThePortalIsBound) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  const uint16_t port = free_privileged_port();
  if (port == 0) GTEST_SKIP() << "no free port below 1024";
  const std::string portal = "127.0.0.1:" + std::to_string(port);

  // The operator gives the daemon its state directory (config write-back, APTPL files).
  ASSERT_EQ(::chown(stgtd_.dir().c_str(), uid, gid), 0);
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(4 << 20)});
  c.portals[0].address = portal;
  c.daemon.user = "nobody";
  c.daemon.group = std::to_string(gid);
  stgtd_.write_config(c);
  ASSERT_TRUE(stgtd_.start({"--var-dir", stgtd_.dir() + "/var"}, portal));
  ASSERT_TRUE(stgtd_.wait_for_log("stgtd ready"));
  EXPECT_TRUE(stgtd_.wait_for_log("running as uid " + std::to_string(uid)));

  // Real, effective, saved and file-system ids are all nobody's; no supplementary root group.
  for (const unsigned v : ids(status_line(stgtd_.pid(), "Uid:"))) EXPECT_EQ(v, uid);
  for (const unsigned v : ids(status_line(stgtd_.pid(), "Gid:"))) EXPECT_EQ(v, gid);
  for (const unsigned v : ids(status_line(stgtd_.pid(), "Groups:"))) EXPECT_NE(v, 0u);
  EXPECT_EQ(ids(status_line(stgtd_.pid(), "Uid:")).size(), 4u);

  // The privileged portal (bound as root) serves I/O.
  IscsiSession s;
  ASSERT_TRUE(s.login(portal, kTargetIqn));
  const std::vector<uint8_t> data = make_pattern(3, 8192);
  ASSERT_TRUE(s.write(16, data));
  std::vector<uint8_t> back;
  ASSERT_TRUE(s.read(16, data.size(), back));
  EXPECT_EQ(back, data);

  // PERSISTENT RESERVE OUT REGISTER with APTPL: the state file is written as nobody.
  std::vector<uint8_t> list(24, 0);
  list[15] = 0x42;  // service action reservation key
  list[20] = 0x01;  // APTPL
  std::vector<uint8_t> cdb{0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0};
  scsi_task* t = scsi_create_task(int(cdb.size()), cdb.data(), SCSI_XFER_WRITE, int(list.size()));
  ASSERT_NE(t, nullptr);
  iscsi_data d{list.size(), list.data()};
  ASSERT_NE(iscsi_scsi_command_sync(s.get(), 1, t, &d), nullptr);
  EXPECT_EQ(t->status, SCSI_STATUS_GOOD);
  scsi_free_scsi_task(t);
  size_t pr_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(stgtd_.dir() + "/var/pr")) {
    struct stat st{};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid) << e.path();
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
    ++pr_files;
  }
  EXPECT_EQ(pr_files, 1u);

  // The control socket (root may use it) changes the daemon and saves the file, 0600.
  ControlClient control;
  ASSERT_TRUE(control.connect(stgtd_.control_socket()));
  const std::string reply = control.call(
      R"({"jsonrpc":"2.0","id":1,"method":"target.set","params":{"target":")" +
      std::string(kTargetIqn) + R"(","alias":"after-drop"}})");
  EXPECT_NE(reply.find("\"applied\":true"), std::string::npos) << reply;
  struct stat st{};
  ASSERT_EQ(::stat(stgtd_.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, uid);
  std::ifstream saved(stgtd_.config_path());
  const std::string text((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("after-drop"), std::string::npos);
  EXPECT_NE(text.find("user = 'nobody'"), std::string::npos) << text;
  ASSERT_TRUE(s.logout());
}

// CHAP secrets: a configuration file holding them that others may read is named in a warning
// at start; the control plane shows them masked; the file stgtd writes back is 0600; and no
// secret ever reaches the log, whatever logins fail.
TEST_F(StgtdTest, SecretsStayInTheirFile) {
  constexpr char kSecret[] = "s3cret-for-alice-0123";
  constexpr char kAddedSecret[] = "s3cret-for-bob-456789";
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)});
  c.accounts.push_back({.user = "alice", .secret = kSecret});
  c.targets[0].chap.incoming_users = {"alice"};
  stgtd_.write_config(c);
  ASSERT_EQ(::chmod(stgtd_.config_path().c_str(), 0644), 0);
  ASSERT_TRUE(stgtd_.start({"--log-level", "debug"}));
  ASSERT_TRUE(stgtd_.wait_for_log("stgtd ready"));
  EXPECT_TRUE(stgtd_.wait_for_log("holds CHAP secrets and is readable by others"));
  {
    IscsiSession wrong;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(wrong.get(), "alice", "not-the-secret-000"), 0);
    EXPECT_FALSE(wrong.login(stgtd_.portal(), kTargetIqn));
    IscsiSession right;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(right.get(), "alice", kSecret), 0);
    EXPECT_TRUE(right.login(stgtd_.portal(), kTargetIqn));
  }
  ControlClient control;
  ASSERT_TRUE(control.connect(stgtd_.control_socket()));
  const std::string listed = control.call(R"({"jsonrpc":"2.0","id":1,"method":"account.list"})");
  EXPECT_NE(listed.find("********"), std::string::npos) << listed;
  EXPECT_EQ(listed.find(kSecret), std::string::npos) << listed;
  const std::string added = control.call(
      std::string(R"({"jsonrpc":"2.0","id":2,"method":"account.add","params":{"user":"bob","secret":")") +
      kAddedSecret + R"("}})");
  EXPECT_NE(added.find("\"applied\":true"), std::string::npos) << added;
  struct stat st{};
  ASSERT_EQ(::stat(stgtd_.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // rewritten: temp file born 0600, renamed over
  const std::string log = stgtd_.log();
  EXPECT_EQ(log.find(kSecret), std::string::npos);
  EXPECT_EQ(log.find(kAddedSecret), std::string::npos);
  EXPECT_EQ(log.find("not-the-secret-000"), std::string::npos);
}

// The control socket is born 0600 (file permissions keep others out); behind that, the
// daemon checks the peer's credentials (SO_PEERCRED) and serves only root and its own user.
// With the file opened up to everyone, another user's connection is still closed unanswered.
TEST_F(StgtdTest, ControlSocketRefusesOtherUsersEvenWhenTheFileIsOpen) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)}));
  ASSERT_TRUE(stgtd_.start());
  ASSERT_TRUE(stgtd_.wait_for_log("stgtd ready"));
  struct stat st{};
  ASSERT_EQ(::stat(stgtd_.control_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::chmod(stgtd_.dir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(stgtd_.control_socket().c_str(), 0666), 0);
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  const std::string path = stgtd_.control_socket();
  const pid_t child = ::fork();
  if (child == 0) {
    // 0: connected and got no answer; 1: could not become nobody; 2: could not connect;
    // 3: the daemon answered.
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(1);
    ControlClient c;
    if (!c.connect(path)) _exit(2);
    _exit(c.call(R"({"jsonrpc":"2.0","id":1,"method":"daemon.status"})").empty() ? 0 : 3);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(stgtd_.wait_for_log("connection from a user other than root or ours refused"));
  ControlClient root;
  ASSERT_TRUE(root.connect(path));
  EXPECT_NE(root.call(R"({"jsonrpc":"2.0","id":1,"method":"daemon.status"})").find("result"),
            std::string::npos);
}

TEST_F(StgtdTest, UnknownRunAsUserIsAConfigurationError) {
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)});
  c.daemon.user = "no-such-user-stgt";
  stgtd_.write_config(c);
  const auto rc = stgtd_.run_to_exit({}, std::chrono::seconds(10));
  ASSERT_TRUE(rc.has_value());
  EXPECT_TRUE(WIFEXITED(*rc));
  EXPECT_EQ(WEXITSTATUS(*rc), 2);
  EXPECT_NE(stgtd_.log().find("no-such-user-stgt: no such user"), std::string::npos)
      << stgtd_.log();
}

}  // namespace
}  // namespace stgt::functional
