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
// iteration together with the wait (io_uring_submit_and_wait_timeout). Short file
// transfers are resubmitted for the remainder, so a completion sees the full length,
// a shorter count only at end of file, or -errno. Per-operation state comes from a
// free list owned by the reactor (allocated once, reused): no allocation per operation
// in steady state.
//
// Thread: every member except post()/stop() runs on the reactor's thread.
#pragma once

#include <liburing.h>

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

 protected:
  void poll_once(std::chrono::nanoseconds timeout) override;

 private:
  enum class OpKind : uint8_t { kRead, kWrite, kSync };
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

  io_uring ring_{};
  bool ring_ready_ = false;
  // Provided receive buffers (null when the kernel cannot: watch_stream then declines).
  io_uring_buf_ring* recv_ring_ = nullptr;
  uint8_t* recv_buffers_ = nullptr;
  std::vector<std::unique_ptr<FileOp>> ops_;
  std::vector<FileOp*> free_ops_;
};

}  // namespace stgt::reactor
