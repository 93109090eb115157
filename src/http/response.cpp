// The one error convention on the wire: Errc -> HTTP status and the FastAPI-compatible
// {"detail": ...} body; JSON request bodies parsed with limits.
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>

#include "http/http.hpp"

namespace honeyman::http {
namespace json = boost::json;
using field = boost::beast::http::field;

namespace {

constexpr std::size_t kMaxJsonDepth = 64;  // deeper nesting is an attack, not a threat event

std::optional<std::int64_t> as_index(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// FastAPI writes list indices in `loc` as integers: ["body", "data", 3, "severity"].
json::array loc_json(const std::vector<std::string>& loc) {
  json::array out;
  out.reserve(loc.size());
  for (const auto& part : loc) {
    if (auto index = as_index(part))
      out.emplace_back(*index);
    else
      out.emplace_back(part);
  }
  return out;
}

json::value detail_json(const Error& error) {
  if (error.code != Errc::invalid_input || error.fields.empty()) return json::string(error.message);
  json::array detail;
  detail.reserve(error.fields.size());
  for (const auto& f : error.fields)
    detail.push_back(json::object{{"loc", loc_json(f.loc)}, {"msg", f.msg}, {"type", f.type}});
  return detail;
}

// "application/json", "Application/JSON; charset=utf-8": the media type without parameters.
bool is_json_media_type(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return boost::beast::iequals(type, "application/json");
}

}  // namespace

StatusCode http_status(Errc code) {
  switch (code) {
    case Errc::ok:
      return StatusCode::ok;
    case Errc::invalid_input:
      return StatusCode::unprocessable_entity;
    case Errc::bad_request:
      return StatusCode::bad_request;
    case Errc::unauthorized:
      return StatusCode::unauthorized;
    case Errc::forbidden:
      return StatusCode::forbidden;
    case Errc::not_found:
      return StatusCode::not_found;
    case Errc::conflict:
      return StatusCode::conflict;
    case Errc::payload_too_large:
      return StatusCode::payload_too_large;
    case Errc::rate_limited:
      return StatusCode::too_many_requests;
    case Errc::unavailable:
      return StatusCode::service_unavailable;
    case Errc::internal:
      return StatusCode::internal_server_error;
  }
  return StatusCode::internal_server_error;
}

Response json_response(StatusCode status, const json::value& body) {
  Response res{status, 11};
  res.set(field::content_type, "application/json");
  res.body() = to_json_text(body);
  res.prepare_payload();
  return res;
}

Response error_response(const Error& error) {
  auto res = json_response(http_status(error.code), json::object{{"detail", detail_json(error)}});
  if (error.code == Errc::rate_limited)
    res.set(field::retry_after, std::to_string(std::max(1, error.retry_after_seconds)));
  if (error.code == Errc::unauthorized) res.set(field::www_authenticate, "Bearer");
  return res;
}

Result<json::value> parse_json_body(const Request& request) {
  auto type = request[field::content_type];
  if (!type.empty() && !is_json_media_type(type))
    return make_error(Errc::bad_request, "Content-Type must be application/json");
  const auto& body = request.body();
  if (body.empty()) return validation_error({{{"body"}, "Field required", "missing"}});
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::parser parser({}, options);
  boost::system::error_code ec;
  // write() takes the whole document: trailing garbage is an error too. On error it returns
  // the offset where parsing stopped, which FastAPI reports as the second `loc` entry.
  std::size_t offset = parser.write(body.data(), body.size(), ec);
  if (ec)
    return validation_error(
        {{{"body", std::to_string(offset)}, "JSON decode error", "json_invalid"}});
  return parser.release();
}

}  // namespace honeyman::http
