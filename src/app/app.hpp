// app: the `honeyman` binary. Loads configuration once (defaults < .env < environment < flags),
// wires the chosen implementations together and runs a subcommand. Nothing else lives here.
#pragma once

#include <string>
#include <vector>

#include "alerting/alerting.hpp"
#include "api/api.hpp"
#include "auth/auth.hpp"
#include "broker/broker.hpp"
#include "core/core.hpp"
#include "http/http.hpp"
#include "ingest/ingest.hpp"
#include "jobs/jobs.hpp"
#include "store/store.hpp"

namespace honeyman::app {

// /metrics exposure (docs/DECISIONS.md "Observability (issue #12)"): never public by default.
struct MetricsConfig {
  bool enabled = true;            // METRICS_ENABLED: record metrics at all
  std::string listen_host;        // METRICS_LISTEN host; empty: no listener of its own
  std::uint16_t listen_port = 0;  // METRICS_LISTEN port (0: any free port)
  std::string token;              // METRICS_TOKEN: /metrics on the main port with this Bearer token
  bool listener() const { return enabled && !listen_host.empty(); }
};

struct AppConfig {
  std::string environment;  // ENVIRONMENT: production (default) | development | test
  std::string log_level, log_format;
  bool auto_migrate = true;
  // DATABASE_URL was set nowhere (no .env, environment or flag): the built-in
  // sqlite:///./honeyman.db, which is used only when that file already exists.
  bool database_url_is_default = false;
  // Say so (a warning) when a new SQLite file is created; `init` creates one on purpose.
  bool announce_new_database = true;
  int io_threads = 0;     // 0: one per core
  int store_threads = 4;  // BlockingPool size
  std::chrono::milliseconds shutdown_grace{10'000};
  store::StoreConfig store;
  http::ServerConfig http;
  auth::AuthConfig auth;
  api::ApiConfig api;
  ingest::ThreatWriterConfig ingest;
  broker::BrokerConfig broker;  // MQTT_*; broker.enabled() false: MQTT off
  ingest::MqttIngestConfig mqtt;
  bus::BusConfig bus;    // REDIS_URL: Redis pub/sub; unset: in-process
  api::LiveConfig live;  // WS_*: the WebSocket live feed
  // Retention (DATA_RETENTION_DAYS, ROLLUP_RETENTION_DAYS >= it, RETENTION_INTERVAL_SECONDS),
  // SENSOR_SWEEP_INTERVAL, store maintenance, revocation polling.
  jobs::JobsConfig jobs;
  MetricsConfig metrics;
  api::ConsoleConfig console;  // WEB_DIR: the web console at / (resolved for `serve` only)
  alerting::AlertServiceConfig alerting;  // ALERT_*, SIEM_*, CONSOLE_URL (SPEC §8)
};

// Every environment variable the product reads (SPEC §6 plus documented additions).
const std::vector<std::string>& known_settings();

// Typed, validated configuration. `for_server` adds the checks only `serve` needs (SECRET_KEY).
// Errors are one line naming the variable.
Result<AppConfig> load_config(const Settings& settings, bool for_server);

// DATABASE_URL with any password replaced by "***", for logs.
std::string redact_url(std::string_view url);

// Opens (and, unless AUTO_MIGRATE=false, migrates, telling `progress` of each migration) the
// configured store. Refuses a database whose schema is newer than this binary knows, and the
// built-in default database when it does not exist yet (see database_url_is_default); says so
// (a warning) when it creates a new SQLite file.
Result<std::unique_ptr<store::Store>> open_configured_store(
    const AppConfig& config, const store::MigrationProgress& progress = {});
// Opens the configured store without migrating it and checks its schema is one this binary
// knows (for backup, migrate --dry-run).
Result<std::unique_ptr<store::Store>> open_store_unmigrated(const AppConfig& config);
// The newest schema version this binary knows.
int known_schema_version(const store::Store& store);

int run_serve(const AppConfig& config);

}  // namespace honeyman::app
