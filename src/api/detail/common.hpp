// Helpers shared by the resource files: query-string reading with FastAPI-style errors, and
// the small conversions every handler needs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.hpp"

namespace honeyman::api::detail {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;

// Reads typed query parameters, collecting every problem as a FieldError {"query", name}.
class QueryReader {
 public:
  explicit QueryReader(const boost::urls::params_view& params) : params_(params) {}

  std::optional<std::string> text(std::string_view name);
  int integer(std::string_view name, int fallback, int min, int max);
  std::optional<bool> boolean(std::string_view name);
  std::optional<Timestamp> timestamp(std::string_view name);
  // Every value of a repeatable parameter; "a,b" counts as two values.
  std::vector<std::string> list(std::string_view name);
  void fail(std::string_view name, std::string msg, std::string type);
  // Errc::invalid_input with every collected problem, or success.
  Status finish();

 private:
  const boost::urls::params_view& params_;
  std::vector<FieldError> errors_;
};

// Reads an optional string member of a JSON body object; records type errors.
std::optional<std::string> string_member(const json::object& body, std::string_view key,
                                         std::vector<FieldError>& errors, bool required,
                                         std::size_t max_length = 256);
// Records {"body", key} extra_forbidden for every key not in `allowed`.
void refuse_unknown_keys(const json::object& body, std::initializer_list<std::string_view> allowed,
                         std::vector<FieldError>& errors);
// The body as an object, or the error response to send.
Result<json::object> body_object(const RequestContext& ctx);

// A path parameter that must be a sensor id / a UUID; 422 {"path", name} otherwise.
Result<std::string> sensor_id_param(const RequestContext& ctx);
Result<std::string> uuid_param(const RequestContext& ctx, std::string_view name);

// The caller as the audit log names it: username and role (or sensor id and "sensor"), and the
// client address.
store::Actor actor_of(const RequestContext& ctx);

// Tells every live-feed client (on every instance) that a threat's triage changed.
void publish_threat_update(Services& s, const domain::Threat& threat, std::string_view by);

json::object message(std::string_view text);
Response ok(const json::value& body);
Response created(const json::value& body);

}  // namespace honeyman::api::detail
