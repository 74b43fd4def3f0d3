// Target: a SCSI target device as the mid-layer serves it: its name, its LUN map and who
// may use it. Immutable once published (the control plane replaces it as a whole), so any
// reactor reads it without locks. The mutable parts are behind pointers: the registry of its
// live I_T nexuses (scsi/nexus_registry.h) and the access states of its target port groups
// (scsi/alua.h), which a republished Target must carry over (share_runtime_state()).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scsi/alua.h"
#include "scsi/logical_unit.h"
#include "scsi/nexus_registry.h"

namespace stgt::scsi {

class Target {
 public:
  Target(std::string name, std::string alias);

  const std::string& name() const { return name_; }
  const std::string& alias() const { return alias_; }

  // Map an LU at a LUN number (0..kMaxLun).
  void add_lun(uint32_t lun, std::shared_ptr<LogicalUnit> lu);
  // The LU at a LUN number: a configured LU, or at LUN 0 the controller LU when no LU 0 is
  // configured (so REPORT LUNS always has somewhere to go); null otherwise.
  LogicalUnit* lookup(uint32_t lun) const;
  // Configured LUN numbers, ascending (the controller LU at LUN 0 is included only if no
  // LU 0 is configured and `with_controller` is set).
  std::vector<uint32_t> lun_numbers(bool with_controller = false) const;
  void set_controller(std::shared_ptr<LogicalUnit> controller) {
    controller_ = std::move(controller);
  }

  // The live I_T nexuses of this target (thread-safe).
  NexusRegistry& registry() const { return *registry_; }
  // Target port groups and their ALUA states (thread-safe states, fixed membership).
  AluaGroups& alua() const { return *alua_; }
  // Set while the target is built, before it is published.
  void set_alua(std::shared_ptr<AluaGroups> groups) { alua_ = std::move(groups); }
  // A replacement of this target (control plane) keeps the same live nexuses and states.
  void share_runtime_state(const Target& from) {
    registry_ = from.registry_;
    alua_ = from.alua_;
  }

  // Access: "ALL" or exact initiator names. An empty list admits nobody.
  void allow_initiator(std::string name);
  bool admits(const std::string& initiator_name) const;

 private:
  std::string name_;
  std::string alias_;
  std::map<uint32_t, std::shared_ptr<LogicalUnit>> luns_;
  std::shared_ptr<LogicalUnit> controller_;
  std::vector<std::string> allowed_;
  std::shared_ptr<NexusRegistry> registry_ = std::make_shared<NexusRegistry>();
  std::shared_ptr<AluaGroups> alua_ = std::make_shared<AluaGroups>();
};

}  // namespace stgt::scsi
