// Connection: socket I/O, the receive state machine and the send queue.
// PDU handlers are in connection_ffp.cc (full feature phase) and connection_login.cc.
#include "transport/iscsi/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/crc32c.h"
#include "base/log.h"
#include "scsi/scsi_layer.h"
#include "transport/iscsi/connection_internal.h"
#include "transport/iscsi/server.h"

namespace stgt::iscsi {

namespace {

// One recv takes up to this much: at QD 32, every command a 4 KiB write batch holds.
constexpr size_t kStageBufferSize = 64 * 1024;
// Data segments at least this long are read straight into the command's buffers (what
// follows them lands in the staging buffer, same readv). Shorter ones are cheaper to copy
// out of the staging buffer than to read with a syscall of their own.
constexpr size_t kDirectReadMin = 16 * 1024;
// During login no MaxRecvDataSegmentLength is negotiated yet (RFC 7143 13.12: 8192).
constexpr uint32_t kLoginMaxDataSegment = 8192;

void store_digest(uint8_t* p, uint32_t crc) {
  // RFC 7143 11.1 / B.4: digests go on the wire least significant byte first.
  p[0] = uint8_t(crc);
  p[1] = uint8_t(crc >> 8);
  p[2] = uint8_t(crc >> 16);
  p[3] = uint8_t(crc >> 24);
}

uint32_t load_digest(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

Connection::Connection(reactor::Reactor& reactor, base::UniqueFd fd,
                       std::shared_ptr<ServerShared> shared, uint64_t id,
                       std::string local_address, std::string peer_address,
                       uint16_t portal_group_tag)
    : reactor_(reactor),
      fd_(std::move(fd)),
      shared_(std::move(shared)),
      id_(id),
      local_address_(std::move(local_address)),
      peer_address_(std::move(peer_address)),
      portal_group_tag_(portal_group_tag) {
  flush_hook_.connection = this;
  send_hook_.connection = this;
  direct_hook_.connection = this;
}

Connection::~Connection() {
  reactor_.cancel_deferred(flush_hook_);
  // Only when the reactor stopped with the send in flight (a running reactor drops a
  // connection once finished(), after the send's completion).
  if (send_hook_.send_in_flight()) reactor_.cancel_send(send_hook_, true);
  if (direct_hook_.direct_receive_pending()) reactor_.cancel_receive_direct(direct_hook_, true);
  release_session_slot();
}

void Connection::start() {
  started_at_ = std::chrono::steady_clock::now();
  last_rx_ = started_at_;
  // CHAP policy comes from the catalog current when the login names its target.
  auth_ = std::make_unique<ChapAuthenticator>(
      [shared = shared_](const LoginIdentity& who) { return shared->catalog.get()->chap_for(who); });
  login_ = std::make_unique<LoginMachine>(*this, auth_.get());
  stream_watch_ = reactor_.watch_stream(
      fd_.get(), [this](std::span<const uint8_t> data, int error) { on_stream(data, error); });
  rx_stream_ = stream_watch_.valid();
  rx_direct_ = rx_stream_ && shared_->settings.direct_receive && reactor_.receives_direct();
  // Sends through the reactor only together with its receives: the epoch of a send and of
  // the receive it answers is then the same ring's.
  tx_async_ = rx_stream_ && reactor_.sends_async();
  // In stream mode readiness matters only for a send that hit a full socket buffer, and
  // not at all when the reactor sends (the kernel waits for room itself).
  if (!tx_async_) {
    const uint32_t events =
        rx_stream_ ? reactor::kWritable : reactor::kReadable | reactor::kWritable;
    watch_ = reactor_.watch_fd(fd_.get(), events, [this](uint32_t ev) { on_events(ev); });
  }
  timer_ = reactor_.add_timer(std::chrono::seconds(1), true, [this] { on_timer(); });
  STGT_LOG_DEBUG("connection {} from {} to {}", id_, peer_address_, local_address_);
}

void Connection::close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::string(why);
  if (nexus_ != nullptr || tsih_ != 0) {
    STGT_LOG_INFO("session {} ({} -> {}) closed: {}", tsih_, identity_.initiator_name,
                  identity_.type == SessionType::kDiscovery ? "discovery" : identity_.target_name,
                  why);
  } else {
    STGT_LOG_DEBUG("connection {} from {} closed: {}", id_, peer_address_, why);
  }
  if (watch_.valid()) reactor_.unwatch_fd(watch_);
  if (stream_watch_.valid()) reactor_.unwatch_fd(stream_watch_);
  if (timer_.valid()) reactor_.cancel_timer(timer_);
  reactor_.cancel_deferred(flush_hook_);
  rx_stage_buf_.reset();
  rx_stage_head_ = rx_stage_tail_ = 0;
  watch_ = {};
  stream_watch_ = {};
  timer_ = {};
  // The peer learns of the close now, whatever else may still hold the file (an io_uring
  // poll being cancelled): shutdown acts on the socket, close only on our descriptor. It
  // also ends a send in flight that waits for room (-EPIPE); the cancel covers the rest.
  ::shutdown(fd_.get(), SHUT_RDWR);
  if (send_hook_.send_in_flight()) reactor_.cancel_send(send_hook_, false);
  // Its completion releases the task it receives into, if that was released meanwhile.
  if (direct_hook_.direct_receive_pending()) reactor_.cancel_receive_direct(direct_hook_, false);
  fd_.reset();
  if (tsih_ != 0) shared_->sessions.remove(tsih_);
  release_session_slot();
  if (nexus_ != nullptr) scsi::nexus_lost(*nexus_);
  // Drop every queued PDU (tasks whose last PDU this was can go), unless the kernel may
  // still be reading them: then at the send's completion (on_send).
  if (!send_hook_.send_in_flight()) tx_drop_queue();
  if (tasks_ != nullptr) {
    // Commands that wait in a task set (for their data or an older command) never start;
    // those that started finish and are dropped then (SAM-5 6.3.4: the I_T nexus loss aborts
    // them, so a long one, a copy, may end early).
    tasks_->for_each_used([this](Task& t) {
      if (!take_back_unstarted(t, true) && t.in_scsi) t.cmd.abort_requested = true;
    });
    tasks_->release_idle(*this);
  }
  held_.clear();
  held_tmfs_.clear();
  cancelled_cmd_sns_.clear();
  check_abort_waits();  // task management waiting on this session's tasks may go on
  if (finished()) schedule_drop();
}

void Connection::schedule_drop() {
  if (drop_scheduled_) return;
  drop_scheduled_ = true;
  // Posted: the set's shared_ptr may be the last one, and we may be inside a callback.
  reactor_.post([s = shared_, rid = reactor_.id(), id = id_] { s->connections[rid].erase(id); });
}

void Connection::on_events(uint32_t events) {
  if (closed_) return;
  // In stream mode an error or hang-up also ends the reactor's receive, which reports it.
  if (!rx_stream_ && ((events & reactor::kReadable) != 0 || (events & reactor::kHangup) != 0)) {
    rx_drained_ = false;
    if ((events & reactor::kPeerClosed) != 0) rx_peer_closed_ = true;
    receive();
  }
  if (!closed_ && (events & reactor::kWritable) != 0 && tx_blocked_) flush_tx();
  schedule_flush();
}

void Connection::on_stream(std::span<const uint8_t> data, int error) {
  if (closed_) return;
  if (data.empty()) {
    close(error == 0 ? std::string("connection closed by the initiator")
                     : fmt::format("receive failed: {}", std::strerror(-error)));
    return;
  }
  rx_activity_ = true;
  rx_ext_ = data;
  receive();
  // The parser takes every byte it is given (rx_fill stops only when its source is empty)
  // unless the connection closed; keep any rest anyway, ahead of the next buffer.
  if (!closed_ && !rx_ext_.empty()) {
    if (rx_stage_buf_.empty()) rx_stage_buf_ = reactor_.buffers().get(kStageBufferSize);
    if (rx_stage_buf_.empty() || rx_ext_.size() > kStageBufferSize - rx_stage_tail_) {
      close("out of receive buffers");
    } else {
      std::memcpy(rx_stage_buf_.data() + rx_stage_tail_, rx_ext_.data(), rx_ext_.size());
      rx_stage_tail_ += rx_ext_.size();
    }
  }
  rx_ext_ = {};
  schedule_flush();
}

void Connection::schedule_flush() {
  if (!closed_ && tx_head_ != nullptr && !tx_blocked_ && !send_hook_.send_in_flight()) {
    reactor_.defer(flush_hook_);
  }
}

void Connection::FlushHook::run_deferred() {
  Connection& c = *connection;
  if (!c.closed_ && c.tx_head_ != nullptr && !c.tx_blocked_) c.flush_tx();
}

void Connection::on_timer() {
  if (closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (rx_activity_) {
    last_rx_ = now;
    rx_activity_ = false;
  }
  const IscsiSettings& s = shared_->settings;
  if (phase_ == Phase::kLogin) {
    if (now - started_at_ > s.login_timeout) close("login timed out");
    return;
  }
  if (logout_deadline_.has_value() && now > *logout_deadline_) {
    close("initiator did not log out when asked");
    return;
  }
  if (ping_ttt_.has_value()) {
    if (now - ping_sent_at_ > s.nop_timeout) close("initiator did not answer NOP-In");
    return;
  }
  if (s.nop_interval.count() > 0 && now - last_rx_ > s.nop_interval) send_ping();
}

// ---------------------------------------------------------------------------------------
// Receive

// Fills `need` bytes of `dest` (starting after `done`) from the staging buffer and the
// socket. Returns true when complete, false when the socket has nothing more for now (or
// the connection closed).
bool Connection::rx_fill(std::span<iovec> dest, size_t& done, size_t need, bool allow_direct) {
  while (done < need) {
    // Locate the iovec and offset where byte `done` goes.
    size_t idx = 0;
    size_t skip = done;
    while (idx < dest.size() && skip >= dest[idx].iov_len) {
      skip -= dest[idx].iov_len;
      ++idx;
    }
    const size_t avail = rx_stage_tail_ - rx_stage_head_;
    if (avail > 0) {
      const size_t n = std::min({avail, dest[idx].iov_len - skip, need - done});
      std::memcpy(static_cast<uint8_t*>(dest[idx].iov_base) + skip,
                  rx_stage_buf_.data() + rx_stage_head_, n);
      rx_stage_head_ += n;
      done += n;
      if (rx_stage_head_ == rx_stage_tail_) rx_stage_head_ = rx_stage_tail_ = 0;
      continue;
    }
    if (!rx_ext_.empty()) {  // stream mode: the reactor's buffer
      const size_t n = std::min({rx_ext_.size(), dest[idx].iov_len - skip, need - done});
      std::memcpy(static_cast<uint8_t*>(dest[idx].iov_base) + skip, rx_ext_.data(), n);
      rx_ext_ = rx_ext_.subspan(n);
      done += n;
      continue;
    }
    if (rx_stream_) {
      // The reactor receives; wait for its next buffer, or have it put the rest of a large
      // data segment straight into its buffers (rx_direct_target).
      if (rx_direct_ && allow_direct && need - done >= kDirectReadMin &&
          !direct_hook_.direct_receive_pending()) {
        reactor_.receive_direct(stream_watch_, direct_hook_);
      }
      return false;
    }
    if (rx_drained_ && !rx_peer_closed_) return false;  // nothing more until the next event
    if (rx_stage_buf_.empty()) {
      rx_stage_buf_ = reactor_.buffers().get(kStageBufferSize);
      if (rx_stage_buf_.empty()) {
        close("out of receive buffers");
        return false;
      }
    }
    ssize_t n;
    if (allow_direct && need - done >= kDirectReadMin) {
      n = rx_read_direct(dest, idx, skip, need - done);
      if (n > 0) {
        const size_t into_dest = std::min(size_t(n), need - done);
        done += into_dest;
        rx_stage_head_ = 0;
        rx_stage_tail_ = size_t(n) - into_dest;
        rx_activity_ = true;
        continue;
      }
    } else {
      const size_t asked = kStageBufferSize;
      n = ::recv(fd_.get(), rx_stage_buf_.data(), asked, 0);
      if (n > 0) {
        rx_drained_ = size_t(n) < asked;
        rx_stage_head_ = 0;
        rx_stage_tail_ = size_t(n);
        rx_activity_ = true;
        continue;
      }
    }
    if (n == 0) {
      close("connection closed by the initiator");
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    close(fmt::format("receive failed: {}", std::strerror(errno)));
    return false;
  }
  return true;
}

// One readv: the next `want` bytes straight into `dest` (from iovec idx, byte skip), and
// whatever follows them on the socket (the next PDU headers) into the empty staging buffer.
ssize_t Connection::rx_read_direct(std::span<iovec> dest, size_t idx, size_t skip, size_t want) {
  std::array<iovec, 41> v;
  size_t cnt = 0;
  size_t asked = 0;
  for (size_t i = idx; i < dest.size() && cnt + 1 < v.size() && asked < want; ++i) {
    uint8_t* base = static_cast<uint8_t*>(dest[i].iov_base) + (i == idx ? skip : 0);
    const size_t len = std::min(dest[i].iov_len - (i == idx ? skip : 0), want - asked);
    v[cnt++] = iovec{base, len};
    asked += len;
  }
  if (asked == want) {
    v[cnt++] = iovec{rx_stage_buf_.data(), kStageBufferSize};
    asked += kStageBufferSize;
  }
  const ssize_t n = ::readv(fd_.get(), v.data(), int(cnt));
  if (n > 0) rx_drained_ = size_t(n) < asked;
  return n;
}

// Every byte received before the pause has been parsed: if the parser still waits for a
// data segment, the next bytes on the socket are its rest (and its padding). Asked for even
// below kDirectReadMin now: the pause is paid for, and a short target costs no more.
size_t Connection::rx_direct_target(std::span<iovec> iov) {
  if (closed_ || rx_stage_ != RxStage::kData || rx_stage_head_ != rx_stage_tail_) return 0;
  std::array<iovec, std::tuple_size_v<decltype(rx_dest_)> + 1> v;  // the segment, its padding
  size_t cnt = 0;
  for (size_t i = 0; i < rx_dest_count_; ++i)
    v[cnt++] = rx_dest_[i];
  const size_t pad = padded(rx_dsl_) - rx_dsl_;
  if (pad > 0) v[cnt++] = iovec{rx_pad_.data(), pad};
  size_t skip = rx_done_;
  size_t n = 0;
  for (size_t i = 0; i < cnt && n < iov.size(); ++i) {
    if (skip >= v[i].iov_len) {
      skip -= v[i].iov_len;
      continue;
    }
    iov[n++] = iovec{static_cast<uint8_t*>(v[i].iov_base) + skip, v[i].iov_len - skip};
    skip = 0;
  }
  return n;
}

void Connection::on_direct_receive(int64_t result) {
  if (rx_direct_release_ != nullptr) {
    Task& t = *rx_direct_release_;
    rx_direct_release_ = nullptr;
    release_task(t);
  }
  if (closed_) {
    if (finished()) schedule_drop();
    return;
  }
  if (result < 0) {
    close(result == -ENODATA ? std::string("connection closed by the initiator")
                             : fmt::format("receive failed: {}", std::strerror(int(-result))));
    return;
  }
  if (result > 0) rx_activity_ = true;
  rx_done_ += size_t(result);
  receive();
  schedule_flush();
}

void Connection::receive() {
  while (!closed_ && rx_step()) {
  }
  // An idle connection keeps no staging buffer (docs/performance.md, "Many objects").
  if (rx_stage_head_ == rx_stage_tail_) rx_stage_buf_.reset();
}

// Advances the receive state machine by one stage; false when it must wait for bytes.
bool Connection::rx_step() {
  switch (rx_stage_) {
    case RxStage::kHeader: {
      iovec v{rx_bhs_.bytes.data(), kBhsLength};
      if (!rx_fill({&v, 1}, rx_done_, kBhsLength, false)) return false;
      rx_done_ = 0;
      rx_dsl_ = rx_bhs_.data_segment_length();
      const uint32_t limit = phase_ == Phase::kLogin ? kLoginMaxDataSegment
                                                     : conn_params_.max_recv_data_segment_length;
      if (rx_dsl_ > limit) {
        // RFC 7143 11.2.1.5: a segment longer than we declared is a protocol error.
        reject(RejectReason::kProtocolError);
        protocol_error(fmt::format("data segment of {} bytes exceeds {}", rx_dsl_, limit));
        return false;
      }
      if (rx_bhs_.total_ahs_length() > 0) {
        rx_stage_ = RxStage::kAhs;
      } else if (header_digest_) {
        rx_stage_ = RxStage::kHeaderDigest;
      } else {
        rx_header_done();
      }
      return true;
    }
    case RxStage::kAhs: {
      const size_t len = size_t(rx_bhs_.total_ahs_length()) * 4;
      iovec v{rx_ahs_.data(), len};
      if (!rx_fill({&v, 1}, rx_done_, len, false)) return false;
      rx_done_ = 0;
      if (header_digest_) {
        rx_stage_ = RxStage::kHeaderDigest;
      } else {
        rx_header_done();
      }
      return true;
    }
    case RxStage::kHeaderDigest: {
      iovec v{rx_digest_.data(), kDigestLength};
      if (!rx_fill({&v, 1}, rx_done_, kDigestLength, false)) return false;
      rx_done_ = 0;
      uint32_t crc = base::crc32c_update(base::crc32c_begin(), rx_bhs_.bytes.data(), kBhsLength);
      crc = base::crc32c_update(crc, rx_ahs_.data(), size_t(rx_bhs_.total_ahs_length()) * 4);
      if (base::crc32c_finish(crc) != load_digest(rx_digest_.data())) {
        // RFC 7143 7.8: with a bad header digest the length cannot be trusted (ERL 0).
        protocol_error("header digest mismatch");
        return false;
      }
      rx_header_done();
      return true;
    }
    case RxStage::kData: {
      const size_t pad = padded(rx_dsl_) - rx_dsl_;
      std::array<iovec, 40> v;
      size_t cnt = 0;
      for (size_t i = 0; i < rx_dest_count_; ++i) v[cnt++] = rx_dest_[i];
      if (pad > 0) v[cnt++] = iovec{rx_pad_.data(), pad};
      if (!rx_fill({v.data(), cnt}, rx_done_, padded(rx_dsl_), true)) return false;
      rx_done_ = 0;
      if (data_digest_) {
        rx_stage_ = RxStage::kDataDigest;
      } else {
        rx_pdu_done();
      }
      return true;
    }
    case RxStage::kDataDigest: {
      iovec v{rx_digest_.data(), kDigestLength};
      if (!rx_fill({&v, 1}, rx_done_, kDigestLength, false)) return false;
      rx_done_ = 0;
      uint32_t crc = base::crc32c_begin();
      for (size_t i = 0; i < rx_dest_count_; ++i) {
        crc = base::crc32c_update(crc, rx_dest_[i].iov_base, rx_dest_[i].iov_len);
      }
      crc = base::crc32c_update(crc, rx_pad_.data(), padded(rx_dsl_) - rx_dsl_);
      if (base::crc32c_finish(crc) != load_digest(rx_digest_.data())) {
        // RFC 7143 7.8: reject the PDU. Its data never reaches a store; at ERL 0 the
        // command it belonged to cannot complete, so the connection goes.
        reject(RejectReason::kDataDigestError);
        protocol_error("data digest mismatch");
        return false;
      }
      rx_pdu_done();
      return true;
    }
  }
  return false;
}

// The header (and its digest) is in: decide where the data segment goes.
void Connection::rx_header_done() {
  rx_task_ = nullptr;
  rx_discard_ = false;
  rx_sink_ = false;
  rx_reject_.reset();
  rx_dest_count_ = 0;
  if (phase_ == Phase::kLogin && rx_bhs_.opcode() != Opcode::kLoginRequest) {
    protocol_error(fmt::format("{} during login", to_string(rx_bhs_.opcode())));
    return;
  }
  const Opcode op = rx_bhs_.opcode();
  if (phase_ != Phase::kLogin && op == Opcode::kLoginRequest) {
    // RFC 7143 6.3: a Login Request belongs to the login phase only; once the connection is
    // in full feature phase the login machine is gone. Reject it and go on (11.17.1).
    rx_discard_ = true;
    rx_reject_ = RejectReason::kProtocolError;
  }
  if (phase_ != Phase::kLogin && identity_.type == SessionType::kDiscovery &&
      op != Opcode::kTextRequest && op != Opcode::kLogoutRequest && op != Opcode::kNopOut) {
    // RFC 7143 4.3: a discovery session carries only Text, Logout and NOP.
    rx_discard_ = true;
    rx_reject_ = RejectReason::kProtocolError;
  }
  if (rx_discard_) {
    // Nothing to prepare: the data segment goes to the scratch buffer below.
  } else if (op == Opcode::kScsiCommand) {
    handle_scsi_command_header();
  } else if (op == Opcode::kDataOut) {
    handle_data_out_header();
  } else {
    rx_data_.resize(rx_dsl_);
    if (rx_dsl_ > 0) rx_dest_[rx_dest_count_++] = iovec{rx_data_.data(), rx_dsl_};
  }
  if (closed_) return;
  if ((rx_discard_ || rx_sink_) && rx_dsl_ > 0) {
    rx_discard_buf_.resize(std::min<size_t>(rx_dsl_, 64 * 1024));
    // Point every destination at the scratch buffer (reads overwrite it).
    rx_dest_count_ = 0;
    size_t left = rx_dsl_;
    while (left > 0 && rx_dest_count_ < rx_dest_.size()) {
      const size_t n = std::min(left, rx_discard_buf_.size());
      rx_dest_[rx_dest_count_++] = iovec{rx_discard_buf_.data(), n};
      left -= n;
    }
  }
  if (rx_dsl_ > 0) {
    rx_stage_ = RxStage::kData;
    return;
  }
  rx_pdu_done();
}

void Connection::rx_pdu_done() {
  rx_stage_ = RxStage::kHeader;
  if (rx_reject_.has_value()) {
    reject(*rx_reject_);
    rx_reject_.reset();
    return;
  }
  if (rx_discard_) return;
  switch (rx_bhs_.opcode()) {
    case Opcode::kLoginRequest:
      handle_login();
      break;
    case Opcode::kScsiCommand:
      handle_scsi_command();
      break;
    case Opcode::kDataOut:
      handle_data_out();
      break;
    case Opcode::kNopOut:
      handle_nop_out();
      break;
    case Opcode::kTextRequest:
      handle_text();
      break;
    case Opcode::kLogoutRequest:
      handle_logout();
      break;
    case Opcode::kTaskManagementRequest:
      handle_task_management();
      break;
    case Opcode::kSnackRequest:
      // RFC 7143 11.16: SNACK needs ErrorRecoveryLevel > 0; we negotiate 0.
      reject(RejectReason::kProtocolError);
      break;
    default:
      reject(RejectReason::kCommandNotSupported);
      break;
  }
}

void Connection::protocol_error(std::string_view why) {
  STGT_LOG_WARN("connection {} from {}: protocol error: {}", id_, peer_address_, why);
  // Best effort: a queued Reject goes out if the socket takes it now; nothing more is read.
  // A send in flight cannot be overtaken, and the close ends it: the Reject is then lost.
  if (!send_hook_.send_in_flight()) send_direct();
  close(why);
}

void Connection::reject(RejectReason reason) {
  TxPdu& p = tx_new();
  p.owned.assign(rx_bhs_.bytes.begin(), rx_bhs_.bytes.end());
  p.iov[0] = iovec{p.owned.data(), p.owned.size()};
  p.iov_count = 1;
  p.data_len = uint32_t(p.owned.size());
  tx_queue(p, make_reject(reason, p.data_len, next_sn(true)));
}

// ---------------------------------------------------------------------------------------
// Send

Connection::TxPdu& Connection::tx_new() {
  if (tx_free_.empty()) {
    tx_all_.push_back(std::make_unique<TxPdu>());
    tx_free_.push_back(tx_all_.back().get());
  }
  TxPdu* p = tx_free_.back();
  tx_free_.pop_back();
  return *p;
}

void Connection::tx_queue(TxPdu& p, const Bhs& bhs) {
  std::memcpy(p.header.data(), bhs.bytes.data(), kBhsLength);
  p.header_len = kBhsLength;
  if (header_digest_) {
    store_digest(p.header.data() + kBhsLength, base::crc32c(bhs.bytes.data(), kBhsLength));
    p.header_len += kDigestLength;
  }
  const uint32_t pad = padded(p.data_len) - p.data_len;
  std::memset(p.trailer.data(), 0, p.trailer.size());
  p.trailer_len = uint8_t(pad);
  if (data_digest_ && p.data_len > 0) {
    uint32_t crc = base::crc32c_begin();
    for (size_t i = 0; i < p.iov_count; ++i) {
      crc = base::crc32c_update(crc, p.iov[i].iov_base, p.iov[i].iov_len);
    }
    crc = base::crc32c_update(crc, p.trailer.data(), pad);
    store_digest(p.trailer.data() + pad, base::crc32c_finish(crc));
    p.trailer_len = uint8_t(pad + kDigestLength);
  }
  if (p.task != nullptr) ++p.task->pdus_in_flight;
  p.next = nullptr;
  if (tx_tail_ != nullptr) {
    tx_tail_->next = &p;
  } else {
    tx_head_ = &p;
  }
  tx_tail_ = &p;
}

void Connection::tx_release(TxPdu* p) {
  Task* t = p->task;
  p->task = nullptr;
  p->iov_count = 0;
  p->data_len = 0;
  p->owned.clear();
  tx_free_.push_back(p);
  if (t != nullptr) {
    --t->pdus_in_flight;
    if (t->completed && t->pdus_in_flight == 0) release_task(*t);
  }
}

void Connection::tx_drop_queue() {
  while (tx_head_ != nullptr) {
    TxPdu* p = tx_head_;
    tx_head_ = p->next;
    tx_release(p);
  }
  tx_tail_ = nullptr;
  tx_head_sent_ = 0;
}

size_t Connection::tx_gather(std::span<iovec> v) const {
  size_t cnt = 0;
  size_t skip = tx_head_sent_;
  for (const TxPdu* p = tx_head_; p != nullptr; p = p->next) {
    if (cnt + p->iov_count + 2 > v.size()) break;
    auto add = [&](const void* base, size_t len) {
      if (len == 0) return;
      if (skip >= len) {
        skip -= len;
        return;
      }
      v[cnt++] = iovec{const_cast<uint8_t*>(static_cast<const uint8_t*>(base)) + skip, len - skip};
      skip = 0;
    };
    add(p->header.data(), p->header_len);
    for (size_t i = 0; i < p->iov_count; ++i)
      add(p->iov[i].iov_base, p->iov[i].iov_len);
    add(p->trailer.data(), p->trailer_len);
  }
  return cnt;
}

void Connection::tx_sent(size_t n) {
  size_t left = n + tx_head_sent_;
  // Releasing a PDU may release its task, which may queue a window update at the tail;
  // the caller sends it next.
  while (tx_head_ != nullptr) {
    TxPdu* p = tx_head_;
    const size_t total = p->total();
    if (left < total) break;
    left -= total;
    tx_head_ = p->next;
    if (tx_head_ == nullptr) tx_tail_ = nullptr;
    tx_release(p);
  }
  tx_head_sent_ = left;
}

void Connection::flush_tx() {
  if (tx_async_) {
    start_send();
    return;
  }
  send_direct();
}

void Connection::send_direct() {
  while (!closed_ && tx_head_ != nullptr) {
    std::array<iovec, kMaxSendIov> v;
    msghdr msg{};
    msg.msg_iov = v.data();
    msg.msg_iovlen = tx_gather(v);
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        tx_blocked_ = true;
        return;
      }
      close(fmt::format("send failed: {}", std::strerror(errno)));
      return;
    }
    tx_sent(size_t(n));
  }
  tx_blocked_ = false;
  if (close_after_tx_ && tx_head_ == nullptr) close(close_reason_.empty() ? "done" : close_reason_);
}

// One send through the reactor, of the queue as it is now; PDUs queued while it is in flight
// go with the next one (on_send). At most one in flight keeps the PDUs in order.
void Connection::start_send() {
  if (closed_ || send_hook_.send_in_flight()) return;
  if (tx_head_ == nullptr) {
    if (close_after_tx_) close(close_reason_.empty() ? "done" : close_reason_);
    return;
  }
  tx_msg_ = msghdr{};
  tx_msg_.msg_iov = tx_iov_.data();
  tx_msg_.msg_iovlen = tx_gather(tx_iov_);
  // The reactor may sleep through this send's completion until the initiator sends more:
  // not when the completion is what lets it go on (the close after a logout or failed
  // login; a CmdSN window with no room, which only the tasks this send releases reopen).
  const bool window_open = last_max_cmd_sn_ + 1 != exp_cmd_sn_;
  reactor_.submit_send(fd_.get(), tx_msg_, send_hook_, window_open && !close_after_tx_);
}

void Connection::on_send(int64_t result) {
  if (closed_) {
    // The kernel is done with the queued PDUs: they (and the tasks they hold) can go.
    tx_drop_queue();
    if (finished()) schedule_drop();
    return;
  }
  if (result <= 0) {
    // -EPIPE, -ECONNRESET: the initiator went away. 0 bytes of a non-empty queue: no
    // progress is possible either.
    close(result == 0 ? std::string("send made no progress")
                      : fmt::format("send failed: {}", std::strerror(int(-result))));
    return;
  }
  // Fewer bytes than asked (MSG_WAITALL stopped early): the next send goes on from there.
  tx_sent(size_t(result));
  if (tx_head_ != nullptr) {
    // At the end of this iteration, together with whatever else it queues.
    schedule_flush();
    return;
  }
  if (close_after_tx_) close(close_reason_.empty() ? "done" : close_reason_);
}

SequenceNumbers Connection::next_sn(bool advance_stat_sn) {
  // RFC 7143 4.2.2.1: the initiator keeps the highest MaxCmdSN it was told and ignores a
  // lower one, so it may send up to that CmdSN whatever we say later. The window therefore
  // never moves back, even when the task table is fuller than at the last update (completed
  // tasks whose responses wait in the send queue, commands held behind a CmdSN gap):
  // accept_cmd_sn() would otherwise drop, silently, a command the initiator was entitled to
  // send, and every later one would wait behind that gap forever. The table still has room
  // for the whole window: a command that arrives takes one slot and one CmdSN of the window
  // together, and MaxCmdSN only ever grows by the slots free at that moment. (Immediate
  // commands take a slot without a CmdSN: while they run, a command of the window may find
  // the table full, and is rejected, RFC 7143 11.17.1, rather than dropped.)
  const uint32_t now = max_cmd_sn();
  if (sn_lt(last_max_cmd_sn_, now)) last_max_cmd_sn_ = now;
  SequenceNumbers sn{stat_sn_, exp_cmd_sn_, last_max_cmd_sn_};
  if (advance_stat_sn) ++stat_sn_;
  return sn;
}

void Connection::send_ping() {
  ping_ttt_ = next_ping_ttt_++;
  if (next_ping_ttt_ == kReservedTag) next_ping_ttt_ = 1;
  ping_sent_at_ = std::chrono::steady_clock::now();
  TxPdu& p = tx_new();
  tx_queue(p, make_nop_in(kReservedTag, *ping_ttt_, 0, 0, next_sn(false)));
  flush_tx();
}

}  // namespace stgt::iscsi
