// ReactorCore: what both backends share — the run loop skeleton, the post queue (mutex +
// vector swap + eventfd wake-up), timers, and the watch table.
//
// Threads: everything here runs on the reactor's thread except post() and stop(), which
// any thread may call. Watch ids carry a generation (WatchId = gen << 32 | slot), so an
// event already fetched for an unwatched fd — even one in the batch being dispatched — is
// recognised as stale and dropped; handlers are never reached through raw pointers.
// A retired slot keeps its handler (untouched, at a stable address: the table is a deque)
// until the end of the loop iteration, so a handler may unwatch itself or add watches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "reactor/reactor.h"

namespace stgt::reactor {

class ReactorCore : public Reactor {
 public:
  ~ReactorCore() override;

  void run() final;
  void stop() final;
  void post(std::function<void()> fn) final;
  TimerId add_timer(std::chrono::milliseconds after, bool periodic, std::function<void()> fn) final;
  void cancel_timer(TimerId id) final;
  void defer(Deferred& d) final;
  void cancel_deferred(Deferred& d) final;

 protected:
  using Clock = std::chrono::steady_clock;
  static constexpr uint32_t kGenerationBits = 24;  // leaves room for a tag in uring user_data

  explicit ReactorCore(unsigned id);
  // Creates the wake-up eventfd; false (with errno) on failure.
  bool init_wakeup();
  int wakeup_fd() const { return wakeup_fd_.get(); }
  // Drains the wake-up eventfd (called by the backend when it is readable).
  void drain_wakeup();

  // One backend iteration: submit what is queued, wait at most `timeout` (negative: no
  // limit, zero: poll), call stamp_loop_time(), and dispatch what arrived.
  virtual void poll_once(std::chrono::nanoseconds timeout) = 0;
  // Reads the clock once for the iteration (Reactor::loop_time_ns, the timers' "now").
  void stamp_loop_time();

  struct Watch {
    int fd = -1;
    uint32_t events = 0;
    uint32_t generation = 1;
    bool active = false;
    FdHandler handler;
    StreamHandler stream;  // watch_stream
  };
  // Reserves a slot and returns its id; the backend arms the fd.
  WatchId add_watch(int fd, uint32_t events, FdHandler handler);
  WatchId add_stream_watch(int fd, StreamHandler handler);
  // The live watch for `id`, or null if it was unwatched (stale id).
  Watch* find_watch(uint64_t id);
  // Retires the slot: its handler is destroyed at the end of the iteration. Returns the
  // watch as it was (for the backend to disarm), or null if already stale.
  Watch* remove_watch(uint64_t id);
  // Calls the handler of `id` if it is still live.
  void dispatch(uint64_t id, uint32_t events);
  // Calls the stream handler of `id` if it is still live.
  void dispatch_stream(uint64_t id, std::span<const uint8_t> data, int error);

  static uint32_t slot_of(uint64_t id) { return uint32_t(id); }
  static uint32_t generation_of(uint64_t id) { return uint32_t(id >> 32); }

 private:
  void run_posted();
  void run_timers(Clock::time_point now);
  void run_deferred();
  std::chrono::nanoseconds next_timeout();

  Clock::time_point loop_time_{};
  base::UniqueFd wakeup_fd_;
  std::atomic<bool> stopping_{false};

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
  std::vector<std::function<void()>> running_;
  std::atomic<bool> post_pending_{false};

  struct Timer {
    Clock::time_point due;
    std::chrono::milliseconds period{0};
    bool periodic = false;
    std::function<void()> fn;
  };
  uint64_t next_timer_id_ = 1;
  std::map<uint64_t, Timer> timers_;
  using TimerQueue = std::set<std::pair<Clock::time_point, uint64_t>>;
  TimerQueue timer_queue_;
  // Due entries are extracted as node handles and a periodic timer's node is re-inserted with
  // its next due time, so a 1 s connection timer costs no allocation per tick.
  std::vector<TimerQueue::node_type> due_timers_;

  void release_retired();

  std::vector<Deferred*> deferred_;  // null entries: cancelled

  std::deque<Watch> watches_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> retired_slots_;
};

}  // namespace stgt::reactor
