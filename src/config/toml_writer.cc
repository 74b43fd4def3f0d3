// Config -> TOML, in the field order of docs/configuration.md so that a written-back file reads
// like a hand-written one. Every non-default field is written; sizes use a binary unit when exact.
#include <toml++/toml.h>

#include <sstream>

#include "config/config.h"

namespace stgt::config {
namespace {

std::string quoted(const std::string& text) {
  std::ostringstream out;
  out << toml::value<std::string>(text);  // toml++ applies TOML string escaping
  return out.str();
}

std::string size_text(uint64_t size) {
  struct Unit {
    const char* suffix;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
  for (const Unit& unit : kUnits) {
    if (size != 0 && size % unit.factor == 0) {
      return "\"" + std::to_string(size / unit.factor) + unit.suffix + "\"";
    }
  }
  return std::to_string(size);
}

class Writer {
 public:
  void key(const char* name, const std::string& value_text) {
    out_ << name << " = " << value_text << "\n";
  }
  void string_key(const char* name, const std::string& value, bool skip_empty = false) {
    if (skip_empty && value.empty()) return;
    key(name, quoted(value));
  }
  void bool_key(const char* name, bool value) { key(name, value ? "true" : "false"); }
  void comment(const char* text) { out_ << "# " << text << "\n"; }
  void header(const char* name) { out_ << "\n" << name << "\n"; }
  std::string take() { return out_.str(); }

 private:
  std::ostringstream out_;
};

void write_lun(Writer& w, const LunConfig& lun) {
  w.header("[[target.lun]]");
  w.key("id", std::to_string(lun.id));
  w.string_key("store", lun.store);
  w.string_key("path", lun.path, true);
  if (lun.size != 0) w.key("size", size_text(lun.size));
  w.key("block_size", std::to_string(lun.block_size));
  if (lun.physical_block_size != 0) {
    w.key("physical_block_size", std::to_string(lun.physical_block_size));
  }
  if (lun.read_only) w.bool_key("read_only", true);
  if (lun.removable) w.bool_key("removable", true);
  if (lun.offline) w.bool_key("offline", true);
  if (lun.provisioning != "thick") w.string_key("provisioning", lun.provisioning);
  if (lun.encryption != "none") w.string_key("encryption", lun.encryption);
  w.string_key("key_file", lun.key_file, true);
  if (!lun.write_cache) w.bool_key("write_cache", false);
  w.string_key("vendor", lun.vendor, true);
  w.string_key("product", lun.product, true);
  w.string_key("serial", lun.serial, true);
  if (lun.queue_depth != LunConfig{}.queue_depth) w.key("queue_depth", std::to_string(lun.queue_depth));
}

void write_port_group(Writer& w, const PortGroupConfig& group) {
  w.header("[[target.port_group]]");
  w.key("id", std::to_string(group.id));
  std::string tags = "[";
  for (size_t i = 0; i < group.portal_groups.size(); ++i) {
    if (i > 0) tags += ", ";
    tags += std::to_string(group.portal_groups[i]);
  }
  w.key("portal_groups", tags + "]");
  w.string_key("state", group.state);
  if (group.preferred) w.bool_key("preferred", true);
}

std::string string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += quoted(items[i]);
  }
  return out + "]";
}

void write_chap(Writer& w, const ChapConfig& chap) {
  if (!chap.incoming_users.empty()) w.key("incoming_users", string_array(chap.incoming_users));
  w.string_key("outgoing_user", chap.outgoing_user, true);
  if (chap.mutual) w.bool_key("mutual_chap", true);
}

}  // namespace

std::string to_toml(const Config& config) {
  Writer w;
  w.comment("stgtd configuration (docs/configuration.md); rewritten by stgtd after live changes.");
  w.header("[daemon]");
  w.string_key("control_socket", config.daemon.control_socket);
  w.key("reactors", std::to_string(config.daemon.reactors));
  w.string_key("io_backend", config.daemon.io_backend);
  w.string_key("log_level", config.daemon.log_level);
  if (config.daemon.memory_budget != 0) w.key("memory_budget", size_text(config.daemon.memory_budget));
  w.string_key("metrics_listen", config.daemon.metrics_listen, true);
  w.string_key("user", config.daemon.user, true);
  w.string_key("group", config.daemon.group, true);
  const IscsiConfig& i = config.iscsi;
  if (!(i == IscsiConfig{})) {
    w.header("[iscsi]");
    w.key("login_timeout", std::to_string(i.login_timeout));
    w.key("nop_interval", std::to_string(i.nop_interval));
    w.key("nop_timeout", std::to_string(i.nop_timeout));
    w.key("queue_depth", std::to_string(i.queue_depth));
    w.key("max_recv_data_segment_length", std::to_string(i.max_recv_data_segment_length));
    w.key("max_burst_length", std::to_string(i.max_burst_length));
    w.key("first_burst_length", std::to_string(i.first_burst_length));
    w.key("max_outstanding_r2t", std::to_string(i.max_outstanding_r2t));
    w.bool_key("immediate_data", i.immediate_data);
    w.bool_key("initial_r2t", i.initial_r2t);
    w.bool_key("digests", i.digests);
    w.key("session_write_buffer", size_text(i.session_write_buffer));
    w.key("max_sessions", std::to_string(i.max_sessions));
    w.bool_key("conceal_targets", i.conceal_targets);
  }
  if (!(config.discovery == DiscoveryConfig{})) {
    w.header("[discovery]");
    write_chap(w, config.discovery.chap);
  }
  for (const AccountConfig& account : config.accounts) {
    w.header("[[account]]");
    w.string_key("user", account.user);
    w.string_key("secret", account.secret);
  }
  for (const GroupConfig& group : config.groups) {
    w.header("[[group]]");
    w.string_key("name", group.name);
    if (!group.initiators.empty()) w.key("initiators", string_array(group.initiators));
    if (!group.addresses.empty()) w.key("addresses", string_array(group.addresses));
  }
  for (const PortalConfig& portal : config.portals) {
    w.header("[[portal]]");
    w.string_key("address", portal.address);
    if (portal.group_tag != 1) w.key("group_tag", std::to_string(portal.group_tag));
  }
  for (const TargetConfig& target : config.targets) {
    w.header("[[target]]");
    w.string_key("iqn", target.iqn);
    w.string_key("alias", target.alias, true);
    write_chap(w, target.chap);
    if (target.alua_explicit) w.bool_key("alua_explicit", true);
    for (const PortGroupConfig& group : target.port_groups) write_port_group(w, group);
    for (const LunConfig& lun : target.luns)
      write_lun(w, lun);
    for (const AclConfig& acl : target.acls) {
      w.header("[[target.acl]]");
      w.string_key("initiator", acl.initiator, true);
      w.string_key("group", acl.group, true);
      for (const LunMapConfig& m : acl.maps) {
        w.header("[[target.acl.map]]");
        w.key("lun", std::to_string(m.lun));
        w.key("lu", std::to_string(m.lu));
        if (m.read_only) w.bool_key("read_only", true);
      }
    }
  }
  return w.take();
}

}  // namespace stgt::config
