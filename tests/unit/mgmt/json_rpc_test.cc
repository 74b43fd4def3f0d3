#include "mgmt/json_rpc.h"

#include <gtest/gtest.h>

namespace stgt::mgmt {
namespace {

Json call(const Dispatcher& d, const std::string& line) { return Json::parse(d.handle(line)); }

class DispatcherTest : public testing::Test {
 protected:
  void SetUp() override {
    d.add("echo", "returns its params", [](const Json& p) -> RpcResult { return p; });
    d.add("fail", "always fails", [](const Json&) -> RpcResult {
      return rpc_error(RpcErrorCode::kNotFound, "no such thing");
    });
    d.add("throws", "throws", [](const Json&) -> RpcResult { throw std::runtime_error("boom"); });
    d.add("typed", "reads typed params", [](const Json& p) -> RpcResult {
      auto s = param_string(p, "name");
      if (!s) return base::unexpected(s.error());
      auto n = param_uint(p, "count", 7, 100);
      if (!n) return base::unexpected(n.error());
      auto b = param_bool(p, "flag", false);
      if (!b) return base::unexpected(b.error());
      return Json{{"name", *s}, {"count", *n}, {"flag", *b}};
    });
  }
  Dispatcher d;
};

TEST_F(DispatcherTest, AnswersWithTheRequestId) {
  const Json r = call(d, R"({"jsonrpc":"2.0","id":"a1","method":"echo","params":{"x":1}})");
  EXPECT_EQ(r["jsonrpc"], "2.0");
  EXPECT_EQ(r["id"], "a1");
  EXPECT_EQ(r["result"]["x"], 1);
  EXPECT_FALSE(r.contains("error"));
}

TEST_F(DispatcherTest, StandardErrors) {
  EXPECT_EQ(call(d, "{not json")["error"]["code"], -32700);
  EXPECT_EQ(call(d, "[1,2]")["error"]["code"], -32600);
  EXPECT_EQ(call(d, R"({"id":1,"method":"echo"})")["error"]["code"], -32600);
  EXPECT_EQ(call(d, R"({"jsonrpc":"2.0","id":1,"method":5})")["error"]["code"], -32600);
  EXPECT_EQ(call(d, R"({"jsonrpc":"2.0","id":1,"method":"nope"})")["error"]["code"], -32601);
  EXPECT_EQ(call(d, R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[1]})")["error"]["code"],
            -32602);
  EXPECT_EQ(call(d, R"({"jsonrpc":"2.0","id":{},"method":"echo"})")["error"]["code"], -32600);
}

TEST_F(DispatcherTest, MethodErrorsAndExceptionsBecomeErrorResponses) {
  Json r = call(d, R"({"jsonrpc":"2.0","id":2,"method":"fail"})");
  EXPECT_EQ(r["error"]["code"], -32001);
  EXPECT_EQ(r["error"]["message"], "no such thing");
  r = call(d, R"({"jsonrpc":"2.0","id":3,"method":"throws"})");
  EXPECT_EQ(r["error"]["code"], -32603);
}

TEST_F(DispatcherTest, NotificationsGetNoAnswer) {
  EXPECT_EQ(d.handle(R"({"jsonrpc":"2.0","method":"echo"})"), "");
  EXPECT_EQ(d.handle(R"({"jsonrpc":"2.0","method":"nope"})"), "");
}

TEST_F(DispatcherTest, TypedParams) {
  Json r = call(d, R"({"jsonrpc":"2.0","id":1,"method":"typed","params":{"name":"x"}})");
  EXPECT_EQ(r["result"], (Json{{"name", "x"}, {"count", 7}, {"flag", false}}));
  for (const char* bad : {R"({"count":3})", R"({"name":1})", R"({"name":"x","count":-1})",
                          R"({"name":"x","count":101})", R"({"name":"x","flag":"yes"})"}) {
    const std::string line =
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"typed","params":)") + bad + "}";
    EXPECT_EQ(call(d, line)["error"]["code"], -32602) << bad;
  }
}

}  // namespace
}  // namespace stgt::mgmt
