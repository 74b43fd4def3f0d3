#include "mgmt/prometheus.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "mgmt/stats_service.h"

namespace stgt::mgmt {
namespace {

Json sample_stats() {
  scsi::IoStats lu;
  scsi::add_completion(lu, {scsi::IoClass::kRead, 4096, false, true, 3});  // bucket [2,4)
  scsi::add_completion(lu, {scsi::IoClass::kRead, 4096, false, true, 3});
  scsi::add_completion(lu, {scsi::IoClass::kWrite, 8192, false, true, 1500});  // [1024,2048)
  scsi::add_completion(lu, {scsi::IoClass::kOther, 0, true, true, 0});         // [0,1)
  lu.aborts = 2;
  Json l = io_stats_json(lu);
  l["target"] = "iqn.2026-11.org.stgt:a\"b";
  l["lun"] = 3;
  scsi::IoStats s;
  scsi::add_completion(s, {scsi::IoClass::kWrite, 512, false, true, 20000000});  // +Inf
  Json ss = io_stats_json(s);
  ss["target"] = "iqn.2026-11.org.stgt:a\"b";
  ss["initiator"] = "iqn.1994-05.com.example:host\\1";
  ss["isid"] = "0x023d00000001";
  return Json{{"luns", Json::array({l})}, {"sessions", Json::array({ss})}};
}

std::string line_with(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST(Prometheus, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus_escape("plain"), "plain");
}

TEST(Prometheus, CountersCarryTheirValuesAndLabels) {
  const std::string text = prometheus_text(sample_stats());
  const std::string lu = R"(target="iqn.2026-11.org.stgt:a\"b",lun="3")";
  EXPECT_EQ(line_with(text, "stgt_lu_commands_total{" + lu + ",class=\"read\"}"),
            "stgt_lu_commands_total{" + lu + ",class=\"read\"} 2");
  EXPECT_EQ(line_with(text, "stgt_lu_commands_total{" + lu + ",class=\"write\"}"),
            "stgt_lu_commands_total{" + lu + ",class=\"write\"} 1");
  EXPECT_EQ(line_with(text, "stgt_lu_commands_total{" + lu + ",class=\"other\"}"),
            "stgt_lu_commands_total{" + lu + ",class=\"other\"} 1");
  EXPECT_EQ(line_with(text, "stgt_lu_read_bytes_total{"),
            "stgt_lu_read_bytes_total{" + lu + "} 8192");
  EXPECT_EQ(line_with(text, "stgt_lu_written_bytes_total{"),
            "stgt_lu_written_bytes_total{" + lu + "} 8192");
  EXPECT_EQ(line_with(text, "stgt_lu_check_conditions_total{"),
            "stgt_lu_check_conditions_total{" + lu + "} 1");
  EXPECT_EQ(line_with(text, "stgt_lu_task_aborts_total{"),
            "stgt_lu_task_aborts_total{" + lu + "} 2");
  const std::string session =
      R"(target="iqn.2026-11.org.stgt:a\"b",initiator="iqn.1994-05.com.example:host\\1",isid="0x023d00000001")";
  EXPECT_EQ(line_with(text, "stgt_session_written_bytes_total{"),
            "stgt_session_written_bytes_total{" + session + "} 512");
}

TEST(Prometheus, HistogramBucketsAreCumulativeInSeconds) {
  const std::string text = prometheus_text(sample_stats());
  const std::string lu = R"(target="iqn.2026-11.org.stgt:a\"b",lun="3")";
  auto bucket = [&](const std::string& le) {
    return line_with(text, "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"" + le + "\"}");
  };
  EXPECT_EQ(bucket("0.000001"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"0.000001\"} 1");
  EXPECT_EQ(bucket("0.000002"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"0.000002\"} 1");
  EXPECT_EQ(bucket("0.000004"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"0.000004\"} 3");
  EXPECT_EQ(bucket("0.001024"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"0.001024\"} 3");
  EXPECT_EQ(bucket("0.002048"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"0.002048\"} 4");
  EXPECT_EQ(bucket("16.777216"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"16.777216\"} 4");
  EXPECT_EQ(bucket("+Inf"), "stgt_lu_latency_seconds_bucket{" + lu + ",le=\"+Inf\"} 4");
  EXPECT_EQ(line_with(text, "stgt_lu_latency_seconds_sum{"),
            "stgt_lu_latency_seconds_sum{" + lu + "} 0.001506");
  EXPECT_EQ(line_with(text, "stgt_lu_latency_seconds_count{"),
            "stgt_lu_latency_seconds_count{" + lu + "} 4");
  // 20 s lands past the last finite bound.
  EXPECT_NE(line_with(text, "stgt_session_latency_seconds_bucket{").find("le=\"0.000001\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("le=\"16.777216\"} 0\nstgt_session_latency_seconds_bucket{"),
            std::string::npos);
  EXPECT_NE(line_with(text, "stgt_session_latency_seconds_sum{").find("} 20.000000"),
            std::string::npos);
}

// A sample line of text format 0.0.4, `name{label="value",...} number`: its metric name, or
// empty if the line is not one. (Hand-written: GCC 12 warns inside <regex> under ASan.)
std::string sample_name(const std::string& line) {
  auto name_char = [](char c, bool first, bool colon) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || (colon && c == ':') ||
           (!first && std::isdigit(static_cast<unsigned char>(c)) != 0);
  };
  size_t i = 0;
  while (i < line.size() && name_char(line[i], i == 0, true)) ++i;
  const std::string name = line.substr(0, i);
  if (name.empty() || i >= line.size() || line[i++] != '{') return {};
  while (i < line.size() && line[i] != '}') {
    const size_t label = i;
    while (i < line.size() && name_char(line[i], i == label, false)) ++i;
    if (i == label || line.compare(i, 2, "=\"") != 0) return {};
    for (i += 2; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\') ++i;  // an escape takes the next character
    }
    if (i >= line.size()) return {};
    if (++i < line.size() && line[i] == ',') ++i;
  }
  if (i >= line.size() || line.compare(i, 2, "} ") != 0) return {};
  const std::string value = line.substr(i + 2);
  if (value.empty() || value.find_first_not_of("0123456789.+Inf") != std::string::npos) return {};
  return name;
}

TEST(Prometheus, SampleLineCheckerRejectsWhatIsNotASample) {
  EXPECT_EQ(sample_name(R"(stgt_x_total{target="a\"b",lun="1"} 12)"), "stgt_x_total");
  EXPECT_EQ(sample_name(R"(x_bucket{le="+Inf"} 3)"), "x_bucket");
  EXPECT_EQ(sample_name("x{} 0.5"), "x");
  EXPECT_EQ(sample_name(R"(x{a="1"} )"), "");       // no value
  EXPECT_EQ(sample_name(R"(x{a=1} 2)"), "");        // unquoted label value
  EXPECT_EQ(sample_name(R"(9x{a="1"} 2)"), "");     // name starts with a digit
  EXPECT_EQ(sample_name(R"(x{a="1"} two)"), "");    // not a number
  EXPECT_EQ(sample_name(R"(x{a="1" 2)"), "");       // unclosed labels
}

// Text format 0.0.4: every sample line is `name{labels} value`; every family has one HELP
// and one TYPE line before its samples, and its samples are contiguous.
TEST(Prometheus, OutputIsWellFormedExposition) {
  const std::string text = prometheus_text(sample_stats());
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::map<std::string, std::string> type_of;
  std::set<std::string> finished;
  std::string current;
  std::istringstream in(text);
  size_t samples = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "histogram") << line;
      EXPECT_EQ(type_of.count(name), 0u) << "TYPE twice: " << name;
      type_of[name] = type;
      continue;
    }
    std::string family = sample_name(line);
    ASSERT_FALSE(family.empty()) << line;
    ++samples;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          type_of.count(family.substr(0, family.size() - s.size())) != 0) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    ASSERT_EQ(type_of.count(family), 1u) << "no TYPE before " << line;
    if (type_of[family] == "counter") {
      EXPECT_TRUE(family.ends_with("_total")) << family;
    }
    if (family != current) {
      EXPECT_EQ(finished.count(family), 0u) << "family split: " << family;
      if (!current.empty()) finished.insert(current);
      current = family;
    }
  }
  EXPECT_EQ(samples, 2 * (7 + scsi::kLatencyBuckets + 2));
}

TEST(Prometheus, NoObjectsNoSamples) {
  const std::string text =
      prometheus_text(Json{{"luns", Json::array()}, {"sessions", Json::array()}});
  EXPECT_EQ(text.find("{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE stgt_lu_commands_total counter"), std::string::npos);
}

}  // namespace
}  // namespace stgt::mgmt
