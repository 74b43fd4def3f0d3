#include "backing/backing_store.h"

#include <fmt/format.h>

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
  return it->second(spec);
}

void register_builtin_backing_stores(StoreRegistry& registry) {
  registry.add("file", &FileStore::open);
  registry.add("memory", &MemoryStore::open);
  registry.add("null", &NullStore::open);
}

}  // namespace stgt::backing
