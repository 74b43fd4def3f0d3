#include "reactor/uring_reactor.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/log.h"

namespace stgt::reactor {
namespace {

constexpr unsigned kRingEntries = 512;
constexpr unsigned kCqEntries = 4096;
constexpr unsigned kCqeBatch = 128;
constexpr unsigned kRecvBuffers = 64;  // a power of two (ring mask)
constexpr size_t kRecvBufferSize = 16 * 1024;
constexpr uint16_t kRecvGroup = 0;
constexpr size_t kRecvRingBytes = kRecvBuffers * sizeof(io_uring_buf);
constexpr size_t kRecvBufferBytes = kRecvBuffers * kRecvBufferSize;
// Sends counted into a wait (uring_reactor.h): at most this long is a wait then allowed to
// last, and only sends up to kInlineSendMax bytes are expected to complete inline.
constexpr std::chrono::nanoseconds kSendWaitCap = std::chrono::milliseconds(10);
constexpr uint64_t kInlineSendMax = 64 * 1024;

// user_data: an 8-bit tag above a 56-bit payload (a watch id or a FileOp pointer; user
// space pointers on Linux fit in 56 bits).
enum class Tag : uint64_t {
  kPoll = 1,
  kWakeup = 2,
  kFile = 3,
  kIgnore = 4,
  kRecv = 5,
  kSend = 6,
  kDirect = 7,
};
constexpr int kTagShift = 56;
constexpr uint64_t kPayloadMask = (uint64_t{1} << kTagShift) - 1;

constexpr uint64_t make_user_data(Tag tag, uint64_t payload) {
  return uint64_t(tag) << kTagShift | (payload & kPayloadMask);
}

unsigned poll_mask_for(uint32_t events) {
  unsigned mask = POLLERR | POLLHUP;
  if (events & kReadable) mask |= POLLIN | POLLRDHUP;
  if (events & kWritable) mask |= POLLOUT;
  return mask;
}

uint32_t events_from_poll(uint32_t mask) {
  uint32_t events = 0;
  if (mask & (POLLIN | POLLRDHUP | POLLPRI)) events |= kReadable;
  if (mask & POLLRDHUP) events |= kPeerClosed;
  if (mask & POLLOUT) events |= kWritable;
  if (mask & (POLLERR | POLLHUP)) events |= kHangup;
  return events;
}

// Multishot receive needs Linux 6.0 (provided buffer rings: 5.19). An older kernel fails
// the first receive with EINVAL, too late to fall back, so ask uname.
bool kernel_has_multishot_recv() {
  utsname u{};
  if (::uname(&u) != 0) return false;
  unsigned major = 0;
  if (std::sscanf(u.release, "%u.", &major) != 1) return false;
  return major >= 6;
}

uint64_t iov_total(const iovec* iov, int n) {
  uint64_t total = 0;
  for (int i = 0; i < n; ++i)
    total += iov[i].iov_len;
  return total;
}

}  // namespace

UringReactor::UringReactor(unsigned id) : ReactorCore(id) {}

UringReactor::~UringReactor() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (recv_ring_ != nullptr) ::munmap(recv_ring_, kRecvRingBytes);
  if (recv_buffers_ != nullptr) ::munmap(recv_buffers_, kRecvBufferBytes);
}

std::unique_ptr<UringReactor> UringReactor::create(unsigned id) {
  std::unique_ptr<UringReactor> r(new UringReactor(id));
  if (!r->init()) return nullptr;
  return r;
}

bool UringReactor::init() {
  if (!init_wakeup()) return false;
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
  if (rc == -EINVAL) {  // kernels before 5.19 lack COOP_TASKRUN
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCqEntries;
    rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
  }
  if (rc < 0) {
    STGT_LOG_WARN("io_uring setup failed: {}", std::strerror(-rc));
    return false;
  }
  ring_ready_ = true;
  if (!(params.features & IORING_FEAT_EXT_ARG)) {
    // Needed for waiting with a timeout without consuming an SQE (Linux 5.11).
    STGT_LOG_WARN("io_uring lacks IORING_FEAT_EXT_ARG; not using it");
    return false;
  }
  arm_poll(make_user_data(Tag::kWakeup, 0), wakeup_fd(), kReadable);
  if (!init_recv_buffers()) STGT_LOG_DEBUG("io_uring: no multishot receive; polling sockets");
  return io_uring_submit(&ring_) >= 0;
}

bool UringReactor::init_recv_buffers() {
  if (!kernel_has_multishot_recv()) return false;
  void* ring =
      ::mmap(nullptr, kRecvRingBytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring == MAP_FAILED) return false;
  // Anonymous memory: pages become resident only once the kernel has received into them.
  void* buffers =
      ::mmap(nullptr, kRecvBufferBytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (buffers == MAP_FAILED) {
    ::munmap(ring, kRecvRingBytes);
    return false;
  }
  auto* br = static_cast<io_uring_buf_ring*>(ring);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(ring);
  reg.ring_entries = kRecvBuffers;
  reg.bgid = kRecvGroup;
  if (io_uring_register_buf_ring(&ring_, &reg, 0) < 0) {
    ::munmap(ring, kRecvRingBytes);
    ::munmap(buffers, kRecvBufferBytes);
    return false;
  }
  recv_ring_ = br;
  recv_buffers_ = static_cast<uint8_t*>(buffers);
  const int mask = io_uring_buf_ring_mask(kRecvBuffers);
  for (unsigned i = 0; i < kRecvBuffers; ++i) {
    io_uring_buf_ring_add(br, recv_buffers_ + size_t(i) * kRecvBufferSize, kRecvBufferSize,
                          uint16_t(i), mask, int(i));
  }
  io_uring_buf_ring_advance(br, int(kRecvBuffers));
  return true;
}

io_uring_sqe* UringReactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  for (int attempt = 0; sqe == nullptr && attempt < 8; ++attempt) {
    io_uring_submit(&ring_);  // SQ full: flush it early
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringReactor::arm_poll(uint64_t user_data, int fd, uint32_t events) {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    STGT_LOG_ERROR("io_uring submission queue stuck; fd {} not armed", fd);
    return;
  }
  io_uring_prep_poll_multishot(sqe, fd, poll_mask_for(events));
  io_uring_sqe_set_data64(sqe, user_data);
}

WatchId UringReactor::watch_fd(int fd, uint32_t events, FdHandler handler) {
  const WatchId id = add_watch(fd, events, std::move(handler));
  arm_poll(make_user_data(Tag::kPoll, id.value), fd, events);
  return id;
}

WatchId UringReactor::watch_stream(int fd, StreamHandler handler) {
  if (recv_ring_ == nullptr) return {};
  const WatchId id = add_stream_watch(fd, std::move(handler));
  arm_recv(id.value, fd);
  return id;
}

void UringReactor::arm_recv(uint64_t id, int fd) {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    STGT_LOG_ERROR("io_uring submission queue stuck; fd {} not armed", fd);
    return;
  }
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kRecvGroup;
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kRecv, id));
}

// Direct receives (receive_direct) keep the stream's byte order because of what the
// kernel guarantees about one multishot request: it posts its completions in the order it
// received their bytes, each carrying its bytes, and the one without IORING_CQE_F_MORE is
// its last (io_uring_prep_recv_multishot(3)); it receives nothing after posting it. The
// RECVMSG is submitted only once that last completion has been handled here, after every
// earlier one (poll_once dispatches a watch's completions in CQ order). From then until the
// re-arm nothing else receives on the socket, so the RECVMSG takes exactly the bytes that
// follow the last one the StreamHandler saw. Completions posted after the pause was asked
// for, before the cancel took effect, are simply handed to the StreamHandler like any
// other; the caller asks for its target only afterwards (direct_target). The cancel may
// find no request: the multishot receive ended by itself (ENOBUFS, a completion without
// F_MORE) and its last completion is still to come, or is being handled right now (the
// pause was asked for from its handler: see the check below). It cannot hit a later re-arm
// of the watch: SQEs are issued in order, and the re-arm follows the RECVMSG's completion,
// which follows the cancel's submission.
void UringReactor::handle_recv(uint64_t id, int32_t res, uint32_t flags) {
  if (flags & IORING_CQE_F_BUFFER) {
    const auto bid = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* buf = recv_buffers_ + size_t(bid) * kRecvBufferSize;
    // The buffer is the handler's only during the call; then it goes back to the ring.
    if (res > 0) dispatch_stream(id, {buf, size_t(res)}, 0);
    io_uring_buf_ring_add(recv_ring_, buf, kRecvBufferSize, bid,
                          io_uring_buf_ring_mask(kRecvBuffers), 0);
    io_uring_buf_ring_advance(recv_ring_, 1);
  }
  if (flags & IORING_CQE_F_MORE) return;
  // The multishot receive has ended.
  if (DirectOp* op = take_pausing(id)) {
    start_direct(op, res);
    return;
  }
  if (res > 0 || res == -ENOBUFS) {
    // The kernel ended the multishot receive (ring ran dry, CQ overflow): re-arm; what it
    // did not take waits in the socket.
    if (Watch* w = find_watch(id)) arm_recv(id, w->fd);
    return;
  }
  if (res == -ECANCELED) return;  // unwatched
  dispatch_stream(id, {}, res);   // 0: the peer's FIN; else -errno
}

void UringReactor::receive_direct(WatchId id, DirectReceive& done) {
  DirectOp* op = nullptr;
  if (free_direct_ops_.empty()) {
    direct_ops_.push_back(std::make_unique<DirectOp>());
    op = direct_ops_.back().get();
  } else {
    op = free_direct_ops_.back();
    free_direct_ops_.pop_back();
  }
  *op = DirectOp{};
  op->done = &done;
  op->watch = id.value;
  done.op_ = op;
  const Watch* w = find_watch(id.value);
  io_uring_sqe* sqe = w != nullptr && w->stream ? get_sqe() : nullptr;
  if (sqe == nullptr) {
    // Completions never run inside the requesting call: report the failure by post.
    const int error = w == nullptr ? -EBADF : -EBUSY;
    post([this, op, error] { finish_direct(op, error); });
    return;
  }
  op->fd = w->fd;
  pausing_.push_back(op);
  io_uring_prep_cancel64(sqe, make_user_data(Tag::kRecv, id.value), 0);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kIgnore, 0));
  // A successful cancel posts nothing: its completion would end the loop's wait at once,
  // before the multishot receive's last completion (posted by task work a moment later)
  // is in, and the RECVMSG would wait a whole iteration more.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

UringReactor::DirectOp* UringReactor::take_pausing(uint64_t watch) {
  for (size_t i = 0; i < pausing_.size(); ++i) {
    DirectOp* op = pausing_[i];
    if (op->watch != watch) continue;
    pausing_[i] = pausing_.back();
    pausing_.pop_back();
    return op;
  }
  return nullptr;
}

// The watch's multishot receive has ended with `recv_res` (its last bytes, if any, already
// dispatched): receive into the target, unless the stream ended too.
void UringReactor::start_direct(DirectOp* op, int32_t recv_res) {
  if (recv_res == 0 || (recv_res < 0 && recv_res != -ECANCELED && recv_res != -ENOBUFS)) {
    finish_direct(op, recv_res == 0 ? -ENODATA : recv_res);
    return;
  }
  const Watch* w = find_watch(op->watch);
  if (op->cancelled || op->done == nullptr || w == nullptr) {
    finish_direct(op, -ECANCELED);
    return;
  }
  op->iovcnt = op->done->direct_target({op->iov.data(), op->iov.size()});
  op->total = iov_total(op->iov.data(), int(op->iovcnt));
  if (op->total == 0) {
    arm_recv(op->watch, w->fd);
    finish_direct(op, 0);
    return;
  }
  op->receiving = true;
  submit_direct(op);
}

void UringReactor::submit_direct(DirectOp* op) {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    post([this, op] { finish_direct(op, -EBUSY); });
    return;
  }
  op->msg = msghdr{};
  op->msg.msg_iov = op->iov.data();
  op->msg.msg_iovlen = op->iovcnt;
  // MSG_WAITALL: the kernel itself goes on after a partial receive (io_uring retries a
  // short stream receive); handle_direct still resubmits the rest should one come back.
  io_uring_prep_recvmsg(sqe, op->fd, &op->msg, MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kDirect, reinterpret_cast<uintptr_t>(op)));
}

void UringReactor::handle_direct(DirectOp* op, int32_t res) {
  if (res == -EAGAIN || res == -EINTR) {
    if (op->cancelled) {
      finish_direct(op, -ECANCELED);
    } else {
      submit_direct(op);
    }
    return;
  }
  if (res < 0) {
    finish_direct(op, res);
    return;
  }
  op->received += size_t(res);
  if (op->received < op->total && (res == 0 || op->cancelled)) {
    finish_direct(op, op->cancelled ? -ECANCELED : -ENODATA);  // 0: the peer's FIN
    return;
  }
  if (op->received < op->total) {
    // Short receive: what is left of the target, in place.
    size_t skip = size_t(res);
    size_t first = 0;
    while (skip >= op->iov[first].iov_len)
      skip -= op->iov[first++].iov_len;
    op->iovcnt -= first;
    std::copy_n(op->iov.begin() + first, op->iovcnt, op->iov.begin());
    op->iov[0].iov_base = static_cast<uint8_t*>(op->iov[0].iov_base) + skip;
    op->iov[0].iov_len -= skip;
    submit_direct(op);
    return;
  }
  const Watch* w = find_watch(op->watch);
  if (op->cancelled || w == nullptr) {
    finish_direct(op, -ECANCELED);
    return;
  }
  arm_recv(op->watch, w->fd);
  finish_direct(op, int64_t(op->total));
}

void UringReactor::finish_direct(DirectOp* op, int64_t result) {
  DirectReceive* done = op->done;
  op->done = nullptr;
  free_direct_ops_.push_back(op);
  if (done == nullptr) return;  // detached
  done->op_ = nullptr;
  done->on_direct_receive(result);
}

void UringReactor::cancel_receive_direct(DirectReceive& done, bool detach) {
  auto* op = static_cast<DirectOp*>(done.op_);
  if (op == nullptr) return;
  op->cancelled = true;
  if (detach) {
    op->done = nullptr;  // the op returns to the free list when it ends
    done.op_ = nullptr;
  }
  // Still waiting for the multishot receive to end: its last completion finishes the op
  // (the caller unwatches the stream, which cancels it).
  if (!op->receiving) return;
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) return;  // the caller shut the socket down too, which ends the receive
  io_uring_prep_cancel64(sqe, make_user_data(Tag::kDirect, reinterpret_cast<uintptr_t>(op)), 0);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kIgnore, 0));
}

void UringReactor::unwatch_fd(WatchId id) {
  Watch* w = remove_watch(id.value);
  if (w == nullptr) return;
  const bool w_stream = static_cast<bool>(w->stream);
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) return;  // a stale CQE is dropped by its generation anyway
  // An async cancel, not IORING_OP_POLL_REMOVE: a poll remove fails (-EALREADY) while a
  // wake-up of the poll is being handled in the kernel (its task work pending; with
  // COOP_TASKRUN, until this thread next leaves a syscall), and the multishot poll then
  // stays armed for good, holding its reference to the file: a closed socket was never
  // released and sat in CLOSE-WAIT after the peer's FIN (seen after logouts under
  // MultipathIO, and as sockets that never sent FIN or RST by tests/faults/hostile_soak_test.cc).
  // A cancel marks such a poll cancelled and its task work ends it.
  // Every op of the watch (a poll or a multishot receive) carries the id in its user_data;
  // IORING_ASYNC_CANCEL_ANY is not used: a watch has exactly one op armed.
  const Tag tag = w_stream ? Tag::kRecv : Tag::kPoll;
  io_uring_prep_cancel64(sqe, make_user_data(tag, id.value), 0);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kIgnore, 0));
  // The poll holds a reference to the file: submit now so that the caller's close() of
  // the fd takes effect (e.g. sends FIN) without waiting for the next iteration.
  io_uring_submit(&ring_);
}

void UringReactor::submit_send(int fd, const msghdr& msg, SendCompletion& done, bool peer_goes_on) {
  SendOp* op = nullptr;
  if (free_send_ops_.empty()) {
    send_ops_.push_back(std::make_unique<SendOp>());
    op = send_ops_.back().get();
  } else {
    op = free_send_ops_.back();
    free_send_ops_.pop_back();
  }
  op->done = &done;
  op->epoch = epoch_ + 1;  // poll_once increments epoch_ before the enter that submits it
  done.op_ = op;
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    // Completions never run inside the submitting call: report the failure by post.
    post([this, op] { handle_send(op, -EBUSY); });
    return;
  }
  io_uring_prep_sendmsg(sqe, fd, &msg, MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kSend, reinterpret_cast<uintptr_t>(op)));
  if (peer_goes_on && done.last_send_inline_ &&
      iov_total(msg.msg_iov, int(msg.msg_iovlen)) <= kInlineSendMax) {
    ++expected_inline_;
  }
}

void UringReactor::cancel_send(SendCompletion& done, bool detach) {
  auto* op = static_cast<SendOp*>(done.op_);
  if (op == nullptr) return;
  if (detach) {
    op->done = nullptr;  // the op returns to the free list when its completion comes
    done.op_ = nullptr;
  }
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) return;  // the caller shut the socket down too, which ends the send
  io_uring_prep_cancel64(sqe, make_user_data(Tag::kSend, reinterpret_cast<uintptr_t>(op)), 0);
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kIgnore, 0));
}

void UringReactor::handle_send(SendOp* op, int32_t res) {
  SendCompletion* done = op->done;
  const bool completed_inline = op->epoch == epoch_;
  op->done = nullptr;
  free_send_ops_.push_back(op);
  if (done == nullptr) return;  // detached
  done->op_ = nullptr;
  done->last_send_inline_ = completed_inline;
  done->on_send(res);
}

UringReactor::FileOp* UringReactor::new_op() {
  if (free_ops_.empty()) {
    ops_.push_back(std::make_unique<FileOp>());
    return ops_.back().get();
  }
  FileOp* op = free_ops_.back();
  free_ops_.pop_back();
  return op;
}

void UringReactor::submit_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset,
                                FileIoCompletion* done) {
  FileOp* op = new_op();
  *op = FileOp{OpKind::kRead,      false, fd, iov, iovcnt, offset, iov_total(iov, iovcnt), 0, done,
               std::move(op->rest)};
  start_file_op(op);
}

void UringReactor::submit_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua,
                                 FileIoCompletion* done) {
  FileOp* op = new_op();
  *op = FileOp{OpKind::kWrite,     fua, fd, iov, iovcnt, offset, iov_total(iov, iovcnt), 0, done,
               std::move(op->rest)};
  start_file_op(op);
}

void UringReactor::submit_fdatasync(int fd, FileIoCompletion* done) {
  FileOp* op = new_op();
  *op = FileOp{OpKind::kSync, false, fd, nullptr, 0, 0, 0, 0, done, std::move(op->rest)};
  start_file_op(op);
}

void UringReactor::submit_fallocate(int fd, int mode, uint64_t offset, uint64_t length,
                                    FileIoCompletion* done) {
  FileOp* op = new_op();
  *op = FileOp{OpKind::kFallocate, false, fd, nullptr, 0, offset, length, 0, done,
               std::move(op->rest), mode};
  start_file_op(op);
}

void UringReactor::start_file_op(FileOp* op) {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {
    // Completions never run inside the submitting call: report the failure by post.
    post([this, op] { finish_file_op(op, -EBUSY); });
    return;
  }
  const uint64_t offset = op->offset + op->done_bytes;
  switch (op->kind) {
    case OpKind::kRead:
      io_uring_prep_readv(sqe, op->fd, op->iov, unsigned(op->iovcnt), offset);
      break;
    case OpKind::kWrite:
      io_uring_prep_writev(sqe, op->fd, op->iov, unsigned(op->iovcnt), offset);
      if (op->fua) sqe->rw_flags = RWF_DSYNC;
      break;
    case OpKind::kSync:
      io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
      break;
    case OpKind::kFallocate:
      io_uring_prep_fallocate(sqe, op->fd, op->mode, op->offset, op->total);
      break;
  }
  io_uring_sqe_set_data64(sqe, make_user_data(Tag::kFile, reinterpret_cast<uintptr_t>(op)));
}

void UringReactor::finish_file_op(FileOp* op, int64_t result) {
  FileIoCompletion* done = op->done;
  op->rest.clear();  // keeps capacity for the next short transfer
  free_ops_.push_back(op);
  done->on_file_io(result);
}

void UringReactor::handle_file(FileOp* op, int32_t res) {
  if (res == -EAGAIN || res == -EINTR) {
    start_file_op(op);
    return;
  }
  if (res < 0 || op->kind == OpKind::kSync || op->kind == OpKind::kFallocate) {
    finish_file_op(op, res);
    return;
  }
  op->done_bytes += uint64_t(res);
  if (op->done_bytes >= op->total || res == 0) {  // 0: end of file
    finish_file_op(op, int64_t(op->done_bytes));
    return;
  }
  // Short transfer (rare: signals, some file systems): resubmit the remainder, described
  // in op->rest. op->iov may point into op->rest, so build the new list separately.
  std::vector<iovec> next;
  next.reserve(size_t(op->iovcnt));
  size_t skip = size_t(res);
  for (int i = 0; i < op->iovcnt; ++i) {
    const iovec& v = op->iov[i];
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    next.push_back(iovec{static_cast<uint8_t*>(v.iov_base) + skip, v.iov_len - skip});
    skip = 0;
  }
  op->rest = std::move(next);
  op->iov = op->rest.data();
  op->iovcnt = int(op->rest.size());
  start_file_op(op);
}

void UringReactor::handle_poll(uint64_t id, int32_t res, uint32_t flags) {
  if (find_watch(id) == nullptr) return;  // unwatched: stale event
  if (res >= 0) {
    dispatch(id, events_from_poll(uint32_t(res)));
  } else if (res != -ECANCELED) {
    dispatch(id, kHangup);
  }
  // The kernel ended the multishot poll (overflow, error, ...): re-arm. The new poll
  // reports the current readiness at once, so no edge is lost.
  if (!(flags & IORING_CQE_F_MORE)) {
    if (Watch* w = find_watch(id)) {
      arm_poll(make_user_data(Tag::kPoll, id), w->fd, w->events);
    }
  }
}

void UringReactor::handle_cqe(uint64_t user_data, int32_t res, uint32_t flags) {
  const uint64_t payload = user_data & kPayloadMask;
  switch (Tag(user_data >> kTagShift)) {
    case Tag::kPoll:
      handle_poll(payload, res, flags);
      return;
    case Tag::kWakeup:
      drain_wakeup();
      if (!(flags & IORING_CQE_F_MORE)) arm_poll(user_data, wakeup_fd(), kReadable);
      return;
    case Tag::kFile:
      handle_file(reinterpret_cast<FileOp*>(payload), res);
      return;
    case Tag::kRecv:
      handle_recv(payload, res, flags);
      return;
    case Tag::kSend:
      handle_send(reinterpret_cast<SendOp*>(payload), res);
      return;
    case Tag::kDirect:
      handle_direct(reinterpret_cast<DirectOp*>(payload), res);
      return;
    case Tag::kIgnore:
      return;
  }
}

void UringReactor::poll_once(std::chrono::nanoseconds timeout) {
  io_uring_cqe* cqe = nullptr;
  ++epoch_;
  // Sends expected to complete inside this enter count into the wait (uring_reactor.h); the
  // cap bounds what a wrong guess costs.
  const unsigned expected = expected_inline_;
  expected_inline_ = 0;
  if (expected > 0 && (timeout.count() < 0 || timeout > kSendWaitCap)) timeout = kSendWaitCap;
  if (timeout.count() == 0) {
    io_uring_submit(&ring_);
  } else if (timeout.count() < 0) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout.count() / 1'000'000'000;
    ts.tv_nsec = timeout.count() % 1'000'000'000;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1 + expected, &ts, nullptr);
  }
  stamp_loop_time();
  // Copy a batch out and advance the ring before dispatching, so callbacks may queue
  // (and, when the SQ fills, submit) new work freely.
  struct Entry {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
  };
  std::array<io_uring_cqe*, kCqeBatch> cqes;
  std::array<Entry, kCqeBatch> batch;
  for (;;) {
    const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes.data(), kCqeBatch);
    if (n == 0) return;
    for (unsigned i = 0; i < n; ++i) {
      batch[i] = Entry{cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    }
    io_uring_cq_advance(&ring_, n);
    // Send completions first: they only release what was sent, and a connection that then
    // has no send in flight may send at once (a protocol error's Reject, a logout).
    for (unsigned i = 0; i < n; ++i) {
      if (Tag(batch[i].user_data >> kTagShift) == Tag::kSend) {
        handle_cqe(batch[i].user_data, batch[i].res, batch[i].flags);
      }
    }
    for (unsigned i = 0; i < n; ++i) {
      if (Tag(batch[i].user_data >> kTagShift) != Tag::kSend) {
        handle_cqe(batch[i].user_data, batch[i].res, batch[i].flags);
      }
    }
    if (n < kCqeBatch) return;
  }
}

}  // namespace stgt::reactor
