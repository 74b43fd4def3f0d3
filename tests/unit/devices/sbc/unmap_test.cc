#include <gtest/gtest.h>

#include "devices/sbc/provisioning.h"
#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;
constexpr scsi::LuSettings kThin{.thin = true};

Bytes unmap_cdb(uint16_t list_length, uint8_t byte1 = 0) {
  Bytes c(10, 0);
  c[0] = 0x42;
  c[1] = byte1;
  base::store_be16(&c[7], list_length);
  return c;
}

struct Range {
  uint64_t lba;
  uint32_t blocks;
};

// SBC-4 5.32.2 parameter list: header with both lengths, then one descriptor per range.
Bytes unmap_list(const std::vector<Range>& ranges) {
  Bytes p(8 + 16 * ranges.size(), 0);
  base::store_be16(&p[0], uint16_t(p.size() - 2));
  base::store_be16(&p[2], uint16_t(16 * ranges.size()));
  for (size_t i = 0; i < ranges.size(); ++i) {
    base::store_be64(&p[8 + 16 * i], ranges[i].lba);
    base::store_be32(&p[8 + 16 * i + 8], ranges[i].blocks);
  }
  return p;
}

std::unique_ptr<scsi::Command> run_unmap(Harness& h, const Bytes& list) {
  return h.run(unmap_cdb(uint16_t(list.size())), 0, list);
}

void fill(Harness& h, uint8_t value) {
  std::fill(h.store->bytes.begin(), h.store->bytes.end(), value);
  h.store->set_mapped(0, h.store->bytes.size(), true);
}

TEST(Unmap, DeallocatesEveryDescriptor) {
  Harness h(512, kThin);
  fill(h, 'a');
  auto c = run_unmap(h, unmap_list({{0, 3}, {10, 1}, {20, 0}, {kN - 2, 2}}));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 3);  // the empty descriptor costs nothing
  for (const uint64_t b : {0u, 2u, 10u, 1022u, 1023u}) {
    EXPECT_FALSE(h.store->mapped[b]) << b;
    EXPECT_EQ(h.store->bytes[b * 512 + 7], 0) << b;
  }
  for (const uint64_t b : {3u, 9u, 11u, 20u, 1021u}) {
    EXPECT_TRUE(h.store->mapped[b]) << b;
    EXPECT_EQ(h.store->bytes[b * 512], 'a') << b;
  }
}

// libiscsi Unmap.ZeroBlocks: empty lists and zero-length descriptors (even at end-of-LUN
// and overlapping) are fine.
TEST(Unmap, NothingToDo) {
  Harness h(512, kThin);
  EXPECT_EQ(h.run(unmap_cdb(0))->status, scsi::Status::kGood);
  EXPECT_EQ(run_unmap(h, unmap_list({}))->status, scsi::Status::kGood);
  EXPECT_EQ(run_unmap(h, unmap_list({{kN, 0}}))->status, scsi::Status::kGood);
  EXPECT_EQ(run_unmap(h, unmap_list({{0, 0}, {0, 0}, {1, 0}}))->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 0);
}

struct Case {
  const char* name;
  Bytes cdb;
  Bytes list;
  uint8_t key;
  uint8_t asc;
  int field_byte = -1;
  bool field_in_cdb = true;
};

std::vector<Case> cases() {
  const uint32_t max = uint32_t(sbc::kMaxUnmapBytes / 512);
  std::vector<Range> too_many(sbc::kMaxUnmapDescriptors + 1, Range{0, 1});
  Bytes truncated_descriptor = unmap_list({{0, 1}, {kN, 1}});
  base::store_be16(&truncated_descriptor[2], 16 + 15);  // the second one is partial
  return {
      {"anchor", unmap_cdb(24, 0x01), unmap_list({{0, 1}}), 0x5, 0x24, 1},
      {"list shorter than header", unmap_cdb(7), Bytes(7, 0), 0x5, 0x1a},
      {"data-out shorter than header", unmap_cdb(24), Bytes(4, 0), 0x5, 0x1a},
      {"lba out of range", unmap_cdb(24), unmap_list({{kN - 1, 2}}), 0x5, 0x21},
      {"lba -1", unmap_cdb(24), unmap_list({{~0ull, 1}}), 0x5, 0x21},
      {"second descriptor out of range", unmap_cdb(40), unmap_list({{0, 1}, {kN, 1}}), 0x5, 0x21},
      {"too many descriptors", unmap_cdb(uint16_t(8 + 16 * too_many.size())), unmap_list(too_many),
       0x5, 0x26, 2, false},
      {"above max unmap lba count", unmap_cdb(24), unmap_list({{0, max + 1}}), 0x5, 0x26, 16,
       false},
      {"partial descriptor ignored", unmap_cdb(40), truncated_descriptor, 0, 0},
      {"list length cuts a descriptor", unmap_cdb(39), unmap_list({{0, 1}, {kN, 1}}), 0, 0},
  };
}

TEST(UnmapCdb, TableDriven) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Harness h(512, kThin);
    auto cmd = h.run(c.cdb, 0, c.list);
    EXPECT_EQ(h.completions, 1);
    if (c.key == 0) {
      EXPECT_EQ(cmd->status, scsi::Status::kGood);
      continue;
    }
    EXPECT_EQ(h.store->unmaps, 0);  // every descriptor is checked before any unmap
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
    if (c.field_byte >= 0) {
      EXPECT_EQ(cmd->sense[15] & 0xc0, c.field_in_cdb ? 0xc0 : 0x80);  // SKSV, C/D
      EXPECT_EQ(base::load_be16(&cmd->sense[16]), c.field_byte);
    }
  }
}

// MAXIMUM UNMAP LBA COUNT bounds the whole list, overlapping descriptors included.
TEST(Unmap, TotalAboveMaxUnmapLbaCount) {
  Harness h(4096, kThin);
  const uint32_t max = uint32_t(sbc::kMaxUnmapBytes / 4096);
  const std::vector<Range> ranges(max / kN + 1, Range{0, uint32_t(kN)});
  auto c = run_unmap(h, unmap_list(ranges));
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(c->sense[15] & 0xc0, 0x80);  // SKSV, parameter list
  EXPECT_EQ(base::load_be16(&c->sense[16]), 8 + 16 * (ranges.size() - 1) + 8);
  EXPECT_EQ(h.store->unmaps, 0);
  const std::vector<Range> fits(max / kN, Range{0, uint32_t(kN)});
  EXPECT_EQ(run_unmap(h, unmap_list(fits))->status, scsi::Status::kGood);
}

// LBPU = 0 on a fully provisioned LU: the command is not offered (libiscsi Unmap.VPD).
TEST(Unmap, FullLuHasNoUnmap) {
  Harness h;
  auto c = run_unmap(h, unmap_list({{0, 1}}));
  EXPECT_EQ(test::sense_of(*c).key, 0x5);
  EXPECT_EQ(test::sense_of(*c).asc, 0x20);
}

TEST(Unmap, WriteProtected) {
  Harness h(512, scsi::LuSettings{.read_only = true, .thin = true});
  auto c = run_unmap(h, unmap_list({{0, 1}}));
  EXPECT_EQ(test::sense_of(*c).key, 0x7);
  EXPECT_EQ(h.store->unmaps, 0);
  h.disk->set_swp(true);
  EXPECT_EQ(test::sense_of(*run_unmap(h, unmap_list({{0, 1}}))).key, 0x7);
}

// An unmap the store cannot do leaves the blocks mapped, which SBC-4 allows; a real error
// is reported.
TEST(Unmap, StoreFailures) {
  Harness h(512, kThin);
  h.store->unmap_result = -EOPNOTSUPP;
  EXPECT_EQ(run_unmap(h, unmap_list({{0, 1}, {5, 1}}))->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 2);
  h.store->unmap_result = -EIO;
  auto c = run_unmap(h, unmap_list({{0, 1}, {5, 1}}));
  EXPECT_EQ(test::sense_of(*c).key, 0x3);
  EXPECT_EQ(h.store->unmaps, 3);  // stops at the first failure
}

}  // namespace
}  // namespace stgt::devices
