// SBC-4 block commands for the disk device type. Every handler checks all CDB fields and
// the LBA range before any store I/O; store calls complete through cmd.on_store_done,
// possibly inline (backing/backing_store.h).
#pragma once

#include "scsi/command.h"

namespace stgt::devices::sbc {

void read(scsi::Command& cmd);               // 5.12-5.15 READ (6/10/12/16)
void write(scsi::Command& cmd);              // 5.37-5.40 WRITE (6/10/12/16)
void verify(scsi::Command& cmd);             // 5.30-5.32 VERIFY (10/12/16)
void write_and_verify(scsi::Command& cmd);   // 5.41-5.43 WRITE AND VERIFY (10/12/16)
void read_capacity10(scsi::Command& cmd);    // 5.20
void read_capacity16(scsi::Command& cmd);    // 5.21
void synchronize_cache(scsi::Command& cmd);  // 5.28, 5.29
void pre_fetch(scsi::Command& cmd);          // 5.8, 5.9
void start_stop_unit(scsi::Command& cmd);    // 5.27
void prevent_allow_medium_removal(scsi::Command& cmd);  // 5.15
void write_same(scsi::Command& cmd);         // 5.49, 5.50 WRITE SAME (10/16)
void unmap(scsi::Command& cmd);              // 5.32
void get_lba_status(scsi::Command& cmd);     // 5.6
void orwrite(scsi::Command& cmd);            // 5.11 ORWRITE (16)
void compare_and_write(scsi::Command& cmd);  // 5.3 COMPARE AND WRITE
void read_defect_data10(scsi::Command& cmd);  // 5.7
void read_defect_data12(scsi::Command& cmd);  // 5.8
void write_atomic16(scsi::Command& cmd);      // 5.48 WRITE ATOMIC (16)
// SANITIZE (48h; sanitize.cc): SBC-4 5.30, one handler per service action.
void sanitize_overwrite(scsi::Command& cmd);          // 01h
void sanitize_block_erase(scsi::Command& cmd);        // 02h
void sanitize_crypto_erase(scsi::Command& cmd);       // 03h
// CRYPTOGRAPHIC ERASE exists on an LU whose store encrypts (backing/crypt/crypt_store.h).
bool crypto_erase_offered(const scsi::LogicalUnit& lu);
void sanitize_exit_failure_mode(scsi::Command& cmd);  // 1Fh

// Third-party copy (SPC-4 5.17, 6.3, 6.18; extended_copy.cc): the copy manager of the LU.
void extended_copy(scsi::Command& cmd);         // 83h/00h EXTENDED COPY (LID1)
void receive_copy_results(scsi::Command& cmd);  // 84h/00h, 01h, 03h, 04h
// ODX (token_copy.cc): SBC-4 5.11, 5.53; SPC-5 6.18.7.
void populate_token(scsi::Command& cmd);                 // 83h/10h
void write_using_token(scsi::Command& cmd);              // 83h/11h
void receive_rod_token_information(scsi::Command& cmd);  // 84h/07h

// SANITIZE (48h) service actions. CRYPTOGRAPHIC ERASE (03h) only where the store keeps its
// data encrypted under a key it can replace (crypto_erase_offered()).
inline constexpr uint8_t kSanitizeOverwrite = 0x01;
inline constexpr uint8_t kSanitizeBlockErase = 0x02;
inline constexpr uint8_t kSanitizeCryptoErase = 0x03;
inline constexpr uint8_t kSanitizeExitFailureMode = 0x1f;

// THIRD-PARTY COPY OUT (83h) service actions.
inline constexpr uint8_t kExtendedCopyLid1 = 0x00;
inline constexpr uint8_t kPopulateToken = 0x10;
inline constexpr uint8_t kWriteUsingToken = 0x11;
// THIRD-PARTY COPY IN (84h) service actions.
inline constexpr uint8_t kRcrCopyStatus = 0x00;
inline constexpr uint8_t kRcrReceiveData = 0x01;
inline constexpr uint8_t kRcrOperatingParameters = 0x03;
inline constexpr uint8_t kRcrFailedSegmentDetails = 0x04;
inline constexpr uint8_t kRcrRodTokenInformation = 0x07;

}  // namespace stgt::devices::sbc
