// GET <prefix>/ws: the WebSocket live feed. The handshake is authenticated (a bad or missing
// token is answered 401 and never upgraded); then the client gets `welcome`, an optional replay
// (?since=<threat id>), and every bus event its filter allows, until it leaves, falls behind
// (dropped with 1013), stops answering pings (dropped), or its token expires or is revoked
// (1008). A user holds at most WS_MAX_CONNECTIONS_PER_USER of them (429 before the upgrade).
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <optional>
#include <unordered_map>

#include "api/detail/common.hpp"
#include "api/detail/live_client.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::api {
namespace beast = boost::beast;
namespace asio = boost::asio;
namespace json = boost::json;
namespace websocket = beast::websocket;
using detail::Frame;
using detail::LiveClient;
using ClientPtr = std::shared_ptr<LiveClient>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using tcp = asio::ip::tcp;
// A client's messages are read this much at a time and assembled in a string that lives only
// while the client sends: a dynamic buffer would be prepared (1.5 KiB) for the read every idle
// client has pending. A subscribe message usually fits in one piece.
constexpr std::size_t kReadPiece = 512;

// honeyman_ws_clients_dropped_total{reason}: clients this instance closed or aborted.
enum class Drop { send_queue_full, no_pong, token_expired, token_revoked };
const std::array<metrics::Counter, 4>& drop_counters() {
  static const auto counters = [] {
    auto family = metrics::counter("honeyman_ws_clients_dropped_total",
                                   "WebSocket clients dropped by the server, by reason.");
    return std::array<metrics::Counter, 4>{
        family.with({{"reason", "send_queue_full"}}), family.with({{"reason", "no_pong"}}),
        family.with({{"reason", "token_expired"}}), family.with({{"reason", "token_revoked"}})};
  }();
  return counters;
}
void count_drop(Drop reason) {
  drop_counters()[static_cast<std::size_t>(reason)].inc();
}
void count_full_queue_drop(std::atomic<std::uint64_t>& dropped) {
  ++dropped;
  count_drop(Drop::send_queue_full);
}
constexpr auto kTokenCheck = std::chrono::seconds(1);
// The kernel's send buffer per socket. Left to autotuning it grows to megabytes, which would
// hide a client that stopped reading from the bounded queue for a long time (and cost memory
// at tens of thousands of sockets); a few frames' worth in flight is all a live feed needs.
constexpr int kSocketSendBuffer = 64 * 1024;

Frame frame_of(const json::object& o) {
  return std::make_shared<const std::string>(to_json_text(o));
}

std::optional<std::string> query_value(const boost::urls::url_view& url, std::string_view key) {
  auto it = url.params().find(key);
  if (it == url.params().end()) return std::nullopt;
  return std::string((*it).value);
}

}  // namespace

struct LiveFeed::Impl : std::enable_shared_from_this<Impl> {
  Impl(LiveConfig c, Services& s, bus::EventBus& b, asio::io_context& context)
      : config(c), services(s), bus(b), io(context), timer(context) {}

  struct Slot;
  // What a session keeps once the handshake is done.
  struct Opened {
    ClientPtr client;
    std::unique_ptr<Slot> slot;
    std::optional<std::string> since;  // normalized
  };
  asio::awaitable<void> session(tcp::socket socket, http::Request request, std::string client);
  asio::awaitable<Opened> open(tcp::socket socket, http::Request request,
                               std::string client_address);
  asio::awaitable<void> refuse(tcp::socket& socket, const http::Request& request,
                               const Error& error);
  asio::awaitable<bool> replay(const ClientPtr& client, const std::string& since);
  asio::awaitable<void> read_loop(const ClientPtr& client);
  void on_text(const ClientPtr& client, std::string_view text);
  // A place among the user's connections, given back when the session ends.
  struct Slot {
    std::shared_ptr<Impl> impl;
    std::string user_id;
    Slot(std::shared_ptr<Impl> i, std::string u) : impl(std::move(i)), user_id(std::move(u)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { impl->release(user_id); }
  };
  std::unique_ptr<Slot> reserve(const std::string& user_id);
  void release(const std::string& user_id);
  void add(const ClientPtr& c) {
    std::lock_guard lock(mutex);
    clients.insert(c);
  }
  void remove(const ClientPtr& c) {
    std::lock_guard lock(mutex);
    clients.erase(c);
  }
  void deliver(const bus::EventBatch& events);
  asio::awaitable<void> tick(std::shared_ptr<Impl> self);
  void check_tokens();
  void heartbeat();

  LiveConfig config;
  Services& services;
  bus::EventBus& bus;
  asio::io_context& io;
  asio::steady_timer timer;
  std::uint64_t subscription = 0;
  mutable std::mutex mutex;  // guards clients and per_user
  std::unordered_set<ClientPtr> clients;
  std::unordered_map<std::string, std::size_t> per_user;  // sessions (reserved or open) per user
  std::atomic<std::uint64_t> delivered{0}, dropped{0};
  std::atomic<bool> stopping{false};
};

std::unique_ptr<LiveFeed::Impl::Slot> LiveFeed::Impl::reserve(const std::string& user_id) {
  std::lock_guard lock(mutex);
  auto& n = per_user[user_id];
  if (n >= config.max_connections_per_user) return nullptr;
  ++n;
  return std::make_unique<Slot>(shared_from_this(), user_id);
}

void LiveFeed::Impl::release(const std::string& user_id) {
  std::lock_guard lock(mutex);
  auto it = per_user.find(user_id);
  if (it != per_user.end() && --it->second == 0) per_user.erase(it);
}

asio::awaitable<void> LiveFeed::Impl::refuse(tcp::socket& socket, const http::Request& request,
                                             const Error& error) {
  beast::tcp_stream stream(std::move(socket));
  auto response = http::error_response(error);
  response.version(request.version());
  response.keep_alive(false);
  response.prepare_payload();
  stream.expires_after(std::chrono::seconds(10));
  co_await beast::http::async_write(stream, response, kTuple);
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

// The handshake runs in open(), whose frame (the request, its URL and token) is freed once it is
// done: this frame lives as long as the client and keeps only what an open client needs.
asio::awaitable<void> LiveFeed::Impl::session(tcp::socket socket, http::Request request,
                                              std::string client_address) {
  auto opened = co_await open(std::move(socket), std::move(request), std::move(client_address));
  const auto& client = opened.client;
  if (!client) co_return;
  client->send(frame_of({{"type", "welcome"},
                         {"message", "Connected to the Honeyman live feed"},
                         {"version", services.config.version}}));
  if (opened.since) client->hold();  // subscribed before the replay reads the store: no gap
  add(client);
  if (!opened.since || co_await replay(client, *opened.since)) co_await read_loop(client);
  remove(client);
  spdlog::debug("ws: {} disconnected", client->claims().username);
}

// Authenticates the upgrade request and makes the WebSocket handshake: the open client, or no
// client when the request was refused (answered here) or the handshake failed.
asio::awaitable<LiveFeed::Impl::Opened> LiveFeed::Impl::open(tcp::socket socket,
                                                             http::Request request,
                                                             std::string client_address) {
  auto url = boost::urls::parse_origin_form(request.target());
  std::optional<std::string> token = url ? query_value(*url, "token") : std::nullopt;
  auto authorization = request[beast::http::field::authorization];
  if (!token && authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "bearer "))
    token = std::string(authorization.substr(7));
  if (!token) {
    auto missing = make_error(Errc::unauthorized, "Not authenticated");
    co_await refuse(socket, request, missing);
    co_return Opened{};
  }
  auto claims = services.auth.authenticate_bearer(*token);
  if (!claims) {
    co_await refuse(socket, request, claims.error());
    co_return Opened{};
  }
  auto since = url ? query_value(*url, "since") : std::nullopt;
  auto normalized = since ? normalize_uuid(*since) : std::nullopt;
  if (since && !normalized) {
    std::vector<FieldError> fields;
    fields.push_back(
        FieldError{{"query", "since"}, "Input should be a valid UUID", "uuid_parsing"});
    auto invalid = validation_error(std::move(fields));
    co_await refuse(socket, request, invalid);
    co_return Opened{};
  }
  auto slot = reserve(claims->user_id);
  if (!slot) {
    auto busy =
        make_error(Errc::rate_limited, "Too many live feed connections for this user (at most " +
                                           std::to_string(config.max_connections_per_user) +
                                           "); close one before opening another");
    busy.retry_after_seconds = 5;
    co_await refuse(socket, request, busy);
    co_return Opened{};
  }
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::send_buffer_size(kSocketSendBuffer), ignored);
  auto client = std::make_shared<LiveClient>(
      std::move(socket), std::move(*claims),
      detail::QueueLimits{config.send_queue_limit, config.send_queue_bytes}, services.clock,
      config.idle_timeout);
  auto& ws = client->socket();
  // Beast's idle timeout counts every byte received, so a peer trickling bytes would be kept
  // forever; the feed's own ping/pong check (check_liveness) replaces it.
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "honeyman"); }));
  ws.read_message_max(config.max_message_bytes);
  auto [ec] = co_await ws.async_accept(request, kTuple);
  if (ec) co_return Opened{};
  spdlog::debug("ws: {} connected ({})", client->claims().username, client_address);
  co_return Opened{std::move(client), std::move(slot), std::move(normalized)};
}

// Replays the stored threats after `since`, then lets the held live events through, minus the
// ones the replay already sent: no gap and no duplicate at the seam.
asio::awaitable<bool> LiveFeed::Impl::replay(const ClientPtr& client, const std::string& since) {
  const int limit = config.replay_limit;
  auto stored = co_await run_blocking(services.pool,
                                      [&] { return services.store.threats_after(since, limit); });
  std::vector<Frame> frames;
  std::unordered_set<std::string> ids;
  if (stored) {
    for (const auto& t : *stored) {
      auto event = bus::threat_event(t, t.created_at);
      frames.push_back(event->frame);
      ids.insert(t.id);
    }
  } else {
    spdlog::warn("ws: replay failed: {}", stored.error().message);
  }
  if (!client->release(frames, ids)) count_full_queue_drop(dropped);
  co_return true;
}

asio::awaitable<void> LiveFeed::Impl::read_loop(const ClientPtr& client) {
  auto& ws = client->socket();
  std::array<char, kReadPiece> piece;
  std::string message;
  for (;;) {
    co_await client->wait_for_room();
    auto [ec, n] = co_await ws.async_read_some(asio::buffer(piece), kTuple);
    if (ec) break;
    if (ws.got_text()) message.append(piece.data(), n);  // a binary message is read and ignored
    if (!ws.is_message_done()) continue;
    if (ws.got_text()) on_text(client, message);
    message.clear();
    // Kept while the client has more bytes waiting (no allocation per message from a busy
    // client, and no freed buffers piling up in a sanitizer's quarantine); given back once it
    // is quiet, so an idle client holds none.
    boost::system::error_code unknown;
    if (ws.next_layer().available(unknown) == 0) std::string().swap(message);
  }
}

// {"type":"subscribe","filter":{...}} replaces the client's filter (answered "subscribed");
// anything else is echoed back, up to echo_max_bytes (escaping control bytes makes an echo up to
// six times its message: longer messages get a short error instead).
void LiveFeed::Impl::on_text(const ClientPtr& client, std::string_view text) {
  boost::system::error_code ec;
  auto parsed = json::parse(text, ec);
  const json::object* o = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
  auto* type = o ? o->if_contains("type") : nullptr;
  if (!type || !type->is_string() || type->as_string() != "subscribe") {
    if (text.size() > config.echo_max_bytes)
      client->send(frame_of(
          {{"type", "error"},
           {"detail", "message too long to echo (" + std::to_string(text.size()) +
                          " bytes; at most " + std::to_string(config.echo_max_bytes) + ")"}}));
    else
      client->send(frame_of({{"type", "echo"}, {"data", text}}));
    return;
  }
  auto* filter_json = o->if_contains("filter");
  auto filter = filter_json ? detail::parse_filter(*filter_json) : Result<detail::LiveFilter>();
  if (!filter) {
    client->send(frame_of({{"type", "error"}, {"detail", filter.error().message}}));
    return;
  }
  client->set_filter(*filter);
  client->send(frame_of({{"type", "subscribed"},
                         {"filter", filter_json ? *filter_json : json::value(json::object{})}}));
}

void LiveFeed::Impl::deliver(const bus::EventBatch& events) {
  std::lock_guard lock(mutex);
  for (const auto& c : clients) {
    if (!c->deliver(events)) count_full_queue_drop(dropped);
  }
  delivered += events.size() * clients.size();
}

// Tokens are checked every second (expiry, and revocations: this instance's at once, other
// instances' within the revocation poll); heartbeats go out every heartbeat_interval. The timer
// only wakes the loop; what is due is read from the injected clock (services.clock), so a test
// with a ManualClock decides when tokens expire and heartbeats fall due.
asio::awaitable<void> LiveFeed::Impl::tick(std::shared_ptr<Impl> self) {
  auto next_heartbeat = services.clock.steady_now() + config.heartbeat_interval;
  while (!stopping) {
    timer.expires_after(kTokenCheck);
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec || stopping) co_return;
    check_tokens();
    if (services.clock.steady_now() >= next_heartbeat) {
      heartbeat();
      next_heartbeat += config.heartbeat_interval;
    }
  }
  (void)self;
}

void LiveFeed::Impl::check_tokens() {
  auto now = services.clock.now();
  std::lock_guard lock(mutex);
  for (const auto& c : clients) {
    if (c->closing()) continue;
    if (!c->check_liveness()) {
      spdlog::debug("ws: {} dropped: no pong within {} s", c->claims().username,
                    config.idle_timeout.count());
      c->abort();
      count_drop(Drop::no_pong);
    } else if (c->claims().expires_at <= now) {
      c->close(websocket::close_code::policy_error, "token expired");
      count_drop(Drop::token_expired);
    } else if (services.auth.is_revoked(c->claims())) {
      c->close(websocket::close_code::policy_error, "token revoked");
      count_drop(Drop::token_revoked);
    }
  }
}

void LiveFeed::Impl::heartbeat() {
  std::lock_guard lock(mutex);
  auto frame = frame_of({{"type", "heartbeat"},
                         {"timestamp", format_timestamp(services.clock.now())},
                         {"connections", clients.size()}});
  for (const auto& c : clients)
    if (!c->send(frame)) count_full_queue_drop(dropped);
}

LiveFeed::LiveFeed(LiveConfig config, Services& services, bus::EventBus& bus, asio::io_context& io)
    : impl_(std::make_shared<Impl>(config, services, bus, io)) {
  drop_counters();  // every reason exposed from the start, at 0
}

LiveFeed::~LiveFeed() {
  impl_->stopping = true;
  if (impl_->subscription) impl_->bus.unsubscribe(impl_->subscription);
}

http::UpgradeHandler LiveFeed::handler() {
  return [impl = impl_](tcp::socket socket, http::Request request,
                        std::string client) -> asio::awaitable<void> {
    return impl->session(std::move(socket), std::move(request), std::move(client));
  };
}

void LiveFeed::start() {
  impl_->subscription =
      impl_->bus.subscribe([impl = impl_.get()](const bus::EventBatch& e) { impl->deliver(e); });
  asio::co_spawn(impl_->timer.get_executor(), impl_->tick(impl_), asio::detached);
}

void LiveFeed::shutdown() {
  impl_->stopping = true;
  asio::post(impl_->timer.get_executor(), [impl = impl_] { impl->timer.cancel(); });
  std::lock_guard lock(impl_->mutex);
  for (const auto& c : impl_->clients) {
    if (c->closing())
      c->abort();
    else
      c->close(websocket::close_code::going_away, "server shutting down");
  }
}

LiveCounters LiveFeed::counters() const {
  std::lock_guard lock(impl_->mutex);
  LiveCounters c{impl_->clients.size(), impl_->delivered.load(), impl_->dropped.load()};
  for (const auto& client : impl_->clients) c.queued_bytes += client->queued_bytes();
  return c;
}

}  // namespace honeyman::api
