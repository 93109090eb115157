// One WebSocket client of the live feed: its socket, its filter and its bounded send queue.
// The bus dispatch thread queues frames (deliver); the connection's strand writes them one at a
// time. A client whose queue overflows (in frames or in bytes) is dropped, so it never holds up
// anyone else; while its queue is half full nothing more is read from it (backpressure).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <mutex>
#include <unordered_set>
#include <vector>

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

// Whether a client still reads, proved only by pongs that carry the payload of one of the
// server's last two pings: data the client sends proves nothing (a peer that trickles bytes and
// never reads must not be kept forever). Pure; not thread-safe (LiveClient guards it).
class Liveness {
 public:
  using Time = ::honeyman::Clock::SteadyTime;
  enum class Action { none, ping, drop };
  // `idle`: a ping goes out every idle / 2; no proof for `idle` since `start` or the last proof
  // means drop.
  Liveness(Time start, std::chrono::milliseconds idle);
  Action due(Time now) const;
  void sent(std::string payload, Time now);  // a ping with `payload` went out
  // True (and the client counts as alive from `now`) when `payload` is a recent ping's.
  bool pong(std::string_view payload, Time now);

 private:
  std::chrono::milliseconds idle_;
  Time last_proof_, next_ping_;
  std::string current_, previous_;
};

// First in, first out, holding no memory while empty: std::deque allocates 576 bytes before its
// first element, a cost every idle client of the live feed would pay (issue #17). Storage grows
// with the longest queue and is given back whenever the queue drains.
class FrameQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  void push_back(Frame frame);
  Frame pop_front();  // not empty()
  void clear();

 private:
  std::vector<Frame> items_;
  std::size_t head_ = 0;  // items_[0, head_) are taken
};

// Bounds of one client's send queue; over either one the client is dropped (close 1013). A
// frame is always taken into an empty queue, so one large frame never drops a client.
struct QueueLimits {
  std::size_t frames = 1024;
  std::size_t bytes = 1024 * 1024;
};

class LiveClient : public std::enable_shared_from_this<LiveClient> {
 public:
  using Socket = websocket::stream<boost::asio::ip::tcp::socket>;
  // `socket`: the connection, before the WebSocket handshake (which the caller makes on
  // socket()). A plain socket rather than a beast::tcp_stream: the WebSocket stream keeps its
  // own timeouts, and tcp_stream's two timers would cost every client ~0.5 KiB for nothing.
  // `clock` (steady time) runs the ping/pong liveness; it must outlive the client.
  LiveClient(boost::asio::ip::tcp::socket socket, auth::AccessClaims claims, QueueLimits limits,
             const ::honeyman::Clock& clock, std::chrono::milliseconds idle_timeout);

  Socket& socket() { return ws_; }
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
  // closing, so a dropped slow client does not hold the server's exit for its grace period; a
  // client that stopped answering pings, which would not read a close frame either).
  void abort();
  // Any thread (the feed's 1 s tick). Sends a ping when one is due; false when the client has
  // not answered any for the idle timeout (the caller aborts it).
  bool check_liveness();
  // On the strand, before each read: returns once the send queue is at most half full (or the
  // client is closing), so a client that does not read what it is sent is not read from either.
  boost::asio::awaitable<void> wait_for_room();
  std::size_t queued_bytes() const;

 private:
  bool push_locked(Frame frame);  // false: over the limit
  bool fits_locked(std::size_t bytes) const;
  bool has_room_locked() const;
  void clear_locked();
  void kick_locked();
  void write_next();
  void close_on_strand(websocket::close_code code, std::string reason,
                       std::chrono::milliseconds grace);
  void close_socket();

  Socket ws_;
  auth::AccessClaims claims_;
  const QueueLimits limits_;
  const ::honeyman::Clock& clock_;
  boost::asio::steady_timer room_;  // wakes wait_for_room() (strand only)
  mutable std::mutex mutex_;
  LiveFilter filter_;
  FrameQueue queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool holding_ = false;
  bool pinging_ = false;
  bool waiting_for_room_ = false;
  std::vector<bus::EventPtr> held_;
  std::size_t held_bytes_ = 0;
  Liveness liveness_;
};

}  // namespace honeyman::api::detail
