#include "backing/null/null_store.h"

#include <cerrno>
#include <cstring>

namespace stgt::backing {
namespace {

uint64_t total_length(std::span<const iovec> iov) {
  uint64_t n = 0;
  for (const iovec& v : iov)
    n += v.iov_len;
  return n;
}

}  // namespace

base::Result<std::unique_ptr<BackingStore>, std::string> NullStore::open(const StoreSpec& spec) {
  if (spec.size == 0) return base::unexpected(std::string("a null store needs a size"));
  return std::unique_ptr<BackingStore>(new NullStore(spec.size));
}

void NullStore::read(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset,
                     StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset > size_ || len > size_ - offset) {
    done->store_done(-EINVAL);
    return;
  }
  for (const iovec& v : iov)
    std::memset(v.iov_base, 0, v.iov_len);
  done->store_done(int64_t(len));
}

void NullStore::write(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset, bool,
                      StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset > size_ || len > size_ - offset) {
    done->store_done(-EINVAL);
    return;
  }
  done->store_done(int64_t(len));
}

void NullStore::unmap(reactor::Reactor*, uint64_t offset, uint64_t length,
                      StoreCompletion* done) {
  done->store_done(offset > size_ || length > size_ - offset ? -EINVAL : 0);
}

void NullStore::flush(reactor::Reactor*, StoreCompletion* done) {
  done->store_done(0);
}

}  // namespace stgt::backing
