// TOML -> Config. Structural checks live here (unknown keys, types, integer ranges that the model's
// types cannot hold); everything else is validate.cc, which gets the line of every field from here.
#include <toml++/toml.h>

#include <algorithm>
#include <span>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "config/config.h"
#include "config/validate.h"

namespace stgt::config {
namespace {

constexpr std::string_view kRootKeys[] = {"daemon", "iscsi", "portal", "target", "account",
                                          "discovery", "group"};
constexpr std::string_view kIscsiKeys[] = {
    "login_timeout",      "nop_interval",        "nop_timeout",    "queue_depth",
    "max_recv_data_segment_length", "max_burst_length", "first_burst_length",
    "max_outstanding_r2t", "immediate_data",     "initial_r2t",    "digests",
    "session_write_buffer", "max_sessions", "conceal_targets"};
constexpr std::string_view kDaemonKeys[] = {"control_socket", "reactors", "io_backend", "log_level",
                                            "memory_budget", "metrics_listen", "user", "group"};
constexpr std::string_view kPortalKeys[] = {"address", "group_tag"};
constexpr std::string_view kTargetKeys[] = {"iqn", "alias", "alua_explicit", "port_group", "lun",
                                            "acl", "incoming_users", "outgoing_user",
                                            "mutual_chap"};
constexpr std::string_view kPortGroupKeys[] = {"id", "portal_groups", "state", "preferred"};
constexpr std::string_view kAccountKeys[] = {"user", "secret"};
constexpr std::string_view kDiscoveryKeys[] = {"incoming_users", "outgoing_user", "mutual_chap"};
constexpr std::string_view kLunKeys[] = {"id",         "store",     "path",      "size",
                                         "block_size", "read_only", "removable", "write_cache",
                                         "vendor",     "product",   "serial",    "provisioning",
                                         "queue_depth", "physical_block_size", "offline",
                                         "encryption", "key_file"};
constexpr std::string_view kAclKeys[] = {"initiator", "group", "map"};
constexpr std::string_view kMapKeys[] = {"lun", "lu", "read_only"};
constexpr std::string_view kGroupKeys[] = {"name", "initiators", "addresses"};

enum class Presence { kRequired, kOptional };

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(std::string_view name, size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

uint32_t line_of(const toml::source_region& where) {
  return uint32_t(where.begin.line);
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class TomlReader {
 public:
  TomlReader(std::string source, SourceLines& lines) : source_(std::move(source)), lines_(lines) {}

  bool read(const toml::table& root, Config& config) {
    if (!check_keys(root, "", kRootKeys)) return false;
    if (const toml::node* daemon = root.get("daemon")) {
      const toml::table* table = daemon->as_table();
      if (!table) return wrong_type(*daemon, "daemon", "a [daemon] table");
      if (!read_daemon(*table, config.daemon)) return false;
    }
    if (const toml::node* iscsi = root.get("iscsi")) {
      const toml::table* table = iscsi->as_table();
      if (!table) return wrong_type(*iscsi, "iscsi", "an [iscsi] table");
      if (!read_iscsi(*table, config.iscsi)) return false;
    }
    if (const toml::node* discovery = root.get("discovery")) {
      const toml::table* table = discovery->as_table();
      if (!table) return wrong_type(*discovery, "discovery", "a [discovery] table");
      lines_.record("discovery", line_of(table->source()));
      if (!check_keys(*table, "discovery", kDiscoveryKeys) ||
          !read_chap(*table, "discovery", config.discovery.chap)) {
        return false;
      }
    }
    return read_list(root, "", "portal", config.portals, &TomlReader::read_portal) &&
           read_list(root, "", "target", config.targets, &TomlReader::read_target) &&
           read_list(root, "", "account", config.accounts, &TomlReader::read_account) &&
           read_list(root, "", "group", config.groups, &TomlReader::read_group);
  }

  ConfigError take_error() { return std::move(error_); }

 private:
  bool fail(uint32_t line, std::string field, std::string message) {
    error_ = ConfigError{source_, line, std::move(field), std::move(message)};
    return false;
  }

  bool wrong_type(const toml::node& node, std::string field, std::string_view expected) {
    return fail(
        line_of(node.source()), std::move(field),
        "expected " + std::string(expected) + ", found " + std::string(type_name(node.type())));
  }

  bool check_keys(const toml::table& table, const std::string& path,
                  std::span<const std::string_view> allowed) {
    for (auto&& [key, node] : table) {
      const std::string_view name = key.str();
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      std::string message = "unknown key";
      for (const std::string_view candidate : allowed) {
        if (edit_distance(name, candidate) <= 2) {
          message += " (did you mean \"" + std::string(candidate) + "\"?)";
          break;
        }
      }
      return fail(line_of(key.source()), join(path, name), std::move(message));
    }
    return true;
  }

  // Looks up `key`, records its line; nullptr when absent (an error only if required).
  const toml::node* find(const toml::table& table, const std::string& field, std::string_view key,
                         Presence presence, bool& ok) {
    const toml::node* node = table.get(key);
    ok = true;
    if (node) {
      lines_.record(field, line_of(node->source()));
      return node;
    }
    if (presence == Presence::kRequired) {
      ok = fail(line_of(table.source()), field, "missing required key");
    }
    return nullptr;
  }

  bool read_string(const toml::table& table, const std::string& path, std::string_view key,
                   Presence presence, std::string& out) {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, presence, ok);
    if (!node) return ok;
    const auto* value = node->as_string();
    if (!value) return wrong_type(*node, field, "a string");
    out = value->get();
    return true;
  }

  template <typename T>
  bool read_integer(const toml::table& table, const std::string& path, std::string_view key,
                    Presence presence, int64_t min, int64_t max, T& out) {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, presence, ok);
    if (!node) return ok;
    const auto* value = node->as_integer();
    if (!value) return wrong_type(*node, field, "an integer");
    if (value->get() < min || value->get() > max) {
      return fail(line_of(node->source()), field,
                  "must be " + std::to_string(min) + ".." + std::to_string(max));
    }
    out = T(value->get());
    return true;
  }

  bool read_bool(const toml::table& table, const std::string& path, std::string_view key,
                 bool& out) {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, Presence::kOptional, ok);
    if (!node) return ok;
    const auto* value = node->as_boolean();
    if (!value) return wrong_type(*node, field, "a boolean (true or false)");
    out = value->get();
    return true;
  }

  bool read_string_list(const toml::table& table, const std::string& path, std::string_view key,
                        std::vector<std::string>& out) {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, Presence::kOptional, ok);
    if (!node) return ok;
    const toml::array* array = node->as_array();
    if (!array) return wrong_type(*node, field, "an array of strings");
    for (size_t i = 0; i < array->size(); ++i) {
      const auto* value = array->get(i)->as_string();
      if (!value) return wrong_type(*array->get(i), indexed(field, i), "a string");
      out.push_back(value->get());
    }
    return true;
  }

  // An integer number of bytes, or a string with a unit: "1GiB", "512MiB".
  bool read_size(const toml::table& table, const std::string& path, uint64_t& out,
                 std::string_view key = "size") {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, Presence::kOptional, ok);
    if (!node) return ok;
    if (const auto* number = node->as_integer()) {
      if (number->get() < 0) return fail(line_of(node->source()), field, "must not be negative");
      out = uint64_t(number->get());
      return true;
    }
    const auto* text = node->as_string();
    if (!text) return wrong_type(*node, field, "an integer or a string such as \"1GiB\"");
    const auto size = base::parse_size(text->get());
    if (!size) {
      return fail(line_of(node->source()), field,
                  "not a size: \"" + text->get() + "\" (examples: 4096, \"512MiB\", \"1GiB\")");
    }
    out = *size;
    return true;
  }

  // An array of tables ([[name]]) under `parent`; each element read by `read_one`.
  template <typename T>
  bool read_list(const toml::table& parent, const std::string& path, std::string_view name,
                 std::vector<T>& out,
                 bool (TomlReader::*read_one)(const toml::table&, const std::string&, T&)) {
    const std::string field = join(path, name);
    const toml::node* node = parent.get(name);
    if (!node) return true;
    lines_.record(field, line_of(node->source()));
    const toml::array* array = node->as_array();
    const std::string expected = "[[" + field + "]] tables";
    if (!array) return wrong_type(*node, field, expected);
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_field = indexed(field, i);
      const toml::table* table = element.as_table();
      if (!table) return wrong_type(element, element_field, expected);
      lines_.record(element_field, line_of(table->source()));
      out.emplace_back();
      if (!(this->*read_one)(*table, element_field, out.back())) return false;
    }
    return true;
  }

  bool read_daemon(const toml::table& table, DaemonConfig& daemon) {
    lines_.record("daemon", line_of(table.source()));
    return check_keys(table, "daemon", kDaemonKeys) &&
           read_string(table, "daemon", "control_socket", Presence::kOptional,
                       daemon.control_socket) &&
           read_integer(table, "daemon", "reactors", Presence::kOptional, 0, kMaxReactors,
                        daemon.reactors) &&
           read_string(table, "daemon", "io_backend", Presence::kOptional, daemon.io_backend) &&
           read_string(table, "daemon", "log_level", Presence::kOptional, daemon.log_level) &&
           read_size(table, "daemon", daemon.memory_budget, "memory_budget") &&
           read_string(table, "daemon", "metrics_listen", Presence::kOptional,
                       daemon.metrics_listen) &&
           read_string(table, "daemon", "user", Presence::kOptional, daemon.user) &&
           read_string(table, "daemon", "group", Presence::kOptional, daemon.group);
  }

  // Ranges from RFC 7143 13 (data lengths 512..2^24-1, MaxOutstandingR2T capped at what the
  // transport tracks per task).
  bool read_iscsi(const toml::table& table, IscsiConfig& iscsi) {
    lines_.record("iscsi", line_of(table.source()));
    constexpr uint32_t kMaxData = (1u << 24) - 1;
    const std::string p = "iscsi";
    return check_keys(table, p, kIscsiKeys) &&
           read_integer(table, p, "login_timeout", Presence::kOptional, 1u, 3600u,
                        iscsi.login_timeout) &&
           read_integer(table, p, "nop_interval", Presence::kOptional, 0u, 3600u,
                        iscsi.nop_interval) &&
           read_integer(table, p, "nop_timeout", Presence::kOptional, 1u, 3600u,
                        iscsi.nop_timeout) &&
           read_integer(table, p, "queue_depth", Presence::kOptional, 1u, 1024u,
                        iscsi.queue_depth) &&
           read_integer(table, p, "max_recv_data_segment_length", Presence::kOptional, 512u,
                        kMaxData, iscsi.max_recv_data_segment_length) &&
           read_integer(table, p, "max_burst_length", Presence::kOptional, 512u, kMaxData,
                        iscsi.max_burst_length) &&
           read_integer(table, p, "first_burst_length", Presence::kOptional, 512u, kMaxData,
                        iscsi.first_burst_length) &&
           read_integer(table, p, "max_outstanding_r2t", Presence::kOptional, 1u, 16u,
                        iscsi.max_outstanding_r2t) &&
           read_bool(table, p, "immediate_data", iscsi.immediate_data) &&
           read_bool(table, p, "initial_r2t", iscsi.initial_r2t) &&
           read_bool(table, p, "digests", iscsi.digests) &&
           read_bool(table, p, "conceal_targets", iscsi.conceal_targets) &&
           read_size(table, p, iscsi.session_write_buffer, "session_write_buffer") &&
           read_integer(table, p, "max_sessions", Presence::kOptional, 1u, 65535u,
                        iscsi.max_sessions);
  }

  bool read_portal(const toml::table& table, const std::string& path, PortalConfig& portal) {
    return check_keys(table, path, kPortalKeys) &&
           read_string(table, path, "address", Presence::kRequired, portal.address) &&
           read_integer(table, path, "group_tag", Presence::kOptional, 1, 65535, portal.group_tag);
  }

  bool read_target(const toml::table& table, const std::string& path, TargetConfig& target) {
    return check_keys(table, path, kTargetKeys) &&
           read_string(table, path, "iqn", Presence::kRequired, target.iqn) &&
           read_string(table, path, "alias", Presence::kOptional, target.alias) &&
           read_bool(table, path, "alua_explicit", target.alua_explicit) &&
           read_list(table, path, "port_group", target.port_groups,
                     &TomlReader::read_port_group) &&
           read_list(table, path, "lun", target.luns, &TomlReader::read_lun) &&
           read_list(table, path, "acl", target.acls, &TomlReader::read_acl) &&
           read_chap(table, path, target.chap);
  }

  bool read_chap(const toml::table& table, const std::string& path, ChapConfig& chap) {
    return read_string_list(table, path, "incoming_users", chap.incoming_users) &&
           read_string(table, path, "outgoing_user", Presence::kOptional, chap.outgoing_user) &&
           read_bool(table, path, "mutual_chap", chap.mutual);
  }

  bool read_account(const toml::table& table, const std::string& path, AccountConfig& account) {
    return check_keys(table, path, kAccountKeys) &&
           read_string(table, path, "user", Presence::kRequired, account.user) &&
           read_string(table, path, "secret", Presence::kRequired, account.secret);
  }

  bool read_lun(const toml::table& table, const std::string& path, LunConfig& lun) {
    return check_keys(table, path, kLunKeys) &&
           read_integer(table, path, "id", Presence::kRequired, 0, kMaxLunId, lun.id) &&
           read_string(table, path, "store", Presence::kRequired, lun.store) &&
           read_string(table, path, "path", Presence::kOptional, lun.path) &&
           read_size(table, path, lun.size) &&
           read_integer(table, path, "block_size", Presence::kOptional, 0, UINT32_MAX,
                        lun.block_size) &&
           read_integer(table, path, "physical_block_size", Presence::kOptional, 0, UINT32_MAX,
                        lun.physical_block_size) &&
           read_bool(table, path, "read_only", lun.read_only) &&
           read_bool(table, path, "removable", lun.removable) &&
           read_bool(table, path, "offline", lun.offline) &&
           read_string(table, path, "provisioning", Presence::kOptional, lun.provisioning) &&
           read_string(table, path, "encryption", Presence::kOptional, lun.encryption) &&
           read_string(table, path, "key_file", Presence::kOptional, lun.key_file) &&
           read_bool(table, path, "write_cache", lun.write_cache) &&
           read_string(table, path, "vendor", Presence::kOptional, lun.vendor) &&
           read_string(table, path, "product", Presence::kOptional, lun.product) &&
           read_string(table, path, "serial", Presence::kOptional, lun.serial) &&
           read_integer(table, path, "queue_depth", Presence::kOptional, 1, 65535,
                        lun.queue_depth);
  }

  bool read_port_group(const toml::table& table, const std::string& path, PortGroupConfig& g) {
    return check_keys(table, path, kPortGroupKeys) &&
           read_integer(table, path, "id", Presence::kRequired, 1, 65535, g.id) &&
           read_tag_list(table, path, "portal_groups", g.portal_groups) &&
           read_string(table, path, "state", Presence::kOptional, g.state) &&
           read_bool(table, path, "preferred", g.preferred);
  }

  // A required array of integers 1..65535 (portal group tags).
  bool read_tag_list(const toml::table& table, const std::string& path, std::string_view key,
                     std::vector<uint16_t>& out) {
    bool ok = true;
    const std::string field = join(path, key);
    const toml::node* node = find(table, field, key, Presence::kRequired, ok);
    if (!node) return ok;
    const toml::array* array = node->as_array();
    if (!array) return wrong_type(*node, field, "an array of portal group tags");
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const auto* value = element.as_integer();
      if (!value) return wrong_type(element, indexed(field, i), "an integer");
      if (value->get() < 1 || value->get() > 65535) {
        return fail(line_of(element.source()), indexed(field, i), "must be 1..65535");
      }
      out.push_back(uint16_t(value->get()));
    }
    return true;
  }

  bool read_acl(const toml::table& table, const std::string& path, AclConfig& acl) {
    return check_keys(table, path, kAclKeys) &&
           read_string(table, path, "initiator", Presence::kOptional, acl.initiator) &&
           read_string(table, path, "group", Presence::kOptional, acl.group) &&
           read_list(table, path, "map", acl.maps, &TomlReader::read_map);
  }

  bool read_map(const toml::table& table, const std::string& path, LunMapConfig& map) {
    return check_keys(table, path, kMapKeys) &&
           read_integer(table, path, "lun", Presence::kRequired, 0, kMaxLunId, map.lun) &&
           read_integer(table, path, "lu", Presence::kRequired, 0, kMaxLunId, map.lu) &&
           read_bool(table, path, "read_only", map.read_only);
  }

  bool read_group(const toml::table& table, const std::string& path, GroupConfig& group) {
    return check_keys(table, path, kGroupKeys) &&
           read_string(table, path, "name", Presence::kRequired, group.name) &&
           read_string_list(table, path, "initiators", group.initiators) &&
           read_string_list(table, path, "addresses", group.addresses);
  }

  std::string source_;
  SourceLines& lines_;
  ConfigError error_;
};

}  // namespace

base::Result<Config, ConfigError> parse_config(std::string_view text,
                                               std::string_view source_name) {
  Config config;
  config.source = std::string(source_name);
  toml::table root;
  // toml++ as packaged by Debian is built with exceptions; none may leave this module.
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return base::unexpected(ConfigError{config.source, line_of(e.source()), "",
                                        "TOML syntax error: " + std::string(e.description())});
  }
  SourceLines lines;
  TomlReader reader(config.source, lines);
  if (!reader.read(root, config)) return base::unexpected(reader.take_error());
  if (auto valid = validate_config(config, lines); !valid) return base::unexpected(valid.error());
  return config;
}

}  // namespace stgt::config
