// What the SAM gate's reservation step costs per command (docs/architecture.md, "Reservations"):
// an LU with nothing reserved (one atomic load), an LU under a persistent reservation (the LU's
// reservation mutex, uncontended), and the same with every thread hammering one LU (contended).
#include <benchmark/benchmark.h>

#include <string>

#include "scsi/reservations.h"

namespace {

using stgt::scsi::Initiator;
using stgt::scsi::PrOutAction;
using stgt::scsi::PrOutRequest;
using stgt::scsi::Reservations;

const std::string kPort = "iqn.2026-11.bench:i,i,0x000000000001";
const std::string kName = "iqn.2026-11.bench:i";
const Initiator kWho{1, kPort, kName, 1};

// Four registrations, a write exclusive reservation held by the first.
void reserve(Reservations& r) {
  for (int i = 0; i < 4; ++i) {
    static std::string ports[4];
    ports[i] = "iqn.2026-11.bench:h" + std::to_string(i) + ",i,0x000000000001";
    const Initiator who{uint64_t(10 + i), ports[i], "iqn.2026-11.bench:h", 1};
    PrOutRequest reg;
    reg.action = PrOutAction::kRegisterAndIgnoreExistingKey;
    reg.sa_key = uint64_t(i + 1);
    (void)r.out(who, reg);
    if (i == 0) {
      PrOutRequest res;
      res.action = PrOutAction::kReserve;
      res.key = 1;
      res.type = 1;
      (void)r.out(who, res);
    }
  }
}

bool gate(const Reservations& r) {
  return !r.held() || r.allows(kWho, stgt::scsi::conflict::kReadsMedium);
}

void BM_GateNothingHeld(benchmark::State& state) {
  static Reservations r;
  for (auto _ : state) benchmark::DoNotOptimize(gate(r));
}
BENCHMARK(BM_GateNothingHeld)->ThreadRange(1, 2);

void BM_GateReserved(benchmark::State& state) {
  static Reservations* r = [] {
    auto* p = new Reservations;
    reserve(*p);
    return p;
  }();
  for (auto _ : state) benchmark::DoNotOptimize(gate(*r));
}
BENCHMARK(BM_GateReserved)->ThreadRange(1, 2);

}  // namespace

BENCHMARK_MAIN();
