#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "core/core.hpp"

namespace honeyman {
namespace {

namespace json = boost::json;

// Boost.JSON 1.81 writes doubles as `8.2E-1`; people, Python and the old backend write `0.82`.
// Python's repr rule: the shortest digits that read back to the same double, in positional
// notation for exponents -4..15 (with ".0" when integral) and scientific outside it.
void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {  // JSON has no NaN or infinity; nothing parsed from JSON is either
    out += "null";
    return;
  }
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const char* e = std::find(buf, sci.ptr, 'e') + 1;  // "d.ddde+XX" or "d.ddde-XX"
  int exponent = 0;
  std::from_chars(e + (*e == '+'), sci.ptr, exponent);
  if (exponent < -4 || exponent >= 16) {
    out.append(buf, sci.ptr);
    return;
  }
  auto fixed = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  out.append(buf, fixed.ptr);
  if (std::find(buf, fixed.ptr, '.') == fixed.ptr) out += ".0";
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <typename Int>
void append_integer(std::string& out, Int n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_value(std::string& out, const json::value& v);

void append_object(std::string& out, const json::object& o) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : o) {
    if (!first) out += ',';
    first = false;
    append_string(out, key);
    out += ':';
    append_value(out, value);
  }
  out += '}';
}

void append_array(std::string& out, const json::array& a) {
  out += '[';
  bool first = true;
  for (const auto& value : a) {
    if (!first) out += ',';
    first = false;
    append_value(out, value);
  }
  out += ']';
}

void append_value(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      append_integer(out, v.get_int64());
      break;
    case json::kind::uint64:
      append_integer(out, v.get_uint64());
      break;
    case json::kind::double_:
      append_double(out, v.get_double());
      break;
    case json::kind::string:
      append_string(out, v.get_string());
      break;
    case json::kind::array:
      append_array(out, v.get_array());
      break;
    case json::kind::object:
      append_object(out, v.get_object());
      break;
  }
}

}  // namespace

std::string to_json_text(const json::value& v) {
  std::string out;
  out.reserve(256);
  append_value(out, v);
  return out;
}

std::string to_json_text(const json::object& o) {
  std::string out;
  out.reserve(256);
  append_object(out, o);
  return out;
}

std::string to_json_text(const json::array& a) {
  std::string out;
  out.reserve(256);
  append_array(out, a);
  return out;
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_string(out, s);
  return out;
}

}  // namespace honeyman
