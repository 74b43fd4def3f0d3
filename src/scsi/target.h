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

#include "net/ip_prefix.h"
#include "scsi/alua.h"
#include "scsi/logical_unit.h"
#include "scsi/nexus_registry.h"

namespace stgt::scsi {

// Who may use a target and what they see (LUN masking). An initiator matches a rule when
// its name is listed (or the list holds "ALL" or is empty) and its address lies in one of
// `addresses` (or the list is empty). The first matching rule decides; no match, no access.
struct AccessRule {
  std::vector<std::string> initiators;    // lower-case iSCSI names, "ALL"; empty = any name
  std::vector<net::IpPrefix> addresses;   // empty = any address
  struct Mapping {
    uint32_t lun = 0;  // the LUN number the initiator sees
    uint32_t lu = 0;   // the target's own LUN number of the LU shown there
    bool read_only = false;
  };
  std::vector<Mapping> luns;  // empty = every LU at its own number, as configured
};

class Target : public std::enable_shared_from_this<Target> {
 public:
  Target(std::string name, std::string alias);

  const std::string& name() const { return name_; }
  const std::string& alias() const { return alias_; }

  // Map an LU at a LUN number (0..kMaxLun).
  void add_lun(uint32_t lun, std::shared_ptr<LogicalUnit> lu);
  // The LU at a LUN number: a configured LU, or at LUN 0 the controller LU when no LU 0 is
  // configured (so REPORT LUNS always has somewhere to go); null otherwise. `read_only` (if
  // given) tells whether this target's map shows the LU write-protected.
  LogicalUnit* lookup(uint32_t lun, bool* read_only = nullptr) const;
  // The LU of this target (or view) whose NAA designator (VPD 0x83) is `naa`, kept alive by
  // the returned pointer, or null. `read_only` as for lookup(). For copy managers that name
  // their copy targets by designator (SPC-5 6.4.5.6): only LUs this view shows are found.
  std::shared_ptr<LogicalUnit> find_by_naa(uint64_t naa, bool* read_only = nullptr) const;
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

  // Access rules, in order. Call after every add_lun, set_controller and
  // share_runtime_state: a rule with a LUN map builds its view from them. Without any rule
  // nobody is admitted.
  void add_rule(AccessRule rule);
  // Shorthand for a rule admitting one name (or "ALL") to every LUN.
  void allow_initiator(std::string name);
  // The target as `initiator` connecting from `address` (host text; "" = unknown, matches
  // only rules without addresses) sees it: this target, a LUN-masked view of it that shares
  // its LUs and registry, or null when no rule admits it.
  std::shared_ptr<const Target> view_for(const std::string& initiator,
                                         std::string_view address = {}) const;
  bool admits(const std::string& initiator, std::string_view address = {}) const;

 private:
  struct MappedLu {
    std::shared_ptr<LogicalUnit> lu;
    bool read_only = false;
  };
  struct Rule {
    AccessRule rule;
    std::shared_ptr<const Target> view;  // null: the target itself
  };
  bool matches(const AccessRule& r, const std::string& initiator, std::string_view address) const;

  std::string name_;
  std::string alias_;
  std::map<uint32_t, MappedLu> luns_;
  std::shared_ptr<LogicalUnit> controller_;
  std::vector<Rule> rules_;
  std::shared_ptr<NexusRegistry> registry_ = std::make_shared<NexusRegistry>();
  std::shared_ptr<AluaGroups> alua_ = std::make_shared<AluaGroups>();
};

}  // namespace stgt::scsi
