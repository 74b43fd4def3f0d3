// stgt-bench: an iSCSI load generator on libiscsi's asynchronous API.
//
// Threads: the main thread parses options, logs every session in (synchronously), then acts
// as the controller: it moves the run through its phases (ramp → measure → drain), prints
// the progress line and samples CPU at the edges of the measured window. Each of --threads
// worker threads owns a disjoint set of sessions (libiscsi contexts are not thread-safe) and
// drives them with poll() over iscsi_get_fd()/iscsi_which_events() and iscsi_service().
//
// Completions are handled inside libiscsi's callback, which resubmits the slot at once, so a
// session keeps exactly --qd commands outstanding. Nothing on the I/O path allocates apart
// from what libiscsi itself allocates per task; data buffers are per slot, latencies go into
// a per-thread fixed-size histogram.
//
// Exit codes: 0 success; 1 I/O errors, verify failures, or a session that could not be set
// up; 2 bad arguments.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "histogram.h"

namespace stgt::bench {
namespace {

// kZero: sequential WRITE SAME (16) of a zero block over each --bs unit (block zeroing, as
// VMware's eager-zeroed disks issue it); counted as writes of --bs bytes.
enum class Pattern { kRandRead, kRandWrite, kRead, kWrite, kRandRw, kZero };
enum class Phase : int { kRamp, kMeasure, kDrain };

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr uint64_t kDrainTimeoutNs = 10'000'000'000ULL;
constexpr int kMaxReported = 10;  // error / verify messages printed on stderr

struct Options {
  std::vector<std::string> urls;
  unsigned sessions = 1;
  std::string rw = "randread";
  std::optional<unsigned> mix;
  std::string bs_text = "4k";
  unsigned qd = 32;
  std::string time_text;
  std::optional<uint64_t> ios;
  std::string ramp_text = "1s";
  std::string size_text;
  bool verify = false;
  std::optional<int> pid;
  bool progress = false;
  unsigned threads = 1;
  bool header_digest = false;
  std::string initiator = "iqn.2026-11.org.stgt:bench";

  // Derived.
  Pattern pattern = Pattern::kRandRead;
  uint64_t bs = 4096;
  uint64_t time_ns = 10'000'000'000ULL;
  uint64_t ramp_ns = 1'000'000'000ULL;
  uint64_t size_limit = 0;  // 0: the whole LU
};

[[noreturn]] void usage_error(const std::string& sentence) {
  fmt::print(stderr, "stgt-bench: {}\n", sentence);
  std::exit(kExitUsage);
}

[[noreturn]] void fatal(const std::string& sentence) {
  fmt::print(stderr, "stgt-bench: {}\n", sentence);
  std::exit(kExitFailure);
}

// Verify-mode block header, at the start of every logical block written.
struct BlockHeader {
  uint64_t magic;
  uint64_t run_id;
  uint64_t lba;
  uint64_t generation;
  uint64_t checksum;  // over the whole block with this field taken as zero
};
constexpr uint64_t kMagic = 0x48434e4254475453ULL;  // "STGTBNCH"

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t block_checksum(const uint8_t* block, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t off = 0; off + 8 <= size; off += 8) {
    uint64_t w = 0;
    if (off != offsetof(BlockHeader, checksum)) std::memcpy(&w, block + off, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  return h;
}

// Per-LU state shared by the sessions that address it (verify mode only): the generation
// last written to each I/O unit, and a busy flag so that two commands in flight never
// overlap (a read racing a write could legally return either version).
struct LuState {
  uint64_t units = 0;       // I/O units of bs bytes in the tested range
  uint32_t block_size = 0;  // logical block size
  std::unique_ptr<std::atomic<uint32_t>[]> generation;
  std::unique_ptr<std::atomic<bool>[]> busy;
  unsigned sessions = 0;    // sessions opened so far, to spread sequential cursors
};

struct Worker;
struct Session;

struct Slot {
  Session* session = nullptr;
  uint8_t* buffer = nullptr;
  scsi_iovec iov{};
  uint64_t unit = 0;
  uint64_t start_ns = 0;
  uint32_t generation = 0;
  bool write = false;
};

struct Session {
  iscsi_context* ctx = nullptr;
  int lun = 0;
  std::string url;
  LuState* lu = nullptr;
  Worker* worker = nullptr;
  std::vector<Slot> slots;
  uint8_t* buffers = nullptr;
  uint64_t cursor = 0;  // next unit for sequential patterns
  int inflight = 0;
  bool dead = false;     // no new commands
  bool closing = false;  // callbacks are teardown noise: free the task, count nothing
};

struct Worker {
  std::vector<Session*> sessions;
  Histogram histogram;
  uint64_t rng = 0;
  uint64_t measured_ios = 0;
  uint64_t measured_bytes = 0;
  std::atomic<uint64_t> completed{0};  // every phase, for the progress line
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> verify_failures{0};
};

// The measured window, written once by whoever ends a phase.
struct Window {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t client_cpu_start = 0;
  uint64_t client_cpu_end = 0;
  std::optional<uint64_t> target_cpu_start;
  std::optional<uint64_t> target_cpu_end;
};

struct Run {
  Options options;
  uint64_t run_id = 0;
  std::atomic<Phase> phase{Phase::kRamp};
  std::atomic<uint64_t> measured_total{0};  // --ios mode only
  std::atomic<int> reported{0};
  Window window;
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::unique_ptr<Worker>> workers;
  std::map<std::string, std::unique_ptr<LuState>> lus;
};

Run* g_run = nullptr;

void report(const std::string& message) {
  if (g_run->reported.fetch_add(1, std::memory_order_relaxed) < kMaxReported) {
    fmt::print(stderr, "stgt-bench: {}\n", message);
  }
}

void start_window(Run& run) {
  run.window.target_cpu_start = run.options.pid ? process_cpu_us(*run.options.pid) : std::nullopt;
  run.window.client_cpu_start = self_cpu_us();
  run.window.start_ns = monotonic_ns();
  run.phase.store(Phase::kMeasure, std::memory_order_release);
}

// Called by the controller (time limit) or by the worker that completes the last counted
// I/O (--ios); only the first caller records the window's end.
void end_window(Run& run) {
  Phase expected = Phase::kMeasure;
  if (!run.phase.compare_exchange_strong(expected, Phase::kDrain)) {
    run.phase.store(Phase::kDrain);
    return;
  }
  run.window.end_ns = monotonic_ns();
  run.window.client_cpu_end = self_cpu_us();
  run.window.target_cpu_end = run.options.pid ? process_cpu_us(*run.options.pid) : std::nullopt;
}

bool is_random(Pattern p) {
  return p == Pattern::kRandRead || p == Pattern::kRandWrite || p == Pattern::kRandRw;
}

bool choose_write(Run& run, Worker& w) {
  switch (run.options.pattern) {
    case Pattern::kRandRead:
    case Pattern::kRead:
      return false;
    case Pattern::kRandWrite:
    case Pattern::kWrite:
    case Pattern::kZero:
      return true;
    case Pattern::kRandRw:
      return splitmix(w.rng) % 100 >= run.options.mix.value_or(50);
  }
  return false;
}

// Picks the next unit for a slot; in verify mode also claims it. False if every attempt
// hit a unit already in flight (only possible when the LU is tiny).
bool choose_unit(Run& run, Session& s, uint64_t& unit) {
  LuState& lu = *s.lu;
  for (int attempt = 0; attempt < 1024; ++attempt) {
    if (is_random(run.options.pattern)) {
      unit = splitmix(s.worker->rng) % lu.units;
    } else {
      unit = s.cursor;
      s.cursor = (s.cursor + 1) % lu.units;
    }
    if (!run.options.verify) return true;
    if (!lu.busy[unit].exchange(true, std::memory_order_acquire)) return true;
  }
  return false;
}

void fill_blocks(Run& run, Slot& slot, uint64_t first_lba) {
  const uint32_t block = slot.session->lu->block_size;
  for (uint64_t off = 0; off < run.options.bs; off += block) {
    uint8_t* p = slot.buffer + off;
    const uint64_t lba = first_lba + off / block;
    uint64_t state = run.run_id ^ (lba * 0x9e3779b97f4a7c15ULL) ^ slot.generation;
    for (uint64_t i = sizeof(BlockHeader); i + 8 <= block; i += 8) {
      const uint64_t w = splitmix(state);
      std::memcpy(p + i, &w, 8);
    }
    BlockHeader h{kMagic, run.run_id, lba, slot.generation, 0};
    std::memcpy(p, &h, sizeof h);
    h.checksum = block_checksum(p, block);
    std::memcpy(p, &h, sizeof h);
  }
}

// Checks every logical block of a completed read against the generation last written.
void check_blocks(Run& run, Slot& slot, uint64_t first_lba, uint32_t expected) {
  const uint32_t block = slot.session->lu->block_size;
  for (uint64_t off = 0; off < run.options.bs; off += block) {
    const uint8_t* p = slot.buffer + off;
    const uint64_t lba = first_lba + off / block;
    BlockHeader h{};
    std::memcpy(&h, p, sizeof h);
    std::string problem;
    if (h.magic != kMagic || h.run_id != run.run_id) {
      problem = "holds no block written by this run";
    } else if (h.lba != lba) {
      problem = fmt::format("holds the block written for LBA {}", h.lba);
    } else if (h.generation != expected) {
      problem = fmt::format("holds generation {} instead of {}", h.generation, expected);
    } else if (h.checksum != block_checksum(p, block)) {
      problem = "fails its checksum";
    }
    if (problem.empty()) continue;
    slot.session->worker->verify_failures.fetch_add(1, std::memory_order_relaxed);
    report(fmt::format("verify failure: {} LBA {} {}", slot.session->url, lba, problem));
  }
}

void on_complete(iscsi_context* ctx, int status, void* command_data, void* private_data);

void submit(Run& run, Slot& slot) {
  Session& s = *slot.session;
  if (s.dead || run.phase.load(std::memory_order_relaxed) == Phase::kDrain) return;
  if (!choose_unit(run, s, slot.unit)) return;
  slot.write = choose_write(run, *s.worker);
  const uint32_t block = s.lu->block_size;
  const uint64_t lba = slot.unit * (run.options.bs / block);
  const auto len = static_cast<uint32_t>(run.options.bs);
  if (slot.write && run.options.verify) {
    slot.generation = s.lu->generation[slot.unit].load(std::memory_order_relaxed) + 1;
    fill_blocks(run, slot, lba);
  }
  slot.start_ns = monotonic_ns();
  static std::array<uint8_t, 4096> zeros{};
  scsi_task* task =
      run.options.pattern == Pattern::kZero
          ? iscsi_writesame16_task(s.ctx, s.lun, lba, zeros.data(), block, len / block, 0, 0, 0,
                                   0, on_complete, &slot)
      : slot.write ? iscsi_write16_task(s.ctx, s.lun, lba, slot.buffer, len,
                                        static_cast<int>(block), 0, 0, 0, 0, 0, on_complete, &slot)
                   : iscsi_read16_iov_task(s.ctx, s.lun, lba, len, static_cast<int>(block), 0, 0,
                                           0, 0, 0, on_complete, &slot, &slot.iov, 1);
  if (task == nullptr) {
    s.worker->errors.fetch_add(1, std::memory_order_relaxed);
    report(fmt::format("{}: cannot queue a command: {}", s.url, iscsi_get_error(s.ctx)));
    if (run.options.verify) s.lu->busy[slot.unit].store(false, std::memory_order_release);
    s.dead = true;
    return;
  }
  ++s.inflight;
}

std::string describe_failure(int status, const scsi_task* task, iscsi_context* ctx) {
  if (status == SCSI_STATUS_CHECK_CONDITION && task != nullptr) {
    return fmt::format("CHECK CONDITION {} (ASC/ASCQ {})", scsi_sense_key_str(task->sense.key),
                       scsi_sense_ascq_str(task->sense.ascq));
  }
  if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED ||
      status == SCSI_STATUS_TIMEOUT) {
    return fmt::format("transport failure: {}", iscsi_get_error(ctx));
  }
  return fmt::format("SCSI status 0x{:x}", status);
}

void on_complete(iscsi_context* ctx, int status, void* command_data, void* private_data) {
  Run& run = *g_run;
  auto& slot = *static_cast<Slot*>(private_data);
  auto* task = static_cast<scsi_task*>(command_data);
  Session& s = *slot.session;
  Worker& w = *s.worker;
  if (s.closing) {
    if (task != nullptr) scsi_free_scsi_task(task);
    return;
  }
  const uint64_t now = monotonic_ns();
  --s.inflight;
  const bool good = status == SCSI_STATUS_GOOD;
  if (!good) {
    w.errors.fetch_add(1, std::memory_order_relaxed);
    report(fmt::format("{}: {} failed: {}", s.url, slot.write ? "WRITE(16)" : "READ(16)",
                       describe_failure(status, task, ctx)));
    if (status >= SCSI_STATUS_CANCELLED) s.dead = true;
  }
  if (run.options.verify) {
    const uint32_t block = s.lu->block_size;
    auto& generation = s.lu->generation[slot.unit];
    if (good && slot.write) generation.store(slot.generation, std::memory_order_relaxed);
    if (!good && slot.write) generation.store(0, std::memory_order_relaxed);  // unknown now
    const uint32_t expected = generation.load(std::memory_order_relaxed);
    if (good && !slot.write && expected != 0) {
      check_blocks(run, slot, slot.unit * (run.options.bs / block), expected);
    }
    s.lu->busy[slot.unit].store(false, std::memory_order_release);
  }
  w.completed.fetch_add(1, std::memory_order_relaxed);
  if (good && run.phase.load(std::memory_order_relaxed) == Phase::kMeasure) {
    w.histogram.record(now - slot.start_ns);
    ++w.measured_ios;
    w.measured_bytes += run.options.bs;
    if (run.options.ios &&
        run.measured_total.fetch_add(1, std::memory_order_relaxed) + 1 == *run.options.ios) {
      end_window(run);
    }
  }
  if (task != nullptr) scsi_free_scsi_task(task);
  submit(run, slot);
}

// One worker's event loop: keeps its sessions busy until the run drains.
void worker_loop(Run& run, Worker& w) {
  for (Session* s : w.sessions) {
    for (Slot& slot : s->slots) submit(run, slot);
  }
  std::vector<pollfd> fds(w.sessions.size());
  std::vector<Session*> polled(w.sessions.size());
  uint64_t drain_started = 0;
  uint64_t last_tick = monotonic_ns();
  for (;;) {
    size_t n = 0;
    int busy = 0;
    for (Session* s : w.sessions) {
      if (s->dead || s->inflight == 0) continue;
      busy += s->inflight;
      fds[n] = pollfd{iscsi_get_fd(s->ctx), static_cast<short>(iscsi_which_events(s->ctx)), 0};
      polled[n++] = s;
    }
    if (n == 0) break;  // nothing in flight: either drained or every session is dead
    const uint64_t now = monotonic_ns();
    if (run.phase.load(std::memory_order_relaxed) == Phase::kDrain) {
      if (drain_started == 0) drain_started = now;
      if (now - drain_started > kDrainTimeoutNs) {
        w.errors.fetch_add(static_cast<uint64_t>(busy), std::memory_order_relaxed);
        report(fmt::format("{} commands did not complete within 10 s of the end of the run", busy));
        for (Session* s : w.sessions) s->dead = true;
        break;
      }
    }
    const int ready = poll(fds.data(), n, 100);
    if (ready < 0 && errno != EINTR) fatal(fmt::format("poll failed: {}", std::strerror(errno)));
    const bool tick = now - last_tick > 1'000'000'000ULL;  // libiscsi's timeouts need a tick
    if (tick) last_tick = now;
    for (size_t i = 0; i < n; ++i) {
      Session& s = *polled[i];
      if (ready <= 0 && !tick) break;
      if (fds[i].revents == 0 && !tick) continue;
      if (iscsi_service(s.ctx, fds[i].revents) < 0) {
        w.errors.fetch_add(static_cast<uint64_t>(s.inflight), std::memory_order_relaxed);
        report(fmt::format("{}: connection failed: {}", s.url, iscsi_get_error(s.ctx)));
        s.dead = true;
        s.closing = true;  // callbacks still to come belong to the failed connection
      }
    }
  }
}

Pattern parse_pattern(const std::string& rw) {
  if (rw == "randread") return Pattern::kRandRead;
  if (rw == "randwrite") return Pattern::kRandWrite;
  if (rw == "read") return Pattern::kRead;
  if (rw == "write") return Pattern::kWrite;
  if (rw == "randrw") return Pattern::kRandRw;
  if (rw == "zero") return Pattern::kZero;
  usage_error(
      fmt::format("--rw must be randread, randwrite, read, write, randrw or zero, not \"{}\".", rw));
}

void derive_options(Options& o, const CLI::App& app) {
  o.pattern = parse_pattern(o.rw);
  if (o.mix && o.pattern != Pattern::kRandRw) usage_error("--mix applies only to --rw randrw.");
  if (o.mix && *o.mix > 100) usage_error("--mix is a read percentage from 0 to 100.");
  const auto bs = parse_size(o.bs_text);
  if (!bs || *bs % 512 != 0 || *bs > 16 * 1024 * 1024) {
    usage_error(fmt::format("--bs \"{}\" is not a multiple of 512 bytes up to 16m.", o.bs_text));
  }
  o.bs = *bs;
  if (o.pattern == Pattern::kZero && o.verify) usage_error("--verify does not apply to --rw zero.");
  if (o.qd == 0 || o.qd > 1024) usage_error("--qd must be between 1 and 1024.");
  if (o.sessions == 0 || o.sessions > 1024) usage_error("--sessions must be between 1 and 1024.");
  if (app.count("--time") > 0 && o.ios) usage_error("--time and --ios exclude each other.");
  if (app.count("--time") > 0) {
    const auto t = parse_duration_ns(o.time_text);
    if (!t || *t == 0) usage_error(fmt::format("--time \"{}\" is not a duration such as 10s.", o.time_text));
    o.time_ns = *t;
  }
  if (o.ios && *o.ios == 0) usage_error("--ios must be at least 1.");
  const auto ramp = parse_duration_ns(o.ramp_text);
  if (!ramp) usage_error(fmt::format("--ramp \"{}\" is not a duration such as 1s.", o.ramp_text));
  o.ramp_ns = *ramp;
  if (!o.size_text.empty()) {
    const auto size = parse_size(o.size_text);
    if (!size || *size < o.bs) usage_error("--size must be a size of at least one --bs.");
    o.size_limit = *size;
  }
  if (o.urls.empty()) usage_error("at least one --url iscsi://host:port/iqn/lun is needed.");
  const size_t total = o.urls.size() * o.sessions;
  if (o.threads == 0 || o.threads > total) {
    usage_error(fmt::format("--threads must be between 1 and the number of sessions ({}).", total));
  }
  if (o.pid && kill(*o.pid, 0) != 0 && errno == ESRCH) {
    usage_error(fmt::format("--pid {} is not a running process.", *o.pid));
  }
}

Options parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"stgt-bench: iSCSI load generator (libiscsi). Prints one JSON line of results."};
  app.add_option("--url", o.urls, "iscsi://host:port/target-iqn/lun (repeatable)")->required();
  app.add_option("--sessions", o.sessions, "Sessions per URL (default 1)");
  app.add_option("--rw", o.rw,
                 "randread|randwrite|read|write|randrw|zero (default randread; zero: WRITE SAME "
                 "(16) of zeros over each --bs, sequentially)");
  app.add_option("--mix", o.mix, "Read percentage for randrw (default 50)");
  app.add_option("--bs", o.bs_text, "Block size per I/O, e.g. 4k, 128k (default 4k)");
  app.add_option("--qd", o.qd, "Commands outstanding per session (default 32)");
  app.add_option("--time", o.time_text, "Measured duration, e.g. 10s (default 10s)");
  app.add_option("--ios", o.ios, "Measured I/O count instead of a duration");
  app.add_option("--ramp", o.ramp_text, "Warm-up excluded from the results (default 1s)");
  app.add_option("--size", o.size_text, "Use only the first SIZE bytes of each LU");
  app.add_flag("--verify", o.verify, "Stamp written blocks (LBA, generation, checksum), check reads");
  app.add_option("--pid", o.pid, "Target process id: report its CPU time per I/O");
  app.add_flag("--progress", o.progress, "Live progress line on stderr, once a second");
  app.add_option("--threads", o.threads, "Worker threads the sessions are spread over (default 1)");
  app.add_flag("--header-digest", o.header_digest, "Offer CRC32C header digests");
  app.add_option("--initiator", o.initiator, "Initiator name prefix");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    usage_error(fmt::format("{} (see --help).", e.what()));
  }
  derive_options(o, app);
  return o;
}

LuState& lu_for(Run& run, const std::string& url, uint64_t blocks, uint32_t block_size) {
  auto& slot = run.lus[url];
  if (slot) return *slot;
  const Options& o = run.options;
  if (o.bs % block_size != 0) {
    usage_error(fmt::format("--bs {} is not a multiple of the logical block size {} of {}.", o.bs,
                            block_size, url));
  }
  uint64_t bytes = blocks * block_size;
  if (o.size_limit != 0) bytes = std::min(bytes, o.size_limit);
  slot = std::make_unique<LuState>();
  slot->units = bytes / o.bs;
  slot->block_size = block_size;
  if (slot->units == 0) usage_error(fmt::format("{} is smaller than one --bs.", url));
  if (o.verify && slot->units < 4ULL * o.qd * o.sessions) {
    usage_error(fmt::format("--verify needs at least {} units of --bs on {} so that commands in flight "
                            "never overlap.", 4ULL * o.qd * o.sessions, url));
  }
  if (o.verify) {
    slot->generation = std::make_unique<std::atomic<uint32_t>[]>(slot->units);
    slot->busy = std::make_unique<std::atomic<bool>[]>(slot->units);
  }
  return *slot;
}

// Logs one session in and sizes its LU; exits on failure.
std::unique_ptr<Session> open_session(Run& run, const std::string& url, unsigned index) {
  auto s = std::make_unique<Session>();
  s->url = url;
  const std::string initiator = fmt::format("{}-{}-{}", run.options.initiator, getpid(), index);
  s->ctx = iscsi_create_context(initiator.c_str());
  if (s->ctx == nullptr) fatal("cannot create an iSCSI context.");
  iscsi_url* parsed = iscsi_parse_full_url(s->ctx, url.c_str());
  if (parsed == nullptr) usage_error(fmt::format("--url \"{}\" is invalid: {}", url, iscsi_get_error(s->ctx)));
  iscsi_set_targetname(s->ctx, parsed->target);
  iscsi_set_session_type(s->ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(s->ctx, run.options.header_digest ? ISCSI_HEADER_DIGEST_CRC32C
                                                           : ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_isid_random(s->ctx, static_cast<uint32_t>(run.run_id), index);
  iscsi_set_noautoreconnect(s->ctx, 1);
  iscsi_set_timeout(s->ctx, 60);
  s->lun = parsed->lun;
  if (iscsi_full_connect_sync(s->ctx, parsed->portal, parsed->lun) != 0) {
    fatal(fmt::format("cannot log in to {}: {}", url, iscsi_get_error(s->ctx)));
  }
  iscsi_destroy_url(parsed);
  scsi_task* cap = iscsi_readcapacity16_sync(s->ctx, s->lun);
  if (cap == nullptr || cap->status != SCSI_STATUS_GOOD) {
    fatal(fmt::format("READ CAPACITY(16) failed on {}: {}", url, iscsi_get_error(s->ctx)));
  }
  const auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(cap));
  if (rc == nullptr) fatal(fmt::format("cannot decode READ CAPACITY(16) data from {}.", url));
  s->lu = &lu_for(run, url, rc->returned_lba + 1, rc->block_length);
  scsi_free_scsi_task(cap);
  s->cursor = s->lu->units * (s->lu->sessions++) / run.options.sessions;
  return s;
}

void allocate_slots(Run& run, Session& s) {
  const size_t bytes = run.options.bs * run.options.qd;
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, bytes) != 0) fatal("cannot allocate data buffers.");
  s.buffers = static_cast<uint8_t*>(mem);
  uint64_t state = run.run_id;
  for (size_t off = 0; off + 8 <= bytes; off += 8) {
    const uint64_t w = splitmix(state);
    std::memcpy(s.buffers + off, &w, 8);
  }
  s.slots.resize(run.options.qd);
  for (size_t i = 0; i < s.slots.size(); ++i) {
    Slot& slot = s.slots[i];
    slot.session = &s;
    slot.buffer = s.buffers + i * run.options.bs;
    slot.iov = scsi_iovec{slot.buffer, run.options.bs};
  }
}

void print_progress(Run& run, uint64_t t0, uint64_t& last_ns, uint64_t& last_count) {
  uint64_t count = 0;
  uint64_t errors = 0;
  for (const auto& w : run.workers) {
    count += w->completed.load(std::memory_order_relaxed);
    errors += w->errors.load(std::memory_order_relaxed);
  }
  const uint64_t now = monotonic_ns();
  const double dt = static_cast<double>(now - last_ns) / 1e9;
  const double iops = static_cast<double>(count - last_count) / dt;
  const char* phase = run.phase.load() == Phase::kRamp ? "ramp" : "run ";
  fmt::print(stderr, "\r{} {:6.1f}s  {:9.0f} IOPS  {:8.1f} MB/s  errors {}   ", phase,
             static_cast<double>(now - t0) / 1e9, iops,
             iops * static_cast<double>(run.options.bs) / 1e6, errors);
  std::fflush(stderr);
  last_ns = now;
  last_count = count;
}

bool all_dead(const Run& run) {
  for (const auto& s : run.sessions) {
    if (!s->dead) return false;
  }
  return true;
}

// The controller: ramp, measure, then signal the drain.
void control(Run& run) {
  const Options& o = run.options;
  const uint64_t t0 = monotonic_ns();
  uint64_t last_ns = t0;
  uint64_t last_count = 0;
  uint64_t next_progress = t0 + 1'000'000'000ULL;
  if (o.ramp_ns == 0) start_window(run);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const uint64_t now = monotonic_ns();
    const Phase phase = run.phase.load();
    if (phase == Phase::kDrain) break;
    if (all_dead(run)) {
      if (phase == Phase::kRamp) start_window(run);
      end_window(run);
      break;
    }
    if (phase == Phase::kRamp && now - t0 >= o.ramp_ns) start_window(run);
    if (phase == Phase::kMeasure && !o.ios && now - run.window.start_ns >= o.time_ns) {
      end_window(run);
    }
    if (o.progress && now >= next_progress) {
      print_progress(run, t0, last_ns, last_count);
      next_progress += 1'000'000'000ULL;
    }
  }
  if (o.progress) fmt::print(stderr, "\n");
}

nlohmann::ordered_json results(Run& run) {
  Histogram merged;
  uint64_t ios = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  uint64_t verify_failures = 0;
  for (const auto& w : run.workers) {
    merged.merge(w->histogram);
    ios += w->measured_ios;
    bytes += w->measured_bytes;
    errors += w->errors.load();
    verify_failures += w->verify_failures.load();
  }
  const Window& win = run.window;
  const double seconds = static_cast<double>(win.end_ns - win.start_ns) / 1e9;
  const auto per_io = [ios](uint64_t us) -> nlohmann::ordered_json {
    if (ios == 0) return nullptr;
    return std::round(static_cast<double>(us) / static_cast<double>(ios) * 100.0) / 100.0;
  };
  nlohmann::ordered_json target_cpu = nullptr;
  if (win.target_cpu_start && win.target_cpu_end) {
    target_cpu = per_io(*win.target_cpu_end - *win.target_cpu_start);
  }
  const Options& o = run.options;
  return nlohmann::ordered_json{
      {"rw", o.rw},
      {"bs", o.bs},
      {"qd", o.qd},
      {"sessions", run.sessions.size()},
      {"seconds", std::round(seconds * 1000.0) / 1000.0},
      {"ios", ios},
      {"iops", round1(seconds > 0 ? static_cast<double>(ios) / seconds : 0.0)},
      {"mbps", round1(seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0)},
      {"lat_us", latency_json(merged)},
      {"target_cpu_us_per_io", target_cpu},
      {"client_cpu_us_per_io", per_io(win.client_cpu_end - win.client_cpu_start)},
      {"errors", errors},
      {"verify_failures", verify_failures}};
}

int run_main(int argc, char** argv) {
  Run run;
  g_run = &run;
  run.options = parse_options(argc, argv);
  run.run_id = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  const Options& o = run.options;
  unsigned index = 0;
  for (const auto& url : o.urls) {
    for (unsigned i = 0; i < o.sessions; ++i) run.sessions.push_back(open_session(run, url, index++));
  }
  for (unsigned t = 0; t < o.threads; ++t) {
    run.workers.push_back(std::make_unique<Worker>());
    run.workers.back()->rng = run.run_id + t * 0x632be59bd9b4e019ULL;
  }
  for (size_t i = 0; i < run.sessions.size(); ++i) {
    Session& s = *run.sessions[i];
    s.worker = run.workers[i % o.threads].get();
    s.worker->sessions.push_back(&s);
    allocate_slots(run, s);
  }
  std::vector<std::thread> threads;
  for (auto& w : run.workers) threads.emplace_back([&run, &w] { worker_loop(run, *w); });
  control(run);
  for (auto& t : threads) t.join();
  const auto json = results(run);
  fmt::print("{}\n", json.dump());
  std::fflush(stdout);
  for (auto& s : run.sessions) {
    if (!s->dead) iscsi_logout_sync(s->ctx);
    s->closing = true;
    iscsi_destroy_context(s->ctx);
    std::free(s->buffers);
  }
  const bool failed = json["errors"].get<uint64_t>() > 0 || json["verify_failures"].get<uint64_t>() > 0;
  return failed ? kExitFailure : 0;
}

}  // namespace
}  // namespace stgt::bench

int main(int argc, char** argv) { return stgt::bench::run_main(argc, argv); }
