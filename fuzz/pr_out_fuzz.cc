// libFuzzer target: PERSISTENT RESERVE OUT parameter lists (SPC-5 6.17) and the APTPL image.
//
// Four I_T nexuses (two ports of one initiator, two more initiators, two target ports) send
// PERSISTENT RESERVE OUT / IN and ordinary commands to a disk through the SAM gate, so the
// reservation checks run too. Input: a first byte, then
//   first byte bit 7 set: the rest is an APTPL image given to Reservations::restore(), and
//                         every PERSISTENT RESERVE IN service action reads the result;
//   otherwise records of
//     u8 who    bits 0-1 nexus; bits 2-3: 0 PR OUT, 1 PR IN, 2 READ/WRITE/TUR, 3 RESERVE/RELEASE(6);
//               bit 4: the CDB's PARAMETER LIST LENGTH is the next u16, not the data's length
//     u8        service action (CDB byte 1)
//     u8        scope and type (CDB byte 2)
//     u16       parameter list length, then the list
// After the records, the persistent state reached must survive its own APTPL image:
// encode -> restore -> the same registrations and reservation.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "fuzz/fuzz_target.h"
#include "scsi/logical_unit.h"
#include "scsi/reservations.h"

using namespace stgt;

namespace {

// The state restored from the image of `s` must be `s` (APTPL: what the target reloads at
// start is what it ran with).
void check_round_trip(const scsi::PrSnapshot& s) {
  size_t holder = 0;
  for (size_t i = 0; i < s.full.size(); ++i) {
    if (s.full[i].holder) holder = i;
  }
  const std::string image =
      scsi::Reservations::encode(s.generation, s.registrations, s.type, holder);
  scsi::Reservations copy;
  const auto restored = copy.restore(image);
  if (!restored) {
    std::fprintf(stderr, "APTPL image of a live state does not restore: %s\n%s",
                 restored.error().c_str(), image.c_str());
    std::abort();
  }
  const scsi::PrSnapshot t = copy.snapshot();
  bool same = t.generation == s.generation && t.registrations.size() == s.registrations.size() &&
              t.type == s.type;
  for (size_t i = 0; same && i < s.registrations.size(); ++i) {
    const scsi::Registration& a = s.registrations[i];
    const scsi::Registration& b = t.registrations[i];
    same = a.key == b.key && a.port == b.port && a.relative_port_id == b.relative_port_id &&
           a.all_tg_pt == b.all_tg_pt;
  }
  if (same && s.type && !scsi::all_registrants(*s.type)) same = t.holder_key == s.holder_key;
  if (!same) {
    std::fprintf(stderr, "APTPL image restores another state:\n%s", image.c_str());
    std::abort();
  }
}

void read_everything(fuzz::CommandRunner& runner, scsi::ItNexus& nexus) {
  for (uint8_t sa = 0; sa < 4; ++sa) {
    const uint8_t cdb[10] = {0x5e, sa, 0, 0, 0, 0, 0, 0x20, 0x00, 0};
    runner.run(nexus, cdb, scsi::encode_lun(0), 0x2000, {});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  fuzz::Cursor in(data, size);
  const uint8_t mode = in.u8();
  fuzz::CommandRunner runner(fuzz::make_fuzz_target(512, 64 << 10));
  scsi::ItNexus* nexus[4] = {
      &runner.add_nexus("iqn.1994-05.com.example:a", 0x23d000000001, 1),
      &runner.add_nexus("iqn.1994-05.com.example:a", 0x23d000000002, 2),
      &runner.add_nexus("iqn.1994-05.com.example:b", 0x23d000000001, 1),
      &runner.add_nexus("iqn.1994-05.com.example:c", 0x23d000000003, 2),
  };
  scsi::LogicalUnit* lu = runner.target()->lookup(0);

  if ((mode & 0x80) != 0) {
    const auto image = in.rest();
    if (lu->reservations().restore(
            std::string_view(reinterpret_cast<const char*>(image.data()), image.size()))) {
      check_round_trip(lu->reservations().snapshot());
    }
    read_everything(runner, *nexus[0]);
    return 0;
  }

  for (int records = 0; !in.empty() && records < 32; ++records) {
    const uint8_t who = in.u8();
    const uint8_t sa = in.u8();
    const uint8_t scope_type = in.u8();
    const uint16_t cdb_length = (who & 0x10) != 0 ? in.u16() : 0;
    const auto param = in.bytes(in.u16());
    scsi::ItNexus& n = *nexus[who & 3];
    const uint32_t list_length = (who & 0x10) != 0 ? cdb_length : uint32_t(param.size());
    switch ((who >> 2) & 3) {
      case 0: {
        uint8_t cdb[10] = {0x5f, sa, scope_type, 0, 0, 0, 0, 0, 0, 0};
        base::store_be32(&cdb[5], list_length);
        runner.run(n, cdb, scsi::encode_lun(0), 0, param);
        break;
      }
      case 1: {
        uint8_t cdb[10] = {0x5e, uint8_t(sa & 0x1f), 0, 0, 0, 0, 0, 0, 0, 0};
        base::store_be16(&cdb[7], uint16_t(list_length));
        runner.run(n, cdb, scsi::encode_lun(0), list_length, {});
        break;
      }
      case 2: {
        static constexpr uint8_t kOps[4] = {0x28, 0x2a, 0x00, 0x35};  // READ, WRITE, TUR, SYNC
        uint8_t cdb[10] = {kOps[sa & 3], 0, 0, 0, 0, 0, 0, 0, 0, 0};
        const bool write = cdb[0] == 0x2a;
        cdb[8] = (cdb[0] == 0x28 || write) ? 1 : 0;
        const std::vector<uint8_t> block(write ? 512 : 0, 0xa5);
        runner.run(n, cdb, scsi::encode_lun(0), cdb[0] == 0x28 ? 512 : 0, block);
        break;
      }
      default: {
        const uint8_t cdb[6] = {uint8_t((sa & 1) != 0 ? 0x17 : 0x16), 0, 0, 0, 0, 0};
        runner.run(n, cdb, scsi::encode_lun(0), 0, {});
        break;
      }
    }
  }
  check_round_trip(lu->reservations().snapshot());
  read_everything(runner, *nexus[0]);
  return 0;
}
