#include "scsi/scsi_layer.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>
#include <string>

#include "base/byte_order.h"
#include "fakes.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/lun.h"

namespace stgt::scsi {
namespace {

class GateTest : public ::testing::Test {
 protected:
  GateTest() {
    lu_ = std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{});
    auto t = std::make_shared<Target>("iqn.x", "");
    t->add_lun(0, lu_);
    nexus_ = std::make_unique<ItNexus>(t, "iqn.i", "p", TargetPort{});
    nexus_->pop_unit_attention(0);
    test::g_handled = 0;
  }

  std::unique_ptr<Command> run(std::initializer_list<uint8_t> cdb, uint32_t lun = 0,
                               uint32_t expected_in = 255) {
    auto c = std::make_unique<Command>();
    std::copy(cdb.begin(), cdb.end(), c->cdb.begin());
    c->cdb_length = uint8_t(cdb.size());
    c->lun = encode_lun(lun);
    c->nexus = nexus_.get();
    c->owner = &owner_;
    c->pool = &pool_;
    c->expected_in_length = expected_in;
    submit(*c);
    return c;
  }

  base::BufferPool pool_;
  std::shared_ptr<LogicalUnit> lu_;
  std::unique_ptr<ItNexus> nexus_;
  test::CountingOwner owner_;
};

TEST_F(GateTest, DispatchesAndSetsLu) {
  auto c = run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(c->status, Status::kGood);
  EXPECT_EQ(c->lu, lu_.get());
  EXPECT_EQ(test::g_handled, 1);
  EXPECT_EQ(owner_.calls, 1);
}

// Command::finish counts every completion once, for the nexus and for the LU (io_stats.h).
TEST_F(GateTest, CompletionsAreCountedForTheNexusAndTheLu) {
  run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  run({0xff, 0, 0, 0, 0, 0});  // unsupported: CHECK CONDITION
  Command aborted;
  aborted.nexus = nexus_.get();
  count_abort(aborted, lu_.get());
  for (const IoStats& s : {nexus_->stats(), lu_->stats().total()}) {
    EXPECT_EQ(s.read_commands, 1u);
    EXPECT_EQ(s.other_commands, 1u);
    EXPECT_EQ(s.check_conditions, 1u);
    EXPECT_EQ(s.aborts, 1u);
    EXPECT_EQ(s.latency_count(), 2u);  // both were stamped by submit()
  }
}

TEST_F(GateTest, UnmappedLun) {
  auto inq = run({0x12, 0, 0, 0, 36, 0}, 9);
  ASSERT_EQ(inq->status, Status::kGood);
  uint8_t b0 = 0;
  inq->data.copy_out(0, &b0, 1);
  EXPECT_EQ(b0, 0x7f);  // qualifier 011b, type 1Fh
  auto tur = run({0, 0, 0, 0, 0, 0}, 9);
  EXPECT_EQ(tur->sense[12], 0x25);
  auto rs = run({0x03, 0, 0, 0, 18, 0}, 9);
  ASSERT_EQ(rs->status, Status::kGood);
  uint8_t sense[18] = {};
  rs->data.copy_out(0, sense, 18);
  EXPECT_EQ(sense[12], 0x25);
  EXPECT_EQ(test::g_handled, 0);
}

TEST_F(GateTest, UnitAttentionReportedOnceThenCleared) {
  nexus_->queue_unit_attention(0, SenseReason::kPowerOnReset);
  auto inq = run({0x12, 0, 0, 0, 36, 0});
  EXPECT_EQ(inq->status, Status::kGood);  // INQUIRY passes a UA
  auto tur = run({0, 0, 0, 0, 0, 0});
  EXPECT_EQ(tur->status, Status::kCheckCondition);
  EXPECT_EQ(tur->sense[2], 0x6);
  EXPECT_EQ(tur->sense[12], 0x29);
  EXPECT_EQ(run({0, 0, 0, 0, 0, 0})->status, Status::kGood);
}

TEST_F(GateTest, UnitAttentionBeforeOpcodeCheck) {
  nexus_->queue_unit_attention(0, SenseReason::kPowerOnReset);
  EXPECT_EQ(run({0xff, 0, 0, 0, 0, 0})->sense[2], 0x6);
}

TEST_F(GateTest, UnsupportedOpcode) {
  auto c = run({0xc5, 0, 0, 0, 0, 0});
  EXPECT_EQ(c->sense[2], 0x5);
  EXPECT_EQ(c->sense[12], 0x20);
  EXPECT_EQ(c->sense[15] & 0x80, 0x80);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 0);
}

TEST_F(GateTest, ServiceActions) {
  uint8_t cdb[16] = {0x9e, 0x10};
  auto c = std::make_unique<Command>();
  std::copy(std::begin(cdb), std::end(cdb), c->cdb.begin());
  c->nexus = nexus_.get();
  c->owner = &owner_;
  submit(*c);
  EXPECT_EQ(c->status, Status::kGood);
  auto bad = run({0x9e, 0x11, 0, 0, 0, 0});
  EXPECT_EQ(bad->sense[12], 0x24);
  EXPECT_EQ(base::load_be16(&bad->sense[16]), 1);
}

TEST_F(GateTest, ControlByte) {
  auto naca = run({0, 0, 0, 0, 0, 0x04});
  EXPECT_EQ(naca->sense[12], 0x24);
  EXPECT_EQ(base::load_be16(&naca->sense[16]), 5);
  EXPECT_EQ(naca->sense[15] & 0x0f, 0x08 | 2);
  auto link = run({0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
  EXPECT_EQ(base::load_be16(&link->sense[16]), 9);
}

TEST_F(GateTest, MediumAbsent) {
  lu_->set_medium_present(false);
  EXPECT_EQ(run({0, 0, 0, 0, 0, 0})->sense[12], 0x3a);
  EXPECT_EQ(run({0x12, 0, 0, 0, 36, 0})->status, Status::kGood);
}

TEST_F(GateTest, OfflineLuAnswersOnlyMediumIndependentCommands) {
  lu_->set_offline(true);
  auto tur = run({0, 0, 0, 0, 0, 0});
  EXPECT_EQ(tur->sense[2] & 0x0f, 0x02);  // NOT READY
  EXPECT_EQ(tur->sense[12], 0x04);
  EXPECT_EQ(tur->sense[13], 0x12);  // LOGICAL UNIT NOT READY, OFFLINE
  EXPECT_EQ(run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0})->sense[13], 0x12);
  EXPECT_EQ(run({0x12, 0, 0, 0, 36, 0})->status, Status::kGood);
  lu_->set_offline(false);
  EXPECT_EQ(run({0, 0, 0, 0, 0, 0})->status, Status::kGood);
}

// ---- task set capacity (SAM-5 5.3.1) ----

std::vector<Command*> g_held;
void hold_handler(Command& cmd) { g_held.push_back(&cmd); }

constexpr OpcodeTable kHoldTable = [] {
  OpcodeTable t{};
  t[0x28] = {hold_handler, "READ (10)", 10, DataDirection::kIn};
  return t;
}();
constexpr DeviceType kHoldType{0x00, "hold", &kHoldTable};

class TaskSetCapacityTest : public ::testing::Test {
 protected:
  TaskSetCapacityTest() {
    LuSettings settings;
    settings.queue_depth = 2;
    lu_ = std::make_shared<LogicalUnit>(kHoldType, nullptr, LuIdentity{}, settings);
    auto t = std::make_shared<Target>("iqn.x", "");
    t->add_lun(0, lu_);
    a_ = std::make_unique<ItNexus>(t, "iqn.a", "a", TargetPort{});
    b_ = std::make_unique<ItNexus>(t, "iqn.b", "b", TargetPort{});
    a_->pop_unit_attention(0);
    b_->pop_unit_attention(0);
    g_held.clear();
  }

  std::unique_ptr<Command> read(ItNexus& n) {
    auto c = std::make_unique<Command>();
    const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    std::copy(std::begin(cdb), std::end(cdb), c->cdb.begin());
    c->cdb_length = 10;
    c->lun = encode_lun(0);
    c->nexus = &n;
    c->owner = &owner_;
    c->pool = &pool_;
    submit(*c);
    return c;
  }

  base::BufferPool pool_;
  std::shared_ptr<LogicalUnit> lu_;
  std::unique_ptr<ItNexus> a_;
  std::unique_ptr<ItNexus> b_;
  test::CountingOwner owner_;
};

// Past queue_depth: TASK SET FULL for a nexus with commands in the task set, BUSY for one
// without; completions make room again.
TEST_F(TaskSetCapacityTest, FullForTheBusyNexusBusyForTheOther) {
  auto c1 = read(*a_);
  auto c2 = read(*a_);
  ASSERT_EQ(g_held.size(), 2u);
  EXPECT_EQ(lu_->commands_in_task_set(), 2u);
  EXPECT_EQ(a_->commands_in_task_sets(), 2u);
  auto full = read(*a_);
  EXPECT_EQ(full->status, Status::kTaskSetFull);
  auto busy = read(*b_);
  EXPECT_EQ(busy->status, Status::kBusy);
  EXPECT_EQ(lu_->commands_in_task_set(), 2u);
  g_held[0]->complete_good();
  EXPECT_EQ(lu_->commands_in_task_set(), 1u);
  EXPECT_EQ(a_->commands_in_task_sets(), 1u);
  auto next = read(*b_);
  EXPECT_FALSE(next->completed());  // admitted and running
  EXPECT_EQ(g_held.size(), 3u);
  g_held[1]->complete_good();
  g_held[2]->complete_good();
  EXPECT_EQ(lu_->commands_in_task_set(), 0u);
  EXPECT_EQ(a_->commands_in_task_sets(), 0u);
  EXPECT_EQ(b_->commands_in_task_sets(), 0u);
}

TEST_F(GateTest, AcaAttributeWithoutAcaCondition) {
  auto c = std::make_unique<Command>();
  c->nexus = nexus_.get();
  c->owner = &owner_;
  c->attribute = TaskAttribute::kAca;
  submit(*c);
  EXPECT_EQ(c->sense[2], 0x5);
  EXPECT_EQ(c->sense[12], 0x49);  // INVALID MESSAGE ERROR
}

// arrive() / data_ready(): commands join the nexus's task set for their LU and run in SAM-5
// 8.6 order; commands to an unmapped LUN join none.
TEST_F(GateTest, TaskSetOrderingThroughArriveAndDataReady) {
  auto make = [&](TaskAttribute attr, uint32_t lun = 0) {
    auto c = std::make_unique<Command>();
    c->lun = encode_lun(lun);
    c->nexus = nexus_.get();
    c->owner = &owner_;
    c->attribute = attr;
    return c;
  };
  auto ordered = make(TaskAttribute::kOrdered);
  arrive(*ordered);  // its data is still arriving
  auto simple = make(TaskAttribute::kSimple);
  arrive(*simple);
  data_ready(*simple);
  EXPECT_FALSE(simple->completed());  // held back by the older ORDERED command
  EXPECT_EQ(nexus_->task_set(*lu_).size(), 2u);
  auto unmapped = make(TaskAttribute::kSimple, 7);
  arrive(*unmapped);
  EXPECT_EQ(unmapped->task_set, nullptr);
  data_ready(*unmapped);
  EXPECT_TRUE(unmapped->completed());
  data_ready(*ordered);
  EXPECT_TRUE(ordered->completed());
  EXPECT_TRUE(simple->completed());
  EXPECT_TRUE(nexus_->task_set(*lu_).empty());
}

TEST_F(GateTest, AbortUnstartedLeavesCommandUncompleted) {
  auto c = std::make_unique<Command>();
  c->nexus = nexus_.get();
  c->owner = &owner_;
  arrive(*c);
  EXPECT_TRUE(abort_unstarted(*c));
  EXPECT_FALSE(c->completed());
  EXPECT_EQ(owner_.calls, 0);
  EXPECT_FALSE(abort_unstarted(*c));
}

// Step 4: a reservation held by another I_T nexus refuses the command after the unit
// attention step; the holder passes; nothing held costs nothing.
TEST_F(GateTest, ReservationConflictAfterUnitAttention) {
  EXPECT_FALSE(lu_->reservations().held());
  const std::string port = "iqn.other,i,0x000000000002";
  ASSERT_EQ(lu_->reservations().reserve6(Initiator{nexus_->id() + 1000, port, "iqn.other", 1}),
            Status::kGood);
  nexus_->queue_unit_attention(0, SenseReason::kModeParametersChanged);
  auto first = run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(first->status, Status::kCheckCondition);  // the UA is reported first
  auto second = run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(second->status, Status::kReservationConflict);
  EXPECT_EQ(test::g_handled, 0);
  lu_->reset_nexus_state();  // what a LU reset does (scsi::logical_unit_reset)
  EXPECT_EQ(run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0})->status, Status::kGood);
  ASSERT_EQ(lu_->reservations().reserve6(nexus_->initiator()), Status::kGood);
  EXPECT_EQ(run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0})->status, Status::kGood);  // the holder
  nexus_lost(*nexus_);
  EXPECT_FALSE(lu_->reservations().held());
}

}  // namespace
}  // namespace stgt::scsi
