// The canonical threat format: the Threat fields of SPEC §2 minus those the server owns.

#include "domain/detail/threat.hpp"

namespace honeyman::domain::detail {
namespace json = boost::json;

namespace {

constexpr std::string_view kCanonicalKeys[] = {
    "timestamp",    "sensor_id", "threat_type",   "detector_type",   "severity",      "device_name",
    "device_mac",   "device_ip", "src_host",      "src_port",        "dst_host",      "dst_port",
    "latitude",     "longitude", "city",          "country",         "matched_rules", "confidence",
    "threat_score", "raw_event", "mitre_tactics", "mitre_techniques"};

void read_classification(ObjectReader& r, const IngestContext& ctx, Threat& t) {
  // Any valid time: one beyond the clock-skew policy is replaced afterwards, not refused.
  if (auto ts = r.timestamp("timestamp", false, Timestamp::max())) {
    t.timestamp = *ts;
  } else {
    t.timestamp = ctx.now;
    t.timestamp_from_receipt = true;
  }
  assign(t.threat_type, r.string("threat_type", true, 64));
  if (auto detector = r.string("detector_type", true, 64))
    t.detector_type = to_lower_ascii(*detector);
  assign(t.severity, read_severity(r, "severity"));
  t.confidence = r.number("confidence", false, kUnitRange);
  assign(t.threat_score, r.number("threat_score", false, kUnitRange));
}

void read_endpoints(ObjectReader& r, Threat& t) {
  t.device_name = r.string("device_name", false, kMaxTextChars);
  t.device_mac = r.string("device_mac", false, 64);
  t.device_ip = r.string("device_ip", false, 64);
  t.src_host = r.string("src_host", false, kMaxTextChars);
  t.src_port = r.integer("src_port", false, kPortRange);
  t.dst_host = r.string("dst_host", false, kMaxTextChars);
  t.dst_port = r.integer("dst_port", false, kPortRange);
}

void read_place(ObjectReader& r, Threat& t) {
  t.latitude = r.number("latitude", false, kLatitudeRange);
  t.longitude = r.number("longitude", false, kLongitudeRange);
  t.city = r.string("city", false, kMaxTextChars);
  t.country = r.string("country", false, kMaxTextChars);
}

// Rules are objects ({"rule_id", "name", ...}) or bare names, which become {"name": ...}.
void read_canonical_rules(ObjectReader& r, Threat& t) {
  const json::array* rules = r.array("matched_rules", false, kMaxListItems);
  if (!rules) return;
  Loc loc = r.loc("matched_rules");
  for (std::size_t i = 0; i < rules->size(); ++i) {
    const json::value& rule = (*rules)[i];
    Loc item = append(loc, std::to_string(i));
    if (rule.is_object()) {
      t.matched_rules.push_back(rule);
    } else if (rule.is_string()) {
      if (auto name = check_string(rule, item, r.errors(), 1, kMaxTextChars))
        t.matched_rules.push_back(json::object{{"name", *name}});
    } else {
      r.errors().push_back({item, "Input should be a valid dictionary or string", "dict_type"});
    }
  }
  check_size(to_json_text(t.matched_rules).size(), loc, r.errors(), kMaxRawEventBytes);
}

void read_evidence(ObjectReader& r, Threat& t) {
  read_canonical_rules(r, t);
  if (const json::object* raw = r.object("raw_event", false)) {
    if (check_size(to_json_text(*raw).size(), r.loc("raw_event"), r.errors(), kMaxRawEventBytes))
      t.raw_event = *raw;
  }
  assign(t.mitre_tactics, r.strings("mitre_tactics", kMaxListItems, 1, 64));
  assign(t.mitre_techniques, r.strings("mitre_techniques", kMaxListItems, 1, 64));
}

}  // namespace

Result<Threat> normalize_canonical_threat(const json::object& obj, const IngestContext& ctx,
                                          const Loc& loc) {
  Errors errors;
  ObjectReader r(obj, loc, errors);
  r.refuse_unknown(kCanonicalKeys);
  std::optional<Error> spoofed;
  Threat t;
  assign(t.sensor_id, read_sensor_id(r, ctx.authenticated_sensor_id, spoofed));
  read_classification(r, ctx, t);
  read_endpoints(r, t);
  read_place(r, t);
  read_evidence(r, t);
  return finish_threat(std::move(t), std::move(errors), std::move(spoofed));
}

}  // namespace honeyman::domain::detail
