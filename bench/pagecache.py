"""Page-cache state of LU images for the benchmarks (bench/compare, bench/count-per-io)."""

import os


def reset_file_cache(path):
    """Puts an image into the same page-cache state before every run on it, for either target.

    What a 4 KiB buffered write costs the kernel depends on the size of the page-cache folio it
    lands in (ext4_block_write_begin walks every block of the folio, under the inode lock):
    about 9 µs of stgtd's CPU per write in 4 KiB folios, 22-42 µs in the 1 MiB folios of a
    freshly written image or the 2 MiB folios of one read back after eviction (Linux 6.18,
    docs/performance.md). Left alone, the two images drift apart (this machine evicts them in
    part, writes refill them in 4 KiB folios, the previous run's writes are still being
    written back) and a file case measures their history. So: write back what the last run
    dirtied, drop the clean pages, and read the file again in 1 MiB preads without readahead
    (POSIX_FADV_RANDOM on this descriptor only), which caches it in 4 KiB folios: a state
    that eviction and refaulting by writes do not change, the same for both targets.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        offset = 0
        while chunk := os.pread(fd, 1 << 20, offset):
            offset += len(chunk)
    finally:
        os.close(fd)
