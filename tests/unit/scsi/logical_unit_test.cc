#include "scsi/logical_unit.h"

#include <gtest/gtest.h>

#include <string>

#include "backing/null/null_store.h"
#include "fakes.h"

namespace stgt::scsi {
namespace {

TEST(LogicalUnit, Geometry) {
  LogicalUnit lu(test::kFakeType, std::make_unique<test::FakeStore>(4096 * 3 + 7), {},
                 LuSettings{.block_size = 4096});
  EXPECT_EQ(lu.num_blocks(), 3u);
  LogicalUnit none(test::kFakeType, nullptr, {}, {});
  EXPECT_EQ(none.num_blocks(), 0u);
}

// Live resize: the capacity follows the store; a failure changes nothing.
TEST(LogicalUnit, ResizeFollowsTheStoreOrChangesNothing) {
  LogicalUnit lu(test::kFakeType, std::make_unique<backing::NullStore>(4096 * 4), {},
                 LuSettings{.block_size = 4096});
  ASSERT_TRUE(bool(lu.resize(4096 * 10 + 100)));
  EXPECT_EQ(lu.num_blocks(), 10u);
  EXPECT_EQ(lu.store()->size(), 4096u * 10 + 100);
  ASSERT_TRUE(bool(lu.resize(4096 * 2)));
  EXPECT_EQ(lu.num_blocks(), 2u);
  const auto tiny = lu.resize(100);
  ASSERT_FALSE(bool(tiny));
  EXPECT_EQ(tiny.error(), "the new size holds less than one 4096-byte block");
  EXPECT_EQ(lu.num_blocks(), 2u);

  LogicalUnit fixed(test::kFakeType, std::make_unique<test::FakeStore>(4096 * 4), {},
                    LuSettings{.block_size = 4096});
  for (const uint64_t bytes : {uint64_t{4096} * 8, uint64_t{4096}}) {
    const auto r = fixed.resize(bytes);
    ASSERT_FALSE(bool(r));
    EXPECT_NE(r.error().find("cannot be resized live"), std::string::npos) << r.error();
    EXPECT_EQ(fixed.num_blocks(), 4u);
  }
  LogicalUnit none(test::kFakeType, nullptr, {}, {});
  EXPECT_FALSE(bool(none.resize(4096)));
}

// SBC-4 4.11: idle -> running -> idle or failed; one sanitize at a time; failure mode is
// left by EXIT FAILURE MODE only after a failed sanitize that had AUSE set, or by starting
// another sanitize; no resize while one runs.
TEST(LogicalUnit, SanitizeStateMachine) {
  using State = LogicalUnit::SanitizeState;
  LogicalUnit lu(test::kFakeType, std::make_unique<backing::NullStore>(4096 * 4), {},
                 LuSettings{.block_size = 4096});
  EXPECT_EQ(lu.sanitize_state(), State::kIdle);
  EXPECT_FALSE(lu.exit_sanitize_failure());  // nothing failed
  ASSERT_TRUE(lu.begin_sanitize(false));
  EXPECT_EQ(lu.sanitize_state(), State::kRunning);
  EXPECT_FALSE(lu.begin_sanitize(true));  // one at a time
  lu.set_sanitize_progress(1234);
  EXPECT_EQ(lu.sanitize_progress(), 1234);
  const auto r = lu.resize(4096 * 8);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(lu.num_blocks(), 4u);
  lu.end_sanitize(false);
  EXPECT_EQ(lu.sanitize_state(), State::kFailed);
  EXPECT_EQ(lu.sanitize_progress(), 0);
  EXPECT_FALSE(lu.exit_sanitize_failure());  // AUSE was clear
  EXPECT_EQ(lu.sanitize_state(), State::kFailed);
  ASSERT_TRUE(lu.begin_sanitize(true));  // a new sanitize may start from failure mode
  lu.end_sanitize(false);
  EXPECT_TRUE(lu.exit_sanitize_failure());  // AUSE was set
  EXPECT_EQ(lu.sanitize_state(), State::kIdle);
  ASSERT_TRUE(lu.begin_sanitize(false));
  lu.end_sanitize(true);
  EXPECT_EQ(lu.sanitize_state(), State::kIdle);
  EXPECT_TRUE(bool(lu.resize(4096 * 8)));
}

// A sanitize whose record cannot be written is abandoned: the LU goes back to the state and
// AUSE it had. A failure mode restored at start-up is failure mode with the recorded AUSE.
TEST(LogicalUnit, SanitizeAbandonAndRestoredFailure) {
  using State = LogicalUnit::SanitizeState;
  LogicalUnit lu(test::kFakeType, std::make_unique<backing::NullStore>(4096 * 4), {},
                 LuSettings{.block_size = 4096});
  State previous = State::kRunning;
  ASSERT_TRUE(lu.begin_sanitize(true, &previous));
  EXPECT_EQ(previous, State::kIdle);
  lu.abandon_sanitize(previous, false);
  EXPECT_EQ(lu.sanitize_state(), State::kIdle);
  lu.enter_sanitize_failure(true);
  EXPECT_EQ(lu.sanitize_state(), State::kFailed);
  EXPECT_TRUE(lu.sanitize_ause());
  ASSERT_TRUE(lu.begin_sanitize(false, &previous));
  EXPECT_EQ(previous, State::kFailed);
  EXPECT_FALSE(lu.sanitize_ause());
  lu.abandon_sanitize(previous, true);
  EXPECT_EQ(lu.sanitize_state(), State::kFailed);
  EXPECT_TRUE(lu.exit_sanitize_failure());
  // Without a record path nothing is persisted and nothing fails.
  EXPECT_TRUE(bool(lu.write_sanitize_record("x")));
  EXPECT_TRUE(bool(lu.drop_sanitize_record()));
}

TEST(LogicalUnit, ModeParameters) {
  LogicalUnit lu(test::kFakeType, nullptr, {}, LuSettings{.write_cache = false});
  EXPECT_FALSE(lu.wce());
  EXPECT_EQ(lu.sense_format(), SenseFormat::kFixed);
  lu.set_d_sense(true);
  EXPECT_EQ(lu.sense_format(), SenseFormat::kDescriptor);
  EXPECT_FALSE(lu.write_protected());
  lu.set_swp(true);
  EXPECT_TRUE(lu.write_protected());
  EXPECT_TRUE(lu.medium_present());
}

// Thin only when asked for and the store can unmap (the fake cannot); never without a store.
TEST(LogicalUnit, ThinNeedsAStoreThatCanUnmap) {
  LogicalUnit asked(test::kFakeType, std::make_unique<test::FakeStore>(4096), {},
                    LuSettings{.thin = true});
  EXPECT_FALSE(asked.thin());
  LogicalUnit none(test::kFakeType, nullptr, {}, LuSettings{.thin = true});
  EXPECT_FALSE(none.thin());
  LogicalUnit capable(test::kFakeType, std::make_unique<test::FakeStore>(4096, true), {},
                      LuSettings{.thin = true});
  EXPECT_TRUE(capable.thin());
  LogicalUnit full(test::kFakeType, std::make_unique<test::FakeStore>(4096, true), {},
                   LuSettings{});
  EXPECT_FALSE(full.thin());
}

// SBC-4 5.15: removal is prevented while any I_T nexus prevents it.
TEST(LogicalUnit, PreventionIsPerNexus) {
  LogicalUnit lu(test::kFakeType, nullptr, {}, LuSettings{.removable = true});
  EXPECT_FALSE(lu.removal_prevented());
  lu.set_removal_prevented(7, true);
  lu.set_removal_prevented(7, true);  // twice from one nexus counts once
  lu.set_removal_prevented(8, true);
  lu.set_removal_prevented(7, false);
  EXPECT_TRUE(lu.removal_prevented());
  EXPECT_FALSE(lu.prevented_by(7));
  EXPECT_TRUE(lu.prevented_by(8));
  lu.release_nexus(8);
  EXPECT_FALSE(lu.removal_prevented());
  lu.set_removal_prevented(1, true);
  lu.set_removal_prevented(2, true);
  lu.reset_nexus_state();
  EXPECT_FALSE(lu.removal_prevented());
}

// I_T nexus loss and LU reset end the SPC-2 reservation, never the persistent state.
TEST(LogicalUnit, NexusLossAndResetReleaseSpc2Only) {
  LogicalUnit lu(test::kFakeType, nullptr, {}, {});
  const std::string port = "iqn.a,i,0x000000000001";
  const Initiator a{5, port, "iqn.a", 1};
  ASSERT_EQ(lu.reservations().reserve6(a), Status::kGood);
  lu.release_nexus(6);
  EXPECT_TRUE(lu.reservations().held());
  lu.release_nexus(5);
  EXPECT_FALSE(lu.reservations().held());
  PrOutRequest reg;
  reg.action = PrOutAction::kRegister;
  reg.sa_key = 1;
  ASSERT_EQ(lu.reservations().out(a, reg).status, Status::kGood);
  lu.release_nexus(5);
  lu.reset_nexus_state();
  EXPECT_TRUE(lu.reservations().held());
  EXPECT_EQ(lu.reservations().snapshot().registrations.size(), 1u);
}

}  // namespace
}  // namespace stgt::scsi
