// Many objects through the control plane (issue 5): 1,000 LUNs added to a running stgtd in
// one `stgtadm config apply`, then listed, then seen by an initiator's REPORT LUNS; and 100
// LUNs added one `stgtadm lun add` at a time. The times are printed and recorded as test
// properties (docs/performance.md, "Many objects"); the bounds are sanity checks only.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "iscsi_session.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kLuns = 1000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

config::LunConfig null_lun(uint32_t id) {
  return {.id = id, .store = "null", .size = 4 << 20, .block_size = kBlockSize};
}

class ManyLunsTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    config_ = stgtd_.base_config({StgtdProcess::memory_lun(4 << 20)});
    config_.targets[0].acls = {{.initiator = "ALL"}};
    stgtd_.write_config(config_);
    ASSERT_TRUE(stgtd_.start({"--reactors", "2"}));
  }
  config::Config config_;
};

TEST_F(ManyLunsTest, AThousandLunsInOneConfigApply) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  config::Config next = config_;
  for (uint32_t id = 2; id <= kLuns + 1; ++id)
    next.targets[0].luns.push_back(null_lun(id));
  const std::string file = stgtd_.dir() + "/many.toml";
  std::ofstream(file) << config::to_toml(next);

  auto start = Clock::now();
  const CliResult r = adm(stgtd_, {"config", "apply", file});
  const double apply_s = seconds_since(start);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("+ lun 1001 of "), std::string::npos);

  start = Clock::now();
  const nlohmann::json listed = adm_json(stgtd_, {"lun", "list", kTargetIqn});
  const double list_s = seconds_since(start);
  EXPECT_EQ(listed.size(), kLuns + 1);

  // The session that was there all along sees them.
  scsi_task* t = iscsi_reportluns_sync(s.get(), 0, 16 + 8 * (kLuns + 2));
  ASSERT_NE(t, nullptr);
  auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(t));
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->num, kLuns + 2);  // LUN 0 (the controller), LUN 1 and the new thousand
  scsi_free_scsi_task(t);

  std::printf("1,000 LUNs: config apply %.2f s, lun list %.2f s\n", apply_s, list_s);
  RecordProperty("apply_ms", int(apply_s * 1000));
  RecordProperty("list_ms", int(list_s * 1000));
  EXPECT_LT(apply_s, 60.0);
  EXPECT_LT(list_s, 60.0);
}

TEST_F(ManyLunsTest, AHundredLunsOneVerbAtATime) {
  const auto start = Clock::now();
  for (uint32_t id = 2; id <= 101; ++id) {
    const CliResult r = adm(stgtd_, {"lun", "add", kTargetIqn, std::to_string(id), "--store",
                                     "null", "--size", "4MiB"});
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  const double add_s = seconds_since(start);
  EXPECT_EQ(adm_json(stgtd_, {"lun", "list", kTargetIqn}).size(), 101u);
  std::printf("100 x lun add: %.2f s (%.1f ms each)\n", add_s, add_s * 10);
  RecordProperty("add_100_ms", int(add_s * 1000));
  EXPECT_LT(add_s, 60.0);
}

}  // namespace
}  // namespace stgt::functional
