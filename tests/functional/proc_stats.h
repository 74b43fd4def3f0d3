// What a process holds, read from /proc: resident memory and open file descriptors. Used by the
// throttling and fault tests to check that stgtd's footprint stays flat under hostile load.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace stgt::functional {

// VmRSS in KiB; 0 if the process is gone.
inline uint64_t resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      uint64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

// Entries of /proc/PID/fd; -1 if the process is gone.
inline int open_fds(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

}  // namespace stgt::functional
