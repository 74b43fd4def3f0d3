#include "devices/sbc/copy_results.h"

#include <algorithm>

namespace stgt::devices::sbc {

CopyRecord* CopyResults::lookup(uint64_t nexus, uint64_t lu, uint8_t list_id) {
  for (CopyRecord& r : records_) {
    if (r.nexus == nexus && r.lu == lu && r.list_id == list_id) return &r;
  }
  return nullptr;
}

CopyResults::Begin CopyResults::begin(uint64_t nexus, uint64_t lu, uint8_t list_id) {
  const std::lock_guard lock(mu_);
  CopyRecord* r = lookup(nexus, lu, list_id);
  // SPC-4 6.3.1: a list identifier is unique among the copies in progress of the nexus; a
  // finished copy's held result is replaced by the new one.
  if (r != nullptr && r->in_progress) return Begin::kListIdInUse;
  if (running_ >= kMaxInProgress) return Begin::kTooMany;
  if (r != nullptr) {
    *r = CopyRecord{.nexus = nexus, .lu = lu, .list_id = list_id};
  } else {
    if (records_.size() >= kMaxEntries) {
      const auto old = std::find_if(records_.begin(), records_.end(),
                                    [](const CopyRecord& c) { return !c.in_progress; });
      if (old != records_.end()) records_.erase(old);
    }
    records_.push_back(CopyRecord{.nexus = nexus, .lu = lu, .list_id = list_id});
  }
  ++running_;
  return Begin::kStarted;
}

void CopyResults::progress(uint64_t nexus, uint64_t lu, uint8_t list_id, uint16_t segments,
                           uint64_t bytes) {
  const std::lock_guard lock(mu_);
  if (CopyRecord* r = lookup(nexus, lu, list_id)) {
    r->segments_processed = segments;
    r->bytes_done = bytes;
  }
}

void CopyResults::end(const CopyRecord& result, bool hold) {
  const std::lock_guard lock(mu_);
  if (running_ > 0) --running_;
  const auto it = std::find_if(records_.begin(), records_.end(), [&](const CopyRecord& c) {
    return c.nexus == result.nexus && c.lu == result.lu && c.list_id == result.list_id;
  });
  if (it == records_.end()) return;
  if (!hold) {
    records_.erase(it);
    return;
  }
  *it = result;
  it->in_progress = false;
}

std::optional<CopyRecord> CopyResults::find(uint64_t nexus, uint64_t lu, uint8_t list_id,
                                            bool discard) {
  const std::lock_guard lock(mu_);
  const auto it = std::find_if(records_.begin(), records_.end(), [&](const CopyRecord& c) {
    return c.nexus == nexus && c.lu == lu && c.list_id == list_id;
  });
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
