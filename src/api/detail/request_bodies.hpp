// The JSON request bodies of the routes that take one, read into what the route needs: pure
// functions (no I/O, no clock), thread-safe. Each is defined next to its route (auth_routes.cpp,
// onboarding.cpp, threats.cpp) and declared here so the fuzz targets (fuzz/) reach every parser
// a client's bytes pass through. Errors: Errc::invalid_input with one FieldError per problem
// ({"body", <key>...}); bodies that are not JSON objects are refused before (body_object()).
#pragma once

#include <optional>
#include <string>

#include "api/detail/common.hpp"

namespace honeyman::api::detail {

// POST /auth/login.
struct LoginBody {
  std::string username;  // 1..64 characters
  std::string password;  // up to 1024 bytes
};
Result<LoginBody> parse_login(const json::object& body);

// POST /auth/refresh: the refresh token.
Result<std::string> parse_refresh(const json::object& body);

// POST /onboarding/tokens; `created_by` is left empty (the route sets the caller).
Result<service::TokenRequest> parse_token_request(const json::object& body);

// POST /onboarding/register.
Result<service::RegistrationRequest> parse_registration(const json::object& body);

// POST /honeypot/data, the field agent's HTTP fallback: {"type": "threats", "honeypot_id": id,
// "data": [...]}. `data` points into `body`. Errc::forbidden when honeypot_id is not
// `api_key_sensor` (the sensor the X-API-Key belongs to).
struct HoneypotBatch {
  std::string honeypot_id;
  const json::value* data = nullptr;  // an array; normalised by domain::normalize_threats
};
Result<HoneypotBatch> parse_honeypot_batch(const json::object& body,
                                           std::string_view api_key_sensor);

// PUT /threats/{id}/acknowledge (a non-empty body): the notes, if any.
Result<std::optional<std::string>> parse_acknowledgement(const json::object& body);

// PATCH /threats/{id}: {status?, assignee? (null unassigns), note?}, at least one of them.
Result<store::ThreatChange> parse_threat_change(const json::object& body);

// POST /threats/bulk: {ids: [...] | filter: {...}, set: {status?, assignee?}, note?}. The
// filter's members are the list query's parameters (GET /threats) with the same rules; lists as
// JSON arrays.
struct BulkRequest {
  store::ThreatSelection selection;
  store::ThreatChange change;
};
Result<BulkRequest> parse_bulk_request(const json::object& body);

// POST /users.
Result<service::NewUser> parse_new_user(const json::object& body);
// PATCH /users/{id}: {role?, is_active?, email?, full_name?}, at least one.
Result<service::UserUpdate> parse_user_update(const json::object& body);
// POST /users/{id}/password: the new password.
Result<std::string> parse_password_reset(const json::object& body);
// POST /auth/password.
struct PasswordChange {
  std::string current_password, new_password;
};
Result<PasswordChange> parse_password_change(const json::object& body);

}  // namespace honeyman::api::detail
