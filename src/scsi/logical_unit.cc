#include "scsi/logical_unit.h"

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

}  // namespace stgt::scsi
