// A libiscsi synchronous context with RAII and gtest-friendly helpers. One session per object;
// an object is used by one thread at a time (libiscsi contexts are not thread-safe).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

struct iscsi_context;

namespace stgt::functional {

inline constexpr const char* kInitiatorIqn = "iqn.2026-11.org.stgt.test:initiator";

class IscsiSession {
 public:
  explicit IscsiSession(const std::string& initiator = kInitiatorIqn);
  ~IscsiSession();  // logs out if logged in
  IscsiSession(const IscsiSession&) = delete;
  IscsiSession& operator=(const IscsiSession&) = delete;

  iscsi_context* get() { return ctx_; }
  // Offer only HeaderDigest=CRC32C at the next login (the default offers None,CRC32C).
  void require_header_digest() { header_digest_ = true; }
  std::string error() const;

  // Normal session: connect, login to `target`, and clear unit attentions on `lun`.
  testing::AssertionResult login(const std::string& portal, const std::string& target,
                                 uint32_t lun = 1);
  // Discovery session with SendTargets=All; returns the target names.
  testing::AssertionResult discover(const std::string& portal, std::vector<std::string>& targets);
  testing::AssertionResult logout();
  // The target dropped this session: do not try to log out at destruction (libiscsi would
  // try to reconnect first).
  void abandon() { logged_in_ = false; }

  // WRITE(16)/READ(16) of whole blocks; any transfer size (libiscsi splits into PDUs and R2Ts).
  testing::AssertionResult write(uint64_t lba, const std::vector<uint8_t>& data,
                                 uint32_t block_size = 512);
  testing::AssertionResult read(uint64_t lba, size_t bytes, std::vector<uint8_t>& out,
                                uint32_t block_size = 512);

 private:
  iscsi_context* ctx_ = nullptr;
  uint32_t lun_ = 1;
  bool logged_in_ = false;
  bool header_digest_ = false;
};

// The outcome of one CDB: SCSI status (-1: no answer), sense key, ASC/ASCQ as libiscsi
// reports them (asc << 8 | ascq), and the data-in.
struct ScsiReply {
  int status = -1;
  int key = 0;
  int ascq = 0;
  std::vector<uint8_t> data;
};
// Sends one CDB to `lun` (data-out when `out` is not empty, else up to `in_length` bytes in).
ScsiReply send_cdb(IscsiSession& s, std::vector<uint8_t> cdb, std::vector<uint8_t> out = {},
                   uint32_t in_length = 0, uint32_t lun = 1);

// Deterministic, seed-dependent bytes (so a misplaced block is detected, not just a wrong one).
// The sense of a TEST UNIT READY on `lun` as asc<<8|ascq (0 when GOOD, -1 on no answer).
int tur_sense(IscsiSession& s, uint32_t lun);

std::vector<uint8_t> make_pattern(uint64_t seed, size_t size);

}  // namespace stgt::functional
