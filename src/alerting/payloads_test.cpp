#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <numeric>
#include <regex>
#include <string>

#include "alerting/alerting.hpp"
#include "support/process.hpp"

namespace honeyman::alerting {
namespace payloads_test {
namespace json = boost::json;
using testing::TempDir;

const std::string kRoutingKey = "R0123456789abcdef0123456789ABCDE";  // 32 characters

store::Alert sample_alert() {
  store::Alert a;
  a.id = "01910b5e-7c1a-7a3b-9c2d-5e6f7a8b9c0d";
  a.rule_id = "7b0c7a8e-1f2d-4c3b-9a8e-0d1c2b3a4f5e";
  a.rule_name = "SSH brute force";
  a.fired_at = *parse_timestamp("2026-08-08T14:03:27.512904Z");
  a.sensor_id = "sensor-1";
  a.threat_ids = {"t-1", "t-2"};
  a.count = 2;
  a.summary = {{"threat_id", "t-2"},
               {"severity", "high"},
               {"threat_type", "ssh_bruteforce"},
               {"detector_type", "ssh"},
               {"sensor_id", "sensor-1"},
               {"device_name", "edge <01> & co"},
               {"threat_score", 0.82},
               {"timestamp", "2026-08-08T14:03:20.000000Z"}};
  return a;
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + to_json_text(v) + ">";
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

// Validates `document` against tests/support/schemas/<schema> with python3-jsonschema; returns
// the errors, one a line ("" when valid).
std::string schema_errors(const std::string& schema, const std::string& document) {
  TempDir dir("honeyman-schema");
  auto doc_path = dir.path() + "/doc.json";
  auto out_path = dir.path() + "/errors.txt";
  {
    std::FILE* f = std::fopen(doc_path.c_str(), "w");
    if (!f) return "cannot write " + doc_path;
    std::fwrite(document.data(), 1, document.size(), f);
    std::fclose(f);
  }
  const char* script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n"
      "v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())\n"
      "errors = [f'{list(e.absolute_path)}: {e.message[:200]}' for e in v.iter_errors(doc)]\n"
      "print('\\n'.join(errors)); sys.exit(1 if errors else 0)\n";
  testing::SpawnOptions options;
  options.stdout_path = out_path;
  auto pid = testing::spawn(
      {"/usr/bin/python3", "-c", script, std::string(HONEYMAN_SCHEMA_DIR) + "/" + schema, doc_path},
      options);
  int code = testing::wait_exit(pid, std::chrono::seconds(60));
  if (code == 0) return {};
  auto errors = testing::read_file(out_path);
  return errors.empty() ? "validator exit code " + std::to_string(code) : errors;
}

// Characters (code points) of UTF-8 text, and whether it is well-formed enough to count.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}
bool ends_on_boundary(std::string_view s) {
  // The last lead byte announces as many continuation bytes as follow it.
  std::size_t i = s.size();
  std::size_t continuation = 0;
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++continuation;
  if (i == 0) return continuation == 0;
  auto lead = static_cast<unsigned char>(s[i - 1]);
  std::size_t expected = lead < 0x80 ? 0 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
  return expected == continuation;
}

// Every '&' starts one of the three entities Slack knows.
bool entities_intact(std::string_view s) {
  static const std::regex bad("&(?!amp;|lt;|gt;)");
  return !std::regex_search(s.begin(), s.end(), bad);
}

std::vector<std::string> slack_texts(const json::object& body) {
  std::vector<std::string> out{std::string(body.at("text").as_string())};
  for (const auto& block : body.at("blocks").as_array()) {
    const auto& b = block.as_object();
    if (auto* text = b.if_contains("text")) out.emplace_back(text->at("text").as_string());
    for (const char* list : {"fields", "elements"})
      if (auto* items = b.if_contains(list))
        for (const auto& item : items->as_array()) out.emplace_back(item.at("text").as_string());
  }
  return out;
}

}  // namespace payloads_test

using namespace payloads_test;

TEST(AlertPayloads, AlertJsonHasEveryFieldOfTheApi) {
  auto a = sample_alert();
  auto j = alert_json(a);
  EXPECT_EQ(j.size(), 11u);
  EXPECT_EQ(str(j.at("id")), a.id);
  EXPECT_EQ(str(j.at("rule_id")), a.rule_id);
  EXPECT_EQ(j.at("rule_name"), "SSH brute force");
  EXPECT_EQ(j.at("fired_at"), "2026-08-08T14:03:27.512904Z");
  EXPECT_EQ(j.at("sensor_id"), "sensor-1");
  EXPECT_EQ(j.at("threat_ids"), (json::array{"t-1", "t-2"}));
  EXPECT_EQ(j.at("count"), 2);
  EXPECT_EQ(j.at("status"), "firing");
  EXPECT_TRUE(j.at("acknowledged_by").is_null());
  EXPECT_TRUE(j.at("acknowledged_at").is_null());
  EXPECT_EQ(j.at("summary"), a.summary);
}

TEST(AlertPayloads, AlertJsonOptionalFields) {
  auto a = sample_alert();
  a.sensor_id.reset();
  a.status = "acknowledged";
  a.acknowledged_by = "alice";
  a.acknowledged_at = *parse_timestamp("2026-08-08T15:00:00Z");
  auto j = alert_json(a);
  EXPECT_TRUE(j.at("sensor_id").is_null());
  EXPECT_EQ(j.at("status"), "acknowledged");
  EXPECT_EQ(j.at("acknowledged_by"), "alice");
  EXPECT_EQ(j.at("acknowledged_at"), "2026-08-08T15:00:00.000000Z");
}

TEST(AlertPayloads, WebhookBodyCarriesTheAlert) {
  auto a = sample_alert();
  auto body = parse_object(webhook_body(a));
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body.size(), 2u);
  EXPECT_EQ(body.at("type"), "alert");
  EXPECT_EQ(body.at("data"), alert_json(a));
}

TEST(AlertPayloads, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  EXPECT_EQ(signature_header("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 6: a key longer than the hash's block is hashed first.
  EXPECT_EQ(signature_header(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First"),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  auto body = webhook_body(sample_alert());
  auto signature = signature_header("s3cret", body);
  EXPECT_NE(signature, signature_header("s3cret", body + " "));
  EXPECT_NE(signature, signature_header("s3cret!", body));
  EXPECT_EQ(signature, signature_header("s3cret", body));
}

TEST(AlertPayloads, SlackBodyFollowsBlockKit) {
  auto body = slack_body(sample_alert(), "https://console.example");
  EXPECT_EQ(schema_errors("slack-webhook.json", body), "");
  auto j = parse_object(body);
  ASSERT_FALSE(j.empty());
  const auto& blocks = j.at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].at("type"), "section");
  EXPECT_EQ(blocks[1].at("type"), "context");
  auto texts = slack_texts(j);
  auto all = std::accumulate(texts.begin(), texts.end(), std::string());
  for (const char* expected : {"SSH brute force", "ssh_bruteforce", "sensor-1", "high", "0.82"})
    EXPECT_NE(all.find(expected), std::string::npos) << expected;
  EXPECT_NE(all.find("<https://console.example/alerts|"), std::string::npos);
}

TEST(AlertPayloads, SlackBodyEscapesControlCharacters) {
  auto a = sample_alert();
  a.rule_name = "<!channel> & <https://evil.example|click>";
  auto j = parse_object(slack_body(a, ""));
  ASSERT_FALSE(j.empty());
  for (const auto& text : slack_texts(j)) {
    EXPECT_EQ(text.find('<'), std::string::npos) << text;  // no link without a console URL
    EXPECT_EQ(text.find('>'), std::string::npos) << text;
    EXPECT_TRUE(entities_intact(text)) << text;
  }
  auto all = slack_texts(j);
  auto joined = std::accumulate(all.begin(), all.end(), std::string());
  EXPECT_NE(joined.find("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"),
            std::string::npos);
  EXPECT_NE(joined.find("edge &lt;01&gt; &amp; co"), std::string::npos);
}

TEST(AlertPayloads, SlackBodyStaysWithinLimitsForHugeNames) {
  auto a = sample_alert();
  a.rule_name = std::string(5000, '&') + "é";
  a.summary["device_name"] = std::string(3000, '<') + std::string(500, 'x');
  std::string euros;
  for (int i = 0; i < 1000; ++i) euros += "\xE2\x82\xAC";  // €: three bytes, one character
  a.summary["threat_type"] = euros;
  auto body = slack_body(a, "https://console.example/");
  EXPECT_EQ(schema_errors("slack-webhook.json", body), "");
  auto j = parse_object(body);
  ASSERT_FALSE(j.empty());
  for (const auto& text : slack_texts(j)) {
    EXPECT_TRUE(entities_intact(text)) << text.substr(text.size() - 20);
    std::string_view cut = text;
    if (cut.ends_with("\xE2\x80\xA6")) cut.remove_suffix(3);  // the ellipsis that marks a cut
    EXPECT_TRUE(ends_on_boundary(cut)) << text;
  }
}

TEST(AlertPayloads, BodiesTolerateAnEmptySummary) {
  auto a = sample_alert();
  a.summary = {};
  a.sensor_id.reset();
  EXPECT_EQ(schema_errors("slack-webhook.json", slack_body(a, "")), "");
  auto pd = pagerduty_body(a, kRoutingKey, "");
  EXPECT_EQ(schema_errors("pagerduty-events-v2.json", pd), "");
  auto payload = parse_object(pd).at("payload").as_object();
  EXPECT_EQ(payload.at("source"), "honeyman");
  EXPECT_EQ(payload.at("severity"), "info");
  EXPECT_FALSE(payload.contains("group"));
}

TEST(AlertPayloads, PagerDutyBodyIsAnEventsV2Trigger) {
  auto a = sample_alert();
  auto body = pagerduty_body(a, kRoutingKey, "https://console.example/");
  EXPECT_EQ(schema_errors("pagerduty-events-v2.json", body), "");
  auto j = parse_object(body);
  ASSERT_FALSE(j.empty());
  EXPECT_EQ(str(j.at("routing_key")), kRoutingKey);
  EXPECT_EQ(j.at("event_action"), "trigger");
  EXPECT_EQ(str(j.at("dedup_key")), a.id);
  EXPECT_EQ(j.at("client"), "Honeyman");
  EXPECT_EQ(j.at("client_url"), "https://console.example/alerts");
  EXPECT_EQ(j.at("links").at(0).at("href"), "https://console.example/alerts");
  const auto& p = j.at("payload").as_object();
  EXPECT_EQ(p.at("source"), "sensor-1");
  EXPECT_EQ(p.at("severity"), "error");
  EXPECT_EQ(p.at("timestamp"), "2026-08-08T14:03:27.512904Z");
  EXPECT_EQ(p.at("component"), "ssh");
  EXPECT_EQ(p.at("group"), "sensor-1");
  EXPECT_EQ(p.at("class"), "ssh_bruteforce");
  EXPECT_EQ(p.at("custom_details"), alert_json(a));
  EXPECT_NE(std::string(p.at("summary").as_string()).find("SSH brute force"), std::string::npos);

  auto without_console = parse_object(pagerduty_body(a, kRoutingKey, ""));
  EXPECT_FALSE(without_console.contains("client_url"));
  EXPECT_FALSE(without_console.contains("links"));
}

TEST(AlertPayloads, PagerDutySeverityMapping) {
  const std::pair<const char*, const char*> table[] = {{"critical", "critical"}, {"high", "error"},
                                                       {"medium", "warning"},    {"low", "info"},
                                                       {"info", "info"},         {"bogus", "info"}};
  for (const auto& [ours, theirs] : table) {
    auto a = sample_alert();
    a.summary["severity"] = ours;
    auto j = parse_object(pagerduty_body(a, kRoutingKey, ""));
    EXPECT_EQ(j.at("payload").at("severity"), theirs) << ours;
  }
}

TEST(AlertPayloads, PagerDutySummaryIsCappedForLongNames) {
  auto a = sample_alert();
  for (int i = 0; i < 1500; ++i) a.rule_name += "\xC3\xA9";  // é: two bytes, one character
  auto body = pagerduty_body(a, kRoutingKey, "");
  EXPECT_EQ(schema_errors("pagerduty-events-v2.json", body), "");
  auto summary = std::string(parse_object(body).at("payload").at("summary").as_string());
  EXPECT_LE(utf8_length(summary), 1024u);
  EXPECT_GE(utf8_length(summary), 400u);
  EXPECT_TRUE(ends_on_boundary(summary));
}

TEST(AlertPayloads, SchemasRefuseWhatTheServicesRefuse) {
  // The checks above can fail: a summary of 1025 characters, a severity outside the enum and a
  // section field over 2000 characters are all refused.
  auto pd = parse_object(pagerduty_body(sample_alert(), kRoutingKey, ""));
  pd["payload"].as_object()["summary"] = std::string(1025, 's');
  EXPECT_NE(schema_errors("pagerduty-events-v2.json", to_json_text(pd)), "");
  pd = parse_object(pagerduty_body(sample_alert(), kRoutingKey, ""));
  pd["payload"].as_object()["severity"] = "high";
  EXPECT_NE(schema_errors("pagerduty-events-v2.json", to_json_text(pd)), "");
  pd = parse_object(pagerduty_body(sample_alert(), "short", ""));
  EXPECT_NE(schema_errors("pagerduty-events-v2.json", to_json_text(pd)), "");

  auto slack = parse_object(slack_body(sample_alert(), ""));
  slack["blocks"].as_array()[0].as_object()["fields"].as_array()[0].as_object()["text"] =
      std::string(2001, 'f');
  EXPECT_NE(schema_errors("slack-webhook.json", to_json_text(slack)), "");
}

}  // namespace honeyman::alerting
