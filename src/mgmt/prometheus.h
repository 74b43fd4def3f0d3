// The Prometheus text exposition format 0.0.4 of stats.get's answer (GET /metrics,
// mgmt/metrics_server.h): counters end in _total, latencies are histograms in seconds
// (_bucket{le=...} cumulative, _sum, _count). Series:
//   stgt_lu_*      {target, lun}               one per running LU (since it was created)
//   stgt_session_* {target, initiator, isid}   one per live session (since its login)
// Connections are not exported separately: a session has exactly one (MaxConnections=1).
// Pure function: any thread.
#pragma once

#include <string>
#include <string_view>

#include "mgmt/json_rpc.h"

namespace stgt::mgmt {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// `stats`: the result of stats.get without "kind" ({"luns": [...], "sessions": [...]}).
std::string prometheus_text(const Json& stats);

// A label value with \, " and newline escaped as the format requires.
std::string prometheus_escape(std::string_view value);

}  // namespace stgt::mgmt
