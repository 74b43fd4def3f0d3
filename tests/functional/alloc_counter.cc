// LD_PRELOAD heap-call counter for the allocation test (tests/functional/allocation_test.cc).
//
// Wraps malloc, calloc, realloc, free, memalign, aligned_alloc, posix_memalign, valloc and pvalloc
// by forwarding to glibc's exported __libc_* entry points (no dlsym, so no bootstrap recursion).
// operator new/delete are not wrapped separately: libstdc++'s operator new calls malloc and
// operator delete calls free through the PLT, so they are counted here exactly once.
//
// Counts live in relaxed atomics. On SIGUSR2 the handler writes one line
//   "seq S allocs A frees F\n"
// to $STGT_ALLOC_COUNTER_OUT.tmp and renames it to $STGT_ALLOC_COUNTER_OUT; only
// async-signal-safe calls (open, write, close, rename) and a hand-rolled number formatter run in
// the handler. The reader waits for `seq` to change. Not for use under AddressSanitizer (ASan
// owns malloc; the test skips itself there).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void __libc_free(void* ptr);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace {

std::atomic<uint64_t> g_allocs{0};
std::atomic<uint64_t> g_frees{0};
std::atomic<uint64_t> g_seq{0};
char g_path[512];
char g_tmp_path[520];

void count_alloc() {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
}

// Appends the decimal form of `value` at `out`; returns the new end. Async-signal-safe.
char* append_number(char* out, uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0)
    *out++ = digits[--n];
  return out;
}

char* append_text(char* out, const char* text) {
  while (*text != '\0')
    *out++ = *text++;
  return out;
}

void on_report_signal(int) {
  const int saved_errno = errno;
  char line[128];
  char* p = line;
  p = append_text(p, "seq ");
  p = append_number(p, g_seq.fetch_add(1, std::memory_order_relaxed) + 1);
  p = append_text(p, " allocs ");
  p = append_number(p, g_allocs.load(std::memory_order_relaxed));
  p = append_text(p, " frees ");
  p = append_number(p, g_frees.load(std::memory_order_relaxed));
  p = append_text(p, "\n");
  const int fd = open(g_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    const ssize_t written = write(fd, line, static_cast<size_t>(p - line));
    close(fd);
    if (written == p - line) rename(g_tmp_path, g_path);
  }
  errno = saved_errno;
}

__attribute__((constructor)) void install_report_handler() {
  const char* out = getenv("STGT_ALLOC_COUNTER_OUT");
  if (out == nullptr || strlen(out) + 5 > sizeof(g_path)) return;
  memcpy(g_path, out, strlen(out) + 1);
  memcpy(g_tmp_path, out, strlen(out));
  memcpy(g_tmp_path + strlen(out), ".tmp", 5);
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = on_report_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);
}

bool valid_alignment(size_t alignment) {
  return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

}  // namespace

extern "C" {

void* malloc(size_t size) noexcept {
  count_alloc();
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) noexcept {
  count_alloc();
  return __libc_calloc(count, size);
}

void* realloc(void* ptr, size_t size) noexcept {
  count_alloc();
  return __libc_realloc(ptr, size);
}

void free(void* ptr) noexcept {
  if (ptr != nullptr) g_frees.fetch_add(1, std::memory_order_relaxed);
  __libc_free(ptr);
}

void* memalign(size_t alignment, size_t size) noexcept {
  count_alloc();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  count_alloc();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  count_alloc();
  if (!valid_alignment(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(size_t size) noexcept {
  count_alloc();
  return __libc_memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), size);
}

void* pvalloc(size_t size) noexcept {
  count_alloc();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return __libc_memalign(page, (size + page - 1) / page * page);
}

}  // extern "C"
