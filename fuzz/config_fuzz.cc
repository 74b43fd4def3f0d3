// libFuzzer target: the configuration parser (config/toml_reader.cc through toml++, then
// config/validate.cc) and the writer's promise (config.h): a configuration parse_config()
// accepts is written back by to_toml() as text that parses into an equal model, so what
// runs is what restarts.
// Input: TOML text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/log.h"
#include "fuzz/fuzz_target.h"
#include "config/config.h"

using namespace stgt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = config::parse_config(text, "fuzz.toml");
  if (!parsed) {
    (void)parsed.error().to_string();
    return 0;
  }
  const std::string written = config::to_toml(*parsed);
  auto again = config::parse_config(written, "fuzz.toml");
  if (!again) {
    std::fprintf(stderr, "to_toml wrote a configuration parse_config refuses: %s\n--- input\n%.*s\n--- written\n%s",
                 again.error().to_string().c_str(), int(size), reinterpret_cast<const char*>(data),
                 written.c_str());
    std::abort();
  }
  if (!(*again == *parsed)) {
    std::fprintf(stderr, "to_toml wrote a different configuration\n--- input\n%.*s\n--- written\n%s",
                 int(size), reinterpret_cast<const char*>(data), written.c_str());
    std::abort();
  }
  return 0;
}
