#include "config/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace stgt::config {
namespace {

// Lines 1-2: portal; 3-4: target; 5-: first LUN, then whatever the case appends.
std::string with_lun(const std::string& lun_body, const std::string& tail = "") {
  return "[[portal]]\naddress = \"127.0.0.1:3260\"\n[[target]]\n"
         "iqn = \"iqn.2026-11.org.example:a\"\n[[target.lun]]\n" +
         lun_body + tail;
}

struct BadConfig {
  const char* name;
  std::string text;
  uint32_t line;
  const char* field;
  const char* message_part;
};

class ValidateErrorTest : public testing::TestWithParam<BadConfig> {};

TEST_P(ValidateErrorTest, NamesFileLineAndField) {
  const BadConfig& c = GetParam();
  const auto result = parse_config(c.text, "v.toml");
  ASSERT_FALSE(result.ok()) << c.name;
  const ConfigError& e = result.error();
  EXPECT_EQ(e.file, "v.toml");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.field, c.field) << e.to_string();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.to_string();
}

const std::string kMemLun = "id = 1\nstore = \"memory\"\nsize = \"1MiB\"\n";

INSTANTIATE_TEST_SUITE_P(
    Semantics, ValidateErrorTest,
    testing::Values(
        BadConfig{"socket_relative", "[daemon]\ncontrol_socket = \"stgtd.sock\"\n", 2,
                  "daemon.control_socket", "absolute"},
        BadConfig{"socket_too_long",
                  "[daemon]\ncontrol_socket = \"/" + std::string(120, 's') + "\"\n", 2,
                  "daemon.control_socket", "107"},
        BadConfig{"io_backend", "[daemon]\nio_backend = \"aio\"\n", 2, "daemon.io_backend",
                  "\"uring\" or \"epoll\""},
        BadConfig{"log_level", "[daemon]\nlog_level = \"verbose\"\n", 2, "daemon.log_level",
                  "debug"},
        BadConfig{"portal_syntax", "[[portal]]\naddress = \"127.0.0.1:70000\"\n", 2,
                  "portal[0].address", "1..65535"},
        BadConfig{"portal_ipv6_unbracketed", "[[portal]]\naddress = \"::1\"\n", 2,
                  "portal[0].address", "brackets"},
        BadConfig{"portal_duplicate",
                  "[[portal]]\naddress = \"127.0.0.1:3260\"\n[[portal]]\naddress = \"127.0.0.1\"\n",
                  4, "portal[1].address", "duplicate portal 127.0.0.1:3260"},
        BadConfig{"portal_duplicate_v6",
                  "[[portal]]\naddress = \"[::1]:3260\"\n[[portal]]\naddress = \"[0::1]:3260\"\n",
                  4, "portal[1].address", "duplicate"},
        BadConfig{"iqn_syntax", "[[portal]]\naddress = \"1.2.3.4\"\n[[target]]\niqn = \"disk1\"\n",
                  4, "target[0].iqn", "iqn."},
        BadConfig{"iqn_duplicate_after_case_folding",
                  with_lun(kMemLun, "[[target]]\niqn = \"IQN.2026-11.org.example:A\"\n"), 10,
                  "target[1].iqn", "duplicate target iqn.2026-11.org.example:a"},
        BadConfig{"alias_control_char",
                  "[[portal]]\naddress = \"1.2.3.4\"\n[[target]]\niqn = \"eui.0123456789abcdef\"\n"
                  "alias = \"a\\tb\"\n",
                  5, "target[0].alias", "printable"},
        BadConfig{"lun_duplicate_id", with_lun(kMemLun, "[[target.lun]]\n" + kMemLun), 10,
                  "target[0].lun[1].id", "duplicate LUN 1"},
        BadConfig{"block_size", with_lun(kMemLun + "block_size = 1024\n"), 9,
                  "target[0].lun[0].block_size", "512 or 4096"},
        BadConfig{"physical_block_size", with_lun(kMemLun + "physical_block_size = 1536\n"), 9,
                  "target[0].lun[0].physical_block_size", "power of two"},
        BadConfig{"physical_below_logical",
                  with_lun(kMemLun + "block_size = 4096\nphysical_block_size = 512\n"), 10,
                  "target[0].lun[0].physical_block_size", "from block_size"},
        BadConfig{"store_kind", with_lun("id = 1\nstore = \"rbd\"\n"), 7, "target[0].lun[0].store",
                  "\"file\", \"memory\" or \"null\""},
        BadConfig{"file_without_path", with_lun("id = 1\nstore = \"file\"\nsize = 4096\n"), 5,
                  "target[0].lun[0].path", "needs a path"},
        BadConfig{"memory_without_size", with_lun("id = 1\nstore = \"memory\"\n"), 5,
                  "target[0].lun[0].size", "size > 0"},
        BadConfig{"null_zero_size", with_lun("id = 1\nstore = \"null\"\nsize = 0\n"), 8,
                  "target[0].lun[0].size", "size > 0"},
        BadConfig{"memory_with_path", with_lun(kMemLun + "path = \"/tmp/x\"\n"), 9,
                  "target[0].lun[0].path", "only a file store"},
        BadConfig{"size_not_block_multiple",
                  with_lun("id = 1\nstore = \"memory\"\nsize = 4608\nblock_size = 4096\n"), 8,
                  "target[0].lun[0].size", "multiple of block_size (4096)"},
        BadConfig{"file_size_not_multiple",
                  with_lun("id = 1\nstore = \"file\"\npath = \"/tmp/x\"\nsize = 1000\n"), 9,
                  "target[0].lun[0].size", "multiple"},
        BadConfig{"first_burst_over_max_burst",
                  "[iscsi]\nmax_burst_length = 4096\nfirst_burst_length = 8192\n"
                  "[[portal]]\naddress = \"1.2.3.4\"\n",
                  3, "iscsi.first_burst_length", "must not exceed"},
        BadConfig{"session_write_buffer_too_small",
                  "[iscsi]\nsession_write_buffer = \"1MiB\"\n[[portal]]\naddress = \"1.2.3.4\"\n", 2,
                  "iscsi.session_write_buffer", "at least 16MiB"},
        BadConfig{"provisioning_unknown", with_lun(kMemLun + "provisioning = \"sparse\"\n"), 9,
                  "target[0].lun[0].provisioning", "\"thick\" or \"thin\""},
        BadConfig{"encryption_unknown", with_lun(kMemLun + "encryption = \"aes-128-cbc\"\n"), 9,
                  "target[0].lun[0].encryption", "\"none\" or \"aes-256-xts\""},
        BadConfig{"key_file_without_encryption", with_lun(kMemLun + "key_file = \"/etc/kek\"\n"),
                  9, "target[0].lun[0].key_file", "only with encryption"},
        BadConfig{"key_file_relative",
                  with_lun(kMemLun + "encryption = \"aes-256-xts\"\nkey_file = \"kek\"\n"), 10,
                  "target[0].lun[0].key_file", "absolute path"},
        BadConfig{"encrypted_file_without_key_file",
                  with_lun("id = 1\nstore = \"file\"\npath = \"/x.img\"\n"
                           "encryption = \"aes-256-xts\"\n"),
                  5, "target[0].lun[0].key_file", "needs a key_file"},
        BadConfig{"vendor_too_long", with_lun(kMemLun + "vendor = \"ABCDEFGHI\"\n"), 9,
                  "target[0].lun[0].vendor", "8"},
        BadConfig{"product_too_long",
                  with_lun(kMemLun + "product = \"" + std::string(17, 'p') + "\"\n"), 9,
                  "target[0].lun[0].product", "16"},
        BadConfig{"acl_bad_name", with_lun(kMemLun, "[[target.acl]]\ninitiator = \"bob\"\n"), 10,
                  "target[0].acl[0].initiator", "ALL"},
        BadConfig{"acl_duplicate",
                  with_lun(kMemLun,
                           "[[target.acl]]\ninitiator = \"iqn.2026-11.org.x:i\"\n"
                           "[[target.acl]]\ninitiator = \"IQN.2026-11.org.x:I\"\n"),
                  12, "target[0].acl[1].initiator", "duplicate initiator"},
        BadConfig{"group_unknown",
                  with_lun(kMemLun, "[[target.acl]]\ngroup = \"db\"\n"), 10,
                  "target[0].acl[0].group", "no [[group]] named \"db\""},
        BadConfig{"group_bad_address",
                  "[[group]]\nname = \"db\"\naddresses = [\"10.0.0.1/24\"]\n"
                  "[[portal]]\naddress = \"1.2.3.4\"\n",
                  3, "group[0].addresses[0]", "below its prefix length"},
        BadConfig{"group_empty", "[[group]]\nname = \"db\"\n[[portal]]\naddress = \"1.2.3.4\"\n",
                  1, "group[0]", "initiators, addresses"},
        BadConfig{"map_unknown_lu",
                  with_lun(kMemLun, "[[target.acl]]\ninitiator = \"ALL\"\n[[target.acl.map]]\n"
                                    "lun = 0\nlu = 9\n"),
                  13, "target[0].acl[0].map[0].lu", "has no LUN 9"},
        BadConfig{"map_lun_twice",
                  with_lun(kMemLun, "[[target.acl]]\ninitiator = \"ALL\"\n[[target.acl.map]]\n"
                                    "lun = 0\nlu = 1\n[[target.acl.map]]\nlun = 0\nlu = 1\n"),
                  15, "target[0].acl[0].map[1].lun", "mapped twice"},
        BadConfig{"chap_secret_too_short", "[[portal]]\naddress = \"1.2.3.4\"\n" "[[account]]\nuser = \"a\"\nsecret = \"short\"\n", 5,
                  "account[0].secret", "12..255"},
        BadConfig{"chap_account_duplicate",
                  "[[portal]]\naddress = \"1.2.3.4\"\n" "[[account]]\nuser = \"a\"\nsecret = \"123456789012\"\n"
                  "[[account]]\nuser = \"a\"\nsecret = \"123456789013\"\n",
                  7, "account[1].user", "duplicate account a"},
        BadConfig{"chap_unknown_user",
                  "[[portal]]\naddress = \"1.2.3.4\"\n" "[discovery]\nincoming_users = [\"nobody\"]\n", 4,
                  "discovery.incoming_users[0]", "no [[account]] named \"nobody\""},
        BadConfig{"chap_same_secret_both_ways",
                  "[[portal]]\naddress = \"1.2.3.4\"\n" "[[account]]\nuser = \"a\"\nsecret = \"123456789012\"\n"
                  "[[account]]\nuser = \"t\"\nsecret = \"123456789012\"\n"
                  "[discovery]\nincoming_users = [\"a\"]\noutgoing_user = \"t\"\n",
                  11, "discovery.outgoing_user", "must differ"},
        BadConfig{"chap_mutual_without_outgoing",
                  "[[portal]]\naddress = \"1.2.3.4\"\n" "[[account]]\nuser = \"a\"\nsecret = \"123456789012\"\n"
                  "[discovery]\nincoming_users = [\"a\"]\nmutual_chap = true\n",
                  8, "discovery.mutual_chap", "outgoing_user"}),
    [](const testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

// Lines 1-2: portal (group 1); 3-5: portal (group 2); 6-7: target; 8-: the case's groups.
std::string with_groups(const std::string& groups) {
  return "[[portal]]\naddress = \"127.0.0.1:3260\"\n[[portal]]\naddress = \"127.0.0.1:3261\"\n"
         "group_tag = 2\n[[target]]\niqn = \"iqn.2026-11.org.example:a\"\n" +
         groups;
}

INSTANTIATE_TEST_SUITE_P(
    Alua, ValidateErrorTest,
    testing::Values(
        BadConfig{"metrics_listen_without_port",
                  "[daemon]\nmetrics_listen = \"127.0.0.1\"\n[[portal]]\naddress = \"1.2.3.4\"\n",
                  2, "daemon.metrics_listen", "needs a port"},
        BadConfig{
            "metrics_listen_host_name",
            "[daemon]\nmetrics_listen = \"localhost:9540\"\n[[portal]]\naddress = \"1.2.3.4\"\n", 2,
            "daemon.metrics_listen", ""},
        BadConfig{"memory_budget_too_small",
                  "[daemon]\nmemory_budget = \"16MiB\"\n[[portal]]\naddress = \"1.2.3.4\"\n", 2,
                  "daemon.memory_budget", "at least 64MiB"},
        BadConfig{"lun_queue_depth_zero", with_lun(kMemLun + "queue_depth = 0\n"), 9,
                  "target[0].lun[0].queue_depth", "1..65535"},
        BadConfig{"max_sessions_zero", "[iscsi]\nmax_sessions = 0\n", 2, "iscsi.max_sessions",
                  "1..65535"},
        BadConfig{"group_state",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [1, 2]\n"
                              "state = \"offline\"\n"),
                  11, "target[0].port_group[0].state", "standby"},
        BadConfig{"group_unknown_portal_group",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [1, 2, 3]\n"), 10,
                  "target[0].port_group[0].portal_groups", "no [[portal]] has group_tag 3"},
        BadConfig{"group_portal_group_twice",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [1, 2]\n"
                              "[[target.port_group]]\nid = 2\nportal_groups = [2]\n"),
                  13, "target[0].port_group[1].portal_groups", "in two port groups"},
        BadConfig{"group_duplicate_id",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [1]\n"
                              "[[target.port_group]]\nid = 1\nportal_groups = [2]\n"),
                  12, "target[0].port_group[1].id", "duplicate port group 1"},
        BadConfig{"group_missing_portal_group",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [1]\n"), 8,
                  "target[0].port_group", "portal group 2 belongs to no port group"},
        BadConfig{"group_tags_not_integers",
                  with_groups("[[target.port_group]]\nid = 1\nportal_groups = [\"a\"]\n"), 10,
                  "target[0].port_group[0].portal_groups[0]", "an integer"}),
    [](const testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

TEST(ValidateTest, PortGroupsCoveringEveryPortalGroupAreAccepted) {
  const auto result = parse_config(
      with_groups("alua_explicit = true\n[[target.port_group]]\nid = 1\nportal_groups = [1]\n"
                  "preferred = true\n[[target.port_group]]\nid = 2\nportal_groups = [2]\n"
                  "state = \"active/non-optimized\"\n"),
      "ok.toml");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const TargetConfig& t = result.value().targets[0];
  EXPECT_TRUE(t.alua_explicit);
  ASSERT_EQ(t.port_groups.size(), 2u);
  EXPECT_TRUE(t.port_groups[0].preferred);
  EXPECT_EQ(t.port_groups[1].state, "active/non-optimized");
  EXPECT_EQ(t.port_groups[1].portal_groups, std::vector<uint16_t>{2});
}

TEST(ValidateTest, ModelBuiltInCodeIsNormalised) {
  Config config;
  config.source = "<rpc>";
  config.portals.push_back({.address = "[::1]"});
  config.targets.push_back({.iqn = "IQN.2026-11.org.Example:X"});
  config.targets[0].acls.push_back({.initiator = "all"});
  ASSERT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config.portals[0].address, "[::1]:3260");
  EXPECT_EQ(config.targets[0].iqn, "iqn.2026-11.org.example:x");
  EXPECT_EQ(config.targets[0].acls[0].initiator, "ALL");
}

TEST(ValidateTest, ModelErrorsCarryNoLine) {
  Config config;
  config.source = "<rpc>";
  config.portals.push_back({.address = "127.0.0.1"});
  config.targets.push_back({.iqn = "iqn.2026-11.org.example:x"});
  config.targets[0].luns.push_back({.id = 1, .store = "memory", .size = 0});
  const auto result = validate_config(config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().to_string(),
            "<rpc>: target[0].lun[0].size: a memory store needs a size > 0");
}

TEST(SourceLinesTest, FallsBackToTheEnclosingTable) {
  SourceLines lines;
  lines.record("target[1]", 7);
  lines.record("target[1].lun[0]", 9);
  EXPECT_EQ(lines.line_of("target[1].lun[0].size"), 9u);
  EXPECT_EQ(lines.line_of("target[1].lun[2].size"), 7u);
  EXPECT_EQ(lines.line_of("portal[0].address"), 0u);
}

}  // namespace
}  // namespace stgt::config
