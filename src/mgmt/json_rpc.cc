#include "mgmt/json_rpc.h"

namespace stgt::mgmt {

namespace {

Json error_response(const Json& id, RpcErrorCode code, const std::string& message) {
  return Json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error", {{"code", int(code)}, {"message", message}}}};
}

}  // namespace

void Dispatcher::add(std::string name, std::string summary, Method method) {
  summaries_[name] = std::move(summary);
  methods_[std::move(name)] = std::move(method);
}

std::string Dispatcher::handle(std::string_view line) const {
  // nlohmann::json reports errors with exceptions; none leaves this function.
  Json request;
  try {
    request = Json::parse(line);
  } catch (const Json::exception&) {
    return error_response(nullptr, RpcErrorCode::kParseError, "the request is not valid JSON")
        .dump();
  }
  if (!request.is_object()) {
    return error_response(nullptr, RpcErrorCode::kInvalidRequest,
                          "the request must be one JSON object (batches are not supported)")
        .dump();
  }
  const bool notification = !request.contains("id");
  const Json id = notification ? Json(nullptr) : request["id"];
  if (!id.is_null() && !id.is_string() && !id.is_number_integer()) {
    return error_response(nullptr, RpcErrorCode::kInvalidRequest, "\"id\" must be a string or an integer")
        .dump();
  }
  const auto version = request.find("jsonrpc");
  const auto method = request.find("method");
  if (version == request.end() || *version != "2.0" || method == request.end() ||
      !method->is_string()) {
    return error_response(id, RpcErrorCode::kInvalidRequest,
                          "a request needs \"jsonrpc\": \"2.0\" and a string \"method\"")
        .dump();
  }
  Json params = Json::object();
  if (const auto p = request.find("params"); p != request.end()) {
    if (!p->is_object()) {
      return error_response(id, RpcErrorCode::kInvalidParams,
                            "\"params\" must be an object of named parameters")
          .dump();
    }
    params = *p;
  }
  const auto found = methods_.find(method->get<std::string>());
  if (found == methods_.end()) {
    return notification ? std::string()
                        : error_response(id, RpcErrorCode::kMethodNotFound,
                                         "unknown method \"" + method->get<std::string>() + "\"")
                              .dump();
  }
  RpcResult result = rpc_error(RpcErrorCode::kInternalError, "no result");
  const std::lock_guard lock(mu_);
  try {
    result = found->second(params);
  } catch (const std::exception& e) {
    result = rpc_error(RpcErrorCode::kInternalError, std::string("internal error: ") + e.what());
  }
  if (notification) return {};
  if (!result) return error_response(id, result.error().code, result.error().message).dump();
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result).value()}}.dump();
}

base::Result<std::string, RpcError> param_string(const Json& params, const char* name,
                                                 bool required) {
  const auto it = params.find(name);
  if (it == params.end() || it->is_null()) {
    if (!required) return std::string();
    return rpc_error(RpcErrorCode::kInvalidParams, std::string("missing parameter \"") + name + "\"");
  }
  if (!it->is_string()) {
    return rpc_error(RpcErrorCode::kInvalidParams, std::string("parameter \"") + name + "\" must be a string");
  }
  return it->get<std::string>();
}

base::Result<uint64_t, RpcError> param_uint(const Json& params, const char* name,
                                            uint64_t default_value, uint64_t max) {
  const auto it = params.find(name);
  if (it == params.end() || it->is_null()) return default_value;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return rpc_error(RpcErrorCode::kInvalidParams,
                     std::string("parameter \"") + name + "\" must be a non-negative integer");
  }
  const uint64_t v = it->get<uint64_t>();
  if (v > max) {
    return rpc_error(RpcErrorCode::kInvalidParams, std::string("parameter \"") + name +
                                                        "\" must be at most " + std::to_string(max));
  }
  return v;
}

base::Result<bool, RpcError> param_bool(const Json& params, const char* name,
                                        bool default_value) {
  const auto it = params.find(name);
  if (it == params.end() || it->is_null()) return default_value;
  if (!it->is_boolean()) {
    return rpc_error(RpcErrorCode::kInvalidParams, std::string("parameter \"") + name + "\" must be true or false");
  }
  return it->get<bool>();
}

}  // namespace stgt::mgmt
