// loopback-ceiling: what this machine's loopback TCP allows, as a yardstick for iSCSI targets.
//
//   --mode rr      request/response: the client keeps --qd requests outstanding on one TCP
//                  connection. --dir read: a 48-byte request, answered by a 48-byte header and
//                  --bs bytes of payload (the shape of an iSCSI READ). --dir write: 48 bytes plus
//                  --bs of payload, answered by 48 bytes (the shape of a WRITE with immediate
//                  data). The server is one thread doing what an ideal target would do and no
//                  more: read what arrived, answer every complete request in one sendmsg.
//   --mode stream  bulk: one thread sends 1 MiB writes, the other receives and discards.
//
// Client and server are two threads of this process, as an initiator and a target are two
// processes. Prints one JSON line. Exit 2 on bad arguments, 1 on a socket failure.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "histogram.h"

namespace stgt::bench {
namespace {

constexpr size_t kHeader = 48;
constexpr size_t kStreamChunk = 1 << 20;
constexpr int kExitUsage = 2;

struct Options {
  std::string mode = "rr";
  std::string dir = "read";
  std::string bs_text = "4k";
  unsigned qd = 1;
  std::string time_text = "3s";
  std::string ramp_text = "0.5s";
  uint64_t bs = 4096;
  uint64_t time_ns = 0;
  uint64_t ramp_ns = 0;
  int server_cpu = -1;  // rr: pin the server thread to this CPU (-1: leave it to the scheduler)
};

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "loopback-ceiling: {}: {}\n", what, std::strerror(errno));
  std::exit(1);
}

void set_nodelay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail("TCP_NODELAY");
}

// A connected pair over 127.0.0.1: {client, server}.
std::pair<int, int> connect_pair() {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0) fail("bind");
  if (listen(listener, 1) != 0) fail("listen");
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0) fail("socket");
  if (connect(client, reinterpret_cast<sockaddr*>(&addr), len) != 0) fail("connect");
  const int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (server < 0) fail("accept");
  close(listener);
  set_nodelay(client);
  set_nodelay(server);
  return {client, server};
}

// Sends every byte described by iov[0..n), advancing over partial writes.
void send_all(int fd, iovec* iov, size_t n) {
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = std::min<size_t>(n, IOV_MAX);
    ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      fail("sendmsg");
    }
    while (n > 0 && static_cast<size_t>(sent) >= iov->iov_len) {
      sent -= static_cast<ssize_t>(iov->iov_len);
      ++iov;
      --n;
    }
    if (n > 0 && sent > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + sent;
      iov->iov_len -= static_cast<size_t>(sent);
    }
  }
}

// Receives into buf[have..cap); returns the new fill, or 0 at end of stream.
size_t receive(int fd, std::vector<uint8_t>& buf, size_t have) {
  for (;;) {
    const ssize_t n = recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n > 0) return have + static_cast<size_t>(n);
    if (n == 0) return 0;
    if (errno != EINTR) fail("recv");
  }
}

// The server side of --mode rr: answers every complete request in what has arrived.
void rr_server(int fd, size_t request, size_t response_payload) {
  std::vector<uint8_t> rx(std::max<size_t>(256 * 1024, 4 * request));
  std::vector<uint8_t> payload(std::max<size_t>(response_payload, 1), 0x5a);
  std::vector<uint8_t> headers;
  std::vector<iovec> iov;
  size_t have = 0;
  for (;;) {
    const size_t filled = receive(fd, rx, have);
    if (filled == 0) break;
    const size_t complete = filled / request;
    headers.assign(rx.data(), rx.data() + 0);
    headers.resize(complete * kHeader);
    iov.clear();
    for (size_t i = 0; i < complete; ++i) {
      std::memcpy(headers.data() + i * kHeader, rx.data() + i * request, kHeader);
      iov.push_back(iovec{headers.data() + i * kHeader, kHeader});
      if (response_payload > 0) iov.push_back(iovec{payload.data(), response_payload});
    }
    have = filled - complete * request;
    std::memmove(rx.data(), rx.data() + complete * request, have);
    if (!iov.empty()) send_all(fd, iov.data(), iov.size());
  }
  close(fd);
}

struct RrResult {
  Histogram histogram;
  uint64_t ops = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t cpu_us = 0;
};

// The client side of --mode rr; a request's header carries its send time, echoed back.
RrResult rr_client(int fd, const Options& o, size_t request, size_t response) {
  RrResult r;
  std::vector<uint8_t> tx(request * o.qd, 0xa5);
  std::vector<uint8_t> rx(std::max<size_t>(response * o.qd, 256 * 1024));
  const auto stamp = [&](size_t i) {
    const uint64_t now = monotonic_ns();
    std::memcpy(tx.data() + i * request, &now, sizeof now);
  };
  for (size_t i = 0; i < o.qd; ++i) stamp(i);
  iovec first{tx.data(), tx.size()};
  send_all(fd, &first, 1);
  const uint64_t t0 = monotonic_ns();
  uint64_t cpu0 = 0;
  size_t outstanding = o.qd;
  size_t have = 0;
  bool measuring = false;
  bool stopping = false;
  while (outstanding > 0) {
    have = receive(fd, rx, have);
    if (have == 0) fail("server closed the connection");
    const size_t complete = have / response;
    const uint64_t now = monotonic_ns();
    if (!measuring && now - t0 >= o.ramp_ns) {
      measuring = true;
      r.start_ns = now;
      cpu0 = self_cpu_us();
    }
    if (measuring && !stopping && now - r.start_ns >= o.time_ns) {
      stopping = true;
      r.end_ns = now;
      r.cpu_us = self_cpu_us() - cpu0;
    }
    for (size_t i = 0; i < complete; ++i) {
      uint64_t sent = 0;
      std::memcpy(&sent, rx.data() + i * response, sizeof sent);
      if (measuring && !stopping) {
        r.histogram.record(now - sent);
        ++r.ops;
      }
      if (!stopping) stamp(i);
    }
    outstanding -= complete;
    have -= complete * response;
    std::memmove(rx.data(), rx.data() + complete * response, have);
    if (!stopping && complete > 0) {
      iovec again{tx.data(), complete * request};
      send_all(fd, &again, 1);
      outstanding += complete;
    }
  }
  shutdown(fd, SHUT_WR);
  return r;
}

nlohmann::ordered_json run_rr(const Options& o) {
  const bool read = o.dir == "read";
  const size_t request = kHeader + (read ? 0 : o.bs);
  const size_t response = kHeader + (read ? o.bs : 0);
  const auto [client, server] = connect_pair();
  std::thread server_thread(rr_server, server, request, read ? o.bs : 0);
  if (o.server_cpu >= 0) {
    // Like for like with a target whose network thread sits on one CPU (bench/compare pins
    // the QD 1 runs): where the client runs is the caller's choice (taskset).
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.server_cpu, &set);
    const int rc = pthread_setaffinity_np(server_thread.native_handle(), sizeof set, &set);
    if (rc != 0) {
      fmt::print(stderr, "loopback-ceiling: cannot pin the server to CPU {}: {}\n", o.server_cpu,
                 std::strerror(rc));
      std::exit(1);
    }
  }
  const RrResult r = rr_client(client, o, request, response);
  server_thread.join();
  close(client);
  const double seconds = static_cast<double>(r.end_ns - r.start_ns) / 1e9;
  const double iops = static_cast<double>(r.ops) / seconds;
  return nlohmann::ordered_json{
      {"mode", "rr"},
      {"dir", o.dir},
      {"bs", o.bs},
      {"qd", o.qd},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"ops", r.ops},
      {"iops", round1(iops)},
      {"mbps", round1(iops * static_cast<double>(o.bs) / 1e6)},
      {"lat_us", latency_json(r.histogram)},
      {"cpu_us_per_op", std::round(static_cast<double>(r.cpu_us) / static_cast<double>(r.ops) * 100) / 100}};
}

nlohmann::ordered_json run_stream(const Options& o) {
  const auto [client, server] = connect_pair();
  std::atomic<bool> stop{false};
  std::thread sender([fd = client, &stop] {
    std::vector<uint8_t> chunk(kStreamChunk, 0xa5);
    while (!stop.load(std::memory_order_relaxed)) {
      iovec iov{chunk.data(), chunk.size()};
      send_all(fd, &iov, 1);
    }
    shutdown(fd, SHUT_WR);
  });
  std::vector<uint8_t> rx(kStreamChunk);
  const uint64_t t0 = monotonic_ns();
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t bytes = 0;
  uint64_t cpu0 = 0;
  uint64_t cpu = 0;
  for (;;) {
    const size_t n = receive(server, rx, 0);
    if (n == 0) break;
    const uint64_t now = monotonic_ns();
    if (start == 0 && now - t0 >= o.ramp_ns) {
      start = now;
      cpu0 = self_cpu_us();
    } else if (start != 0 && end == 0) {
      bytes += n;
      if (now - start >= o.time_ns) {
        end = now;
        cpu = self_cpu_us() - cpu0;
        stop.store(true);
      }
    }
  }
  sender.join();
  close(client);
  close(server);
  const double seconds = static_cast<double>(end - start) / 1e9;
  return nlohmann::ordered_json{
      {"mode", "stream"},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"bytes", bytes},
      {"mbps", round1(static_cast<double>(bytes) / seconds / 1e6)},
      {"cpu_us_per_mb", std::round(static_cast<double>(cpu) / (static_cast<double>(bytes) / 1e6) * 100) / 100}};
}

[[noreturn]] void usage_error(const std::string& sentence) {
  fmt::print(stderr, "loopback-ceiling: {}\n", sentence);
  std::exit(kExitUsage);
}

Options parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"loopback-ceiling: loopback TCP request/response and bulk stream yardstick"};
  app.add_option("--mode", o.mode, "rr (request/response) or stream (bulk) (default rr)");
  app.add_option("--dir", o.dir, "rr: read (payload in the response) or write (in the request)");
  app.add_option("--bs", o.bs_text, "rr: payload bytes, e.g. 4k, 128k (default 4k)");
  app.add_option("--qd", o.qd, "rr: requests outstanding (default 1)");
  app.add_option("--time", o.time_text, "Measured duration (default 3s)");
  app.add_option("--server-cpu", o.server_cpu,
                 "rr: pin the server thread to this CPU (default: not pinned)");
  app.add_option("--ramp", o.ramp_text, "Warm-up excluded from the results (default 0.5s)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    usage_error(fmt::format("{} (see --help).", e.what()));
  }
  if (o.mode != "rr" && o.mode != "stream") usage_error("--mode must be rr or stream.");
  if (o.dir != "read" && o.dir != "write") usage_error("--dir must be read or write.");
  const auto bs = parse_size(o.bs_text);
  if (!bs || *bs > 16 * 1024 * 1024) usage_error("--bs must be a size up to 16m, such as 4k.");
  o.bs = *bs;
  if (o.qd == 0 || o.qd > 1024) usage_error("--qd must be between 1 and 1024.");
  if (o.server_cpu < -1 || o.server_cpu >= CPU_SETSIZE) {
    usage_error(fmt::format("--server-cpu must be a CPU number below {}.", CPU_SETSIZE));
  }
  const auto t = parse_duration_ns(o.time_text);
  if (!t || *t == 0) usage_error("--time must be a duration such as 3s.");
  o.time_ns = *t;
  const auto ramp = parse_duration_ns(o.ramp_text);
  if (!ramp) usage_error("--ramp must be a duration such as 0.5s.");
  o.ramp_ns = *ramp;
  return o;
}

}  // namespace
}  // namespace stgt::bench

int main(int argc, char** argv) {
  const auto options = stgt::bench::parse_options(argc, argv);
  const auto json = options.mode == "rr" ? stgt::bench::run_rr(options)
                                         : stgt::bench::run_stream(options);
  fmt::print("{}\n", json.dump());
  return 0;
}
