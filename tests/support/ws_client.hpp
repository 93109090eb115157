// The one WebSocket client of the test suites (and of the load tool's checks): Beast, driven
// synchronously by the calling thread. Messages are read only while the caller waits in next(),
// so a client that never calls next() behaves like a peer that stops reading (its kernel buffer
// fills, set_receive_buffer() keeps that small). Not thread-safe: one client per thread.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace honeyman::testing {

class WsClient {
 public:
  WsClient(std::string host, std::uint16_t port);
  ~WsClient();
  WsClient(WsClient&&) noexcept;
  WsClient& operator=(WsClient&&) noexcept;

  // Before connect(): the socket's receive buffer (SO_RCVBUF) and source address.
  void set_receive_buffer(int bytes);
  void set_source_address(std::string address);
  // Connects and sends the upgrade request for `target` (e.g. "/api/v2/ws?token=..."). Returns
  // the HTTP status: 101 when upgraded, the refusal's status (401, 422...) otherwise, 0 when the
  // connection failed. refusal_body() holds a refusal's body.
  int connect(std::string_view target);
  const std::string& refusal_body() const;

  // The next text message, parsed as JSON; nullopt after `timeout` or when the socket closed.
  std::optional<boost::json::value> next(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next message whose "type" is `type`, skipping others (heartbeats, say).
  std::optional<boost::json::value> next_of_type(
      std::string_view type, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool send(std::string_view text);
  // True once the server closed the socket (seen by next()); close_code() is its close frame's
  // code (0: closed without a close frame).
  bool closed() const;
  int close_code() const;
  std::string close_reason() const;
  void close();  // drops the connection without a close handshake

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace honeyman::testing
