// Private pieces of Connection shared by its .cc files: the outgoing PDU record and the
// task table. Not for use outside transport/iscsi.
#pragma once

#include <sys/uio.h>

#include <array>
#include <memory>
#include <cstdint>
#include <vector>

#include "transport/iscsi/connection.h"

namespace stgt::iscsi {

// One PDU waiting in the send queue: header (+digest), data as iovecs (into a task's
// buffers or into `owned`), then padding (+digest). Pooled per connection.
struct Connection::TxPdu {
  std::array<uint8_t, kBhsLength + kDigestLength> header{};
  uint8_t header_len = 0;
  std::array<iovec, base::BufferChain::kMaxSegments + 2> iov{};
  uint8_t iov_count = 0;
  uint32_t data_len = 0;
  std::array<uint8_t, 3 + kDigestLength> trailer{};
  uint8_t trailer_len = 0;
  std::vector<uint8_t> owned;  // data the PDU carries itself (text, sense, ping echo)
  Task* task = nullptr;        // released when its last PDU is written
  TxPdu* next = nullptr;       // the send queue

  size_t total() const { return size_t(header_len) + data_len + trailer_len; }
  void set_owned_data() {
    iov[0] = iovec{owned.data(), owned.size()};
    iov_count = owned.empty() ? 0 : 1;
    data_len = uint32_t(owned.size());
  }
};

// Task slots for one session, created on first use up to `max_slots` and then reused
// without allocation (an idle session holds only the slots its peak load needed). ITT
// lookups scan a compact array (a few hundred entries at most).
class Connection::TaskTable {
 public:
  explicit TaskTable(uint32_t max_slots) : max_slots_(max_slots) {}

  Task* allocate(uint32_t itt) {
    if (free_ == nullptr && tasks_.size() < max_slots_) {
      tasks_.push_back(std::make_unique<Task>());
      tasks_.back()->slot = uint32_t(tasks_.size() - 1);
      itts_.push_back(kReservedTag);
      used_.push_back(false);
      free_ = tasks_.back().get();
    }
    Task* t = free_;
    if (t == nullptr) return nullptr;
    free_ = t->next_free;
    t->next_free = nullptr;
    used_[t->slot] = true;
    itts_[t->slot] = itt;
    ++in_use_;
    return t;
  }

  // Runs for every SCSI Command PDU (the overlapped-command check), so the scan compares
  // the packed ITTs first and reads the vector<bool> only on a match (a free slot's ITT is
  // kReservedTag, which no task has in use as a rule).
  Task* find(uint32_t itt) {
    for (uint32_t i = 0; i < itts_.size(); ++i) {
      if (itts_[i] == itt && used_[i]) return tasks_[i].get();
    }
    return nullptr;
  }

  Task* at_slot(uint32_t slot) {
    if (slot >= tasks_.size() || !used_[slot]) return nullptr;
    return tasks_[slot].get();
  }

  void free(Task& t) {
    used_[t.slot] = false;
    itts_[t.slot] = kReservedTag;
    t.reset();
    t.next_free = free_;
    free_ = &t;
    --in_use_;
  }

  uint32_t in_use() const { return in_use_; }

  // Calls fn(Task&) for every task in use, in slot order. fn may not allocate or free tasks.
  template <class Fn>
  void for_each_used(Fn&& fn) {
    for (uint32_t i = 0; i < tasks_.size(); ++i) {
      if (used_[i]) fn(*tasks_[i]);
    }
  }

  // After close: frees every task the SCSI layer does not hold.
  void release_idle(Connection& c);

 private:
  uint32_t max_slots_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<uint32_t> itts_;
  std::vector<bool> used_;
  Task* free_ = nullptr;
  uint32_t in_use_ = 0;
};

// Task management waiting for aborted tasks to end: fires `done` once every task in `tasks`
// can no longer touch the medium (and, with wait_data, has no Data-Out sequence open).
struct Connection::AbortWait {
  std::vector<Task*> tasks;
  bool wait_data = false;
  std::function<void()> done;
};

}  // namespace stgt::iscsi
