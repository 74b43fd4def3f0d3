#include "scsi/it_nexus.h"

#include <algorithm>

#include "scsi/scsi_layer.h"

namespace stgt::scsi {
namespace {
std::atomic<uint64_t> g_next_nexus_id{1};
}  // namespace

ItNexus::ItNexus(std::shared_ptr<const Target> target, std::string initiator_name,
                 std::string initiator_port, TargetPort port)
    : target_(std::move(target)),
      id_(g_next_nexus_id.fetch_add(1, std::memory_order_relaxed)),
      initiator_name_(std::move(initiator_name)),
      initiator_port_(std::move(initiator_port)),
      port_(port) {
  static const AluaGroups kNoGroups;
  const AluaGroups& groups = target_ ? target_->alua() : kNoGroups;
  const TargetPortGroup* g = groups.find(port_.port_group_id);
  port_group_ = g != nullptr ? g : &groups.group_of_port(port_.relative_port_id);
  // SAM-5 6.3.1: a new I_T nexus starts as after a power on; every LUN it can reach owes
  // it POWER ON, RESET, OR BUS DEVICE RESET OCCURRED. Doing it here means no transport can
  // forget it.
  if (!target_) return;
  power_on_owed_ = target_->lun_numbers(true);  // ascending
  power_on_owed_.shrink_to_fit();
  ua_pending_.store(uint32_t(power_on_owed_.size()), std::memory_order_relaxed);
}

void ItNexus::set_target(std::shared_ptr<const Target> target) {
  const std::lock_guard lock(ua_mu_);
  target_ = std::move(target);
  // The new snapshot may carry rebuilt target port groups (the control plane changed their
  // membership): find this port's group again, so no pointer into the old ones survives.
  const AluaGroups& groups = target_->alua();
  const TargetPortGroup& g = groups.group_of_port(port_.relative_port_id);
  if (&g != port_group_) {
    port_group_ = &g;
    port_.port_group_id = g.id();
  }
}

std::vector<uint32_t> ItNexus::lun_numbers() const {
  const std::lock_guard lock(ua_mu_);
  return target_ ? target_->lun_numbers(true) : std::vector<uint32_t>{};
}

std::vector<uint32_t> ItNexus::luns_of(const LogicalUnit& lu) const {
  const std::lock_guard lock(ua_mu_);
  std::vector<uint32_t> out;
  if (!target_) return out;
  for (const uint32_t lun : target_->lun_numbers(true)) {
    if (target_->lookup(lun) == &lu) out.push_back(lun);
  }
  return out;
}

bool ItNexus::owes_power_on(uint32_t lun) const {
  return std::binary_search(power_on_owed_.begin(), power_on_owed_.end(), lun);
}

void ItNexus::queue_unit_attention(uint32_t lun, SenseReason reason) {
  const std::lock_guard lock(ua_mu_);
  if (reason == first_reason_ && owes_power_on(lun)) return;  // SAM-5 5.14
  auto& q = unit_attentions_[lun];
  // SAM-5 5.14: the same condition twice is reported once.
  for (const SenseReason r : q) {
    if (r == reason) return;
  }
  q.push_back(reason);
  ua_pending_.fetch_add(1, std::memory_order_release);
}

bool ItNexus::has_unit_attention(uint32_t lun) const {
  // Per command: the common case (nothing pending anywhere) costs one atomic load; emptied
  // queues are erased by pop_unit_attention.
  if (ua_pending_.load(std::memory_order_acquire) == 0) return false;
  const std::lock_guard lock(ua_mu_);
  if (owes_power_on(lun)) return true;
  const auto it = unit_attentions_.find(lun);
  return it != unit_attentions_.end() && !it->second.empty();
}

SenseReason ItNexus::pop_unit_attention(uint32_t lun) {
  if (ua_pending_.load(std::memory_order_acquire) == 0) return SenseReason::kNone;
  const std::lock_guard lock(ua_mu_);
  if (const auto owed = std::lower_bound(power_on_owed_.begin(), power_on_owed_.end(), lun);
      owed != power_on_owed_.end() && *owed == lun) {
    power_on_owed_.erase(owed);
    ua_pending_.fetch_sub(1, std::memory_order_release);
    return first_reason_;
  }
  const auto it = unit_attentions_.find(lun);
  if (it == unit_attentions_.end() || it->second.empty()) return SenseReason::kNone;
  const SenseReason r = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) unit_attentions_.erase(it);
  ua_pending_.fetch_sub(1, std::memory_order_release);
  return r;
}

void ItNexus::clear_unit_attentions(uint32_t lun) {
  const std::lock_guard lock(ua_mu_);
  uint32_t dropped = 0;
  if (const auto owed = std::lower_bound(power_on_owed_.begin(), power_on_owed_.end(), lun);
      owed != power_on_owed_.end() && *owed == lun) {
    power_on_owed_.erase(owed);
    ++dropped;
  }
  if (const auto it = unit_attentions_.find(lun); it != unit_attentions_.end()) {
    dropped += uint32_t(it->second.size());
    unit_attentions_.erase(it);
  }
  ua_pending_.fetch_sub(dropped, std::memory_order_release);
}

}  // namespace stgt::scsi

namespace stgt::scsi {

SenseReason ItNexus::peek_unit_attention(uint32_t lun) const {
  if (ua_pending_.load(std::memory_order_acquire) == 0) return SenseReason::kNone;
  const std::lock_guard lock(ua_mu_);
  if (owes_power_on(lun)) return first_reason_;
  const auto it = unit_attentions_.find(lun);
  if (it == unit_attentions_.end() || it->second.empty()) return SenseReason::kNone;
  return it->second.front();
}

TaskSet* ItNexus::find_task_set(const LogicalUnit& lu) {
  for (auto& [l, ts] : task_sets_) {
    if (l == &lu) return ts.get();
  }
  return nullptr;
}

TaskSet& ItNexus::task_set(const LogicalUnit& lu) {
  if (TaskSet* ts = find_task_set(lu)) return *ts;
  task_sets_.emplace_back(&lu, std::make_unique<TaskSet>(&submit));
  return *task_sets_.back().second;
}

}  // namespace stgt::scsi

namespace stgt::scsi {

void ItNexus::report_nexus_loss() {
  const std::lock_guard lock(ua_mu_);
  first_reason_ = SenseReason::kItNexusLoss;
}

}  // namespace stgt::scsi
