// Socket I/O only: the accept loop, one coroutine per connection (on its own strand), read
// limits and timeouts, graceful shutdown. Complete requests go to detail::RequestProcessor.
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "http/detail/client_address.hpp"
#include "http/detail/connection_table.hpp"
#include "http/detail/framing.hpp"
#include "http/detail/request_processor.hpp"
#include "http/detail/wire.hpp"

namespace honeyman::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using field = beast::http::field;
using ErrorCode = boost::system::error_code;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kReadChunk = 4096;
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 8 * 1024 * 1024;
constexpr auto kDrainPoll = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr auto kLogInterval = std::chrono::seconds(1);

using detail::Connection;
using ConnectionPtr = std::shared_ptr<Connection>;

// A repeated warning (accept failures, connections refused under load) is logged at most once a
// second; each line counts the events since the previous one, so a flood costs one line a second.
class LogThrottle {
 public:
  // True when a line is due for this event; `count` is then the events it stands for.
  bool due(std::size_t& count) {
    ++pending_;
    auto now = std::chrono::steady_clock::now();
    if (logged_ && now - last_ < kLogInterval) return false;
    logged_ = true;
    last_ = now;
    count = pending_;
    pending_ = 0;
    return true;
  }

 private:
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_;
  std::size_t pending_ = 0;
};

// A request the reader refused, answered with this response before the connection closes.
Response refusal(StatusCode status, std::string detail) {
  auto res = json_response(status, boost::json::object{{"detail", std::move(detail)}});
  res.keep_alive(false);
  return res;
}

const auto& kHttpErrors = beast::http::make_error_code(beast::http::error::bad_method).category();

// Errors that mean the peer went away or was too slow: close without answering.
bool is_disconnect(const ErrorCode& ec) {
  return ec == beast::http::error::end_of_stream || ec == beast::http::error::partial_message ||
         ec == beast::error::timeout || ec.category() != kHttpErrors;
}

std::optional<Response> refusal_for(const ErrorCode& ec, std::size_t body_limit) {
  if (ec == beast::http::error::body_limit)
    return refusal(StatusCode::payload_too_large,
                   "Request body too large (limit " + std::to_string(body_limit) + " bytes)");
  if (ec == beast::http::error::header_limit)
    return refusal(StatusCode::request_header_fields_too_large, "Request headers too large");
  if (is_disconnect(ec)) return std::nullopt;
  return refusal(StatusCode::bad_request, "Malformed HTTP request");
}

// An IPv4 client of a dual-stack socket counts as its IPv4 address. Null when the peer is gone.
std::optional<detail::Address> peer_of(const tcp::socket& socket) {
  ErrorCode ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return detail::unmapped(endpoint.address());
}

detail::Client client_at(const detail::Address& address) {
  return {address.to_string(), detail::limit_key(address)};
}

// The answer to a connection over the caps with nothing to shed, serialised once.
std::string busy_answer() {
  auto res = json_response(StatusCode::service_unavailable,
                           boost::json::object{{"detail", "Too many connections"}});
  res.set(field::retry_after, "1");
  res.keep_alive(false);
  res.prepare_payload();
  std::string out;
  detail::serialize_head(res, out);
  return out + res.body();
}

// Written without waiting (a new socket's empty send buffer takes it whole). What the client
// already sent is read and dropped first, so closing sends FIN rather than a RST that could
// destroy the answer before the client reads it; a request still on its way may still meet one.
void refuse_connection(tcp::socket& socket, const std::string& answer) {
  ErrorCode ec;
  socket.non_blocking(true, ec);
  std::array<char, 4096> sink;
  for (int i = 0; i < 4 && !ec; ++i) socket.read_some(asio::buffer(sink), ec);
  socket.write_some(asio::buffer(answer), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

bool out_of_descriptors(const ErrorCode& ec) {
  return ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system;
}

bool expects_continue(const Request& request) {
  return beast::iequals(request[field::expect], "100-continue");
}

using RequestParser = beast::http::request_parser<beast::http::string_body>;

struct ReadOutcome {
  std::optional<Request> request;   // the request, or:
  std::optional<Response> refusal;  // the answer before closing (none: close quietly)
};

// Feeds the parser what is already buffered, up to the end of the header or of the message. A
// small request usually arrives in one segment, so this often completes it without another
// asynchronous read (one scheduler round trip and one timer fewer per request). need_more is not
// an error here: the caller reads on.
ErrorCode parse_buffered(RequestParser& parser, beast::flat_buffer& buffer, bool header_only) {
  ErrorCode ec;
  auto done = [&] { return header_only ? parser.is_header_done() : parser.is_done(); };
  while (buffer.size() > 0 && !done()) {
    auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == beast::http::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(const ServerConfig& c, const Router& r, Authenticator& a, asio::io_context& context)
      : config(c),
        io(context),
        acceptor(asio::make_strand(context)),
        processor(config, r, a, make_limiter()),
        table(config.max_connections, config.max_connections_per_client),
        busy(busy_answer()) {}

  std::unique_ptr<detail::RateLimiter> make_limiter() {
    auto owned = std::make_unique<detail::LocalRateLimiter>();
    limiter = owned.get();
    return owned;
  }

  asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  asio::awaitable<void> accept_failed(const ErrorCode& ec);
  void admit(const std::shared_ptr<Impl>& self, tcp::socket socket);
  asio::awaitable<void> session(std::shared_ptr<Impl> self, tcp::socket socket, ConnectionPtr conn,
                                detail::Address peer);
  detail::Client client_of(const Request& request, const detail::Address& peer,
                           bool via_proxy) const;
  asio::awaitable<bool> wait_for_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                         const ConnectionPtr& conn, bool first);
  asio::awaitable<ReadOutcome> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer);
  asio::awaitable<bool> send(beast::tcp_stream& stream, const Response& response,
                             std::string& head);
  asio::awaitable<bool> send_streamed(beast::tcp_stream& stream, detail::Answer& answer,
                                      std::string& head);
  asio::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data, bool chunked);
  asio::awaitable<void> linger(beast::tcp_stream& stream);
  void track(const ConnectionPtr& conn, beast::tcp_stream& stream);
  void untrack(const ConnectionPtr& conn);
  static void close_if_idle(const ConnectionPtr& conn);
  void close_connections(bool idle_only);
  void drain(std::chrono::steady_clock::time_point deadline, bool forced,
             std::function<void()> done);
  void drain_later(std::chrono::steady_clock::time_point deadline, bool forced,
                   std::function<void()> done);
  std::size_t open() const;

  ServerConfig config;
  asio::io_context& io;
  tcp::acceptor acceptor;  // on its own strand: shutdown() closes it from any thread
  // Owned by `processor`; declared before it because make_limiter() sets it while it is built.
  detail::LocalRateLimiter* limiter = nullptr;
  detail::RequestProcessor processor;
  detail::ConnectionTable table;  // admission: every connection, WebSocket ones included
  const std::string busy;         // the answer to a connection refused by the caps
  // On the acceptor's strand only.
  LogThrottle accept_errors, overload;
  std::size_t shed_since_log = 0;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;                       // guards connections
  std::unordered_set<ConnectionPtr> connections;  // what shutdown waits for (not upgraded ones)
  std::vector<std::pair<std::string, UpgradeHandler>> upgrades;  // set before start()

  const UpgradeHandler* upgrade_for(const Request& request) const {
    if (upgrades.empty() || !beast::websocket::is_upgrade(request)) return nullptr;
    auto target = boost::urls::parse_origin_form(request.target());
    if (!target) return nullptr;
    for (const auto& [path, handler] : upgrades)
      if (target->encoded_path() == path) return &handler;
    return nullptr;
  }
};

namespace {

// Releases a connection's place in the table however its session ends; an upgraded
// connection's place moves to the coroutine that runs its handler (UpgradeRun).
class TableSlot {
 public:
  TableSlot(detail::ConnectionTable& table, ConnectionPtr conn)
      : table_(&table), conn_(std::move(conn)) {}
  TableSlot(TableSlot&& other) noexcept : table_(other.table_), conn_(std::move(other.conn_)) {}
  TableSlot& operator=(TableSlot&&) = delete;
  ~TableSlot() {
    if (conn_) table_->release(conn_);
  }

 private:
  detail::ConnectionTable* table_;
  ConnectionPtr conn_;
};

// The completion of an upgrade handler's coroutine: gives the connection's place back. Declared
// in this order, the slot is released while `impl` (which owns the table) is still held.
template <class Impl>
struct UpgradeRun {
  std::shared_ptr<Impl> impl;
  TableSlot slot;
  void operator()(const std::exception_ptr&) const {}  // as asio::detached: nothing to report
};

}  // namespace

asio::awaitable<void> Server::Impl::accept_loop(std::shared_ptr<Impl> self) {
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      co_await accept_failed(ec);
      continue;
    }
    admit(self, std::move(socket));
  }
}

// Typically out of file descriptors (the caps leave room, but other parts of the process use
// them too): shed an idle connection to get one back, and pause instead of spinning on the error.
asio::awaitable<void> Server::Impl::accept_failed(const ErrorCode& ec) {
  std::size_t count = 0;
  if (accept_errors.due(count))
    spdlog::warn("accept failed: {} ({} time(s) since the last report; {} connections open)",
                 ec.message(), count, table.size());
  if (out_of_descriptors(ec))
    if (auto victim = table.shed_oldest()) close_if_idle(victim);
  asio::steady_timer pause(acceptor.get_executor(), kAcceptBackoff);
  co_await pause.async_wait(kTuple);
}

// Runs on the acceptor's strand.
void Server::Impl::admit(const std::shared_ptr<Impl>& self, tcp::socket socket) {
  auto peer = peer_of(socket);
  if (!peer) return;  // reset before we got to it; the socket closes here
  const bool via_proxy = detail::is_trusted(*peer, config.trusted_proxies);
  auto conn = std::make_shared<Connection>(via_proxy ? std::string() : detail::limit_key(*peer),
                                           socket.get_executor());
  auto admission = table.admit(conn);
  for (const auto& victim : admission.shed) close_if_idle(victim);
  shed_since_log += admission.shed.size();
  if (!admission.admitted) {
    refuse_connection(socket, busy);
    std::size_t refused = 0;
    if (overload.due(refused))
      spdlog::warn(
          "connection limits: refused {} and shed {} idle connection(s) since the last report "
          "({} open; at most {}, {} per client)",
          refused, std::exchange(shed_since_log, 0), table.size(), config.max_connections,
          config.max_connections_per_client);
    return;
  }
  ErrorCode ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto strand = socket.get_executor();
  asio::co_spawn(strand, session(self, std::move(socket), std::move(conn), *peer), asio::detached);
}

// `self`, as a coroutine parameter, lives in the frame: it keeps the Impl alive.
asio::awaitable<void> Server::Impl::session(std::shared_ptr<Impl> self, tcp::socket socket,
                                            ConnectionPtr conn, detail::Address peer) {
  TableSlot slot{table, conn};
  const bool via_proxy = conn->client_key.empty();
  beast::tcp_stream stream(std::move(socket));
  track(conn, stream);
  beast::flat_buffer buffer;  // reused by every request of the connection
  std::string head;           // likewise, for the response head
  bool refused = false;
  for (bool first = true;; first = false) {
    if (!co_await wait_for_request(stream, buffer, conn, first)) break;
    auto read = co_await read_request(stream, buffer);
    if (!read.request) {
      refused = read.refusal.has_value();
      if (refused) co_await send(stream, *read.refusal, head);
      break;
    }
    const auto client = client_of(*read.request, peer, via_proxy);
    if (const auto* upgrade = upgrade_for(*read.request)) {
      untrack(conn);
      // Not awaited here: this frame, its read buffer and the stream's timers would stay
      // allocated for as long as the upgraded connection lives (hours, at 10,000s of clients).
      auto executor = stream.get_executor();
      asio::co_spawn(executor,
                     (*upgrade)(stream.release_socket(), std::move(*read.request), client.address),
                     UpgradeRun<Impl>{std::move(self), std::move(slot)});
      co_return;
    }
    auto answer = co_await processor.handle(*read.request, client);
    // HTTP/1.0 has no chunking: a streamed body ends with the connection.
    const bool keep = read.request->keep_alive() && !stopping && !conn->shed &&
                      !(answer.stream && read.request->version() < 11);
    answer.response.keep_alive(keep);
    const bool sent = answer.stream ? co_await send_streamed(stream, answer, head)
                                    : co_await send(stream, answer.response, head);
    if (!sent || !keep) break;
  }
  if (refused) co_await linger(stream);
  ErrorCode ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  untrack(conn);
}

// The client a request counts as: the peer, or the address a trusted proxy forwarded for.
detail::Client Server::Impl::client_of(const Request& request, const detail::Address& peer,
                                       bool via_proxy) const {
  if (!via_proxy) return client_at(peer);
  auto client = client_at(detail::forwarded_client(peer, request, config.trusted_proxies));
  client.via_trusted_proxy = true;
  return client;
}

// Waits for the first bytes of the next request: header_timeout on a new connection (a client
// that connects and says nothing is not waited for), idle_timeout between keep-alive requests.
// Meanwhile the connection is idle: shutdown, or the caps making room, may close it. False:
// close quietly (timeout, peer gone, shed, or the server is shutting down).
asio::awaitable<bool> Server::Impl::wait_for_request(beast::tcp_stream& stream,
                                                     beast::flat_buffer& buffer,
                                                     const ConnectionPtr& conn, bool first) {
  if (buffer.size() > 0) co_return true;
  if (stopping || !table.set_idle(conn, true)) co_return false;
  conn->reading_idle = true;  // set on the strand with the checks: a cancel from now on is seen
  stream.expires_after(first ? config.header_timeout : config.idle_timeout);
  auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kTuple);
  conn->reading_idle = false;
  table.set_idle(conn, false);
  if (ec) co_return false;
  buffer.commit(n);
  co_return true;
}

// Reads one request within header_timeout (headers and body together), enforcing the header
// and body limits and the framing rules (detail/framing.hpp) before any of the body is read.
// Answers "Expect: 100-continue" so clients such as curl send the body at once.
asio::awaitable<ReadOutcome> Server::Impl::read_request(beast::tcp_stream& stream,
                                                        beast::flat_buffer& buffer) {
  RequestParser parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(config.body_limit);
  auto ec = parse_buffered(parser, buffer, true);
  std::size_t n = 0;
  stream.expires_after(config.header_timeout);
  if (!ec && !parser.is_header_done())
    std::tie(ec, n) = co_await beast::http::async_read_header(stream, buffer, parser, kTuple);
  if (ec) co_return ReadOutcome{std::nullopt, refusal_for(ec, config.body_limit)};
  if (auto framing = detail::check_framing(parser.get()))
    co_return ReadOutcome{std::nullopt, refusal(framing->status, std::move(framing->detail))};
  ec = parse_buffered(parser, buffer, false);
  if (!ec && !parser.is_done()) {
    if (expects_continue(parser.get()))
      std::tie(ec, n) = co_await asio::async_write(
          stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
    if (!ec) std::tie(ec, n) = co_await beast::http::async_read(stream, buffer, parser, kTuple);
  }
  if (ec) co_return ReadOutcome{std::nullopt, refusal_for(ec, config.body_limit)};
  co_return ReadOutcome{parser.release(), std::nullopt};
}

// The head goes into the connection's reused string; the body is sent from the response as is.
// idle_timeout bounds the whole write: a client that stops reading is dropped.
asio::awaitable<bool> Server::Impl::send(beast::tcp_stream& stream, const Response& response,
                                         std::string& head) {
  detail::serialize_head(response, head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body())};
  stream.expires_after(config.idle_timeout);
  auto [ec, n] = co_await asio::async_write(stream, buffers, kTuple);
  co_return !ec;
}

// The head, then each chunk the producer makes, one at a time: the producer is asked for the
// next chunk only once the previous one is in the socket, so memory stays at one chunk however
// slowly the client reads. idle_timeout bounds each write. A producer error can only abort the
// connection: it is reset (SO_LINGER 0), so the client sees the body cut short (no final
// 0-length chunk), never a clean end.
asio::awaitable<bool> Server::Impl::send_streamed(beast::tcp_stream& stream, detail::Answer& answer,
                                                  std::string& head) {
  const bool chunked = answer.response.version() >= 11;
  std::uint64_t bytes = 0;
  bool ok = co_await send(stream, answer.response, head);
  std::string chunk;
  while (ok) {
    chunk.clear();
    Status made;
    try {
      made = co_await answer.stream(chunk);
    } catch (const std::exception& e) {
      made = make_error(Errc::internal, e.what());
    } catch (...) {
      made = make_error(Errc::internal, "non-standard exception");
    }
    if (!made) {
      spdlog::warn("streamed response aborted after {} bytes: {}", bytes, made.error().message);
      ErrorCode ec;
      stream.socket().set_option(asio::socket_base::linger(true, 0), ec);
      stream.socket().close(ec);
      ok = false;
      break;
    }
    if (chunk.empty()) {
      if (chunked) ok = co_await write_chunk(stream, {}, true);
      break;
    }
    bytes += chunk.size();
    ok = co_await write_chunk(stream, chunk, chunked);
  }
  answer.stream = nullptr;  // ends the producer's state before the request is logged
  if (answer.finished) answer.finished(bytes);
  co_return ok;
}

// One chunk with its framing (size line, data, CRLF); empty data: the last chunk "0\r\n\r\n".
asio::awaitable<bool> Server::Impl::write_chunk(beast::tcp_stream& stream, std::string_view data,
                                                bool chunked) {
  std::array<char, 20> size{};
  std::size_t size_len = 0;
  if (chunked) {
    auto end = std::to_chars(size.data(), size.data() + 16, data.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    size_len = static_cast<std::size_t>(end - size.data());
  }
  constexpr std::string_view kCrlf = "\r\n";
  std::array<asio::const_buffer, 3> buffers{
      asio::buffer(size.data(), size_len), asio::buffer(data.data(), data.size()),
      chunked ? asio::buffer(kCrlf.data(), kCrlf.size()) : asio::const_buffer{}};
  stream.expires_after(config.idle_timeout);
  auto [ec, n] = co_await asio::async_write(stream, buffers, kTuple);
  co_return !ec;
}

// After refusing a request the client may still be sending it (an oversized body). Closing a
// socket with unread input makes the kernel send RST, which can destroy the refusal before the
// client reads it; so stop sending, then read and discard for a bounded time and amount.
asio::awaitable<void> Server::Impl::linger(beast::tcp_stream& stream) {
  ErrorCode ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTimeout);
  std::array<char, 8192> sink;
  for (std::size_t total = 0; total < kLingerBytes;) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
    if (rec) break;
    total += n;
  }
}

void Server::Impl::track(const ConnectionPtr& conn, beast::tcp_stream& stream) {
  conn->stream = &stream;
  std::lock_guard lock(mutex);
  connections.insert(conn);
}

void Server::Impl::untrack(const ConnectionPtr& conn) {
  conn->stream = nullptr;
  std::lock_guard lock(mutex);
  connections.erase(conn);
}

std::size_t Server::Impl::open() const {
  std::lock_guard lock(mutex);
  return connections.size();
}

// A shed connection: cancel its wait for a request, on its strand. If a request arrived in the
// meantime, its session answers it and then closes (Connection::shed).
void Server::Impl::close_if_idle(const ConnectionPtr& conn) {
  asio::post(conn->strand, [conn] {
    if (conn->stream && conn->reading_idle) conn->stream->cancel();
  });
}

// Runs on each connection's strand, where its stream lives. Idle ones have their pending read
// cancelled; a forced close also closes busy sockets, so their final write fails at once.
void Server::Impl::close_connections(bool idle_only) {
  std::lock_guard lock(mutex);
  for (const auto& conn : connections)
    asio::post(conn->strand, [conn, idle_only] {
      if (!conn->stream) return;
      ErrorCode ec;
      if (conn->reading_idle) conn->stream->cancel();
      if (!idle_only) conn->stream->socket().close(ec);
    });
}

// Polls until every connection has closed. At the deadline the rest are force-closed and, one
// poll later, `done` runs even if a handler is still busy (it can no longer answer anyway).
void Server::Impl::drain(std::chrono::steady_clock::time_point deadline, bool forced,
                         std::function<void()> done) {
  if (open() == 0 || (forced && std::chrono::steady_clock::now() >= deadline)) return done();
  if (std::chrono::steady_clock::now() >= deadline) {
    spdlog::warn("shutdown: force-closing {} connection(s) after the grace period", open());
    close_connections(false);
    forced = true;
  }
  drain_later(deadline, forced, std::move(done));
}

void Server::Impl::drain_later(std::chrono::steady_clock::time_point deadline, bool forced,
                               std::function<void()> done) {
  auto timer = std::make_shared<asio::steady_timer>(acceptor.get_executor(), kDrainPoll);
  timer->async_wait([self = shared_from_this(), timer, deadline, forced,
                     done = std::move(done)](const ErrorCode&) mutable {
    self->drain(deadline, forced, std::move(done));
  });
}

namespace {

Result<tcp::endpoint> resolve(asio::io_context& io, const ServerConfig& config) {
  ErrorCode ec;
  auto address = asio::ip::make_address(config.host, ec);
  if (!ec) return tcp::endpoint(address, config.port);
  tcp::resolver resolver(io);
  auto found =
      resolver.resolve(config.host, std::to_string(config.port), tcp::resolver::passive, ec);
  if (ec || found.empty())
    return make_error(Errc::invalid_input, "cannot resolve HOST '" + config.host + "'");
  return found.begin()->endpoint();
}

}  // namespace

Server::Server(const ServerConfig& config, const Router& router, Authenticator& authenticator,
               asio::io_context& io)
    : impl_(std::make_shared<Impl>(config, router, authenticator, io)) {}

// Stops accepting; connections still open keep the Impl alive until they end.
Server::~Server() {
  impl_->stopping = true;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    ErrorCode ec;
    impl->acceptor.close(ec);
  });
}

Result<std::uint16_t> Server::listen() {
  auto endpoint = resolve(impl_->io, impl_->config);
  if (!endpoint) return endpoint.error();
  auto& acceptor = impl_->acceptor;
  ErrorCode ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ErrorCode ignored;
    acceptor.close(ignored);
    return make_error(Errc::unavailable, "cannot listen on " + impl_->config.host + ":" +
                                             std::to_string(impl_->config.port) + ": " +
                                             ec.message());
  }
  return acceptor.local_endpoint().port();
}

void Server::add_upgrade(std::string path, UpgradeHandler handler) {
  impl_->upgrades.emplace_back(std::move(path), std::move(handler));
}

void Server::start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(impl_), asio::detached);
}

void Server::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_, grace, done = std::move(done)] {
    impl->stopping = true;
    ErrorCode ec;
    impl->acceptor.close(ec);
    impl->close_connections(true);
    // First check one poll later: the idle connections just cancelled need a moment to close.
    impl->drain_later(std::chrono::steady_clock::now() + grace, false, done);
  });
}

std::size_t Server::open_connections() const {
  return impl_->open();
}

void Server::track_rate_usage() {
  impl_->limiter->track_usage();
}

std::vector<RateUsage> Server::take_rate_usage() {
  return impl_->limiter->take_usage();
}

void Server::add_rate_usage(const std::vector<RateUsage>& usage) {
  for (const auto& u : usage) impl_->limiter->add_usage(u.key, u.per_minute, u.count);
}

}  // namespace honeyman::http
