// Reading the LD_PRELOAD heap-call counter (alloc_counter.cc) of a running stgtd: SIGUSR2 asks
// it to write "seq S allocs A frees F" to $STGT_ALLOC_COUNTER_OUT; snapshot() waits for a
// report newer than the last one. allocs - frees is the number of live heap blocks.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

namespace stgt::functional {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;  // ASan owns malloc: no interposer
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

struct AllocCounters {
  uint64_t seq = 0;
  uint64_t allocs = 0;
  uint64_t frees = 0;
  int64_t live() const { return int64_t(allocs) - int64_t(frees); }
};

inline bool read_alloc_counters(const std::string& path, AllocCounters& out) {
  std::ifstream in(path);
  std::string seq, allocs, frees;
  return static_cast<bool>(in >> seq >> out.seq >> allocs >> out.allocs >> frees >> out.frees);
}

// Asks the daemon's interposer for its counters and waits for a report newer than `previous`.
inline testing::AssertionResult alloc_snapshot(pid_t pid, const std::string& path,
                                               uint64_t previous, AllocCounters& out) {
  kill(pid, SIGUSR2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_alloc_counters(path, out) && out.seq > previous) return testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return testing::AssertionFailure() << "no allocation report in " << path;
}

}  // namespace stgt::functional
