#include "mgmt/metrics_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "mgmt/prometheus.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"

namespace stgt::mgmt {

namespace {

struct Client {
  base::UniqueFd fd;
  std::string in;
  std::string out;
  size_t out_sent = 0;
  bool answered = false;
  std::chrono::steady_clock::time_point deadline;
};

std::string http_response(int code, std::string_view reason, std::string_view type,
                          std::string_view body) {
  return fmt::format(
      "HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, reason, type, body.size(), body);
}

}  // namespace

MetricsServer::~MetricsServer() {
  stop();
}

base::Result<void, std::string> MetricsServer::start(const std::string& address) {
  auto addr = net::SocketAddress::parse(address, 9540);
  if (!addr) return base::unexpected("metrics_listen " + address + ": " + addr.error());
  auto listener = net::TcpListener::listen(*addr);
  if (!listener) return base::unexpected(listener.error());
  address_ = listener->address().to_string();
  // The listener object is only a way to bind; keep its fd.
  listener_ = base::UniqueFd(::dup(listener->fd()));
  if (!listener_.valid()) return base::unexpected(std::string("dup: ") + std::strerror(errno));
  ::fcntl(listener_.get(), F_SETFD, FD_CLOEXEC);
  wake_ = base::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return base::unexpected(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  STGT_LOG_INFO("metrics on http://{}/metrics", address_);
  return {};
}

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
  listener_ = base::UniqueFd();
}

std::string MetricsServer::respond(std::string_view head) const {
  const size_t line_end =
      head.find("\r\n") != std::string_view::npos ? head.find("\r\n") : head.find('\n');
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return http_response(400, "Bad Request", "text/plain", "not an HTTP/1.x request\n");
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path != "/metrics") return http_response(404, "Not Found", "text/plain", "try /metrics\n");
  if (method != "GET" && method != "HEAD") {
    return http_response(405, "Method Not Allowed", "text/plain", "only GET\n");
  }
  const std::string body = render_();
  std::string r = http_response(200, "OK", kPrometheusContentType, body);
  if (method == "HEAD") r.resize(r.size() - body.size());
  return r;
}

void MetricsServer::run() {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds{{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    for (const Client& c : clients) {
      fds.push_back({c.fd.get(), short(c.answered ? POLLOUT : POLLIN), 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      STGT_LOG_ERROR("metrics: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    const auto now = std::chrono::steady_clock::now();
    // Only clients polled this round are looked at (accepted ones join the next round).
    const size_t polled = clients.size();
    for (size_t i = 0; i < polled; ++i) {
      Client& c = clients[i];
      const short ev = fds[i + 2].revents;
      if (!c.answered && (ev & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[2048];
        const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n <= 0) {
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) c.fd = base::UniqueFd();
          continue;
        }
        c.in.append(buf, size_t(n));
        const size_t end =
            c.in.find("\r\n\r\n") != std::string::npos ? c.in.find("\r\n\r\n") : c.in.find("\n\n");
        if (end != std::string::npos) {
          c.out = respond(std::string_view(c.in).substr(0, end + 2));
          c.answered = true;
        } else if (c.in.size() > kMaxRequest) {
          c.out = http_response(400, "Bad Request", "text/plain", "request too large\n");
          c.answered = true;
        }
      }
      if (c.answered && c.fd.valid()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) c.out_sent += size_t(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || c.out_sent == c.out.size()) {
          c.fd = base::UniqueFd();
        }
      }
      if (c.fd.valid() && now > c.deadline) c.fd = base::UniqueFd();  // too slow
    }
    std::erase_if(clients, [](const Client& c) { return !c.fd.valid(); });
    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        base::UniqueFd owned(fd);
        if (clients.size() >= kMaxClients) continue;  // closed: the scraper retries
        clients.push_back(Client{std::move(owned), {}, {}, 0, false, now + kClientTimeout});
      }
    }
  }
}

}  // namespace stgt::mgmt
