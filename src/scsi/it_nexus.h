// ItNexus: the relationship between one initiator port and one target port (SAM-5 4.5).
// For iSCSI an initiator port is "<initiator name>,i,0x<ISID>" and a target port
// "<target name>,t,0x<TPGT>" (RFC 7143 4.4.1 / SPC-5 transport IDs).
//
// Owned by the transport session; lives on the session's reactor. Per-nexus state that
// other reactors must change (unit attentions raised by another initiator) arrives by
// message to that reactor.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scsi/sense.h"
#include "scsi/target.h"

namespace stgt::scsi {

struct TargetPort {
  uint16_t relative_port_id = 1;  // VPD 0x83 relative target port designator
  uint16_t port_group_id = 1;     // VPD 0x83 target port group designator
  uint16_t portal_group_tag = 1;  // iSCSI TPGT
};

class ItNexus {
 public:
  ItNexus(std::shared_ptr<const Target> target, std::string initiator_name,
          std::string initiator_port, TargetPort port);

  const Target& target() const { return *target_; }
  const std::string& initiator_name() const { return initiator_name_; }
  const std::string& initiator_port() const { return initiator_port_; }
  const TargetPort& port() const { return port_; }

  // Unit attentions pending for this nexus on each LUN (SAM-5 5.14), oldest first.
  void queue_unit_attention(uint32_t lun, SenseReason reason);
  bool has_unit_attention(uint32_t lun) const;
  // Removes and returns the oldest pending UA for the LUN (kNone if none).
  SenseReason pop_unit_attention(uint32_t lun);

 private:
  std::shared_ptr<const Target> target_;
  std::string initiator_name_;
  std::string initiator_port_;
  TargetPort port_;
  bool owes_power_on(uint32_t lun) const;

  // The power-on UA every LUN owes a new nexus (SAM-5 6.3.1), as the ascending list of LUNs
  // that have not reported it yet: 4 bytes per LUN instead of a map node and a std::deque
  // (about 600 bytes) each, which made an idle session to a target of 200 LUNs cost 130 KiB.
  // It is older than any UA queued later, so it is reported first.
  std::vector<uint32_t> power_on_owed_;
  // Every other UA, oldest first per LUN; emptied queues are erased.
  std::map<uint32_t, std::deque<SenseReason>> unit_attentions_;
};

}  // namespace stgt::scsi
