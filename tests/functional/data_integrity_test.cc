// What is written through one session is read back, byte for byte, through another: single
// blocks, odd block counts, transfers larger than MaxBurstLength (1 MiB) and not multiples of any
// PDU size, for both a memory and a file store.
#include <thread>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 64ull << 20;
constexpr uint64_t kBlocks = kLunSize / kBlockSize;

struct Extent {
  uint64_t lba;
  uint32_t blocks;
};

// Disjoint extents, in ascending order, covering the start, the end and large transfers.
constexpr Extent kExtents[] = {
    {0, 1},           {1, 1},          {2, 3},         {7, 17},
    {100, 127},       {300, 129},      {1000, 2049},  // 1 MiB + 512: one block past MaxBurstLength
    {4000, 6145},                                     // 3 MiB + 512
    {20000, 255},     {21000, 4097},   {30000, 16384},  // 8 MiB in one command
    {kBlocks - 3, 2}, {kBlocks - 1, 1}};

class DataIntegrityTest : public StgtdTest, public testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    const config::LunConfig lun =
        GetParam() == "file" ? stgtd_.file_lun(kLunSize) : StgtdProcess::memory_lun(kLunSize);
    stgtd_.write_config(stgtd_.base_config({lun}));
    ASSERT_TRUE(stgtd_.start());
  }
};

TEST_P(DataIntegrityTest, WritesAreReadBackThroughAnotherSession) {
  {
    IscsiSession writer;
    ASSERT_TRUE(writer.login(stgtd_.portal(), kTargetIqn));
    uint64_t seed = 1;
    for (const Extent& e : kExtents) {
      ASSERT_TRUE(writer.write(e.lba, make_pattern(seed++, size_t(e.blocks) * kBlockSize)));
    }
    ASSERT_TRUE(writer.logout());
  }
  IscsiSession reader;
  ASSERT_TRUE(reader.login(stgtd_.portal(), kTargetIqn));
  uint64_t seed = 1;
  for (const Extent& e : kExtents) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(reader.read(e.lba, size_t(e.blocks) * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(seed++, data.size()))
        << "mismatch at lba " << e.lba << " blocks " << e.blocks;
  }
}

// The same through sessions that negotiated CRC32C header digests (RFC 7143 13.1): every PDU
// header both ways carries a digest that stgtd computes and checks.
TEST_P(DataIntegrityTest, HeaderDigestSessionsCarryDataIntact) {
  IscsiSession writer;
  writer.require_header_digest();
  ASSERT_TRUE(writer.login(stgtd_.portal(), kTargetIqn));
  IscsiSession reader;
  reader.require_header_digest();
  ASSERT_TRUE(reader.login(stgtd_.portal(), kTargetIqn));
  uint64_t seed = 100;
  for (const Extent& e : kExtents) {
    ASSERT_TRUE(writer.write(e.lba, make_pattern(seed++, size_t(e.blocks) * kBlockSize)));
  }
  seed = 100;
  for (const Extent& e : kExtents) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(reader.read(e.lba, size_t(e.blocks) * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(seed++, data.size()))
        << "mismatch at lba " << e.lba << " blocks " << e.blocks;
  }
  // Both sessions really negotiated the digest (stgtd logs each session's choice).
  const std::string log = stgtd_.log();
  size_t count = 0;
  for (size_t at = log.find("header digest CRC32C"); at != std::string::npos;
       at = log.find("header digest CRC32C", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << log;
}

TEST_P(DataIntegrityTest, UnwrittenBlocksReadAsZeroAndNeighboursAreUntouched) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  std::vector<uint8_t> data;
  ASSERT_TRUE(session.read(50000, 8 * kBlockSize, data));
  EXPECT_TRUE(data == std::vector<uint8_t>(8 * kBlockSize, 0));
  ASSERT_TRUE(session.write(50003, make_pattern(99, 2 * kBlockSize)));
  ASSERT_TRUE(session.read(50000, 8 * kBlockSize, data));
  std::vector<uint8_t> expected(8 * kBlockSize, 0);
  const auto pattern = make_pattern(99, 2 * kBlockSize);
  std::copy(pattern.begin(), pattern.end(), expected.begin() + 3 * kBlockSize);
  EXPECT_TRUE(data == expected);
}

TEST_P(DataIntegrityTest, OverlappingWritesKeepTheLastOne) {
  IscsiSession session;
  ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(session.write(60000, make_pattern(1, 3000 * kBlockSize)));
  ASSERT_TRUE(session.write(60001, make_pattern(2, 2999 * kBlockSize)));
  std::vector<uint8_t> data;
  ASSERT_TRUE(session.read(60000, 3000 * kBlockSize, data));
  const auto first = make_pattern(1, kBlockSize);
  const auto second = make_pattern(2, 2999 * kBlockSize);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), data.begin()));
  EXPECT_TRUE(std::equal(second.begin(), second.end(), data.begin() + kBlockSize));
}

INSTANTIATE_TEST_SUITE_P(Stores, DataIntegrityTest, testing::Values("memory", "file"));

// The epoll backend (file I/O on its blocking pool) with one and with two reactors serves
// the same data as io_uring does.
class EpollBackendTest : public StgtdTest, public testing::WithParamInterface<const char*> {};

TEST_P(EpollBackendTest, FileLunDataIsReadBackThroughAnotherSession) {
  stgtd_.write_config(stgtd_.base_config({stgtd_.file_lun(kLunSize)}));
  ASSERT_TRUE(stgtd_.start({"--io-backend", "epoll", "--reactors", GetParam()}));
  {
    IscsiSession writer;
    ASSERT_TRUE(writer.login(stgtd_.portal(), kTargetIqn));
    uint64_t seed = 500;
    for (const Extent& e : kExtents) {
      ASSERT_TRUE(writer.write(e.lba, make_pattern(seed++, size_t(e.blocks) * kBlockSize)));
    }
  }
  IscsiSession reader;
  ASSERT_TRUE(reader.login(stgtd_.portal(), kTargetIqn));
  uint64_t seed = 500;
  for (const Extent& e : kExtents) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(reader.read(e.lba, size_t(e.blocks) * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(seed++, data.size())) << "mismatch at lba " << e.lba;
  }
  EXPECT_NE(stgtd_.log().find("epoll backend"), std::string::npos) << stgtd_.log();
}

INSTANTIATE_TEST_SUITE_P(Reactors, EpollBackendTest, testing::Values("1", "2"));

// io_uring with the rest of each large data segment received straight into the command's
// buffers (--direct-receive=on): the same data comes back, with and without header digests,
// from one and from two sessions writing at once.
class DirectReceiveTest : public StgtdTest, public testing::WithParamInterface<bool> {};

TEST_P(DirectReceiveTest, WritesAreReadBackIntact) {
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
  ASSERT_TRUE(stgtd_.start({"--io-backend", "uring", "--direct-receive", "on"}));
  IscsiSession first;
  IscsiSession second;
  if (GetParam()) {
    first.require_header_digest();
    second.require_header_digest();
  }
  ASSERT_TRUE(first.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(second.login(stgtd_.portal(), kTargetIqn));
  std::thread other([&] {
    // Above the extents' LBAs: the two sessions write disjoint blocks.
    for (uint32_t i = 0; i < 64; ++i) {
      ASSERT_TRUE(second.write(70000 + i * 300, make_pattern(900 + i, 256 * kBlockSize)));
    }
  });
  uint64_t seed = 300;
  for (const Extent& e : kExtents) {
    ASSERT_TRUE(first.write(e.lba, make_pattern(seed++, size_t(e.blocks) * kBlockSize)));
  }
  other.join();
  seed = 300;
  for (const Extent& e : kExtents) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(second.read(e.lba, size_t(e.blocks) * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(seed++, data.size())) << "mismatch at lba " << e.lba;
  }
  for (uint32_t i = 0; i < 64; ++i) {
    std::vector<uint8_t> data;
    ASSERT_TRUE(first.read(70000 + i * 300, 256 * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(900 + i, data.size())) << "mismatch in write " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(HeaderDigest, DirectReceiveTest, testing::Bool());

}  // namespace
}  // namespace stgt::functional
