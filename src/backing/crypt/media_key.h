// The keys of an encrypted store (crypt_store.h): the media encryption key (MEK) that
// encrypts the data, and the key-encryption key (KEK) that protects the MEK at rest.
//
// KEK: 32 bytes read from a file named in the configuration (LunConfig::key_file), either
// raw (exactly 32 bytes) or as 64 hexadecimal digits with an optional trailing newline
// (`openssl rand 32 > kek` or `openssl rand -hex 32 > kek`). The file must be a regular
// file that only its owner may access (no group or other permission bits, like ssh keys).
//
// MEK: 64 random bytes (RAND_bytes; AES-256-XTS takes two 256-bit keys), stored wrapped
// under the KEK with AES key wrap with padding (RFC 5649, EVP_aes_256_wrap_pad), whose
// integrity check tells a wrong KEK from the right one. The wrapped key file is text, one
// field a line, ending with a CRC32C line over everything before it (so a damaged file is
// told apart from a wrong KEK):
//   stgt-mek 1
//   cipher aes-256-xts
//   wrapped <hex of the 72-byte wrapped key>
//   crc32c <8 hex digits>
//
// Secrets live in SecretBytes, which cleanses its bytes (OPENSSL_cleanse) when destroyed,
// moved from or replaced. Pure functions; load_kek() blocks on file I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::backing::crypt {

inline constexpr size_t kKekBytes = 32;
inline constexpr size_t kMekBytes = 64;

template <size_t N>
class SecretBytes {
 public:
  SecretBytes() { bytes_.fill(0); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : bytes_(o.bytes_) { o.cleanse(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    bytes_ = o.bytes_;
    o.cleanse();
    return *this;
  }
  ~SecretBytes() { cleanse(); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  bool operator==(const SecretBytes& o) const { return bytes_ == o.bytes_; }

 private:
  void cleanse();
  std::array<uint8_t, N> bytes_;
};

using Kek = SecretBytes<kKekBytes>;
using Mek = SecretBytes<kMekBytes>;

// Reads and checks the KEK file (see above). The error is one sentence naming the file.
base::Result<Kek, std::string> load_kek(const std::string& path);
// Parses the content of a KEK file (raw or hex); `path` only names it in errors.
base::Result<Kek, std::string> parse_kek(std::string_view content, const std::string& path);

// A fresh random MEK (its two halves differ, as XTS requires).
base::Result<Mek, std::string> generate_mek();

// The wrapped key file image of `mek` under `kek`.
base::Result<std::string, std::string> wrap_mek(const Kek& kek, const Mek& mek);
// The MEK from a wrapped key file image. Errors: "damaged" (format or checksum) or "wrong
// key-encryption key" (the unwrap's integrity check failed), one sentence each.
base::Result<Mek, std::string> unwrap_mek(const Kek& kek, std::string_view image);

// Where a file image's wrapped MEK lives: beside the image (like its atomic-write journal).
inline std::string wrapped_key_path(const std::string& image_path) {
  return image_path + ".mek";
}

}  // namespace stgt::backing::crypt
