// Statistics through the real stgtadm and the Prometheus endpoint against a real stgtd: the
// counters move by exactly the I/O an initiator did (commands, bytes, CHECK CONDITIONs,
// latency samples), per LU, per session and per connection, and /metrics says the same.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <map>
#include <sstream>
#include <string>

#include "iscsi_session.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Json = nlohmann::json;
constexpr uint64_t kLuBytes = 8 << 20;

struct HttpReply {
  int code = 0;
  std::string body;
};

// One HTTP/1.0 request to 127.0.0.1:port; the reply read until the server closes.
HttpReply http_get(uint16_t port, const std::string& path) {
  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  [[maybe_unused]] const ssize_t sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, size_t(n));
  }
  ::close(fd);
  if (raw.rfind("HTTP/1.0 ", 0) != 0) return reply;
  reply.code = std::stoi(raw.substr(9, 3));
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) reply.body = raw.substr(body + 4);
  return reply;
}

// The samples of an exposition: "name{labels}" -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

uint64_t u(const Json& j, const char* key) {
  return j.value(key, uint64_t{0});
}

class StatsTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    metrics_port_ = pick_free_port();
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(kLuBytes)});
    c.targets[0].acls = {{.initiator = "ALL"}};
    c.daemon.metrics_listen = "127.0.0.1:" + std::to_string(metrics_port_);
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }

  // What the test does on LUN 1: 4 writes of 8 KiB, 3 reads of 4 KiB, one read past the end.
  void do_io(IscsiSession& s) {
    for (uint64_t i = 0; i < 4; ++i)
      ASSERT_TRUE(s.write(i * 16, make_pattern(i, 8192)));
    std::vector<uint8_t> back;
    for (uint64_t i = 0; i < 3; ++i)
      ASSERT_TRUE(s.read(i * 16, 4096, back));
    EXPECT_FALSE(s.read(kLuBytes / kBlockSize, kBlockSize, back));  // LBA OUT OF RANGE
  }

  // The deltas do_io() must produce on any object that saw all of it.
  static void expect_io_delta(const Json& before, const Json& after, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(u(after, "write_commands") - u(before, "write_commands"), 4u);
    EXPECT_EQ(u(after, "written_bytes") - u(before, "written_bytes"), 4u * 8192);
    EXPECT_EQ(u(after, "read_commands") - u(before, "read_commands"), 4u);
    EXPECT_EQ(u(after, "read_bytes") - u(before, "read_bytes"), 3u * 4096);
    EXPECT_EQ(u(after, "other_commands"), u(before, "other_commands"));
    EXPECT_EQ(u(after, "check_conditions") - u(before, "check_conditions"), 1u);
    EXPECT_EQ(u(after["latency"], "count") - u(before["latency"], "count"), 8u);
    uint64_t in_buckets = 0;
    for (const Json& b : after["latency"]["buckets"])
      in_buckets += u(b, "count");
    EXPECT_EQ(in_buckets, u(after["latency"], "count"));
  }

  uint16_t metrics_port_ = 0;
};

TEST_F(StatsTest, CountersMoveByWhatTheInitiatorDid) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const Json before = adm_json(stgtd_, {"stats"});
  ASSERT_EQ(before["luns"].size(), 1u) << before.dump();
  ASSERT_EQ(before["sessions"].size(), 1u) << before.dump();
  ASSERT_EQ(before["connections"].size(), 1u) << before.dump();
  do_io(s);
  const Json after = adm_json(stgtd_, {"stats"});
  expect_io_delta(before["luns"][0], after["luns"][0], "lu");
  expect_io_delta(before["sessions"][0], after["sessions"][0], "session");
  expect_io_delta(before["connections"][0], after["connections"][0], "connection");
  EXPECT_EQ(after["luns"][0]["target"], kTargetIqn);
  EXPECT_EQ(after["luns"][0]["lun"], 1);
  EXPECT_EQ(after["sessions"][0]["initiator"], kInitiatorIqn);

  // Filters and the table for people.
  const Json one = adm_json(stgtd_, {"stats", "lun", kTargetIqn, "1"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one["luns"][0]["written_bytes"], after["luns"][0]["written_bytes"]);
  const uint16_t tsih = after["sessions"][0]["tsih"];
  EXPECT_EQ(
      adm_json(stgtd_, {"stats", "session", "--tsih", std::to_string(tsih)})["sessions"].size(),
      1u);
  const CliResult table = adm(stgtd_, {"stats", "lun"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_EQ(table.out.rfind("TARGET", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("WRITTEN"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("32.0 KiB"), std::string::npos) << table.out;
}

TEST_F(StatsTest, ErrorsAreOneSentenceWithAnExitStatus) {
  CliResult r = adm(stgtd_, {"stats", "lun", "iqn.2026-11.org.stgt.test:nope"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, "stgtadm: no target iqn.2026-11.org.stgt.test:nope\n");
  r = adm(stgtd_, {"stats", "lun", kTargetIqn, "9"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, std::string("stgtadm: target ") + kTargetIqn + " has no LUN 9\n");
  r = adm(stgtd_, {"stats", "session", "--tsih", "999"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.err, "stgtadm: no session 999\n");
  r = adm(stgtd_, {"stats", "volume"});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(StatsTest, PrometheusEndpointCountsTheSameIo) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn, 1));
  const HttpReply first = http_get(metrics_port_, "/metrics");
  ASSERT_EQ(first.code, 200);
  do_io(s);
  const HttpReply second = http_get(metrics_port_, "/metrics");
  ASSERT_EQ(second.code, 200);
  auto before = samples(first.body);
  auto after = samples(second.body);
  const std::string lu = std::string("{target=\"") + kTargetIqn + "\",lun=\"1\"";
  auto delta = [&](const std::string& key) { return after[key] - before[key]; };
  ASSERT_EQ(after.count("stgt_lu_commands_total" + lu + ",class=\"write\"}"), 1u) << second.body;
  EXPECT_EQ(delta("stgt_lu_commands_total" + lu + ",class=\"write\"}"), 4);
  EXPECT_EQ(delta("stgt_lu_commands_total" + lu + ",class=\"read\"}"), 4);
  EXPECT_EQ(delta("stgt_lu_written_bytes_total" + lu + "}"), 4 * 8192);
  EXPECT_EQ(delta("stgt_lu_read_bytes_total" + lu + "}"), 3 * 4096);
  EXPECT_EQ(delta("stgt_lu_check_conditions_total" + lu + "}"), 1);
  EXPECT_EQ(delta("stgt_lu_latency_seconds_count" + lu + "}"), 8);
  EXPECT_EQ(after["stgt_lu_latency_seconds_bucket" + lu + ",le=\"+Inf\"}"],
            after["stgt_lu_latency_seconds_count" + lu + "}"]);
  // The session's series carries the initiator.
  bool session_seen = false;
  for (const auto& [key, value] : after) {
    if (key.rfind("stgt_session_written_bytes_total{", 0) == 0 &&
        key.find(std::string("initiator=\"") + kInitiatorIqn + "\"") != std::string::npos) {
      session_seen = true;
      EXPECT_EQ(value - before[key], 4 * 8192);
    }
  }
  EXPECT_TRUE(session_seen) << second.body;
  EXPECT_EQ(http_get(metrics_port_, "/").code, 404);
}

TEST(StatsConfigTest, MetricsPortInUseStopsTheDaemonWithOneSentence) {
  StgtdProcess stgtd;
  config::Config c = stgtd.base_config({StgtdProcess::memory_lun(kLuBytes)});
  // The daemon's own iSCSI port is taken by the time the metrics endpoint binds.
  c.daemon.metrics_listen = stgtd.portal();
  stgtd.write_config(c);
  const std::optional<int> rc = stgtd.run_to_exit({}, std::chrono::seconds(20));
  ASSERT_TRUE(rc.has_value());
  EXPECT_TRUE(WIFEXITED(*rc) && WEXITSTATUS(*rc) == 1) << "status " << *rc;
  EXPECT_NE(stgtd.log().find("cannot bind " + stgtd.portal() + ": Address already in use"),
            std::string::npos)
      << stgtd.log();
}

}  // namespace
}  // namespace stgt::functional
