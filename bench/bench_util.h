// Helpers shared by stgt-bench and loopback-ceiling: argument parsing for sizes and
// durations, clocks, CPU accounting, and the JSON form of a latency histogram.
// Everything here is thread-safe and never blocks except the /proc read.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "histogram.h"

namespace stgt::bench {

// "4096", "4k", "4K", "4KiB", "128k", "1m", "1g": powers of 1024. nullopt if malformed,
// zero, or beyond 2^62.
std::optional<uint64_t> parse_size(std::string_view text);

// "10s", "500ms", "2m", "1.5s", "10" (seconds). Returns nanoseconds; nullopt if malformed
// or negative.
std::optional<uint64_t> parse_duration_ns(std::string_view text);

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

// utime + stime of process `pid` in microseconds (all threads, including those that have
// exited), from /proc/PID/stat. nullopt if the process is gone or the file is unreadable.
std::optional<uint64_t> process_cpu_us(int pid);

// CPU time (user + system) of this process, all threads, in microseconds.
uint64_t self_cpu_us();

// {"p50","p99","p999","max"} in microseconds, one decimal.
nlohmann::ordered_json latency_json(const Histogram& h);

// Round to one decimal for JSON output.
double round1(double v);

}  // namespace stgt::bench
