// Fakes for mid-layer tests: a memory store and a tiny device type, no devices/ needed.
#pragma once

#include <cstring>
#include <vector>

#include "scsi/command.h"
#include "scsi/opcode.h"

namespace stgt::test {

class FakeStore final : public backing::BackingStore {
 public:
  explicit FakeStore(uint64_t size, bool can_unmap = false) : size_(size), can_unmap_(can_unmap) {}
  std::string_view kind() const override { return "fake"; }
  uint64_t size() const override { return size_; }
  void read(reactor::Reactor*, std::span<const iovec>, uint64_t,
            backing::StoreCompletion* done) override {
    done->store_done(0);
  }
  void write(reactor::Reactor*, std::span<const iovec>, uint64_t, bool,
             backing::StoreCompletion* done) override {
    done->store_done(0);
  }
  void flush(reactor::Reactor*, backing::StoreCompletion* done) override { done->store_done(0); }
  bool supports_unmap() const override { return can_unmap_; }

 private:
  uint64_t size_;
  bool can_unmap_;
};

struct CountingOwner final : scsi::CommandOwner {
  void command_done(scsi::Command&) override { ++calls; }
  int calls = 0;
};

inline int g_handled = 0;
inline void good_handler(scsi::Command& cmd) {
  ++g_handled;
  cmd.complete_good();
}

inline constexpr std::array<scsi::ServiceAction, 1> kActions{{
    {0x10, good_handler, "SA 10", 16, scsi::DataDirection::kIn, {0x9e, 0x10}},
}};

inline constexpr scsi::OpcodeTable kFakeTable = [] {
  scsi::OpcodeTable t{};
  t[0x00] = {good_handler, "TEST UNIT READY", 6};
  t[0x03] = {good_handler, "REQUEST SENSE", 6, scsi::DataDirection::kIn, true, true};
  t[0x12] = {good_handler, "INQUIRY", 6, scsi::DataDirection::kIn, true, true};
  t[0x28] = {good_handler, "READ (10)", 10, scsi::DataDirection::kIn};
  t[0x9e].name = "SERVICE ACTION IN (16)";
  t[0x9e].cdb_length = 16;
  t[0x9e].service_actions = kActions;
  t[0xa0] = {good_handler, "REPORT LUNS", 12, scsi::DataDirection::kIn, true, true};
  return t;
}();

inline constexpr scsi::DeviceType kFakeType{0x00, "fake", &kFakeTable};

}  // namespace stgt::test
