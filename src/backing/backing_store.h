// BackingStore: the narrow interface every store implements (file, memory, null; rbd later).
// Primitives only: read, write, flush, size, unmap and provisioning status. SCSI semantics
// (ranges, FUA policy, write cache, thin provisioning) stay in devices/.
//
// Threads: a store is shared by every reactor that has a session on its LU; each call is
// made on some reactor thread and its completion runs on that same reactor. Calls from
// different reactors may overlap; the store must be safe for that (positional I/O).
// `r` is the calling reactor (stores that need no event loop accept null).
// Completion may run inline, before the call returns (memory and null stores do); callers
// must not touch state after the call that the completion may have released.
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"

namespace stgt::reactor {
class Reactor;
}

namespace stgt::backing {

// Completion of one store operation: result is bytes transferred (0 for flush) or -errno.
class StoreCompletion {
 public:
  virtual void store_done(int64_t result) = 0;

 protected:
  ~StoreCompletion() = default;
};

// What a store that makes every write atomic (memory, null) reports as its atomic limit.
inline constexpr uint64_t kMaxAtomicWriteBytes = uint64_t{1} << 20;

class BackingStore {
 public:
  virtual ~BackingStore() = default;

  virtual std::string_view kind() const = 0;
  // Capacity in bytes as opened (a block device's size, or the file's size).
  virtual uint64_t size() const = 0;

  // Reads/writes exactly the iovecs' total length at `offset` (offset+len <= size()).
  // A short transfer is retried inside the store; the completion sees the full length
  // or -errno. `fua`: the data is durable before completion.
  virtual void read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                    StoreCompletion* done) = 0;
  virtual void write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                     StoreCompletion* done) = 0;
  // Makes every completed write durable (fdatasync for files).
  virtual void flush(reactor::Reactor* r, StoreCompletion* done) = 0;

  // The medium's own physical block size in bytes, when it has one worth advertising (a
  // block device's, BLKPBSZGET); 0: none. An LU with no configured physical_block_size
  // reports this one, so initiators align their I/O (and unmaps) to the device's blocks.
  virtual uint32_t physical_block_size() const { return 0; }

  // ---- atomic writes (optional) ----

  // Largest write (in bytes, from offset 0 of any range) that this store makes all or
  // nothing, across a crash of the daemon or of the machine too: after a write() of at most
  // this many bytes the range holds either all old or all new data, never a mix. 0 (the
  // default): no such guarantee, and the LU does not offer WRITE ATOMIC (16). Fixed for the
  // life of the store. (Concurrent writes are ordered above the store, by the extent lock.)
  virtual uint64_t max_atomic_write_bytes() const { return 0; }
  // The write of WRITE ATOMIC (16): like write(), at most max_atomic_write_bytes() long, and
  // all or nothing as above. Stores whose every write is atomic (the default) just write();
  // a store that needs extra work for it (the file store's journal) does it here only, so
  // ordinary writes never pay for it. The completion may run on the calling reactor later
  // than a write()'s would (the file store journals on a thread of its own).
  virtual void write_atomic(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
                            bool fua, StoreCompletion* done) {
    write(r, iov, offset, fua, done);
  }

  // ---- thin provisioning (optional; the defaults describe a store without it) ----

  // True when unmap() can deallocate ranges of this store, so an LU over it may be thin.
  // Fixed for the life of the store.
  virtual bool supports_unmap() const { return false; }
  // Why supports_unmap() is false, as the end of a sentence ("... cannot deallocate blocks"),
  // for the error that refuses a thin LU over this store. Unused when it is true.
  virtual std::string why_no_unmap() const {
    return "the " + std::string(kind()) + " store cannot deallocate blocks";
  }
  // Deallocates [offset, offset + length) (offset + length <= size()). Afterwards the range
  // reads back as zeros, whether or not the store could release the space (callers report
  // LBPRZ=1 on the strength of this). Completion: 0, or -errno: -EOPNOTSUPP when the
  // store (or this file system / device) cannot deallocate, in which case nothing changed;
  // -EROFS on a read-only store. A zero length completes with 0.
  virtual void unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
                     StoreCompletion* done) {
    (void)r;
    (void)offset;
    (void)length;
    done->store_done(-EOPNOTSUPP);
  }

  // ---- zeroing without data (optional) ----

  // True when write_zeroes() can zero ranges without transferring data. Fixed for the life
  // of the store.
  virtual bool supports_write_zeroes() const { return false; }
  // Makes [offset, offset + length) read back as zeros while it stays allocated (a fully
  // provisioned range: unlike unmap(), space is kept), without writing data through the
  // store: WRITE SAME of zeros (VMware's block zeroing), the ODX zero token. `fua`: durable
  // before completion, as for write(). Completion: 0, or -errno: -EOPNOTSUPP when this
  // range cannot be zeroed so (nothing changed; the caller writes zeros instead).
  virtual void write_zeroes(reactor::Reactor* r, uint64_t offset, uint64_t length, bool fua,
                            StoreCompletion* done) {
    (void)r;
    (void)offset;
    (void)length;
    (void)fua;
    done->store_done(-EOPNOTSUPP);
  }

  // Allocation state of the bytes starting at `offset`: the longest run, at most `length`
  // bytes (length > 0, offset + length <= size()), that is all allocated (mapped) or all
  // deallocated. A store that cannot tell reports everything mapped. Synchronous and
  // cheap (metadata only: lseek SEEK_DATA/SEEK_HOLE for files); callable on a reactor.
  struct Provisioning {
    bool mapped = true;
    uint64_t length = 0;  // > 0 whenever the requested length is > 0
  };
  virtual Provisioning provisioning_status(uint64_t offset, uint64_t length) const {
    (void)offset;
    return {true, length};
  }

  // ---- cryptographic erase (optional) ----

  // True when the store keeps its data encrypted under a key it can replace
  // (crypt/crypt_store.h), so an LU over it offers SANITIZE CRYPTOGRAPHIC ERASE. Fixed for
  // the life of the store.
  virtual bool supports_crypto_erase() const { return false; }
  // Replaces the media encryption key by a new random one, durably, before it completes:
  // every byte written before then reads back as unspecified data (SBC-4 4.11.1), what is
  // written after reads back as written. The caller drains and holds off writes meanwhile.
  // Completion: 0, or -errno (the old key stays if the new one could not be made durable);
  // -EOPNOTSUPP without the capability, -EROFS on a read-only store. May block briefly
  // (one small atomic file write) and complete inline.
  virtual void crypto_erase(reactor::Reactor* r, StoreCompletion* done) {
    (void)r;
    done->store_done(-EOPNOTSUPP);
  }

  // ---- live resize (optional) ----

  // True when resize() can work (a regular file open read-write, the null store).
  virtual bool resizable() const { return false; }

  // Makes the store `bytes` long (a file grows sparse or is truncated). Control thread; I/O
  // may run concurrently on reactors, so size() changes atomically and only after the
  // medium has grown (or before it shrinks). The default: not resizable, nothing changed.
  virtual base::Result<void, std::string> resize(uint64_t bytes) {
    (void)bytes;
    return base::unexpected("the " + std::string(kind()) + " store cannot be resized live");
  }
};

// What the configuration says about one store. `path` and `size` depend on the kind:
// file: path required; size creates a missing file sparse (and must match an existing
// regular file unless 0); memory/null: size required.
// encryption: "" or "none" (plain), or "aes-256-xts": the store is wrapped in a CryptStore
// (crypt/crypt_store.h) whose key-encryption key is read from `key_file`; a file store keeps
// its wrapped media key beside the image (crypt::wrapped_key_path), memory and null stores
// keep theirs in memory only. A plain file store whose image has a wrapped key beside it is
// refused: it holds ciphertext.
struct StoreSpec {
  std::string kind;
  std::string path;
  uint64_t size = 0;
  bool read_only = false;
  std::string encryption;
  std::string key_file;
};

using StoreFactory = std::function<base::Result<std::unique_ptr<BackingStore>, std::string>(
    const StoreSpec&)>;

// Store kinds by name. Filled explicitly at start (no static constructors).
class StoreRegistry {
 public:
  void add(std::string kind, StoreFactory factory);
  // Opens a store; the error is one sentence naming the problem (e.g. "cannot open
  // /x/y.img: Permission denied").
  base::Result<std::unique_ptr<BackingStore>, std::string> open(const StoreSpec& spec) const;
  bool has(const std::string& kind) const { return factories_.count(kind) != 0; }

 private:
  std::map<std::string, StoreFactory> factories_;
};

void register_builtin_backing_stores(StoreRegistry& registry);

}  // namespace stgt::backing
