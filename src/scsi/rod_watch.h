// RodWatch: the source ranges of the live ROD tokens (POPULATE TOKEN, SBC-4 5.11) over one
// LU's blocks. A token stands for the data as it was when it was made; a write admitted to
// any of its ranges afterwards revokes it (SPC-5 5.17.6.3), so WRITE USING TOKEN never
// copies changed data.
//
// Every writer of the LU reports its range through ExtentLock::acquire (scsi/extent_lock.h),
// which every command that writes the medium already calls. While the LU has no token that
// costs one atomic load; while it has some, a small mutex and a walk over the ranges.
//
// Threads: any reactor, and the control plane never. Entries are shared with the token table
// (devices/sbc/rod_tokens.h), which adds and removes them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace stgt::scsi {

class RodWatch {
 public:
  struct Range {
    uint64_t lba = 0;
    uint64_t end = 0;  // one past the last LBA
  };
  struct Entry {
    std::vector<Range> ranges;
    std::atomic<bool> revoked{false};
  };

  void add(std::shared_ptr<Entry> entry);
  void remove(const Entry* entry);
  // A write of [lba, lba + blocks) is admitted: every overlapping token is revoked.
  void written(uint64_t lba, uint64_t blocks) {
    if (count_.load(std::memory_order_seq_cst) == 0) return;
    revoke_overlapping(lba, blocks);
  }
  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  void revoke_overlapping(uint64_t lba, uint64_t blocks);

  std::atomic<size_t> count_{0};
  std::mutex mu_;
  std::vector<std::shared_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace stgt::scsi
