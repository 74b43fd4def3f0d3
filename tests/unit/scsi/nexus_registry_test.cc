#include "scsi/nexus_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakes.h"
#include "reactor/reactor.h"
#include "scsi/it_nexus.h"

namespace stgt::scsi {
namespace {

std::shared_ptr<LogicalUnit> make_lu() {
  return std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{});
}

// Drains the power-on UAs a new nexus owes, so the tests see only what they queue.
void drain(ItNexus& n) {
  for (const uint32_t lun : n.target().lun_numbers(true)) {
    while (n.pop_unit_attention(lun) != SenseReason::kNone) {
    }
  }
}

TEST(NexusRegistry, UnitAttentionReachesEveryOtherNexusAtItsLun) {
  auto t = std::make_shared<Target>("iqn.x", "");
  auto lu = make_lu();
  t->add_lun(2, lu);
  t->add_lun(5, make_lu());
  auto a = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
  auto b = std::make_shared<ItNexus>(t, "iqn.b", "iqn.b,i,0x1", TargetPort{});
  drain(*a);
  drain(*b);
  t->registry().add(a);
  t->registry().add(b);
  EXPECT_EQ(t->registry().size(), 2u);
  EXPECT_EQ(t->registry().queue_unit_attention(*lu, SenseReason::kCapacityDataChanged, a.get()),
            1u);
  EXPECT_FALSE(a->has_unit_attention(2));
  EXPECT_TRUE(b->has_unit_attention(2));
  EXPECT_FALSE(b->has_unit_attention(5));
  EXPECT_EQ(b->pop_unit_attention(2), SenseReason::kCapacityDataChanged);
  t->registry().remove(b.get());
  EXPECT_EQ(t->registry().queue_unit_attention(*lu, SenseReason::kCapacityDataChanged), 1u);
  EXPECT_FALSE(b->has_unit_attention(2));
}

TEST(NexusRegistry, ExpiredNexusesAreSkipped) {
  auto t = std::make_shared<Target>("iqn.x", "");
  t->add_lun(1, make_lu());
  {
    auto gone = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
    t->registry().add(gone);
  }
  EXPECT_EQ(t->registry().size(), 0u);
  EXPECT_EQ(t->registry().queue_unit_attention_all_luns(SenseReason::kReportedLunsDataChanged),
            0u);
}

TEST(NexusRegistry, ClearUnitAttentionsDropsOnlyThatLun) {
  auto t = std::make_shared<Target>("iqn.x", "");
  t->add_lun(1, make_lu());
  t->add_lun(2, make_lu());
  ItNexus n(t, "iqn.a", "p", TargetPort{});
  n.queue_unit_attention(1, SenseReason::kCapacityDataChanged);
  n.clear_unit_attentions(1);
  EXPECT_FALSE(n.has_unit_attention(1));
  EXPECT_TRUE(n.has_unit_attention(2));  // power on, still owed
  EXPECT_EQ(n.pop_unit_attention(2), SenseReason::kPowerOnReset);
  EXPECT_FALSE(n.has_unit_attention(2));
}

class RecordingOwner final : public NexusOwner {
 public:
  void abort_tasks(const LogicalUnit* lu, AbortCause cause, bool by_other_nexus,
                   std::function<void()> done) override {
    last_lu = lu;
    last_cause = cause;
    last_by_other = by_other_nexus;
    ++calls;
    done();
  }
  const LogicalUnit* last_lu = nullptr;
  AbortCause last_cause = AbortCause::kAbortTaskSet;
  bool last_by_other = false;
  int calls = 0;
};

TEST(NexusRegistry, AbortFansOutToOwnersOnTheirReactorsThenContinuesAtHome) {
  auto home = reactor::Reactor::create(reactor::IoBackend::kEpoll, 0);
  auto other = reactor::Reactor::create(reactor::IoBackend::kEpoll, 1);
  ASSERT_NE(home, nullptr);
  ASSERT_NE(other, nullptr);
  std::thread other_thread([&] { other->run(); });

  auto t = std::make_shared<Target>("iqn.x", "");
  auto lu = make_lu();
  t->add_lun(1, lu);
  auto a = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
  auto b = std::make_shared<ItNexus>(t, "iqn.b", "iqn.b,i,0x1", TargetPort{});
  auto c = std::make_shared<ItNexus>(t, "iqn.c", "iqn.c,i,0x1", TargetPort{});
  auto owner_a = std::make_shared<RecordingOwner>();
  auto owner_b = std::make_shared<RecordingOwner>();
  a->set_owner(home.get(), owner_a);
  b->set_owner(other.get(), owner_b);
  c->set_owner(other.get(), std::weak_ptr<NexusOwner>());  // its session has gone
  for (const auto& n : {a, b, c}) t->registry().add(n);

  std::atomic<bool> done{false};
  home->post([&] {
    t->registry().abort_tasks([](const ItNexus&) { return true; }, lu.get(), AbortCause::kLuReset,
                              a.get(), home.get(), [&] {
                                EXPECT_EQ(reactor::Reactor::current(), home.get());
                                done = true;
                                home->stop();
                              });
  });
  home->run();
  other->stop();
  other_thread.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(owner_a->calls, 1);
  EXPECT_FALSE(owner_a->last_by_other);
  EXPECT_EQ(owner_b->calls, 1);
  EXPECT_TRUE(owner_b->last_by_other);
  EXPECT_EQ(owner_b->last_lu, lu.get());
  EXPECT_EQ(owner_b->last_cause, AbortCause::kLuReset);
}

TEST(NexusRegistry, AbortWithNothingSelectedContinuesAtOnce) {
  auto t = std::make_shared<Target>("iqn.x", "");
  bool done = false;
  t->registry().abort_tasks([](const ItNexus&) { return false; }, nullptr,
                            AbortCause::kTargetReset, nullptr, nullptr, [&] { done = true; });
  EXPECT_TRUE(done);
}

// SAM-5 6.3.4: a new nexus of an initiator port whose nexus was lost is owed I_T NEXUS LOSS
// OCCURRED; any other new nexus a power-on unit attention.
TEST(NexusRegistry, NewNexusOfALostPortReportsNexusLoss) {
  auto t = std::make_shared<Target>("iqn.x", "");
  t->add_lun(1, make_lu());
  auto a = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
  t->registry().add(a);
  t->registry().remove(a.get());
  auto again = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
  auto other = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x2", TargetPort{});
  t->registry().add(again);
  t->registry().add(other);
  EXPECT_EQ(again->peek_unit_attention(1), SenseReason::kItNexusLoss);
  EXPECT_EQ(again->pop_unit_attention(1), SenseReason::kItNexusLoss);
  EXPECT_EQ(again->pop_unit_attention(1), SenseReason::kNone);
  EXPECT_EQ(other->pop_unit_attention(1), SenseReason::kPowerOnReset);
  // Remembered once: the port's next nexus after this one is new again only if this is lost.
  auto third = std::make_shared<ItNexus>(t, "iqn.a", "iqn.a,i,0x1", TargetPort{});
  t->registry().add(third);
  EXPECT_EQ(third->pop_unit_attention(1), SenseReason::kPowerOnReset);
}

}  // namespace
}  // namespace stgt::scsi
