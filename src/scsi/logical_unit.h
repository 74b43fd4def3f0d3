// LogicalUnit: one LU as the mid-layer and devices see it: its device type, its store, its
// geometry, identity and mode parameters.
//
// Threads: an LU is shared by every session that maps it, on any reactor. Geometry and
// identity are immutable after construction; the changeable mode parameters are atomics
// (written by MODE SELECT from any reactor, read by every command). Two pieces of shared
// state are ordered across sessions here, each costing the READ/WRITE path one atomic load
// while unused: the extent lock (scsi/extent_lock.h), which orders read-modify-write
// commands against overlapping writes, and the reservations (scsi/reservations.h), which
// take their mutex only while something is reserved or registered. The per-I_T-nexus
// PREVENT ALLOW MEDIUM REMOVAL state sits behind a small mutex of its own (rare commands);
// its summary is an atomic count. See docs/architecture.md.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backing/backing_store.h"
#include "scsi/extent_lock.h"
#include "scsi/io_stats.h"
#include "scsi/opcode.h"
#include "scsi/reservations.h"
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
  // Statistics shards (scsi/io_stats.h): one per reactor that may run this LU's commands.
  unsigned stats_shards = 1;
};

// Always owned by a shared_ptr (devices::make_disk); a copy in flight keeps the LUs it
// touches alive through shared_from_this().
class LogicalUnit : public std::enable_shared_from_this<LogicalUnit> {
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
  // Changes only through resize() (the control plane), so one relaxed load per command.
  uint64_t num_blocks() const { return num_blocks_.load(std::memory_order_relaxed); }
  // Live resize (control thread): grows or shrinks the store to `bytes` and the capacity to
  // the whole blocks in it. Growing resizes the store first, shrinking the capacity first, so
  // no command is ever let past the end of the store. The caller tells the initiators
  // (CAPACITY DATA HAS CHANGED). Fails, changing nothing, if the store cannot be resized or
  // a sanitize is running.
  base::Result<void, std::string> resize(uint64_t bytes);
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
  // Taken offline by the operator (LunConfig::offline, changed live): only medium-independent
  // commands run; the rest get NOT READY, LOGICAL UNIT NOT READY, OFFLINE (04/12).
  bool offline() const { return offline_.load(std::memory_order_relaxed); }
  void set_offline(bool v) { offline_.store(v, std::memory_order_relaxed); }
  // SBC-4 4.11 sanitize operations. The operation belongs to the LU, not to the command
  // that started it (devices/sbc/sanitize_job.h runs it): while kRunning every command but
  // INQUIRY, REPORT LUNS and REQUEST SENSE gets NOT READY, SANITIZE IN PROGRESS (04/1B) with
  // sanitize_progress() (0..65535) as its progress indication; after a failure (kFailed)
  // medium access gets MEDIUM ERROR, SANITIZE COMMAND FAILED (31/03) until a SANITIZE EXIT
  // FAILURE MODE (allowed only if the failed command had AUSE set) or a successful
  // sanitize. One atomic load per command while kIdle (the SAM gate). Any thread.
  enum class SanitizeState : uint8_t { kIdle, kRunning, kFailed };
  SanitizeState sanitize_state() const { return sanitize_state_.load(std::memory_order_acquire); }
  // kIdle or kFailed -> kRunning; false (nothing changed) if a sanitize already runs.
  // `previous`, if not null, gets the state left (for abandon_sanitize()).
  bool begin_sanitize(bool ause, SanitizeState* previous = nullptr) {
    SanitizeState s = sanitize_state_.load(std::memory_order_acquire);
    do {
      if (s == SanitizeState::kRunning) return false;
    } while (!sanitize_state_.compare_exchange_weak(s, SanitizeState::kRunning,
                                                    std::memory_order_acq_rel));
    if (previous != nullptr) *previous = s;
    sanitize_ause_.store(ause, std::memory_order_relaxed);
    sanitize_progress_.store(0, std::memory_order_relaxed);
    return true;
  }
  // kRunning -> `previous` with its AUSE, for a sanitize that could not start after all
  // (its record could not be made durable): as if begin_sanitize() had not been called.
  void abandon_sanitize(SanitizeState previous, bool previous_ause) {
    sanitize_ause_.store(previous_ause, std::memory_order_relaxed);
    sanitize_progress_.store(0, std::memory_order_relaxed);
    sanitize_state_.store(previous, std::memory_order_release);
  }
  // kIdle or kFailed -> kFailed with `ause` (a failure mode restored at start-up).
  void enter_sanitize_failure(bool ause) {
    sanitize_ause_.store(ause, std::memory_order_relaxed);
    sanitize_state_.store(SanitizeState::kFailed, std::memory_order_release);
  }
  // AUSE of the running or failed sanitize.
  bool sanitize_ause() const { return sanitize_ause_.load(std::memory_order_relaxed); }
  // kRunning -> kIdle (ok) or kFailed.
  void end_sanitize(bool ok) {
    sanitize_progress_.store(0, std::memory_order_relaxed);
    sanitize_state_.store(ok ? SanitizeState::kIdle : SanitizeState::kFailed,
                          std::memory_order_release);
  }
  // kFailed -> kIdle when the failed sanitize allowed it (AUSE=1). False otherwise.
  bool exit_sanitize_failure() {
    if (!sanitize_ause_.load(std::memory_order_relaxed)) return false;
    SanitizeState s = SanitizeState::kFailed;
    return sanitize_state_.compare_exchange_strong(s, SanitizeState::kIdle,
                                                   std::memory_order_acq_rel);
  }
  uint16_t sanitize_progress() const { return sanitize_progress_.load(std::memory_order_relaxed); }
  void set_sanitize_progress(uint16_t v) { sanitize_progress_.store(v, std::memory_order_relaxed); }
  // Where the sanitize state survives a restart (SBC-4 4.11.2: a sanitize interrupted by a
  // power loss resumes; failure mode persists). Empty: not persisted (a store whose data
  // does not outlive the daemon, or no state directory). Set once before the LU is
  // published (mgmt/runtime.cc); the record's format is devices/sbc/sanitize_record.h.
  void set_sanitize_record_path(std::string path) { sanitize_record_path_ = std::move(path); }
  const std::string& sanitize_record_path() const { return sanitize_record_path_; }
  // Makes `image` the durable record (write temp, fsync, rename, fsync dir), or removes it
  // durably when `image` is empty. Succeeds doing nothing without a path or once the record
  // was dropped. Blocks on fsync: called only when a sanitize starts or ends, or at
  // EXIT FAILURE MODE (rare commands whose answer must wait for durability, like APTPL).
  base::Result<void, std::string> write_sanitize_record(std::string_view image);
  // The LU was removed (control plane): its record goes, and a sanitize still running on it
  // leaves none behind when it ends.
  base::Result<void, std::string> drop_sanitize_record();

  // Prevention is held per I_T nexus (SBC-4 5.15, SPC-5 6.x): removal is prevented while
  // any nexus prevents it, and a nexus's prevention ends with the nexus or a LU reset.
  bool removal_prevented() const { return preventing_count_.load(std::memory_order_acquire) > 0; }
  void set_removal_prevented(uint64_t nexus_id, bool prevent);
  bool prevented_by(uint64_t nexus_id) const;

  // Reservation state (SPC-2 and persistent), one per LU whatever reactor its sessions are on.
  Reservations& reservations() { return reservations_; }
  const Reservations& reservations() const { return reservations_; }
  // Where APTPL state is kept (empty: persist-through-power-loss is refused). Set once by
  // the daemon before the LU is published.
  void set_aptpl_path(std::string path) { aptpl_path_ = std::move(path); }
  const std::string& aptpl_path() const { return aptpl_path_; }

  // The I_T nexus `nexus_id` is gone (logout, connection drop, reinstatement, I_T NEXUS
  // RESET): its SPC-2 reservation and its medium removal prevention end (SAM-5 6.3.4).
  // Persistent reservations and registrations survive. Any thread.
  void release_nexus(uint64_t nexus_id);
  // The LU-scoped effects of a LOGICAL UNIT RESET (SAM-5 6.3.3) on this state: the SPC-2
  // reservation is released and every nexus's prevention ends. Any thread.
  void reset_nexus_state();

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

  // Commands, bytes, errors and latency of this LU, one shard per reactor (io_stats.h).
  LuStats& stats() const { return stats_; }

 private:
  const DeviceType* type_;
  std::unique_ptr<backing::BackingStore> store_;
  LuIdentity identity_;
  LuSettings settings_;
  std::atomic<uint64_t> num_blocks_{0};
  bool thin_ = false;
  std::atomic<bool> wce_;
  std::atomic<bool> d_sense_{false};
  std::atomic<bool> swp_{false};
  std::atomic<bool> tas_{true};
  std::atomic<bool> medium_present_{true};
  std::atomic<bool> offline_{false};
  std::atomic<SanitizeState> sanitize_state_{SanitizeState::kIdle};
  std::atomic<uint16_t> sanitize_progress_{0};
  std::atomic<bool> sanitize_ause_{false};
  std::string sanitize_record_path_;
  std::mutex sanitize_record_mu_;         // orders record writes against drop_sanitize_record()
  bool sanitize_record_dropped_ = false;  // guarded by sanitize_record_mu_
  mutable std::mutex prevent_mu_;
  std::vector<uint64_t> preventing_;  // ItNexus::id() of every nexus that prevents removal
  std::atomic<uint32_t> preventing_count_{0};
  std::atomic<uint32_t> in_task_set_{0};
  ExtentLock extents_;
  Reservations reservations_;
  std::string aptpl_path_;
  mutable LuStats stats_;
};

}  // namespace stgt::scsi
