#include "backing/memory/memory_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace stgt::backing {
namespace {

uint64_t total_length(std::span<const iovec> iov) {
  uint64_t n = 0;
  for (const iovec& v : iov)
    n += v.iov_len;
  return n;
}

}  // namespace

base::Result<std::unique_ptr<BackingStore>, std::string> MemoryStore::open(const StoreSpec& spec) {
  if (spec.size == 0) return base::unexpected(std::string("a memory store needs a size"));
  void* p = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return base::unexpected(
        fmt::format("cannot map {} bytes for a memory store: {}", spec.size, std::strerror(errno)));
  }
  return std::unique_ptr<BackingStore>(new MemoryStore(static_cast<uint8_t*>(p), spec.size));
}

MemoryStore::~MemoryStore() {
  ::munmap(base_, size_);
}

void MemoryStore::read(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset,
                       StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset > size_ || len > size_ - offset) {
    done->store_done(-EINVAL);
    return;
  }
  const uint8_t* src = base_ + offset;
  for (const iovec& v : iov) {
    std::memcpy(v.iov_base, src, v.iov_len);
    src += v.iov_len;
  }
  done->store_done(int64_t(len));
}

void MemoryStore::write(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset, bool,
                        StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset > size_ || len > size_ - offset) {
    done->store_done(-EINVAL);
    return;
  }
  uint8_t* dst = base_ + offset;
  for (const iovec& v : iov) {
    std::memcpy(dst, v.iov_base, v.iov_len);
    dst += v.iov_len;
  }
  done->store_done(int64_t(len));
}

void MemoryStore::unmap(reactor::Reactor*, uint64_t offset, uint64_t length,
                        StoreCompletion* done) {
  if (offset > size_ || length > size_ - offset) {
    done->store_done(-EINVAL);
    return;
  }
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  const uint64_t end = offset + length;
  // The mapping is page aligned, so offsets round like addresses.
  const uint64_t first = (offset + page - 1) / page * page;
  const uint64_t last = end / page * page;
  if (first >= last) {
    std::memset(base_ + offset, 0, length);
    done->store_done(0);
    return;
  }
  std::memset(base_ + offset, 0, first - offset);
  std::memset(base_ + last, 0, end - last);
  if (::madvise(base_ + first, last - first, MADV_DONTNEED) != 0) {
    std::memset(base_ + first, 0, last - first);  // still zeros, just not released
  }
  done->store_done(0);
}

void MemoryStore::flush(reactor::Reactor*, StoreCompletion* done) {
  done->store_done(0);
}

}  // namespace stgt::backing
