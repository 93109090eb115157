// The registration message a sensor publishes on its status topic (SPEC §5).

#include "domain/detail/fields.hpp"
#include "domain/domain.hpp"

namespace honeyman::domain {
namespace json = boost::json;

namespace {

constexpr std::string_view kRegistrationKeys[] = {
    "type", "sensor_id", "sensor_name", "platform", "capabilities", "version", "agent_version"};

void read_type(detail::ObjectReader& r) {
  const json::value* type = r.get("type", false);
  if (type && !(type->is_string() && type->get_string() == "registration"))
    r.fail("type", "Input should be 'registration'", "literal_error");
}

}  // namespace

Result<Registration> normalize_registration(const json::value& payload, const IngestContext& ctx,
                                            const std::vector<std::string>& loc_prefix) {
  if (!payload.is_object())
    return validation_error({{loc_prefix, "Input should be a valid dictionary", "dict_type"}});
  detail::Errors errors;
  detail::ObjectReader r(payload.get_object(), loc_prefix, errors);
  r.refuse_unknown(kRegistrationKeys);
  read_type(r);
  std::optional<Error> spoofed;
  Registration reg;
  detail::assign(reg.sensor_id, detail::read_sensor_id(r, ctx.authenticated_sensor_id, spoofed));
  reg.sensor_name = r.string("sensor_name", false, detail::kMaxTextChars);
  reg.platform = r.string("platform", false, detail::kMaxTextChars);
  // The deployed agent says `version`; the rest of the API calls it `agent_version`.
  auto version = r.string("version", false, detail::kMaxTextChars);
  auto agent_version = r.string("agent_version", false, detail::kMaxTextChars);
  reg.agent_version = agent_version ? agent_version : version;
  if (const json::object* caps = r.object("capabilities", false)) {
    if (detail::check_size(to_json_text(*caps).size(), r.loc("capabilities"), errors,
                           kMaxRawEventBytes))
      reg.capabilities = *caps;
  }
  if (spoofed) return std::move(*spoofed);
  if (!errors.empty()) return validation_error(std::move(errors));
  return reg;
}

}  // namespace honeyman::domain
