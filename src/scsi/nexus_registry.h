// NexusRegistry: every live I_T nexus of one target, whatever reactor it lives on. It is how
// one initiator's change of shared state reaches every other initiator:
//   - unit attentions queued for every nexus that can see an LU (or the whole target),
//   - task aborts fanned out to the nexuses' own reactors, with one continuation once all
//     of them are done ("safe" task management: the response waits for that),
//   - lookups by initiator port (persistent reservations find the nexuses of a registrant).
//
// Ownership and threads: one registry per Target (Target::registry()), shared_ptr so that a
// republished Target keeps the same one. Registration happens at login and logout, lookups
// on rare events (task management, reservations, control plane): a mutex guards the set and
// is never taken on the READ/WRITE path. Callbacks passed to for_each() run with the mutex
// held and must not call back into the registry.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <memory>
#include <mutex>
#include <vector>

#include "scsi/nexus_owner.h"
#include "scsi/sense.h"

namespace stgt::reactor {
class Reactor;
}

namespace stgt::scsi {

class ItNexus;
class LogicalUnit;

class NexusRegistry {
 public:
  // add() of an initiator port whose earlier nexus was remove()d makes the new nexus report
  // I_T NEXUS LOSS OCCURRED first (ItNexus::report_nexus_loss).
  void add(const std::shared_ptr<ItNexus>& nexus);
  void remove(const ItNexus* nexus);
  size_t size() const;

  // Runs fn on every live nexus, on the calling thread, with the registry locked.
  void for_each(const std::function<void(ItNexus&)>& fn) const;

  // Queues `reason` for every nexus that maps `lu` (at whatever LUN number it sees it),
  // except `except` (may be null). Returns how many nexuses got it.
  size_t queue_unit_attention(const LogicalUnit& lu, SenseReason reason,
                              const ItNexus* except = nullptr);
  // Queues `reason` for every LUN of every nexus except `except` (REPORTED LUNS DATA
  // CHANGED, target resets).
  size_t queue_unit_attention_all_luns(SenseReason reason, const ItNexus* except = nullptr);

  // Fans out to each nexus for which `select` is true: calls its owner's abort_tasks(lu,
  // cause, nexus != origin, ...) on the nexus's reactor. Once every one of them has called
  // its done (or has gone), `all_done` runs on `home` (the caller's reactor; when null,
  // on whichever reactor finished last). With no nexus selected, all_done is posted at once.
  void abort_tasks(const std::function<bool(const ItNexus&)>& select, const LogicalUnit* lu,
                   AbortCause cause, const ItNexus* origin, reactor::Reactor* home,
                   std::function<void()> all_done);

  // How many initiator ports whose nexus was lost are remembered (oldest forgotten first).
  static constexpr size_t kMaxLostPorts = 4096;

 private:
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<ItNexus>> nexuses_;
  // Initiator ports whose I_T nexus was lost, oldest first: a new nexus of one of them is
  // owed I_T NEXUS LOSS OCCURRED (SAM-5 6.3.4) rather than a power-on unit attention.
  std::deque<std::string> lost_ports_;
};

}  // namespace stgt::scsi
