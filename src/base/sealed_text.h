// Small state files that carry their own checksum (sanitize records, wrapped media keys):
// text, one "key value" field a line, ending with "crc32c <8 hex digits>\n" computed over
// every byte before that line, so a torn or damaged file is told apart from a valid one
// before any field is believed. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::base {

// `body` (whole lines) followed by its crc32c line.
std::string seal(std::string body);
// The body of a sealed image once its checksum verifies. Errors (one phrase each): "no
// crc32c line", "malformed crc32c line", "checksum mismatch".
Result<std::string_view, std::string> unseal(std::string_view image);
// Takes one "key value" line off the front of `body`; false unless it is there with `key`.
bool take_field(std::string_view& body, std::string_view key, std::string_view& value);

}  // namespace stgt::base
