#include "http/detail/framing.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <vector>

namespace honeyman::http::detail {
namespace {

using field = boost::beast::http::field;

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §5.6.2 tchar.
bool is_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

// The transfer codings of every Transfer-Encoding field, in order, without their parameters;
// empty list elements are dropped (RFC 9110 §5.6.1). nullopt when an element is not a token.
std::optional<std::vector<std::string_view>> codings_of(const Request& header) {
  std::vector<std::string_view> codings;
  auto [begin, end] = header.equal_range(field::transfer_encoding);
  for (auto it = begin; it != end; ++it) {
    std::string_view value = it->value();
    for (std::size_t start = 0; start <= value.size();) {
      auto comma = std::min(value.find(',', start), value.size());
      auto element = trim_space(value.substr(start, comma - start));
      start = comma + 1;
      if (element.empty()) continue;
      auto coding = trim_space(element.substr(0, element.find(';')));
      if (!is_token(coding)) return std::nullopt;
      codings.push_back(coding);
    }
  }
  return codings;
}

FramingRefusal bad(std::string detail) {
  return {StatusCode::bad_request, std::move(detail)};
}

}  // namespace

std::optional<FramingRefusal> check_framing(const Request& header) {
  if (header.count(field::transfer_encoding) == 0) return std::nullopt;
  if (header.version() < 11) return bad("Transfer-Encoding is not allowed in an HTTP/1.0 request");
  if (header.count(field::content_length) > 0)
    return bad("Transfer-Encoding and Content-Length together are not allowed");
  auto codings = codings_of(header);
  if (!codings) return bad("Malformed Transfer-Encoding");
  auto is_chunked = [](std::string_view c) { return boost::beast::iequals(c, "chunked"); };
  if (codings->empty() || !is_chunked(codings->back()))
    return bad("Transfer-Encoding must end with chunked");
  if (std::count_if(codings->begin(), codings->end(), is_chunked) > 1)
    return bad("Transfer-Encoding must name chunked once");
  if (codings->size() > 1)
    return FramingRefusal{StatusCode::not_implemented,
                          "Transfer coding '" + std::string(codings->front()) +
                              "' is not supported; send the body with chunked alone"};
  return std::nullopt;
}

}  // namespace honeyman::http::detail
