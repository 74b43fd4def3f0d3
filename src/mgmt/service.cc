#include "mgmt/service.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "config/iscsi_name.h"
#include "config/portal_address.h"
#include "mgmt/stats_service.h"
#include "scsi/alua.h"
#include "scsi/nexus_registry.h"
#include "scsi/target.h"

namespace stgt::mgmt {

namespace {

using config::Config;
using config::TargetConfig;

// Unwraps a Result<T, RpcError> or returns its error from the enclosing method.
#define STGT_TRY(var, expr)                               \
  auto var##_result = (expr);                             \
  if (!var##_result) return base::unexpected(var##_result.error()); \
  auto var = std::move(var##_result).value()

base::Result<std::string, RpcError> target_param(const Json& params) {
  STGT_TRY(iqn, param_string(params, "target"));
  auto name = config::normalize_iscsi_name(iqn);
  if (!name) return rpc_error(RpcErrorCode::kInvalidParams, "bad target name: " + name.error());
  return std::move(name).value();
}

// A portal address from params, in the configuration's canonical form.
base::Result<std::string, RpcError> portal_param(const Json& params) {
  STGT_TRY(text, param_string(params, "address"));
  auto a = config::parse_portal_address(text);
  if (!a)
    return rpc_error(RpcErrorCode::kInvalidParams, "bad portal address " + text + ": " + a.error());
  return a->to_string();
}

TargetConfig* find_target(Config& c, const std::string& iqn) {
  for (TargetConfig& t : c.targets) {
    if (t.iqn == iqn) return &t;
  }
  return nullptr;
}

base::Unexpected<RpcError> no_target(const std::string& iqn) {
  return rpc_error(RpcErrorCode::kNotFound, "no target " + iqn);
}

Json report_json(const ApplyReport& r) {
  return Json{{"applied", r.applied}, {"changes", r.changes}, {"restart_needed", r.restart_needed}};
}

RpcResult apply(Runtime& rt, Config next, const Json& params) {
  STGT_TRY(force, param_bool(params, "force", false));
  STGT_TRY(dry_run, param_bool(params, "dry_run", false));
  auto report = rt.apply(std::move(next), ApplyOptions{dry_run, force});
  if (!report) return base::unexpected(report.error());
  return report_json(*report);
}

Json lun_json(const config::LunConfig& l) {
  return Json{{"id", l.id},
              {"store", l.store},
              {"path", l.path},
              {"size", l.size},
              {"block_size", l.block_size},
              {"physical_block_size", l.physical_block_size},
              {"read_only", l.read_only},
              {"removable", l.removable},
              {"offline", l.offline},
              {"provisioning", l.provisioning},
              {"encryption", l.encryption},
              {"key_file", l.key_file},
              {"write_cache", l.write_cache},
              {"vendor", l.vendor},
              {"product", l.product},
              {"serial", l.serial}};
}

Json chap_json(const config::ChapConfig& c) {
  return Json{{"incoming_users", c.incoming_users},
              {"outgoing_user", c.outgoing_user},
              {"mutual_chap", c.mutual}};
}

Json target_json(Runtime& rt, const TargetConfig& t, bool detail) {
  Json j{{"target", t.iqn},
         {"alias", t.alias},
         {"luns", t.luns.size()},
         {"sessions", rt.sessions_using(t.iqn)}};
  std::vector<std::string> acls;
  for (const config::AclConfig& a : t.acls) {
    acls.push_back(a.group.empty() ? a.initiator : "group:" + a.group);
  }
  j["acl"] = acls;
  if (detail) {
    Json luns = Json::array();
    for (const config::LunConfig& l : t.luns) {
      Json lj = lun_json(l);
      lj["sessions"] = rt.sessions_using(t.iqn, l.id);
      luns.push_back(std::move(lj));
    }
    j["lun_list"] = std::move(luns);
    j["chap"] = chap_json(t.chap);
  }
  return j;
}

Json session_json(const iscsi::SessionInfo& s) {
  return Json{{"tsih", s.tsih},
              {"isid", fmt::format("0x{:012x}", s.isid)},
              {"cid", s.cid},
              {"initiator", s.initiator},
              {"initiator_alias", s.initiator_alias},
              {"target", s.target},
              {"type", s.discovery ? "discovery" : "normal"},
              {"peer", s.peer},
              {"portal", s.local},
              {"portal_group_tag", s.portal_group_tag},
              {"reactor", s.reactor},
              {"age_seconds", int64_t(s.age_seconds)},
              {"tasks", s.tasks},
              {"parameters",
               {{"HeaderDigest", s.connection.header_digest ? "CRC32C" : "None"},
                {"DataDigest", s.connection.data_digest ? "CRC32C" : "None"},
                {"MaxRecvDataSegmentLength", s.connection.max_recv_data_segment_length},
                {"InitiatorMaxRecvDataSegmentLength", s.connection.max_xmit_data_segment_length},
                {"MaxBurstLength", s.session.max_burst_length},
                {"FirstBurstLength", s.session.first_burst_length},
                {"InitialR2T", s.session.initial_r2t},
                {"ImmediateData", s.session.immediate_data},
                {"MaxOutstandingR2T", s.session.max_outstanding_r2t},
                {"ErrorRecoveryLevel", s.session.error_recovery_level}}}};
}

// A LUN from params: the fields of [[target.lun]] (docs/configuration.md).
base::Result<config::LunConfig, RpcError> lun_from(const Json& p) {
  config::LunConfig l;
  STGT_TRY(id, param_uint(p, "lun", UINT64_MAX, 16383));
  if (id == UINT64_MAX) return rpc_error(RpcErrorCode::kInvalidParams, "missing parameter \"lun\"");
  l.id = uint32_t(id);
  STGT_TRY(store, param_string(p, "store"));
  l.store = store;
  STGT_TRY(path, param_string(p, "path", false));
  l.path = path;
  STGT_TRY(size, param_uint(p, "size", 0, UINT64_MAX));
  l.size = size;
  STGT_TRY(bs, param_uint(p, "block_size", 512, 65536));
  l.block_size = uint32_t(bs);
  STGT_TRY(pbs, param_uint(p, "physical_block_size", 0, 65536));
  l.physical_block_size = uint32_t(pbs);
  STGT_TRY(ro, param_bool(p, "read_only", false));
  l.read_only = ro;
  STGT_TRY(rm, param_bool(p, "removable", false));
  l.removable = rm;
  STGT_TRY(off, param_bool(p, "offline", false));
  l.offline = off;
  STGT_TRY(prov, param_string(p, "provisioning", false));
  if (!prov.empty()) l.provisioning = prov;
  STGT_TRY(enc, param_string(p, "encryption", false));
  if (!enc.empty()) l.encryption = enc;
  STGT_TRY(kek, param_string(p, "key_file", false));
  l.key_file = kek;
  STGT_TRY(wc, param_bool(p, "write_cache", true));
  l.write_cache = wc;
  STGT_TRY(vendor, param_string(p, "vendor", false));
  l.vendor = vendor;
  STGT_TRY(product, param_string(p, "product", false));
  l.product = product;
  STGT_TRY(serial, param_string(p, "serial", false));
  l.serial = serial;
  return l;
}

std::string mask_secrets(Config c) {
  for (config::AccountConfig& a : c.accounts) a.secret = "********";
  return config::to_toml(c);
}

// The CHAP keys of target.set and discovery.set; only those present change.
base::Result<void, RpcError> chap_params(const Json& p, config::ChapConfig& chap) {
  if (p.contains("incoming_users")) {
    if (!p["incoming_users"].is_array()) {
      return rpc_error(RpcErrorCode::kInvalidParams, "\"incoming_users\" must be an array of names");
    }
    chap.incoming_users.clear();
    for (const Json& u : p["incoming_users"]) {
      if (!u.is_string()) return rpc_error(RpcErrorCode::kInvalidParams, "user names are strings");
      chap.incoming_users.push_back(u.get<std::string>());
    }
  }
  if (p.contains("outgoing_user")) {
    STGT_TRY(out, param_string(p, "outgoing_user", false));
    chap.outgoing_user = out;
  }
  if (p.contains("mutual_chap")) {
    STGT_TRY(m, param_bool(p, "mutual_chap", false));
    chap.mutual = m;
  }
  return {};
}

void register_daemon(Dispatcher& d, Runtime& rt, const DaemonInfo& info) {
  d.add("daemon.status", "version, uptime, reactors, counts", [&rt, info](const Json&) -> RpcResult {
    const auto up = std::chrono::steady_clock::now() - info.started_at;
    const auto sessions = rt.server().sessions();
    return Json{{"version", info.version},
                {"pid", ::getpid()},
                {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(up).count()},
                {"reactors", info.reactors},
                {"io_backend", info.io_backend},
                {"config_path", rt.config_path()},
                {"targets", rt.config().targets.size()},
                {"sessions", sessions.size()}};
  });
}

void register_targets(Dispatcher& d, Runtime& rt) {
  d.add("target.list", "every target with its LUN, session and ACL counts",
        [&rt](const Json&) -> RpcResult {
          Json out = Json::array();
          for (const TargetConfig& t : rt.config().targets) out.push_back(target_json(rt, t, false));
          return out;
        });
  d.add("target.show", "one target: LUNs, ACL, CHAP binding, sessions",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          Config c = rt.config();
          const TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          return target_json(rt, *t, true);
        });
  d.add("target.add", "adds a target (no LUNs, no ACL)", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    STGT_TRY(alias, param_string(p, "alias", false));
    Config c = rt.config();
    if (find_target(c, iqn) != nullptr) {
      return rpc_error(RpcErrorCode::kAlreadyExists, "target " + iqn + " already exists");
    }
    c.targets.push_back(TargetConfig{.iqn = iqn, .alias = alias});
    return apply(rt, std::move(c), p);
  });
  d.add("target.remove", "removes a target (force: even with sessions)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          Config c = rt.config();
          if (find_target(c, iqn) == nullptr) return no_target(iqn);
          std::erase_if(c.targets, [&](const TargetConfig& t) { return t.iqn == iqn; });
          return apply(rt, std::move(c), p);
        });
  d.add("target.set", "changes a target's alias or CHAP binding", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    Config c = rt.config();
    TargetConfig* t = find_target(c, iqn);
    if (t == nullptr) return no_target(iqn);
    if (p.contains("alias")) {
      STGT_TRY(alias, param_string(p, "alias"));
      t->alias = alias;
    }
    if (auto chap = chap_params(p, t->chap); !chap) return base::unexpected(chap.error());
    return apply(rt, std::move(c), p);
  });
}

void register_luns(Dispatcher& d, Runtime& rt) {
  d.add("lun.list", "the LUNs of a target", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    Config c = rt.config();
    const TargetConfig* t = find_target(c, iqn);
    if (t == nullptr) return no_target(iqn);
    Json out = Json::array();
    for (const config::LunConfig& l : t->luns) {
      Json j = lun_json(l);
      j["sessions"] = rt.sessions_using(iqn, l.id);
      out.push_back(std::move(j));
    }
    return out;
  });
  d.add("lun.add", "adds a LUN (fields of [[target.lun]])", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    STGT_TRY(lun, lun_from(p));
    Config c = rt.config();
    TargetConfig* t = find_target(c, iqn);
    if (t == nullptr) return no_target(iqn);
    if (std::any_of(t->luns.begin(), t->luns.end(),
                    [&](const config::LunConfig& l) { return l.id == lun.id; })) {
      return rpc_error(RpcErrorCode::kAlreadyExists,
                       "target " + iqn + " already has LUN " + std::to_string(lun.id));
    }
    t->luns.push_back(lun);
    std::sort(t->luns.begin(), t->luns.end(),
              [](const config::LunConfig& a, const config::LunConfig& b) { return a.id < b.id; });
    return apply(rt, std::move(c), p);
  });
  d.add("lun.set",
        "resizes a LUN in place (size in bytes; file and null stores; sessions stay and are "
        "told CAPACITY DATA HAS CHANGED; force: shrink even while sessions use it) and/or "
        "takes it offline or online (offline: true | false)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(id, param_uint(p, "lun", UINT64_MAX, 16383));
          STGT_TRY(size, param_uint(p, "size", 0, UINT64_MAX));
          if (id == UINT64_MAX)
            return rpc_error(RpcErrorCode::kInvalidParams, "missing parameter \"lun\"");
          const bool has_offline = p.contains("offline");
          STGT_TRY(offline, param_bool(p, "offline", false));
          if (size == 0 && !has_offline) {
            return rpc_error(RpcErrorCode::kInvalidParams,
                             "give \"size\" (bytes) or \"offline\" (true or false)");
          }
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          const auto l = std::find_if(t->luns.begin(), t->luns.end(),
                                      [&](const config::LunConfig& x) { return x.id == id; });
          if (l == t->luns.end()) {
            return rpc_error(RpcErrorCode::kNotFound,
                             "target " + iqn + " has no LUN " + std::to_string(id));
          }
          if (has_offline) l->offline = offline;
          if (size == 0) return apply(rt, std::move(c), p);
          const auto lu = rt.live_lu(iqn, uint32_t(id));
          if (lu == nullptr || lu->store() == nullptr || !lu->store()->resizable()) {
            return rpc_error(RpcErrorCode::kFailed,
                             "LUN " + std::to_string(id) + " of " + iqn + " (a " + l->store +
                                 " store" + (l->store == "file" ? " on a block device" : "") +
                                 ") cannot be resized live");
          }
          if (size < l->block_size) {
            return rpc_error(
                RpcErrorCode::kInvalidParams,
                "the size must hold at least one " + std::to_string(l->block_size) + "-byte block");
          }
          l->size = size;
          return apply(rt, std::move(c), p);
        });
  d.add("lun.remove", "removes a LUN (force: even while sessions use it)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(id, param_uint(p, "lun", UINT64_MAX, 16383));
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          const size_t before = t->luns.size();
          std::erase_if(t->luns, [&](const config::LunConfig& l) { return l.id == id; });
          if (t->luns.size() == before) {
            return rpc_error(RpcErrorCode::kNotFound,
                             "target " + iqn + " has no LUN " + std::to_string(id));
          }
          return apply(rt, std::move(c), p);
        });
}

// Who an ACL entry is about: {"initiator": NAME|"ALL"} or {"group": NAME}.
struct AclWho {
  std::string initiator;
  std::string group;
  std::string text() const { return group.empty() ? initiator : "group " + group; }
  bool matches(const config::AclConfig& a) const {
    return a.initiator == initiator && a.group == group;
  }
};

base::Result<AclWho, RpcError> acl_who(const Json& p) {
  STGT_TRY(name, param_string(p, "initiator", false));
  STGT_TRY(group, param_string(p, "group", false));
  if (name.empty() == group.empty()) {
    return rpc_error(RpcErrorCode::kInvalidParams, "give exactly one of \"initiator\" or \"group\"");
  }
  if (!group.empty()) return AclWho{"", group};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char ch) { return char(std::tolower(static_cast<unsigned char>(ch))); });
  if (lower == "all") return AclWho{"ALL", ""};
  auto n = config::normalize_iscsi_name(name);
  if (!n) return rpc_error(RpcErrorCode::kInvalidParams, "bad initiator name: " + n.error());
  return AclWho{std::move(n).value(), ""};
}

Json acl_json(const config::AclConfig& a) {
  Json maps = Json::array();
  for (const config::LunMapConfig& m : a.maps) {
    maps.push_back(Json{{"lun", m.lun}, {"lu", m.lu}, {"read_only", m.read_only}});
  }
  return Json{{"initiator", a.initiator}, {"group", a.group}, {"map", maps}};
}

void register_acls(Dispatcher& d, Runtime& rt) {
  d.add("acl.list", "who may use a target, and their LUN maps", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    Config c = rt.config();
    const TargetConfig* t = find_target(c, iqn);
    if (t == nullptr) return no_target(iqn);
    Json out = Json::array();
    for (const config::AclConfig& a : t->acls) out.push_back(acl_json(a));
    return out;
  });
  d.add("acl.add", "admits an initiator (or ALL) or a group to a target",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(who, acl_who(p));
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          for (const config::AclConfig& a : t->acls) {
            if (who.matches(a)) {
              return rpc_error(RpcErrorCode::kAlreadyExists, who.text() + " is already admitted to " + iqn);
            }
          }
          t->acls.push_back({who.initiator, who.group, {}});
          return apply(rt, std::move(c), p);
        });
  d.add("acl.remove", "revokes access (the sessions that lose it are closed)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(who, acl_who(p));
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          const size_t before = t->acls.size();
          std::erase_if(t->acls, [&](const config::AclConfig& a) { return who.matches(a); });
          if (t->acls.size() == before) {
            return rpc_error(RpcErrorCode::kNotFound, who.text() + " is not in the ACL of " + iqn);
          }
          return apply(rt, std::move(c), p);
        });
  d.add("acl.map", "LUN masking: show LU `lu` as LUN `lun` to an ACL entry (optionally read-only)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(who, acl_who(p));
          STGT_TRY(lun, param_uint(p, "lun", UINT64_MAX, 16383));
          STGT_TRY(lu, param_uint(p, "lu", UINT64_MAX, 16383));
          STGT_TRY(ro, param_bool(p, "read_only", false));
          if (lun == UINT64_MAX || lu == UINT64_MAX) {
            return rpc_error(RpcErrorCode::kInvalidParams, "\"lun\" and \"lu\" are required");
          }
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          for (config::AclConfig& a : t->acls) {
            if (!who.matches(a)) continue;
            std::erase_if(a.maps, [&](const config::LunMapConfig& m) { return m.lun == lun; });
            a.maps.push_back({uint32_t(lun), uint32_t(lu), ro});
            std::sort(a.maps.begin(), a.maps.end(),
                      [](const config::LunMapConfig& x, const config::LunMapConfig& y) { return x.lun < y.lun; });
            return apply(rt, std::move(c), p);
          }
          return rpc_error(RpcErrorCode::kNotFound, who.text() + " is not in the ACL of " + iqn);
        });
  d.add("acl.unmap", "removes LUN `lun` from an ACL entry's LUN map", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(iqn, target_param(p));
    STGT_TRY(who, acl_who(p));
    STGT_TRY(lun, param_uint(p, "lun", UINT64_MAX, 16383));
    Config c = rt.config();
    TargetConfig* t = find_target(c, iqn);
    if (t == nullptr) return no_target(iqn);
    for (config::AclConfig& a : t->acls) {
      if (!who.matches(a)) continue;
      const size_t before = a.maps.size();
      std::erase_if(a.maps, [&](const config::LunMapConfig& m) { return m.lun == lun; });
      if (a.maps.size() == before) {
        return rpc_error(RpcErrorCode::kNotFound, who.text() + " has no LUN " + std::to_string(lun) + " mapped");
      }
      return apply(rt, std::move(c), p);
    }
    return rpc_error(RpcErrorCode::kNotFound, who.text() + " is not in the ACL of " + iqn);
  });
}

void register_alua(Dispatcher& d, Runtime& rt) {
  d.add("alua.list", "a target's port groups with their live ALUA states",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          const auto catalog = rt.server().catalog();
          const auto target = catalog->find(iqn);
          if (target == nullptr) return no_target(iqn);
          Json out = Json::array();
          const scsi::AluaGroups& groups = target->alua();
          for (size_t i = 0; i < groups.size(); ++i) {
            const scsi::TargetPortGroup& g = groups.at(i);
            std::vector<uint16_t> ports(g.relative_port_ids().begin(), g.relative_port_ids().end());
            out.push_back(Json{{"group", g.id()},
                               {"state", std::string(scsi::to_string(g.state()))},
                               {"preferred", g.preferred()},
                               {"portal_groups", ports}});
          }
          return out;
        });
  d.add("alua.set",
        "sets a target port group's ALUA state (an implicit transition; saved in the file)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(iqn, target_param(p));
          STGT_TRY(id, param_uint(p, "group", 0, 65535));
          STGT_TRY(state, param_string(p, "state"));
          if (!scsi::parse_alua_state(state)) {
            return rpc_error(RpcErrorCode::kInvalidParams,
                             "state must be active/optimized, active/non-optimized, standby, "
                             "unavailable or transitioning");
          }
          Config c = rt.config();
          TargetConfig* t = find_target(c, iqn);
          if (t == nullptr) return no_target(iqn);
          if (t->port_groups.empty() && id == 1) {
            // The implicit single group becomes explicit configuration.
            config::PortGroupConfig g{.id = 1};
            for (const config::PortalConfig& portal : c.portals) g.portal_groups.push_back(portal.group_tag);
            t->port_groups.push_back(std::move(g));
          }
          for (config::PortGroupConfig& g : t->port_groups) {
            if (g.id != id) continue;
            g.state = state;
            return apply(rt, std::move(c), p);
          }
          return rpc_error(RpcErrorCode::kNotFound,
                           "target " + iqn + " has no port group " + std::to_string(id));
        });
}

void register_groups(Dispatcher& d, Runtime& rt) {
  d.add("group.list", "initiator groups", [&rt](const Json&) -> RpcResult {
    Json out = Json::array();
    for (const config::GroupConfig& g : rt.config().groups) {
      out.push_back(Json{{"name", g.name}, {"initiators", g.initiators}, {"addresses", g.addresses}});
    }
    return out;
  });
  d.add("group.add", "adds an initiator group (initiators and/or addresses)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(name, param_string(p, "name"));
          config::GroupConfig g{.name = name};
          for (const char* key : {"initiators", "addresses"}) {
            if (!p.contains(key)) continue;
            if (!p[key].is_array()) {
              return rpc_error(RpcErrorCode::kInvalidParams, std::string("\"") + key + "\" must be an array of strings");
            }
            for (const Json& v : p[key]) {
              if (!v.is_string()) return rpc_error(RpcErrorCode::kInvalidParams, std::string(key) + " are strings");
              (std::string(key) == "initiators" ? g.initiators : g.addresses).push_back(v.get<std::string>());
            }
          }
          Config c = rt.config();
          if (c.find_group(name) != nullptr) {
            return rpc_error(RpcErrorCode::kAlreadyExists, "group " + name + " already exists");
          }
          c.groups.push_back(std::move(g));
          return apply(rt, std::move(c), p);
        });
  d.add("group.remove", "removes a group no ACL uses", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(name, param_string(p, "name"));
    Config c = rt.config();
    if (c.find_group(name) == nullptr) return rpc_error(RpcErrorCode::kNotFound, "no group " + name);
    for (const TargetConfig& t : c.targets) {
      for (const config::AclConfig& a : t.acls) {
        if (a.group == name) {
          return rpc_error(RpcErrorCode::kInUse, "group " + name + " is in the ACL of " + t.iqn);
        }
      }
    }
    std::erase_if(c.groups, [&](const config::GroupConfig& g) { return g.name == name; });
    return apply(rt, std::move(c), p);
  });
}

void register_accounts(Dispatcher& d, Runtime& rt) {
  d.add("account.list", "CHAP accounts (secrets only with show_secrets)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(show, param_bool(p, "show_secrets", false));
          Json out = Json::array();
          for (const config::AccountConfig& a : rt.config().accounts) {
            out.push_back(Json{{"user", a.user}, {"secret", show ? a.secret : "********"}});
          }
          return out;
        });
  d.add("account.add", "adds a CHAP account", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(user, param_string(p, "user"));
    STGT_TRY(secret, param_string(p, "secret"));
    Config c = rt.config();
    if (c.find_account(user) != nullptr) {
      return rpc_error(RpcErrorCode::kAlreadyExists, "account " + user + " already exists");
    }
    c.accounts.push_back({user, secret});
    return apply(rt, std::move(c), p);
  });
  d.add("account.remove", "removes a CHAP account that nothing uses", [&rt](const Json& p) -> RpcResult {
    STGT_TRY(user, param_string(p, "user"));
    Config c = rt.config();
    if (c.find_account(user) == nullptr) {
      return rpc_error(RpcErrorCode::kNotFound, "no account " + user);
    }
    auto uses = [&user](const config::ChapConfig& chap) {
      return chap.outgoing_user == user ||
             std::find(chap.incoming_users.begin(), chap.incoming_users.end(), user) !=
                 chap.incoming_users.end();
    };
    if (uses(c.discovery.chap)) {
      return rpc_error(RpcErrorCode::kInUse, "account " + user + " is used by discovery");
    }
    for (const TargetConfig& t : c.targets) {
      if (uses(t.chap)) {
        return rpc_error(RpcErrorCode::kInUse, "account " + user + " is used by target " + t.iqn);
      }
    }
    std::erase_if(c.accounts, [&](const config::AccountConfig& a) { return a.user == user; });
    return apply(rt, std::move(c), p);
  });
  d.add("discovery.set", "CHAP for discovery sessions", [&rt](const Json& p) -> RpcResult {
    Config c = rt.config();
    if (auto chap = chap_params(p, c.discovery.chap); !chap) return base::unexpected(chap.error());
    return apply(rt, std::move(c), p);
  });
}

void register_sessions(Dispatcher& d, Runtime& rt) {
  d.add("session.list", "sessions (optionally of one target) with negotiated parameters",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(filter, param_string(p, "target", false));
          Json out = Json::array();
          for (const iscsi::SessionInfo& s : rt.server().sessions()) {
            if (!filter.empty() && s.target != filter) continue;
            out.push_back(session_json(s));
          }
          return out;
        });
  d.add("session.close",
        "asks a session's initiator to log out (force: drops the connection at once)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(tsih, param_uint(p, "tsih", 0, 65535));
          STGT_TRY(force, param_bool(p, "force", false));
          STGT_TRY(grace, param_uint(p, "grace_seconds", 10, 3600));
          if (tsih == 0) return rpc_error(RpcErrorCode::kInvalidParams, "missing parameter \"tsih\"");
          const size_t n = rt.server().close_sessions(
              [tsih](const iscsi::SessionInfo& s) { return s.tsih == tsih; },
              std::chrono::seconds(force ? 0 : grace), "closed by the administrator");
          if (n == 0) return rpc_error(RpcErrorCode::kNotFound, "no session " + std::to_string(tsih));
          return Json{{"closed", n}, {"mode", force ? "dropped" : "logout requested"}};
        });
  d.add("portal.list", "the portals the daemon listens on", [&rt](const Json&) -> RpcResult {
    Json out = Json::array();
    for (const iscsi::PortalInfo& pi : rt.server().portals()) {
      out.push_back(Json{{"address", pi.address}, {"group_tag", pi.group_tag}});
    }
    return out;
  });
  d.add("portal.add", "binds a new portal live (address, group_tag default 1)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(address, portal_param(p));
          STGT_TRY(tag, param_uint(p, "group_tag", 1, 65535));
          if (tag == 0)
            return rpc_error(RpcErrorCode::kInvalidParams, "group_tag must be 1..65535");
          Config c = rt.config();
          for (const config::PortalConfig& x : c.portals) {
            if (x.address == address) {
              return rpc_error(RpcErrorCode::kAlreadyExists,
                               "portal " + address + " already exists");
            }
          }
          c.portals.push_back({address, uint16_t(tag)});
          return apply(rt, std::move(c), p);
        });
  d.add("portal.remove",
        "unbinds a portal live (force: even while sessions use it; they are closed)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(address, portal_param(p));
          Config c = rt.config();
          const size_t before = c.portals.size();
          std::erase_if(c.portals,
                        [&](const config::PortalConfig& x) { return x.address == address; });
          if (c.portals.size() == before)
            return rpc_error(RpcErrorCode::kNotFound, "no portal " + address);
          if (c.portals.empty()) {
            return rpc_error(RpcErrorCode::kInvalidConfig,
                             "portal " + address + " is the last one; add another portal first");
          }
          return apply(rt, std::move(c), p);
        });
}

void register_config(Dispatcher& d, Runtime& rt) {
  d.add("config.show", "the running configuration as TOML (secrets masked unless show_secrets)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(show, param_bool(p, "show_secrets", false));
          return Json{{"toml", show ? config::to_toml(rt.config()) : mask_secrets(rt.config())},
                      {"path", rt.config_path()}};
        });
  d.add("config.apply",
        "makes the running daemon match a TOML configuration (dry_run: only show the difference)",
        [&rt](const Json& p) -> RpcResult {
          STGT_TRY(text, param_string(p, "toml"));
          auto parsed = config::parse_config(text, "config.apply");
          if (!parsed) return rpc_error(RpcErrorCode::kInvalidConfig, parsed.error().to_string());
          return apply(rt, std::move(parsed).value(), p);
        });
  d.add("config.reload", "re-reads the configuration file (what SIGHUP does)",
        [&rt](const Json& p) -> RpcResult {
          if (rt.config_path().empty()) {
            return rpc_error(RpcErrorCode::kFailed, "the daemon was started without a configuration file");
          }
          auto loaded = config::load_config_file(rt.config_path());
          if (!loaded) return rpc_error(RpcErrorCode::kInvalidConfig, loaded.error().to_string());
          return apply(rt, std::move(loaded).value(), p);
        });
}

}  // namespace

void register_methods(Dispatcher& dispatcher, Runtime& runtime, DaemonInfo info) {
  register_daemon(dispatcher, runtime, info);
  register_targets(dispatcher, runtime);
  register_luns(dispatcher, runtime);
  register_acls(dispatcher, runtime);
  register_groups(dispatcher, runtime);
  register_alua(dispatcher, runtime);
  register_accounts(dispatcher, runtime);
  register_sessions(dispatcher, runtime);
  register_config(dispatcher, runtime);
  register_stats(dispatcher, runtime);
  dispatcher.add("methods", "every method with a one-line summary", [&dispatcher](const Json&) -> RpcResult {
    Json out = Json::object();
    for (const auto& [name, summary] : dispatcher.summaries()) out[name] = summary;
    return out;
  });
}

}  // namespace stgt::mgmt
