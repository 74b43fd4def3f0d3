#include "scsi/reservations.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "base/sealed_text.h"

namespace stgt::scsi {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
  });
}

// Field pointers into the PERSISTENT RESERVE OUT CDB and parameter list.
constexpr FieldPointer kCdbScope{.cdb = true, .byte = 2, .bit = 7};
constexpr FieldPointer kCdbType{.cdb = true, .byte = 2, .bit = 3};
constexpr FieldPointer kParamSaKey{.cdb = false, .byte = 8, .bit = std::nullopt};
constexpr FieldPointer kParamSpecIPt{.cdb = false, .byte = 20, .bit = 3};
constexpr FieldPointer kParamTransportId{.cdb = false, .byte = 24, .bit = std::nullopt};

PrResult good() {
  return PrResult{};
}

}  // namespace

bool valid_pr_type(uint8_t code) {
  switch (code) {
    case 0x1:
    case 0x3:
    case 0x5:
    case 0x6:
    case 0x7:
    case 0x8:
      return true;
    default:
      return false;
  }
}

bool all_registrants(PrType t) {
  return t == PrType::kWriteExclusiveAllRegistrants || t == PrType::kExclusiveAccessAllRegistrants;
}

bool registrants_only_or_all(PrType t) {
  return all_registrants(t) || t == PrType::kWriteExclusiveRegistrantsOnly ||
         t == PrType::kExclusiveAccessRegistrantsOnly;
}

bool Registration::covers(const Initiator& who) const {
  if (!all_tg_pt && relative_port_id != who.relative_port_id) return false;
  return iequals(port, who.port) || iequals(port, who.name);
}

bool Registration::same_nexus(const Registration& other) const {
  if (!iequals(port, other.port)) return false;
  return all_tg_pt || other.all_tg_pt || relative_port_id == other.relative_port_id;
}

// ---- the gate ----

bool Reservations::allows(const Initiator& who, const ConflictPolicy& policy) const {
  const std::lock_guard lock(mu_);
  // SPC-2 5.5.1: a RESERVE(6)/(10) reservation keeps out every other I_T nexus.
  if (spc2_holder_ != 0 && spc2_holder_ != who.nexus_id) return policy.spc2 == Access::kAllowed;
  if (!st_.res) return true;
  const Registration* me = find(who);
  if (me != nullptr && is_holder(*me)) return true;
  // SPC-5 5.13.1 table 67 and 5.13.10 (which I_T nexuses a type keeps out).
  switch (st_.res->type) {
    case PrType::kWriteExclusive:
      return policy.write_exclusive == Access::kAllowed;
    case PrType::kExclusiveAccess:
      return policy.exclusive_access == Access::kAllowed;
    case PrType::kWriteExclusiveRegistrantsOnly:
    case PrType::kWriteExclusiveAllRegistrants:
      return me != nullptr || policy.we_unregistered == Access::kAllowed;
    case PrType::kExclusiveAccessRegistrantsOnly:
    case PrType::kExclusiveAccessAllRegistrants:
      return me != nullptr || policy.ea_unregistered == Access::kAllowed;
  }
  return false;
}

// ---- SPC-2 RESERVE / RELEASE ----

Status Reservations::reserve6(const Initiator& who) {
  const std::lock_guard lock(mu_);
  // SPC-5 5.13.3 (CRH = 1): while any registration exists, RESERVE conflicts.
  if (!st_.regs.empty() || st_.res) return Status::kReservationConflict;
  if (spc2_holder_ != 0 && spc2_holder_ != who.nexus_id) return Status::kReservationConflict;
  spc2_holder_ = who.nexus_id;  // SPC-2 7.21.1: the holder may reserve again
  update_summary();
  return Status::kGood;
}

Status Reservations::release6(const Initiator& who) {
  const std::lock_guard lock(mu_);
  // SPC-2 7.17: RELEASE from a non-holder is not an error and changes nothing; SPC-5 5.13.3:
  // with persistent reservations present it completes GOOD and releases nothing.
  if (spc2_holder_ == who.nexus_id) spc2_holder_ = 0;
  update_summary();
  return Status::kGood;
}

void Reservations::nexus_lost(uint64_t nexus_id) {
  const std::lock_guard lock(mu_);
  if (spc2_holder_ == nexus_id) spc2_holder_ = 0;
  update_summary();
}

void Reservations::lu_reset() {
  const std::lock_guard lock(mu_);
  spc2_holder_ = 0;  // SAM-5 6.3.3: a LU reset releases RESERVE(6)/(10) reservations
  update_summary();
}

// ---- helpers (mu_ held) ----

const Registration* Reservations::find(const Initiator& who) const {
  const Registration* node = nullptr;
  for (const Registration& r : st_.regs) {
    if (!r.covers(who)) continue;
    if (iequals(r.port, who.port)) return &r;
    node = &r;  // an iSCSI-name-only registration covers every ISID of the node
  }
  return node;
}

Registration* Reservations::find(const Initiator& who) {
  return const_cast<Registration*>(std::as_const(*this).find(who));
}

bool Reservations::is_holder(const Registration& r) const {
  if (!st_.res) return false;
  return all_registrants(st_.res->type) || st_.res->holder == r.serial;
}

void Reservations::remove(uint64_t serial) {
  std::erase_if(st_.regs, [serial](const Registration& r) { return r.serial == serial; });
}

void Reservations::update_summary() {
  held_.store(spc2_holder_ != 0 || !st_.regs.empty() || st_.res.has_value(),
              std::memory_order_release);
}

std::vector<Notice> Reservations::notify_all_but(const Registration* issuer,
                                                 SenseReason reason) const {
  std::vector<Notice> out;
  for (const Registration& r : st_.regs) {
    if (issuer == nullptr || r.serial != issuer->serial) out.push_back(Notice{r, reason});
  }
  return out;
}

// ---- PERSISTENT RESERVE OUT ----

PrResult Reservations::out(const Initiator& who, const PrOutRequest& req, Persist persist,
                           void* ctx) {
  const std::lock_guard lock(mu_);
  const State before = st_;
  PrResult r = dispatch(who, req);
  if (r.status == Status::kGood && (before.aptpl || st_.aptpl) && persist != nullptr) {
    // SPC-5 5.13.5: with APTPL the state must survive a power loss before we answer.
    r.persist = true;
    r.image = st_.aptpl ? image() : std::string();
    if (!persist(ctx, r.image)) {
      st_ = before;
      r = PrResult::check(SenseReason::kInsufficientRegistrationResources);
    }
  }
  update_summary();
  return r;
}

PrResult Reservations::dispatch(const Initiator& who, const PrOutRequest& req) {
  if (req.action == PrOutAction::kRegister ||
      req.action == PrOutAction::kRegisterAndIgnoreExistingKey) {
    return do_register(who, req);
  }
  // SPC-5 6.17.3: every other service action needs a registered I_T nexus whose key matches.
  Registration* me = find(who);
  if (me == nullptr || me->key != req.key) return PrResult::conflict();
  const Registration self = *me;  // `me` may dangle once registrations change
  switch (req.action) {
    case PrOutAction::kReserve:
      return do_reserve(self, req);
    case PrOutAction::kRelease:
      return do_release(self, req);
    case PrOutAction::kClear:
      return do_clear(self);
    case PrOutAction::kPreempt:
    case PrOutAction::kPreemptAndAbort:
      return do_preempt(self, req);
    case PrOutAction::kRegisterAndMove:
      return do_register_and_move(self, who, req);
    default:
      return PrResult::check(SenseReason::kInvalidFieldInCdb,
                             FieldPointer{.cdb = true, .byte = 1, .bit = 4});
  }
}

// SPC-5 5.13.7 and table 162: REGISTER and REGISTER AND IGNORE EXISTING KEY.
PrResult Reservations::do_register(const Initiator& who, const PrOutRequest& req) {
  const bool ignore = req.action == PrOutAction::kRegisterAndIgnoreExistingKey;
  Registration* me = find(who);
  if (me == nullptr) {
    if (!ignore && req.key != 0) return PrResult::conflict();
    if (req.spec_i_pt && ignore) {
      return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamSpecIPt);
    }
    if (req.sa_key == 0) return good();  // nothing to register (table 162)
    if (req.spec_i_pt) return register_specified(who, req);
    if (st_.regs.size() >= kMaxRegistrations) {
      return PrResult::check(SenseReason::kInsufficientRegistrationResources);
    }
    st_.regs.push_back(Registration{req.sa_key, std::string(who.port), who.relative_port_id,
                                    req.all_tg_pt, st_.next_serial++});
    st_.aptpl = req.aptpl;
    ++st_.generation;
    return good();
  }
  if (!ignore && req.key != me->key) return PrResult::conflict();
  if (req.spec_i_pt) {
    return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamSpecIPt);
  }
  PrResult r;
  if (req.sa_key == 0) {
    // SPC-5 5.13.11.2.3: unregistering the holder releases a reservation that is not of an
    // all-registrants type (registrants-only types tell the other registrants); an
    // all-registrants reservation ends with its last registrant.
    const Registration self = *me;
    remove(self.serial);
    if (st_.res &&
        (!all_registrants(st_.res->type) ? st_.res->holder == self.serial : st_.regs.empty())) {
      if (st_.res->type == PrType::kWriteExclusiveRegistrantsOnly ||
          st_.res->type == PrType::kExclusiveAccessRegistrantsOnly) {
        r.notices = notify_all_but(nullptr, SenseReason::kReservationsReleased);
      }
      st_.res.reset();
    }
  } else {
    me->key = req.sa_key;
  }
  st_.aptpl = req.aptpl;
  ++st_.generation;
  return r;
}

// SPC-5 5.13.7 with SPEC_I_PT: the issuer and every initiator port a TransportID names are
// registered together, or none is.
PrResult Reservations::register_specified(const Initiator& who, const PrOutRequest& req) {
  std::vector<Registration> add;
  add.push_back(
      Registration{req.sa_key, std::string(who.port), who.relative_port_id, req.all_tg_pt, 0});
  for (const std::string& port : req.specified_ports) {
    Registration r{req.sa_key, port, who.relative_port_id, req.all_tg_pt, 0};
    const bool listed =
        std::any_of(add.begin(), add.end(), [&](const Registration& a) { return a.same_nexus(r); });
    if (listed) continue;  // the issuer itself, or named twice
    for (const Registration& existing : st_.regs) {
      if (existing.same_nexus(r)) {
        return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamTransportId);
      }
    }
    add.push_back(std::move(r));
  }
  if (st_.regs.size() + add.size() > kMaxRegistrations) {
    return PrResult::check(SenseReason::kInsufficientRegistrationResources);
  }
  for (Registration& r : add) {
    r.serial = st_.next_serial++;
    st_.regs.push_back(std::move(r));
  }
  st_.aptpl = req.aptpl;
  ++st_.generation;
  return good();
}

// SPC-5 5.13.9: RESERVE. PRgeneration is not incremented.
PrResult Reservations::do_reserve(const Registration& me, const PrOutRequest& req) {
  if (req.scope != 0) return PrResult::check(SenseReason::kInvalidFieldInCdb, kCdbScope);
  if (!valid_pr_type(req.type)) return PrResult::check(SenseReason::kInvalidFieldInCdb, kCdbType);
  const auto type = PrType(req.type);
  if (st_.res) {
    // The holder may repeat its reservation; anything else conflicts (5.13.9 a, b).
    if (is_holder(me) && st_.res->type == type) return good();
    return PrResult::conflict();
  }
  st_.res = Held{type, me.serial};
  return good();
}

// SPC-5 5.13.11.2: RELEASE.
PrResult Reservations::do_release(const Registration& me, const PrOutRequest& req) {
  if (!st_.res || !is_holder(me)) return good();  // nothing of ours to release
  if (req.scope != 0) return PrResult::check(SenseReason::kInvalidFieldInCdb, kCdbScope);
  if (uint8_t(st_.res->type) != req.type) {
    return PrResult::check(SenseReason::kInvalidReleaseOfPersistentReservation);
  }
  PrResult r;
  if (registrants_only_or_all(st_.res->type)) {
    r.notices = notify_all_but(&me, SenseReason::kReservationsReleased);
  }
  st_.res.reset();
  return r;
}

// SPC-5 5.13.11.3: CLEAR.
PrResult Reservations::do_clear(const Registration& me) {
  PrResult r;
  r.notices = notify_all_but(&me, SenseReason::kReservationsPreempted);
  st_.regs.clear();
  st_.res.reset();
  ++st_.generation;
  return r;
}

// SPC-5 5.13.11.4: PREEMPT and PREEMPT AND ABORT.
PrResult Reservations::do_preempt(const Registration& me, const PrOutRequest& req) {
  enum class Path { kRemoveKeys, kTakeOver, kAllRegistrants };
  Path path = Path::kRemoveKeys;
  if (st_.res) {
    if (req.scope != 0) return PrResult::check(SenseReason::kInvalidFieldInCdb, kCdbScope);
    if (!valid_pr_type(req.type)) {
      return PrResult::check(SenseReason::kInvalidFieldInCdb, kCdbType);
    }
    if (all_registrants(st_.res->type)) {
      if (req.sa_key == 0) path = Path::kAllRegistrants;
    } else {
      const auto holder = std::find_if(st_.regs.begin(), st_.regs.end(),
                                       [&](const auto& r) { return r.serial == st_.res->holder; });
      if (holder != st_.regs.end() && holder->key == req.sa_key) path = Path::kTakeOver;
    }
  }
  // 5.13.11.4.3: removing registrations by key; a zero key names nobody.
  if (path == Path::kRemoveKeys && req.sa_key == 0) {
    return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamSaKey);
  }
  if (path != Path::kAllRegistrants &&
      std::none_of(st_.regs.begin(), st_.regs.end(),
                   [&](const Registration& r) { return r.key == req.sa_key; })) {
    return PrResult::conflict();
  }
  PrResult r;
  const std::optional<Held> old = st_.res;
  for (const Registration& reg : st_.regs) {
    if (reg.serial == me.serial) continue;  // the issuer keeps its registration
    if (path == Path::kAllRegistrants || reg.key == req.sa_key) r.preempted.push_back(reg);
  }
  for (const Registration& gone : r.preempted) {
    remove(gone.serial);
    r.notices.push_back(Notice{gone, SenseReason::kRegistrationsPreempted});
  }
  if (path != Path::kRemoveKeys) {
    st_.res = Held{PrType(req.type), me.serial};
    // 5.13.11.4.4: a changed type or scope releases the reservation for the registrants left.
    if (path == Path::kTakeOver && old && old->type != st_.res->type) {
      for (Notice& n : notify_all_but(&me, SenseReason::kReservationsReleased)) {
        r.notices.push_back(std::move(n));
      }
    }
  }
  ++st_.generation;
  return r;
}

// SPC-5 5.13.8: REGISTER AND MOVE, by the holder of a reservation that is not of an
// all-registrants type.
PrResult Reservations::do_register_and_move(const Registration& me, const Initiator& who,
                                            const PrOutRequest& req) {
  if (!st_.res || all_registrants(st_.res->type) || !is_holder(me)) return PrResult::conflict();
  if (req.sa_key == 0) {
    return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamSaKey);
  }
  Registration dest{req.sa_key, req.move_port, req.move_relative_port_id, false, 0};
  if (dest.covers(who)) {
    return PrResult::check(SenseReason::kInvalidFieldInParameterList, kParamTransportId);
  }
  auto existing = std::find_if(st_.regs.begin(), st_.regs.end(),
                               [&](const Registration& r) { return r.same_nexus(dest); });
  uint64_t serial = 0;
  if (existing != st_.regs.end()) {
    existing->key = req.sa_key;
    serial = existing->serial;
  } else {
    if (st_.regs.size() >= kMaxRegistrations) {
      return PrResult::check(SenseReason::kInsufficientRegistrationResources);
    }
    dest.serial = serial = st_.next_serial++;
    st_.regs.push_back(std::move(dest));
  }
  st_.res->holder = serial;
  if (req.unreg) remove(me.serial);
  st_.aptpl = req.aptpl;
  ++st_.generation;
  return good();
}

// ---- PERSISTENT RESERVE IN ----

PrSnapshot Reservations::snapshot() const {
  const std::lock_guard lock(mu_);
  PrSnapshot s;
  s.generation = st_.generation;
  s.registrations = st_.regs;
  s.aptpl = st_.aptpl;
  if (st_.res) {
    s.type = st_.res->type;
    if (!all_registrants(st_.res->type)) {
      for (const Registration& r : st_.regs) {
        if (r.serial == st_.res->holder) s.holder_key = r.key;
      }
    }
  }
  for (const Registration& r : st_.regs)
    s.full.push_back(FullStatus{r, is_holder(r)});
  return s;
}

std::vector<Registration> Reservations::registered_elsewhere(const Initiator& who) const {
  std::vector<Registration> out;
  const std::lock_guard lock(mu_);
  if (find(who) != nullptr) return out;
  const std::string prefix = std::string(who.name) + ",i,0x";
  for (const Registration& r : st_.regs) {
    if (r.port.size() > prefix.size() && iequals(r.port.substr(0, prefix.size()), prefix)) {
      out.push_back(r);
    }
  }
  return out;
}

// ---- APTPL image ----
//
//   stgt-pr 1
//   generation <decimal>
//   reg <key, 16 hex> <relative port id> <all_tg_pt 0|1> <initiator port or name>
//   reservation <index of the holder's reg line> <type>
//   crc32c <8 hex digits over every byte before this line>

std::string Reservations::encode(uint32_t generation, std::span<const Registration> regs,
                                 std::optional<PrType> type, size_t holder_index) {
  std::string s = fmt::format("stgt-pr 1\ngeneration {}\n", generation);
  for (const Registration& r : regs) {
    s += fmt::format("reg {:016x} {} {} {}\n", r.key, r.relative_port_id, r.all_tg_pt ? 1 : 0,
                     r.port);
  }
  if (type) s += fmt::format("reservation {} {}\n", holder_index, uint8_t(*type));
  return base::seal(std::move(s));
}

std::string Reservations::image() const {
  size_t holder = 0;
  for (size_t i = 0; i < st_.regs.size(); ++i) {
    if (st_.res && st_.regs[i].serial == st_.res->holder) holder = i;
  }
  return encode(st_.generation, st_.regs,
                st_.res ? std::optional<PrType>(st_.res->type) : std::nullopt, holder);
}

namespace {

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits off the next space-separated word.
std::string_view next_word(std::string_view& rest) {
  const size_t sp = rest.find(' ');
  const std::string_view w = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return w;
}

// "<key hex> <relative port id> <all_tg_pt 0|1> <port>" (the serial is assigned by the caller).
std::optional<Registration> parse_registration(std::string_view rest) {
  Registration r;
  uint8_t all = 0;
  if (!parse_number(next_word(rest), r.key, 16) ||
      !parse_number(next_word(rest), r.relative_port_id) || !parse_number(next_word(rest), all) ||
      all > 1 || rest.empty()) {
    return std::nullopt;
  }
  r.all_tg_pt = all == 1;
  r.port = std::string(rest);
  return r;
}

}  // namespace

base::Result<void, std::string> Reservations::restore(std::string_view image) {
  auto verified = base::unseal(image);
  if (!verified) return base::unexpected(verified.error() + " (torn or damaged file)");
  std::string_view body = verified.value();
  State st;
  st.aptpl = true;
  bool header = false;
  std::optional<std::pair<size_t, uint8_t>> res;
  for (size_t line_no = 1; !body.empty(); ++line_no) {
    const size_t nl = body.find('\n');
    const std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    const auto bad = [line_no](std::string_view what) {
      return base::unexpected(fmt::format("line {}: {}", line_no, what));
    };
    std::string_view rest = line;
    const std::string_view word = next_word(rest);
    if (!header) {
      if (line != "stgt-pr 1") return bad("not an stgt persistent reservation file");
      header = true;
    } else if (word == "generation") {
      if (!parse_number(rest, st.generation)) return bad("bad generation");
    } else if (word == "reg") {
      std::optional<Registration> r = parse_registration(rest);
      if (!r) return bad("bad registration");
      if (st.regs.size() >= kMaxRegistrations) return bad("too many registrations");
      r->serial = st.next_serial++;
      st.regs.push_back(std::move(*r));
    } else if (word == "reservation") {
      size_t index = 0;
      uint8_t type = 0;
      if (!parse_number(next_word(rest), index) || !parse_number(rest, type) ||
          !valid_pr_type(type)) {
        return bad("bad reservation");
      }
      res = std::pair{index, type};
    } else {
      return bad("unknown line");
    }
  }
  if (!header) return base::unexpected(std::string("empty file"));
  if (res) {
    if (res->first >= st.regs.size()) return base::unexpected(std::string("holder not registered"));
    st.res = Held{PrType(res->second), st.regs[res->first].serial};
  }
  const std::lock_guard lock(mu_);
  st_ = std::move(st);
  update_summary();
  return {};
}

}  // namespace stgt::scsi
