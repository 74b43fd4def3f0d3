// ExtentLock: the per-LU lock on LBA ranges that makes read-modify-write commands
// (COMPARE AND WRITE, ORWRITE) atomic with respect to every other command that writes the
// same blocks, from any session on any reactor (SBC-4 5.3: the read, compare and write are
// one uninterrupted operation).
//
// Modes:
//   kShared     plain writes: WRITE (6/10/12/16), WRITE AND VERIFY, WRITE SAME, UNMAP. Shared
//               holds (and kRead ones) never conflict with each other (overlapping SIMPLE writes stay unordered,
//               SAM-5 8.6); they conflict with overlapping exclusive holds.
//   kExclusive  read-modify-write (COMPARE AND WRITE, ORWRITE): conflicts with every
//               overlapping hold of either mode.
//   kRead       READ (6/10/12/16): a shared hold, since a READ must not see a block half
//               written by a read-modify-write (on a file LU a buffered read is not atomic
//               against a buffered write of the same page); not a write, so it leaves ROD
//               tokens valid.
//   kBarrier    not a write: an exclusive hold that waits for every overlapping hold granted
//               before it (POPULATE TOKEN quiesces its source ranges this way).
// Other reads (VERIFY, the medium read inside CAW/ORWRITE itself) take nothing.
//
// Every kShared or kExclusive acquire is a write about to be admitted: it first revokes the
// ROD tokens over its range (rod_tokens(), scsi/rod_watch.h; one atomic load while the LU
// has none).
//
// Ownership: the LogicalUnit owns its ExtentLock; a command's hold lives inside the Command
// (Command::extent, an intrusive list node), so the lock itself never allocates per command.
// Command::finish() releases the hold before the command is handed back to its transport,
// so every completion path (GOOD, sense, store error) releases exactly once.
//
// Two regimes, switched by `tracking_` (an atomic read without the mutex):
//
//   Untracked: no exclusive request on the LU (the usual state). A shared acquire is one
//     atomic load of tracking_ plus ++ of a counter that belongs to the caller's reactor
//     (Slot, a cache line written only by that reactor's thread: a plain increment, no
//     locked instruction, no shared cache line, no allocation); its release is a plain --.
//     That is the whole cost the WRITE path pays while no COMPARE AND WRITE is active.
//     (The first write from a reactor to an LU registers the reactor under the mutex once.)
//   Tracked: from the first exclusive request until the last exclusive hold is released.
//     Every acquire takes the mutex and enters a FIFO list of ranges; an entry is granted
//     when no earlier entry overlaps it in a conflicting mode (and, for exclusive entries,
//     once the drain below is done). Waiters are granted in list order.
//
// The switch (the drain): writes that saw tracking_ == false are not in the list, so the
// first exclusive request sets tracking_ under the mutex and posts a barrier to every
// registered reactor. A reactor runs the barrier between two callbacks, so every write that
// loaded tracking_ == false on it has already counted itself in its Slot, and every later
// write on it sees tracking_ == true (the post orders the store before the barrier). The
// barrier acknowledges at once if its Slot counts no untracked write, otherwise when the
// last one is released. When every reactor has acknowledged, exclusive entries may be
// granted. The drain waits for all untracked writes of the LU, not only overlapping ones:
// they are at most the in-flight writes of the moment, and only the first exclusive request
// after an idle period pays it.
//
// Threads: acquire() and release() run on the command's reactor (cmd.reactor). Waiters are
// resumed by posting their continuation to their own reactor (cmd.reactor->post), in grant
// order; with a null reactor (unit tests) everything runs inline, single-threaded.
// Reactors with an id >= kReactorSlots have no slot and always take the tracked path.
//
// Lifetime: the LU (and so the lock) outlives every command on it and every barrier it
// posted: a barrier is outstanding only while an exclusive command waits for it, and a
// transport keeps its LU mapped until its commands complete.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "scsi/rod_watch.h"

namespace stgt::reactor {
class Reactor;
}

namespace stgt::scsi {

class Command;

// A command's hold on an LBA range (embedded in Command; only ExtentLock touches it).
struct ExtentHold {
  enum class State : uint8_t { kNone, kUntracked, kWaiting, kGranted };
  State state = State::kNone;
  bool exclusive = false;
  uint64_t lba = 0;
  uint64_t end = 0;  // one past the last LBA
  void (*then)(Command& cmd) = nullptr;
  Command* prev = nullptr;  // the tracked list, in arrival order
  Command* next = nullptr;
  Command* ready_next = nullptr;  // chain of commands to resume after a release
};

class ExtentLock {
 public:
  enum class Mode : uint8_t { kShared, kExclusive, kRead, kBarrier };
  using Continuation = void (*)(Command& cmd);

  static constexpr unsigned kReactorSlots = 64;

  ExtentLock() = default;
  ExtentLock(const ExtentLock&) = delete;
  ExtentLock& operator=(const ExtentLock&) = delete;

  // Runs `then(cmd)` once cmd holds [lba, lba + blocks) in `mode`: inline when granted at
  // once, otherwise later from a release (posted to cmd.reactor). The caller must not
  // touch cmd after the call: `then` may already have completed it.
  void acquire(Command& cmd, Mode mode, uint64_t lba, uint64_t blocks, Continuation then);
  // Releases cmd's hold, if any, and resumes the waiters it was blocking. Called by
  // Command::finish().
  void release(Command& cmd);

  // The ROD tokens whose source is this LU (revoked by every write admitted here).
  RodWatch& rod_tokens() { return rod_tokens_; }

  // True while exclusive requests make every write take the tracked path (for tests).
  bool tracking() const { return tracking_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Slot {
    uint64_t untracked = 0;      // untracked shared holds of this reactor
    bool registered = false;     // in reactors_ (set once, under mu_)
    bool drain_waiting = false;  // a barrier waits for untracked to reach 0
  };

  Slot* slot_for(const reactor::Reactor* r);
  void acquire_tracked(Command& cmd, Mode mode, uint64_t lba, uint64_t blocks, Continuation then,
                       Slot* slot);
  bool grantable(const Command& cmd) const;
  Command* grant_waiters();  // under mu_: grants in list order, returns the ready chain
  void unlink(Command& cmd);
  void end_tracking_if_idle();
  void barrier(reactor::Reactor* r);
  void drain_ack();
  static void resume(Command* ready);

  RodWatch rod_tokens_;
  std::atomic<bool> tracking_{false};
  std::array<Slot, kReactorSlots + 1> slots_{};  // the last one: callers without a reactor

  std::mutex mu_;
  // ---- guarded by mu_ ----
  Command* head_ = nullptr;
  Command* tail_ = nullptr;
  uint32_t exclusive_ = 0;                   // exclusive entries, granted or waiting
  uint32_t drain_left_ = 0;                  // barriers not yet acknowledged
  bool drained_ = false;                     // the drain of this tracked period is complete
  std::vector<reactor::Reactor*> reactors_;  // registered reactors (nullptr: inline callers)
};

}  // namespace stgt::scsi
