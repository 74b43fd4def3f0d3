// iSCSI text format (RFC 7143 6.1): the data segment of Login and Text PDUs is a sequence of
// `key=value` strings, each terminated by one NUL. This file parses such a segment into an
// ordered list of pairs, encodes pairs back, and decodes RFC 7143 numerical values.
//
// Pure functions over caller-owned bytes; no allocation beyond the returned containers, no I/O.
// Every input bound is explicit so a hostile initiator cannot make the parser use unbounded
// memory: the caller passes the maximum text length it accumulated over C=1 PDUs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace stgt::iscsi {

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// RFC 7143 6.1: key names are at most 63 bytes. Values of most keys are at most 255 bytes,
// but CHAP challenges/responses and SendTargets answers may be longer; 8192 covers every key.
inline constexpr size_t kMaxKeyLength = 63;
inline constexpr size_t kMaxValueLength = 8192;
inline constexpr size_t kMaxTextPairs = 256;
inline constexpr size_t kDefaultMaxTextLength = 64 * 1024;

enum class TextError : uint8_t {
  kTooLong,          // whole text longer than the caller's bound
  kTooManyPairs,     // more than kMaxTextPairs pairs
  kMissingEquals,    // a pair without '='
  kEmptyKey,         // "=value"
  kKeyTooLong,       // key longer than kMaxKeyLength
  kValueTooLong,     // value longer than kMaxValueLength
  kBadKeyCharacter,  // key outside the RFC 7143 6.1 label alphabet
  kBadValueCharacter,
  kEmptyPair,  // two NULs in a row before the end of the text
};

std::string_view to_string(TextError e);

// Parses `data` (one or more PDUs' data segments joined). A missing NUL after the last pair
// is tolerated; trailing NULs (padding) are ignored. Pairs keep their order; duplicates are
// kept (detecting them is the negotiator's job).
base::Result<std::vector<KeyValue>, TextError> parse_text(
    std::span<const uint8_t> data, size_t max_length = kDefaultMaxTextLength);

// True when `key` is a well-formed key name: a standard label (letter first, then letters,
// digits and . - + @ _), an "X-" extension or an "X#" IANA-registered key.
bool is_valid_key_name(std::string_view key);

// Appends "key=value\0".
void append_key(std::vector<uint8_t>& out, std::string_view key, std::string_view value);
// Encodes all pairs in order.
std::vector<uint8_t> encode_text(std::span<const KeyValue> pairs);

// RFC 7143 6.1 numerical values: decimal ("1234"), hex ("0x4d2") or base64 ("0bBNI=") constants,
// at most 64 bits. Nullopt on syntax error or overflow.
std::optional<uint64_t> parse_number(std::string_view text);

// RFC 7143 6.1 reserved constants.
inline constexpr std::string_view kValueReject = "Reject";
inline constexpr std::string_view kValueIrrelevant = "Irrelevant";
inline constexpr std::string_view kValueNotUnderstood = "NotUnderstood";
inline constexpr std::string_view kValueNone = "None";
inline constexpr std::string_view kValueYes = "Yes";
inline constexpr std::string_view kValueNo = "No";

}  // namespace stgt::iscsi
