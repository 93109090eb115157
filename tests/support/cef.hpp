// Test support: strict parsers for what the SIEM forwarder emits, so a test checks a message
// field by field instead of comparing strings. Both refuse anything the specs do not allow
// (Errc::invalid_input, the message says where).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.hpp"

namespace honeyman::testing {

// ArcSight CEF (rev 25): "CEF:<version>|vendor|product|version|signature id|name|severity|ext".
// Header fields may escape only '\' and '|'; extension values only '\', '=', and line breaks
// (\n, \r). A key is [A-Za-z0-9_]+ followed by '='; a value runs up to the space before the next
// key. An unescaped '=' in a value, a raw line break, a repeated key or a severity outside
// 0..10 is an error.
struct CefEvent {
  std::string cef_version;  // "0"
  std::string vendor, product, version, signature_id, name;
  int severity = 0;
  std::vector<std::pair<std::string, std::string>> extensions;  // in message order, unescaped
  // The value of `key`, if present.
  std::optional<std::string> get(std::string_view key) const;
  // The keys in message order.
  std::vector<std::string> keys() const;
};
Result<CefEvent> parse_cef(std::string_view text);

// RFC 5424 (§6): "<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
// STRUCTURED-DATA [SP MSG]". TIMESTAMP must be RFC 3339 with at most six fractional digits (or
// "-"); header fields are PRINTUSASCII within their length limits (or "-"); STRUCTURED-DATA is
// "-" or well-formed SD-ELEMENTs. A MSG starting with a UTF-8 BOM has it removed (msg_bom).
struct SyslogRecord {
  int pri = 0;  // facility * 8 + severity
  int version = 0;
  std::string timestamp, hostname, app_name, procid, msgid, structured_data, msg;
  bool msg_bom = false;
  int facility() const { return pri / 8; }
  int severity() const { return pri % 8; }
};
Result<SyslogRecord> parse_rfc5424(std::string_view text);

}  // namespace honeyman::testing
