#include "devices/sbc/sanitize_record.h"

#include <fmt/format.h>

#include <charconv>

#include "base/atomic_file.h"
#include "base/log.h"
#include "base/sealed_text.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// Version 2 adds the resume point of a running operation; version 1 records (written before
// checkpoints existed) are still read, and resume from the beginning.
constexpr std::string_view kHeader = "stgt-sanitize 2";
constexpr std::string_view kHeaderV1 = "stgt-sanitize 1";
constexpr uint8_t kMaxPasses = 31;  // SBC-4 5.30.3 OVERWRITE COUNT
constexpr size_t kMaxPatternBytes = 65536;

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_flag(std::string_view s, bool& out) {
  if (s != "0" && s != "1") return false;
  out = s == "1";
  return true;
}

bool parse_hex_bytes(std::string_view s, std::vector<uint8_t>& out) {
  if (s.empty() || s.size() % 2 != 0 || s.size() / 2 > kMaxPatternBytes) return false;
  out.resize(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!parse_number(s.substr(2 * i, 2), out[i], 16)) return false;
  }
  return true;
}

// The record up to its crc32c line, once the checksum verifies.
base::Result<std::string_view, std::string> verified_body(std::string_view image) {
  auto body = base::unseal(image);
  if (!body) return base::unexpected(body.error() + " (torn or damaged file)");
  return body;
}

base::Result<SanitizeRecord, std::string> malformed(std::string_view what) {
  return base::unexpected(fmt::format("malformed {} line", what));
}

// "resume <pass> <offset>": the pass must be one of the operation's (or its end).
bool parse_resume(std::string_view v, SanitizeRequest& q) {
  const size_t space = v.find(' ');
  if (space == std::string_view::npos) return false;
  return parse_number(v.substr(0, space), q.resume_pass) && q.resume_pass <= q.passes &&
         parse_number(v.substr(space + 1), q.resume_offset);
}

// "action", "invert", "passes", "resume" (version 2) and, for an overwrite, "pattern".
base::Result<SanitizeRecord, std::string> decode_operation(std::string_view body, SanitizeRecord r,
                                                           bool v2) {
  std::string_view v;
  if (!base::take_field(body, "action", v)) return malformed("action");
  if (v == "overwrite") {
    r.request.kind = SanitizeRequest::Kind::kOverwrite;
  } else if (v == "block-erase") {
    r.request.kind = SanitizeRequest::Kind::kBlockErase;
  } else if (v == "crypto-erase") {
    r.request.kind = SanitizeRequest::Kind::kCryptoErase;
  } else {
    return malformed("action");
  }
  if (!base::take_field(body, "invert", v) || !parse_flag(v, r.request.invert)) {
    return malformed("invert");
  }
  if (!base::take_field(body, "passes", v) || !parse_number(v, r.request.passes) ||
      r.request.passes == 0 || r.request.passes > kMaxPasses) {
    return malformed("passes");
  }
  if (v2 && (!base::take_field(body, "resume", v) || !parse_resume(v, r.request))) {
    return malformed("resume");
  }
  if (r.request.kind == SanitizeRequest::Kind::kOverwrite &&
      (!base::take_field(body, "pattern", v) || !parse_hex_bytes(v, r.request.pattern))) {
    return malformed("pattern");
  }
  if (!body.empty()) return base::unexpected(std::string("unexpected lines after the record"));
  return r;
}

}  // namespace

std::string encode_sanitize_record(const SanitizeRecord& record) {
  const bool running = record.state == SanitizeRecord::State::kRunning;
  std::string s = fmt::format("{}\nstate {}\nause {}\n", kHeader, running ? "running" : "failed",
                              record.ause ? 1 : 0);
  if (running) {
    const SanitizeRequest& q = record.request;
    const bool overwrite = q.kind == SanitizeRequest::Kind::kOverwrite;
    const char* action = overwrite                                      ? "overwrite"
                         : q.kind == SanitizeRequest::Kind::kBlockErase ? "block-erase"
                                                                        : "crypto-erase";
    s += fmt::format("action {}\ninvert {}\npasses {}\nresume {} {}\n", action, q.invert ? 1 : 0,
                     q.passes, q.resume_pass, q.resume_offset);
    if (overwrite) {
      s += "pattern ";
      for (const uint8_t b : q.pattern)
        s += fmt::format("{:02x}", b);
      s += '\n';
    }
  }
  return base::seal(std::move(s));
}

base::Result<SanitizeRecord, std::string> decode_sanitize_record(std::string_view image) {
  auto verified = verified_body(image);
  if (!verified) return base::unexpected(verified.error());
  std::string_view body = verified.value();
  const size_t nl = body.find('\n');
  const std::string_view header = nl == std::string_view::npos ? body : body.substr(0, nl);
  if (header != kHeader && header != kHeaderV1) {
    return base::unexpected(std::string("not a version 1 or 2 sanitize record"));
  }
  const bool v2 = header == kHeader;
  body.remove_prefix(nl + 1);
  SanitizeRecord r;
  std::string_view v;
  if (!base::take_field(body, "state", v) || (v != "running" && v != "failed")) {
    return malformed("state");
  }
  r.state = v == "running" ? SanitizeRecord::State::kRunning : SanitizeRecord::State::kFailed;
  if (!base::take_field(body, "ause", v) || !parse_flag(v, r.ause)) return malformed("ause");
  if (r.state == SanitizeRecord::State::kRunning) return decode_operation(body, std::move(r), v2);
  if (!body.empty()) return base::unexpected(std::string("unexpected lines after the record"));
  return r;
}

bool record_sanitize_running(scsi::LogicalUnit& lu, const SanitizeRequest& request, bool ause) {
  const std::string image = encode_sanitize_record(
      SanitizeRecord{.state = SanitizeRecord::State::kRunning, .ause = ause, .request = request});
  if (auto done = lu.write_sanitize_record(image); !done) {
    STGT_LOG_ERROR("sanitize: cannot record the operation in {}: {}", lu.sanitize_record_path(),
                   done.error());
    return false;
  }
  return true;
}

bool record_sanitize_failed(scsi::LogicalUnit& lu, bool ause) {
  const std::string image =
      encode_sanitize_record(SanitizeRecord{.state = SanitizeRecord::State::kFailed, .ause = ause});
  if (auto done = lu.write_sanitize_record(image); !done) {
    STGT_LOG_ERROR(
        "sanitize: cannot record failure mode in {}: {} (the operation will run "
        "again at the next start)",
        lu.sanitize_record_path(), done.error());
    return false;
  }
  return true;
}

bool clear_sanitize_record(scsi::LogicalUnit& lu) {
  if (auto done = lu.write_sanitize_record({}); !done) {
    STGT_LOG_ERROR("sanitize: cannot remove {}: {}", lu.sanitize_record_path(), done.error());
    return false;
  }
  return true;
}

std::optional<SanitizeRequest> restore_sanitize(scsi::LogicalUnit& lu, const std::string& where) {
  const std::string& path = lu.sanitize_record_path();
  if (path.empty()) return std::nullopt;
  const auto image = base::read_small_file(path);
  if (image && !image.value()) return std::nullopt;  // nothing recorded
  auto record = image ? decode_sanitize_record(**image)
                      : base::Result<SanitizeRecord, std::string>(base::unexpected(image.error()));
  if (!record) {
    STGT_LOG_ERROR(
        "{}: sanitize record {} unusable ({}); the LU starts in sanitize failure "
        "mode (MEDIUM ERROR, SANITIZE COMMAND FAILED) until a SANITIZE succeeds; "
        "the file is kept for inspection",
        where, path, record.error());
    lu.enter_sanitize_failure(false);
    return std::nullopt;
  }
  if (record->state == SanitizeRecord::State::kFailed) {
    STGT_LOG_WARN("{}: restored sanitize failure mode from {} (AUSE {})", where, path,
                  record->ause ? 1 : 0);
    lu.enter_sanitize_failure(record->ause);
    return std::nullopt;
  }
  if (lu.write_protected()) {
    STGT_LOG_ERROR(
        "{}: {} records a sanitize in progress but the LU is read-only; it starts "
        "in sanitize failure mode and the sanitize resumes once it is writable",
        where, path);
    lu.enter_sanitize_failure(false);
    return std::nullopt;
  }
  if (record->request.kind == SanitizeRequest::Kind::kCryptoErase && !crypto_erase_offered(lu)) {
    // The LU's store no longer encrypts (configuration changed): the erase cannot resume,
    // and the data it was meant to destroy must not be served as if it had.
    STGT_LOG_ERROR(
        "{}: {} records a cryptographic erase in progress but the LU's store does not "
        "encrypt any more; it starts in sanitize failure mode",
        where, path);
    lu.enter_sanitize_failure(false);
    return std::nullopt;
  }
  SanitizeRequest request = std::move(record->request);
  if (request.kind == SanitizeRequest::Kind::kOverwrite &&
      request.pattern.size() != lu.block_size()) {
    // The block length changed since (configuration): the pattern repeats over each block.
    std::vector<uint8_t> block(lu.block_size());
    for (size_t at = 0; at < block.size(); ++at)
      block[at] = request.pattern[at % request.pattern.size()];
    request.pattern = std::move(block);
  }
  (void)lu.begin_sanitize(record->ause);
  // REQUEST SENSE reports the checkpoint's progress from the start, before the job runs.
  const uint64_t capacity = lu.num_blocks() * lu.block_size();
  lu.set_sanitize_progress(
      sanitize_progress(sanitize_resume_bytes(request, capacity), capacity * request.passes));
  if (request.resume_pass == 0 && request.resume_offset == 0) {
    STGT_LOG_WARN(
        "{}: a sanitize was interrupted (restart or power loss); it starts again "
        "from the beginning (SBC-4 4.11.2)",
        where);
  } else {
    STGT_LOG_WARN(
        "{}: a sanitize was interrupted (restart or power loss); it resumes at pass {} of "
        "{}, byte {} (its last checkpoint; SBC-4 4.11.2)",
        where, request.resume_pass + 1, request.passes, request.resume_offset);
  }
  return request;
}

}  // namespace stgt::devices::sbc
