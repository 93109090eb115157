#include "api/detail/live_client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "metrics/metrics.hpp"

namespace honeyman::api::detail {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// honeyman_ws_messages_sent_total: frames written to WebSocket clients (every kind).
const metrics::Counter& sent_counter() {
  static const auto sent =
      metrics::counter("honeyman_ws_messages_sent_total", "WebSocket frames written to clients.")
          .with({});
  return sent;
}

// How long a close frame may wait behind unread data before the socket is closed. A client
// dropped for being slow gets longer: its close frame sits behind a full socket buffer, and
// reading up to it tells the client why (1013) so it can come back with ?since.
constexpr std::chrono::milliseconds kCloseGrace{1000};
constexpr std::chrono::milliseconds kSlowClientCloseGrace{10000};
// How often a paused reader looks at its queue again even if no write woke it (a safety net).
constexpr std::chrono::milliseconds kRoomRecheck{1000};
// Filter values are sensor ids, severities and detector types: short, printable. Bounding them
// bounds the `subscribed` answer, which repeats the filter.
constexpr std::size_t kMaxFilterValue = 128;
constexpr std::size_t kMaxQuotedKey = 32;
// FrameQueue reclaims taken slots from this many on (fewer are not worth moving the rest).
constexpr std::size_t kCompactAt = 32;

bool printable(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A client-chosen key, cut short and stripped of control bytes, for an error message.
std::string quoted_key(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, kMaxQuotedKey)) out += printable({&c, 1}) ? c : '?';
  return "'" + out + (key.size() > kMaxQuotedKey ? "...'" : "'");
}

bool allowed(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool LiveFilter::matches(const bus::Event& e) const {
  // A bulk update names no threat: every client hears of it, to reload what it shows.
  if (e.kind == bus::EventKind::threat_update && e.id.empty()) return true;
  if (e.kind == bus::EventKind::alert) return true;  // alerts reach every dashboard
  if (!allowed(sensor_id, e.sensor_id)) return false;
  if (e.kind == bus::EventKind::sensor_status) return true;
  return allowed(severity, e.severity) && allowed(detector_type, e.detector_type);
}

Result<LiveFilter> parse_filter(const json::value& value) {
  auto bad = [](std::string why) { return make_error(Errc::invalid_input, std::move(why)); };
  if (!value.is_object()) return bad("filter must be an object");
  LiveFilter f;
  for (const auto& [key, list] : value.as_object()) {
    std::vector<std::string>* out = key == "severity"        ? &f.severity
                                    : key == "sensor_id"     ? &f.sensor_id
                                    : key == "detector_type" ? &f.detector_type
                                                             : nullptr;
    if (!out) return bad("unknown filter key " + quoted_key(key));
    if (!list.is_array()) return bad("filter." + std::string(key) + " must be an array");
    for (const auto& v : list.as_array()) {
      if (!v.is_string()) return bad("filter." + std::string(key) + " must hold strings");
      std::string s(v.as_string());
      if (s.size() > kMaxFilterValue || !printable(s))
        return bad("filter." + std::string(key) + " values must be at most 128 characters, " +
                   "without control characters");
      // Severity and detector are stored lower-case; match them as the API does.
      if (key != "sensor_id")
        for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out->push_back(std::move(s));
    }
  }
  return f;
}

void FrameQueue::push_back(Frame frame) {
  // Taken slots are reclaimed once they are at least half the storage, so a queue that never
  // drains completely does not grow without bound; each frame is moved O(1) times on average.
  if (head_ >= kCompactAt && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  items_.push_back(std::move(frame));
}

Frame FrameQueue::pop_front() {
  Frame frame = std::move(items_[head_++]);
  if (empty()) clear();
  return frame;
}

void FrameQueue::clear() {
  std::vector<Frame>().swap(items_);
  head_ = 0;
}

Liveness::Liveness(Time start, std::chrono::milliseconds idle)
    : idle_(idle), last_proof_(start), next_ping_(start + idle / 2) {}

Liveness::Action Liveness::due(Time now) const {
  if (now - last_proof_ >= idle_) return Action::drop;
  return now >= next_ping_ ? Action::ping : Action::none;
}

void Liveness::sent(std::string payload, Time now) {
  previous_ = std::move(current_);
  current_ = std::move(payload);
  next_ping_ = now + idle_ / 2;
}

bool Liveness::pong(std::string_view payload, Time now) {
  bool ours =
      (!current_.empty() && payload == current_) || (!previous_.empty() && payload == previous_);
  if (ours) last_proof_ = now;
  return ours;
}

LiveClient::LiveClient(asio::ip::tcp::socket socket, auth::AccessClaims claims, QueueLimits limits,
                       const ::honeyman::Clock& clock, std::chrono::milliseconds idle_timeout)
    : ws_(std::move(socket)),
      claims_(std::move(claims)),
      limits_(limits),
      clock_(clock),
      room_(ws_.get_executor()),
      liveness_(clock.steady_now(), idle_timeout) {
  // Runs inside async_read on the strand; the stream is a member, so `this` outlives it.
  ws_.control_callback([this](websocket::frame_type kind, boost::beast::string_view payload) {
    if (kind != websocket::frame_type::pong) return;
    std::lock_guard lock(mutex_);
    liveness_.pong(std::string_view(payload.data(), payload.size()), clock_.steady_now());
  });
}

bool LiveClient::deliver(const bus::EventBatch& events) {
  std::lock_guard lock(mutex_);
  if (closing_) return true;
  for (const auto& e : events) {
    if (holding_) {
      held_.push_back(e);
      held_bytes_ += e->frame->size();
      if (held_.size() > limits_.frames || held_bytes_ > limits_.bytes) return push_locked(nullptr);
      continue;
    }
    if (filter_.matches(*e) && !push_locked(e->frame)) return false;
  }
  kick_locked();
  return true;
}

bool LiveClient::send(Frame frame) {
  std::lock_guard lock(mutex_);
  if (closing_) return true;
  if (!push_locked(std::move(frame))) return false;
  kick_locked();
  return true;
}

void LiveClient::set_filter(LiveFilter filter) {
  std::lock_guard lock(mutex_);
  filter_ = std::move(filter);
}

void LiveClient::hold() {
  std::lock_guard lock(mutex_);
  holding_ = true;
}

bool LiveClient::release(const std::vector<Frame>& replayed,
                         const std::unordered_set<std::string>& ids) {
  std::lock_guard lock(mutex_);
  holding_ = false;
  if (closing_) return true;
  for (const auto& f : replayed)
    if (!push_locked(f)) return false;
  for (const auto& e : held_)
    if (!(e->kind == bus::EventKind::threat && ids.contains(e->id)) && filter_.matches(*e) &&
        !push_locked(e->frame))
      return false;
  std::vector<bus::EventPtr>().swap(held_);  // the replay's storage, not kept for the session
  held_bytes_ = 0;
  kick_locked();
  return true;
}

bool LiveClient::fits_locked(std::size_t bytes) const {
  if (queue_.size() >= limits_.frames) return false;
  return queue_.empty() || queued_bytes_ + bytes <= limits_.bytes;
}

bool LiveClient::has_room_locked() const {
  return queue_.size() <= limits_.frames / 2 && queued_bytes_ <= limits_.bytes / 2;
}

void LiveClient::clear_locked() {
  queue_.clear();
  queued_bytes_ = 0;
  held_.clear();
  held_bytes_ = 0;
}

std::size_t LiveClient::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

// Over a limit the client is dropped: its queue is discarded and it is closed with 1013.
bool LiveClient::push_locked(Frame frame) {
  if (frame && fits_locked(frame->size())) {
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    return true;
  }
  closing_ = true;
  clear_locked();
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_on_strand(websocket::close_code::try_again_later, "too slow: send queue full",
                          kSlowClientCloseGrace);
  });
  return false;
}

void LiveClient::kick_locked() {
  if (writing_ || queue_.empty() || closing_) return;
  writing_ = true;
  asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
}

// On the strand. One write at a time; each completion takes the next frame.
void LiveClient::write_next() {
  Frame frame;
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty() || closing_) {
      writing_ = false;
      return;
    }
    frame = queue_.pop_front();
    queued_bytes_ -= frame->size();
    if (waiting_for_room_ && has_room_locked()) {
      waiting_for_room_ = false;
      room_.cancel();
    }
  }
  ws_.async_write(asio::buffer(*frame),
                  [self = shared_from_this(), frame](boost::system::error_code ec, std::size_t) {
                    if (!ec) sent_counter().inc();
                    if (ec) {
                      std::lock_guard lock(self->mutex_);
                      self->closing_ = true;
                      self->writing_ = false;
                      self->clear_locked();
                      self->room_.cancel();
                      return;
                    }
                    self->write_next();
                  });
}

void LiveClient::close(websocket::close_code code, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    closing_ = true;
    clear_locked();
  }
  asio::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
    self->close_on_strand(code, r, kCloseGrace);
  });
}

bool LiveClient::closing() const {
  std::lock_guard lock(mutex_);
  return closing_;
}

void LiveClient::abort() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    clear_locked();
  }
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->room_.cancel();
    self->close_socket();
  });
}

bool LiveClient::check_liveness() {
  std::lock_guard lock(mutex_);
  if (closing_) return true;
  auto now = clock_.steady_now();
  auto action = liveness_.due(now);
  if (action == Liveness::Action::drop) return false;
  // One ping at a time (Beast's rule); one stuck behind a full socket means no pong is coming.
  if (action == Liveness::Action::ping && !pinging_) {
    pinging_ = true;
    auto payload = random_token(12);
    liveness_.sent(payload, now);
    asio::post(ws_.get_executor(), [self = shared_from_this(), payload] {
      self->ws_.async_ping(websocket::ping_data(payload.data(), payload.size()),
                           [self](boost::system::error_code) {
                             std::lock_guard lock(self->mutex_);
                             self->pinging_ = false;
                           });
    });
  }
  return true;
}

asio::awaitable<void> LiveClient::wait_for_room() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (closing_ || has_room_locked()) co_return;
      waiting_for_room_ = true;
    }
    room_.expires_after(kRoomRecheck);
    co_await room_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void LiveClient::close_on_strand(websocket::close_code code, std::string reason,
                                 std::chrono::milliseconds grace) {
  room_.cancel();
  if (!ws_.is_open()) return;
  websocket::close_reason why(code, reason);
  ws_.async_close(why, [self = shared_from_this()](boost::system::error_code) {});
  auto timer = std::make_shared<asio::steady_timer>(ws_.get_executor(), grace);
  timer->async_wait(
      [self = shared_from_this(), timer](boost::system::error_code) { self->close_socket(); });
}

void LiveClient::close_socket() {
  boost::system::error_code ignored;  // the error_code overload: close() would throw
  boost::beast::get_lowest_layer(ws_).close(ignored);
}

}  // namespace honeyman::api::detail
