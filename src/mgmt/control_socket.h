// ControlSocket: the Unix stream socket stgtadm talks to. Newline-delimited JSON-RPC 2.0
// (mgmt/json_rpc.h), one response line per request line, in order.
//
// Security: the socket file is created with mode 0600 inside a directory we create 0700 if
// missing; every connection's peer credentials (SO_PEERCRED) are checked and only root or the
// daemon's own user is served — a stranger's connection is closed without an answer.
//
// Threads: one thread of its own polls the listener and the clients and runs the dispatcher,
// so a slow method never stalls a reactor, and at most one method runs at a time.
// Bounds: at most kMaxClients connections and kMaxRequest bytes per request line.
#pragma once

#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "mgmt/json_rpc.h"

namespace stgt::mgmt {

class ControlSocket {
 public:
  static constexpr size_t kMaxClients = 64;
  static constexpr size_t kMaxRequest = 16u << 20;

  explicit ControlSocket(const Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Binds `path` (replacing a stale socket file nobody listens on; refusing when another
  // daemon answers there) and starts the thread.
  base::Result<void, std::string> start(const std::string& path);
  // Stops the thread, closes every client and removes the socket file.
  void stop();

 private:
  void run();

  const Dispatcher& dispatcher_;
  std::string path_;
  base::UniqueFd listener_;
  base::UniqueFd wake_;  // eventfd: stop()
  std::thread thread_;
};

}  // namespace stgt::mgmt
