#include "config/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stgt::config {

const AccountConfig* Config::find_account(const std::string& user) const {
  for (const AccountConfig& a : accounts) {
    if (a.user == user) return &a;
  }
  return nullptr;
}

const GroupConfig* Config::find_group(const std::string& name) const {
  for (const GroupConfig& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string ConfigError::to_string() const {
  std::string text = file;
  if (line != 0) {
    text += ':';
    text += std::to_string(line);
  }
  text += ": ";
  if (!field.empty()) {
    text += field;
    text += ": ";
  }
  text += message;
  return text;
}

base::Result<Config, ConfigError> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return base::unexpected(
        ConfigError{path, 0, "", std::string("cannot open: ") + std::strerror(errno)});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return base::unexpected(
        ConfigError{path, 0, "", std::string("cannot read: ") + std::strerror(errno)});
  }
  return parse_config(text.str(), path);
}

Config default_config(const std::string& var_dir) {
  Config config;
  config.source = "<default>";
  config.portals.push_back(PortalConfig{.address = "127.0.0.1:3260", .group_tag = 1});
  TargetConfig target;
  target.iqn = "iqn.2026-11.org.stgt:demo";
  target.luns.push_back(LunConfig{.id = 1,
                                  .store = "file",
                                  .path = var_dir + "/demo-lun1.img",
                                  .size = uint64_t{1} << 30,
                                  .block_size = 512});
  target.acls.push_back(AclConfig{.initiator = "ALL"});
  config.targets.push_back(std::move(target));
  return config;
}

}  // namespace stgt::config
