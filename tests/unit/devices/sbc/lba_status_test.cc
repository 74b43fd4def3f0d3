#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;

Bytes get_lba_status(uint64_t lba, uint32_t alloc) {
  Bytes c(16, 0);
  c[0] = 0x9e;
  c[1] = 0x12;
  base::store_be64(&c[2], lba);
  base::store_be32(&c[10], alloc);
  return c;
}

struct Descriptor {
  uint64_t lba;
  uint32_t blocks;
  uint8_t status;
  bool operator==(const Descriptor&) const = default;
};

std::vector<Descriptor> descriptors(const Bytes& d) {
  std::vector<Descriptor> out;
  EXPECT_GE(d.size(), 8u);
  for (size_t at = 8; at + 16 <= d.size(); at += 16) {
    out.push_back({base::load_be64(&d[at]), base::load_be32(&d[at + 8]), d[at + 12]});
  }
  return out;
}

std::vector<Descriptor> status_at(Harness& h, uint64_t lba, uint32_t alloc = 4096) {
  auto c = h.run(get_lba_status(lba, alloc), alloc);
  EXPECT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  EXPECT_EQ(base::load_be32(&d[0]) + 4u, c->in_length);
  return descriptors(d);
}

TEST(GetLbaStatus, ReportsExtentsFromTheStore) {
  Harness h(512, scsi::LuSettings{.thin = true});
  h.store->set_mapped(0, 100 * 512, true);
  h.store->set_mapped(200 * 512, 10 * 512, true);
  EXPECT_EQ(status_at(h, 0), (std::vector<Descriptor>{
                                 {0, 100, 0}, {100, 100, 1}, {200, 10, 0}, {210, kN - 210, 1}}));
  // The first descriptor starts at the requested LBA (libiscsi GetLBAStatus.UnmapSingle).
  EXPECT_EQ(status_at(h, 150)[0], (Descriptor{150, 50, 1}));
  EXPECT_EQ(status_at(h, 205)[0], (Descriptor{205, 5, 0}));
  EXPECT_EQ(status_at(h, kN - 1), (std::vector<Descriptor>{{kN - 1, 1, 1}}));
}

TEST(GetLbaStatus, AllocationLengthLimitsDescriptors) {
  Harness h(512, scsi::LuSettings{.thin = true});
  for (uint64_t b = 0; b < 20; b += 2)
    h.store->set_mapped(b * 512, 512, true);
  // 24 bytes: header and one descriptor, PARAMETER DATA LENGTH still for what was built.
  auto c = h.run(get_lba_status(0, 24), 24);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(c->in_length, 24u);
  EXPECT_EQ(descriptors(test::data_in(*c)), (std::vector<Descriptor>{{0, 1, 0}}));
  EXPECT_EQ(status_at(h, 0, 8 + 3 * 16).size(), 3u);
  EXPECT_EQ(h.run(get_lba_status(0, 0), 0)->status, scsi::Status::kGood);
  EXPECT_EQ(status_at(h, 0, 65535).size(), 20u);  // 19 alternating, then one unmapped tail
}

// A full LU over a store that cannot tell: everything mapped, in one descriptor.
TEST(GetLbaStatus, FullLuIsMapped) {
  Harness h(4096, {}, /*store_can_unmap=*/false);
  h.store->set_mapped(0, h.store->bytes.size(), true);
  EXPECT_EQ(status_at(h, 3), (std::vector<Descriptor>{{3, kN - 3, 0}}));
}

TEST(GetLbaStatus, BeyondEndOfLun) {
  Harness h;
  for (const uint64_t lba : {kN, kN + 1, uint64_t{1} << 63, ~uint64_t{0}}) {
    auto c = h.run(get_lba_status(lba, 24), 24);
    EXPECT_EQ(test::sense_of(*c).key, 0x5);
    EXPECT_EQ(test::sense_of(*c).asc, 0x21);
  }
}

}  // namespace
}  // namespace stgt::devices
