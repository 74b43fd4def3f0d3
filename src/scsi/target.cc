#include "scsi/target.h"

#include <strings.h>

#include <algorithm>

#include "scsi/lun.h"

namespace stgt::scsi {

Target::Target(std::string name, std::string alias)
    : name_(std::move(name)), alias_(std::move(alias)) {}

void Target::add_lun(uint32_t lun, std::shared_ptr<LogicalUnit> lu) {
  if (lun > kMaxLun || !lu) return;
  luns_[lun] = std::move(lu);
}

LogicalUnit* Target::lookup(uint32_t lun) const {
  if (auto it = luns_.find(lun); it != luns_.end()) return it->second.get();
  if (lun == 0) return controller_.get();
  return nullptr;
}

std::vector<uint32_t> Target::lun_numbers(bool with_controller) const {
  std::vector<uint32_t> out;
  out.reserve(luns_.size() + 1);
  if (with_controller && controller_ && luns_.count(0) == 0) out.push_back(0);
  for (const auto& [lun, lu] : luns_) out.push_back(lun);
  return out;
}

void Target::allow_initiator(std::string name) { allowed_.push_back(std::move(name)); }

bool Target::admits(const std::string& initiator_name) const {
  // RFC 3722: iSCSI names compare case-insensitively.
  return std::any_of(allowed_.begin(), allowed_.end(), [&](const std::string& a) {
    return a == "ALL" || (a.size() == initiator_name.size() &&
                          ::strncasecmp(a.c_str(), initiator_name.c_str(), a.size()) == 0);
  });
}

}  // namespace stgt::scsi
