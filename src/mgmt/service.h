// The control plane's JSON-RPC methods (docs/api.md lists each with an example). Read
// methods answer from the Runtime's model and the transport; change methods build the next
// Config from the current one and hand it to Runtime::apply(), so a verb, `config apply`
// and a restart all go through the same validation and produce the same state.
//
// Threads: registered once at start-up; every method runs on the control thread.
#pragma once

#include <chrono>
#include <string>

#include "mgmt/json_rpc.h"
#include "mgmt/runtime.h"

namespace stgt::mgmt {

struct DaemonInfo {
  std::string version;
  unsigned reactors = 0;
  std::string io_backend;
  std::chrono::steady_clock::time_point started_at;
};

void register_methods(Dispatcher& dispatcher, Runtime& runtime, DaemonInfo info);

}  // namespace stgt::mgmt
