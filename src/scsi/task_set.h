// TaskSet: the commands one I_T nexus has sent to one logical unit, oldest first, and the
// SAM-5 8.6 rules that decide when each of them may run.
//
// Task sets are per I_T nexus (control mode page TST = 001b, SPC-5 7.5.10): each ItNexus
// owns one TaskSet per LU it has used (ItNexus::task_set), so ordering never crosses
// reactors. Every method runs on the nexus's reactor; there are no locks.
//
// Life of a command in a task set (the transport drives the first two steps through
// scsi/scsi_layer.h):
//   1. add(): the command arrived, in CmdSN order, possibly before its data-out. It enters
//      the set enabled or dormant (SAM-5 8.6: SIMPLE waits for every older ORDERED and HEAD
//      OF QUEUE command, ORDERED for every older command, HEAD OF QUEUE for nothing).
//   2. data_ready(): all its data-out is in. Once it is both enabled and data-ready the set
//      starts it: the `start` function given at construction (the SAM gate) runs it.
//   3. remove(): it completed (Command::finish) or was aborted before it started; dormant
//      commands it held back become enabled, and those with their data start.
// Starting is trampolined: a command that completes inline while another is being started
// only queues its successors, so the stack stays flat however long an ORDERED chain is.
//
// Cost: links and state live in the Command (no allocation per command). A SIMPLE command
// with no ORDERED / HEAD OF QUEUE command in the set costs one integer test to enable.
#pragma once

#include <cstdint>

namespace stgt::scsi {

class Command;

class TaskSet {
 public:
  using StartFn = void (*)(Command& cmd);

  explicit TaskSet(StartFn start) : start_(start) {}
  TaskSet(const TaskSet&) = delete;
  TaskSet& operator=(const TaskSet&) = delete;
  ~TaskSet();

  // Enters `cmd` as the newest command. Returns true if it is enabled at once.
  bool add(Command& cmd);
  // All data-out of `cmd` is in; starts it if it is enabled.
  void data_ready(Command& cmd);
  // Takes a completed `cmd` out and queues what it released; the caller runs drain() once
  // it has reported the completion (so a command's response precedes its successors').
  // Safe for a command not in this set.
  void remove(Command& cmd);
  // Aborting a command that has not started (SAM-5 5.6): takes it out without completing
  // it. False if it has started (it must be waited for) or is not in the set. With
  // `release` false the commands it held back stay dormant: for aborting a whole task set,
  // where they are about to be aborted too and must not start in between.
  bool abort_unstarted(Command& cmd, bool release = true);

  // Starts queued commands (after remove()); a no-op inside a drain further up the stack.
  void drain();

  // Oldest command in the set and the next newer one; for task management walks.
  Command* oldest() const { return head_; }
  static Command* newer(const Command& cmd);

  uint32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Commands not yet enabled (waiting for an older ORDERED / HEAD OF QUEUE command).
  uint32_t dormant() const { return dormant_; }

 private:
  void unlink(Command& cmd);
  void enable(Command& cmd);
  void enable_released();

  StartFn start_;
  Command* head_ = nullptr;
  Command* tail_ = nullptr;
  uint32_t count_ = 0;
  uint32_t blockers_ = 0;  // ORDERED and HEAD OF QUEUE commands in the set
  uint32_t dormant_ = 0;
  // Enabled, data-ready commands waiting to be started (FIFO through Command links).
  Command* ready_head_ = nullptr;
  Command* ready_tail_ = nullptr;
  bool draining_ = false;
};

}  // namespace stgt::scsi
