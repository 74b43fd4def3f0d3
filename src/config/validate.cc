#include "config/validate.h"

#include <algorithm>
#include <array>
#include <bit>
#include <set>
#include <string_view>

#include "config/iscsi_name.h"
#include "config/portal_address.h"
#include "net/ip_prefix.h"

namespace stgt::config {

uint32_t SourceLines::line_of(std::string field) const {
  while (!field.empty()) {
    const auto it = lines_.find(field);
    if (it != lines_.end()) return it->second;
    const size_t cut = field.find_last_of(".[");
    if (cut == std::string::npos) break;
    field.resize(cut);
  }
  return 0;
}

namespace {

using VoidResult = base::Result<void, ConfigError>;

template <size_t N>
bool one_of(const std::string& value, const std::array<std::string_view, N>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// SBC-4 5.21.2: the physical block is 2^LBPPBE logical blocks (LBPPBE is 4 bits).
bool valid_physical_block_size(const LunConfig& lun) {
  const uint32_t p = lun.physical_block_size;
  return std::has_single_bit(p) && p >= lun.block_size && p <= 65536;
}

bool printable_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

class Validator {
 public:
  Validator(Config& config, const SourceLines& lines) : config_(config), lines_(lines) {}

  VoidResult run() {
    if (!check_daemon() || !check_iscsi() || !check_portals() || !check_accounts() ||
        !check_groups()) {
      return base::unexpected(std::move(error_));
    }
    std::set<std::string> iqns;
    for (size_t t = 0; t < config_.targets.size(); ++t) {
      if (!check_target(t, iqns)) return base::unexpected(std::move(error_));
    }
    return {};
  }

 private:
  bool fail(const std::string& field, std::string message) {
    error_ = ConfigError{config_.source, lines_.line_of(field), field, std::move(message)};
    return false;
  }

  bool check_daemon() {
    const DaemonConfig& d = config_.daemon;
    if (d.control_socket.empty() || d.control_socket.front() != '/') {
      return fail("daemon.control_socket", "must be an absolute path");
    }
    if (d.control_socket.size() > kMaxUnixSocketPath) {
      return fail("daemon.control_socket", "longer than a Unix socket path may be (107 bytes)");
    }
    if (d.reactors > kMaxReactors)
      return fail("daemon.reactors", "must be 0..1024 (0 = one per core)");
    static constexpr std::array<std::string_view, 2> kBackends = {"uring", "epoll"};
    if (!one_of(d.io_backend, kBackends)) {
      return fail("daemon.io_backend", "must be \"uring\" or \"epoll\"");
    }
    static constexpr std::array<std::string_view, 4> kLevels = {"debug", "info", "warn", "error"};
    if (!one_of(d.log_level, kLevels)) {
      return fail("daemon.log_level", "must be \"debug\", \"info\", \"warn\" or \"error\"");
    }
    if (!d.metrics_listen.empty()) {
      auto address = parse_portal_address(d.metrics_listen);
      if (!address) return fail("daemon.metrics_listen", address.error());
      if (d.metrics_listen.find(':', d.metrics_listen.rfind(']') + 1) == std::string::npos) {
        return fail("daemon.metrics_listen", "needs a port, e.g. \"127.0.0.1:9540\"");
      }
    }
    if (d.memory_budget != 0 && d.memory_budget < kMinMemoryBudget) {
      // Room for the largest command's data-out and its scratch copy, twice over.
      return fail("daemon.memory_budget", "must be at least 64MiB (or 0 for automatic)");
    }
    return true;
  }

  bool check_iscsi() {
    const IscsiConfig& i = config_.iscsi;
    if (i.first_burst_length > i.max_burst_length) {
      // RFC 7143 13.14: FirstBurstLength must not exceed MaxBurstLength.
      return fail("iscsi.first_burst_length", "must not exceed iscsi.max_burst_length");
    }
    if (i.session_write_buffer < (uint64_t{16} << 20)) {
      // At least one command of the largest transfer (16 MiB) must fit.
      return fail("iscsi.session_write_buffer", "must be at least 16MiB");
    }
    return true;
  }

  bool check_portals() {
    if (config_.portals.empty()) return fail("portal", "at least one [[portal]] is required");
    std::set<std::string> seen;
    for (size_t i = 0; i < config_.portals.size(); ++i) {
      PortalConfig& portal = config_.portals[i];
      const std::string field = "portal[" + std::to_string(i) + "]";
      auto address = parse_portal_address(portal.address);
      if (!address) return fail(field + ".address", address.error());
      portal.address = address->to_string();
      if (portal.group_tag == 0) return fail(field + ".group_tag", "must be 1..65535");
      if (!seen.insert(portal.address).second) {
        return fail(field + ".address", "duplicate portal " + portal.address);
      }
    }
    return true;
  }

  bool check_target(size_t t, std::set<std::string>& iqns) {
    TargetConfig& target = config_.targets[t];
    const std::string field = "target[" + std::to_string(t) + "]";
    auto name = normalize_iscsi_name(target.iqn);
    if (!name) return fail(field + ".iqn", name.error());
    target.iqn = std::move(name.value());
    if (!iqns.insert(target.iqn).second) {
      return fail(field + ".iqn", "duplicate target " + target.iqn);
    }
    if (target.alias.size() > kMaxTargetAlias || !printable_ascii(target.alias)) {
      return fail(field + ".alias", "must be at most 255 printable ASCII characters");
    }
    std::set<uint32_t> ids;
    for (size_t l = 0; l < target.luns.size(); ++l) {
      const std::string lun_field = field + ".lun[" + std::to_string(l) + "]";
      if (!check_lun(target.luns[l], lun_field)) return false;
      if (!ids.insert(target.luns[l].id).second) {
        return fail(lun_field + ".id", "duplicate LUN " + std::to_string(target.luns[l].id) +
                                           " in target " + target.iqn);
      }
    }
    return check_port_groups(target, field) && check_acls(target, field) &&
           check_chap(target.chap, field);
  }

  // RFC 7143 12.1.3: CHAP secrets of at least 96 bits; a secret authenticates one direction
  // only, so the target's own secret may not be one its initiators use.
  bool check_accounts() {
    std::set<std::string> users;
    for (size_t a = 0; a < config_.accounts.size(); ++a) {
      const AccountConfig& account = config_.accounts[a];
      const std::string field = "account[" + std::to_string(a) + "]";
      if (account.user.empty() || account.user.size() > 255 || !printable_ascii(account.user)) {
        return fail(field + ".user", "must be 1..255 printable ASCII characters");
      }
      if (!users.insert(account.user).second) {
        return fail(field + ".user", "duplicate account " + account.user);
      }
      if (account.secret.size() < 12 || account.secret.size() > 255) {
        return fail(field + ".secret", "must be 12..255 characters (RFC 7143 12.1.3)");
      }
    }
    return check_chap(config_.discovery.chap, "discovery");
  }

  bool check_chap(const ChapConfig& chap, const std::string& field) {
    std::set<std::string> seen;
    for (size_t u = 0; u < chap.incoming_users.size(); ++u) {
      const std::string& user = chap.incoming_users[u];
      const std::string user_field = field + ".incoming_users[" + std::to_string(u) + "]";
      if (config_.find_account(user) == nullptr) {
        return fail(user_field, "no [[account]] named \"" + user + "\"");
      }
      if (!seen.insert(user).second) return fail(user_field, "duplicate user " + user);
    }
    if (chap.outgoing_user.empty()) {
      if (chap.mutual) return fail(field + ".mutual_chap", "mutual CHAP needs an outgoing_user");
      return true;
    }
    const AccountConfig* out = config_.find_account(chap.outgoing_user);
    if (out == nullptr) {
      return fail(field + ".outgoing_user", "no [[account]] named \"" + chap.outgoing_user + "\"");
    }
    if (chap.incoming_users.empty()) {
      return fail(field + ".outgoing_user", "mutual CHAP needs incoming_users as well");
    }
    for (const std::string& user : chap.incoming_users) {
      if (config_.find_account(user)->secret == out->secret) {
        return fail(field + ".outgoing_user",
                    "the outgoing secret must differ from the secret of incoming user " + user);
      }
    }
    return true;
  }

  // ALUA target port groups: unique ids, known states, and every portal group of the daemon
  // in exactly one group (SPC-5 5.16.2.1: each target port is in one target port group).
  bool check_port_groups(const TargetConfig& target, const std::string& field) {
    static constexpr std::array<std::string_view, 5> kStates = {
        "active/optimized", "active/non-optimized", "standby", "unavailable", "transitioning"};
    std::set<uint16_t> portal_tags;
    for (const PortalConfig& p : config_.portals) portal_tags.insert(p.group_tag);
    std::set<uint16_t> ids;
    std::set<uint16_t> covered;
    for (size_t g = 0; g < target.port_groups.size(); ++g) {
      const PortGroupConfig& group = target.port_groups[g];
      const std::string group_field = field + ".port_group[" + std::to_string(g) + "]";
      if (group.id == 0) return fail(group_field + ".id", "must be 1..65535");
      if (!ids.insert(group.id).second) {
        return fail(group_field + ".id", "duplicate port group " + std::to_string(group.id));
      }
      if (!one_of(group.state, kStates)) {
        return fail(group_field + ".state",
                    "must be \"active/optimized\", \"active/non-optimized\", \"standby\", "
                    "\"unavailable\" or \"transitioning\"");
      }
      if (group.portal_groups.empty()) {
        return fail(group_field + ".portal_groups", "needs at least one portal group tag");
      }
      for (const uint16_t tag : group.portal_groups) {
        if (portal_tags.count(tag) == 0) {
          return fail(group_field + ".portal_groups",
                      "no [[portal]] has group_tag " + std::to_string(tag));
        }
        if (!covered.insert(tag).second) {
          return fail(group_field + ".portal_groups",
                      "portal group " + std::to_string(tag) + " is in two port groups");
        }
      }
    }
    if (target.port_groups.empty()) return true;
    for (const uint16_t tag : portal_tags) {
      if (covered.count(tag) == 0) {
        return fail(field + ".port_group",
                    "portal group " + std::to_string(tag) + " belongs to no port group");
      }
    }
    return true;
  }

  // Encryption at rest: a known cipher, and a KEK file for a store whose key must persist.
  bool check_encryption(const LunConfig& lun, const std::string& field) {
    if (lun.encryption != "none" && lun.encryption != "aes-256-xts") {
      return fail(field + ".encryption", "must be \"none\" or \"aes-256-xts\"");
    }
    if (lun.encryption == "none") {
      if (!lun.key_file.empty()) {
        return fail(field + ".key_file", "is used only with encryption = \"aes-256-xts\"");
      }
      return true;
    }
    if (lun.key_file.empty() && lun.store == "file") {
      return fail(field + ".key_file",
                  "an encrypted file store needs a key_file (its key-encryption key)");
    }
    if (!lun.key_file.empty() && lun.key_file.front() != '/') {
      return fail(field + ".key_file", "must be an absolute path");
    }
    return true;
  }

  bool check_lun(const LunConfig& lun, const std::string& field) {
    if (lun.id > kMaxLunId) return fail(field + ".id", "must be 0..16383");
    if (lun.block_size != 512 && lun.block_size != 4096) {
      return fail(field + ".block_size", "must be 512 or 4096");
    }
    if (lun.physical_block_size != 0 && !valid_physical_block_size(lun)) {
      return fail(field + ".physical_block_size",
                  "must be 0 or a power of two from block_size to 65536");
    }
    if (lun.store == "file") {
      if (lun.path.empty()) return fail(field + ".path", "a file store needs a path");
    } else if (lun.store == "memory" || lun.store == "null") {
      if (!lun.path.empty()) return fail(field + ".path", "only a file store takes a path");
      if (lun.size == 0) return fail(field + ".size", "a " + lun.store + " store needs a size > 0");
    } else {
      return fail(field + ".store", "must be \"file\", \"memory\" or \"null\"");
    }
    if (lun.provisioning != "thick" && lun.provisioning != "thin") {
      return fail(field + ".provisioning", "must be \"thick\" or \"thin\"");
    }
    if (!check_encryption(lun, field)) return false;
    if (lun.size % lun.block_size != 0) {
      return fail(field + ".size",
                  "must be a multiple of block_size (" + std::to_string(lun.block_size) + ")");
    }
    if (lun.vendor.size() > kMaxVendorLength || !printable_ascii(lun.vendor)) {
      return fail(field + ".vendor", "must be at most 8 printable ASCII characters");
    }
    if (lun.product.size() > kMaxProductLength || !printable_ascii(lun.product)) {
      return fail(field + ".product", "must be at most 16 printable ASCII characters");
    }
    if (lun.serial.size() > kMaxSerialLength || !printable_ascii(lun.serial)) {
      return fail(field + ".serial", "must be at most 64 printable ASCII characters");
    }
    return true;
  }

  bool check_acls(TargetConfig& target, const std::string& field) {
    std::set<std::string> seen;
    std::set<uint32_t> lun_ids;
    for (const LunConfig& l : target.luns) lun_ids.insert(l.id);
    for (size_t a = 0; a < target.acls.size(); ++a) {
      AclConfig& acl = target.acls[a];
      const std::string base = field + ".acl[" + std::to_string(a) + "]";
      if (acl.initiator.empty() == acl.group.empty()) {
        return fail(base, "needs exactly one of initiator or group");
      }
      std::string key;
      if (!acl.group.empty()) {
        if (config_.find_group(acl.group) == nullptr) {
          return fail(base + ".group", "no [[group]] named \"" + acl.group + "\"");
        }
        key = "group " + acl.group;
      } else {
        const std::string acl_field = base + ".initiator";
        std::string lower = acl.initiator;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); });
        if (lower == "all") {
          acl.initiator = "ALL";
        } else {
          auto name = normalize_iscsi_name(acl.initiator);
          if (!name) return fail(acl_field, name.error() + " (or \"ALL\")");
          acl.initiator = std::move(name.value());
        }
        key = acl.initiator;
      }
      if (!seen.insert(key).second) {
        return fail(base + (acl.group.empty() ? ".initiator" : ".group"),
                    "duplicate " + (acl.group.empty() ? "initiator " + key : key));
      }
      std::set<uint32_t> shown;
      for (size_t m = 0; m < acl.maps.size(); ++m) {
        const LunMapConfig& map = acl.maps[m];
        const std::string map_field = base + ".map[" + std::to_string(m) + "]";
        if (lun_ids.count(map.lu) == 0) {
          return fail(map_field + ".lu", "target " + target.iqn + " has no LUN " +
                                             std::to_string(map.lu));
        }
        if (!shown.insert(map.lun).second) {
          return fail(map_field + ".lun", "LUN " + std::to_string(map.lun) + " mapped twice");
        }
      }
    }
    return true;
  }

  // Initiator groups: unique names, valid iSCSI names and address prefixes.
  bool check_groups() {
    std::set<std::string> names;
    for (size_t g = 0; g < config_.groups.size(); ++g) {
      GroupConfig& group = config_.groups[g];
      const std::string field = "group[" + std::to_string(g) + "]";
      if (group.name.empty() || group.name.size() > 64 || !printable_ascii(group.name)) {
        return fail(field + ".name", "must be 1..64 printable ASCII characters");
      }
      if (!names.insert(group.name).second) {
        return fail(field + ".name", "duplicate group " + group.name);
      }
      if (group.initiators.empty() && group.addresses.empty()) {
        return fail(field, "needs initiators, addresses, or both");
      }
      for (size_t i = 0; i < group.initiators.size(); ++i) {
        auto name = normalize_iscsi_name(group.initiators[i]);
        if (!name) return fail(field + ".initiators[" + std::to_string(i) + "]", name.error());
        group.initiators[i] = std::move(name).value();
      }
      for (size_t i = 0; i < group.addresses.size(); ++i) {
        auto prefix = net::IpPrefix::parse(group.addresses[i]);
        if (!prefix) return fail(field + ".addresses[" + std::to_string(i) + "]", prefix.error());
      }
    }
    return true;
  }

  Config& config_;
  const SourceLines& lines_;
  ConfigError error_;
};

}  // namespace

VoidResult validate_config(Config& config, const SourceLines& lines) {
  return Validator(config, lines).run();
}

VoidResult validate_config(Config& config) {
  return validate_config(config, SourceLines{});
}

}  // namespace stgt::config
