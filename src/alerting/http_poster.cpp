// HttpPoster: each POST is one coroutine on the poster's single I/O thread, with its own
// connection and one deadline timer. The timer, stop() and the coroutine's end all go through
// finish(), which runs `done` at most once; whoever comes first wins and the others find the
// exchange finished. A peer that never answers holds only its own socket until the deadline.
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "alerting/alerting.hpp"

namespace honeyman::alerting::poster {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
namespace {

constexpr std::uint64_t kResponseBodyLimit = 64 * 1024;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Target {
  bool tls = false;
  std::string host;         // for DNS, SNI and certificate checks (IPv6 without brackets)
  std::string port;         // "80" / "443" when the URL names none
  std::string host_header;  // as the URL writes it, with a port if it names one
  std::string path;         // origin-form: path and query
};

std::optional<Target> parse_target(std::string_view url, std::string& why) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    why = "bad URL: " + parsed.error().message();
    return std::nullopt;
  }
  const auto& u = *parsed;
  Target t;
  if (u.scheme_id() == boost::urls::scheme::https)
    t.tls = true;
  else if (u.scheme_id() != boost::urls::scheme::http) {
    why = "bad URL: the scheme is not http or https";
    return std::nullopt;
  }
  t.host = u.host_address();
  if (t.host.empty()) {
    why = "bad URL: no host";
    return std::nullopt;
  }
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = u.encoded_host_and_port();
  t.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());
  return t;
}

http::request<http::string_body> make_request(const PostRequest& request, const Target& target) {
  http::request<http::string_body> req{http::verb::post, target.path, 11};
  req.set(http::field::host, target.host_header);
  req.set(http::field::user_agent, "honeyman");
  req.set(http::field::content_type, "application/json");  // unless the caller names one
  for (const auto& [name, value] : request.headers) req.set(name, value);
  // One connection per POST: the poster never reuses it, so the peer need not keep it.
  req.set(http::field::connection, "close");
  req.body() = request.body;
  req.prepare_payload();
  return req;
}

}  // namespace

// One POST in flight. Touched only on the poster's thread.
struct Exchange {
  Exchange(asio::io_context& io, PostRequest r, std::function<void(PostResult)> d)
      : request(std::move(r)), done(std::move(d)), resolver(io), stream(io), timer(io) {}
  PostRequest request;
  std::function<void(PostResult)> done;  // empty once called
  std::uint64_t id = 0;
  int status = 0;  // set once the response's header is in
  tcp::resolver resolver;
  beast::tcp_stream stream;
  std::optional<ssl::stream<beast::tcp_stream&>> tls;
  asio::steady_timer timer;
};

}  // namespace honeyman::alerting::poster

namespace honeyman::alerting {
using poster::Exchange;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

struct HttpPoster::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  ssl::context tls_context{ssl::context::tls_client};
  std::thread thread;

  std::mutex mutex;  // guards `stopping` (post() and stop() come from any thread)
  bool stopping = false;
  // The poster's thread only:
  std::unordered_map<std::uint64_t, std::weak_ptr<Exchange>> in_flight;
  std::uint64_t next_id = 0;

  Impl() {
    tls_context.set_default_verify_paths();
    tls_context.set_verify_mode(ssl::verify_peer);
    thread = std::thread([this] { io.run(); });
  }

  void finish(Exchange& ex, PostResult result) {
    if (!ex.done) return;
    auto done = std::move(ex.done);
    ex.done = nullptr;
    in_flight.erase(ex.id);
    ex.timer.cancel();
    done(std::move(result));
  }

  // Ends the exchange now with `why`; the coroutine then wakes up to closed sockets and leaves.
  void abort(Exchange& ex, std::string why) {
    finish(ex, PostResult{0, std::move(why)});
    ex.resolver.cancel();
    beast::error_code ignored;
    ex.stream.socket().close(ignored);
  }

  void start(PostRequest request, std::function<void(PostResult)> done);
  asio::awaitable<void> run(std::shared_ptr<Exchange> ex, poster::Target target);
  template <class Stream>
  asio::awaitable<void> exchange(Exchange& ex, Stream& stream, const poster::Target& target);
};

void HttpPoster::Impl::start(PostRequest request, std::function<void(PostResult)> done) {
  std::string why;
  auto target = poster::parse_target(request.url, why);
  if (!target) {
    done(PostResult{0, why});
    return;
  }
  auto ex = std::make_shared<Exchange>(io, std::move(request), std::move(done));
  ex->id = next_id++;
  in_flight.emplace(ex->id, ex);
  ex->timer.expires_after(ex->request.timeout);
  ex->timer.async_wait([this, weak = std::weak_ptr(ex)](beast::error_code ec) {
    auto ex = weak.lock();
    if (ec || !ex) return;
    // A status already received is the answer, even if its body never finished.
    if (ex->status != 0) finish(*ex, PostResult{ex->status, {}});
    abort(*ex, "timeout");
  });
  asio::co_spawn(io, run(ex, std::move(*target)), [this, ex](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& error) {
      abort(*ex, std::string("internal: ") + error.what());
    } catch (...) {
      abort(*ex, "internal: unknown exception");
    }
  });
}

asio::awaitable<void> HttpPoster::Impl::run(std::shared_ptr<Exchange> ex, poster::Target target) {
  auto [rec, endpoints] =
      co_await ex->resolver.async_resolve(target.host, target.port, poster::kNoThrow);
  if (!ex->done) co_return;
  if (rec) co_return abort(*ex, "resolve: " + rec.message());
  auto [cec, endpoint] = co_await ex->stream.async_connect(endpoints, poster::kNoThrow);
  if (!ex->done) co_return;
  if (cec) co_return abort(*ex, "connect: " + cec.message());
  if (!target.tls) co_return co_await exchange(*ex, ex->stream, target);

  auto& tls = ex->tls.emplace(ex->stream, tls_context);
  beast::error_code ip_error;
  asio::ip::make_address(target.host, ip_error);
  // SNI names a host, never an address (RFC 6066); the certificate is checked either way.
  if (ip_error && !SSL_set_tlsext_host_name(tls.native_handle(), target.host.c_str()))
    co_return abort(*ex, "TLS: cannot set the server name");
  tls.set_verify_callback(ssl::host_name_verification(target.host));
  auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, poster::kNoThrow);
  if (!ex->done) co_return;
  if (hec) co_return abort(*ex, "TLS: " + hec.message());
  co_await exchange(*ex, tls, target);
}

template <class Stream>
asio::awaitable<void> HttpPoster::Impl::exchange(Exchange& ex, Stream& stream,
                                                 const poster::Target& target) {
  auto req = poster::make_request(ex.request, target);
  auto [wec, written] = co_await http::async_write(stream, req, poster::kNoThrow);
  if (!ex.done) co_return;
  if (wec) co_return abort(ex, "write: " + wec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(poster::kResponseBodyLimit);
  auto [hec, header_bytes] =
      co_await http::async_read_header(stream, buffer, parser, poster::kNoThrow);
  if (!ex.done) co_return;
  if (hec) co_return abort(ex, "read: " + hec.message());
  ex.status = static_cast<int>(parser.get().result_int());
  // The body is read only so the peer sees a complete exchange; it is discarded, and a body
  // that is too long or cut short does not change the answer.
  co_await http::async_read(stream, buffer, parser, poster::kNoThrow);
  finish(ex, PostResult{ex.status, {}});
  beast::error_code ignored;
  ex.stream.socket().close(ignored);
}

HttpPoster::HttpPoster() : impl_(std::make_unique<Impl>()) {}
HttpPoster::~HttpPoster() {
  stop();
}

void HttpPoster::post(PostRequest request, std::function<void(PostResult)> done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      asio::post(impl_->io,
                 [impl = impl_.get(), r = std::move(request), d = std::move(done)]() mutable {
                   impl->start(std::move(r), std::move(d));
                 });
      return;
    }
  }
  done(PostResult{0, "stopped"});  // no thread left to run it on
}

void HttpPoster::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    // Queued after every post() that got in before: those start, then are stopped here.
    asio::post(impl_->io, [impl = impl_.get()] {
      std::vector<std::shared_ptr<Exchange>> all;
      for (auto& [id, weak] : impl->in_flight)
        if (auto ex = weak.lock()) all.push_back(std::move(ex));
      for (auto& ex : all) impl->abort(*ex, "stopped");
      impl->work.reset();
    });
  }
  // From a `done` (the poster's own thread) the thread ends by itself once this returns.
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id())
    impl_->thread.join();
}

}  // namespace honeyman::alerting
