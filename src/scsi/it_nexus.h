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

#include "scsi/nexus_owner.h"
#include "scsi/sense.h"
#include "scsi/target.h"

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

  const Target& target() const { return *target_; }
  // Unique for the life of the process (never reused): names this nexus where a pointer
  // could outlive it (the holder of an SPC-2 reservation, a prevention of medium removal).
  uint64_t id() const { return id_; }
  const std::string& initiator_name() const { return initiator_name_; }
  const std::string& initiator_port() const { return initiator_port_; }
  const TargetPort& port() const { return port_; }
  // This nexus as the reservation rules name it (views into this object).
  Initiator initiator() const {
    return Initiator{id_, initiator_port_, initiator_name_, port_.relative_port_id};
  }

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

 private:
  std::shared_ptr<const Target> target_;
  uint64_t id_;
  std::string initiator_name_;
  std::string initiator_port_;
  TargetPort port_;
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
  // Every other UA, oldest first per LUN; emptied queues are erased.
  std::map<uint32_t, std::deque<SenseReason>> unit_attentions_;
};

}  // namespace stgt::scsi
