// Catalog: what the iSCSI transport serves — the targets and the portals — as one immutable
// snapshot. Logins and discovery read the current snapshot; the control plane publishes a
// new one (CatalogHandle::publish) and sessions keep the targets they logged in to.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scsi/target.h"
#include "transport/iscsi/chap.h"

namespace stgt::iscsi {

struct PortalInfo {
  std::string address;  // "127.0.0.1:3260" or "[::1]:3260" as bound
  uint16_t group_tag = 1;
};

struct Catalog {
  std::vector<std::shared_ptr<const scsi::Target>> targets;
  std::vector<PortalInfo> portals;
  // CHAP per target name (targets without an entry need none) and for discovery sessions.
  std::unordered_map<std::string, ChapPolicy> target_chap;
  std::optional<ChapPolicy> discovery_chap;

  std::shared_ptr<const scsi::Target> find(const std::string& name) const;
  // The CHAP policy for a login, nullopt when it needs no authentication.
  std::optional<ChapPolicy> chap_for(const LoginIdentity& who) const;
};

class CatalogHandle {
 public:
  std::shared_ptr<const Catalog> get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void publish(std::shared_ptr<const Catalog> c) {
    std::lock_guard lock(mu_);
    current_ = std::move(c);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Catalog> current_ = std::make_shared<Catalog>();
};

}  // namespace stgt::iscsi
