// Crash consistency: stgtd serves three file LUs to several libiscsi sessions that write
// self-describing blocks (verified_block.h) and record every write the target acknowledged as
// durable:
//   - a FUA writer (WRITE(16) FUA=1) on LUN 1;
//   - a cached writer on LUN 1 whose writes become durable when a later SYNCHRONIZE CACHE
//     completes;
//   - a writer on LUN 2, configured write_cache = false (WCE=0: every write durable);
//   - a writer on LUN 3 that turns WCE off with MODE SELECT after each login.
// Meanwhile one session re-registers a persistent-reservation key with APTPL=1 on LUN 2 and a
// control-socket client renames the target (each change is written back to the config file).
// stgtd is killed with SIGKILL at a random moment and restarted on the same files (with the
// io_uring and the epoll backend in turn); then every
// block must hold its last durable generation or a later one that was in flight (never older,
// never torn, never another LBA's), the config file must parse and hold an acknowledged or the
// in-flight alias, and the APTPL file must restore the acknowledged or the in-flight key.
//
// A SIGKILL keeps the kernel's page cache: this proves that nothing acknowledged as durable is
// still only in the daemon's memory, and that the files it rewrites are never torn; it cannot
// prove that data reached the medium (that is RWF_DSYNC / fdatasync in the file store).
//
// The seed is printed; STGT_FAULT_SEED=N replays the kill points, STGT_CRASH_ROUNDS=N changes
// the number of kills (default 100).
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "control_client.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"
#include "verified_block.h"

namespace stgt::functional {
namespace {

using faults::kBlock;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr uint64_t kLunBytes = 8ull << 20;
constexpr uint64_t kRangeBlocks = 1024;  // each writer owns 1024 blocks of its LU
constexpr int kDefaultRounds = 100;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

// Sends one CDB (again after a unit attention, which means it did not run); the task's
// status, or -1 when the command got no answer (connection gone).
int scsi_command(iscsi_context* ctx, int lun, std::vector<uint8_t> cdb,
                 std::vector<uint8_t> out = {}, uint32_t in_length = 0,
                 std::vector<uint8_t>* in = nullptr) {
  const int dir = !out.empty() ? SCSI_XFER_WRITE : in_length > 0 ? SCSI_XFER_READ : SCSI_XFER_NONE;
  int status = -1;
  for (int attempt = 0; attempt < 4; ++attempt) {
    scsi_task* task = scsi_create_task(int(cdb.size()), cdb.data(), dir,
                                       int(out.empty() ? in_length : out.size()));
    if (task == nullptr) return -1;
    iscsi_data d{out.size(), out.data()};
    if (iscsi_scsi_command_sync(ctx, lun, task, out.empty() ? nullptr : &d) == nullptr) {
      scsi_free_scsi_task(task);
      return -1;
    }
    status = task->status;
    const bool ua = status == SCSI_STATUS_CHECK_CONDITION &&
                    task->sense.key == SCSI_SENSE_UNIT_ATTENTION;
    if (in != nullptr) in->assign(task->datain.data, task->datain.data + task->datain.size);
    scsi_free_scsi_task(task);
    if (!ua) break;
  }
  return status;
}

// A libiscsi session that never reconnects by itself (a reconnect to the restarted daemon
// would replay a command the test counted as lost) and has its unit attentions cleared.
std::unique_ptr<IscsiSession> open_session(const std::string& portal, const std::string& name,
                                           int lun, uint32_t isid_qualifier = 0) {
  auto s = std::make_unique<IscsiSession>("iqn.2026-11.org.stgt.test:" + name);
  iscsi_set_noautoreconnect(s->get(), 1);
  if (isid_qualifier != 0) iscsi_set_isid_oui(s->get(), 0x00a0b0, isid_qualifier);
  if (!s->login(portal, kTargetIqn, uint32_t(lun))) return nullptr;
  for (int i = 0; i < 8; ++i) {
    if (scsi_command(s->get(), lun, {0, 0, 0, 0, 0, 0}) == SCSI_STATUS_GOOD) return s;
  }
  return nullptr;
}

// ---- block writers ----

enum class Durability : uint8_t { kFua, kSyncCache, kWceOffByConfig, kWceOffByModeSelect };

// What the test knows about one writer's blocks across every kill.
struct WriterState {
  Durability how;
  int lun;
  uint64_t first_lba;
  uint64_t next_gen = 1;
  std::vector<uint64_t> durable = std::vector<uint64_t>(kRangeBlocks, 0);  // acked as durable
  std::vector<uint64_t> issued = std::vector<uint64_t>(kRangeBlocks, 0);   // highest ever sent
  uint64_t durable_writes = 0;
  std::string setup_failed;  // set by the writer thread when it could not start
};

// WCE of the caching mode page (SBC-4 6.5.5) as MODE SENSE(6) reports it; nullopt on failure.
bool unit_attention(const scsi_task* t) {
  return t != nullptr && t->status == SCSI_STATUS_CHECK_CONDITION &&
         t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
}

std::optional<bool> write_cache_enabled(iscsi_context* ctx, int lun) {
  scsi_task* sense = nullptr;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (sense != nullptr) scsi_free_scsi_task(sense);
    sense = iscsi_modesense6_sync(ctx, lun, 1, SCSI_MODESENSE_PC_CURRENT, SCSI_MODEPAGE_CACHING,
                                  0, 255);
    if (!unit_attention(sense)) break;
  }
  if (sense == nullptr) return std::nullopt;
  std::optional<bool> wce;
  if (sense->status == SCSI_STATUS_GOOD) {
    auto* ms = static_cast<scsi_mode_sense*>(scsi_datain_unmarshall(sense));
    scsi_mode_page* page =
        ms != nullptr ? scsi_modesense_get_page(ms, SCSI_MODEPAGE_CACHING, 0) : nullptr;
    if (page != nullptr) wce = page->caching.wce != 0;
  }
  scsi_free_scsi_task(sense);
  return wce;
}

// MODE SENSE(6) the caching page, clear WCE, MODE SELECT(6) it back, and read it again.
bool turn_write_cache_off(iscsi_context* ctx, int lun) {
  scsi_task* sense = iscsi_modesense6_sync(ctx, lun, 1, SCSI_MODESENSE_PC_CURRENT,
                                           SCSI_MODEPAGE_CACHING, 0, 255);
  if (sense == nullptr) return false;
  bool ok = false;
  if (sense->status == SCSI_STATUS_GOOD) {
    auto* ms = static_cast<scsi_mode_sense*>(scsi_datain_unmarshall(sense));
    scsi_mode_page* page =
        ms != nullptr ? scsi_modesense_get_page(ms, SCSI_MODEPAGE_CACHING, 0) : nullptr;
    if (page != nullptr) {
      page->caching.wce = 0;
      scsi_task* select = iscsi_modeselect6_sync(ctx, lun, 1, 0, page);
      ok = select != nullptr && select->status == SCSI_STATUS_GOOD;
      if (select != nullptr) scsi_free_scsi_task(select);
    }
  }
  scsi_free_scsi_task(sense);
  return ok && write_cache_enabled(ctx, lun) == false;
}

// Runs until the daemon dies under it (or `stop`), recording what was acknowledged.
void run_writer(WriterState& w, iscsi_context* ctx, uint64_t seed, const std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  if (w.how == Durability::kWceOffByModeSelect && !turn_write_cache_off(ctx, w.lun)) {
    w.setup_failed = "MODE SELECT did not turn WCE off";
    return;
  }
  if (w.how == Durability::kWceOffByConfig && write_cache_enabled(ctx, w.lun) != false) {
    w.setup_failed = "write_cache = false in the config, but WCE is not 0";
    return;
  }
  std::vector<std::pair<uint64_t, uint32_t>> unsynced;  // acked, not yet durable: lba, count
  std::vector<uint64_t> unsynced_gen;
  while (!stop) {
    const uint32_t count = 1 + uint32_t(rng() % 32);
    const uint64_t at = rng() % (kRangeBlocks - count);
    const uint64_t gen = w.next_gen++;
    for (uint32_t i = 0; i < count; ++i) w.issued[at + i] = gen;
    auto data = faults::make_blocks(w.first_lba + at, count, gen);
    const int fua = w.how == Durability::kFua ? 1 : 0;
    scsi_task* t = nullptr;
    for (int attempt = 0; attempt < 4; ++attempt) {
      // A unit attention (the control thread's changes raise some) means not executed.
      if (t != nullptr) scsi_free_scsi_task(t);
      t = iscsi_write16_sync(ctx, w.lun, w.first_lba + at, data.data(), uint32_t(data.size()),
                             kBlock, 0, 0, fua, 0, 0);
      if (!unit_attention(t)) break;
    }
    const bool good = t != nullptr && t->status == SCSI_STATUS_GOOD;
    if (t != nullptr) scsi_free_scsi_task(t);
    if (!good) return;
    if (w.how != Durability::kSyncCache) {
      for (uint32_t i = 0; i < count; ++i) w.durable[at + i] = gen;
      ++w.durable_writes;
      continue;
    }
    unsynced.emplace_back(at, count);
    unsynced_gen.push_back(gen);
    if (rng() % 4 != 0) continue;
    // SBC-4 5.26: once SYNCHRONIZE CACHE completes, every write acknowledged before it is
    // durable.
    scsi_task* sync = nullptr;
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (sync != nullptr) scsi_free_scsi_task(sync);
      sync = iscsi_synchronizecache10_sync(ctx, w.lun, 0, 0, 0, 0);
      if (!unit_attention(sync)) break;
    }
    const bool synced = sync != nullptr && sync->status == SCSI_STATUS_GOOD;
    if (sync != nullptr) scsi_free_scsi_task(sync);
    if (!synced) return;
    for (size_t k = 0; k < unsynced.size(); ++k) {
      for (uint32_t i = 0; i < unsynced[k].second; ++i) {
        w.durable[unsynced[k].first + i] = unsynced_gen[k];
      }
      ++w.durable_writes;
    }
    unsynced.clear();
    unsynced_gen.clear();
  }
}

testing::AssertionResult check_blocks(const WriterState& w, const std::vector<uint8_t>& data) {
  for (uint64_t i = 0; i < kRangeBlocks; ++i) {
    const uint64_t lba = w.first_lba + i;
    const auto img = faults::inspect_block({data.data() + i * kBlock, kBlock});
    if (img.kind == faults::BlockImage::Kind::kDamaged) {
      return testing::AssertionFailure() << "LUN " << w.lun << " LBA " << lba << " is torn";
    }
    if (img.kind == faults::BlockImage::Kind::kZero) {
      if (w.durable[i] != 0) {
        return testing::AssertionFailure() << "LUN " << w.lun << " LBA " << lba
                                           << " lost durable generation " << w.durable[i];
      }
      continue;
    }
    if (img.lba != lba) {
      return testing::AssertionFailure() << "LUN " << w.lun << " LBA " << lba
                                         << " holds LBA " << img.lba << "'s data";
    }
    if (img.gen < w.durable[i] || img.gen > w.issued[i]) {
      return testing::AssertionFailure()
             << "LUN " << w.lun << " LBA " << lba << " holds generation " << img.gen
             << "; durable " << w.durable[i] << ", highest sent " << w.issued[i];
    }
  }
  return testing::AssertionSuccess();
}

std::string alias_for(uint64_t n) { return "crash-" + std::to_string(n); }

// ---- the test ----

class CrashConsistencyTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    seed_ = env_or("STGT_FAULT_SEED", std::random_device{}());
    std::printf("crash: seed %llu (STGT_FAULT_SEED=%llu replays it)\n",
                static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
    std::fflush(stdout);
    rng_.seed(seed_);
    writers_ = {{.how = Durability::kFua, .lun = 1, .first_lba = 0},
                {.how = Durability::kSyncCache, .lun = 1, .first_lba = 4096},
                {.how = Durability::kWceOffByConfig, .lun = 2, .first_lba = 0},
                {.how = Durability::kWceOffByModeSelect, .lun = 3, .first_lba = 0}};
  }

  std::string var_dir() const { return stgtd_.dir() + "/var"; }

  // Starts alternate between the io_uring and the epoll backend (file I/O on its thread pool).
  testing::AssertionResult start_daemon() {
    auto ok = stgtd_.start(
        {"--var-dir", var_dir(), "--io-backend", starts_ % 2 == 0 ? "uring" : "epoll"});
    if (!ok) return ok;
    ++starts_;
    return stgtd_.wait_for_log("stgtd ready", starts_);
  }

  // Runs the workload until a random kill; every thread has ended when this returns.
  testing::AssertionResult run_until_killed(int round);
  testing::AssertionResult verify_after_restart(int round);

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  size_t starts_ = 0;
  std::vector<WriterState> writers_;
  uint64_t pr_acked_ = 0, pr_sent_ = 0;       // APTPL key: last acknowledged, last sent
  uint64_t alias_acked_ = 0, alias_sent_ = 0;  // target alias generation, likewise
  uint64_t pr_changes_ = 0, config_changes_ = 0;
};

testing::AssertionResult CrashConsistencyTest::run_until_killed(int round) {
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<IscsiSession>> sessions;
  for (size_t i = 0; i < writers_.size(); ++i) {
    auto s = open_session(stgtd_.portal(), "writer" + std::to_string(i), writers_[i].lun);
    if (s == nullptr) return testing::AssertionFailure() << "writer " << i << " cannot log in";
    sessions.push_back(std::move(s));
  }
  auto pr = open_session(stgtd_.portal(), "registrant", 2, 7);
  if (pr == nullptr) return testing::AssertionFailure() << "the registrant cannot log in";
  ControlClient control;
  auto ok = control.connect(stgtd_.control_socket());
  if (!ok) return ok;

  std::vector<std::thread> threads;
  for (size_t i = 0; i < writers_.size(); ++i) {
    threads.emplace_back(run_writer, std::ref(writers_[i]), sessions[i]->get(), rng_(),
                         std::cref(stop));
  }
  // PERSISTENT RESERVE OUT, REGISTER AND IGNORE EXISTING KEY (SPC-5 6.17.2) with APTPL=1:
  // each key replaces the last, and each change is written to the APTPL file before its
  // answer.
  threads.emplace_back([&] {
    while (!stop) {
      const uint64_t key = ++pr_sent_;
      std::vector<uint8_t> list(24, 0);
      for (int b = 0; b < 8; ++b) list[8 + size_t(b)] = uint8_t(key >> (56 - 8 * b));
      list[20] = 0x01;  // APTPL
      if (scsi_command(pr->get(), 2, {0x5f, 0x06, 0, 0, 0, 0, 0, 0, 24, 0}, list) !=
          SCSI_STATUS_GOOD) {
        return;
      }
      pr_acked_ = key;
      ++pr_changes_;
    }
  });
  threads.emplace_back([&] {
    while (!stop) {
      const uint64_t n = ++alias_sent_;
      const std::string reply = control.call(
          R"({"jsonrpc":"2.0","id":1,"method":"target.set","params":{"target":")" +
          std::string(kTargetIqn) + R"(","alias":")" + alias_for(n) + R"("}})");
      if (reply.find("\"result\"") == std::string::npos) return;
      alias_acked_ = n;
      ++config_changes_;
    }
  });
  std::this_thread::sleep_for(Millis(100 + rng_() % 500));
  ok = stgtd_.kill_hard();
  stop = true;
  for (std::thread& t : threads) t.join();
  if (!ok) return ok << " (round " << round << ")";
  for (const WriterState& w : writers_) {
    if (!w.setup_failed.empty()) {
      return testing::AssertionFailure() << "LUN " << w.lun << ": " << w.setup_failed;
    }
  }
  for (auto& s : sessions) s->abandon();
  pr->abandon();
  return testing::AssertionSuccess();
}

testing::AssertionResult CrashConsistencyTest::verify_after_restart(int round) {
  // The configuration file stgtd rewrote: whole, and with an alias it acknowledged or the
  // one in flight at the kill.
  auto cfg = config::load_config_file(stgtd_.config_path());
  if (!cfg) {
    return testing::AssertionFailure()
           << "round " << round << ": config file torn: " << cfg.error().to_string();
  }
  const std::string alias = cfg->targets.at(0).alias;
  const bool alias_ok = alias == alias_for(alias_acked_) ||
                        (alias_sent_ > alias_acked_ && alias == alias_for(alias_sent_)) ||
                        (alias_acked_ == 0 && alias.empty());
  if (!alias_ok) {
    return testing::AssertionFailure() << "round " << round << ": alias \"" << alias
                                       << "\", acknowledged " << alias_for(alias_acked_)
                                       << ", sent " << alias_for(alias_sent_);
  }
  auto ok = start_daemon();
  if (!ok) return ok << " (restart after round " << round << ")";
  const std::string log = stgtd_.log();
  if (log.find("persistent reservations not restored") != std::string::npos) {
    return testing::AssertionFailure() << "round " << round << ": APTPL file refused";
  }
  // The APTPL key: the acknowledged one or the one in flight.
  auto reader = open_session(stgtd_.portal(), "reader", 2);
  if (reader == nullptr) return testing::AssertionFailure() << "reader cannot log in";
  std::vector<uint8_t> keys;
  if (scsi_command(reader->get(), 2, {0x5e, 0x00, 0, 0, 0, 0, 0, 0x10, 0x00, 0}, {}, 4096,
                   &keys) != SCSI_STATUS_GOOD ||
      keys.size() < 8) {
    return testing::AssertionFailure() << "READ KEYS failed";
  }
  std::vector<uint64_t> found;
  for (size_t at = 8; at + 8 <= keys.size(); at += 8) {
    uint64_t k = 0;
    for (int b = 0; b < 8; ++b) k = k << 8 | keys[at + size_t(b)];
    found.push_back(k);
  }
  const bool key_ok =
      (found.empty() && pr_acked_ == 0) ||
      (found.size() == 1 && (found[0] == pr_acked_ || (pr_sent_ > pr_acked_ && found[0] == pr_sent_)));
  if (!key_ok) {
    return testing::AssertionFailure()
           << "round " << round << ": " << found.size() << " APTPL keys, first "
           << (found.empty() ? 0 : found[0]) << "; acknowledged " << pr_acked_ << ", sent "
           << pr_sent_;
  }
  pr_acked_ = pr_sent_ = found.empty() ? 0 : found[0];
  alias_acked_ = alias_sent_ = alias == alias_for(alias_sent_) ? alias_sent_ : alias_acked_;
  // Every writer's blocks.
  for (WriterState& w : writers_) {
    auto s = open_session(stgtd_.portal(), "checker", w.lun);
    if (s == nullptr) return testing::AssertionFailure() << "checker cannot log in";
    std::vector<uint8_t> data;
    ok = s->read(w.first_lba, kRangeBlocks * kBlock, data);
    if (!ok) return ok;
    ok = check_blocks(w, data);
    if (!ok) return ok << " (after kill " << round << ")";
    // What is on disk now is the baseline: a later kill may not take it back.
    for (uint64_t i = 0; i < kRangeBlocks; ++i) {
      const auto img = faults::inspect_block({data.data() + i * kBlock, kBlock});
      w.durable[i] = img.kind == faults::BlockImage::Kind::kValid ? img.gen : 0;
      w.issued[i] = w.durable[i];
    }
  }
  return testing::AssertionSuccess();
}

TEST_F(CrashConsistencyTest, AcknowledgedDurableWritesSurviveSigkill) {
  config::Config c = stgtd_.base_config({stgtd_.file_lun(kLunBytes, 1)});
  config::LunConfig no_cache = stgtd_.file_lun(kLunBytes, 2);
  no_cache.write_cache = false;
  c.targets[0].luns.push_back(no_cache);
  c.targets[0].luns.push_back(stgtd_.file_lun(kLunBytes, 3));
  stgtd_.write_config(c);
  ASSERT_TRUE(start_daemon());
  const int rounds = int(env_or("STGT_CRASH_ROUNDS", kDefaultRounds));
  const auto started = Clock::now();
  for (int round = 1; round <= rounds; ++round) {
    ASSERT_TRUE(run_until_killed(round));
    ASSERT_TRUE(verify_after_restart(round));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  uint64_t durable = 0;
  for (const WriterState& w : writers_) durable += w.durable_writes;
  std::printf("crash: %d SIGKILLs and restarts in %.1f s: %llu writes acknowledged durable "
              "(FUA %llu, SYNCHRONIZE CACHE %llu, WCE=0 by config %llu, by MODE SELECT %llu), "
              "%llu APTPL registrations, %llu config changes; all intact\n",
              rounds, elapsed, static_cast<unsigned long long>(durable),
              static_cast<unsigned long long>(writers_[0].durable_writes),
              static_cast<unsigned long long>(writers_[1].durable_writes),
              static_cast<unsigned long long>(writers_[2].durable_writes),
              static_cast<unsigned long long>(writers_[3].durable_writes),
              static_cast<unsigned long long>(pr_changes_),
              static_cast<unsigned long long>(config_changes_));
  std::fflush(stdout);
  for (const WriterState& w : writers_) EXPECT_GT(w.durable_writes, 0u) << "LUN " << w.lun;
  EXPECT_GT(pr_changes_, 0u);
  EXPECT_GT(config_changes_, 0u);
}

}  // namespace
}  // namespace stgt::functional
