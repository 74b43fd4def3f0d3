// Reservations: the reservation state of one logical unit (SPC-5 5.13), both kinds:
//   - the SPC-2 RESERVE(6)/(10) reservation, held by one I_T nexus and lost with it;
//   - persistent reservations: registrations (reservation keys per I_T nexus), at most one
//     persistent reservation of one of six types, the PRgeneration counter and APTPL.
//
// This is a pure state machine: commands come in decoded (PrOutRequest), results go out as
// values (PrResult: status or sense, the unit attentions to raise, the nexuses whose tasks
// PREEMPT AND ABORT must abort, and whether the APTPL image changed). It knows nothing of
// reactors, the registry or files; devices/spc/persistent_reserve_*.cc connect it.
//
// Threads and cost: one object per LU, shared by every session on every reactor. Every
// mutation and every look-up beyond the first happens under `mu_` (PR commands are rare).
// The SAM gate asks held() first: one acquire load of an atomic that is true while any
// registration or reservation exists, so READ/WRITE take no lock while the LU is free.
// The summary is written under `mu_` after each mutation, so a command that sees it false
// started before the first registration completed (SAM-5 allows either order for commands
// that overlap a PERSISTENT RESERVE OUT).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "scsi/opcode.h"
#include "scsi/sense.h"

namespace stgt::scsi {

// SPC-5 6.16.3.3 table 160: persistent reservation TYPE codes.
enum class PrType : uint8_t {
  kWriteExclusive = 0x1,
  kExclusiveAccess = 0x3,
  kWriteExclusiveRegistrantsOnly = 0x5,
  kExclusiveAccessRegistrantsOnly = 0x6,
  kWriteExclusiveAllRegistrants = 0x7,
  kExclusiveAccessAllRegistrants = 0x8,
};
bool valid_pr_type(uint8_t code);
bool all_registrants(PrType t);
bool registrants_only_or_all(PrType t);  // RO or AR types

// PERSISTENT RESERVE OUT service actions (SPC-5 6.17.2 table 168).
enum class PrOutAction : uint8_t {
  kRegister = 0x0,
  kReserve = 0x1,
  kRelease = 0x2,
  kClear = 0x3,
  kPreempt = 0x4,
  kPreemptAndAbort = 0x5,
  kRegisterAndIgnoreExistingKey = 0x6,
  kRegisterAndMove = 0x7,
};

// The I_T nexus a command came from, as the reservation rules see it. Views into the
// ItNexus, which outlives the call.
struct Initiator {
  uint64_t nexus_id = 0;        // ItNexus::id(): the holder of an SPC-2 reservation
  std::string_view port;        // "<iSCSI name>,i,0x<ISID>"
  std::string_view name;        // "<iSCSI name>"
  uint16_t relative_port_id = 1;  // the target port (RELATIVE TARGET PORT IDENTIFIER)
};

// An initiator port as a TransportID names it (SPC-5 7.6.4.6): an iSCSI initiator port
// ("<name>,i,0x<ISID>", format 01b) or, when `port` has no ",i,0x" part, every port of
// that iSCSI node (format 00b). Case-insensitive.
struct Registration {
  uint64_t key = 0;
  std::string port;
  uint16_t relative_port_id = 1;
  bool all_tg_pt = false;  // registered through every target port
  uint64_t serial = 0;     // identity inside the state (the reservation names its holder)

  bool covers(const Initiator& who) const;
  bool same_nexus(const Registration& other) const;
};

// Who is told what once a PERSISTENT RESERVE OUT has changed shared state: every live
// I_T nexus a registration (as it was before the change) covers, except the issuer.
struct Notice {
  Registration to;
  SenseReason reason = SenseReason::kNone;
};

// The decoded PERSISTENT RESERVE OUT command (CDB and parameter list).
struct PrOutRequest {
  PrOutAction action = PrOutAction::kRegister;
  uint8_t scope = 0;  // CDB byte 2 bits 7..4
  uint8_t type = 0;   // CDB byte 2 bits 3..0
  uint64_t key = 0;   // RESERVATION KEY
  uint64_t sa_key = 0;  // SERVICE ACTION RESERVATION KEY
  bool spec_i_pt = false;
  bool all_tg_pt = false;
  bool aptpl = false;
  // SPEC_I_PT: the ports named by the TransportIDs (already parsed and checked).
  std::vector<std::string> specified_ports;
  // REGISTER AND MOVE: UNREG, the destination's port and relative target port identifier.
  bool unreg = false;
  std::string move_port;
  uint16_t move_relative_port_id = 0;
};

struct PrResult {
  Status status = Status::kGood;  // kGood, kReservationConflict or kCheckCondition
  SenseReason sense = SenseReason::kNone;
  std::optional<FieldPointer> field;
  std::vector<Notice> notices;
  // PREEMPT AND ABORT: the registrations removed (their nexuses' tasks are aborted).
  std::vector<Registration> preempted;
  // The state to persist changed (APTPL on, or switched off: then `image` is empty).
  bool persist = false;
  std::string image;

  static PrResult conflict() { return PrResult{.status = Status::kReservationConflict}; }
  static PrResult check(SenseReason r, std::optional<FieldPointer> f = std::nullopt) {
    return PrResult{.status = Status::kCheckCondition, .sense = r, .field = f};
  }
};

// A registration as READ FULL STATUS reports it.
struct FullStatus {
  Registration reg;
  bool holder = false;
};

// A point-in-time copy for PERSISTENT RESERVE IN.
struct PrSnapshot {
  uint32_t generation = 0;
  std::vector<Registration> registrations;
  std::optional<PrType> type;  // the persistent reservation, if any
  uint64_t holder_key = 0;     // 0 for all-registrants types (SPC-5 6.16.3.1)
  std::vector<FullStatus> full;
  bool aptpl = false;
};

// Upper bound of registrations per LU (INSUFFICIENT REGISTRATION RESOURCES past it).
inline constexpr size_t kMaxRegistrations = 256;

class Reservations {
 public:
  Reservations() = default;
  Reservations(const Reservations&) = delete;
  Reservations& operator=(const Reservations&) = delete;

  // The gate's first question: is anything held at all? One acquire load.
  bool held() const { return held_.load(std::memory_order_acquire); }

  // SAM gate step 4 (SPC-5 5.13.1, SPC-2 5.5.1): may this command run? Only called when
  // held() was true.
  bool allows(const Initiator& who, const ConflictPolicy& policy) const;

  // RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 7.21, 7.17; SPC-5 5.13.3 for their
  // behaviour while persistent reservations exist: CRH = 1).
  Status reserve6(const Initiator& who);
  Status release6(const Initiator& who);
  // SPC-2 reservations end with their I_T nexus (SAM-5 6.3.4) and with a LU reset.
  void nexus_lost(uint64_t nexus_id);
  void lu_reset();

  // PERSISTENT RESERVE OUT after the CDB and parameter list were checked. When the APTPL
  // image changes, `persist` is called with it (empty: APTPL switched off, remove the
  // file) while the state is locked, so images reach the disk in the order of the changes;
  // if it returns false the change is undone and the command fails with INSUFFICIENT
  // REGISTRATION RESOURCES. May block for as long as `persist` does.
  using Persist = bool (*)(void* ctx, std::string_view image);
  PrResult out(const Initiator& who, const PrOutRequest& req, Persist persist = nullptr,
               void* ctx = nullptr);
  PrSnapshot snapshot() const;
  // Registrations of `who`'s iSCSI node through other initiator ports (another ISID) while
  // none covers `who` itself: what a re-login with a new ISID left behind.
  std::vector<Registration> registered_elsewhere(const Initiator& who) const;

  // APTPL image (a small text format with a CRC32C line; see reservations.cc).
  // restore() replaces the persistent state; an image that does not parse is refused whole.
  base::Result<void, std::string> restore(std::string_view image);
  static std::string encode(uint32_t generation, std::span<const Registration> regs,
                            std::optional<PrType> type, size_t holder_index);

 private:
  struct Held {
    PrType type;
    uint64_t holder;  // serial of the holder's registration (any for all-registrants)
  };

  Registration* find(const Initiator& who);
  const Registration* find(const Initiator& who) const;
  bool is_holder(const Registration& r) const;
  void remove(uint64_t serial);
  void update_summary();
  std::vector<Notice> notify_all_but(const Registration* issuer, SenseReason reason) const;

  PrResult dispatch(const Initiator& who, const PrOutRequest& req);
  std::string image() const;
  PrResult do_register(const Initiator& who, const PrOutRequest& req);
  PrResult register_specified(const Initiator& who, const PrOutRequest& req);
  PrResult do_reserve(const Registration& me, const PrOutRequest& req);
  PrResult do_release(const Registration& me, const PrOutRequest& req);
  PrResult do_clear(const Registration& me);
  PrResult do_preempt(const Registration& me, const PrOutRequest& req);
  PrResult do_register_and_move(const Registration& me, const Initiator& who,
                                const PrOutRequest& req);

  struct State {
    uint32_t generation = 0;
    std::vector<Registration> regs;
    std::optional<Held> res;
    bool aptpl = false;
    uint64_t next_serial = 1;
  };

  mutable std::mutex mu_;
  std::atomic<bool> held_{false};
  // SPC-2 reservation: the ItNexus::id() of its holder, 0 when none.
  uint64_t spc2_holder_ = 0;
  State st_;
};

}  // namespace stgt::scsi
