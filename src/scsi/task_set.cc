#include "scsi/task_set.h"

#include "scsi/command.h"

namespace stgt::scsi {
namespace {

// SAM-5 8.6.1: ORDERED and HEAD OF QUEUE commands hold back newer SIMPLE and ORDERED ones.
bool is_blocker(const Command& cmd) {
  return cmd.attribute == TaskAttribute::kOrdered || cmd.attribute == TaskAttribute::kHeadOfQueue;
}

}  // namespace

// The owning session takes every command out before it lets the nexus go (close() aborts the
// unstarted ones and waits for the started ones); the commands may already be gone, so the
// destructor touches none of them.
TaskSet::~TaskSet() = default;

Command* TaskSet::newer(const Command& cmd) {
  return cmd.ts_newer;
}

bool TaskSet::add(Command& cmd) {
  bool enabled = true;
  switch (cmd.attribute) {
    case TaskAttribute::kSimple:
      // SAM-5 8.6.2: every ORDERED / HEAD OF QUEUE command in the set is older.
      enabled = blockers_ == 0;
      break;
    case TaskAttribute::kOrdered:
      // SAM-5 8.6.3: waits for every older command.
      enabled = count_ == 0;
      break;
    case TaskAttribute::kHeadOfQueue:
      // SAM-5 8.6.4: enters the set enabled.
      break;
    case TaskAttribute::kAca:
      // No ACA condition can exist (NACA is refused); the gate rejects the command, so it
      // neither waits nor holds anything back.
      break;
  }
  cmd.task_set = this;
  cmd.ts_older = tail_;
  cmd.ts_newer = nullptr;
  if (tail_ != nullptr) {
    tail_->ts_newer = &cmd;
  } else {
    head_ = &cmd;
  }
  tail_ = &cmd;
  ++count_;
  if (is_blocker(cmd)) ++blockers_;
  if (enabled) {
    cmd.task_state = TaskState::kEnabled;
  } else {
    cmd.task_state = TaskState::kDormant;
    ++dormant_;
  }
  return enabled;
}

void TaskSet::data_ready(Command& cmd) {
  cmd.data_ready = true;
  if (cmd.task_set != this || cmd.task_state != TaskState::kEnabled) return;
  enable(cmd);
  drain();
}

// Queues an enabled, data-ready command for start.
void TaskSet::enable(Command& cmd) {
  if (!cmd.data_ready) {
    cmd.task_state = TaskState::kEnabled;
    return;
  }
  cmd.task_state = TaskState::kQueued;
  cmd.ts_ready_next = nullptr;
  if (ready_tail_ != nullptr) {
    ready_tail_->ts_ready_next = &cmd;
  } else {
    ready_head_ = &cmd;
  }
  ready_tail_ = &cmd;
}

void TaskSet::drain() {
  if (draining_) return;
  draining_ = true;
  while (ready_head_ != nullptr) {
    Command& c = *ready_head_;
    ready_head_ = c.ts_ready_next;
    if (ready_head_ == nullptr) ready_tail_ = nullptr;
    c.ts_ready_next = nullptr;
    c.task_state = TaskState::kStarted;
    start_(c);  // may complete inline and remove() itself (which only queues)
  }
  draining_ = false;
}

void TaskSet::unlink(Command& cmd) {
  if (cmd.task_state == TaskState::kQueued) {
    // Never expected outside a drain, but keep the queue consistent whatever happens.
    Command* prev = nullptr;
    for (Command* c = ready_head_; c != nullptr; prev = c, c = c->ts_ready_next) {
      if (c != &cmd) continue;
      (prev != nullptr ? prev->ts_ready_next : ready_head_) = c->ts_ready_next;
      if (ready_tail_ == c) ready_tail_ = prev;
      break;
    }
  }
  if (cmd.task_state == TaskState::kDormant) --dormant_;
  (cmd.ts_older != nullptr ? cmd.ts_older->ts_newer : head_) = cmd.ts_newer;
  (cmd.ts_newer != nullptr ? cmd.ts_newer->ts_older : tail_) = cmd.ts_older;
  --count_;
  if (is_blocker(cmd)) --blockers_;
  cmd.ts_older = cmd.ts_newer = cmd.ts_ready_next = nullptr;
  cmd.task_set = nullptr;
  cmd.task_state = TaskState::kOutside;
}

// After a command left: enable every dormant command SAM-5 8.6 now allows, oldest first.
// Only runs while something is dormant, i.e. while an ORDERED / HEAD OF QUEUE command exists.
void TaskSet::enable_released() {
  if (dormant_ == 0) return;
  bool older_any = false;      // an older command is still in the set
  bool older_blocker = false;  // an older ORDERED / HEAD OF QUEUE command is still in the set
  for (Command* c = head_; c != nullptr && !older_blocker; c = c->ts_newer) {
    if (c->task_state == TaskState::kDormant) {
      const bool ok = c->attribute == TaskAttribute::kOrdered ? !older_any : !older_blocker;
      if (ok) {
        --dormant_;
        enable(*c);
      }
    }
    older_any = true;
    if (is_blocker(*c)) older_blocker = true;
  }
}

void TaskSet::remove(Command& cmd) {
  if (cmd.task_set != this) return;
  unlink(cmd);
  enable_released();
}

bool TaskSet::abort_unstarted(Command& cmd, bool release) {
  if (cmd.task_set != this || cmd.task_state == TaskState::kStarted) return false;
  unlink(cmd);
  if (!release) return true;
  enable_released();
  drain();
  return true;
}

}  // namespace stgt::scsi
