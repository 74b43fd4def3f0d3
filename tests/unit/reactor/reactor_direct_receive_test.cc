// Reactor::receive_direct contract tests, run under both backends (epoll declines).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "reactor/reactor.h"

namespace stgt::reactor {
namespace {

using namespace std::chrono_literals;

class DirectReceiveTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    reactor_ = Reactor::create(GetParam(), 3);
    ASSERT_NE(reactor_, nullptr);
    thread_ = std::thread([this] { reactor_->run(); });
    new_sockets();
  }
  // A fresh connected pair: a_ for the reactor, b_ the peer.
  void new_sockets() {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    a_.reset(fds[0]);
    b_.reset(fds[1]);
    int big = 4 << 20;
    ASSERT_EQ(::setsockopt(b_.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big), 0);
    ASSERT_EQ(::setsockopt(a_.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
  }
  void TearDown() override {
    if (reactor_ == nullptr) return;
    reactor_->stop();
    thread_.join();
  }

  void on_reactor(const std::function<void()>& fn) {
    std::promise<void> p;
    reactor_->post([&] {
      fn();
      p.set_value();
    });
    p.get_future().wait();
  }

  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = false;
      on_reactor([&] { ok = pred(); });
      if (ok) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  bool receives_direct() {
    bool yes = false;
    on_reactor([&] { yes = reactor_->receives_direct(); });
    return yes;
  }

  // Writes all of `data` to the peer end, waiting for room (the reactor drains it).
  void send_all(std::string_view data) {
    size_t off = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (off < data.size() && std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::write(b_.get(), data.data() + off, data.size() - off);
      if (n > 0) {
        off += size_t(n);
      } else {
        std::this_thread::sleep_for(100us);
      }
    }
    ASSERT_EQ(off, data.size());
  }

  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
  base::UniqueFd a_;
  base::UniqueFd b_;
};

std::string pattern_of(size_t n, int seed) {
  std::string p(n, '\0');
  for (size_t i = 0; i < n; ++i)
    p[i] = char((i * 31 + i / 251 + size_t(seed)) & 0xff);
  return p;
}

// A consumer like a protocol parser: frames of `prefix` stream bytes, a `block` of data it
// wants received directly (when direct is on), and `suffix` stream bytes. Everything lands
// in `out` at its stream offset, whichever way it came, so out == what was sent proves that
// nothing was skipped, duplicated or reordered.
class Consumer final : public DirectReceive {
 public:
  Consumer(Reactor& r, size_t prefix, size_t block, size_t suffix, size_t frames)
      : r_(r), prefix_(prefix), block_(block), suffix_(suffix) {
    out.resize((prefix + block + suffix) * frames);
  }

  void watch(int fd) {
    id = r_.watch_stream(
        fd, [this](std::span<const uint8_t> data, int error) { on_stream(data, error); });
  }

  void on_stream(std::span<const uint8_t> data, int error) {
    EXPECT_FALSE(ended) << "nothing may follow the end of a stream";
    EXPECT_EQ(Reactor::current(), &r_);
    if (data.empty()) {
      ended = true;
      end_error = error;
      return;
    }
    ASSERT_LE(cursor + data.size(), out.size());
    std::copy(data.begin(), data.end(), out.begin() + ptrdiff_t(cursor));
    cursor += data.size();
    stream_bytes += data.size();
    maybe_go_direct();
  }

  // Within a block with at least `min_direct` of it still to come: ask for it.
  void maybe_go_direct() {
    if (!direct || direct_receive_pending() || block_ == 0) return;
    if (block_left() >= min_direct) {
      ++requests;
      r_.receive_direct(id, *this);
    }
  }

  size_t block_left() const {
    const size_t frame = prefix_ + block_ + suffix_;
    if (cursor >= out.size()) return 0;
    const size_t in_frame = cursor % frame;
    if (in_frame < prefix_ || in_frame >= prefix_ + block_) return 0;
    return prefix_ + block_ - in_frame;
  }

  size_t direct_target(std::span<iovec> iov) override {
    ++targets_asked;
    EXPECT_FALSE(cancelled_target) << "asked for a target after a cancel";
    const size_t left = block_left();
    if (left == 0) return 0;
    // Three unequal pieces, to check the iovec walk after short receives.
    const size_t pieces[3] = {left / 3 + 1, left / 2, left};
    size_t n = 0;
    size_t at = 0;
    for (const size_t end : pieces) {
      const size_t stop = std::min(end, left);
      if (stop <= at || n == iov.size()) continue;
      iov[n++] = iovec{out.data() + cursor + at, stop - at};
      at = stop;
    }
    asked = at;
    return n;
  }

  void on_direct_receive(int64_t result) override {
    EXPECT_EQ(Reactor::current(), &r_);
    results.push_back(result);
    if (result < 0) return;
    EXPECT_EQ(size_t(result), asked);
    cursor += size_t(result);
    direct_bytes += size_t(result);
    asked = 0;
    maybe_go_direct();
  }

  Reactor& r_;
  size_t prefix_;
  size_t block_;
  size_t suffix_;
  WatchId id;
  std::string out;
  size_t cursor = 0;
  size_t asked = 0;
  size_t stream_bytes = 0;
  size_t direct_bytes = 0;
  size_t min_direct = 16 * 1024;
  size_t requests = 0;
  size_t targets_asked = 0;
  bool direct = true;
  bool ended = false;
  bool cancelled_target = false;
  int end_error = 1;
  std::vector<int64_t> results;
};

TEST_P(DirectReceiveTest, OnlyIoUringReceivesDirectly) {
  if (GetParam() == IoBackend::kEpoll) {
    EXPECT_FALSE(receives_direct());
  }
}

// The peer's bytes arrive after the pause took effect: the whole rest of each block goes
// straight into the target, the prefix and suffix through the stream, in order.
TEST_P(DirectReceiveTest, BlockArrivingAfterThePauseGoesDirect) {
  if (!receives_direct()) return;
  constexpr size_t kPrefix = 48;
  constexpr size_t kBlock = 128 * 1024;
  constexpr size_t kSuffix = 4;
  constexpr size_t kFrames = 8;
  Consumer c(*reactor_, kPrefix, kBlock, kSuffix, kFrames);
  on_reactor([&] { c.watch(a_.get()); });
  const std::string sent = pattern_of(c.out.size(), 1);
  const size_t frame = kPrefix + kBlock + kSuffix;
  for (size_t f = 0; f < kFrames; ++f) {
    const size_t at = f * frame;
    send_all(std::string_view(sent).substr(at, kPrefix));
    ASSERT_TRUE(eventually([&] { return c.cursor == at + kPrefix && c.targets_asked == f + 1; }));
    send_all(std::string_view(sent).substr(at + kPrefix, kBlock + kSuffix));
    ASSERT_TRUE(eventually([&] { return c.cursor == at + frame; })) << "frame " << f;
  }
  on_reactor([&] {
    EXPECT_TRUE(c.out == sent);
    EXPECT_EQ(c.direct_bytes, kFrames * kBlock);
    EXPECT_EQ(c.stream_bytes, kFrames * (kPrefix + kSuffix));
    EXPECT_EQ(c.results, std::vector<int64_t>(kFrames, int64_t(kBlock)));
    reactor_->unwatch_fd(c.id);
  });
}

// Everything is written at once: the multishot receive has taken (and posted) more of a
// block, and often of the frames after it, when the pause is asked for. Those bytes still
// come first, through the stream; the target is asked for only then.
TEST_P(DirectReceiveTest, BytesTakenBeforeThePauseComeFirst) {
  if (!receives_direct()) return;
  for (const size_t block : {size_t(20 * 1024), size_t(128 * 1024), size_t(1 << 20)}) {
    Consumer c(*reactor_, 48 + 4, block, 4, 24);
    on_reactor([&] { c.watch(a_.get()); });
    const std::string sent = pattern_of(c.out.size(), int(block));
    std::thread writer([&] { send_all(sent); });
    writer.join();
    ASSERT_TRUE(eventually([&] { return c.cursor == c.out.size(); })) << block;
    on_reactor([&] {
      EXPECT_TRUE(c.out == sent) << block;
      EXPECT_GT(c.requests, 0u);
      EXPECT_EQ(c.results.size(), c.requests);
      for (const int64_t r : c.results)
        EXPECT_GE(r, 0);
      EXPECT_FALSE(c.direct_receive_pending());
      reactor_->unwatch_fd(c.id);
    });
  }
}

// The block trickles in: the receive completes only once the whole target is full, and
// the stream goes on after it.
TEST_P(DirectReceiveTest, PartialReceivesFillTheWholeTarget) {
  if (!receives_direct()) return;
  constexpr size_t kBlock = 256 * 1024;
  Consumer c(*reactor_, 48, kBlock, 4, 2);
  on_reactor([&] { c.watch(a_.get()); });
  const std::string sent = pattern_of(c.out.size(), 7);
  std::thread writer([&] {
    for (size_t off = 0; off < sent.size(); off += 7000) {
      send_all(std::string_view(sent).substr(off, std::min<size_t>(7000, sent.size() - off)));
      std::this_thread::sleep_for(200us);
    }
  });
  writer.join();
  ASSERT_TRUE(eventually([&] { return c.cursor == c.out.size(); }));
  on_reactor([&] {
    EXPECT_TRUE(c.out == sent);
    EXPECT_GT(c.direct_bytes, 0u);
    for (const int64_t r : c.results)
      EXPECT_GE(r, 0);
    reactor_->unwatch_fd(c.id);
  });
}

// A target of nothing (the consumer no longer needs one) resumes the stream.
TEST_P(DirectReceiveTest, EmptyTargetResumesTheStream) {
  if (!receives_direct()) return;
  Consumer c(*reactor_, 0, 0, 64 * 1024, 1);
  on_reactor([&] {
    c.watch(a_.get());
    reactor_->receive_direct(c.id, c);
  });
  ASSERT_TRUE(eventually([&] { return !c.results.empty(); }));
  const std::string sent = pattern_of(c.out.size(), 9);
  send_all(sent);
  ASSERT_TRUE(eventually([&] { return c.cursor == c.out.size(); }));
  on_reactor([&] {
    EXPECT_EQ(c.results, std::vector<int64_t>{0});
    EXPECT_TRUE(c.out == sent);
    reactor_->unwatch_fd(c.id);
  });
}

// close() with a direct receive pending, in either phase (still pausing; the RECVMSG in
// flight, with or without the socket's shutdown): the completion comes, once, with
// -ECANCELED, and nothing reaches the consumer after it.
TEST_P(DirectReceiveTest, CancelStillCompletesOnce) {
  if (!receives_direct()) return;
  for (const int phase : {0, 1, 2}) {
    new_sockets();
    Consumer c(*reactor_, 16, 64 * 1024, 0, 1);
    c.direct = phase != 0;
    on_reactor([&] { c.watch(a_.get()); });
    const std::string sent = pattern_of(c.out.size(), phase);
    send_all(std::string_view(sent).substr(0, 16 + 100));
    if (phase == 0) {
      // Cancelled in the same iteration that asked: the pause has not taken effect.
      ASSERT_TRUE(eventually([&] { return c.cursor == 16 + 100; }));
      on_reactor([&] {
        reactor_->receive_direct(c.id, c);
        c.cancelled_target = true;
        reactor_->cancel_receive_direct(c, false);
        reactor_->unwatch_fd(c.id);
      });
    } else {
      ASSERT_TRUE(eventually([&] { return c.targets_asked == 1; }));
      on_reactor([&] {
        EXPECT_TRUE(c.direct_receive_pending());
        reactor_->unwatch_fd(c.id);
        if (phase == 2) ::shutdown(a_.get(), SHUT_RDWR);
        reactor_->cancel_receive_direct(c, false);
        EXPECT_TRUE(c.direct_receive_pending()) << "the completion comes later, not inline";
      });
    }
    ASSERT_TRUE(eventually([&] { return !c.results.empty(); })) << "phase " << phase;
    std::this_thread::sleep_for(20ms);
    on_reactor([&] {
      EXPECT_EQ(c.results, std::vector<int64_t>{-ECANCELED}) << "phase " << phase;
      EXPECT_FALSE(c.direct_receive_pending());
      EXPECT_FALSE(c.ended);
      reactor_->cancel_receive_direct(c, false);  // nothing pending: a no-op
    });
  }
}

// The peer closes half-way through the block: the direct receive reports -ENODATA, and the
// stream reports nothing more (the end went to the direct receive).
TEST_P(DirectReceiveTest, PeerClosingMidReceiveEndsIt) {
  if (!receives_direct()) return;
  for (const bool before_target : {false, true}) {
    new_sockets();
    // Before the target: no prefix, so a target is wanted from the first byte on.
    Consumer c(*reactor_, before_target ? 0 : 16, 64 * 1024, 0, 1);
    on_reactor([&] { c.watch(a_.get()); });
    const std::string sent = pattern_of(c.out.size(), 5);
    if (before_target) {
      // The FIN may end the multishot receive while the pause waits for its end, or come
      // to the RECVMSG: -ENODATA either way.
      on_reactor([&] { reactor_->receive_direct(c.id, c); });
      b_.reset();
    } else {
      send_all(std::string_view(sent).substr(0, 16 + 100));
      ASSERT_TRUE(eventually([&] { return c.targets_asked == 1; }));
      send_all(std::string_view(sent).substr(16 + 100, 20000));
      b_.reset();
    }
    ASSERT_TRUE(eventually([&] { return !c.results.empty(); })) << before_target;
    std::this_thread::sleep_for(20ms);
    on_reactor([&] {
      EXPECT_EQ(c.results, std::vector<int64_t>{-ENODATA});
      EXPECT_FALSE(c.ended);
      reactor_->unwatch_fd(c.id);
    });
  }
}

// Detached (its owner goes away while the reactor has stopped): never called back.
TEST_P(DirectReceiveTest, DetachedNeverCallsBack) {
  if (!receives_direct()) return;
  auto c = std::make_unique<Consumer>(*reactor_, 16, 64 * 1024, 0, 1);
  on_reactor([&] { c->watch(a_.get()); });
  send_all(pattern_of(16, 2));
  ASSERT_TRUE(eventually([&] { return c->targets_asked == 1; }));
  on_reactor([&] {
    reactor_->unwatch_fd(c->id);
    reactor_->cancel_receive_direct(*c, true);
    EXPECT_FALSE(c->direct_receive_pending());
    c.reset();  // a use after free below would show under ASan
    ::shutdown(a_.get(), SHUT_RDWR);
  });
  std::this_thread::sleep_for(50ms);
  int ran = 0;
  on_reactor([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

std::string backend_name(const ::testing::TestParamInfo<IoBackend>& p) {
  return p.param == IoBackend::kUring ? "Uring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectReceiveTest,
                         ::testing::Values(IoBackend::kUring, IoBackend::kEpoll), backend_name);

}  // namespace
}  // namespace stgt::reactor
