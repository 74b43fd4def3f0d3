#include "scsi/alua.h"

#include <algorithm>
#include <array>

#include "scsi/target.h"

namespace stgt::scsi {
namespace {

struct StateName {
  AluaState state;
  std::string_view name;
};

constexpr std::array<StateName, 5> kStateNames{{
    {AluaState::kActiveOptimized, "active/optimized"},
    {AluaState::kActiveNonOptimized, "active/non-optimized"},
    {AluaState::kStandby, "standby"},
    {AluaState::kUnavailable, "unavailable"},
    {AluaState::kTransitioning, "transitioning"},
}};

}  // namespace

std::string_view to_string(AluaState state) {
  for (const StateName& s : kStateNames) {
    if (s.state == state) return s.name;
  }
  return "unknown";
}

std::optional<AluaState> parse_alua_state(std::string_view text) {
  for (const StateName& s : kStateNames) {
    if (s.name == text) return s.state;
  }
  return std::nullopt;
}

TargetPortGroup::TargetPortGroup(TargetPortGroupSpec spec)
    : id_(spec.id),
      preferred_(spec.preferred),
      ports_(std::move(spec.relative_port_ids)),
      state_(uint8_t(spec.state)) {
  std::sort(ports_.begin(), ports_.end());
  ports_.erase(std::unique(ports_.begin(), ports_.end()), ports_.end());
}

bool TargetPortGroup::has_port(uint16_t relative_port_id) const {
  return std::binary_search(ports_.begin(), ports_.end(), relative_port_id);
}

void TargetPortGroup::set_state(AluaState state, AluaStatusCode why) {
  status_.store(uint8_t(why), std::memory_order_relaxed);
  state_.store(uint8_t(state), std::memory_order_release);
}

AluaGroups::AluaGroups(std::vector<TargetPortGroupSpec> groups, std::vector<uint16_t> all_ports,
                       bool explicit_allowed)
    : explicit_(explicit_allowed) {
  if (groups.empty()) {
    TargetPortGroupSpec all;
    all.id = 1;
    all.relative_port_ids = std::move(all_ports);
    groups.push_back(std::move(all));
  }
  groups_.reserve(groups.size());
  for (TargetPortGroupSpec& g : groups) {
    groups_.push_back(std::make_unique<TargetPortGroup>(std::move(g)));
  }
}

TargetPortGroup* AluaGroups::find(uint16_t id) const {
  for (const auto& g : groups_) {
    if (g->id() == id) return g.get();
  }
  return nullptr;
}

const TargetPortGroup& AluaGroups::group_of_port(uint16_t relative_port_id) const {
  for (const auto& g : groups_) {
    if (g->has_port(relative_port_id)) return *g;
  }
  return *groups_.front();
}

base::Result<void, AluaChangeError> change_alua_state(const Target& target, uint16_t group_id,
                                                      AluaState state, AluaStatusCode why,
                                                      const ItNexus* origin) {
  TargetPortGroup* group = target.alua().find(group_id);
  if (group == nullptr) return base::unexpected(AluaChangeError::kNoSuchGroup);
  if (alua_allow_bit(state) == 0 && state != AluaState::kActiveOptimized &&
      state != AluaState::kActiveNonOptimized) {
    return base::unexpected(AluaChangeError::kStateNotSettable);
  }
  if (group->state() == state) return {};  // nothing changed: no unit attention
  group->set_state(state, why);
  // SPC-5 5.16.2.6 / 5.16.2.7: ASYMMETRIC ACCESS STATE CHANGED on every LUN of every other
  // I_T nexus (every nexus for an implicit change). The state is already visible to their
  // next command; the UA tells them to look (REPORT TARGET PORT GROUPS).
  target.registry().queue_unit_attention_all_luns(SenseReason::kAsymmetricAccessStateChanged,
                                                  origin);
  return {};
}

}  // namespace stgt::scsi
