// PERSISTENT RESERVE IN / OUT and RESERVE / RELEASE through the SAM gate: CDB and parameter
// list decoding, the reports' byte layout, conflicts at the gate, unit attentions to the
// other I_T nexuses, APTPL files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "base/atomic_file.h"
#include "devices/spc/persistent_reserve.h"
#include "harness.h"
#include "reactor/reactor.h"
#include "scsi/nexus_owner.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint8_t kWe = 1, kEa = 3, kWeRo = 5;

Bytes prin(uint8_t action, uint16_t alloc = 1024) {
  Bytes c(10, 0);
  c[0] = 0x5e;
  c[1] = action;
  base::store_be16(&c[7], alloc);
  return c;
}

Bytes prout_cdb(uint8_t action, uint8_t type, uint32_t length) {
  Bytes c(10, 0);
  c[0] = 0x5f;
  c[1] = action;
  c[2] = type;
  base::store_be32(&c[5], length);
  return c;
}

Bytes params(uint64_t key, uint64_t sa_key, uint8_t flags = 0) {
  Bytes p(24, 0);
  base::store_be64(&p[0], key);
  base::store_be64(&p[8], sa_key);
  p[20] = flags;
  return p;
}

Bytes tid(const std::string& port) { return spc::encode_transport_id(port); }

class PrDevice : public ::testing::Test {
 protected:
  PrDevice() : h_(512, scsi::LuSettings{.removable = true}) {
    b_ = h_.add_nexus("iqn.2026-11.test:b", 2);
    c_ = h_.add_nexus("iqn.2026-11.test:c", 3);
  }
  // PERSISTENT RESERVE OUT from `as` (null: the harness's own nexus, iqn.init).
  std::unique_ptr<scsi::Command> prout(uint8_t action, uint8_t type, const Bytes& list,
                                       scsi::ItNexus* as = nullptr) {
    return h_.run(prout_cdb(action, type, uint32_t(list.size())), 0, list, 0, as);
  }
  scsi::Status reg(uint64_t key, scsi::ItNexus* as = nullptr, uint8_t flags = 0) {
    return prout(0x06, 0, params(0, key, flags), as)->status;
  }
  Bytes read(uint8_t action, scsi::ItNexus* as = nullptr, uint16_t alloc = 1024) {
    auto c = h_.run(prin(action, alloc), alloc, {}, 0, as);
    EXPECT_EQ(c->status, scsi::Status::kGood);
    return test::data_in(*c);
  }
  scsi::Status read10(scsi::ItNexus* as) {
    return h_.run(test::cdb10(0x28, 0, 1), 512, {}, 0, as)->status;
  }
  scsi::Status write10(scsi::ItNexus* as) {
    return h_.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 0), 0, as)->status;
  }

  Harness h_;
  std::shared_ptr<scsi::ItNexus> b_, c_;
};

TEST_F(PrDevice, ReadKeysAndTruncation) {
  ASSERT_EQ(reg(0x1111), scsi::Status::kGood);
  ASSERT_EQ(reg(0x2222, b_.get()), scsi::Status::kGood);
  const Bytes d = read(0x00);
  ASSERT_EQ(d.size(), 24u);
  EXPECT_EQ(base::load_be32(&d[0]), 2u);  // PRgeneration
  EXPECT_EQ(base::load_be32(&d[4]), 16u);
  EXPECT_EQ(base::load_be64(&d[8]), 0x1111u);
  EXPECT_EQ(base::load_be64(&d[16]), 0x2222u);
  // libiscsi PrinReadKeys.Truncate: ADDITIONAL LENGTH is not cut by the allocation length.
  const Bytes t = read(0x00, nullptr, 8);
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(base::load_be32(&t[4]), 16u);
}

TEST_F(PrDevice, ServiceActionRange) {
  for (uint8_t sa = 0; sa < 4; ++sa) EXPECT_EQ(h_.run(prin(sa), 1024)->status, scsi::Status::kGood);
  for (uint8_t sa = 4; sa < 0x20; ++sa) {
    auto c = h_.run(prin(sa), 1024);
    EXPECT_EQ(test::sense_of(*c).asc, 0x24) << int(sa);
  }
  auto c = h_.run(prout_cdb(0x08, 0, 24), 0, params(0, 1));
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
}

TEST_F(PrDevice, ReadReservationAndCapabilities) {
  EXPECT_EQ(read(0x01).size(), 8u);  // no reservation: header only
  ASSERT_EQ(reg(0xabc), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kWe, params(0xabc, 0))->status, scsi::Status::kGood);
  const Bytes r = read(0x01);
  ASSERT_EQ(r.size(), 24u);
  EXPECT_EQ(base::load_be32(&r[4]), 16u);
  EXPECT_EQ(base::load_be64(&r[8]), 0xabcu);
  EXPECT_EQ(r[21], kWe);
  const Bytes caps = read(0x02);
  ASSERT_EQ(caps.size(), 8u);
  EXPECT_EQ(base::load_be16(&caps[0]), 8u);
  EXPECT_EQ(caps[2], 0x1c);  // CRH SIP_C ATP_C, no PTPL_C without a state directory
  EXPECT_EQ(caps[3] & 0x80, 0x80);  // TMV
  EXPECT_LE((caps[3] >> 4) & 0x7, 5);
  EXPECT_EQ(caps[4], 0xea);
  EXPECT_EQ(caps[5], 0x01);
}

TEST_F(PrDevice, ReadFullStatusNamesEachPort) {
  ASSERT_EQ(reg(0x10), scsi::Status::kGood);
  ASSERT_EQ(reg(0x20, b_.get(), 0x04), scsi::Status::kGood);  // ALL_TG_PT
  ASSERT_EQ(prout(0x01, kEa, params(0x10, 0))->status, scsi::Status::kGood);
  const Bytes d = read(0x03);
  ASSERT_GE(d.size(), 8u);
  EXPECT_EQ(base::load_be32(&d[4]), d.size() - 8);
  size_t at = 8;
  std::vector<std::string> ports;
  while (at < d.size()) {
    const uint64_t key = base::load_be64(&d[at]);
    const uint32_t len = base::load_be32(&d[at + 20]);
    const auto parsed = spc::parse_transport_id(std::span<const uint8_t>(&d[at + 24], len));
    ASSERT_TRUE(parsed);
    ports.push_back(parsed->port);
    if (key == 0x10) {
      EXPECT_EQ(d[at + 12], 0x01);  // R_HOLDER
      EXPECT_EQ(d[at + 13], kEa);
      EXPECT_EQ(base::load_be16(&d[at + 18]), 1u);
    } else {
      EXPECT_EQ(d[at + 12], 0x02);  // ALL_TG_PT
    }
    at += 24 + len;
  }
  EXPECT_EQ(ports, (std::vector<std::string>{"iqn.init,i,0x000000000001",
                                             "iqn.2026-11.test:b,i,0x000000000002"}));
}

TEST_F(PrDevice, ParameterListLengthErrors) {
  for (const size_t n : {0u, 23u, 25u, 32u}) {
    auto c = prout(0x06, 0, Bytes(n, 0));
    EXPECT_EQ(test::sense_of(*c).asc, 0x1a) << n;
  }
  // The CDB asks for more than was sent.
  auto c = h_.run(prout_cdb(0x06, 0, 48), 0, params(0, 1));
  EXPECT_EQ(test::sense_of(*c).asc, 0x1a);
  // SPEC_I_PT: TRANSPORTID PARAMETER DATA LENGTH must add up.
  Bytes p = params(0, 5, 0x08);
  const Bytes t = tid("iqn.2026-11.test:b,i,0x2");
  p.resize(28);
  base::store_be32(&p[24], uint32_t(t.size() + 4));
  p.insert(p.end(), t.begin(), t.end());
  EXPECT_EQ(test::sense_of(*prout(0x00, 0, p)).asc, 0x1a);
}

TEST_F(PrDevice, SpecIPtRegistersTheNamedPorts) {
  Bytes p = params(0, 0x55, 0x08);
  const Bytes t1 = tid("IQN.2026-11.test:B,i,0x2");  // names compare case-insensitively
  const Bytes t2 = tid("iqn.2026-11.test:c");         // every ISID of node c
  p.resize(28);
  base::store_be32(&p[24], uint32_t(t1.size() + t2.size()));
  p.insert(p.end(), t1.begin(), t1.end());
  p.insert(p.end(), t2.begin(), t2.end());
  ASSERT_EQ(prout(0x00, 0, p)->status, scsi::Status::kGood);
  const Bytes keys = read(0x00);
  EXPECT_EQ(base::load_be32(&keys[4]), 24u);
  EXPECT_EQ(prout(0x01, kWe, params(0x55, 0), c_.get())->status, scsi::Status::kGood);

  // A TransportID of another protocol is an invalid field at its offset.
  Bytes bad = params(0, 0x66, 0x08);
  Bytes fc(24, 0);
  fc[0] = 0x00;  // Fibre Channel
  bad.resize(28);
  base::store_be32(&bad[24], 24);
  bad.insert(bad.end(), fc.begin(), fc.end());
  auto d = h_.add_nexus("iqn.2026-11.test:d", 4);
  auto c = prout(0x00, 0, bad, d.get());
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 28u);
}

TEST_F(PrDevice, ConflictsAtTheGate) {
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kEa, params(0x1, 0))->status, scsi::Status::kGood);
  EXPECT_EQ(read10(nullptr), scsi::Status::kGood);
  EXPECT_EQ(read10(b_.get()), scsi::Status::kReservationConflict);
  EXPECT_EQ(write10(b_.get()), scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(Bytes{0x12, 0, 0, 0, 96, 0}, 96, {}, 0, b_.get())->status,
            scsi::Status::kGood);  // INQUIRY
  EXPECT_EQ(h_.run(Bytes{0, 0, 0, 0, 0, 0}, 0, {}, 0, b_.get())->status,
            scsi::Status::kGood);  // TEST UNIT READY through PR
  EXPECT_EQ(h_.run(prin(0x00), 1024, {}, 0, b_.get())->status, scsi::Status::kGood);
  EXPECT_EQ(h_.run(Bytes{0x1a, 0, 0x3f, 0, 255, 0}, 255, {}, 0, b_.get())->status,
            scsi::Status::kReservationConflict);  // MODE SENSE under exclusive access
}

// SBC-4 table 13: PREVENT 00b and START=1 pass a reservation; PREVENT 01b and an eject do not.
TEST_F(PrDevice, CdbDependentConflicts) {
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kEa, params(0x1, 0))->status, scsi::Status::kGood);
  auto run_b = [&](const Bytes& cdb) { return h_.run(cdb, 0, {}, 0, b_.get())->status; };
  EXPECT_EQ(run_b(Bytes{0x1e, 0, 0, 0, 0, 0}), scsi::Status::kGood);
  EXPECT_EQ(run_b(Bytes{0x1e, 0, 0, 0, 1, 0}), scsi::Status::kReservationConflict);
  EXPECT_EQ(run_b(Bytes{0x1b, 0, 0, 0, 0x01, 0}), scsi::Status::kGood);
  EXPECT_EQ(run_b(Bytes{0x1b, 0, 0, 0, 0x02, 0}), scsi::Status::kReservationConflict);
  EXPECT_EQ(run_b(Bytes{0x1b, 0, 0, 0, 0x31, 0}), scsi::Status::kReservationConflict);
  Bytes capacity16(16, 0), lba_status(16, 0);
  capacity16[0] = lba_status[0] = 0x9e;
  capacity16[1] = 0x10;
  capacity16[13] = 32;
  lba_status[1] = 0x12;
  lba_status[13] = 24;
  EXPECT_EQ(h_.run(capacity16, 32, {}, 0, b_.get())->status, scsi::Status::kGood);
  EXPECT_EQ(h_.run(lba_status, 24, {}, 0, b_.get())->status,
            scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(test::cdb10(0x25, 0, 0), 8, {}, 0, b_.get())->status, scsi::Status::kGood);
}

TEST_F(PrDevice, OtherInitiatorsLearnOfChanges) {
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(reg(0x2, b_.get()), scsi::Status::kGood);
  ASSERT_EQ(reg(0x3, c_.get()), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kWeRo, params(0x1, 0))->status, scsi::Status::kGood);
  EXPECT_FALSE(b_->has_unit_attention(0));
  ASSERT_EQ(prout(0x02, kWeRo, params(0x1, 0))->status, scsi::Status::kGood);  // RELEASE
  EXPECT_EQ(b_->pop_unit_attention(0), scsi::SenseReason::kReservationsReleased);
  EXPECT_EQ(c_->pop_unit_attention(0), scsi::SenseReason::kReservationsReleased);
  ASSERT_EQ(prout(0x04, kWe, params(0x1, 0x2))->status, scsi::Status::kGood);  // PREEMPT b
  EXPECT_EQ(b_->pop_unit_attention(0), scsi::SenseReason::kRegistrationsPreempted);
  EXPECT_FALSE(c_->has_unit_attention(0));
  ASSERT_EQ(prout(0x03, 0, params(0x1, 0))->status, scsi::Status::kGood);  // CLEAR
  EXPECT_EQ(c_->pop_unit_attention(0), scsi::SenseReason::kReservationsPreempted);
  EXPECT_FALSE(b_->has_unit_attention(0));  // no longer registered
  EXPECT_FALSE(h_.nexus->has_unit_attention(0));
}

TEST_F(PrDevice, PreemptAndAbortCompletes) {
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(reg(0x2, b_.get()), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kEa, params(0x2, 0), b_.get())->status, scsi::Status::kGood);
  auto c = prout(0x05, kEa, params(0x1, 0x2));
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h_.completions, 1);
  EXPECT_EQ(read10(b_.get()), scsi::Status::kCheckCondition);  // the UA first
  EXPECT_EQ(read10(b_.get()), scsi::Status::kReservationConflict);
}

// The nexus owner of a session: records abort requests and answers them when told to.
class DeferringOwner final : public scsi::NexusOwner {
 public:
  void abort_tasks(const scsi::LogicalUnit* lu, scsi::AbortCause cause, bool by_other_nexus,
                   std::function<void()> done) override {
    last_lu = lu;
    last_cause = cause;
    last_by_other = by_other_nexus;
    ++calls;
    pending = std::move(done);
  }
  const scsi::LogicalUnit* last_lu = nullptr;
  scsi::AbortCause last_cause = scsi::AbortCause::kAbortTaskSet;
  bool last_by_other = false;
  int calls = 0;
  std::function<void()> pending;
};

// SPC-5 5.13.11.4.5: the preempted nexuses' tasks are aborted (on their own reactors) and the
// command completes only once every abort is done, on the issuing reactor.
TEST_F(PrDevice, PreemptAndAbortWaitsForTheAborts) {
  auto home = reactor::Reactor::create(reactor::IoBackend::kEpoll, 0);
  ASSERT_NE(home, nullptr);
  auto owner_b = std::make_shared<DeferringOwner>();
  auto owner_c = std::make_shared<DeferringOwner>();
  b_->set_owner(home.get(), owner_b);
  c_->set_owner(home.get(), owner_c);
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(reg(0x2, b_.get()), scsi::Status::kGood);
  ASSERT_EQ(reg(0x3, c_.get()), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kEa, params(0x2, 0), b_.get())->status, scsi::Status::kGood);

  auto cmd = std::make_unique<scsi::Command>();
  const Bytes cdb = prout_cdb(0x05, kEa, 24);
  std::copy(cdb.begin(), cdb.end(), cmd->cdb.begin());
  cmd->cdb_length = 10;
  cmd->lun = scsi::encode_lun(0);
  const Bytes list = params(0x1, 0x2);
  cmd->expected_out_length = 24;
  cmd->data.allocate(h_.pool, list.size());
  cmd->data.copy_in(0, list.data(), list.size());
  cmd->nexus = h_.nexus.get();
  cmd->owner = &h_.owner;
  cmd->pool = &h_.pool;
  cmd->reactor = home.get();
  const int before = h_.owner.calls;
  home->post([&] {
    scsi::submit(*cmd);  // posts the abort to b's reactor (here: the same one)
    home->post([&] {
      // Abort requested, not yet done: no answer yet.
      EXPECT_EQ(owner_b->calls, 1);
      EXPECT_EQ(owner_c->calls, 0);  // c was not preempted
      EXPECT_EQ(h_.owner.calls, before);
      if (owner_b->pending) owner_b->pending();  // posts the continuation home
      home->post([&] { home->stop(); });
    });
  });
  home->run();
  EXPECT_EQ(h_.owner.calls, before + 1);
  EXPECT_EQ(cmd->status, scsi::Status::kGood);
  EXPECT_EQ(owner_b->last_cause, scsi::AbortCause::kPreemptAndAbort);
  EXPECT_TRUE(owner_b->last_by_other);
  EXPECT_EQ(owner_b->last_lu, h_.disk.get());
}

TEST_F(PrDevice, RegisterAndMove) {
  ASSERT_EQ(reg(0x1), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kEa, params(0x1, 0))->status, scsi::Status::kGood);
  Bytes p = params(0x1, 0x9);
  const Bytes t = tid("iqn.2026-11.test:b,i,0x2");
  p[17] = 0x02;  // UNREG
  base::store_be16(&p[18], 1);
  base::store_be32(&p[20], uint32_t(t.size()));
  p.insert(p.end(), t.begin(), t.end());
  ASSERT_EQ(prout(0x07, 0, p)->status, scsi::Status::kGood);
  EXPECT_EQ(read10(b_.get()), scsi::Status::kGood);
  EXPECT_EQ(read10(nullptr), scsi::Status::kReservationConflict);
  Bytes zero_port = p;
  base::store_be16(&zero_port[18], 0);
  EXPECT_EQ(prout(0x07, 0, zero_port, b_.get())->sense[12], 0x26);
}

TEST_F(PrDevice, AptplNeedsAStateDirectory) {
  auto c = prout(0x06, 0, params(0, 1, 0x01));
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 20u);
}

TEST_F(PrDevice, AptplWritesAndRemovesTheFile) {
  char tmpl[] = "/tmp/stgt-pr-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/lu.pr";
  h_.disk->set_aptpl_path(path);
  EXPECT_EQ(read(0x02)[2] & 0x01, 0x01);  // PTPL_C
  ASSERT_EQ(reg(0x1, nullptr, 0x01), scsi::Status::kGood);
  ASSERT_EQ(prout(0x01, kWe, params(0x1, 0))->status, scsi::Status::kGood);
  EXPECT_EQ(read(0x02)[3] & 0x01, 0x01);  // PTPL_A
  const auto image = base::read_small_file(path);
  ASSERT_TRUE(image && image.value());
  scsi::Reservations restored;
  ASSERT_TRUE(restored.restore(**image));
  EXPECT_EQ(restored.snapshot().type, scsi::PrType::kWriteExclusive);
  ASSERT_EQ(prout(0x00, 0, params(0x1, 0x1))->status, scsi::Status::kGood);
  EXPECT_FALSE(std::filesystem::exists(path));  // REGISTER with APTPL=0 switched it off
  std::filesystem::remove_all(dir);
}

TEST_F(PrDevice, Reserve6AcrossNexuses) {
  const Bytes reserve6{0x16, 0, 0, 0, 0, 0};
  const Bytes release6{0x17, 0, 0, 0, 0, 0};
  ASSERT_EQ(h_.run(reserve6)->status, scsi::Status::kGood);
  EXPECT_EQ(h_.run(reserve6, 0, {}, 0, b_.get())->status, scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(release6, 0, {}, 0, b_.get())->status, scsi::Status::kGood);
  EXPECT_EQ(read10(b_.get()), scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(Bytes{0x1a, 0, 0x3f, 0, 255, 0}, 255, {}, 0, b_.get())->status,
            scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(prin(0x00), 1024, {}, 0, b_.get())->status,
            scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(Bytes{0x12, 0, 0, 0, 96, 0}, 96, {}, 0, b_.get())->status,
            scsi::Status::kGood);
  EXPECT_EQ(read10(nullptr), scsi::Status::kGood);
  // Third-party and extent reservations are not supported.
  EXPECT_EQ(test::sense_of(*h_.run(Bytes{0x16, 0x10, 0, 0, 0, 0})).asc, 0x24);
  EXPECT_EQ(test::sense_of(*h_.run(Bytes{0x56, 0x02, 0, 0, 0, 0, 0, 0, 0, 0})).asc, 0x24);
  // The reservation ends with its I_T nexus ...
  scsi::nexus_lost(*h_.nexus);
  EXPECT_EQ(read10(b_.get()), scsi::Status::kGood);
  // ... and with a LU reset.
  ASSERT_EQ(h_.run(Bytes{0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, {}, 0, b_.get())->status,
            scsi::Status::kGood);
  EXPECT_EQ(read10(c_.get()), scsi::Status::kReservationConflict);
  scsi::logical_unit_reset(*h_.disk);
  EXPECT_EQ(read10(c_.get()), scsi::Status::kGood);
}

TEST_F(PrDevice, Reserve6RefusedWhileRegistered) {
  ASSERT_EQ(reg(0x1, b_.get()), scsi::Status::kGood);
  EXPECT_EQ(h_.run(Bytes{0x16, 0, 0, 0, 0, 0})->status, scsi::Status::kReservationConflict);
  EXPECT_EQ(h_.run(Bytes{0x17, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
}

TEST_F(PrDevice, ReservedCdbBytes) {
  Bytes in = prin(0x00);
  in[3] = 1;
  EXPECT_EQ(base::load_be16(&h_.run(in, 1024)->sense[16]), 3u);
  Bytes out = prout_cdb(0x06, 0, 24);
  out[4] = 1;
  auto c = h_.run(out, 0, params(0, 1));
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 4u);
}

}  // namespace
}  // namespace stgt::devices
