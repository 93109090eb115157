// SIEM forwarding (SPEC §8, issue #16): with SIEM_FORWARD=<syslog destination>, every stored
// threat reaches a syslog receiver over UDP, TCP (octet counting) and TLS as an RFC 5424 record
// carrying CEF, read back field by field with strict parsers; a rule without a match filter
// forwards to its syslog destinations (JSON here); a receiver that is down costs dropped
// threats, counted in honeyman_siem_dropped_total, never a slower ingest.
//
// One database, set up by a first server (the destinations), then one server per destination
// (SIEM_FORWARD is read at start) running side by side on it. TLS: the destination has no CA
// setting of its own, so the server trusts the test CA through OpenSSL's SSL_CERT_FILE (the
// "system" store it falls back to).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "core/core.hpp"
#include "integration/alerting_support.hpp"
#include "support/cef.hpp"
#include "support/process.hpp"
#include "support/syslog_listener.hpp"

namespace honeyman::testing::alerting_it {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kMetricsToken = "siem-metrics-token-0123456789";

class SiemForwardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir("honeyman-siem-pki");
    auto pki = make_test_pki(pki_dir_->path());
    udp_ = new SyslogListener(SyslogProtocol::udp);
    tcp_ = new SyslogListener(SyslogProtocol::tcp);
    tls_ = new SyslogListener(SyslogProtocol::tls, 0, pki);
    json_ = new SyslogListener(SyslogProtocol::tcp);

    setup_ = new ServerProcess(alerting_env());
    setup_->add_user("root", "admin", "admin-password-1");
    key_ = new std::string(setup_->add_sensor("sensor-a", "Sensor A"));
    setup_->start();
    token_ = new std::string(setup_->login("root", "admin-password-1"));
    AlertApi api(*setup_, *token_);
    auto syslog = [&](const std::string& name, std::uint16_t port, const std::string& transport,
                      const std::string& format) {
      json::object body{{"name", name}, {"kind", "syslog"},       {"host", "127.0.0.1"},
                        {"port", port}, {"transport", transport}, {"format", format}};
      // TLS: the SIEM's certificate is verified against the destination's CA file.
      if (transport == "tls") body["ca_file"] = pki.ca_file;
      auto d = api.create_destination(body);
      return id_of(d);
    };
    auto udp = syslog("siem udp", udp_->port(), "udp", "cef");
    auto tcp = syslog("siem tcp", tcp_->port(), "tcp", "cef");
    auto tls = syslog("siem tls", tls_->port(), "tls", "cef");
    auto dead = syslog("siem down", free_port(), "tcp", "cef");
    auto as_json = syslog("siem json", json_->port(), "tcp", "json");
    // The second way in: a rule with no filter and no threshold to a syslog destination.
    api.create_rule({{"name", "everything to the SIEM"},
                     {"match", json::object{}},
                     {"cooldown_seconds", 0},
                     {"destination_ids", {as_json}}});

    auto env = setup_->env();
    env["SIEM_FORWARD"] = udp;
    via_udp_ = new ServerProcess(env);
    env["SIEM_FORWARD"] = tcp;
    via_tcp_ = new ServerProcess(env);
    env["SIEM_FORWARD"] = tls;
    via_tls_ = new ServerProcess(env);
    env["SIEM_FORWARD"] = dead;
    env["SIEM_BUFFER"] = "100";  // the smallest it may be
    env["METRICS_TOKEN"] = kMetricsToken;
    via_dead_ = new ServerProcess(env);
    for (auto* s : {via_udp_, via_tcp_, via_tls_, via_dead_}) s->start();
  }
  static void TearDownTestSuite() {
    for (auto* s : {via_udp_, via_tcp_, via_tls_, via_dead_, setup_}) delete s;
    for (auto* l : {udp_, tcp_, tls_, json_}) delete l;
    delete key_;
    delete token_;
    delete pki_dir_;
  }

  // Posts a threat with every CEF-mapped field to `server`; returns it as the API stores it.
  static json::object stored_threat(const ServerProcess& server, const std::string& type) {
    auto id = post_threat(server, *key_, "sensor-a", type, "high", "ble",
                          {{"device_ip", "10.20.30.40"},
                           {"device_mac", "aa:bb:cc:dd:ee:01"},
                           {"dst_host", "files.corp.example"}});
    auto reply = server.client().get("/api/v2/threats/" + id, bearer(*token_));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.status == 200 ? reply.json().as_object() : json::object{};
  }

  // The record whose CEF externalId is `threat_id` (waits up to 20 s), checked field by field.
  static void expect_cef_record(const SyslogListener& listener, const json::object& threat) {
    auto id = std::string(threat.at("id").as_string());
    std::optional<CefEvent> found;
    std::optional<SyslogRecord> record;
    eventually(
        [&] {
          for (auto& text : listener.records()) {
            auto r = parse_rfc5424(text);
            EXPECT_TRUE(r) << "not RFC 5424: " << text;
            if (!r) continue;
            auto cef = parse_cef(r->msg);
            EXPECT_TRUE(cef) << "not CEF: " << r->msg;
            if (cef && cef->get("externalId") == id) {
              found = *cef;
              record = *r;
              return true;
            }
          }
          return false;
        },
        20s);
    ASSERT_TRUE(found && record) << "no record for threat " << id << "; got "
                                 << listener.records().size();
    EXPECT_EQ(record->version, 1);
    EXPECT_EQ(record->facility(), 16);  // local0
    EXPECT_EQ(record->severity(), 3);   // high
    EXPECT_EQ(record->app_name, "honeyman");
    EXPECT_EQ(found->cef_version, "0");
    EXPECT_EQ(found->vendor, "Honeyman");
    EXPECT_EQ(found->product, "honeyman");
    EXPECT_EQ(found->signature_id, threat.at("threat_type").as_string());
    EXPECT_EQ(found->severity, 8);
    EXPECT_EQ(found->get("dvchost"), "sensor-a");
    EXPECT_EQ(found->get("cs1"), "ble");
    EXPECT_EQ(found->get("cs1Label"), "detector");
    EXPECT_EQ(found->get("src"), "10.20.30.40");
    EXPECT_EQ(found->get("smac"), "aa:bb:cc:dd:ee:01");
    EXPECT_EQ(found->get("dhost"), "files.corp.example");
    auto at = parse_timestamp(std::string(threat.at("timestamp").as_string()));
    ASSERT_TRUE(at);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count();
    EXPECT_EQ(found->get("rt"), std::to_string(ms));
  }

  static TempDir* pki_dir_;
  static SyslogListener *udp_, *tcp_, *tls_, *json_;
  static ServerProcess *setup_, *via_udp_, *via_tcp_, *via_tls_, *via_dead_;
  static std::string *key_, *token_;  // sensor-a's API key, an admin's access token
};
TempDir* SiemForwardTest::pki_dir_ = nullptr;
SyslogListener* SiemForwardTest::udp_ = nullptr;
SyslogListener* SiemForwardTest::tcp_ = nullptr;
SyslogListener* SiemForwardTest::tls_ = nullptr;
SyslogListener* SiemForwardTest::json_ = nullptr;
ServerProcess* SiemForwardTest::setup_ = nullptr;
ServerProcess* SiemForwardTest::via_udp_ = nullptr;
ServerProcess* SiemForwardTest::via_tcp_ = nullptr;
ServerProcess* SiemForwardTest::via_tls_ = nullptr;
ServerProcess* SiemForwardTest::via_dead_ = nullptr;
std::string* SiemForwardTest::key_ = nullptr;
std::string* SiemForwardTest::token_ = nullptr;

TEST_F(SiemForwardTest, UdpDatagramsCarryCef) {
  expect_cef_record(*udp_, stored_threat(*via_udp_, "siem_udp"));
}

TEST_F(SiemForwardTest, TcpRecordsAreOctetCountedCef) {
  expect_cef_record(*tcp_, stored_threat(*via_tcp_, "siem_tcp"));
  EXPECT_EQ(tcp_->framing_errors(), 0u);
  for (auto& text : tcp_->records()) EXPECT_TRUE(parse_rfc5424(text)) << text;
}

TEST_F(SiemForwardTest, TlsRecordsAreVerifiedAndCarryCef) {
  expect_cef_record(*tls_, stored_threat(*via_tls_, "siem_tls"));
  EXPECT_EQ(tls_->handshake_failures(), 0u);
  EXPECT_EQ(tls_->framing_errors(), 0u);
}

TEST_F(SiemForwardTest, ARuleWithoutFilterForwardsEveryThreatAsJson) {
  auto threat = stored_threat(*setup_, "siem_json");
  auto id = std::string(threat.at("id").as_string());
  std::optional<json::value> message;
  eventually(
      [&] {
        for (auto& text : json_->records()) {
          auto r = parse_rfc5424(text);
          if (!r) continue;
          boost::system::error_code ec;
          auto v = json::parse(r->msg, ec);
          if (!ec && v.is_object() && v.as_object().contains("id") && v.at("id") == id.c_str()) {
            message = v;
            return true;
          }
        }
        return false;
      },
      20s);
  ASSERT_TRUE(message) << "no JSON record for " << id << " among " << json_->records().size();
  for (auto key : {"sensor_id", "threat_type", "detector_type", "severity", "device_mac",
                   "device_ip", "timestamp"})
    EXPECT_EQ(message->at(key), threat.at(key)) << key;
  EXPECT_EQ(json_->framing_errors(), 0u);
  // A rule that forwards is not an alert rule: it fires no alert.
  EXPECT_TRUE(AlertApi(*setup_, *token_).alerts("").empty());
}

double dropped_total(const std::string& exposition) {
  double total = 0;
  std::istringstream lines(exposition);
  static const std::regex sample(R"(^honeyman_siem_dropped_total(\{[^}]*\})? ([0-9.eE+]+)$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, sample)) total += std::stod(m[2]);
  }
  return total;
}

TEST_F(SiemForwardTest, AReceiverThatIsDownCostsCountedDropsNotIngest) {
  constexpr int kThreats = 150;
  json::array batch;
  for (int i = 0; i < kThreats; ++i)
    batch.push_back(json::object{{"sensor_id", "sensor-a"},
                                 {"threat_type", "siem_dropped"},
                                 {"detector_type", "usb"},
                                 {"severity", "low"},
                                 {"raw_event", {{"drop", i}}}});
  auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < 2; ++round) {  // the second round: every one of them dropped
    for (auto& t : batch) t.as_object()["raw_event"].as_object()["round"] = round;
    auto reply = via_dead_->client().post("/api/v2/threats", batch, api_key(*key_));
    EXPECT_EQ(reply.status, 201) << reply.body.substr(0, 300);
  }
  // Generous for a loaded machine, yet far below one send timeout per threat.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "ingest waited for the SIEM";
  double dropped = 0;
  EXPECT_TRUE(eventually([&] {
    auto reply = via_dead_->client().get("/metrics", bearer(kMetricsToken));
    if (reply.status != 200) return false;
    dropped = dropped_total(reply.body);
    // Beyond the buffer (100) and the one being sent.
    return dropped >= 2 * kThreats - 100 - 1;
  })) << "honeyman_siem_dropped_total = "
      << dropped;
}

}  // namespace
}  // namespace honeyman::testing::alerting_it
