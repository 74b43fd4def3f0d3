// Reactor: one event loop on one thread, shared-nothing. Every connection, session and
// command lives on exactly one reactor; other threads reach it only through post().
//
// Backends (chosen at start, see reactor_group.h):
//   - io_uring: one ring carries socket readiness (multishot POLL_ADD), socket receives
//     (multishot RECV into a ring of provided buffers, see watch_stream), socket sends
//     (SENDMSG, see submit_send), receives straight into the caller's memory (RECVMSG, see
//     receive_direct), file I/O (READV/WRITEV/FSYNC) and the wake-up eventfd.
//   - epoll: readiness through epoll (edge-triggered); file I/O runs on a small blocking
//     thread pool whose completions are posted back to the reactor.
//
// Contracts, identical for both backends:
//   - fd readiness is edge-triggered: a handler is called when the fd may have become
//     readable/writable (or on error/hang-up) and must read/write until EAGAIN.
//   - Every callback (fd handler, file I/O completion, timer, posted function) runs on the
//     reactor's own thread, never inline inside the call that registered it.
//   - File I/O completions of one reactor may arrive in any order.
//   - A reactor never blocks except in its wait for events.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "base/buffer_pool.h"

namespace stgt::reactor {

enum class IoBackend { kUring, kEpoll };

std::string_view to_string(IoBackend b);

// Completion of one asynchronous send (Reactor::submit_send): `result` is the number of bytes
// sent, or -errno. Fewer bytes than asked for means the send stopped there (an error after a
// partial send, or a cancel); the caller continues from that byte or gives up. The object
// must stay alive until on_send has been called (or the send was detached by cancel_send).
class SendCompletion {
 public:
  virtual void on_send(int64_t result) = 0;
  // Between submit_send and on_send.
  bool send_in_flight() const { return op_ != nullptr; }

 protected:
  virtual ~SendCompletion() = default;

 private:
  friend class UringReactor;
  void* op_ = nullptr;  // the backend's record of the send in flight
  // Whether this socket's last send completed inside the io_uring_enter that submitted it
  // (the socket had room): the reactor then waits for one completion more (uring_reactor.h).
  bool last_send_inline_ = true;
};

// A receive straight into the caller's memory in place of a stream watch's own buffers
// (Reactor::receive_direct): for a large data segment, which then costs no copy out of the
// reactor's buffers. The object must stay alive until on_direct_receive has been called (or
// the receive was detached by cancel_receive_direct).
class DirectReceive {
 public:
  // The watch's own receive has stopped and every byte it took has gone to the StreamHandler
  // (which may have been called several times after receive_direct): where do the next
  // bytes go? Writes at most iov.size() iovecs and returns their count; 0 goes on with the
  // stream as before. Must not call back into the reactor.
  virtual size_t direct_target(std::span<iovec> iov) = 0;
  // `result`: the bytes now in the target, all that direct_target asked for (0 if it asked
  // for none), and the stream goes on; or -errno, and the stream is over (the StreamHandler
  // is not called again): -ECANCELED after cancel_receive_direct, -ENODATA when the peer's
  // FIN came before the target was full, else the receive's error.
  virtual void on_direct_receive(int64_t result) = 0;
  // Between receive_direct and on_direct_receive.
  bool direct_receive_pending() const { return op_ != nullptr; }

 protected:
  virtual ~DirectReceive() = default;

 private:
  friend class UringReactor;
  void* op_ = nullptr;  // the backend's record of the receive
};

// Readiness event bits passed to FdHandler.
inline constexpr uint32_t kReadable = 1;
inline constexpr uint32_t kWritable = 2;
inline constexpr uint32_t kHangup = 4;  // error or peer hang-up; the handler should close
// With kReadable: the peer has shut down its sending side (POLLRDHUP). The bytes before its
// FIN may still be queued, and no later readiness event need come: read until recv gives 0.
inline constexpr uint32_t kPeerClosed = 8;

using FdHandler = std::function<void(uint32_t events)>;

// Bytes received on a stream socket by the reactor (watch_stream). `data` is valid only
// during the call (it is the reactor's buffer, reused at once). An empty `data` ends the
// stream: error 0 is the peer's FIN, a negative error is -errno. Nothing follows the end.
using StreamHandler = std::function<void(std::span<const uint8_t> data, int error)>;

// Completion of one asynchronous file operation: result is bytes transferred or -errno.
// The object must stay alive until on_file_io is called.
class FileIoCompletion {
 public:
  virtual void on_file_io(int64_t result) = 0;

 protected:
  ~FileIoCompletion() = default;
};

// Work that runs once at the end of the current loop iteration, after every event of the
// batch (socket readiness, file completions, timers, posted functions) has been handled.
// A connection uses it to send all the responses one iteration produced with one sendmsg.
// Intrusive (no allocation); deferring an already queued object is a no-op. The object
// must stay alive until it has run or cancel_deferred() was called.
class Deferred {
 public:
  virtual void run_deferred() = 0;
  bool deferred_queued() const { return queued_; }

 protected:
  virtual ~Deferred() = default;

 private:
  friend class ReactorCore;
  bool queued_ = false;
};

struct WatchId {
  uint64_t value = 0;
  bool valid() const { return value != 0; }
};
struct TimerId {
  uint64_t value = 0;
  bool valid() const { return value != 0; }
};

class Reactor {
 public:
  virtual ~Reactor() = default;

  // Creates a reactor with the requested backend; returns nullptr if the backend cannot be
  // set up here (io_uring disabled or too old), so the caller can fall back.
  static std::unique_ptr<Reactor> create(IoBackend backend, unsigned id);

  unsigned id() const { return id_; }
  virtual IoBackend backend() const = 0;

  // The reactor whose thread is calling, or nullptr off reactor threads.
  static Reactor* current();

  // Runs the loop on the calling thread until stop(). Sets current().
  virtual void run() = 0;
  // Thread-safe: asks the loop to return after the callbacks now runnable.
  virtual void stop() = 0;

  // Thread-safe: runs fn on this reactor's thread, in post order per posting thread.
  virtual void post(std::function<void()> fn) = 0;

  // Readiness of a non-blocking fd (edge-triggered, see above). The reactor does not own
  // the fd; unwatch before closing it. Handlers for an unwatched fd are never called again.
  virtual WatchId watch_fd(int fd, uint32_t events, FdHandler handler) = 0;
  virtual void unwatch_fd(WatchId id) = 0;

  // Receives on a connected, non-blocking stream socket for the caller: the reactor reads
  // whatever arrives and calls `handler` with it, in order, so the caller makes no recv of
  // its own (io_uring: one multishot RECV into a ring of provided buffers, the bytes come
  // with the completion; no recv syscall and no readiness wake-up per read). Stop with
  // unwatch_fd(id) before closing the fd. Returns an invalid id when the backend cannot
  // (the epoll backend, or a kernel without multishot receive): watch readiness and recv.
  virtual WatchId watch_stream(int fd, StreamHandler handler) {
    (void)fd;
    (void)handler;
    return {};
  }

  // Whether receive_direct is available (io_uring with watch_stream).
  virtual bool receives_direct() const { return false; }

  // Stream watch `id` (watch_stream) receives its next bytes into memory the caller names
  // (done.direct_target) instead of the reactor's buffers, then goes on as before. Bytes
  // the reactor had already taken keep going to the StreamHandler first, in order; only
  // then does it ask for the target, so no byte is skipped, repeated or reordered. Costs
  // the watch's receive a stop and a restart, so worth it for large transfers only. One at
  // a time per watch; unwatch_fd does not end it: cancel_receive_direct (closing the fd
  // too). Only if receives_direct().
  virtual void receive_direct(WatchId id, DirectReceive& done) {
    (void)id;
    (void)done;
  }
  // Ends a direct receive early (its socket is being closed): on_direct_receive still
  // follows (-ECANCELED, or the result if it had completed), so wait for it before releasing
  // the target's memory. With `detach` (a completion object about to be destroyed while the
  // reactor has stopped) it never does; the kernel may then still write into the target
  // until the ring is torn down. No-op when no direct receive is pending.
  virtual void cancel_receive_direct(DirectReceive& done, bool detach) {
    (void)done;
    (void)detach;
  }

  // Whether submit_send is available (io_uring). Without it (epoll), the caller sends with
  // sendmsg itself and waits for writability when the socket is full.
  virtual bool sends_async() const { return false; }

  // Sends msg's bytes on a connected stream socket, asynchronously: on io_uring one
  // IORING_OP_SENDMSG (MSG_WAITALL: the kernel itself goes on after a partial send while
  // the socket fills; MSG_NOSIGNAL), which goes to the kernel with the loop's next wait, so
  // a response costs no syscall of its own. `msg`, its iovec array and every byte they point
  // at must stay valid and unchanged until done.on_send. One send per socket at a time:
  // two in flight on one socket may interleave their bytes. Only if sends_async().
  // `peer_goes_on`: the caller expects more input from the peer after this send, so the
  // loop need not wake for the send's completion alone (uring_reactor.h); false when the
  // completion itself unblocks something (a close after the send, a closed CmdSN window).
  virtual void submit_send(int fd, const msghdr& msg, SendCompletion& done, bool peer_goes_on) {
    (void)fd;
    (void)msg;
    (void)done;
    (void)peer_goes_on;
  }
  // Ends a send in flight early (its socket is being closed): it completes with -ECANCELED
  // or the bytes it had sent. on_send still follows, so wait for it before releasing the
  // buffers. With `detach`, on_send is never called (for a completion object about to be
  // destroyed while the reactor has stopped); the kernel may still read the buffers until
  // the ring is torn down. No-op when no send is in flight.
  virtual void cancel_send(SendCompletion& done, bool detach) {
    (void)done;
    (void)detach;
  }

  // Asynchronous file I/O at `offset`. iov must stay valid until completion.
  // `fua` makes the write durable before it completes (RWF_DSYNC).
  virtual void submit_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset,
                            FileIoCompletion* done) = 0;
  virtual void submit_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua,
                             FileIoCompletion* done) = 0;
  virtual void submit_fdatasync(int fd, FileIoCompletion* done) = 0;
  // fallocate(fd, mode, offset, length) off the reactor thread (io_uring: IORING_OP_FALLOCATE;
  // epoll: the file I/O pool). Completes with 0 or -errno. Used to deallocate (PUNCH_HOLE),
  // which on a block device is a discard that can take long.
  virtual void submit_fallocate(int fd, int mode, uint64_t offset, uint64_t length,
                                FileIoCompletion* done) = 0;

  // Runs d.run_deferred() at the end of this iteration (reactor thread only).
  virtual void defer(Deferred& d) = 0;
  virtual void cancel_deferred(Deferred& d) = 0;

  // Timers fire on this thread; a periodic timer re-arms until cancelled.
  virtual TimerId add_timer(std::chrono::milliseconds after, bool periodic,
                            std::function<void()> fn) = 0;
  virtual void cancel_timer(TimerId id) = 0;

  // This reactor's data buffers (not thread-safe; use only on this reactor's thread).
  base::BufferPool& buffers() { return buffers_; }

  // std::chrono::steady_clock in nanoseconds, read once per loop iteration right after the
  // wait for events returned and before they are dispatched: every handler of the batch may
  // take it instead of reading the clock itself (reactor thread only; 0 before the first
  // iteration).
  uint64_t loop_time_ns() const { return loop_time_ns_; }

 protected:
  explicit Reactor(unsigned id) : id_(id) {}
  static void set_current(Reactor* r);
  uint64_t loop_time_ns_ = 0;

 private:
  unsigned id_;
  base::BufferPool buffers_;
};

}  // namespace stgt::reactor
