// Heartbeats in the field agent's shape and in the canonical shape (SPEC §5).

#include "domain/detail/fields.hpp"
#include "domain/domain.hpp"

namespace honeyman::domain {
namespace json = boost::json;
using detail::Errors;
using detail::Loc;
using detail::ObjectReader;

namespace {

constexpr std::string_view kAgentKeys[] = {"timestamp", "status", "metrics",
                                           "detectors", "uptime", "sensor_id"};
constexpr std::string_view kCanonicalKeys[] = {"sensor_id",         "timestamp",   "is_online",
                                               "enabled_detectors", "system_info", "location"};
constexpr std::string_view kLocationKeys[] = {"latitude", "longitude", "method", "accuracy"};
constexpr detail::Range kPercentRange{0, 100};

bool is_agent_shape(const json::object& obj) {
  for (std::string_view key : {"status", "metrics", "detectors", "uptime"})
    if (obj.contains(key)) return true;
  return false;
}

void read_status(ObjectReader& r, Heartbeat& hb) {
  const json::value* v = r.get("status", false);
  if (!v) return;  // a heartbeat without a status still proves the sensor is alive
  std::string status = v->is_string() ? detail::to_lower_ascii(v->get_string()) : "";
  if (status == "online" || status == "offline")
    hb.is_online = status == "online";
  else
    r.fail("status", "Input should be 'online' or 'offline'", "enum");
}

// system_info = the agent's metrics plus its uptime, values kept as sent.
void read_metrics(ObjectReader& r, Heartbeat& hb) {
  if (const json::object* metrics = r.object("metrics", false)) {
    ObjectReader m(*metrics, r.loc("metrics"), r.errors());
    for (std::string_view key : {"cpu_percent", "memory_percent", "disk_percent"})
      m.number(key, false, kPercentRange);
    hb.system_info = *metrics;
  }
  if (r.number("uptime", false, detail::kNonNegative))
    hb.system_info["uptime"] = *r.get("uptime", false);
}

// The agent reports every detector with its state; the enabled ones are those running.
void read_detectors(ObjectReader& r, Heartbeat& hb) {
  const json::object* detectors = r.object("detectors", false);
  if (!detectors) return;
  if (detectors->size() > detail::kMaxDetectors) {
    r.fail("detectors",
           "Value error, at most " + std::to_string(detail::kMaxDetectors) + " detectors",
           "value_error");
    return;
  }
  std::size_t before = r.errors().size();
  std::vector<std::string> running;
  for (const auto& [name, state] : *detectors) {
    Loc item = detail::append(r.loc("detectors"), name);
    std::size_t chars = detail::utf8_length(name);
    if (chars == 0 || chars > detail::kMaxDetectorNameChars) {
      r.errors().push_back(
          {item, "Value error, a detector name has 1 to 64 characters", "value_error"});
    } else if (!state.is_object()) {
      r.errors().push_back({item, "Input should be a valid dictionary", "dict_type"});
    } else if (const json::value* run = state.get_object().if_contains("running")) {
      auto on = detail::check_bool(*run, detail::append(item, "running"), r.errors());
      if (on && *on) running.emplace_back(name);
    }
  }
  if (r.errors().size() == before) hb.enabled_detectors = std::move(running);
}

void read_location(ObjectReader& r, Heartbeat& hb) {
  const json::object* location = r.object("location", false);
  if (!location) return;
  ObjectReader l(*location, r.loc("location"), r.errors());
  l.refuse_unknown(kLocationKeys);
  std::size_t before = r.errors().size();
  auto lat = l.number("latitude", false, detail::kLatitudeRange);
  auto lon = l.number("longitude", false, detail::kLongitudeRange);
  if (r.errors().size() == before && lat.has_value() != lon.has_value())
    r.fail("location", "Value error, latitude and longitude must be given together", "value_error");
  hb.latitude = lat;
  hb.longitude = lon;
  hb.location_method = l.string("method", false, 64);
  hb.location_accuracy = l.number("accuracy", false, detail::kNonNegative);
}

void read_canonical(ObjectReader& r, Heartbeat& hb) {
  detail::assign(hb.is_online, r.boolean("is_online", false));
  hb.enabled_detectors =
      r.strings("enabled_detectors", detail::kMaxDetectors, 1, detail::kMaxDetectorNameChars);
  if (const json::object* info = r.object("system_info", false)) hb.system_info = *info;
  read_location(r, hb);
}

}  // namespace

Result<Heartbeat> normalize_heartbeat(const json::value& payload, const IngestContext& ctx,
                                      const std::vector<std::string>& loc_prefix) {
  if (!payload.is_object())
    return validation_error({{loc_prefix, "Input should be a valid dictionary", "dict_type"}});
  const json::object& obj = payload.get_object();
  Errors errors;
  ObjectReader r(obj, loc_prefix, errors);
  bool agent = is_agent_shape(obj);
  if (agent)
    r.refuse_unknown(kAgentKeys);
  else
    r.refuse_unknown(kCanonicalKeys);
  std::optional<Error> spoofed;
  Heartbeat hb;
  detail::assign(hb.sensor_id, detail::read_sensor_id(r, ctx.authenticated_sensor_id, spoofed));
  hb.timestamp = ctx.now;
  detail::assign(hb.timestamp, r.timestamp("timestamp", false, ctx.now + kMaxFutureSkew));
  if (agent) {
    read_status(r, hb);
    read_metrics(r, hb);
    read_detectors(r, hb);
  } else {
    read_canonical(r, hb);
  }
  detail::check_size(to_json_text(hb.system_info).size(), r.loc(agent ? "metrics" : "system_info"),
                     errors, kMaxRawEventBytes);
  if (spoofed) return std::move(*spoofed);
  if (!errors.empty()) return validation_error(std::move(errors));
  return hb;
}

}  // namespace honeyman::domain
