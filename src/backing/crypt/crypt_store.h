// CryptStore: encryption at rest for any store. A decorator over an inner store (file,
// memory, null) that keeps the data encrypted with AES-256-XTS (OpenSSL EVP, AES-NI where
// the CPU has it) under a media encryption key (MEK, media_key.h), and offers
// cryptographic erase (SBC-4 5.30 SANITIZE CRYPTOGRAPHIC ERASE) by replacing that key.
//
// Layout: data units of kDataUnit (512) bytes, each encrypted on its own with the tweak =
// byte offset / 512 as a 64-bit little-endian number (dm-crypt's "plain64"), so the
// ciphertext does not depend on the LU's block size and equal data at two offsets encrypts
// differently. Offsets and lengths must be multiples of 512 (every LU block is); anything
// else completes with -EINVAL. size() is the inner store's size rounded down to 512.
//
// Holes: an all-zero 512-byte ciphertext unit reads back as a plaintext zero unit, so what
// the inner store deallocates (unmap, a sparse file's holes, a fresh memory store) still
// reads as zeros and a thin LU keeps LBPRZ=1. A real ciphertext unit is all zeros with
// probability 2^-4096; the price is that such a unit would read as zeros.
//
// Operations: read() hands the caller's iovecs to the inner store and decrypts them in
// place when it completes. write() / write_atomic() encrypt into a bounce buffer (the
// calling reactor's BufferPool; heap only without a reactor, or if the pool is out of
// budget, bounded by the command's own buffers) and write that; the caller's buffers are
// never modified. unmap, flush, provisioning_status and resize pass through. Per-operation
// state comes from a free list per thread, and cipher contexts from a pool in the store:
// no allocation per operation once warm.
//
// Keys: the MEK is created at the first open (RAND_bytes) and kept wrapped under the KEK in
// `key_path` (media_key.h; for a file image "<image>.mek", beside it) or, with an empty
// key_path (memory and null stores, whose data dies with the daemon), only in memory. A
// missing key file for an image that already holds data is refused (a new key would turn
// that data into garbage), as are a wrong KEK and a damaged key file: never silently serve
// garbage. Key bytes are cleansed when replaced or destroyed, and so are the cipher
// contexts holding their schedule (retired when their key is replaced).
//
// crypto_erase(): a new random MEK is wrapped and written to key_path durably (temporary
// file, fsync, rename, directory fsync) before the store switches to it; the old key is
// then cleansed, so everything written before reads as unspecified data. Blocking (one
// small atomic file write); the caller (the sanitize job) drains writes first.
//
// Threads: as every store; calls from several reactors may overlap. The key and the cipher
// context pool sit behind one mutex, held for a pointer swap per operation (plus the key
// schedule the first few times); AES runs outside it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backing/backing_store.h"
#include "backing/crypt/media_key.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace stgt::backing {

struct CryptSpec {
  std::string kek_path;  // the key-encryption key file; may be empty only with no key_path
  std::string key_path;  // the wrapped MEK; empty: the MEK lives in memory only
  bool read_only = false;
};

class CryptStore final : public BackingStore {
 public:
  static constexpr uint64_t kDataUnit = 512;

  // Opens (or, the first time, creates) the key and wraps `inner`. One sentence on error.
  static base::Result<std::unique_ptr<BackingStore>, std::string> open(
      std::unique_ptr<BackingStore> inner, const CryptSpec& spec);
  ~CryptStore() override;
  CryptStore(const CryptStore&) = delete;
  CryptStore& operator=(const CryptStore&) = delete;

  std::string_view kind() const override { return kind_; }
  uint64_t size() const override { return inner_->size() / kDataUnit * kDataUnit; }
  void read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
            StoreCompletion* done) override;
  void write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
             StoreCompletion* done) override;
  void flush(reactor::Reactor* r, StoreCompletion* done) override { inner_->flush(r, done); }
  uint64_t max_atomic_write_bytes() const override { return inner_->max_atomic_write_bytes(); }
  void write_atomic(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                    StoreCompletion* done) override;
  bool supports_unmap() const override { return inner_->supports_unmap(); }
  uint32_t physical_block_size() const override { return inner_->physical_block_size(); }
  std::string why_no_unmap() const override { return inner_->why_no_unmap(); }
  void unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
             StoreCompletion* done) override {
    inner_->unmap(r, offset, length, done);
  }
  Provisioning provisioning_status(uint64_t offset, uint64_t length) const override {
    return inner_->provisioning_status(offset, length);
  }
  bool resizable() const override { return inner_->resizable(); }
  base::Result<void, std::string> resize(uint64_t bytes) override { return inner_->resize(bytes); }
  bool supports_crypto_erase() const override { return true; }
  void crypto_erase(reactor::Reactor* r, StoreCompletion* done) override;

  BackingStore& inner() const { return *inner_; }
  // Changes with every crypto_erase() (tests).
  uint64_t key_generation() const;

  // Encrypts or decrypts the units of `iov` (the bytes at `offset`) into `out` (segments of
  // whole units, as long as iov in total), or in place with an empty `out`. 0 or -EIO.
  int transform(bool encrypt, std::span<const iovec> iov, uint64_t offset,
                std::span<const iovec> out);

  class Op;  // per-operation state (crypt_store.cc)

 private:
  struct Cipher {
    EVP_CIPHER_CTX* ctx = nullptr;
    uint64_t generation = 0;
  };

  CryptStore(std::unique_ptr<BackingStore> inner, crypt::Kek kek, crypt::Mek mek, CryptSpec spec);
  void encrypt_and_write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                         bool atomic, StoreCompletion* done);
  // A context keyed with the current MEK for one direction; back with release().
  Cipher* acquire(bool encrypt);
  void release(bool encrypt, Cipher* c);
  void free_idle_locked();

  std::unique_ptr<BackingStore> inner_;
  std::string kind_;
  crypt::Kek kek_;
  CryptSpec spec_;

  mutable std::mutex mu_;
  crypt::Mek mek_;                // under mu_
  uint64_t generation_ = 1;       // under mu_
  std::vector<Cipher*> idle_[2];  // under mu_; [0] decrypt, [1] encrypt
};

}  // namespace stgt::backing
