// The HTTP ingest routes' bodies: POST /threats (one threat or an array, either wire format) as a
// sensor's API key and as an analyst sends it, and POST /honeypot/data (the field agent's
// fallback envelope). The body goes through http's JSON body parser, as the routes read it.
#include "api/detail/request_bodies.hpp"
#include "domain/domain.hpp"
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {
namespace {

constexpr std::string_view kBatchTarget = "http_batch";
constexpr std::string_view kBatchSensor = "rpi5-defcon-01";  // the wire samples' sensor

// What create_threats / honeypot_data do with the parsed body before the store.
void normalize_batch(const boost::json::value& payload, std::optional<std::string> sensor,
                     const std::vector<std::string>& loc) {
  domain::IngestContext ctx;
  ctx.authenticated_sensor_id = std::move(sensor);
  ctx.now = support::kNow;
  auto threats = domain::normalize_threats(payload, ctx, loc);
  if (!threats) {
    support::check_error_answer(kBatchTarget, threats.error());
    return;
  }
  support::check(!threats->empty() && threats->size() <= domain::kMaxThreatsPerPayload,
                 kBatchTarget, "threat count outside 1..1000");
  for (const auto& t : *threats) {
    support::check(domain::is_valid_sensor_id(t.sensor_id), kBatchTarget,
                   "threat with an invalid sensor id");
    support::check(!ctx.authenticated_sensor_id || t.sensor_id == *ctx.authenticated_sensor_id,
                   kBatchTarget, "threat stored under another sensor than the API key's");
    support::check(t.threat_score >= 0 && t.threat_score <= 1, kBatchTarget,
                   "threat_score outside 0..1");
  }
}

}  // namespace

int http_batch(const std::uint8_t* data, std::size_t size) {
  http::Request request{http::Verb::post, "/api/v2/threats", 11};
  request.set(boost::beast::http::field::content_type, "application/json");
  request.body().assign(support::as_text(data, size));
  auto body = http::parse_json_body(request);
  if (!body) {
    support::check_error_answer(kBatchTarget, body.error());
    return 0;
  }
  normalize_batch(*body, std::string(kBatchSensor), {"body"});
  normalize_batch(*body, std::nullopt, {"body"});
  if (!body->is_object()) return 0;
  auto batch = api::detail::parse_honeypot_batch(body->get_object(), kBatchSensor);
  if (!batch) {
    support::check_error_answer(kBatchTarget, batch.error());
    return 0;
  }
  support::check(batch->data != nullptr && batch->data->is_array(), kBatchTarget,
                 "honeypot batch without its data array");
  normalize_batch(*batch->data, std::string(kBatchSensor), {"body", "data"});
  return 0;
}

}  // namespace honeyman::fuzz
