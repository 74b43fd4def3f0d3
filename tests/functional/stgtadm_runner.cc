#include "stgtadm_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>

namespace stgt::functional {

namespace {

std::string read_all(int fd) {
  std::string s;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    s.append(buf.data(), size_t(n));
  }
  return s;
}

}  // namespace

CliResult stgtadm(const std::vector<std::string>& args, const std::string& input) {
  int in[2], out[2], err[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
      ::close(fd);
    std::vector<char*> argv;
    std::string bin = STGTADM_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!input.empty()) {
    [[maybe_unused]] const ssize_t n = ::write(in[1], input.data(), input.size());
  }
  ::close(in[1]);
  CliResult r;
  r.out = read_all(out[0]);
  r.err = read_all(err[0]);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CliResult adm(const StgtdProcess& stgtd, std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), {"--socket", stgtd.control_socket()});
  return stgtadm(args, input);
}

nlohmann::json adm_json(const StgtdProcess& stgtd, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  const CliResult r = adm(stgtd, std::move(args));
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.rc == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

}  // namespace stgt::functional
