// Runs the real stgtadm binary (STGTADM_PATH, set by CMake) as a child process, without a
// shell, and collects its exit status, standard output and standard error.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "stgtd_fixture.h"

namespace stgt::functional {

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs stgtadm with `args`, feeding `input` on stdin.
CliResult stgtadm(const std::vector<std::string>& args, const std::string& input = "");

// stgtadm --socket <the daemon's control socket> ARGS.
CliResult adm(const StgtdProcess& stgtd, std::vector<std::string> args,
              const std::string& input = "");
// The same with --json; expects exit status 0 (a gtest failure otherwise) and parses stdout.
nlohmann::json adm_json(const StgtdProcess& stgtd, std::vector<std::string> args);

}  // namespace stgt::functional
