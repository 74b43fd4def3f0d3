#include "base/memory_budget.h"

#include <unistd.h>

#include <algorithm>

namespace stgt::base {

uint64_t MemoryBudget::default_limit(uint64_t floor) {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return floor;
  return std::max(uint64_t(pages) * uint64_t(page_size) / 4, floor);
}

}  // namespace stgt::base
