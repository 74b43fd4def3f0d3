#include "reactor/reactor_core.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace stgt::reactor {

ReactorCore::ReactorCore(unsigned id) : Reactor(id) {}

ReactorCore::~ReactorCore() = default;

bool ReactorCore::init_wakeup() {
  wakeup_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  return wakeup_fd_.valid();
}

void ReactorCore::drain_wakeup() {
  uint64_t value = 0;
  while (::read(wakeup_fd_.get(), &value, sizeof value) > 0) {
  }
}

void ReactorCore::run() {
  set_current(this);
  while (!stopping_.load(std::memory_order_acquire)) {
    poll_once(next_timeout());  // stamps the loop time after its wait
    run_timers(loop_time_);
    run_posted();
    run_deferred();
    release_retired();
  }
  set_current(nullptr);
}

void ReactorCore::stamp_loop_time() {
  loop_time_ = Clock::now();
  loop_time_ns_ = uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(loop_time_.time_since_epoch()).count());
}

void ReactorCore::stop() {
  stopping_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wakeup_fd_.get(), &one, sizeof one);
}

void ReactorCore::post(std::function<void()> fn) {
  bool was_empty = false;
  {
    std::lock_guard lock(post_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  post_pending_.store(true, std::memory_order_release);
  // Only the first post after a drain needs to wake the loop: the drain takes everything.
  if (was_empty) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wakeup_fd_.get(), &one, sizeof one);
  }
}

void ReactorCore::run_posted() {
  if (!post_pending_.exchange(false, std::memory_order_acq_rel)) return;
  {
    std::lock_guard lock(post_mu_);
    running_.swap(posted_);
  }
  for (auto& fn : running_)
    fn();
  running_.clear();  // keeps its capacity: steady state allocates nothing
}

void ReactorCore::defer(Deferred& d) {
  if (d.queued_) return;
  d.queued_ = true;
  deferred_.push_back(&d);  // keeps its capacity: steady state allocates nothing
}

void ReactorCore::cancel_deferred(Deferred& d) {
  if (!d.queued_) return;
  d.queued_ = false;
  std::replace(deferred_.begin(), deferred_.end(), &d, static_cast<Deferred*>(nullptr));
}

void ReactorCore::run_deferred() {
  // By index: a deferred function may defer more work, which runs in this same pass.
  for (size_t i = 0; i < deferred_.size(); ++i) {
    Deferred* d = deferred_[i];
    if (d == nullptr) continue;
    deferred_[i] = nullptr;
    d->queued_ = false;
    d->run_deferred();
  }
  deferred_.clear();
}

TimerId ReactorCore::add_timer(std::chrono::milliseconds after, bool periodic,
                               std::function<void()> fn) {
  const uint64_t id = next_timer_id_++;
  const auto due = Clock::now() + after;
  timers_.emplace(id, Timer{due, after, periodic, std::move(fn)});
  timer_queue_.emplace(due, id);
  return TimerId{id};
}

void ReactorCore::cancel_timer(TimerId id) {
  const auto it = timers_.find(id.value);
  if (it == timers_.end()) return;
  timer_queue_.erase({it->second.due, id.value});
  timers_.erase(it);
}

void ReactorCore::run_timers(Clock::time_point now) {
  if (timer_queue_.empty()) return;
  // Timers added by a callback with zero delay wait for the next iteration, so a periodic
  // 0 ms timer cannot starve the loop.
  auto& due = due_timers_;
  due.clear();
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now) {
    due.push_back(timer_queue_.extract(timer_queue_.begin()));
  }
  for (auto& node : due) {
    const uint64_t id = node.value().second;
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    std::function<void()> fn = std::move(it->second.fn);
    const bool periodic = it->second.periodic;
    if (!periodic) timers_.erase(it);
    fn();
    if (!periodic) continue;
    it = timers_.find(id);  // the callback may have cancelled it
    if (it == timers_.end()) continue;
    it->second.fn = std::move(fn);
    it->second.due = std::max(it->second.due + it->second.period, now);
    node.value().first = it->second.due;
    timer_queue_.insert(std::move(node));
  }
  due.clear();
}

std::chrono::nanoseconds ReactorCore::next_timeout() {
  if (stopping_.load(std::memory_order_relaxed) || post_pending_.load(std::memory_order_acquire) ||
      !deferred_.empty()) {
    return std::chrono::nanoseconds(0);
  }
  if (timer_queue_.empty()) return std::chrono::nanoseconds(-1);
  const auto left = timer_queue_.begin()->first - Clock::now();
  return std::max(std::chrono::duration_cast<std::chrono::nanoseconds>(left),
                  std::chrono::nanoseconds(0));
}

WatchId ReactorCore::add_watch(int fd, uint32_t events, FdHandler handler) {
  uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = uint32_t(watches_.size());
    watches_.emplace_back();
  }
  Watch& w = watches_[slot];
  w.fd = fd;
  w.events = events;
  w.active = true;
  w.handler = std::move(handler);
  return WatchId{uint64_t(w.generation) << 32 | slot};
}

WatchId ReactorCore::add_stream_watch(int fd, StreamHandler handler) {
  const WatchId id = add_watch(fd, 0, nullptr);
  watches_[slot_of(id.value)].stream = std::move(handler);
  return id;
}

ReactorCore::Watch* ReactorCore::find_watch(uint64_t id) {
  const uint32_t slot = slot_of(id);
  if (slot >= watches_.size()) return nullptr;
  Watch& w = watches_[slot];
  if (!w.active || w.generation != generation_of(id)) return nullptr;
  return &w;
}

ReactorCore::Watch* ReactorCore::remove_watch(uint64_t id) {
  Watch* w = find_watch(id);
  if (w == nullptr) return nullptr;
  w->active = false;
  w->generation = (w->generation + 1) & ((1u << kGenerationBits) - 1);
  if (w->generation == 0) w->generation = 1;
  // The handler may be the one running now: it is destroyed only after the iteration.
  retired_slots_.push_back(slot_of(id));
  return w;
}

void ReactorCore::release_retired() {
  for (const uint32_t slot : retired_slots_) {
    watches_[slot].handler = nullptr;
    watches_[slot].stream = nullptr;
    free_slots_.push_back(slot);
  }
  retired_slots_.clear();
}

void ReactorCore::dispatch(uint64_t id, uint32_t events) {
  Watch* w = find_watch(id);
  if (w == nullptr || events == 0) return;
  // The handler object stays in place even if it unwatches itself (see remove_watch).
  w->handler(events);
}

}  // namespace stgt::reactor

namespace stgt::reactor {

void ReactorCore::dispatch_stream(uint64_t id, std::span<const uint8_t> data, int error) {
  Watch* w = find_watch(id);
  if (w == nullptr || !w->stream) return;
  w->stream(data, error);
}

}  // namespace stgt::reactor
