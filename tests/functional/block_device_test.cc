// LUs backed by a block device: a loop device (losetup) over a sparse file in the test's temp
// dir, so that what stgtd does to the device can be seen in the file. Needs root and
// /dev/loop-control (skipped otherwise); stgtd runs as root here (no daemon.user), so it can
// open the device. Each test runs on both reactor backends (--io-backend uring / epoll).
//
// Thick: data of several sizes reads back and reaches the device (the backing file holds it
// after SYNCHRONIZE CACHE); READ CAPACITY (16) and VPD B2h report no provisioning; WRITE SAME
// of zeros zeroes ranges of any alignment, also on a device with 4 KiB sectors.
// Thin, on a device that can deallocate (fallocate PUNCH_HOLE on it works: the probe asks the
// kernel, not sysfs): LBPME/LBPRZ, VPD B2h thin; UNMAP and WRITE SAME (16) with UNMAP read
// back zeros, keep their neighbours and release the backing file's blocks; GET LBA STATUS
// reports mapped (a block device cannot tell).
// A device that cannot deallocate (a loop device added for the test, its discard limit set to
// 0 in sysfs, removed afterwards): a thin LUN on it is refused ("cannot deallocate") at start
// and by lun.add, and a thick one accepted. A loop device stacked on that one advertises
// discard anyway; if stgtd takes it as thin, it keeps the thin LU's promises (UNMAP
// harmless, WRITE SAME with UNMAP reads zeros).
// STGT_TEST_BLOCK_DEVICE=/dev/X runs the thin tests on that scratch device instead (e.g. a
// zram device, which also has 4 KiB sectors; ITS DATA IS DESTROYED); the checks on the loop
// device's backing file are then left out.
#include <fcntl.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "control_client.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t kDeviceBytes = uint64_t(64) << 20;
constexpr uint64_t kDeviceBlocks = kDeviceBytes / kBlockSize;

// Runs `command` with sh; its exit status and what it printed (stdout and stderr).
int run(const std::string& command, std::string* output) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr)
    *output += buf;
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// A loop device attached to a file: `losetup --find --show FILE` at construction, `losetup -d`
// at destruction (also when the test failed). The file is created sparse when `size` > 0.
// Empty path() when it could not be attached; error() says why.
class LoopDevice {
 public:
  // `sector_size` 0: the loop driver's default (512). `device`: that loop device (fails if it
  // is in use), else the first free one.
  LoopDevice(const std::string& file, uint64_t size, uint32_t sector_size = 0,
             const std::string& device = "")
      : file_(file) {
    if (size > 0 && ::truncate(file.c_str(), off_t(size)) != 0) {
      const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      const bool ok = fd >= 0 && ::ftruncate(fd, off_t(size)) == 0;
      if (fd >= 0) ::close(fd);
      if (!ok) {
        error_ = "cannot create " + file + ": " + std::strerror(errno);
        return;
      }
    }
    std::string out;
    const std::string sectors =
        sector_size == 0 ? "" : " --sector-size " + std::to_string(sector_size);
    const std::string which = device.empty() ? "--find" : device;
    if (run("losetup --show " + which + sectors + " '" + file + "'", &out) != 0) {
      error_ = "losetup --show " + which + sectors + " " + file + ": " + trim(out);
      return;
    }
    path_ = trim(out);
  }
  ~LoopDevice() {
    if (path_.empty()) return;
    std::string out;
    if (run("losetup -d " + path_, &out) != 0)
      ADD_FAILURE() << "losetup -d " << path_ << ": " << out;
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  const std::string& error() const { return error_; }

 private:
  std::string file_;
  std::string path_;
  std::string error_;
};

// 0 when block device `device` deallocates with zeros guaranteed (fallocate PUNCH_HOLE |
// KEEP_SIZE of its first 4 KiB succeeds: what stgtd's unmap does), else the errno. Destroys
// those 4 KiB: call it before any data is written.
int punch_probe(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// Size of block device `device` in kBlockSize blocks; 0 when it cannot be read.
uint64_t device_blocks(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t bytes = 0;
  if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) bytes = 0;
  ::close(fd);
  return bytes / kBlockSize;
}

// The logical block size of block device `device` in bytes; 0 when it cannot be read.
uint32_t logical_block_bytes(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int bytes = 0;
  if (::ioctl(fd, BLKSSZGET, &bytes) != 0) bytes = 0;
  ::close(fd);
  return uint32_t(bytes);
}

// The physical block size of block device `device` in bytes; 0 when it cannot be read.
uint32_t physical_block_bytes(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  unsigned int bytes = 0;
  if (::ioctl(fd, BLKPBSZGET, &bytes) != 0) bytes = 0;
  ::close(fd);
  return bytes;
}

uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_blocks) * 512 : 0;
}

// `bytes` bytes of `path` at `offset`, read with pread.
Bytes pread_file(const std::string& path, uint64_t offset, size_t bytes) {
  Bytes out(bytes);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pread(fd, out.data() + done, bytes - done, off_t(offset + done));
    if (n <= 0) break;
    done += size_t(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

Bytes slice(const Bytes& b, uint64_t from_block, uint64_t blocks) {
  return Bytes(b.begin() + ptrdiff_t(from_block * kBlockSize),
               b.begin() + ptrdiff_t((from_block + blocks) * kBlockSize));
}

Bytes zeros(uint64_t blocks) {
  return Bytes(blocks * kBlockSize, 0);
}

struct TaskDeleter {
  void operator()(scsi_task* t) const { scsi_free_scsi_task(t); }
};
using Task = std::unique_ptr<scsi_task, TaskDeleter>;

// Non-null only when the command completed GOOD.
Task good(scsi_task* t) {
  Task task(t);
  if (task != nullptr && task->status != SCSI_STATUS_GOOD) task.reset();
  return task;
}

// How a command ended: "GOOD", or the status and for CHECK CONDITION the sense key and
// ASC/ASCQ ("CHECK CONDITION 5/2000"), so that a failure names the sense.
std::string outcome(scsi_task* t) {
  const Task task(t);
  if (task == nullptr) return "no answer";
  if (task->status == SCSI_STATUS_GOOD) return "GOOD";
  if (task->status != SCSI_STATUS_CHECK_CONDITION) return "status " + std::to_string(task->status);
  char sense[32];
  std::snprintf(sense, sizeof(sense), "%x/%04x", unsigned(task->sense.key),
                unsigned(task->sense.ascq));
  return std::string("CHECK CONDITION ") + sense;
}

std::string synchronize_cache(IscsiSession& s) {
  return outcome(iscsi_synchronizecache16_sync(s.get(), 1, 0, 0, 0, 0));
}

std::string unmap(IscsiSession& s, uint64_t lba, uint32_t blocks) {
  unmap_list range{.lba = lba, .num = blocks};
  return outcome(iscsi_unmap_sync(s.get(), 1, 0, 0, &range, 1));
}

std::string write_same16_zeros(IscsiSession& s, uint64_t lba, uint32_t blocks) {
  Bytes block(kBlockSize, 0);
  return outcome(iscsi_writesame16_sync(s.get(), 1, lba, block.data(), kBlockSize, blocks,
                                        /*anchor=*/0, /*unmap=*/0, 0, 0));
}

std::string write_same16_unmap(IscsiSession& s, uint64_t lba, uint32_t blocks) {
  Bytes block(kBlockSize, 0);
  return outcome(iscsi_writesame16_sync(s.get(), 1, lba, block.data(), kBlockSize, blocks,
                                        /*anchor=*/0, /*unmap=*/1, 0, 0));
}

// Run on each reactor backend (stgtd --io-backend).
class BlockDeviceTest : public StgtdTest, public testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "loop devices need root";
    if (::access("/dev/loop-control", F_OK) != 0) GTEST_SKIP() << "no /dev/loop-control";
    loop_ = std::make_unique<LoopDevice>(stgtd_.dir() + "/backing.img", kDeviceBytes);
    if (loop_->path().empty()) GTEST_SKIP() << "no loop device: " << loop_->error();
  }
  void TearDown() override {
    if (logged_in_) {
      EXPECT_TRUE(s_.logout());
    }
    StgtdTest::TearDown();
  }

  // LUN 1 on `device` (the device's size: no size in the config).
  static config::LunConfig device_lun(const std::string& device, const std::string& provisioning) {
    return {.id = 1,
            .store = "file",
            .path = device,
            .block_size = kBlockSize,
            .provisioning = provisioning};
  }
  void start(const std::string& device, const std::string& provisioning) {
    stgtd_.write_config(stgtd_.base_config({device_lun(device, provisioning)}));
    ASSERT_TRUE(stgtd_.start({"--io-backend", GetParam()}));
    ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
    logged_in_ = true;
  }
  // The device for a thin LU: the one named by STGT_TEST_BLOCK_DEVICE (opt-in, e.g. a zram
  // device with 4 KiB sectors: its data is destroyed) if set, else the loop device. Empty, with
  // the reason in why_no_thin_, when that device cannot deallocate.
  std::string thin_device() {
    const char* named = std::getenv("STGT_TEST_BLOCK_DEVICE");
    const std::string device = named != nullptr && *named != '\0' ? named : loop_->path();
    if (const int err = punch_probe(device); err != 0) {
      why_no_thin_ = device + " cannot punch holes (" + std::strerror(err) +
                     "), so no thin LU on it (STGT_TEST_BLOCK_DEVICE may name a scratch device "
                     "that can)";
      return {};
    }
    return device;
  }
  // Thin LU on thin_device(); `device` is set, or the test is skipped (check IsSkipped()).
  void start_thin(std::string& device) {
    device = thin_device();
    if (device.empty()) GTEST_SKIP() << why_no_thin_;
    ASSERT_NO_FATAL_FAILURE(start(device, "thin"));
  }
  bool on_loop(const std::string& device) const { return device == loop_->path(); }
  // A device that cannot discard, as a disk without TRIM is: a loop device of its own,
  // made for the test (LOOP_CTL_ADD at an unused number), whose discard limit is set to 0
  // through sysfs. The kernel keeps that limit for the device's life, so it is removed
  // again afterwards (LOOP_CTL_REMOVE) rather than handed back to other users. Null (the
  // test skips) where loop devices cannot be added.
  class UndiscardableLoop {
   public:
    explicit UndiscardableLoop(const std::string& file) {
      control_ = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
      if (control_ < 0) return;
      for (int n = 200; n < 256 && number_ < 0; ++n) {
        if (::ioctl(control_, LOOP_CTL_ADD, n) == n) number_ = n;
      }
      if (number_ < 0) return;
      const std::string node = "/dev/loop" + std::to_string(number_);
      for (int i = 0; i < 100 && ::access(node.c_str(), F_OK) != 0; ++i) ::usleep(10000);
      loop_ = std::make_unique<LoopDevice>(file, kDeviceBytes, 0, node);
      if (loop_->path().empty()) return;
      FILE* limit = std::fopen(
          ("/sys/block/loop" + std::to_string(number_) + "/queue/discard_max_bytes").c_str(),
          "w");
      ok_ = limit != nullptr && std::fputs("0\n", limit) >= 0;
      if (limit != nullptr) ok_ = std::fclose(limit) == 0 && ok_;
    }
    ~UndiscardableLoop() {
      loop_.reset();  // detached first (stgtd must have closed it, or this waits a second)
      for (int i = 0; number_ >= 0 && i < 100; ++i) {
        if (::ioctl(control_, LOOP_CTL_REMOVE, number_) >= 0 || errno != EBUSY) break;
        ::usleep(10000);
      }
      if (control_ >= 0) ::close(control_);
    }
    UndiscardableLoop(const UndiscardableLoop&) = delete;
    UndiscardableLoop& operator=(const UndiscardableLoop&) = delete;
    // The device, or null when it could not be made.
    const LoopDevice* device() const { return ok_ ? loop_.get() : nullptr; }

   private:
    int control_ = -1;
    int number_ = -1;
    std::unique_ptr<LoopDevice> loop_;
    bool ok_ = false;
  };

  std::unique_ptr<LoopDevice> loop_;
  // Destroyed with the fixture, after TearDown has stopped stgtd, which may hold it open.
  std::unique_ptr<UndiscardableLoop> undiscardable_;
  std::string why_no_thin_;
  IscsiSession s_;
  bool logged_in_ = false;
};

TEST_P(BlockDeviceTest, ThickLuStoresDataOnTheDevice) {
  ASSERT_NO_FATAL_FAILURE(start(loop_->path(), "thick"));
  const Task rc16 = good(iscsi_readcapacity16_sync(s_.get(), 1));
  ASSERT_NE(rc16, nullptr) << s_.error();
  const auto* cap = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(rc16.get()));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->returned_lba, kDeviceBlocks - 1);
  EXPECT_EQ(cap->block_length, kBlockSize);
  EXPECT_EQ(cap->lbpme, 0);
  EXPECT_EQ(cap->lbprz, 0);
  const Task vpd = good(iscsi_inquiry_sync(s_.get(), 1, 1, 0xb2, 255));
  ASSERT_NE(vpd, nullptr) << s_.error();
  const auto* lbp =
      static_cast<scsi_inquiry_logical_block_provisioning*>(scsi_datain_unmarshall(vpd.get()));
  ASSERT_NE(lbp, nullptr);
  EXPECT_EQ(lbp->lbpu, 0);
  EXPECT_EQ(lbp->provisioning_type, PROVISIONING_TYPE_NONE);
  // A fully provisioned LU has no UNMAP (INVALID COMMAND OPERATION CODE).
  EXPECT_EQ(unmap(s_, 0, 8), "CHECK CONDITION 5/2000");

  struct Piece {
    uint64_t lba;
    size_t bytes;
  };
  // One block, a page, an odd size over 64 KiB, 1 MiB, 3 MiB and a block (unaligned), and the
  // device's last blocks.
  const std::vector<Piece> pieces = {{0, 512},
                                     {7, 4096},
                                     {100, (64 << 10) + 512},
                                     {2048, 1 << 20},
                                     {10001, (3 << 20) + 512},
                                     {kDeviceBlocks - 24, 24 * 512}};
  for (size_t i = 0; i < pieces.size(); ++i)
    ASSERT_TRUE(s_.write(pieces[i].lba, make_pattern(i + 1, pieces[i].bytes))) << i;
  for (size_t i = 0; i < pieces.size(); ++i) {
    Bytes back;
    ASSERT_TRUE(s_.read(pieces[i].lba, pieces[i].bytes, back)) << i;
    EXPECT_EQ(back, make_pattern(i + 1, pieces[i].bytes)) << "piece " << i;
  }
  // Blocks between the pieces were never written: zeros.
  Bytes gap;
  ASSERT_TRUE(s_.read(1, 6 * kBlockSize, gap));
  EXPECT_EQ(gap, zeros(6));

  // On the device: the loop device's backing file holds every piece once the cache is flushed.
  ASSERT_EQ(synchronize_cache(s_), "GOOD");
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_EQ(pread_file(loop_->file(), pieces[i].lba * kBlockSize, pieces[i].bytes),
              make_pattern(i + 1, pieces[i].bytes))
        << "piece " << i << " in " << loop_->file();
  }
}

// WRITE SAME of zeros on a fully provisioned LU (zeroed in place by the store: fallocate
// ZERO_RANGE on a device), of whole 4 KiB blocks and of 7 blocks inside one, on a loop device
// with 512-byte sectors and on one with 4 KiB sectors (losetup --sector-size 4096) under a
// 512-byte LU: each range reads back zeros, its neighbours keep their data, and the backing
// file holds the same and keeps its blocks allocated. READ CAPACITY (16) reports the
// device's physical block size.
TEST_P(BlockDeviceTest, ThickLuWriteSameZerosZeroesTheDevice) {
  for (const uint32_t sector : {uint32_t(512), uint32_t(4096)}) {
    SCOPED_TRACE("loop device with " + std::to_string(sector) + "-byte sectors");
    LoopDevice loop(stgtd_.dir() + "/backing" + std::to_string(sector) + ".img", kDeviceBytes,
                    sector);
    ASSERT_FALSE(loop.path().empty()) << loop.error();
    ASSERT_EQ(logical_block_bytes(loop.path()), sector);
    stgtd_.write_config(stgtd_.base_config({device_lun(loop.path(), "thick")}));
    ASSERT_TRUE(stgtd_.start({"--io-backend", GetParam()}));
    IscsiSession s;
    ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
    // No physical_block_size configured: the device's is reported (LBPPBE, SBC-4 5.20.2), so
    // that initiators align to it; a 4 KiB-sector loop device's physical block is 4 KiB.
    const Task rc16 = good(iscsi_readcapacity16_sync(s.get(), 1));
    ASSERT_NE(rc16, nullptr) << s.error();
    const auto* cap = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(rc16.get()));
    ASSERT_NE(cap, nullptr);
    EXPECT_EQ(kBlockSize << cap->lbppbe, physical_block_bytes(loop.path()));
    if (sector == 4096) {
      EXPECT_EQ(cap->lbppbe, 3);
    }
    const Bytes data = make_pattern(sector, 4 << 20);  // blocks [0, 8192)
    ASSERT_TRUE(s.write(0, data));
    ASSERT_EQ(synchronize_cache(s), "GOOD");
    const uint64_t before = allocated_bytes(loop.file());
    ASSERT_GE(before, data.size());
    EXPECT_EQ(write_same16_zeros(s, 1024, 2048), "GOOD");  // 1 MiB at 512 KiB
    EXPECT_EQ(write_same16_zeros(s, 4097, 7), "GOOD") << "7 blocks inside one 4 KiB block";
    EXPECT_EQ(write_same16_zeros(s, 6000, 1), "GOOD") << "one block";
    Bytes back;
    ASSERT_TRUE(s.read(0, data.size(), back));
    EXPECT_EQ(slice(back, 0, 1024), slice(data, 0, 1024));
    EXPECT_EQ(slice(back, 1024, 2048), zeros(2048));
    EXPECT_EQ(slice(back, 3072, 1025), slice(data, 3072, 1025));
    EXPECT_EQ(slice(back, 4097, 7), zeros(7));
    EXPECT_EQ(slice(back, 4104, 1896), slice(data, 4104, 1896));
    EXPECT_EQ(slice(back, 6000, 1), zeros(1));
    EXPECT_EQ(slice(back, 6001, 2191), slice(data, 6001, 2191));
    ASSERT_EQ(synchronize_cache(s), "GOOD");
    EXPECT_EQ(pread_file(loop.file(), 0, data.size()), back) << "in " << loop.file();
    // Fully provisioned: zeroing keeps the blocks (the loop device zeroes in its file).
    EXPECT_GE(allocated_bytes(loop.file()), before);
    EXPECT_TRUE(s.logout());
    ASSERT_TRUE(stgtd_.stop());
  }
}

TEST_P(BlockDeviceTest, ThinLuReportsProvisioning) {
  std::string device;
  ASSERT_NO_FATAL_FAILURE(start_thin(device));
  if (IsSkipped()) return;
  const Task rc16 = good(iscsi_readcapacity16_sync(s_.get(), 1));
  ASSERT_NE(rc16, nullptr) << s_.error();
  const auto* cap = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(rc16.get()));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->returned_lba, device_blocks(device) - 1);
  EXPECT_EQ(cap->lbpme, 1);
  EXPECT_EQ(cap->lbprz, 1);
  const Task vpd = good(iscsi_inquiry_sync(s_.get(), 1, 1, 0xb2, 255));
  ASSERT_NE(vpd, nullptr) << s_.error();
  const auto* lbp =
      static_cast<scsi_inquiry_logical_block_provisioning*>(scsi_datain_unmarshall(vpd.get()));
  ASSERT_NE(lbp, nullptr);
  EXPECT_EQ(lbp->lbpu, 1);
  EXPECT_EQ(lbp->lbpws, 1);
  EXPECT_EQ(lbp->lbprz, 1);
  EXPECT_EQ(lbp->provisioning_type, PROVISIONING_TYPE_THIN);
}

// UNMAP of whole device blocks reads back zeros, keeps the neighbours, and on a loop device
// releases the backing file's blocks. UNMAP inside one 4 KiB block: zeros where the device's
// blocks are 512 bytes; on a device with larger logical blocks the device server may leave
// them mapped (SBC-4 5.32.1), so each block reads zeros or its old data, and it is not an error.
TEST_P(BlockDeviceTest, ThinLuUnmapZeroesAndReleasesTheBlocks) {
  std::string device;
  ASSERT_NO_FATAL_FAILURE(start_thin(device));
  if (IsSkipped()) return;
  const Bytes data = make_pattern(11, 8 << 20);  // blocks [0, 16384)
  ASSERT_TRUE(s_.write(0, data));
  ASSERT_EQ(synchronize_cache(s_), "GOOD");
  const uint64_t before = allocated_bytes(loop_->file());
  if (on_loop(device)) {
    ASSERT_GE(before, uint64_t(8) << 20) << "the writes did not reach " << loop_->file();
  }

  ASSERT_EQ(unmap(s_, 2048, 4096), "GOOD");  // 2 MiB at 1 MiB
  EXPECT_EQ(unmap(s_, 8193, 7), "GOOD") << "7 blocks inside one 4 KiB block";
  Bytes back;
  ASSERT_TRUE(s_.read(0, data.size(), back));
  EXPECT_EQ(slice(back, 0, 2048), slice(data, 0, 2048));
  EXPECT_EQ(slice(back, 2048, 4096), zeros(4096));
  EXPECT_EQ(slice(back, 6144, 2049), slice(data, 6144, 2049));
  EXPECT_EQ(slice(back, 8200, 8184), slice(data, 8200, 8184));
  if (logical_block_bytes(device) <= kBlockSize) {
    EXPECT_EQ(slice(back, 8193, 7), zeros(7));
  } else {
    for (uint64_t b = 8193; b < 8200; ++b) {
      EXPECT_TRUE(slice(back, b, 1) == zeros(1) || slice(back, b, 1) == slice(data, b, 1)) << b;
    }
  }
  // The device holds what the initiator reads.
  EXPECT_EQ(pread_file(device, 2048 * kBlockSize, 4096 * kBlockSize), zeros(4096));
  EXPECT_EQ(pread_file(device, 6144 * kBlockSize, 2049 * kBlockSize), slice(data, 6144, 2049));
  if (!on_loop(device)) return;
  // The loop driver punched the hole in its file (UNMAP completes after the punch).
  const uint64_t after = allocated_bytes(loop_->file());
  EXPECT_LE(after, before - (uint64_t(2) << 20)) << "before " << before << ", after " << after;
  EXPECT_EQ(pread_file(loop_->file(), 2048 * kBlockSize, 4096 * kBlockSize), zeros(4096));
}

// WRITE SAME (16) with UNMAP reads back zeros whatever the alignment (it may deallocate or
// write the zeros, SBC-4 5.50), keeps the neighbours, and on a loop device releases the
// backing file's blocks.
TEST_P(BlockDeviceTest, ThinLuWriteSameWithUnmapZeroesAndReleasesTheBlocks) {
  std::string device;
  ASSERT_NO_FATAL_FAILURE(start_thin(device));
  if (IsSkipped()) return;
  const Bytes data = make_pattern(12, 8 << 20);
  ASSERT_TRUE(s_.write(0, data));
  ASSERT_EQ(synchronize_cache(s_), "GOOD");
  const uint64_t before = allocated_bytes(loop_->file());
  if (on_loop(device)) {
    ASSERT_GE(before, uint64_t(8) << 20);
  }

  ASSERT_EQ(write_same16_unmap(s_, 4096, 6144), "GOOD");  // 3 MiB at 2 MiB
  EXPECT_EQ(write_same16_unmap(s_, 12289, 7), "GOOD") << "inside one 4 KiB block";
  Bytes back;
  ASSERT_TRUE(s_.read(0, data.size(), back));
  EXPECT_EQ(slice(back, 0, 4096), slice(data, 0, 4096));
  EXPECT_EQ(slice(back, 4096, 6144), zeros(6144));
  EXPECT_EQ(slice(back, 10240, 2049), slice(data, 10240, 2049));
  EXPECT_EQ(slice(back, 12289, 7), zeros(7));
  EXPECT_EQ(slice(back, 12296, 4088), slice(data, 12296, 4088));
  EXPECT_EQ(pread_file(device, 4096 * kBlockSize, 6144 * kBlockSize), zeros(6144));
  if (!on_loop(device)) return;
  const uint64_t after = allocated_bytes(loop_->file());
  EXPECT_LE(after, before - (uint64_t(3) << 20)) << "before " << before << ", after " << after;
}

// SBC-4 4.7.4.1: a block device cannot say what is deallocated: everything is "mapped or
// unknown", also right after an UNMAP.
TEST_P(BlockDeviceTest, ThinLuGetLbaStatusReportsMapped) {
  std::string device;
  ASSERT_NO_FATAL_FAILURE(start_thin(device));
  if (IsSkipped()) return;
  ASSERT_TRUE(s_.write(0, make_pattern(13, 1 << 20)));
  ASSERT_EQ(unmap(s_, 1024, 1024), "GOOD");
  for (const uint64_t lba : {uint64_t(0), uint64_t(1024), uint64_t(4096)}) {
    const Task t = good(iscsi_get_lba_status_sync(s_.get(), 1, lba, 4096));
    ASSERT_NE(t, nullptr) << lba << ": " << s_.error();
    const auto* status = static_cast<scsi_get_lba_status*>(scsi_datain_unmarshall(t.get()));
    ASSERT_NE(status, nullptr);
    ASSERT_GE(status->num_descriptors, 1u);
    EXPECT_EQ(status->descriptors[0].lba, lba);
    EXPECT_EQ(status->descriptors[0].provisioning, SCSI_PROVISIONING_TYPE_MAPPED) << lba;
    uint64_t covered = 0;
    for (uint32_t i = 0; i < status->num_descriptors; ++i) {
      EXPECT_EQ(status->descriptors[i].provisioning, SCSI_PROVISIONING_TYPE_MAPPED) << lba;
      covered += status->descriptors[i].num_blocks;
    }
    EXPECT_EQ(covered, device_blocks(device) - lba) << lba;
  }
}

// A thin LUN on a device that cannot deallocate is refused, at start and by lun.add, with
// the reason; never run thick in its place.
TEST_P(BlockDeviceTest, ThinLuOnADeviceThatCannotDeallocateIsRefused) {
  undiscardable_ = std::make_unique<UndiscardableLoop>(stgtd_.dir() + "/other.img");
  const LoopDevice* loop = undiscardable_->device();
  if (loop == nullptr) GTEST_SKIP() << "cannot add a loop device of the test's own here";
  ASSERT_NE(punch_probe(loop->path()), 0) << loop->path() << " can deallocate after all";
  stgtd_.write_config(stgtd_.base_config({device_lun(loop->path(), "thin")}));
  const auto status = stgtd_.run_to_exit({"--io-backend", GetParam()}, std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << "stgtd started with a thin LUN it cannot deallocate";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "status " << *status;
  const std::string log = stgtd_.log();
  EXPECT_NE(log.find("cannot deallocate"), std::string::npos) << log;
  EXPECT_NE(log.find(loop->path()), std::string::npos) << log;

  // Live: the same LUN through lun.add next to a memory LUN.
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)}));
  ASSERT_TRUE(stgtd_.start({"--io-backend", GetParam()}));
  ControlClient control;
  ASSERT_TRUE(control.connect(stgtd_.control_socket()));
  const std::string answer =
      control.call(R"({"jsonrpc":"2.0","id":1,"method":"lun.add","params":{"target":")" +
                   std::string(kTargetIqn) + R"(","lun":2,"store":"file","path":")" + loop->path() +
                   R"(","provisioning":"thin"}})");
  EXPECT_NE(answer.find("cannot deallocate"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("\"applied\":true"), std::string::npos) << answer;
  // Thick, the same device is accepted.
  const std::string thick =
      control.call(R"({"jsonrpc":"2.0","id":2,"method":"lun.add","params":{"target":")" +
                   std::string(kTargetIqn) + R"(","lun":2,"store":"file","path":")" + loop->path() +
                   R"(","provisioning":"thick"}})");
  EXPECT_NE(thick.find("\"applied\":true"), std::string::npos) << thick;
}

// A thin 512-byte LU on a device with 4 KiB sectors: ranges that are not whole device blocks
// still read back as zeros after UNMAP and WRITE SAME with UNMAP (the partial device blocks
// at their edges are written with zeros), the whole device blocks in between are released
// in the backing file, and the neighbours keep their data.
TEST_P(BlockDeviceTest, ThinLuOnA4KSectorDeviceZeroesUnalignedRanges) {
  LoopDevice big(stgtd_.dir() + "/sectors4k.img", kDeviceBytes, 4096);
  ASSERT_FALSE(big.path().empty()) << big.error();
  if (const int err = punch_probe(big.path()); err != 0) {
    GTEST_SKIP() << big.path() << " cannot punch holes: " << std::strerror(err);
  }
  ASSERT_NO_FATAL_FAILURE(start(big.path(), "thin"));
  const Bytes data = make_pattern(21, 8 << 20);  // blocks [0, 16384)
  ASSERT_TRUE(s_.write(0, data));
  ASSERT_EQ(synchronize_cache(s_), "GOOD");
  const uint64_t before = allocated_bytes(big.file());
  ASSERT_EQ(unmap(s_, 8193, 7), "GOOD");         // inside one 4 KiB device block
  ASSERT_EQ(unmap(s_, 1001, 4000), "GOOD");      // 2 MiB, both edges partial
  ASSERT_EQ(write_same16_unmap(s_, 10003, 3001), "GOOD");
  ASSERT_EQ(synchronize_cache(s_), "GOOD");
  Bytes back;
  ASSERT_TRUE(s_.read(0, data.size(), back));
  const auto zeroed = [](uint64_t b) {
    return (b >= 8193 && b < 8200) || (b >= 1001 && b < 5001) || (b >= 10003 && b < 13004);
  };
  for (uint64_t b = 0; b < 16384; ++b) {
    ASSERT_EQ(slice(back, b, 1), zeroed(b) ? zeros(1) : slice(data, b, 1)) << "block " << b;
  }
  // The whole device blocks of the two large ranges (3.4 MiB in all) were deallocated.
  EXPECT_LE(allocated_bytes(big.file()), before - (3u << 20));
}

// A loop device stacked on another: it advertises discard (the kernel copies the lower
// device's write-zeroes limit into the upper one's discard limit) whatever the lower one can
// do; here the lower one cannot discard. If stgtd takes it
// as thin, UNMAP may leave blocks mapped (SBC-4 5.32.1) but must not fail or damage them, and
// WRITE SAME with UNMAP must still read back zeros (written when the device cannot deallocate).
TEST_P(BlockDeviceTest, ThinLuOnAStackedLoopDeviceKeepsItsPromises) {
  undiscardable_ = std::make_unique<UndiscardableLoop>(stgtd_.dir() + "/other.img");
  const LoopDevice* lower = undiscardable_->device();
  LoopDevice upper(lower != nullptr ? lower->path() : loop_->path(), 0);
  ASSERT_FALSE(upper.path().empty()) << upper.error();
  const bool punches = punch_probe(upper.path()) == 0;
  stgtd_.write_config(stgtd_.base_config({device_lun(upper.path(), "thin")}));
  if (!stgtd_.start({"--io-backend", GetParam()})) {
    EXPECT_FALSE(punches) << upper.path() << " can punch holes but its thin LUN was refused";
    EXPECT_NE(stgtd_.log().find("cannot deallocate"), std::string::npos) << stgtd_.log();
    return;
  }
  ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
  logged_in_ = true;
  const Bytes data = make_pattern(14, 2 << 20);  // blocks [0, 4096)
  ASSERT_TRUE(s_.write(0, data));
  EXPECT_EQ(unmap(s_, 1024, 1024), "GOOD");
  EXPECT_EQ(write_same16_unmap(s_, 2048, 1024), "GOOD");
  Bytes back;
  ASSERT_TRUE(s_.read(0, data.size(), back));
  EXPECT_EQ(slice(back, 0, 1024), slice(data, 0, 1024));
  for (uint64_t b = 1024; b < 2048; ++b) {
    ASSERT_TRUE(slice(back, b, 1) == zeros(1) || slice(back, b, 1) == slice(data, b, 1)) << b;
  }
  if (punches) {
    EXPECT_EQ(slice(back, 1024, 1024), zeros(1024));
  }
  EXPECT_EQ(slice(back, 2048, 1024), zeros(1024));
  EXPECT_EQ(slice(back, 3072, 1024), slice(data, 3072, 1024));
}

INSTANTIATE_TEST_SUITE_P(Backends, BlockDeviceTest, testing::Values("uring", "epoll"),
                         [](const testing::TestParamInfo<const char*>& param) {
                           return std::string(param.param) == "uring" ? std::string("Uring")
                                                                      : std::string("Epoll");
                         });

}  // namespace
}  // namespace stgt::functional
