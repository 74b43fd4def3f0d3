// Several sessions at once, each in its own thread and libiscsi context, write disjoint regions;
// a fresh session then checks every region (no write lost or misplaced across sessions).
#include <thread>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr int kSessions = 6;
constexpr uint64_t kRegionBlocks = 16384;  // 8 MiB per session
constexpr uint64_t kLunSize = kSessions * kRegionBlocks * kBlockSize;
constexpr uint32_t kChunkBlocks[] = {1, 7, 128, 2049, 33, 4096, 255, 1};

uint64_t seed_of(int session, int chunk) {
  return uint64_t(session) * 1000 + uint64_t(chunk) + 7;
}

// Writes the session's region chunk by chunk and reads each chunk back in the same session.
void run_session(const std::string& portal, int index, testing::AssertionResult& result) {
  IscsiSession session("iqn.2026-11.org.stgt.test:initiator-" + std::to_string(index));
  result = session.login(portal, kTargetIqn);
  if (!result) return;
  uint64_t lba = uint64_t(index) * kRegionBlocks;
  for (int chunk = 0; chunk < int(std::size(kChunkBlocks)); ++chunk) {
    const auto pattern = make_pattern(seed_of(index, chunk), kChunkBlocks[chunk] * kBlockSize);
    result = session.write(lba, pattern);
    if (!result) return;
    std::vector<uint8_t> back;
    result = session.read(lba, pattern.size(), back);
    if (!result) return;
    if (back != pattern) {
      result = testing::AssertionFailure() << "session " << index << " chunk " << chunk;
      return;
    }
    lba += kChunkBlocks[chunk];
  }
  result = session.logout();
}

class ConcurrencyTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
    ASSERT_TRUE(stgtd_.start());
  }
};

TEST_F(ConcurrencyTest, ParallelSessionsWriteDisjointRegions) {
  std::vector<testing::AssertionResult> results(kSessions, testing::AssertionSuccess());
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back(run_session, stgtd_.portal(), i, std::ref(results[size_t(i)]));
  }
  for (std::thread& t : threads)
    t.join();
  for (const auto& r : results)
    ASSERT_TRUE(r);

  IscsiSession checker;
  ASSERT_TRUE(checker.login(stgtd_.portal(), kTargetIqn));
  for (int i = 0; i < kSessions; ++i) {
    uint64_t lba = uint64_t(i) * kRegionBlocks;
    for (int chunk = 0; chunk < int(std::size(kChunkBlocks)); ++chunk) {
      std::vector<uint8_t> data;
      ASSERT_TRUE(checker.read(lba, kChunkBlocks[chunk] * kBlockSize, data));
      EXPECT_TRUE(data == make_pattern(seed_of(i, chunk), data.size()))
          << "session " << i << " chunk " << chunk;
      lba += kChunkBlocks[chunk];
    }
  }
}

}  // namespace
}  // namespace stgt::functional
