#include "scsi/target.h"

#include <strings.h>

#include <algorithm>

#include "scsi/lun.h"

namespace stgt::scsi {

Target::Target(std::string name, std::string alias)
    : name_(std::move(name)), alias_(std::move(alias)) {}

void Target::add_lun(uint32_t lun, std::shared_ptr<LogicalUnit> lu) {
  if (lun > kMaxLun || !lu) return;
  luns_[lun] = MappedLu{std::move(lu), false};
}

LogicalUnit* Target::lookup(uint32_t lun, bool* read_only) const {
  if (auto it = luns_.find(lun); it != luns_.end()) {
    if (read_only != nullptr) *read_only = it->second.read_only;
    return it->second.lu.get();
  }
  if (read_only != nullptr) *read_only = false;
  if (lun == 0) return controller_.get();
  return nullptr;
}

std::shared_ptr<LogicalUnit> Target::find_by_naa(uint64_t naa, bool* read_only) const {
  for (const auto& [lun, mapped] : luns_) {
    if (mapped.lu->identity().naa != naa) continue;
    if (read_only != nullptr) *read_only = mapped.read_only;
    return mapped.lu;
  }
  return nullptr;
}

std::vector<uint32_t> Target::lun_numbers(bool with_controller) const {
  std::vector<uint32_t> out;
  out.reserve(luns_.size() + 1);
  if (with_controller && controller_ && luns_.count(0) == 0) out.push_back(0);
  for (const auto& [lun, lu] : luns_) out.push_back(lun);
  return out;
}

void Target::allow_initiator(std::string name) {
  AccessRule r;
  r.initiators.push_back(std::move(name));
  add_rule(std::move(r));
}

void Target::add_rule(AccessRule rule) {
  Rule r{std::move(rule), nullptr};
  if (!r.rule.luns.empty()) {
    // SAM-5 4.7: the masked view is a target of its own LUN inventory; it shares the LUs,
    // and the live-nexus registry, with the target.
    auto view = std::make_shared<Target>(name_, alias_);
    for (const AccessRule::Mapping& m : r.rule.luns) {
      const auto it = luns_.find(m.lu);
      if (it == luns_.end() || m.lun > kMaxLun) continue;
      view->luns_[m.lun] = MappedLu{it->second.lu, m.read_only || it->second.read_only};
    }
    view->controller_ = controller_;
    view->registry_ = registry_;
    view->alua_ = alua_;
    r.view = std::move(view);
  }
  rules_.push_back(std::move(r));
}

bool Target::matches(const AccessRule& r, const std::string& initiator,
                     std::string_view address) const {
  // RFC 3722: iSCSI names compare case-insensitively.
  const bool name_ok =
      r.initiators.empty() ||
      std::any_of(r.initiators.begin(), r.initiators.end(), [&](const std::string& a) {
        return a == "ALL" || (a.size() == initiator.size() &&
                              ::strncasecmp(a.c_str(), initiator.c_str(), a.size()) == 0);
      });
  if (!name_ok) return false;
  if (r.addresses.empty()) return true;
  return std::any_of(r.addresses.begin(), r.addresses.end(),
                     [&](const net::IpPrefix& p) { return p.contains(address); });
}

bool Target::admits(const std::string& initiator, std::string_view address) const {
  return std::any_of(rules_.begin(), rules_.end(),
                     [&](const Rule& r) { return matches(r.rule, initiator, address); });
}

std::shared_ptr<const Target> Target::view_for(const std::string& initiator,
                                               std::string_view address) const {
  for (const Rule& r : rules_) {
    if (!matches(r.rule, initiator, address)) continue;
    if (r.view != nullptr) return r.view;
    return weak_from_this().lock();
  }
  return nullptr;
}

}  // namespace stgt::scsi
