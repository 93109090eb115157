#include "support/http_client.hpp"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>

namespace honeyman::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Reply failure(std::string_view what, const boost::system::error_code& ec) {
  return Reply{0, std::string(what) + ": " + ec.message(), {}};
}

// With HONEYMAN_RECORD_RESPONSES=<dir> (set by tests/integration/CMakeLists.txt), every answer
// the suites receive is written to <dir>/responses-<pid>.jsonl, for tests/openapi to validate
// against the OpenAPI document. A few of each (method, path, status) are enough; a cap bounds
// the files of the suites that send thousands of requests.
class ResponseRecorder {
 public:
  static ResponseRecorder& instance() {
    static ResponseRecorder recorder;
    return recorder;
  }
  void record(std::string_view method, std::string_view target, const Reply& reply) {
    if (!enabled_ || reply.status == 0) return;
    std::string path(target.substr(0, target.find('?')));
    std::lock_guard lock(mutex_);
    auto& seen = seen_[std::string(method) + " " + path + " " + std::to_string(reply.status)];
    if (seen >= 2 || written_ >= 4000) return;
    ++seen;
    ++written_;
    auto type = reply.header("content-type");
    boost::json::object line{
        {"method", method}, {"path", path}, {"status", reply.status}, {"content_type", type}};
    if (type.rfind("application/json", 0) == 0 && reply.body.size() <= 512 * 1024)
      line["body"] = reply.body;
    out_ << boost::json::serialize(line) << '\n';
    out_.flush();
  }

 private:
  ResponseRecorder() {
    const char* dir = std::getenv("HONEYMAN_RECORD_RESPONSES");
    if (!dir || !*dir) return;
    out_.open(std::string(dir) + "/responses-" + std::to_string(getpid()) + ".jsonl",
              std::ios::app);
    enabled_ = out_.is_open();
  }
  bool enabled_ = false;
  std::mutex mutex_;
  std::ofstream out_;
  std::map<std::string, int> seen_;
  int written_ = 0;
};

}  // namespace

boost::json::value Reply::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string Reply::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds timeout{10'000};
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  boost::system::error_code connect() {
    stream.emplace(io);
    buffer.clear();
    stream->expires_after(timeout);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) stream->connect(endpoints, ec);
    if (ec) {
      stream.reset();
      return ec;
    }
    boost::system::error_code ignored;
    stream->socket().set_option(tcp::no_delay(true), ignored);
    return ec;
  }

  Reply read_reply(boost::system::error_code& ec, bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);  // a HEAD answer announces a length but carries no body
    stream->expires_after(timeout);
    http::read(*stream, buffer, parser, ec);
    Reply reply;
    if (ec) return reply;
    auto res = parser.release();
    reply.status = static_cast<int>(res.result_int());
    reply.body = std::move(res.body());
    for (const auto& f : res) {
      auto& value = reply.headers[lower(f.name_string())];
      value += (value.empty() ? "" : ", ") + std::string(f.value());
    }
    if (!res.keep_alive()) stream.reset();
    return reply;
  }

  Reply send(const http::request<http::string_body>& req) {
    // A kept-alive connection may have been closed by the server meanwhile: retry once fresh.
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = stream.has_value();
      if (!stream)
        if (auto ec = connect()) return failure("connect failed", ec);
      boost::system::error_code write_ec, ec;
      stream->expires_after(timeout);
      http::write(*stream, req, write_ec);
      // Even when the write failed the server may have answered early and stopped reading
      // (413 for an oversized body): that answer is still in our receive buffer.
      Reply reply = read_reply(ec, req.method() == http::verb::head);
      if (!ec) return reply;
      stream.reset();
      if (!reused) return failure("request failed", write_ec ? write_ec : ec);
    }
    return Reply{0, "request failed twice", {}};
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout = timeout;
}

Reply HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                          const HeaderList& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.keep_alive(true);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() && req[http::field::content_type].empty())
    req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();
  auto reply = impl_->send(req);
  ResponseRecorder::instance().record(method, target, reply);
  return reply;
}

Reply HttpClient::get(std::string_view target, const HeaderList& headers) {
  return request("GET", target, {}, headers);
}
Reply HttpClient::post(std::string_view target, const boost::json::value& body,
                       const HeaderList& headers) {
  return request("POST", target, boost::json::serialize(body), headers);
}
Reply HttpClient::put(std::string_view target, const boost::json::value& body,
                      const HeaderList& headers) {
  return request("PUT", target, boost::json::serialize(body), headers);
}
Reply HttpClient::del(std::string_view target, const HeaderList& headers) {
  return request("DELETE", target, {}, headers);
}

Reply HttpClient::raw(std::string_view bytes) {
  impl_->stream.reset();
  if (auto ec = impl_->connect()) return failure("connect failed", ec);
  boost::system::error_code write_ec, ec;
  impl_->stream->expires_after(impl_->timeout);
  asio::write(*impl_->stream, asio::buffer(bytes.data(), bytes.size()), write_ec);
  Reply reply = impl_->read_reply(ec);  // the server may answer before reading everything
  impl_->stream.reset();
  if (ec) return failure("raw request failed", write_ec ? write_ec : ec);
  return reply;
}

HeaderList bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}
HeaderList api_key(std::string_view key) {
  return {{"X-API-Key", std::string(key)}};
}

}  // namespace honeyman::testing
