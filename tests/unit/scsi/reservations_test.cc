#include "scsi/reservations.h"

#include <gtest/gtest.h>

#include <string>

namespace stgt::scsi {
namespace {

// An I_T nexus for the tests: initiator node "iqn.i<n>", ISID n, target port `rtpi`.
struct Nexus {
  Nexus(int n, uint16_t port_id = 1, uint64_t isid = 0)
      : name("iqn.2026-11.test:i" + std::to_string(n)),
        port(name + ",i,0x" + std::string(12 - std::to_string(isid ? isid : n).size(), '0') +
             std::to_string(isid ? isid : n)),
        id(uint64_t(n) * 100 + isid),
        rtpi(port_id) {}
  Initiator who() const { return Initiator{id, port, name, rtpi}; }
  std::string name;
  std::string port;
  uint64_t id;
  uint16_t rtpi;
};

PrOutRequest req(PrOutAction a, uint64_t key, uint64_t sa_key = 0, uint8_t type = 0) {
  PrOutRequest r;
  r.action = a;
  r.key = key;
  r.sa_key = sa_key;
  r.type = type;
  return r;
}

constexpr uint8_t kWe = 1, kEa = 3, kWeRo = 5, kEaRo = 6, kWeAr = 7, kEaAr = 8;
constexpr auto kRegister = PrOutAction::kRegister;
constexpr auto kIgnore = PrOutAction::kRegisterAndIgnoreExistingKey;
constexpr auto kReserve = PrOutAction::kReserve;
constexpr auto kRelease = PrOutAction::kRelease;
constexpr auto kClear = PrOutAction::kClear;
constexpr auto kPreempt = PrOutAction::kPreempt;
constexpr auto kPreemptAbort = PrOutAction::kPreemptAndAbort;
constexpr auto kMove = PrOutAction::kRegisterAndMove;

Status status(const PrResult& r) { return r.status; }

class PrTest : public ::testing::Test {
 protected:
  PrResult out(const Nexus& n, const PrOutRequest& r) { return res_.out(n.who(), r); }
  void registered(const Nexus& n, uint64_t key) {
    ASSERT_EQ(status(out(n, req(kRegister, 0, key))), Status::kGood);
  }
  bool reads(const Nexus& n) { return res_.allows(n.who(), conflict::kReadsMedium); }
  bool writes(const Nexus& n) { return res_.allows(n.who(), conflict::kWritesMedium); }

  Reservations res_;
  Nexus a_{1}, b_{2}, c_{3};
};

// ---- REGISTER / REGISTER AND IGNORE EXISTING KEY (SPC-5 5.13.7, table 162) ----

TEST_F(PrTest, RegisterUnregisteredNexus) {
  EXPECT_FALSE(res_.held());
  EXPECT_EQ(status(out(a_, req(kRegister, 0, 0xaa))), Status::kGood);
  EXPECT_TRUE(res_.held());
  const PrSnapshot s = res_.snapshot();
  ASSERT_EQ(s.registrations.size(), 1u);
  EXPECT_EQ(s.registrations[0].key, 0xaau);
  EXPECT_EQ(s.generation, 1u);
}

TEST_F(PrTest, RegisterUnregisteredWithNonZeroKeyConflicts) {
  EXPECT_EQ(status(out(a_, req(kRegister, 5, 0xaa))), Status::kReservationConflict);
  EXPECT_FALSE(res_.held());
  EXPECT_EQ(res_.snapshot().generation, 0u);
}

TEST_F(PrTest, RegisterZeroKeyWhenUnregisteredDoesNothing) {
  EXPECT_EQ(status(out(a_, req(kRegister, 0, 0))), Status::kGood);
  EXPECT_FALSE(res_.held());
  EXPECT_EQ(res_.snapshot().generation, 0u);
}

TEST_F(PrTest, ReRegisterNeedsTheCurrentKey) {
  registered(a_, 0xaa);
  EXPECT_EQ(status(out(a_, req(kRegister, 0, 0xbb))), Status::kReservationConflict);
  EXPECT_EQ(status(out(a_, req(kRegister, 0x11, 0xbb))), Status::kReservationConflict);
  EXPECT_EQ(status(out(a_, req(kRegister, 0xaa, 0xbb))), Status::kGood);
  EXPECT_EQ(res_.snapshot().registrations[0].key, 0xbbu);
  EXPECT_EQ(res_.snapshot().generation, 2u);
}

TEST_F(PrTest, IgnoreExistingKeyReplacesAnyKey) {
  registered(a_, 0xaa);
  EXPECT_EQ(status(out(a_, req(kIgnore, 0x999, 0xcc))), Status::kGood);
  EXPECT_EQ(res_.snapshot().registrations[0].key, 0xccu);
  EXPECT_EQ(status(out(b_, req(kIgnore, 0x999, 0xdd))), Status::kGood);
  EXPECT_EQ(res_.snapshot().registrations.size(), 2u);
}

TEST_F(PrTest, UnregisterRemovesAndClearsSummary) {
  registered(a_, 0xaa);
  EXPECT_EQ(status(out(a_, req(kRegister, 0xaa, 0))), Status::kGood);
  EXPECT_FALSE(res_.held());
  EXPECT_TRUE(res_.snapshot().registrations.empty());
  EXPECT_EQ(res_.snapshot().generation, 2u);
}

TEST_F(PrTest, SpecIPtOnRegisteredOrIgnoreIsInvalidParameter) {
  registered(a_, 0xaa);
  PrOutRequest r = req(kRegister, 0xaa, 0xbb);
  r.spec_i_pt = true;
  PrResult got = out(a_, r);
  EXPECT_EQ(got.status, Status::kCheckCondition);
  EXPECT_EQ(got.sense, SenseReason::kInvalidFieldInParameterList);
  r = req(kIgnore, 0, 0xbb);
  r.spec_i_pt = true;
  EXPECT_EQ(out(b_, r).sense, SenseReason::kInvalidFieldInParameterList);
}

TEST_F(PrTest, SpecIPtRegistersEveryNamedPortOrNone) {
  PrOutRequest r = req(kRegister, 0, 0x77);
  r.spec_i_pt = true;
  r.specified_ports = {b_.port, c_.name, a_.port};  // the issuer itself is skipped
  ASSERT_EQ(status(out(a_, r)), Status::kGood);
  PrSnapshot s = res_.snapshot();
  ASSERT_EQ(s.registrations.size(), 3u);
  EXPECT_EQ(s.generation, 1u);
  // c_ was named by iSCSI name only: every ISID of that node is covered.
  const Nexus c_other_isid(3, 1, 0x42);
  EXPECT_EQ(status(out(c_other_isid, req(kReserve, 0x77, 0, kWe))), Status::kGood);
  // Naming a port that is already registered fails the whole list.
  const Nexus d(4);
  r.specified_ports = {Nexus(5).port, b_.port};
  EXPECT_EQ(out(d, r).sense, SenseReason::kInvalidFieldInParameterList);
  EXPECT_EQ(res_.snapshot().registrations.size(), 3u);
}

TEST_F(PrTest, AllTgPtCoversEveryTargetPort) {
  PrOutRequest r = req(kRegister, 0, 0xaa);
  r.all_tg_pt = true;
  ASSERT_EQ(status(out(a_, r)), Status::kGood);
  const Nexus a_port2(1, 2);
  EXPECT_EQ(status(out(a_port2, req(kReserve, 0xaa, 0, kEa))), Status::kGood);
  EXPECT_TRUE(writes(a_));  // the same registration holds through both ports
  EXPECT_FALSE(reads(b_));
}

TEST_F(PrTest, RegistrationIsPerTargetPortWithoutAllTgPt) {
  registered(a_, 0xaa);
  const Nexus a_port2(1, 2);
  EXPECT_EQ(status(out(a_port2, req(kReserve, 0xaa, 0, kWe))), Status::kReservationConflict);
  EXPECT_EQ(status(out(a_port2, req(kRegister, 0, 0xab))), Status::kGood);
  EXPECT_EQ(res_.snapshot().registrations.size(), 2u);
}

TEST_F(PrTest, ANewIsidIsAnotherNexusAndIsReported) {
  registered(a_, 0xaa);
  const Nexus a_relogin(1, 1, 0x99);
  EXPECT_EQ(status(out(a_relogin, req(kReserve, 0xaa, 0, kWe))), Status::kReservationConflict);
  const auto left = res_.registered_elsewhere(a_relogin.who());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, 0xaau);
  EXPECT_EQ(left[0].port, a_.port);
  EXPECT_TRUE(res_.registered_elsewhere(a_.who()).empty());
  EXPECT_TRUE(res_.registered_elsewhere(b_.who()).empty());
}

TEST_F(PrTest, RegistrationResourcesAreBounded) {
  for (size_t i = 0; i < kMaxRegistrations; ++i) registered(Nexus(int(i) + 10), 1);
  PrResult r = out(a_, req(kRegister, 0, 1));
  EXPECT_EQ(r.sense, SenseReason::kInsufficientRegistrationResources);
}

// ---- RESERVE (5.13.9) ----

TEST_F(PrTest, ReserveNeedsRegistrationAndKey) {
  EXPECT_EQ(status(out(a_, req(kReserve, 0, 0, kWe))), Status::kReservationConflict);
  registered(a_, 0xaa);
  EXPECT_EQ(status(out(a_, req(kReserve, 0xab, 0, kWe))), Status::kReservationConflict);
  EXPECT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  EXPECT_EQ(res_.snapshot().generation, 1u);  // RESERVE does not count
  EXPECT_EQ(res_.snapshot().holder_key, 0xaau);
}

TEST_F(PrTest, ReserveRejectsBadScopeAndType) {
  registered(a_, 0xaa);
  PrOutRequest r = req(kReserve, 0xaa, 0, kWe);
  r.scope = 1;
  PrResult got = out(a_, r);
  EXPECT_EQ(got.sense, SenseReason::kInvalidFieldInCdb);
  ASSERT_TRUE(got.field);
  EXPECT_EQ(got.field->byte, 2);
  for (const uint8_t bad : {0, 2, 4, 9, 15}) {
    got = out(a_, req(kReserve, 0xaa, 0, bad));
    EXPECT_EQ(got.sense, SenseReason::kInvalidFieldInCdb) << int(bad);
  }
}

TEST_F(PrTest, ReserveAgainAndConflicts) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  EXPECT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);  // same: no-op
  EXPECT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEa))), Status::kReservationConflict);
  EXPECT_EQ(status(out(b_, req(kReserve, 0xbb, 0, kWe))), Status::kReservationConflict);
}

TEST_F(PrTest, AllRegistrantsEveryRegistrantHolds) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEaAr))), Status::kGood);
  EXPECT_EQ(status(out(b_, req(kReserve, 0xbb, 0, kEaAr))), Status::kGood);
  EXPECT_EQ(res_.snapshot().holder_key, 0u);  // reported as zero (6.16.3)
  const PrSnapshot s = res_.snapshot();
  EXPECT_TRUE(s.full[0].holder && s.full[1].holder);
}

// ---- access rules: SPC-5 5.13.10 / table 67, one case per type ----

struct AccessCase {
  uint8_t type;
  bool reg_read, reg_write, unreg_read, unreg_write;
};

class PrAccess : public PrTest, public ::testing::WithParamInterface<AccessCase> {};

TEST_P(PrAccess, HolderRegisteredAndUnregistered) {
  const AccessCase c = GetParam();
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, c.type))), Status::kGood);
  EXPECT_TRUE(reads(a_));
  EXPECT_TRUE(writes(a_));
  EXPECT_EQ(reads(b_), c.reg_read);
  EXPECT_EQ(writes(b_), c.reg_write);
  EXPECT_EQ(reads(c_), c.unreg_read);
  EXPECT_EQ(writes(c_), c.unreg_write);
  EXPECT_TRUE(res_.allows(c_.who(), conflict::kAlwaysAllowed));
  EXPECT_TRUE(res_.allows(c_.who(), conflict::kPersistentAllowed));
}

INSTANTIATE_TEST_SUITE_P(Types, PrAccess,
                         ::testing::Values(AccessCase{kWe, true, false, true, false},
                                           AccessCase{kEa, false, false, false, false},
                                           AccessCase{kWeRo, true, true, true, false},
                                           AccessCase{kEaRo, true, true, false, false},
                                           AccessCase{kWeAr, true, true, true, false},
                                           AccessCase{kEaAr, true, true, false, false}));

TEST_F(PrTest, RegistrationsAloneRestrictNothing) {
  registered(a_, 0xaa);
  EXPECT_TRUE(res_.held());
  EXPECT_TRUE(writes(b_));
}

// ---- RELEASE (5.13.11.2) ----

TEST_F(PrTest, ReleaseRules) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  EXPECT_EQ(status(out(a_, req(kRelease, 0xaa, 0, kWe))), Status::kGood);  // nothing held
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  EXPECT_EQ(status(out(b_, req(kRelease, 0xbb, 0, kWe))), Status::kGood);  // not the holder
  EXPECT_TRUE(res_.snapshot().type.has_value());
  EXPECT_EQ(status(out(b_, req(kRelease, 0xaa, 0, kWe))), Status::kReservationConflict);
  EXPECT_EQ(out(a_, req(kRelease, 0xaa, 0, kEa)).sense,
            SenseReason::kInvalidReleaseOfPersistentReservation);
  const PrResult r = out(a_, req(kRelease, 0xaa, 0, kWe));
  EXPECT_EQ(r.status, Status::kGood);
  EXPECT_TRUE(r.notices.empty());  // no UA for WE / EA types
  EXPECT_FALSE(res_.snapshot().type.has_value());
  EXPECT_EQ(res_.snapshot().generation, 2u);
}

TEST_F(PrTest, ReleaseOfRegistrantsOnlyTellsTheOthers) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  registered(c_, 0xcc);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWeRo))), Status::kGood);
  const PrResult r = out(a_, req(kRelease, 0xaa, 0, kWeRo));
  ASSERT_EQ(r.notices.size(), 2u);
  for (const Notice& n : r.notices) {
    EXPECT_EQ(n.reason, SenseReason::kReservationsReleased);
    EXPECT_NE(n.to.port, a_.port);
  }
}

TEST_F(PrTest, UnregisteringTheHolderReleases) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEaRo))), Status::kGood);
  const PrResult r = out(a_, req(kRegister, 0xaa, 0));
  EXPECT_FALSE(res_.snapshot().type.has_value());
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].reason, SenseReason::kReservationsReleased);
  EXPECT_EQ(r.notices[0].to.port, b_.port);
}

TEST_F(PrTest, AllRegistrantsReservationEndsWithTheLastRegistrant) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWeAr))), Status::kGood);
  ASSERT_EQ(status(out(a_, req(kRegister, 0xaa, 0))), Status::kGood);
  EXPECT_TRUE(res_.snapshot().type.has_value());  // b_ still holds it
  ASSERT_EQ(status(out(b_, req(kRegister, 0xbb, 0))), Status::kGood);
  EXPECT_FALSE(res_.snapshot().type.has_value());
  EXPECT_FALSE(res_.held());
}

// ---- CLEAR (5.13.11.3) ----

TEST_F(PrTest, ClearRemovesEverythingAndTellsOthers) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEa))), Status::kGood);
  EXPECT_EQ(status(out(c_, req(kClear, 0xcc))), Status::kReservationConflict);
  EXPECT_EQ(status(out(b_, req(kClear, 0xaa))), Status::kReservationConflict);
  const PrResult r = out(b_, req(kClear, 0xbb));
  ASSERT_EQ(r.status, Status::kGood);
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].to.port, a_.port);
  EXPECT_EQ(r.notices[0].reason, SenseReason::kReservationsPreempted);
  EXPECT_FALSE(res_.held());
  EXPECT_EQ(res_.snapshot().generation, 3u);
}

// ---- PREEMPT / PREEMPT AND ABORT (5.13.11.4) ----

TEST_F(PrTest, PreemptWithoutReservationRemovesRegistrations) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  const uint32_t gen = res_.snapshot().generation;
  EXPECT_EQ(status(out(b_, req(kPreempt, 0xbb, 0x99, kEa))), Status::kReservationConflict);
  EXPECT_EQ(out(b_, req(kPreempt, 0xbb, 0, kEa)).sense, SenseReason::kInvalidFieldInParameterList);
  const PrResult r = out(b_, req(kPreempt, 0xbb, 0xaa, kEa));
  ASSERT_EQ(r.status, Status::kGood);
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].reason, SenseReason::kRegistrationsPreempted);
  EXPECT_EQ(r.notices[0].to.port, a_.port);
  const PrSnapshot s = res_.snapshot();
  ASSERT_EQ(s.registrations.size(), 1u);
  EXPECT_EQ(s.registrations[0].key, 0xbbu);
  EXPECT_EQ(s.generation, gen + 1);
  EXPECT_FALSE(s.type.has_value());
}

TEST_F(PrTest, PreemptTheHolderTakesTheReservation) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  registered(c_, 0xcc);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  const PrResult r = out(b_, req(kPreemptAbort, 0xbb, 0xaa, kEaRo));
  ASSERT_EQ(r.status, Status::kGood);
  ASSERT_EQ(r.preempted.size(), 1u);
  EXPECT_EQ(r.preempted[0].port, a_.port);
  // a_ lost its registration; c_ is told the reservation it knew was released (type changed).
  ASSERT_EQ(r.notices.size(), 2u);
  EXPECT_EQ(r.notices[0].reason, SenseReason::kRegistrationsPreempted);
  EXPECT_EQ(r.notices[1].reason, SenseReason::kReservationsReleased);
  EXPECT_EQ(r.notices[1].to.port, c_.port);
  const PrSnapshot s = res_.snapshot();
  EXPECT_EQ(s.type, PrType::kExclusiveAccessRegistrantsOnly);
  EXPECT_EQ(s.holder_key, 0xbbu);
  EXPECT_FALSE(reads(a_));
  EXPECT_TRUE(writes(c_));
}

TEST_F(PrTest, PreemptNonHolderKeyLeavesReservation) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  registered(c_, 0xcc);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  EXPECT_EQ(out(b_, req(kPreempt, 0xbb, 0, kWe)).sense, SenseReason::kInvalidFieldInParameterList);
  ASSERT_EQ(status(out(b_, req(kPreempt, 0xbb, 0xcc, kWe))), Status::kGood);
  EXPECT_EQ(res_.snapshot().holder_key, 0xaau);
  EXPECT_EQ(res_.snapshot().registrations.size(), 2u);
}

TEST_F(PrTest, PreemptOwnReservationChangesType) {
  registered(a_, 0xaa);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  ASSERT_EQ(status(out(a_, req(kPreempt, 0xaa, 0xaa, kEa))), Status::kGood);
  EXPECT_EQ(res_.snapshot().type, PrType::kExclusiveAccess);
  EXPECT_EQ(res_.snapshot().registrations.size(), 1u);  // the issuer keeps its registration
}

TEST_F(PrTest, PreemptAllRegistrantsWithZeroKey) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  registered(c_, 0xcc);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWeAr))), Status::kGood);
  const PrResult r = out(b_, req(kPreempt, 0xbb, 0, kEa));
  ASSERT_EQ(r.status, Status::kGood);
  EXPECT_EQ(r.preempted.size(), 2u);
  const PrSnapshot s = res_.snapshot();
  ASSERT_EQ(s.registrations.size(), 1u);
  EXPECT_EQ(s.type, PrType::kExclusiveAccess);
  EXPECT_EQ(s.holder_key, 0xbbu);
}

TEST_F(PrTest, PreemptRejectsBadTypeWhileReserved) {
  registered(a_, 0xaa);
  registered(b_, 0xbb);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWe))), Status::kGood);
  EXPECT_EQ(out(b_, req(kPreempt, 0xbb, 0xaa, 2)).sense, SenseReason::kInvalidFieldInCdb);
}

// ---- REGISTER AND MOVE (5.13.8) ----

TEST_F(PrTest, RegisterAndMove) {
  registered(a_, 0xaa);
  PrOutRequest mv = req(kMove, 0xaa, 0xbb);
  mv.move_port = b_.port;
  mv.move_relative_port_id = 1;
  EXPECT_EQ(status(out(a_, mv)), Status::kReservationConflict);  // nothing reserved
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEa))), Status::kGood);
  EXPECT_EQ(status(out(b_, mv)), Status::kReservationConflict);  // not registered
  PrOutRequest self = mv;
  self.move_port = a_.port;
  EXPECT_EQ(out(a_, self).sense, SenseReason::kInvalidFieldInParameterList);
  PrOutRequest zero = mv;
  zero.sa_key = 0;
  EXPECT_EQ(out(a_, zero).sense, SenseReason::kInvalidFieldInParameterList);
  mv.unreg = true;
  ASSERT_EQ(status(out(a_, mv)), Status::kGood);
  const PrSnapshot s = res_.snapshot();
  ASSERT_EQ(s.registrations.size(), 1u);
  EXPECT_EQ(s.registrations[0].port, b_.port);
  EXPECT_EQ(s.holder_key, 0xbbu);
  EXPECT_EQ(s.type, PrType::kExclusiveAccess);
  EXPECT_TRUE(writes(b_));
  EXPECT_FALSE(reads(a_));
}

TEST_F(PrTest, RegisterAndMoveRefusedForAllRegistrants) {
  registered(a_, 0xaa);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kWeAr))), Status::kGood);
  PrOutRequest mv = req(kMove, 0xaa, 0xbb);
  mv.move_port = b_.port;
  mv.move_relative_port_id = 1;
  EXPECT_EQ(status(out(a_, mv)), Status::kReservationConflict);
}

// ---- SPC-2 RESERVE / RELEASE and their interplay (SPC-5 5.13.3) ----

TEST_F(PrTest, Spc2ReserveRelease) {
  EXPECT_EQ(res_.reserve6(a_.who()), Status::kGood);
  EXPECT_EQ(res_.reserve6(a_.who()), Status::kGood);
  EXPECT_TRUE(res_.held());
  EXPECT_EQ(res_.reserve6(b_.who()), Status::kReservationConflict);
  EXPECT_FALSE(res_.allows(b_.who(), conflict::kPersistentAllowed));
  EXPECT_TRUE(res_.allows(b_.who(), conflict::kAlwaysAllowed));
  EXPECT_TRUE(res_.allows(a_.who(), conflict::kWritesMedium));
  EXPECT_EQ(res_.release6(b_.who()), Status::kGood);  // not the holder: no effect
  EXPECT_EQ(res_.reserve6(b_.who()), Status::kReservationConflict);
  EXPECT_EQ(res_.release6(a_.who()), Status::kGood);
  EXPECT_FALSE(res_.held());
  EXPECT_EQ(res_.reserve6(b_.who()), Status::kGood);
}

TEST_F(PrTest, Spc2EndsWithItsNexusAndWithLuReset) {
  ASSERT_EQ(res_.reserve6(a_.who()), Status::kGood);
  res_.nexus_lost(b_.id);
  EXPECT_TRUE(res_.held());
  res_.nexus_lost(a_.id);
  EXPECT_FALSE(res_.held());
  ASSERT_EQ(res_.reserve6(a_.who()), Status::kGood);
  res_.lu_reset();
  EXPECT_FALSE(res_.held());
}

TEST_F(PrTest, ReserveSixConflictsWhileRegistered) {
  registered(b_, 0xbb);
  EXPECT_EQ(res_.reserve6(a_.who()), Status::kReservationConflict);
  EXPECT_EQ(res_.reserve6(b_.who()), Status::kReservationConflict);
  EXPECT_EQ(res_.release6(b_.who()), Status::kGood);
  EXPECT_EQ(res_.snapshot().registrations.size(), 1u);
}

TEST_F(PrTest, PersistentStateSurvivesNexusLossAndLuReset) {
  registered(a_, 0xaa);
  ASSERT_EQ(status(out(a_, req(kReserve, 0xaa, 0, kEa))), Status::kGood);
  res_.nexus_lost(a_.id);
  res_.lu_reset();
  EXPECT_EQ(res_.snapshot().type, PrType::kExclusiveAccess);
  EXPECT_FALSE(reads(b_));
}

// ---- APTPL (5.13.5) ----

struct Saved {
  std::vector<std::string> images;
  bool fail = false;
};
bool save(void* ctx, std::string_view image) {
  auto* s = static_cast<Saved*>(ctx);
  if (s->fail) return false;
  s->images.emplace_back(image);
  return true;
}

TEST_F(PrTest, AptplImageFollowsEveryChangeAndRestores) {
  Saved saved;
  PrOutRequest r = req(kRegister, 0, 0xaa);
  r.aptpl = true;
  r.all_tg_pt = true;
  ASSERT_EQ(res_.out(a_.who(), r, save, &saved).status, Status::kGood);
  ASSERT_EQ(res_.out(b_.who(), req(kRegister, 0, 0xbb), save, &saved).status, Status::kGood);
  // b_'s REGISTER with APTPL=0 switched persistence off: the image is removed.
  ASSERT_EQ(saved.images.size(), 2u);
  EXPECT_TRUE(saved.images.back().empty());
  r = req(kRegister, 0xbb, 0xbc);
  r.aptpl = true;
  ASSERT_EQ(res_.out(b_.who(), r, save, &saved).status, Status::kGood);
  ASSERT_EQ(res_.out(b_.who(), req(kReserve, 0xbc, 0, kWeRo), save, &saved).status,
            Status::kGood);
  const std::string image = saved.images.back();
  ASSERT_FALSE(image.empty());

  Reservations restored;
  ASSERT_TRUE(restored.restore(image));
  const PrSnapshot s = restored.snapshot();
  EXPECT_TRUE(s.aptpl);
  ASSERT_EQ(s.registrations.size(), 2u);
  EXPECT_TRUE(s.registrations[0].all_tg_pt);
  EXPECT_EQ(s.type, PrType::kWriteExclusiveRegistrantsOnly);
  EXPECT_EQ(s.holder_key, 0xbcu);
  EXPECT_EQ(s.generation, res_.snapshot().generation);
  EXPECT_TRUE(restored.held());
  EXPECT_FALSE(restored.allows(c_.who(), conflict::kWritesMedium));
}

TEST_F(PrTest, AptplWriteFailureUndoesTheChange) {
  Saved saved;
  PrOutRequest r = req(kRegister, 0, 0xaa);
  r.aptpl = true;
  ASSERT_EQ(res_.out(a_.who(), r, save, &saved).status, Status::kGood);
  saved.fail = true;
  const PrResult got = res_.out(a_.who(), req(kReserve, 0xaa, 0, kEa), save, &saved);
  EXPECT_EQ(got.sense, SenseReason::kInsufficientRegistrationResources);
  EXPECT_FALSE(res_.snapshot().type.has_value());
  EXPECT_EQ(res_.snapshot().generation, 1u);
}

TEST(PrImage, TornOrCorruptImagesAreRefusedWhole) {
  const std::vector<Registration> regs = {{0xaa, "iqn.x,i,0x000000000001", 1, false, 1}};
  const std::string good = Reservations::encode(7, regs, PrType::kExclusiveAccess, 0);
  Reservations r;
  ASSERT_TRUE(r.restore(good));
  EXPECT_EQ(r.snapshot().generation, 7u);

  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 3),                    // torn in the crc line
      good.substr(0, good.find("reg")),                   // torn before the crc line
      std::string(good).replace(good.find("aa"), 2, "ab"),  // a flipped byte
      "stgt-pr 2\ncrc32c 00000000\n",
  };
  for (const std::string& image : bad) {
    Reservations fresh;
    const auto got = fresh.restore(image);
    EXPECT_FALSE(got) << image;
    EXPECT_FALSE(fresh.held());
    EXPECT_FALSE(got ? false : got.error().empty());
  }
  // A holder index that names no registration is refused even with a valid checksum.
  const std::string dangling = Reservations::encode(1, regs, PrType::kWriteExclusive, 3);
  Reservations fresh;
  EXPECT_FALSE(fresh.restore(dangling));
  EXPECT_FALSE(fresh.held());
}

}  // namespace
}  // namespace stgt::scsi
