// api: the REST resources of SPEC §2 (auth, sensors, threats, analytics, operations), mapping HTTP
// to the store, auth and ingest services. Handlers parse, call a service, and map the result; they
// hold no state of their own.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "auth/auth.hpp"
#include "broker/broker.hpp"
#include "core/core.hpp"
#include "http/http.hpp"
#include "ingest/ingest.hpp"
#include "store/store.hpp"

namespace honeyman::api {
namespace detail {
class ResponseCache;
}

struct ApiConfig {
  std::string version;                          // reported by /health
  std::string prefix = "/api/v2";               // API_PREFIX
  std::chrono::seconds heartbeat_interval{60};  // sensors are online for 3 of these
  // PUBLIC_API_URL: the API's base URL as sensors reach it (onboarding answers, QR codes);
  // empty: http://<the request's Host header>.
  std::string public_url;
  broker::BrokerConfig broker;  // what registration tells sensors (public host/port, TLS)
  // ANALYTICS_CACHE_MS: analytics answers are reused this long per instance (0: never).
  std::chrono::milliseconds analytics_cache_ttl{1000};
  // SENSORS_CACHE_MS: GET /sensors answers are reused this long per instance (0: never); sensor
  // edits through this instance clear them at once.
  std::chrono::milliseconds sensor_list_cache_ttl{1000};
};

// Everything a handler may use. Owned by app; outlives the server.
struct Services {
  ApiConfig config;
  store::Store& store;
  BlockingPool& pool;  // every Store and argon2id call runs here
  auth::AuthService& auth;
  ingest::Pipeline& ingest;
  const Clock& clock;
  // Set when MQTT is configured with an admin account: sensor accounts follow the sensors.
  broker::Admin* broker_admin = nullptr;
  ingest::MqttIngest* mqtt = nullptr;  // set when MQTT ingest runs (for /ready)
  // Answers of GET /sensors (set by the sensor routes); writes to sensors clear it.
  std::shared_ptr<detail::ResponseCache> sensor_list_cache{};
};

// Registers every route with its access rule on `router`.
void register_routes(http::Router& router, Services& services);

// Bearer JWT for users, X-API-Key for sensors.
std::unique_ptr<http::Authenticator> make_authenticator(Services& services);

}  // namespace honeyman::api
