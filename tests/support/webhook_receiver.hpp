// Test support: a webhook endpoint to deliver to. An HTTP/1.1 server on 127.0.0.1 (an ephemeral
// port) with its own thread that records every request and answers with the status its policy
// chooses, or never answers (timeout tests). Keep-alive and `Connection: close` both work: one
// connection may carry many requests. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace honeyman::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, in order
  std::string body;
  std::chrono::steady_clock::time_point received_steady;  // when the whole request was in
  std::chrono::system_clock::time_point received_system;
  std::size_t connection = 0;  // 0, 1, ...: the accepted connection that carried it
  // The first value of header `name` (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
};

class WebhookReceiver {
 public:
  // What a policy returns to accept a request and never answer it (the connection stays open
  // until stop()).
  static constexpr int kHang = -1;

  WebhookReceiver();   // listening when it returns
  ~WebhookReceiver();  // stop()s
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const;
  std::string url(std::string_view path = "/hook") const;  // "http://127.0.0.1:<port><path>"

  // The answer to every request from now on: an HTTP status (default 200) or kHang.
  void set_status(int status);
  // The same per request: `policy(index)` with index counting every request received, from 0.
  void set_policy(std::function<int(std::size_t index)> policy);
  void set_hang(bool hang);  // set_status(kHang) / set_status(200)

  // Waits until `n` requests have been received or `timeout` passed; returns those received.
  std::vector<ReceivedRequest> wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  std::vector<ReceivedRequest> requests() const;
  std::size_t connections() const;  // accepted so far

  // Closes the listener and every connection (hanging ones too), joins. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace honeyman::testing
