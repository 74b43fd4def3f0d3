#include "backing/file/write_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

#include "../store_test_util.h"
#include "backing/file/file_store.h"

namespace stgt::backing {
namespace {

using testing::Recorder;
using testing::TempDir;

constexpr uint64_t kImage = 4 << 20;
constexpr uint64_t kSlotBytes = 256 << 10;
const WriteJournal::Layout kLayout{.slots = 2, .slot_bytes = kSlotBytes};

std::vector<uint8_t> pattern(size_t n, uint8_t gen) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = uint8_t(gen * 31 + i % 251);
  return v;
}

// An image file and the journal next to it, reopened at will as a crash would leave them.
class WriteJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_.reset(::open(dir_.file("disk.img").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(image_.valid());
    ASSERT_EQ(::ftruncate(image_.get(), off_t(kImage)), 0);
  }

  std::string journal_path() const { return dir_.file("disk.img.atomic-journal"); }

  std::unique_ptr<WriteJournal> open_journal(WriteJournal::OpenStats* stats = nullptr) {
    auto j = WriteJournal::open(journal_path(), image_.get(), kImage, kLayout, stats);
    EXPECT_TRUE(j.ok()) << j.error();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  std::vector<uint8_t> image_at(uint64_t offset, size_t n) const {
    std::vector<uint8_t> v(n);
    EXPECT_EQ(::pread(image_.get(), v.data(), n, off_t(offset)), ssize_t(n));
    return v;
  }

  // Flips one byte of the journal file (a torn or rotten entry).
  void corrupt_journal(uint64_t at) {
    base::UniqueFd fd(::open(journal_path().c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    uint8_t b = 0;
    ASSERT_EQ(::pread(fd.get(), &b, 1, off_t(at)), 1);
    b ^= 0x5a;
    ASSERT_EQ(::pwrite(fd.get(), &b, 1, off_t(at)), 1);
  }

  // append() only: the crash came after the entry was durable, before (or during) the
  // write in place.
  void commit_only(WriteJournal& j, const std::vector<uint8_t>& data, uint64_t offset,
                   uint32_t* slot) {
    iovec v{const_cast<uint8_t*>(data.data()), data.size()};
    ASSERT_EQ(j.append({&v, 1}, offset, data.size(), slot), 0);
  }

  TempDir dir_;
  base::UniqueFd image_;
};

TEST_F(WriteJournalTest, CreatesTheSideFileSized) {
  auto j = open_journal();
  ASSERT_NE(j, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(journal_path().c_str(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), kLayout.file_bytes());
  EXPECT_EQ(j->next_seq(), 1u);
}

TEST_F(WriteJournalTest, WriteLandsInPlaceAndRetires) {
  auto j = open_journal();
  ASSERT_NE(j, nullptr);
  const auto data = pattern(kSlotBytes, 1);
  iovec v[2] = {{const_cast<uint8_t*>(data.data()), 4096},
                {const_cast<uint8_t*>(data.data()) + 4096, data.size() - 4096}};
  ASSERT_EQ(j->write(image_.get(), v, 8192, data.size()), 0);
  EXPECT_EQ(image_at(8192, data.size()), data);
  j.reset();
  auto found = WriteJournal::scan(base::UniqueFd(::open(journal_path().c_str(), O_RDONLY)).get(),
                                  kImage, kLayout);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->live.empty());
  EXPECT_EQ(found->torn, 0u);
  WriteJournal::OpenStats stats;
  ASSERT_NE(open_journal(&stats), nullptr);
  EXPECT_EQ(stats.replayed, 0u);
  EXPECT_EQ(stats.discarded, 0u);
}

// A write in place that fails (here: the image descriptor is read-only) leaves the entry
// live and the journal stuck, so nothing written later can be undone by the replay; the next
// open writes the entry in place.
TEST_F(WriteJournalTest, AFailedWriteInPlaceStaysLiveAndStopsFurtherWrites) {
  const auto data = pattern(64 * 1024, 3);
  iovec v{const_cast<uint8_t*>(data.data()), data.size()};
  {
    auto j = open_journal();
    ASSERT_NE(j, nullptr);
    base::UniqueFd read_only(::open(dir_.file("disk.img").c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(read_only.valid());
    EXPECT_LT(j->write(read_only.get(), {&v, 1}, 0, data.size()), 0);
    EXPECT_TRUE(j->stuck());
    EXPECT_EQ(j->write(image_.get(), {&v, 1}, 1 << 20, data.size()), -EIO);
    EXPECT_EQ(image_at(1 << 20, data.size()), std::vector<uint8_t>(data.size(), 0));
  }
  WriteJournal::OpenStats stats;
  auto j = open_journal(&stats);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(stats.replayed, 1u);
  EXPECT_FALSE(j->stuck());
  EXPECT_EQ(image_at(0, data.size()), data);
}

TEST_F(WriteJournalTest, ReplaysACommittedEntryAtOpen) {
  const auto data = pattern(100 * 1024, 7);
  {
    auto j = open_journal();
    ASSERT_NE(j, nullptr);
    uint32_t slot = 0;
    commit_only(*j, data, 65536, &slot);
  }
  EXPECT_EQ(image_at(65536, data.size()), std::vector<uint8_t>(data.size(), 0));
  WriteJournal::OpenStats stats;
  auto j = open_journal(&stats);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(stats.replayed, 1u);
  EXPECT_EQ(stats.discarded, 0u);
  EXPECT_EQ(image_at(65536, data.size()), data);
  EXPECT_EQ(j->next_seq(), 2u);
  // Cleared: a second open replays nothing (and would not undo later writes).
  j.reset();
  ASSERT_NE(open_journal(&stats), nullptr);
  EXPECT_EQ(stats.replayed, 0u);
}

TEST_F(WriteJournalTest, ReplayFinishesAHalfDoneWriteInPlace) {
  const auto old_data = pattern(kSlotBytes, 1);
  const auto new_data = pattern(kSlotBytes, 2);
  ASSERT_EQ(::pwrite(image_.get(), old_data.data(), old_data.size(), 0), ssize_t(kSlotBytes));
  {
    auto j = open_journal();
    uint32_t slot = 0;
    commit_only(*j, new_data, 0, &slot);
    // The crash stopped the write in place after its first half.
    ASSERT_EQ(::pwrite(image_.get(), new_data.data(), kSlotBytes / 2, 0), ssize_t(kSlotBytes / 2));
  }
  ASSERT_NE(open_journal(), nullptr);
  EXPECT_EQ(image_at(0, kSlotBytes), new_data);
}

TEST_F(WriteJournalTest, DiscardsAnEntryWhoseDataFailsItsCrc) {
  const auto old_data = pattern(8192, 3);
  ASSERT_EQ(::pwrite(image_.get(), old_data.data(), old_data.size(), 4096), 8192);
  {
    auto j = open_journal();
    uint32_t slot = 0;
    commit_only(*j, pattern(8192, 4), 4096, &slot);
    // Torn: the end of the data never reached the journal.
    corrupt_journal(uint64_t(slot) * kLayout.slot_stride() + WriteJournal::kHeaderBytes + 8000);
  }
  WriteJournal::OpenStats stats;
  ASSERT_NE(open_journal(&stats), nullptr);
  EXPECT_EQ(stats.replayed, 0u);
  EXPECT_EQ(stats.discarded, 1u);
  EXPECT_EQ(image_at(4096, 8192), old_data);  // never acknowledged, never applied
}

TEST_F(WriteJournalTest, DiscardsAnEntryWhoseHeaderFailsItsCrc) {
  // Table: header bytes whose damage must void the entry (magic, length, sequence,
  // offset, data CRC, header CRC).
  for (const uint64_t byte : {0u, 13u, 20u, 30u, 33u, 38u}) {
    SCOPED_TRACE(byte);
    uint32_t slot = 0;
    {
      auto j = open_journal();
      ASSERT_NE(j, nullptr);
      commit_only(*j, pattern(4096, uint8_t(byte)), 0, &slot);
    }
    corrupt_journal(uint64_t(slot) * kLayout.slot_stride() + byte);
    WriteJournal::OpenStats stats;
    ASSERT_NE(open_journal(&stats), nullptr);
    EXPECT_EQ(stats.replayed, 0u);
    EXPECT_EQ(stats.discarded, 1u);
    EXPECT_EQ(image_at(0, 4096), std::vector<uint8_t>(4096, 0));
  }
}

TEST_F(WriteJournalTest, WrapsAroundTheRingAndReplaysInSequenceOrder) {
  auto j = open_journal();
  ASSERT_NE(j, nullptr);
  // Five retired writes: the ring of two slots has wrapped twice.
  for (uint8_t gen = 1; gen <= 5; ++gen) {
    const auto data = pattern(4096, gen);
    iovec v{const_cast<uint8_t*>(data.data()), data.size()};
    ASSERT_EQ(j->write(image_.get(), {&v, 1}, 0, data.size()), 0);
  }
  EXPECT_EQ(j->next_seq(), 6u);
  // Two committed, unretired writes of the same blocks: sequence 6 lands in slot 0, 7 in
  // slot 1; then 8 wraps into slot 0 again, so the newest sits in the lower slot.
  uint32_t slot6 = 0, slot7 = 0, slot8 = 0;
  commit_only(*j, pattern(4096, 6), 0, &slot6);
  commit_only(*j, pattern(4096, 7), 0, &slot7);
  commit_only(*j, pattern(4096, 8), 0, &slot8);
  EXPECT_EQ(slot6, 0u);
  EXPECT_EQ(slot7, 1u);
  EXPECT_EQ(slot8, 0u);
  j.reset();
  WriteJournal::OpenStats stats;
  j = open_journal(&stats);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(stats.replayed, 2u);                   // 7 and 8; 6 was overwritten by 8
  EXPECT_EQ(image_at(0, 4096), pattern(4096, 8));  // the newest wins
  EXPECT_EQ(j->next_seq(), 9u);
}

TEST_F(WriteJournalTest, RefusesAnEntryPastTheEndOfTheImage) {
  {
    auto j = WriteJournal::open(journal_path(), image_.get(), kImage * 2, kLayout);
    ASSERT_TRUE(j.ok());
    uint32_t slot = 0;
    commit_only(**j, pattern(4096, 1), kImage + 4096, &slot);
  }
  auto j = WriteJournal::open(journal_path(), image_.get(), kImage, kLayout);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().find("past the end of the 4194304-byte image"), std::string::npos)
      << j.error();
}

TEST_F(WriteJournalTest, RefusesWritesLargerThanASlot) {
  auto j = open_journal();
  const auto data = pattern(kSlotBytes + 512, 1);
  iovec v{const_cast<uint8_t*>(data.data()), data.size()};
  EXPECT_EQ(j->write(image_.get(), {&v, 1}, 0, data.size()), -EINVAL);
}

// ---- through the file store ----

TEST(FileStoreAtomicTest, WritableFileOffersAtomicWritesThroughItsJournal) {
  TempDir dir;
  const std::string path = dir.file("a.img");
  auto store = FileStore::open({"file", path, kImage, false});
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->max_atomic_write_bytes(), kMaxAtomicWriteBytes);
  EXPECT_EQ(::access(FileStore::journal_path(path).c_str(), F_OK), 0);
  const auto data = pattern(kMaxAtomicWriteBytes, 9);
  iovec v{const_cast<uint8_t*>(data.data()), data.size()};
  Recorder rec;
  (*store)->write_atomic(nullptr, {&v, 1}, 1 << 20, false, &rec);
  EXPECT_EQ(rec.calls_, 1);
  EXPECT_EQ(rec.result_, int64_t(data.size()));
  std::vector<uint8_t> back(data.size());
  iovec b{back.data(), back.size()};
  Recorder rd;
  (*store)->read(nullptr, {&b, 1}, 1 << 20, &rd);
  EXPECT_EQ(back, data);
  // Larger than the limit: refused, nothing written.
  const auto big = pattern(kMaxAtomicWriteBytes + 4096, 1);
  iovec bv{const_cast<uint8_t*>(big.data()), big.size()};
  Recorder too_big;
  (*store)->write_atomic(nullptr, {&bv, 1}, 0, false, &too_big);
  EXPECT_EQ(too_big.result_, -EINVAL);
}

TEST(FileStoreAtomicTest, OpenReplaysAndReadOnlyOpenRefusesALiveJournal) {
  TempDir dir;
  const std::string path = dir.file("b.img");
  ASSERT_TRUE(FileStore::open({"file", path, kImage, false}).ok());
  const auto data = pattern(8192, 5);
  {
    // A committed entry that the crash kept from reaching the image.
    base::UniqueFd image(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    auto j = WriteJournal::open(FileStore::journal_path(path), image.get(), kImage,
                                {.slot_bytes = kMaxAtomicWriteBytes});
    ASSERT_TRUE(j.ok()) << j.error();
    iovec v{const_cast<uint8_t*>(data.data()), data.size()};
    uint32_t slot = 0;
    ASSERT_EQ((*j)->append({&v, 1}, 12288, data.size(), &slot), 0);
  }
  auto ro = FileStore::open({"file", path, kImage, true});
  ASSERT_FALSE(ro.ok());
  EXPECT_NE(ro.error().find("not yet replayed"), std::string::npos) << ro.error();

  auto rw = FileStore::open({"file", path, kImage, false});
  ASSERT_TRUE(rw.ok()) << rw.error();
  std::vector<uint8_t> back(data.size());
  iovec b{back.data(), back.size()};
  Recorder rd;
  (*rw)->read(nullptr, {&b, 1}, 12288, &rd);
  EXPECT_EQ(back, data);
  rw->reset();
  auto ro_after = FileStore::open({"file", path, kImage, true});
  ASSERT_TRUE(ro_after.ok()) << ro_after.error();
  EXPECT_EQ((*ro_after)->max_atomic_write_bytes(), 0u);
}

}  // namespace
}  // namespace stgt::backing
