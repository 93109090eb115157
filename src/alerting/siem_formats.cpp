// SIEM messages (CEF, LEEF 2.0, JSON) and RFC 5424 records. Pure functions: no I/O, no clock.
// docs/ALERTING.md "SIEM forwarding: formats" lists every field with an example line.
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cmath>
#include <string>
#include <string_view>

#include "alerting/alerting.hpp"

namespace honeyman::alerting {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool is_ip_address(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(text), ec);
  return !ec;
}

// The threat's source IP: the device's address, else src_host when it is an address (a host
// name there belongs in shost / srcHost, not in a field SIEMs parse as an IP).
std::optional<std::string> source_ip(const domain::Threat& t) {
  if (t.device_ip && is_ip_address(*t.device_ip)) return *t.device_ip;
  if (t.src_host && is_ip_address(*t.src_host)) return *t.src_host;
  return std::nullopt;
}

// Shared by CEF (0..10) and LEEF (sev 1..10): both read "higher is worse" on the same scale.
int siem_severity(domain::Severity s) {
  switch (s) {
    case domain::Severity::info:
      return 1;
    case domain::Severity::low:
      return 3;
    case domain::Severity::medium:
      return 5;
    case domain::Severity::high:
      return 8;
    case domain::Severity::critical:
      return 10;
  }
  return 1;
}

std::int64_t epoch_millis(Timestamp t) {
  return to_unix_micros(t) / 1000;
}

std::string score_percent(double score) {
  return std::to_string(std::llround(score * 100.0));
}

std::string readable_name(const domain::Threat& t) {
  return t.threat_type + " on " + t.sensor_id;
}

// CEF header fields escape '\' and '|'. CEF has no escape for a line break there, and a raw
// one would end the event for line-oriented receivers: control characters become spaces.
void append_cef_header_field(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '|') out += '\\';
    out += is_control(c) ? ' ' : c;
  }
  out += '|';
}

// CEF extension values escape '\', '=' and line breaks ("\n", "\r"); other control characters
// become spaces. Non-ASCII UTF-8 passes through: CEF is UTF-8.
void append_cef_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '=':
        out += "\\=";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += is_control(c) ? ' ' : c;
    }
  }
}

class CefExtension {
 public:
  explicit CefExtension(std::string& out) : out_(out) {}
  void add(std::string_view key, std::string_view value) {
    if (!first_) out_ += ' ';
    first_ = false;
    out_ += key;
    out_ += '=';
    append_cef_value(out_, value);
  }
  void maybe(std::string_view key, const std::optional<std::string>& value) {
    if (value) add(key, *value);
  }
  void maybe(std::string_view key, const std::optional<int>& value) {
    if (value) add(key, std::to_string(*value));
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// LEEF defines no escapes: a '|' in a header field and any control character (the TAB delimiter
// above all) become a space, so the event's structure never depends on its values.
std::string leef_clean(std::string_view value, bool header) {
  std::string out(value);
  for (auto& c : out) {
    if (is_control(c) || (header && c == '|')) c = ' ';
  }
  return out;
}

class LeefAttributes {
 public:
  explicit LeefAttributes(std::string& out) : out_(out) {}
  void add(std::string_view key, std::string_view value) {
    if (!first_) out_ += '\t';
    first_ = false;
    out_ += key;
    out_ += '=';
    out_ += leef_clean(value, false);
  }
  void maybe(std::string_view key, const std::optional<std::string>& value) {
    if (value) add(key, *value);
  }
  void maybe(std::string_view key, const std::optional<int>& value) {
    if (value) add(key, std::to_string(*value));
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// "2026-12-03 06:40:00.123 +0000", matching kLeefTimeFormat (Java SimpleDateFormat, which QRadar
// uses): an explicit format rather than epoch millis, which not every QRadar version reads.
constexpr std::string_view kLeefTimeFormat = "yyyy-MM-dd HH:mm:ss.SSS Z";
std::string leef_time(Timestamp t) {
  const auto text = format_timestamp(t);  // 2026-12-03T06:40:00.123456Z
  return text.substr(0, 10) + ' ' + text.substr(11, 12) + " +0000";
}

// RFC 5424 header fields are PRINTUSASCII (33..126) with a length limit; anything else would
// shift the fields a receiver reads, so it becomes '_'. Empty is the NILVALUE "-".
std::string header_token(std::string_view text, std::size_t max) {
  if (text.empty()) return "-";
  std::string out(text.substr(0, max));
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) c = '_';
  }
  return out;
}

int syslog_severity(domain::Severity s) {
  switch (s) {
    case domain::Severity::critical:
      return 2;
    case domain::Severity::high:
      return 3;
    case domain::Severity::medium:
      return 4;
    case domain::Severity::low:
      return 5;
    case domain::Severity::info:
      return 6;
  }
  return 6;
}

constexpr int kFacilityLocal0 = 16;

}  // namespace

std::optional<SiemFormat> parse_siem_format(std::string_view text) {
  const auto t = lower(text);
  if (t == "cef") return SiemFormat::cef;
  if (t == "leef") return SiemFormat::leef;
  if (t == "json") return SiemFormat::json;
  return std::nullopt;
}

std::optional<SyslogTransport> parse_syslog_transport(std::string_view text) {
  const auto t = lower(text);
  if (t == "udp") return SyslogTransport::udp;
  if (t == "tcp") return SyslogTransport::tcp;
  if (t == "tls") return SyslogTransport::tls;
  return std::nullopt;
}

std::string cef_message(const domain::Threat& t, std::string_view version) {
  std::string out = "CEF:0|";
  append_cef_header_field(out, "Honeyman");
  append_cef_header_field(out, "honeyman");
  append_cef_header_field(out, version);
  append_cef_header_field(out, t.threat_type);
  append_cef_header_field(out, readable_name(t));
  append_cef_header_field(out, std::to_string(siem_severity(t.severity)));

  // Fixed order (documented): where the event came from, where it went, who saw it, when, how
  // it was classified, which threat it is, and the free text last.
  CefExtension ext(out);
  ext.maybe("src", source_ip(t));
  if (t.src_host && !is_ip_address(*t.src_host)) ext.add("shost", *t.src_host);
  ext.maybe("smac", t.device_mac);
  ext.maybe("spt", t.src_port);
  if (t.dst_host && is_ip_address(*t.dst_host)) ext.add("dst", *t.dst_host);
  ext.maybe("dhost", t.dst_host);
  ext.maybe("dpt", t.dst_port);
  ext.add("dvchost", t.sensor_id);
  ext.add("rt", std::to_string(epoch_millis(t.timestamp)));
  ext.add("cat", t.detector_type);
  ext.add("cs1", t.detector_type);
  ext.add("cs1Label", "detector");
  ext.add("cn1", score_percent(t.threat_score));
  ext.add("cn1Label", "score");
  ext.add("externalId", t.id);
  ext.add("msg", t.device_name.value_or(t.threat_type));
  return out;
}

std::string leef_message(const domain::Threat& t, std::string_view version) {
  // The 6th header field is LEEF 2.0's delimiter, written out ("x09", TAB) so that no parser
  // has to guess whether the first attribute is a delimiter specification.
  std::string out = "LEEF:2.0|Honeyman|honeyman|" + leef_clean(version, true) + '|' +
                    leef_clean(t.threat_type, true) + "|x09|";
  LeefAttributes attrs(out);
  attrs.add("devTime", leef_time(t.timestamp));
  attrs.add("devTimeFormat", kLeefTimeFormat);
  attrs.add("cat", t.detector_type);
  attrs.add("sev", std::to_string(siem_severity(t.severity)));
  attrs.maybe("src", source_ip(t));
  if (t.src_host && !is_ip_address(*t.src_host)) attrs.add("srcHost", *t.src_host);
  attrs.maybe("srcMAC", t.device_mac);
  attrs.maybe("srcPort", t.src_port);
  if (t.dst_host && is_ip_address(*t.dst_host)) attrs.add("dst", *t.dst_host);
  if (t.dst_host && !is_ip_address(*t.dst_host)) attrs.add("dstHost", *t.dst_host);
  attrs.maybe("dstPort", t.dst_port);
  attrs.add("sensor", t.sensor_id);
  attrs.add("threatId", t.id);
  attrs.add("score", score_percent(t.threat_score));
  attrs.maybe("deviceName", t.device_name);
  return out;
}

std::string json_message(const domain::Threat& t) {
  // The product's one JSON writer (core): the same text as the API's, control characters
  // escaped, so the message is one line.
  std::string out;
  domain::append_json_text(out, t);
  return out;
}

std::string siem_message(SiemFormat format, const domain::Threat& t, std::string_view version) {
  switch (format) {
    case SiemFormat::cef:
      return cef_message(t, version);
    case SiemFormat::leef:
      return leef_message(t, version);
    case SiemFormat::json:
      return json_message(t);
  }
  return json_message(t);
}

// MSG goes as RFC 5424 MSG-ANY, without the BOM that would mark it MSG-UTF8 (§6.4): CEF and
// LEEF parsers look for "CEF:" / "LEEF:" at the start of MSG and a BOM there breaks them. The
// octets are still UTF-8 (the threat's strings are).
std::string syslog_record(std::string_view message, domain::Severity severity, Timestamp at,
                          std::string_view hostname, std::string_view msgid) {
  // Appended piece by piece: GCC 12 at -O3 misreads "<" + to_string(...) as an overflow.
  std::string out;
  out.reserve(64 + hostname.size() + message.size());
  out += '<';
  out += std::to_string(kFacilityLocal0 * 8 + syslog_severity(severity));
  out += ">1 ";
  out += format_timestamp(at);
  out += ' ';
  out += header_token(hostname, 255);
  out += " honeyman - ";
  out += header_token(msgid, 32);
  out += " -";
  if (!message.empty()) {
    out += ' ';
    out += message;
  }
  return out;
}

}  // namespace honeyman::alerting
