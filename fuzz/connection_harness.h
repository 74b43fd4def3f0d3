// The connection harness of the PDU fuzz targets (pdu_fuzz, pdu_digest_fuzz): one real
// iscsi::Connection (and a disk target on the memory store) per input, on one epoll reactor
// thread, over a socketpair. run_connection() writes the stream an initiator sends, reads
// and discards every response, half-closes its end; the connection must then close and drop
// itself within the time libFuzzer allows (-timeout): a connection that survives its peer
// is a leak.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/unique_fd.h"
#include "fuzz/fuzz_target.h"
#include "reactor/reactor_group.h"
#include "transport/iscsi/catalog.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/server.h"

namespace stgt::fuzz {

inline reactor::ReactorGroup& reactors() {
  static std::unique_ptr<reactor::ReactorGroup> group = [] {
    quiet_logs();
    auto g = reactor::ReactorGroup::start(1, reactor::IoBackend::kEpoll);
    if (!g) {
      std::fprintf(stderr, "reactor: %s\n", g.error().c_str());
      std::abort();
    }
    return std::move(*g);
  }();
  return *group;
}

// Writes `input` to `fd` while reading (and dropping) what the target answers, then
// half-closes and reads until the target closes its end.
inline void exchange(int fd, const uint8_t* data, size_t size) {
  size_t sent = 0;
  bool shut = false;
  std::vector<uint8_t> sink(64 << 10);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (true) {
    if (!shut && sent == size) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    pollfd p{fd, short(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 100) < 0 && errno != EINTR) std::abort();
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, sink.data(), sink.size(), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;  // target closed
    }
    if (!shut && (p.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) sent += size_t(n);
      if (n < 0 && errno == EPIPE) sent = size;  // the target closed; stop sending
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "the connection stayed open 20 s after its peer half-closed\n");
      std::abort();
    }
  }
}

// Serves `data` as the byte stream of one initiator connection, start to close.
inline void run_connection(const uint8_t* data, size_t size) {
  reactor::ReactorGroup& group = reactors();
  reactor::Reactor& r = group.at(0);

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  base::UniqueFd peer(fds[1]);

  auto shared = std::make_shared<iscsi::ServerShared>();
  shared->connections.resize(1);
  shared->settings.max_tasks_per_session = 32;
  shared->settings.session_write_buffer = 4 << 20;
  shared->settings.limits.max_recv_data_segment_length = 65536;
  auto catalog = std::make_shared<iscsi::Catalog>();
  catalog->targets.push_back(make_fuzz_target(512, 1 << 20));
  catalog->portals.push_back({"127.0.0.1:3260", 1});
  shared->catalog.publish(catalog);

  const int target_fd = fds[0];
  r.post([shared, &r, target_fd] {
    auto conn = std::make_shared<iscsi::Connection>(r, base::UniqueFd(target_fd), shared, 1,
                                                    "127.0.0.1:3260", "127.0.0.1:40000", 1);
    shared->connections[0][1] = conn;
    conn->start();
  });

  exchange(peer.get(), data, size);

  // The connection closed its socket; it must now drop itself (Connection::schedule_drop).
  for (int tries = 0;; ++tries) {
    std::promise<bool> gone;
    r.post([shared, &gone] { gone.set_value(shared->connections[0].empty()); });
    if (gone.get_future().get()) break;
    if (tries > 2000) {
      std::fprintf(stderr, "a closed connection was never dropped\n");
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace stgt::fuzz
