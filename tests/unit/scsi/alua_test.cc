#include "scsi/alua.h"

#include <gtest/gtest.h>

#include <memory>

#include "fakes.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/lun.h"
#include "scsi/scsi_layer.h"
#include "scsi/target.h"

namespace stgt::scsi {
namespace {

// A table whose entries carry the ALUA masks the real tables use (SPC-5 5.16.2.4).
inline constexpr std::array<ServiceAction, 1> kMaintenanceIn{{
    {0x0a, test::good_handler, "RTPG", 12, DataDirection::kIn, {0xa3, 0x0a}, kAluaAllowAll},
}};
inline constexpr std::array<ServiceAction, 1> kMaintenanceOut{{
    {0x0a, test::good_handler, "STPG", 12, DataDirection::kOut, {0xa4, 0x0a},
     kAluaAllowStandby | kAluaAllowUnavailable},
}};
constexpr OpcodeTable kTable = [] {
  OpcodeTable t{};
  t[0x00] = {test::good_handler, "TEST UNIT READY", 6};
  t[0x12] = {test::good_handler, "INQUIRY", 6, DataDirection::kIn, true, true,
             conflict::kAlwaysAllowed, kAluaAllowAll};
  t[0x1a] = {test::good_handler, "MODE SENSE (6)", 6, DataDirection::kIn, false, true,
             conflict::kAlwaysAllowed, kAluaAllowStandby};
  t[0x28] = {test::good_handler, "READ (10)", 10, DataDirection::kIn};
  t[0xa3].name = "MAINTENANCE IN";
  t[0xa3].cdb_length = 12;
  t[0xa3].service_actions = kMaintenanceIn;
  t[0xa4].name = "MAINTENANCE OUT";
  t[0xa4].cdb_length = 12;
  t[0xa4].service_actions = kMaintenanceOut;
  return t;
}();
constexpr DeviceType kType{0x00, "alua-test", &kTable};

void drain(ItNexus& n) {
  for (const uint32_t lun : n.target().lun_numbers(true)) {
    while (n.pop_unit_attention(lun) != SenseReason::kNone) {
    }
  }
}

std::vector<TargetPortGroupSpec> two_groups() {
  return {{.id = 1, .relative_port_ids = {1}, .state = AluaState::kActiveOptimized,
           .preferred = true},
          {.id = 2, .relative_port_ids = {2, 3}, .state = AluaState::kStandby}};
}

TEST(AluaGroups, DefaultIsOneActiveGroupOfEveryPort) {
  const AluaGroups g({}, {1, 2}, false);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g.at(0).id(), 1);
  EXPECT_EQ(g.at(0).state(), AluaState::kActiveOptimized);
  EXPECT_EQ(g.group_of_port(2).id(), 1);
  EXPECT_EQ(g.tpgs(), 0x1);  // implicit only
  EXPECT_FALSE(g.explicit_allowed());
}

TEST(AluaGroups, PortsMapToTheirGroup) {
  const AluaGroups g(two_groups(), {1, 2, 3}, true);
  EXPECT_EQ(g.group_of_port(1).id(), 1);
  EXPECT_EQ(g.group_of_port(3).id(), 2);
  EXPECT_EQ(g.find(2)->state(), AluaState::kStandby);
  EXPECT_EQ(g.find(9), nullptr);
  EXPECT_EQ(g.tpgs(), 0x3);
}

TEST(AluaState, NamesRoundTrip) {
  for (const AluaState s : {AluaState::kActiveOptimized, AluaState::kActiveNonOptimized,
                            AluaState::kStandby, AluaState::kUnavailable,
                            AluaState::kTransitioning}) {
    EXPECT_EQ(parse_alua_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_alua_state("offline").has_value());
}

class AluaGateTest : public ::testing::Test {
 protected:
  AluaGateTest() {
    lu_ = std::make_shared<LogicalUnit>(kType, nullptr, LuIdentity{}, LuSettings{});
    target_ = std::make_shared<Target>("iqn.x", "");
    target_->add_lun(0, lu_);
    target_->set_alua(std::make_shared<AluaGroups>(two_groups(), std::vector<uint16_t>{1, 2, 3},
                                                   true));
    active_ = std::make_shared<ItNexus>(target_, "iqn.a", "a", TargetPort{1, 1, 1});
    standby_ = std::make_shared<ItNexus>(target_, "iqn.b", "b", TargetPort{2, 2, 2});
    drain(*active_);
    drain(*standby_);
    target_->registry().add(active_);
    target_->registry().add(standby_);
  }

  std::unique_ptr<Command> run(ItNexus& n, std::initializer_list<uint8_t> cdb) {
    auto c = std::make_unique<Command>();
    std::copy(cdb.begin(), cdb.end(), c->cdb.begin());
    c->cdb_length = uint8_t(cdb.size());
    c->lun = encode_lun(0);
    c->nexus = &n;
    c->owner = &owner_;
    c->pool = &pool_;
    c->expected_in_length = 255;
    submit(*c);
    return c;
  }

  static SenseCode sense(const Command& c) {
    return {SenseKey(c.sense[2] & 0x0f), c.sense[12], c.sense[13]};
  }

  base::BufferPool pool_;
  std::shared_ptr<LogicalUnit> lu_;
  std::shared_ptr<Target> target_;
  std::shared_ptr<ItNexus> active_;
  std::shared_ptr<ItNexus> standby_;
  test::CountingOwner owner_;
};

TEST_F(AluaGateTest, NexusSeesTheStateOfItsPortsGroup) {
  EXPECT_EQ(active_->port_group().id(), 1);
  EXPECT_EQ(standby_->port_group().id(), 2);
  EXPECT_EQ(active_->alua_state(), AluaState::kActiveOptimized);
  EXPECT_EQ(standby_->alua_state(), AluaState::kStandby);
}

// SPC-5 5.16.2.4.4: in standby only the listed commands run; the rest get NOT READY,
// LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
TEST_F(AluaGateTest, StandbyRunsOnlyWhatTheTableAllows) {
  auto tur = run(*standby_, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(tur->status, Status::kCheckCondition);
  EXPECT_EQ(sense(*tur).key, SenseKey::kNotReady);
  EXPECT_EQ(sense(*tur).asc, 0x04);
  EXPECT_EQ(sense(*tur).ascq, 0x0b);
  EXPECT_EQ(run(*standby_, {0x12, 0, 0, 0, 36, 0})->status, Status::kGood);
  EXPECT_EQ(run(*standby_, {0x1a, 0, 0x3f, 0, 255, 0})->status, Status::kGood);
  EXPECT_EQ(run(*standby_, {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})->status, Status::kGood);
  EXPECT_EQ(run(*standby_, {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})->status, Status::kGood);
  EXPECT_EQ(run(*active_, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0})->status, Status::kGood);
}

TEST_F(AluaGateTest, UnavailableAndTransitioningHaveTheirOwnCodes) {
  target_->alua().find(2)->set_state(AluaState::kUnavailable, AluaStatusCode::kChangedImplicitly);
  auto ms = run(*standby_, {0x1a, 0, 0x3f, 0, 255, 0});  // MODE SENSE: standby only
  EXPECT_EQ(sense(*ms).ascq, 0x0c);
  EXPECT_EQ(run(*standby_, {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})->status, Status::kGood);
  target_->alua().find(2)->set_state(AluaState::kTransitioning,
                                     AluaStatusCode::kChangedImplicitly);
  auto stpg = run(*standby_, {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(sense(*stpg).ascq, 0x0a);  // ASYMMETRIC ACCESS STATE TRANSITION
  EXPECT_EQ(run(*standby_, {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})->status, Status::kGood);
  EXPECT_EQ(run(*standby_, {0x12, 0, 0, 0, 36, 0})->status, Status::kGood);
}

// SPC-5 5.16.2.6: a change through SET TARGET PORT GROUPS gives every other nexus the UA; an
// implicit change (the control plane) gives it to every nexus. The UA comes before the
// state's own refusal.
TEST_F(AluaGateTest, ChangeQueuesAsymmetricAccessStateChanged) {
  ASSERT_TRUE(change_alua_state(*target_, 2, AluaState::kActiveNonOptimized,
                                AluaStatusCode::kChangedBySetTargetPortGroups, active_.get()));
  EXPECT_FALSE(active_->has_unit_attention(0));
  EXPECT_EQ(standby_->pop_unit_attention(0), SenseReason::kAsymmetricAccessStateChanged);
  EXPECT_EQ(standby_->alua_state(), AluaState::kActiveNonOptimized);
  EXPECT_EQ(target_->alua().find(2)->status_code(), AluaStatusCode::kChangedBySetTargetPortGroups);

  ASSERT_TRUE(change_alua_state(*target_, 1, AluaState::kStandby,
                                AluaStatusCode::kChangedImplicitly));
  auto tur = run(*active_, {0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(sense(*tur).key, SenseKey::kUnitAttention);
  EXPECT_EQ(sense(*tur).asc, 0x2a);
  EXPECT_EQ(sense(*tur).ascq, 0x06);
  EXPECT_EQ(sense(*run(*active_, {0x00, 0, 0, 0, 0, 0})).ascq, 0x0b);
  EXPECT_TRUE(standby_->has_unit_attention(0));
}

TEST_F(AluaGateTest, NoChangeNoUnitAttentionAndErrors) {
  ASSERT_TRUE(change_alua_state(*target_, 2, AluaState::kStandby,
                                AluaStatusCode::kChangedImplicitly));
  EXPECT_FALSE(standby_->has_unit_attention(0));
  auto missing = change_alua_state(*target_, 7, AluaState::kStandby,
                                   AluaStatusCode::kChangedImplicitly);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), AluaChangeError::kNoSuchGroup);
}

// A republished target keeps the live states (Target::share_runtime_state).
TEST_F(AluaGateTest, ReplacementTargetKeepsStates) {
  target_->alua().find(1)->set_state(AluaState::kUnavailable, AluaStatusCode::kChangedImplicitly);
  Target replacement("iqn.x", "");
  replacement.share_runtime_state(*target_);
  EXPECT_EQ(replacement.alua().find(1)->state(), AluaState::kUnavailable);
}

}  // namespace
}  // namespace stgt::scsi
