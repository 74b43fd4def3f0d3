// Steady-state heap allocations per command (issue 3: "no heap allocation per command that the
// design does not need; show it with a test").
//
// stgtd runs with LD_PRELOAD of the alloc_counter library (alloc_counter.cc), which counts every
// malloc-family call and reports the totals into a file on SIGUSR2. The test drives a steady mixed
// workload with libiscsi's asynchronous API from this process (reads and writes, 4 KiB and
// 128 KiB, two sessions at QD 8 and QD 32, memory, null and file LUs, both I/O backends), lets it
// drain, snapshots the counters, runs a measured batch of I/Os, drains and snapshots again.
// Draining before each snapshot means the window holds exactly the measured commands.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter_client.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLuSize = 64ull << 20;
// Long enough for the buffer pools and task tables to reach the workload's peak; what still
// allocates afterwards is growth to a new peak (a handful of calls, none freed).
constexpr uint64_t kWarmupIos = 40'000;
constexpr uint64_t kMeasuredIos = 20'000;
constexpr double kMaxAllocsPerIo = 0.01;
// Keeps `qd` commands outstanding on each session until `count` have completed.
class AsyncDriver {
 public:
  struct Lane {
    AsyncDriver* driver = nullptr;
    iscsi_context* ctx = nullptr;
    int qd = 0;
    int in_flight = 0;
  };

  AsyncDriver() : write_data_(128 * 1024, 0x5a) {}

  void add_session(iscsi_context* ctx, int qd) { lanes_.push_back(Lane{this, ctx, qd, 0}); }

  testing::AssertionResult run(uint64_t count) {
    issued_ = completed_ = 0;
    target_ = count;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::vector<pollfd> fds(lanes_.size());
    while (completed_ < target_) {
      for (Lane& lane : lanes_) {
        while (lane.in_flight < lane.qd && issued_ < target_) {
          if (!issue(lane)) return testing::AssertionFailure() << iscsi_get_error(lane.ctx);
        }
      }
      for (size_t i = 0; i < lanes_.size(); ++i) {
        fds[i] = pollfd{iscsi_get_fd(lanes_[i].ctx),
                        static_cast<short>(iscsi_which_events(lanes_[i].ctx)), 0};
      }
      if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) {
        return testing::AssertionFailure() << "poll failed";
      }
      for (size_t i = 0; i < lanes_.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (iscsi_service(lanes_[i].ctx, fds[i].revents) < 0) {
          return testing::AssertionFailure()
                 << "session failed: " << iscsi_get_error(lanes_[i].ctx);
        }
      }
      if (errors_ > 0) return testing::AssertionFailure() << errors_ << " commands failed";
      if (std::chrono::steady_clock::now() > deadline) {
        return testing::AssertionFailure() << "workload timed out at " << completed_ << " I/Os";
      }
    }
    return testing::AssertionSuccess();
  }

 private:
  static void on_complete(iscsi_context*, int status, void* command_data, void* private_data) {
    auto& lane = *static_cast<Lane*>(private_data);
    if (status != SCSI_STATUS_GOOD) ++lane.driver->errors_;
    --lane.in_flight;
    ++lane.driver->completed_;
    scsi_free_scsi_task(static_cast<scsi_task*>(command_data));
  }

  // One command: LUN 1 (memory), 2 (null) or 3 (file), read or write, 4 KiB or (one in eight)
  // 128 KiB.
  bool issue(Lane& lane) {
    const auto lun = static_cast<uint32_t>(1 + rng_() % 3);
    const bool write = (rng_() & 2) != 0;
    const uint32_t bytes = rng_() % 8 == 0 ? 128 * 1024 : 4096;
    const uint64_t blocks = kLuSize / kBlockSize - bytes / kBlockSize;
    const uint64_t lba = rng_() % blocks / 8 * 8;
    scsi_task* task =
        write ? iscsi_write16_task(lane.ctx, static_cast<int>(lun), lba, write_data_.data(), bytes,
                                   kBlockSize, 0, 0, 0, 0, 0, on_complete, &lane)
              : iscsi_read16_task(lane.ctx, static_cast<int>(lun), lba, bytes, kBlockSize, 0, 0, 0,
                                  0, 0, on_complete, &lane);
    if (task == nullptr) return false;
    ++lane.in_flight;
    ++issued_;
    return true;
  }

  std::vector<Lane> lanes_;  // complete before run(): commands hold pointers into it
  std::vector<uint8_t> write_data_;
  std::mt19937_64 rng_{42};
  uint64_t issued_ = 0;
  uint64_t completed_ = 0;
  uint64_t target_ = 0;
  uint64_t errors_ = 0;
};

// TEST UNIT READY until GOOD: consumes the power-on unit attention of `lun` on this session.
testing::AssertionResult clear_unit_attention(iscsi_context* ctx, uint32_t lun) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    scsi_task* task = iscsi_testunitready_sync(ctx, static_cast<int>(lun));
    const bool good = task != nullptr && task->status == SCSI_STATUS_GOOD;
    if (task != nullptr) scsi_free_scsi_task(task);
    if (good) return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "LUN " << lun << " keeps failing TEST UNIT READY";
}

// Parameter: the reactor's I/O backend (the file LU's path differs: io_uring ring or thread pool).
class AllocationTest : public StgtdTest, public testing::WithParamInterface<std::string> {};

// Runs the workload over LUNs 1..3 as `luns` configures them and checks the steady state.
void expect_no_steady_state_allocations(StgtdProcess& stgtd, std::vector<config::LunConfig> luns,
                                        const std::string& backend) {
  const std::string report = stgtd.dir() + "/allocs.txt";
  stgtd.set_extra_environment(
      {std::string("LD_PRELOAD=") + ALLOC_COUNTER_PATH, "STGT_ALLOC_COUNTER_OUT=" + report});
  stgtd.write_config(stgtd.base_config(std::move(luns)));
  ASSERT_TRUE(stgtd.start({"--reactors", "2", "--io-backend", backend}));

  IscsiSession a(std::string(kInitiatorIqn) + "-alloc-a");
  IscsiSession b(std::string(kInitiatorIqn) + "-alloc-b");
  ASSERT_TRUE(a.login(stgtd.portal(), kTargetIqn, 1));
  ASSERT_TRUE(b.login(stgtd.portal(), kTargetIqn, 2));
  for (IscsiSession* s : {&a, &b}) {
    for (const uint32_t lun : {1u, 2u, 3u})
      ASSERT_TRUE(clear_unit_attention(s->get(), lun));
  }
  AsyncDriver driver;
  driver.add_session(a.get(), 8);
  driver.add_session(b.get(), 32);

  // Warm-up: task slots, buffer pools and send queues reach their peak sizes.
  ASSERT_TRUE(driver.run(kWarmupIos));
  AllocCounters before, after;
  ASSERT_TRUE(alloc_snapshot(stgtd.pid(), report, 0, before));
  ASSERT_TRUE(driver.run(kMeasuredIos));
  ASSERT_TRUE(alloc_snapshot(stgtd.pid(), report, before.seq, after));

  // The interposer works: start-up and logins allocate plenty.
  ASSERT_GT(before.allocs, 100u) << "the counter saw no start-up allocations; not preloaded?";
  const uint64_t allocs = after.allocs - before.allocs;
  const double per_io = static_cast<double>(allocs) / static_cast<double>(kMeasuredIos);
  std::cout << "start-up, logins and warm-up: " << before.allocs << " heap allocations\n";
  std::cout << "steady state: " << allocs << " heap allocations (" << after.frees - before.frees
            << " frees) over " << kMeasuredIos << " I/Os = " << per_io << " per I/O\n";
  testing::Test::RecordProperty("allocs_per_io", std::to_string(per_io));
  EXPECT_LT(per_io, kMaxAllocsPerIo);
}

TEST_P(AllocationTest, SteadyStateCommandsDoNotAllocate) {
  if (kUnderAddressSanitizer) {
    GTEST_SKIP() << "AddressSanitizer replaces malloc; the LD_PRELOAD counter cannot run under it";
  }
  config::LunConfig null_lun{.id = 2, .store = "null", .size = kLuSize, .block_size = kBlockSize};
  expect_no_steady_state_allocations(
      stgtd_, {StgtdProcess::memory_lun(kLuSize), null_lun, stgtd_.file_lun(kLuSize, 3)},
      GetParam());
}

// The same over encrypted LUs (backing/crypt/crypt_store.h): the bounce buffers come from the
// reactors' pools, operations and cipher contexts from free lists.
TEST_P(AllocationTest, EncryptedLusDoNotAllocateEither) {
  if (kUnderAddressSanitizer) {
    GTEST_SKIP() << "AddressSanitizer replaces malloc; the LD_PRELOAD counter cannot run under it";
  }
  const std::string kek = stgtd_.dir() + "/kek";
  std::ofstream(kek) << std::string(64, '7') << "\n";
  ASSERT_EQ(::chmod(kek.c_str(), 0600), 0);
  std::vector<config::LunConfig> luns = {
      StgtdProcess::memory_lun(kLuSize),
      config::LunConfig{.id = 2, .store = "null", .size = kLuSize, .block_size = kBlockSize},
      stgtd_.file_lun(kLuSize, 3)};
  for (config::LunConfig& l : luns) {
    l.encryption = "aes-256-xts";
    l.key_file = kek;
  }
  expect_no_steady_state_allocations(stgtd_, std::move(luns), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Backends, AllocationTest, testing::Values("uring", "epoll"),
                         [](const testing::TestParamInfo<std::string>& param) {
                           return param.param == "uring" ? std::string("Uring")
                                                         : std::string("Epoll");
                         });

}  // namespace
}  // namespace stgt::functional
