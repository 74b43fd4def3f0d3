// MetricsServer: a minimal HTTP/1.0 responder for Prometheus. GET /metrics answers the text
// exposition format (mgmt/prometheus.h); any other path gets 404, any other method 405, a
// request that is not HTTP or whose head exceeds kMaxRequest bytes gets 400. Every response
// closes the connection (HTTP/1.0).
//
// Threads: one thread of its own polls the listener and the clients; nothing it does touches
// a reactor directly. The page is built by `render` on this thread (the daemon passes a call
// of stats.get through the Dispatcher, which serialises it with the control socket's methods).
// A slow client costs one slot: sockets are non-blocking, at most kMaxClients are served at
// once (more are closed at accept), and a client that has not sent its request and taken its
// answer within kClientTimeout is dropped.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"

namespace stgt::mgmt {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  static constexpr size_t kMaxClients = 32;
  static constexpr size_t kMaxRequest = 8192;
  static constexpr std::chrono::seconds kClientTimeout{10};

  explicit MetricsServer(Render render) : render_(std::move(render)) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds `address` ("127.0.0.1:9540", "[::1]:9540"; port 0 picks one) and starts the thread.
  // Errors are one sentence ("cannot bind 127.0.0.1:9540: Address already in use").
  base::Result<void, std::string> start(const std::string& address);
  // The address actually bound (after start()).
  const std::string& address() const { return address_; }
  // Stops the thread and closes every client.
  void stop();

  // The response to one request head (exposed for tests): status line, headers, body.
  std::string respond(std::string_view head) const;

 private:
  void run();

  Render render_;
  std::string address_;
  base::UniqueFd listener_;
  base::UniqueFd wake_;  // eventfd: stop()
  std::thread thread_;
};

}  // namespace stgt::mgmt
