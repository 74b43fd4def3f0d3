#include "mgmt/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/log.h"

namespace stgt::mgmt {

namespace {

struct Client {
  base::UniqueFd fd;
  std::string in;
  std::string out;
  size_t out_sent = 0;
  bool closing = false;  // close once `out` is written
};

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), std::min(path.size(), sizeof(a.sun_path) - 1));
  return a;
}

// True when a daemon already answers at `path`.
bool someone_listens(const std::string& path) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  const sockaddr_un a = unix_address(path);
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

bool peer_allowed(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == 0 || cred.uid == ::geteuid();
}

}  // namespace

ControlSocket::~ControlSocket() { stop(); }

base::Result<void, std::string> ControlSocket::start(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return base::unexpected("control socket path " + path + " is too long");
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return base::unexpected("cannot create " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  if (std::filesystem::exists(path, ec)) {
    if (someone_listens(path)) {
      return base::unexpected("another daemon already listens on " + path);
    }
    ::unlink(path.c_str());  // stale, from a daemon that did not exit cleanly
  }
  listener_ = base::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) return base::unexpected(std::string("socket: ") + std::strerror(errno));
  const sockaddr_un a = unix_address(path);
  // The file is born 0600: nobody else can connect between bind() and chmod().
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    return base::unexpected("cannot bind control socket " + path + ": " + std::strerror(bind_errno));
  }
  if (::listen(listener_.get(), 16) != 0) {
    return base::unexpected(std::string("listen: ") + std::strerror(errno));
  }
  wake_ = base::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  path_ = path;
  thread_ = std::thread([this] { run(); });
  return {};
}

void ControlSocket::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
  thread_.join();
  listener_.reset();
  ::unlink(path_.c_str());
}

void ControlSocket::run() {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const Client& c : clients) {
      const short events = c.out_sent < c.out.size() ? POLLOUT : (c.closing ? 0 : POLLIN);
      fds.push_back({c.fd.get(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      STGT_LOG_ERROR("control socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    // Only the clients polled above have an entry in `fds`; ones accepted below wait for the
    // next round.
    const size_t polled = clients.size();
    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        base::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr,
                                    SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) break;
        if (!peer_allowed(fd.get())) {
          STGT_LOG_WARN("control socket: connection from a user other than root or ours refused");
          continue;
        }
        if (clients.size() >= kMaxClients) {
          STGT_LOG_WARN("control socket: {} clients connected, refusing another", kMaxClients);
          continue;
        }
        clients.push_back(Client{std::move(fd), {}, {}, 0, false});
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      Client& c = clients[i];
      const short re = fds[2 + i].revents;
      if ((re & (POLLIN | POLLHUP | POLLERR)) != 0 && !c.closing) {
        char buf[65536];
        for (;;) {
          const ssize_t n = ::read(c.fd.get(), buf, sizeof(buf));
          if (n > 0) {
            c.in.append(buf, size_t(n));
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) c.closing = true;
          break;
        }
        size_t nl;
        while ((nl = c.in.find('\n')) != std::string::npos) {
          const std::string response = dispatcher_.handle(std::string_view(c.in).substr(0, nl));
          c.in.erase(0, nl + 1);
          if (!response.empty()) c.out += response + "\n";
        }
        if (c.in.size() > kMaxRequest) {
          c.out += dispatcher_.handle("") + "\n";  // a parse error; then the client goes
          c.in.clear();
          c.closing = true;
        }
      }
      while (c.out_sent < c.out.size()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                                 MSG_NOSIGNAL);
        if (n > 0) {
          c.out_sent += size_t(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c.closing = true;
        c.out.clear();
        c.out_sent = 0;
        break;
      }
      if (c.out_sent == c.out.size()) {
        c.out.clear();
        c.out_sent = 0;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.closing && c.out.empty(); });
  }
}

}  // namespace stgt::mgmt
