// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) as the control plane speaks it: one
// request object per line in, one response object per line out, over the control socket.
// Batches are not supported (answered with Invalid Request).
//
// Threads: a Dispatcher is filled at start-up; handle() may then be called from any thread
// (the control thread, the main thread on SIGHUP) and runs one method at a time. Methods run
// synchronously on the caller's thread; they may block briefly (file I/O, a round trip to
// the reactors) but never on an initiator.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::mgmt {

using Json = nlohmann::json;

// Standard codes, then ours (-32000..-32099 is reserved for implementation errors). stgtadm
// maps each to its exit status (docs/api.md).
enum class RpcErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kNotFound = -32001,       // no such target, LUN, session, account, ...
  kAlreadyExists = -32002,  // adding what is there
  kInUse = -32003,          // removing what initiators use, without force
  kInvalidConfig = -32004,  // the change would make the configuration invalid
  kFailed = -32005,         // valid, but the system refused (cannot open a file, bind, ...)
};

struct RpcError {
  RpcErrorCode code = RpcErrorCode::kInternalError;
  std::string message;  // one sentence for people
};

using RpcResult = base::Result<Json, RpcError>;
using Method = std::function<RpcResult(const Json& params)>;

inline base::Unexpected<RpcError> rpc_error(RpcErrorCode code, std::string message) {
  return base::unexpected(RpcError{code, std::move(message)});
}

class Dispatcher {
 public:
  // `summary` is listed by the "methods" method (and in docs/api.md).
  void add(std::string name, std::string summary, Method method);
  // Handles one request line; returns the response line (without newline), or "" for a
  // notification (a request without "id").
  std::string handle(std::string_view line) const;
  const std::map<std::string, std::string>& summaries() const { return summaries_; }

 private:
  mutable std::mutex mu_;  // one method at a time (control socket, SIGHUP)
  std::map<std::string, Method> methods_;
  std::map<std::string, std::string> summaries_;
};

// Helpers for methods reading their params.
base::Result<std::string, RpcError> param_string(const Json& params, const char* name,
                                                 bool required = true);
base::Result<uint64_t, RpcError> param_uint(const Json& params, const char* name,
                                            uint64_t default_value, uint64_t max);
base::Result<bool, RpcError> param_bool(const Json& params, const char* name,
                                        bool default_value);

}  // namespace stgt::mgmt
