#include "scsi/extent_lock.h"

#include "reactor/reactor.h"
#include "scsi/command.h"

namespace stgt::scsi {
namespace {

bool overlaps(const ExtentHold& a, const ExtentHold& b) {
  return a.lba < b.end && b.lba < a.end;
}

}  // namespace

ExtentLock::Slot* ExtentLock::slot_for(const reactor::Reactor* r) {
  if (r == nullptr) return &slots_[kReactorSlots];
  return r->id() < kReactorSlots ? &slots_[r->id()] : nullptr;
}

void ExtentLock::acquire(Command& cmd, Mode mode, uint64_t lba, uint64_t blocks,
                         Continuation then) {
  if (mode == Mode::kBarrier) {
    mode = Mode::kExclusive;
  } else if (mode == Mode::kRead) {
    mode = Mode::kShared;  // a READ: ordered like a write, but it leaves ROD tokens valid
  } else {
    rod_tokens_.written(lba, blocks);  // a write is admitted: tokens over it are stale
  }
  Slot* slot = slot_for(cmd.reactor);
  // The untracked fast path (see the header): one atomic load and a reactor-local ++.
  if (mode == Mode::kShared && slot != nullptr && slot->registered &&
      !tracking_.load(std::memory_order_acquire)) {
    ++slot->untracked;
    cmd.extent.state = ExtentHold::State::kUntracked;
    then(cmd);
    return;
  }
  acquire_tracked(cmd, mode, lba, blocks, then, slot);
}

void ExtentLock::acquire_tracked(Command& cmd, Mode mode, uint64_t lba, uint64_t blocks,
                                 Continuation then, Slot* slot) {
  ExtentHold& h = cmd.extent;
  std::vector<reactor::Reactor*> barriers;
  bool granted = false;
  {
    const std::lock_guard lock(mu_);
    if (slot != nullptr && !slot->registered) {
      slot->registered = true;
      reactors_.push_back(cmd.reactor);
    }
    if (mode == Mode::kShared && slot != nullptr && !tracking_.load(std::memory_order_relaxed)) {
      ++slot->untracked;
      h.state = ExtentHold::State::kUntracked;
      granted = true;
    } else {
      h.exclusive = mode == Mode::kExclusive;
      h.lba = lba;
      h.end = lba + blocks;
      h.then = then;
      h.next = nullptr;
      h.prev = tail_;
      (tail_ != nullptr ? tail_->extent.next : head_) = &cmd;
      tail_ = &cmd;
      if (h.exclusive && exclusive_++ == 0 && !tracking_.load(std::memory_order_relaxed)) {
        // Start a tracked period: from now on every write enters the list; drain the
        // untracked ones through a barrier on each reactor that may have some.
        tracking_.store(true, std::memory_order_release);
        drained_ = reactors_.empty();
        drain_left_ = uint32_t(reactors_.size());
        barriers = reactors_;
      }
      granted = grantable(cmd);
      h.state = granted ? ExtentHold::State::kGranted : ExtentHold::State::kWaiting;
    }
  }
  for (reactor::Reactor* r : barriers) {
    if (r == nullptr) {
      barrier(nullptr);
    } else {
      r->post([this, r] { barrier(r); });
    }
  }
  if (granted) then(cmd);
}

bool ExtentLock::grantable(const Command& cmd) const {
  const ExtentHold& h = cmd.extent;
  if (h.exclusive && !drained_) return false;
  for (const Command* c = head_; c != nullptr && c != &cmd; c = c->extent.next) {
    const ExtentHold& other = c->extent;
    if ((h.exclusive || other.exclusive) && overlaps(h, other)) return false;
  }
  return true;
}

Command* ExtentLock::grant_waiters() {
  Command* first = nullptr;
  Command* last = nullptr;
  for (Command* c = head_; c != nullptr; c = c->extent.next) {
    if (c->extent.state != ExtentHold::State::kWaiting || !grantable(*c)) continue;
    c->extent.state = ExtentHold::State::kGranted;
    c->extent.ready_next = nullptr;
    (last != nullptr ? last->extent.ready_next : first) = c;
    last = c;
  }
  return first;
}

void ExtentLock::unlink(Command& cmd) {
  ExtentHold& h = cmd.extent;
  (h.prev != nullptr ? h.prev->extent.next : head_) = h.next;
  (h.next != nullptr ? h.next->extent.prev : tail_) = h.prev;
  h.prev = nullptr;
  h.next = nullptr;
  if (h.exclusive) --exclusive_;
}

// Under mu_: back to the untracked regime once no exclusive entry remains and no barrier
// is outstanding. Shared entries still in the list release through the tracked path.
void ExtentLock::end_tracking_if_idle() {
  if (exclusive_ != 0 || drain_left_ != 0 || !tracking_.load(std::memory_order_relaxed)) return;
  tracking_.store(false, std::memory_order_release);
  drained_ = false;
}

void ExtentLock::release(Command& cmd) {
  ExtentHold& h = cmd.extent;
  switch (h.state) {
    case ExtentHold::State::kNone:
      return;
    case ExtentHold::State::kUntracked: {
      h.state = ExtentHold::State::kNone;
      Slot* slot = slot_for(cmd.reactor);
      if (--slot->untracked == 0 && slot->drain_waiting) {
        slot->drain_waiting = false;
        drain_ack();
      }
      return;
    }
    case ExtentHold::State::kWaiting:  // finished without running (not expected): just leave
    case ExtentHold::State::kGranted:
      break;
  }
  Command* ready = nullptr;
  {
    const std::lock_guard lock(mu_);
    unlink(cmd);
    h.state = ExtentHold::State::kNone;
    end_tracking_if_idle();
    ready = grant_waiters();
  }
  resume(ready);
}

// Runs on reactor r's thread (or inline for r == nullptr), between two callbacks.
void ExtentLock::barrier(reactor::Reactor* r) {
  Slot* slot = slot_for(r);
  if (slot->untracked != 0) {
    slot->drain_waiting = true;
    return;
  }
  drain_ack();
}

void ExtentLock::drain_ack() {
  Command* ready = nullptr;
  {
    const std::lock_guard lock(mu_);
    if (--drain_left_ != 0) return;
    drained_ = true;
    end_tracking_if_idle();
    ready = grant_waiters();
  }
  resume(ready);
}

void ExtentLock::resume(Command* ready) {
  while (ready != nullptr) {
    Command* c = ready;
    ready = c->extent.ready_next;  // read first: an inline continuation may complete c
    c->extent.ready_next = nullptr;
    if (c->reactor != nullptr) {
      c->reactor->post([c] { c->extent.then(*c); });
    } else {
      c->extent.then(*c);
    }
  }
}

}  // namespace stgt::scsi
