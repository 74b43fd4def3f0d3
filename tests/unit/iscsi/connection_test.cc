// Connection: one real iscsi::Connection on a reactor thread (each backend: on io_uring the
// reactor receives for it), over a socketpair, with a disk target on the memory store behind
// it; the test is the initiator, byte by byte. Regression tests for what pdu_fuzz found, and
// the send queue against a full socket and at teardown.
#include "transport/iscsi/connection.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "backing/memory/memory_store.h"
#include "devices/device_type.h"
#include "reactor/reactor_group.h"
#include "scsi/lun.h"
#include "scsi/target.h"
#include "transport/iscsi/server.h"
#include "transport/iscsi/text.h"

namespace stgt::iscsi {
namespace {

using namespace std::chrono_literals;

constexpr char kTarget[] = "iqn.2024-01.org.stgt:conn";
constexpr char kInitiator[] = "iqn.1994-05.com.example:host1";

struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> data;
};

std::shared_ptr<scsi::Target> make_target() {
  auto t = std::make_shared<scsi::Target>(kTarget, "");
  auto store = backing::MemoryStore::open({.kind = "memory", .size = 1 << 20});
  EXPECT_TRUE(store.ok());
  t->add_lun(0, devices::make_disk(std::move(*store), devices::identity_for(kTarget, 0), {}));
  t->set_controller(devices::make_controller(devices::identity_for(kTarget, 0)));
  t->allow_initiator("ALL");
  return t;
}

class ConnectionTest : public ::testing::TestWithParam<reactor::IoBackend> {
 protected:
  void SetUp() override {
    auto g = reactor::ReactorGroup::start(1, GetParam());
    ASSERT_TRUE(g.ok());
    group_ = std::move(*g);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_ = base::UniqueFd(fds[0]);
    shared_ = std::make_shared<ServerShared>();
    shared_->connections.resize(1);
    auto catalog = std::make_shared<Catalog>();
    catalog->targets.push_back(make_target());
    shared_->catalog.publish(catalog);
    reactor::Reactor& r = group_->at(0);
    const int target_fd = fds[1];
    ASSERT_EQ(::fcntl(target_fd, F_SETFL, O_NONBLOCK), 0);
    r.post([shared = shared_, &r, target_fd] {
      auto c = std::make_shared<Connection>(r, base::UniqueFd(target_fd), shared, 1,
                                            "127.0.0.1:3260", "127.0.0.1:40000", 1);
      shared->connections[0][1] = c;
      c->start();
    });
  }

  void TearDown() override {
    client_.reset();
    EXPECT_TRUE(dropped_within(5s)) << "the connection outlived its peer";
    group_->stop();
  }

  // True once the connection has closed and removed itself from the server's set.
  bool dropped_within(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::promise<bool> gone;
      group_->at(0).post([&] { gone.set_value(shared_->connections[0].empty()); });
      if (gone.get_future().get()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  void send_pdu(Bhs bhs, const std::vector<uint8_t>& data = {}) {
    bhs.set_data_segment_length(uint32_t(data.size()));
    std::vector<uint8_t> bytes(bhs.bytes.begin(), bhs.bytes.end());
    bytes.insert(bytes.end(), data.begin(), data.end());
    bytes.resize(bytes.size() + (padded(uint32_t(data.size())) - data.size()), 0);
    ASSERT_EQ(::send(client_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              ssize_t(bytes.size()));
  }

  bool read_exact(uint8_t* p, size_t n) {
    while (n > 0) {
      pollfd pfd{client_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return false;
      const ssize_t got = ::recv(client_.get(), p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= size_t(got);
    }
    return true;
  }

  std::optional<Pdu> receive() {
    Pdu pdu;
    if (!read_exact(pdu.bhs.bytes.data(), kBhsLength)) return std::nullopt;
    pdu.data.resize(padded(pdu.bhs.data_segment_length()));
    if (!read_exact(pdu.data.data(), pdu.data.size())) return std::nullopt;
    pdu.data.resize(pdu.bhs.data_segment_length());
    return pdu;
  }

  static Bhs login_request(uint32_t cmd_sn) {
    Bhs h;
    h.set_opcode(Opcode::kLoginRequest, true);
    h.bytes[1] = 0x80 | (1 << 2) | 3;  // T, CSG operational, NSG full feature
    base::store_be48(&h.bytes[8], 0x23d000000001ull);
    h.set32(24, cmd_sn);
    return h;
  }

  static std::vector<uint8_t> login_keys() {
    std::vector<uint8_t> d;
    append_key(d, "InitiatorName", kInitiator);
    append_key(d, "TargetName", kTarget);
    append_key(d, "SessionType", "Normal");
    append_key(d, "HeaderDigest", "None");
    append_key(d, "DataDigest", "None");
    append_key(d, "InitialR2T", "No");
    append_key(d, "ImmediateData", "Yes");
    return d;
  }

  void login() {
    send_pdu(login_request(1), login_keys());
    const auto resp = receive();
    ASSERT_TRUE(resp.has_value());
    ASSERT_EQ(resp->bhs.opcode(), Opcode::kLoginResponse);
    ASSERT_EQ(resp->bhs.bytes[36], 0) << "login status class";
    ASSERT_TRUE((resp->bhs.bytes[1] & 0x80) != 0 && (resp->bhs.bytes[1] & 3) == 3);
  }

  // NOP-Out ping (immediate): the session is alive if the NOP-In comes back.
  void expect_alive(uint32_t itt) {
    Bhs h;
    h.set_opcode(Opcode::kNopOut, true);
    h.bytes[1] = 0x80;
    h.set_itt(itt);
    h.set32(20, kReservedTag);
    h.set32(24, next_cmd_sn_);
    send_pdu(h);
    const auto resp = receive();
    ASSERT_TRUE(resp.has_value()) << "no NOP-In";
    EXPECT_EQ(resp->bhs.opcode(), Opcode::kNopIn);
    EXPECT_EQ(resp->bhs.itt(), itt);
  }

  // Logs in with an 8 KiB receive buffer, takes the unit attention, and sends `count` READs
  // of 128 KiB (ITTs from `first_itt`): their Data-In fills the socket and waits for room.
  void login_and_read_into_a_small_buffer(uint32_t first_itt, uint32_t count) {
    int small = 8 << 10;
    ASSERT_EQ(::setsockopt(client_.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    login();
    clear_unit_attention();
    for (uint32_t i = 0; i < count; ++i)
      send_pdu(read_command(first_itt + i, 256));
  }

  // Takes the power-on unit attention, which the first command to the LU reports.
  void clear_unit_attention() {
    send_pdu(read_command(99, 1));
    for (;;) {
      const auto pdu = receive();
      ASSERT_TRUE(pdu.has_value());
      if (pdu->bhs.opcode() == Opcode::kScsiResponse) return;
      if (pdu->bhs.opcode() == Opcode::kDataIn && (pdu->bhs.bytes[1] & 0x01) != 0) return;
    }
  }

  // READ(10) / WRITE(10) of `blocks` 512-byte blocks from LBA 0, F set, no immediate data.
  Bhs rw_command(uint32_t itt, uint64_t lun, uint16_t blocks, bool write) {
    Bhs h;
    h.set_opcode(Opcode::kScsiCommand);
    h.bytes[1] = 0x80 | (write ? 0x20 : 0x40) | 0x01;  // F, W or R, SIMPLE
    h.set_lun(lun);
    h.set_itt(itt);
    h.set32(20, blocks * 512u);
    h.set32(24, next_cmd_sn_++);
    h.bytes[32] = write ? 0x2a : 0x28;
    base::store_be16(&h.bytes[39], blocks);
    return h;
  }
  Bhs read_command(uint32_t itt, uint16_t blocks) { return rw_command(itt, 0, blocks, false); }
  Bhs write_command(uint32_t itt, uint64_t lun, uint16_t blocks) {
    return rw_command(itt, lun, blocks, true);
  }

  std::unique_ptr<reactor::ReactorGroup> group_;
  std::shared_ptr<ServerShared> shared_;
  base::UniqueFd client_;
  uint32_t next_cmd_sn_ = 1;
};

TEST_P(ConnectionTest, LoginThenPing) {
  login();
  expect_alive(7);
}

// pdu_fuzz: a Login Request in the full feature phase reached the login machine, which is
// gone by then (null pointer call). It is rejected (protocol error); the session goes on.
TEST_P(ConnectionTest, LoginRequestInFullFeaturePhaseIsRejected) {
  login();
  send_pdu(login_request(1), login_keys());
  const auto reject = receive();
  ASSERT_TRUE(reject.has_value());
  ASSERT_EQ(reject->bhs.opcode(), Opcode::kReject);
  EXPECT_EQ(reject->bhs.bytes[2], uint8_t(RejectReason::kProtocolError));
  ASSERT_EQ(reject->data.size(), kBhsLength);  // the rejected header comes back
  EXPECT_EQ(Opcode(reject->data[0] & 0x3f), Opcode::kLoginRequest);
  expect_alive(8);
}

// pdu_fuzz: a WRITE to a LUN without a logical unit joins no task set and waits for its
// Data-Out; when the initiator went away instead, the connection counted it as held by the
// SCSI layer for ever and was never dropped (a leak per connection). TearDown checks the
// drop.
TEST_P(ConnectionTest, WriteToUnmappedLunWaitingForDataDoesNotKeepTheConnection) {
  login();
  send_pdu(write_command(3, scsi::encode_lun(7), 2));
  const auto r2t = receive();
  ASSERT_TRUE(r2t.has_value());
  EXPECT_EQ(r2t->bhs.opcode(), Opcode::kR2t);
}

// The same task aborted: ABORT TASK waits for the Data-Out the R2T asked for, then answers
// FUNCTION COMPLETE; it used to wait for a completion that could never come.
TEST_P(ConnectionTest, AbortTaskOfWriteToUnmappedLunIsAnswered) {
  login();
  const uint64_t lun = scsi::encode_lun(7);
  send_pdu(write_command(3, lun, 2));
  const auto r2t = receive();
  ASSERT_TRUE(r2t.has_value());
  ASSERT_EQ(r2t->bhs.opcode(), Opcode::kR2t);
  Bhs tmf;
  tmf.set_opcode(Opcode::kTaskManagementRequest, true);
  tmf.bytes[1] = 0x80 | 0x01;  // ABORT TASK
  tmf.set_lun(lun);
  tmf.set_itt(4);
  tmf.set32(20, 3);  // referenced task tag
  tmf.set32(24, next_cmd_sn_);
  tmf.set32(32, next_cmd_sn_ - 1);  // RefCmdSN
  send_pdu(tmf);
  Bhs data_out;
  data_out.set_opcode(Opcode::kDataOut);
  data_out.bytes[1] = 0x80;
  data_out.set_lun(lun);
  data_out.set_itt(3);
  data_out.set32(20, r2t->bhs.ttt());
  data_out.set32(40, 0);
  send_pdu(data_out, std::vector<uint8_t>(1024, 0x5a));
  std::optional<Pdu> resp;
  do {
    resp = receive();
    ASSERT_TRUE(resp.has_value()) << "no task management response";
  } while (resp->bhs.opcode() != Opcode::kTaskManagementResponse);
  EXPECT_EQ(resp->bhs.itt(), 4u);
  EXPECT_EQ(resp->bhs.bytes[2], 0) << "FUNCTION COMPLETE";
  expect_alive(9);
}

// Responses larger than the socket buffer while the initiator reads slowly: every Data-In
// arrives whole and in order (sends continued after partial transfers and EAGAIN).
TEST_P(ConnectionTest, LargeReadsArriveInOrderThroughAFullSocket) {
  constexpr uint32_t kCommands = 8;
  login_and_read_into_a_small_buffer(100, kCommands);
  std::this_thread::sleep_for(20ms);  // let the target fill the socket
  uint32_t next_itt = 100;
  uint32_t expected_offset = 0;
  uint32_t completed = 0;
  while (completed < kCommands) {
    const auto pdu = receive();
    ASSERT_TRUE(pdu.has_value()) << "after " << completed << " commands";
    ASSERT_EQ(pdu->bhs.opcode(), Opcode::kDataIn);
    ASSERT_EQ(pdu->bhs.itt(), next_itt) << "responses out of order";
    ASSERT_EQ(base::load_be32(&pdu->bhs.bytes[40]), expected_offset);
    expected_offset += uint32_t(pdu->data.size());
    if ((pdu->bhs.bytes[1] & 0x01) != 0) {  // S: status in the last Data-In
      EXPECT_EQ(expected_offset, 256u * 512u);
      expected_offset = 0;
      ++next_itt;
      ++completed;
    }
  }
  expect_alive(9);
}

// The initiator stops reading with responses queued behind a full socket and goes away: the
// connection closes and is dropped, and nothing touches the freed buffers (ASan). TearDown
// checks the drop.
TEST_P(ConnectionTest, InitiatorGoneWithResponsesQueued) {
  login_and_read_into_a_small_buffer(200, 16);
  std::this_thread::sleep_for(50ms);
}

// The same, but the target closes first (a protocol error while responses wait for room in
// the socket): the queued PDUs and their tasks go with the connection.
TEST_P(ConnectionTest, ProtocolErrorWithResponsesQueued) {
  login_and_read_into_a_small_buffer(300, 16);
  std::this_thread::sleep_for(50ms);
  Bhs bad;
  bad.set_opcode(Opcode::kScsiCommand);
  bad.set_data_segment_length(8u << 20);  // beyond MaxRecvDataSegmentLength
  ASSERT_EQ(::send(client_.get(), bad.bytes.data(), kBhsLength, MSG_NOSIGNAL), ssize_t(kBhsLength));
  EXPECT_TRUE(dropped_within(5s)) << "the connection stayed after the protocol error";
}

std::string backend_name(const ::testing::TestParamInfo<reactor::IoBackend>& p) {
  return p.param == reactor::IoBackend::kUring ? "Uring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, ConnectionTest,
                         ::testing::Values(reactor::IoBackend::kUring, reactor::IoBackend::kEpoll),
                         backend_name);

}  // namespace
}  // namespace stgt::iscsi
