// stgt-micro-bench: Google Benchmark micro-benchmarks of the per-command building blocks
// (docs/performance.md, "Micro-benchmarks"): the iSCSI PDU codec, CDB dispatch through the
// SAM gate to a null LU, sense encoding, and CRC32C (ISA-L) at digest sizes.
//
// Timings depend on the machine and its load; nothing here asserts a time. Run:
//   build/bench/stgt-micro-bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "backing/crypt/crypt_store.h"
#include "backing/null/null_store.h"
#include "base/buffer_pool.h"
#include "base/byte_order.h"
#include "base/crc32c.h"
#include "devices/device_type.h"
#include "scsi/command.h"
#include "scsi/it_nexus.h"
#include "scsi/lun.h"
#include "scsi/scsi_layer.h"
#include "scsi/sense.h"
#include "scsi/target.h"
#include "transport/iscsi/pdu.h"

namespace stgt {
namespace {

// ---- PDU codec ----

iscsi::Bhs scsi_read_command(uint32_t itt) {
  iscsi::Bhs h;
  h.set_opcode(iscsi::Opcode::kScsiCommand);
  h.bytes[1] = 0x80 | 0x40 | 0x01;  // F, R, SIMPLE
  h.set_lun(uint64_t{1} << 48);
  h.set_itt(itt);
  h.set32(20, 4096);  // EDTL
  h.set32(24, itt);   // CmdSN
  h.bytes[32] = 0x88;  // READ(16)
  base::store_be64(&h.bytes[34], uint64_t(itt) * 8);
  base::store_be32(&h.bytes[42], 8);
  return h;
}

// What Connection::handle_scsi_command_header reads from every SCSI Command PDU.
void BM_PduDecodeScsiCommand(benchmark::State& state) {
  const iscsi::Bhs h = scsi_read_command(7);
  std::array<uint8_t, 16> cdb{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(&h);
    const bool ok = h.opcode() == iscsi::Opcode::kScsiCommand && h.final_bit() && h.read_bit();
    uint32_t sum = h.itt() + h.cmd_sn() + h.expected_data_transfer_length() +
                   h.data_segment_length() + h.total_ahs_length() + h.task_attribute();
    std::memcpy(cdb.data(), h.cdb(), cdb.size());
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(sum += uint32_t(h.lun()));
    benchmark::DoNotOptimize(cdb);
  }
}
BENCHMARK(BM_PduDecodeScsiCommand);

void BM_PduEncodeDataInWithStatus(benchmark::State& state) {
  iscsi::DataInFields f;
  f.lun = uint64_t{1} << 48;
  f.length = 4096;
  f.final_pdu = true;
  f.with_status = true;
  iscsi::SequenceNumbers sn{1, 2, 130};
  for (auto _ : state) {
    f.itt++;
    sn.stat_sn++;
    iscsi::Bhs h = iscsi::make_data_in(f, sn);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_PduEncodeDataInWithStatus);

void BM_PduEncodeScsiResponse(benchmark::State& state) {
  iscsi::ScsiResponseFields f;
  iscsi::SequenceNumbers sn{1, 2, 130};
  for (auto _ : state) {
    f.itt++;
    sn.stat_sn++;
    iscsi::Bhs h = iscsi::make_scsi_response(f, sn);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_PduEncodeScsiResponse);

void BM_PduEncodeR2t(benchmark::State& state) {
  iscsi::R2tFields f;
  f.desired_length = 65536;
  iscsi::SequenceNumbers sn{1, 2, 130};
  for (auto _ : state) {
    f.ttt++;
    iscsi::Bhs h = iscsi::make_r2t(f, sn);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_PduEncodeR2t);

// ---- CDB dispatch: SAM gate + SBC handler + null store, inline completion ----

struct DoneCounter final : scsi::CommandOwner {
  void command_done(scsi::Command&) override { ++calls; }
  uint64_t calls = 0;
};

class NullDisk {
 public:
  NullDisk() {
    disk_ = devices::make_disk(std::make_unique<backing::NullStore>(uint64_t{1} << 30),
                               devices::identity_for("iqn.bench:t", 1), scsi::LuSettings{});
    auto t = std::make_shared<scsi::Target>("iqn.2026-11.org.stgt:micro", "");
    t->add_lun(1, disk_);
    t->set_controller(devices::make_controller(devices::identity_for("iqn.bench:t", 0)));
    target_ = t;
    nexus_ = std::make_unique<scsi::ItNexus>(target_, "iqn.init", "iqn.init,i,0x1",
                                             scsi::TargetPort{});
    while (nexus_->pop_unit_attention(1) != scsi::SenseReason::kNone) {
    }
  }

  // One command as the transport runs it: fill, submit, complete, reset for reuse.
  void run(scsi::Command& c, const uint8_t* cdb, uint8_t cdb_len, uint32_t in_len,
           uint32_t out_len) {
    std::memcpy(c.cdb.data(), cdb, cdb_len);
    c.cdb_length = cdb_len;
    c.lun = scsi::encode_lun(1);
    c.expected_in_length = in_len;
    c.expected_out_length = out_len;
    c.nexus = nexus_.get();
    c.owner = &owner_;
    c.pool = &pool_;
    scsi::submit(c);
  }

  base::BufferPool& pool() { return pool_; }
  uint64_t completions() const { return owner_.calls; }

 private:
  base::BufferPool pool_;
  std::shared_ptr<scsi::LogicalUnit> disk_;
  std::shared_ptr<const scsi::Target> target_;
  std::unique_ptr<scsi::ItNexus> nexus_;
  DoneCounter owner_;
};

void BM_CdbDispatchRead16(benchmark::State& state) {
  NullDisk d;
  scsi::Command c;
  std::array<uint8_t, 16> cdb{};
  cdb[0] = 0x88;
  base::store_be32(&cdb[10], 8);  // 8 blocks of 512: 4 KiB
  uint64_t lba = 0;
  for (auto _ : state) {
    base::store_be64(&cdb[2], lba);
    lba = (lba + 8) & 0xfffff;
    d.run(c, cdb.data(), 16, 4096, 0);
    if (c.status != scsi::Status::kGood) state.SkipWithError("READ(16) failed");
    c.reset();
  }
  state.counters["completions"] = double(d.completions());
}
BENCHMARK(BM_CdbDispatchRead16);

void BM_CdbDispatchWrite16(benchmark::State& state) {
  NullDisk d;
  scsi::Command c;
  std::array<uint8_t, 16> cdb{};
  cdb[0] = 0x8a;
  base::store_be32(&cdb[10], 8);
  uint64_t lba = 0;
  for (auto _ : state) {
    base::store_be64(&cdb[2], lba);
    lba = (lba + 8) & 0xfffff;
    c.data.allocate(d.pool(), 4096);  // the transport's write buffer
    d.run(c, cdb.data(), 16, 0, 4096);
    if (c.status != scsi::Status::kGood) state.SkipWithError("WRITE(16) failed");
    c.reset();
  }
}
BENCHMARK(BM_CdbDispatchWrite16);

void BM_CdbDispatchTestUnitReady(benchmark::State& state) {
  NullDisk d;
  scsi::Command c;
  const std::array<uint8_t, 6> cdb{};
  for (auto _ : state) {
    d.run(c, cdb.data(), 6, 0, 0);
    c.reset();
  }
}
BENCHMARK(BM_CdbDispatchTestUnitReady);

void BM_CdbDispatchInvalidOpcode(benchmark::State& state) {
  NullDisk d;
  scsi::Command c;
  std::array<uint8_t, 6> cdb{};
  cdb[0] = 0xff;  // unsupported: CHECK CONDITION, INVALID COMMAND OPERATION CODE
  for (auto _ : state) {
    d.run(c, cdb.data(), 6, 0, 0);
    c.reset();
  }
}
BENCHMARK(BM_CdbDispatchInvalidOpcode);

// ---- sense encoding ----

void BM_SenseEncode(benchmark::State& state) {
  const auto format = state.range(0) == 0 ? scsi::SenseFormat::kFixed : scsi::SenseFormat::kDescriptor;
  std::array<uint8_t, scsi::kMaxSenseLength> out{};
  scsi::SenseDetail detail;
  detail.field = scsi::FieldPointer{true, 2, 5};
  for (auto _ : state) {
    const size_t n = scsi::encode_sense(format, scsi::SenseReason::kInvalidFieldInCdb, detail, out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SenseEncode)->Arg(0)->Arg(1)->ArgNames({"descriptor"});

// ---- CRC32C (ISA-L crc32_iscsi) ----

void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> data(size_t(state.range(0)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 131);
  for (auto _ : state) {
    benchmark::DoNotOptimize(base::crc32c(data.data(), data.size()));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
// 48: a header digest; 4 KiB, 8 KiB, 256 KiB: data segments.
BENCHMARK(BM_Crc32c)->Arg(48)->Arg(4096)->Arg(8192)->Arg(262144);

// ---- encryption at rest (AES-256-XTS, 512-byte units; backing/crypt/crypt_store.h) ----

// CryptStore::transform, what a write (encrypt into a separate bounce buffer) and a read
// (decrypt in place, over bytes that are not all zero, so no unit is skipped as a hole) cost
// per byte: the per-unit IV setup plus AES-256-XTS.
void BM_CryptTransform(benchmark::State& state) {
  auto inner = backing::NullStore::open({"null", "", uint64_t{1} << 30, false});
  auto store = backing::CryptStore::open(std::move(inner).value(), backing::CryptSpec{});
  auto& crypt = static_cast<backing::CryptStore&>(*store.value());
  std::vector<uint8_t> data(size_t(state.range(0)), 0x5a);
  std::vector<uint8_t> out(data.size());
  const iovec in{data.data(), data.size()};
  const iovec to{out.data(), out.size()};
  const bool encrypt = state.range(1) == 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crypt.transform(encrypt, {&in, 1}, 4096, encrypt ? std::span<const iovec>(&to, 1)
                                                          : std::span<const iovec>()));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
// 4 KiB and 128 KiB (the allocation test's sizes), 1 MiB (a sanitize chunk); encrypt, decrypt.
BENCHMARK(BM_CryptTransform)
    ->Args({4096, 0})
    ->Args({131072, 0})
    ->Args({1 << 20, 0})
    ->Args({4096, 1})
    ->Args({131072, 1})
    ->ArgNames({"bytes", "decrypt"});

}  // namespace
}  // namespace stgt

BENCHMARK_MAIN();
