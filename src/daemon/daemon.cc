#include "daemon/daemon.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "backing/backing_store.h"
#include "base/atomic_file.h"
#include "base/log.h"
#include "base/memory_budget.h"
#include "config/config.h"
#include "daemon/privileges.h"
#include "devices/device_type.h"
#include "devices/sbc/sanitize_job.h"
#include "mgmt/control_socket.h"
#include "mgmt/json_rpc.h"
#include "mgmt/metrics_server.h"
#include "mgmt/prometheus.h"
#include "mgmt/runtime.h"
#include "mgmt/service.h"
#include "reactor/reactor_group.h"
#include "scsi/alua.h"
#include "scsi/target.h"
#include "transport/iscsi/server.h"

namespace stgt::daemon {

namespace {

base::LogLevel parse_level(const std::string& s) {
  if (s == "debug") return base::LogLevel::kDebug;
  if (s == "warn") return base::LogLevel::kWarn;
  if (s == "error") return base::LogLevel::kError;
  return base::LogLevel::kInfo;
}

// Every session holds a socket (and a file LU an fd); the default soft limit of 1024 would cap a
// daemon at about a thousand sessions, so take everything the hard limit allows.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t old_soft = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  STGT_LOG_INFO("open file limit raised from {} to {}", old_soft, limit.rlim_cur);
}

iscsi::IscsiSettings iscsi_settings(const config::IscsiConfig& c) {
  iscsi::IscsiSettings s;
  s.login_timeout = std::chrono::seconds(c.login_timeout);
  s.nop_interval = std::chrono::seconds(c.nop_interval);
  s.nop_timeout = std::chrono::seconds(c.nop_timeout);
  s.max_tasks_per_session = c.queue_depth;
  s.session_write_buffer = c.session_write_buffer;
  s.max_sessions = c.max_sessions;
  s.conceal_targets = c.conceal_targets;
  s.limits.max_recv_data_segment_length = c.max_recv_data_segment_length;
  s.limits.max_burst_length = c.max_burst_length;
  s.limits.first_burst_length = c.first_burst_length;
  s.limits.max_outstanding_r2t = c.max_outstanding_r2t;
  s.limits.immediate_data = c.immediate_data;
  s.limits.initial_r2t = c.initial_r2t;
  s.limits.allow_crc32c = c.digests;
  return s;
}

// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to
// $NOTIFY_SOCKET ("@name" is the abstract namespace). Nothing happens outside systemd.
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const size_t len = std::min(std::strlen(path), sizeof(a.sun_path) - 1);
  std::memcpy(a.sun_path, path, len);
  if (a.sun_path[0] == '@') a.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&a),
           socklen_t(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

// SIGHUP: make the daemon match the configuration file again, through the same path as
// `stgtadm config apply` (so it is serialised with the control socket's methods).
void reload(const mgmt::Dispatcher& dispatcher, const std::string& path) {
  if (path.empty()) {
    STGT_LOG_WARN("SIGHUP: started without --config, nothing to reload");
    return;
  }
  const std::string response = dispatcher.handle(
      mgmt::Json{{"jsonrpc", "2.0"}, {"id", 0}, {"method", "config.reload"}}.dump());
  STGT_LOG_INFO("SIGHUP: {}", response);
}

}  // namespace

int run(const DaemonOptions& options) {
  auto loaded = options.config_path.empty()
                    ? base::Result<config::Config, config::ConfigError>(
                          config::default_config(options.var_dir))
                    : config::load_config_file(options.config_path);
  if (!loaded) {
    fmt::print(stderr, "stgtd: {}\n", loaded.error().to_string());
    return 2;
  }
  config::Config cfg = std::move(loaded).value();
  auto run_as = resolve_run_as(cfg.daemon.user, cfg.daemon.group);
  if (!run_as) {
    fmt::print(stderr, "stgtd: {}\n", run_as.error());
    return 2;
  }
  base::set_log_level(parse_level(options.log_level.value_or(cfg.daemon.log_level)));
  raise_fd_limit();
  if (struct stat st{}; !cfg.accounts.empty() && !options.config_path.empty() &&
                        ::stat(options.config_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    STGT_LOG_WARN("{} holds CHAP secrets and is readable by others (mode {:o}); chmod 600 it",
                  options.config_path, st.st_mode & 0777);
  }

  // Signals are taken synchronously by this thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Declared before the reactors: their pools point to it until they are gone.
  base::MemoryBudget budget(cfg.daemon.memory_budget != 0
                                ? cfg.daemon.memory_budget
                                : base::MemoryBudget::default_limit(config::kMinMemoryBudget));

  // Persistent reservation state (APTPL) and sanitize records (an interrupted sanitize
  // resumes at the next start, failure mode persists) live under the state directory.
  std::string pr_dir = options.var_dir + "/pr";
  {
    std::error_code ec;
    std::filesystem::create_directories(pr_dir, ec);
    if (ec) {
      STGT_LOG_WARN(
          "cannot create {}: {}; APTPL (persist through power loss) is disabled and "
          "sanitize state does not survive a restart",
          pr_dir, ec.message());
      pr_dir.clear();
    }
  }

  const std::string backend_name = options.io_backend.value_or(cfg.daemon.io_backend);
  const auto backend =
      backend_name == "epoll" ? reactor::IoBackend::kEpoll : reactor::IoBackend::kUring;
  auto group = reactor::ReactorGroup::start(options.reactors.value_or(cfg.daemon.reactors), backend);
  if (!group) {
    STGT_LOG_ERROR("cannot start reactors: {}", group.error());
    return 1;
  }

  // The data-buffer budget, shared by every reactor's pool. Idle caches together stay under
  // half of it, so whatever other reactors keep cached, one reactor can always use the rest.
  for (unsigned i = 0; i < (*group)->size(); ++i) {
    reactor::Reactor& r = (*group)->at(i);
    const size_t cache = std::min<uint64_t>(uint64_t{64} << 20,
                                            budget.limit() / (2 * (*group)->size()));
    std::promise<void> done;
    r.post([&r, &budget, cache, &done] {
      (void)r.buffers().set_budget(&budget, cache);
      done.set_value();
    });
    done.get_future().wait();
  }
  STGT_LOG_INFO("memory budget for data buffers: {} MiB", budget.limit() >> 20);

  iscsi::IscsiSettings settings = iscsi_settings(cfg.iscsi);
  if (options.direct_receive.has_value()) settings.direct_receive = *options.direct_receive;
  iscsi::IscsiServer server(**group, settings);
  for (const config::PortalConfig& p : cfg.portals) {
    auto added = server.add_portal(p.address, p.group_tag);
    if (!added) {
      STGT_LOG_ERROR("{}", added.error());
      server.shutdown();
      return 1;
    }
  }
  // The model the control plane changes; start() opens every store and publishes.
  const std::string control_path = options.control_socket.value_or(cfg.daemon.control_socket);
  mgmt::Runtime runtime(server, options.config_path, pr_dir);
  if (auto started = runtime.start(cfg); !started) {
    STGT_LOG_ERROR("{}", started.error());
    server.shutdown();
    return 1;
  }
  mgmt::Dispatcher dispatcher;
  mgmt::register_methods(dispatcher, runtime,
                         mgmt::DaemonInfo{"0.1.0", unsigned((*group)->size()),
                                          std::string(reactor::to_string((*group)->backend())),
                                          std::chrono::steady_clock::now()});
  mgmt::ControlSocket control(dispatcher);
  if (auto listening = control.start(control_path); !listening) {
    STGT_LOG_ERROR("{}", listening.error());
    server.shutdown();
    return 1;
  }
  // The Prometheus endpoint renders stats.get through the dispatcher, so a scrape is
  // serialised with the control socket's methods like any other caller. Bound before the
  // privileges are dropped (a port below 1024 needs them).
  mgmt::MetricsServer metrics([&dispatcher] {
    const std::string line =
        dispatcher.handle(R"({"jsonrpc":"2.0","id":0,"method":"stats.get","params":{}})");
    const mgmt::Json response = mgmt::Json::parse(line, nullptr, false);
    if (response.is_discarded() || !response.contains("result")) return std::string();
    return mgmt::prometheus_text(response["result"]);
  });
  if (!cfg.daemon.metrics_listen.empty()) {
    if (auto listening = metrics.start(cfg.daemon.metrics_listen); !listening) {
      STGT_LOG_ERROR("{}", listening.error());
      control.stop();
      server.shutdown();
      return 1;
    }
  }
  // Everything that needs the starting user's rights is done: portals bound, stores open,
  // APTPL and sanitize state restored, control socket created. From here on run as [daemon] user.
  if (*run_as && (*run_as)->uid != ::geteuid()) {
    const RunAs& who = **run_as;
    if (auto dropped = drop_privileges(who, {pr_dir, control_path}); !dropped) {
      STGT_LOG_ERROR("{}", dropped.error());
      metrics.stop();
      control.stop();
      server.shutdown();
      return 1;
    }
    STGT_LOG_INFO("running as uid {} gid {}{}", who.uid, who.gid,
                  who.user_name.empty() ? "" : " (" + who.user_name + ")");
    const std::string config_dir =
        std::filesystem::path(options.config_path).parent_path().string();
    if (!options.config_path.empty() &&
        ::access(config_dir.empty() ? "." : config_dir.c_str(), W_OK) != 0) {
      STGT_LOG_WARN("{} is not writable by uid {}: live changes will not be saved to {}",
                    config_dir.empty() ? "." : config_dir, who.uid, options.config_path);
    }
  }
  server.start();

  // Hold the snapshot: the control socket is already serving, and a change it publishes
  // frees the catalog this loop would otherwise read through a destroyed temporary
  // (range-for does not extend the life of server.catalog()'s shared_ptr; ThreadSanitizer
  // caught the race with a `lun add` right after start).
  const std::shared_ptr<const iscsi::Catalog> catalog = server.catalog();
  for (const auto& p : server.portals()) {
    for (const auto& t : catalog->targets) {
      STGT_LOG_INFO("serving iscsi://{}/{} ({} LUNs)", p.address, t->name(),
                    t->lun_numbers(false).size());
    }
  }
  STGT_LOG_INFO("stgtd ready: {} reactors, {} backend, control socket {}", (*group)->size(),
                reactor::to_string((*group)->backend()), control_path);
  notify_systemd("READY=1");

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(dispatcher, options.config_path);
      continue;
    }
    STGT_LOG_INFO("signal {}: shutting down", sig);
    break;
  }
  notify_systemd("STOPPING=1");
  metrics.stop();
  control.stop();
  // Ask every initiator to log out (Async Message) and give them a moment to do so cleanly;
  // whoever is still there after that is dropped, with in-flight commands drained.
  constexpr auto kLogoutGrace = std::chrono::seconds(2);
  if (server.close_sessions([](const iscsi::SessionInfo&) { return true; }, kLogoutGrace,
                            "target shutting down") > 0) {
    const auto deadline = std::chrono::steady_clock::now() + kLogoutGrace;
    while (!server.sessions().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  server.shutdown();
  // A sanitize still running stops at its next chunk, after recording where it is; its
  // record brings it back there at the next start.
  constexpr auto kSanitizeParkWait = std::chrono::seconds(5);
  if (const size_t n = devices::sbc::SanitizeJob::park_all(kSanitizeParkWait); n > 0) {
    STGT_LOG_WARN("{} sanitize operation(s) did not stop within {} s (store I/O in flight); "
                  "they resume at their last checkpoint at the next start",
                  n, kSanitizeParkWait.count());
  }
  (*group)->stop();
  if (const size_t n = devices::sbc::SanitizeJob::drop_stopped(); n > 0) {
    STGT_LOG_INFO("{} sanitize operation(s) stopped; they resume where they stopped at the "
                  "next start",
                  n);
  }
  return 0;
}

}  // namespace stgt::daemon
