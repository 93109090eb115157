// The JSON bodies of the routes that take one (other than the ingest batches: http_batch.cpp).
// The first byte picks the route (its value modulo 16, so the seeds start with '0'..'9' or
// ':'..'=' and every byte the fuzzer tries picks some route); the rest is the body, read by http's
// JSON body parser and then by the route's own parser.
#include "api/detail/request_bodies.hpp"
#include "domain/domain.hpp"
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {
namespace {

constexpr std::string_view kBodyTarget = "request_body";
constexpr std::string_view kBodySensor = "rpi5-defcon-01";  // the wire samples' sensor

template <class T>
void check_parsed(const Result<T>& parsed) {
  if (!parsed) support::check_error_answer(kBodyTarget, parsed.error());
}

// body_object(): the routes that want an object refuse anything else with 422.
void parse_object_route(int route, const boost::json::object& body) {
  namespace d = api::detail;
  switch (route) {
    case 0: {  // POST /auth/login
      auto login = d::parse_login(body);
      check_parsed(login);
      // An empty or malformed username is not refused here: it fails as an unknown user (401).
      if (login)
        support::check(login->username.size() <= 64 && login->password.size() <= 1024, kBodyTarget,
                       "login credentials over their limits");
      return;
    }
    case 1:  // POST /auth/refresh
      return check_parsed(d::parse_refresh(body));
    case 2: {  // POST /onboarding/tokens
      auto token = d::parse_token_request(body);
      check_parsed(token);
      if (token)
        support::check(token->validity_hours >= 1 && token->validity_hours <= 168 &&
                           !token->sensor_name.empty(),
                       kBodyTarget, "token request outside its limits");
      return;
    }
    case 3: {  // POST /onboarding/register
      auto registration = d::parse_registration(body);
      check_parsed(registration);
      if (registration)
        support::check(domain::is_valid_sensor_id(registration->sensor_id), kBodyTarget,
                       "registration with an invalid sensor id");
      return;
    }
    case 4:  // PUT /threats/{id}/acknowledge
      return check_parsed(d::parse_acknowledgement(body));
    case 8:  // PATCH /threats/{id}
      return check_parsed(d::parse_threat_change(body));
    case 9: {  // POST /threats/bulk
      auto bulk = d::parse_bulk_request(body);
      check_parsed(bulk);
      if (bulk)
        support::check(bulk->selection.ids.empty() != !bulk->selection.filter &&
                           bulk->selection.ids.size() <= 10'000 && !bulk->change.empty(),
                       kBodyTarget, "bulk request outside its rules");
      return;
    }
    case 10: {  // POST /users
      auto user = d::parse_new_user(body);
      check_parsed(user);
      return;
    }
    case 11: {  // PATCH /users/{id}
      auto update = d::parse_user_update(body);
      check_parsed(update);
      if (update) support::check(!update->empty(), kBodyTarget, "empty user update accepted");
      return;
    }
    case 12:  // POST /users/{id}/password
      return check_parsed(d::parse_password_reset(body));
    case 13:  // POST /auth/password
      return check_parsed(d::parse_password_change(body));
  }
}

// The routes that take any JSON value and check its shape themselves.
void parse_value_route(int route, const boost::json::value& body) {
  switch (route) {
    case 5:  // PUT /sensors/{id}
      return check_parsed(domain::parse_sensor_update(body));
    case 6: {  // POST /sensors/{id}/heartbeat, with that sensor's API key
      domain::IngestContext ctx;
      ctx.authenticated_sensor_id = std::string(kBodySensor);
      ctx.now = support::kNow;
      auto hb = domain::normalize_heartbeat(body, ctx);
      check_parsed(hb);
      if (hb)
        support::check(hb->sensor_id == kBodySensor, kBodyTarget, "heartbeat of another sensor");
      return;
    }
  }
}

}  // namespace

int request_body(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int route = data[0] % 16;
  http::Request request{http::Verb::post, "/api/v2/fuzz", 11};
  request.set(boost::beast::http::field::content_type, "application/json");
  request.body().assign(support::as_text(data + 1, size - 1));
  auto body = http::parse_json_body(request);  // routes 7, 14 and 15: only this
  if (!body) {
    support::check_error_answer(kBodyTarget, body.error());
    return 0;
  }
  if (route == 5 || route == 6) {
    parse_value_route(route, *body);
    return 0;
  }
  if (!body->is_object()) return 0;  // body_object(): 422 dict_type
  parse_object_route(route, body->get_object());
  return 0;
}

}  // namespace honeyman::fuzz
