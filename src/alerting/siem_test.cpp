// SIEM forwarding: the CEF / LEEF / JSON messages and RFC 5424 records read back with strict
// parsers, the syslog sender against a real receiver on loopback (UDP, TCP, TLS), and the
// forwarder's queue (order, drops, retry, drain).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <map>

#include "alerting/alerting.hpp"
#include "metrics/metrics.hpp"
#include "support/cef.hpp"
#include "support/process.hpp"
#include "support/syslog_listener.hpp"
#include "support/wait.hpp"

namespace honeyman::alerting::siem_test {
namespace {

using namespace std::chrono_literals;
using testing::parse_cef;
using testing::parse_rfc5424;
using testing::SyslogListener;
using testing::SyslogProtocol;

Timestamp at(std::string_view text) {
  auto t = parse_timestamp(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(Timestamp{});
}

domain::Threat full_threat() {
  domain::Threat t;
  t.id = "0198c7a2-5e10-8000-8000-000000000001";
  t.timestamp = at("2026-12-03T06:40:00.123456Z");
  t.created_at = at("2026-12-03T06:40:01.500000Z");
  t.sensor_id = "rpi5-defcon-01";
  t.threat_type = "rogue_ap";
  t.detector_type = "wifi";
  t.severity = domain::Severity::high;
  t.device_name = "Free WiFi";
  t.device_mac = "aa:bb:cc:dd:ee:ff";
  t.device_ip = "192.168.4.20";
  t.dst_host = "10.0.0.1";
  t.src_port = 5353;
  t.dst_port = 443;
  t.threat_score = 0.87;
  return t;
}

domain::Threat minimal_threat() {
  domain::Threat t;
  t.id = "0198c7a2-5e10-8000-8000-000000000002";
  t.timestamp = at("2026-12-03T06:40:00Z");
  t.sensor_id = "s1";
  t.threat_type = "usb_rubber_ducky";
  t.detector_type = "usb";
  t.threat_score = 0.5;
  return t;
}

// LEEF attributes as key -> value (the first '=' splits), after checking the header.
std::map<std::string, std::string> leef_attributes(const std::string& message,
                                                   std::vector<std::string>* header = nullptr) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (int i = 0; i < 6; ++i) {
    const auto bar = message.find('|', start);
    if (bar == std::string::npos) {
      ADD_FAILURE() << "LEEF header has fewer than 6 fields: " << message;
      return {};
    }
    fields.push_back(message.substr(start, bar - start));
    start = bar + 1;
  }
  if (header) *header = fields;
  std::map<std::string, std::string> out;
  while (start <= message.size()) {
    auto tab = message.find('\t', start);
    if (tab == std::string::npos) tab = message.size();
    const auto pair = message.substr(start, tab - start);
    const auto eq = pair.find('=');
    EXPECT_NE(eq, std::string::npos) << "attribute without '=': " << pair;
    EXPECT_FALSE(out.contains(pair.substr(0, eq))) << "repeated " << pair;
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
    start = tab + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
TEST(SiemFormats, NamesParseCaseInsensitivelyAndUnknownOnesAreRefused) {
  EXPECT_EQ(parse_siem_format("cef"), SiemFormat::cef);
  EXPECT_EQ(parse_siem_format("LEEF"), SiemFormat::leef);
  EXPECT_EQ(parse_siem_format("Json"), SiemFormat::json);
  EXPECT_EQ(parse_siem_format("xml"), std::nullopt);
  EXPECT_EQ(parse_siem_format(""), std::nullopt);
  EXPECT_EQ(parse_syslog_transport("udp"), SyslogTransport::udp);
  EXPECT_EQ(parse_syslog_transport("TCP"), SyslogTransport::tcp);
  EXPECT_EQ(parse_syslog_transport("tls"), SyslogTransport::tls);
  EXPECT_EQ(parse_syslog_transport("relp"), std::nullopt);
}

TEST(SiemFormats, CefCarriesEveryFieldInItsDocumentedOrder) {
  auto e = parse_cef(cef_message(full_threat(), "2.1.0"));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->cef_version, "0");
  EXPECT_EQ(e->vendor, "Honeyman");
  EXPECT_EQ(e->product, "honeyman");
  EXPECT_EQ(e->version, "2.1.0");
  EXPECT_EQ(e->signature_id, "rogue_ap");
  EXPECT_EQ(e->name, "rogue_ap on rpi5-defcon-01");
  EXPECT_EQ(e->severity, 8);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"src", "192.168.4.20"},
      {"smac", "aa:bb:cc:dd:ee:ff"},
      {"spt", "5353"},
      {"dst", "10.0.0.1"},
      {"dhost", "10.0.0.1"},
      {"dpt", "443"},
      {"dvchost", "rpi5-defcon-01"},
      {"rt", "1796280000123"},
      {"cat", "wifi"},
      {"cs1", "wifi"},
      {"cs1Label", "detector"},
      {"cn1", "87"},
      {"cn1Label", "score"},
      {"externalId", "0198c7a2-5e10-8000-8000-000000000001"},
      {"msg", "Free WiFi"}};
  EXPECT_EQ(e->extensions, expected);
}

TEST(SiemFormats, CefOmitsAbsentFieldsAndFallsBackToTheThreatType) {
  auto e = parse_cef(cef_message(minimal_threat(), "2.1.0"));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->keys(), (std::vector<std::string>{"dvchost", "rt", "cat", "cs1", "cs1Label", "cn1",
                                                 "cn1Label", "externalId", "msg"}));
  EXPECT_EQ(e->get("msg"), "usb_rubber_ducky");
  EXPECT_EQ(e->get("cn1"), "50");
  EXPECT_EQ(e->severity, 1);
}

TEST(SiemFormats, CefSourceIsAnAddressNeverAHostName) {
  auto t = minimal_threat();
  t.device_ip = "not-an-address";
  t.src_host = "2001:db8::7";
  auto e = parse_cef(cef_message(t, "1"));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->get("src"), "2001:db8::7");
  EXPECT_EQ(e->get("shost"), std::nullopt);

  t.src_host = "laptop.example";
  t.dst_host = "c2.example";
  e = parse_cef(cef_message(t, "1"));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->get("src"), std::nullopt);
  EXPECT_EQ(e->get("shost"), "laptop.example");
  EXPECT_EQ(e->get("dhost"), "c2.example");
  EXPECT_EQ(e->get("dst"), std::nullopt);
}

TEST(SiemFormats, CefSeverityScale) {
  const std::pair<domain::Severity, int> table[] = {{domain::Severity::info, 1},
                                                    {domain::Severity::low, 3},
                                                    {domain::Severity::medium, 5},
                                                    {domain::Severity::high, 8},
                                                    {domain::Severity::critical, 10}};
  for (auto [severity, number] : table) {
    auto t = minimal_threat();
    t.severity = severity;
    auto e = parse_cef(cef_message(t, "1"));
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->severity, number) << domain::to_string(severity);
    EXPECT_EQ(leef_attributes(leef_message(t, "1"))["sev"], std::to_string(number));
  }
}

TEST(SiemFormats, CefEscapesHostileValuesAndTheyReadBackExactly) {
  const std::string hostile[] = {"a|b",       "x=y",        "back\\slash",    "two\nlines\r\n",
                                 "a b=c d=e", "trailing\\", "ünïcödé 漢字 🐝", "=|\\=\\|"};
  for (const auto& value : hostile) {
    auto t = full_threat();
    t.threat_type = value;
    t.device_name = value;
    t.device_mac = value;
    const auto message = cef_message(t, value);
    EXPECT_EQ(message.find_first_of("\r\n"), std::string::npos) << message;
    auto e = parse_cef(message);
    ASSERT_TRUE(e) << value << ": " << e.error().message << "\n" << message;
    // Header fields have no escape for a line break: it becomes a space.
    auto flat = value;
    std::replace_if(
        flat.begin(), flat.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    EXPECT_EQ(e->version, flat);
    EXPECT_EQ(e->signature_id, flat);
    EXPECT_EQ(e->name, flat + " on rpi5-defcon-01");
    EXPECT_EQ(e->get("msg"), value);
    EXPECT_EQ(e->get("smac"), value);
    EXPECT_EQ(e->get("externalId"), t.id);  // the fields after a hostile one are intact
    EXPECT_EQ(e->extensions.size(), 15u);
  }
}

TEST(SiemFormats, LeefCarriesEveryFieldWithAnExplicitTabDelimiter) {
  const auto message = leef_message(full_threat(), "2.1.0");
  std::vector<std::string> header;
  auto attrs = leef_attributes(message, &header);
  EXPECT_EQ(header, (std::vector<std::string>{"LEEF:2.0", "Honeyman", "honeyman", "2.1.0",
                                              "rogue_ap", "x09"}));
  const std::map<std::string, std::string> expected{
      {"devTime", "2026-12-03 06:40:00.123 +0000"},
      {"devTimeFormat", "yyyy-MM-dd HH:mm:ss.SSS Z"},
      {"cat", "wifi"},
      {"sev", "8"},
      {"src", "192.168.4.20"},
      {"srcMAC", "aa:bb:cc:dd:ee:ff"},
      {"srcPort", "5353"},
      {"dst", "10.0.0.1"},
      {"dstPort", "443"},
      {"sensor", "rpi5-defcon-01"},
      {"threatId", "0198c7a2-5e10-8000-8000-000000000001"},
      {"score", "87"},
      {"deviceName", "Free WiFi"}};
  EXPECT_EQ(attrs, expected);
  EXPECT_TRUE(message.starts_with("LEEF:2.0|Honeyman|honeyman|2.1.0|rogue_ap|x09|devTime="))
      << message;
}

TEST(SiemFormats, LeefOmitsAbsentFieldsAndKeepsItsStructureWithHostileValues) {
  auto t = minimal_threat();
  EXPECT_EQ(leef_attributes(leef_message(t, "1")).size(), 7u);  // devTime .. score

  t.threat_type = "a|b\tc";
  t.device_name = "tab\there|pipe=eq\nnewline 漢字";
  t.dst_host = "c2.example";
  std::vector<std::string> header;
  auto attrs = leef_attributes(leef_message(t, "1|2"), &header);
  EXPECT_EQ(header,
            (std::vector<std::string>{"LEEF:2.0", "Honeyman", "honeyman", "1 2", "a b c", "x09"}));
  EXPECT_EQ(attrs["deviceName"], "tab here|pipe=eq newline 漢字");
  EXPECT_EQ(attrs["dstHost"], "c2.example");
  EXPECT_EQ(attrs["threatId"], t.id);
}

TEST(SiemFormats, JsonIsTheApiObjectOnOneLine) {
  auto t = full_threat();
  t.device_name = "two\nlines";
  const auto message = json_message(t);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(boost::json::parse(message), boost::json::value(domain::to_json(t)));
  EXPECT_EQ(siem_message(SiemFormat::json, t, "1"), message);
  EXPECT_EQ(siem_message(SiemFormat::cef, t, "1"), cef_message(t, "1"));
  EXPECT_EQ(siem_message(SiemFormat::leef, t, "1"), leef_message(t, "1"));
}

// ---------------------------------------------------------------------------------------------
TEST(SyslogRecord, FollowsRfc5424) {
  const std::string message = "CEF:0|Honeyman|honeyman|1|t|n|8|msg=ü";
  const auto text = syslog_record(message, domain::Severity::high,
                                  at("2026-12-03T06:40:00.123456Z"), "sensor-host", "threat");
  EXPECT_EQ(text, "<131>1 2026-12-03T06:40:00.123456Z sensor-host honeyman - threat - " + message);
  auto r = parse_rfc5424(text);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->facility(), 16);
  EXPECT_EQ(r->severity(), 3);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->timestamp, "2026-12-03T06:40:00.123456Z");
  EXPECT_EQ(r->hostname, "sensor-host");
  EXPECT_EQ(r->app_name, "honeyman");
  EXPECT_EQ(r->procid, "-");
  EXPECT_EQ(r->msgid, "threat");
  EXPECT_EQ(r->structured_data, "-");
  EXPECT_EQ(r->msg, message);
  EXPECT_FALSE(r->msg_bom);
}

TEST(SyslogRecord, SeverityMapsToSyslogSeverityUnderLocal0) {
  const std::pair<domain::Severity, int> table[] = {{domain::Severity::critical, 130},
                                                    {domain::Severity::high, 131},
                                                    {domain::Severity::medium, 132},
                                                    {domain::Severity::low, 133},
                                                    {domain::Severity::info, 134}};
  for (auto [severity, pri] : table) {
    auto r = parse_rfc5424(syslog_record("m", severity, Timestamp{}, "h", "alert"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->pri, pri) << domain::to_string(severity);
  }
}

TEST(SyslogRecord, HeaderFieldsAreMadeValid) {
  const auto when = at("2026-12-03T06:40:00Z");
  auto r = parse_rfc5424(syslog_record("m", domain::Severity::info, when, "", ""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hostname, "-");
  EXPECT_EQ(r->msgid, "-");

  r = parse_rfc5424(
      syslog_record("m", domain::Severity::info, when, "my host\tnämé", std::string(40, 'x')));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hostname, "my_host_n__m__");
  EXPECT_EQ(r->msgid, std::string(32, 'x'));

  r = parse_rfc5424(syslog_record("", domain::Severity::info, when, std::string(300, 'h'), "a"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hostname, std::string(255, 'h'));
  EXPECT_EQ(r->msg, "");
}

// The parsers the tests above rely on must be able to say no.
TEST(SyslogRecord, TheTestParsersRefuseMalformedInput) {
  const char* bad_records[] = {
      "131>1 2026-12-03T06:40:00Z h a - m - x",
      "<192>1 2026-12-03T06:40:00Z h a - m - x",
      "<013>1 2026-12-03T06:40:00Z h a - m - x",
      "<13>0 2026-12-03T06:40:00Z h a - m - x",
      "<13>1 2026-13-03T06:40:00Z h a - m - x",
      "<13>1 2026-12-03T06:40:00.1234567Z h a - m - x",
      "<13>1 2026-12-03 06:40:00Z h a - m - x",
      "<13>1 2026-12-03T06:40:00Z h a - m",
      "<13>1 2026-12-03T06:40:00Z h a - m [x",
      "<13>1 2026-12-03T06:40:00Z h a - m -x",
      "<13>1 2026-12-03T06:40:00Z h a -  m - x",
      "<13>1 2026-12-03T06:40:00Z h a - 012345678901234567890123456789012 - x"};
  for (const char* text : bad_records) EXPECT_FALSE(parse_rfc5424(text)) << text;
  EXPECT_TRUE(parse_rfc5424("<13>1 - h a - m [id k=\"v\\\"]\"][b] x"));

  const char* bad_cef[] = {"CEF:0|a|b|c|d|e|5",         "CEF:0|a|b|c|d|5|k=v",
                           "CEF:0|a|b|c|d|e|11|k=v",    "CEF:0|a|b|c|d|e|5|k=v=w",
                           "CEF:0|a|b|c|d|e|5|k=a\\qb", "CEF:0|a|b\\c|c|d|e|5|k=v",
                           "CEF:0|a|b|c|d|e|5|k=a\nb",  "CEF:0|a|b|c|d|e|5|k=v k=w",
                           "CEF:0|a|b|c|d|e|5| k=v",    "LEEF:0|a|b|c|d|e|5|k=v"};
  for (const char* text : bad_cef) EXPECT_FALSE(parse_cef(text)) << text;
  auto ok = parse_cef("CEF:0|a\\|b|c|d|e|f|5|k=v w x\\=y|z");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->vendor, "a|b");
  EXPECT_EQ(ok->get("k"), "v w x=y|z");
}

// ---------------------------------------------------------------------------------------------
SyslogTarget target_of(const SyslogListener& listener, SyslogTransport transport,
                       std::string ca_file = {}) {
  SyslogTarget t;
  t.host = "127.0.0.1";
  t.port = listener.port();
  t.transport = transport;
  t.ca_file = std::move(ca_file);
  t.timeout = 10s;
  return t;
}

void expect_delivered(SyslogSender& sender, SyslogListener& listener) {
  const std::vector<std::string> sent{
      syslog_record("first", domain::Severity::low, Timestamp{}, "h", "threat"),
      syslog_record("second with\nnewline", domain::Severity::high, Timestamp{}, "h", "threat"),
      syslog_record(std::string(10'000, 'x'), domain::Severity::info, Timestamp{}, "h", "threat")};
  for (const auto& record : sent) {
    auto s = sender.send(record);
    ASSERT_TRUE(s) << s.error().message;
  }
  EXPECT_EQ(listener.wait_for(sent.size(), 30s), sent);
}

TEST(SyslogSender, Udp) {
  SyslogListener listener(SyslogProtocol::udp);
  SyslogSender sender(target_of(listener, SyslogTransport::udp));
  expect_delivered(sender, listener);
}

TEST(SyslogSender, TcpOctetCountingOnOneConnection) {
  SyslogListener listener(SyslogProtocol::tcp);
  SyslogSender sender(target_of(listener, SyslogTransport::tcp));
  expect_delivered(sender, listener);
  EXPECT_EQ(listener.connections(), 1u);
  EXPECT_EQ(listener.framing_errors(), 0u);
}

TEST(SyslogSender, TlsVerifiedAgainstTheGivenCa) {
  testing::TempDir dir;
  const auto pki = testing::make_test_pki(dir.path());
  SyslogListener listener(SyslogProtocol::tls, 0, pki);
  SyslogSender sender(target_of(listener, SyslogTransport::tls, pki.ca_file));
  expect_delivered(sender, listener);
  EXPECT_EQ(listener.connections(), 1u);
}

TEST(SyslogSender, TlsChecksTheNameInTheCertificate) {
  testing::TempDir dir, other_dir;
  const auto pki = testing::make_test_pki(dir.path());  // IP:127.0.0.1, DNS:localhost
  SyslogListener listener(SyslogProtocol::tls, 0, pki);
  auto by_name = target_of(listener, SyslogTransport::tls, pki.ca_file);
  by_name.host = "localhost";
  SyslogSender sender(by_name);
  auto s = sender.send("<134>1 - - - - - - x");
  EXPECT_TRUE(s) << s.error().message;
  EXPECT_EQ(listener.wait_for(1, 10s), std::vector<std::string>{"<134>1 - - - - - - x"});

  // A certificate from the trusted CA, but for another name than the one connected to.
  const auto elsewhere = testing::make_test_pki(other_dir.path(), "DNS:syslog.example");
  SyslogListener impostor(SyslogProtocol::tls, 0, elsewhere);
  SyslogSender refused(target_of(impostor, SyslogTransport::tls, elsewhere.ca_file));
  auto r = refused.send("<134>1 - - - - - - y");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  EXPECT_TRUE(impostor.records().empty());
}

TEST(SyslogSender, TlsRefusesACertificateFromAnotherCa) {
  testing::TempDir ours, theirs;
  const auto trusted = testing::make_test_pki(ours.path());
  const auto other = testing::make_test_pki(theirs.path());
  SyslogListener listener(SyslogProtocol::tls, 0, other);
  SyslogSender sender(target_of(listener, SyslogTransport::tls, trusted.ca_file));
  auto s = sender.send("<134>1 - - - - - - secret");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unavailable);
  EXPECT_NE(s.error().message.find("TLS handshake"), std::string::npos) << s.error().message;
  EXPECT_TRUE(testing::eventually([&] { return listener.handshake_failures() == 1; }, 10s));
  EXPECT_TRUE(listener.records().empty());

  SyslogSender no_ca(target_of(listener, SyslogTransport::tls, ours.path() + "/missing.pem"));
  auto m = no_ca.send("<134>1 - - - - - - secret");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::unavailable);
  EXPECT_NE(m.error().message.find("CA file"), std::string::npos) << m.error().message;
}

void expect_reconnect(SyslogProtocol protocol, SyslogTransport transport) {
  testing::TempDir dir;
  const auto pki =
      protocol == SyslogProtocol::tls ? testing::make_test_pki(dir.path()) : testing::TestPki{};
  auto listener = std::make_unique<SyslogListener>(protocol, 0, pki);
  const auto port = listener->port();
  SyslogSender sender(target_of(*listener, transport, pki.ca_file));
  ASSERT_TRUE(sender.send("<134>1 - - - - - - one"));
  ASSERT_TRUE(sender.send("<134>1 - - - - - - two"));
  ASSERT_EQ(listener->wait_for(2, 10s).size(), 2u);
  EXPECT_EQ(listener->connections(), 1u);
  listener.reset();  // closes its end: the sender's connection is gone

  auto down = sender.send("<134>1 - - - - - - lost");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::unavailable);
  EXPECT_NE(down.error().message.find("connect"), std::string::npos) << down.error().message;

  listener = std::make_unique<SyslogListener>(protocol, port, pki);
  auto up = sender.send("<134>1 - - - - - - three");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(listener->wait_for(1, 10s), std::vector<std::string>{"<134>1 - - - - - - three"});
}

TEST(SyslogSender, TcpReconnectsAfterTheReceiverRestarts) {
  expect_reconnect(SyslogProtocol::tcp, SyslogTransport::tcp);
}

TEST(SyslogSender, TlsReconnectsAfterTheReceiverRestarts) {
  expect_reconnect(SyslogProtocol::tls, SyslogTransport::tls);
}

TEST(SyslogSender, ASilentPeerTimesOut) {
  boost::asio::io_context io;
  // Listens (the kernel completes the TCP handshake) but never answers the TLS ClientHello.
  boost::asio::ip::tcp::acceptor silent(
      io, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t{0}});
  SyslogTarget target{"127.0.0.1", silent.local_endpoint().port(), SyslogTransport::tls, "", 300ms};
  SyslogSender sender(target);
  const auto started = std::chrono::steady_clock::now();
  auto s = sender.send("<134>1 - - - - - - x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);  // bounded, not hung
}

// ---------------------------------------------------------------------------------------------
std::vector<domain::Threat> numbered_threats(int first, int count) {
  std::vector<domain::Threat> out;
  for (int i = first; i < first + count; ++i) {
    auto t = full_threat();
    t.id = "threat-" + std::to_string(i);
    out.push_back(std::move(t));
  }
  return out;
}

SiemForwarderConfig forwarder_config(SyslogTarget target, std::size_t capacity = 1000) {
  SiemForwarderConfig c;
  c.target = std::move(target);
  c.capacity = capacity;
  c.hostname = "honeyman-test";
  c.version = "9.9.9";
  return c;
}

// The CEF externalId of each record, checking each is a valid record of a threat.
std::vector<std::string> external_ids(const std::vector<std::string>& records) {
  std::vector<std::string> out;
  for (const auto& text : records) {
    auto r = parse_rfc5424(text);
    EXPECT_TRUE(r) << text;
    if (!r) continue;
    EXPECT_EQ(r->msgid, "threat");
    EXPECT_EQ(r->hostname, "honeyman-test");
    EXPECT_EQ(r->timestamp, "2026-12-03T06:40:01.500000Z");  // created_at
    auto e = parse_cef(r->msg);
    EXPECT_TRUE(e) << r->msg;
    if (e) out.push_back(e->get("externalId").value_or("?"));
  }
  return out;
}

std::vector<std::string> ids(int first, int count) {
  std::vector<std::string> out;
  for (const auto& t : numbered_threats(first, count)) out.push_back(t.id);
  return out;
}

TEST(SiemForwarder, ForwardsEveryThreatInOrder) {
  SyslogListener listener(SyslogProtocol::tcp);
  SiemForwarder forwarder(forwarder_config(target_of(listener, SyslogTransport::tcp)));
  for (int batch = 0; batch < 5; ++batch) forwarder.offer(numbered_threats(batch * 10, 10));
  EXPECT_EQ(external_ids(listener.wait_for(50, 30s)), ids(0, 50));
  EXPECT_TRUE(testing::eventually([&] { return forwarder.counters().forwarded == 50; }, 10s));
  const auto c = forwarder.counters();
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.send_errors, 0u);
  EXPECT_EQ(c.queued, 0u);
}

TEST(SiemForwarder, AFullBufferDropsAndCountsWithoutBlocking) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t{0}});
  SyslogTarget target{"127.0.0.1", silent.local_endpoint().port(), SyslogTransport::tls, "", 2s};
  SiemForwarder forwarder(forwarder_config(target, 10));
  const auto threats = numbered_threats(0, 10'000);

  const auto started = std::chrono::steady_clock::now();
  forwarder.offer(threats);
  // Sending one record can take 2 s here (a TLS handshake nobody answers): offer() must not
  // wait for it. Generous against a loaded machine, far below a blocked send.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  auto c = forwarder.counters();
  EXPECT_EQ(c.dropped, 9'990u);
  EXPECT_EQ(c.queued, 10u);
  EXPECT_EQ(c.forwarded, 0u);
  EXPECT_TRUE(testing::eventually([&] { return forwarder.counters().send_errors >= 1; }, 20s));
  EXPECT_NE(metrics::scrape().find("honeyman_siem_dropped_total"), std::string::npos);

  forwarder.stop(0ms);
  c = forwarder.counters();
  EXPECT_EQ(c.dropped, 10'000u);  // what stop() could not send is lost too
  EXPECT_EQ(c.queued, 0u);
}

TEST(SiemForwarder, RetriesTheSameRecordsUntilTheDestinationIsUp) {
  const auto port = testing::free_port();
  SyslogTarget target{"127.0.0.1", port, SyslogTransport::tcp, "", 5s};
  SiemForwarder forwarder(forwarder_config(target));
  forwarder.offer(numbered_threats(0, 5));
  ASSERT_TRUE(testing::eventually([&] { return forwarder.counters().send_errors >= 2; }, 20s));

  SyslogListener listener(SyslogProtocol::tcp, port);
  EXPECT_EQ(external_ids(listener.wait_for(5, 30s)), ids(0, 5));
  EXPECT_TRUE(testing::eventually([&] { return forwarder.counters().forwarded == 5; }, 10s));
  EXPECT_EQ(forwarder.counters().dropped, 0u);
}

TEST(SiemForwarder, StopDrainsWhatIsQueued) {
  SyslogListener listener(SyslogProtocol::tcp);
  SiemForwarder forwarder(forwarder_config(target_of(listener, SyslogTransport::tcp)));
  forwarder.offer(numbered_threats(0, 300));
  forwarder.stop(60s);
  const auto c = forwarder.counters();
  EXPECT_EQ(c.forwarded, 300u);
  EXPECT_EQ(c.queued, 0u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(external_ids(listener.wait_for(300, 30s)), ids(0, 300));

  forwarder.stop();                           // idempotent
  forwarder.offer(numbered_threats(300, 1));  // after stop: counted, never sent
  EXPECT_EQ(forwarder.counters().dropped, 1u);
}

TEST(SiemForwarder, StopGivesUpOnAnUnreachableDestinationAfterTheDrain) {
  SyslogTarget target{"127.0.0.1", testing::free_port(), SyslogTransport::tcp, "", 5s};
  SiemForwarder forwarder(forwarder_config(target));
  forwarder.offer(numbered_threats(0, 3));
  const auto started = std::chrono::steady_clock::now();
  forwarder.stop(300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);  // bounded, not hung
  EXPECT_EQ(forwarder.counters().dropped, 3u);
  EXPECT_EQ(forwarder.counters().forwarded, 0u);
}

}  // namespace
}  // namespace honeyman::alerting::siem_test
