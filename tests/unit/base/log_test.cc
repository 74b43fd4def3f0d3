#include "base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace stgt::base {
namespace {

// Captures what log lines write to stderr.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::fclose(file_);
  }
  std::string text() {
    std::string out;
    std::rewind(file_);
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }

 private:
  std::FILE* file_;
  int saved_;
};

TEST(LogTest, WritesOneLineWithLevelTagAndMessage) {
  set_log_level(LogLevel::kInfo);
  set_thread_log_tag("r7");
  StderrCapture capture;
  STGT_LOG_WARN("disk {} is {}", 3, "slow");
  const std::string text = capture.text();
  EXPECT_NE(text.find("stgtd[r7] warn: disk 3 is slow\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  // ISO 8601 UTC timestamp first: YYYY-MM-DDTHH:MM:SS.mmmZ
  ASSERT_GE(text.size(), 24u);
  EXPECT_EQ(text[4], '-');
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text[23], 'Z');
}

TEST(LogTest, LinesBelowTheLevelAreDropped) {
  set_log_level(LogLevel::kWarn);
  StderrCapture capture;
  STGT_LOG_INFO("not shown");
  STGT_LOG_DEBUG("not shown either");
  STGT_LOG_ERROR("shown");
  const std::string text = capture.text();
  EXPECT_EQ(text.find("not shown"), std::string::npos);
  EXPECT_NE(text.find("error: shown"), std::string::npos);
  set_log_level(LogLevel::kInfo);
}

}  // namespace
}  // namespace stgt::base
