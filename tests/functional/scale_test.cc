// Many objects (issue 3): 1,000 LUs and 1,000 idle sessions without a thread each, and the
// resident memory an idle session costs.
//
// stgtd serves 5 targets of 200 LUNs each (LUN 1 a 4 MiB memory store, the rest 4 MiB null
// stores). The test logs in 1,000 libiscsi sessions spread over the targets, then checks that
// stgtd's thread count did not move, that VmRSS grew by less than kMaxBytesPerSession per
// session, and that the sessions still work: READ/WRITE on a few, REPORT LUNS on one per target.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr int kTargets = 5;
constexpr uint32_t kLunsPerTarget = 200;
constexpr int kSessions = 1000;
constexpr int kReactors = 2;
// Main thread and reactors, plus slack for helper threads (e.g. the epoll backend's file pool).
constexpr int kMaxExtraThreads = 4;
// Documented in docs/performance.md ("Many objects"): 25.5 KiB measured. AddressSanitizer's
// redzones and quarantine roughly double it (56 KiB measured), so it gets twice the bound.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kMaxBytesPerSession = 128 * 1024;
#else
constexpr uint64_t kMaxBytesPerSession = 64 * 1024;
#endif
constexpr uint64_t kLuSize = 4ull << 20;

std::string target_iqn(int index) {
  return index == 0 ? std::string(kTargetIqn)
                    : std::string(kTargetIqn) + "-scale" + std::to_string(index);
}

// A field of /proc/PID/status ("Threads", "VmRSS"), as a number (VmRSS is in KiB); 0 if absent.
uint64_t proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

void raise_fd_limit(rlim_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

config::Config scale_config(const StgtdProcess& stgtd) {
  config::Config c = stgtd.base_config({});
  for (int t = 1; t < kTargets; ++t) {
    config::TargetConfig target{.iqn = target_iqn(t)};
    target.acls.push_back({.initiator = "ALL"});
    c.targets.push_back(std::move(target));
  }
  for (config::TargetConfig& target : c.targets) {
    target.luns.push_back(StgtdProcess::memory_lun(kLuSize));
    for (uint32_t id = 2; id <= kLunsPerTarget; ++id) {
      target.luns.push_back({.id = id, .store = "null", .size = kLuSize, .block_size = kBlockSize});
    }
  }
  return c;
}

testing::AssertionResult report_luns_lists_all(iscsi_context* ctx) {
  scsi_task* task = iscsi_reportluns_sync(ctx, 0, 64 * 1024);
  if (task == nullptr || task->status != SCSI_STATUS_GOOD) {
    if (task != nullptr) scsi_free_scsi_task(task);
    return testing::AssertionFailure() << "REPORT LUNS failed: " << iscsi_get_error(ctx);
  }
  std::set<uint32_t> luns;
  if (auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(task))) {
    for (uint32_t i = 0; i < list->num; ++i)
      luns.insert(list->luns[i]);
  }
  scsi_free_scsi_task(task);
  for (uint32_t id = 1; id <= kLunsPerTarget; ++id) {
    if (luns.count(id) == 0) {
      return testing::AssertionFailure()
             << "REPORT LUNS lacks LUN " << id << " (" << luns.size() << " listed)";
    }
  }
  return testing::AssertionSuccess();
}

using ScaleTest = StgtdTest;

TEST_F(ScaleTest, ThousandIdleSessionsOnThousandLus) {
  raise_fd_limit(4096);
  stgtd_.write_config(scale_config(stgtd_));
  ASSERT_TRUE(stgtd_.start({"--reactors", std::to_string(kReactors)}));
  const pid_t pid = stgtd_.pid();

  // One session first, so that what every daemon allocates on its first login (reactor pools,
  // the session registry) is not charged to the idle sessions.
  IscsiSession first(std::string(kInitiatorIqn) + "-scale-first");
  ASSERT_TRUE(first.login(stgtd_.portal(), target_iqn(0)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t threads_before = proc_status(pid, "Threads");
  const uint64_t rss_before_kib = proc_status(pid, "VmRSS");

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<IscsiSession>> sessions;
  sessions.reserve(kSessions);
  for (int i = 0; i < kSessions; ++i) {
    auto s =
        std::make_unique<IscsiSession>(std::string(kInitiatorIqn) + "-scale-" + std::to_string(i));
    ASSERT_TRUE(s->login(stgtd_.portal(), target_iqn(i % kTargets))) << "session " << i;
    sessions.push_back(std::move(s));
  }
  const double login_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t threads_after = proc_status(pid, "Threads");
  const uint64_t rss_after_kib = proc_status(pid, "VmRSS");

  const double per_session =
      (static_cast<double>(rss_after_kib) - static_cast<double>(rss_before_kib)) * 1024.0 /
      kSessions;
  std::cout << kSessions << " idle sessions on " << kTargets * kLunsPerTarget << " LUs: logins "
            << login_seconds << " s; stgtd VmRSS " << rss_before_kib << " KiB -> " << rss_after_kib
            << " KiB = " << per_session / 1024.0 << " KiB per idle session; threads "
            << threads_before << " -> " << threads_after << "\n";
  RecordProperty("bytes_per_idle_session", std::to_string(per_session));
  EXPECT_LT(per_session, static_cast<double>(kMaxBytesPerSession));
  EXPECT_EQ(threads_after, threads_before);
  EXPECT_LE(threads_after, static_cast<uint64_t>(1 + kReactors + kMaxExtraThreads));

  for (const int i : {0, 1, kSessions / 2, kSessions - 1}) {
    const std::vector<uint8_t> data = make_pattern(i, 4096);
    std::vector<uint8_t> back;
    ASSERT_TRUE(sessions[i]->write(static_cast<uint64_t>(i) * 8, data)) << "session " << i;
    ASSERT_TRUE(sessions[i]->read(static_cast<uint64_t>(i) * 8, data.size(), back));
    EXPECT_EQ(back, data) << "session " << i;
  }
  for (int t = 0; t < kTargets; ++t) {
    EXPECT_TRUE(report_luns_lists_all(sessions[t]->get())) << target_iqn(t);
  }
}

}  // namespace
}  // namespace stgt::functional
