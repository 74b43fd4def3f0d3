// Small files that must survive a crash whole or not at all (persistent reservation state).
//
// write_file_atomic(): the content goes to a temporary file in the same directory, is
// fsync'ed, renamed over `path`, and the directory is fsync'ed, so after a crash `path` holds
// either the old or the new content. Blocking file I/O: call it where blocking is allowed
// (start-up, or a rare command whose completion must wait for durability).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::base {

Result<void, std::string> write_file_atomic(const std::string& path, std::string_view content);
// Removes `path` (absent is fine) and fsyncs its directory.
Result<void, std::string> remove_file_durably(const std::string& path);
// The whole file, or nullopt when it does not exist.
Result<std::optional<std::string>, std::string> read_small_file(const std::string& path);

}  // namespace stgt::base
