// One WebSocket client of the live feed: its socket, its filter and its bounded send queue.
// The bus dispatch thread queues frames (deliver); the connection's strand writes them one at a
// time. A client whose queue overflows is dropped, so it never holds up anyone else.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <unordered_set>

#include "api/api.hpp"

namespace honeyman::api::detail {

namespace websocket = boost::beast::websocket;
using Frame = std::shared_ptr<const std::string>;

// What a client asked to see ({"type":"subscribe","filter":{...}}); an empty list allows all.
struct LiveFilter {
  std::vector<std::string> severity, sensor_id, detector_type;
  bool matches(const bus::Event& event) const;
};
// Errc::invalid_input when `filter` is not an object of string arrays with known keys.
Result<LiveFilter> parse_filter(const boost::json::value& filter);

class LiveClient : public std::enable_shared_from_this<LiveClient> {
 public:
  LiveClient(boost::beast::tcp_stream stream, auth::AccessClaims claims, std::size_t queue_limit);

  websocket::stream<boost::beast::tcp_stream>& socket() { return ws_; }
  const auth::AccessClaims& claims() const { return claims_; }

  // Any thread. Queues the events that pass the filter (or holds them while a replay runs).
  // False when the queue overflowed: the client is being dropped.
  bool deliver(const bus::EventBatch& events);
  // Any thread. Queues one frame regardless of the filter (welcome, heartbeat, echo).
  bool send(Frame frame);
  void set_filter(LiveFilter filter);
  // Replay seam: from hold() on, deliver() keeps events aside; release() queues `replayed`
  // first, then the held events except those whose id was replayed.
  void hold();
  bool release(const std::vector<Frame>& replayed, const std::unordered_set<std::string>& ids);
  // Any thread. Sends a close frame with `code`/`reason` after the frame being written, and
  // closes the socket if that has not happened within a second (a client that does not read).
  // A client dropped for an overflowing queue gets ten seconds instead (push_locked).
  void close(websocket::close_code code, std::string reason);
  bool closing() const;
  // Any thread. Closes the socket now, without a close frame (shutdown of a client already
  // closing, so a dropped slow client does not hold the server's exit for its grace period).
  void abort();

 private:
  bool push_locked(Frame frame);  // false: over the limit
  void kick_locked();
  void write_next();
  void close_on_strand(websocket::close_code code, std::string reason,
                       std::chrono::milliseconds grace);

  websocket::stream<boost::beast::tcp_stream> ws_;
  auth::AccessClaims claims_;
  const std::size_t queue_limit_;
  mutable std::mutex mutex_;
  LiveFilter filter_;
  std::deque<Frame> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool holding_ = false;
  std::vector<bus::EventPtr> held_;
};

}  // namespace honeyman::api::detail
