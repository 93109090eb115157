#include "support/cef.hpp"

#include <algorithm>
#include <cctype>

namespace honeyman::testing {
namespace {
namespace cef_parse {

Error bad(std::string what) {
  return make_error(Errc::invalid_input, std::move(what));
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The length of the key at `text`'s start including its '=', or 0 when there is none.
std::size_t key_length(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && is_key_char(text[n])) ++n;
  return n != 0 && n < text.size() && text[n] == '=' ? n + 1 : 0;
}

// Splits the seven header fields off `text`; `rest` is then the extension.
Result<std::vector<std::string>> header_fields(std::string_view text, std::string_view& rest) {
  std::vector<std::string> fields(1);
  std::size_t i = 0;
  for (; i < text.size() && fields.size() <= 7; ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') return bad("raw line break in the header");
    if (c == '|') {
      fields.emplace_back();
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size() || (text[i + 1] != '\\' && text[i + 1] != '|')) {
        return bad("bad escape in header field " + std::to_string(fields.size()));
      }
      fields.back() += text[++i];
      continue;
    }
    fields.back() += c;
  }
  if (fields.size() != 8) return bad("the header has fewer than 7 fields");
  fields.pop_back();  // the extension's (empty) start
  rest = text.substr(i);
  return fields;
}

Result<std::string> extension_value(std::string_view text, std::size_t& i) {
  std::string value;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' && key_length(text.substr(i + 1)) != 0) break;
    if (c == '\n' || c == '\r') return bad("raw line break in an extension value");
    if (c == '=') return bad("unescaped '=' in an extension value");
    if (c != '\\') {
      value += c;
      continue;
    }
    if (i + 1 >= text.size()) return bad("dangling '\\' in an extension value");
    const char e = text[++i];
    if (e == '\\' || e == '=') {
      value += e;
    } else if (e == 'n') {
      value += '\n';
    } else if (e == 'r') {
      value += '\r';
    } else {
      return bad(std::string("bad escape \\") + e + " in an extension value");
    }
  }
  return value;
}

Result<std::vector<std::pair<std::string, std::string>>> extensions(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!out.empty()) ++i;  // the space before a key
    const auto n = key_length(text.substr(i));
    if (n == 0) return bad("expected key= at offset " + std::to_string(i));
    std::string key(text.substr(i, n - 1));
    i += n;
    auto value = extension_value(text, i);
    if (!value) return value.error();
    const bool repeated =
        std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; });
    if (repeated) return bad("repeated key " + key);
    out.emplace_back(std::move(key), std::move(*value));
  }
  return out;
}

}  // namespace cef_parse
}  // namespace

std::optional<std::string> CefEvent::get(std::string_view key) const {
  for (const auto& [k, v] : extensions) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> CefEvent::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : extensions) out.push_back(kv.first);
  return out;
}

Result<CefEvent> parse_cef(std::string_view text) {
  using namespace cef_parse;
  if (!text.starts_with("CEF:")) return bad("does not start with CEF:");
  std::string_view rest;
  auto fields = header_fields(text.substr(4), rest);
  if (!fields) return fields.error();
  auto& f = *fields;
  CefEvent e;
  e.cef_version = f[0];
  if (e.cef_version != "0" && e.cef_version != "1") return bad("CEF version " + f[0]);
  e.vendor = f[1];
  e.product = f[2];
  e.version = f[3];
  e.signature_id = f[4];
  e.name = f[5];
  const auto& sev = f[6];
  if (sev.empty() || sev.size() > 2 || !std::all_of(sev.begin(), sev.end(), is_digit) ||
      std::stoi(sev) > 10) {
    return bad("severity " + sev);
  }
  e.severity = std::stoi(sev);
  auto ext = extensions(rest);
  if (!ext) return ext.error();
  e.extensions = std::move(*ext);
  return e;
}

}  // namespace honeyman::testing
