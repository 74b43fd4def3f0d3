// Logging: one line per event to stderr, with level and reactor id. Thread-safe (one
// write(2) per line). Never log secrets.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace stgt::base {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void set_log_level(LogLevel level);
LogLevel log_level();
void set_thread_log_tag(std::string_view tag);  // e.g. "r0" for reactor 0
void log_line(LogLevel level, std::string_view msg);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level < log_level()) return;
  log_line(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace stgt::base

#define STGT_LOG_DEBUG(...) ::stgt::base::log(::stgt::base::LogLevel::kDebug, __VA_ARGS__)
#define STGT_LOG_INFO(...) ::stgt::base::log(::stgt::base::LogLevel::kInfo, __VA_ARGS__)
#define STGT_LOG_WARN(...) ::stgt::base::log(::stgt::base::LogLevel::kWarn, __VA_ARGS__)
#define STGT_LOG_ERROR(...) ::stgt::base::log(::stgt::base::LogLevel::kError, __VA_ARGS__)
