// stgtd: the stgt SCSI target daemon. See docs/configuration.md and `stgtd --help`.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "daemon/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"stgtd: user-space SCSI target daemon (iSCSI)"};
  stgt::daemon::DaemonOptions options;
  app.add_option("-c,--config", options.config_path,
                 "TOML configuration file (default: the embedded demo configuration)");
  unsigned reactors = 0;
  auto* reactors_opt =
      app.add_option("--reactors", reactors, "Number of reactor threads (default: one per core)")
          ->check(CLI::Range(1u, 256u));
  std::string backend;
  auto* backend_opt = app.add_option("--io-backend", backend, "I/O backend")
                          ->check(CLI::IsMember({"uring", "epoll"}));
  std::string direct;
  auto* direct_opt =
      app.add_option("--direct-receive", direct,
                     "io_uring: receive large data segments straight into command buffers")
          ->check(CLI::IsMember({"on", "off"}));
  std::string level;
  auto* level_opt = app.add_option("--log-level", level, "Log level")
                        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  std::string control_socket;
  auto* control_opt = app.add_option("--control-socket", control_socket,
                                     "Unix socket for stgtadm (overrides [daemon] control_socket)");
  app.add_option(
         "--var-dir", options.var_dir,
         "State directory: the default configuration's backing file, persistent reservations "
         "and sanitize records (pr/)")
      ->capture_default_str();
  app.set_version_flag("--version", "stgtd 0.1.0");
  CLI11_PARSE(app, argc, argv);
  if (reactors_opt->count() > 0) options.reactors = reactors;
  if (backend_opt->count() > 0) options.io_backend = backend;
  if (direct_opt->count() > 0) options.direct_receive = direct == "on";
  if (level_opt->count() > 0) options.log_level = level;
  if (control_opt->count() > 0) options.control_socket = control_socket;
  // Written back after live changes: keep working if the daemon's directory changes.
  if (!options.config_path.empty()) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(options.config_path, ec);
    if (!ec) options.config_path = absolute.string();
  }
  return stgt::daemon::run(options);
}
