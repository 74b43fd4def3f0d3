#include <gtest/gtest.h>

#include "../../../common/copy_lists.h"
#include "devices/sbc/rod_tokens.h"
#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint32_t kBs = 512;

struct TwoDisks {
  Harness h;
  test::MemoryStore* store1 = nullptr;
  std::shared_ptr<scsi::LogicalUnit> disk1;

  TwoDisks() {
    auto s = std::make_unique<test::MemoryStore>(Harness::kBlocks * kBs);
    store1 = s.get();
    disk1 = make_disk(std::move(s), identity_for("iqn.test:t", 1), scsi::LuSettings{});
    h.target->add_lun(1, disk1);
  }
};

using test::copy::populate_list;
using test::copy::range;
using test::copy::rrti_cdb;
using test::copy::token_cdb;
using test::copy::write_list;

void fill(test::MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte) {
  test::fill_blocks(s, lba, blocks, byte, kBs);
}
bool all_of(const test::MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte) {
  return test::blocks_are(s, lba, blocks, byte, kBs);
}

// POPULATE TOKEN on LUN 0 and the token from RECEIVE ROD TOKEN INFORMATION.
Bytes populate(TwoDisks& d, uint32_t list_id, const std::vector<Bytes>& ranges,
               uint32_t inactivity = 0) {
  const Bytes p = populate_list(ranges, inactivity);
  auto c = d.h.run(token_cdb(0x10, list_id, uint32_t(p.size())), 0, p);
  EXPECT_EQ(c->status, scsi::Status::kGood);
  auto r = d.h.run(rrti_cdb(list_id), 1024);
  EXPECT_EQ(r->status, scsi::Status::kGood);
  const Bytes info = test::data_in(*r);
  if (info.size() < 32 + 6 + 512) return {};
  EXPECT_EQ(info[4], 0x10);  // RESPONSE TO SERVICE ACTION: POPULATE TOKEN
  EXPECT_EQ(info[5], 0x01);  // completed without errors
  EXPECT_EQ(base::load_be32(&info[32]), 514u);
  return Bytes(info.begin() + 38, info.begin() + 38 + 512);
}

std::unique_ptr<scsi::Command> write_using(TwoDisks& d, uint32_t list_id, const Bytes& list,
                                           uint32_t lun = 1) {
  return d.h.run(token_cdb(0x11, list_id, uint32_t(list.size())), 0, list, lun);
}

TEST(TokenCopy, PopulateThenWriteUsingTokenCopiesAcrossLus) {
  TwoDisks d;
  fill(*d.h.store, 10, 100, 'A');
  fill(*d.h.store, 300, 50, 'B');
  const Bytes token = populate(d, 1, {range(10, 100), range(300, 50)});
  ASSERT_EQ(token.size(), 512u);
  EXPECT_EQ(base::load_be32(&token[0]), sbc::kRodTypePointInTime);
  EXPECT_EQ(base::load_be64(&token[48 + 8]), 150u * kBs);  // NUMBER OF BYTES REPRESENTED

  auto c = write_using(d, 2, write_list(token, {range(0, 120), range(500, 30)}));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(all_of(*d.store1, 0, 100, 'A'));
  EXPECT_TRUE(all_of(*d.store1, 100, 20, 'B'));
  EXPECT_TRUE(all_of(*d.store1, 500, 30, 'B'));
  EXPECT_TRUE(all_of(*d.store1, 530, 4, 0));

  auto r = d.h.run(rrti_cdb(2), 1024, {}, 1);
  ASSERT_EQ(r->status, scsi::Status::kGood);
  const Bytes info = test::data_in(*r);
  EXPECT_EQ(info[4], 0x11);
  EXPECT_EQ(info[5], 0x01);
  EXPECT_EQ(info[15], 0xf1);
  EXPECT_EQ(base::load_be64(&info[16]), 150u);
}

// Task management aborts the running WRITE USING TOKEN: it stops after the chunk in flight,
// and RECEIVE ROD TOKEN INFORMATION reports 60h (operation aborted) with the blocks written.
TEST(TokenCopy, AbortStopsWriteUsingTokenAfterTheChunkInFlight) {
  TwoDisks d;
  fill(*d.h.store, 10, 100, 'A');
  fill(*d.h.store, 300, 50, 'B');
  const Bytes token = populate(d, 1, {range(10, 100), range(300, 50)});
  d.store1->hold_writes = true;
  auto c = write_using(d, 2, write_list(token, {range(0, 120), range(500, 30)}));
  EXPECT_EQ(d.h.completions, 0);
  ASSERT_EQ(d.store1->held.size(), 1u);  // the first extent's chunk
  c->abort_requested = true;
  d.store1->release_writes(true);
  EXPECT_TRUE(d.store1->held.empty());
  EXPECT_EQ(d.store1->writes, 1);
  EXPECT_TRUE(all_of(*d.store1, 0, 100, 'A'));
  EXPECT_TRUE(all_of(*d.store1, 100, 20, 0));
  EXPECT_TRUE(all_of(*d.store1, 500, 30, 0));
  EXPECT_TRUE(c->completed());

  auto r = d.h.run(rrti_cdb(2), 1024, {}, 1);
  ASSERT_EQ(r->status, scsi::Status::kGood);
  const Bytes info = test::data_in(*r);
  EXPECT_EQ(info[5], 0x60);  // operation aborted
  EXPECT_EQ(base::load_be64(&info[16]), 100u);
}

// The block device zero ROD token: no POPULATE TOKEN needed. A fully provisioned LU gets
// zeros written (nothing unmapped); a thin one gets its ranges deallocated (nothing written).
// A token over a zeroed block is revoked; a wrong ROD TOKEN LENGTH is refused.
Bytes zero_token(uint16_t length = 0x01f8) {
  Bytes t(512, 0);
  base::store_be32(&t[0], sbc::kRodTypeBlockDeviceZero);
  base::store_be16(&t[6], length);
  return t;
}

TEST(TokenCopy, ZeroTokenWritesZerosOnAFullyProvisionedLu) {
  TwoDisks d;
  fill(*d.store1, 0, 200, 'Q');
  fill(*d.h.store, 100, 10, 'S');
  const Bytes token = populate(d, 1, {range(100, 10)});
  auto c = write_using(d, 2, write_list(zero_token(), {range(10, 20), range(100, 50)}));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(all_of(*d.store1, 0, 10, 'Q'));
  EXPECT_TRUE(all_of(*d.store1, 10, 20, 0));
  EXPECT_TRUE(all_of(*d.store1, 30, 70, 'Q'));
  EXPECT_TRUE(all_of(*d.store1, 100, 50, 0));
  EXPECT_TRUE(all_of(*d.store1, 150, 50, 'Q'));
  EXPECT_EQ(d.store1->unmaps, 0);
  const Bytes info = test::data_in(*d.h.run(rrti_cdb(2), 1024, {}, 1));
  EXPECT_EQ(info[4], 0x11);
  EXPECT_EQ(info[5], 0x01);
  EXPECT_EQ(base::load_be64(&info[16]), 70u);
  // Zeroing LUN 0's blocks 100..109 revokes the token made over them.
  auto z = write_using(d, 3, write_list(zero_token(), {range(105, 1)}), 0);
  ASSERT_EQ(z->status, scsi::Status::kGood);
  auto w = write_using(d, 4, write_list(token, {range(300, 10)}));
  EXPECT_EQ(w->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*w).asc, 0x23);
  EXPECT_EQ(test::sense_of(*w).ascq, 0x06);  // TOKEN REVOKED
  auto bad = write_using(d, 5, write_list(zero_token(0x0200), {range(0, 1)}));
  EXPECT_EQ(bad->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*bad).asc, 0x26);  // INVALID FIELD IN PARAMETER LIST
  EXPECT_EQ(test::sense_of(*bad).ascq, 0x00);
  EXPECT_TRUE(all_of(*d.store1, 0, 1, 'Q'));
}

// A fully provisioned LU whose store zeroes in place: no buffer, no data written.
TEST(TokenCopy, ZeroTokenZeroesInPlaceWhereTheStoreCan) {
  TwoDisks d;
  d.store1->zero_capable = true;
  fill(*d.store1, 0, 200, 'Q');
  auto c = write_using(d, 2, write_list(zero_token(), {range(10, 20), range(100, 50)}));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(d.store1->writes, 0);
  EXPECT_EQ(d.store1->zeroes, 2);
  EXPECT_EQ(d.store1->zeroed_bytes, 70u * kBs);
  EXPECT_TRUE(all_of(*d.store1, 10, 20, 0));
  EXPECT_TRUE(all_of(*d.store1, 100, 50, 0));
  EXPECT_TRUE(all_of(*d.store1, 30, 70, 'Q'));
}

// A store that refuses to deallocate or zero in place after all (EOPNOTSUPP: a range not
// aligned to a 4 KiB-sector device) gets the zeros written instead; the command succeeds.
TEST(TokenCopy, ZeroTokenWritesWhereTheStoreRefusesToZeroInPlace) {
  for (const bool thin : {true, false}) {
    Harness h;
    auto s = std::make_unique<test::MemoryStore>(Harness::kBlocks * kBs);
    test::MemoryStore* store = s.get();
    store->unmap_result = -EOPNOTSUPP;
    store->zero_capable = true;
    store->zero_result = -EOPNOTSUPP;
    scsi::LuSettings settings;
    settings.thin = thin;
    h.target->add_lun(1, make_disk(std::move(s), identity_for("iqn.test:t", 1), settings));
    test::fill_blocks(*store, 0, 300, 'T', kBs);
    const Bytes list = write_list(zero_token(), {range(20, 30), range(200, 64)});
    auto c = h.run(token_cdb(0x11, 1, uint32_t(list.size())), 0, list, 1);
    ASSERT_EQ(c->status, scsi::Status::kGood) << thin;
    EXPECT_EQ(thin ? store->unmaps : store->zeroes, 1) << thin;  // once, then data
    EXPECT_EQ(store->written_bytes, uint64_t(94) * kBs) << thin;
    EXPECT_TRUE(test::blocks_are(*store, 20, 30, 0, kBs));
    EXPECT_TRUE(test::blocks_are(*store, 200, 64, 0, kBs));
    EXPECT_TRUE(test::blocks_are(*store, 50, 150, 'T', kBs));
  }
}

TEST(TokenCopy, ZeroTokenDeallocatesOnAThinLu) {
  Harness h;
  auto s = std::make_unique<test::MemoryStore>(Harness::kBlocks * kBs);
  test::MemoryStore* store = s.get();
  scsi::LuSettings thin;
  thin.thin = true;
  thin.write_cache = false;  // so each deallocated chunk is flushed
  h.target->add_lun(1, make_disk(std::move(s), identity_for("iqn.test:t", 1), thin));
  test::fill_blocks(*store, 0, 300, 'T', kBs);
  const int writes = store->writes;
  const Bytes list = write_list(zero_token(), {range(20, 30), range(200, 64)});
  auto c = h.run(token_cdb(0x11, 1, uint32_t(list.size())), 0, list, 1);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(store->writes, writes);
  EXPECT_EQ(store->unmapped_bytes, uint64_t(94) * kBs);
  EXPECT_EQ(store->flushes, 2);  // one per deallocated chunk (one per range here)
  EXPECT_TRUE(test::blocks_are(*store, 20, 30, 0, kBs));
  EXPECT_TRUE(test::blocks_are(*store, 200, 64, 0, kBs));
  EXPECT_TRUE(test::blocks_are(*store, 50, 150, 'T', kBs));
}

TEST(TokenCopy, OffsetIntoRodAndAShortRodIsAPartialTransfer) {
  TwoDisks d;
  fill(*d.h.store, 0, 10, 'C');
  const Bytes token = populate(d, 1, {range(0, 10)});
  auto c = write_using(d, 2, write_list(token, {range(40, 20)}, 4));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(all_of(*d.store1, 40, 6, 'C'));
  EXPECT_TRUE(all_of(*d.store1, 46, 14, 0));
  const Bytes info = test::data_in(*d.h.run(rrti_cdb(2), 1024, {}, 1));
  EXPECT_EQ(info[5], 0x03);  // partial
  EXPECT_EQ(base::load_be64(&info[16]), 6u);
}

TEST(TokenCopy, AWriteToTheSourceRevokesTheToken) {
  TwoDisks d;
  const Bytes token = populate(d, 1, {range(100, 50)});
  auto w = d.h.run(test::cdb10(0x2a, 120, 1), 0, Bytes(kBs, 'Z'));
  ASSERT_EQ(w->status, scsi::Status::kGood);
  auto c = write_using(d, 2, write_list(token, {range(0, 50)}));
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  const auto s = test::sense_of(*c);
  EXPECT_EQ(s.key, 0x05);
  EXPECT_EQ(s.asc, 0x23);
  EXPECT_EQ(s.ascq, 0x06);  // TOKEN REVOKED
  EXPECT_EQ(d.store1->writes, 0);
}

TEST(TokenCopy, AWriteOutsideTheSourceKeepsTheToken) {
  TwoDisks d;
  const Bytes token = populate(d, 1, {range(100, 50)});
  ASSERT_EQ(d.h.run(test::cdb10(0x2a, 150, 1), 0, Bytes(kBs, 'Z'))->status, scsi::Status::kGood);
  ASSERT_EQ(d.h.run(test::cdb10(0x2a, 99, 1), 0, Bytes(kBs, 'Z'))->status, scsi::Status::kGood);
  EXPECT_EQ(write_using(d, 2, write_list(token, {range(0, 50)}))->status, scsi::Status::kGood);
}

// A READ takes a shared extent hold like a write's, but it is not a write: the token stays.
TEST(TokenCopy, AReadOfTheSourceKeepsTheToken) {
  TwoDisks d;
  fill(*d.h.store, 100, 50, 'R');
  const Bytes token = populate(d, 1, {range(100, 50)});
  auto r = d.h.run(test::cdb10(0x28, 100, 50), 50 * kBs);
  ASSERT_EQ(r->status, scsi::Status::kGood);
  ASSERT_EQ(write_using(d, 2, write_list(token, {range(0, 50)}))->status, scsi::Status::kGood);
  EXPECT_TRUE(all_of(*d.store1, 0, 50, 'R'));
}

TEST(TokenCopy, ForgedAndUnknownTokensAreRefused) {
  TwoDisks d;
  Bytes token = populate(d, 1, {range(0, 8)});
  Bytes forged = token;
  forged[200] ^= 0x01;  // same identifier, other bytes
  auto c = write_using(d, 2, write_list(forged, {range(0, 8)}));
  EXPECT_EQ(test::sense_of(*c).asc, 0x23);
  EXPECT_EQ(test::sense_of(*c).ascq, 0x05);  // TOKEN CORRUPT
  Bytes unknown = token;
  unknown[8] ^= 0xff;  // another identifier
  c = write_using(d, 3, write_list(unknown, {range(0, 8)}));
  EXPECT_EQ(test::sense_of(*c).ascq, 0x04);  // TOKEN UNKNOWN
  EXPECT_EQ(d.store1->writes, 0);
  // DEL_TKN: the genuine token works once, then is gone.
  EXPECT_EQ(write_using(d, 4, write_list(token, {range(0, 8)}, 0, true))->status,
            scsi::Status::kGood);
  c = write_using(d, 5, write_list(token, {range(0, 8)}));
  EXPECT_EQ(test::sense_of(*c).ascq, 0x04);
}

std::chrono::steady_clock::time_point g_now{};
std::chrono::steady_clock::time_point fake_now() { return g_now; }

TEST(TokenCopy, AnIdleTokenExpires) {
  TwoDisks d;
  g_now = std::chrono::steady_clock::now();
  sbc::rod_tokens().set_clock(fake_now);
  const Bytes token = populate(d, 1, {range(0, 8)}, 5);
  g_now += std::chrono::seconds(4);
  EXPECT_EQ(write_using(d, 2, write_list(token, {range(0, 8)}))->status, scsi::Status::kGood);
  g_now += std::chrono::seconds(6);  // idle for 6 s since its last use
  auto c = write_using(d, 3, write_list(token, {range(0, 8)}));
  EXPECT_EQ(test::sense_of(*c).ascq, 0x07);  // TOKEN EXPIRED
  sbc::rod_tokens().set_clock(&std::chrono::steady_clock::now);
}

TEST(TokenCopy, BadParameterListsAreRefused) {
  TwoDisks d;
  // A range past the end of the LU.
  Bytes p = populate_list({range(Harness::kBlocks - 4, 8)});
  auto c = d.h.run(token_cdb(0x10, 1, uint32_t(p.size())), 0, p);
  EXPECT_EQ(test::sense_of(*c).asc, 0x21);
  // No range at all.
  p = populate_list({});
  c = d.h.run(token_cdb(0x10, 2, uint32_t(p.size())), 0, p);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  // A parameter list too short for WRITE USING TOKEN's header.
  c = write_using(d, 3, Bytes(100, 0));
  EXPECT_EQ(test::sense_of(*c).asc, 0x1a);
  // An inactivity timeout past the maximum.
  p = populate_list({range(0, 8)}, sbc::kMaxInactivitySeconds + 1);
  c = d.h.run(token_cdb(0x10, 4, uint32_t(p.size())), 0, p);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 4);
}

TEST(TokenCopy, NoTokenNoResult) {
  Harness h;
  auto c = h.run(rrti_cdb(77), 1024);
  EXPECT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
}

}  // namespace
}  // namespace stgt::devices
