// iSCSI TransportIDs (SPC-5 7.6.4.6) as PERSISTENT RESERVE IN / OUT read and write them.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace stgt::devices::spc {

struct ParsedTransportId {
  // Format 01b: "<iSCSI name>,i,0x<12 lower-case hex digits of ISID>"; format 00b: the
  // iSCSI name alone (every initiator port of that node).
  std::string port;
  size_t length = 0;  // bytes the TransportID occupies (4 + ADDITIONAL LENGTH)
};

// Parses one iSCSI TransportID at the start of `p`; nullopt when it is not one (another
// protocol, a reserved format, a length that is not a multiple of 4 or overruns `p`, a
// missing NUL terminator, a malformed ISID).
std::optional<ParsedTransportId> parse_transport_id(std::span<const uint8_t> p);

// Encodes `port` (as above) as an iSCSI TransportID, padded to a multiple of 4 bytes and at
// least 24 bytes long.
std::vector<uint8_t> encode_transport_id(const std::string& port);

}  // namespace stgt::devices::spc
