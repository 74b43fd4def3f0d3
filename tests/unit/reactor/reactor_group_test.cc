#include "reactor/reactor_group.h"

#include <pthread.h>

#include <atomic>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace stgt::reactor {
namespace {

class ReactorGroupTest : public ::testing::TestWithParam<IoBackend> {};

TEST_P(ReactorGroupTest, StartsNamedReactorsAndStops) {
  auto group = ReactorGroup::start(3, GetParam());
  ASSERT_TRUE(group.ok()) << group.error();
  ReactorGroup& g = **group;
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g.backend(), GetParam());
  std::set<std::thread::id> threads;
  for (unsigned i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g.at(i).id(), i);
    EXPECT_EQ(g.at(i).backend(), GetParam());
    std::promise<std::pair<std::thread::id, std::string>> p;
    g.at(i).post([&] {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      EXPECT_EQ(Reactor::current(), &g.at(i));
      p.set_value({std::this_thread::get_id(), name});
    });
    const auto [tid, name] = p.get_future().get();
    EXPECT_EQ(name, "stgt-r" + std::to_string(i));
    threads.insert(tid);
  }
  EXPECT_EQ(threads.size(), 3u);
  g.stop();
  g.stop();  // idempotent
}

TEST_P(ReactorGroupTest, DefaultCountIsOnePerHardwareThread) {
  auto group = ReactorGroup::start(0, GetParam());
  ASSERT_TRUE(group.ok()) << group.error();
  EXPECT_EQ((*group)->size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST_P(ReactorGroupTest, DestructorStopsRunningReactors) {
  std::atomic<int> ticks{0};
  {
    auto group = ReactorGroup::start(2, GetParam());
    ASSERT_TRUE(group.ok()) << group.error();
    Reactor& r = (*group)->at(1);
    r.post([&] { r.add_timer(std::chrono::milliseconds(1), true, [&] { ++ticks; }); });
    while (ticks.load() < 3)
      std::this_thread::yield();
  }
  const int after = ticks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ticks.load(), after);
}

std::string backend_name(const ::testing::TestParamInfo<IoBackend>& p) {
  return p.param == IoBackend::kUring ? "Uring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, ReactorGroupTest,
                         ::testing::Values(IoBackend::kUring, IoBackend::kEpoll), backend_name);

}  // namespace
}  // namespace stgt::reactor
