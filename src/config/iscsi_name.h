// iSCSI name syntax (RFC 7143 4.2.7, stringprep profile RFC 3722), used for target and initiator
// names in the configuration. Pure functions; no allocation beyond the returned string.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::config {

inline constexpr size_t kMaxIscsiNameLength = 223;  // RFC 7143 4.2.7.1

// Checks `name` and returns its normalised form (ASCII lower case, as RFC 3722's case folding
// does), or a sentence saying what is wrong. Accepted forms:
//   iqn.yyyy-mm.reversed.domain[:anything]   eui.<16 hex>   naa.<16 or 32 hex>
// Only ASCII names are supported; RFC 3722 allows more, which no initiator in use needs.
base::Result<std::string, std::string> normalize_iscsi_name(std::string_view name);

}  // namespace stgt::config
