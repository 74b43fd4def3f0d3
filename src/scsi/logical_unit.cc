#include "scsi/logical_unit.h"

#include <algorithm>

namespace stgt::scsi {

LogicalUnit::LogicalUnit(const DeviceType& type, std::unique_ptr<backing::BackingStore> store,
                         LuIdentity identity, LuSettings settings)
    : type_(&type),
      store_(std::move(store)),
      identity_(std::move(identity)),
      settings_(settings),
      wce_(settings.write_cache) {
  if (settings_.block_size == 0) settings_.block_size = 512;
  // A trailing partial block is not addressable (SBC-4 4.5).
  if (store_) num_blocks_ = store_->size() / settings_.block_size;
  thin_ = settings_.thin && store_ && store_->supports_unmap();
}

void LogicalUnit::set_removal_prevented(uint64_t nexus_id, bool prevent) {
  const std::lock_guard lock(prevent_mu_);
  const auto it = std::find(preventing_.begin(), preventing_.end(), nexus_id);
  if (prevent && it == preventing_.end()) preventing_.push_back(nexus_id);
  if (!prevent && it != preventing_.end()) preventing_.erase(it);
  preventing_count_.store(uint32_t(preventing_.size()), std::memory_order_release);
}

bool LogicalUnit::prevented_by(uint64_t nexus_id) const {
  const std::lock_guard lock(prevent_mu_);
  return std::find(preventing_.begin(), preventing_.end(), nexus_id) != preventing_.end();
}

void LogicalUnit::release_nexus(uint64_t nexus_id) {
  set_removal_prevented(nexus_id, false);
  reservations_.nexus_lost(nexus_id);
}

void LogicalUnit::reset_nexus_state() {
  {
    const std::lock_guard lock(prevent_mu_);
    preventing_.clear();
    preventing_count_.store(0, std::memory_order_release);
  }
  reservations_.lu_reset();
}

}  // namespace stgt::scsi
