// WriteJournal: the write-ahead journal that makes a FileStore's atomic writes (WRITE ATOMIC
// (16)) all or nothing across a crash of the daemon or of the machine. A plain pwritev is
// not: a SIGKILL stops a buffered write between pages, and a power failure may tear any
// write of more than one sector.
//
// File: a side file next to the image (FileStore names it `<image>.atomic-journal`), a
// ring of `slots` slots, each a 4 KiB header followed by room for `slot_bytes` of data:
//   header (big-endian): magic "STGTAWJ1" (8) | version 1 (4) | data length (4) |
//                        sequence (8) | byte offset in the image (8) |
//                        CRC32C of the data (4) | CRC32C of the 32 bytes before it (4)
// A slot whose header is all zeros is free; a valid header whose data CRC matches is a live
// entry; anything else (a header or data torn by a crash while the entry was written) is
// discarded: that write was never acknowledged, and its in-place write never started.
//
// One atomic write (write()): the entry (header and data, one pwritev with RWF_DSYNC) →
// the data in place → fdatasync of the image → the slot's header zeroed (RWF_DSYNC), then
// the caller acknowledges. Retiring before the acknowledgement keeps replay from ever
// writing an old entry over a later, acknowledged write of the same blocks; it costs a
// third sync per atomic write, which only WRITE ATOMIC pays (normal writes never come here).
//
// Opening (open()) replays: every live entry is written in place in sequence order, the
// image is fdatasynced, and every slot is cleared before the store serves I/O. A crash in
// the middle of a replay leaves the entries live, so the next open replays them again
// (writing the same bytes twice is harmless).
//
// Threads: blocking calls, never on a reactor (FileStore runs them on its atomic-write
// thread, or inline when called without a reactor). One writer at a time: the caller
// serialises write() calls.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace stgt::backing {

class WriteJournal {
 public:
  static constexpr uint32_t kHeaderBytes = 4096;
  static constexpr uint64_t kMagic = 0x5354475441574a31;  // "STGTAWJ1"
  static constexpr uint32_t kVersion = 1;
  static constexpr uint32_t kDefaultSlots = 2;

  struct Layout {
    uint32_t slots = kDefaultSlots;
    uint64_t slot_bytes = 0;  // the largest atomic write
    uint64_t slot_stride() const { return kHeaderBytes + slot_bytes; }
    uint64_t file_bytes() const { return slots * slot_stride(); }
  };

  // One entry as found in a slot by scan().
  struct Entry {
    uint32_t slot = 0;
    uint64_t seq = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
  };
  struct ScanResult {
    std::vector<Entry> live;  // in sequence order
    uint32_t torn = 0;        // slots with a header or data that failed its CRC
  };

  struct OpenStats {
    uint32_t replayed = 0;
    uint32_t discarded = 0;
  };

  // Opens the journal at `path` (created, sized and synced into its directory when
  // missing) for an image of `image_size` bytes open read-write on `image_fd`, and replays
  // it (see above). A valid entry that points outside the image is an error (the journal
  // belongs to another image): the store is not opened.
  static base::Result<std::unique_ptr<WriteJournal>, std::string> open(const std::string& path,
                                                                       int image_fd,
                                                                       uint64_t image_size,
                                                                       Layout layout,
                                                                       OpenStats* stats = nullptr);

  // Reads the slots of an existing journal without changing anything (read-only stores
  // use it to refuse an image with live entries). Errors only when the file cannot be read.
  static base::Result<ScanResult, std::string> scan(int journal_fd, uint64_t image_size,
                                                    Layout layout);

  // The atomic write of `iov` (total `length` <= slot_bytes) at `offset` of the image,
  // durable on return: 0, or -errno (then the blocks hold old data, new data, or, after an
  // I/O error in place, a mix that the next open replays to the new data).
  // An I/O error in place is tried once more; if that fails too the entry stays live and the
  // journal is stuck(): from then on every write to the image must fail (FileStore checks),
  // because the replay at the next open would overwrite anything written after it.
  int64_t write(int image_fd, std::span<const iovec> iov, uint64_t offset, uint64_t length);
  bool stuck() const { return stuck_.load(std::memory_order_acquire); }

  // The steps of write(), public for the unit tests (which crash between them).
  int64_t append(std::span<const iovec> iov, uint64_t offset, uint64_t length, uint32_t* slot);
  int64_t retire(uint32_t slot);

  const Layout& layout() const { return layout_; }
  uint64_t next_seq() const { return next_seq_; }
  int fd() const { return fd_.get(); }

 private:
  WriteJournal(base::UniqueFd fd, Layout layout, uint64_t next_seq)
      : fd_(std::move(fd)), layout_(layout), next_seq_(next_seq) {}

  base::UniqueFd fd_;
  Layout layout_;
  uint64_t next_seq_;
  std::atomic<bool> stuck_{false};  // set by the atomic-write thread, read by reactors
};

}  // namespace stgt::backing
