// Helpers shared by the store tests: a recording completion and a temporary directory.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "backing/backing_store.h"

namespace stgt::backing::testing {

class Recorder final : public StoreCompletion {
 public:
  void store_done(int64_t result) override {
    result_ = result;
    ++calls_;
  }
  int64_t result_ = -12345;
  int calls_ = 0;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/stgt-store-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace stgt::backing::testing
