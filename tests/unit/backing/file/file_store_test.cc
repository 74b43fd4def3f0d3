#include "backing/file/file_store.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../store_test_util.h"
#include "reactor/reactor.h"

namespace stgt::backing {
namespace {

using testing::Recorder;
using testing::TempDir;

constexpr uint64_t kSize = 16 << 20;

TEST(FileStoreOpenTest, CreatesAMissingFileSparse) {
  TempDir dir;
  const std::string path = dir.file("new.img");
  auto store = FileStore::open({"file", path, kSize, false});
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->kind(), "file");
  EXPECT_EQ((*store)->size(), kSize);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(uint64_t(st.st_size), kSize);
  EXPECT_LT(uint64_t(st.st_blocks) * 512, kSize / 16);  // sparse: (almost) nothing allocated
}

TEST(FileStoreOpenTest, ReopenRulesForSize) {
  TempDir dir;
  const std::string path = dir.file("disk.img");
  ASSERT_TRUE(FileStore::open({"file", path, kSize, false}).ok());

  auto same = FileStore::open({"file", path, kSize, false});
  ASSERT_TRUE(same.ok()) << same.error();
  auto any = FileStore::open({"file", path, 0, false});
  ASSERT_TRUE(any.ok()) << any.error();
  EXPECT_EQ((*any)->size(), kSize);

  auto bigger = FileStore::open({"file", path, kSize * 2, false});
  ASSERT_FALSE(bigger.ok());
  EXPECT_EQ(bigger.error(), path + " is 16777216 bytes but the configured size is 33554432 bytes");
  auto smaller = FileStore::open({"file", path, 4096, false});
  ASSERT_FALSE(smaller.ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), kSize);  // never resized by a failed open
}

TEST(FileStoreOpenTest, OtherErrors) {
  TempDir dir;
  const std::string empty = dir.file("empty.img");
  ASSERT_EQ(::close(::creat(empty.c_str(), 0644)), 0);
  auto e = FileStore::open({"file", empty, 0, false});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), empty + " is empty");

  auto ro_missing = FileStore::open({"file", dir.file("nope.img"), 4096, true});
  ASSERT_FALSE(ro_missing.ok());
  EXPECT_EQ(ro_missing.error(),
            "cannot open " + dir.file("nope.img") + ": No such file or directory");

  auto chr = FileStore::open({"file", "/dev/null", 0, false});
  ASSERT_FALSE(chr.ok());
  EXPECT_EQ(chr.error(), "/dev/null is not a regular file or block device");
}

TEST(FileStoreOpenTest, ReadOnlyRefusesWrites) {
  TempDir dir;
  const std::string path = dir.file("ro.img");
  ASSERT_TRUE(FileStore::open({"file", path, 8192, false}).ok());
  auto store = FileStore::open({"file", path, 0, true});
  ASSERT_TRUE(store.ok()) << store.error();
  std::vector<uint8_t> buf(512, 1);
  iovec iov{buf.data(), buf.size()};
  Recorder w;
  (*store)->write(nullptr, {&iov, 1}, 0, false, &w);
  EXPECT_EQ(w.result_, -EROFS);
  Recorder r;
  (*store)->read(nullptr, {&iov, 1}, 0, &r);
  EXPECT_EQ(r.result_, 512);
  EXPECT_EQ(buf, std::vector<uint8_t>(512, 0));
}

uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return uint64_t(st.st_blocks) * 512;
}

// Opening probes the file system (hole punching, zeroing in place) past the end of the
// image; that leaves no block allocated behind (a fresh sparse image stays at 0 bytes).
TEST(FileStoreOpenTest, ProbesLeaveNothingAllocated) {
  TempDir dir;
  const std::string path = dir.file("probe.img");
  for (int i = 0; i < 3; ++i) {
    auto store = FileStore::open({"file", path, kSize, false});
    ASSERT_TRUE(store.ok()) << store.error();
    EXPECT_TRUE((*store)->supports_write_zeroes());
  }
  EXPECT_EQ(allocated_bytes(path), 0u);
}

// A file system without ZERO_RANGE (tmpfs; /dev/shm here): the first write_zeroes answers
// EOPNOTSUPP, changes nothing, and the store stops offering it.
TEST(FileStoreOpenTest, WriteZeroesTurnsItselfOffWhereTheFileSystemCannot) {
  const std::string path = "/dev/shm/stgt-file-store-test-" + std::to_string(::getpid());
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
    GTEST_SKIP() << "no tmpfs at /dev/shm";
  }
  {
    auto store = FileStore::open({"file", path, 1 << 20, false});
    ASSERT_TRUE(store.ok()) << store.error();
    const int fd = static_cast<FileStore&>(**store).fd();
    ASSERT_EQ(::pwrite(fd, std::string(8192, 'q').data(), 8192, 0), 8192);
    ASSERT_TRUE((*store)->supports_write_zeroes());
    Recorder z;
    (*store)->write_zeroes(nullptr, 0, 4096, false, &z);
    EXPECT_EQ(z.result_, -EOPNOTSUPP);
    EXPECT_FALSE((*store)->supports_write_zeroes());
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, 0), 1);
    EXPECT_EQ(c, 'q');
  }
  ::unlink(path.c_str());
  ::unlink(FileStore::journal_path(path).c_str());
}

// unmap punches a real hole: the blocks are released (st_blocks, SEEK_HOLE), the range
// reads back as zeros, and provisioning_status sees the hole.
TEST(FileStoreUnmapTest, PunchesAHole) {
  TempDir dir;
  const std::string path = dir.file("thin.img");
  auto store = FileStore::open({"file", path, 1 << 20, false});
  ASSERT_TRUE(store.ok()) << store.error();
  BackingStore& s = **store;
  ASSERT_TRUE(s.supports_unmap());  // ext4, xfs, tmpfs, btrfs all punch holes
  std::vector<uint8_t> data(1 << 20, 0x77);
  iovec iov{data.data(), data.size()};
  Recorder w;
  s.write(nullptr, {&iov, 1}, 0, false, &w);
  ASSERT_EQ(w.result_, 1 << 20);
  const uint64_t before = allocated_bytes(path);
  EXPECT_GE(before, uint64_t(1) << 20);
  EXPECT_TRUE(s.provisioning_status(0, 1 << 20).mapped);
  EXPECT_EQ(s.provisioning_status(0, 1 << 20).length, uint64_t(1) << 20);

  Recorder u;
  s.unmap(nullptr, 256 << 10, 512 << 10, &u);
  EXPECT_EQ(u.calls_, 1);
  EXPECT_EQ(u.result_, 0);
  EXPECT_LE(allocated_bytes(path), before - (512 << 10));
  const int fd = static_cast<FileStore&>(s).fd();
  EXPECT_EQ(::lseek(fd, 0, SEEK_HOLE), off_t(256 << 10));
  EXPECT_EQ(::lseek(fd, 256 << 10, SEEK_DATA), off_t(768 << 10));

  const auto first = s.provisioning_status(0, 1 << 20);
  EXPECT_TRUE(first.mapped);
  EXPECT_EQ(first.length, uint64_t(256) << 10);
  const auto hole = s.provisioning_status(256 << 10, 768 << 10);
  EXPECT_FALSE(hole.mapped);
  EXPECT_EQ(hole.length, uint64_t(512) << 10);
  const auto clipped = s.provisioning_status(300 << 10, 4096);
  EXPECT_FALSE(clipped.mapped);
  EXPECT_EQ(clipped.length, 4096u);
  const auto tail = s.provisioning_status(768 << 10, 256 << 10);
  EXPECT_TRUE(tail.mapped);
  EXPECT_EQ(tail.length, uint64_t(256) << 10);

  std::vector<uint8_t> back(1 << 20);
  iovec riov{back.data(), back.size()};
  Recorder r;
  s.read(nullptr, {&riov, 1}, 0, &r);
  ASSERT_EQ(r.result_, 1 << 20);
  for (size_t i = 0; i < back.size(); i += 512) {
    const bool hole_here = i >= (256 << 10) && i < (768 << 10);
    ASSERT_EQ(back[i], hole_here ? 0 : 0x77) << i;
  }
}

// Block devices: thin only when the device can discard and promise zeros (sysfs queue
// limits), with the reason spelt out otherwise. A fake queue directory stands for sysfs.
TEST(FileStoreBlockUnmapTest, NeedsBothDiscardAndWriteZeroes) {
  TempDir dir;
  const std::string queue = dir.file("queue");
  ASSERT_EQ(::mkdir(queue.c_str(), 0755), 0);
  const auto set = [&](const char* name, const char* value) {
    std::ofstream(queue + "/" + name) << value << "\n";
  };
  EXPECT_NE(FileStore::block_unmap_check(queue).find("cannot be read"), std::string::npos);
  set("discard_max_bytes", "4294966784");
  set("write_zeroes_max_bytes", "4294966784");
  EXPECT_EQ(FileStore::block_unmap_check(queue), "");
  set("write_zeroes_max_bytes", "0");
  EXPECT_NE(FileStore::block_unmap_check(queue).find("write_zeroes_max_bytes is 0"),
            std::string::npos);
  set("discard_max_bytes", "0");
  EXPECT_NE(FileStore::block_unmap_check(queue).find("discard_max_bytes is 0"),
            std::string::npos);
  set("discard_max_bytes", "garbage");
  EXPECT_NE(FileStore::block_unmap_check(queue).find("cannot be read"), std::string::npos);
}

// The queue directory of a whole disk is its own; a partition's is its disk's.
TEST(FileStoreBlockUnmapTest, SysfsQueueDirOfADisk) {
  struct stat st {};
  // vda or loop0 exist on most Linux machines; any block device under /dev will do.
  for (const char* dev : {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0"}) {
    if (::stat(dev, &st) == 0 && S_ISBLK(st.st_mode)) {
      const std::string dir = FileStore::sysfs_queue_dir(st.st_rdev);
      EXPECT_EQ(::access((dir + "/logical_block_size").c_str(), R_OK), 0) << dir;
      return;
    }
  }
  GTEST_SKIP() << "no block device to look at";
}

// Unaligned ranges: the partial file-system blocks at the edges are zeroed too (LBPRZ).
TEST(FileStoreUnmapTest, UnalignedRangeReadsBackZeros) {
  TempDir dir;
  auto store = FileStore::open({"file", dir.file("u.img"), 64 << 10, false});
  ASSERT_TRUE(store.ok());
  std::vector<uint8_t> data(64 << 10, 0x55);
  iovec iov{data.data(), data.size()};
  Recorder w;
  (*store)->write(nullptr, {&iov, 1}, 0, false, &w);
  Recorder u;
  (*store)->unmap(nullptr, 512, 3 * 4096, &u);
  ASSERT_EQ(u.result_, 0);
  Recorder r;
  (*store)->read(nullptr, {&iov, 1}, 0, &r);
  for (size_t i = 0; i < data.size(); ++i) {
    ASSERT_EQ(data[i], i >= 512 && i < 512 + 3 * 4096 ? 0 : 0x55) << i;
  }
}

TEST(FileStoreUnmapTest, RangeAndReadOnly) {
  TempDir dir;
  const std::string path = dir.file("r.img");
  auto store = FileStore::open({"file", path, 64 << 10, false});
  ASSERT_TRUE(store.ok());
  Recorder past;
  (*store)->unmap(nullptr, 60 << 10, 8 << 10, &past);
  EXPECT_EQ(past.result_, -EINVAL);
  Recorder empty;
  (*store)->unmap(nullptr, 64 << 10, 0, &empty);
  EXPECT_EQ(empty.result_, 0);
  // A fresh sparse image is one hole.
  const auto fresh = (*store)->provisioning_status(0, 64 << 10);
  EXPECT_FALSE(fresh.mapped);
  EXPECT_EQ(fresh.length, uint64_t(64) << 10);

  auto ro = FileStore::open({"file", path, 0, true});
  ASSERT_TRUE(ro.ok());
  EXPECT_FALSE((*ro)->supports_write_zeroes());
  // A read-only file may back a thin LU: unmap is offered and always refused with EROFS.
  EXPECT_TRUE((*ro)->supports_unmap());
  Recorder refused;
  (*ro)->unmap(nullptr, 0, 4096, &refused);
  EXPECT_EQ(refused.result_, -EROFS);
}

// I/O through a real reactor of each backend, and without a reactor (inline, blocking).
enum class Mode { kUring, kEpoll, kNoReactor };

class FileStoreIoTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    auto store = FileStore::open({"file", dir_.file("io.img"), kSize, false});
    ASSERT_TRUE(store.ok()) << store.error();
    store_ = std::move(store).value();
    if (GetParam() == Mode::kNoReactor) return;
    reactor_ = reactor::Reactor::create(
        GetParam() == Mode::kUring ? reactor::IoBackend::kUring : reactor::IoBackend::kEpoll, 0);
    ASSERT_NE(reactor_, nullptr);
    thread_ = std::thread([this] { reactor_->run(); });
  }
  void TearDown() override {
    if (reactor_ == nullptr) return;
    reactor_->stop();
    thread_.join();
  }

  // Runs fn on the reactor (or here), then waits until `pending` completions have arrived.
  void run_and_wait(const std::function<void(reactor::Reactor*)>& fn, std::atomic<int>& left) {
    if (reactor_ == nullptr) {
      fn(nullptr);
    } else {
      reactor_->post([&] { fn(reactor_.get()); });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (left.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(left.load(), 0);
  }

  class Counted final : public StoreCompletion {
   public:
    void store_done(int64_t result) override {
      result_ = result;
      left_->fetch_sub(1);
    }
    std::atomic<int>* left_ = nullptr;
    int64_t result_ = -12345;
  };

  TempDir dir_;
  std::unique_ptr<BackingStore> store_;
  std::unique_ptr<reactor::Reactor> reactor_;
  std::thread thread_;
};

TEST_P(FileStoreIoTest, RoundTripAtManyOffsets) {
  // Offsets: aligned, unaligned, across the middle, and the very end.
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < 64; ++i)
    offsets.push_back(i * 65536 + (i % 3) * 511);
  offsets.push_back(kSize - 3 * 4096);
  const size_t kLen = 3 * 4096;
  std::vector<std::vector<uint8_t>> data(offsets.size(), std::vector<uint8_t>(kLen));
  std::vector<std::array<iovec, 3>> wiov(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    for (size_t j = 0; j < kLen; ++j)
      data[i][j] = uint8_t(i * 13 + j * 7 + 1);
    // Uneven segments exercise the iovec walk.
    wiov[i] = {iovec{data[i].data(), 100}, iovec{data[i].data() + 100, 4000},
               iovec{data[i].data() + 4100, kLen - 4100}};
  }
  std::atomic<int> left{int(offsets.size())};
  std::vector<Counted> writes(offsets.size());
  run_and_wait(
      [&](reactor::Reactor* r) {
        for (size_t i = 0; i < offsets.size(); ++i) {
          writes[i].left_ = &left;
          store_->write(r, wiov[i], offsets[i], i % 4 == 0, &writes[i]);
        }
      },
      left);
  for (const Counted& w : writes)
    EXPECT_EQ(w.result_, int64_t(kLen));

  std::atomic<int> flushed{1};
  Counted flush;
  flush.left_ = &flushed;
  run_and_wait([&](reactor::Reactor* r) { store_->flush(r, &flush); }, flushed);
  EXPECT_EQ(flush.result_, 0);

  std::vector<std::vector<uint8_t>> back(offsets.size(), std::vector<uint8_t>(kLen));
  std::vector<iovec> riov(offsets.size());
  std::vector<Counted> reads(offsets.size());
  left = int(offsets.size());
  run_and_wait(
      [&](reactor::Reactor* r) {
        for (size_t i = 0; i < offsets.size(); ++i) {
          reads[i].left_ = &left;
          riov[i] = iovec{back[i].data(), kLen};
          store_->read(r, {&riov[i], 1}, offsets[i], &reads[i]);
        }
      },
      left);
  for (size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_EQ(reads[i].result_, int64_t(kLen)) << i;
    EXPECT_EQ(back[i], data[i]) << "offset " << offsets[i];
  }

  // What the store wrote is in the file itself.
  auto reopened = FileStore::open({"file", dir_.file("io.img"), 0, true});
  ASSERT_TRUE(reopened.ok());
  std::vector<uint8_t> direct(kLen);
  ASSERT_EQ(
      ::pread(static_cast<FileStore&>(**reopened).fd(), direct.data(), kLen, off_t(offsets.back())),
      ssize_t(kLen));
  EXPECT_EQ(direct, data.back());
}

TEST_P(FileStoreIoTest, OutOfRangeAndTruncatedFile) {
  std::vector<uint8_t> buf(8192);
  iovec iov{buf.data(), buf.size()};
  std::atomic<int> left{2};
  Counted past, at_end;
  past.left_ = &left;
  at_end.left_ = &left;
  run_and_wait(
      [&](reactor::Reactor* r) {
        store_->read(r, {&iov, 1}, kSize - 4096, &past);  // crosses the end: refused
        // Someone truncated the file behind our back: a short read is an error.
        ASSERT_EQ(::truncate(dir_.file("io.img").c_str(), off_t(kSize - 4096)), 0);
        store_->read(r, {&iov, 1}, kSize - 8192, &at_end);
      },
      left);
  EXPECT_EQ(past.result_, -EINVAL);
  EXPECT_EQ(at_end.result_, -EIO);
}

std::string mode_name(const ::testing::TestParamInfo<Mode>& p) {
  switch (p.param) {
    case Mode::kUring:
      return "Uring";
    case Mode::kEpoll:
      return "Epoll";
    case Mode::kNoReactor:
      return "NoReactor";
  }
  return "?";
}

// WRITE ATOMIC's path: the journal thread runs the writes one at a time and each completion
// comes back on the reactor that asked; the data lands in place and the journal is clear.
TEST_P(FileStoreIoTest, AtomicWritesGoThroughTheJournalAndCompleteOnTheReactor) {
  ASSERT_EQ(store_->max_atomic_write_bytes(), kMaxAtomicWriteBytes);
  constexpr size_t kWrites = 8;
  constexpr size_t kLen = 256 << 10;
  std::vector<std::vector<uint8_t>> data(kWrites, std::vector<uint8_t>(kLen));
  std::vector<iovec> iov(kWrites);
  for (size_t i = 0; i < kWrites; ++i) {
    for (size_t j = 0; j < kLen; ++j)
      data[i][j] = uint8_t(i * 29 + j * 3 + 5);
    iov[i] = iovec{data[i].data(), kLen};
  }
  class OnReactor final : public StoreCompletion {
   public:
    void store_done(int64_t result) override {
      result_ = result;
      where_ = reactor::Reactor::current();
      left_->fetch_sub(1);
    }
    std::atomic<int>* left_ = nullptr;
    int64_t result_ = -12345;
    reactor::Reactor* where_ = nullptr;
  };
  std::atomic<int> left{int(kWrites)};
  std::vector<OnReactor> done(kWrites);
  run_and_wait(
      [&](reactor::Reactor* r) {
        for (size_t i = 0; i < kWrites; ++i) {
          done[i].left_ = &left;
          store_->write_atomic(r, {&iov[i], 1}, i * kLen * 2 + 512, false, &done[i]);
        }
      },
      left);
  for (const OnReactor& d : done) {
    EXPECT_EQ(d.result_, int64_t(kLen));
    EXPECT_EQ(d.where_, reactor_.get());
  }
  for (size_t i = 0; i < kWrites; ++i) {
    std::vector<uint8_t> back(kLen);
    ASSERT_EQ(::pread(static_cast<FileStore&>(*store_).fd(), back.data(), kLen,
                      off_t(i * kLen * 2 + 512)),
              ssize_t(kLen));
    EXPECT_EQ(back, data[i]) << i;
  }
  base::UniqueFd journal(::open(FileStore::journal_path(dir_.file("io.img")).c_str(), O_RDONLY));
  ASSERT_TRUE(journal.valid());
  auto found = WriteJournal::scan(journal.get(), kSize, {.slot_bytes = kMaxAtomicWriteBytes});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->live.empty());
  EXPECT_EQ(found->torn, 0u);
}

// UNMAP's path: the hole is punched off the reactor thread and the completion comes back on
// the reactor that asked, after the call returned (never inline, so a long discard on a
// block device does not stall the reactor); the range reads as zeros, its neighbours keep
// their data, and the file system released the blocks.
TEST_P(FileStoreIoTest, UnmapPunchesAHoleAndCompletesOnTheCallingReactor) {
  const int fd = static_cast<FileStore&>(*store_).fd();
  std::vector<uint8_t> data(4 << 20, 0x5a);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), ssize_t(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  const uint64_t before = allocated_bytes(dir_.file("io.img"));
  class OnReactor final : public StoreCompletion {
   public:
    void store_done(int64_t result) override {
      result_ = result;
      where_ = reactor::Reactor::current();
      inline_ = in_call_;
      left_->fetch_sub(1);
    }
    std::atomic<int>* left_ = nullptr;
    int64_t result_ = -12345;
    reactor::Reactor* where_ = nullptr;
    bool in_call_ = false;
    bool inline_ = false;
  };
  std::atomic<int> left{1};
  OnReactor done;
  done.left_ = &left;
  run_and_wait(
      [&](reactor::Reactor* r) {
        done.in_call_ = true;
        store_->unmap(r, 1 << 20, 2 << 20, &done);
        done.in_call_ = false;
      },
      left);
  EXPECT_EQ(done.result_, 0);
  if (reactor_ != nullptr) {
    EXPECT_EQ(done.where_, reactor_.get());
    EXPECT_FALSE(done.inline_);
  }
  EXPECT_LE(allocated_bytes(dir_.file("io.img")), before - (2 << 20));
  std::vector<uint8_t> back(4 << 20);
  ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), ssize_t(back.size()));
  for (size_t i = 0; i < back.size(); i += 4096) {
    const bool hole = i >= (1 << 20) && i < (3 << 20);
    ASSERT_EQ(back[i], hole ? 0 : 0x5a) << i;
    ASSERT_EQ(back[i + 4095], hole ? 0 : 0x5a) << i;
  }
}

// Zeroing in place (WRITE SAME of zeros on a fully provisioned LU): the range reads as
// zeros, stays allocated (no blocks released), its neighbours keep their data, and with
// fua the completion comes after an fdatasync; off the reactor like unmap.
TEST_P(FileStoreIoTest, WriteZeroesZeroesInPlaceAndKeepsTheBlocks) {
  ASSERT_TRUE(store_->supports_write_zeroes());  // ext4, xfs (this machine's /tmp: ext4)
  const int fd = static_cast<FileStore&>(*store_).fd();
  std::vector<uint8_t> data(4 << 20, 0x6b);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), ssize_t(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  const uint64_t before = allocated_bytes(dir_.file("io.img"));
  for (const bool fua : {false, true}) {
    std::atomic<int> left{1};
    Counted done;
    done.left_ = &left;
    const uint64_t at = fua ? (2 << 20) : (512 << 10);
    run_and_wait([&](reactor::Reactor* r) { store_->write_zeroes(r, at, 1 << 20, fua, &done); },
                 left);
    EXPECT_EQ(done.result_, 0) << fua;
  }
  EXPECT_GE(allocated_bytes(dir_.file("io.img")), before);
  std::vector<uint8_t> back(4 << 20);
  ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), ssize_t(back.size()));
  for (size_t i = 0; i < back.size(); i += 512) {
    const bool zero = (i >= (512 << 10) && i < (1536 << 10)) || (i >= (2 << 20) && i < (3 << 20));
    ASSERT_EQ(back[i], zero ? 0 : 0x6b) << i;
    ASSERT_EQ(back[i + 511], zero ? 0 : 0x6b) << i;
  }
  std::atomic<int> left{1};
  Counted past;
  past.left_ = &left;
  run_and_wait([&](reactor::Reactor* r) { store_->write_zeroes(r, kSize - 4096, 8192, false, &past); },
               left);
  EXPECT_EQ(past.result_, -EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Modes, FileStoreIoTest,
                         ::testing::Values(Mode::kUring, Mode::kEpoll, Mode::kNoReactor),
                         mode_name);

}  // namespace
}  // namespace stgt::backing
