// Sensor liveness and the partial update of PUT /sensors/{sensor_id}.
#include "domain/detail/fields.hpp"
#include "domain/domain.hpp"

namespace honeyman::domain {
namespace json = boost::json;
using detail::ObjectReader;

namespace {

constexpr std::string_view kUpdateKeys[] = {"name",     "description",      "is_active",
                                            "latitude", "longitude",        "city",
                                            "country",  "enabled_detectors"};
constexpr std::size_t kMaxNameChars = 128;
constexpr std::size_t kMaxDescriptionChars = 1024;

// A nullable field: absent → nullopt, null → optional holding nullopt (clear), else the value.
template <class T, class Check>
void read_nullable(ObjectReader& r, std::string_view key, std::optional<std::optional<T>>& out,
                   Check check) {
  const json::value* v = r.get(key, false);
  if (!v) {
    if (r.has(key)) out.emplace(std::nullopt);
    return;
  }
  if (auto value = check(*v, r.loc(key), r.errors())) out.emplace(std::move(*value));
}

void read_nullable_text(ObjectReader& r, std::string_view key,
                        std::optional<std::optional<std::string>>& out, std::size_t max_chars) {
  read_nullable(r, key, out,
                [max_chars](const json::value& v, const detail::Loc& loc, detail::Errors& errors) {
                  return detail::check_string(v, loc, errors, 0, max_chars);
                });
}

void read_nullable_number(ObjectReader& r, std::string_view key,
                          std::optional<std::optional<double>>& out, detail::Range range) {
  read_nullable(r, key, out,
                [range](const json::value& v, const detail::Loc& loc, detail::Errors& errors) {
                  return detail::check_number(v, loc, errors, range);
                });
}

std::optional<std::string> read_name(ObjectReader& r) {
  auto name = r.string("name", true, kMaxNameChars);
  if (name && name->find_first_not_of(" \t\r\n") == std::string::npos) {
    r.fail("name", "Value error, name must not be blank", "value_error");
    return std::nullopt;
  }
  return name;
}

}  // namespace

bool is_online(const Sensor& s, Timestamp now, std::chrono::seconds heartbeat_interval) {
  return s.last_seen && *s.last_seen >= now - 3 * heartbeat_interval;
}

bool SensorUpdate::empty() const {
  return !name && !description && !city && !country && !is_active && !latitude && !longitude &&
         !enabled_detectors;
}

Result<SensorUpdate> parse_sensor_update(const json::value& body) {
  const detail::Loc loc{"body"};
  if (!body.is_object())
    return validation_error({{loc, "Input should be a valid dictionary", "dict_type"}});
  detail::Errors errors;
  ObjectReader r(body.get_object(), loc, errors);
  r.refuse_unknown(kUpdateKeys);
  SensorUpdate u;
  // Not nullable: a sensor always has a name and an active flag.
  if (r.has("name")) u.name = read_name(r);
  if (r.has("is_active")) u.is_active = r.boolean("is_active", true);
  read_nullable_text(r, "description", u.description, kMaxDescriptionChars);
  read_nullable_text(r, "city", u.city, detail::kMaxTextChars);
  read_nullable_text(r, "country", u.country, detail::kMaxTextChars);
  read_nullable_number(r, "latitude", u.latitude, detail::kLatitudeRange);
  read_nullable_number(r, "longitude", u.longitude, detail::kLongitudeRange);
  if (r.has("enabled_detectors")) {
    if (r.get("enabled_detectors", true)->is_null())
      r.fail("enabled_detectors", "Input should be a valid list", "list_type");
    else
      u.enabled_detectors =
          r.strings("enabled_detectors", detail::kMaxDetectors, 1, detail::kMaxDetectorNameChars);
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  return u;
}

}  // namespace honeyman::domain
