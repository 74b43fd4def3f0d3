// The declarative configuration of stgtd: a plain model, its TOML reader and writer, and the
// validation shared by the reader and by the control plane.
//
// Thread and ownership: pure functions over values; nothing here touches a reactor, a socket or a
// global. load_config_file() blocks on file I/O, so call it at start-up or from the control-plane
// thread, never from a reactor. No exception leaves this module: errors are ConfigError values.
// The TOML shape is documented in docs/configuration.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace stgt::config {

inline constexpr uint64_t kMinMemoryBudget = uint64_t{64} << 20;

struct DaemonConfig {
  std::string control_socket = "/run/stgt/stgtd.sock";
  unsigned reactors = 0;             // 0 = one per core
  std::string io_backend = "uring";  // uring | epoll
  std::string log_level = "info";    // debug | info | warn | error
  // Bytes of data buffers all reactors together may hold (in use and cached); 0 = a quarter
  // of physical memory (at least kMinMemoryBudget). Commands past it: TASK SET FULL.
  uint64_t memory_budget = 0;
  // "address:port" of the Prometheus endpoint (GET /metrics); empty = no endpoint.
  std::string metrics_listen;
  // Run as this user and group once the portals are bound and the stores open (names or
  // numeric ids; empty = stay who started stgtd). `group` empty with `user` set: the user's
  // primary group. Needs root (or CAP_SETUID/CAP_SETGID) at start.
  std::string user;
  std::string group;
  bool operator==(const DaemonConfig&) const = default;
};

// iSCSI transport settings shared by every portal (RFC 7143 13 limits offered by the target,
// and the target's own timers).
struct IscsiConfig {
  uint32_t login_timeout = 15;   // seconds a login may take before the connection is dropped
  uint32_t nop_interval = 10;    // seconds of silence before a NOP-In ping; 0 = never ping
  uint32_t nop_timeout = 30;     // seconds to wait for the ping's answer before dropping
  uint32_t queue_depth = 128;    // commands per session (the CmdSN window)
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  uint32_t max_outstanding_r2t = 16;
  bool immediate_data = true;
  bool initial_r2t = false;
  bool digests = true;  // accept CRC32C header and data digests when initiators ask
  // Write data one session may hold in buffers at once (commands past it: TASK SET FULL).
  uint64_t session_write_buffer = uint64_t{256} << 20;
  // Sessions (and logins in progress) at once, discovery included; one more login is
  // refused with status 0x0302 "out of resources" (RFC 7143 11.13.5).
  uint32_t max_sessions = 4096;
  // Answer a login that names an unknown target, or one the initiator's ACL denies, as a
  // target that requires CHAP answers a stranger (a decoy challenge, then 0x0201), so
  // nobody learns which target names exist; false: 0x0203 / 0x0202 at once.
  bool conceal_targets = true;
  bool operator==(const IscsiConfig&) const = default;
};

struct PortalConfig {
  std::string address;  // "127.0.0.1:3260", "[::1]:3260"; normalised to always carry the port
  uint16_t group_tag = 1;
  bool operator==(const PortalConfig&) const = default;
};

struct LunConfig {
  uint32_t id = 0;    // 0..16383
  std::string store;  // file | memory | null
  std::string path;   // file store only
  uint64_t size = 0;  // bytes; file: size of a file created when missing (0 = use existing file)
  uint32_t block_size = 512;  // 512 | 4096
  // Reported physical block size (READ CAPACITY 16 LBPPBE); 0 = block_size.
  uint32_t physical_block_size = 0;
  bool read_only = false;
  bool removable = false;
  // Offline: the LUN stays reported, but only INQUIRY, REPORT LUNS, REQUEST SENSE and the
  // like run; media access gets NOT READY, OFFLINE (04/12). Changed live without a reset.
  bool offline = false;
  std::string provisioning = "thick";  // thick | thin (thin: UNMAP punches holes)
  // Encryption at rest (backing/crypt/crypt_store.h): "none" or "aes-256-xts". key_file: the
  // key-encryption key (32 bytes or 64 hex digits, mode 0600/0400), an absolute path;
  // required for an encrypted file store (whose wrapped media key lives in "<path>.mek").
  std::string encryption = "none";
  std::string key_file;
  bool write_cache = true;
  std::string vendor, product, serial;  // INQUIRY overrides; empty = built-in default
  uint32_t queue_depth = 1024;  // commands in the LU's task set at once, from all sessions
  bool operator==(const LunConfig&) const = default;
};

// An initiator group: initiators by iSCSI name and/or by source address. An initiator is
// in the group when its name is listed (or `initiators` is empty) and it connects from one
// of `addresses` (or `addresses` is empty); at least one of the two lists is set.
struct GroupConfig {
  std::string name;
  std::vector<std::string> initiators;  // iSCSI names, normalised to lower case
  std::vector<std::string> addresses;   // "10.0.0.0/24", "192.0.2.7", "fd00::/64"
  bool operator==(const GroupConfig&) const = default;
};

// LUN masking: the matched initiators see LU `lu` (the target's own LUN id) as LUN `lun`.
struct LunMapConfig {
  uint32_t lun = 0;
  uint32_t lu = 0;
  bool read_only = false;
  bool operator==(const LunMapConfig&) const = default;
};

// Who may use a target: one initiator (or "ALL"), or a [[group]]; with `maps`, what they
// see (only the mapped LUs, at the mapped numbers); without, every LUN as configured.
// The first entry that matches an initiator decides.
struct AclConfig {
  std::string initiator;  // "ALL" or an iSCSI name (iqn./eui./naa.), normalised to lower case
  std::string group;      // a [[group]] name (instead of initiator)
  std::vector<LunMapConfig> maps;
  bool operator==(const AclConfig&) const = default;
};

// A CHAP account (RFC 7143 12.1.3): a user name and its secret, 12..255 bytes.
struct AccountConfig {
  std::string user;
  std::string secret;
  bool operator==(const AccountConfig&) const = default;
};

// CHAP for a target or for discovery sessions: initiators must authenticate as one of
// `incoming_users`; with `outgoing_user` set they may also ask the target to authenticate
// (mutual CHAP), and with `mutual` they must.
struct ChapConfig {
  std::vector<std::string> incoming_users;  // names of [[account]]s; empty = no CHAP
  std::string outgoing_user;                // an [[account]] name; empty = no mutual CHAP
  bool mutual = false;
  bool operator==(const ChapConfig&) const = default;
};

// A target port group (ALUA, SPC-5 5.16): the portal groups (TPGTs) whose ports it holds,
// its initial access state and its preferred bit.
struct PortGroupConfig {
  uint16_t id = 1;                     // 1..65535, unique within the target
  std::vector<uint16_t> portal_groups;  // [[portal]] group_tag values, at least one
  std::string state = "active/optimized";  // active/optimized | active/non-optimized |
                                           // standby | unavailable | transitioning
  bool preferred = false;
  bool operator==(const PortGroupConfig&) const = default;
};

struct TargetConfig {
  std::string iqn;  // any iSCSI name, normalised to lower case
  std::string alias;
  // true: SET TARGET PORT GROUPS (explicit ALUA) is accepted; implicit ALUA is always on.
  bool alua_explicit = false;
  std::vector<PortGroupConfig> port_groups;  // empty: one group 1 of every portal group
  std::vector<LunConfig> luns;
  std::vector<AclConfig> acls;  // empty = no initiator may see the target
  ChapConfig chap;
  bool operator==(const TargetConfig&) const = default;
};

struct DiscoveryConfig {
  ChapConfig chap;
  bool operator==(const DiscoveryConfig&) const = default;
};

struct Config {
  DaemonConfig daemon;
  IscsiConfig iscsi;
  std::vector<PortalConfig> portals;
  std::vector<TargetConfig> targets;
  std::vector<AccountConfig> accounts;
  std::vector<GroupConfig> groups;
  DiscoveryConfig discovery;
  std::string source;  // file name, or "<default>"
  bool operator==(const Config&) const = default;

  const AccountConfig* find_account(const std::string& user) const;
  const GroupConfig* find_group(const std::string& name) const;
};

struct ConfigError {
  std::string file;
  uint32_t line = 0;  // 1-based; 0 = no line (e.g. a missing section, an unreadable file)
  std::string field;  // path such as "target[0].lun[1].block_size"; may be empty
  std::string message;
  // "FILE:LINE: FIELD: message"; the line and the field are left out when unknown.
  std::string to_string() const;
};

// Parses and validates TOML text. source_name is used in errors and stored in Config::source.
base::Result<Config, ConfigError> parse_config(std::string_view text, std::string_view source_name);

// Reads the file and calls parse_config(). Blocks.
base::Result<Config, ConfigError> load_config_file(const std::string& path);

// Validates and normalises a model built in code (e.g. by the control plane before applying a
// change): iSCSI names lower-cased, portal addresses given their port. Errors carry no line.
base::Result<void, ConfigError> validate_config(Config& config);

// The configuration used when stgtd starts without --config: target iqn.2026-11.org.stgt:demo with
// LUN 1, a 1 GiB file store "<var_dir>/demo-lun1.img" (created sparse on start), block size 512,
// portal 127.0.0.1:3260, ACL ALL.
Config default_config(const std::string& var_dir);

// Serialises back to TOML that parse_config() reads into an equal model (write-back after a
// live change). The caller owns atomic replacement of the file.
std::string to_toml(const Config& config);

}  // namespace stgt::config
