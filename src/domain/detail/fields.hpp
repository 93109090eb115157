// Private to domain: pydantic-style validation of JSON input. Every check appends FieldErrors
// (loc, msg, type as FastAPI would report them) to a caller-owned list instead of stopping at
// the first problem, so a client sees everything wrong with its payload at once.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace honeyman::domain::detail {

using Loc = std::vector<std::string>;
using Errors = std::vector<FieldError>;

Loc append(const Loc& base, std::string_view key);
// Characters as a user counts them (UTF-8 code points), which is what pydantic limits.
std::size_t utf8_length(std::string_view s);
std::string to_lower_ascii(std::string_view s);

struct Range {
  double min, max;
};
inline constexpr double kUnbounded = 1e300;
inline constexpr Range kUnitRange{0, 1};
inline constexpr Range kLatitudeRange{-90, 90};
inline constexpr Range kLongitudeRange{-180, 180};
inline constexpr Range kPortRange{0, 65535};
inline constexpr Range kNonNegative{0, kUnbounded};
// Longest accepted free-text field (names, places, hosts).
inline constexpr std::size_t kMaxTextChars = 256;
// Most entries in one list field (rules, MITRE ids).
inline constexpr std::size_t kMaxListItems = 100;
// A sensor's detectors (heartbeats, sensor updates): at most this many names of this length.
inline constexpr std::size_t kMaxDetectors = 32;
inline constexpr std::size_t kMaxDetectorNameChars = 64;

template <class T, class U>
void assign(T& dst, std::optional<U> v) {
  if (v) dst = std::move(*v);
}

// Checks of one value at `loc`; nullopt (and an appended error) when it does not pass.
std::optional<std::string> check_string(const boost::json::value& v, const Loc& loc, Errors& errors,
                                        std::size_t min_chars, std::size_t max_chars);
// Any JSON number (never a bool or a numeric string), finite and inside `range`.
std::optional<double> check_number(const boost::json::value& v, const Loc& loc, Errors& errors,
                                   Range range);
// A JSON integer (not 22.0, not "22") inside `range`, which must lie within int's range.
std::optional<int> check_int(const boost::json::value& v, const Loc& loc, Errors& errors,
                             Range range);
std::optional<bool> check_bool(const boost::json::value& v, const Loc& loc, Errors& errors);
// A string in parse_timestamp()'s syntax, not later than `latest`.
std::optional<Timestamp> check_timestamp(const boost::json::value& v, const Loc& loc,
                                         Errors& errors, Timestamp latest);
// `bytes` (a serialised size) no more than `max_bytes`: bounds what one payload can make us store.
bool check_size(std::size_t bytes, const Loc& loc, Errors& errors, std::size_t max_bytes);
void too_long_list(const Loc& loc, Errors& errors, std::size_t max_items, std::size_t got);

// Typed access to the members of one JSON object at `loc`. For an optional member, JSON null
// means absent (as pydantic's Optional does); a required member that is null fails its type
// check. Keeps references to `obj` and `errors`: both must outlive the reader.
class ObjectReader {
 public:
  ObjectReader(const boost::json::object& obj, Loc loc, Errors& errors)
      : obj_(obj), loc_(std::move(loc)), errors_(errors) {}

  const Loc& loc() const { return loc_; }
  Loc loc(std::string_view key) const { return append(loc_, key); }
  Errors& errors() { return errors_; }
  bool has(std::string_view key) const { return obj_.contains(key); }
  void fail(std::string_view key, std::string msg, std::string type);
  // Every member not in `allowed` is an "extra_forbidden" error.
  void refuse_unknown(std::span<const std::string_view> allowed);

  // The member, or nullptr when absent (a "missing" error if required) or null and optional.
  const boost::json::value* get(std::string_view key, bool required);
  std::optional<std::string> string(std::string_view key, bool required, std::size_t max_chars);
  std::optional<double> number(std::string_view key, bool required, Range range);
  std::optional<int> integer(std::string_view key, bool required, Range range);
  std::optional<bool> boolean(std::string_view key, bool required);
  std::optional<Timestamp> timestamp(std::string_view key, bool required, Timestamp latest);
  const boost::json::object* object(std::string_view key, bool required);
  const boost::json::array* array(std::string_view key, bool required, std::size_t max_items);
  // An array of strings, each min_chars..max_chars long.
  std::optional<std::vector<std::string>> strings(std::string_view key, std::size_t max_items,
                                                  std::size_t min_chars, std::size_t max_chars);

 private:
  const boost::json::object& obj_;
  Loc loc_;
  Errors& errors_;
};

// The sensor a message belongs to (threats, heartbeats, registrations alike): the payload's
// `sensor_id` if valid, else the authenticated one. A payload naming another sensor than the
// authenticated one sets `spoofed` to an Errc::forbidden error.
std::optional<std::string> read_sensor_id(ObjectReader& r, const std::optional<std::string>& auth,
                                          std::optional<Error>& spoofed);

}  // namespace honeyman::domain::detail
