#include "backing/backing_store.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "backing/crypt/crypt_store.h"

#include "backing/file/file_store.h"
#include "backing/memory/memory_store.h"
#include "backing/null/null_store.h"

namespace stgt::backing {

void StoreRegistry::add(std::string kind, StoreFactory factory) {
  factories_[std::move(kind)] = std::move(factory);
}

base::Result<std::unique_ptr<BackingStore>, std::string> StoreRegistry::open(
    const StoreSpec& spec) const {
  const auto it = factories_.find(spec.kind);
  if (it == factories_.end()) {
    return base::unexpected(fmt::format("unknown backing store kind '{}'", spec.kind));
  }
  const bool encrypted = !spec.encryption.empty() && spec.encryption != "none";
  if (encrypted && spec.encryption != "aes-256-xts") {
    return base::unexpected(fmt::format("unknown encryption '{}'", spec.encryption));
  }
  const std::string key_path = spec.kind == "file" ? crypt::wrapped_key_path(spec.path) : "";
  struct stat st {};
  if (!encrypted && !key_path.empty() && ::stat(key_path.c_str(), &st) == 0) {
    return base::unexpected(fmt::format(
        "{} is encrypted (its wrapped media key {} exists) but the LUN has no encryption "
        "configured; serving it would show ciphertext",
        spec.path, key_path));
  }
  auto store = it->second(spec);
  if (!store || !encrypted) return store;
  return CryptStore::open(
      std::move(store).value(),
      CryptSpec{.kek_path = spec.key_file, .key_path = key_path, .read_only = spec.read_only});
}

void register_builtin_backing_stores(StoreRegistry& registry) {
  registry.add("file", &FileStore::open);
  registry.add("memory", &MemoryStore::open);
  registry.add("null", &NullStore::open);
}

}  // namespace stgt::backing
