// The field agent's threat format, as deployed sensors send it (SPEC §5, tests/wire/agent-*).
#include <utility>

#include "domain/detail/threat.hpp"

namespace honeyman::domain::detail {
namespace json = boost::json;

namespace {

constexpr std::string_view kAgentKeys[] = {
    "timestamp",  "sensor_id",        "sensor_name", "source",   "threat_type", "threat_score",
    "risk_level", "threats_detected", "message",     "raw_data", "metadata",    "geolocation",
    "city",       "country"};

constexpr std::pair<std::string_view, std::string_view> kDetectorClasses[] = {
    {"BleDetector", "ble"},         {"UsbDetector", "usb"},         {"WifiDetector", "wifi"},
    {"NetworkDetector", "network"}, {"AirDropDetector", "airdrop"}, {"AirdropDetector", "airdrop"}};

// The agent names detectors by class; a class missing from the table (one added to the agent
// later) is assumed to follow the same "<Name>Detector" pattern.
std::string detector_from_source(std::string_view source) {
  for (auto [cls, name] : kDetectorClasses)
    if (source == cls) return std::string(name);
  constexpr std::string_view kSuffix = "Detector";
  if (source.size() >= kSuffix.size() && source.substr(source.size() - kSuffix.size()) == kSuffix)
    source.remove_suffix(kSuffix.size());
  return to_lower_ascii(source);
}

void read_source(ObjectReader& r, Threat& t) {
  auto source = r.string("source", true, kMaxTextChars);
  if (!source) return;
  std::string detector = detector_from_source(*source);
  if (detector.empty() || utf8_length(detector) > 64) {
    r.fail("source", "Value error, source should name a detector class, e.g. 'BleDetector'",
           "value_error");
    return;
  }
  t.detector_type = std::move(detector);
}

void read_agent_rules(ObjectReader& r, Threat& t) {
  auto names = r.strings("threats_detected", kMaxListItems, 1, kMaxTextChars);
  if (!names) return;
  for (auto& name : *names) t.matched_rules.push_back(json::object{{"name", std::move(name)}});
}

// Lat/lon go to the threat's columns; the whole object (accuracy, source, anything else the
// agent adds) is kept in raw_event so no location detail is lost.
void read_geolocation(ObjectReader& r, Threat& t) {
  const json::object* geo = r.object("geolocation", false);
  if (!geo) return;
  ObjectReader g(*geo, r.loc("geolocation"), r.errors());
  std::size_t before = r.errors().size();
  auto lat = g.number("lat", false, kLatitudeRange);
  auto lon = g.number("lon", false, kLongitudeRange);
  g.number("accuracy", false, kNonNegative);
  g.string("source", false, 64);
  if (r.errors().size() != before) return;
  if (lat.has_value() != lon.has_value()) {
    r.fail("geolocation", "Value error, lat and lon must be given together", "value_error");
    return;
  }
  t.latitude = lat;
  t.longitude = lon;
  t.raw_event["geolocation"] = *geo;
}

std::optional<std::string> short_string(const json::object& raw, std::string_view key,
                                        std::size_t max_chars) {
  const json::value* v = raw.if_contains(key);
  if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
  if (utf8_length(v->get_string()) > max_chars) return std::nullopt;
  return std::string(v->get_string());
}

// Columns the feed and filters use, lifted from raw_data when the agent happens to carry them
// there. Best effort: raw_data is free-form, so a value of the wrong shape is simply not lifted.
void lift_from_raw_data(const json::object& raw, Threat& t) {
  t.device_name = short_string(raw, "device_name", kMaxTextChars);
  t.device_mac = short_string(raw, "mac_address", 64);
  t.src_host = short_string(raw, "src_ip", kMaxTextChars);
  const json::value* port = raw.if_contains("dst_port");
  if (port && port->is_int64() && port->get_int64() >= 0 && port->get_int64() <= 65535)
    t.dst_port = static_cast<int>(port->get_int64());
}

// raw_data becomes raw_event; message and metadata are kept inside it (SPEC §5).
void read_raw_event(ObjectReader& r, Threat& t) {
  if (const json::object* raw = r.object("raw_data", false)) {
    t.raw_event = *raw;
    lift_from_raw_data(*raw, t);
  }
  if (auto message = r.string("message", false, kMaxRawEventBytes))
    t.raw_event["message"] = *message;
  if (const json::object* metadata = r.object("metadata", false))
    t.raw_event["metadata"] = *metadata;
}

}  // namespace

Result<Threat> normalize_agent_threat(const json::object& obj, const IngestContext& ctx,
                                      const Loc& loc) {
  Errors errors;
  ObjectReader r(obj, loc, errors);
  r.refuse_unknown(kAgentKeys);
  std::optional<Error> spoofed;
  Threat t;
  assign(t.sensor_id, read_sensor_id(r, ctx.authenticated_sensor_id, spoofed));
  r.string("sensor_name", false, kMaxTextChars);  // the sensor's record owns its name
  // Any valid time: one beyond the clock-skew policy is replaced afterwards, not refused.
  assign(t.timestamp, r.timestamp("timestamp", true, Timestamp::max()));
  assign(t.threat_type, r.string("threat_type", true, 64));
  assign(t.threat_score, r.number("threat_score", true, kUnitRange));
  assign(t.severity, read_severity(r, "risk_level"));
  read_source(r, t);
  read_agent_rules(r, t);
  read_raw_event(r, t);
  read_geolocation(r, t);
  t.city = r.string("city", false, kMaxTextChars);
  t.country = r.string("country", false, kMaxTextChars);
  check_size(to_json_text(t.raw_event).size(), r.loc("raw_data"), errors, kMaxRawEventBytes);
  return finish_threat(std::move(t), std::move(errors), std::move(spoofed));
}

}  // namespace honeyman::domain::detail
