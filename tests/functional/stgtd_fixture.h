// Functional-test harness: runs one stgtd child process per test against a generated config in a
// private temp dir, on a free 127.0.0.1 port, and stops it on teardown.
//
// The binary is STGTD_PATH (set by CMake from the stgtd target) unless the environment variable
// STGTD names another one. Single-threaded use: start/stop from the test's main thread.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace stgt::functional {

inline constexpr const char* kTargetIqn = "iqn.2026-11.org.stgt.test:disk";
inline constexpr uint32_t kBlockSize = 512;

// A free TCP port on `host` ("127.0.0.1" or "::1"): bind port 0, read it back, close. Racy by
// nature; good enough for tests. 0 when the address cannot be bound (e.g. no IPv6).
uint16_t pick_free_port(const std::string& host = "127.0.0.1");

class StgtdProcess {
 public:
  StgtdProcess();   // creates the temp dir and picks the port
  ~StgtdProcess();  // stops the daemon; removes the temp dir unless the test failed
  StgtdProcess(const StgtdProcess&) = delete;
  StgtdProcess& operator=(const StgtdProcess&) = delete;

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& iqn = kTargetIqn, uint32_t lun = 1) const;
  std::string config_path() const { return dir_ + "/stgtd.toml"; }
  std::string log_path() const { return dir_ + "/stgtd.log"; }
  // Every start passes --control-socket with this path (stgtadm --socket).
  std::string control_socket() const { return dir_ + "/stgtd.sock"; }

  // A config with one portal on port() and target kTargetIqn (ACL ALL) holding `luns`.
  config::Config base_config(std::vector<config::LunConfig> luns) const;
  // LUN 1: a memory store, or a file store at dir()/lun1.img, of `size` bytes.
  static config::LunConfig memory_lun(uint64_t size, uint32_t id = 1);
  config::LunConfig file_lun(uint64_t size, uint32_t id = 1) const;

  void write_config(const config::Config& config) const;
  void write_config_text(const std::string& toml) const;

  // Starts stgtd --config config_path() plus `extra_args` and waits up to 10 s until `wait_portal`
  // (default: portal()) accepts TCP connections. Fails early if the daemon exits.
  testing::AssertionResult start(const std::vector<std::string>& extra_args = {},
                                 const std::string& wait_portal = "");
  // SIGTERM, then SIGKILL after 5 s. Fails if the daemon needed SIGKILL or did not exit cleanly
  // (exit code 0, or death by the SIGTERM we sent).
  testing::AssertionResult stop();
  // SIGKILL, as a crash would: no shutdown path runs. Waits until the process is reaped.
  testing::AssertionResult kill_hard();
  // Starts stgtd and waits for it to exit by itself (e.g. on a config error); nullopt on timeout.
  std::optional<int> run_to_exit(const std::vector<std::string>& extra_args,
                                 std::chrono::seconds timeout);

  // Waits until the log holds `needle` at least `count` times (e.g. "stgtd ready" once per
  // start: start() returns when the portal listens, before the targets are published).
  testing::AssertionResult wait_for_log(const std::string& needle, size_t count = 1,
                                        std::chrono::milliseconds timeout =
                                            std::chrono::milliseconds(10000)) const;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // "NAME=value" entries added to the daemon's environment at the next start (e.g. LD_PRELOAD).
  void set_extra_environment(std::vector<std::string> env) { extra_env_ = std::move(env); }

 private:
  pid_t spawn(const std::vector<std::string>& extra_args);
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  std::string binary_;
  std::vector<std::string> extra_env_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// gtest fixture owning one StgtdProcess; prints the daemon log when a test fails.
class StgtdTest : public testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  StgtdProcess stgtd_;
};

}  // namespace stgt::functional
