#include "api/detail/live_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

namespace honeyman::api::detail {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// How long a close frame may wait behind unread data before the socket is closed. A client
// dropped for being slow gets longer: its close frame sits behind a full socket buffer, and
// reading up to it tells the client why (1013) so it can come back with ?since.
constexpr std::chrono::milliseconds kCloseGrace{1000};
constexpr std::chrono::milliseconds kSlowClientCloseGrace{10000};

bool allowed(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool LiveFilter::matches(const bus::Event& e) const {
  if (!allowed(sensor_id, e.sensor_id)) return false;
  if (e.kind != bus::EventKind::threat) return true;
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
    if (!out) return bad("unknown filter key '" + std::string(key) + "'");
    if (!list.is_array()) return bad("filter." + std::string(key) + " must be an array");
    for (const auto& v : list.as_array()) {
      if (!v.is_string()) return bad("filter." + std::string(key) + " must hold strings");
      std::string s(v.as_string());
      // Severity and detector are stored lower-case; match them as the API does.
      if (key != "sensor_id")
        for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out->push_back(std::move(s));
    }
  }
  return f;
}

LiveClient::LiveClient(boost::beast::tcp_stream stream, auth::AccessClaims claims,
                       std::size_t queue_limit)
    : ws_(std::move(stream)), claims_(std::move(claims)), queue_limit_(queue_limit) {}

bool LiveClient::deliver(const bus::EventBatch& events) {
  std::lock_guard lock(mutex_);
  if (closing_) return true;
  for (const auto& e : events) {
    if (holding_) {
      held_.push_back(e);
      if (held_.size() > queue_limit_) return push_locked(nullptr);
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
  held_.clear();
  kick_locked();
  return true;
}

// Over the limit the client is dropped: its queue is discarded and it is closed with 1013.
bool LiveClient::push_locked(Frame frame) {
  if (frame && queue_.size() < queue_limit_) {
    queue_.push_back(std::move(frame));
    return true;
  }
  closing_ = true;
  queue_.clear();
  held_.clear();
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
    frame = std::move(queue_.front());
    queue_.pop_front();
  }
  ws_.async_write(asio::buffer(*frame),
                  [self = shared_from_this(), frame](boost::system::error_code ec, std::size_t) {
                    if (ec) {
                      std::lock_guard lock(self->mutex_);
                      self->closing_ = true;
                      self->writing_ = false;
                      self->queue_.clear();
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
    queue_.clear();
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
  asio::post(ws_.get_executor(),
             [self = shared_from_this()] { boost::beast::get_lowest_layer(self->ws_).close(); });
}

void LiveClient::close_on_strand(websocket::close_code code, std::string reason,
                                 std::chrono::milliseconds grace) {
  if (!ws_.is_open()) return;
  websocket::close_reason why(code, reason);
  ws_.async_close(why, [self = shared_from_this()](boost::system::error_code) {});
  auto timer = std::make_shared<asio::steady_timer>(ws_.get_executor(), grace);
  timer->async_wait([self = shared_from_this(), timer](boost::system::error_code) {
    boost::beast::get_lowest_layer(self->ws_).close();
  });
}

}  // namespace honeyman::api::detail
