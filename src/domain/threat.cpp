#include "domain/detail/threat.hpp"

namespace honeyman::domain {
namespace json = boost::json;

namespace detail {

std::optional<Severity> read_severity(ObjectReader& r, std::string_view key) {
  const json::value* v = r.get(key, true);
  if (!v) return std::nullopt;
  if (v->is_string())
    if (auto s = parse_severity(v->get_string())) return s;
  r.fail(key, "Input should be 'critical', 'high', 'medium', 'low' or 'info'", "enum");
  return std::nullopt;
}

Result<Threat> finish_threat(Threat t, Errors errors, std::optional<Error> spoofed) {
  if (spoofed) return std::move(*spoofed);
  if (!errors.empty()) return validation_error(std::move(errors));
  return t;
}

}  // namespace detail

namespace {

// A 1000-item batch with every item broken would otherwise produce a multi-megabyte 422.
constexpr std::size_t kMaxReportedErrors = 100;

// Keys only the field agent sends; their presence selects its format.
bool is_agent_format(const json::object& obj) {
  for (std::string_view key :
       {"source", "risk_level", "threats_detected", "raw_data", "geolocation"})
    if (obj.contains(key)) return true;
  return false;
}

// A sensor time beyond the policy is not believed: the threat takes its receipt time (where
// dashboards and retention expect it) and keeps the sensor's in raw_event.
void apply_clock_skew(Threat& t, const IngestContext& ctx) {
  if (t.timestamp_from_receipt) return;
  auto skew = t.timestamp - ctx.now;
  const auto& policy = ctx.clock_skew;
  bool too_old =
      t.timestamp < kEarliestSensorTime || (policy.max_past.count() > 0 && -skew > policy.max_past);
  if (skew <= policy.max_future && !too_old) return;
  t.raw_event["sensor_timestamp"] = format_timestamp(t.timestamp);
  t.clock_skew = skew;
  t.timestamp = ctx.now;
  t.timestamp_from_receipt = true;
}

// The message's SHA-256, hashed once for all its threats (a 1,000-threat batch used to hash the
// whole body once per threat); empty when ids are not derived from the message.
std::string digest_of(const IngestContext& ctx) {
  return ctx.message.empty() ? std::string() : sha256_hex(ctx.message);
}

Result<Threat> normalize_one(const json::value& payload, const IngestContext& ctx,
                             const std::vector<std::string>& loc_prefix, std::size_t index,
                             std::string_view message_digest) {
  if (!payload.is_object())
    return validation_error({{loc_prefix, "Input should be a valid dictionary", "dict_type"}});
  const json::object& obj = payload.get_object();
  auto t = is_agent_format(obj) ? detail::normalize_agent_threat(obj, ctx, loc_prefix)
                                : detail::normalize_canonical_threat(obj, ctx, loc_prefix);
  if (!t) return t;
  std::optional<Timestamp> stated;
  if (!t->timestamp_from_receipt) stated = t->timestamp;
  apply_clock_skew(*t, ctx);
  t->id = message_digest.empty() ? uuid_v7(ctx.now)
                                 : threat_id(t->sensor_id, message_digest, index, stated);
  t->created_at = ctx.now;
  t->updated_at = ctx.now;
  return t;
}

Result<std::vector<Threat>> normalize_array(const json::array& items, const IngestContext& ctx,
                                            const detail::Loc& loc) {
  if (items.empty())
    return validation_error(
        {{loc, "List should have at least 1 item after validation, not 0", "too_short"}});
  detail::Errors errors;
  if (items.size() > kMaxThreatsPerPayload) {
    detail::too_long_list(loc, errors, kMaxThreatsPerPayload, items.size());
    return validation_error(std::move(errors));
  }
  std::vector<Threat> out;
  out.reserve(items.size());
  const auto digest = digest_of(ctx);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto t = normalize_one(items[i], ctx, detail::append(loc, std::to_string(i)), i, digest);
    if (t) {
      out.push_back(std::move(*t));
      continue;
    }
    if (t.error().code != Errc::invalid_input) return t.error();
    for (auto& f : t.error().fields)
      if (errors.size() < kMaxReportedErrors) errors.push_back(std::move(f));
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  return out;
}

}  // namespace

std::string threat_id(std::string_view sensor_id, std::string_view message_digest,
                      std::size_t index, std::optional<Timestamp> sensor_time) {
  std::string input;
  input.reserve(sensor_id.size() + message_digest.size() + 24);
  input.append(sensor_id).push_back('\0');
  input.append(std::to_string(index)).push_back('\0');
  input.append(message_digest);
  auto hex = sha256_hex(input);
  // The first 12 hex digits: the stated time in milliseconds (clamped to 48 bits), as in a v7.
  std::int64_t ms = 0;
  if (sensor_time)
    ms = std::clamp<std::int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(sensor_time->time_since_epoch())
            .count(),
        0, (std::int64_t{1} << 48) - 1);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 11; i >= 0; --i, ms >>= 4) hex[i] = kHex[ms & 15];
  // 8-4-4-4-12 of 32 hex digits, version nibble 8, variant bits 10.
  hex[12] = '8';
  static constexpr char kVariant[] = "89ab";
  auto nibble = hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10;
  hex[16] = kVariant[nibble & 3];
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20, 12);
}

Result<Threat> normalize_threat(const json::value& payload, const IngestContext& ctx,
                                const std::vector<std::string>& loc_prefix) {
  return normalize_one(payload, ctx, loc_prefix, 0, digest_of(ctx));
}

Result<std::vector<Threat>> normalize_threats(const json::value& payload, const IngestContext& ctx,
                                              const std::vector<std::string>& loc_prefix) {
  if (payload.is_array()) return normalize_array(payload.get_array(), ctx, loc_prefix);
  if (!payload.is_object())
    return validation_error(
        {{loc_prefix, "Input should be a threat object or an array of them", "dict_type"}});
  auto t = normalize_one(payload, ctx, loc_prefix, 0, digest_of(ctx));
  if (!t) return t.error();
  std::vector<Threat> out;
  out.push_back(std::move(*t));
  return out;
}

}  // namespace honeyman::domain
