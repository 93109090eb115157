// The rate-limit usage exchange: its wire format (bounds, malformed frames, the instance's own
// frames) and two in-process servers whose limits hold across them once usage is exchanged.
#include "http/detail/rate_share.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json.hpp>
#include <thread>

#include "support/http_client.hpp"

namespace honeyman::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

bool same(const std::vector<RateUsage>& a, const std::vector<RateUsage>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].key != b[i].key || a[i].per_minute != b[i].per_minute || a[i].count != b[i].count)
      return false;
  return true;
}

// A frame from instance "other" with `usage` as its usage array, written as JSON text.
std::string frame_with(std::string_view usage) {
  return R"({"type":"rate_usage","data":{"instance":"other","usage":)" + std::string(usage) + "}}";
}

TEST(RateShareCodec, RoundTripsFromAnotherInstance) {
  std::vector<RateUsage> usage{{"1.2.3.4", 60, 3}, {"login|1.2.3.4", 10, 1}};
  auto frame = detail::encode_rate_usage("a", usage);
  EXPECT_TRUE(same(detail::decode_rate_usage(frame, "b"), usage)) << frame;
  EXPECT_EQ(json::parse(frame).at("type").as_string(), "rate_usage");
}

TEST(RateShareCodec, OwnFramesAreIgnored) {
  auto frame = detail::encode_rate_usage("me", {{"1.2.3.4", 60, 3}});
  EXPECT_TRUE(detail::decode_rate_usage(frame, "me").empty());
  EXPECT_EQ(detail::decode_rate_usage(frame, "you").size(), 1u);
}

TEST(RateShareCodec, MalformedFramesGiveNothing) {
  for (std::string_view frame : {
           "",
           "not json",
           "[]",
           R"({"type":"rate_usage"})",
           R"({"type":"threat","data":{"instance":"other","usage":[["k",60,1]]}})",
           R"({"data":{"instance":"other","usage":[["k",60,1]]}})",
           R"({"type":"rate_usage","data":[]})",
           R"({"type":"rate_usage","data":{"usage":[["k",60,1]]}})",
           R"({"type":"rate_usage","data":{"instance":7,"usage":[["k",60,1]]}})",
           R"({"type":"rate_usage","data":{"instance":"other","usage":{"k":1}}})",
           R"({"type":"rate_usage","data":{"instance":"other","usage":[["k",60,1]]})",
       })
    EXPECT_TRUE(detail::decode_rate_usage(frame, "me").empty()) << frame;
}

TEST(RateShareCodec, EntriesOutOfBoundsOrMalformedAreSkippedTheRestKept) {
  std::string long_key(detail::kMaxSharedKeyBytes + 1, 'k');
  auto usage = detail::decode_rate_usage(
      frame_with(R"([["ok",60,2],["zero",60,0],["negative",-1,1],["huge",1000001,1],)"
                 R"(["many",60,1000001],["float",60,1.5],["short",60],[7,60,1],"text",)"
                 R"(["",60,1],[")" +
                 long_key + R"(",60,1],["max",1000000,1000000]])"),
      "me");
  EXPECT_TRUE(same(usage, {{"ok", 60, 2}, {"max", 1'000'000, 1'000'000}}));
}

// A Server on loopback (port 0) with every route limited to 3 requests a minute, run by one
// thread, and its RateLimitSharing; `send` goes wherever the test points it.
class LimitedServer {
 public:
  LimitedServer() : server_(config(), router_, auth_, io_) {
    router_.add({Verb::get, "/x", Access::anyone, RateClass::normal,
                 [](RequestContext&) -> asio::awaitable<Response> {
                   co_return json_response(StatusCode::ok, json::object{});
                 },
                 ""});
    port_ = server_.listen().value();
    server_.start();
    sharing_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LimitedServer() {
    sharing_.stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  int get() { return testing::HttpClient("127.0.0.1", port_).get("/x").status; }
  RateLimitSharing& sharing() { return sharing_; }
  std::function<void(std::string)> send = [](std::string) {};

 private:
  struct NoAuth final : Authenticator {
    asio::awaitable<Result<Principal>> authenticate(const Request&) override {
      co_return Principal{};
    }
  };
  static ServerConfig config() {
    ServerConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.rate_limit_per_minute = 3;
    return c;
  }

  Router router_;
  NoAuth auth_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  Server server_;
  // A period far beyond the test: exchanges happen when the test calls exchange().
  RateLimitSharing sharing_{server_, io_, [this](std::string m) { send(std::move(m)); },
                            std::chrono::hours(1)};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(RateShareExchange, WhatOneInstanceAllowedCountsOnTheOther) {
  LimitedServer a, b;
  std::vector<std::string> sent;
  a.send = [&](std::string m) { sent.push_back(std::move(m)); };
  a.sharing().exchange();
  EXPECT_TRUE(sent.empty()) << "nothing allowed yet, nothing sent";
  EXPECT_EQ(a.get(), 200);
  EXPECT_EQ(a.get(), 200);
  a.sharing().exchange();
  ASSERT_EQ(sent.size(), 1u);
  b.sharing().receive(sent[0]);
  EXPECT_EQ(b.get(), 200);  // 3 a minute: 2 spent on a, one left
  EXPECT_EQ(b.get(), 429);
  a.sharing().exchange();
  EXPECT_EQ(sent.size(), 1u) << "each request is reported once";
  a.sharing().receive(sent[0]);  // an instance's own frame changes nothing
  EXPECT_EQ(a.get(), 200);
}

}  // namespace
}  // namespace honeyman::http
