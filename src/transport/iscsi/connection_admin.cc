// Connection: what the control plane asks of a session — a description, a polite close.
#include "base/log.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/connection_internal.h"
#include "transport/iscsi/server.h"

namespace stgt::iscsi {

std::optional<SessionInfo> Connection::session_info() const {
  if (closed_ || phase_ == Phase::kLogin || tsih_ == 0) return std::nullopt;
  SessionInfo info;
  info.tsih = tsih_;
  info.isid = identity_.isid;
  info.cid = identity_.cid;
  info.initiator = identity_.initiator_name;
  info.initiator_alias = identity_.initiator_alias;
  info.discovery = identity_.type == SessionType::kDiscovery;
  if (!info.discovery) info.target = identity_.target_name;
  info.peer = peer_address_;
  info.local = local_address_;
  info.portal_group_tag = portal_group_tag_;
  info.reactor = reactor_.id();
  info.age_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  info.session = session_params_;
  info.connection = conn_params_;
  info.tasks = tasks_ != nullptr ? tasks_->in_use() : 0;
  if (nexus_ != nullptr) info.stats = nexus_->stats();
  return info;
}

// RFC 7143 11.9.1: AsyncEvent 1 asks the initiator to log out within Parameter3 seconds.
void Connection::request_logout(std::chrono::seconds grace, const std::string& why) {
  if (closed_ || phase_ != Phase::kFullFeature) {
    close(why);
    return;
  }
  STGT_LOG_INFO("session {}: asking {} to log out: {}", tsih_, identity_.initiator_name, why);
  logout_deadline_ = std::chrono::steady_clock::now() + grace;
  TxPdu& p = tx_new();
  tx_queue(p, make_async_message(1, 0, 0, uint16_t(std::min<int64_t>(grace.count(), 65535)), 0, 0,
                                 next_sn(true)));  // it carries status: StatSN advances
  flush_tx();
}

}  // namespace stgt::iscsi
