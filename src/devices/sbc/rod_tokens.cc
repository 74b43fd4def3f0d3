#include "devices/sbc/rod_tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

#include "base/byte_order.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

constexpr size_t kIdOffset = 8;
constexpr size_t kCreatorOffset = 16;
constexpr size_t kBytesOffset = 48;
constexpr size_t kSecretOffset = 128;
constexpr size_t kSecretLength = 32;

// Random bytes for identifiers and secrets. RAND_bytes fails only when the generator cannot
// be seeded; then no token is made at all.
bool random_bytes(uint8_t* out, size_t n) { return RAND_bytes(out, int(n)) == 1; }

// SPC-5 6.4.5.6: the creator LU as an identification CSCD descriptor (NAA designator).
void creator_descriptor(uint8_t* out, const scsi::LogicalUnit& lu) {
  out[0] = 0xe4;
  out[1] = lu.type().peripheral_device_type;
  out[4] = 0x01;  // binary
  out[5] = 0x03;  // LU association, NAA
  out[7] = 8;
  base::store_be64(out + 8, lu.identity().naa);
  base::store_be24(out + 29, lu.block_size());
}

}  // namespace

void RodTokens::drop(size_t index) {
  Record& r = records_[index];
  if (auto lu = r.source.lock()) lu->extents().rod_tokens().remove(r.watch.get());
  records_.erase(records_.begin() + ptrdiff_t(index));
}

void RodTokens::make_room() {
  const Clock::time_point now = now_();
  for (size_t i = records_.size(); i-- > 0;) {
    const Record& r = records_[i];
    if (now - r.last_use > r.timeout || r.source.expired() ||
        r.watch->revoked.load(std::memory_order_acquire))
      drop(i);
  }
  while (records_.size() >= kMaxTokens) {
    const auto lru = std::min_element(records_.begin(), records_.end(),
                                      [](const Record& a, const Record& b) {
                                        return a.last_use < b.last_use;
                                      });
    drop(size_t(lru - records_.begin()));
  }
}

std::optional<RodToken> RodTokens::create(const std::shared_ptr<scsi::LogicalUnit>& source,
                           std::vector<RodExtent> extents, uint32_t inactivity_seconds) {
  Record r;
  uint64_t bytes = 0;
  for (const RodExtent& e : extents) bytes += e.blocks * source->block_size();
  base::store_be32(&r.token[0], kRodTypePointInTime);
  base::store_be16(&r.token[6], uint16_t(kRodTokenLength - 8));  // ROD TOKEN LENGTH
  const bool ok = random_bytes(&r.token[kIdOffset], 8) &&
                  random_bytes(&r.token[kSecretOffset], kSecretLength);
  creator_descriptor(&r.token[kCreatorOffset], *source);
  base::store_be64(&r.token[kBytesOffset + 8], bytes);  // NUMBER OF BYTES REPRESENTED (128 bits)
  if (!ok) return std::nullopt;
  r.source = source;
  r.watch = std::make_shared<scsi::RodWatch::Entry>();
  for (const RodExtent& e : extents) r.watch->ranges.push_back({e.lba, e.lba + e.blocks});
  r.extents = std::move(extents);
  r.timeout = std::chrono::seconds(inactivity_seconds);
  const std::lock_guard lock(mu_);
  r.last_use = now_();
  make_room();
  source->extents().rod_tokens().add(r.watch);
  records_.push_back(std::move(r));
  return records_.back().token;
}

RodTokens::Lookup RodTokens::find(std::span<const uint8_t> token) {
  Lookup out;
  if (token.size() != kRodTokenLength) {
    out.reason = scsi::SenseReason::kInvalidTokenLength;
    return out;
  }
  const std::lock_guard lock(mu_);
  const auto it = std::find_if(records_.begin(), records_.end(), [&](const Record& r) {
    return std::equal(r.token.begin() + kIdOffset, r.token.begin() + kIdOffset + 8,
                      token.begin() + kIdOffset);
  });
  if (it == records_.end()) {
    out.reason = scsi::SenseReason::kTokenUnknown;
    return out;
  }
  // Same identifier, other bytes: a forged or damaged token.
  if (CRYPTO_memcmp(it->token.data(), token.data(), kRodTokenLength) != 0) {
    out.reason = scsi::SenseReason::kTokenCorrupt;
    return out;
  }
  const size_t index = size_t(it - records_.begin());
  const Clock::time_point now = now_();
  if (now - it->last_use > it->timeout) {
    drop(index);
    out.reason = scsi::SenseReason::kTokenExpired;
    return out;
  }
  auto source = it->source.lock();
  if (!source || it->watch->revoked.load(std::memory_order_acquire)) {
    drop(index);
    out.reason = scsi::SenseReason::kTokenRevoked;
    return out;
  }
  it->last_use = now;
  out.use = Use{std::move(source), it->extents, it->watch};
  return out;
}

void RodTokens::erase(std::span<const uint8_t> token) {
  if (token.size() != kRodTokenLength) return;
  const std::lock_guard lock(mu_);
  for (size_t i = 0; i < records_.size(); ++i) {
    if (CRYPTO_memcmp(records_[i].token.data(), token.data(), kRodTokenLength) == 0) {
      drop(i);
      return;
    }
  }
}

size_t RodTokens::size() {
  const std::lock_guard lock(mu_);
  return records_.size();
}

RodTokens& rod_tokens() {
  static RodTokens table;  // constructed on first use, not at start-up
  return table;
}

}  // namespace stgt::devices::sbc
