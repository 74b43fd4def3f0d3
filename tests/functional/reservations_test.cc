// Persistent reservations across several iSCSI sessions (libiscsi): what one initiator changes
// every other initiator learns through a unit attention; PREEMPT AND ABORT; REGISTER AND MOVE;
// APTPL state across a daemon restart (and a corrupt state file refused whole); a re-login with
// a new ISID keeps the old registration visible.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 4ull << 20;
constexpr int kGood = 0, kCheck = 2, kConflict = 0x18;
constexpr uint8_t kWe = 1, kEa = 3, kWeRo = 5;
// ASC/ASCQ as libiscsi reports them.
constexpr int kReservationsPreempted = 0x2a03, kReservationsReleased = 0x2a04,
              kRegistrationsPreempted = 0x2a05;

using Reply = ScsiReply;

Reply command(IscsiSession& s, std::vector<uint8_t> cdb, std::vector<uint8_t> out = {},
              uint32_t in_length = 0) {
  return send_cdb(s, std::move(cdb), std::move(out), in_length);
}

void put64(std::vector<uint8_t>& v, size_t at, uint64_t x) {
  for (int i = 0; i < 8; ++i) v[at + size_t(i)] = uint8_t(x >> (56 - 8 * i));
}
uint32_t get32(const std::vector<uint8_t>& v, size_t at) {
  return uint32_t(v[at]) << 24 | uint32_t(v[at + 1]) << 16 | uint32_t(v[at + 2]) << 8 | v[at + 3];
}
uint64_t get64(const std::vector<uint8_t>& v, size_t at) {
  return uint64_t(get32(v, at)) << 32 | get32(v, at + 4);
}

Reply prout(IscsiSession& s, uint8_t action, uint8_t type, uint64_t key, uint64_t sa_key,
            uint8_t flags = 0) {
  std::vector<uint8_t> p(24, 0);
  put64(p, 0, key);
  put64(p, 8, sa_key);
  p[20] = flags;
  return command(s, {0x5f, action, type, 0, 0, 0, 0, 0, 24, 0}, p);
}
Reply prin(IscsiSession& s, uint8_t action) {
  return command(s, {0x5e, action, 0, 0, 0, 0, 0, 0x10, 0x00, 0}, {}, 4096);
}
std::vector<uint64_t> keys(IscsiSession& s) {
  const Reply r = prin(s, 0);
  std::vector<uint64_t> out;
  for (size_t at = 8; at + 8 <= r.data.size(); at += 8) out.push_back(get64(r.data, at));
  return out;
}
Reply tur(IscsiSession& s) { return command(s, {0, 0, 0, 0, 0, 0}); }
Reply write1(IscsiSession& s) {
  return command(s, {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::vector<uint8_t>(512, 0x5a));
}
Reply read1(IscsiSession& s) { return command(s, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, 512); }

// The TransportIDs of READ FULL STATUS, keyed by reservation key.
std::vector<std::pair<uint64_t, std::vector<uint8_t>>> full_status(IscsiSession& s) {
  const Reply r = prin(s, 3);
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> out;
  size_t at = 8;
  while (at + 24 <= r.data.size()) {
    const uint32_t len = get32(r.data, at + 20);
    out.emplace_back(get64(r.data, at), std::vector<uint8_t>(r.data.begin() + long(at + 24),
                                                             r.data.begin() + long(at + 24 + len)));
    at += 24 + len;
  }
  return out;
}

std::string tid_text(const std::vector<uint8_t>& tid) {
  return std::string(reinterpret_cast<const char*>(tid.data() + 4));
}

class ReservationsTest : public StgtdTest {
 protected:
  void start() {
    stgtd_.write_config(stgtd_.base_config({stgtd_.file_lun(kLunSize)}));
    ASSERT_TRUE(stgtd_.start({"--var-dir", var_dir()}));
  }
  std::string var_dir() const { return stgtd_.dir() + "/var"; }
  // A session as initiator `n` (iqn...:a, :b, ...) with a fixed ISID when `isid_qualifier` > 0.
  std::unique_ptr<IscsiSession> login(const std::string& n, uint32_t isid_qualifier = 0) {
    auto s = std::make_unique<IscsiSession>("iqn.2026-11.org.stgt.test:" + n);
    if (isid_qualifier > 0) iscsi_set_isid_oui(s->get(), 0x00a0b0, isid_qualifier);
    EXPECT_TRUE(s->login(stgtd_.portal(), kTargetIqn));
    return s;
  }
};

// Every kind of change reaches the other registered initiators as a unit attention.
TEST_F(ReservationsTest, OtherInitiatorsLearnEveryChange) {
  start();
  auto a = login("a"), b = login("b"), c = login("c");
  ASSERT_EQ(prout(*a, 6, 0, 0, 0xa).status, kGood);
  ASSERT_EQ(prout(*b, 6, 0, 0, 0xb).status, kGood);
  ASSERT_EQ(prout(*c, 6, 0, 0, 0xc).status, kGood);

  // RELEASE of a registrants-only reservation: RESERVATIONS RELEASED.
  ASSERT_EQ(prout(*a, 1, kWeRo, 0xa, 0).status, kGood);
  ASSERT_EQ(prout(*a, 2, kWeRo, 0xa, 0).status, kGood);
  for (IscsiSession* s : {b.get(), c.get()}) {
    const Reply r = tur(*s);
    EXPECT_EQ(r.status, kCheck);
    EXPECT_EQ(r.ascq, kReservationsReleased);
    EXPECT_EQ(tur(*s).status, kGood);
  }
  EXPECT_EQ(tur(*a).status, kGood);  // not the issuer

  // Unregistering the holder of a registrants-only reservation releases it: RESERVATIONS
  // RELEASED for the others.
  ASSERT_EQ(prout(*a, 1, kWeRo, 0xa, 0).status, kGood);
  ASSERT_EQ(prout(*a, 0, 0, 0xa, 0).status, kGood);
  for (IscsiSession* s : {b.get(), c.get()}) {
    const Reply u = tur(*s);
    EXPECT_EQ(u.status, kCheck);
    EXPECT_EQ(u.ascq, kReservationsReleased);
  }
  ASSERT_EQ(prout(*a, 6, 0, 0, 0xa).status, kGood);

  // PREEMPT: REGISTRATIONS PREEMPTED for the preempted initiator only.
  ASSERT_EQ(prout(*a, 1, kWe, 0xa, 0).status, kGood);
  ASSERT_EQ(prout(*b, 4, kEa, 0xb, 0xa).status, kGood);
  Reply r = tur(*a);
  EXPECT_EQ(r.status, kCheck);
  EXPECT_EQ(r.ascq, kRegistrationsPreempted);
  // c keeps its registration; the type changed, so the reservation it knew was released.
  r = tur(*c);
  EXPECT_EQ(r.status, kCheck);
  EXPECT_EQ(r.ascq, kReservationsReleased);
  EXPECT_EQ(write1(*a).status, kConflict);
  EXPECT_EQ(read1(*c).status, kConflict);  // exclusive access held by b

  // CLEAR: RESERVATIONS PREEMPTED for every other registrant.
  ASSERT_EQ(prout(*c, 3, 0, 0xc, 0).status, kGood);
  r = tur(*b);
  EXPECT_EQ(r.status, kCheck);
  EXPECT_EQ(r.ascq, kReservationsPreempted);
  EXPECT_EQ(tur(*a).status, kGood);  // a was no longer registered
  EXPECT_TRUE(keys(*a).empty());
  EXPECT_EQ(write1(*a).status, kGood);
}

TEST_F(ReservationsTest, PreemptAndAbort) {
  start();
  auto a = login("a"), b = login("b");
  ASSERT_EQ(prout(*a, 6, 0, 0, 0x1).status, kGood);
  ASSERT_EQ(prout(*a, 1, kEa, 0x1, 0).status, kGood);
  ASSERT_EQ(write1(*a).status, kGood);
  ASSERT_EQ(prout(*b, 6, 0, 0, 0x2).status, kGood);
  EXPECT_EQ(write1(*b).status, kConflict);
  ASSERT_EQ(prout(*b, 5, kEa, 0x2, 0x1).status, kGood);
  EXPECT_EQ(write1(*b).status, kGood);
  const Reply r = write1(*a);
  EXPECT_EQ(r.status, kCheck);
  EXPECT_EQ(r.ascq, kRegistrationsPreempted);
  EXPECT_EQ(write1(*a).status, kConflict);
  EXPECT_EQ(keys(*b), std::vector<uint64_t>{0x2});
}

TEST_F(ReservationsTest, RegisterAndMove) {
  start();
  auto a = login("a"), b = login("b");
  ASSERT_EQ(prout(*a, 6, 0, 0, 0x1).status, kGood);
  ASSERT_EQ(prout(*a, 1, kEa, 0x1, 0).status, kGood);
  // b's TransportID as the target reports it.
  ASSERT_EQ(prout(*b, 6, 0, 0, 0x77).status, kGood);
  std::vector<uint8_t> b_tid;
  for (const auto& [key, tid] : full_status(*a)) {
    if (key == 0x77) b_tid = tid;
  }
  ASSERT_FALSE(b_tid.empty());
  ASSERT_EQ(prout(*b, 0, 0, 0x77, 0).status, kGood);  // b unregisters again
  std::vector<uint8_t> p(24, 0);
  put64(p, 0, 0x1);
  put64(p, 8, 0x2);
  p[17] = 0x02;  // UNREG: a leaves
  p[19] = 1;     // relative target port 1
  p[23] = uint8_t(b_tid.size());
  p.insert(p.end(), b_tid.begin(), b_tid.end());
  const uint8_t len = uint8_t(p.size());
  ASSERT_EQ(command(*a, {0x5f, 7, 0, 0, 0, 0, 0, 0, len, 0}, p).status, kGood);
  EXPECT_EQ(write1(*b).status, kGood);
  EXPECT_EQ(write1(*a).status, kConflict);
  EXPECT_EQ(keys(*a), std::vector<uint64_t>{0x2});
  const Reply res = prin(*a, 1);
  ASSERT_EQ(res.data.size(), 24u);
  EXPECT_EQ(get64(res.data, 8), 0x2u);
  EXPECT_EQ(res.data[21], kEa);
}

TEST_F(ReservationsTest, AptplSurvivesRestartAndCorruptStateIsRefused) {
  start();
  {
    auto a = login("a", 1);
    ASSERT_EQ(prout(*a, 6, 0, 0, 0xabc, 0x01).status, kGood);  // APTPL
    ASSERT_EQ(prout(*a, 1, kWe, 0xabc, 0).status, kGood);
    const Reply caps = prin(*a, 2);
    ASSERT_EQ(caps.data.size(), 8u);
    EXPECT_EQ(caps.data[2] & 0x01, 0x01);  // PTPL_C
    EXPECT_EQ(caps.data[3] & 0x01, 0x01);  // PTPL_A
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(var_dir() + "/pr")) {
    files.push_back(e.path());
  }
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".pr");

  ASSERT_TRUE(stgtd_.stop());
  ASSERT_TRUE(stgtd_.start({"--var-dir", var_dir()}));
  EXPECT_NE(stgtd_.log().find("restored persistent reservations"), std::string::npos);
  {
    auto a = login("a", 1);  // the same initiator port (name and ISID)
    auto b = login("b");
    EXPECT_EQ(keys(*b), std::vector<uint64_t>{0xabc});
    const Reply res = prin(*b, 1);
    ASSERT_EQ(res.data.size(), 24u);
    EXPECT_EQ(get64(res.data, 8), 0xabcu);
    EXPECT_EQ(res.data[21], kWe);
    EXPECT_EQ(write1(*b).status, kConflict);
    EXPECT_EQ(write1(*a).status, kGood);  // still the holder
  }

  // A file that does not verify is refused whole: no half-applied state.
  ASSERT_TRUE(stgtd_.stop());
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('#');
  }
  ASSERT_TRUE(stgtd_.start({"--var-dir", var_dir()}));
  EXPECT_NE(stgtd_.log().find("refusing persistent reservation file"), std::string::npos);
  auto b = login("b");
  EXPECT_TRUE(keys(*b).empty());
  EXPECT_EQ(prin(*b, 1).data.size(), 8u);
  EXPECT_EQ(write1(*b).status, kGood);
}

TEST_F(ReservationsTest, ReloginWithNewIsidKeepsTheKeyVisible) {
  start();
  {
    auto a = login("a", 1);
    ASSERT_EQ(prout(*a, 6, 0, 0, 0x5150).status, kGood);
    ASSERT_EQ(prout(*a, 1, kEa, 0x5150, 0).status, kGood);
    ASSERT_TRUE(a->logout());
  }
  auto a2 = login("a", 2);  // same initiator, another ISID: another I_T nexus
  EXPECT_NE(stgtd_.log().find("another ISID"), std::string::npos) << "the daemon says so";
  EXPECT_EQ(keys(*a2), std::vector<uint64_t>{0x5150});  // not lost
  const auto status = full_status(*a2);
  ASSERT_EQ(status.size(), 1u);
  EXPECT_NE(tid_text(status[0].second).find(",i,0x"), std::string::npos);
  EXPECT_EQ(write1(*a2).status, kConflict);            // not the holder
  EXPECT_EQ(prout(*a2, 1, kEa, 0x5150, 0).status, kConflict);  // not registered
  // The new port registers and takes the reservation over from the old one.
  ASSERT_EQ(prout(*a2, 6, 0, 0, 0x5151).status, kGood);
  ASSERT_EQ(prout(*a2, 4, kEa, 0x5151, 0x5150).status, kGood);
  EXPECT_EQ(keys(*a2), std::vector<uint64_t>{0x5151});
  EXPECT_EQ(write1(*a2).status, kGood);
}

// SPC-2 reservations and medium removal prevention end with the I_T nexus (connection drop).
TEST_F(ReservationsTest, Reserve6EndsWithConnectionDrop) {
  start();
  auto b = login("b");
  {
    // A bare libiscsi context, destroyed without a logout: the connection just goes.
    iscsi_context* a = iscsi_create_context("iqn.2026-11.org.stgt.test:a");
    ASSERT_NE(a, nullptr);
    iscsi_set_targetname(a, kTargetIqn);
    iscsi_set_session_type(a, ISCSI_SESSION_NORMAL);
    ASSERT_EQ(iscsi_full_connect_sync(a, stgtd_.portal().c_str(), 1), 0);
    scsi_task* t = iscsi_reserve6_sync(a, 1);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->status, kGood);
    scsi_free_scsi_task(t);
    EXPECT_EQ(write1(*b).status, kConflict);
    EXPECT_EQ(command(*b, {0x16, 0, 0, 0, 0, 0}).status, kConflict);
    iscsi_destroy_context(a);
  }
  bool released = false;
  for (int i = 0; i < 50 && !released; ++i) {
    released = write1(*b).status == kGood;
    if (!released) usleep(20000);
  }
  EXPECT_TRUE(released);
  EXPECT_EQ(command(*b, {0x16, 0, 0, 0, 0, 0}).status, kGood);
}

}  // namespace
}  // namespace stgt::functional
