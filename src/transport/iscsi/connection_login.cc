// Connection: the login phase (RFC 7143 6), session set-up, and Text requests in full
// feature phase (discovery, renegotiation).
#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "net/socket_address.h"
#include "scsi/scsi_layer.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/connection_internal.h"
#include "transport/iscsi/discovery.h"
#include "transport/iscsi/server.h"
#include "transport/iscsi/text.h"

namespace stgt::iscsi {

namespace {

// Text requests gathered over C=1 PDUs are bounded (RFC 7143 6.4 leaves the limit to us).
constexpr size_t kMaxTextRequest = 64 * 1024;

std::string initiator_port_name(const std::string& initiator, uint64_t isid) {
  // RFC 7143 4.4.1 / SPC-5 7.6.4.6: "<name>,i,0x<12 hex digits of ISID>".
  return fmt::format("{},i,0x{:012x}", initiator, isid);
}

}  // namespace

LoginStatus Connection::admit(const LoginIdentity& who) {
  if (!take_session_slot()) {
    STGT_LOG_WARN("login from {} refused: {} sessions already (iscsi.max_sessions)",
                  peer_address_, shared_->settings.max_sessions);
    return LoginStatus::kOutOfResources;
  }
  if (who.type == SessionType::kDiscovery) return LoginStatus::kSuccess;
  const auto catalog = shared_->catalog.get();
  auto target = catalog->find(who.target_name);
  if (target == nullptr) return LoginStatus::kNotFound;
  // The initiator's own view of the target: all of it, or its LUN map (LUN masking).
  target = target->view_for(who.initiator_name, peer_host());
  if (target == nullptr) return LoginStatus::kAuthorizationFailure;
  if (who.tsih != 0) {
    // MaxConnections is 1: a second connection can never join (RFC 7143 6.3.3).
    return shared_->sessions.exists(who.tsih) ? LoginStatus::kTooManyConnections
                                              : LoginStatus::kSessionDoesNotExist;
  }
  login_target_ = std::move(target);
  return LoginStatus::kSuccess;
}

std::string Connection::target_alias(const std::string& target_name) {
  const auto catalog = shared_->catalog.get();
  auto target = catalog->find(target_name);
  return target != nullptr ? target->alias() : std::string();
}

// RFC 7143 11.13.5: a target that cannot take another session answers 0x0302 (out of
// resources). The slot is held from here until the connection closes.
bool Connection::take_session_slot() {
  if (holds_session_slot_) return true;
  const uint32_t limit = shared_->settings.max_sessions;
  uint32_t n = shared_->session_slots.load(std::memory_order_relaxed);
  do {
    if (n >= limit) return false;
  } while (!shared_->session_slots.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  holds_session_slot_ = true;
  return true;
}

void Connection::release_session_slot() {
  if (!holds_session_slot_) return;
  holds_session_slot_ = false;
  shared_->session_slots.fetch_sub(1, std::memory_order_relaxed);
}

uint16_t Connection::portal_group_tag() { return portal_group_tag_; }

std::string Connection::peer_host() const {
  auto a = net::SocketAddress::parse(peer_address_);
  return a ? a->host() : std::string();
}

TargetLimits Connection::limits() { return shared_->settings.limits; }

bool Connection::conceal_targets() { return shared_->settings.conceal_targets; }

void Connection::handle_login() {
  const Bhs& h = rx_bhs_;
  if (first_login_pdu_) {
    // RFC 7143 4.2.2.1: the first login request carries the session's initial CmdSN.
    first_login_pdu_ = false;
    exp_cmd_sn_ = h.cmd_sn();
    last_max_cmd_sn_ = exp_cmd_sn_ - 1;  // nothing advertised yet
    stat_sn_ = 1;
  }
  LoginRequest req;
  req.csg = h.csg();
  req.nsg = h.nsg();
  req.transit = h.transit();
  req.cont = h.continue_bit();
  req.version_max = h.version_max();
  req.version_min = h.version_min();
  req.isid = h.isid();
  req.tsih = h.tsih();
  req.cid = h.cid();
  req.itt = h.itt();
  req.cmd_sn = h.cmd_sn();
  req.exp_stat_sn = h.exp_stat_sn();
  req.data = {rx_data_.data(), rx_data_.size()};
  LoginResponse resp = login_->step(req);

  if (resp.complete && resp.status.ok()) setup_session();
  LoginResponseFields f;
  f.transit = resp.transit;
  f.cont = resp.cont;
  f.csg = resp.csg;
  f.nsg = resp.nsg;
  f.version_max = resp.version_max;
  f.version_active = resp.version_active;
  f.isid = h.isid();
  f.tsih = resp.complete ? tsih_ : h.tsih();
  f.itt = h.itt();
  f.status_class = resp.status.status_class;
  f.status_detail = resp.status.detail;
  TxPdu& p = tx_new();
  p.owned = std::move(resp.data);
  p.set_owned_data();
  f.data_segment_length = p.data_len;
  tx_queue(p, make_login_response(f, next_sn(true)));
  if (!resp.status.ok() || login_->failed()) {
    // The CHAP failure reason names a user at most, never a secret.
    STGT_LOG_INFO("login from {} ({}) to {} failed: status {:#06x}{}{}", peer_address_,
                  login_->identity().initiator_name, login_->identity().target_name,
                  resp.status.code(), auth_->failure().empty() ? "" : ": ", auth_->failure());
    close_after_tx_ = true;
    close_reason_ = "login failed";
  } else if (resp.complete) {
    // RFC 7143 13.1: digests start with the first PDU after the final login response.
    phase_ = Phase::kFullFeature;
    header_digest_ = conn_params_.header_digest;
    data_digest_ = conn_params_.data_digest;
    login_.reset();
    auth_.reset();
  }
  flush_tx();
}

void Connection::setup_session() {
  identity_ = login_->identity();
  session_params_ = login_->session_params();
  conn_params_ = login_->connection_params();
  const IscsiSettings& s = shared_->settings;
  tasks_ = std::make_unique<TaskTable>(s.max_tasks_per_session);
  std::optional<SessionRegistry::Entry> replaced;
  tsih_ = shared_->sessions.add(identity_.initiator_name, identity_.isid, identity_.target_name,
                                portal_group_tag_, &reactor_, weak_from_this(), replaced);
  if (replaced.has_value() && replaced->reactor != nullptr) {
    // RFC 7143 6.3.5: a new session from the same initiator port reinstates (closes) the
    // old one.
    replaced->reactor->post([c = replaced->connection] {
      if (auto conn = c.lock()) conn->close("session reinstated by a new login");
    });
  }
  if (identity_.type == SessionType::kNormal && login_target_ != nullptr) {
    scsi::TargetPort port;
    port.portal_group_tag = portal_group_tag_;
    port.relative_port_id = portal_group_tag_;
    // SPC-5 5.16.2.1: the target port group (ALUA) this portal group belongs to.
    port.port_group_id = login_target_->alua().group_of_port(portal_group_tag_).id();
    nexus_ = std::make_shared<scsi::ItNexus>(
        login_target_, identity_.initiator_name,
        initiator_port_name(identity_.initiator_name, identity_.isid), port);
    nexus_->set_owner(&reactor_, std::weak_ptr<scsi::NexusOwner>(shared_from_this()));
    nexus_->set_initiator_address(peer_host());
    scsi::nexus_established(nexus_);
    // A live change may have published a new snapshot of the target since admit(); once
    // registered we either see it here or the control plane moves us onto it.
    if (auto current = shared_->catalog.get()->find(identity_.target_name)) {
      if (auto view = current->view_for(identity_.initiator_name, peer_host());
          view != nullptr && view != login_target_) {
        nexus_->set_target(std::move(view));
      }
    }
  }
  STGT_LOG_INFO("session {} opened: {} -> {} from {} ({})", tsih_, identity_.initiator_name,
                identity_.type == SessionType::kDiscovery ? "discovery" : identity_.target_name,
                peer_address_,
                conn_params_.header_digest ? "header digest CRC32C" : "no header digest");
}

void Connection::handle_text() {
  const Bhs& h = rx_bhs_;
  if (!h.immediate() && h.cmd_sn() == exp_cmd_sn_) ++exp_cmd_sn_;
  if (h.ttt() != kReservedTag) {
    // RFC 7143 11.10.4: the initiator asks for the rest of a long response.
    if (h.ttt() != text_ttt_ || text_out_offset_ >= text_out_.size()) {
      reject(RejectReason::kInvalidPduField);
      return;
    }
    send_text_chunk(h.itt(), h.lun());
    return;
  }
  text_in_.insert(text_in_.end(), rx_data_.begin(), rx_data_.end());
  if (text_in_.size() > kMaxTextRequest) {
    text_in_.clear();
    reject(RejectReason::kProtocolError);
    return;
  }
  if (h.continue_bit()) {
    // More request text follows: answer with an empty response (RFC 7143 11.10.2).
    TxPdu& p = tx_new();
    tx_queue(p, make_text_response(h.itt(), next_text_ttt(), false, false, h.lun(), 0,
                                   next_sn(true)));
    return;
  }
  const auto catalog = shared_->catalog.get();
  TextSession session;
  session.type = identity_.type;
  session.target_name = identity_.target_name;
  session.limits = shared_->settings.limits;
  session.session = session_params_;
  session.connection = conn_params_;
  const TargetLister lister = [&catalog, this] {
    std::vector<DiscoveredTarget> out;
    for (const auto& t : catalog->targets) {
      if (!t->admits(identity_.initiator_name, peer_host())) continue;
      DiscoveredTarget d{t->name(), {}};
      for (const PortalInfo& p : catalog->portals) {
        auto a = parse_portal(p.address, p.group_tag);
        if (!a) continue;
        // A wildcard portal is advertised as the address this connection came in on.
        if (a->host == "0.0.0.0" || a->host == "::") {
          if (auto local = parse_portal(local_address_, p.group_tag)) a->host = local->host;
        }
        d.portals.push_back(*a);
      }
      out.push_back(std::move(d));
    }
    return out;
  };
  auto response = handle_text_request({text_in_.data(), text_in_.size()}, session, lister);
  text_in_.clear();
  if (!response) {
    reject(RejectReason::kProtocolError);
    return;
  }
  conn_params_ = response->connection;
  text_out_ = std::move(response->data);
  text_out_offset_ = 0;
  text_ttt_ = kReservedTag;
  send_text_chunk(h.itt(), h.lun());
}

void Connection::send_text_chunk(uint32_t itt, uint64_t lun) {
  const size_t left = text_out_.size() - text_out_offset_;
  const size_t len = std::min<size_t>(left, conn_params_.max_xmit_data_segment_length);
  const bool last = len == left;
  TxPdu& p = tx_new();
  p.owned.assign(text_out_.begin() + long(text_out_offset_),
                 text_out_.begin() + long(text_out_offset_ + len));
  p.set_owned_data();
  text_out_offset_ += len;
  // RFC 7143 11.11.4: a final response carries the reserved TTT; a partial one a TTT
  // the initiator sends back to continue.
  text_ttt_ = last ? kReservedTag : next_text_ttt();
  tx_queue(p, make_text_response(itt, text_ttt_, last, !last, lun, p.data_len, next_sn(true)));
  if (last) {
    text_out_.clear();
    text_out_offset_ = 0;
  }
}

uint32_t Connection::next_text_ttt() {
  if (++text_ttt_counter_ == kReservedTag) text_ttt_counter_ = 1;
  return text_ttt_counter_;
}

}  // namespace stgt::iscsi
