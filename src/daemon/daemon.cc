#include "daemon/daemon.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "backing/backing_store.h"
#include "base/atomic_file.h"
#include "base/log.h"
#include "config/config.h"
#include "devices/device_type.h"
#include "reactor/reactor_group.h"
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

// SPC-5 5.13.5 APTPL: each LU keeps its persistent reservation state in
// "<var_dir>/pr/<NAA designator>.pr" (the NAA is stable across restarts for the same target
// and LUN). A file that is present is restored now; one that does not verify is refused whole
// and the LU starts without persistent reservations.
void attach_aptpl_state(scsi::LogicalUnit& lu, const std::string& pr_dir,
                        const std::string& where) {
  if (pr_dir.empty()) return;
  const std::string path = fmt::format("{}/{:016x}.pr", pr_dir, lu.identity().naa);
  lu.set_aptpl_path(path);
  const auto image = base::read_small_file(path);
  if (!image) {
    STGT_LOG_ERROR("{}: persistent reservations not restored: {}", where, image.error());
    return;
  }
  if (!image.value()) return;
  const auto restored = lu.reservations().restore(**image);
  if (!restored) {
    STGT_LOG_ERROR("{}: refusing persistent reservation file {}: {}; starting with no "
                   "persistent reservations (the file is left for inspection until the next "
                   "APTPL change replaces it)",
                   where, path, restored.error());
    return;
  }
  const scsi::PrSnapshot s = lu.reservations().snapshot();
  STGT_LOG_INFO("{}: restored persistent reservations from {}: {} registrations, {}", where,
                path, s.registrations.size(), s.type ? "reserved" : "not reserved");
}

// Builds every target of the configuration: opens its stores and maps its LUs.
base::Result<std::vector<std::shared_ptr<const scsi::Target>>, std::string> build_targets(
    const config::Config& cfg, const std::string& pr_dir) {
  backing::StoreRegistry registry;
  backing::register_builtin_backing_stores(registry);
  std::vector<std::shared_ptr<const scsi::Target>> targets;
  for (const config::TargetConfig& tc : cfg.targets) {
    auto target = std::make_shared<scsi::Target>(tc.iqn, tc.alias);
    bool has_lun0 = false;
    for (const config::LunConfig& lc : tc.luns) {
      backing::StoreSpec spec{lc.store, lc.path, lc.size, lc.read_only};
      if (lc.store == "file" && lc.size > 0) {
        std::error_code ec;
        const auto dir = std::filesystem::path(lc.path).parent_path();
        if (!dir.empty()) std::filesystem::create_directories(dir, ec);
      }
      auto store = registry.open(spec);
      if (!store) {
        return base::unexpected(
            fmt::format("target {} LUN {}: {}", tc.iqn, lc.id, store.error()));
      }
      scsi::LuIdentity identity = devices::identity_for(tc.iqn, lc.id);
      if (!lc.vendor.empty()) identity.vendor = lc.vendor;
      if (!lc.product.empty()) identity.product = lc.product;
      if (!lc.serial.empty()) identity.serial = lc.serial;
      scsi::LuSettings settings;
      settings.block_size = lc.block_size;
      settings.read_only = lc.read_only;
      settings.removable = lc.removable;
      settings.write_cache = lc.write_cache;
      settings.thin = lc.provisioning == "thin";
      auto lu = devices::make_disk(std::move(store).value(), identity, settings);
      if (lu->num_blocks() == 0) {
        return base::unexpected(fmt::format(
            "target {} LUN {}: the store holds less than one {}-byte block", tc.iqn, lc.id,
            lc.block_size));
      }
      attach_aptpl_state(*lu, pr_dir, fmt::format("target {} LUN {}", tc.iqn, lc.id));
      target->add_lun(lc.id, std::move(lu));
      has_lun0 = has_lun0 || lc.id == 0;
    }
    if (!has_lun0) target->set_controller(devices::make_controller(devices::identity_for(tc.iqn, 0)));
    for (const config::AclConfig& acl : tc.acls) target->allow_initiator(acl.initiator);
    targets.push_back(std::move(target));
  }
  return targets;
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
  s.limits.max_recv_data_segment_length = c.max_recv_data_segment_length;
  s.limits.max_burst_length = c.max_burst_length;
  s.limits.first_burst_length = c.first_burst_length;
  s.limits.max_outstanding_r2t = c.max_outstanding_r2t;
  s.limits.immediate_data = c.immediate_data;
  s.limits.initial_r2t = c.initial_r2t;
  s.limits.allow_crc32c = c.digests;
  return s;
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
  base::set_log_level(parse_level(options.log_level.value_or(cfg.daemon.log_level)));
  raise_fd_limit();

  // Signals are taken synchronously by this thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Persistent reservation state (APTPL) lives under the state directory.
  std::string pr_dir = options.var_dir + "/pr";
  {
    std::error_code ec;
    std::filesystem::create_directories(pr_dir, ec);
    if (ec) {
      STGT_LOG_WARN("cannot create {}: {}; APTPL (persist through power loss) is disabled",
                    pr_dir, ec.message());
      pr_dir.clear();
    }
  }
  auto targets = build_targets(cfg, pr_dir);
  if (!targets) {
    STGT_LOG_ERROR("{}", targets.error());
    return 1;
  }

  const std::string backend_name = options.io_backend.value_or(cfg.daemon.io_backend);
  const auto backend =
      backend_name == "epoll" ? reactor::IoBackend::kEpoll : reactor::IoBackend::kUring;
  auto group = reactor::ReactorGroup::start(options.reactors.value_or(cfg.daemon.reactors), backend);
  if (!group) {
    STGT_LOG_ERROR("cannot start reactors: {}", group.error());
    return 1;
  }

  iscsi::IscsiServer server(**group, iscsi_settings(cfg.iscsi));
  for (const config::PortalConfig& p : cfg.portals) {
    auto added = server.add_portal(p.address, p.group_tag);
    if (!added) {
      STGT_LOG_ERROR("{}", added.error());
      server.shutdown();
      return 1;
    }
  }
  auto catalog = std::make_shared<iscsi::Catalog>();
  catalog->targets = std::move(targets).value();
  catalog->portals = server.portals();
  server.publish(catalog);
  server.start();

  for (const auto& p : catalog->portals) {
    for (const auto& t : catalog->targets) {
      STGT_LOG_INFO("serving iscsi://{}/{} ({} LUNs)", p.address, t->name(),
                    t->lun_numbers(false).size());
    }
  }
  STGT_LOG_INFO("stgtd ready: {} reactors, {} backend", (*group)->size(),
                reactor::to_string((*group)->backend()));

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      STGT_LOG_INFO("SIGHUP: configuration reload is not supported yet; ignoring");
      continue;
    }
    STGT_LOG_INFO("signal {}: shutting down", sig);
    break;
  }
  server.shutdown();
  (*group)->stop();
  return 0;
}

}  // namespace stgt::daemon
