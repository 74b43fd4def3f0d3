#include "backing/crypt/media_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "base/sealed_text.h"
#include "base/unique_fd.h"

namespace stgt::backing::crypt {

template <size_t N>
void SecretBytes<N>::cleanse() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}
template class SecretBytes<kKekBytes>;
template class SecretBytes<kMekBytes>;

namespace {

constexpr std::string_view kHeader = "stgt-mek 1";
constexpr std::string_view kCipher = "aes-256-xts";
// RFC 5649: the wrapped key is the key plus an 8-byte integrity block (64 is a multiple of 8,
// so no padding).
constexpr size_t kWrappedBytes = kMekBytes + 8;
// A KEK file is 32 raw bytes or 64 hex digits and a newline; anything larger is not one.
constexpr size_t kMaxKekFileBytes = 256;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly out_len bytes of hex; false on any other length or a non-hex digit.
bool decode_hex(std::string_view hex, uint8_t* out, size_t out_len) {
  if (hex.size() != 2 * out_len) return false;
  for (size_t i = 0; i < out_len; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

std::string encode_hex(const uint8_t* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * len, '0');
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return s;
}

base::Unexpected<std::string> damaged(std::string_view what) {
  return base::unexpected(fmt::format("damaged wrapped key file ({})", what));
}

// AES key wrap with padding (RFC 5649) of `in` under `kek`; encrypt or decrypt. Returns the
// output length, or -1 when OpenSSL refuses (on unwrap: the integrity check failed).
int key_wrap(const Kek& kek, bool encrypt, const uint8_t* in, int in_len, uint8_t* out) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return -1;
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_wrap_pad(), nullptr, kek.data(), nullptr,
                        encrypt ? 1 : 0) != 1) {
    return -1;
  }
  int n = 0;
  if (EVP_CipherUpdate(ctx.get(), out, &n, in, in_len) != 1) return -1;
  int tail = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + n, &tail) != 1) return -1;
  return n + tail;
}

}  // namespace

base::Result<Kek, std::string> parse_kek(std::string_view content, const std::string& path) {
  Kek kek;
  if (content.size() == kKekBytes) {
    std::memcpy(kek.data(), content.data(), kKekBytes);
    return kek;
  }
  std::string_view hex = content;
  if (!hex.empty() && hex.back() == '\n') hex.remove_suffix(1);
  if (!hex.empty() && hex.back() == '\r') hex.remove_suffix(1);
  if (!decode_hex(hex, kek.data(), kKekBytes)) {
    return base::unexpected(fmt::format(
        "key file {} is not a key: it must hold exactly 32 bytes or 64 hexadecimal digits", path));
  }
  return kek;
}

base::Result<Kek, std::string> load_kek(const std::string& path) {
  const base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return base::unexpected(fmt::format("cannot open key file {}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return base::unexpected(fmt::format("key file {} is not a regular file", path));
  }
  if ((st.st_mode & 0077) != 0) {
    return base::unexpected(fmt::format(
        "key file {} is accessible by group or others (mode {:04o}); make it 0600 or 0400", path,
        st.st_mode & 07777));
  }
  std::array<char, kMaxKekFileBytes + 1> buf{};
  size_t have = 0;
  while (have < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return base::unexpected(
          fmt::format("cannot read key file {}: {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    have += size_t(n);
  }
  auto kek = parse_kek(std::string_view(buf.data(), have), path);
  OPENSSL_cleanse(buf.data(), buf.size());
  return kek;
}

base::Result<Mek, std::string> generate_mek() {
  Mek mek;
  do {
    if (RAND_bytes(mek.data(), int(mek.size())) != 1) {
      return base::unexpected(std::string("the random number generator failed"));
    }
    // XTS: the data key and the tweak key must differ (OpenSSL refuses equal halves).
  } while (std::memcmp(mek.data(), mek.data() + kMekBytes / 2, kMekBytes / 2) == 0);
  return mek;
}

base::Result<std::string, std::string> wrap_mek(const Kek& kek, const Mek& mek) {
  std::array<uint8_t, kWrappedBytes + 16> wrapped{};
  const int n = key_wrap(kek, true, mek.data(), int(mek.size()), wrapped.data());
  if (n != int(kWrappedBytes)) return base::unexpected(std::string("AES key wrap failed"));
  return base::seal(fmt::format("{}\ncipher {}\nwrapped {}\n", kHeader, kCipher,
                                encode_hex(wrapped.data(), kWrappedBytes)));
}

base::Result<Mek, std::string> unwrap_mek(const Kek& kek, std::string_view image) {
  auto verified = base::unseal(image);
  if (!verified) return damaged(verified.error());
  std::string_view body = verified.value();
  const size_t nl = body.find('\n');
  if (nl == std::string_view::npos || body.substr(0, nl) != kHeader) {
    return damaged("not a version 1 wrapped key");
  }
  body.remove_prefix(nl + 1);
  std::string_view v;
  if (!base::take_field(body, "cipher", v) || v != kCipher) return damaged("unknown cipher");
  std::array<uint8_t, kWrappedBytes> wrapped{};
  if (!base::take_field(body, "wrapped", v) || !decode_hex(v, wrapped.data(), wrapped.size())) {
    return damaged("malformed wrapped line");
  }
  if (!body.empty()) return damaged("unexpected lines");
  std::array<uint8_t, kWrappedBytes + 16> plain{};
  const int n = key_wrap(kek, false, wrapped.data(), int(wrapped.size()), plain.data());
  Mek mek;
  const bool ok = n == int(kMekBytes);
  if (ok) std::memcpy(mek.data(), plain.data(), kMekBytes);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!ok) {
    return base::unexpected(
        std::string("the key-encryption key does not unwrap the media key (wrong key file)"));
  }
  return mek;
}

}  // namespace stgt::backing::crypt
