#include <gtest/gtest.h>

#include "config/config.h"

namespace stgt::config {
namespace {

Config full_config() {
  Config c;
  c.source = "round.toml";
  c.iscsi.nop_interval = 0;
  c.iscsi.queue_depth = 64;
  c.iscsi.initial_r2t = true;
  c.daemon = {.control_socket = "/tmp/x y/\"quoted\".sock",
              .reactors = 3,
              .io_backend = "epoll",
              .log_level = "warn",
              .memory_budget = uint64_t{512} << 20,
              .metrics_listen = "[::1]:9540",
              .user = "stgt",
              .group = "disk"};
  c.iscsi.max_sessions = 100;
  c.portals.push_back({.address = "127.0.0.1:3260"});
  c.portals.push_back({.address = "[::1]:3261", .group_tag = 2});
  TargetConfig a{.iqn = "iqn.2026-11.org.example:a", .alias = "first \\ target"};
  a.luns.push_back({.id = 0, .store = "file", .path = "/var/lib/stgt/a.img", .size = 0});
  a.luns.push_back({.id = 1,
                    .store = "file",
                    .path = "/var/lib/stgt/b.img",
                    .size = (uint64_t{3} << 30) + 4096,
                    .block_size = 4096,
                    .physical_block_size = 16384,
                    .read_only = true,
                    .encryption = "aes-256-xts",
                    .key_file = "/etc/stgt/kek"});
  a.luns.push_back({.id = 2,
                    .store = "memory",
                    .size = uint64_t{64} << 20,
                    .removable = true,
                    .provisioning = "thin",
                    .write_cache = false,
                    .vendor = "STGT",
                    .product = "RAM",
                    .serial = "s1"});
  a.luns.push_back({.id = 16383, .store = "null", .size = 1536, .queue_depth = 32});
  a.acls.push_back({.initiator = "ALL"});
  a.alua_explicit = true;
  a.port_groups.push_back({.id = 1, .portal_groups = {1}, .preferred = true});
  a.port_groups.push_back({.id = 7, .portal_groups = {2}, .state = "standby"});
  TargetConfig b{.iqn = "eui.0123456789abcdef"};
  b.acls.push_back({.initiator = "iqn.2026-11.org.example:host1"});
  b.acls.push_back({.initiator = "naa.0123456789abcdef0123456789abcdef"});
  b.chap = {.incoming_users = {"alice", "bob"}, .outgoing_user = "target", .mutual = true};
  c.targets = {a, b};
  c.accounts = {{"alice", "alice-secret-1"}, {"bob", "bob \"quoted\" secret"},
                {"target", "target-secret-1"}};
  c.discovery.chap.incoming_users = {"alice"};
  c.groups = {{.name = "db", .initiators = {"iqn.2026-11.org.example:host1"},
               .addresses = {"10.0.0.0/24", "fd00::/64"}},
              {.name = "lab", .addresses = {"192.0.2.7"}}};
  c.targets[0].acls.push_back(
      {.group = "db", .maps = {{.lun = 0, .lu = 1, .read_only = true}, {.lun = 5, .lu = 2}}});
  return c;
}

TEST(TomlWriterTest, RoundTripsEveryField) {
  const Config original = full_config();
  const std::string text = to_toml(original);
  const auto parsed = parse_config(text, "round.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string() << "\n" << text;
  EXPECT_EQ(parsed.value(), original) << text;
  EXPECT_EQ(to_toml(parsed.value()), text);
}

TEST(TomlWriterTest, RoundTripsTheDefaultConfig) {
  Config original = default_config("/var/lib/stgt");
  const auto parsed = parse_config(to_toml(original), "<default>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed.value(), original);
}

TEST(TomlWriterTest, WritesSizesWithExactUnits) {
  Config c = full_config();
  const std::string text = to_toml(c);
  EXPECT_NE(text.find("size = \"64MiB\""), std::string::npos) << text;
  EXPECT_NE(text.find("size = \"3145732KiB\""), std::string::npos) << text;
  EXPECT_NE(text.find("size = 1536"), std::string::npos) << text;
}

TEST(TomlWriterTest, LeavesDefaultsOut) {
  const std::string text = to_toml(full_config());
  EXPECT_EQ(text.find("write_cache = true"), std::string::npos);
  EXPECT_EQ(text.find("group_tag = 1\n"), std::string::npos);
  EXPECT_NE(text.find("group_tag = 2\n"), std::string::npos);
}

}  // namespace
}  // namespace stgt::config
