#include <gtest/gtest.h>

#include "config/config.h"

namespace stgt::config {
namespace {

// The example from docs/configuration.md; it must keep working exactly.
constexpr const char* kExample = R"([daemon]
control_socket = "/run/stgt/stgtd.sock"
reactors = 2
io_backend = "uring"
[[portal]]
address = "127.0.0.1:3260"
[[target]]
iqn = "iqn.2026-11.org.example:disk1"
[[target.lun]]
id = 1
store = "file"               # file | memory | null
path = "/var/lib/stgt/disk1.img"
size = "1GiB"                # a missing file is created sparse
block_size = 512
[[target.acl]]
initiator = "ALL"            # or an initiator IQN
)";

TEST(TomlReaderTest, ReadsTheDocumentedExample) {
  const auto result = parse_config(kExample, "stgt.toml");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const Config& c = result.value();
  EXPECT_EQ(c.source, "stgt.toml");
  EXPECT_EQ(c.daemon.control_socket, "/run/stgt/stgtd.sock");
  EXPECT_EQ(c.daemon.reactors, 2u);
  EXPECT_EQ(c.daemon.io_backend, "uring");
  EXPECT_EQ(c.daemon.log_level, "info");
  ASSERT_EQ(c.portals.size(), 1u);
  EXPECT_EQ(c.portals[0].address, "127.0.0.1:3260");
  EXPECT_EQ(c.portals[0].group_tag, 1);
  ASSERT_EQ(c.targets.size(), 1u);
  const TargetConfig& t = c.targets[0];
  EXPECT_EQ(t.iqn, "iqn.2026-11.org.example:disk1");
  ASSERT_EQ(t.luns.size(), 1u);
  EXPECT_EQ(t.luns[0].id, 1u);
  EXPECT_EQ(t.luns[0].store, "file");
  EXPECT_EQ(t.luns[0].path, "/var/lib/stgt/disk1.img");
  EXPECT_EQ(t.luns[0].size, uint64_t{1} << 30);
  EXPECT_EQ(t.luns[0].block_size, 512u);
  EXPECT_FALSE(t.luns[0].read_only);
  EXPECT_TRUE(t.luns[0].write_cache);
  ASSERT_EQ(t.acls.size(), 1u);
  EXPECT_EQ(t.acls[0].initiator, "ALL");
}

TEST(TomlReaderTest, ReadsEveryField) {
  const auto result = parse_config(R"([daemon]
control_socket = "/tmp/s.sock"
reactors = 0
io_backend = "epoll"
log_level = "debug"
[[portal]]
address = "[::1]"
group_tag = 7
[[target]]
iqn = "IQN.2026-11.org.Example:Two"
alias = "two"
[[target.lun]]
id = 0
store = "memory"
size = 4194304
block_size = 4096
read_only = true
removable = true
write_cache = false
vendor = "STGT"
product = "RAM DISK"
serial = "sn-0001"
[[target.lun]]
id = 16383
store = "null"
size = "512MiB"
[[target.acl]]
initiator = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"
[[target.acl]]
initiator = "all"
)",
                                   "all.toml");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const Config& c = result.value();
  EXPECT_EQ(c.daemon.io_backend, "epoll");
  EXPECT_EQ(c.daemon.log_level, "debug");
  EXPECT_EQ(c.portals[0].address, "[::1]:3260");
  EXPECT_EQ(c.portals[0].group_tag, 7);
  const TargetConfig& t = c.targets[0];
  EXPECT_EQ(t.iqn, "iqn.2026-11.org.example:two");
  EXPECT_EQ(t.alias, "two");
  ASSERT_EQ(t.luns.size(), 2u);
  const LunConfig& m = t.luns[0];
  EXPECT_EQ(m.store, "memory");
  EXPECT_EQ(m.size, 4194304u);
  EXPECT_EQ(m.block_size, 4096u);
  EXPECT_TRUE(m.read_only);
  EXPECT_TRUE(m.removable);
  EXPECT_FALSE(m.write_cache);
  EXPECT_EQ(m.vendor, "STGT");
  EXPECT_EQ(m.product, "RAM DISK");
  EXPECT_EQ(m.serial, "sn-0001");
  EXPECT_EQ(t.luns[1].id, 16383u);
  EXPECT_EQ(t.luns[1].size, uint64_t{512} << 20);
  ASSERT_EQ(t.acls.size(), 2u);
  EXPECT_EQ(t.acls[1].initiator, "ALL");
}

TEST(TomlReaderTest, DaemonSectionAndTargetsAreOptional) {
  const auto result = parse_config("[[portal]]\naddress = \"0.0.0.0:3260\"\n", "p.toml");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->daemon, DaemonConfig{});
  EXPECT_TRUE(result->targets.empty());
}

struct BadConfig {
  const char* name;
  const char* text;
  uint32_t line;
  const char* field;
  const char* message_part;
};

class TomlReaderErrorTest : public testing::TestWithParam<BadConfig> {};

TEST_P(TomlReaderErrorTest, NamesFileLineAndField) {
  const BadConfig& c = GetParam();
  const auto result = parse_config(c.text, "bad.toml");
  ASSERT_FALSE(result.ok()) << c.name;
  const ConfigError& e = result.error();
  EXPECT_EQ(e.file, "bad.toml");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.field, c.field) << e.to_string();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.to_string();
}

constexpr const char* kPortal = "[[portal]]\naddress = \"127.0.0.1:3260\"\n";

INSTANTIATE_TEST_SUITE_P(
    Structure, TomlReaderErrorTest,
    testing::Values(
        BadConfig{"syntax", "[[portal]]\naddress = \"127.0.0.1:3260\n", 2, "", "syntax"},
        BadConfig{"syntax_bad_header", "[[portal]]\naddress = \"1.2.3.4\"\n[daemon\n", 3, "",
                  "syntax"},
        BadConfig{"unknown_root_key", "[[portal]]\naddress = \"1.2.3.4\"\n[[targets]]\n", 3,
                  "targets", "did you mean \"target\""},
        BadConfig{"unknown_daemon_key", "[daemon]\nreactor = 2\n", 2, "daemon.reactor",
                  "did you mean \"reactors\""},
        BadConfig{"unknown_lun_key",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 1\n"
                  "store = \"null\"\nsize = 4096\n[[target.lun]]\nid = 2\nstore = \"null\"\n"
                  "blocksize = 4096\n",
                  10, "target[0].lun[1].blocksize", "did you mean \"block_size\""},
        BadConfig{"iscsi_nop_interval_range", "[iscsi]\nnop_interval = 5000\n", 2,
                  "iscsi.nop_interval", "3600"},
        BadConfig{"iscsi_unknown_key", "[iscsi]\nqueue_dpeth = 8\n", 2, "iscsi.queue_dpeth",
                  "did you mean \"queue_depth\""},
        BadConfig{"unknown_key_far_from_any", "[daemon]\nflavour = \"x\"\n", 2, "daemon.flavour",
                  "unknown key"},
        BadConfig{"daemon_not_table", "daemon = 3\n", 1, "daemon", "expected a [daemon] table"},
        BadConfig{"portal_not_array", "[portal]\naddress = \"1.2.3.4\"\n", 1, "portal",
                  "[[portal]] tables"},
        BadConfig{"portal_element_not_table", "portal = [\"1.2.3.4\"]\n", 1, "portal[0]",
                  "found a string"},
        BadConfig{"reactors_string", "[daemon]\nreactors = \"2\"\n", 2, "daemon.reactors",
                  "expected an integer, found a string"},
        BadConfig{"reactors_negative", "[daemon]\nreactors = -1\n", 2, "daemon.reactors",
                  "0..1024"},
        BadConfig{"socket_integer", "[daemon]\ncontrol_socket = 5\n", 2, "daemon.control_socket",
                  "expected a string"},
        BadConfig{"portal_missing_address", "[[portal]]\ngroup_tag = 2\n", 1, "portal[0].address",
                  "missing required key"},
        BadConfig{"group_tag_zero", "[[portal]]\naddress = \"1.2.3.4\"\ngroup_tag = 0\n", 3,
                  "portal[0].group_tag", "1..65535"},
        BadConfig{"target_missing_iqn",
                  "[[portal]]\naddress = \"1.2.3.4\"\n\n[[target]]\n"
                  "alias = \"x\"\n",
                  4, "target[0].iqn", "missing required key"},
        BadConfig{"lun_missing_id",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nstore = \"null\"\n",
                  3, "target[0].lun[0].id", "missing required key"},
        BadConfig{"lun_id_range",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 16384\n", 4,
                  "target[0].lun[0].id", "0..16383"},
        BadConfig{"lun_missing_store",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 3\n", 3,
                  "target[0].lun[0].store", "missing required key"},
        BadConfig{"size_float",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 3\n"
                  "store = \"null\"\nsize = 1.5\n",
                  6, "target[0].lun[0].size", "found a float"},
        BadConfig{"size_garbage",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 3\n"
                  "store = \"null\"\nsize = \"1 gigabyte\"\n",
                  6, "target[0].lun[0].size", "not a size"},
        BadConfig{"size_negative",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 3\n"
                  "store = \"null\"\nsize = -512\n",
                  6, "target[0].lun[0].size", "negative"},
        BadConfig{"read_only_string",
                  "[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n[[target.lun]]\nid = 3\n"
                  "store = \"null\"\nread_only = \"yes\"\n",
                  6, "target[0].lun[0].read_only", "boolean"},
        BadConfig{"acl_missing_initiator",
                  "[[portal]]\naddress = \"1.2.3.4\"\n[[target]]\niqn = \"iqn.2026-11.org.a:b\"\n"
                  "[[target.acl]]\n",
                  5, "target[0].acl[0]", "exactly one of initiator or group"},
        BadConfig{"no_portal", "", 0, "portal", "at least one"},
        BadConfig{"empty_portal_array", "portal = []\n", 1, "portal", "at least one"}),
    [](const testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

TEST(TomlReaderTest, ErrorTextHasFileLineAndField) {
  const auto result = parse_config(std::string(kPortal) + "[daemon]\nreactor = 2\n", "x.toml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().to_string(),
            "x.toml:4: daemon.reactor: unknown key (did you mean \"reactors\"?)");
}

}  // namespace
}  // namespace stgt::config
