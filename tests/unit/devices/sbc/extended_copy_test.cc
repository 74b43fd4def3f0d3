#include <gtest/gtest.h>

#include "../../../common/copy_lists.h"
#include "devices/sbc/copy_engine.h"
#include "devices/sbc/copy_params.h"
#include "harness.h"
#include "scsi/reservations.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

// 4 KiB blocks: the harness's 1024-block disk holds 4 MiB, several 1 MiB copy chunks.
constexpr uint32_t kBs = 4096;

// A second disk at LUN 1 of the harness's target, with its own store and NAA.
struct TwoDisks {
  Harness h{kBs};
  test::MemoryStore* store1 = nullptr;
  std::shared_ptr<scsi::LogicalUnit> disk1;

  TwoDisks() {
    auto s = std::make_unique<test::MemoryStore>(Harness::kBlocks * kBs);
    store1 = s.get();
    scsi::LuSettings settings;
    settings.block_size = kBs;
    disk1 = make_disk(std::move(s), identity_for("iqn.test:t", 1), settings);
    h.target->add_lun(1, disk1);
  }
  uint64_t naa0() const { return h.disk->identity().naa; }
  uint64_t naa1() const { return disk1->identity().naa; }
};

Bytes cscd(uint64_t naa, uint32_t block_length = kBs) {
  return test::copy::cscd(naa, block_length);
}
using test::copy::b2b;

Bytes copy_list(const std::vector<Bytes>& targets, const std::vector<Bytes>& segments,
                uint8_t list_id = 1, uint8_t usage = 0) {
  return test::copy::list(targets, segments, list_id, usage);
}

Bytes xcopy_cdb(uint32_t length) {
  Bytes c(16, 0);
  c[0] = 0x83;
  base::store_be32(&c[10], length);
  return c;
}

Bytes rcr_cdb(uint8_t action, uint8_t list_id, uint32_t allocation = 1024) {
  Bytes c(16, 0);
  c[0] = 0x84;
  c[1] = action;
  c[2] = list_id;
  base::store_be32(&c[10], allocation);
  return c;
}

void fill(test::MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte) {
  test::fill_blocks(s, lba, blocks, byte, kBs);
}
bool all_of(const test::MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte) {
  return test::blocks_are(s, lba, blocks, byte, kBs);
}

TEST(ExtendedCopy, CopiesBetweenTwoLus) {
  TwoDisks d;
  fill(*d.h.store, 10, 600, 'A');  // three 1 MiB chunks, the last one partial
  const Bytes list = copy_list({cscd(d.naa0()), cscd(d.naa1())}, {b2b(0, 1, 600, 10, 20)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(d.h.completions, 1);
  EXPECT_TRUE(all_of(*d.store1, 20, 600, 'A'));
  EXPECT_TRUE(all_of(*d.store1, 0, 20, 0));
  EXPECT_TRUE(all_of(*d.store1, 620, 4, 0));
  EXPECT_EQ(d.store1->writes, 3);
  EXPECT_FALSE(d.h.disk->extents().tracking());

  auto s = d.h.run(rcr_cdb(0x00, 1), 1024);
  ASSERT_EQ(s->status, scsi::Status::kGood);
  const Bytes st = test::data_in(*s);
  ASSERT_EQ(st.size(), 12u);
  EXPECT_EQ(st[4], 0x01);  // completed without errors
  EXPECT_EQ(base::load_be16(&st[5]), 1);
  EXPECT_EQ(st[7], 0x00);  // bytes
  EXPECT_EQ(base::load_be32(&st[8]), 600u * kBs);
}

// Task management aborts the running copy (the transport sets abort_requested): the chunk
// in flight completes, nothing more is read or written, the command ends, and RECEIVE COPY
// RESULTS reports the copy as completed with errors after the chunk that was done.
TEST(ExtendedCopy, AbortStopsTheCopyAfterTheChunkInFlight) {
  TwoDisks d;
  fill(*d.h.store, 0, 600, 'A');
  d.store1->hold_writes = true;
  const Bytes list = copy_list({cscd(d.naa0()), cscd(d.naa1())}, {b2b(0, 1, 600, 0, 20)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  EXPECT_EQ(d.h.completions, 0);  // the first 1 MiB chunk's write is in flight
  ASSERT_EQ(d.store1->held.size(), 1u);
  const int reads = d.h.store->reads;
  c->abort_requested = true;
  d.store1->release_writes(true);
  EXPECT_TRUE(c->completed());  // the transport drops its result
  EXPECT_TRUE(d.store1->held.empty());
  EXPECT_EQ(d.store1->writes, 1);
  EXPECT_EQ(d.h.store->reads, reads);  // no read after the abort
  const uint64_t chunk = sbc::CopyJob::kChunkBytes / kBs;
  EXPECT_TRUE(all_of(*d.store1, 20, chunk, 'A'));
  EXPECT_TRUE(all_of(*d.store1, 20 + chunk, 600 - chunk, 0));
  EXPECT_FALSE(d.h.disk->extents().tracking());

  auto s = d.h.run(rcr_cdb(0x00, 1), 1024);
  ASSERT_EQ(s->status, scsi::Status::kGood);
  const Bytes st = test::data_in(*s);
  ASSERT_EQ(st.size(), 12u);
  EXPECT_EQ(st[4], 0x02);  // completed with errors
  EXPECT_EQ(base::load_be32(&st[8]), sbc::CopyJob::kChunkBytes);
}

TEST(ExtendedCopy, SeveralSegmentsWithinOneLu) {
  TwoDisks d;
  fill(*d.h.store, 0, 8, 'X');
  fill(*d.h.store, 100, 8, 'Y');
  const Bytes list =
      copy_list({cscd(d.naa0())}, {b2b(0, 0, 8, 0, 500), b2b(0, 0, 8, 100, 600)}, 7, 2);
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(all_of(*d.h.store, 500, 8, 'X'));
  EXPECT_TRUE(all_of(*d.h.store, 600, 8, 'Y'));
  // LIST ID USAGE 10b: nothing is held for RECEIVE COPY RESULTS.
  auto s = d.h.run(rcr_cdb(0x00, 7), 1024);
  EXPECT_EQ(s->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*s).asc, 0x24);
}

TEST(ExtendedCopy, ZeroParameterListLengthIsGood) {
  Harness h;
  auto c = h.run(xcopy_cdb(0));
  EXPECT_EQ(c->status, scsi::Status::kGood);
}

TEST(ExtendedCopy, UnknownNaaIsNotReachable) {
  TwoDisks d;
  const Bytes list = copy_list({cscd(d.naa0()), cscd(0x6001405000000000ull)},
                               {b2b(0, 1, 8, 0, 0)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  const auto s = test::sense_of(*c);
  EXPECT_EQ(s.key, 0x0a);  // COPY ABORTED
  EXPECT_EQ(s.asc, 0x0d);
  EXPECT_EQ(s.ascq, 0x02);
  EXPECT_EQ(d.store1->writes, 0);
}

TEST(ExtendedCopy, SegmentPastTheEndIsAbortedBeforeAnyIo) {
  TwoDisks d;
  const Bytes list = copy_list({cscd(d.naa0())}, {b2b(0, 0, 2048, 0, Harness::kBlocks - 1)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).key, 0x0a);
  EXPECT_EQ(d.h.store->reads, 0);
  EXPECT_EQ(d.h.store->writes, 0);
}

TEST(ExtendedCopy, BadParameterListGetsIllegalRequestWithFieldPointer) {
  TwoDisks d;
  Bytes list = copy_list({cscd(d.naa0())}, {b2b(0, 0, 8, 0, 8)});
  list[16] = 0xe0;  // unsupported CSCD type
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  const auto s = test::sense_of(*c);
  EXPECT_EQ(s.key, 0x05);
  EXPECT_EQ(s.asc, 0x26);
  EXPECT_EQ(s.ascq, 0x07);
  EXPECT_EQ(c->sense[15], 0x80);  // SKSV, C/D = 0: the parameter list
  EXPECT_EQ(base::load_be16(&c->sense[16]), 16);
}

TEST(ExtendedCopy, WrongDiskBlockLengthIsAnInvalidField) {
  TwoDisks d;
  const Bytes list = copy_list({cscd(d.naa0(), 512)}, {b2b(0, 0, 8, 0, 8)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 16 + 29);
}

TEST(ExtendedCopy, ReadOnlyDestinationIsWriteProtected) {
  TwoDisks d;
  scsi::LuSettings ro;
  ro.read_only = true;
  ro.block_size = kBs;
  auto s = std::make_unique<test::MemoryStore>(Harness::kBlocks * kBs);
  auto disk2 = make_disk(std::move(s), identity_for("iqn.test:t", 2), ro);
  d.h.target->add_lun(2, disk2);
  const Bytes list = copy_list({cscd(d.naa0()), cscd(disk2->identity().naa)},
                               {b2b(0, 1, 8, 0, 0)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).key, 0x07);  // DATA PROTECT
}

TEST(ExtendedCopy, ReservedDestinationConflicts) {
  TwoDisks d;
  auto other = d.h.add_nexus("iqn.other", 2);
  ASSERT_EQ(d.disk1->reservations().reserve6(other->initiator()), scsi::Status::kGood);
  const Bytes list = copy_list({cscd(d.naa0()), cscd(d.naa1())}, {b2b(0, 1, 8, 0, 0)});
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  EXPECT_EQ(c->status, scsi::Status::kReservationConflict);
  EXPECT_EQ(d.store1->writes, 0);
}

TEST(ExtendedCopy, ACopyInProgressIsReportedAndKeepsItsListIdBusy) {
  TwoDisks d;
  const Bytes list = copy_list({cscd(d.naa0()), cscd(d.naa1())},
                               {b2b(0, 1, 8, 0, 0), b2b(0, 1, 8, 8, 8)}, 3);
  d.store1->hold_writes = true;  // the first write stays in flight: the copy is in progress
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  EXPECT_EQ(d.h.completions, 0);
  auto busy = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);  // same list id
  ASSERT_EQ(busy->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*busy).asc, 0x00);
  EXPECT_EQ(test::sense_of(*busy).ascq, 0x16);  // OPERATION IN PROGRESS
  auto st = d.h.run(rcr_cdb(0x00, 3), 1024);
  ASSERT_EQ(st->status, scsi::Status::kGood);
  EXPECT_EQ(test::data_in(*st)[4], 0x00);  // in progress
  EXPECT_EQ(base::load_be16(&test::data_in(*st)[5]), 0);
  // The first segment's write completes; the second one's stays in flight.
  d.store1->release_writes(true);
  st = d.h.run(rcr_cdb(0x00, 3), 1024);
  ASSERT_EQ(st->status, scsi::Status::kGood);
  const Bytes mid = test::data_in(*st);
  EXPECT_EQ(mid[4], 0x00);  // still in progress
  EXPECT_EQ(base::load_be16(&mid[5]), 1);
  EXPECT_EQ(base::load_be32(&mid[8]), 8 * kBs);
  EXPECT_FALSE(c->completed());
  d.store1->release_writes();
  EXPECT_EQ(c->status, scsi::Status::kGood);
  auto fs = d.h.run(rcr_cdb(0x04, 3), 1024);
  ASSERT_EQ(fs->status, scsi::Status::kGood);
  const Bytes f = test::data_in(*fs);
  ASSERT_GE(f.size(), 60u);
  EXPECT_EQ(f[56], 0x00);
  EXPECT_EQ(base::load_be16(&f[58]), 0);
  // FAILED SEGMENT DETAILS discards the record.
  EXPECT_EQ(d.h.run(rcr_cdb(0x00, 3), 1024)->status, scsi::Status::kCheckCondition);
}

TEST(ExtendedCopy, NoBufferForTheCopyIsTaskSetFull) {
  TwoDisks d;
  base::MemoryBudget budget(64 << 10);  // room for the parameter list, not for a 1 MiB chunk
  ASSERT_TRUE(d.h.pool.set_budget(&budget, 64 << 10));
  const Bytes list = copy_list({cscd(d.naa0()), cscd(d.naa1())}, {b2b(0, 1, 8, 0, 0)}, 9);
  auto c = d.h.run(xcopy_cdb(uint32_t(list.size())), 0, list);
  EXPECT_EQ(c->status, scsi::Status::kTaskSetFull);
  EXPECT_EQ(d.store1->writes, 0);
  c.reset();
  d.h.pool.set_budget(nullptr, 64 << 20);
}

TEST(ReceiveCopyResults, OperatingParameters) {
  Harness h;
  auto c = h.run(rcr_cdb(0x03, 0), 1024);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes p = test::data_in(*c);
  ASSERT_EQ(p.size(), 46u);
  EXPECT_EQ(base::load_be32(&p[0]), 42u);
  EXPECT_EQ(base::load_be16(&p[8]), sbc::kMaxCscdDescriptors);
  EXPECT_EQ(base::load_be16(&p[10]), sbc::kMaxSegmentDescriptors);
  EXPECT_EQ(base::load_be32(&p[12]), sbc::kMaxDescriptorListLength);
  EXPECT_EQ(base::load_be32(&p[16]), 0xffffu * 512);
  EXPECT_EQ(p[37], 9);  // 512-byte granularity
  EXPECT_EQ(p[43], 2);
  EXPECT_EQ(p[44], 0x02);
  EXPECT_EQ(p[45], 0xe4);
}

TEST(ReceiveCopyResults, UnknownListIdIsAnInvalidField) {
  Harness h;
  auto c = h.run(rcr_cdb(0x00, 42), 1024);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 2);
}

}  // namespace
}  // namespace stgt::devices
