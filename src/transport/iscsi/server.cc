#include "transport/iscsi/server.h"

#include <algorithm>
#include <thread>

#include "base/log.h"
#include "net/socket_address.h"
#include "net/socket_options.h"
#include "net/tcp_listener.h"
#include "reactor/reactor_group.h"
#include "transport/iscsi/connection.h"

namespace stgt::iscsi {

uint16_t SessionRegistry::add(const std::string& initiator, uint64_t isid,
                              const std::string& target, uint16_t tpgt, reactor::Reactor* r,
                              std::weak_ptr<Connection> c, std::optional<Entry>& replaced) {
  std::lock_guard lock(mu_);
  Key key{initiator, isid, target, tpgt};
  if (auto it = by_port_.find(key); it != by_port_.end()) {
    replaced = it->second;
    by_tsih_.erase(it->second.tsih);
    by_port_.erase(it);
  }
  // TSIH 0 is reserved (RFC 7143 11.12.6); skip values still in use.
  uint16_t tsih = next_tsih_;
  while (tsih == 0 || by_tsih_.count(tsih) != 0) ++tsih;
  next_tsih_ = uint16_t(tsih + 1);
  by_port_[key] = Entry{tsih, r, std::move(c)};
  by_tsih_[tsih] = key;
  return tsih;
}

void SessionRegistry::remove(uint16_t tsih) {
  std::lock_guard lock(mu_);
  auto it = by_tsih_.find(tsih);
  if (it == by_tsih_.end()) return;
  by_port_.erase(it->second);
  by_tsih_.erase(it);
}

bool SessionRegistry::exists(uint16_t tsih) const {
  std::lock_guard lock(mu_);
  return by_tsih_.count(tsih) != 0;
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return by_tsih_.size();
}

struct IscsiServer::Listener {
  net::TcpListener socket;
  uint16_t group_tag;
  std::string address;
};

IscsiServer::IscsiServer(reactor::ReactorGroup& reactors, IscsiSettings settings)
    : reactors_(reactors), shared_(std::make_shared<ServerShared>()) {
  shared_->settings = settings;
  shared_->settings.limits = sanitize(settings.limits);
  shared_->connections.resize(reactors.size());
}

IscsiServer::~IscsiServer() { shutdown(); }

base::Result<void, std::string> IscsiServer::add_portal(const std::string& address,
                                                        uint16_t group_tag) {
  auto addr = net::SocketAddress::parse(address);
  if (!addr) return base::unexpected(fmt::format("portal {}: {}", address, addr.error()));
  auto sock = net::TcpListener::listen(*addr);
  if (!sock) return base::unexpected(sock.error());
  auto l = std::make_unique<Listener>(
      Listener{std::move(sock).value(), group_tag, std::string()});
  l->address = l->socket.address().to_string();
  STGT_LOG_INFO("portal {} (group {}) bound", l->address, group_tag);
  Listener* raw = l.get();
  bool accept_now = false;
  {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(l));
    accept_now = started_;  // else start() will
  }
  if (accept_now) start_listener(raw);
  return {};
}

// Runs the accept loop of `l` on reactor 0; returns once it is watched.
void IscsiServer::start_listener(Listener* l) {
  reactor::Reactor& r0 = reactors_.at(0);
  std::promise<void> started;
  r0.post([this, &r0, &started, l] {
    l->socket.start_accepting(r0, [this, l](net::TcpListener::Accepted a) {
      accept_one(*l, std::move(a.fd), a.peer.to_string());
    });
    started.set_value();
  });
  started.get_future().wait();
}

bool IscsiServer::remove_portal(const std::string& address) {
  std::unique_ptr<Listener> gone;
  {
    std::lock_guard lock(listeners_mu_);
    const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                                 [&](const auto& l) { return l->address == address; });
    if (it == listeners_.end()) return false;
    gone = std::move(*it);
    listeners_.erase(it);
  }
  // The accept handler runs on reactor 0 and points at the listener: stop it there, and let
  // the listener die there too, after its last handler call.
  std::promise<void> stopped;
  reactors_.at(0).post([l = gone.release(), &stopped] {
    l->socket.stop_accepting();
    delete l;
    stopped.set_value();
  });
  stopped.get_future().wait();
  STGT_LOG_INFO("portal {} removed", address);
  return true;
}

void IscsiServer::start() {
  std::vector<Listener*> ls;
  {
    std::lock_guard lock(listeners_mu_);
    for (auto& l : listeners_)
      ls.push_back(l.get());
    started_ = true;
  }
  for (Listener* l : ls)
    start_listener(l);
}

unsigned IscsiServer::reactor_count() const {
  return reactors_.size();
}

reactor::Reactor& IscsiServer::reactor_at(unsigned i) {
  return reactors_.at(i);
}

std::vector<PortalInfo> IscsiServer::portals() const {
  std::lock_guard lock(listeners_mu_);
  std::vector<PortalInfo> out;
  for (const auto& l : listeners_) out.push_back({l->address, l->group_tag});
  return out;
}

void IscsiServer::publish(std::shared_ptr<const Catalog> catalog) {
  shared_->catalog.publish(std::move(catalog));
}

// Runs on reactor 0: hands the socket to the next reactor round-robin.
void IscsiServer::accept_one(Listener& l, base::UniqueFd fd, std::string peer) {
  (void)net::set_tcp_nodelay(fd.get());
  const unsigned target = next_reactor_.fetch_add(1) % reactors_.size();
  reactor::Reactor& r = reactors_.at(target);
  const uint64_t id = shared_->next_connection_id.fetch_add(1);
  // std::function needs a copyable callable: carry the fd as a plain int.
  const int raw_fd = fd.release();
  r.post([shared = shared_, &r, raw_fd, id, local = l.address, peer = std::move(peer),
          tag = l.group_tag] {
    auto conn = std::make_shared<Connection>(r, base::UniqueFd(raw_fd), shared, id, local, peer,
                                             tag);
    shared->connections[r.id()][id] = conn;
    conn->start();
  });
}

void IscsiServer::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  std::unique_lock lock(listeners_mu_);
  if (!listeners_.empty()) {
    std::promise<void> stopped;
    reactors_.at(0).post([this, &stopped] {
      for (auto& l : listeners_) l->socket.stop_accepting();
      stopped.set_value();
    });
    stopped.get_future().wait();
  }
  lock.unlock();
  // Close every connection on its own reactor, then wait (bounded) for in-flight commands.
  for (unsigned i = 0; i < reactors_.size(); ++i) {
    reactors_.at(i).post([shared = shared_, i] {
      std::vector<std::shared_ptr<Connection>> conns;
      for (auto& [id, c] : shared->connections[i]) conns.push_back(c);
      for (auto& c : conns) c->close("target shutting down");
    });
  }
  for (int waited_ms = 0; waited_ms < 5000; waited_ms += 10) {
    bool empty = true;
    for (unsigned i = 0; i < reactors_.size() && empty; ++i) {
      std::promise<bool> p;
      reactors_.at(i).post([shared = shared_, i, &p] { p.set_value(shared->connections[i].empty()); });
      empty = p.get_future().get();
    }
    if (empty) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Whatever is left holds commands that never ended: name them.
  for (unsigned i = 0; i < reactors_.size(); ++i) {
    std::promise<void> done;
    reactors_.at(i).post([shared = shared_, i, &done] {
      for (const auto& [id, c] : shared->connections[i]) {
        STGT_LOG_WARN("shutdown: connection {} from {} ({}) still has {} commands in the SCSI "
                      "layer", id, c->peer_address(), c->closed() ? "closed" : "open",
                      c->busy_tasks());
      }
      done.set_value();
    });
    done.get_future().wait();
  }
  lock.lock();
  listeners_.clear();
}

std::vector<SessionInfo> IscsiServer::sessions() {
  std::vector<SessionInfo> out;
  for (unsigned i = 0; i < reactors_.size(); ++i) {
    std::promise<std::vector<SessionInfo>> p;
    reactors_.at(i).post([shared = shared_, i, &p] {
      std::vector<SessionInfo> here;
      for (const auto& [id, c] : shared->connections[i]) {
        if (auto info = c->session_info()) here.push_back(std::move(*info));
      }
      p.set_value(std::move(here));
    });
    std::vector<SessionInfo> here = p.get_future().get();
    out.insert(out.end(), std::make_move_iterator(here.begin()),
               std::make_move_iterator(here.end()));
  }
  std::sort(out.begin(), out.end(),
            [](const SessionInfo& a, const SessionInfo& b) { return a.tsih < b.tsih; });
  return out;
}

size_t IscsiServer::close_sessions(const std::function<bool(const SessionInfo&)>& select,
                                   std::chrono::seconds logout_after, const std::string& why) {
  size_t closed = 0;
  for (unsigned i = 0; i < reactors_.size(); ++i) {
    std::promise<size_t> p;
    reactors_.at(i).post([shared = shared_, i, &p, &select, logout_after, &why] {
      std::vector<std::shared_ptr<Connection>> picked;
      for (const auto& [id, c] : shared->connections[i]) {
        if (auto info = c->session_info(); info && select(*info)) picked.push_back(c);
      }
      for (const auto& c : picked) {
        if (logout_after.count() > 0) {
          c->request_logout(logout_after, why);
        } else {
          c->close(why);
        }
      }
      p.set_value(picked.size());
    });
    closed += p.get_future().get();
  }
  return closed;
}

}  // namespace stgt::iscsi
