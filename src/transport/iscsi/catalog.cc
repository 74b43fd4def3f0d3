#include "transport/iscsi/catalog.h"

#include <cctype>

#include <strings.h>

namespace stgt::iscsi {

std::shared_ptr<const scsi::Target> Catalog::find(const std::string& name) const {
  for (const auto& t : targets) {
    // RFC 3722: iSCSI names compare case-insensitively (they are normalised to lower case).
    if (t->name().size() == name.size() && ::strcasecmp(t->name().c_str(), name.c_str()) == 0) {
      return t;
    }
  }
  return nullptr;
}

std::optional<ChapPolicy> Catalog::chap_for(const LoginIdentity& who) const {
  if (who.type == SessionType::kDiscovery) return discovery_chap;
  // Names compare after the lower-casing every iSCSI name gets in the configuration.
  std::string name = who.target_name;
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  const auto it = target_chap.find(name);
  if (it == target_chap.end()) return std::nullopt;
  return it->second;
}

}  // namespace stgt::iscsi
