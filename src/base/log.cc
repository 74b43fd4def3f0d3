#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace stgt::base {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
thread_local std::string t_tag = "main";

constexpr std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }
void set_thread_log_tag(std::string_view tag) { t_tag = std::string(tag); }

void log_line(LogLevel level, std::string_view msg) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const time_t secs = time_t(ms / 1000);
  struct tm utc;
  gmtime_r(&secs, &utc);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line = fmt::format("{}.{:03d}Z stgtd[{}] {}: {}\n", stamp, int(ms % 1000), t_tag,
                                 level_name(level), msg);
  // One write per line keeps lines from different reactors whole.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace stgt::base
