#include "bench_util.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace stgt::bench {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Splits "12.5ms" into 12.5 and "ms"; nullopt if there is no leading number.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == '.')) ++end;
  if (end == 0) return std::nullopt;
  const std::string number(text.substr(0, end));
  char* parse_end = nullptr;
  const double value = std::strtod(number.c_str(), &parse_end);
  if (parse_end != number.c_str() + number.size() || !std::isfinite(value)) return std::nullopt;
  std::string_view unit = text.substr(end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return std::pair{value, unit};
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  const auto parts = split_number(text);
  if (!parts) return std::nullopt;
  const auto [value, unit] = *parts;
  double scale = 0;
  if (unit.empty() || iequals(unit, "b")) scale = 1;
  for (const auto& [names, factor] :
       {std::pair{std::array<std::string_view, 3>{"k", "kb", "kib"}, 1024.0},
        std::pair{std::array<std::string_view, 3>{"m", "mb", "mib"}, 1024.0 * 1024},
        std::pair{std::array<std::string_view, 3>{"g", "gb", "gib"}, 1024.0 * 1024 * 1024},
        std::pair{std::array<std::string_view, 3>{"t", "tb", "tib"}, 1024.0 * 1024 * 1024 * 1024}}) {
    for (const auto name : names) {
      if (iequals(unit, name)) scale = factor;
    }
  }
  if (scale == 0) return std::nullopt;
  const double bytes = value * scale;
  if (bytes < 1 || bytes > 4.6e18 || bytes != std::floor(bytes)) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<uint64_t> parse_duration_ns(std::string_view text) {
  const auto parts = split_number(text);
  if (!parts) return std::nullopt;
  const auto [value, unit] = *parts;
  double scale = 0;
  if (unit.empty() || iequals(unit, "s")) scale = 1e9;
  if (iequals(unit, "ms")) scale = 1e6;
  if (iequals(unit, "us")) scale = 1e3;
  if (iequals(unit, "m") || iequals(unit, "min")) scale = 60e9;
  if (iequals(unit, "h")) scale = 3600e9;
  if (scale == 0 || value * scale > 1e18) return std::nullopt;
  return static_cast<uint64_t>(value * scale);
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::optional<uint64_t> process_cpu_us(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  // After ')': field 3 (state) is the first; utime and stime are fields 14 and 15 (proc(5)).
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (n == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!fields) return std::nullopt;
  const auto ticks = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  return (utime + stime) * 1'000'000ULL / ticks;
}

uint64_t self_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000ULL + static_cast<uint64_t>(tv.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

double round1(double v) { return std::round(v * 10.0) / 10.0; }

nlohmann::ordered_json latency_json(const Histogram& h) {
  const auto us = [](uint64_t ns) { return round1(static_cast<double>(ns) / 1000.0); };
  return nlohmann::ordered_json{{"p50", us(h.quantile(0.50))},
                        {"p99", us(h.quantile(0.99))},
                        {"p999", us(h.quantile(0.999))},
                        {"max", us(h.max())}};
}

}  // namespace stgt::bench
