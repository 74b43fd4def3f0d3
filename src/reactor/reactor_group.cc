#include "reactor/reactor_group.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"

namespace stgt::reactor {

base::Result<std::unique_ptr<ReactorGroup>, std::string> ReactorGroup::start(unsigned count,
                                                                             IoBackend wanted) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (count == 0) count = cores;
  IoBackend backend = wanted;
  std::vector<std::unique_ptr<Reactor>> reactors;
  for (unsigned i = 0; i < count; ++i) {
    std::unique_ptr<Reactor> r = Reactor::create(backend, i);
    if (r == nullptr && backend == IoBackend::kUring && i == 0) {
      // The decision is made once, on the first reactor, so all of them match.
      STGT_LOG_WARN("io_uring is unavailable; falling back to epoll");
      backend = IoBackend::kEpoll;
      r = Reactor::create(backend, i);
    }
    if (r == nullptr) {
      return base::unexpected(fmt::format("cannot create reactor {} ({})", i, to_string(backend)));
    }
    reactors.push_back(std::move(r));
  }
  std::unique_ptr<ReactorGroup> group(new ReactorGroup(backend));
  group->reactors_ = std::move(reactors);
  group->launch(count <= cores);
  STGT_LOG_INFO("started {} reactor(s) on {}", count, to_string(backend));
  return group;
}

void ReactorGroup::launch(bool pin) {
  for (unsigned i = 0; i < reactors_.size(); ++i) {
    Reactor* r = reactors_[i].get();
    threads_.emplace_back([r, i] {
      base::set_thread_log_tag(fmt::format("r{}", i));
      r->run();
    });
    const std::string name = fmt::format("stgt-r{}", i);
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
    if (pin) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(i, &set);
      const int rc = pthread_setaffinity_np(threads_.back().native_handle(), sizeof set, &set);
      // Pinning is an optimisation: a restricted cpuset is not an error.
      if (rc != 0) STGT_LOG_DEBUG("cannot pin reactor {} to cpu {}: {}", i, i, std::strerror(rc));
    }
  }
}

void ReactorGroup::stop() {
  for (auto& r : reactors_)
    r->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

ReactorGroup::~ReactorGroup() {
  stop();
}

}  // namespace stgt::reactor
