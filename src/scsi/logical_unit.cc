#include "scsi/logical_unit.h"

#include <algorithm>

#include "base/atomic_file.h"

namespace stgt::scsi {

LogicalUnit::LogicalUnit(const DeviceType& type, std::unique_ptr<backing::BackingStore> store,
                         LuIdentity identity, LuSettings settings)
    : type_(&type),
      store_(std::move(store)),
      identity_(std::move(identity)),
      settings_(settings),
      wce_(settings.write_cache),
      stats_(settings.stats_shards) {
  if (settings_.block_size == 0) settings_.block_size = 512;
  // Unconfigured, the physical block size is the medium's (a 4 KiB-sector disk under a
  // 512-byte LU), so initiators align their writes and unmaps to it.
  if (settings_.physical_block_size == 0 && store_) {
    settings_.physical_block_size = store_->physical_block_size();
  }
  // A trailing partial block is not addressable (SBC-4 4.5).
  if (store_) num_blocks_.store(store_->size() / settings_.block_size, std::memory_order_relaxed);
  thin_ = settings_.thin && store_ && store_->supports_unmap();
}

base::Result<void, std::string> LogicalUnit::resize(uint64_t bytes) {
  if (!store_) return base::unexpected(std::string("this logical unit has no medium to resize"));
  // A sanitize writes up to the capacity it started with (devices/sbc/sanitize_job.h).
  if (sanitize_state() == SanitizeState::kRunning) {
    return base::unexpected(std::string("a SANITIZE is in progress on this logical unit"));
  }
  const uint64_t blocks = bytes / settings_.block_size;
  if (blocks == 0) {
    return base::unexpected("the new size holds less than one " +
                            std::to_string(settings_.block_size) + "-byte block");
  }
  const bool grow = blocks >= num_blocks();
  if (!grow) num_blocks_.store(blocks, std::memory_order_relaxed);
  if (auto r = store_->resize(bytes); !r) {
    if (!grow) num_blocks_.store(store_->size() / settings_.block_size, std::memory_order_relaxed);
    return r;
  }
  num_blocks_.store(store_->size() / settings_.block_size, std::memory_order_relaxed);
  return {};
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

base::Result<void, std::string> LogicalUnit::write_sanitize_record(std::string_view image) {
  if (sanitize_record_path_.empty()) return {};
  const std::lock_guard lock(sanitize_record_mu_);
  if (sanitize_record_dropped_) return {};
  return image.empty() ? base::remove_file_durably(sanitize_record_path_)
                       : base::write_file_atomic(sanitize_record_path_, image);
}

base::Result<void, std::string> LogicalUnit::drop_sanitize_record() {
  if (sanitize_record_path_.empty()) return {};
  const std::lock_guard lock(sanitize_record_mu_);
  sanitize_record_dropped_ = true;
  return base::remove_file_durably(sanitize_record_path_);
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
