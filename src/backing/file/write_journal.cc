#include "backing/file/write_journal.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/byte_order.h"
#include "base/crc32c.h"
#include "reactor/blocking_io.h"

namespace stgt::backing {
namespace {

// Header field offsets (write_journal.h).
constexpr size_t kMagicAt = 0;
constexpr size_t kVersionAt = 8;
constexpr size_t kLengthAt = 12;
constexpr size_t kSeqAt = 16;
constexpr size_t kOffsetAt = 24;
constexpr size_t kDataCrcAt = 32;
constexpr size_t kHeaderCrcAt = 36;
constexpr size_t kHeaderUsed = 40;

using Header = std::array<uint8_t, WriteJournal::kHeaderBytes>;

uint32_t iov_crc(std::span<const iovec> iov) {
  uint32_t state = base::crc32c_begin();
  for (const iovec& v : iov)
    state = base::crc32c_update(state, v.iov_base, v.iov_len);
  return base::crc32c_finish(state);
}

void encode(Header& h, uint64_t seq, uint64_t offset, uint32_t length, uint32_t data_crc) {
  h.fill(0);
  base::store_be64(h.data() + kMagicAt, WriteJournal::kMagic);
  base::store_be32(h.data() + kVersionAt, WriteJournal::kVersion);
  base::store_be32(h.data() + kLengthAt, length);
  base::store_be64(h.data() + kSeqAt, seq);
  base::store_be64(h.data() + kOffsetAt, offset);
  base::store_be32(h.data() + kDataCrcAt, data_crc);
  base::store_be32(h.data() + kHeaderCrcAt, base::crc32c(h.data(), kHeaderCrcAt));
}

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

int64_t pread_full(int fd, void* buf, size_t len, uint64_t offset) {
  iovec v{buf, len};
  const int64_t n = reactor::blocking_readv(fd, &v, 1, offset);
  if (n < 0) return n;
  if (uint64_t(n) != len) std::memset(static_cast<uint8_t*>(buf) + n, 0, len - size_t(n));
  return 0;
}

enum class SlotState : uint8_t { kFree, kLive, kTorn };

// Reads one slot; for a live entry fills `e` and, when `data` is given, the data.
base::Result<SlotState, std::string> read_slot(int fd, const WriteJournal::Layout& layout,
                                               uint32_t slot, WriteJournal::Entry* e,
                                               std::vector<uint8_t>* data) {
  Header h{};
  const uint64_t at = uint64_t(slot) * layout.slot_stride();
  if (const int64_t rc = pread_full(fd, h.data(), kHeaderUsed, at); rc < 0) {
    return base::unexpected(fmt::format("cannot read slot {}: {}", slot, std::strerror(int(-rc))));
  }
  if (all_zero(h.data(), kHeaderUsed)) return SlotState::kFree;
  const bool header_ok =
      base::load_be64(h.data() + kMagicAt) == WriteJournal::kMagic &&
      base::load_be32(h.data() + kVersionAt) == WriteJournal::kVersion &&
      base::load_be32(h.data() + kHeaderCrcAt) == base::crc32c(h.data(), kHeaderCrcAt);
  const uint32_t length = base::load_be32(h.data() + kLengthAt);
  if (!header_ok || length == 0 || length > layout.slot_bytes) return SlotState::kTorn;
  std::vector<uint8_t> buf(length);
  if (const int64_t rc = pread_full(fd, buf.data(), length, at + WriteJournal::kHeaderBytes);
      rc < 0) {
    return base::unexpected(fmt::format("cannot read slot {}: {}", slot, std::strerror(int(-rc))));
  }
  if (base::crc32c(buf.data(), length) != base::load_be32(h.data() + kDataCrcAt)) {
    return SlotState::kTorn;
  }
  *e = {.slot = slot,
        .seq = base::load_be64(h.data() + kSeqAt),
        .offset = base::load_be64(h.data() + kOffsetAt),
        .length = length};
  if (data != nullptr) *data = std::move(buf);
  return SlotState::kLive;
}

// Makes a newly created journal's directory entry durable: a journal that vanishes in a
// crash would take the entry the crash interrupted with it.
void sync_directory(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  base::UniqueFd d(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) ::fsync(d.get());
}

base::Result<base::UniqueFd, std::string> open_file(const std::string& path,
                                                    const WriteJournal::Layout& layout) {
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.valid()) return fd;
  if (errno != ENOENT) {
    return base::unexpected(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return base::unexpected(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  // Allocated up front where the file system can (so an entry's write needs no allocation),
  // sparse where it cannot.
  if (::fallocate(fd.get(), 0, 0, off_t(layout.file_bytes())) != 0 &&
      ::ftruncate(fd.get(), off_t(layout.file_bytes())) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return base::unexpected(fmt::format("cannot size {}: {}", path, std::strerror(err)));
  }
  if (::fsync(fd.get()) != 0) {
    return base::unexpected(fmt::format("cannot sync {}: {}", path, std::strerror(errno)));
  }
  sync_directory(path);
  return fd;
}

}  // namespace

base::Result<WriteJournal::ScanResult, std::string> WriteJournal::scan(int journal_fd,
                                                                       uint64_t image_size,
                                                                       Layout layout) {
  ScanResult out;
  for (uint32_t slot = 0; slot < layout.slots; ++slot) {
    Entry e;
    auto state = read_slot(journal_fd, layout, slot, &e, nullptr);
    if (!state) return base::unexpected(state.error());
    if (*state == SlotState::kTorn) ++out.torn;
    if (*state != SlotState::kLive) continue;
    if (e.offset > image_size || e.length > image_size - e.offset) {
      return base::unexpected(fmt::format(
          "slot {} holds a write of {} bytes at byte {}, past the end of the {}-byte image", slot,
          e.length, e.offset, image_size));
    }
    out.live.push_back(e);
  }
  std::sort(out.live.begin(), out.live.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  return out;
}

base::Result<std::unique_ptr<WriteJournal>, std::string> WriteJournal::open(
    const std::string& path, int image_fd, uint64_t image_size, Layout layout, OpenStats* stats) {
  auto fd = open_file(path, layout);
  if (!fd) return base::unexpected(fd.error());
  auto found = scan(fd->get(), image_size, layout);
  if (!found) return base::unexpected(fmt::format("journal {}: {}", path, found.error()));
  uint64_t next_seq = 1;
  std::vector<uint8_t> data;
  for (const Entry& e : found->live) {
    Entry again;
    auto state = read_slot(fd->get(), layout, e.slot, &again, &data);
    if (!state || *state != SlotState::kLive) {
      return base::unexpected(
          fmt::format("journal {}: slot {} changed while replaying", path, e.slot));
    }
    iovec v{data.data(), data.size()};
    const int64_t rc = reactor::blocking_writev(image_fd, &v, 1, e.offset, false);
    if (rc < 0 || uint64_t(rc) != e.length) {
      return base::unexpected(fmt::format("journal {}: cannot replay slot {}: {}", path, e.slot,
                                          std::strerror(rc < 0 ? int(-rc) : EIO)));
    }
    next_seq = std::max(next_seq, e.seq + 1);
  }
  if (!found->live.empty()) {
    if (const int64_t rc = reactor::blocking_fdatasync(image_fd); rc < 0) {
      return base::unexpected(fmt::format("journal {}: cannot sync the replayed image: {}", path,
                                          std::strerror(int(-rc))));
    }
  }
  // Only now, with the replayed data durable, are the entries (and torn slots) cleared.
  auto journal = std::unique_ptr<WriteJournal>(new WriteJournal(std::move(*fd), layout, next_seq));
  if (!found->live.empty() || found->torn != 0) {
    for (uint32_t slot = 0; slot < layout.slots; ++slot) {
      if (const int64_t rc = journal->retire(slot); rc < 0) {
        return base::unexpected(fmt::format("journal {}: cannot clear slot {}: {}", path, slot,
                                            std::strerror(int(-rc))));
      }
    }
  }
  if (stats != nullptr)
    *stats = {.replayed = uint32_t(found->live.size()), .discarded = found->torn};
  return journal;
}

int64_t WriteJournal::append(std::span<const iovec> iov, uint64_t offset, uint64_t length,
                             uint32_t* slot) {
  if (length == 0 || length > layout_.slot_bytes || iov.size() + 1 > IOV_MAX) return -EINVAL;
  const uint64_t seq = next_seq_++;
  *slot = uint32_t(seq % layout_.slots);
  Header h;
  encode(h, seq, offset, uint32_t(length), iov_crc(iov));
  std::vector<iovec> all;
  all.reserve(iov.size() + 1);
  all.push_back({h.data(), h.size()});
  all.insert(all.end(), iov.begin(), iov.end());
  const int64_t rc = reactor::blocking_writev(fd_.get(), all.data(), int(all.size()),
                                              uint64_t(*slot) * layout_.slot_stride(), true);
  if (rc < 0) return rc;
  return uint64_t(rc) == h.size() + length ? 0 : -EIO;
}

int64_t WriteJournal::retire(uint32_t slot) {
  static const Header kZero{};
  iovec v{const_cast<uint8_t*>(kZero.data()), kHeaderUsed};
  const int64_t rc =
      reactor::blocking_writev(fd_.get(), &v, 1, uint64_t(slot) * layout_.slot_stride(), true);
  if (rc < 0) return rc;
  return rc == int64_t(kHeaderUsed) ? 0 : -EIO;
}

int64_t WriteJournal::write(int image_fd, std::span<const iovec> iov, uint64_t offset,
                            uint64_t length) {
  if (stuck()) return -EIO;
  uint32_t slot = 0;
  if (const int64_t rc = append(iov, offset, length, &slot); rc < 0) return rc;
  // From here the write is committed: a crash replays it in place at the next open.
  auto in_place = [&] {
    int64_t rc = reactor::blocking_writev(image_fd, iov.data(), int(iov.size()), offset, false);
    if (rc >= 0 && uint64_t(rc) != length) rc = -EIO;
    if (rc >= 0) rc = reactor::blocking_fdatasync(image_fd);
    return rc;
  };
  int64_t rc = in_place();
  if (rc < 0) rc = in_place();
  if (rc < 0) {
    // The entry stays live and the next open writes it again; nothing may be written to the
    // image before that, or the replay would undo it.
    stuck_.store(true, std::memory_order_release);
    return rc;
  }
  return retire(slot);
}

}  // namespace stgt::backing
