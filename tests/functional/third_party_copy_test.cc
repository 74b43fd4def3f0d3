// Third-party copy through stgtd.
// EXTENDED COPY (LID1): an initiator asks LUN 1's copy manager to copy blocks from LUN 1 to
// LUN 2, naming both by the NAA designators of their Device Identification pages, the way
// VMware's VAAI XCOPY does; the data arrives, neighbouring blocks are left alone, RECEIVE
// COPY RESULTS reports it, and bad descriptor lists are refused with their sense without
// writing anything.
// ODX: POPULATE TOKEN on LUN 1, RECEIVE ROD TOKEN INFORMATION for the token, WRITE USING
// TOKEN on LUN 2 copies the data; a token whose source was written since is refused with
// INVALID TOKEN OPERATION, TOKEN REVOKED, and nothing is written.
// Aborts: ABORT TASK or LOGICAL UNIT RESET during a running 512 MiB EXTENDED COPY between file
// LUs is answered within a chunk or so, long before the copy would have ended; the session goes on, and RECEIVE COPY
// RESULTS reports the copy as completed with errors, part of it done.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "../common/copy_lists.h"
#include "base/byte_order.h"
#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kLunSize = 16 << 20;

struct Outcome {
  int status = -1;
  int key = 0;
  int asc = 0;
  int ascq = 0;
  Bytes data;
};

Outcome command(IscsiSession& s, uint32_t lun, const Bytes& cdb, Bytes out, uint32_t in_length) {
  scsi_task* t = static_cast<scsi_task*>(std::calloc(1, sizeof(scsi_task)));
  std::memcpy(t->cdb, cdb.data(), cdb.size());
  t->cdb_size = int(cdb.size());
  t->xfer_dir = out.empty() ? (in_length > 0 ? SCSI_XFER_READ : SCSI_XFER_NONE) : SCSI_XFER_WRITE;
  t->expxferlen = out.empty() ? int(in_length) : int(out.size());
  iscsi_data d{out.size(), out.data()};
  Outcome o;
  if (iscsi_scsi_command_sync(s.get(), int(lun), t, out.empty() ? nullptr : &d) == nullptr) {
    scsi_free_scsi_task(t);
    return o;
  }
  o.status = t->status;
  o.key = t->sense.key;
  o.asc = (t->sense.ascq >> 8) & 0xff;
  o.ascq = t->sense.ascq & 0xff;
  if (t->datain.size > 0) o.data.assign(t->datain.data, t->datain.data + t->datain.size);
  scsi_free_scsi_task(t);
  return o;
}

// The 8-byte NAA designator of a LUN (the first designator of VPD page 83h).
uint64_t naa_of(IscsiSession& s, uint32_t lun) {
  const Outcome o = command(s, lun, {0x12, 0x01, 0x83, 0x00, 0xff, 0x00}, {}, 255);
  if (o.status != SCSI_STATUS_GOOD || o.data.size() < 16 || (o.data[5] & 0x0f) != 0x3) return 0;
  return base::load_be64(&o.data[8]);
}

Bytes cscd(uint64_t naa) { return test::copy::cscd(naa, kBlockSize); }
using test::copy::b2b;

Bytes copy_list(uint8_t list_id, const std::vector<Bytes>& targets,
                const std::vector<Bytes>& segments) {
  return test::copy::list(targets, segments, list_id);
}

Outcome xcopy(IscsiSession& s, uint32_t lun, const Bytes& list) {
  Bytes cdb(16, 0);
  cdb[0] = 0x83;
  base::store_be32(&cdb[10], uint32_t(list.size()));
  return command(s, lun, cdb, list, 0);
}

Bytes pattern(size_t blocks, uint8_t seed) {
  Bytes b(blocks * kBlockSize);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(seed + i * 7 + i / kBlockSize);
  return b;
}

Bytes read_lun(IscsiSession& s, uint32_t lun, uint64_t lba, uint32_t blocks) {
  scsi_task* t = iscsi_read16_sync(s.get(), int(lun), lba, blocks * kBlockSize, kBlockSize, 0, 0,
                                   0, 0, 0);
  Bytes out;
  if (t != nullptr && t->status == SCSI_STATUS_GOOD)
    out.assign(t->datain.data, t->datain.data + t->datain.size);
  if (t != nullptr) scsi_free_scsi_task(t);
  return out;
}

class ThirdPartyCopyTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    stgtd_.write_config(stgtd_.base_config(
        {StgtdProcess::memory_lun(kLunSize, 1), StgtdProcess::memory_lun(kLunSize, 2)}));
    ASSERT_TRUE(stgtd_.start({"--reactors", "2"}));
    ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
    // The second LU's power-on unit attention, out of the way.
    command(s_, 2, {0x00, 0, 0, 0, 0, 0}, {}, 0);
    naa1_ = naa_of(s_, 1);
    naa2_ = naa_of(s_, 2);
    ASSERT_NE(naa1_, 0u);
    ASSERT_NE(naa2_, 0u);
    ASSERT_NE(naa1_, naa2_);
  }
  void TearDown() override {
    EXPECT_TRUE(s_.logout());  // before the daemon stops
    StgtdTest::TearDown();
  }

  IscsiSession s_;
  uint64_t naa1_ = 0;
  uint64_t naa2_ = 0;
};

TEST_F(ThirdPartyCopyTest, CopiesBetweenTwoLusAndReportsIt) {
  // 12 MiB in two segments: many 1 MiB chunks of the copy engine.
  constexpr uint16_t kBlocks = 12288;
  const Bytes src = pattern(2 * kBlocks, 0x11);
  ASSERT_TRUE(s_.write(1000, src));
  const Bytes list = copy_list(5, {cscd(naa1_), cscd(naa2_)},
                               {b2b(0, 1, kBlocks, 1000, 64), b2b(0, 1, kBlocks, 1000 + kBlocks,
                                                                  64 + kBlocks)});
  const Outcome o = xcopy(s_, 1, list);
  ASSERT_EQ(o.status, SCSI_STATUS_GOOD) << std::hex << o.key << " " << o.asc << " " << o.ascq;

  EXPECT_EQ(read_lun(s_, 2, 64, 2 * kBlocks), src);
  EXPECT_EQ(read_lun(s_, 2, 63, 1), Bytes(kBlockSize, 0));
  EXPECT_EQ(read_lun(s_, 2, 64 + 2 * kBlocks, 1), Bytes(kBlockSize, 0));
  EXPECT_EQ(read_lun(s_, 1, 1000, 2 * kBlocks), src);  // the source is untouched

  Bytes rcr(16, 0);
  rcr[0] = 0x84;
  rcr[2] = 5;
  base::store_be32(&rcr[10], 64);
  const Outcome st = command(s_, 1, rcr, {}, 64);
  ASSERT_EQ(st.status, SCSI_STATUS_GOOD);
  ASSERT_EQ(st.data.size(), 12u);
  EXPECT_EQ(st.data[4], 0x01);  // completed without errors
  EXPECT_EQ(base::load_be16(&st.data[5]), 2);
  EXPECT_EQ(uint64_t(base::load_be32(&st.data[8])) << (10 * st.data[7]),
            uint64_t(2) * kBlocks * kBlockSize);
}

TEST_F(ThirdPartyCopyTest, BadDescriptorsAreRefusedAndWriteNothing) {
  const Bytes src = pattern(8, 0x42);
  ASSERT_TRUE(s_.write(0, src));

  // A copy target nobody here has: COPY ABORTED, COPY TARGET DEVICE NOT REACHABLE.
  Outcome o = xcopy(s_, 1, copy_list(1, {cscd(naa1_), cscd(naa2_ ^ 0x5a5a)}, {b2b(0, 1, 8, 0, 0)}));
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.key, SCSI_SENSE_COPY_ABORTED);
  EXPECT_EQ(o.asc, 0x0d);
  EXPECT_EQ(o.ascq, 0x02);

  // A stream-to-stream segment: UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE.
  o = xcopy(s_, 1, copy_list(1, {cscd(naa1_), cscd(naa2_)}, {test::copy::stream_segment()}));
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(o.asc, 0x26);
  EXPECT_EQ(o.ascq, 0x09);

  // A parameter list shorter than its header says: PARAMETER LIST LENGTH ERROR.
  Bytes truncated = copy_list(1, {cscd(naa1_), cscd(naa2_)}, {b2b(0, 1, 8, 0, 0)});
  truncated.erase(truncated.end() - 4, truncated.end());
  o = xcopy(s_, 1, truncated);
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.asc, 0x1a);

  // A segment past the end of the destination: COPY ABORTED before anything is written.
  o = xcopy(s_, 1, copy_list(1, {cscd(naa1_), cscd(naa2_)},
                             {b2b(0, 1, 8, 0, kLunSize / kBlockSize - 4)}));
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.key, SCSI_SENSE_COPY_ABORTED);

  EXPECT_EQ(read_lun(s_, 2, 0, 8), Bytes(8 * kBlockSize, 0));
  EXPECT_EQ(read_lun(s_, 2, kLunSize / kBlockSize - 4, 4), Bytes(4 * kBlockSize, 0));
}

using test::copy::range;
using test::copy::token_cdb;

// POPULATE TOKEN for `ranges` of `lun`, then the token from RECEIVE ROD TOKEN INFORMATION.
Bytes populate(IscsiSession& s, uint32_t lun, uint32_t list_id, const std::vector<Bytes>& ranges) {
  const Bytes p = test::copy::populate_list(ranges);
  const Outcome o = command(s, lun, token_cdb(0x10, list_id, uint32_t(p.size())), p, 0);
  if (o.status != SCSI_STATUS_GOOD) return {};
  const Outcome info = command(s, lun, test::copy::rrti_cdb(list_id), {}, 1024);
  if (info.status != SCSI_STATUS_GOOD || info.data.size() < 32 + 6 + 512) return {};
  const size_t at = 32 + info.data[13] + 6;  // past the sense data and the descriptor header
  return Bytes(info.data.begin() + ptrdiff_t(at), info.data.begin() + ptrdiff_t(at + 512));
}

Outcome write_using_token(IscsiSession& s, uint32_t lun, uint32_t list_id, const Bytes& token,
                          const std::vector<Bytes>& ranges) {
  const Bytes p = test::copy::write_list(token, ranges);
  return command(s, lun, token_cdb(0x11, list_id, uint32_t(p.size())), p, 0);
}

TEST_F(ThirdPartyCopyTest, OdxCopiesThroughATokenAndAWrittenSourceRevokesIt) {
  const Bytes a = pattern(300, 0x21);
  const Bytes b = pattern(200, 0x77);
  ASSERT_TRUE(s_.write(5000, a));
  ASSERT_TRUE(s_.write(9000, b));
  const Bytes token = populate(s_, 1, 1, {range(5000, 300), range(9000, 200)});
  ASSERT_EQ(token.size(), 512u);

  Outcome o = write_using_token(s_, 2, 2, token, {range(100, 500)});
  ASSERT_EQ(o.status, SCSI_STATUS_GOOD) << std::hex << o.key << " " << o.asc << " " << o.ascq;
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(read_lun(s_, 2, 100, 500), both);
  EXPECT_EQ(read_lun(s_, 2, 600, 1), Bytes(kBlockSize, 0));

  // A new token over the same data; a WRITE to one of its source blocks revokes it.
  const Bytes token2 = populate(s_, 1, 3, {range(5000, 300)});
  ASSERT_EQ(token2.size(), 512u);
  ASSERT_TRUE(s_.write(5150, pattern(1, 0x99)));
  o = write_using_token(s_, 2, 4, token2, {range(2000, 300)});
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(o.asc, 0x23);   // INVALID TOKEN OPERATION,
  EXPECT_EQ(o.ascq, 0x06);  // TOKEN REVOKED
  EXPECT_EQ(read_lun(s_, 2, 2000, 300), Bytes(300 * kBlockSize, 0));

  // A token nobody made.
  Bytes forged = token;
  forged[130] ^= 0x40;
  o = write_using_token(s_, 2, 5, forged, {range(2000, 8)});
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.asc, 0x23);
  EXPECT_EQ(read_lun(s_, 2, 2000, 8), Bytes(8 * kBlockSize, 0));
}

// The block device zero ROD token (ROD TYPE FFFF0001h, ROD TOKEN LENGTH 01F8h): anyone may
// build it; WRITE USING TOKEN with it zeroes the ranges.
Bytes zero_token(uint16_t length = 0x01f8) {
  Bytes t(512, 0);
  base::store_be32(&t[0], 0xffff0001u);
  base::store_be16(&t[6], length);
  return t;
}

// GET LBA STATUS at `lba`: the first descriptor's (provisioning status, blocks).
std::pair<int, uint32_t> lba_status(IscsiSession& s, uint32_t lun, uint64_t lba) {
  Bytes cdb(16, 0);
  cdb[0] = 0x9e;
  cdb[1] = 0x12;
  base::store_be64(&cdb[2], lba);
  base::store_be32(&cdb[10], 24);
  const Outcome o = command(s, lun, cdb, {}, 24);
  if (o.status != SCSI_STATUS_GOOD || o.data.size() < 24) return {-1, 0};
  return {o.data[20] & 0x0f, base::load_be32(&o.data[16])};
}

// Zeroing offloaded the way Windows does it: the ranges read back as zeros, the blocks
// around them keep their data, RECEIVE ROD TOKEN INFORMATION reports the blocks written,
// and a token over a zeroed block is revoked like after any write. A zero token with a
// wrong ROD TOKEN LENGTH is refused and writes nothing.
TEST_F(ThirdPartyCopyTest, OdxZeroTokenZeroesTheRangesAndRevokesTokensOverThem) {
  const Bytes data = pattern(600, 0x35);
  ASSERT_TRUE(s_.write(100, data));  // LUN 1
  const Bytes token = populate(s_, 1, 20, {range(420, 10)});
  ASSERT_EQ(token.size(), 512u);

  Outcome o = write_using_token(s_, 1, 21, zero_token(), {range(100, 50), range(400, 150)});
  ASSERT_EQ(o.status, SCSI_STATUS_GOOD) << std::hex << o.key << " " << o.asc << " " << o.ascq;
  const Bytes back = read_lun(s_, 1, 100, 600);
  ASSERT_EQ(back.size(), data.size());
  for (size_t block = 0; block < 600; ++block) {
    const uint64_t lba = 100 + block;
    const bool zeroed = lba < 150 || (lba >= 400 && lba < 550);
    const size_t at = block * kBlockSize;
    const Bytes want = zeroed ? Bytes(kBlockSize, 0)
                              : Bytes(data.begin() + ptrdiff_t(at),
                                      data.begin() + ptrdiff_t(at + kBlockSize));
    ASSERT_EQ(Bytes(back.begin() + ptrdiff_t(at), back.begin() + ptrdiff_t(at + kBlockSize)), want)
        << "LBA " << lba;
  }
  const Outcome info = command(s_, 1, test::copy::rrti_cdb(21), {}, 1024);
  ASSERT_EQ(info.status, SCSI_STATUS_GOOD);
  ASSERT_GE(info.data.size(), 24u);
  EXPECT_EQ(info.data[5] & 0x7f, 0x01);                   // completed, no errors
  EXPECT_EQ(base::load_be64(&info.data[16]), uint64_t{200});  // TRANSFER COUNT, blocks

  o = write_using_token(s_, 2, 22, token, {range(0, 10)});
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.asc, 0x23);   // INVALID TOKEN OPERATION,
  EXPECT_EQ(o.ascq, 0x06);  // TOKEN REVOKED

  ASSERT_TRUE(s_.write(3000, pattern(8, 0x42)));
  o = write_using_token(s_, 1, 23, zero_token(0x0100), {range(3000, 8)});
  EXPECT_EQ(o.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(o.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(o.asc, 0x26);  // INVALID FIELD IN PARAMETER LIST
  EXPECT_EQ(read_lun(s_, 1, 3000, 8), pattern(8, 0x42));
}

// On a thin LU the zero token deallocates: GET LBA STATUS reports the range deallocated,
// the image's blocks are released, and the range reads as zeros.
TEST_F(StgtdTest, OdxZeroTokenDeallocatesOnAThinLu) {
  config::LunConfig lun = stgtd_.file_lun(kLunSize, 1);
  lun.provisioning = "thin";
  stgtd_.write_config(stgtd_.base_config({lun}));
  ASSERT_TRUE(stgtd_.start());
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  const Bytes full = pattern(8192, 0x11);  // 4 MiB
  ASSERT_TRUE(s.write(0, full));
  const Outcome sync = command(s, 1, {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {}, 0);
  ASSERT_EQ(sync.status, SCSI_STATUS_GOOD);
  struct stat before {};
  ASSERT_EQ(::stat((stgtd_.dir() + "/lun1.img").c_str(), &before), 0);
  EXPECT_EQ(lba_status(s, 1, 2048).first, 0);  // mapped

  const Outcome o = write_using_token(s, 1, 1, zero_token(), {range(2048, 4096)});
  ASSERT_EQ(o.status, SCSI_STATUS_GOOD) << std::hex << o.key << " " << o.asc << " " << o.ascq;
  const auto [status, blocks] = lba_status(s, 1, 2048);
  EXPECT_EQ(status, 1);  // deallocated
  EXPECT_EQ(blocks, 4096u);
  struct stat after {};
  ASSERT_EQ(::stat((stgtd_.dir() + "/lun1.img").c_str(), &after), 0);
  EXPECT_LE(uint64_t(after.st_blocks) * 512, uint64_t(before.st_blocks) * 512 - (2u << 20));
  EXPECT_EQ(read_lun(s, 1, 2048, 4096), Bytes(4096 * kBlockSize, 0));
  EXPECT_EQ(read_lun(s, 1, 2040, 8),
            Bytes(full.begin() + 2040 * kBlockSize, full.begin() + 2048 * kBlockSize));
  EXPECT_EQ(read_lun(s, 1, 6144, 8),
            Bytes(full.begin() + 6144 * kBlockSize, full.begin() + 6152 * kBlockSize));
  EXPECT_TRUE(s.logout());
}

// ---- aborting a running copy ----

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The copy is large because the build machine is fast: 64 MiB between file LUs whose blocks are
// allocated takes about 20 ms here, too close to the scheduling noise of a TMF round trip.
constexpr uint64_t kBigLun = 600ull << 20;
constexpr uint16_t kSegmentBlocks = 32768;  // 16 MiB
constexpr int kSegments = 32;               // 512 MiB in all
constexpr uint8_t kAbortTask = 1, kLuReset = 5;  // RFC 7143 11.5.1 functions
constexpr uint8_t kFunctionComplete = 0;

Bytes big_copy_list(uint8_t list_id, uint64_t naa1, uint64_t naa2) {
  std::vector<Bytes> segments;
  for (int i = 0; i < kSegments; ++i) {
    const uint64_t at = uint64_t(i) * kSegmentBlocks;
    segments.push_back(b2b(0, 1, kSegmentBlocks, at, 1024 + at));
  }
  return copy_list(list_id, {cscd(naa1), cscd(naa2)}, segments);
}

Bytes rcr_copy_status(uint8_t list_id) {
  Bytes c(16, 0);
  c[0] = 0x84;
  c[2] = list_id;
  base::store_be32(&c[10], 64);
  return c;
}

// Two 600 MiB file LUs; the destination has no write cache (WCE=0), so each 1 MiB chunk the
// copy engine writes is durable before it completes and the copy takes a measurable while.
class CopyAbortTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    config::Config c = stgtd_.base_config({stgtd_.file_lun(kBigLun, 1)});
    config::LunConfig dst = stgtd_.file_lun(kBigLun, 2);
    dst.write_cache = false;
    c.targets[0].luns.push_back(dst);
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start({"--reactors", "2"}));
    ASSERT_TRUE(s_.login(stgtd_.portal(), kTargetIqn));
    command(s_, 2, {0x00, 0, 0, 0, 0, 0}, {}, 0);
    naa1_ = naa_of(s_, 1);
    naa2_ = naa_of(s_, 2);
    ASSERT_NE(naa1_, 0u);
    ASSERT_NE(naa2_, 0u);
  }
  void TearDown() override {
    EXPECT_TRUE(s_.logout());
    StgtdTest::TearDown();
  }

  void abort_running_copy(uint8_t function, const char* name);

  IscsiSession s_;
  uint64_t naa1_ = 0;
  uint64_t naa2_ = 0;
};

// Times the whole copy, then starts it again from a raw session and sends `function` (ABORT
// TASK of it, or LOGICAL UNIT RESET) 20 ms in; checks the TMF answer came long before the copy
// would have ended, that the session goes on, and what RECEIVE COPY RESULTS says.
void CopyAbortTest::abort_running_copy(uint8_t function, const char* name) {
  ASSERT_TRUE(s_.write(0, pattern(2048, 0x5a)));
  // How long the whole copy takes here, once the destination's blocks are allocated (the
  // first copy allocates them and is slower than the aborted one will be).
  ASSERT_EQ(xcopy(s_, 1, big_copy_list(1, naa1_, naa2_)).status, SCSI_STATUS_GOOD);
  const auto t0 = Clock::now();
  const Outcome whole = xcopy(s_, 1, big_copy_list(1, naa1_, naa2_));
  const auto full = std::chrono::duration_cast<Millis>(Clock::now() - t0);
  ASSERT_EQ(whole.status, SCSI_STATUS_GOOD);
  EXPECT_EQ(read_lun(s_, 2, 1024, 2048), pattern(2048, 0x5a));

  // The same copy again from a raw session (list identifier 2), stopped 20 ms in: started by
  // then, and far from done (512 MiB in 20 ms would be 25 GB/s).
  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const Bytes list = big_copy_list(2, naa1_, naa2_);
  Bytes cdb(16, 0);
  cdb[0] = 0x83;
  base::store_be32(&cdb[10], uint32_t(list.size()));
  const uint32_t itt = raw.next_itt();
  const uint32_t sn = raw.take_cmd_sn();
  ASSERT_TRUE(raw.send(raw.scsi_command(cdb, itt, sn, uint32_t(list.size()), false, true,
                                        uint32_t(list.size())),
                       list));
  std::this_thread::sleep_for(Millis(20));
  iscsi::Bhs tmf;
  tmf.set_opcode(iscsi::Opcode::kTaskManagementRequest, true);
  tmf.bytes[1] = uint8_t(0x80 | function);
  tmf.set_lun(lun_field(1));
  const uint32_t a = raw.next_itt();
  tmf.set_itt(a);
  tmf.set32(20, function == kAbortTask ? itt : iscsi::kReservedTag);
  tmf.set32(24, raw.cmd_sn());
  tmf.set32(28, raw.exp_stat_sn());
  tmf.set32(32, function == kAbortTask ? sn : 0);
  const auto t1 = Clock::now();
  ASSERT_TRUE(raw.send(tmf));
  RawPdu p;
  for (;;) {
    ASSERT_EQ(raw.receive(p, Millis(20000)), RecvStatus::kPdu) << "no TMF response";
    if (p.opcode() == iscsi::Opcode::kNopIn && p.bhs.itt() == iscsi::kReservedTag) continue;
    break;
  }
  const auto answered = std::chrono::duration_cast<Millis>(Clock::now() - t1);
  // The copy itself gets no response (RFC 7143 11.5.1): the TMF response comes first.
  ASSERT_EQ(p.opcode(), iscsi::Opcode::kTaskManagementResponse) << p.describe();
  EXPECT_EQ(p.bhs.itt(), a);
  EXPECT_EQ(p.response(), kFunctionComplete);
  std::printf("copy abort: the whole 512 MiB copy took %lld ms; %s answered in %lld ms\n",
              static_cast<long long>(full.count()), name,
              static_cast<long long>(answered.count()));
  std::fflush(stdout);
  // Most of the copy was still to go: the answer came after a chunk or so.
  EXPECT_LT(answered.count() * 4, full.count()) << "the TMF waited for the copy";

  // The session goes on (after a reset's unit attention), and RECEIVE COPY RESULTS knows the
  // copy ended with errors, part done.
  ASSERT_TRUE(raw.clear_unit_attention());
  RawScsiResult r;
  ASSERT_TRUE(raw.scsi(rcr_copy_status(2), 64, r));
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.data_in.size(), 12u);
  EXPECT_EQ(r.data_in[4], 0x02);  // completed with errors
  const uint64_t done = uint64_t(base::load_be32(&r.data_in[8])) << (10 * r.data_in[7]);
  EXPECT_LT(done, uint64_t(kSegments) * kSegmentBlocks * kBlockSize);
  EXPECT_LT(base::load_be16(&r.data_in[5]), kSegments);
  command(s_, 1, {0x00, 0, 0, 0, 0, 0}, {}, 0);  // a reset's unit attention, if any
  EXPECT_EQ(read_lun(s_, 1, 0, 2048), pattern(2048, 0x5a));
}

TEST_F(CopyAbortTest, AbortTaskEndsARunningExtendedCopyPromptly) {
  abort_running_copy(kAbortTask, "ABORT TASK");
}

TEST_F(CopyAbortTest, LogicalUnitResetEndsARunningExtendedCopyPromptly) {
  abort_running_copy(kLuReset, "LOGICAL UNIT RESET");
}

// SAM-5 6.3.4: an I_T nexus loss aborts the nexus's tasks, a running copy too: the
// connection drops 20 ms into the copy, and the copy's last blocks are never written.
TEST_F(CopyAbortTest, ConnectionLossEndsARunningExtendedCopy) {
  const uint64_t last = uint64_t(kSegments) * kSegmentBlocks - 2048;  // the copy's last 1 MiB
  ASSERT_TRUE(s_.write(last, pattern(2048, 0x11)));
  const auto t0 = Clock::now();
  ASSERT_EQ(xcopy(s_, 1, big_copy_list(1, naa1_, naa2_)).status, SCSI_STATUS_GOOD);
  const auto full = std::chrono::duration_cast<Millis>(Clock::now() - t0);
  EXPECT_EQ(read_lun(s_, 2, 1024 + last, 2048), pattern(2048, 0x11));
  // A marker on the destination's last blocks (LUN 2), which the copy would overwrite.
  Bytes marker = pattern(2048, 0x22);
  scsi_task* w = iscsi_write16_sync(s_.get(), 2, 1024 + last, marker.data(),
                                    uint32_t(marker.size()), kBlockSize, 0, 0, 0, 0, 0);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->status, SCSI_STATUS_GOOD);
  scsi_free_scsi_task(w);

  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const Bytes list = big_copy_list(2, naa1_, naa2_);
  Bytes cdb(16, 0);
  cdb[0] = 0x83;
  base::store_be32(&cdb[10], uint32_t(list.size()));
  ASSERT_TRUE(raw.send(raw.scsi_command(cdb, raw.next_itt(), raw.take_cmd_sn(),
                                        uint32_t(list.size()), false, true,
                                        uint32_t(list.size())),
                       list));
  std::this_thread::sleep_for(Millis(20));
  raw.close();
  // One and a half times what the whole copy took (allocating the destination, which the
  // copy now overwrites faster): had it gone on, it would have ended by now.
  std::this_thread::sleep_for(full * 3 / 2);
  EXPECT_EQ(read_lun(s_, 2, 1024 + last, 2048), marker)
      << "the copy went on after its connection was gone";
}

}  // namespace
}  // namespace stgt::functional
