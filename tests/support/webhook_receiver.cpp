#include "support/webhook_receiver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace honeyman::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Named rather than anonymous: the test-support library is a unity build.
namespace receiver {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}
}  // namespace receiver

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (receiver::iequal(key, name)) return value;
  return {};
}

struct WebhookReceiver::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::uint16_t port = acceptor.local_endpoint().port();
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<ReceivedRequest> received;
  std::function<int(std::size_t)> policy = [](std::size_t) { return 200; };
  std::size_t accepted = 0;
  bool stopped = false;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket socket, std::size_t connection);
  // Records the request; returns the answer's status (or kHang).
  int record(const http::request<http::string_body>& req, std::size_t connection);
};

asio::awaitable<void> WebhookReceiver::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(receiver::kNoThrow);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    std::size_t connection;
    {
      std::lock_guard lock(mutex);
      connection = accepted++;
    }
    asio::co_spawn(io, serve(std::move(socket), connection), asio::detached);
  }
}

int WebhookReceiver::Impl::record(const http::request<http::string_body>& req,
                                  std::size_t connection) {
  ReceivedRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& field : req) r.headers.emplace_back(field.name_string(), field.value());
  r.body = req.body();
  r.received_steady = std::chrono::steady_clock::now();
  r.received_system = std::chrono::system_clock::now();
  r.connection = connection;
  std::function<int(std::size_t)> choose;
  std::size_t index;
  {
    std::lock_guard lock(mutex);
    index = received.size();
    received.push_back(std::move(r));
    choose = policy;
  }
  arrived.notify_all();
  return choose(index);
}

asio::awaitable<void> WebhookReceiver::Impl::serve(tcp::socket socket, std::size_t connection) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, receiver::kNoThrow);
    if (ec) co_return;  // end_of_stream, a reset, or stop()
    const auto& req = parser.get();
    int status = record(req, connection);
    if (status == kHang) {
      // Held until stop() destroys this coroutine with the io_context.
      asio::steady_timer forever(io, asio::steady_timer::time_point::max());
      co_await forever.async_wait(receiver::kNoThrow);
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"received":true})";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, written] = co_await http::async_write(stream, res, receiver::kNoThrow);
    if (wec || !req.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

WebhookReceiver::WebhookReceiver() : impl_(std::make_unique<Impl>()) {
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  stop();
}

std::uint16_t WebhookReceiver::port() const {
  return impl_->port;
}

std::string WebhookReceiver::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

void WebhookReceiver::set_status(int status) {
  set_policy([status](std::size_t) { return status; });
}

void WebhookReceiver::set_policy(std::function<int(std::size_t index)> policy) {
  std::lock_guard lock(impl_->mutex);
  impl_->policy = std::move(policy);
}

void WebhookReceiver::set_hang(bool hang) {
  set_status(hang ? kHang : 200);
}

std::vector<ReceivedRequest> WebhookReceiver::wait_for(std::size_t n,
                                                       std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  impl_->arrived.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
  return impl_->received;
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

std::size_t WebhookReceiver::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

void WebhookReceiver::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  // Connections (hanging ones too) close when the io_context destroys their coroutines.
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  impl_->thread.join();
}

}  // namespace honeyman::testing
