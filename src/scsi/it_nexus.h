// ItNexus: the relationship between one initiator port and one target port (SAM-5 4.5).
// For iSCSI an initiator port is "<initiator name>,i,0x<ISID>" and a target port
// "<target name>,t,0x<TPGT>" (RFC 7143 4.4.1 / SPC-5 transport IDs).
//
// Owned by the transport session; lives on the session's reactor, registered with its
// target's NexusRegistry (scsi/nexus_registry.h) while it is live. Threads: everything but
// the unit attention queue is used on the owning reactor only. Unit attentions may be
// queued from any reactor (another initiator changed shared state) and must be visible to
// the very next command of this nexus, so they sit behind a small mutex; the per-command
// check is one atomic load while nothing is pending.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scsi/io_stats.h"
#include "scsi/nexus_owner.h"
#include "scsi/sense.h"
#include "scsi/target.h"
#include "scsi/task_set.h"

namespace stgt::reactor {
class Reactor;
}

namespace stgt::scsi {

struct TargetPort {
  uint16_t relative_port_id = 1;  // VPD 0x83 relative target port designator
  uint16_t port_group_id = 1;     // VPD 0x83 target port group designator
  uint16_t portal_group_tag = 1;  // iSCSI TPGT
};

class ItNexus : public std::enable_shared_from_this<ItNexus> {
 public:
  ItNexus(std::shared_ptr<const Target> target, std::string initiator_name,
          std::string initiator_port, TargetPort port);

  // The target as this nexus sees it. On the owning reactor only; other threads use
  // luns_of() / lun_numbers(), which lock.
  const Target& target() const { return *target_; }
  // A live change (control plane) replaced the target's snapshot: called on the owning
  // reactor, between commands. LUNs added since are owed nothing but the UAs the control
  // plane queues.
  void set_target(std::shared_ptr<const Target> target);
  // Every LUN number this nexus can reach (thread-safe).
  std::vector<uint32_t> lun_numbers() const;
  // Unique for the life of the process (never reused): names this nexus where a pointer
  // could outlive it (the holder of an SPC-2 reservation, a prevention of medium removal).
  uint64_t id() const { return id_; }
  const std::string& initiator_name() const { return initiator_name_; }
  const std::string& initiator_port() const { return initiator_port_; }
  // Where the initiator connects from (host text; access rules by address match it).
  const std::string& initiator_address() const { return initiator_address_; }
  void set_initiator_address(std::string a) { initiator_address_ = std::move(a); }
  const TargetPort& port() const { return port_; }
  // This nexus as the reservation rules name it (views into this object).
  Initiator initiator() const {
    return Initiator{id_, initiator_port_, initiator_name_, port_.relative_port_id};
  }

  // The target port group this nexus's target port belongs to (port().port_group_id) and
  // its current ALUA state: one atomic load, taken by the SAM gate on every command.
  const TargetPortGroup& port_group() const { return *port_group_; }
  AluaState alua_state() const {
    return AluaState(port_group_->state_word().load(std::memory_order_acquire));
  }

  // Commands of this nexus inside an LU's task set (SAM-5 5.3.1: TASK SET FULL for a nexus
  // with commands outstanding, BUSY for one without). Counted by the SAM gate and
  // Command::finish on the nexus's reactor only.
  uint32_t commands_in_task_sets() const { return in_task_sets_; }
  void entered_task_set() { ++in_task_sets_; }
  void left_task_set() { --in_task_sets_; }

  // The reactor the owning session lives on and the session itself (for task management
  // that comes from other nexuses). Set once by the transport before the nexus is
  // registered; a nexus without an owner (unit tests) is skipped by fan-outs.
  void set_owner(reactor::Reactor* reactor, std::weak_ptr<NexusOwner> owner) {
    reactor_ = reactor;
    owner_ = std::move(owner);
  }
  reactor::Reactor* reactor() const { return reactor_; }
  const std::weak_ptr<NexusOwner>& owner() const { return owner_; }

  // The LUN numbers at which this nexus sees `lu` (usually one; none if not mapped).
  std::vector<uint32_t> luns_of(const LogicalUnit& lu) const;

  // Unit attentions pending for this nexus on each LUN (SAM-5 5.14), oldest first.
  // Thread-safe.
  void queue_unit_attention(uint32_t lun, SenseReason reason);
  bool has_unit_attention(uint32_t lun) const;
  // Removes and returns the oldest pending UA for the LUN (kNone if none).
  SenseReason pop_unit_attention(uint32_t lun);
  // Drops every pending UA of the LUN (a LU reset replaces them with its own).
  void clear_unit_attentions(uint32_t lun);
  // SAM-5 6.3.4: this initiator port had an I_T nexus to the target that was lost (the
  // session dropped, logged out or was reset). What every LUN owes the new nexus is then
  // I_T NEXUS LOSS OCCURRED instead of POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
  // Called by the registry when the nexus is added, before any command.
  void report_nexus_loss();
  // The oldest pending UA of the LUN without clearing it (QUERY ASYNCHRONOUS EVENT).
  SenseReason peek_unit_attention(uint32_t lun) const;

  // This nexus's task set for `lu` (SPC-5 control mode page TST = 001b: one task set per
  // I_T nexus), created on first use. Owning reactor only.
  TaskSet& task_set(const LogicalUnit& lu);
  TaskSet* find_task_set(const LogicalUnit& lu);

  // This nexus's command statistics (scsi/io_stats.h). Owning reactor only.
  IoStats& stats() { return stats_; }
  const IoStats& stats() const { return stats_; }

 private:
  IoStats stats_;
  std::shared_ptr<const Target> target_;
  uint64_t id_;
  std::string initiator_name_;
  std::string initiator_port_;
  TargetPort port_;
  std::string initiator_address_;
  const TargetPortGroup* port_group_ = nullptr;
  uint32_t in_task_sets_ = 0;
  reactor::Reactor* reactor_ = nullptr;
  std::weak_ptr<NexusOwner> owner_;
  bool owes_power_on(uint32_t lun) const;

  mutable std::mutex ua_mu_;
  // Pending UAs (power-on owed plus queued); read without the mutex on every command.
  std::atomic<uint32_t> ua_pending_{0};

  // The power-on UA every LUN owes a new nexus (SAM-5 6.3.1), as the ascending list of LUNs
  // that have not reported it yet: 4 bytes per LUN instead of a map node and a std::deque
  // (about 600 bytes) each, which made an idle session to a target of 200 LUNs cost 130 KiB.
  // It is older than any UA queued later, so it is reported first.
  std::vector<uint32_t> power_on_owed_;
  // What power_on_owed_ reports: POWER ON ... OCCURRED, or I_T NEXUS LOSS OCCURRED.
  SenseReason first_reason_ = SenseReason::kPowerOnReset;
  // Every other UA, oldest first per LUN; emptied queues are erased.
  std::map<uint32_t, std::deque<SenseReason>> unit_attentions_;

  // Task sets by LU, in order of first use (a session uses few LUs; a scan is cheapest).
  std::vector<std::pair<const LogicalUnit*, std::unique_ptr<TaskSet>>> task_sets_;
};

}  // namespace stgt::scsi
