#include "backing/crypt/media_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "../store_test_util.h"

namespace stgt::backing::crypt {
namespace {

using testing::TempDir;

const std::string kHexKek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string write_file(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
  return path;
}

Kek kek_of(const std::string& hex) {
  auto k = parse_kek(hex, "test");
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

TEST(MediaKeyTest, ParsesRawAndHexKeks) {
  std::string raw(32, '\0');
  for (size_t i = 0; i < raw.size(); ++i)
    raw[i] = char(i);
  auto a = parse_kek(raw, "raw");
  auto b = parse_kek(kHexKek, "hex");
  auto c = parse_kek(kHexKek + "\n", "hex-newline");
  auto d = parse_kek("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", "upper");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_TRUE(*a == *b);
  EXPECT_TRUE(*a == *c);
  EXPECT_TRUE(*a == *d);
}

TEST(MediaKeyTest, RejectsWhatIsNotAKek) {
  for (const std::string& bad :
       {std::string(), std::string(31, 'x'), std::string(33, 'x'), kHexKek.substr(2),
        kHexKek + "00", "zz" + kHexKek.substr(2), kHexKek + "\n\n"}) {
    auto k = parse_kek(bad, "/etc/kek");
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_EQ(k.error(),
              "key file /etc/kek is not a key: it must hold exactly 32 bytes or 64 hexadecimal "
              "digits");
  }
}

TEST(MediaKeyTest, LoadKekRefusesFilesOthersCanAccess) {
  TempDir dir;
  const std::string path = write_file(dir.file("kek"), kHexKek, 0600);
  ASSERT_TRUE(load_kek(path).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  ASSERT_TRUE(load_kek(path).ok());
  for (const mode_t mode : {0640, 0604, 0644, 0620, 0660}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto k = load_kek(path);
    ASSERT_FALSE(k.ok()) << std::oct << mode;
    EXPECT_NE(k.error().find("is accessible by group or others"), std::string::npos) << k.error();
    EXPECT_NE(k.error().find(path), std::string::npos);
  }
  auto missing = load_kek(dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(),
            "cannot open key file " + dir.file("nope") + ": No such file or directory");
  auto directory = load_kek(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error(), "key file " + dir.path() + " is not a regular file");
  // Too long to be a key (the read is bounded).
  const std::string big = write_file(dir.file("big"), std::string(100000, 'a'), 0600);
  EXPECT_FALSE(load_kek(big).ok());
}

TEST(MediaKeyTest, GeneratedKeysAreRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto m = generate_mek();
    ASSERT_TRUE(m.ok());
    EXPECT_NE(std::string(reinterpret_cast<const char*>(m->data()), 32),
              std::string(reinterpret_cast<const char*>(m->data()) + 32, 32));
    seen.insert(std::string(reinterpret_cast<const char*>(m->data()), m->size()));
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST(MediaKeyTest, WrapRoundTripsAndDetectsAWrongKek) {
  const Kek kek = kek_of(kHexKek);
  auto mek = generate_mek();
  ASSERT_TRUE(mek.ok());
  auto image = wrap_mek(kek, *mek);
  ASSERT_TRUE(image.ok()) << image.error();
  EXPECT_EQ(image->rfind("stgt-mek 1\ncipher aes-256-xts\nwrapped ", 0), 0u) << *image;
  // The MEK itself never appears in the file.
  EXPECT_EQ(image->find(std::string(reinterpret_cast<const char*>(mek->data()), 8)),
            std::string::npos);
  auto back = unwrap_mek(kek, *image);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == *mek);

  std::string other_hex = kHexKek;
  other_hex[0] = '1';
  auto wrong = unwrap_mek(kek_of(other_hex), *image);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), "the key-encryption key does not unwrap the media key (wrong key file)");
}

TEST(MediaKeyTest, DamagedImagesAreRefused) {
  const Kek kek = kek_of(kHexKek);
  auto mek = generate_mek();
  ASSERT_TRUE(mek.ok());
  const std::string image = wrap_mek(kek, *mek).value();
  // Every single-byte change and every truncation is caught (checksum, or format).
  for (size_t at = 0; at < image.size(); ++at) {
    std::string bad = image;
    bad[at] = bad[at] == '0' ? '1' : '0';
    auto r = unwrap_mek(kek, bad);
    ASSERT_FALSE(r.ok()) << at;
    EXPECT_EQ(r.error().rfind("damaged wrapped key file (", 0), 0u) << r.error();
  }
  for (size_t len = 0; len < image.size(); ++len) {
    EXPECT_FALSE(unwrap_mek(kek, image.substr(0, len)).ok()) << len;
  }
  EXPECT_FALSE(unwrap_mek(kek, image + "x").ok());
}

}  // namespace
}  // namespace stgt::backing::crypt
