#include "scsi/task_management.h"

#include <memory>
#include <vector>

#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/target.h"

namespace stgt::scsi {

void reset_logical_unit(LogicalUnit& lu, ResetKind /*kind*/) {
  // SAM-5 6.3.3 d): the operating mode returns to its initial conditions: the current mode
  // parameters are the saved ones, which here are the defaults.
  lu.reset_mode_parameters();
  // ---- LU reset call point (SAM-5 6.3.3 c) and SPC-5 5.13, SBC-4 5.15) ----
  // Reset effects owned by other parts of the mid-layer are applied here, for LOGICAL UNIT
  // RESET and for every LU of a target reset:
  //   - the SPC-2 RESERVE/RELEASE reservation of `lu` is released (persistent reservations
  //     are not affected by any reset, SPC-5 5.13.1);
  //   - every nexus's PREVENT ALLOW MEDIUM REMOVAL is cleared (SBC-4 5.15).
  lu.reset_nexus_state();
  // ---- end of the LU reset call point ----
}

namespace {

// Replaces the pending unit attentions of every LUN at which `n` sees `lu` with `reason`
// (SAM-5 5.14: a reset condition supersedes what was pending).
void reset_unit_attentions(ItNexus& n, const LogicalUnit& lu, SenseReason reason) {
  for (const uint32_t lun : n.luns_of(lu)) {
    n.clear_unit_attentions(lun);
    n.queue_unit_attention(lun, reason);
  }
}

}  // namespace

void logical_unit_reset(ItNexus& origin, LogicalUnit& lu, reactor::Reactor* home,
                        std::function<void()> done) {
  // The origin keeps its target (and so `lu`) alive until the continuation has run.
  std::shared_ptr<ItNexus> keep = origin.shared_from_this();
  NexusRegistry& registry = origin.target().registry();
  registry.abort_tasks([&lu](const ItNexus& n) { return !n.luns_of(lu).empty(); }, &lu,
                       AbortCause::kLuReset, &origin, home,
                       [keep, &lu, done = std::move(done)] {
                         reset_logical_unit(lu, ResetKind::kLogicalUnitReset);
                         // SAM-5 6.3.3 e): every I_T nexus, the requester's included.
                         keep->target().registry().for_each([&lu](ItNexus& n) {
                           reset_unit_attentions(n, lu, SenseReason::kLunReset);
                         });
                         reset_unit_attentions(*keep, lu, SenseReason::kLunReset);
                         done();
                       });
}

void target_reset(ItNexus& origin, bool cold, reactor::Reactor* home, std::function<void()> done) {
  std::shared_ptr<ItNexus> keep = origin.shared_from_this();
  const AbortCause cause = cold ? AbortCause::kTargetColdReset : AbortCause::kTargetReset;
  origin.target().registry().abort_tasks(
      [](const ItNexus&) { return true; }, nullptr, cause, &origin, home,
      [keep, cold, done = std::move(done)] {
        const Target& target = keep->target();
        const ResetKind kind = cold ? ResetKind::kTargetColdReset : ResetKind::kTargetWarmReset;
        for (const uint32_t lun : target.lun_numbers(true)) {
          if (LogicalUnit* lu = target.lookup(lun)) reset_logical_unit(*lu, kind);
        }
        // SAM-5 6.3.2: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED everywhere.
        auto all_luns = [](ItNexus& n) {
          for (const uint32_t lun : n.target().lun_numbers(true)) {
            n.clear_unit_attentions(lun);
            n.queue_unit_attention(lun, SenseReason::kPowerOnReset);
          }
        };
        target.registry().for_each(all_luns);
        done();
      });
}

}  // namespace stgt::scsi
