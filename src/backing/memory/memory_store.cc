#include "backing/memory/memory_store.h"

#include <sys/mman.h>

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

void MemoryStore::flush(reactor::Reactor*, StoreCompletion* done) {
  done->store_done(0);
}

}  // namespace stgt::backing
