#include "reactor/blocking_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace stgt::reactor {
namespace {

enum class Direction { kRead, kWrite };

int64_t transfer(Direction dir, int fd, const iovec* iov, int iovcnt, uint64_t offset, int flags) {
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; ++i)
    total += iov[i].iov_len;
  uint64_t done = 0;
  std::vector<iovec> rest;  // only used after a short transfer
  while (done < total) {
    const ssize_t n = dir == Direction::kRead
                          ? ::preadv2(fd, iov, iovcnt, off_t(offset + done), flags)
                          : ::pwritev2(fd, iov, iovcnt, off_t(offset + done), flags);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if (n == 0) break;  // end of file
    done += uint64_t(n);
    if (done >= total) break;
    // Advance past what was moved; iov may point into `rest`, so build a new list.
    std::vector<iovec> next;
    size_t skip = size_t(n);
    for (int i = 0; i < iovcnt; ++i) {
      if (skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        continue;
      }
      next.push_back(iovec{static_cast<uint8_t*>(iov[i].iov_base) + skip, iov[i].iov_len - skip});
      skip = 0;
    }
    rest = std::move(next);
    iov = rest.data();
    iovcnt = int(rest.size());
  }
  return int64_t(done);
}

}  // namespace

int64_t blocking_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset) {
  return transfer(Direction::kRead, fd, iov, iovcnt, offset, 0);
}

int64_t blocking_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua) {
  return transfer(Direction::kWrite, fd, iov, iovcnt, offset, fua ? RWF_DSYNC : 0);
}

int64_t blocking_fdatasync(int fd) {
  while (::fdatasync(fd) < 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

int64_t blocking_fallocate(int fd, int mode, uint64_t offset, uint64_t length) {
  while (::fallocate(fd, mode, off_t(offset), off_t(length)) < 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

}  // namespace stgt::reactor
