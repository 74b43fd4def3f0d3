// Connection: one iSCSI TCP connection, from accept to close, on one reactor.
//
// It owns the socket, the receive state machine (header, AHS, header digest, data, data
// digest; RFC 7143 11.1), the send queue (PDUs gathered into one sendmsg: on io_uring an
// asynchronous one through the ring, at most one in flight), the login phase
// (login.h) and, in full feature phase, its Session: the CmdSN window, the task table and
// the I_T nexus. MaxConnections is 1, so a session has exactly one connection.
//
// Threads: every method runs on the connection's reactor. Other threads reach a connection
// only through Reactor::post with a weak_ptr (session reinstatement, shutdown).
// Lifetime: shared_ptr held by the IscsiServer's per-reactor set; after close() the object
// stays until every task the SCSI layer still holds has completed, then the set drops it.
#pragma once

#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "reactor/reactor.h"
#include "scsi/command.h"
#include "scsi/it_nexus.h"
#include "scsi/nexus_owner.h"
#include "transport/iscsi/chap.h"
#include "transport/iscsi/login.h"
#include "transport/iscsi/params.h"
#include "transport/iscsi/pdu.h"
#include "transport/iscsi/task.h"

namespace stgt::iscsi {

class IscsiServer;
struct ServerShared;
struct SessionInfo;

class Connection final : public scsi::CommandOwner,
                         public scsi::NexusOwner,
                         public LoginContext,
                         public std::enable_shared_from_this<Connection> {
 public:
  Connection(reactor::Reactor& reactor, base::UniqueFd fd, std::shared_ptr<ServerShared> shared,
             uint64_t id, std::string local_address, std::string peer_address,
             uint16_t portal_group_tag);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Closes the socket now; tasks still in the SCSI layer finish and are then dropped.
  void close(std::string_view why);
  bool closed() const { return closed_; }
  // True once closed, no task is held by the SCSI layer any more, no send is in flight
  // (the kernel may read the queued PDUs' buffers until its completion), nor a direct receive
  // pending (the kernel may write into a task's buffers until its completion).
  bool finished() const {
    return closed_ && tasks_busy_ == 0 && !send_hook_.send_in_flight() &&
           !direct_hook_.direct_receive_pending();
  }
  // Tasks the SCSI layer still holds (for the shutdown report).
  uint32_t busy_tasks() const { return tasks_busy_; }
  const std::string& peer_address() const { return peer_address_; }
  uint64_t id() const { return id_; }
  reactor::Reactor& reactor() { return reactor_; }

  void command_done(scsi::Command& cmd) override;

  // Control plane (on this connection's reactor): what the session looks like, nullopt
  // before the full feature phase; and a polite close (Async Message asking for a logout,
  // then a drop if the initiator has not logged out within `grace`).
  std::optional<SessionInfo> session_info() const;
  // The initiator's address without the port ("192.0.2.7", "::1").
  std::string peer_host() const;
  void request_logout(std::chrono::seconds grace, const std::string& why);

  // scsi::NexusOwner
  void abort_tasks(const scsi::LogicalUnit* lu, scsi::AbortCause cause, bool by_other_nexus,
                   std::function<void()> done) override;

  // LoginContext
  LoginStatus admit(const LoginIdentity& who) override;
  std::string target_alias(const std::string& target_name) override;
  uint16_t portal_group_tag() override;
  TargetLimits limits() override;
  bool conceal_targets() override;

 private:
  struct TxPdu;
  class TaskTable;
  friend class TaskTable;

  // ---- socket events ----
  void on_events(uint32_t events);
  // Bytes the reactor received for us (stream mode, Reactor::watch_stream).
  void on_stream(std::span<const uint8_t> data, int error);
  void receive();
  // Sends what is queued: through the reactor (start_send) when it sends asynchronously,
  // else with sendmsg (send_direct).
  void flush_tx();
  void send_direct();
  void start_send();
  // The queue from its first unsent byte as iovecs (at most v.size()); returns the count.
  size_t tx_gather(std::span<iovec> v) const;
  // `n` more bytes of the queue were sent: releases the PDUs they complete.
  void tx_sent(size_t n);
  void tx_drop_queue();
  void on_send(int64_t result);
  struct SendHook final : reactor::SendCompletion {
    Connection* connection = nullptr;
    void on_send(int64_t result) override { connection->on_send(result); }
  };
  // Sends the queue at the end of this reactor iteration: every response the iteration
  // produced (a batch of received commands, a batch of store completions) in one sendmsg.
  void schedule_flush();
  struct FlushHook final : reactor::Deferred {
    Connection* connection = nullptr;
    void run_deferred() override;
  };
  void on_timer();
  // Stream mode: the rest of a large data segment straight into its buffers.
  size_t rx_direct_target(std::span<iovec> iov);
  void on_direct_receive(int64_t result);
  struct DirectHook final : reactor::DirectReceive {
    Connection* connection = nullptr;
    size_t direct_target(std::span<iovec> iov) override {
      return connection->rx_direct_target(iov);
    }
    void on_direct_receive(int64_t result) override { connection->on_direct_receive(result); }
  };

  // ---- receive state machine ----
  enum class RxStage : uint8_t { kHeader, kAhs, kHeaderDigest, kData, kDataDigest };
  bool rx_fill(std::span<iovec> dest, size_t& count_done, size_t need, bool allow_direct);
  ssize_t rx_read_direct(std::span<iovec> dest, size_t idx, size_t skip, size_t want);
  void rx_header_done();
  void rx_pdu_done();
  void rx_set_data_destination();
  bool rx_step();

  // ---- PDU handlers ----
  void handle_login();
  void handle_scsi_command_header();
  void handle_scsi_command();
  void handle_data_out_header();
  void handle_data_out();
  void handle_nop_out();
  void handle_text();
  void handle_logout();
  void handle_task_management();
  void run_task_management(const Bhs& h);
  void send_text_chunk(uint32_t itt, uint64_t lun);
  uint32_t next_text_ttt();
  void protocol_error(std::string_view why);
  void send_ping();
  void schedule_drop();
  void send_window_update();
  void reject(RejectReason reason);

  // ---- session / tasks ----
  bool accept_cmd_sn(uint32_t cmd_sn, bool immediate);
  void start_ready_tasks();
  void start_task(Task& t);
  void issue_r2ts(Task& t);
  void maybe_submit(Task& t);
  void fail_task(Task& t, scsi::SenseReason reason);
  void send_task_result(Task& t);
  void release_task(Task& t);
  SequenceNumbers next_sn(bool advance_stat_sn);
  uint32_t max_cmd_sn() const;
  void setup_session();
  bool take_session_slot();
  void release_session_slot();
  void maybe_finish_logout();

  // ---- task management (connection_tmf.cc) ----
  struct AbortWait;
  scsi::LogicalUnit* task_lu(const Task& t) const;
  bool abort_task(Task& t, bool report, bool release_successors);
  // Takes a task the SCSI layer has not started back from it; false if it started (or was
  // never handed over).
  bool take_back_unstarted(Task& t, bool release_successors);
  bool abort_settled(const Task& t, bool wait_data) const;
  void maybe_end_aborted(Task& t);
  void wait_for_aborts(std::vector<Task*> tasks, bool wait_data, std::function<void()> done);
  void check_abort_waits();
  void forget_aborted(const Task& t);
  std::vector<Task*> abort_session_tasks(const scsi::LogicalUnit* lu, bool report_tas);
  void send_tmf_response(uint32_t itt, uint8_t response,
                         std::array<uint8_t, 3> additional = {});
  void tmf_abort_task(const Bhs& h);
  void tmf_query(const Bhs& h, scsi::LogicalUnit* lu);
  void tmf_reset(const Bhs& h, scsi::LogicalUnit* lu);
  void skip_cancelled_cmd_sns();
  void abort_overlapped(uint32_t itt);

  // ---- send queue ----
  TxPdu& tx_new();
  void tx_queue(TxPdu& pdu, const Bhs& bhs);
  void tx_release(TxPdu* pdu);

  reactor::Reactor& reactor_;
  base::UniqueFd fd_;
  std::shared_ptr<ServerShared> shared_;
  uint64_t id_;
  std::string local_address_;
  std::string peer_address_;
  reactor::WatchId watch_;         // readiness (writable only in stream mode)
  reactor::WatchId stream_watch_;  // stream mode: the reactor receives for us
  reactor::TimerId timer_;
  bool closed_ = false;
  bool close_after_tx_ = false;
  bool drop_scheduled_ = false;
  std::string close_reason_;

  // Phase and negotiated state.
  enum class Phase : uint8_t { kLogin, kFullFeature, kLoggingOut };
  Phase phase_ = Phase::kLogin;
  uint16_t portal_group_tag_;
  std::unique_ptr<ChapAuthenticator> auth_;
  std::unique_ptr<LoginMachine> login_;
  bool first_login_pdu_ = true;
  std::shared_ptr<const scsi::Target> login_target_;
  LoginIdentity identity_;
  SessionParams session_params_;
  ConnectionParams conn_params_;
  bool header_digest_ = false;
  bool data_digest_ = false;
  uint16_t tsih_ = 0;
  bool holds_session_slot_ = false;  // counted in ServerShared::session_slots
  std::shared_ptr<scsi::ItNexus> nexus_;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point last_rx_;
  std::optional<uint32_t> ping_ttt_;
  std::chrono::steady_clock::time_point ping_sent_at_;
  uint32_t next_ping_ttt_ = 1;
  std::optional<std::chrono::steady_clock::time_point> logout_deadline_;  // request_logout()

  // Sequence numbers (RFC 7143 4.2.2).
  uint32_t stat_sn_ = 0;
  uint32_t exp_cmd_sn_ = 0;
  // The highest MaxCmdSN told to the initiator: the end of the window it may use, which
  // never moves back (next_sn()). ExpCmdSN - 1 (a closed window) before the first one.
  uint32_t last_max_cmd_sn_ = 0;
  bool logout_pending_ = false;
  uint32_t logout_itt_ = 0;

  // Text negotiation continuation (a response larger than MaxRecvDataSegmentLength).
  std::vector<uint8_t> text_out_;
  size_t text_out_offset_ = 0;
  uint32_t text_ttt_ = kReservedTag;
  uint32_t text_ttt_counter_ = 0;
  std::vector<uint8_t> text_in_;  // request text accumulated over C=1 PDUs
  std::vector<uint8_t> login_in_;

  // Receive state.
  RxStage rx_stage_ = RxStage::kHeader;
  Bhs rx_bhs_;
  std::array<uint8_t, 1024> rx_ahs_{};
  std::array<uint8_t, 4> rx_digest_{};
  std::array<uint8_t, 4> rx_pad_{};
  uint32_t rx_dsl_ = 0;
  size_t rx_done_ = 0;     // bytes of the current stage already received
  std::array<iovec, 36> rx_dest_{};
  size_t rx_dest_count_ = 0;
  std::vector<uint8_t> rx_data_;  // data segment of non-SCSI PDUs (bounded by MaxRecvDSL)
  Task* rx_task_ = nullptr;       // task whose buffer the current data segment goes into
  bool rx_discard_ = false;       // data segment is thrown away and the PDU not handled
  bool rx_sink_ = false;          // data segment is thrown away, the PDU still handled
  std::optional<RejectReason> rx_reject_;  // reject the PDU once its data is consumed
  std::vector<uint8_t> rx_discard_buf_;
  // Bytes read from the socket ahead of the parser. Taken from the reactor's pool when a
  // read needs it and given back once it is empty, so an idle connection holds none.
  base::PoolBuffer rx_stage_buf_;
  size_t rx_stage_head_ = 0;
  size_t rx_stage_tail_ = 0;
  // The last read returned less than it asked for: the socket is drained, so the next
  // read waits for the next readiness event instead of costing a recv that gets EAGAIN
  // (epoll(7): a short read on a stream socket means its input is exhausted).
  bool rx_drained_ = false;
  // The peer sent FIN (kPeerClosed): a short read no longer means more will be signalled, so
  // reads go on until recv returns 0. A truncated PDU followed by FIN in one readiness event
  // otherwise left the connection open for ever (tests/faults/hostile_soak_test.cc).
  bool rx_peer_closed_ = false;
  // Stream mode (the io_uring backend): the reactor receives into its own buffers and hands
  // them over (on_stream); the parser consumes rx_ext_ whole, and never calls recv itself.
  bool rx_stream_ = false;
  std::span<const uint8_t> rx_ext_;
  // Stream mode on a reactor that receives directly (IscsiSettings::direct_receive): the
  // rest of a data segment of kDirectReadMin or more goes straight into its buffers, while
  // direct_hook_ is pending. A task released meanwhile (the connection closed) is released
  // only at its completion: the kernel may still write into its buffers.
  bool rx_direct_ = false;
  DirectHook direct_hook_;
  Task* rx_direct_release_ = nullptr;
  // Bytes arrived since the last tick of the 1 s timer, which then stamps last_rx_: one
  // clock read per second instead of one per receive.
  bool rx_activity_ = false;

  // Tasks.
  std::unique_ptr<TaskTable> tasks_;
  uint32_t tasks_busy_ = 0;  // tasks held by the SCSI layer
  uint64_t write_buffered_ = 0;  // bytes of write buffers held by this session's tasks
  std::vector<Task*> held_;  // started-later tasks waiting for their CmdSN turn
  std::vector<Bhs> held_tmfs_;  // non-immediate TMF requests waiting for their CmdSN turn
  // CmdSNs an ABORT TASK declared received although their command never came (RFC 7143
  // 11.5.1 b); ExpCmdSN steps over them.
  std::vector<uint32_t> cancelled_cmd_sns_;
  // Task management waiting for aborted tasks to end ("safe" semantics).
  std::vector<std::unique_ptr<AbortWait>> abort_waits_;

  // Send state.
  TxPdu* tx_head_ = nullptr;  // send queue: an intrusive FIFO of pooled PDUs
  TxPdu* tx_tail_ = nullptr;
  std::vector<std::unique_ptr<TxPdu>> tx_all_;
  std::vector<TxPdu*> tx_free_;
  size_t tx_head_sent_ = 0;  // bytes of *tx_head_ already written
  bool tx_blocked_ = false;  // last write hit EAGAIN; wait for writable
  FlushHook flush_hook_;
  // Asynchronous sends (Reactor::sends_async): the send in flight covers the queue from
  // tx_head_ (after tx_head_sent_) over at most kMaxSendIov iovecs, described in tx_iov_ /
  // tx_msg_, which stay untouched, like the PDUs and their buffers, until on_send.
  static constexpr size_t kMaxSendIov = 128;
  bool tx_async_ = false;
  SendHook send_hook_;
  msghdr tx_msg_{};
  std::array<iovec, kMaxSendIov> tx_iov_{};
};

}  // namespace stgt::iscsi
