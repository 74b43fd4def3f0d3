// Self-describing blocks for verified I/O in the fault tests: every 512-byte block carries its
// LBA and a write generation, and the rest of the block is a pseudo-random fill derived from
// both, so a block read back is either all zeros (never written), exactly one (LBA,
// generation) image, or damaged (torn, misplaced, stale from another LBA). Pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace stgt::faults {

inline constexpr uint32_t kBlock = 512;
inline constexpr uint64_t kMagic = 0x53544754424c4b31ull;  // "STGTBLK1"

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline void fill_block(uint8_t* out, uint64_t lba, uint64_t gen) {
  std::memcpy(out, &kMagic, 8);
  std::memcpy(out + 8, &lba, 8);
  std::memcpy(out + 16, &gen, 8);
  uint64_t state = lba * 0x100000001b3ull ^ gen;
  for (uint32_t at = 24; at < kBlock; at += 8) {
    const uint64_t v = splitmix64(state);
    std::memcpy(out + at, &v, 8);
  }
}

// `count` consecutive blocks from `lba`, all of generation `gen`.
inline std::vector<uint8_t> make_blocks(uint64_t lba, uint32_t count, uint64_t gen) {
  std::vector<uint8_t> data(size_t(count) * kBlock);
  for (uint32_t i = 0; i < count; ++i) fill_block(&data[size_t(i) * kBlock], lba + i, gen);
  return data;
}

// What a block read back holds.
struct BlockImage {
  enum class Kind : uint8_t { kZero, kValid, kDamaged };
  Kind kind = Kind::kDamaged;
  uint64_t lba = 0;  // kValid: the LBA the image was written for
  uint64_t gen = 0;  // kValid: its generation
};

inline BlockImage inspect_block(std::span<const uint8_t> block) {
  BlockImage img;
  bool zero = true;
  for (uint8_t b : block.first(kBlock)) zero = zero && b == 0;
  if (zero) {
    img.kind = BlockImage::Kind::kZero;
    return img;
  }
  uint64_t magic = 0;
  std::memcpy(&magic, block.data(), 8);
  if (magic != kMagic) return img;
  std::memcpy(&img.lba, block.data() + 8, 8);
  std::memcpy(&img.gen, block.data() + 16, 8);
  uint8_t expect[kBlock];
  fill_block(expect, img.lba, img.gen);
  if (std::memcmp(expect, block.data(), kBlock) != 0) return img;
  img.kind = BlockImage::Kind::kValid;
  return img;
}

}  // namespace stgt::faults
