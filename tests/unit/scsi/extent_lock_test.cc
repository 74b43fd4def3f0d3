#include "scsi/extent_lock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "reactor/reactor.h"
#include "scsi/command.h"

namespace stgt::scsi {
namespace {

using Mode = ExtentLock::Mode;
constexpr Mode kShared = Mode::kShared;
constexpr Mode kExclusive = Mode::kExclusive;

// Continuations record which commands ran, in order.
std::vector<const Command*> g_ran;
void record(Command& cmd) {
  g_ran.push_back(&cmd);
}

class ExtentLockTest : public testing::Test {
 protected:
  void SetUp() override { g_ran.clear(); }
  static bool ran(const Command& cmd) {
    return std::find(g_ran.begin(), g_ran.end(), &cmd) != g_ran.end();
  }
  ExtentLock lock;
  std::array<Command, 8> c{};
};

TEST_F(ExtentLockTest, NonOverlappingExclusivesRunAtOnce) {
  lock.acquire(c[0], kExclusive, 0, 10, record);
  lock.acquire(c[1], kExclusive, 10, 5, record);
  lock.acquire(c[2], kShared, 15, 1, record);
  EXPECT_EQ(g_ran, (std::vector<const Command*>{&c[0], &c[1], &c[2]}));
  EXPECT_TRUE(lock.tracking());
  lock.release(c[0]);
  lock.release(c[1]);
  EXPECT_FALSE(lock.tracking());
  lock.release(c[2]);
}

TEST_F(ExtentLockTest, OverlappingExclusiveWaitsForRelease) {
  lock.acquire(c[0], kExclusive, 0, 10, record);
  lock.acquire(c[1], kExclusive, 9, 2, record);
  EXPECT_FALSE(ran(c[1]));
  lock.release(c[0]);
  EXPECT_TRUE(ran(c[1]));
  lock.release(c[1]);
  EXPECT_FALSE(lock.tracking());
}

TEST_F(ExtentLockTest, SharedHoldsDoNotConflict) {
  lock.acquire(c[0], kExclusive, 100, 1, record);  // tracked regime
  lock.acquire(c[1], kShared, 0, 10, record);
  lock.acquire(c[2], kShared, 5, 10, record);
  EXPECT_TRUE(ran(c[1]));
  EXPECT_TRUE(ran(c[2]));
  lock.release(c[0]);
  lock.release(c[1]);
  lock.release(c[2]);
}

// Waiters are granted in arrival order; a later waiter never overtakes an earlier one it
// conflicts with, and non-conflicting ones run as soon as their range is free.
TEST_F(ExtentLockTest, WaitersResumeInOrder) {
  lock.acquire(c[0], kExclusive, 0, 10, record);
  lock.acquire(c[1], kShared, 5, 1, record);     // waits for c0
  lock.acquire(c[2], kExclusive, 5, 1, record);  // waits for c0, c1
  lock.acquire(c[3], kShared, 8, 1, record);     // waits for c0
  lock.acquire(c[4], kShared, 5, 1, record);     // waits for c2
  lock.acquire(c[5], kShared, 20, 1, record);    // free range
  EXPECT_EQ(g_ran, (std::vector<const Command*>{&c[0], &c[5]}));
  lock.release(c[0]);
  EXPECT_EQ(g_ran, (std::vector<const Command*>{&c[0], &c[5], &c[1], &c[3]}));
  lock.release(c[1]);
  EXPECT_EQ(g_ran.back(), &c[2]);
  lock.release(c[2]);
  EXPECT_EQ(g_ran.back(), &c[4]);
  EXPECT_FALSE(lock.tracking());
  for (const size_t i : {3, 4, 5})
    lock.release(c[i]);
}

// Without an exclusive request, writes are untracked; the first exclusive request waits
// for those still in flight (the drain), and later writes queue behind it.
TEST_F(ExtentLockTest, ExclusiveWaitsForInFlightUntrackedWrites) {
  lock.acquire(c[0], kShared, 0, 1, record);   // registers the caller, untracked
  lock.acquire(c[1], kShared, 50, 1, record);  // untracked fast path
  EXPECT_EQ(c[1].extent.state, ExtentHold::State::kUntracked);
  EXPECT_FALSE(lock.tracking());
  lock.acquire(c[2], kExclusive, 0, 1, record);
  EXPECT_TRUE(lock.tracking());
  EXPECT_FALSE(ran(c[2]));
  lock.acquire(c[3], kShared, 0, 1, record);  // behind the exclusive one
  EXPECT_FALSE(ran(c[3]));
  lock.release(c[0]);
  EXPECT_FALSE(ran(c[2]));  // the drain covers every untracked write, c1 too
  lock.release(c[1]);
  EXPECT_TRUE(ran(c[2]));
  EXPECT_FALSE(ran(c[3]));
  lock.release(c[2]);
  EXPECT_TRUE(ran(c[3]));
  EXPECT_FALSE(lock.tracking());
  lock.release(c[3]);
  // Back to the untracked regime.
  lock.acquire(c[4], kShared, 0, 1, record);
  EXPECT_EQ(c[4].extent.state, ExtentHold::State::kUntracked);
  lock.release(c[4]);
}

TEST_F(ExtentLockTest, ReleaseWithoutHoldIsANoOp) {
  lock.release(c[0]);
  lock.acquire(c[0], kExclusive, 0, 1, record);
  lock.release(c[0]);
  lock.release(c[0]);
  EXPECT_EQ(c[0].extent.state, ExtentHold::State::kNone);
}

// Reactors: a write in flight on reactor A holds up an exclusive request from reactor B
// through the barrier posted to A; B's continuation runs on B.
TEST(ExtentLockReactors, DrainCrossesReactors) {
  std::array<std::unique_ptr<reactor::Reactor>, 2> r;
  for (unsigned i = 0; i < 2; ++i) {
    r[i] = reactor::Reactor::create(reactor::IoBackend::kEpoll, i);
    ASSERT_NE(r[i], nullptr);
  }
  std::array<std::thread, 2> threads{std::thread([&] { r[0]->run(); }),
                                     std::thread([&] { r[1]->run(); })};
  ExtentLock lock;
  Command write;
  Command caw;
  write.reactor = r[0].get();
  caw.reactor = r[1].get();
  auto on = [](reactor::Reactor& reactor, auto fn) {
    std::promise<void> done;
    reactor.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  static std::promise<reactor::Reactor*> caw_ran;
  caw_ran = {};
  auto caw_future = caw_ran.get_future();
  // Register A, then keep an untracked write in flight there.
  on(*r[0], [&] {
    Command first;
    first.reactor = r[0].get();
    lock.acquire(first, kShared, 0, 1, [](Command&) {});
    lock.release(first);
    lock.acquire(write, kShared, 0, 1, [](Command&) {});
  });
  EXPECT_EQ(write.extent.state, ExtentHold::State::kUntracked);
  on(*r[1], [&] {
    lock.acquire(caw, kExclusive, 0, 1,
                 [](Command&) { caw_ran.set_value(reactor::Reactor::current()); });
  });
  EXPECT_EQ(caw_future.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  on(*r[0], [&] { lock.release(write); });
  ASSERT_EQ(caw_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(caw_future.get(), r[1].get());
  on(*r[1], [&] { lock.release(caw); });
  EXPECT_FALSE(lock.tracking());
  for (auto& reactor : r)
    reactor->stop();
  for (auto& t : threads)
    t.join();
}

}  // namespace
}  // namespace stgt::scsi
