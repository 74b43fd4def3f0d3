// libFuzzer target: CDB dispatch through every device type's opcode table (the disk and
// the controller) on the memory store, through the whole SAM gate (scsi::submit).
//
// Input: a first byte choosing the disk geometry, then commands, each
//   u8 flags   bits 0-1 LUN (0, 1: disks; 2: LUN 0 seen as the controller; 3: unmapped LUN 7)
//              bit 2    a 32-byte CDB (else 16, as iSCSI carries it without an AHS)
//              bits 3-4 task attribute
//              bit 5    second nexus (another initiator)
//   CDB        16 or 32 bytes
//   u24        expected data-in length (bounded to 1 MiB)
//   u16        data-out length, then that many bytes
// Every command must complete exactly once, inline, with data-in consistent with its length.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_target.h"

using namespace stgt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  fuzz::Cursor in(data, size);
  const uint8_t geometry = in.u8();
  const uint32_t block_size = (geometry & 1) != 0 ? 4096 : 512;
  // The second disk target has no LU 0: LUN 0 answers through the controller.
  auto target = fuzz::make_fuzz_target(block_size, 1 << 20, (geometry & 2) != 0);
  auto controller_only = std::make_shared<scsi::Target>(fuzz::kTargetName, "");
  controller_only->set_controller(
      devices::make_controller(devices::identity_for(fuzz::kTargetName, 0)));
  controller_only->allow_initiator("ALL");

  fuzz::CommandRunner runner(target);
  scsi::ItNexus& first = runner.add_nexus("iqn.1994-05.com.example:a", 1, 1, (geometry & 4) == 0);
  scsi::ItNexus& second = runner.add_nexus("iqn.1994-05.com.example:b", 2, 2);
  fuzz::CommandRunner controller_runner(controller_only);
  scsi::ItNexus& ctl = controller_runner.add_nexus("iqn.1994-05.com.example:a", 3, 1);

  for (int commands = 0; !in.empty() && commands < 64; ++commands) {
    const uint8_t flags = in.u8();
    const auto cdb = in.bytes((flags & 4) != 0 ? 32 : 16);
    const uint32_t expected_in = std::min<uint32_t>(in.u24(), 1u << 20);
    const auto out = in.bytes(in.u16());
    const auto attribute = scsi::TaskAttribute((flags >> 3) & 3);
    switch (flags & 3) {
      case 0:
      case 1:
        runner.run((flags & 0x20) != 0 ? second : first, cdb, scsi::encode_lun(flags & 1),
                   expected_in, out, attribute);
        break;
      case 2:
        controller_runner.run(ctl, cdb, scsi::encode_lun(0), expected_in, out, attribute);
        break;
      default:
        runner.run(first, cdb, scsi::encode_lun(7), expected_in, out, attribute);
        break;
    }
  }
  return 0;
}
