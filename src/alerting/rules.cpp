// Alert rules and destinations: the API's bodies validated into what the store keeps, and the
// rule engine that evaluates them against each committed threat.
#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "alerting/alerting.hpp"

namespace honeyman::alerting {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxName = 128;
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxSecret = 512;
constexpr std::size_t kMaxListItems = 100;
constexpr std::int64_t kMaxThresholdCount = 10'000;
constexpr std::int64_t kMaxWindowSeconds = 7 * 24 * 3600;
constexpr std::int64_t kMaxCooldownSeconds = 7 * 24 * 3600;

// Collects the field errors of one body; every reader records what is wrong and goes on, so one
// answer names every problem.
class BodyReader {
 public:
  explicit BodyReader(const json::object& body) : body_(body) {}

  void only(std::initializer_list<std::string_view> allowed,
            std::vector<std::string> at = {"body"}) {
    only_in(body_, allowed, std::move(at));
  }
  void only_in(const json::object& o, std::initializer_list<std::string_view> allowed,
               std::vector<std::string> at) {
    for (const auto& [key, value] : o)
      if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
        auto loc = at;
        loc.emplace_back(key);
        error(std::move(loc), "Extra inputs are not permitted", "extra_forbidden");
      }
  }
  void error(std::vector<std::string> loc, std::string msg, std::string type = "value_error") {
    errors_.push_back({std::move(loc), std::move(msg), std::move(type)});
  }
  bool has(std::string_view key) const { return body_.contains(key); }

  std::optional<std::string> text(const json::object& o, std::string_view key,
                                  std::vector<std::string> loc, std::size_t max, bool required) {
    loc.emplace_back(key);
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
      if (required) error(std::move(loc), "Field required", "missing");
      return std::nullopt;
    }
    if (!v->is_string()) {
      error(std::move(loc), "Input should be a valid string", "string_type");
      return std::nullopt;
    }
    std::string s(v->as_string());
    if (s.empty() || s.size() > max) {
      error(std::move(loc), "must be 1.." + std::to_string(max) + " characters");
      return std::nullopt;
    }
    return s;
  }
  std::optional<std::int64_t> integer(const json::object& o, std::string_view key,
                                      std::vector<std::string> loc, std::int64_t min,
                                      std::int64_t max, bool required) {
    loc.emplace_back(key);
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
      if (required) error(std::move(loc), "Field required", "missing");
      return std::nullopt;
    }
    if (!v->is_int64() && !v->is_uint64()) {
      error(std::move(loc), "Input should be a valid integer", "int_type");
      return std::nullopt;
    }
    auto n = v->is_int64()
                 ? v->as_int64()
                 : static_cast<std::int64_t>(std::min<std::uint64_t>(v->as_uint64(), INT64_MAX));
    if (n < min || n > max) {
      error(std::move(loc), "must be " + std::to_string(min) + ".." + std::to_string(max),
            "value_error");
      return std::nullopt;
    }
    return n;
  }
  // A list of strings, each checked by `valid`.
  std::vector<std::string> strings(const json::object& o, std::string_view key,
                                   std::vector<std::string> loc,
                                   const std::function<bool(std::string_view)>& valid,
                                   std::string_view what) {
    std::vector<std::string> out;
    loc.emplace_back(key);
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return out;
    if (!v->is_array() || v->as_array().size() > kMaxListItems) {
      error(std::move(loc), "Input should be a list of at most 100 strings", "list_type");
      return out;
    }
    for (std::size_t i = 0; i < v->as_array().size(); ++i) {
      const auto& e = v->as_array()[i];
      if (!e.is_string() || !valid(e.as_string())) {
        auto at = loc;
        at.push_back(std::to_string(i));
        error(std::move(at), "Input should be " + std::string(what));
        continue;
      }
      out.emplace_back(e.as_string());
    }
    return out;
  }

  Status finish() {
    if (errors_.empty()) return {};
    return validation_error(std::move(errors_));
  }

 private:
  const json::object& body_;
  std::vector<FieldError> errors_;
};

bool http_url(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  return url && (url->scheme() == "http" || url->scheme() == "https") && !url->host().empty();
}

// The body's members over the current object's: a PATCH changes only what it names.
json::object merged(const json::object& body, const json::object& current) {
  json::object out = current;
  for (const auto& [key, value] : body) out[key] = value;
  return out;
}

bool valid_text(std::string_view s) {
  return !s.empty() && s.size() <= kMaxName;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Destinations.
Result<store::AlertDestination> destination_from_json(const json::object& body,
                                                      const store::AlertDestination* current) {
  json::object current_view;
  if (current) {
    current_view = current->config;
    current_view["name"] = current->name;
    current_view["kind"] = current->kind;
  }
  auto all = merged(body, current_view);
  BodyReader r(all);
  auto body_check = BodyReader(body);
  body_check.only({"name", "kind", "url", "secret", "routing_key", "host", "port", "transport",
                   "format", "ca_file"});
  if (auto s = body_check.finish(); !s) return s.error();

  auto name = r.text(all, "name", {"body"}, kMaxName, true);
  auto kind = r.text(all, "kind", {"body"}, 16, true);
  json::object config;
  if (kind && *kind != "webhook" && *kind != "slack" && *kind != "pagerduty" && *kind != "syslog")
    r.error({"body", "kind"}, "Input should be 'webhook', 'slack', 'pagerduty' or 'syslog'",
            "enum");
  if (kind == "webhook" || kind == "slack" || kind == "pagerduty") {
    bool url_required = kind != "pagerduty";
    auto url = r.text(all, "url", {"body"}, kMaxUrl, url_required);
    if (url && !http_url(*url))
      r.error({"body", "url"}, "Input should be an http:// or https:// URL");
    else if (url)
      config["url"] = *url;
    else if (kind == "pagerduty")
      config["url"] = kPagerDutyEventsUrl;
    if (kind == "webhook") {
      if (auto secret = r.text(all, "secret", {"body"}, kMaxSecret, false))
        config["secret"] = *secret;
    }
    if (kind == "pagerduty") {
      if (auto key = r.text(all, "routing_key", {"body"}, 128, true)) config["routing_key"] = *key;
    }
  } else if (kind == "syslog") {
    if (auto host = r.text(all, "host", {"body"}, 253, true)) config["host"] = *host;
    if (auto port = r.integer(all, "port", {"body"}, 1, 65535, false))
      config["port"] = *port;
    else
      config["port"] = 514;
    auto transport = r.text(all, "transport", {"body"}, 8, false).value_or("udp");
    if (!parse_syslog_transport(transport))
      r.error({"body", "transport"}, "Input should be 'udp', 'tcp' or 'tls'", "enum");
    config["transport"] = transport;
    // TLS: a CA file on the server's machine to verify the SIEM with (default: the system's).
    if (auto ca = r.text(all, "ca_file", {"body"}, 4096, false)) config["ca_file"] = *ca;
    auto format = r.text(all, "format", {"body"}, 8, false).value_or("cef");
    if (!parse_siem_format(format))
      r.error({"body", "format"}, "Input should be 'cef', 'leef' or 'json'", "enum");
    config["format"] = format;
  }
  // Settings of another kind are not kept when the kind changes; a kind's own are checked above.
  if (auto s = r.finish(); !s) return s.error();
  store::AlertDestination d;
  if (current) d = *current;
  d.name = *name;
  d.kind = *kind;
  d.config = std::move(config);
  return d;
}

json::object destination_json(const store::AlertDestination& d) {
  json::object out{{"id", d.id},
                   {"name", d.name},
                   {"kind", d.kind},
                   {"has_secret", d.config.contains("secret") || d.config.contains("routing_key")},
                   {"created_at", format_timestamp(d.created_at)},
                   {"updated_at", format_timestamp(d.updated_at)}};
  for (const auto& [key, value] : d.config)
    if (key != "secret" && key != "routing_key") out[key] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules.
namespace {

Result<RuleSpec> parse_definition(std::string id, std::string name, bool enabled,
                                  const json::object& all, BodyReader& r) {
  RuleSpec spec;
  spec.id = std::move(id);
  spec.name = std::move(name);
  spec.enabled = enabled;
  const auto* match = all.if_contains("match");
  if (match && !match->is_null() && !match->is_object())
    r.error({"body", "match"}, "Input should be an object", "dict_type");
  if (match && match->is_object()) {
    const auto& m = match->as_object();
    r.only_in(m, {"min_severity", "detector_types", "threat_types", "sensor_ids", "min_score"},
              {"body", "match"});
    if (auto sev = r.text(m, "min_severity", {"body", "match"}, 16, false)) {
      spec.match.min_severity = domain::parse_severity(*sev);
      if (!spec.match.min_severity)
        r.error({"body", "match", "min_severity"},
                "Input should be 'info', 'low', 'medium', 'high' or 'critical'", "enum");
    }
    spec.match.detector_types =
        r.strings(m, "detector_types", {"body", "match"}, valid_text, "a detector type");
    spec.match.threat_types =
        r.strings(m, "threat_types", {"body", "match"}, valid_text, "a threat type");
    spec.match.sensor_ids =
        r.strings(m, "sensor_ids", {"body", "match"}, is_valid_sensor_id, "a sensor id");
    for (auto& d : spec.match.detector_types)
      std::transform(d.begin(), d.end(), d.begin(),
                     [](unsigned char c) { return std::tolower(c); });
    if (const auto* score = m.if_contains("min_score"); score && !score->is_null()) {
      if (!score->is_number() || score->to_number<double>() < 0 || score->to_number<double>() > 1)
        r.error({"body", "match", "min_score"}, "Input should be a number 0..1");
      else
        spec.match.min_score = score->to_number<double>();
    }
  }
  if (const auto* t = all.if_contains("threshold"); t && !t->is_null()) {
    if (!t->is_object()) {
      r.error({"body", "threshold"}, "Input should be an object", "dict_type");
    } else {
      const auto& o = t->as_object();
      r.only_in(o, {"count", "window_seconds", "per"}, {"body", "threshold"});
      Threshold th;
      auto count = r.integer(o, "count", {"body", "threshold"}, 1, kMaxThresholdCount, true);
      auto window =
          r.integer(o, "window_seconds", {"body", "threshold"}, 1, kMaxWindowSeconds, true);
      auto per = r.text(o, "per", {"body", "threshold"}, 8, false).value_or("sensor");
      if (per != "sensor" && per != "fleet")
        r.error({"body", "threshold", "per"}, "Input should be 'sensor' or 'fleet'", "enum");
      if (count && window) {
        th.count = *count;
        th.window = std::chrono::seconds(*window);
        th.per_sensor = per == "sensor";
        spec.threshold = th;
      }
    }
  }
  if (auto c = r.integer(all, "cooldown_seconds", {"body"}, 0, kMaxCooldownSeconds, false))
    spec.cooldown = std::chrono::seconds(*c);
  spec.destination_ids = r.strings(
      all, "destination_ids", {"body"},
      [](std::string_view s) { return normalize_uuid(s).has_value(); }, "a destination id");
  for (auto& d : spec.destination_ids) d = *normalize_uuid(d);
  if (auto s = r.finish(); !s) return s.error();
  return spec;
}

json::object definition_of(const RuleSpec& spec) {
  json::object match;
  if (spec.match.min_severity) match["min_severity"] = domain::to_string(*spec.match.min_severity);
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  if (!spec.match.detector_types.empty()) match["detector_types"] = list(spec.match.detector_types);
  if (!spec.match.threat_types.empty()) match["threat_types"] = list(spec.match.threat_types);
  if (!spec.match.sensor_ids.empty()) match["sensor_ids"] = list(spec.match.sensor_ids);
  if (spec.match.min_score) match["min_score"] = *spec.match.min_score;
  json::object def{{"match", std::move(match)},
                   {"cooldown_seconds", spec.cooldown.count()},
                   {"destination_ids", list(spec.destination_ids)}};
  if (spec.threshold)
    def["threshold"] = json::object{{"count", spec.threshold->count},
                                    {"window_seconds", spec.threshold->window.count()},
                                    {"per", spec.threshold->per_sensor ? "sensor" : "fleet"}};
  else
    def["threshold"] = nullptr;
  return def;
}

}  // namespace

Result<store::AlertRule> rule_from_json(const json::object& body, const store::AlertRule* current) {
  BodyReader check(body);
  check.only({"name", "enabled", "match", "threshold", "cooldown_seconds", "destination_ids"});
  if (auto s = check.finish(); !s) return s.error();
  json::object current_view;
  if (current) {
    current_view = current->definition;
    current_view["name"] = current->name;
    current_view["enabled"] = current->enabled;
  }
  auto all = merged(body, current_view);
  BodyReader r(all);
  auto name = r.text(all, "name", {"body"}, kMaxName, true);
  bool enabled = true;
  if (const auto* e = all.if_contains("enabled"); e && !e->is_null()) {
    if (!e->is_bool())
      r.error({"body", "enabled"}, "Input should be a valid boolean", "bool_type");
    else
      enabled = e->get_bool();
  }
  if (!all.contains("match") || all.at("match").is_null())
    r.error({"body", "match"}, "Field required", "missing");
  if (!all.contains("destination_ids"))
    r.error({"body", "destination_ids"}, "Field required", "missing");
  auto spec =
      parse_definition(current ? current->id : std::string(), name.value_or(""), enabled, all, r);
  if (!spec) return spec.error();
  store::AlertRule rule;
  if (current) rule = *current;
  rule.name = spec->name;
  rule.enabled = spec->enabled;
  rule.definition = definition_of(*spec);
  return rule;
}

json::object rule_json(const store::AlertRule& rule) {
  json::object out{{"id", rule.id},
                   {"name", rule.name},
                   {"enabled", rule.enabled},
                   {"created_at", format_timestamp(rule.created_at)},
                   {"updated_at", format_timestamp(rule.updated_at)}};
  for (const auto& [key, value] : rule.definition) out[key] = value;
  return out;
}

Result<RuleSpec> rule_spec(const store::AlertRule& rule) {
  BodyReader r(rule.definition);
  return parse_definition(rule.id, rule.name, rule.enabled, rule.definition, r);
}

// ---------------------------------------------------------------------------------------------
// Matching and the engine.
namespace {
bool listed(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}
std::string fingerprint(const RuleSpec& spec) {
  return json::serialize(definition_of(spec)) + (spec.enabled ? "1" : "0");
}
constexpr std::size_t kMaxThreatIds = 100;
}  // namespace

bool RuleMatch::matches(const domain::Threat& t) const {
  if (min_severity && static_cast<int>(t.severity) < static_cast<int>(*min_severity)) return false;
  if (min_score && t.threat_score < *min_score) return false;
  return listed(sensor_ids, t.sensor_id) && listed(detector_types, t.detector_type) &&
         listed(threat_types, t.threat_type);
}

bool RuleMatch::matches_everything() const {
  return !min_severity && !min_score && sensor_ids.empty() && detector_types.empty() &&
         threat_types.empty();
}

void RuleEngine::set_rules(std::vector<RuleSpec> rules) {
  std::vector<Compiled> next;
  for (auto& spec : rules) {
    if (!spec.enabled) continue;
    Compiled c;
    c.fingerprint = fingerprint(spec);
    for (auto& old : rules_)
      if (old.spec.id == spec.id && old.fingerprint == c.fingerprint) {
        c.sensors = std::move(old.sensors);
        c.fleet = std::move(old.fleet);
      }
    c.stateless = !spec.threshold && spec.cooldown.count() == 0;
    c.spec = std::move(spec);
    next.push_back(std::move(c));
  }
  rules_ = std::move(next);
}

std::vector<RuleEngine::Fired> RuleEngine::evaluate(const domain::Threat& threat, Timestamp now) {
  std::vector<Fired> fired;
  std::size_t slot = 0;
  bool slotted = false;
  for (auto& rule : rules_) {
    const auto& spec = rule.spec;
    if (!spec.match.matches(threat)) continue;
    const bool per_sensor = !spec.threshold || spec.threshold->per_sensor;
    const auto count = spec.threshold ? static_cast<std::size_t>(spec.threshold->count) : 1;
    KeyState* key = nullptr;
    if (!rule.stateless) {
      if (per_sensor) {
        if (!slotted) {
          slot = slots_.try_emplace(threat.sensor_id, slots_.size()).first->second;
          slotted = true;
        }
        if (rule.sensors.size() <= slot) rule.sensors.resize(slot + 1);
        key = &rule.sensors[slot];
      } else {
        key = &rule.fleet;
      }
      if (now < key->quiet_until) continue;
      // A ring of the last `count` matches: the rule fires when the oldest of them is within
      // the window of the newest.
      if (key->recent.size() < count) {
        key->recent.emplace_back(now, threat.id);
      } else {
        key->recent[key->next] = {now, threat.id};
        key->next = (key->next + 1) % count;
      }
      if (key->recent.size() < count) continue;
      const auto& oldest = key->recent[key->next % count];
      if (spec.threshold && now - oldest.first > spec.threshold->window) continue;
    }

    store::Alert a;
    a.rule_id = spec.id;
    a.rule_name = spec.name;
    a.fired_at = now;
    if (per_sensor) a.sensor_id = threat.sensor_id;
    a.count = static_cast<std::int64_t>(count);
    if (key) {
      for (std::size_t i = 0; i < count && a.threat_ids.size() < kMaxThreatIds; ++i)
        a.threat_ids.push_back(key->recent[(key->next + count - 1 - i) % count].second);
      key->recent.clear();
      key->next = 0;
      key->quiet_until = now + spec.cooldown;
    } else {
      a.threat_ids.push_back(threat.id);
    }
    Facts facts{threat.id,          threat.threat_type, threat.detector_type, threat.sensor_id,
                threat.device_name, threat.severity,    threat.threat_score,  threat.timestamp};
    fired.push_back({std::move(a), std::move(facts), spec.destination_ids});
  }
  return fired;
}

void RuleEngine::complete(Fired& fired) {
  auto& a = fired.alert;
  const auto& f = fired.facts;
  a.id = uuid_v7(a.fired_at);
  a.summary = json::object{{"threat_id", f.threat_id},
                           {"severity", domain::to_string(f.severity)},
                           {"threat_type", f.threat_type},
                           {"detector_type", f.detector_type},
                           {"sensor_id", f.sensor_id},
                           {"threat_score", f.threat_score},
                           {"timestamp", format_timestamp(f.timestamp)}};
  if (f.device_name) a.summary["device_name"] = *f.device_name;
}

}  // namespace honeyman::alerting
