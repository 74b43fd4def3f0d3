#include "devices/sbc/copy_results.h"

#include <algorithm>

namespace stgt::devices::sbc {

std::deque<CopyRecord>::iterator CopyResults::lookup(uint64_t nexus, uint64_t lu,
                                                     uint32_t list_id, bool lid4) {
  return std::find_if(records_.begin(), records_.end(), [&](const CopyRecord& c) {
    return c.nexus == nexus && c.lu == lu && c.list_id == list_id && c.lid4 == lid4;
  });
}

CopyResults::Begin CopyResults::begin(uint64_t nexus, uint64_t lu, uint32_t list_id,
                                      bool lid4) {
  const std::lock_guard lock(mu_);
  const auto it = lookup(nexus, lu, list_id, lid4);
  CopyRecord* r = it != records_.end() ? &*it : nullptr;
  // SPC-4 6.3.1: a list identifier is unique among the copies in progress of the nexus; a
  // finished copy's held result is replaced by the new one.
  if (r != nullptr && r->in_progress) return Begin::kListIdInUse;
  if (running_ >= kMaxInProgress) return Begin::kTooMany;
  if (r != nullptr) {
    *r = CopyRecord{.nexus = nexus, .lu = lu, .list_id = list_id, .lid4 = lid4};
  } else {
    if (records_.size() >= kMaxEntries) {
      const auto old = std::find_if(records_.begin(), records_.end(),
                                    [](const CopyRecord& c) { return !c.in_progress; });
      if (old != records_.end()) records_.erase(old);
    }
    records_.push_back(CopyRecord{.nexus = nexus, .lu = lu, .list_id = list_id, .lid4 = lid4});
  }
  ++running_;
  return Begin::kStarted;
}

void CopyResults::progress(const CopyRecord& key, uint16_t segments, uint64_t bytes) {
  const std::lock_guard lock(mu_);
  const auto it = lookup(key.nexus, key.lu, key.list_id, key.lid4);
  if (it == records_.end() || !it->in_progress) return;
  it->segments_processed = segments;
  it->bytes_done = bytes;
}

void CopyResults::end(const CopyRecord& result, bool hold) {
  const std::lock_guard lock(mu_);
  if (running_ > 0) --running_;
  const auto it = lookup(result.nexus, result.lu, result.list_id, result.lid4);
  if (it == records_.end()) return;
  if (!hold) {
    records_.erase(it);
    return;
  }
  *it = result;
  it->in_progress = false;
}

std::optional<CopyRecord> CopyResults::find(uint64_t nexus, uint64_t lu, uint32_t list_id,
                                            bool lid4, bool discard) {
  const std::lock_guard lock(mu_);
  const auto it = lookup(nexus, lu, list_id, lid4);
  if (it == records_.end()) return std::nullopt;
  const CopyRecord out = *it;
  if (discard && !out.in_progress) records_.erase(it);
  return out;
}

bool CopyResults::begin_anonymous() {
  const std::lock_guard lock(mu_);
  if (running_ >= kMaxInProgress) return false;
  ++running_;
  return true;
}

void CopyResults::end_anonymous() {
  const std::lock_guard lock(mu_);
  if (running_ > 0) --running_;
}

CopyResults& copy_results() {
  static CopyResults table;  // constructed on first use, not at start-up
  return table;
}

}  // namespace stgt::devices::sbc
