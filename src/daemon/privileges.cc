#include "daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace stgt::daemon {
namespace {

std::optional<uint32_t> numeric_id(const std::string& s) {
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// getpwnam_r / getpwuid_r with a buffer that grows on ERANGE.
std::optional<passwd> find_user(const std::string& user, std::vector<char>& buf) {
  passwd pw{};
  passwd* found = nullptr;
  buf.resize(4096);
  for (;;) {
    const auto id = numeric_id(user);
    const int rc = id ? getpwuid_r(*id, &pw, buf.data(), buf.size(), &found)
                      : getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return pw;
  }
}

std::optional<gid_t> find_group(const std::string& group) {
  if (const auto id = numeric_id(group)) return gid_t(*id);
  std::vector<char> buf(4096);
  ::group gr{};
  ::group* found = nullptr;
  for (;;) {
    const int rc = getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return gr.gr_gid;
  }
}

}  // namespace

base::Result<std::optional<RunAs>, std::string> resolve_run_as(const std::string& user,
                                                                const std::string& group) {
  if (user.empty()) {
    if (!group.empty()) return base::unexpected(std::string("daemon.group needs daemon.user"));
    return std::optional<RunAs>();
  }
  RunAs who;
  std::vector<char> buf;
  const auto pw = find_user(user, buf);
  if (pw) {
    who.uid = pw->pw_uid;
    who.gid = pw->pw_gid;
    who.user_name = pw->pw_name;
  } else if (const auto id = numeric_id(user)) {
    who.uid = uid_t(*id);
    if (group.empty()) {
      return base::unexpected(
          fmt::format("daemon.user {} has no passwd entry: set daemon.group too", user));
    }
  } else {
    return base::unexpected(fmt::format("daemon.user {}: no such user", user));
  }
  if (!group.empty()) {
    const auto gid = find_group(group);
    if (!gid) return base::unexpected(fmt::format("daemon.group {}: no such group", group));
    who.gid = *gid;
  }
  if (who.uid == 0) return base::unexpected(std::string("daemon.user must not be root"));
  return std::optional<RunAs>(who);
}

base::Result<void, std::string> drop_privileges(const RunAs& who,
                                                const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (!p.empty() && ::chown(p.c_str(), who.uid, who.gid) != 0) {
      return base::unexpected(fmt::format("cannot chown {}: {}", p, std::strerror(errno)));
    }
  }
  // Groups first (setgroups and setgid need the privilege setuid gives up).
  const int groups = who.user_name.empty() ? ::setgroups(0, nullptr)
                                           : ::initgroups(who.user_name.c_str(), who.gid);
  if (groups != 0) {
    return base::unexpected(fmt::format("cannot set supplementary groups: {}", std::strerror(errno)));
  }
  if (::setresgid(who.gid, who.gid, who.gid) != 0) {
    return base::unexpected(fmt::format("cannot set gid {}: {}", who.gid, std::strerror(errno)));
  }
  if (::setresuid(who.uid, who.uid, who.uid) != 0) {
    return base::unexpected(fmt::format("cannot set uid {}: {}", who.uid, std::strerror(errno)));
  }
  if (::setuid(0) == 0 || ::geteuid() == 0) {
    return base::unexpected(std::string("root could be regained after dropping privileges"));
  }
  return {};
}

}  // namespace stgt::daemon
