// Unit attentions reach the other initiators when shared state changes (issue 4): MODE
// SELECT of one initiator, and an LU removed while another initiator's I/O is in flight
// (commands finish or abort cleanly, the daemon and the other LUN carry on).
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "base/byte_order.h"
#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr const char* kOther = "iqn.2026-11.org.stgt.test:other";

// One JSON-RPC request line to the daemon's control socket; the answer line.
std::string control_call(const std::string& path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), std::min(path.size(), sizeof(a.sun_path) - 1));
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) return {};
  const std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) return {};
  std::string in;
  char buf[4096];
  while (in.find('\n') == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    in.append(buf, size_t(n));
  }
  ::close(fd);
  return in;
}

void settle(IscsiSession& s, uint32_t lun) {
  for (int i = 0; i < 4 && tur_sense(s, lun) != 0; ++i) {
  }
}

TEST_F(StgtdTest, ModeSelectByOneInitiatorIsToldToTheOthers) {
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)}));
  ASSERT_TRUE(stgtd_.start());
  IscsiSession a;
  IscsiSession b(kOther);
  ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn, 1));
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn, 1));
  settle(a, 1);
  settle(b, 1);
  scsi_task* sense = iscsi_modesense6_sync(a.get(), 1, 1, SCSI_MODESENSE_PC_CURRENT,
                                           SCSI_MODEPAGE_CACHING, 0, 255);
  ASSERT_NE(sense, nullptr);
  ASSERT_EQ(sense->status, SCSI_STATUS_GOOD);
  auto* ms = static_cast<scsi_mode_sense*>(scsi_datain_unmarshall(sense));
  ASSERT_NE(ms, nullptr);
  scsi_mode_page* page = scsi_modesense_get_page(ms, SCSI_MODEPAGE_CACHING, 0);
  ASSERT_NE(page, nullptr);
  page->caching.wce = page->caching.wce != 0 ? 0 : 1;  // flip write cache enable
  scsi_task* select = iscsi_modeselect6_sync(a.get(), 1, 1, 0, page);
  ASSERT_NE(select, nullptr);
  EXPECT_EQ(select->status, SCSI_STATUS_GOOD);
  scsi_free_scsi_task(select);
  scsi_free_scsi_task(sense);
  EXPECT_EQ(tur_sense(b, 1), 0x2a01);  // MODE PARAMETERS CHANGED
  EXPECT_EQ(tur_sense(b, 1), 0);
  EXPECT_EQ(tur_sense(a, 1), 0);  // not the initiator that changed them
}

// Removing an LU under load: four sessions keep writing and reading it through the file
// store (commands in the store at the moment of removal) while `lun.remove --force` runs
// through the control plane's path (a config reload). Every command ends with an answer,
// nothing hangs, and LUN 1 still serves its data afterwards. Under ASan (stage 2 of
// scripts/test) this is also the use-after-free check.
TEST_F(StgtdTest, LuRemovedUnderLoadEndsCommandsCleanly) {
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20, 1)});
  config::LunConfig busy = stgtd_.file_lun(64 << 20, 2);
  c.targets[0].luns.push_back(busy);
  stgtd_.write_config(c);
  ASSERT_TRUE(stgtd_.start());
  IscsiSession keeper;
  ASSERT_TRUE(keeper.login(stgtd_.portal(), kTargetIqn, 1));
  const std::vector<uint8_t> data = make_pattern(11, 4096);
  ASSERT_TRUE(keeper.write(0, data));

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> load;
  for (int i = 0; i < 4; ++i) {
    load.emplace_back([&, i] {
      IscsiSession s(std::string(kInitiatorIqn) + "-load" + std::to_string(i));
      if (!s.login(stgtd_.portal(), kTargetIqn, 2)) return;
      std::vector<uint8_t> buf(65536, uint8_t(i));
      for (uint64_t n = 0; !stop; ++n) {
        scsi_task* t = iscsi_write10_sync(s.get(), 2, uint32_t((n * 128 + i * 32768) % 100000),
                                          buf.data(), uint32_t(buf.size()), 512, 0, 0, 0, 0, 0);
        if (t == nullptr) break;  // the session was dropped: not expected
        ++answered;
        const bool gone = t->status != SCSI_STATUS_GOOD;
        scsi_free_scsi_task(t);
        if (gone) break;  // LUN gone: LOGICAL UNIT NOT SUPPORTED (or TASK ABORTED)
      }
      s.abandon();  // its LUN is gone; do not wait on a logout
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // What `stgtadm lun remove --force` sends, straight to the control socket.
  const std::string answer = control_call(
      stgtd_.control_socket(),
      R"({"jsonrpc":"2.0","id":1,"method":"lun.remove","params":{"target":")" +
          std::string(kTargetIqn) + R"(","lun":2,"force":true}})");
  EXPECT_NE(answer.find("\"applied\":true"), std::string::npos) << answer;
  stop = true;
  for (std::thread& t : load) t.join();
  EXPECT_GT(answered.load(), 0);
  // LUN 1's session is told of the inventory change, then reads its data back.
  EXPECT_EQ(tur_sense(keeper, 1), 0x3f0e);
  std::vector<uint8_t> back;
  ASSERT_TRUE(keeper.read(0, data.size(), back));
  EXPECT_EQ(back, data);
}

// SIGTERM: every initiator is first asked to log out (RFC 7143 11.9.1, AsyncEvent 1), then
// the daemon exits cleanly.
TEST_F(StgtdTest, SigtermAsksInitiatorsToLogOut) {
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)}));
  ASSERT_TRUE(stgtd_.start());
  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  ASSERT_TRUE(raw.login());
  ASSERT_EQ(::kill(stgtd_.pid(), SIGTERM), 0);
  RawPdu pdu;
  ASSERT_TRUE(raw.expect(iscsi::Opcode::kAsyncMessage, pdu));
  EXPECT_EQ(pdu.bhs.bytes[36], 1);  // AsyncEvent: the target requests a logout
  EXPECT_GT(base::load_be16(&pdu.bhs.bytes[42]), 0);  // Parameter3: seconds to do so
  raw.close();
  EXPECT_TRUE(stgtd_.stop());  // exits 0 (the SIGTERM was ours)
}

}  // namespace
}  // namespace stgt::functional
