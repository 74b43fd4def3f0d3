// What a process holds, read from /proc: resident memory and open file descriptors. Used by the
// throttling and fault tests to check that stgtd's footprint stays flat under hostile load.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

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

// TCP sockets on 127.0.0.1:`port` (the daemon's side of its connections, IPv4) that are
// still alive as files (inode != 0) but are not among `pid`'s descriptors: a connection the
// daemon closed while something in the kernel (an io_uring request) kept the file open.
inline int orphaned_sockets(pid_t pid, uint16_t port) {
  std::set<std::string> own;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(fd_dir.c_str())) {
    while (const dirent* e = ::readdir(dir)) {
      char target[128];
      const ssize_t n =
          ::readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
      if (n > 0) own.insert(std::string(target, size_t(n)));
    }
    ::closedir(dir);
  }
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  int orphans = 0;
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
    in >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    const size_t colon = local.find(':');
    if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) {
      continue;
    }
    if (state == "0A" || inode == "0") continue;  // the listener; sockets without a file
    if (own.count("socket:[" + inode + "]") == 0) ++orphans;
  }
  return orphans;
}

}  // namespace stgt::functional
