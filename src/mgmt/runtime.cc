#include "mgmt/runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>

#include <fmt/format.h>

#include "backing/backing_store.h"
#include "base/atomic_file.h"
#include "base/log.h"
#include "devices/device_type.h"
#include "devices/sbc/sanitize_job.h"
#include "devices/sbc/sanitize_record.h"
#include "net/ip_prefix.h"
#include "net/socket_address.h"
#include "reactor/reactor.h"
#include "scsi/alua.h"
#include "scsi/it_nexus.h"
#include "scsi/nexus_registry.h"

namespace stgt::mgmt {

namespace {

// How long a removed LU's in-flight commands may take to finish or abort.
constexpr auto kDrainTimeout = std::chrono::seconds(30);

std::string lun_name(const std::string& iqn, uint32_t lun) {
  return "lun " + std::to_string(lun) + " of " + iqn;
}

const config::TargetConfig* find_target(const config::Config& c, const std::string& iqn) {
  for (const config::TargetConfig& t : c.targets) {
    if (t.iqn == iqn) return &t;
  }
  return nullptr;
}

// Every live nexus of `target`, shared so they outlive the registry lock.
std::vector<std::shared_ptr<scsi::ItNexus>> nexuses_of(const scsi::Target& target) {
  std::vector<std::shared_ptr<scsi::ItNexus>> out;
  target.registry().for_each([&](scsi::ItNexus& n) { out.push_back(n.shared_from_this()); });
  return out;
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

// SBC-4 4.11.2: a sanitize interrupted by a restart or a power loss resumes, and failure mode
// persists. The record sits next to the APTPL file, "<var_dir>/pr/<NAA designator>.sanitize"
// (devices/sbc/sanitize_record.h). Stores whose data does not outlive the daemon (memory,
// null) keep none: after a restart there is nothing left to sanitize. Returns the operation
// to start again once the LU is published.
std::optional<devices::sbc::SanitizeRequest> attach_sanitize_state(scsi::LogicalUnit& lu,
                                                                   const config::LunConfig& lc,
                                                                   const std::string& pr_dir,
                                                                   const std::string& where) {
  if (pr_dir.empty() || lc.store == "memory" || lc.store == "null") return std::nullopt;
  lu.set_sanitize_record_path(fmt::format("{}/{:016x}.sanitize", pr_dir, lu.identity().naa));
  return devices::sbc::restore_sanitize(lu, where);
}

// Two LUN configurations that differ in their size and offline state alone: the LU is kept,
// resized in place and taken offline or online.
bool only_size_or_offline_differs(const config::LunConfig& a, config::LunConfig b) {
  b.size = a.size;
  b.offline = a.offline;
  return a == b;
}

}  // namespace

Runtime::Runtime(iscsi::IscsiServer& server, std::string config_path, std::string pr_dir)
    : server_(server), config_path_(std::move(config_path)), pr_dir_(std::move(pr_dir)) {}

base::Result<std::shared_ptr<scsi::LogicalUnit>, std::string> Runtime::open_lu(
    const std::string& iqn, const config::LunConfig& lc) {
  backing::StoreRegistry registry;
  backing::register_builtin_backing_stores(registry);
  backing::StoreSpec spec{lc.store, lc.path, lc.size, lc.read_only, lc.encryption, lc.key_file};
  if (lc.store == "file" && lc.size > 0) {
    std::error_code ec;
    const auto dir = std::filesystem::path(lc.path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }
  auto store = registry.open(spec);
  if (!store) return base::unexpected("target " + iqn + " LUN " + std::to_string(lc.id) + ": " +
                                      store.error());
  // A thin LU promises that UNMAP deallocates and that unmapped blocks read as zeros.
  if (lc.provisioning == "thin" && !(*store)->supports_unmap()) {
    return base::unexpected("target " + iqn + " LUN " + std::to_string(lc.id) +
                            ": provisioning is \"thin\", but " + (*store)->why_no_unmap());
  }
  scsi::LuIdentity identity = devices::identity_for(iqn, lc.id);
  if (!lc.vendor.empty()) identity.vendor = lc.vendor;
  if (!lc.product.empty()) identity.product = lc.product;
  if (!lc.serial.empty()) identity.serial = lc.serial;
  scsi::LuSettings settings;
  settings.block_size = lc.block_size;
  settings.physical_block_size = lc.physical_block_size;
  settings.read_only = lc.read_only;
  settings.removable = lc.removable;
  settings.write_cache = lc.write_cache;
  settings.thin = lc.provisioning == "thin";
  settings.queue_depth = lc.queue_depth;
  settings.stats_shards = server_.reactor_count();
  auto lu = devices::make_disk(std::move(store).value(), identity, settings);
  lu->set_offline(lc.offline);
  if (lu->num_blocks() == 0) {
    return base::unexpected("target " + iqn + " LUN " + std::to_string(lc.id) +
                            ": the store holds less than one " + std::to_string(lc.block_size) +
                            "-byte block");
  }
  const std::string where = "target " + iqn + " LUN " + std::to_string(lc.id);
  attach_aptpl_state(*lu, pr_dir_, where);
  if (auto resumed = attach_sanitize_state(*lu, lc, pr_dir_, where)) {
    pending_sanitizes_.push_back({lu, std::move(*resumed)});
  }
  return lu;
}

// The LU answers SANITIZE IN PROGRESS since open_lu(); its job starts now that it is
// published (an LU opened by a change that then failed is never published: its job does
// not start, and the record stays for the next open). One reactor per LU, by its NAA.
void Runtime::start_pending_sanitizes() {
  std::vector<PendingSanitize> pending = std::move(pending_sanitizes_);
  pending_sanitizes_.clear();
  for (PendingSanitize& p : pending) {
    const unsigned at = unsigned(p.lu->identity().naa % server_.reactor_count());
    reactor::Reactor& r = server_.reactor_at(at);
    r.post([&r, lu = std::move(p.lu), request = std::move(p.request)]() mutable {
      devices::sbc::SanitizeJob::start(&r, &r.buffers(), std::move(lu), std::move(request),
                                       nullptr);
    });
  }
}

// The target port groups of a target (ALUA): as configured, or one group of every portal
// group the daemon has.
std::shared_ptr<scsi::AluaGroups> alua_groups(const config::Config& cfg,
                                              const config::TargetConfig& tc) {
  std::vector<uint16_t> all_ports;
  for (const config::PortalConfig& p : cfg.portals) all_ports.push_back(p.group_tag);
  std::vector<scsi::TargetPortGroupSpec> specs;
  for (const config::PortGroupConfig& g : tc.port_groups) {
    scsi::TargetPortGroupSpec spec;
    spec.id = g.id;
    spec.relative_port_ids = g.portal_groups;
    spec.state = scsi::parse_alua_state(g.state).value_or(scsi::AluaState::kActiveOptimized);
    spec.preferred = g.preferred;
    specs.push_back(std::move(spec));
  }
  return std::make_shared<scsi::AluaGroups>(std::move(specs), std::move(all_ports),
                                            tc.alua_explicit);
}

// What fixes a target's port groups: each group's id, ports and preferred bit, and whether
// SET TARGET PORT GROUPS is allowed. States are not part of it: they change live.
std::string alua_membership(const config::Config& cfg, const config::TargetConfig& tc) {
  std::string out = tc.alua_explicit ? "explicit;" : "implicit;";
  if (tc.port_groups.empty()) {
    // The implicit configuration: group 1 holds every portal group.
    out += "1:";
    for (const config::PortalConfig& p : cfg.portals) out += std::to_string(p.group_tag) + ",";
    return out + ";";
  }
  for (const config::PortGroupConfig& g : tc.port_groups) {
    out += std::to_string(g.id) + (g.preferred ? "p:" : ":");
    for (const uint16_t t : g.portal_groups) out += std::to_string(t) + ",";
    out += ";";
  }
  return out;
}

std::shared_ptr<scsi::Target> Runtime::make_target(const config::Config& cfg,
                                                   const config::TargetConfig& tc,
                                                   const LuMap& luns) {
  auto target = std::make_shared<scsi::Target>(tc.iqn, tc.alias);
  const auto old = targets_.find(tc.iqn);
  const config::TargetConfig* old_cfg = nullptr;
  for (const config::TargetConfig& t : config_.targets) {
    if (t.iqn == tc.iqn) old_cfg = &t;
  }
  // A new snapshot of a running target keeps its live nexuses (registry) and, unless the
  // membership of its port groups changed, their live ALUA states (state changes are applied
  // to the live groups after publishing, see apply()).
  if (old != targets_.end()) target->share_runtime_state(*old->second);
  if (old == targets_.end() || old_cfg == nullptr ||
      alua_membership(config_, *old_cfg) != alua_membership(cfg, tc)) {
    target->set_alua(alua_groups(cfg, tc));
  }
  for (const auto& [id, entry] : luns) target->add_lun(id, entry.lu);
  if (luns.count(0) == 0) {
    auto& controller = controllers_[tc.iqn];
    if (!controller) controller = devices::make_controller(devices::identity_for(tc.iqn, 0));
    target->set_controller(controller);
  }
  for (const config::AclConfig& acl : tc.acls) {
    scsi::AccessRule rule;
    if (!acl.initiator.empty()) rule.initiators.push_back(acl.initiator);
    if (const config::GroupConfig* g = cfg.find_group(acl.group)) {
      rule.initiators = g->initiators;
      for (const std::string& a : g->addresses) {
        if (auto p = net::IpPrefix::parse(a)) rule.addresses.push_back(*p);
      }
    }
    for (const config::LunMapConfig& m : acl.maps) rule.luns.push_back({m.lun, m.lu, m.read_only});
    target->add_rule(std::move(rule));
  }
  return target;
}

std::shared_ptr<iscsi::Catalog> Runtime::make_catalog(
    const config::Config& cfg,
    const std::map<std::string, std::shared_ptr<const scsi::Target>>& targets) const {
  auto catalog = std::make_shared<iscsi::Catalog>();
  for (const config::TargetConfig& tc : cfg.targets) catalog->targets.push_back(targets.at(tc.iqn));
  catalog->portals = server_.portals();
  auto policy = [&cfg](const config::ChapConfig& chap) -> std::optional<iscsi::ChapPolicy> {
    if (chap.incoming_users.empty()) return std::nullopt;
    iscsi::ChapPolicy p;
    for (const std::string& user : chap.incoming_users) {
      if (const config::AccountConfig* a = cfg.find_account(user)) {
        p.incoming.push_back({a->user, a->secret});
      }
    }
    if (const config::AccountConfig* out = cfg.find_account(chap.outgoing_user)) {
      p.outgoing = iscsi::ChapAccount{out->user, out->secret};
    }
    p.mutual_required = chap.mutual;
    return p;
  };
  for (const config::TargetConfig& tc : cfg.targets) {
    if (auto p = policy(tc.chap)) catalog->target_chap.emplace(tc.iqn, std::move(*p));
  }
  catalog->discovery_chap = policy(cfg.discovery.chap);
  return catalog;
}

base::Result<void, std::string> Runtime::start(config::Config cfg) {
  pending_sanitizes_.clear();
  std::map<std::string, LuMap> lus;
  for (const config::TargetConfig& tc : cfg.targets) {
    LuMap& map = lus[tc.iqn];
    for (const config::LunConfig& lc : tc.luns) {
      auto lu = open_lu(tc.iqn, lc);
      if (!lu) return base::unexpected(lu.error());
      map[lc.id] = LuEntry{lc, std::move(lu).value()};
    }
  }
  for (const config::TargetConfig& tc : cfg.targets) targets_[tc.iqn] = make_target(cfg, tc, lus[tc.iqn]);
  lus_ = std::move(lus);
  config_ = std::move(cfg);
  server_.publish(make_catalog(config_, targets_));
  start_pending_sanitizes();
  return {};
}

size_t Runtime::sessions_using(const std::string& target, int64_t lun) {
  const auto t = targets_.find(target);
  if (t == targets_.end()) return 0;
  if (lun < 0) return t->second->registry().size();
  const scsi::LogicalUnit* lu = t->second->lookup(uint32_t(lun));
  if (lu == nullptr) return 0;
  size_t n = 0;
  t->second->registry().for_each([&](scsi::ItNexus& nexus) {
    if (!nexus.luns_of(*lu).empty()) ++n;
  });
  return n;
}

std::shared_ptr<scsi::LogicalUnit> Runtime::live_lu(const std::string& iqn, uint32_t lun) const {
  const auto t = lus_.find(iqn);
  if (t == lus_.end()) return nullptr;
  const auto l = t->second.find(lun);
  return l == t->second.end() ? nullptr : l->second.lu;
}

std::vector<Runtime::LuRef> Runtime::logical_units() const {
  std::vector<LuRef> out;
  for (const auto& [iqn, map] : lus_) {
    for (const auto& [id, entry] : map)
      out.push_back({iqn, id, entry.lu});
  }
  return out;
}

base::Result<ApplyReport, RpcError> Runtime::apply(config::Config next,
                                                   const ApplyOptions& options) {
  // Sanitizes found by open_lu() start only if the change is committed; a change that fails
  // drops them with the LUs it opened (their records stay for the next open).
  struct DropPending {
    std::vector<PendingSanitize>& pending;
    ~DropPending() { pending.clear(); }
  } drop_pending{pending_sanitizes_};
  next.source = config_.source;
  if (auto valid = config::validate_config(next); !valid) {
    return rpc_error(RpcErrorCode::kInvalidConfig, valid.error().to_string());
  }
  ApplyReport report;
  // ---- 1. the difference ----
  if (!(next.daemon == config_.daemon)) report.restart_needed.push_back("[daemon]");
  if (!(next.iscsi == config_.iscsi)) report.restart_needed.push_back("[iscsi]");
  // Portals are bound and unbound live (by address); a new group tag for an address is not.
  std::vector<config::PortalConfig> added_portals;
  std::vector<std::string> removed_portals;
  for (const config::PortalConfig& p : next.portals) {
    const auto old =
        std::find_if(config_.portals.begin(), config_.portals.end(),
                     [&](const config::PortalConfig& o) { return o.address == p.address; });
    if (old == config_.portals.end()) {
      added_portals.push_back(p);
      report.changes.push_back("+ portal " + p.address);
    } else if (old->group_tag != p.group_tag) {
      report.restart_needed.push_back("[[portal]] group_tag of " + p.address);
    }
  }
  for (const config::PortalConfig& o : config_.portals) {
    if (std::none_of(next.portals.begin(), next.portals.end(),
                     [&](const config::PortalConfig& p) { return p.address == o.address; })) {
      removed_portals.push_back(o.address);
      report.changes.push_back("- portal " + o.address);
    }
  }
  if (!(next.accounts == config_.accounts) || !(next.discovery == config_.discovery)) {
    report.changes.push_back("~ CHAP accounts / discovery authentication");
  }
  struct LunChange {
    std::string iqn;
    uint32_t id;
  };
  std::vector<std::string> removed_targets;
  std::vector<LunChange> removed_luns;  // removed or replaced
  std::vector<LunChange> added_luns;    // added or replaced
  struct Replaced {
    std::string iqn;
    uint32_t id;
    bool capacity;  // size or block size changed: CAPACITY DATA HAS CHANGED
  };
  std::vector<Replaced> replaced_luns;  // same LUN, new LU: INQUIRY DATA HAS CHANGED
  struct Resized {
    std::string iqn;
    uint32_t id;
    uint64_t from;
    uint64_t to;
  };
  std::vector<Resized> resized_luns;  // same LU, new size: CAPACITY DATA HAS CHANGED
  struct OfflineChange {
    std::string iqn;
    uint32_t id;
    bool offline;
  };
  std::vector<OfflineChange> offline_changes;  // same LU, taken offline or brought online
  std::set<std::string> touched_targets;
  for (const config::TargetConfig& old : config_.targets) {
    if (find_target(next, old.iqn) == nullptr) {
      removed_targets.push_back(old.iqn);
      report.changes.push_back("- target " + old.iqn);
    }
  }
  for (const config::TargetConfig& tc : next.targets) {
    const config::TargetConfig* old = find_target(config_, tc.iqn);
    if (old == nullptr) {
      report.changes.push_back("+ target " + tc.iqn);
      touched_targets.insert(tc.iqn);
      for (const config::LunConfig& lc : tc.luns) added_luns.push_back({tc.iqn, lc.id});
      continue;
    }
    if (tc == *old) continue;
    touched_targets.insert(tc.iqn);
    if (tc.alias != old->alias) report.changes.push_back("~ alias of target " + tc.iqn);
    if (!(tc.acls == old->acls)) report.changes.push_back("~ ACL of target " + tc.iqn);
    if (!(tc.chap == old->chap)) report.changes.push_back("~ CHAP of target " + tc.iqn);
    if (!(tc.port_groups == old->port_groups) || tc.alua_explicit != old->alua_explicit) {
      report.changes.push_back("~ ALUA port groups of target " + tc.iqn);
    }
    for (const config::LunConfig& ol : old->luns) {
      const auto now = std::find_if(tc.luns.begin(), tc.luns.end(),
                                    [&](const config::LunConfig& l) { return l.id == ol.id; });
      if (now == tc.luns.end()) {
        removed_luns.push_back({tc.iqn, ol.id});
        report.changes.push_back("- " + lun_name(tc.iqn, ol.id));
      } else if (const std::shared_ptr<scsi::LogicalUnit> lu = live_lu(tc.iqn, ol.id);
                 !(*now == ol) && only_size_or_offline_differs(*now, ol) && lu != nullptr &&
                 (now->size == ol.size ||
                  (lu->store() != nullptr && lu->store()->resizable()))) {
        // The same LU grows or shrinks in place (SBC-4 4.6), or goes offline or online:
        // sessions keep it.
        if (now->size != ol.size) {
          resized_luns.push_back({tc.iqn, ol.id, ol.size, now->size});
          report.changes.push_back(fmt::format("~ {} (resized from {} to {} bytes)",
                                               lun_name(tc.iqn, ol.id), ol.size, now->size));
        }
        if (now->offline != ol.offline) {
          offline_changes.push_back({tc.iqn, ol.id, now->offline});
          report.changes.push_back(fmt::format("~ {} ({})", lun_name(tc.iqn, ol.id),
                                               now->offline ? "offline" : "online"));
        }
      } else if (!(*now == ol)) {
        removed_luns.push_back({tc.iqn, ol.id});
        added_luns.push_back({tc.iqn, ol.id});
        replaced_luns.push_back(
            {tc.iqn, ol.id, now->size != ol.size || now->block_size != ol.block_size});
        report.changes.push_back("~ " + lun_name(tc.iqn, ol.id) + " (replaced)");
      }
    }
    for (const config::LunConfig& nl : tc.luns) {
      const bool existed = std::any_of(old->luns.begin(), old->luns.end(),
                                       [&](const config::LunConfig& l) { return l.id == nl.id; });
      if (!existed) {
        added_luns.push_back({tc.iqn, nl.id});
        report.changes.push_back("+ " + lun_name(tc.iqn, nl.id));
      }
    }
  }
  // ---- 2. what live sessions use ----
  if (!options.force) {
    for (const std::string& iqn : removed_targets) {
      if (const size_t n = sessions_using(iqn); n > 0) {
        return rpc_error(RpcErrorCode::kInUse, "target " + iqn + " has " + std::to_string(n) +
                                                   " session(s); use --force to remove it");
      }
    }
    for (const LunChange& c : removed_luns) {
      if (const size_t n = sessions_using(c.iqn, c.id); n > 0) {
        return rpc_error(RpcErrorCode::kInUse, lun_name(c.iqn, c.id) + " is in use by " +
                                                   std::to_string(n) +
                                                   " session(s); use --force to change it");
      }
    }
    // Shrinking cuts off blocks an initiator may be using (a file system's end, a partition).
    for (const Resized& r : resized_luns) {
      if (r.to >= r.from) continue;
      if (const size_t n = sessions_using(r.iqn, r.id); n > 0) {
        return rpc_error(RpcErrorCode::kInUse,
                         lun_name(r.iqn, r.id) + " is in use by " + std::to_string(n) +
                             " session(s); shrinking it loses the blocks past the new end, "
                             "use --force to shrink it anyway");
      }
    }
    for (const std::string& address : removed_portals) {
      const auto sessions = server_.sessions();
      const size_t n =
          size_t(std::count_if(sessions.begin(), sessions.end(),
                               [&](const iscsi::SessionInfo& s) { return s.local == address; }));
      if (n > 0) {
        return rpc_error(RpcErrorCode::kInUse, "portal " + address + " has " + std::to_string(n) +
                                                   " session(s); use --force to remove it");
      }
    }
  }
  // The replacement would read the sanitize record the running job still owns and start the
  // operation a second time on the new LU: refused, even with --force, until the job ends.
  for (const Replaced& r : replaced_luns) {
    const std::shared_ptr<scsi::LogicalUnit> lu = live_lu(r.iqn, r.id);
    if (lu != nullptr && lu->sanitize_state() == scsi::LogicalUnit::SanitizeState::kRunning) {
      return rpc_error(RpcErrorCode::kInUse, lun_name(r.iqn, r.id) +
                                                 " is being sanitized; change it once the "
                                                 "sanitize has ended");
    }
  }
  if (options.dry_run) return report;

  // ---- 3. open new stores first: a failure here changes nothing ----
  std::map<std::string, LuMap> next_lus;
  for (const config::TargetConfig& tc : next.targets) {
    LuMap& map = next_lus[tc.iqn];
    const auto old_map = lus_.find(tc.iqn);
    for (const config::LunConfig& lc : tc.luns) {
      if (old_map != lus_.end()) {
        const auto kept = old_map->second.find(lc.id);
        if (kept != old_map->second.end() && kept->second.cfg == lc) {
          map[lc.id] = kept->second;
          continue;
        }
      }
      if (old_map != lus_.end()) {
        const auto kept = old_map->second.find(lc.id);
        if (kept != old_map->second.end() &&
            std::any_of(resized_luns.begin(), resized_luns.end(),
                        [&](const Resized& r) { return r.iqn == tc.iqn && r.id == lc.id; })) {
          map[lc.id] = LuEntry{lc, kept->second.lu};
          continue;
        }
      }
      auto lu = open_lu(tc.iqn, lc);
      if (!lu) return rpc_error(RpcErrorCode::kFailed, lu.error());
      map[lc.id] = LuEntry{lc, std::move(lu).value()};
    }
  }
  // New portals next; any failure unbinds what this change bound and changes nothing.
  std::vector<std::string> bound;
  auto unbind = [&] {
    for (const std::string& a : bound)
      server_.remove_portal(a);
  };
  for (const config::PortalConfig& p : added_portals) {
    if (auto ok = server_.add_portal(p.address, p.group_tag); !ok) {
      unbind();
      return rpc_error(RpcErrorCode::kFailed, ok.error());
    }
    bound.push_back(p.address);
  }
  // Resizes last: the only step after which nothing can fail.
  for (size_t i = 0; i < resized_luns.size(); ++i) {
    const Resized& r = resized_luns[i];
    if (auto ok = next_lus.at(r.iqn).at(r.id).lu->resize(r.to); !ok) {
      for (size_t j = 0; j < i; ++j) {
        (void)next_lus.at(resized_luns[j].iqn)
            .at(resized_luns[j].id)
            .lu->resize(resized_luns[j].from);
      }
      unbind();
      return rpc_error(RpcErrorCode::kFailed, lun_name(r.iqn, r.id) + ": " + ok.error());
    }
  }
  for (const std::string& address : removed_portals)
    server_.remove_portal(address);
  // Offline or online: commands already past the gate finish; later ones see the new state.
  for (const OfflineChange& c : offline_changes) {
    next_lus.at(c.iqn).at(c.id).lu->set_offline(c.offline);
  }

  // ---- 4. publish, then move live sessions onto the new snapshots ----
  std::map<std::string, std::shared_ptr<const scsi::Target>> next_targets;
  for (const config::TargetConfig& tc : next.targets) {
    next_targets[tc.iqn] = make_target(next, tc, next_lus[tc.iqn]);
  }
  server_.publish(make_catalog(next, next_targets));
  // Old snapshots (and through them the LUs being removed) stay alive until drained.
  const std::map<std::string, std::shared_ptr<const scsi::Target>> old_targets = targets_;
  const std::map<std::string, LuMap> old_lus = lus_;
  std::vector<std::future<void>> moved;
  for (const std::string& iqn : touched_targets) {
    const auto old = old_targets.find(iqn);
    if (old == old_targets.end()) continue;
    const std::shared_ptr<const scsi::Target> fresh = next_targets.at(iqn);
    // A replaced LU keeps its number: that is not an inventory change (it gets its own UAs).
    const bool luns_changed = old->second->lun_numbers(true) != fresh->lun_numbers(true);
    for (const std::shared_ptr<scsi::ItNexus>& n : nexuses_of(*old->second)) {
      if (n->reactor() == nullptr) continue;
      // Each nexus moves onto its own view (its LUN map may have changed); one that lost
      // access keeps its old view until it is closed below.
      std::shared_ptr<const scsi::Target> view =
          fresh->view_for(n->initiator_name(), n->initiator_address());
      if (view == nullptr) continue;
      auto done = std::make_shared<std::promise<void>>();
      moved.push_back(done->get_future());
      n->reactor()->post([n, view, luns_changed, done] {
        const bool inventory_changed = luns_changed || n->lun_numbers() != view->lun_numbers(true);
        n->set_target(view);
        // SPC-5 6.33 / SAM-5 6.3: the LUN inventory changed under this nexus.
        if (inventory_changed) {
          for (const uint32_t lun : n->lun_numbers()) {
            n->queue_unit_attention(lun, scsi::SenseReason::kReportedLunsDataChanged);
          }
        }
        done->set_value();
      });
    }
  }
  for (std::future<void>& f : moved) f.wait_for(kDrainTimeout);
  // SPC-5 5.14: the LU behind a LUN was replaced (new identity, settings or size); every
  // nexus that sees it is told (the new LU object is what their views now hold).
  for (const Replaced& r : replaced_luns) {
    const auto& lu = next_lus.at(r.iqn).at(r.id).lu;
    scsi::NexusRegistry& registry = next_targets.at(r.iqn)->registry();
    registry.queue_unit_attention(*lu, scsi::SenseReason::kInquiryDataChanged);
    if (r.capacity) registry.queue_unit_attention(*lu, scsi::SenseReason::kCapacityDataChanged);
  }
  // SBC-4 4.6 / SPC-5 5.14: every I_T nexus of a resized LU is told its capacity changed.
  for (const Resized& r : resized_luns) {
    const auto& lu = next_lus.at(r.iqn).at(r.id).lu;
    next_targets.at(r.iqn)->registry().queue_unit_attention(
        *lu, scsi::SenseReason::kCapacityDataChanged);
  }
  // ALUA states changed in the configuration: an implicit transition of the live groups,
  // told to every nexus of the target (SPC-5 5.16.2.6).
  for (const config::TargetConfig& tc : next.targets) {
    const config::TargetConfig* old_cfg = nullptr;
    for (const config::TargetConfig& t : config_.targets) {
      if (t.iqn == tc.iqn) old_cfg = &t;
    }
    if (old_cfg == nullptr) continue;
    for (const config::PortGroupConfig& g : tc.port_groups) {
      const scsi::TargetPortGroup* live = next_targets.at(tc.iqn)->alua().find(g.id);
      const auto state = scsi::parse_alua_state(g.state);
      if (live == nullptr || !state || live->state() == *state) continue;
      (void)scsi::change_alua_state(*next_targets.at(tc.iqn), g.id, *state,
                                    scsi::AluaStatusCode::kChangedImplicitly);
    }
  }

  // ---- 5. drain removed LUs; close what lost its target or its access ----
  for (const LunChange& c : removed_luns) {
    const auto t = old_targets.find(c.iqn);
    const auto m = old_lus.find(c.iqn);
    if (t == old_targets.end() || m == old_lus.end() || m->second.count(c.id) == 0) continue;
    const scsi::LogicalUnit* lu = m->second.at(c.id).lu.get();
    auto drained = std::make_shared<std::promise<void>>();
    std::future<void> f = drained->get_future();
    t->second->registry().abort_tasks([](const scsi::ItNexus&) { return true; }, lu,
                                      scsi::AbortCause::kLuRemoved, nullptr, nullptr,
                                      [drained] { drained->set_value(); });
    if (f.wait_for(kDrainTimeout) != std::future_status::ready) {
      STGT_LOG_WARN("{}: in-flight commands did not drain within {} s", lun_name(c.iqn, c.id),
                    kDrainTimeout.count());
    }
  }
  for (const std::string& iqn : removed_targets) {
    server_.close_sessions([&iqn](const iscsi::SessionInfo& s) { return s.target == iqn; },
                           std::chrono::seconds(0), "target removed");
  }
  for (const std::string& address : removed_portals) {
    server_.close_sessions([&address](const iscsi::SessionInfo& s) { return s.local == address; },
                           std::chrono::seconds(0), "portal removed");
  }
  server_.close_sessions(
      [&next_targets](const iscsi::SessionInfo& s) {
        if (s.discovery) return false;
        const auto t = next_targets.find(s.target);
        if (t == next_targets.end()) return false;
        const auto peer = net::SocketAddress::parse(s.peer);
        return !t->second->admits(s.initiator, peer ? peer->host() : std::string());
      },
      std::chrono::seconds(0), "access revoked");

  // ---- 6. commit and write back ----
  targets_ = std::move(next_targets);
  lus_ = std::move(next_lus);
  start_pending_sanitizes();
  // A removed LU (not one replaced under the same number) takes its sanitize record along.
  for (const auto& [iqn, map] : old_lus) {
    const auto now = lus_.find(iqn);
    for (const auto& [id, entry] : map) {
      if (now != lus_.end() && now->second.count(id) != 0) continue;
      if (auto dropped = entry.lu->drop_sanitize_record(); !dropped) {
        STGT_LOG_WARN("{}: cannot remove its sanitize record: {}", lun_name(iqn, id),
                      dropped.error());
      }
    }
  }
  for (auto it = controllers_.begin(); it != controllers_.end();) {
    it = targets_.count(it->first) == 0 ? controllers_.erase(it) : std::next(it);
  }
  config_ = std::move(next);
  report.applied = true;
  for (const std::string& line : report.changes) STGT_LOG_INFO("applied: {}", line);
  if (auto written = write_back(config_); !written) return base::unexpected(written.error());
  return report;
}

base::Result<void, RpcError> Runtime::write_back(const config::Config& cfg) const {
  if (config_path_.empty()) return {};
  auto ok = base::write_file_atomic(config_path_, config::to_toml(cfg));
  if (!ok) {
    return rpc_error(RpcErrorCode::kFailed,
                     "the change is live but could not be saved: " + ok.error());
  }
  return {};
}

}  // namespace stgt::mgmt
