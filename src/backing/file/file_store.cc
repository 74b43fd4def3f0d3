#include "backing/file/file_store.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/log.h"
#include "reactor/blocking_io.h"
#include "reactor/reactor.h"

namespace stgt::backing {
namespace {

// Reports what the reactor returned as the store contract wants it: full length or -errno.
int64_t store_result(int64_t result, uint64_t expected) {
  if (result >= 0 && uint64_t(result) != expected) return -EIO;
  return result;
}

class FileOp final : public reactor::FileIoCompletion {
 public:
  void on_file_io(int64_t result) override;

  StoreCompletion* done = nullptr;
  uint64_t expected = 0;
  // write_zeroes with fua: after the fallocate succeeds, fdatasync this fd on this reactor.
  reactor::Reactor* sync_on = nullptr;
  int sync_fd = -1;
  // write_zeroes: cleared when the file system turns out not to zero ranges in place.
  std::atomic<bool>* zero_ranges = nullptr;
};

// Free FileOps of the calling thread (one reactor). Bounded: past kMaxCached, ops are freed.
class OpCache {
 public:
  static constexpr size_t kMaxCached = 4096;
  ~OpCache() {
    for (FileOp* op : free_)
      delete op;
  }
  FileOp* acquire() {
    if (free_.empty()) return new FileOp;
    FileOp* op = free_.back();
    free_.pop_back();
    return op;
  }
  void release(FileOp* op) {
    if (free_.size() >= kMaxCached) {
      delete op;
      return;
    }
    free_.push_back(op);
  }

 private:
  std::vector<FileOp*> free_;
};

thread_local OpCache t_ops;

void FileOp::on_file_io(int64_t result) {
  if (zero_ranges != nullptr) {
    if (result == -EOPNOTSUPP) zero_ranges->store(false, std::memory_order_relaxed);
    zero_ranges = nullptr;
  }
  if (sync_on != nullptr) {
    reactor::Reactor* const r = sync_on;
    sync_on = nullptr;
    if (result >= 0) {
      r->submit_fdatasync(sync_fd, this);
      return;
    }
  }
  StoreCompletion* const caller = done;
  const uint64_t want = expected;
  // Back on the free list first: the caller's completion may start the next operation.
  t_ops.release(this);
  caller->store_done(store_result(result, want));
}

base::Result<uint64_t, std::string> device_or_file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return base::unexpected(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  }
  if (S_ISREG(st.st_mode)) return uint64_t(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      return base::unexpected(
          fmt::format("cannot get the size of {}: {}", path, std::strerror(errno)));
    }
    return bytes;
  }
  return base::unexpected(fmt::format("{} is not a regular file or block device", path));
}

// Creates a missing image sparse: its blocks are allocated as they are written.
base::Result<base::UniqueFd, std::string> create_sparse(const StoreSpec& spec) {
  base::UniqueFd fd(::open(spec.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return base::unexpected(fmt::format("cannot create {}: {}", spec.path, std::strerror(errno)));
  }
  if (::ftruncate(fd.get(), off_t(spec.size)) != 0) {
    const int err = errno;
    ::unlink(spec.path.c_str());
    return base::unexpected(
        fmt::format("cannot size {} to {} bytes: {}", spec.path, spec.size, std::strerror(err)));
  }
  return fd;
}

// Whether holes can be punched in this regular file: punching past the end of the file
// (FALLOC_FL_KEEP_SIZE) is accepted and changes nothing where the file system supports it,
// and fails with EOPNOTSUPP where it does not. A read-only descriptor cannot probe, and
// needs not: such a store answers every unmap with -EROFS (never deallocates), so a thin LU
// over it offers UNMAP exactly as it offers WRITE, refused with WRITE PROTECTED, and its
// unwritten blocks (holes or not) read as zeros either way.
bool can_punch_holes(int fd, uint64_t size, bool read_only) {
  if (read_only) return true;
  return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(size), 4096) == 0;
}

#ifdef STGT_TEST_HOOKS
bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}
#endif

}  // namespace

// The atomic-write thread of one store: runs queued atomic writes one at a time through the
// journal (blocking) and posts each completion back to the reactor that asked.
class FileStore::AtomicWriter {
 public:
  struct Op {
    reactor::Reactor* r = nullptr;
    std::span<const iovec> iov;
    uint64_t offset = 0;
    uint64_t length = 0;
    StoreCompletion* done = nullptr;
  };

  AtomicWriter(WriteJournal& journal, int image_fd) : journal_(journal), image_fd_(image_fd) {}
  ~AtomicWriter() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void submit(const Op& op) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(op);
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    cv_.notify_one();
  }

  // Without a reactor (tools, unit tests): on the calling thread, still one at a time.
  int64_t write_now(std::span<const iovec> iov, uint64_t offset, uint64_t length) {
    std::lock_guard lock(journal_mu_);
    return journal_.write(image_fd_, iov, offset, length);
  }

 private:
  void run() {
    base::set_thread_log_tag("atomic");
    for (;;) {
      Op op;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        // Stopping drops what is queued: a store is destroyed only after its users are gone.
        if (stopping_) return;
        op = queue_.front();
        queue_.pop_front();
      }
      const int64_t rc = write_now(op.iov, op.offset, op.length);
      const int64_t result = rc < 0 ? rc : int64_t(op.length);
      StoreCompletion* done = op.done;
      op.r->post([done, result] { done->store_done(result); });
    }
  }

  WriteJournal& journal_;
  const int image_fd_;
  std::mutex journal_mu_;  // one journal write at a time
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // started by the first submit, under mu_
};

FileStore::FileStore(base::UniqueFd fd, std::string path, uint64_t size, bool read_only, bool block,
                     std::string no_unmap_reason)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      size_(size),
      read_only_(read_only),
      block_device_(block),
      no_unmap_reason_(std::move(no_unmap_reason)) {}

std::string FileStore::sysfs_queue_dir(dev_t dev) {
  const std::string node = fmt::format("/sys/dev/block/{}:{}", major(dev), minor(dev));
  // A partition has no queue of its own; its parent directory is the disk's.
  if (::access((node + "/partition").c_str(), F_OK) == 0) return node + "/../queue";
  return node + "/queue";
}

std::string FileStore::block_unmap_check(const std::string& queue_dir) {
  const auto limit = [&](const char* name) -> std::optional<uint64_t> {
    std::ifstream in(queue_dir + "/" + name);
    uint64_t v = 0;
    if (!(in >> v)) return std::nullopt;
    return v;
  };
  const std::optional<uint64_t> discard = limit("discard_max_bytes");
  const std::optional<uint64_t> zeroes = limit("write_zeroes_max_bytes");
  if (!discard || !zeroes) {
    return fmt::format("its deallocation limits cannot be read from {}", queue_dir);
  }
  if (*discard == 0) return "the device cannot discard (queue/discard_max_bytes is 0)";
  if (*zeroes == 0) {
    return "the device cannot promise zeros after a discard (queue/write_zeroes_max_bytes "
           "is 0)";
  }
  return {};
}

FileStore::~FileStore() = default;

base::Result<void, std::string> FileStore::attach_journal() {
  if (block_device_) return {};
  const std::string jpath = journal_path(path_);
  if (read_only_) {
    base::UniqueFd jfd(::open(jpath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!jfd.valid()) return {};
    const WriteJournal::Layout layout{.slot_bytes = kMaxAtomicWriteBytes};
    auto found = WriteJournal::scan(jfd.get(), size_, layout);
    if (!found) return base::unexpected(fmt::format("journal {}: {}", jpath, found.error()));
    if (found->live.empty()) return {};
    return base::unexpected(fmt::format(
        "{} holds {} atomic writes not yet replayed into {}; open it read-write once first", jpath,
        found->live.size(), path_));
  }
  const bool existed = ::access(jpath.c_str(), F_OK) == 0;
  WriteJournal::OpenStats stats;
  auto journal =
      WriteJournal::open(jpath, fd_.get(), size_, {.slot_bytes = kMaxAtomicWriteBytes}, &stats);
  if (!journal) {
    if (existed) return base::unexpected(journal.error());
    STGT_LOG_WARN("{}: no atomic writes (WRITE ATOMIC (16) not offered): {}", path_,
                  journal.error());
    return {};
  }
  if (stats.replayed != 0 || stats.discarded != 0) {
    STGT_LOG_INFO("{}: atomic-write journal replayed {} entries, discarded {} torn", path_,
                  stats.replayed, stats.discarded);
  }
#ifdef STGT_TEST_HOOKS
  // The test-only knob (file_store.h) still lets the journal replay what it holds.
  if (env_flag("STGT_TEST_ATOMIC_WITHOUT_JOURNAL")) {
    STGT_LOG_WARN(
        "{}: atomic writes WITHOUT a journal (STGT_TEST_ATOMIC_WITHOUT_JOURNAL, "
        "tests only): a crash can tear them",
        path_);
    unjournaled_atomic_ = true;
    return {};
  }
#endif
  journal_ = std::move(journal).value();
  writer_ = std::make_unique<AtomicWriter>(*journal_, fd_.get());
  return {};
}

base::Result<std::unique_ptr<BackingStore>, std::string> FileStore::open(const StoreSpec& spec) {
  if (spec.path.empty()) return base::unexpected(std::string("a file store needs a path"));
  base::UniqueFd fd(::open(spec.path.c_str(), (spec.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err != ENOENT || spec.size == 0 || spec.read_only) {
      return base::unexpected(fmt::format("cannot open {}: {}", spec.path, std::strerror(err)));
    }
    auto created = create_sparse(spec);
    if (!created) return base::unexpected(created.error());
    fd = std::move(created).value();
  }
  auto actual = device_or_file_size(fd.get(), spec.path);
  if (!actual) return base::unexpected(actual.error());
  if (spec.size != 0 && *actual != spec.size) {
    return base::unexpected(fmt::format("{} is {} bytes but the configured size is {} bytes",
                                        spec.path, *actual, spec.size));
  }
  if (*actual == 0) return base::unexpected(fmt::format("{} is empty", spec.path));
  struct stat st {};
  const bool block = ::fstat(fd.get(), &st) == 0 && S_ISBLK(st.st_mode);
  std::string no_unmap;
  if (block) {
    no_unmap = block_unmap_check(sysfs_queue_dir(st.st_rdev));
  } else if (!can_punch_holes(fd.get(), *actual, spec.read_only)) {
    no_unmap = "its file system cannot punch holes";
  }
  if (!no_unmap.empty()) no_unmap = spec.path + " cannot deallocate blocks: " + no_unmap;
  std::unique_ptr<FileStore> store(new FileStore(std::move(fd), spec.path, *actual,
                                                 spec.read_only, block, std::move(no_unmap)));
  // Zeroing in place is assumed on a writable store until the file system says otherwise
  // (tmpfs has no ZERO_RANGE: the first EOPNOTSUPP turns it off, and the caller writes).
  // A probe past the end of the file would preallocate a block there for good. A block
  // device always can: the kernel writes zero pages itself without a write-zeroes command.
  store->zero_ranges_.store(!spec.read_only, std::memory_order_relaxed);
  if (block) {
    int sector = 0;
    store->device_block_ = ::ioctl(store->fd_.get(), BLKSSZGET, &sector) == 0 && sector > 0
                               ? uint32_t(sector)
                               : 512;
    unsigned int physical = 0;
    if (::ioctl(store->fd_.get(), BLKPBSZGET, &physical) == 0) {
      store->device_physical_block_ = physical;
    }
  }
  if (auto ok = store->attach_journal(); !ok) return base::unexpected(ok.error());
  return std::unique_ptr<BackingStore>(std::move(store));
}

int FileStore::check_range(std::span<const iovec> iov, uint64_t offset, uint64_t* len) const {
  if (iov.empty() || iov.size() > IOV_MAX) return -EINVAL;
  uint64_t n = 0;
  for (const iovec& v : iov)
    n += v.iov_len;
  if (offset > size_ || n > size_ - offset) return -EINVAL;
  *len = n;
  return 0;
}

void FileStore::read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                     StoreCompletion* done) {
  uint64_t len = 0;
  if (const int err = check_range(iov, offset, &len); err != 0) {
    done->store_done(err);
    return;
  }
  if (r == nullptr) {
    const int64_t res = reactor::blocking_readv(fd_.get(), iov.data(), int(iov.size()), offset);
    done->store_done(store_result(res, len));
    return;
  }
  FileOp* op = t_ops.acquire();
  op->done = done;
  op->expected = len;
  r->submit_readv(fd_.get(), iov.data(), int(iov.size()), offset, op);
}

void FileStore::write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                      StoreCompletion* done) {
  uint64_t len = 0;
  if (read_only_) {
    done->store_done(-EROFS);
    return;
  }
  if (journal_stuck()) {
    done->store_done(-EIO);
    return;
  }
  if (const int err = check_range(iov, offset, &len); err != 0) {
    done->store_done(err);
    return;
  }
  if (r == nullptr) {
    const int64_t res =
        reactor::blocking_writev(fd_.get(), iov.data(), int(iov.size()), offset, fua);
    done->store_done(store_result(res, len));
    return;
  }
  FileOp* op = t_ops.acquire();
  op->done = done;
  op->expected = len;
  r->submit_writev(fd_.get(), iov.data(), int(iov.size()), offset, fua, op);
}

void FileStore::write_atomic(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                             bool fua, StoreCompletion* done) {
  if (writer_ == nullptr) {
    if (unjournaled_atomic_ || read_only_) {
      write(r, iov, offset, fua, done);
      return;
    }
    done->store_done(-EOPNOTSUPP);
    return;
  }
  uint64_t len = 0;
  if (const int err = check_range(iov, offset, &len); err != 0) {
    done->store_done(err);
    return;
  }
  if (len > kMaxAtomicWriteBytes) {
    done->store_done(-EINVAL);
    return;
  }
  // Journaled writes are durable whatever `fua` says.
  if (r == nullptr) {
    const int64_t rc = writer_->write_now(iov, offset, len);
    done->store_done(rc < 0 ? rc : int64_t(len));
    return;
  }
  writer_->submit({.r = r, .iov = iov, .offset = offset, .length = len, .done = done});
}

void FileStore::flush(reactor::Reactor* r, StoreCompletion* done) {
  if (r == nullptr) {
    done->store_done(reactor::blocking_fdatasync(fd_.get()));
    return;
  }
  FileOp* op = t_ops.acquire();
  op->done = done;
  op->expected = 0;
  r->submit_fdatasync(fd_.get(), op);
}

// The checks unmap() and write_zeroes() share: 0 to go on, 1 when there is nothing to do,
// else -errno.
int FileStore::fallocate_precheck(uint64_t offset, uint64_t length) const {
  if (journal_stuck()) return -EIO;
  if (offset > size_ || length > size_ - offset) return -EINVAL;
  if (length == 0) return 1;
  if (!device_aligned(offset, length)) return -EOPNOTSUPP;
  return 0;
}

// fallocate(mode) of the range off the reactor (inline without one), then fdatasync when
// `fua`; EOPNOTSUPP from a zeroing turns zeroing in place off for good.
void FileStore::fallocate_range(reactor::Reactor* r, int mode, uint64_t offset, uint64_t length,
                                bool fua, StoreCompletion* done) {
  const bool zeroing = (mode & FALLOC_FL_ZERO_RANGE) != 0;
  if (r == nullptr) {
    int64_t rc = reactor::blocking_fallocate(fd_.get(), mode, offset, length);
    if (rc == -EOPNOTSUPP && zeroing) zero_ranges_.store(false, std::memory_order_relaxed);
    if (rc == 0 && fua) rc = reactor::blocking_fdatasync(fd_.get());
    done->store_done(rc);
    return;
  }
  FileOp* op = t_ops.acquire();
  op->done = done;
  op->expected = 0;
  if (zeroing && !block_device_) op->zero_ranges = &zero_ranges_;
  if (fua) {
    op->sync_on = r;
    op->sync_fd = fd_.get();
  }
  r->submit_fallocate(fd_.get(), mode, offset, length, op);
}

void FileStore::unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
                      StoreCompletion* done) {
  if (read_only_) {
    done->store_done(-EROFS);
    return;
  }
  if (const int c = fallocate_precheck(offset, length); c != 0) {
    done->store_done(c > 0 ? 0 : c);
    return;
  }
  // PUNCH_HOLE needs KEEP_SIZE; on a block device the kernel turns it into a write-zeroes
  // request that may deallocate (or refuses with EOPNOTSUPP). Off the reactor: on a device
  // a large discard can take seconds.
  fallocate_range(r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, false, done);
}

void FileStore::write_zeroes(reactor::Reactor* r, uint64_t offset, uint64_t length, bool fua,
                             StoreCompletion* done) {
  if (!zero_ranges_.load(std::memory_order_relaxed)) {
    done->store_done(read_only_ ? -EROFS : -EOPNOTSUPP);
    return;
  }
  if (const int c = fallocate_precheck(offset, length); c != 0) {
    done->store_done(c > 0 ? 0 : c);
    return;
  }
  // On a block device ZERO_RANGE is a write-zeroes request that keeps the blocks provisioned
  // (the kernel writes zero pages when the device has no such command).
  fallocate_range(r, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length, fua, done);
}

BackingStore::Provisioning FileStore::provisioning_status(uint64_t offset,
                                                          uint64_t length) const {
  if (block_device_ || offset >= size_ || length == 0) return {true, length};
  length = std::min(length, size_ - offset);
  const off_t data = ::lseek(fd_.get(), off_t(offset), SEEK_DATA);
  if (data < 0) {
    // ENXIO: no data at or after offset, the rest of the file is a hole. Anything else
    // (SEEK_DATA unsupported): we cannot tell, so mapped.
    return errno == ENXIO ? Provisioning{false, length} : Provisioning{true, length};
  }
  if (uint64_t(data) > offset) return {false, std::min<uint64_t>(uint64_t(data) - offset, length)};
  const off_t hole = ::lseek(fd_.get(), off_t(offset), SEEK_HOLE);
  if (hole < 0 || uint64_t(hole) <= offset) return {true, length};
  return {true, std::min<uint64_t>(uint64_t(hole) - offset, length)};
}

base::Result<void, std::string> FileStore::resize(uint64_t bytes) {
  if (block_device_) {
    return base::unexpected(fmt::format(
        "{} is a block device: its size is the device's (resize the device instead)", path_));
  }
  if (read_only_) return base::unexpected(fmt::format("{} is open read-only", path_));
  const uint64_t old = size_.load();
  // Shrinking: the caller has already lowered the capacity, so nothing reaches past `bytes`.
  if (bytes < old) size_.store(bytes);
  if (::ftruncate(fd_.get(), off_t(bytes)) != 0) {
    const int err = errno;
    size_.store(old);
    return base::unexpected(
        fmt::format("cannot resize {} to {} bytes: {}", path_, bytes, std::strerror(err)));
  }
  size_.store(bytes);
  return {};
}

}  // namespace stgt::backing
