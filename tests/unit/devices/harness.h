// Test harness for device handlers: an in-memory BackingStore fake that completes inline,
// a target with a disk at LUN 0, and a small CDB builder. Commands go through scsi::submit.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <cstring>
#include <memory>
#include <vector>

#include "base/buffer_pool.h"
#include "base/byte_order.h"
#include "devices/device_type.h"
#include "scsi/command.h"
#include "scsi/it_nexus.h"
#include "scsi/lun.h"
#include "scsi/scsi_layer.h"
#include "scsi/target.h"

namespace stgt::test {

// In-memory store: every 512-byte sector is mapped once written and deallocated (and
// zeroed) by unmap, so GET LBA STATUS and thin provisioning can be checked.
class MemoryStore final : public backing::BackingStore {
 public:
  static constexpr uint64_t kSector = 512;

  explicit MemoryStore(uint64_t size) : bytes(size, 0), mapped(size / kSector, false) {}
  std::string_view kind() const override { return "test-memory"; }
  uint64_t size() const override { return bytes.size(); }
  void read(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset,
            backing::StoreCompletion* done) override {
    ++reads;
    uint64_t at = offset;
    for (const iovec& v : iov) {
      std::memcpy(v.iov_base, bytes.data() + at, v.iov_len);
      at += v.iov_len;
    }
    done->store_done(int64_t(at - offset));
  }
  void write(reactor::Reactor*, std::span<const iovec> iov, uint64_t offset, bool fua,
             backing::StoreCompletion* done) override {
    if (hold_writes) {  // an in-flight write: applied and completed by release_writes()
      held.push_back({std::vector<uint8_t>(), offset, fua, done});
      for (const iovec& v : iov) {
        const auto* p = static_cast<const uint8_t*>(v.iov_base);
        held.back().data.insert(held.back().data.end(), p, p + v.iov_len);
      }
      return;
    }
    apply(iov, offset, fua, done);
  }
  // Writes and completes at once, whether or not writes are held.
  void apply(std::span<const iovec> iov, uint64_t offset, bool fua,
             backing::StoreCompletion* done) {
    ++writes;
    if (write_result != 0) {
      done->store_done(write_result);
      return;
    }
    last_fua = fua;
    uint64_t at = offset;
    for (const iovec& v : iov) {
      std::memcpy(bytes.data() + at, v.iov_base, v.iov_len);
      at += v.iov_len;
    }
    last_write_bytes = at - offset;
    written_bytes += at - offset;
    set_mapped(offset, at - offset, true);
    done->store_done(int64_t(at - offset));
  }
  void flush(reactor::Reactor*, backing::StoreCompletion* done) override {
    ++flushes;
    done->store_done(0);
  }
  bool supports_unmap() const override { return unmap_capable; }
  uint64_t max_atomic_write_bytes() const override { return atomic_bytes; }
  void unmap(reactor::Reactor*, uint64_t offset, uint64_t length,
             backing::StoreCompletion* done) override {
    ++unmaps;
    unmapped_bytes += length;
    if (unmap_result != 0) {
      done->store_done(unmap_result);
      return;
    }
    std::memset(bytes.data() + offset, 0, length);
    set_mapped(offset, length, false);
    done->store_done(0);
  }
  uint32_t physical_block_size() const override { return physical_block; }
  bool supports_write_zeroes() const override { return zero_capable; }
  // Zeros in place: the sectors stay mapped (a fully provisioned range).
  void write_zeroes(reactor::Reactor*, uint64_t offset, uint64_t length, bool fua,
                    backing::StoreCompletion* done) override {
    ++zeroes;
    zeroed_bytes += length;
    last_zero_fua = fua;
    if (zero_result != 0) {
      done->store_done(zero_result);
      return;
    }
    std::memset(bytes.data() + offset, 0, length);
    set_mapped(offset, length, true);
    done->store_done(0);
  }
  bool supports_crypto_erase() const override { return crypto_capable; }
  // A key change, as the fake sees it: every mapped sector turns into other bytes.
  void crypto_erase(reactor::Reactor*, backing::StoreCompletion* done) override {
    ++crypto_erases;
    if (crypto_erase_result != 0) {
      done->store_done(crypto_erase_result);
      return;
    }
    for (uint64_t s = 0; s < mapped.size(); ++s) {
      if (!mapped[s]) continue;
      for (uint64_t i = s * kSector; i < (s + 1) * kSector; ++i)
        bytes[i] ^= uint8_t(0x5a + i);
    }
    done->store_done(0);
  }
  Provisioning provisioning_status(uint64_t offset, uint64_t length) const override {
    const uint64_t first = offset / kSector;
    const bool state = mapped[first];
    uint64_t s = first;
    while (s < mapped.size() && mapped[s] == state && (s - first) * kSector < length) ++s;
    return {state, std::min(length, (s - first) * kSector)};
  }

  // Applies and completes the held writes, in order; writes issued meanwhile (by their
  // completions) are held again when `hold_new`, else applied at once.
  void release_writes(bool hold_new = false) {
    hold_writes = hold_new;
    std::vector<Held> pending;
    pending.swap(held);
    for (Held& h : pending) {
      const iovec v{h.data.data(), h.data.size()};
      apply(std::span<const iovec>(&v, 1), h.offset, h.fua, h.done);
    }
  }

  void set_mapped(uint64_t offset, uint64_t length, bool state) {
    for (uint64_t s = offset / kSector; s < (offset + length) / kSector; ++s) mapped[s] = state;
  }

  std::vector<uint8_t> bytes;
  std::vector<bool> mapped;
  int reads = 0;
  int writes = 0;
  int flushes = 0;
  int unmaps = 0;
  bool last_fua = false;
  uint64_t last_write_bytes = 0;
  uint64_t written_bytes = 0;
  uint64_t unmapped_bytes = 0;
  bool unmap_capable = true;
  uint64_t atomic_bytes = 0;  // max_atomic_write_bytes(): 0, no WRITE ATOMIC
  int unmap_result = 0;  // 0: unmap works; else the -errno every unmap completes with
  uint32_t physical_block = 0;  // physical_block_size(): 0, none of its own
  bool zero_capable = false;  // supports_write_zeroes()
  int zeroes = 0;
  uint64_t zeroed_bytes = 0;
  bool last_zero_fua = false;
  int zero_result = 0;  // 0: write_zeroes works; else the -errno it completes with
  bool crypto_capable = false;  // supports_crypto_erase()
  int crypto_erases = 0;
  int crypto_erase_result = 0;  // 0: crypto_erase works; else its -errno
  int write_result = 0;  // 0: writes work; else the -errno every write completes with
  // While set, writes stay in flight (not applied, not completed) until release_writes().
  bool hold_writes = false;
  struct Held {
    std::vector<uint8_t> data;
    uint64_t offset = 0;
    bool fua = false;
    backing::StoreCompletion* done = nullptr;
  };
  std::vector<Held> held;
};

// Sets `blocks` blocks of `block_size` bytes from `lba` of a store to `byte`.
inline void fill_blocks(MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte,
                        uint32_t block_size) {
  std::fill_n(s.bytes.begin() + ptrdiff_t(lba * block_size), blocks * block_size, byte);
}
// Whether every byte of those blocks is `byte`.
inline bool blocks_are(const MemoryStore& s, uint64_t lba, uint64_t blocks, uint8_t byte,
                       uint32_t block_size) {
  return std::all_of(s.bytes.begin() + ptrdiff_t(lba * block_size),
                     s.bytes.begin() + ptrdiff_t((lba + blocks) * block_size),
                     [byte](uint8_t b) { return b == byte; });
}

struct CountingOwner final : scsi::CommandOwner {
  void command_done(scsi::Command&) override { ++calls; }
  int calls = 0;
};

using Bytes = std::vector<uint8_t>;

// CDB builders (SBC-4 / SPC-5 layouts).
inline Bytes cdb10(uint8_t op, uint32_t lba, uint16_t len, uint8_t byte1 = 0) {
  Bytes c(10, 0);
  c[0] = op;
  c[1] = byte1;
  base::store_be32(&c[2], lba);
  base::store_be16(&c[7], len);
  return c;
}
inline Bytes cdb12(uint8_t op, uint32_t lba, uint32_t len, uint8_t byte1 = 0) {
  Bytes c(12, 0);
  c[0] = op;
  c[1] = byte1;
  base::store_be32(&c[2], lba);
  base::store_be32(&c[6], len);
  return c;
}
inline Bytes cdb16(uint8_t op, uint64_t lba, uint32_t len, uint8_t byte1 = 0) {
  Bytes c(16, 0);
  c[0] = op;
  c[1] = byte1;
  base::store_be64(&c[2], lba);
  base::store_be32(&c[10], len);
  return c;
}
inline Bytes cdb6(uint8_t op, uint32_t lba, uint8_t len) {
  Bytes c(6, 0);
  c[0] = op;
  base::store_be24(&c[1], lba & 0x1fffff);
  c[4] = len;
  return c;
}
// SBC-4 5.30 SANITIZE: service action and IMMED/AUSE in byte 1, PARAMETER LIST LENGTH.
inline Bytes sanitize_cdb(uint8_t action, uint16_t list_length = 0, uint8_t flags = 0) {
  Bytes c(10, 0);
  c[0] = 0x48;
  c[1] = uint8_t(flags | action);
  base::store_be16(&c[7], list_length);
  return c;
}

// OVERWRITE parameter list: byte 0 INVERT/TEST/COUNT, bytes 2..3 the pattern length.
inline Bytes overwrite_list(uint8_t byte0, const Bytes& pattern, int length_field = -1) {
  Bytes l(4 + pattern.size(), 0);
  l[0] = byte0;
  base::store_be16(&l[2], uint16_t(length_field >= 0 ? length_field : int(pattern.size())));
  std::copy(pattern.begin(), pattern.end(), l.begin() + 4);
  return l;
}

struct SenseView {
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
};

inline SenseView sense_of(const scsi::Command& cmd) {
  if (cmd.sense_length == 0) return {};
  if ((cmd.sense[0] & 0x7f) == 0x72) return {uint8_t(cmd.sense[1] & 0x0f), cmd.sense[2], cmd.sense[3]};
  return {uint8_t(cmd.sense[2] & 0x0f), cmd.sense[12], cmd.sense[13]};
}

inline Bytes data_in(const scsi::Command& cmd) {
  Bytes out(std::min<size_t>(cmd.data.size(), std::min(cmd.in_length, cmd.expected_in_length)));
  cmd.data.copy_out(0, out.data(), out.size());
  return out;
}

class Harness {
 public:
  static constexpr uint64_t kBlocks = 1024;

  explicit Harness(uint32_t block_size = 512, scsi::LuSettings settings = {},
                   bool store_can_unmap = true) {
    auto store_ptr = std::make_unique<MemoryStore>(kBlocks * block_size);
    store_ptr->unmap_capable = store_can_unmap;
    store = store_ptr.get();
    settings.block_size = block_size;
    disk = devices::make_disk(std::move(store_ptr), devices::identity_for("iqn.test:t", 0),
                              settings);
    auto t = std::make_shared<scsi::Target>("iqn.2024-01.org.stgt:test", "");
    t->add_lun(0, disk);
    t->set_controller(devices::make_controller(devices::identity_for("iqn.test:t", 0)));
    target = t;
    nexus = std::make_unique<scsi::ItNexus>(target, "iqn.init", "iqn.init,i,0x1",
                                            scsi::TargetPort{});
    while (nexus->pop_unit_attention(0) != scsi::SenseReason::kNone) {
    }
  }

  // Another I_T nexus to the same target (initiator `name`, ISID, target port), registered
  // with the target's nexus registry like a logged-in session, its UAs already reported.
  std::shared_ptr<scsi::ItNexus> add_nexus(const std::string& name, uint64_t isid,
                                           uint16_t relative_port_id = 1) {
    char port[64];
    std::snprintf(port, sizeof port, ",i,0x%012llx", static_cast<unsigned long long>(isid));
    scsi::TargetPort tp;
    tp.relative_port_id = relative_port_id;
    auto n = std::make_shared<scsi::ItNexus>(target, name, name + port, tp);
    while (n->pop_unit_attention(0) != scsi::SenseReason::kNone) {
    }
    scsi::nexus_established(n);
    return n;
  }

  std::unique_ptr<scsi::Command> run(const Bytes& cdb, uint32_t expected_in = 0,
                                     const Bytes& out = {}, uint32_t lun = 0,
                                     scsi::ItNexus* as = nullptr) {
    auto cmd = std::make_unique<scsi::Command>();
    std::copy(cdb.begin(), cdb.end(), cmd->cdb.begin());
    cmd->cdb_length = uint8_t(cdb.size());
    cmd->lun = scsi::encode_lun(lun);
    cmd->expected_in_length = expected_in;
    cmd->expected_out_length = uint32_t(out.size());
    if (!out.empty()) {
      cmd->data.allocate(pool, out.size());
      cmd->data.copy_in(0, out.data(), out.size());
    }
    cmd->nexus = as != nullptr ? as : nexus.get();
    cmd->owner = &owner;
    cmd->pool = &pool;
    const int before = owner.calls;
    scsi::submit(*cmd);
    completions = owner.calls - before;
    return cmd;
  }

  base::BufferPool pool;
  MemoryStore* store = nullptr;
  std::shared_ptr<scsi::LogicalUnit> disk;
  std::shared_ptr<scsi::Target> target;
  std::unique_ptr<scsi::ItNexus> nexus;
  CountingOwner owner;
  int completions = 0;
};

}  // namespace stgt::test
