// UringReactor: the io_uring backend. One ring carries fd readiness (multishot POLL_ADD,
// edge-triggered, re-armed when the kernel ends a multishot poll), stream receives
// (multishot RECV selecting from one ring of provided buffers per reactor; see
// watch_stream), file I/O (READV/WRITEV with RWF_DSYNC for fua, FSYNC with DATASYNC) and
// the wake-up eventfd.
//
// Receive buffers: kRecvBuffers buffers of kRecvBufferSize bytes (1 MiB per reactor, its
// pages resident once used), registered as buffer group 0. The kernel picks one per
// completion; the handler runs on it and it goes back to the ring at once, so the ring
// runs dry only when the reactor falls behind by a whole MiB; the multishot receive then
// ends with ENOBUFS and is re-armed (the bytes wait in the socket).
//
// Submission is batched: SQEs queued by callbacks go to the kernel once per loop
// iteration together with the wait (io_uring_submit_and_wait_timeout).
//
// Sends (submit_send): IORING_OP_SENDMSG, submitted with that wait. A send to a socket with
// room completes inside the io_uring_enter that submits it, and its completion alone would
// end the wait at once: the loop would enter the kernel twice per response and save nothing
// over a sendmsg. So the wait asks for one completion more per send expected to complete
// there: one of at most kInlineSendMax bytes (64 KiB) whose socket's previous send did, and
// whose caller expects more input from the peer anyway (peer_goes_on). Such
// a wait is capped at kSendWaitCap (10 ms): should an expected send not complete after all
// (the socket filled), the other completions wait at most that long, never for ever. (A
// kernel minimum wait, IORING_FEAT_MIN_TIMEOUT, was tried as the guard instead: its 50 us
// timer, armed and cancelled on every wait, cost more CPU per I/O here than the syscall it
// saved; docs/performance.md, "Sends through the ring".)
//
// Direct receives (receive_direct): the watch's multishot receive is cancelled, and only
// once its last completion (the one without IORING_CQE_F_MORE) has been handled is one
// RECVMSG (MSG_WAITALL) into the caller's iovecs submitted; after it the multishot receive
// is re-armed. The ordering argument is at handle_recv.
//
// Thread: every member except post()/stop() runs on the reactor's thread.
#pragma once

#include <liburing.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "reactor/reactor_core.h"

namespace stgt::reactor {

class UringReactor final : public ReactorCore {
 public:
  // Null if io_uring is unavailable (disabled, too old, or out of locked memory).
  static std::unique_ptr<UringReactor> create(unsigned id);
  ~UringReactor() override;

  IoBackend backend() const override { return IoBackend::kUring; }

  WatchId watch_fd(int fd, uint32_t events, FdHandler handler) override;
  WatchId watch_stream(int fd, StreamHandler handler) override;
  void unwatch_fd(WatchId id) override;

  void submit_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset,
                    FileIoCompletion* done) override;
  void submit_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua,
                     FileIoCompletion* done) override;
  void submit_fdatasync(int fd, FileIoCompletion* done) override;
  void submit_fallocate(int fd, int mode, uint64_t offset, uint64_t length,
                        FileIoCompletion* done) override;

  bool sends_async() const override { return true; }
  void submit_send(int fd, const msghdr& msg, SendCompletion& done, bool peer_goes_on) override;
  void cancel_send(SendCompletion& done, bool detach) override;

  bool receives_direct() const override { return recv_ring_ != nullptr; }
  void receive_direct(WatchId id, DirectReceive& done) override;
  void cancel_receive_direct(DirectReceive& done, bool detach) override;

 protected:
  void poll_once(std::chrono::nanoseconds timeout) override;

 private:
  enum class OpKind : uint8_t { kRead, kWrite, kSync, kFallocate };
  struct FileOp {
    OpKind kind = OpKind::kRead;
    bool fua = false;
    int fd = -1;
    const iovec* iov = nullptr;  // the caller's, until a short transfer
    int iovcnt = 0;
    uint64_t offset = 0;
    uint64_t total = 0;
    uint64_t done_bytes = 0;
    FileIoCompletion* done = nullptr;
    std::vector<iovec> rest;  // what is left after a short transfer
    int mode = 0;             // kFallocate (its length is `total`)
  };

  struct SendOp {
    SendCompletion* done = nullptr;  // null: detached, the completion is dropped
    uint64_t epoch = 0;              // the loop iteration whose io_uring_enter submits it
  };

  // One direct receive: first waiting for the watch's multishot receive to end (not
  // `receiving`), then the RECVMSG in flight.
  static constexpr size_t kMaxDirectIov = 64;
  struct DirectOp {
    DirectReceive* done = nullptr;  // null: detached, the completion is dropped
    uint64_t watch = 0;
    int fd = -1;
    bool receiving = false;
    bool cancelled = false;
    size_t total = 0;
    size_t received = 0;
    size_t iovcnt = 0;
    std::array<iovec, kMaxDirectIov> iov{};  // what is left to fill
    msghdr msg{};
  };

  explicit UringReactor(unsigned id);
  bool init();
  io_uring_sqe* get_sqe();
  void arm_poll(uint64_t user_data, int fd, uint32_t events);
  bool init_recv_buffers();
  void arm_recv(uint64_t id, int fd);
  void handle_recv(uint64_t id, int32_t res, uint32_t flags);
  void handle_cqe(uint64_t user_data, int32_t res, uint32_t flags);
  void handle_poll(uint64_t id, int32_t res, uint32_t flags);
  void handle_file(FileOp* op, int32_t res);
  void start_file_op(FileOp* op);
  void finish_file_op(FileOp* op, int64_t result);
  FileOp* new_op();
  void handle_send(SendOp* op, int32_t res);
  DirectOp* take_pausing(uint64_t watch);
  void start_direct(DirectOp* op, int32_t recv_res);
  void submit_direct(DirectOp* op);
  void handle_direct(DirectOp* op, int32_t res);
  void finish_direct(DirectOp* op, int64_t result);

  io_uring ring_{};
  bool ring_ready_ = false;
  // Provided receive buffers (null when the kernel cannot: watch_stream then declines).
  io_uring_buf_ring* recv_ring_ = nullptr;
  uint8_t* recv_buffers_ = nullptr;
  std::vector<std::unique_ptr<FileOp>> ops_;
  std::vector<FileOp*> free_ops_;
  std::vector<std::unique_ptr<SendOp>> send_ops_;
  std::vector<SendOp*> free_send_ops_;
  std::vector<std::unique_ptr<DirectOp>> direct_ops_;
  std::vector<DirectOp*> free_direct_ops_;
  std::vector<DirectOp*> pausing_;  // waiting for their watch's multishot receive to end
  uint64_t epoch_ = 0;            // loop iterations (poll_once calls)
  unsigned expected_inline_ = 0;  // sends queued for the next enter expected to complete in it
};

}  // namespace stgt::reactor
