#include "scsi/nexus_registry.h"

#include <algorithm>
#include <atomic>

#include "reactor/reactor.h"
#include "scsi/it_nexus.h"

namespace stgt::scsi {

void NexusRegistry::add(const std::shared_ptr<ItNexus>& nexus) {
  const std::lock_guard lock(mu_);
  // Drop entries of nexuses that went away without remove() (defensive; cheap here).
  std::erase_if(nexuses_, [](const std::weak_ptr<ItNexus>& w) { return w.expired(); });
  nexuses_.push_back(nexus);
  const auto lost = std::find(lost_ports_.begin(), lost_ports_.end(), nexus->initiator_port());
  if (lost != lost_ports_.end()) {
    lost_ports_.erase(lost);
    nexus->report_nexus_loss();
  }
}

void NexusRegistry::remove(const ItNexus* nexus) {
  const std::lock_guard lock(mu_);
  std::erase_if(nexuses_, [nexus](const std::weak_ptr<ItNexus>& w) {
    const std::shared_ptr<ItNexus> n = w.lock();
    return n == nullptr || n.get() == nexus;
  });
  if (nexus == nullptr) return;
  if (std::find(lost_ports_.begin(), lost_ports_.end(), nexus->initiator_port()) ==
      lost_ports_.end()) {
    lost_ports_.push_back(nexus->initiator_port());
    if (lost_ports_.size() > kMaxLostPorts) lost_ports_.pop_front();
  }
}

size_t NexusRegistry::size() const {
  const std::lock_guard lock(mu_);
  return size_t(std::count_if(nexuses_.begin(), nexuses_.end(),
                              [](const std::weak_ptr<ItNexus>& w) { return !w.expired(); }));
}

void NexusRegistry::for_each(const std::function<void(ItNexus&)>& fn) const {
  const std::lock_guard lock(mu_);
  for (const std::weak_ptr<ItNexus>& w : nexuses_) {
    if (const std::shared_ptr<ItNexus> n = w.lock()) fn(*n);
  }
}

size_t NexusRegistry::queue_unit_attention(const LogicalUnit& lu, SenseReason reason,
                                           const ItNexus* except) {
  size_t count = 0;
  for_each([&](ItNexus& n) {
    if (&n == except) return;
    const std::vector<uint32_t> luns = n.luns_of(lu);
    for (const uint32_t lun : luns) n.queue_unit_attention(lun, reason);
    if (!luns.empty()) ++count;
  });
  return count;
}

size_t NexusRegistry::queue_unit_attention_all_luns(SenseReason reason, const ItNexus* except) {
  size_t count = 0;
  for_each([&](ItNexus& n) {
    if (&n == except) return;
    for (const uint32_t lun : n.lun_numbers()) n.queue_unit_attention(lun, reason);
    ++count;
  });
  return count;
}

namespace {

// Counts outstanding fan-out replies; the last one runs the continuation.
struct Barrier {
  std::atomic<size_t> pending{1};  // +1 held by the fan-out loop itself
  reactor::Reactor* home = nullptr;
  std::function<void()> all_done;

  static void arrive(const std::shared_ptr<Barrier>& b) {
    if (b->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (b->home != nullptr) {
      b->home->post([b] { b->all_done(); });
    } else {
      b->all_done();
    }
  }
};

}  // namespace

void NexusRegistry::abort_tasks(const std::function<bool(const ItNexus&)>& select,
                                const LogicalUnit* lu, AbortCause cause, const ItNexus* origin,
                                reactor::Reactor* home, std::function<void()> all_done) {
  auto barrier = std::make_shared<Barrier>();
  barrier->home = home;
  barrier->all_done = std::move(all_done);
  std::vector<std::shared_ptr<ItNexus>> targets;
  for_each([&](ItNexus& n) {
    if (n.reactor() != nullptr && select(n)) targets.push_back(n.shared_from_this());
  });
  barrier->pending.fetch_add(targets.size(), std::memory_order_relaxed);
  for (const std::shared_ptr<ItNexus>& n : targets) {
    const bool by_other = n.get() != origin;
    n->reactor()->post([n, lu, cause, by_other, barrier] {
      const std::shared_ptr<NexusOwner> owner = n->owner().lock();
      if (owner == nullptr) {
        Barrier::arrive(barrier);
        return;
      }
      owner->abort_tasks(lu, cause, by_other, [barrier] { Barrier::arrive(barrier); });
    });
  }
  // Drop the loop's own reference: with no nexus selected this runs all_done now.
  Barrier::arrive(barrier);
}

}  // namespace stgt::scsi
