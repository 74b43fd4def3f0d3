// Encryption at rest and SANITIZE CRYPTOGRAPHIC ERASE through stgtd (backing/crypt/
// crypt_store.h, devices/sbc/sanitize.cc). An LU configured with encryption = "aes-256-xts"
// keeps ciphertext in its image and its media key wrapped beside it; REPORT SUPPORTED
// OPERATION CODES lists CRYPTOGRAPHIC ERASE and VPD B1h reports WACEREQ 01b; the erase makes
// what was written unreadable (reads complete GOOD with other data), for good across a
// restart with the same key-encryption key, while data written after it reads back. A wrong
// KEK, a KEK others can read and a plain LU over an encrypted image are refused with one
// sentence; a live lun.add takes the same options.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "control_client.h"
#include "iscsi_session.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kLunSize = uint64_t{64} << 20;
constexpr uint64_t kLunBlocks = kLunSize / kBlockSize;
constexpr size_t kRun = 256 * kBlockSize;  // what libiscsi's Sanitize.CryptoErase writes

using Reply = ScsiReply;

Reply command(IscsiSession& s, Bytes cdb, uint32_t in_length = 0, uint32_t lun = 1) {
  return send_cdb(s, std::move(cdb), {}, in_length, lun);
}

const Bytes kCryptoErase = {0x48, 0x03, 0, 0, 0, 0, 0, 0, 0, 0};

// REPORT SUPPORTED OPERATION CODES, one command: SANITIZE / service action 03h supported?
bool crypto_erase_listed(IscsiSession& s, uint32_t lun = 1) {
  const Reply r =
      command(s, {0xa3, 0x0c, 0x02, 0x48, 0x00, 0x03, 0, 0, 0x01, 0x00, 0, 0}, 256, lun);
  return r.status == SCSI_STATUS_GOOD && r.data.size() >= 2 && (r.data[1] & 0x07) == 0x03;
}

// VPD B1h byte 7 bits 5..4.
int wacereq(IscsiSession& s, uint32_t lun = 1) {
  const Reply r = command(s, {0x12, 0x01, 0xb1, 0x00, 0x40, 0}, 64, lun);
  if (r.status != SCSI_STATUS_GOOD || r.data.size() < 8) return -1;
  return (r.data[7] >> 4) & 0x03;
}

Bytes file_bytes(const std::string& path, uint64_t offset, size_t len) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(std::streamoff(offset));
  Bytes out(len);
  in.read(reinterpret_cast<char*>(out.data()), std::streamsize(len));
  return out;
}

class EncryptionTest : public StgtdTest {
 protected:
  std::string kek_path(const std::string& name = "kek") const { return stgtd_.dir() + "/" + name; }
  // A key-encryption key file of 64 hex digits (mode 0600 unless told otherwise).
  std::string make_kek(const std::string& name, char digit, mode_t mode = 0600) const {
    const std::string path = kek_path(name);
    std::ofstream(path) << std::string(63, digit) << "1\n";
    ::chmod(path.c_str(), mode);
    return path;
  }
  config::LunConfig encrypted_lun(const std::string& kek) const {
    config::LunConfig lun = stgtd_.file_lun(kLunSize);
    lun.provisioning = "thin";
    lun.encryption = "aes-256-xts";
    lun.key_file = kek;
    return lun;
  }
  std::string image() const { return stgtd_.dir() + "/lun1.img"; }
  void start_with(const config::LunConfig& lun) {
    stgtd_.write_config(stgtd_.base_config({lun}));
    ASSERT_TRUE(stgtd_.start({"--reactors", "2", "--var-dir", stgtd_.dir() + "/var"}));
  }
  // Starts a daemon expected to refuse the configuration; returns its log.
  std::string refused_start(const config::LunConfig& lun) {
    stgtd_.write_config(stgtd_.base_config({lun}));
    const auto status =
        stgtd_.run_to_exit({"--var-dir", stgtd_.dir() + "/var"}, std::chrono::seconds(10));
    EXPECT_TRUE(status.has_value()) << "stgtd kept running";
    if (status) {
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << *status;
    }
    return stgtd_.log();
  }
};

TEST_F(EncryptionTest, TheImageHoldsCiphertextAndReadsBackThroughTheTarget) {
  ASSERT_NO_FATAL_FAILURE(start_with(encrypted_lun(make_kek("kek", 'a'))));
  IscsiSession s("iqn.2026-11.org.stgt.test:crypt-a");
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  const Bytes data = make_pattern(1, 1 << 20);  // large enough to span pool buffers
  ASSERT_TRUE(s.write(8, data));
  const Bytes same(kRun, 'a');
  ASSERT_TRUE(s.write(kLunBlocks - 256, same));
  Bytes back;
  ASSERT_TRUE(s.read(8, data.size(), back));
  EXPECT_EQ(back, data);
  ASSERT_TRUE(s.read(kLunBlocks - 256, same.size(), back));
  EXPECT_EQ(back, same);
  // Never-written blocks of the thin LU read as zeros (LBPRZ).
  ASSERT_TRUE(s.read(4096, 4096, back));
  EXPECT_EQ(back, Bytes(4096, 0));
  ASSERT_TRUE(s.logout());
  ASSERT_TRUE(stgtd_.stop());
  const Bytes raw = file_bytes(image(), 8 * kBlockSize, data.size());
  EXPECT_NE(raw, data);
  const Bytes raw_same = file_bytes(image(), kLunSize - kRun, kRun);
  EXPECT_LT(std::count(raw_same.begin(), raw_same.end(), 'a'), int(kRun / 64));
  struct stat st {};
  ASSERT_EQ(::stat((image() + ".mek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(EncryptionTest, CryptoEraseDestroysTheDataForGood) {
  const std::string kek = make_kek("kek", 'b');
  ASSERT_NO_FATAL_FAILURE(start_with(encrypted_lun(kek)));
  IscsiSession s("iqn.2026-11.org.stgt.test:crypt-a");
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  EXPECT_TRUE(crypto_erase_listed(s));
  EXPECT_EQ(wacereq(s), 1);
  const Bytes a(kRun, 'a');
  ASSERT_TRUE(s.write(0, a));
  ASSERT_TRUE(s.write(kLunBlocks - 256, a));
  std::ifstream mek_in(image() + ".mek");
  const std::string wrapped_before((std::istreambuf_iterator<char>(mek_in)), {});

  const Reply erase = command(s, kCryptoErase);
  ASSERT_EQ(erase.status, SCSI_STATUS_GOOD) << "sense key " << erase.key;
  Bytes back;
  ASSERT_TRUE(s.read(0, kRun, back));  // WACEREQ 01b: GOOD, unspecified data
  EXPECT_NE(back, a);
  ASSERT_TRUE(s.read(kLunBlocks - 256, kRun, back));
  EXPECT_NE(back, a);
  std::ifstream mek_after(image() + ".mek");
  EXPECT_NE(std::string((std::istreambuf_iterator<char>(mek_after)), {}), wrapped_before);

  const Bytes fresh = make_pattern(9, 64 << 10);
  ASSERT_TRUE(s.write(1024, fresh));
  ASSERT_TRUE(s.logout());
  ASSERT_TRUE(stgtd_.stop());

  // Same KEK after a restart: what was written after the erase is there, the rest is not.
  ASSERT_TRUE(stgtd_.start({"--reactors", "2", "--var-dir", stgtd_.dir() + "/var"}));
  IscsiSession t("iqn.2026-11.org.stgt.test:crypt-b");
  ASSERT_TRUE(t.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(t.read(1024, fresh.size(), back));
  EXPECT_EQ(back, fresh);
  ASSERT_TRUE(t.read(0, kRun, back));
  EXPECT_NE(back, a);
  // A parameter list is refused (INVALID FIELD IN CDB), and the key stays.
  Bytes with_list = kCryptoErase;
  with_list[8] = 8;
  EXPECT_EQ(command(t, with_list).key, SCSI_SENSE_ILLEGAL_REQUEST);
  ASSERT_TRUE(t.read(1024, fresh.size(), back));
  EXPECT_EQ(back, fresh);
  ASSERT_TRUE(t.logout());
}

TEST_F(EncryptionTest, APlainLuOffersNoCryptoErase) {
  config::LunConfig lun = stgtd_.file_lun(kLunSize);
  ASSERT_NO_FATAL_FAILURE(start_with(lun));
  IscsiSession s("iqn.2026-11.org.stgt.test:crypt-a");
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  EXPECT_FALSE(crypto_erase_listed(s));
  EXPECT_EQ(wacereq(s), 0);
  const Reply r = command(s, kCryptoErase);
  EXPECT_EQ(r.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
}

TEST_F(EncryptionTest, AWrongOrLooseKekAndAPlainLuOverCiphertextAreRefused) {
  {
    ASSERT_NO_FATAL_FAILURE(start_with(encrypted_lun(make_kek("kek", 'c'))));
    IscsiSession s("iqn.2026-11.org.stgt.test:crypt-a");
    ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
    ASSERT_TRUE(s.write(0, make_pattern(3, 4096)));
    ASSERT_TRUE(s.logout());
    ASSERT_TRUE(stgtd_.stop());
  }
  std::string log = refused_start(encrypted_lun(make_kek("other", 'd')));
  EXPECT_NE(log.find("the key-encryption key does not unwrap the media key (wrong key file)"),
            std::string::npos)
      << log;
  log = refused_start(encrypted_lun(make_kek("loose", 'c', 0644)));
  EXPECT_NE(log.find("is accessible by group or others (mode 0644)"), std::string::npos) << log;
  log = refused_start(stgtd_.file_lun(kLunSize));
  EXPECT_NE(log.find("is encrypted (its wrapped media key"), std::string::npos) << log;
  // The right KEK still opens it.
  ASSERT_NO_FATAL_FAILURE(start_with(encrypted_lun(kek_path("kek"))));
  IscsiSession s("iqn.2026-11.org.stgt.test:crypt-b");
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  Bytes back;
  ASSERT_TRUE(s.read(0, 4096, back));
  EXPECT_EQ(back, make_pattern(3, 4096));
}

// lun.add (stgtadm lun add --encryption --key-file) makes an encrypted LU live.
TEST_F(EncryptionTest, LiveLunAddTakesTheEncryptionOptions) {
  ASSERT_NO_FATAL_FAILURE(start_with(StgtdProcess::memory_lun(kLunSize)));
  const std::string kek = make_kek("kek", 'e');
  ControlClient control;
  ASSERT_TRUE(control.connect(stgtd_.control_socket()));
  const std::string answer =
      control.call(R"({"jsonrpc":"2.0","id":1,"method":"lun.add","params":{"target":")" +
                   std::string(kTargetIqn) + R"(","lun":2,"store":"file","path":")" + stgtd_.dir() +
                   R"(/lun2.img","size":)" + std::to_string(kLunSize) +
                   R"(,"encryption":"aes-256-xts","key_file":")" + kek + R"("}})");
  ASSERT_NE(answer.find("\"applied\":true"), std::string::npos) << answer;
  std::ifstream saved(stgtd_.config_path());
  const std::string text((std::istreambuf_iterator<char>(saved)), {});
  EXPECT_NE(text.find("encryption = 'aes-256-xts'"), std::string::npos) << text;
  EXPECT_NE(text.find("key_file = '" + kek + "'"), std::string::npos) << text;
  IscsiSession s("iqn.2026-11.org.stgt.test:crypt-a");
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 2));
  EXPECT_TRUE(crypto_erase_listed(s, 2));
  EXPECT_FALSE(crypto_erase_listed(s, 1));  // the memory LU next to it does not encrypt
  // stgtadm lun list shows which LUs encrypt, in its table and its JSON.
  const CliResult table = adm(stgtd_, {"lun", "list", kTargetIqn});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("ENCRYPTION"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("aes-256-xts"), std::string::npos) << table.out;
  const nlohmann::json luns = adm_json(stgtd_, {"lun", "list", kTargetIqn});
  ASSERT_EQ(luns.size(), 2u) << luns.dump();
  for (const nlohmann::json& lun : luns) {
    EXPECT_EQ(lun.value("encryption", ""), lun.value("id", 0) == 2 ? "aes-256-xts" : "none")
        << lun.dump();
  }
  // A missing key_file is refused with the validation's sentence, nothing applied.
  const std::string refused = control.call(
      R"({"jsonrpc":"2.0","id":2,"method":"lun.add","params":{"target":")" +
      std::string(kTargetIqn) + R"(","lun":3,"store":"file","path":")" + stgtd_.dir() +
      R"(/lun3.img","size":)" + std::to_string(kLunSize) + R"(,"encryption":"aes-256-xts"}})");
  EXPECT_NE(refused.find("needs a key_file"), std::string::npos) << refused;
}

}  // namespace
}  // namespace stgt::functional
