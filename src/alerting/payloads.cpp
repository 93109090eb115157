// The bodies each destination kind receives. Built once when an alert fires and stored with the
// delivery, so they depend only on the alert (and the destination's settings), never on time.
#include <sodium.h>

#include <array>
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "alerting/alerting.hpp"

// Helpers in a namespace of this file's own: the module is compiled in unity batches, where
// another file's anonymous-namespace helpers of the same name would clash.
namespace honeyman::alerting::payload {
namespace json = boost::json;
namespace {

// Slack: https://api.slack.com/reference/block-kit — text objects hold at most 3000 characters,
// a section at most 10 fields of at most 2000. PagerDuty: payload.summary at most 1024.
constexpr std::size_t kSlackTextMax = 3000;
constexpr std::size_t kSlackFieldMax = 2000;
constexpr std::size_t kPagerDutySummaryMax = 1024;
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

json::value optional_text(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// A string member of the alert's summary; empty when missing or not a string.
std::string_view summary_text(const store::Alert& alert, std::string_view key) {
  auto it = alert.summary.find(key);
  if (it == alert.summary.end() || !it->value().is_string()) return {};
  return it->value().get_string();
}

std::string summary_number(const store::Alert& alert, std::string_view key) {
  auto it = alert.summary.find(key);
  if (it == alert.summary.end() || !it->value().is_number()) return {};
  return to_json_text(it->value());
}

std::string_view sensor_of(const store::Alert& alert) {
  if (alert.sensor_id && !alert.sensor_id->empty()) return *alert.sensor_id;
  return summary_text(alert, "sensor_id");
}

std::string_view severity_of(const store::Alert& alert) {
  auto severity = domain::parse_severity(summary_text(alert, "severity"));
  return severity ? domain::to_string(*severity) : std::string_view("unknown");
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string trimmed_url(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

// At most `max` bytes (so at most `max` characters), cut on a UTF-8 character boundary and,
// when `entities` is set, never inside a "&amp;" style entity; "…" marks the cut.
std::string clip(std::string s, std::size_t max, bool entities = false) {
  if (s.size() <= max) return s;
  std::size_t cut = max - kEllipsis.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  if (entities) {
    auto amp = s.rfind('&', cut);
    if (amp != std::string::npos && s.find(';', amp) >= cut) cut = amp;
  }
  s.resize(cut);
  s += kEllipsis;
  return s;
}

// Slack treats &, < and > as control characters in every text (links, mentions).
std::string slack_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A URL inside Slack's <url|label>: escaped, and '|' (the label separator) percent-encoded.
std::string slack_url(std::string_view url) {
  std::string out;
  for (char c : slack_escape(url)) {
    if (c == '|')
      out += "%7C";
    else
      out += c;
  }
  return out;
}

// "HIGH: ssh_bruteforce on sensor-1 (rule \"SSH\")" with whatever the summary holds.
std::string headline(const store::Alert& alert) {
  std::string text = upper(severity_of(alert));
  text += ": ";
  auto type = summary_text(alert, "threat_type");
  text += type.empty() ? std::string_view("alert") : type;
  if (auto sensor = sensor_of(alert); !sensor.empty()) {
    text += " on ";
    text += sensor;
  }
  text += " (rule \"" + alert.rule_name + "\"";
  if (alert.count > 1) text += ", " + std::to_string(alert.count) + " threats";
  text += ")";
  return text;
}

json::object slack_field(std::string_view label, std::string_view value) {
  auto text = clip("*" + std::string(label) + "*\n" + slack_escape(value), kSlackFieldMax, true);
  return {{"type", "mrkdwn"}, {"text", text}};
}

json::array slack_fields(const store::Alert& alert) {
  json::array fields;
  auto add = [&](std::string_view label, std::string_view value) {
    if (!value.empty()) fields.push_back(slack_field(label, value));
  };
  add("Severity", severity_of(alert));
  add("Threat type", summary_text(alert, "threat_type"));
  add("Sensor", sensor_of(alert));
  add("Device", summary_text(alert, "device_name"));
  add("Detector", summary_text(alert, "detector_type"));
  add("Score", summary_number(alert, "threat_score"));
  add("Threats", std::to_string(alert.count));
  add("Status", alert.status);
  return fields;  // at most 8 (Slack allows 10)
}

json::object slack_context(const store::Alert& alert, std::string_view console_url) {
  std::string text =
      "Honeyman alert " + slack_escape(alert.id) + " fired " + format_timestamp(alert.fired_at);
  if (!console_url.empty())
    text += " | <" + slack_url(trimmed_url(console_url) + "/alerts") + "|Open the console>";
  return {{"type", "context"},
          {"elements", json::array{json::object{{"type", "mrkdwn"},
                                                {"text", clip(text, kSlackTextMax, true)}}}}};
}

std::string_view pagerduty_severity(const store::Alert& alert) {
  static constexpr std::pair<domain::Severity, std::string_view> kSeverities[] = {
      {domain::Severity::critical, "critical"},
      {domain::Severity::high, "error"},
      {domain::Severity::medium, "warning"},
      {domain::Severity::low, "info"},
      {domain::Severity::info, "info"}};
  if (auto s = domain::parse_severity(summary_text(alert, "severity")))
    for (const auto& [ours, theirs] : kSeverities)
      if (ours == *s) return theirs;
  return "info";  // unknown: the least alarming level
}

json::object pagerduty_payload(const store::Alert& alert) {
  auto sensor = sensor_of(alert);
  json::object out{{"summary", clip(headline(alert), kPagerDutySummaryMax)},
                   {"source", sensor.empty() ? std::string_view("honeyman") : sensor},
                   {"severity", pagerduty_severity(alert)},
                   {"timestamp", format_timestamp(alert.fired_at)}};
  // PagerDuty's optional strings are left out when unknown rather than sent as null.
  if (auto detector = summary_text(alert, "detector_type"); !detector.empty())
    out["component"] = detector;
  if (!sensor.empty()) out["group"] = sensor;
  if (auto type = summary_text(alert, "threat_type"); !type.empty()) out["class"] = type;
  out["custom_details"] = alert_json(alert);
  return out;
}

}  // namespace
}  // namespace honeyman::alerting::payload

namespace honeyman::alerting {
namespace json = boost::json;

json::object alert_json(const store::Alert& alert) {
  json::array threat_ids;
  for (const auto& id : alert.threat_ids) threat_ids.emplace_back(id);
  return {
      {"id", alert.id},
      {"rule_id", alert.rule_id},
      {"rule_name", alert.rule_name},
      {"fired_at", format_timestamp(alert.fired_at)},
      {"sensor_id", payload::optional_text(alert.sensor_id)},
      {"threat_ids", std::move(threat_ids)},
      {"count", alert.count},
      {"status", alert.status},
      {"acknowledged_by", payload::optional_text(alert.acknowledged_by)},
      {"acknowledged_at", alert.acknowledged_at
                              ? json::value(format_timestamp(*alert.acknowledged_at))
                              : json::value(nullptr)},
      {"summary", alert.summary},
  };
}

std::string webhook_body(const store::Alert& alert) {
  return to_json_text(json::object{{"type", "alert"}, {"data", alert_json(alert)}});
}

std::string slack_body(const store::Alert& alert, std::string_view console_url) {
  auto title = payload::headline(alert);
  auto section_text =
      payload::clip("*" + payload::slack_escape(title) + "*", payload::kSlackTextMax, true);
  json::object section{{"type", "section"},
                       {"text", json::object{{"type", "mrkdwn"}, {"text", section_text}}},
                       {"fields", payload::slack_fields(alert)}};
  json::array blocks{std::move(section), payload::slack_context(alert, console_url)};
  return to_json_text(json::object{
      {"text",
       payload::clip(payload::slack_escape("Honeyman " + title), payload::kSlackTextMax, true)},
      {"blocks", std::move(blocks)}});
}

std::string pagerduty_body(const store::Alert& alert, std::string_view routing_key,
                           std::string_view console_url) {
  json::object event{{"routing_key", routing_key},
                     {"event_action", "trigger"},
                     {"dedup_key", alert.id},
                     {"payload", payload::pagerduty_payload(alert)},
                     {"client", "Honeyman"}};
  if (!console_url.empty()) {
    auto alerts = payload::trimmed_url(console_url) + "/alerts";
    event["client_url"] = alerts;
    event["links"] = json::array{json::object{{"href", alerts}, {"text", "Honeyman alerts"}}};
  }
  return to_json_text(event);
}

std::string signature_header(std::string_view key, std::string_view body) {
  // crypto_auth_hmacsha256_init takes a key of any length (longer ones are hashed first, as
  // RFC 2104 says); sodium_init is idempotent and thread-safe.
  if (sodium_init() < 0) return {};
  crypto_auth_hmacsha256_state state;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&state, mac.data());
  std::array<char, crypto_auth_hmacsha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), mac.data(), mac.size());
  return "sha256=" + std::string(hex.data(), hex.size() - 1);
}

}  // namespace honeyman::alerting
