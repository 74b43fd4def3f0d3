// Blocking positional file I/O with short-transfer retry, for the epoll backend's thread
// pool and for stores used without a reactor (unit tests, tools). Never call these on a
// reactor thread.
//
// Each returns bytes transferred (the full length unless end of file was reached on a
// read) or -errno. EINTR and EAGAIN are retried.
#pragma once

#include <sys/uio.h>

#include <cstdint>

namespace stgt::reactor {

int64_t blocking_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset);
// `fua`: RWF_DSYNC, the data is durable when this returns.
int64_t blocking_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua);
int64_t blocking_fdatasync(int fd);
// fallocate(2), EINTR retried: 0 or -errno.
int64_t blocking_fallocate(int fd, int mode, uint64_t offset, uint64_t length);

}  // namespace stgt::reactor
