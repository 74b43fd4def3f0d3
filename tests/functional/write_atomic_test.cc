// WRITE ATOMIC (16) through stgtd. A memory LU offers it (its writes are all or nothing;
// backing/backing_store.h), and so does a file LU, through its write-ahead journal (the side
// file <image>.atomic-journal; backing/file/write_journal.h), 1 MiB in the Block Limits
// page. On each, two sessions on two reactors overwrite the same range with atomic
// writes while a third keeps writing a block inside it with plain WRITEs: every block of the
// range ends as one whole atomic image or that block's plain write, and the atomic image
// that is left is never mixed with another atomic image. This checks the command end to
// end; it does not prove the exclusion: a memory store's write is one short memcpy, and
// the test still passes with the extent hold made shared. The unit test
// WriteAtomic.ExclusiveAgainstOverlappingWrites (held store writes) fails then. Crash
// atomicity is the fault test's (tests/faults/atomic_crash_test.cc).
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/byte_order.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 4 << 20;
constexpr uint64_t kLba = 100;
constexpr uint32_t kBlocks = 64;
constexpr int kRounds = 200;

using Bytes = std::vector<uint8_t>;

// One atomic image: every block starts with (writer, round) so a mix is visible.
Bytes image(uint32_t writer, uint32_t round) {
  Bytes b(kBlocks * kBlockSize);
  for (uint32_t i = 0; i < kBlocks; ++i) {
    uint8_t* block = b.data() + size_t(i) * kBlockSize;
    base::store_be32(block, writer);
    base::store_be32(block + 4, round);
    std::memset(block + 8, int(writer * 31 + round), kBlockSize - 8);
  }
  return b;
}

int write_atomic(IscsiSession& s, uint64_t lba, Bytes& data) {
  scsi_task* t = iscsi_writeatomic16_sync(s.get(), 1, lba, data.data(), uint32_t(data.size()),
                                          int(kBlockSize), 0, 0, 0, 0);
  if (t == nullptr) return -1;
  const int status = t->status == SCSI_STATUS_CHECK_CONDITION ? 0x100 | t->sense.key : t->status;
  scsi_free_scsi_task(t);
  return status;
}

// MAXIMUM ATOMIC TRANSFER LENGTH of the Block Limits page.
uint32_t max_atomic_blocks(IscsiSession& s) {
  scsi_task* t = iscsi_inquiry_sync(s.get(), 1, 1, 0xb0, 255);
  if (t == nullptr || t->status != SCSI_STATUS_GOOD || t->datain.size < 48) {
    if (t != nullptr) scsi_free_scsi_task(t);
    return UINT32_MAX;
  }
  const uint32_t v = base::load_be32(t->datain.data + 44);
  scsi_free_scsi_task(t);
  return v;
}

void atomic_writer(const std::string& portal, uint32_t writer, testing::AssertionResult& out) {
  IscsiSession s("iqn.2026-11.org.stgt.test:atomic-" + std::to_string(writer));
  out = s.login(portal, kTargetIqn);
  if (!out) return;
  for (uint32_t round = 0; round < kRounds; ++round) {
    Bytes data = image(writer, round);
    const int status = write_atomic(s, kLba, data);
    if (status != SCSI_STATUS_GOOD) {
      out = testing::AssertionFailure()
            << "writer " << writer << " round " << round << ": status " << std::hex << status;
      return;
    }
  }
  out = s.logout();
}

class WriteAtomicTest : public StgtdTest {
 protected:
  void never_mixed(const config::LunConfig& lun);
};

void WriteAtomicTest::never_mixed(const config::LunConfig& lun) {
  stgtd_.write_config(stgtd_.base_config({lun}));
  ASSERT_TRUE(stgtd_.start({"--reactors", "2"}));
  IscsiSession plain("iqn.2026-11.org.stgt.test:plain");
  ASSERT_TRUE(plain.login(stgtd_.portal(), kTargetIqn));
  EXPECT_GE(max_atomic_blocks(plain), kBlocks);

  testing::AssertionResult a = testing::AssertionSuccess(), b = testing::AssertionSuccess();
  std::thread ta(atomic_writer, stgtd_.portal(), 1, std::ref(a));
  std::thread tb(atomic_writer, stgtd_.portal(), 2, std::ref(b));
  const Bytes marker(kBlockSize, 0xee);
  for (int i = 0; i < kRounds; ++i) {
    const testing::AssertionResult w = plain.write(kLba + 10, marker);
    if (!w) {
      ADD_FAILURE() << w.message();
      break;
    }
  }
  ta.join();
  tb.join();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);

  Bytes back;
  ASSERT_TRUE(plain.read(kLba, kBlocks * kBlockSize, back));
  // Block 10 is the marker or part of an image; all the other blocks are one image.
  const uint32_t writer = base::load_be32(back.data());
  const uint32_t round = base::load_be32(back.data() + 4);
  const Bytes want = image(writer, round);
  for (uint32_t i = 0; i < kBlocks; ++i) {
    const size_t at = size_t(i) * kBlockSize;
    const bool is_image = std::memcmp(back.data() + at, want.data() + at, kBlockSize) == 0;
    if (i == 10 && std::memcmp(back.data() + at, marker.data(), kBlockSize) == 0) continue;
    EXPECT_TRUE(is_image) << "block " << i << " is not from writer " << writer << " round "
                          << round;
  }
  EXPECT_EQ(round, uint32_t(kRounds - 1));  // the last image left is some writer's last
}

TEST_F(WriteAtomicTest, OnAMemoryLuIsNeverMixed) {
  never_mixed(StgtdProcess::memory_lun(kLunSize));
}

TEST_F(WriteAtomicTest, OnAFileLuIsNeverMixed) {
  never_mixed(stgtd_.file_lun(kLunSize));
}

TEST_F(WriteAtomicTest, AFileLuOffersOneMibThroughItsJournal) {
  stgtd_.write_config(stgtd_.base_config({stgtd_.file_lun(kLunSize)}));
  ASSERT_TRUE(stgtd_.start());
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  EXPECT_EQ(max_atomic_blocks(s), (1u << 20) / kBlockSize);
  EXPECT_TRUE(std::filesystem::exists(stgtd_.dir() + "/lun1.img.atomic-journal"));
  Bytes data = image(1, 0);
  EXPECT_EQ(write_atomic(s, kLba, data), SCSI_STATUS_GOOD);
  Bytes back;
  ASSERT_TRUE(s.read(kLba, data.size(), back));
  EXPECT_EQ(back, data);
}

}  // namespace
}  // namespace stgt::functional
