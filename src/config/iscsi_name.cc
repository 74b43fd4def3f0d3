#include "config/iscsi_name.h"

#include <cctype>

namespace stgt::config {
namespace {

using NameResult = base::Result<std::string, std::string>;

bool is_hex(std::string_view s) {
  for (const char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_digits(std::string_view s) {
  for (const char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// RFC 7143 4.2.7.2: "iqn." date "." reversed domain name [":" unique string].
NameResult check_iqn(std::string name) {
  const std::string_view rest = std::string_view(name).substr(4);
  if (rest.size() < 8 || !is_digits(rest.substr(0, 4)) || rest[4] != '-' ||
      !is_digits(rest.substr(5, 2))) {
    return base::unexpected(std::string("an iqn name needs a date yyyy-mm after \"iqn.\""));
  }
  const int month = (rest[5] - '0') * 10 + (rest[6] - '0');
  if (month < 1 || month > 12) {
    return base::unexpected(std::string("month in iqn date must be 01..12"));
  }
  if (rest[7] != '.') {
    return base::unexpected(std::string("an iqn date must be followed by \".\" and a domain"));
  }
  const std::string_view after_date = rest.substr(8);
  const std::string_view authority = after_date.substr(0, after_date.find(':'));
  if (authority.empty()) {
    return base::unexpected(std::string("an iqn name needs a reversed domain name after the date"));
  }
  if (authority.front() == '.' || authority.back() == '.' ||
      authority.find("..") != std::string_view::npos) {
    return base::unexpected(std::string("the domain part of an iqn name has an empty label"));
  }
  for (const char c : authority) {
    if (c == ':') break;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return base::unexpected(
          std::string("the domain part of an iqn name may hold only "
                      "letters, digits, '-' and '.'"));
    }
  }
  return name;
}

NameResult check_hex_name(std::string name, std::string_view kind, bool allow_32) {
  const std::string_view hex = std::string_view(name).substr(4);
  const bool length_ok = hex.size() == 16 || (allow_32 && hex.size() == 32);
  if (!length_ok || !is_hex(hex)) {
    return base::unexpected(std::string("an ") + std::string(kind) + " name needs " +
                            (allow_32 ? "16 or 32" : "16") + " hex digits after the prefix");
  }
  return name;
}

}  // namespace

NameResult normalize_iscsi_name(std::string_view name) {
  if (name.empty()) return base::unexpected(std::string("an iSCSI name must not be empty"));
  if (name.size() > kMaxIscsiNameLength) {
    return base::unexpected(std::string("an iSCSI name is at most 223 bytes"));
  }
  std::string lower;
  lower.reserve(name.size());
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return base::unexpected(std::string("only ASCII iSCSI names are supported"));
    // RFC 7143 4.2.7.1: after stringprep only a-z, 0-9, '-', '.', ':' remain in ASCII.
    if (!std::isalnum(u) && c != '-' && c != '.' && c != ':') {
      return base::unexpected(std::string("invalid character '") + c +
                              "' (allowed: letters, digits, '-', '.', ':')");
    }
    lower.push_back(char(std::tolower(u)));  // RFC 3722 case folding
  }
  if (lower.starts_with("iqn.")) return check_iqn(std::move(lower));
  if (lower.starts_with("eui.")) return check_hex_name(std::move(lower), "eui", false);
  if (lower.starts_with("naa.")) return check_hex_name(std::move(lower), "naa", true);
  return base::unexpected(std::string("an iSCSI name starts with \"iqn.\", \"eui.\" or \"naa.\""));
}

}  // namespace stgt::config
