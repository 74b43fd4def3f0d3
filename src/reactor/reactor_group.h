// ReactorGroup: N reactors, each running on its own thread ("stgt-r<i>", log tag "r<i>",
// pinned to CPU i when there are no more reactors than CPUs).
//
// Ownership: the group owns its reactors and threads. start() and stop() are called by the
// thread that owns the group (not by a reactor of the group); stop() stops every reactor,
// joins its thread and is idempotent; the destructor calls it. Reactors stay alive (but no
// longer run) until the group is destroyed.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "reactor/reactor.h"

namespace stgt::reactor {

class ReactorGroup {
 public:
  // Starts `count` reactors (0: one per hardware thread). If `wanted` is io_uring and it
  // cannot be set up, every reactor uses epoll instead and a warning is logged.
  static base::Result<std::unique_ptr<ReactorGroup>, std::string> start(
      unsigned count = 0, IoBackend wanted = IoBackend::kUring);

  ~ReactorGroup();
  ReactorGroup(const ReactorGroup&) = delete;
  ReactorGroup& operator=(const ReactorGroup&) = delete;

  Reactor& at(unsigned i) { return *reactors_.at(i); }
  unsigned size() const { return unsigned(reactors_.size()); }
  IoBackend backend() const { return backend_; }

  void stop();

 private:
  explicit ReactorGroup(IoBackend backend) : backend_(backend) {}
  void launch(bool pin);

  IoBackend backend_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
};

}  // namespace stgt::reactor
