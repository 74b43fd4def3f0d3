// libFuzzer target: EXTENDED COPY (LID1) parameter lists (SPC-5 6.4), decoded by
// devices::sbc::parse_copy_list as a hostile initiator's Data-Out reaches it.
//
// Input: the whole parameter list (the CDB's PARAMETER LIST LENGTH is its size).
// Checked on every input: a decoded list stays within the limits the copy manager reports
// (VPD 0x8F, RECEIVE COPY RESULTS OPERATING PARAMETERS), every segment names CSCD
// descriptors that exist, every offset is inside the list; a refusal that points at a
// field points inside the list.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "devices/sbc/copy_params.h"
#include "fuzz/fuzz_target.h"

using namespace stgt;
using devices::sbc::CopyList;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

void check(const CopyList& list, size_t size) {
  if (list.targets.size() > devices::sbc::kMaxCscdDescriptors) fail("too many CSCD descriptors");
  if (list.segments.size() > devices::sbc::kMaxSegmentDescriptors) fail("too many segments");
  for (const auto& t : list.targets) {
    if (t.offset < devices::sbc::kCopyHeaderLength || t.offset >= size) {
      fail("a CSCD descriptor offset outside the list");
    }
  }
  for (const auto& s : list.segments) {
    if (s.source >= list.targets.size() || s.destination >= list.targets.size()) {
      fail("a segment names a CSCD descriptor that is not in the list");
    }
    if (s.offset < devices::sbc::kCopyHeaderLength || s.offset >= size) {
      fail("a segment offset outside the list");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  if (size == 0) return 0;  // a zero PARAMETER LIST LENGTH never reaches the parser
  const std::span<const uint8_t> list(data, size);
  auto parsed = devices::sbc::parse_copy_list(list);
  if (parsed) {
    check(*parsed, size);
  } else if (parsed.error().byte && *parsed.error().byte >= size) {
    fail("a refusal points past the end of the list");
  }
  return 0;
}
