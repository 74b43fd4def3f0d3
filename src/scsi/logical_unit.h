// LogicalUnit: one LU as the mid-layer and devices see it: its device type, its store, its
// geometry, identity and mode parameters.
//
// Threads: an LU is shared by every session that maps it, on any reactor. Geometry and
// identity are immutable after construction; the changeable mode parameters are atomics
// (written by MODE SELECT from any reactor, read by every command). State that needs
// ordering across sessions (task sets, reservations, unit attentions) gets a single owner
// in later layers; see docs/architecture.md. The one exception is the extent lock
// (scsi/extent_lock.h), which orders read-modify-write commands against overlapping writes
// from any reactor; the WRITE path pays one atomic load for it while no such command runs.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "backing/backing_store.h"
#include "scsi/extent_lock.h"
#include "scsi/opcode.h"
#include "scsi/sense.h"

namespace stgt::scsi {

struct LuIdentity {
  std::string vendor = "STGT";      // INQUIRY T10 VENDOR IDENTIFICATION (8 chars)
  std::string product = "VIRTUAL-DISK";  // PRODUCT IDENTIFICATION (16 chars)
  std::string revision = "0001";    // PRODUCT REVISION LEVEL (4 chars)
  std::string serial;               // VPD 0x80; unique per LU
  uint64_t naa = 0;                 // NAA IEEE Registered identifier (type 5), VPD 0x83
};

inline constexpr uint32_t kDefaultLuQueueDepth = 1024;

struct LuSettings {
  uint32_t block_size = 512;
  // SBC-4 5.21.2 LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT comes from this; 0 (or anything
  // not a power-of-two multiple of block_size) means one logical block per physical block.
  uint32_t physical_block_size = 0;
  bool read_only = false;
  bool removable = false;
  bool write_cache = true;  // default WCE
  bool thin = false;  // asks for thin provisioning; effective only if the store can unmap
  // Commands the LU's task set holds at once, from every nexus (SAM-5 5.3.1); one more is
  // answered TASK SET FULL or BUSY.
  uint32_t queue_depth = kDefaultLuQueueDepth;
};

class LogicalUnit {
 public:
  // `store` may be null for device types without a medium (the controller at LUN 0).
  LogicalUnit(const DeviceType& type, std::unique_ptr<backing::BackingStore> store,
              LuIdentity identity, LuSettings settings);

  const DeviceType& type() const { return *type_; }
  backing::BackingStore* store() const { return store_.get(); }
  const LuIdentity& identity() const { return identity_; }
  const LuSettings& settings() const { return settings_; }
  uint32_t block_size() const { return settings_.block_size; }
  // Logical blocks per physical block as 2^exponent (READ CAPACITY 16 LBPPBE).
  uint8_t physical_block_exponent() const {
    const uint32_t p = settings_.physical_block_size;
    if (p <= block_size() || p % block_size() != 0) return 0;
    const uint32_t ratio = p / block_size();
    return std::has_single_bit(ratio) ? uint8_t(std::countr_zero(ratio) & 0x0f) : 0;
  }
  uint64_t num_blocks() const { return num_blocks_; }
  // Thin provisioned (SBC-4 4.7.3): configured thin and the store can unmap. Decides LBPME /
  // LBPRZ (READ CAPACITY 16), the provisioning VPD pages and whether UNMAP is honoured.
  bool thin() const { return thin_; }

  // Changeable mode parameters (SBC-4 caching page WCE; SPC-5 control page D_SENSE, SWP).
  bool wce() const { return wce_.load(std::memory_order_relaxed); }
  void set_wce(bool v) { wce_.store(v, std::memory_order_relaxed); }
  bool d_sense() const { return d_sense_.load(std::memory_order_relaxed); }
  void set_d_sense(bool v) { d_sense_.store(v, std::memory_order_relaxed); }
  bool swp() const { return swp_.load(std::memory_order_relaxed); }
  void set_swp(bool v) { swp_.store(v, std::memory_order_relaxed); }
  // SPC-5 7.5.10 TAS: commands aborted on behalf of another I_T nexus end with TASK ABORTED
  // status (true) or silently (false).
  bool tas() const { return tas_.load(std::memory_order_relaxed); }
  void set_tas(bool v) { tas_.store(v, std::memory_order_relaxed); }
  // SPC-5 7.5.1 / SAM-5 6.3.3: after a logical unit reset the current mode parameters are
  // the saved ones; none can be saved here, so they go back to their defaults.
  void reset_mode_parameters() {
    set_wce(settings_.write_cache);
    set_d_sense(false);
    set_swp(false);
    set_tas(true);
  }

  // Removable media state (SBC-4 5.27 START STOP UNIT LOEJ, 5.15 PREVENT ALLOW MEDIUM
  // REMOVAL). A non-removable LU always has its medium.
  bool medium_present() const { return medium_present_.load(std::memory_order_relaxed); }
  void set_medium_present(bool v) { medium_present_.store(v, std::memory_order_relaxed); }
  bool removal_prevented() const { return prevent_.load(std::memory_order_relaxed); }
  void set_removal_prevented(bool v) { prevent_.store(v, std::memory_order_relaxed); }

  SenseFormat sense_format() const {
    return d_sense() ? SenseFormat::kDescriptor : SenseFormat::kFixed;
  }
  // Writes refused: configured read-only or software write protect.
  bool write_protected() const { return settings_.read_only || swp(); }

  // Task set capacity (SAM-5 5.3.1). One atomic per LU, shared by every reactor: a command
  // enters before it runs and leaves when it completes (Command::finish).
  bool try_enter_task_set() {
    if (in_task_set_.fetch_add(1, std::memory_order_relaxed) < settings_.queue_depth) return true;
    in_task_set_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void leave_task_set() { in_task_set_.fetch_sub(1, std::memory_order_relaxed); }
  uint32_t commands_in_task_set() const { return in_task_set_.load(std::memory_order_relaxed); }

  // Range locks that make COMPARE AND WRITE and ORWRITE atomic against other writes.
  ExtentLock& extents() { return extents_; }

 private:
  const DeviceType* type_;
  std::unique_ptr<backing::BackingStore> store_;
  LuIdentity identity_;
  LuSettings settings_;
  uint64_t num_blocks_ = 0;
  bool thin_ = false;
  std::atomic<bool> wce_;
  std::atomic<bool> d_sense_{false};
  std::atomic<bool> swp_{false};
  std::atomic<bool> tas_{true};
  std::atomic<bool> medium_present_{true};
  std::atomic<bool> prevent_{false};
  std::atomic<uint32_t> in_task_set_{0};
  ExtentLock extents_;
};

}  // namespace stgt::scsi
