// The RFC 5424 record parser declared in cef.hpp.
#include <algorithm>

#include "support/cef.hpp"

namespace honeyman::testing {
namespace {
namespace rfc5424_parse {

Error bad(std::string what) {
  return make_error(Errc::invalid_input, std::move(what));
}

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads up to the next space (which is consumed). Fails at the end of the text.
Result<std::string_view> token(std::string_view& text, std::string_view what) {
  const auto sp = text.find(' ');
  if (sp == std::string_view::npos) return bad("missing space after " + std::string(what));
  auto t = text.substr(0, sp);
  text.remove_prefix(sp + 1);
  return t;
}

// NILVALUE or 1*max PRINTUSASCII.
Result<std::string> header_field(std::string_view& text, std::string_view what, std::size_t max) {
  auto t = token(text, what);
  if (!t) return t.error();
  if (t->empty() || t->size() > max) return bad(std::string(what) + " length");
  for (char c : *t) {
    if (c < 33 || c > 126) return bad(std::string(what) + " has a non-printable character");
  }
  return std::string(*t);
}

// full-date "T" partial-time [.1*6DIGIT] ("Z" / ("+"|"-") HH:MM), and a real date and time.
bool valid_timestamp(std::string_view t) {
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
    return false;
  }
  if (!digits(t.substr(0, 4)) || !digits(t.substr(5, 2)) || !digits(t.substr(8, 2)) ||
      !digits(t.substr(11, 2)) || !digits(t.substr(14, 2)) || !digits(t.substr(17, 2))) {
    return false;
  }
  auto rest = t.substr(19);
  if (rest.starts_with('.')) {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1 || n > 7) return false;
    rest.remove_prefix(n);
  }
  const bool zone =
      rest == "Z" || (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
                      digits(rest.substr(1, 2)) && rest[3] == ':' && digits(rest.substr(4, 2)));
  return zone && parse_timestamp(t).has_value();
}

// "-" or 1*SD-ELEMENT: "[" SD-ID *(SP PARAM-NAME "=" '"' PARAM-VALUE '"') "]", where a value
// escapes '"', '\' and ']' with '\'. Consumes the field and the space after it, if any.
Result<std::string> structured_data(std::string_view& text) {
  if (text.starts_with('-')) {
    text.remove_prefix(1);
    return std::string("-");
  }
  std::size_t i = 0;
  while (i < text.size() && text[i] == '[') {
    bool in_value = false;
    for (++i; i < text.size(); ++i) {
      const char c = text[i];
      if (in_value && c == '\\') {
        if (i + 1 >= text.size()) return bad("dangling escape in SD");
        ++i;
      } else if (c == '"') {
        in_value = !in_value;
      } else if (!in_value && c == ']') {
        break;
      }
    }
    if (i >= text.size()) return bad("unterminated SD-ELEMENT");
    ++i;  // past ']'
  }
  if (i == 0) return bad("STRUCTURED-DATA is neither '-' nor [...]");
  std::string sd(text.substr(0, i));
  text.remove_prefix(i);
  return sd;
}

}  // namespace rfc5424_parse
}  // namespace

Result<SyslogRecord> parse_rfc5424(std::string_view text) {
  using namespace rfc5424_parse;
  SyslogRecord r;
  const auto close = text.find('>');
  if (!text.starts_with('<') || close == std::string_view::npos || close < 2 || close > 4 ||
      !digits(text.substr(1, close - 1))) {
    return bad("bad PRI");
  }
  r.pri = std::stoi(std::string(text.substr(1, close - 1)));
  if (r.pri > 191 || (close > 2 && text[1] == '0')) return bad("PRI out of range");
  text.remove_prefix(close + 1);
  auto version = token(text, "VERSION");
  if (!version) return version.error();
  if (!digits(*version) || version->size() > 3 || (*version)[0] == '0') return bad("VERSION");
  r.version = std::stoi(std::string(*version));
  auto ts = token(text, "TIMESTAMP");
  if (!ts) return ts.error();
  if (*ts != "-" && !valid_timestamp(*ts)) return bad("TIMESTAMP " + std::string(*ts));
  r.timestamp = std::string(*ts);
  const std::pair<std::string*, std::pair<std::string_view, std::size_t>> fields[] = {
      {&r.hostname, {"HOSTNAME", 255}},
      {&r.app_name, {"APP-NAME", 48}},
      {&r.procid, {"PROCID", 128}},
      {&r.msgid, {"MSGID", 32}}};
  for (const auto& [out, spec] : fields) {
    auto f = header_field(text, spec.first, spec.second);
    if (!f) return f.error();
    *out = std::move(*f);
  }
  auto sd = structured_data(text);
  if (!sd) return sd.error();
  r.structured_data = std::move(*sd);
  if (text.empty()) return r;
  if (text[0] != ' ') return bad("no space between STRUCTURED-DATA and MSG");
  text.remove_prefix(1);
  if (text.starts_with("\xEF\xBB\xBF")) {
    r.msg_bom = true;
    text.remove_prefix(3);
  }
  r.msg = std::string(text);
  return r;
}

}  // namespace honeyman::testing
