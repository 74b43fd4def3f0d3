#include "backing/crypt/crypt_store.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "../store_test_util.h"
#include "backing/file/file_store.h"
#include "backing/memory/memory_store.h"
#include "base/atomic_file.h"

namespace stgt::backing {
namespace {

using testing::Recorder;
using testing::TempDir;

constexpr uint64_t kSize = 4 << 20;
constexpr uint64_t kUnit = CryptStore::kDataUnit;
const std::string kHexKek = "8f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

std::string make_kek(const TempDir& dir, const std::string& name = "kek",
                     const std::string& hex = kHexKek) {
  const std::string path = dir.file(name);
  std::ofstream(path) << hex << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

StoreSpec file_spec(const std::string& path, const std::string& kek, bool read_only = false) {
  StoreSpec s{"file", path, read_only ? 0 : kSize, read_only};
  s.encryption = "aes-256-xts";
  s.key_file = kek;
  return s;
}

std::unique_ptr<BackingStore> open_or_die(const StoreSpec& spec) {
  StoreRegistry registry;
  register_builtin_backing_stores(registry);
  auto s = registry.open(spec);
  EXPECT_TRUE(s.ok()) << s.error();
  return s.ok() ? std::move(s).value() : nullptr;
}

base::Result<std::unique_ptr<BackingStore>, std::string> open_store(const StoreSpec& spec) {
  StoreRegistry registry;
  register_builtin_backing_stores(registry);
  return registry.open(spec);
}

std::unique_ptr<BackingStore> memory_crypt() {
  auto inner = MemoryStore::open({"memory", "", kSize, false});
  EXPECT_TRUE(inner.ok());
  auto s = CryptStore::open(std::move(inner).value(), CryptSpec{});
  EXPECT_TRUE(s.ok()) << s.error();
  return std::move(s).value();
}

int64_t write(BackingStore& s, const std::vector<uint8_t>& data, uint64_t offset) {
  Recorder rec;
  iovec v{const_cast<uint8_t*>(data.data()), data.size()};
  s.write(nullptr, {&v, 1}, offset, false, &rec);
  EXPECT_EQ(rec.calls_, 1);
  return rec.result_;
}

std::vector<uint8_t> read(BackingStore& s, uint64_t offset, uint64_t len) {
  std::vector<uint8_t> out(len, 0xee);
  Recorder rec;
  iovec v{out.data(), out.size()};
  s.read(nullptr, {&v, 1}, offset, &rec);
  EXPECT_EQ(rec.result_, int64_t(len));
  return out;
}

std::vector<uint8_t> pattern(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i)
    v[i] = uint8_t(seed + i * 7 + (i >> 9));
  return v;
}

// Splits `buf` into iovecs at the given cut points.
std::vector<iovec> split(std::vector<uint8_t>& buf, std::vector<size_t> cuts) {
  std::vector<iovec> out;
  size_t at = 0;
  cuts.push_back(buf.size());
  for (const size_t c : cuts) {
    out.push_back(iovec{buf.data() + at, c - at});
    at = c;
  }
  return out;
}

CryptStore& crypt_of(BackingStore& s) {
  return static_cast<CryptStore&>(s);
}

TEST(CryptStoreTest, RoundTripsOverOddUnitsAndIovecSplits) {
  auto store = memory_crypt();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->kind(), "encrypted memory");
  EXPECT_TRUE(store->supports_crypto_erase());
  const uint64_t offset = 7 * kUnit;  // an odd unit, not 4 KiB aligned
  std::vector<uint8_t> data = pattern(9 * kUnit, 3);
  const std::vector<uint8_t> original = data;
  // Units straddling iovecs, empty iovecs, one-byte iovecs.
  std::vector<iovec> iov = split(data, {1, 1, 2, 511, 513, 1000, 1000, 2047, 4095, 4096});
  Recorder w;
  store->write(nullptr, iov, offset, false, &w);
  ASSERT_EQ(w.result_, int64_t(data.size()));
  EXPECT_EQ(data, original);  // the caller's buffer is never modified
  EXPECT_EQ(read(*store, offset, data.size()), original);

  // Read back through another split.
  std::vector<uint8_t> back(data.size(), 0);
  std::vector<iovec> riov = split(back, {3, 700, 701, 2500, 4608});
  Recorder r;
  store->read(nullptr, riov, offset, &r);
  ASSERT_EQ(r.result_, int64_t(back.size()));
  EXPECT_EQ(back, original);
  // A sub-range starting in the middle of what was written.
  EXPECT_EQ(read(*store, offset + 3 * kUnit, 2 * kUnit),
            std::vector<uint8_t>(original.begin() + 3 * kUnit, original.begin() + 5 * kUnit));
}

TEST(CryptStoreTest, TheInnerStoreHoldsCiphertextThatDependsOnTheOffset) {
  auto store = memory_crypt();
  const std::vector<uint8_t> same(kUnit, 'a');
  ASSERT_EQ(write(*store, same, 0), int64_t(kUnit));
  ASSERT_EQ(write(*store, same, kUnit), int64_t(kUnit));
  BackingStore& inner = crypt_of(*store).inner();
  const std::vector<uint8_t> c0 = read(inner, 0, kUnit);
  const std::vector<uint8_t> c1 = read(inner, kUnit, kUnit);
  EXPECT_NE(c0, same);
  EXPECT_NE(c1, same);
  EXPECT_NE(c0, c1);  // equal data, different LBAs: different ciphertext (the tweak)
  // No plaintext run survives: fewer 'a's than chance would give many.
  EXPECT_LT(std::count(c0.begin(), c0.end(), 'a'), 16);
  EXPECT_EQ(read(*store, 0, 2 * kUnit), std::vector<uint8_t>(2 * kUnit, 'a'));
}

TEST(CryptStoreTest, CiphertextIsIndependentOfHowTheWriteWasCut) {
  // The tweak is offset / 512: one 4 KiB write equals eight 512-byte writes (block size 512
  // or 4096 gives the same image).
  auto a = memory_crypt();
  auto b = memory_crypt();
  // Same key for both: copy a's ciphertext through b is impossible, so compare one store
  // against itself instead, writing the same data once whole and once unit by unit.
  const std::vector<uint8_t> data = pattern(8 * kUnit, 9);
  ASSERT_EQ(write(*a, data, 0), int64_t(data.size()));
  for (uint64_t u = 0; u < 8; ++u) {
    const std::vector<uint8_t> unit(data.begin() + u * kUnit, data.begin() + (u + 1) * kUnit);
    ASSERT_EQ(write(*a, unit, 8 * kUnit + u * kUnit), int64_t(kUnit));
  }
  BackingStore& inner = crypt_of(*a).inner();
  // Different offsets: different ciphertext, but each decrypts to the same data.
  EXPECT_NE(read(inner, 0, data.size()), read(inner, 8 * kUnit, data.size()));
  EXPECT_EQ(read(*a, 0, data.size()), read(*a, 8 * kUnit, data.size()));
  // Rewriting the first range unit by unit reproduces exactly the same ciphertext.
  const std::vector<uint8_t> whole = read(inner, 0, data.size());
  for (uint64_t u = 0; u < 8; ++u) {
    const std::vector<uint8_t> unit(data.begin() + u * kUnit, data.begin() + (u + 1) * kUnit);
    ASSERT_EQ(write(*a, unit, u * kUnit), int64_t(kUnit));
  }
  EXPECT_EQ(read(inner, 0, data.size()), whole);
  // Two stores have two keys.
  ASSERT_EQ(write(*b, data, 0), int64_t(data.size()));
  EXPECT_NE(read(crypt_of(*b).inner(), 0, data.size()), whole);
}

TEST(CryptStoreTest, ZeroCiphertextUnitsAreHoles) {
  auto store = memory_crypt();
  // A fresh store (all zeros underneath) reads as zeros.
  EXPECT_EQ(read(*store, 0, 4 * kUnit), std::vector<uint8_t>(4 * kUnit, 0));
  // Written zeros are encrypted like anything else...
  ASSERT_EQ(write(*store, std::vector<uint8_t>(2 * kUnit, 0), 0), int64_t(2 * kUnit));
  EXPECT_NE(read(crypt_of(*store).inner(), 0, kUnit), std::vector<uint8_t>(kUnit, 0));
  EXPECT_EQ(read(*store, 0, 2 * kUnit), std::vector<uint8_t>(2 * kUnit, 0));
  // ...and what the inner store deallocates reads back as zeros (LBPRZ stays true).
  const std::vector<uint8_t> data = pattern(16 * kUnit, 1);
  ASSERT_EQ(write(*store, data, 0), int64_t(16 * kUnit));
  ASSERT_TRUE(store->supports_unmap());
  Recorder u;
  store->unmap(nullptr, 8 * kUnit, 8 * kUnit, &u);
  ASSERT_EQ(u.result_, 0);
  EXPECT_EQ(read(*store, 8 * kUnit, 8 * kUnit), std::vector<uint8_t>(8 * kUnit, 0));
  EXPECT_EQ(read(*store, 0, 8 * kUnit),
            std::vector<uint8_t>(data.begin(), data.begin() + 8 * kUnit));
  // A zero unit in the middle of a read is left as zeros, its neighbours decrypted.
  const std::vector<uint8_t> mixed = read(*store, 7 * kUnit, 2 * kUnit);
  EXPECT_EQ(std::vector<uint8_t>(mixed.begin() + kUnit, mixed.end()),
            std::vector<uint8_t>(kUnit, 0));
}

TEST(CryptStoreTest, UnalignedRequestsAreInvalid) {
  auto store = memory_crypt();
  std::vector<uint8_t> buf(kUnit);
  iovec v{buf.data(), buf.size()};
  Recorder a, b, c, d;
  store->read(nullptr, {&v, 1}, 100, &a);
  store->write(nullptr, {&v, 1}, 100, false, &b);
  v.iov_len = 100;
  store->read(nullptr, {&v, 1}, 0, &c);
  store->write(nullptr, {&v, 1}, 0, false, &d);
  EXPECT_EQ(a.result_, -EINVAL);
  EXPECT_EQ(b.result_, -EINVAL);
  EXPECT_EQ(c.result_, -EINVAL);
  EXPECT_EQ(d.result_, -EINVAL);
  v.iov_len = kUnit;
  Recorder past;
  store->write(nullptr, {&v, 1}, kSize, false, &past);
  EXPECT_EQ(past.result_, -EINVAL);
}

TEST(CryptStoreTest, CryptoEraseMakesOldDataUnreadable) {
  auto store = memory_crypt();
  const std::vector<uint8_t> data(64 * kUnit, 'a');
  ASSERT_EQ(write(*store, data, 0), int64_t(data.size()));
  const uint64_t generation = crypt_of(*store).key_generation();
  Recorder e;
  store->crypto_erase(nullptr, &e);
  ASSERT_EQ(e.result_, 0);
  EXPECT_EQ(crypt_of(*store).key_generation(), generation + 1);
  const std::vector<uint8_t> after = read(*store, 0, data.size());
  EXPECT_NE(after, data);
  EXPECT_LT(std::count(after.begin(), after.end(), 'a'), 400);  // chance: 128
  // New writes read back.
  const std::vector<uint8_t> fresh = pattern(4 * kUnit, 5);
  ASSERT_EQ(write(*store, fresh, kUnit), int64_t(fresh.size()));
  EXPECT_EQ(read(*store, kUnit, fresh.size()), fresh);
}

TEST(CryptStoreTest, PlainStoresOfferNoCryptoErase) {
  auto plain = MemoryStore::open({"memory", "", kSize, false});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE((*plain)->supports_crypto_erase());
  Recorder e;
  (*plain)->crypto_erase(nullptr, &e);
  EXPECT_EQ(e.result_, -EOPNOTSUPP);
}

// A file image with a key-encryption key next to it.
class CryptFileStoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  const std::string kek_ = make_kek(dir_);
  const std::string img_ = dir_.file("disk.img");
};

TEST_F(CryptFileStoreTest, KeyIsCreatedOnceAndDataSurvivesReopen) {
  const std::vector<uint8_t> data = pattern(16 * kUnit, 11);
  {
    auto store = open_or_die(file_spec(img_, kek_));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->kind(), "encrypted file");
    ASSERT_EQ(write(*store, data, 3 * kUnit), int64_t(data.size()));
  }
  struct stat st {};
  ASSERT_EQ(::stat(crypt::wrapped_key_path(img_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The image holds ciphertext.
  {
    auto plain = FileStore::open({"file", img_, 0, true});
    ASSERT_TRUE(plain.ok());
    EXPECT_NE(read(**plain, 3 * kUnit, data.size()), data);
  }
  auto again = open_or_die(file_spec(img_, kek_));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(read(*again, 3 * kUnit, data.size()), data);
  // Read-only opens use the existing key.
  auto ro = open_or_die(file_spec(img_, kek_, true));
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(read(*ro, 3 * kUnit, data.size()), data);
  Recorder e;
  ro->crypto_erase(nullptr, &e);
  EXPECT_EQ(e.result_, -EROFS);
}

// Known answer: unit u of the image is AES-256-XTS of the plaintext under the MEK (as
// unwrapped from the .mek file) with the tweak u as a 64-bit little-endian number, exactly
// dm-crypt's aes-xts-plain64 with 512-byte sectors.
TEST_F(CryptFileStoreTest, TheImageIsXtsPlain64UnderTheWrappedKey) {
  auto store = open_or_die(file_spec(img_, kek_));
  ASSERT_NE(store, nullptr);
  const uint64_t first = 1000;  // a unit number above 255, so the tweak's byte order shows
  const std::vector<uint8_t> data = pattern(3 * kUnit, 21);
  ASSERT_EQ(write(*store, data, first * kUnit), int64_t(data.size()));
  std::ifstream in(crypt::wrapped_key_path(img_));
  const std::string image((std::istreambuf_iterator<char>(in)), {});
  auto kek = crypt::load_kek(kek_);
  ASSERT_TRUE(kek.ok());
  auto mek = crypt::unwrap_mek(*kek, image);
  ASSERT_TRUE(mek.ok()) << mek.error();
  const std::vector<uint8_t> stored = read(crypt_of(*store).inner(), first * kUnit, data.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (uint64_t u = 0; u < 3; ++u) {
    uint8_t iv[16] = {};
    for (int i = 0; i < 8; ++i)
      iv[i] = uint8_t((first + u) >> (8 * i));
    uint8_t expect[kUnit];
    int n = 0;
    ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_xts(), nullptr, mek->data(), iv), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, expect, &n, data.data() + u * kUnit, int(kUnit)), 1);
    ASSERT_EQ(n, int(kUnit));
    EXPECT_EQ(std::vector<uint8_t>(expect, expect + kUnit),
              std::vector<uint8_t>(stored.begin() + u * kUnit, stored.begin() + (u + 1) * kUnit))
        << "unit " << first + u;
  }
  EVP_CIPHER_CTX_free(ctx);
}

TEST_F(CryptFileStoreTest, CryptoEraseIsDurable) {
  const std::vector<uint8_t> old_data(8 * kUnit, 'a');
  const std::vector<uint8_t> new_data = pattern(8 * kUnit, 77);
  {
    auto store = open_or_die(file_spec(img_, kek_));
    ASSERT_EQ(write(*store, old_data, 0), int64_t(old_data.size()));
    Recorder e;
    store->crypto_erase(nullptr, &e);
    ASSERT_EQ(e.result_, 0);
    EXPECT_NE(read(*store, 0, old_data.size()), old_data);
    ASSERT_EQ(write(*store, new_data, 64 * kUnit), int64_t(new_data.size()));
  }
  auto again = open_or_die(file_spec(img_, kek_));
  ASSERT_NE(again, nullptr);
  EXPECT_NE(read(*again, 0, old_data.size()), old_data);  // still gone after a restart
  EXPECT_EQ(read(*again, 64 * kUnit, new_data.size()), new_data);
}

// The replaced wrapped key does not stay behind in the file's old blocks: a hard link keeps
// the old inode reachable, as the free blocks of a file system would keep its data.
TEST_F(CryptFileStoreTest, CryptoEraseScrubsTheReplacedKeyFile) {
  auto store = open_or_die(file_spec(img_, kek_));
  ASSERT_NE(store, nullptr);
  const std::string key = img_ + ".mek";
  const std::string old_inode = dir_.file("old-inode");
  ASSERT_EQ(::link(key.c_str(), old_inode.c_str()), 0) << std::strerror(errno);
  const auto before = base::read_small_file(old_inode);
  ASSERT_TRUE(before.ok() && before.value().has_value());
  ASSERT_FALSE(before.value()->empty());

  Recorder e;
  store->crypto_erase(nullptr, &e);
  ASSERT_EQ(e.result_, 0);

  const auto after = base::read_small_file(old_inode);
  ASSERT_TRUE(after.ok() && after.value().has_value());
  EXPECT_EQ(*after.value(), std::string(before.value()->size(), '\0'));
  const auto current = base::read_small_file(key);
  ASSERT_TRUE(current.ok() && current.value().has_value());
  EXPECT_NE(*current.value(), *before.value());
}

TEST_F(CryptFileStoreTest, WrongKekOrDamagedKeyFileIsRefused) {
  {
    auto store = open_or_die(file_spec(img_, kek_));
    ASSERT_EQ(write(*store, pattern(kUnit, 1), 0), int64_t(kUnit));
  }
  std::string other = kHexKek;
  other[5] = other[5] == '0' ? '1' : '0';
  auto wrong = open_store(file_spec(img_, make_kek(dir_, "other", other)));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), crypt::wrapped_key_path(img_) +
                               ": the key-encryption key does not unwrap the media key (wrong "
                               "key file)");

  const std::string key_path = crypt::wrapped_key_path(img_);
  std::string image;
  {
    std::ifstream in(key_path);
    image.assign(std::istreambuf_iterator<char>(in), {});
  }
  image[image.find("wrapped ") + 10] ^= 1;
  std::ofstream(key_path, std::ios::trunc) << image;
  auto damaged = open_store(file_spec(img_, kek_));
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error(), key_path + ": damaged wrapped key file (checksum mismatch)");

  // A KEK others can read is refused before anything else.
  const std::string loose = make_kek(dir_, "loose");
  ::chmod(loose.c_str(), 0644);
  auto perms = open_store(file_spec(dir_.file("other.img"), loose));
  ASSERT_FALSE(perms.ok());
  EXPECT_NE(perms.error().find("is accessible by group or others (mode 0644)"), std::string::npos)
      << perms.error();
}

TEST_F(CryptFileStoreTest, RefusesToCreateAKeyForAnImageWithData) {
  {
    auto plain = FileStore::open({"file", img_, kSize, false});
    ASSERT_TRUE(plain.ok());
    ASSERT_EQ(write(**plain, std::vector<uint8_t>(kUnit, 'p'), 0), int64_t(kUnit));
  }
  auto store = open_store(file_spec(img_, kek_));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("already holds data but its wrapped media key"), std::string::npos)
      << store.error();
  struct stat st {};
  EXPECT_NE(::stat(crypt::wrapped_key_path(img_).c_str(), &st), 0);  // nothing created
  // Read-only: a missing key cannot be created.
  auto ro = open_store(file_spec(img_, kek_, true));
  ASSERT_FALSE(ro.ok());
  EXPECT_NE(ro.error().find("a read-only LU cannot create it"), std::string::npos);
}

TEST_F(CryptFileStoreTest, AnEncryptedImageIsNotServedPlain) {
  ASSERT_NE(open_or_die(file_spec(img_, kek_)), nullptr);
  auto plain = open_store({"file", img_, kSize, false});
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().find("is encrypted"), std::string::npos) << plain.error();
  StoreSpec bad = file_spec(img_, kek_);
  bad.encryption = "rot13";
  auto unknown = open_store(bad);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), "unknown encryption 'rot13'");
}

TEST_F(CryptFileStoreTest, AtomicWritesAreEncryptedToo) {
  auto store = open_or_die(file_spec(img_, kek_));
  ASSERT_NE(store, nullptr);
  ASSERT_GT(store->max_atomic_write_bytes(), 0u);
  std::vector<uint8_t> data = pattern(8 * kUnit, 42);
  const std::vector<uint8_t> original = data;
  std::vector<iovec> iov = split(data, {100, 3000});
  Recorder w;
  store->write_atomic(nullptr, iov, 16 * kUnit, true, &w);
  ASSERT_EQ(w.result_, int64_t(data.size()));
  EXPECT_EQ(data, original);
  EXPECT_EQ(read(*store, 16 * kUnit, data.size()), original);
  EXPECT_NE(read(crypt_of(*store).inner(), 16 * kUnit, data.size()), original);
}

}  // namespace
}  // namespace stgt::backing
