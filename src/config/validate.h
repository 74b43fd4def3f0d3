// Semantic checks over a Config (names, ranges, duplicates, store rules), shared by the TOML reader
// (which knows the source line of every field) and by the control plane (which does not).
// Pure functions; the model is normalised in place (iSCSI names lower-cased, portal ports filled).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "config/config.h"

namespace stgt::config {

// Where each field came from: "target[0].lun[1].block_size" -> 12. A table's own path
// ("target[0]") maps to its header line, so a missing key is reported at its table.
class SourceLines {
 public:
  void record(const std::string& field, uint32_t line) { lines_.emplace(field, line); }
  // The line of `field` or, failing that, of the closest enclosing table; 0 when unknown.
  uint32_t line_of(std::string field) const;

 private:
  std::unordered_map<std::string, uint32_t> lines_;
};

inline constexpr uint32_t kMaxLunId = 16383;  // SAM-5 4.7.3 (14-bit flat space)
inline constexpr unsigned kMaxReactors = 1024;
inline constexpr size_t kMaxUnixSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
inline constexpr size_t kMaxTargetAlias = 255;     // RFC 7143 13.6 (text value)
inline constexpr size_t kMaxVendorLength = 8;      // SPC-5 6.7.2, T10 VENDOR IDENTIFICATION
inline constexpr size_t kMaxProductLength = 16;    // SPC-5 6.7.2, PRODUCT IDENTIFICATION
inline constexpr size_t kMaxSerialLength = 64;     // VPD page 0x80 (our limit)

base::Result<void, ConfigError> validate_config(Config& config, const SourceLines& lines);

}  // namespace stgt::config
