#include "iscsi_session.h"

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <csignal>

#include <algorithm>
#include <cstring>

namespace stgt::functional {
namespace {

constexpr int kTimeoutSeconds = 30;  // a hung daemon fails the test instead of hanging it

testing::AssertionResult check_task(iscsi_context* ctx, scsi_task* task, const char* what) {
  if (task == nullptr) {
    return testing::AssertionFailure() << what << " failed: " << iscsi_get_error(ctx);
  }
  if (task->status != SCSI_STATUS_GOOD) {
    auto failure = testing::AssertionFailure()
                   << what << " status " << task->status << " sense " << task->sense.key << "/"
                   << std::hex << task->sense.ascq << ": " << iscsi_get_error(ctx);
    scsi_free_scsi_task(task);
    return failure;
  }
  return testing::AssertionSuccess();
}

// libiscsi writes to its socket without MSG_NOSIGNAL: a test that SIGKILLs the daemon while
// a session sends (the fault tests) would otherwise die of SIGPIPE instead of seeing EPIPE.
// Once per process, before the first context.
void ignore_sigpipe() {
  static const bool done = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

}  // namespace

IscsiSession::IscsiSession(const std::string& initiator)
    : ctx_((ignore_sigpipe(), iscsi_create_context(initiator.c_str()))) {
  if (ctx_ != nullptr) iscsi_set_timeout(ctx_, kTimeoutSeconds);
}

IscsiSession::~IscsiSession() {
  if (ctx_ == nullptr) return;
  if (logged_in_) iscsi_logout_sync(ctx_);
  iscsi_destroy_context(ctx_);
}

std::string IscsiSession::error() const {
  return ctx_ ? iscsi_get_error(ctx_) : "no context";
}

testing::AssertionResult IscsiSession::login(const std::string& portal, const std::string& target,
                                             uint32_t lun) {
  if (ctx_ == nullptr) return testing::AssertionFailure() << "iscsi_create_context failed";
  lun_ = lun;
  iscsi_set_targetname(ctx_, target.c_str());
  iscsi_set_session_type(ctx_, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(ctx_, header_digest_ ? ISCSI_HEADER_DIGEST_CRC32C
                                                : ISCSI_HEADER_DIGEST_NONE_CRC32C);
  if (iscsi_full_connect_sync(ctx_, portal.c_str(), int(lun)) != 0) {
    return testing::AssertionFailure()
           << "login to " << target << " at " << portal << " failed: " << error();
  }
  logged_in_ = true;
  return testing::AssertionSuccess();
}

testing::AssertionResult IscsiSession::discover(const std::string& portal,
                                                std::vector<std::string>& targets) {
  if (ctx_ == nullptr) return testing::AssertionFailure() << "iscsi_create_context failed";
  iscsi_set_session_type(ctx_, ISCSI_SESSION_DISCOVERY);
  if (iscsi_connect_sync(ctx_, portal.c_str()) != 0 || iscsi_login_sync(ctx_) != 0) {
    return testing::AssertionFailure() << "discovery login at " << portal << ": " << error();
  }
  logged_in_ = true;
  iscsi_discovery_address* found = iscsi_discovery_sync(ctx_);
  if (found == nullptr && std::strlen(iscsi_get_error(ctx_)) != 0) {
    return testing::AssertionFailure() << "SendTargets failed: " << error();
  }
  targets.clear();
  for (const iscsi_discovery_address* a = found; a != nullptr; a = a->next) {
    targets.emplace_back(a->target_name);
  }
  if (found != nullptr) iscsi_free_discovery_data(ctx_, found);
  return testing::AssertionSuccess();
}

testing::AssertionResult IscsiSession::logout() {
  if (!logged_in_) return testing::AssertionFailure() << "not logged in";
  logged_in_ = false;
  if (iscsi_logout_sync(ctx_) != 0) return testing::AssertionFailure() << "logout: " << error();
  return testing::AssertionSuccess();
}

testing::AssertionResult IscsiSession::write(uint64_t lba, const std::vector<uint8_t>& data,
                                             uint32_t block_size) {
  // libiscsi takes a non-const buffer but does not modify it.
  auto* bytes = const_cast<unsigned char*>(data.data());
  scsi_task* task = iscsi_write16_sync(ctx_, int(lun_), lba, bytes, uint32_t(data.size()),
                                       int(block_size), 0, 0, 0, 0, 0);
  auto result = check_task(ctx_, task, "WRITE(16)");
  if (!result) return result << " at lba " << std::dec << lba << " length " << data.size();
  scsi_free_scsi_task(task);
  return result;
}

testing::AssertionResult IscsiSession::read(uint64_t lba, size_t bytes, std::vector<uint8_t>& out,
                                            uint32_t block_size) {
  scsi_task* task =
      iscsi_read16_sync(ctx_, int(lun_), lba, uint32_t(bytes), int(block_size), 0, 0, 0, 0, 0);
  auto result = check_task(ctx_, task, "READ(16)");
  if (!result) return result << " at lba " << std::dec << lba << " length " << bytes;
  if (task->datain.size != int(bytes)) {
    const int got = task->datain.size;
    scsi_free_scsi_task(task);
    return testing::AssertionFailure() << "READ(16) returned " << got << " bytes, wanted " << bytes;
  }
  out.assign(task->datain.data, task->datain.data + bytes);
  scsi_free_scsi_task(task);
  return result;
}

int tur_sense(IscsiSession& s, uint32_t lun) {
  scsi_task* t = iscsi_testunitready_sync(s.get(), int(lun));
  if (t == nullptr) return -1;
  const int out = t->status == SCSI_STATUS_GOOD ? 0 : int(t->sense.ascq);
  scsi_free_scsi_task(t);
  return out;
}

std::vector<uint8_t> make_pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> data(size);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < size; i += 8) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    const size_t n = std::min<size_t>(8, size - i);
    std::memcpy(data.data() + i, &state, n);
  }
  return data;
}

ScsiReply send_cdb(IscsiSession& s, std::vector<uint8_t> cdb, std::vector<uint8_t> out,
                   uint32_t in_length, uint32_t lun) {
  const int dir = !out.empty() ? SCSI_XFER_WRITE : in_length > 0 ? SCSI_XFER_READ : SCSI_XFER_NONE;
  scsi_task* task =
      scsi_create_task(int(cdb.size()), cdb.data(), dir, int(out.empty() ? in_length : out.size()));
  ScsiReply r;
  if (task == nullptr) return r;
  iscsi_data d{out.size(), out.data()};
  if (iscsi_scsi_command_sync(s.get(), int(lun), task, out.empty() ? nullptr : &d) == nullptr) {
    return r;
  }
  r.status = task->status;
  r.key = task->sense.key;
  r.ascq = task->sense.ascq;
  r.data.assign(task->datain.data, task->datain.data + task->datain.size);
  scsi_free_scsi_task(task);
  return r;
}

}  // namespace stgt::functional
