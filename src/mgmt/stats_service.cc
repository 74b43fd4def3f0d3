#include "mgmt/stats_service.h"

#include <fmt/format.h>

#include "config/iscsi_name.h"

namespace stgt::mgmt {

Json io_stats_json(const scsi::IoStats& s) {
  Json buckets = Json::array();
  for (size_t i = 0; i < scsi::kLatencyBuckets; ++i) {
    const Json le = i + 1 < scsi::kLatencyBuckets ? Json(scsi::latency_bucket_bound_us(i)) : Json();
    buckets.push_back(Json{{"le_us", le}, {"count", s.latency[i]}});
  }
  return Json{{"read_commands", s.read_commands},
              {"write_commands", s.write_commands},
              {"other_commands", s.other_commands},
              {"read_bytes", s.read_bytes},
              {"written_bytes", s.written_bytes},
              {"check_conditions", s.check_conditions},
              {"aborts", s.aborts},
              {"latency",
               {{"count", s.latency_count()}, {"sum_us", s.latency_sum_us}, {"buckets", buckets}}}};
}

namespace {

Json with(Json head, const scsi::IoStats& s) {
  Json counters = io_stats_json(s);
  for (auto& [k, v] : counters.items())
    head[k] = v;
  return head;
}

RpcResult stats_get(Runtime& rt, const Json& p) {
  auto kind = param_string(p, "kind", false);
  if (!kind) return base::unexpected(kind.error());
  if (!kind->empty() && *kind != "lun" && *kind != "session" && *kind != "connection") {
    return rpc_error(RpcErrorCode::kInvalidParams,
                     "\"kind\" must be lun, session or connection (or absent for all)");
  }
  auto target = param_string(p, "target", false);
  if (!target) return base::unexpected(target.error());
  std::string iqn;
  if (!target->empty()) {
    auto n = config::normalize_iscsi_name(*target);
    if (!n) return rpc_error(RpcErrorCode::kInvalidParams, "bad target name: " + n.error());
    iqn = *n;
    bool known = false;
    for (const config::TargetConfig& t : rt.config().targets)
      known = known || t.iqn == iqn;
    if (!known) return rpc_error(RpcErrorCode::kNotFound, "no target " + iqn);
  }
  auto lun = param_uint(p, "lun", UINT64_MAX, 16383);
  if (!lun) return base::unexpected(lun.error());
  auto tsih = param_uint(p, "tsih", 0, 65535);
  if (!tsih) return base::unexpected(tsih.error());

  Json out = Json::object();
  if (kind->empty() || *kind == "lun") {
    Json luns = Json::array();
    bool found = false;
    for (const Runtime::LuRef& r : rt.logical_units()) {
      if (!iqn.empty() && r.target != iqn) continue;
      if (*lun != UINT64_MAX && r.lun != *lun) continue;
      found = true;
      luns.push_back(with(Json{{"target", r.target}, {"lun", r.lun}}, r.lu->stats().total()));
    }
    if (*lun != UINT64_MAX && !found) {
      return rpc_error(RpcErrorCode::kNotFound,
                       iqn.empty() ? "no target has LUN " + std::to_string(*lun)
                                   : "target " + iqn + " has no LUN " + std::to_string(*lun));
    }
    out["luns"] = std::move(luns);
  }
  if (kind->empty() || *kind == "session" || *kind == "connection") {
    Json sessions = Json::array();
    Json connections = Json::array();
    bool found = false;
    for (const iscsi::SessionInfo& s : rt.server().sessions()) {
      if (s.discovery) continue;
      if (!iqn.empty() && s.target != iqn) continue;
      if (*tsih != 0 && s.tsih != *tsih) continue;
      found = true;
      sessions.push_back(with(Json{{"tsih", s.tsih},
                                   {"isid", fmt::format("0x{:012x}", s.isid)},
                                   {"initiator", s.initiator},
                                   {"target", s.target}},
                              s.stats));
      connections.push_back(with(Json{{"tsih", s.tsih},
                                      {"cid", s.cid},
                                      {"initiator", s.initiator},
                                      {"target", s.target},
                                      {"peer", s.peer},
                                      {"portal", s.local},
                                      {"reactor", s.reactor}},
                                 s.stats));
    }
    if (*tsih != 0 && !found) {
      return rpc_error(RpcErrorCode::kNotFound, "no session " + std::to_string(*tsih));
    }
    if (kind->empty() || *kind == "session") out["sessions"] = std::move(sessions);
    if (kind->empty() || *kind == "connection") out["connections"] = std::move(connections);
  }
  return out;
}

}  // namespace

void register_stats(Dispatcher& d, Runtime& rt) {
  d.add("stats.get",
        "statistics per LU, session and connection: commands, bytes, errors, latency histogram",
        [&rt](const Json& p) { return stats_get(rt, p); });
}

}  // namespace stgt::mgmt
