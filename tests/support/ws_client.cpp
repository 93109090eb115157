#include "support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <deque>

namespace honeyman::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  std::string host;
  std::uint16_t port;
  int receive_buffer = 0;
  std::string source;
  asio::io_context io;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer buffer;
  std::deque<std::string> inbox;
  bool reading = false, is_closed = false;
  std::string refusal;

  void start_read() {
    reading = true;
    ws->async_read(buffer, [this](boost::system::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        is_closed = true;
        return;
      }
      inbox.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      start_read();
    });
  }
};

WsClient::WsClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}
WsClient::~WsClient() = default;
WsClient::WsClient(WsClient&&) noexcept = default;
WsClient& WsClient::operator=(WsClient&&) noexcept = default;

void WsClient::set_receive_buffer(int bytes) {
  impl_->receive_buffer = bytes;
}
void WsClient::set_source_address(std::string address) {
  impl_->source = std::move(address);
}
const std::string& WsClient::refusal_body() const {
  return impl_->refusal;
}

int WsClient::connect(std::string_view target) {
  auto& d = *impl_;
  boost::system::error_code ec;
  d.ws = std::make_unique<websocket::stream<beast::tcp_stream>>(d.io);
  auto& socket = beast::get_lowest_layer(*d.ws).socket();
  socket.open(tcp::v4(), ec);
  if (ec) return 0;
  if (d.receive_buffer > 0)
    socket.set_option(asio::socket_base::receive_buffer_size(d.receive_buffer), ec);
  if (!d.source.empty()) socket.bind(tcp::endpoint(asio::ip::make_address(d.source), 0), ec);
  if (ec) return 0;
  socket.connect(tcp::endpoint(asio::ip::make_address(d.host), d.port), ec);
  if (ec) return 0;
  websocket::response_type response;
  beast::get_lowest_layer(*d.ws).expires_after(std::chrono::seconds(10));
  d.ws->handshake(response, d.host + ":" + std::to_string(d.port), target, ec);
  beast::get_lowest_layer(*d.ws).expires_never();
  if (ec) {
    d.refusal = response.body();
    d.is_closed = true;
    return response.result_int() == 101 ? 0 : static_cast<int>(response.result_int());
  }
  return 101;
}

std::optional<boost::json::value> WsClient::next(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.ws) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!d.reading && !d.is_closed) d.start_read();
  while (d.inbox.empty() && !d.is_closed) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    d.io.restart();
    d.io.run_one_for(deadline - now);
  }
  if (d.inbox.empty()) return std::nullopt;
  auto text = std::move(d.inbox.front());
  d.inbox.pop_front();
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec) return boost::json::value(text);
  return value;
}

std::optional<boost::json::value> WsClient::next_of_type(std::string_view type,
                                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = next(left);
    if (!message) return std::nullopt;
    if (message->is_object()) {
      auto* t = message->as_object().if_contains("type");
      if (t && t->is_string() && t->as_string() == type) return message;
    }
  }
}

bool WsClient::send(std::string_view text) {
  if (!impl_->ws || impl_->is_closed) return false;
  boost::system::error_code ec;
  impl_->ws->text(true);
  impl_->ws->write(asio::buffer(text.data(), text.size()), ec);
  return !ec;
}

bool WsClient::closed() const {
  return impl_->is_closed;
}
int WsClient::close_code() const {
  return impl_->ws ? static_cast<int>(impl_->ws->reason().code) : 0;
}
std::string WsClient::close_reason() const {
  return impl_->ws ? std::string(impl_->ws->reason().reason.c_str()) : std::string();
}

void WsClient::close() {
  if (!impl_->ws) return;
  boost::system::error_code ec;
  beast::get_lowest_layer(*impl_->ws).socket().close(ec);
  impl_->is_closed = true;
}

}  // namespace honeyman::testing
