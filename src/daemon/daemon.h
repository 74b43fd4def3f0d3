// The stgtd daemon: reads the configuration, opens the stores, builds the targets, starts
// the reactors and the iSCSI portals, and serves until SIGTERM or SIGINT.
#pragma once

#include <optional>
#include <string>

namespace stgt::daemon {

struct DaemonOptions {
  std::string config_path;               // empty: the embedded default configuration
  std::optional<unsigned> reactors;      // overrides [daemon] reactors
  std::optional<std::string> io_backend;  // overrides [daemon] io_backend
  std::optional<std::string> log_level;   // overrides [daemon] log_level
  std::optional<std::string> control_socket;  // overrides [daemon] control_socket
  // io_uring: receive large data segments straight into the command's buffers
  // (iscsi::IscsiSettings::direct_receive); unset: the built-in default.
  std::optional<bool> direct_receive;
  // State directory: the default configuration's LUN file and, under "pr/", the
  // persistent reservation state of LUs whose initiators asked for APTPL and the sanitize
  // records of LUs with a sanitize running or failed (devices/sbc/sanitize_record.h).
  std::string var_dir = "./var";
};

// Returns the process exit code: 0 after a clean shutdown, 1 when something could not be
// started (a store, a portal), 2 for a configuration error.
int run(const DaemonOptions& options);

}  // namespace stgt::daemon
