#include "scsi/rod_watch.h"

#include <algorithm>

namespace stgt::scsi {

void RodWatch::add(std::shared_ptr<Entry> entry) {
  const std::lock_guard lock(mu_);
  entries_.push_back(std::move(entry));
  count_.store(entries_.size(), std::memory_order_seq_cst);
}

void RodWatch::remove(const Entry* entry) {
  const std::lock_guard lock(mu_);
  std::erase_if(entries_, [entry](const std::shared_ptr<Entry>& e) { return e.get() == entry; });
  count_.store(entries_.size(), std::memory_order_seq_cst);
}

void RodWatch::revoke_overlapping(uint64_t lba, uint64_t blocks) {
  const uint64_t end = lba + blocks;
  const std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e->revoked.load(std::memory_order_relaxed)) continue;
    const bool hit = std::any_of(e->ranges.begin(), e->ranges.end(),
                                 [&](const Range& r) { return r.lba < end && lba < r.end; });
    if (hit) e->revoked.store(true, std::memory_order_release);
  }
}

}  // namespace stgt::scsi
