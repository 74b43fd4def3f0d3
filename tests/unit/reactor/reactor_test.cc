// Reactor contract tests, run under both backends.
#include "reactor/reactor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace stgt::reactor {
namespace {

using namespace std::chrono_literals;

class Done final : public FileIoCompletion {
 public:
  void on_file_io(int64_t result) override {
    result_ = result;
    on_reactor_ = Reactor::current() != nullptr;
    ++calls_;
  }
  int64_t result_ = -1;
  int calls_ = 0;
  bool on_reactor_ = false;
};

class ReactorTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    reactor_ = Reactor::create(GetParam(), 7);
    ASSERT_NE(reactor_, nullptr);
    ASSERT_EQ(reactor_->backend(), GetParam());
    thread_ = std::thread([this] { reactor_->run(); });
  }
  void TearDown() override {
    if (reactor_ == nullptr) return;
    reactor_->stop();
    thread_.join();
  }

  // Runs fn on the reactor thread and waits for it.
  void on_reactor(std::function<void()> fn) {
    std::promise<void> p;
    reactor_->post([&] {
      fn();
      p.set_value();
    });
    p.get_future().wait();
  }

  // Whether the backend under test sends asynchronously (the send tests need it).
  bool sends_async() {
    bool async = false;
    on_reactor([&] { async = reactor_->sends_async(); });
    return async;
  }

  // Polls pred (evaluated on the reactor thread) until true or the deadline.
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

  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
};

struct SocketPair {
  base::UniqueFd a;
  base::UniqueFd b;
};

SocketPair make_socketpair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  return {base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

void write_byte(int fd) {
  const char c = 'x';
  ASSERT_EQ(::write(fd, &c, 1), 1);
}

size_t drain(int fd) {
  char buf[4096];
  size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += size_t(n);
  }
}

class TempFile {
 public:
  TempFile() {
    char path[] = "/tmp/stgt-reactor-XXXXXX";
    fd_.reset(::mkstemp(path));
    path_ = path;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  int fd() const { return fd_.get(); }

 private:
  base::UniqueFd fd_;
  std::string path_;
};

TEST_P(ReactorTest, PostFromOtherThreadsKeepsOrderPerThread) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<int> last(kThreads, -1);
  std::atomic<int> bad{0};
  std::atomic<int> ran{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        reactor_->post([&, t, i] {
          if (Reactor::current() != reactor_.get() || last[size_t(t)] != i - 1) ++bad;
          last[size_t(t)] = i;
          ++ran;
        });
      }
    });
  }
  for (auto& p : posters)
    p.join();
  EXPECT_TRUE(eventually([&] { return ran.load() == kThreads * kPerThread; }));
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(Reactor::current(), nullptr);
}

TEST_P(ReactorTest, PostFromReactorRunsLaterNotInline) {
  bool inner_ran = false;
  bool inline_call = true;
  on_reactor([&] {
    reactor_->post([&] { inner_ran = true; });
    inline_call = inner_ran;
  });
  EXPECT_FALSE(inline_call);
  EXPECT_TRUE(eventually([&] { return inner_ran; }));
}

class CountingDeferred final : public Deferred {
 public:
  void run_deferred() override { ++runs; }
  int runs = 0;
};

TEST_P(ReactorTest, DeferredRunsOnceAtTheEndOfTheIteration) {
  CountingDeferred d;
  int seen_inside = -1;
  on_reactor([&] {
    reactor_->defer(d);
    reactor_->defer(d);  // already queued: no second run
    EXPECT_TRUE(d.deferred_queued());
    seen_inside = d.runs;
  });
  EXPECT_EQ(seen_inside, 0);  // never inline
  EXPECT_TRUE(eventually([&] { return d.runs == 1 && !d.deferred_queued(); }));
  on_reactor([&] { reactor_->defer(d); });
  EXPECT_TRUE(eventually([&] { return d.runs == 2; }));
}

TEST_P(ReactorTest, CancelledDeferredNeverRuns) {
  CountingDeferred d;
  CountingDeferred other;
  on_reactor([&] {
    reactor_->defer(d);
    reactor_->defer(other);
    reactor_->cancel_deferred(d);
    EXPECT_FALSE(d.deferred_queued());
  });
  EXPECT_TRUE(eventually([&] { return other.runs == 1; }));
  on_reactor([&] { EXPECT_EQ(d.runs, 0); });
}

TEST_P(ReactorTest, OneShotTimerFiresOnceAfterDelay) {
  int fired = 0;
  std::chrono::steady_clock::time_point when;
  const auto start = std::chrono::steady_clock::now();
  on_reactor([&] {
    reactor_->add_timer(30ms, false, [&] {
      ++fired;
      when = std::chrono::steady_clock::now();
    });
  });
  EXPECT_TRUE(eventually([&] { return fired == 1; }));
  EXPECT_GE(when - start, 30ms);
  std::this_thread::sleep_for(60ms);
  on_reactor([&] { EXPECT_EQ(fired, 1); });
}

TEST_P(ReactorTest, PeriodicTimerRepeatsUntilCancelledFromItsCallback) {
  int fired = 0;
  TimerId id;
  on_reactor([&] {
    id = reactor_->add_timer(5ms, true, [&] {
      if (++fired == 3) reactor_->cancel_timer(id);
    });
  });
  EXPECT_TRUE(eventually([&] { return fired >= 3; }));
  std::this_thread::sleep_for(40ms);
  on_reactor([&] { EXPECT_EQ(fired, 3); });
}

TEST_P(ReactorTest, CancelledTimerNeverFires) {
  int fired = 0;
  int other = 0;
  on_reactor([&] {
    const TimerId id = reactor_->add_timer(20ms, false, [&] { ++fired; });
    reactor_->add_timer(40ms, false, [&] { ++other; });
    EXPECT_TRUE(id.valid());
    reactor_->cancel_timer(id);
    reactor_->cancel_timer(id);  // twice is harmless
  });
  EXPECT_TRUE(eventually([&] { return other == 1; }));
  on_reactor([&] { EXPECT_EQ(fired, 0); });
}

TEST_P(ReactorTest, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  on_reactor([&] {
    reactor_->add_timer(30ms, false, [&] { order.push_back(3); });
    reactor_->add_timer(10ms, false, [&] { order.push_back(1); });
    reactor_->add_timer(20ms, false, [&] { order.push_back(2); });
  });
  EXPECT_TRUE(eventually([&] { return order.size() == 3; }));
  on_reactor([&] { EXPECT_EQ(order, (std::vector<int>{1, 2, 3})); });
}

TEST_P(ReactorTest, ReadableIsEdgeTriggered) {
  SocketPair sp = make_socketpair();
  int events = 0;
  bool registered_inline = false;
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(sp.a.get(), kReadable, [&](uint32_t ev) {
      if (ev & kReadable) ++events;  // deliberately does not read
    });
    registered_inline = events != 0;
  });
  EXPECT_FALSE(registered_inline);
  write_byte(sp.b.get());
  EXPECT_TRUE(eventually([&] { return events == 1; }));
  // Level-triggered readiness would report the unread byte again and again.
  std::this_thread::sleep_for(50ms);
  on_reactor([&] { EXPECT_EQ(events, 1); });
  write_byte(sp.b.get());  // new data: a new edge
  EXPECT_TRUE(eventually([&] { return events == 2; }));
  on_reactor([&] {
    EXPECT_EQ(drain(sp.a.get()), 2u);
    reactor_->unwatch_fd(id);
  });
}

TEST_P(ReactorTest, AlreadyReadableFdIsReportedWhenWatched) {
  SocketPair sp = make_socketpair();
  write_byte(sp.b.get());
  size_t got = 0;
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(sp.a.get(), kReadable, [&](uint32_t) { got += drain(sp.a.get()); });
  });
  EXPECT_TRUE(eventually([&] { return got == 1; }));
  on_reactor([&] { reactor_->unwatch_fd(id); });
}

// Bytes and the peer's FIN pending together arrive as one event: it must say the peer has
// closed, since a reader that stops at a short read would otherwise wait for ever.
TEST_P(ReactorTest, DataThenShutdownIsReportedAsPeerClosed) {
  SocketPair sp = make_socketpair();
  ASSERT_EQ(::write(sp.b.get(), "abc", 3), 3);
  ASSERT_EQ(::shutdown(sp.b.get(), SHUT_WR), 0);
  std::atomic<uint32_t> seen{0};
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(sp.a.get(), kReadable, [&](uint32_t ev) { seen |= ev; });
  });
  EXPECT_TRUE(eventually([&] { return (seen & kPeerClosed) != 0; }));
  EXPECT_NE(seen & kReadable, 0u);
  on_reactor([&] { reactor_->unwatch_fd(id); });
}

TEST_P(ReactorTest, WritableAndHangup) {
  SocketPair sp = make_socketpair();
  uint32_t seen = 0;
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(sp.a.get(), kReadable | kWritable, [&](uint32_t ev) { seen |= ev; });
  });
  EXPECT_TRUE(eventually([&] { return (seen & kWritable) != 0; }));
  sp.b.reset();  // peer goes away
  EXPECT_TRUE(eventually([&] { return (seen & (kHangup | kReadable)) != 0; }));
  on_reactor([&] {
    char c;
    EXPECT_EQ(::read(sp.a.get(), &c, 1), 0);
    reactor_->unwatch_fd(id);
  });
}

TEST_P(ReactorTest, UnwatchInsideHandlerStopsFurtherCalls) {
  SocketPair sp = make_socketpair();
  int calls = 0;
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(sp.a.get(), kReadable, [&](uint32_t) {
      ++calls;
      drain(sp.a.get());
      reactor_->unwatch_fd(id);
      reactor_->unwatch_fd(id);  // idempotent
    });
  });
  write_byte(sp.b.get());
  EXPECT_TRUE(eventually([&] { return calls == 1; }));
  write_byte(sp.b.get());
  write_byte(sp.b.get());
  std::this_thread::sleep_for(50ms);
  on_reactor([&] { EXPECT_EQ(calls, 1); });
}

// A socket unwatched and closed while the kernel is still handling a wake-up of its watch
// is really released: its peer sees end of file. (io_uring: a POLL_REMOVE issued while the
// poll's task work was pending failed with -EALREADY and left the multishot poll holding the
// socket for good; under MultipathIO logouts left sockets in CLOSE-WAIT.) The peer writes
// while the reactor thread spins without a syscall, so the wake-up is still pending when
// unwatch_fd runs; the race is the kernel's, so several rounds are tried.
TEST_P(ReactorTest, UnwatchDuringAPendingWakeupReleasesTheSocket) {
  constexpr int kRounds = 40;
  int released = 0;
  for (int round = 0; round < kRounds; ++round) {
    SocketPair sp = make_socketpair();
    const int a = sp.a.release();  // closed on the reactor, right after unwatch_fd
    WatchId id;
    on_reactor([&] { id = reactor_->watch_fd(a, kReadable, [](uint32_t) {}); });
    on_reactor([] {});  // the loop has gone round: the watch is armed in the kernel
    std::atomic<int> step{0};
    std::thread peer([&] {
      while (step.load() != 1) {
      }
      write_byte(sp.b.get());
      step.store(2);
    });
    on_reactor([&] {
      step.store(1);
      while (step.load() != 2) {
      }
      reactor_->unwatch_fd(id);
      ::close(a);
    });
    peer.join();
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    char c;
    ssize_t n = -1;
    while ((n = ::read(sp.b.get(), &c, 1)) != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    if (n == 0) ++released;
  }
  EXPECT_EQ(released, kRounds);
}

TEST_P(ReactorTest, UnwatchOfAnotherFdInSameBatchSuppressesItsEvent) {
  SocketPair p1 = make_socketpair();
  SocketPair p2 = make_socketpair();
  int calls1 = 0;
  int calls2 = 0;
  WatchId id1;
  WatchId id2;
  on_reactor([&] {
    // Both fds are readable before they are watched: both events arrive in one batch.
    write_byte(p1.b.get());
    write_byte(p2.b.get());
    id1 = reactor_->watch_fd(p1.a.get(), kReadable, [&](uint32_t) {
      ++calls1;
      reactor_->unwatch_fd(id2);
      p2.a.reset();  // closing after unwatch is allowed at once
    });
    id2 = reactor_->watch_fd(p2.a.get(), kReadable, [&](uint32_t) {
      ++calls2;
      reactor_->unwatch_fd(id1);
      p1.a.reset();
    });
  });
  EXPECT_TRUE(eventually([&] { return calls1 + calls2 >= 1; }));
  std::this_thread::sleep_for(30ms);
  on_reactor([&] {
    EXPECT_EQ(calls1 + calls2, 1);
    if (calls1 == 1) reactor_->unwatch_fd(id1);
    if (calls2 == 1) reactor_->unwatch_fd(id2);
  });
}

TEST_P(ReactorTest, SlotReuseDoesNotDeliverStaleEvents) {
  SocketPair p1 = make_socketpair();
  SocketPair p2 = make_socketpair();
  int old_calls = 0;
  int new_calls = 0;
  WatchId new_id;
  on_reactor([&] {
    const WatchId old_id =
        reactor_->watch_fd(p1.a.get(), kReadable, [&](uint32_t) { ++old_calls; });
    reactor_->unwatch_fd(old_id);
    new_id = reactor_->watch_fd(p2.a.get(), kReadable, [&](uint32_t) { ++new_calls; });
    EXPECT_NE(old_id.value, new_id.value);
  });
  write_byte(p1.b.get());
  write_byte(p2.b.get());
  EXPECT_TRUE(eventually([&] { return new_calls == 1; }));
  std::this_thread::sleep_for(30ms);
  on_reactor([&] {
    EXPECT_EQ(old_calls, 0);
    reactor_->unwatch_fd(new_id);
  });
}

TEST_P(ReactorTest, FileWriteReadSyncRoundTrip) {
  TempFile file;
  std::string a(4096, 'a');
  std::string b(1000, 'b');
  std::string c(3096, 'c');
  iovec wiov[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  std::vector<char> r1(5000), r2(3192);
  iovec riov[2] = {{r1.data(), r1.size()}, {r2.data(), r2.size()}};
  Done wrote, synced, read;
  on_reactor([&] { reactor_->submit_writev(file.fd(), wiov, 3, 8192, true, &wrote); });
  EXPECT_TRUE(eventually([&] { return wrote.calls_ == 1; }));
  on_reactor([&] { reactor_->submit_fdatasync(file.fd(), &synced); });
  EXPECT_TRUE(eventually([&] { return synced.calls_ == 1; }));
  on_reactor([&] { reactor_->submit_readv(file.fd(), riov, 2, 8192, &read); });
  EXPECT_TRUE(eventually([&] { return read.calls_ == 1; }));
  on_reactor([&] {
    EXPECT_EQ(wrote.result_, 8192);
    EXPECT_EQ(synced.result_, 0);
    EXPECT_EQ(read.result_, 8192);
    EXPECT_TRUE(wrote.on_reactor_ && synced.on_reactor_ && read.on_reactor_);
  });
  const std::string expect = a + b + c;
  EXPECT_EQ(std::string(r1.begin(), r1.end()) + std::string(r2.begin(), r2.end()), expect);
}

// fallocate off the reactor thread: a punched hole reads back as zeros, the file keeps its
// size (KEEP_SIZE), the completion (0) runs on the reactor; a bad fd completes with -EBADF.
TEST_P(ReactorTest, FallocatePunchesAHoleOffTheReactor) {
  TempFile file;
  const std::string data(64 << 10, 'x');
  ASSERT_EQ(::pwrite(file.fd(), data.data(), data.size(), 0), ssize_t(data.size()));
  Done punched, bad;
  constexpr int kPunch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  on_reactor([&] {
    reactor_->submit_fallocate(file.fd(), kPunch, 16 << 10, 32 << 10, &punched);
    reactor_->submit_fallocate(-1, kPunch, 0, 4096, &bad);
  });
  EXPECT_TRUE(eventually([&] { return punched.calls_ == 1 && bad.calls_ == 1; }));
  on_reactor([&] {
    EXPECT_EQ(punched.result_, 0);
    EXPECT_EQ(bad.result_, -EBADF);
    EXPECT_TRUE(punched.on_reactor_ && bad.on_reactor_);
  });
  std::string back(64 << 10, '?');
  ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0), ssize_t(back.size()));
  EXPECT_EQ(back, std::string(16 << 10, 'x') + std::string(32 << 10, '\0') +
                      std::string(16 << 10, 'x'));
  struct stat st {};
  ASSERT_EQ(::fstat(file.fd(), &st), 0);
  EXPECT_EQ(st.st_size, off_t(64 << 10));
}

TEST_P(ReactorTest, ReadAtEndOfFileIsShortAndBadFdIsAnError) {
  TempFile file;
  ASSERT_EQ(::pwrite(file.fd(), "hello", 5, 0), 5);
  char buf[64];
  iovec iov{buf, sizeof buf};
  Done eof, bad;
  on_reactor([&] {
    reactor_->submit_readv(file.fd(), &iov, 1, 0, &eof);
    reactor_->submit_readv(-1, &iov, 1, 0, &bad);
  });
  EXPECT_TRUE(eventually([&] { return eof.calls_ == 1 && bad.calls_ == 1; }));
  EXPECT_EQ(eof.result_, 5);
  EXPECT_EQ(std::memcmp(buf, "hello", 5), 0);
  EXPECT_EQ(bad.result_, -EBADF);
}

TEST_P(ReactorTest, ManyConcurrentFileOps) {
  constexpr size_t kOps = 2000;  // more than the io_uring submission queue holds
  constexpr size_t kBlock = 4096;
  TempFile file;
  std::vector<std::vector<uint8_t>> data(kOps, std::vector<uint8_t>(kBlock));
  std::vector<iovec> iov(kOps);
  for (size_t i = 0; i < kOps; ++i) {
    for (size_t j = 0; j < kBlock; ++j)
      data[i][j] = uint8_t(i * 31 + j);
    iov[i] = iovec{data[i].data(), kBlock};
  }
  std::vector<Done> writes(kOps);
  on_reactor([&] {
    // Reverse order, fua on every other op.
    for (size_t k = kOps; k-- > 0;) {
      reactor_->submit_writev(file.fd(), &iov[k], 1, k * kBlock, k % 2 == 0, &writes[k]);
    }
  });
  auto all_done = [](const std::vector<Done>& v) {
    for (const Done& d : v) {
      if (d.calls_ != 1) return false;
    }
    return true;
  };
  EXPECT_TRUE(eventually([&] { return all_done(writes); }, 20s));
  std::vector<std::vector<uint8_t>> back(kOps, std::vector<uint8_t>(kBlock));
  std::vector<iovec> riov(kOps);
  std::vector<Done> reads(kOps);
  on_reactor([&] {
    for (size_t k = 0; k < kOps; ++k) {
      riov[k] = iovec{back[k].data(), kBlock};
      reactor_->submit_readv(file.fd(), &riov[k], 1, k * kBlock, &reads[k]);
    }
  });
  EXPECT_TRUE(eventually([&] { return all_done(reads); }, 20s));
  for (size_t k = 0; k < kOps; ++k) {
    ASSERT_EQ(writes[k].result_, int64_t(kBlock)) << k;
    ASSERT_EQ(reads[k].result_, int64_t(kBlock)) << k;
    ASSERT_EQ(back[k], data[k]) << k;
  }
}

TEST_P(ReactorTest, StopFromAnotherThreadWhileIdle) {
  std::this_thread::sleep_for(20ms);
  reactor_->stop();
  thread_.join();
  thread_ = std::thread([] {});  // TearDown joins again
  reactor_->stop();
}

// ---- watch_stream: the reactor receives for the caller (io_uring only) ----

// Collects what a stream watch delivers, on the reactor thread.
struct StreamLog {
  std::string bytes;
  int calls = 0;
  bool ended = false;
  int error = 1;  // what the end reported (0: FIN)
};

// The epoll backend declines (its callers poll and recv); io_uring on Linux 6.0+ accepts.
// Returns false when the backend declined (the test then has nothing more to check).
bool watch_stream_or_decline(Reactor& r, IoBackend backend, int fd, StreamLog& log, WatchId& id) {
  id = r.watch_stream(fd, [&log](std::span<const uint8_t> data, int error) {
    ++log.calls;
    EXPECT_FALSE(log.ended) << "nothing may follow the end of a stream";
    if (data.empty()) {
      log.ended = true;
      log.error = error;
      return;
    }
    log.bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  });
  if (backend == IoBackend::kEpoll) {
    EXPECT_FALSE(id.valid());
  }
  return id.valid();
}

TEST_P(ReactorTest, StreamDeliversBytesInOrderThenTheEnd) {
  SocketPair sp = make_socketpair();
  StreamLog log;
  WatchId id;
  bool ok = false;
  on_reactor([&] { ok = watch_stream_or_decline(*reactor_, GetParam(), sp.a.get(), log, id); });
  if (!ok) return;
  std::string sent;
  for (int i = 0; i < 100; ++i) {
    const std::string chunk = "chunk " + std::to_string(i) + ";";
    ASSERT_EQ(::write(sp.b.get(), chunk.data(), chunk.size()), ssize_t(chunk.size()));
    sent += chunk;
  }
  ASSERT_EQ(::shutdown(sp.b.get(), SHUT_WR), 0);
  EXPECT_TRUE(eventually([&] { return log.ended; }));
  on_reactor([&] {
    EXPECT_EQ(log.bytes, sent);
    EXPECT_EQ(log.error, 0);
    reactor_->unwatch_fd(id);
  });
}

// More than the reactor's whole receive buffer ring (1 MiB) arrives while the reactor is
// busy: the multishot receive runs out of buffers, ends, and is re-armed; nothing is lost
// or reordered.
TEST_P(ReactorTest, StreamSurvivesRunningOutOfReceiveBuffers) {
  SocketPair sp = make_socketpair();
  int big = 4 << 20;
  ASSERT_EQ(::setsockopt(sp.b.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big), 0);
  ASSERT_EQ(::setsockopt(sp.a.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
  StreamLog log;
  WatchId id;
  bool ok = false;
  on_reactor([&] { ok = watch_stream_or_decline(*reactor_, GetParam(), sp.a.get(), log, id); });
  if (!ok) return;
  constexpr size_t kTotal = 6 << 20;
  std::string pattern(kTotal, '\0');
  for (size_t i = 0; i < kTotal; ++i)
    pattern[i] = char(i * 7 / 4096);
  std::atomic<bool> stalled{true};
  reactor_->post([&] {
    while (stalled.load()) {  // keep the reactor from returning buffers for a while
    }
  });
  std::thread writer([&] {
    size_t off = 0;
    while (off < kTotal) {
      const ssize_t n = ::write(sp.b.get(), pattern.data() + off, kTotal - off);
      if (n > 0) {
        off += size_t(n);
        continue;
      }
      stalled.store(false);
      std::this_thread::sleep_for(1ms);
    }
    stalled.store(false);
  });
  writer.join();
  EXPECT_TRUE(eventually([&] { return log.bytes.size() == kTotal; }));
  on_reactor([&] {
    EXPECT_TRUE(log.bytes == pattern);
    EXPECT_FALSE(log.ended);
    reactor_->unwatch_fd(id);
  });
}

TEST_P(ReactorTest, StreamUnwatchedInsideItsHandlerGetsNothingMore) {
  SocketPair sp = make_socketpair();
  int calls = 0;
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_stream(sp.a.get(), [&](std::span<const uint8_t>, int) {
      ++calls;
      reactor_->unwatch_fd(id);
      reactor_->unwatch_fd(id);  // idempotent
    });
  });
  if (!id.valid()) return;
  write_byte(sp.b.get());
  EXPECT_TRUE(eventually([&] { return calls == 1; }));
  write_byte(sp.b.get());
  sp.b.reset();
  std::this_thread::sleep_for(50ms);
  on_reactor([&] { EXPECT_EQ(calls, 1); });
}

// As UnwatchDuringAPendingWakeupReleasesTheSocket, for a multishot receive: the socket is
// released (the peer sees end of file) once unwatched and closed.
TEST_P(ReactorTest, StreamUnwatchReleasesTheSocket) {
  for (int round = 0; round < 20; ++round) {
    SocketPair sp = make_socketpair();
    const int a = sp.a.release();
    WatchId id;
    on_reactor([&] { id = reactor_->watch_stream(a, [](std::span<const uint8_t>, int) {}); });
    if (!id.valid()) {
      ::close(a);
      return;
    }
    write_byte(sp.b.get());
    on_reactor([&] {
      reactor_->unwatch_fd(id);
      ::close(a);
    });
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    char c;
    ssize_t n = -1;
    while ((n = ::read(sp.b.get(), &c, 1)) != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(n, 0) << "round " << round;
  }
}

// ---- asynchronous sends (io_uring only; the epoll backend declines) ----

class SendLog final : public SendCompletion {
 public:
  void on_send(int64_t result) override {
    results.push_back(result);
    on_reactor = Reactor::current() != nullptr;
  }
  std::vector<int64_t> results;
  bool on_reactor = false;
};

// Reads from fd until `n` bytes arrived or the deadline passed.
std::string read_n(int fd, size_t n, std::chrono::milliseconds limit = 5s) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    const ssize_t got = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (got > 0) {
      out.append(buf, size_t(got));
    } else {
      std::this_thread::sleep_for(100us);
    }
  }
  return out;
}

// One buffer as a msghdr for submit_send (not copyable: msg points at iov).
struct OneBuffer {
  explicit OneBuffer(const std::string& data) : iov{const_cast<char*>(data.data()), data.size()} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
  }
  OneBuffer(const OneBuffer&) = delete;
  OneBuffer& operator=(const OneBuffer&) = delete;
  iovec iov;
  msghdr msg{};
};

std::string pattern_of(size_t n, int seed) {
  std::string p(n, '\0');
  for (size_t i = 0; i < n; ++i)
    p[i] = char(i * 13 / 1000 + size_t(seed));
  return p;
}

TEST_P(ReactorTest, EpollDoesNotSendAsynchronously) {
  on_reactor([&] { EXPECT_EQ(reactor_->sends_async(), GetParam() == IoBackend::kUring); });
}

// One send of several iovecs, far more than the socket buffer holds: the kernel goes on
// after every partial transfer (MSG_WAITALL) and the completion reports the whole length
// once the slow reader has taken it; the bytes arrive whole and in iovec order. A second
// send after the first completion follows it.
TEST_P(ReactorTest, SendCompletesOnceEveryByteIsOutInOrder) {
  SocketPair sp = make_socketpair();
  int small = 16 << 10;
  ASSERT_EQ(::setsockopt(sp.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  if (!sends_async()) return;
  const std::string first = pattern_of(1 << 20, 1);
  const std::string second = pattern_of(100'000, 5);
  std::array<iovec, 3> iov{
      iovec{const_cast<char*>(first.data()), 1000},
      iovec{const_cast<char*>(first.data()) + 1000, 700'000},
      iovec{const_cast<char*>(first.data()) + 701'000, first.size() - 701'000}};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  SendLog log;
  on_reactor([&] {
    reactor_->submit_send(sp.a.get(), msg, log, true);
    EXPECT_TRUE(log.send_in_flight());
    EXPECT_TRUE(log.results.empty()) << "completions never run inside the submitting call";
  });
  std::this_thread::sleep_for(20ms);
  on_reactor([&] { EXPECT_TRUE(log.results.empty()) << "completed before the reader took it"; });
  EXPECT_TRUE(read_n(sp.b.get(), first.size()) == first);
  ASSERT_TRUE(eventually([&] { return !log.results.empty(); }));
  OneBuffer one(second);
  on_reactor([&] {
    EXPECT_EQ(log.results, std::vector<int64_t>{int64_t(first.size())});
    EXPECT_TRUE(log.on_reactor);
    EXPECT_FALSE(log.send_in_flight());
    reactor_->submit_send(sp.a.get(), one.msg, log, true);
  });
  EXPECT_TRUE(read_n(sp.b.get(), second.size()) == second);
  ASSERT_TRUE(eventually([&] { return log.results.size() == 2; }));
  on_reactor([&] { EXPECT_EQ(log.results[1], int64_t(second.size())); });
}

// A send to a peer that has gone away completes with an error, never with 0 or success.
TEST_P(ReactorTest, SendToAClosedPeerFails) {
  SocketPair sp = make_socketpair();
  if (!sends_async()) return;
  sp.b.reset();
  const std::string data = pattern_of(4096, 2);
  OneBuffer one(data);
  SendLog log;
  on_reactor([&] { reactor_->submit_send(sp.a.get(), one.msg, log, true); });
  ASSERT_TRUE(eventually([&] { return !log.results.empty(); }));
  on_reactor([&] {
    ASSERT_EQ(log.results.size(), 1u);
    EXPECT_TRUE(log.results[0] == -EPIPE || log.results[0] == -ECONNRESET) << log.results[0];
  });
}

// A send blocked on a full socket (the peer does not read) is ended by the socket's
// shutdown and by cancel_send: its completion still comes (an error or the bytes sent
// before it stopped, fewer than asked), so the caller knows when its buffers are free.
TEST_P(ReactorTest, CancelledSendStillCompletes) {
  for (const bool shut : {false, true}) {
    SocketPair sp = make_socketpair();
    if (!sends_async()) return;
    const std::string data = pattern_of(4 << 20, 3);
    OneBuffer one(data);
    SendLog log;
    on_reactor([&] { reactor_->submit_send(sp.a.get(), one.msg, log, true); });
    std::this_thread::sleep_for(20ms);
    on_reactor([&] {
      EXPECT_TRUE(log.results.empty());
      if (shut) ::shutdown(sp.a.get(), SHUT_RDWR);
      reactor_->cancel_send(log, false);
    });
    ASSERT_TRUE(eventually([&] { return !log.results.empty(); })) << "shutdown " << shut;
    on_reactor([&] {
      ASSERT_EQ(log.results.size(), 1u);
      EXPECT_LT(log.results[0], int64_t(data.size()));
      EXPECT_NE(log.results[0], 0);
      EXPECT_FALSE(log.send_in_flight());
      reactor_->cancel_send(log, false);  // nothing in flight: a no-op
    });
  }
}

// A small send expected to complete inside the enter that submits it (its socket's last
// send did) finds the socket full and waits: the loop then counts one completion too many
// into its wait, and other events must still be handled within the cap (10 ms), not when
// something else happens to arrive.
TEST_P(ReactorTest, BlockedSendDoesNotHoldOtherEvents) {
  SocketPair sp = make_socketpair();
  SocketPair other = make_socketpair();
  if (!sends_async()) return;
  const std::string data = pattern_of(4096, 6);
  OneBuffer one(data);
  SendLog log;
  on_reactor([&] { reactor_->submit_send(sp.a.get(), one.msg, log, true); });  // completes inline
  ASSERT_TRUE(eventually([&] { return log.results.size() == 1; }));
  ASSERT_EQ(read_n(sp.b.get(), data.size()).size(), data.size());
  const std::string fill(65536, 'f');  // the peer reads nothing more: fill the socket
  while (::write(sp.a.get(), fill.data(), fill.size()) > 0) {
  }
  std::atomic<int64_t> handled_ns{0};
  WatchId id;
  on_reactor([&] {
    id = reactor_->watch_fd(other.a.get(), kReadable, [&](uint32_t) {
      handled_ns.store(std::chrono::steady_clock::now().time_since_epoch().count());
      drain(other.a.get());
    });
    reactor_->submit_send(sp.a.get(), one.msg, log, true);  // blocks; expected inline
  });
  std::this_thread::sleep_for(20ms);  // the reactor is asleep in the capped wait now
  const int64_t written_ns = std::chrono::steady_clock::now().time_since_epoch().count();
  write_byte(other.b.get());
  std::this_thread::sleep_for(300ms);  // no post(): nothing else wakes the reactor
  const int64_t handled = handled_ns.load();
  ASSERT_NE(handled, 0) << "the readable event was held by the blocked send";
  EXPECT_LT(handled - written_ns, int64_t(250'000'000));
  on_reactor([&] {
    EXPECT_EQ(log.results.size(), 1u);  // the second send still waits for room
    reactor_->unwatch_fd(id);
    ::shutdown(sp.a.get(), SHUT_RDWR);
  });
  ASSERT_TRUE(eventually([&] { return log.results.size() == 2; }));
}

// Detached: the completion object may go away; its send's completion is dropped.
TEST_P(ReactorTest, DetachedSendNeverCallsBack) {
  SocketPair sp = make_socketpair();
  if (!sends_async()) return;
  const std::string data = pattern_of(4 << 20, 4);
  OneBuffer one(data);
  auto log = std::make_unique<SendLog>();
  on_reactor([&] { reactor_->submit_send(sp.a.get(), one.msg, *log, true); });
  std::this_thread::sleep_for(10ms);
  on_reactor([&] {
    reactor_->cancel_send(*log, true);
    EXPECT_FALSE(log->send_in_flight());
    log.reset();  // a use after free below would show under ASan
    ::shutdown(sp.a.get(), SHUT_RDWR);
  });
  std::this_thread::sleep_for(50ms);
  // The reactor goes on working (the dropped completion left it consistent).
  int ran = 0;
  on_reactor([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

std::string backend_name(const ::testing::TestParamInfo<IoBackend>& p) {
  return p.param == IoBackend::kUring ? "Uring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, ReactorTest,
                         ::testing::Values(IoBackend::kUring, IoBackend::kEpoll), backend_name);

TEST(ReactorNames, ToString) {
  EXPECT_EQ(to_string(IoBackend::kUring), "io_uring");
  EXPECT_EQ(to_string(IoBackend::kEpoll), "epoll");
}

}  // namespace
}  // namespace stgt::reactor
