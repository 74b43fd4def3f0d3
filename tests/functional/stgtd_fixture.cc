#include "stgtd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "config/portal_address.h"

namespace stgt::functional {
namespace {

std::string find_binary() {
  if (const char* env = std::getenv("STGTD"); env && *env) return env;
#ifdef STGTD_PATH
  return STGTD_PATH;
#else
  return "";
#endif
}

// Fills a sockaddr for a numeric "host" and port; false if host is not numeric.
bool make_address(const std::string& host, uint16_t port, sockaddr_storage& storage,
                  socklen_t& length) {
  std::memset(&storage, 0, sizeof(storage));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool accepts_connections(const std::string& portal) {
  const auto address = config::parse_portal_address(portal);
  if (!address) return false;
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!make_address(address->host, address->port, storage, length)) return false;
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0;
  close(fd);
  return connected;
}

}  // namespace

uint16_t pick_free_port(const std::string& host) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!make_address(host, 0, storage, length)) return 0;
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    port = storage.ss_family == AF_INET
               ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
               : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  close(fd);
  return port;
}

StgtdProcess::StgtdProcess() : binary_(find_binary()), port_(pick_free_port()) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/stgt-functional-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
}

StgtdProcess::~StgtdProcess() {
  if (running()) (void)stop();
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  const bool failed = info != nullptr && info->result()->Failed();
  if (dir_.empty()) return;
  if (failed) {
    std::cerr << "stgtd test files kept in " << dir_ << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string StgtdProcess::url(const std::string& iqn, uint32_t lun) const {
  return "iscsi://" + portal() + "/" + iqn + "/" + std::to_string(lun);
}

config::Config StgtdProcess::base_config(std::vector<config::LunConfig> luns) const {
  config::Config c;
  c.daemon.control_socket = control_socket();
  c.portals.push_back({.address = portal()});
  config::TargetConfig target{.iqn = kTargetIqn};
  target.luns = std::move(luns);
  target.acls.push_back({.initiator = "ALL"});
  c.targets.push_back(std::move(target));
  return c;
}

config::LunConfig StgtdProcess::memory_lun(uint64_t size, uint32_t id) {
  return {.id = id, .store = "memory", .size = size, .block_size = kBlockSize};
}

config::LunConfig StgtdProcess::file_lun(uint64_t size, uint32_t id) const {
  return {.id = id,
          .store = "file",
          .path = dir_ + "/lun" + std::to_string(id) + ".img",
          .size = size,
          .block_size = kBlockSize};
}

void StgtdProcess::write_config(const config::Config& config) const {
  write_config_text(config::to_toml(config));
}

void StgtdProcess::write_config_text(const std::string& toml) const {
  std::ofstream out(config_path(), std::ios::trunc);
  out << toml;
}

pid_t StgtdProcess::spawn(const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {binary_, "--config", config_path(), "--control-socket",
                                   control_socket()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment is built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  for (std::string& e : extra_env_)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  const int log_fd = open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

std::optional<int> StgtdProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

testing::AssertionResult StgtdProcess::start(const std::vector<std::string>& extra_args,
                                             const std::string& wait_portal) {
  if (binary_.empty()) {
    return testing::AssertionFailure() << "no stgtd binary: build target stgtd or set STGTD";
  }
  if (dir_.empty() || port_ == 0) return testing::AssertionFailure() << "no temp dir or port";
  if (running()) return testing::AssertionFailure() << "stgtd is already running";
  pid_ = spawn(extra_args);
  if (pid_ < 0) return testing::AssertionFailure() << "cannot start " << binary_;
  const std::string portal_to_wait = wait_portal.empty() ? portal() : wait_portal;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto status = wait_exit(std::chrono::milliseconds(0))) {
      return testing::AssertionFailure()
             << "stgtd exited during start-up (status " << *status << ")";
    }
    if (accepts_connections(portal_to_wait)) return testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (void)stop();
  return testing::AssertionFailure()
         << "stgtd did not listen on " << portal_to_wait << " within 10 s";
}

testing::AssertionResult StgtdProcess::stop() {
  if (!running()) return testing::AssertionSuccess();
  kill(pid_, SIGTERM);
  if (const auto status = wait_exit(std::chrono::seconds(5))) {
    const int s = *status;
    if ((WIFEXITED(s) && WEXITSTATUS(s) == 0) || (WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM)) {
      return testing::AssertionSuccess();
    }
    if (WIFEXITED(s)) {
      return testing::AssertionFailure() << "stgtd exited with code " << WEXITSTATUS(s);
    }
    return testing::AssertionFailure() << "stgtd died by signal " << WTERMSIG(s);
  }
  kill(pid_, SIGKILL);
  (void)wait_exit(std::chrono::seconds(5));
  return testing::AssertionFailure() << "stgtd ignored SIGTERM for 5 s; killed";
}

testing::AssertionResult StgtdProcess::kill_hard() {
  if (!running()) return testing::AssertionFailure() << "stgtd is not running";
  kill(pid_, SIGKILL);
  const auto status = wait_exit(std::chrono::seconds(10));
  if (!status) return testing::AssertionFailure() << "stgtd survived SIGKILL for 10 s";
  if (!WIFSIGNALED(*status) || WTERMSIG(*status) != SIGKILL) {
    return testing::AssertionFailure() << "stgtd had exited before SIGKILL (status " << *status
                                       << ")";
  }
  return testing::AssertionSuccess();
}

std::optional<int> StgtdProcess::run_to_exit(const std::vector<std::string>& extra_args,
                                             std::chrono::seconds timeout) {
  if (binary_.empty() || running()) return std::nullopt;
  pid_ = spawn(extra_args);
  if (pid_ < 0) return std::nullopt;
  auto status = wait_exit(timeout);
  if (!status) (void)stop();
  return status;
}

std::string StgtdProcess::log() const {
  std::ifstream in(log_path());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

testing::AssertionResult StgtdProcess::wait_for_log(const std::string& needle, size_t count,
                                                   std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t seen = 0;
  for (;;) {
    const std::string text = log();
    seen = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++seen;
    if (seen >= count) return testing::AssertionSuccess();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return testing::AssertionFailure() << "\"" << needle << "\" logged " << seen << " times, wanted "
                                     << count << " within " << timeout.count() << " ms";
}

void StgtdTest::SetUp() {
  ASSERT_FALSE(stgtd_.dir().empty()) << "cannot create a temp dir";
  ASSERT_NE(stgtd_.port(), 0) << "no free port on 127.0.0.1";
}

void StgtdTest::TearDown() {
  ASSERT_TRUE(stgtd_.stop()) << "\n--- stgtd log ---\n" << stgtd_.log();
  if (HasFailure())
    std::cerr << "--- stgtd log (" << stgtd_.log_path() << ") ---\n" << stgtd_.log();
}

}  // namespace stgt::functional
