#include "scsi/task_set.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "scsi/command.h"

namespace stgt::scsi {
namespace {

// Records the order in which the task set starts commands; a command "runs" until the test
// completes it with finish().
std::vector<Command*> g_started;
bool g_complete_inline = false;

void record_start(Command& cmd) {
  g_started.push_back(&cmd);
  if (g_complete_inline) cmd.complete_good();
}

class TaskSetTest : public ::testing::Test {
 protected:
  TaskSetTest() {
    g_started.clear();
    g_complete_inline = false;
  }

  Command& make(TaskAttribute attr) {
    Command& c = cmds_[used_++];
    c.reset();
    c.attribute = attr;
    return c;
  }
  // Arrives with all data in.
  Command& arrive(TaskAttribute attr) {
    Command& c = make(attr);
    ts_.add(c);
    ts_.data_ready(c);
    return c;
  }
  static void finish(Command& c) { c.complete_good(); }

  std::array<Command, 16> cmds_{};
  size_t used_ = 0;
  TaskSet ts_{&record_start};
};

TEST_F(TaskSetTest, SimpleRunsAtOnce) {
  Command& a = arrive(TaskAttribute::kSimple);
  Command& b = arrive(TaskAttribute::kSimple);
  EXPECT_EQ(g_started, (std::vector<Command*>{&a, &b}));
  EXPECT_EQ(ts_.size(), 2u);
  finish(b);
  finish(a);
  EXPECT_TRUE(ts_.empty());
}

TEST_F(TaskSetTest, WaitsForDataBeforeStarting) {
  Command& w = make(TaskAttribute::kSimple);
  EXPECT_TRUE(ts_.add(w));
  EXPECT_TRUE(g_started.empty());
  ts_.data_ready(w);
  EXPECT_EQ(g_started, (std::vector<Command*>{&w}));
}

TEST_F(TaskSetTest, OrderedWaitsForEveryOlderCommand) {
  Command& a = arrive(TaskAttribute::kSimple);
  Command& b = arrive(TaskAttribute::kSimple);
  Command& o = arrive(TaskAttribute::kOrdered);
  EXPECT_EQ(ts_.dormant(), 1u);
  finish(a);
  EXPECT_EQ(g_started.size(), 2u);
  finish(b);
  EXPECT_EQ(g_started.back(), &o);
  EXPECT_EQ(ts_.dormant(), 0u);
}

TEST_F(TaskSetTest, OrderedBlocksNewerCommands) {
  Command& o = arrive(TaskAttribute::kOrdered);
  Command& s1 = arrive(TaskAttribute::kSimple);
  Command& s2 = arrive(TaskAttribute::kSimple);
  Command& o2 = arrive(TaskAttribute::kOrdered);
  Command& s3 = arrive(TaskAttribute::kSimple);
  EXPECT_EQ(g_started, (std::vector<Command*>{&o}));
  finish(o);
  EXPECT_EQ(g_started, (std::vector<Command*>{&o, &s1, &s2}));  // not o2, not s3
  finish(s2);
  EXPECT_EQ(g_started.size(), 3u);
  finish(s1);
  EXPECT_EQ(g_started.back(), &o2);
  finish(o2);
  EXPECT_EQ(g_started.back(), &s3);
}

TEST_F(TaskSetTest, HeadOfQueueRunsAtOnceAndHoldsBackNewer) {
  Command& o = arrive(TaskAttribute::kOrdered);
  Command& s = arrive(TaskAttribute::kSimple);
  Command& h = arrive(TaskAttribute::kHeadOfQueue);  // overtakes the dormant SIMPLE
  Command& s2 = arrive(TaskAttribute::kSimple);
  EXPECT_EQ(g_started, (std::vector<Command*>{&o, &h}));
  finish(o);
  // s is older than h and waited only for o; s2 is newer than h and waits for it.
  EXPECT_EQ(g_started, (std::vector<Command*>{&o, &h, &s}));
  finish(h);
  EXPECT_EQ(g_started.back(), &s2);
  finish(s);
  finish(s2);
  EXPECT_TRUE(ts_.empty());
}

TEST_F(TaskSetTest, HeadOfQueueWithNothingElse) {
  Command& h = arrive(TaskAttribute::kHeadOfQueue);
  Command& o = arrive(TaskAttribute::kOrdered);
  EXPECT_EQ(g_started, (std::vector<Command*>{&h}));
  finish(h);
  EXPECT_EQ(g_started.back(), &o);
}

TEST_F(TaskSetTest, DormantWriteWaitsForItsDataAfterEnabled) {
  Command& o = arrive(TaskAttribute::kOrdered);
  Command& w = make(TaskAttribute::kSimple);
  EXPECT_FALSE(ts_.add(w));
  Command& r = arrive(TaskAttribute::kSimple);
  finish(o);
  EXPECT_EQ(g_started, (std::vector<Command*>{&o, &r}));  // w has no data yet
  ts_.data_ready(w);
  EXPECT_EQ(g_started.back(), &w);
}

TEST_F(TaskSetTest, OrderedWriteWithDataArrivingIsNotOvertaken) {
  Command& w = make(TaskAttribute::kOrdered);
  EXPECT_TRUE(ts_.add(w));  // enabled, but its data is still arriving
  Command& r = arrive(TaskAttribute::kSimple);
  EXPECT_TRUE(g_started.empty());
  ts_.data_ready(w);
  EXPECT_EQ(g_started, (std::vector<Command*>{&w}));
  finish(w);
  EXPECT_EQ(g_started.back(), &r);
}

TEST_F(TaskSetTest, AbortUnstartedReleasesSuccessors) {
  Command& w = make(TaskAttribute::kOrdered);
  ts_.add(w);
  Command& s = arrive(TaskAttribute::kSimple);
  EXPECT_EQ(ts_.dormant(), 1u);
  EXPECT_TRUE(ts_.abort_unstarted(w));
  EXPECT_EQ(w.task_state, TaskState::kOutside);
  EXPECT_EQ(g_started, (std::vector<Command*>{&s}));
  EXPECT_FALSE(ts_.abort_unstarted(s));  // started: must be waited for
  finish(s);
  EXPECT_TRUE(ts_.empty());
}

TEST_F(TaskSetTest, AbortingAWholeSetStartsNothing) {
  Command& w = make(TaskAttribute::kOrdered);
  ts_.add(w);
  Command& s1 = arrive(TaskAttribute::kSimple);
  Command& s2 = arrive(TaskAttribute::kSimple);
  EXPECT_TRUE(ts_.abort_unstarted(w, false));
  EXPECT_TRUE(g_started.empty());  // s1, s2 stay dormant: they are being aborted too
  EXPECT_TRUE(ts_.abort_unstarted(s2, false));
  EXPECT_TRUE(ts_.abort_unstarted(s1, false));
  EXPECT_TRUE(ts_.empty());
  EXPECT_EQ(ts_.dormant(), 0u);
  EXPECT_TRUE(g_started.empty());
}

TEST_F(TaskSetTest, InlineCompletionsDoNotRecurse) {
  g_complete_inline = true;
  Command& o = make(TaskAttribute::kOrdered);
  ts_.add(o);
  std::vector<Command*> chain;
  for (int i = 0; i < 8; ++i)
    chain.push_back(&arrive(TaskAttribute::kOrdered));
  EXPECT_TRUE(g_started.empty());
  ts_.data_ready(o);  // o completes inline, releasing the whole chain one by one
  ASSERT_EQ(g_started.size(), 9u);
  for (size_t i = 0; i < chain.size(); ++i)
    EXPECT_EQ(g_started[i + 1], chain[i]);
  EXPECT_TRUE(ts_.empty());
}

TEST_F(TaskSetTest, WalkOldestToNewest) {
  Command& a = arrive(TaskAttribute::kSimple);
  Command& b = arrive(TaskAttribute::kOrdered);
  Command& c = arrive(TaskAttribute::kSimple);
  std::vector<Command*> seen;
  for (Command* x = ts_.oldest(); x != nullptr; x = TaskSet::newer(*x))
    seen.push_back(x);
  EXPECT_EQ(seen, (std::vector<Command*>{&a, &b, &c}));
}

TEST_F(TaskSetTest, AcaAttributeIsNeitherHeldNorHolding) {
  Command& o = arrive(TaskAttribute::kOrdered);
  Command& aca = arrive(TaskAttribute::kAca);
  EXPECT_EQ(g_started, (std::vector<Command*>{&o, &aca}));
  finish(aca);
  finish(o);
  EXPECT_TRUE(ts_.empty());
}

}  // namespace
}  // namespace stgt::scsi
