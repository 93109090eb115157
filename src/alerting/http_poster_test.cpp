#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "alerting/alerting.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"
#include "support/webhook_receiver.hpp"

namespace honeyman::alerting {
namespace poster_test {
using namespace std::chrono_literals;
using testing::WebhookReceiver;
using SteadyTime = std::chrono::steady_clock::time_point;

// What each post's `done` reported, in the order they came, with when.
class Outcomes {
 public:
  std::function<void(PostResult)> callback(std::string tag) {
    return [this, tag = std::move(tag)](PostResult r) {
      std::lock_guard lock(mutex_);
      results_.push_back({tag, std::move(r), std::chrono::steady_clock::now()});
      changed_.notify_all();
    };
  }
  struct Entry {
    std::string tag;
    PostResult result;
    SteadyTime at;
  };
  // The outcomes once there are `n` (or fewer when `limit` passed first).
  std::vector<Entry> wait(std::size_t n, std::chrono::milliseconds limit = 30s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return results_.size() >= n; });
    return results_;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return results_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Entry> results_;
};

PostRequest request_to(std::string url, std::string body = R"({"type":"alert"})",
                       std::chrono::milliseconds timeout = 10s) {
  PostRequest r;
  r.url = std::move(url);
  r.body = std::move(body);
  r.timeout = timeout;
  r.headers = {{"Content-Type", "application/json"}, {"X-Honeyman-Delivery", "d-1"}};
  return r;
}

}  // namespace poster_test

using namespace poster_test;

TEST(HttpPoster, DeliversThePostAndReportsTheStatus) {
  WebhookReceiver receiver;
  HttpPoster poster;
  Outcomes outcomes;
  poster.post(request_to(receiver.url("/hooks/a?x=1"), R"({"hello":"world"})"),
              outcomes.callback("a"));
  auto results = outcomes.wait(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].result.ok()) << results[0].result.error;
  EXPECT_EQ(results[0].result.status, 200);
  auto received = receiver.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].target, "/hooks/a?x=1");
  EXPECT_EQ(received[0].body, R"({"hello":"world"})");
  EXPECT_EQ(received[0].header("content-type"), "application/json");
  EXPECT_EQ(received[0].header("content-length"), "17");
  EXPECT_EQ(received[0].header("x-honeyman-delivery"), "d-1");
  EXPECT_EQ(received[0].header("user-agent"), "honeyman");
  EXPECT_EQ(received[0].header("host"), "127.0.0.1:" + std::to_string(receiver.port()));
}

TEST(HttpPoster, ServerErrorIsAStatusNotAnError) {
  WebhookReceiver receiver;
  receiver.set_status(500);
  HttpPoster poster;
  Outcomes outcomes;
  poster.post(request_to(receiver.url()), outcomes.callback("a"));
  auto results = outcomes.wait(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].result.ok());
  EXPECT_EQ(results[0].result.status, 500);
  EXPECT_EQ(results[0].result.error, "");
}

TEST(HttpPoster, RefusedConnectionIsAnError) {
  HttpPoster poster;
  Outcomes outcomes;
  poster.post(request_to("http://127.0.0.1:" + std::to_string(testing::free_port()) + "/"),
              outcomes.callback("a"));
  auto results = outcomes.wait(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].result.ok());
  EXPECT_EQ(results[0].result.status, 0);
  EXPECT_NE(results[0].result.error.find("connect"), std::string::npos) << results[0].result.error;
}

TEST(HttpPoster, TlsToAPlainServerFails) {
  WebhookReceiver receiver;
  HttpPoster poster;
  Outcomes outcomes;
  poster.post(request_to("https://127.0.0.1:" + std::to_string(receiver.port()) + "/"),
              outcomes.callback("a"));
  auto results = outcomes.wait(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].result.ok());
  EXPECT_EQ(results[0].result.status, 0);
  EXPECT_EQ(results[0].result.error.rfind("TLS: ", 0), 0u) << results[0].result.error;
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(HttpPoster, TlsRefusesAnUntrustedCertificate) {
  // A self-signed certificate for 127.0.0.1, served by openssl s_server: not in the system's
  // trust store, so the handshake must fail (a poster that skipped verification would not).
  testing::TempDir dir("honeyman-tls");
  auto cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  auto made = testing::spawn({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                              cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                              "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(testing::wait_exit(made, 60s), 0);
  auto port = testing::free_port();
  auto server = testing::spawn({"openssl", "s_server", "-quiet", "-www", "-accept",
                                "127.0.0.1:" + std::to_string(port), "-cert", cert, "-key", key});
  ASSERT_TRUE(testing::eventually([&] { return testing::port_accepts(port); }));
  HttpPoster poster;
  Outcomes outcomes;
  poster.post(request_to("https://127.0.0.1:" + std::to_string(port) + "/"),
              outcomes.callback("a"));
  auto results = outcomes.wait(1);
  ::kill(server, SIGTERM);
  testing::wait_exit(server, 30s);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result.status, 0);
  EXPECT_NE(results[0].result.error.find("certificate verify failed"), std::string::npos)
      << results[0].result.error;
}

TEST(HttpPoster, BadUrlFailsAtOnce) {
  HttpPoster poster;
  Outcomes outcomes;
  const char* urls[] = {"not a url", "ftp://example.com/x", "http:///nohost", "mailto:a@b.c"};
  auto started = std::chrono::steady_clock::now();
  for (const char* url : urls) poster.post(request_to(url, "{}", 60s), outcomes.callback(url));
  auto results = outcomes.wait(std::size(urls));
  ASSERT_EQ(results.size(), std::size(urls));
  // "At once": long before the 60 s timeout, with a bound a loaded machine meets easily.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  for (const auto& r : results) {
    EXPECT_EQ(r.result.status, 0) << r.tag;
    EXPECT_EQ(r.result.error.rfind("bad URL", 0), 0u) << r.tag << ": " << r.result.error;
  }
}

TEST(HttpPoster, HangingPeerTimesOutWithoutBlockingOthers) {
  WebhookReceiver hanging;
  hanging.set_hang(true);
  WebhookReceiver healthy;
  HttpPoster poster;
  Outcomes outcomes;
  auto started = std::chrono::steady_clock::now();
  poster.post(request_to(hanging.url(), "{}", 3s), outcomes.callback("hanging"));
  ASSERT_EQ(hanging.wait_for(1, 30s).size(), 1u);  // the hanging peer has the request
  poster.post(request_to(healthy.url(), "{}", 30s), outcomes.callback("healthy"));
  auto results = outcomes.wait(2, 60s);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].tag, "healthy");
  EXPECT_TRUE(results[0].result.ok()) << results[0].result.error;
  EXPECT_EQ(results[1].tag, "hanging");
  EXPECT_EQ(results[1].result.error, "timeout");
  EXPECT_EQ(results[1].result.status, 0);
  // The deadline is the request's: not before it, and not long after it.
  EXPECT_GE(results[1].at - started, 3s);
  EXPECT_LT(results[1].at - started, 3s + 20s);
}

TEST(HttpPoster, FiftyConcurrentPostsAllComplete) {
  WebhookReceiver receiver;
  receiver.set_policy([](std::size_t index) { return index % 2 ? 202 : 200; });
  HttpPoster poster;
  Outcomes outcomes;
  constexpr int kPosts = 50;
  for (int i = 0; i < kPosts; ++i)
    poster.post(request_to(receiver.url(), "{\"n\":" + std::to_string(i) + "}", 60s),
                outcomes.callback(std::to_string(i)));
  auto results = outcomes.wait(kPosts, 120s);
  ASSERT_EQ(results.size(), std::size_t{kPosts});
  for (const auto& r : results) EXPECT_TRUE(r.result.ok()) << r.tag << ": " << r.result.error;
  std::set<std::string> bodies;
  for (const auto& req : receiver.requests()) bodies.insert(req.body);
  EXPECT_EQ(bodies.size(), std::size_t{kPosts});
}

TEST(HttpPoster, StopEndsEveryPostInFlightOnce) {
  WebhookReceiver receiver;
  receiver.set_hang(true);
  Outcomes outcomes;
  std::vector<std::atomic<int>> calls(6);
  {
    HttpPoster poster;
    for (int i = 0; i < 5; ++i)
      poster.post(request_to(receiver.url(), "{}", 120s), [&, i](PostResult r) {
        ++calls[i];
        outcomes.callback(std::to_string(i))(std::move(r));
      });
    ASSERT_EQ(receiver.wait_for(5, 30s).size(), 5u);
    poster.stop();
    EXPECT_EQ(outcomes.count(), 5u);  // stop() returns after every done
    poster.post(request_to(receiver.url()), [&](PostResult r) {
      ++calls[5];
      outcomes.callback("after")(std::move(r));
    });
    poster.stop();  // idempotent
  }                 // the destructor stops again
  auto results = outcomes.wait(6, 1s);
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results) {
    EXPECT_EQ(r.result.error, "stopped") << r.tag;
    EXPECT_EQ(r.result.status, 0) << r.tag;
  }
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
}

TEST(WebhookReceiver, KeepAliveAndConnectionClose) {
  WebhookReceiver receiver;
  receiver.set_policy([](std::size_t index) { return index == 1 ? 503 : 200; });
  testing::HttpClient client("127.0.0.1", receiver.port());
  EXPECT_EQ(client.request("POST", "/a", "1").status, 200);
  EXPECT_EQ(client.request("POST", "/b", "2").status, 503);
  auto reply = client.raw(
      "POST /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Length: 1\r\n\r\n3");
  EXPECT_EQ(reply.status, 200);
  auto received = receiver.wait_for(3, 10s);
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].connection, received[1].connection);  // kept alive
  EXPECT_NE(received[2].connection, received[0].connection);
  EXPECT_EQ(received[1].body, "2");
  EXPECT_EQ(received[2].target, "/c");
  EXPECT_LE(received[0].received_steady, received[1].received_steady);
}

}  // namespace honeyman::alerting
