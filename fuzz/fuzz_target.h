// Shared pieces of the libFuzzer targets (fuzz/*_fuzz.cc): a target with a disk LU on the
// real memory store and the controller, nexuses registered like logged-in sessions, a
// synchronous command runner, and a small cursor over the fuzz input.
//
// Everything runs on the fuzzing thread with no reactor: the memory store completes inline,
// so a command submitted here has completed when submit() returns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backing/memory/memory_store.h"
#include "base/buffer_pool.h"
#include "base/byte_order.h"
#include "base/log.h"
#include "devices/device_type.h"
#include "scsi/command.h"
#include "scsi/it_nexus.h"
#include "scsi/lun.h"
#include "scsi/scsi_layer.h"
#include "scsi/target.h"

namespace stgt::fuzz {

inline constexpr char kTargetName[] = "iqn.2024-01.org.stgt:fuzz";

// Reads the fuzz input front to back; past the end every read yields zeros.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t left() const { return size_ - pos_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return uint16_t(u8() << 8 | u8()); }
  uint32_t u24() { return uint32_t(u16()) << 8 | u8(); }
  std::span<const uint8_t> bytes(size_t n) {
    n = std::min(n, left());
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> rest() { return bytes(left()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct CommandOwnerSink final : scsi::CommandOwner {
  void command_done(scsi::Command&) override { ++calls; }
  int calls = 0;
};

// A target "iqn.2024-01.org.stgt:fuzz" with a disk at LUN 0 and LUN 1 (memory store of
// `disk_bytes`) and the controller; any initiator is admitted.
inline std::shared_ptr<scsi::Target> make_fuzz_target(uint32_t block_size = 512,
                                                      uint64_t disk_bytes = 1 << 20,
                                                      bool thin = true) {
  auto t = std::make_shared<scsi::Target>(kTargetName, "fuzz");
  for (uint32_t lun = 0; lun < 2; ++lun) {
    auto store = backing::MemoryStore::open({.kind = "memory", .size = disk_bytes});
    if (!store) {
      std::fprintf(stderr, "memory store: %s\n", store.error().c_str());
      std::abort();
    }
    scsi::LuSettings settings;
    settings.block_size = block_size;
    settings.thin = thin;
    settings.removable = lun == 1;
    t->add_lun(lun, devices::make_disk(std::move(*store), devices::identity_for(kTargetName, lun),
                                       settings));
  }
  t->set_controller(devices::make_controller(devices::identity_for(kTargetName, 0)));
  t->allow_initiator("ALL");
  return t;
}

// Runs commands for a set of nexuses of one target, synchronously.
class CommandRunner {
 public:
  explicit CommandRunner(std::shared_ptr<scsi::Target> target) : target_(std::move(target)) {}

  // A nexus of initiator `name` with ISID `isid` through relative target port `port`,
  // registered with the target's registry; its power-on unit attentions are left queued
  // unless `clear_ua`.
  scsi::ItNexus& add_nexus(const std::string& name, uint64_t isid, uint16_t port,
                           bool clear_ua = true) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ",i,0x%012llx", static_cast<unsigned long long>(isid));
    scsi::TargetPort tp;
    tp.relative_port_id = port;
    tp.portal_group_tag = port;
    auto n = std::make_shared<scsi::ItNexus>(target_, name, name + suffix, tp);
    if (clear_ua) {
      for (uint32_t lun : n->lun_numbers()) {
        while (n->pop_unit_attention(lun) != scsi::SenseReason::kNone) {
        }
      }
    }
    scsi::nexus_established(n);
    nexuses_.push_back(n);
    return *n;
  }
  ~CommandRunner() {
    for (auto& n : nexuses_) scsi::nexus_lost(*n);
  }

  // Submits one command and checks it completed exactly once, inline.
  void run(scsi::ItNexus& nexus, std::span<const uint8_t> cdb, uint64_t lun,
           uint32_t expected_in, std::span<const uint8_t> out,
           scsi::TaskAttribute attribute = scsi::TaskAttribute::kSimple) {
    scsi::Command cmd;
    const size_t n = std::min(cdb.size(), cmd.cdb.size());
    std::copy_n(cdb.begin(), n, cmd.cdb.begin());
    cmd.cdb_length = uint8_t(n);
    cmd.lun = lun;
    cmd.attribute = attribute;
    cmd.expected_in_length = expected_in;
    cmd.expected_out_length = uint32_t(out.size());
    if (!out.empty()) {
      if (!cmd.data.allocate(pool_, out.size())) return;
      cmd.data.copy_in(0, out.data(), out.size());
    }
    cmd.nexus = &nexus;
    cmd.owner = &owner_;
    cmd.pool = &pool_;
    const int before = owner_.calls;
    scsi::submit(cmd);
    if (owner_.calls != before + 1 || !cmd.completed()) {
      std::fprintf(stderr, "command 0x%02x completed %d times\n", cmd.cdb[0],
                   owner_.calls - before);
      std::abort();
    }
    // What the transport would send: never more than the initiator asked for, and the
    // buffer holds it (Command::allocate_in's contract).
    const uint32_t send = std::min(cmd.in_length, cmd.expected_in_length);
    if (cmd.data.size() < send && cmd.status == scsi::Status::kGood) {
      std::fprintf(stderr, "command 0x%02x: %u bytes of data-in but a %zu-byte buffer\n",
                   cmd.cdb[0], send, cmd.data.size());
      std::abort();
    }
    if (send > 0 && cmd.status == scsi::Status::kGood) {
      scratch_.resize(send);
      cmd.data.copy_out(0, scratch_.data(), send);
    }
  }

  const std::shared_ptr<scsi::Target>& target() const { return target_; }
  base::BufferPool& pool() { return pool_; }

 private:
  std::shared_ptr<scsi::Target> target_;
  std::vector<std::shared_ptr<scsi::ItNexus>> nexuses_;
  base::BufferPool pool_;
  CommandOwnerSink owner_;
  std::vector<uint8_t> scratch_;
};

// Quiet logs: a fuzzer reaches every error path many times a second. STGT_FUZZ_DEBUG=1 in
// the environment logs everything instead (replaying one input).
inline void quiet_logs() {
  const char* debug = std::getenv("STGT_FUZZ_DEBUG");
  base::set_log_level(debug != nullptr && *debug == '1' ? base::LogLevel::kDebug
                                                        : base::LogLevel::kError);
}

}  // namespace stgt::fuzz
