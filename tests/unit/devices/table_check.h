// Consistency checks every opcode table must pass.
#pragma once

#include <gtest/gtest.h>

#include "scsi/opcode.h"

namespace stgt::test {

inline void check_table(const scsi::OpcodeTable& t) {
  int supported = 0;
  for (size_t op = 0; op < t.size(); ++op) {
    const scsi::OpcodeEntry& e = t[op];
    SCOPED_TRACE(op);
    if (!e.service_actions.empty()) {
      EXPECT_EQ(e.handler, nullptr);
      for (const scsi::ServiceAction& a : e.service_actions) {
        EXPECT_NE(a.handler, nullptr);
        EXPECT_EQ(a.usage[0], op);
        EXPECT_EQ(a.usage[1] & 0x1f, a.action);
        EXPECT_EQ(a.cdb_length, e.cdb_length);
        EXPECT_NE(a.usage[a.cdb_length - 1], 0);  // CONTROL byte usage
        ++supported;
      }
      continue;
    }
    if (e.handler == nullptr) continue;
    ++supported;
    EXPECT_NE(e.name, nullptr);
    EXPECT_EQ(e.usage[0], op);
    // SPC-5 4.2.5.1: the group code fixes the CDB length.
    const uint8_t group_length[8] = {6, 10, 10, 0, 16, 12, 0, 0};
    EXPECT_EQ(e.cdb_length, group_length[op >> 5]);
    for (size_t i = e.cdb_length; i < e.usage.size(); ++i) EXPECT_EQ(e.usage[i], 0);
  }
  EXPECT_GT(supported, 0);
}

}  // namespace stgt::test
