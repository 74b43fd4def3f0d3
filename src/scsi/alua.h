// Asymmetric logical unit access (ALUA, SPC-5 5.16): a target's ports are grouped into target
// port groups, and each group has an access state that every LU of the target shows through
// the ports of that group.
//
// Ownership and threads: one AluaGroups per Target (Target::alua()), shared_ptr so that a
// republished Target keeps the same live states. The set of groups and their ports is fixed
// when the target is built; only a group's state (and status code) changes, as atomics. The
// data path reads a state with one relaxed atomic load (ItNexus::alua_state()); changes come
// from SET TARGET PORT GROUPS on any reactor or from the control plane, through
// change_alua_state(), which also queues the unit attentions. Nothing here blocks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace stgt::scsi {

class ItNexus;
class Target;

// SPC-5 6.36.2 table 276: ASYMMETRIC ACCESS STATE values we implement (offline and
// logical block dependent are not offered).
enum class AluaState : uint8_t {
  kActiveOptimized = 0x0,
  kActiveNonOptimized = 0x1,
  kStandby = 0x2,
  kUnavailable = 0x3,
  kTransitioning = 0xf,
};

// "active/optimized", "active/non-optimized", "standby", "unavailable", "transitioning".
std::string_view to_string(AluaState state);
std::optional<AluaState> parse_alua_state(std::string_view text);

// SPC-5 6.36.2 table 277: STATUS CODE of a target port group descriptor.
enum class AluaStatusCode : uint8_t {
  kNone = 0x00,
  kChangedBySetTargetPortGroups = 0x01,  // explicit
  kChangedImplicitly = 0x02,             // by the target (control plane)
};

// Which non-active states an opcode-table entry may run in (OpcodeEntry::alua_allowed). The
// active states run everything; SPC-5 5.16.2.4.4 (standby), 5.16.2.4.5 (unavailable) and
// 5.16.2.5 (transitioning) list what the other states still accept.
inline constexpr uint8_t kAluaAllowStandby = 0x1;
inline constexpr uint8_t kAluaAllowUnavailable = 0x2;
inline constexpr uint8_t kAluaAllowTransitioning = 0x4;
inline constexpr uint8_t kAluaAllowAll =
    kAluaAllowStandby | kAluaAllowUnavailable | kAluaAllowTransitioning;

// The bit of `state` in an alua_allowed mask; 0 for the active states (always allowed).
constexpr uint8_t alua_allow_bit(AluaState state) {
  switch (state) {
    case AluaState::kStandby:
      return kAluaAllowStandby;
    case AluaState::kUnavailable:
      return kAluaAllowUnavailable;
    case AluaState::kTransitioning:
      return kAluaAllowTransitioning;
    default:
      return 0;
  }
}

struct TargetPortGroupSpec {
  uint16_t id = 1;
  // The iSCSI target ports of the group: portal group tags, which are also the relative
  // target port identifiers stgt reports (VPD 0x83, REPORT TARGET PORT GROUPS).
  std::vector<uint16_t> relative_port_ids;
  AluaState state = AluaState::kActiveOptimized;
  bool preferred = false;  // PREF bit (SPC-5 6.36.2)
};

class TargetPortGroup {
 public:
  explicit TargetPortGroup(TargetPortGroupSpec spec);

  uint16_t id() const { return id_; }
  bool preferred() const { return preferred_; }
  std::span<const uint16_t> relative_port_ids() const { return ports_; }
  bool has_port(uint16_t relative_port_id) const;

  AluaState state() const { return AluaState(state_.load(std::memory_order_acquire)); }
  AluaStatusCode status_code() const {
    return AluaStatusCode(status_.load(std::memory_order_relaxed));
  }
  // The one atomic the data path reads (ItNexus keeps a pointer to it).
  const std::atomic<uint8_t>& state_word() const { return state_; }
  void set_state(AluaState state, AluaStatusCode why);

 private:
  uint16_t id_;
  bool preferred_;
  std::vector<uint16_t> ports_;
  std::atomic<uint8_t> state_;
  std::atomic<uint8_t> status_{uint8_t(AluaStatusCode::kNone)};
};

class AluaGroups {
 public:
  // `groups` empty: one group, id 1, holding `all_ports`, active/optimized (a target that
  // configures nothing behaves as before ALUA: every port fully active). With
  // `explicit_allowed`, SET TARGET PORT GROUPS is accepted (INQUIRY TPGS 11b, else 01b).
  AluaGroups(std::vector<TargetPortGroupSpec> groups, std::vector<uint16_t> all_ports,
             bool explicit_allowed);
  // A single default group 1 with port 1 (unit tests, targets built in code).
  AluaGroups() : AluaGroups({}, {1}, false) {}

  bool explicit_allowed() const { return explicit_; }
  // SPC-5 6.7.2 TPGS: 01b implicit only, 11b implicit and explicit.
  uint8_t tpgs() const { return explicit_ ? 0x3 : 0x1; }

  size_t size() const { return groups_.size(); }
  const TargetPortGroup& at(size_t i) const { return *groups_[i]; }
  TargetPortGroup* find(uint16_t id) const;
  // The group of a relative target port (portal group tag); the first group when no group
  // names the port (validation keeps configured targets from getting there).
  const TargetPortGroup& group_of_port(uint16_t relative_port_id) const;

 private:
  bool explicit_;
  std::vector<std::unique_ptr<TargetPortGroup>> groups_;
};

enum class AluaChangeError : uint8_t { kNoSuchGroup, kStateNotSettable };

// Sets target port group `group_id` of `target` to `state` and queues ASYMMETRIC ACCESS
// STATE CHANGED for every I_T nexus of the target except `origin` (SPC-5 5.16.2.6: the nexus
// that sent SET TARGET PORT GROUPS does not get it; an implicit change, origin null, reaches
// every nexus). `why` is what REPORT TARGET PORT GROUPS then says in STATUS CODE. This is the
// call the control plane (stgtadm) makes. Thread-safe; may be called from any thread.
base::Result<void, AluaChangeError> change_alua_state(const Target& target, uint16_t group_id,
                                                      AluaState state, AluaStatusCode why,
                                                      const ItNexus* origin = nullptr);

}  // namespace stgt::scsi
