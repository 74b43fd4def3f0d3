// libFuzzer target: the files an encrypted LU reads at open (backing/crypt/media_key.h): the
// key-encryption key file and the wrapped media key image (base/sealed_text.h format, AES key
// wrap inside). Input: any bytes, tried as a KEK file's content and as a wrapped key image
// under a fixed KEK (bytes 0..31). Nothing may crash or read out of bounds; an image that
// unwraps must wrap again into one that unwraps to the same key.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "backing/crypt/media_key.h"
#include "base/sealed_text.h"

using namespace stgt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)backing::crypt::parse_kek(input, "fuzz-kek");
  if (auto body = base::unseal(input)) {
    std::string_view rest = *body;
    std::string_view value;
    while (base::take_field(rest, "wrapped", value)) {
    }
  }
  std::string fixed(32, '\0');
  for (size_t i = 0; i < fixed.size(); ++i)
    fixed[i] = char(i);
  const auto kek = backing::crypt::parse_kek(fixed, "fixed");
  if (!kek) std::abort();
  auto mek = backing::crypt::unwrap_mek(*kek, input);
  if (!mek) return 0;
  const auto image = backing::crypt::wrap_mek(*kek, *mek);
  if (!image) std::abort();
  const auto again = backing::crypt::unwrap_mek(*kek, *image);
  if (!again || !(*again == *mek)) {
    std::fprintf(stderr, "a wrapped media key does not survive wrap -> unwrap\n");
    std::abort();
  }
  return 0;
}
