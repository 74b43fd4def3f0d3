#include "mgmt/prometheus.h"

#include <fmt/format.h>

#include <vector>

namespace stgt::mgmt {

namespace {

struct Family {
  const char* suffix;  // after stgt_lu_ / stgt_session_
  const char* help;
  const char* key;    // field of a stats.get entry
  const char* extra;  // an extra label, e.g. class="read" (shares the family)
};

// Counters; families with the same suffix are written together under one HELP/TYPE.
constexpr Family kCounters[] = {
    {"commands_total", "SCSI commands completed, by class.", "read_commands", "class=\"read\""},
    {"commands_total", "", "write_commands", "class=\"write\""},
    {"commands_total", "", "other_commands", "class=\"other\""},
    {"read_bytes_total", "Bytes read from the medium by READ commands that completed GOOD.",
     "read_bytes", nullptr},
    {"written_bytes_total",
     "Bytes written to the medium by WRITE-type commands that completed GOOD.", "written_bytes",
     nullptr},
    {"check_conditions_total", "Commands that completed with CHECK CONDITION.", "check_conditions",
     nullptr},
    {"task_aborts_total", "Commands aborted by task management or a session's end.", "aborts",
     nullptr},
};

std::string labels_of(const Json& e, bool lu) {
  std::string s = "target=\"" + prometheus_escape(e.value("target", std::string())) + "\"";
  if (lu) return s + ",lun=\"" + std::to_string(e.value("lun", 0u)) + "\"";
  s += ",initiator=\"" + prometheus_escape(e.value("initiator", std::string())) + "\"";
  return s + ",isid=\"" + prometheus_escape(e.value("isid", std::string())) + "\"";
}

uint64_t field(const Json& e, const char* key) {
  const auto it = e.find(key);
  return it != e.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

void write_histogram(std::string& out, const std::string& name, const std::vector<Json>& entries,
                     bool lu, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (const Json& e : entries) {
    const std::string labels = labels_of(e, lu);
    const Json lat = e.value("latency", Json::object());
    uint64_t cumulative = 0;
    for (const Json& b : lat.value("buckets", Json::array())) {
      cumulative += b.value("count", uint64_t{0});
      const Json& le = b["le_us"];
      // Bounds are whole microseconds: printed exactly in seconds.
      const std::string le_text =
          le.is_null()
              ? "+Inf"
              : fmt::format("{}.{:06}", le.get<uint64_t>() / 1000000, le.get<uint64_t>() % 1000000);
      out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, le_text, cumulative);
    }
    const uint64_t sum_us = lat.value("sum_us", uint64_t{0});
    out += fmt::format("{}_sum{{{}}} {}.{:06}\n", name, labels, sum_us / 1000000, sum_us % 1000000);
    out += fmt::format("{}_count{{{}}} {}\n", name, labels, cumulative);
  }
}

void write_object(std::string& out, const char* prefix, const std::vector<Json>& entries, bool lu) {
  for (const Family& f : kCounters) {
    const std::string name = std::string(prefix) + f.suffix;
    if (f.help[0] != '\0') {
      out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, f.help, name);
    }
    // A family split over several entries (commands_total by class) is written contiguously:
    // its later entries have an empty help and follow directly.
    for (const Json& e : entries) {
      std::string labels = labels_of(e, lu);
      if (f.extra != nullptr) labels += std::string(",") + f.extra;
      out += fmt::format("{}{{{}}} {}\n", name, labels, field(e, f.key));
    }
  }
  write_histogram(out, std::string(prefix) + "latency_seconds", entries, lu,
                  "Time from a command's arrival to its completion.");
}

std::vector<Json> entries_of(const Json& stats, const char* key) {
  std::vector<Json> out;
  const auto it = stats.find(key);
  if (it == stats.end() || !it->is_array()) return out;
  for (const Json& e : *it)
    out.push_back(e);
  return out;
}

}  // namespace

std::string prometheus_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prometheus_text(const Json& stats) {
  std::string out;
  write_object(out, "stgt_lu_", entries_of(stats, "luns"), true);
  write_object(out, "stgt_session_", entries_of(stats, "sessions"), false);
  return out;
}

}  // namespace stgt::mgmt
