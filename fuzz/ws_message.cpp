// A WebSocket text message from a live-feed client (api::LiveFeed's on_text): JSON, and for
// {"type":"subscribe","filter":{...}} the filter (api/detail/live_client.hpp), which then
// decides which events reach the client. on_text itself is a member of the feed (it sends the
// answer); its steps are repeated here around the same parse_filter.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/detail/live_client.hpp"
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {
namespace {

constexpr std::string_view kWsTarget = "ws_message";

bus::Event ws_event(bus::EventKind kind, std::string severity, std::string detector) {
  bus::Event e;
  e.kind = kind;
  e.id = "0190d2a0-0000-7000-8000-000000000000";
  e.sensor_id = "sensor-a";
  e.severity = std::move(severity);
  e.detector_type = std::move(detector);
  e.frame = std::make_shared<const std::string>("{}");
  return e;
}

void check_ws_filter(const api::detail::LiveFilter& f) {
  for (const auto* list : {&f.severity, &f.detector_type})
    for (const auto& s : *list)
      for (char c : s) support::check(!(c >= 'A' && c <= 'Z'), kWsTarget, "filter not lower-case");
  // An empty list allows everything; a status event is filtered by its sensor only.
  const bool sensor_allowed =
      f.sensor_id.empty() ||
      std::find(f.sensor_id.begin(), f.sensor_id.end(), "sensor-a") != f.sensor_id.end();
  support::check(f.matches(ws_event(bus::EventKind::sensor_status, "", "")) == sensor_allowed,
                 kWsTarget, "status event filtered by something else than its sensor");
  auto threat = ws_event(bus::EventKind::threat, "high", "usb");
  if (f.severity.empty() && f.detector_type.empty() && f.sensor_id.empty())
    support::check(f.matches(threat), kWsTarget, "an empty filter drops an event");
}

}  // namespace

int ws_message(const std::uint8_t* data, std::size_t size) {
  auto text = support::as_text(data, size);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text, ec);
  const boost::json::object* o = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
  const auto* type = o ? o->if_contains("type") : nullptr;
  if (!type || !type->is_string() || type->as_string() != "subscribe") {
    // Echoed back as {"type":"echo","data":<text>}: a JSON string of any bytes the client sent.
    boost::json::object echo{{"type", "echo"}, {"data", text}};
    support::check(!boost::json::serialize(echo).empty(), kWsTarget, "empty echo");
    return 0;
  }
  const auto* filter_json = o->if_contains("filter");
  if (!filter_json) return 0;
  auto filter = api::detail::parse_filter(*filter_json);
  if (!filter) {
    support::check(!filter.error().message.empty(), kWsTarget, "filter refused without a reason");
    return 0;
  }
  check_ws_filter(*filter);
  return 0;
}

}  // namespace honeyman::fuzz
