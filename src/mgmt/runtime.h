// Runtime: the running daemon's model, as the control plane changes it. The configuration
// (config::Config) is the single source of truth: every change — a stgtadm verb, `config
// apply`, SIGHUP — is a new Config handed to apply(), which
//   1. validates it and computes the difference to what runs,
//   2. refuses (without --force) to remove a target or LU that live sessions use,
//   3. opens the stores of new LUs before touching anything (a failure changes nothing),
//   4. publishes a new catalog (targets, ACLs, CHAP) and moves every live session onto the
//      new target snapshot on its own reactor, queueing the unit attentions SPC-5 names
//      (REPORTED LUNS DATA CHANGED, INQUIRY DATA HAS CHANGED) for every affected I_T nexus,
//   5. drains removed LUs (their in-flight commands finish or are aborted through the
//      nexus registry before the LU is released), closes sessions that lost their target
//      or their access, and
//   6. writes the configuration back to its file atomically (base::write_file_atomic:
//      temporary file, fsync, rename, fsync of the directory; mode 0600, as it may hold CHAP
//      secrets).
// Unchanged LUs keep their objects, so sessions that a change does not concern never
// notice it. Settings that cannot change under running sessions ([daemon], [iscsi],
// portals) are reported as needing a restart and written, not applied.
//
// Threads: the control thread only (and the daemon's main thread at start-up, before the
// control socket exists). It talks to reactors by posting and waiting, bounded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "devices/sbc/sanitize_job.h"
#include "mgmt/json_rpc.h"
#include "scsi/logical_unit.h"
#include "scsi/target.h"
#include "transport/iscsi/server.h"

namespace stgt::mgmt {

struct ApplyOptions {
  bool dry_run = false;
  bool force = false;  // remove what sessions use; close what loses access
};

struct ApplyReport {
  std::vector<std::string> changes;         // "+ target iqn...", "- lun 2 of iqn...", ...
  std::vector<std::string> restart_needed;  // settings written but applied at the next start
  bool applied = false;
};

class Runtime {
 public:
  // `config_path`: where accepted changes are written back ("" = nowhere, e.g. the built-in
  // demo configuration). `pr_dir`: where LUs keep their APTPL persistent reservation state
  // and their sanitize records ("" = APTPL disabled, sanitize state not persisted).
  Runtime(iscsi::IscsiServer& server, std::string config_path, std::string pr_dir = {});

  // Builds everything in `cfg` and publishes it (before the server accepts connections).
  base::Result<void, std::string> start(config::Config cfg);

  const config::Config& config() const { return config_; }
  const std::string& config_path() const { return config_path_; }
  iscsi::IscsiServer& server() { return server_; }

  base::Result<ApplyReport, RpcError> apply(config::Config next, const ApplyOptions& options);

  // The live sessions that can see `lun` of `target` (or any LUN when lun < 0).
  size_t sessions_using(const std::string& target, int64_t lun = -1);

  // Every running LU with its target and LUN (statistics).
  struct LuRef {
    std::string target;
    uint32_t lun = 0;
    std::shared_ptr<const scsi::LogicalUnit> lu;
  };
  std::vector<LuRef> logical_units() const;
  // The running LU at `lun` of `iqn`, or null.
  std::shared_ptr<scsi::LogicalUnit> live_lu(const std::string& iqn, uint32_t lun) const;

 private:
  struct LuEntry {
    config::LunConfig cfg;
    std::shared_ptr<scsi::LogicalUnit> lu;
  };
  using LuMap = std::map<uint32_t, LuEntry>;

  // Opens the store and builds the LU, restoring its APTPL and sanitize state; a sanitize
  // to resume is queued in pending_sanitizes_ until the LU is published.
  base::Result<std::shared_ptr<scsi::LogicalUnit>, std::string> open_lu(
      const std::string& iqn, const config::LunConfig& lc);
  void start_pending_sanitizes();
  std::shared_ptr<scsi::Target> make_target(const config::Config& cfg,
                                            const config::TargetConfig& tc, const LuMap& luns);
  std::shared_ptr<iscsi::Catalog> make_catalog(
      const config::Config& cfg,
      const std::map<std::string, std::shared_ptr<const scsi::Target>>& targets) const;
  base::Result<void, RpcError> write_back(const config::Config& cfg) const;

  iscsi::IscsiServer& server_;
  std::string config_path_;
  std::string pr_dir_;
  config::Config config_;
  std::map<std::string, LuMap> lus_;  // by target IQN
  std::map<std::string, std::shared_ptr<scsi::LogicalUnit>> controllers_;
  std::map<std::string, std::shared_ptr<const scsi::Target>> targets_;
  // Sanitizes interrupted by the last stop, found by open_lu() (devices/sbc/sanitize_record.h).
  struct PendingSanitize {
    std::shared_ptr<scsi::LogicalUnit> lu;
    devices::sbc::SanitizeRequest request;
  };
  std::vector<PendingSanitize> pending_sanitizes_;
};

}  // namespace stgt::mgmt
