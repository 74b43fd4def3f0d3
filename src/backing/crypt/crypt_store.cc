#include "backing/crypt/crypt_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/buffer_pool.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "reactor/reactor.h"

namespace stgt::backing {
namespace {

constexpr size_t kUnit = CryptStore::kDataUnit;
// Idle cipher contexts kept per direction (more than the reactors that could use one at once).
constexpr size_t kMaxIdleCiphers = 64;

uint64_t total_length(std::span<const iovec> iov) {
  uint64_t n = 0;
  for (const iovec& v : iov)
    n += v.iov_len;
  return n;
}

bool all_zero(const uint8_t* p) {
  uint64_t acc = 0;
  for (size_t i = 0; i < kUnit; i += sizeof(uint64_t)) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    acc |= w;
  }
  return acc == 0;
}

// Walks 512-byte units over an iovec list: each unit is either a pointer into one iovec or
// gathered into (and scattered back from) a small buffer when it straddles iovecs.
class UnitCursor {
 public:
  explicit UnitCursor(std::span<const iovec> iov) : iov_(iov) {}

  // The next unit, contiguous: in place or in `tmp` (then `gathered` is true).
  uint8_t* next(uint8_t* tmp, bool* gathered) {
    skip_empty();
    const iovec& v = iov_[index_];
    if (v.iov_len - at_ >= kUnit) {
      uint8_t* p = static_cast<uint8_t*>(v.iov_base) + at_;
      advance(kUnit);
      *gathered = false;
      return p;
    }
    mark_ = {index_, at_};
    size_t have = 0;
    while (have < kUnit) {
      skip_empty();
      const iovec& w = iov_[index_];
      const size_t n = std::min(kUnit - have, w.iov_len - at_);
      std::memcpy(tmp + have, static_cast<uint8_t*>(w.iov_base) + at_, n);
      have += n;
      advance(n);
    }
    *gathered = true;
    return tmp;
  }
  // Writes a gathered unit back where next() took it from.
  void scatter(const uint8_t* tmp) {
    size_t index = mark_.first;
    size_t at = mark_.second;
    size_t done = 0;
    while (done < kUnit) {
      const iovec& w = iov_[index];
      const size_t n = std::min(kUnit - done, w.iov_len - at);
      std::memcpy(static_cast<uint8_t*>(w.iov_base) + at, tmp + done, n);
      done += n;
      at += n;
      if (at == w.iov_len) {
        ++index;
        at = 0;
      }
    }
  }

 private:
  void skip_empty() {
    while (at_ == iov_[index_].iov_len) {
      ++index_;
      at_ = 0;
    }
  }
  void advance(size_t n) {
    at_ += n;
    if (at_ == iov_[index_].iov_len) {
      ++index_;
      at_ = 0;
    }
  }

  std::span<const iovec> iov_;
  size_t index_ = 0;
  size_t at_ = 0;
  std::pair<size_t, size_t> mark_{};
};

void plain64_tweak(uint64_t unit, uint8_t* iv) {
  std::memset(iv, 0, 16);
  for (int i = 0; i < 8; ++i)
    iv[i] = uint8_t(unit >> (8 * i));
}

}  // namespace

// ---- per-operation state ----

class CryptStore::Op final : public StoreCompletion {
 public:
  void store_done(int64_t result) override;

  CryptStore* store = nullptr;
  StoreCompletion* done = nullptr;
  std::span<const iovec> iov;  // read: the caller's (decrypted in place)
  uint64_t offset = 0;
  bool reading = false;
  base::BufferChain bounce;   // write: the ciphertext, from the reactor's pool
  std::vector<uint8_t> heap;  // write without a reactor (or a pool out of budget)
  std::array<iovec, base::BufferChain::kMaxSegments> bounce_iov{};
};

namespace {

// Free Ops of the calling thread (one reactor), as the file store keeps its FileOps.
class OpCache {
 public:
  static constexpr size_t kMaxCached = 1024;
  ~OpCache() {
    for (CryptStore::Op* op : free_)
      delete op;
  }
  CryptStore::Op* acquire();
  void release(CryptStore::Op* op);

 private:
  std::vector<CryptStore::Op*> free_;
};

thread_local OpCache t_ops;

}  // namespace

CryptStore::Op* OpCache::acquire() {
  if (free_.empty()) return new CryptStore::Op;
  CryptStore::Op* op = free_.back();
  free_.pop_back();
  return op;
}

void OpCache::release(CryptStore::Op* op) {
  op->bounce.reset();
  op->heap.clear();
  op->heap.shrink_to_fit();
  if (free_.size() >= kMaxCached) {
    delete op;
    return;
  }
  free_.push_back(op);
}

void CryptStore::Op::store_done(int64_t result) {
  if (reading && result >= 0 && store->transform(false, iov, offset, {}) != 0) {
    result = -EIO;
  }
  StoreCompletion* const caller = done;
  // Back on the free list first: the caller's completion may start the next operation.
  t_ops.release(this);
  caller->store_done(result);
}

// ---- opening and keys ----

namespace {

// True when the inner store holds no data (all of it deallocated): a fresh image.
bool holds_no_data(const BackingStore& inner) {
  const uint64_t size = inner.size();
  if (size == 0) return true;
  const BackingStore::Provisioning p = inner.provisioning_status(0, size);
  return !p.mapped && p.length == size;
}

base::Result<crypt::Mek, std::string> load_or_create_mek(const BackingStore& inner,
                                                         const crypt::Kek& kek,
                                                         const CryptSpec& spec) {
  if (spec.key_path.empty()) return crypt::generate_mek();
  auto image = base::read_small_file(spec.key_path);
  if (!image) return base::unexpected(image.error());
  if (image.value()) {
    auto mek = crypt::unwrap_mek(kek, **image);
    if (!mek) return base::unexpected(fmt::format("{}: {}", spec.key_path, mek.error()));
    return mek;
  }
  if (spec.read_only) {
    return base::unexpected(fmt::format(
        "the wrapped media key {} is missing and a read-only LU cannot create it", spec.key_path));
  }
  if (!holds_no_data(inner)) {
    return base::unexpected(fmt::format(
        "the image already holds data but its wrapped media key {} is missing; refusing to "
        "create a new key, which would turn that data into garbage (restore the key file, or "
        "start from a new image)",
        spec.key_path));
  }
  auto mek = crypt::generate_mek();
  if (!mek) return mek;
  auto wrapped = crypt::wrap_mek(kek, *mek);
  if (!wrapped) return base::unexpected(wrapped.error());
  if (auto written = base::write_file_atomic(spec.key_path, *wrapped); !written) {
    return base::unexpected(written.error());
  }
  STGT_LOG_INFO("created media encryption key {}", spec.key_path);
  return mek;
}

}  // namespace

base::Result<std::unique_ptr<BackingStore>, std::string> CryptStore::open(
    std::unique_ptr<BackingStore> inner, const CryptSpec& spec) {
  crypt::Kek kek;
  if (!spec.kek_path.empty()) {
    auto loaded = crypt::load_kek(spec.kek_path);
    if (!loaded) return base::unexpected(loaded.error());
    kek = std::move(loaded).value();
  } else if (!spec.key_path.empty()) {
    return base::unexpected(std::string("an encrypted store that keeps its key needs a key file"));
  }
  auto mek = load_or_create_mek(*inner, kek, spec);
  if (!mek) return base::unexpected(mek.error());
  return std::unique_ptr<BackingStore>(
      new CryptStore(std::move(inner), std::move(kek), std::move(mek).value(), spec));
}

CryptStore::CryptStore(std::unique_ptr<BackingStore> inner, crypt::Kek kek, crypt::Mek mek,
                       CryptSpec spec)
    : inner_(std::move(inner)),
      kind_("encrypted " + std::string(inner_->kind())),
      kek_(std::move(kek)),
      spec_(std::move(spec)),
      mek_(std::move(mek)) {}

CryptStore::~CryptStore() {
  const std::lock_guard lock(mu_);
  free_idle_locked();
}

uint64_t CryptStore::key_generation() const {
  const std::lock_guard lock(mu_);
  return generation_;
}

void CryptStore::free_idle_locked() {
  for (auto& pool : idle_) {
    for (Cipher* c : pool) {
      EVP_CIPHER_CTX_free(c->ctx);  // cleanses the key schedule
      delete c;
    }
    pool.clear();
  }
}

CryptStore::Cipher* CryptStore::acquire(bool encrypt) {
  const std::lock_guard lock(mu_);
  auto& pool = idle_[encrypt ? 1 : 0];
  if (!pool.empty()) {
    Cipher* c = pool.back();
    pool.pop_back();
    return c;
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return nullptr;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), nullptr, mek_.data(), nullptr, encrypt ? 1 : 0) !=
      1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return new Cipher{ctx, generation_};
}

void CryptStore::release(bool encrypt, Cipher* c) {
  {
    const std::lock_guard lock(mu_);
    auto& pool = idle_[encrypt ? 1 : 0];
    // A context of a replaced key is retired, never reused.
    if (c->generation == generation_ && pool.size() < kMaxIdleCiphers) {
      pool.push_back(c);
      return;
    }
  }
  EVP_CIPHER_CTX_free(c->ctx);
  delete c;
}

// ---- data ----

int CryptStore::transform(bool encrypt, std::span<const iovec> iov, uint64_t offset,
                          std::span<const iovec> out) {
  const uint64_t len = total_length(iov);
  if (len == 0) return 0;
  Cipher* c = acquire(encrypt);
  if (c == nullptr) return -EIO;
  UnitCursor cursor(iov);
  alignas(16) uint8_t tmp[kUnit];
  alignas(16) uint8_t iv[16];
  int rc = 0;
  size_t out_index = 0;
  size_t out_at = 0;
  for (uint64_t at = 0; at < len; at += kUnit) {
    bool gathered = false;
    uint8_t* in = cursor.next(tmp, &gathered);
    uint8_t* dst = in;
    if (!out.empty()) {
      // Destination segments hold whole units (pool buffers, or one heap buffer).
      dst = static_cast<uint8_t*>(out[out_index].iov_base) + out_at;
      out_at += kUnit;
      if (out_at == out[out_index].iov_len) {
        ++out_index;
        out_at = 0;
      }
    }
    // An all-zero ciphertext unit is a hole: it reads as plaintext zeros.
    if (!encrypt && all_zero(in)) continue;
    plain64_tweak((offset + at) / kUnit, iv);
    int n = 0;
    if (EVP_CipherInit_ex(c->ctx, nullptr, nullptr, nullptr, iv, -1) != 1 ||
        EVP_CipherUpdate(c->ctx, dst, &n, in, int(kUnit)) != 1 || n != int(kUnit)) {
      rc = -EIO;
      break;
    }
    if (out.empty() && gathered) cursor.scatter(tmp);
  }
  OPENSSL_cleanse(tmp, sizeof tmp);
  release(encrypt, c);
  return rc;
}

void CryptStore::read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                      StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset % kUnit != 0 || len % kUnit != 0) {
    done->store_done(-EINVAL);
    return;
  }
  Op* op = t_ops.acquire();
  op->store = this;
  op->done = done;
  op->iov = iov;
  op->offset = offset;
  op->reading = true;
  inner_->read(r, iov, offset, op);
}

void CryptStore::write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                       StoreCompletion* done) {
  encrypt_and_write(r, iov, offset, fua, false, done);
}

void CryptStore::write_atomic(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                              bool fua, StoreCompletion* done) {
  encrypt_and_write(r, iov, offset, fua, true, done);
}

void CryptStore::encrypt_and_write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                                   bool fua, bool atomic, StoreCompletion* done) {
  const uint64_t len = total_length(iov);
  if (offset % kUnit != 0 || len % kUnit != 0 || offset > size() || len > size() - offset) {
    done->store_done(-EINVAL);
    return;
  }
  if (len == 0) {
    done->store_done(0);
    return;
  }
  Op* op = t_ops.acquire();
  op->store = this;
  op->done = done;
  op->reading = false;
  std::span<const iovec> out;
  if (r != nullptr && len <= base::BufferChain::kMaxBytes &&
      op->bounce.allocate(r->buffers(), len)) {
    // Pool buffers are at least 4 KiB and powers of two: every unit is contiguous.
    const size_t n = op->bounce.iovecs(0, len, op->bounce_iov);
    out = std::span<const iovec>(op->bounce_iov.data(), n);
  } else {
    op->heap.resize(len);
    op->bounce_iov[0] = iovec{op->heap.data(), len};
    out = std::span<const iovec>(op->bounce_iov.data(), 1);
  }
  const int rc = transform(true, iov, offset, out);
  if (rc != 0) {
    t_ops.release(op);
    done->store_done(rc);
    return;
  }
  if (atomic) {
    inner_->write_atomic(r, out, offset, fua, op);
    return;
  }
  inner_->write(r, out, offset, fua, op);
}

namespace {

// Overwrites the (now unlinked) file behind `fd` with zeros in place and syncs it. On file
// systems that overwrite in place (ext4, xfs) this removes the old wrapped key from the
// medium; copy-on-write ones (btrfs) may keep the old blocks, which the docs say. Failure
// is logged, not fatal: the new key is already durable and the old one gone from memory.
void scrub_replaced_key(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  const std::string zeros(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < zeros.size()) {
    const ssize_t n = ::pwrite(fd, zeros.data() + done, zeros.size() - done, off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  if (done != zeros.size() || ::fdatasync(fd) != 0) {
    STGT_LOG_WARN("cryptographic erase: could not scrub the replaced key file of {}: {}", path,
                  std::strerror(errno));
  }
}

}  // namespace

void CryptStore::crypto_erase(reactor::Reactor*, StoreCompletion* done) {
  if (spec_.read_only) {
    done->store_done(-EROFS);
    return;
  }
  auto mek = crypt::generate_mek();
  if (!mek) {
    STGT_LOG_ERROR("cryptographic erase: {}", mek.error());
    done->store_done(-EIO);
    return;
  }
  // Durable first: a crash after this point comes back with the new key only.
  if (!spec_.key_path.empty()) {
    auto wrapped = crypt::wrap_mek(kek_, *mek);
    if (!wrapped) {
      STGT_LOG_ERROR("cryptographic erase: {}", wrapped.error());
      done->store_done(-EIO);
      return;
    }
    // The file the rename replaces is kept open so that its blocks can be scrubbed once the
    // new key is durable: otherwise the old wrapped key would stay on the medium, free but
    // readable by whoever also holds the KEK.
    const base::UniqueFd old_key(::open(spec_.key_path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!old_key.valid() && errno != ENOENT) {
      STGT_LOG_WARN("cryptographic erase: cannot open {} to scrub it after the erase: {}",
                    spec_.key_path, std::strerror(errno));
    }
    if (auto written = base::write_file_atomic(spec_.key_path, *wrapped); !written) {
      STGT_LOG_ERROR("cryptographic erase: {}", written.error());
      done->store_done(-EIO);
      return;
    }
    if (old_key.valid()) scrub_replaced_key(old_key.get(), spec_.key_path);
  }
  {
    const std::lock_guard lock(mu_);
    mek_ = std::move(mek).value();  // the old key's bytes are overwritten
    ++generation_;
    free_idle_locked();
  }
  done->store_done(0);
}

}  // namespace stgt::backing
