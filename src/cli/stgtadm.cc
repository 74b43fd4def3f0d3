// stgtadm: manage a running stgtd through its control socket (JSON-RPC 2.0, docs/api.md).
//
//   stgtadm [--socket PATH] [--json] NOUN VERB [ARGS]
//
// Tables for people, --json for scripts. Exit status (also in stgtadm(8)):
//   0 success · 1 the daemon refused or failed · 2 bad usage · 3 the daemon cannot be reached
//   4 no such object · 5 already exists · 6 in use (see --force) · 7 invalid configuration
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/units.h"

namespace {

using Json = nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;
constexpr int kExitNotFound = 4;
constexpr int kExitExists = 5;
constexpr int kExitInUse = 6;
constexpr int kExitInvalid = 7;

int exit_code_for(int rpc_code) {
  switch (rpc_code) {
    case -32001:
      return kExitNotFound;
    case -32002:
      return kExitExists;
    case -32003:
      return kExitInUse;
    case -32004:
    case -32602:
      return kExitInvalid;
    default:
      return kExitFailed;
  }
}

struct Options {
  std::string socket;
  bool json = false;
};

// One request, one response line.
int call(const Options& o, const std::string& method, const Json& params, Json& result) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (o.socket.size() >= sizeof(a.sun_path)) {
    std::cerr << "stgtadm: control socket path is too long: " << o.socket << "\n";
    return kExitUsage;
  }
  std::memcpy(a.sun_path, o.socket.c_str(), o.socket.size());
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    std::cerr << "stgtadm: cannot reach stgtd at " << o.socket << ": " << std::strerror(errno)
              << " (is it running? see --socket)\n";
    if (fd >= 0) ::close(fd);
    return kExitUnreachable;
  }
  const std::string line =
      Json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}}.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      std::cerr << "stgtadm: lost the connection to stgtd: " << std::strerror(errno) << "\n";
      ::close(fd);
      return kExitUnreachable;
    }
    sent += size_t(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      std::cerr << "stgtadm: stgtd closed the connection without an answer (permission?)\n";
      ::close(fd);
      return kExitUnreachable;
    }
    in.append(buf, size_t(n));
  }
  ::close(fd);
  Json response;
  try {
    response = Json::parse(in.substr(0, in.find('\n')));
  } catch (const Json::exception&) {
    std::cerr << "stgtadm: stgtd answered something that is not JSON\n";
    return kExitFailed;
  }
  if (response.contains("error")) {
    const Json& e = response["error"];
    std::cerr << "stgtadm: " << e.value("message", std::string("unknown error")) << "\n";
    return exit_code_for(e.value("code", 0));
  }
  result = response.value("result", Json());
  return kExitOk;
}

std::string cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (const Json& item : v) out += (out.empty() ? "" : ",") + cell(item);
    return out.empty() ? "-" : out;
  }
  if (v.is_null()) return "-";
  return v.dump();
}

// Left-aligned columns; `columns` are keys of each row object, printed upper-case.
void print_table(const Json& rows, const std::vector<std::string>& columns) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(columns.size());
  std::vector<std::string> header;
  for (size_t c = 0; c < columns.size(); ++c) {
    std::string h = columns[c];
    for (char& ch : h) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    header.push_back(h);
    width[c] = h.size();
  }
  for (const Json& row : rows) {
    std::vector<std::string> line;
    for (size_t c = 0; c < columns.size(); ++c) {
      line.push_back(row.contains(columns[c]) ? cell(row[columns[c]]) : "-");
      width[c] = std::max(width[c], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t c = 0; c < line.size(); ++c) {
      out += line[c];
      if (c + 1 < line.size()) out += std::string(width[c] - line[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  print_line(header);
  for (const auto& line : cells) print_line(line);
}

void print_object(const Json& obj, const std::string& indent = "") {
  for (const auto& [key, value] : obj.items()) {
    if (value.is_object()) {
      std::cout << indent << key << ":\n";
      print_object(value, indent + "  ");
    } else if (value.is_array() && !value.empty() && value[0].is_object()) {
      std::cout << indent << key << ":\n";
      for (const Json& item : value) {
        std::cout << indent << "  -\n";
        print_object(item, indent + "    ");
      }
    } else {
      std::cout << indent << key << ": " << cell(value) << "\n";
    }
  }
}

void print_report(const Json& r) {
  const bool applied = r.value("applied", false);
  const Json changes = r.value("changes", Json::array());
  if (changes.empty()) std::cout << "no change\n";
  for (const Json& c : changes) std::cout << c.get<std::string>() << "\n";
  for (const Json& s : r.value("restart_needed", Json::array())) {
    std::cout << "restart needed for " << s.get<std::string>() << " (written to the file)\n";
  }
  if (!applied && !changes.empty()) std::cout << "(dry run: nothing applied)\n";
}

// "12.3 MiB" for people (tables); --json has the exact byte counts.
std::string human_bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

// One stats.get entry as a table row: the counters, the mean latency and the bucket bound
// under which 99% of the commands completed.
Json stats_row(const Json& e) {
  Json row = e;
  row["reads"] = e.value("read_commands", uint64_t{0});
  row["writes"] = e.value("write_commands", uint64_t{0});
  row["other"] = e.value("other_commands", uint64_t{0});
  row["read"] = human_bytes(e.value("read_bytes", uint64_t{0}));
  row["written"] = human_bytes(e.value("written_bytes", uint64_t{0}));
  row["check_cond"] = e.value("check_conditions", uint64_t{0});
  const Json lat = e.value("latency", Json::object());
  const uint64_t count = lat.value("count", uint64_t{0});
  row["avg_us"] = count == 0 ? Json("-") : Json(lat.value("sum_us", uint64_t{0}) / count);
  row["p99_us"] = "-";
  uint64_t seen = 0;
  for (const Json& b : lat.value("buckets", Json::array())) {
    seen += b.value("count", uint64_t{0});
    if (count != 0 && seen * 100 >= count * 99) {
      row["p99_us"] = b["le_us"].is_null() ? std::string(">16s") : "<" + b["le_us"].dump();
      break;
    }
  }
  return row;
}

void print_stats(const Json& r) {
  const std::vector<std::string> counters{"reads",      "writes", "other",  "read",  "written",
                                          "check_cond", "aborts", "avg_us", "p99_us"};
  struct Section {
    const char* key;
    const char* title;
    std::vector<std::string> head;
  };
  const Section sections[] = {{"luns", "logical units", {"target", "lun"}},
                              {"sessions", "sessions", {"tsih", "initiator", "target"}},
                              {"connections", "connections", {"tsih", "cid", "peer", "portal"}}};
  size_t present = 0;
  for (const Section& s : sections)
    present += r.contains(s.key) ? 1 : 0;
  bool first = true;
  for (const Section& s : sections) {
    if (!r.contains(s.key)) continue;
    if (present > 1) std::cout << (first ? "" : "\n") << s.title << ":\n";
    first = false;
    Json rows = Json::array();
    for (const Json& e : r[s.key])
      rows.push_back(stats_row(e));
    std::vector<std::string> columns = s.head;
    columns.insert(columns.end(), counters.begin(), counters.end());
    print_table(rows, columns);
  }
}

enum class Print { kTable, kObject, kReport, kToml, kStats, kNone };

struct Command {
  std::string method;
  Json params = Json::object();
  Print print = Print::kNone;
  std::vector<std::string> columns;
};

int run(const Options& o, const Command& c) {
  Json result;
  const int rc = call(o, c.method, c.params, result);
  if (rc != kExitOk) return rc;
  if (o.json) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  switch (c.print) {
    case Print::kTable:
      print_table(result, c.columns);
      break;
    case Print::kObject:
      print_object(result);
      break;
    case Print::kReport:
      print_report(result);
      break;
    case Print::kToml:
      std::cout << result.value("toml", std::string());
      break;
    case Print::kStats:
      print_stats(result);
      break;
    case Print::kNone:
      break;
  }
  return kExitOk;
}

std::string default_socket() {
  const char* env = std::getenv("STGT_SOCKET");
  return env != nullptr && env[0] != '\0' ? env : "/run/stgt/stgtd.sock";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"stgtadm: manage a running stgtd (see stgtadm(8), docs/api.md)"};
  app.require_subcommand(1);
  Options o{default_socket(), false};
  app.add_option("--socket", o.socket, "stgtd's control socket ($STGT_SOCKET)")->capture_default_str();
  app.add_flag("--json", o.json, "print the daemon's JSON answer instead of a table");
  app.set_version_flag("--version", "stgtadm 0.1.0");

  Command cmd;
  // Shared argument holders (one verb runs per invocation).
  std::string iqn, initiator, user, secret, secret_file, file, alias, store, path, size_text,
      provisioning, vendor, product, serial, outgoing, encryption, key_file;
  std::vector<std::string> incoming, group_initiators, group_addresses;
  std::string group;
  uint32_t map_lu = 0;
  uint32_t alua_group = 0;
  std::string alua_state;
  uint32_t lun = 0;
  uint32_t block_size = 512;
  uint32_t physical_block_size = 0;
  uint32_t tsih = 0;
  int64_t stats_lun_filter = -1;
  uint32_t grace = 10;
  bool force = false, dry_run = false, read_only = false, removable = false,
       no_write_cache = false, show_secrets = false, mutual = false, no_mutual = false,
       no_chap = false, offline = false, online = false;

  auto verb = [&](CLI::App* noun, const char* name, const char* help, std::string method,
                  Print print, std::vector<std::string> columns = {}) {
    CLI::App* v = noun->add_subcommand(name, help);
    v->callback([&cmd, method, print, columns] {
      cmd.method = method;
      cmd.print = print;
      cmd.columns = columns;
    });
    return v;
  };

  // target
  CLI::App* target = app.add_subcommand("target", "targets")->require_subcommand(1);
  verb(target, "list", "list targets", "target.list", Print::kTable,
       {"target", "alias", "luns", "sessions", "acl"});
  verb(target, "show", "one target in detail", "target.show", Print::kObject)
      ->add_option("target", iqn, "target IQN")->required();
  CLI::App* target_add = verb(target, "add", "add a target", "target.add", Print::kReport);
  target_add->add_option("target", iqn, "target IQN")->required();
  target_add->add_option("--alias", alias, "TargetAlias");
  CLI::App* target_rm = verb(target, "remove", "remove a target", "target.remove", Print::kReport);
  target_rm->add_option("target", iqn, "target IQN")->required();
  target_rm->add_flag("--force", force, "even while sessions use it (they are closed)");
  CLI::App* target_set =
      verb(target, "set", "change alias or CHAP binding", "target.set", Print::kReport);
  target_set->add_option("target", iqn, "target IQN")->required();
  target_set->add_option("--alias", alias, "TargetAlias");
  target_set->add_option("--chap-user", incoming, "CHAP account initiators may use (repeatable)");
  target_set->add_option("--chap-outgoing", outgoing, "CHAP account for mutual CHAP");
  target_set->add_flag("--mutual-chap", mutual, "require mutual CHAP");
  target_set->add_flag("--no-mutual-chap", no_mutual, "do not require mutual CHAP");
  target_set->add_flag("--no-chap", no_chap, "stop requiring CHAP for this target");

  // lun
  CLI::App* lunc = app.add_subcommand("lun", "logical units")->require_subcommand(1);
  verb(lunc, "list", "the LUNs of a target", "lun.list", Print::kTable,
       {"id", "store", "path", "size", "block_size", "read_only", "provisioning", "encryption", "sessions"})
      ->add_option("target", iqn, "target IQN")->required();
  CLI::App* lun_add = verb(lunc, "add", "add a LUN", "lun.add", Print::kReport);
  lun_add->add_option("target", iqn, "target IQN")->required();
  lun_add->add_option("lun", lun, "LUN number 0..16383")->required()->check(CLI::Range(0, 16383));
  lun_add->add_option("--store", store, "file | memory | null")->required();
  lun_add->add_option("--path", path, "file store: file or block device");
  lun_add->add_option("--size", size_text, "size, e.g. 10GiB (file: created sparse if missing)");
  lun_add->add_option("--block-size", block_size, "512 or 4096")->capture_default_str();
  lun_add->add_option("--physical-block-size", physical_block_size,
                      "reported physical block size (0: the block size)");
  lun_add->add_flag("--read-only", read_only, "write-protected");
  lun_add->add_flag("--removable", removable, "removable medium");
  lun_add->add_option("--provisioning", provisioning, "thick | thin");
  lun_add->add_option("--encryption", encryption, "none | aes-256-xts (encryption at rest)");
  lun_add->add_option("--key-file", key_file,
                      "key-encryption key file (mode 0600 or 0400) for --encryption");
  lun_add->add_flag("--no-write-cache", no_write_cache, "WCE=0: every write durable");
  lun_add->add_option("--vendor", vendor, "INQUIRY vendor");
  lun_add->add_option("--product", product, "INQUIRY product");
  lun_add->add_option("--serial", serial, "unit serial number");
  CLI::App* lun_set = verb(lunc, "set", "resize a LUN in place, or take it offline or online",
                           "lun.set", Print::kReport);
  lun_set->add_option("target", iqn, "target IQN")->required();
  lun_set->add_option("lun", lun, "LUN number")->required()->check(CLI::Range(0, 16383));
  lun_set->add_option("--size", size_text, "new size, e.g. 20GiB (file: grown sparse)");
  CLI::Option* offline_flag =
      lun_set->add_flag("--offline", offline, "media access answered NOT READY, OFFLINE");
  lun_set->add_flag("--online", online, "back in service")->excludes(offline_flag);
  lun_set->add_flag("--force", force, "shrink even while sessions use it");
  CLI::App* lun_rm = verb(lunc, "remove", "remove a LUN", "lun.remove", Print::kReport);
  lun_rm->add_option("target", iqn, "target IQN")->required();
  lun_rm->add_option("lun", lun, "LUN number")->required();
  lun_rm->add_flag("--force", force, "even while sessions use it");

  // acl
  CLI::App* acl = app.add_subcommand("acl", "who may use a target, and what they see")
                      ->require_subcommand(1);
  verb(acl, "list", "ACL entries and their LUN maps", "acl.list", Print::kNone)
      ->add_option("target", iqn, "target IQN")->required();
  for (const char* name : {"add", "remove", "map", "unmap"}) {
    const std::string n = name;
    const char* help = n == "add"      ? "admit an initiator or a group"
                       : n == "remove" ? "revoke access"
                       : n == "map"    ? "LUN masking: show LU --lu as LUN --lun"
                                       : "remove a LUN from the entry's map";
    CLI::App* v = verb(acl, name, help, "acl." + n, Print::kReport);
    v->add_option("target", iqn, "target IQN")->required();
    v->add_option("initiator", initiator, "initiator IQN, or ALL");
    v->add_option("--group", group, "an initiator group instead of one initiator");
    if (n == "map" || n == "unmap") {
      v->add_option("--lun", lun, "LUN number the initiators see")->required();
    }
    if (n == "map") {
      v->add_option("--lu", map_lu, "the target's LUN shown there")->required();
      v->add_flag("--read-only", read_only, "shown write-protected");
    }
  }

  // alua
  CLI::App* alua = app.add_subcommand("alua", "ALUA target port groups")->require_subcommand(1);
  verb(alua, "list", "port groups and their states", "alua.list", Print::kTable,
       {"group", "state", "preferred", "portal_groups"})
      ->add_option("target", iqn, "target IQN")->required();
  CLI::App* alua_set = verb(alua, "set", "change a port group's state", "alua.set", Print::kReport);
  alua_set->add_option("target", iqn, "target IQN")->required();
  alua_set->add_option("group", alua_group, "target port group id")->required();
  alua_set->add_option("state", alua_state,
                       "active/optimized | active/non-optimized | standby | unavailable | "
                       "transitioning")
      ->required();

  // group
  CLI::App* groupc = app.add_subcommand("group", "initiator groups")->require_subcommand(1);
  verb(groupc, "list", "initiator groups", "group.list", Print::kTable,
       {"name", "initiators", "addresses"});
  CLI::App* group_add = verb(groupc, "add", "add a group", "group.add", Print::kReport);
  group_add->add_option("name", group, "group name")->required();
  group_add->add_option("--initiator", group_initiators, "member IQN (repeatable)");
  group_add->add_option("--address", group_addresses, "member address or prefix (repeatable)");
  verb(groupc, "remove", "remove a group no ACL uses", "group.remove", Print::kReport)
      ->add_option("name", group, "group name")->required();

  // account
  CLI::App* account = app.add_subcommand("account", "CHAP accounts")->require_subcommand(1);
  verb(account, "list", "CHAP accounts", "account.list", Print::kTable, {"user", "secret"})
      ->add_flag("--show-secrets", show_secrets, "print the secrets");
  CLI::App* account_add = verb(account, "add", "add a CHAP account", "account.add", Print::kReport);
  account_add->add_option("user", user, "CHAP name")->required();
  account_add->add_option("--secret-file", secret_file,
                          "read the secret from this file (default: from standard input)");
  verb(account, "remove", "remove a CHAP account", "account.remove", Print::kReport)
      ->add_option("user", user, "CHAP name")->required();
  CLI::App* discovery = app.add_subcommand("discovery", "discovery sessions")->require_subcommand(1);
  CLI::App* discovery_set =
      verb(discovery, "set", "CHAP for discovery sessions", "discovery.set", Print::kReport);
  discovery_set->add_option("--chap-user", incoming, "CHAP account (repeatable); none: no CHAP");
  discovery_set->add_option("--chap-outgoing", outgoing, "CHAP account for mutual CHAP");

  // session / connection / portal
  CLI::App* session = app.add_subcommand("session", "iSCSI sessions")->require_subcommand(1);
  const std::vector<std::string> session_columns{"tsih", "initiator", "target", "peer", "portal",
                                                 "isid", "age_seconds", "tasks"};
  verb(session, "list", "sessions", "session.list", Print::kTable, session_columns)
      ->add_option("--target", iqn, "only sessions of this target");
  CLI::App* session_close =
      verb(session, "close", "ask an initiator to log out", "session.close", Print::kObject);
  session_close->add_option("tsih", tsih, "session handle (session list)")->required();
  session_close->add_flag("--force", force, "drop the connection at once");
  session_close->add_option("--grace", grace, "seconds the initiator has to log out")
      ->capture_default_str();
  CLI::App* connection = app.add_subcommand("connection", "iSCSI connections (one per session)")
                             ->require_subcommand(1);
  verb(connection, "list", "connections", "session.list", Print::kTable,
       {"tsih", "cid", "peer", "portal", "reactor", "type"});
  CLI::App* portal = app.add_subcommand("portal", "portals")->require_subcommand(1);
  verb(portal, "list", "listening portals", "portal.list", Print::kTable, {"address", "group_tag"});
  std::string portal_address;
  uint32_t group_tag = 1;
  CLI::App* portal_add =
      verb(portal, "add", "listen on a new portal", "portal.add", Print::kReport);
  portal_add->add_option("address", portal_address, "ADDR:PORT, e.g. 192.0.2.1:3260 or [::1]:3260")
      ->required();
  portal_add->add_option("--group-tag", group_tag, "target portal group tag")
      ->capture_default_str();
  CLI::App* portal_rm =
      verb(portal, "remove", "stop listening on a portal", "portal.remove", Print::kReport);
  portal_rm->add_option("address", portal_address, "ADDR:PORT")->required();
  portal_rm->add_flag("--force", force, "even while sessions use it (they are closed)");

  // stats
  std::string stats_kind;
  CLI::App* stats = app.add_subcommand("stats", "statistics (all kinds when none is named)")
                        ->require_subcommand(0, 1);
  stats->callback([&cmd, &stats_kind] {
    cmd.method = "stats.get";
    cmd.print = Print::kStats;
    if (!stats_kind.empty()) cmd.params["kind"] = stats_kind;
  });
  CLI::App* stats_lun = stats->add_subcommand("lun", "per logical unit");
  stats_lun->callback([&stats_kind] { stats_kind = "lun"; });
  stats_lun->add_option("target", iqn, "only this target");
  stats_lun->add_option("lun", stats_lun_filter, "only this LUN")->check(CLI::Range(0, 16383));
  for (const char* kind : {"session", "connection"}) {
    CLI::App* k = stats->add_subcommand(kind, std::string("per ") + kind);
    k->callback([&stats_kind, kind] { stats_kind = kind; });
    k->add_option("--target", iqn, "only sessions of this target");
    k->add_option("--tsih", tsih, "only this session");
  }

  // config / daemon
  CLI::App* cfg = app.add_subcommand("config", "the configuration")->require_subcommand(1);
  verb(cfg, "show", "the running configuration (TOML)", "config.show", Print::kToml)
      ->add_flag("--show-secrets", show_secrets, "print CHAP secrets");
  CLI::App* cfg_apply =
      verb(cfg, "apply", "make the daemon match FILE", "config.apply", Print::kReport);
  cfg_apply->add_option("file", file, "TOML configuration")->required()->check(CLI::ExistingFile);
  cfg_apply->add_flag("--dry-run", dry_run, "only show the difference");
  cfg_apply->add_flag("--force", force, "remove what sessions use");
  verb(cfg, "reload", "re-read the daemon's own file (as SIGHUP)", "config.reload", Print::kReport);
  CLI::App* daemon = app.add_subcommand("daemon", "the daemon")->require_subcommand(1);
  verb(daemon, "status", "version, uptime, counts", "daemon.status", Print::kObject);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  Json& p = cmd.params;
  if (!iqn.empty()) p["target"] = iqn;
  if (cmd.method == "target.add" || cmd.method == "target.set") {
    if (!alias.empty()) p["alias"] = alias;
  }
  if (cmd.method == "target.set" || cmd.method == "discovery.set") {
    if (!incoming.empty()) p["incoming_users"] = incoming;
    if (!outgoing.empty()) p["outgoing_user"] = outgoing;
    if (mutual) p["mutual_chap"] = true;
    if (no_mutual) p["mutual_chap"] = false;
    if (no_chap) {
      p["incoming_users"] = Json::array();
      p["outgoing_user"] = "";
      p["mutual_chap"] = false;
    }
  }
  if (cmd.method == "portal.add" || cmd.method == "portal.remove") p["address"] = portal_address;
  if (cmd.method == "portal.add") p["group_tag"] = group_tag;
  if (cmd.method == "lun.set") {
    p["lun"] = lun;
    if (size_text.empty() && !offline && !online) {
      std::cerr << "stgtadm: lun set needs --size, --offline or --online\n";
      return kExitUsage;
    }
    if (!size_text.empty()) {
      const auto size = stgt::base::parse_size(size_text);
      if (!size || *size == 0) {
        std::cerr << "stgtadm: not a size: " << size_text << " (examples: 4096, 512MiB, 10GiB)\n";
        return kExitUsage;
      }
      p["size"] = *size;
    }
    if (offline || online) p["offline"] = offline;
  }
  if (cmd.method == "lun.add") {
    p["lun"] = lun;
    p["store"] = store;
    if (!path.empty()) p["path"] = path;
    if (!size_text.empty()) {
      const auto size = stgt::base::parse_size(size_text);
      if (!size) {
        std::cerr << "stgtadm: not a size: " << size_text << " (examples: 4096, 512MiB, 10GiB)\n";
        return kExitUsage;
      }
      p["size"] = *size;
    }
    p["block_size"] = block_size;
    if (physical_block_size != 0) p["physical_block_size"] = physical_block_size;
    p["read_only"] = read_only;
    p["removable"] = removable;
    if (!provisioning.empty()) p["provisioning"] = provisioning;
    if (!encryption.empty()) p["encryption"] = encryption;
    // The daemon does not run in our directory: a relative path is made absolute here.
    if (!key_file.empty()) p["key_file"] = std::filesystem::absolute(key_file).string();
    p["write_cache"] = !no_write_cache;
    if (!vendor.empty()) p["vendor"] = vendor;
    if (!product.empty()) p["product"] = product;
    if (!serial.empty()) p["serial"] = serial;
  }
  if (cmd.method == "lun.remove") p["lun"] = lun;
  if (cmd.method.starts_with("acl.") && cmd.method != "acl.list") {
    if (!initiator.empty()) p["initiator"] = initiator;
    if (!group.empty()) p["group"] = group;
    if (cmd.method == "acl.map" || cmd.method == "acl.unmap") p["lun"] = lun;
    if (cmd.method == "acl.map") {
      p["lu"] = map_lu;
      p["read_only"] = read_only;
    }
  }
  if (cmd.method.starts_with("group.") && !group.empty()) p["name"] = group;
  if (cmd.method == "alua.set") {
    p["group"] = alua_group;
    p["state"] = alua_state;
  }
  if (cmd.method == "group.add") {
    p["initiators"] = group_initiators;
    p["addresses"] = group_addresses;
  }
  if (cmd.method.starts_with("account.") && !user.empty()) p["user"] = user;
  if (cmd.method == "account.add") {
    // The secret never goes on the command line (it would show in ps and shell history).
    std::string s;
    if (!secret_file.empty()) {
      std::ifstream in(secret_file);
      if (!in) {
        std::cerr << "stgtadm: cannot read " << secret_file << "\n";
        return kExitUsage;
      }
      std::getline(in, s);
    } else {
      if (::isatty(STDIN_FILENO)) std::cerr << "CHAP secret for " << user << ": ";
      std::getline(std::cin, s);
    }
    p["secret"] = s;
  }
  if (show_secrets) p["show_secrets"] = true;
  if (force) p["force"] = true;
  if (dry_run) p["dry_run"] = true;
  if (cmd.method == "session.close") {
    p["tsih"] = tsih;
    p["grace_seconds"] = grace;
  }
  if (cmd.method == "stats.get") {
    if (stats_lun_filter >= 0) p["lun"] = stats_lun_filter;
    if (tsih != 0) p["tsih"] = tsih;
  }
  if (cmd.method == "config.apply") {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    p["toml"] = text.str();
  }
  if (cmd.method == "acl.list" && !o.json) {
    Json result;
    const int rc = call(o, cmd.method, p, result);
    if (rc != kExitOk) return rc;
    for (const Json& a : result) {
      std::string line = a.value("group", std::string()).empty()
                             ? a.value("initiator", std::string())
                             : "group " + a.value("group", std::string());
      for (const Json& m : a.value("map", Json::array())) {
        line += fmt::format("  lun {}=lu {}{}", m.value("lun", 0), m.value("lu", 0),
                            m.value("read_only", false) ? " (ro)" : "");
      }
      std::cout << line << "\n";
    }
    return kExitOk;
  }
  return run(o, cmd);
}
