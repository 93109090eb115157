#include "domain/detail/fields.hpp"

#include <cmath>
#include <cstdio>

#include "domain/domain.hpp"

namespace honeyman::domain::detail {
namespace json = boost::json;

namespace {

// Bounds print as pydantic prints them: "0", "-90", "0.5".
std::string format_bound(double d) {
  char buf[32];
  if (d == std::floor(d) && std::fabs(d) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", d);
  else
    std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

bool check_range(double d, const Loc& loc, Errors& errors, Range range) {
  if (d < range.min) {
    errors.push_back({loc, "Input should be greater than or equal to " + format_bound(range.min),
                      "greater_than_equal"});
    return false;
  }
  if (d > range.max) {
    errors.push_back({loc, "Input should be less than or equal to " + format_bound(range.max),
                      "less_than_equal"});
    return false;
  }
  return true;
}

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

Loc append(const Loc& base, std::string_view key) {
  Loc out = base;
  out.emplace_back(key);
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string> check_string(const json::value& v, const Loc& loc, Errors& errors,
                                        std::size_t min_chars, std::size_t max_chars) {
  if (!v.is_string()) {
    errors.push_back({loc, "Input should be a valid string", "string_type"});
    return std::nullopt;
  }
  std::string_view s = v.get_string();
  std::size_t n = utf8_length(s);
  if (n < min_chars) {
    errors.push_back(
        {loc, "String should have at least " + plural(min_chars, "character"), "string_too_short"});
    return std::nullopt;
  }
  if (n > max_chars) {
    errors.push_back(
        {loc, "String should have at most " + plural(max_chars, "character"), "string_too_long"});
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<double> check_number(const json::value& v, const Loc& loc, Errors& errors,
                                   Range range) {
  double d;
  if (v.is_double())
    d = v.get_double();
  else if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else {
    errors.push_back({loc, "Input should be a valid number", "float_type"});
    return std::nullopt;
  }
  // A JSON literal too large for a double parses as infinity.
  if (!std::isfinite(d)) {
    errors.push_back({loc, "Input should be a finite number", "finite_number"});
    return std::nullopt;
  }
  if (!check_range(d, loc, errors, range)) return std::nullopt;
  return d;
}

std::optional<int> check_int(const json::value& v, const Loc& loc, Errors& errors, Range range) {
  double d;
  if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else {
    errors.push_back({loc, "Input should be a valid integer", "int_type"});
    return std::nullopt;
  }
  if (!check_range(d, loc, errors, range)) return std::nullopt;
  return static_cast<int>(d);
}

std::optional<bool> check_bool(const json::value& v, const Loc& loc, Errors& errors) {
  if (!v.is_bool()) {
    errors.push_back({loc, "Input should be a valid boolean", "bool_type"});
    return std::nullopt;
  }
  return v.get_bool();
}

std::optional<Timestamp> check_timestamp(const json::value& v, const Loc& loc, Errors& errors,
                                         Timestamp latest) {
  if (!v.is_string()) {
    errors.push_back({loc, "Input should be a valid datetime", "datetime_type"});
    return std::nullopt;
  }
  auto t = parse_timestamp(v.get_string());
  if (!t) {
    errors.push_back({loc, "Input should be a valid datetime (ISO 8601, e.g. 2026-08-08T14:03:27Z)",
                      "datetime_parsing"});
    return std::nullopt;
  }
  if (*t > latest) {
    errors.push_back(
        {loc,
         "Value error, timestamp is in the future (later than " + format_timestamp(latest) + ")",
         "value_error"});
    return std::nullopt;
  }
  return t;
}

bool check_size(std::size_t bytes, const Loc& loc, Errors& errors, std::size_t max_bytes) {
  if (bytes <= max_bytes) return true;
  errors.push_back({loc, "Value error, larger than " + std::to_string(max_bytes) + " bytes as JSON",
                    "value_error"});
  return false;
}

void too_long_list(const Loc& loc, Errors& errors, std::size_t max_items, std::size_t got) {
  errors.push_back({loc,
                    "List should have at most " + plural(max_items, "item") +
                        " after validation, not " + std::to_string(got),
                    "too_long"});
}

void ObjectReader::fail(std::string_view key, std::string msg, std::string type) {
  errors_.push_back({loc(key), std::move(msg), std::move(type)});
}

void ObjectReader::refuse_unknown(std::span<const std::string_view> allowed) {
  for (const auto& member : obj_) {
    bool known = false;
    for (auto a : allowed) known = known || member.key() == a;
    if (!known) fail(member.key(), "Extra inputs are not permitted", "extra_forbidden");
  }
}

const json::value* ObjectReader::get(std::string_view key, bool required) {
  const json::value* v = obj_.if_contains(key);
  if (!v) {
    if (required) fail(key, "Field required", "missing");
    return nullptr;
  }
  if (v->is_null() && !required) return nullptr;
  return v;
}

std::optional<std::string> ObjectReader::string(std::string_view key, bool required,
                                                std::size_t max_chars) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  return check_string(*v, loc(key), errors_, required ? 1 : 0, max_chars);
}

std::optional<double> ObjectReader::number(std::string_view key, bool required, Range range) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  return check_number(*v, loc(key), errors_, range);
}

std::optional<int> ObjectReader::integer(std::string_view key, bool required, Range range) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  return check_int(*v, loc(key), errors_, range);
}

std::optional<bool> ObjectReader::boolean(std::string_view key, bool required) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  return check_bool(*v, loc(key), errors_);
}

std::optional<Timestamp> ObjectReader::timestamp(std::string_view key, bool required,
                                                 Timestamp latest) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  return check_timestamp(*v, loc(key), errors_, latest);
}

const json::object* ObjectReader::object(std::string_view key, bool required) {
  const json::value* v = get(key, required);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail(key, "Input should be a valid dictionary", "dict_type");
    return nullptr;
  }
  return &v->get_object();
}

const json::array* ObjectReader::array(std::string_view key, bool required, std::size_t max_items) {
  const json::value* v = get(key, required);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(key, "Input should be a valid list", "list_type");
    return nullptr;
  }
  if (v->get_array().size() > max_items) {
    too_long_list(loc(key), errors_, max_items, v->get_array().size());
    return nullptr;
  }
  return &v->get_array();
}

std::optional<std::vector<std::string>> ObjectReader::strings(std::string_view key,
                                                              std::size_t max_items,
                                                              std::size_t min_chars,
                                                              std::size_t max_chars) {
  const json::array* a = array(key, false, max_items);
  if (!a) return std::nullopt;
  std::size_t before = errors_.size();
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto s =
        check_string((*a)[i], append(loc(key), std::to_string(i)), errors_, min_chars, max_chars);
    if (s) out.push_back(std::move(*s));
  }
  if (errors_.size() != before) return std::nullopt;
  return out;
}

std::optional<std::string> read_sensor_id(ObjectReader& r, const std::optional<std::string>& auth,
                                          std::optional<Error>& spoofed) {
  const json::value* v = r.get("sensor_id", false);
  if (!v) {
    if (!auth) r.fail("sensor_id", "Field required", "missing");
    return auth;
  }
  if (!v->is_string()) {
    r.fail("sensor_id", "Input should be a valid string", "string_type");
    return std::nullopt;
  }
  std::string id(v->get_string());
  if (!is_valid_sensor_id(id)) {
    r.fail("sensor_id", "String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
           "string_pattern_mismatch");
    return std::nullopt;
  }
  if (auth && id != *auth) {
    spoofed = make_error(Errc::forbidden, "sensor_id '" + id +
                                              "' in the payload does not match the "
                                              "authenticated sensor '" +
                                              *auth + "'");
    return std::nullopt;
  }
  return id;
}

}  // namespace honeyman::domain::detail
