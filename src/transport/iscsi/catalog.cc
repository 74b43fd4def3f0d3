#include "transport/iscsi/catalog.h"

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

}  // namespace stgt::iscsi
