#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <thread>

#include "app/app.hpp"

#ifndef HONEYMAN_VERSION
#define HONEYMAN_VERSION "0.0.0"
#endif

namespace honeyman::app {

const std::vector<std::string>& known_settings() {
  static const std::vector<std::string> keys = {"DATABASE_URL",
                                                "REDIS_URL",
                                                "MQTT_BROKER_HOST",
                                                "MQTT_BROKER_PORT",
                                                "MQTT_BROKER_USERNAME",
                                                "MQTT_BROKER_PASSWORD",
                                                "MQTT_USE_TLS",
                                                "MQTT_CA_CERT",
                                                "MQTT_ADMIN_USERNAME",
                                                "MQTT_ADMIN_PASSWORD",
                                                "MQTT_PUBLIC_HOST",
                                                "MQTT_PUBLIC_PORT",
                                                "MQTT_SHARED_GROUP",
                                                "SECRET_KEY",
                                                "ACCESS_TOKEN_EXPIRE_MINUTES",
                                                "REFRESH_TOKEN_EXPIRE_DAYS",
                                                "CORS_ORIGINS",
                                                "RATE_LIMIT_ENABLED",
                                                "RATE_LIMIT_PER_MINUTE",
                                                "LOGIN_RATE_LIMIT_PER_MINUTE",
                                                "DATA_RETENTION_DAYS",
                                                "MAX_CLOCK_SKEW_SECONDS",
                                                "MAX_CLOCK_SKEW_PAST_SECONDS",
                                                "WS_HEARTBEAT_INTERVAL",
                                                "SENSOR_HEARTBEAT_INTERVAL",
                                                "LOG_LEVEL",
                                                "LOG_FORMAT",
                                                "HOST",
                                                "PORT",
                                                "API_PREFIX",
                                                "ENVIRONMENT",
                                                "AUTO_MIGRATE",
                                                "MAX_REQUEST_BODY_BYTES",
                                                "REQUEST_HEADER_TIMEOUT",
                                                "KEEPALIVE_TIMEOUT",
                                                "IO_THREADS",
                                                "STORE_THREADS",
                                                "INGEST_BATCH_SIZE",
                                                "INGEST_BATCH_DELAY_MS",
                                                "INGEST_QUEUE_CAPACITY",
                                                "DATABASE_POOL_SIZE",
                                                "MQTT_CLIENT_ID",
                                                "MQTT_QUEUE_CAPACITY",
                                                "MQTT_MAX_PAYLOAD_BYTES",
                                                "PUBLIC_API_URL",
                                                "ROLLUP_RETENTION_DAYS",
                                                "AUDIT_RETENTION_DAYS",
                                                "BULK_MAX_ROWS",
                                                "RETENTION_INTERVAL_SECONDS",
                                                "ANALYTICS_CACHE_MS",
                                                "SENSORS_CACHE_MS",
                                                "WS_SEND_QUEUE_LIMIT",
                                                "WS_REPLAY_LIMIT",
                                                "WS_IDLE_TIMEOUT",
                                                "WS_SEND_QUEUE_BYTES",
                                                "WS_ECHO_MAX_BYTES",
                                                "WS_MAX_CONNECTIONS_PER_USER",
                                                "SENSOR_SWEEP_INTERVAL",
                                                "MAX_CONNECTIONS",
                                                "MAX_CONNECTIONS_PER_CLIENT",
                                                "TRUSTED_PROXIES",
                                                "METRICS_ENABLED",
                                                "METRICS_LISTEN",
                                                "METRICS_TOKEN",
                                                "ACCESS_LOG",
                                                "WEB_DIR",
                                                "SIEM_FORWARD",
                                                "SIEM_BUFFER",
                                                "ALERT_RETRY_MAX_HOURS",
                                                "ALERT_RETRY_BASE_MS",
                                                "ALERT_HTTP_TIMEOUT_MS",
                                                "ALERT_DESTINATION_CONCURRENCY",
                                                "ALERT_RELOAD_SECONDS",
                                                "CONSOLE_URL"};
  return keys;
}

std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme)
    return std::string(url);
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

namespace {

// Collects the first error of a sequence of typed reads so load_config stays linear.
struct Reader {
  const Settings& s;
  std::optional<Error> error;
  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
    auto v = s.get_int(key, fallback, min, max);
    if (!v && !error) error = v.error();
    return v ? *v : fallback;
  }
  bool boolean(const char* key, bool fallback) {
    auto v = s.get_bool(key, fallback);
    if (!v && !error) error = v.error();
    return v ? *v : fallback;
  }
};

// The descriptor limit `serve` runs with: it raises its soft limit to the hard one at start.
std::uint64_t open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_max == RLIM_INFINITY ? std::uint64_t{1} << 20 : limit.rlim_max;
}

// MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT (0 or unset: derived from the descriptor limit),
// TRUSTED_PROXIES.
Status load_http_limits(const Settings& s, Reader& r, http::ServerConfig& http) {
  auto total = static_cast<std::size_t>(r.integer("MAX_CONNECTIONS", 0, 0, 10'000'000));
  auto per_client =
      static_cast<std::size_t>(r.integer("MAX_CONNECTIONS_PER_CLIENT", 0, 0, 10'000'000));
  auto limits = http::default_connection_limits(open_files_limit(), total);
  http.max_connections = limits.total;
  http.max_connections_per_client = per_client > 0 ? per_client : limits.per_client;
  auto proxies = http::parse_networks(s.get_or("TRUSTED_PROXIES", ""));
  if (!proxies)
    return make_error(Errc::invalid_input, "TRUSTED_PROXIES: " + proxies.error().message);
  http.trusted_proxies = std::move(*proxies);
  return {};
}

// METRICS_ENABLED, METRICS_LISTEN ("host:port", "[v6]:port"), METRICS_TOKEN (>= 16 characters).
Status load_metrics(const Settings& s, Reader& r, MetricsConfig& m) {
  m.enabled = r.boolean("METRICS_ENABLED", true);
  m.token = s.get_or("METRICS_TOKEN", "");
  if (!m.token.empty() && m.token.size() < 16)
    return make_error(Errc::invalid_input, "METRICS_TOKEN must be at least 16 characters");
  auto listen = s.get_or("METRICS_LISTEN", "");
  if (listen.empty()) return {};
  auto colon = listen.rfind(':');
  auto bad =
      make_error(Errc::invalid_input,
                 "METRICS_LISTEN must be host:port (e.g. 127.0.0.1:9464); got '" + listen + "'");
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return bad;
  auto host = listen.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::int64_t port = -1;
  for (char ch : listen.substr(colon + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(ch)) || port > 65535) return bad;
    port = (port < 0 ? 0 : port * 10) + (ch - '0');
  }
  if (host.empty() || port < 0 || port > 65535) return bad;
  m.listen_host = host;
  m.listen_port = static_cast<std::uint16_t>(port);
  return {};
}

// A directory that holds a built console.
bool has_console(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / "index.html", ec);
}

// WEB_DIR: the built web console. off (false, none): no console. A path: that directory, which
// must exist (a console asked for and missing is a configuration error). Unset or empty: the
// package's (<the executable's directory>/../share/honeyman/web: /usr/share/honeyman/web for
// /usr/bin/honeyman), else this build's source tree's web/dist (development), else none, which
// is no error: the console is optional, and GET / then says how to build it.
Status load_web_dir(const Settings& s, api::ConsoleConfig& console) {
  namespace fs = std::filesystem;
  auto value = s.get_or("WEB_DIR", "");
  std::string lower;
  for (char ch : value) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "off" || lower == "false" || lower == "none") {
    console.enabled = false;
    return {};
  }
  std::error_code ec;
  if (!value.empty()) {
    if (!fs::is_directory(value, ec))
      return make_error(Errc::invalid_input,
                        "WEB_DIR: " + value +
                            " is not a directory (the built web console: scripts/build-web writes "
                            "web/dist; WEB_DIR=off serves none)");
    console.dir = value;
    console.found_by = "WEB_DIR";
    return {};
  }
  auto executable = fs::read_symlink("/proc/self/exe", ec);
  auto installed = executable.parent_path() / ".." / "share" / "honeyman" / "web";
  if (!ec && has_console(installed)) {
    console.dir = installed.lexically_normal();
    console.found_by = "installed beside the executable";
    return {};
  }
#ifdef HONEYMAN_SOURCE_WEB_DIR
  if (has_console(HONEYMAN_SOURCE_WEB_DIR)) {
    console.dir = HONEYMAN_SOURCE_WEB_DIR;
    console.found_by = "the source tree's build";
  }
#endif
  return {};
}

Status check_secret(AppConfig& c, bool for_server) {
  if (c.auth.secret_key.empty()) {
    if (!for_server) return {};
    if (c.environment != "development")
      return make_error(Errc::invalid_input,
                        "SECRET_KEY is not set; set it (e.g. `openssl rand -hex 32`) or run "
                        "`honeyman init`; only ENVIRONMENT=development may run without one");
    c.auth.secret_key = random_token(48);  // development only: tokens die with the process
    return {};
  }
  if (c.auth.secret_key.size() < 32 && c.environment != "development")
    return make_error(Errc::invalid_input, "SECRET_KEY must be at least 32 characters");
  return {};
}

bool is_topic_level(std::string_view s) {
  return !s.empty() && s.size() <= 64 && domain::is_valid_sensor_id(s);
}

std::string default_client_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string id = "honeyman-";
  for (char ch : std::string_view(host))
    id += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-') ? ch : '-';
  return id;
}

// MQTT_*: unset MQTT_BROKER_HOST leaves MQTT off (HTTP ingest still works).
Status load_mqtt(const Settings& s, Reader& r, AppConfig& c) {
  auto& b = c.broker;
  b.host = s.get_or("MQTT_BROKER_HOST", "");
  b.port = static_cast<std::uint16_t>(r.integer("MQTT_BROKER_PORT", 1883, 1, 65535));
  b.use_tls = r.boolean("MQTT_USE_TLS", false);
  b.ca_cert = s.get_or("MQTT_CA_CERT", "");
  b.username = s.get_or("MQTT_BROKER_USERNAME", "honeyman-server");
  b.password = s.get_or("MQTT_BROKER_PASSWORD", "");
  b.admin_username = s.get_or("MQTT_ADMIN_USERNAME", "");
  b.admin_password = s.get_or("MQTT_ADMIN_PASSWORD", "");
  b.public_host = s.get_or("MQTT_PUBLIC_HOST", b.host);
  b.public_port = static_cast<std::uint16_t>(r.integer("MQTT_PUBLIC_PORT", b.port, 1, 65535));
  b.shared_group = s.get_or("MQTT_SHARED_GROUP", "");
  b.client_id = s.get_or("MQTT_CLIENT_ID", default_client_id());
  c.mqtt.queue_capacity =
      static_cast<std::size_t>(r.integer("MQTT_QUEUE_CAPACITY", 2'000, 10, 10'000'000));
  c.mqtt.max_payload_bytes = static_cast<std::size_t>(
      r.integer("MQTT_MAX_PAYLOAD_BYTES", 256 * 1024, 1024, 64 * 1024 * 1024));
  c.api.public_url = s.get_or("PUBLIC_API_URL", "");
  c.api.require_public_url = c.environment == "production";
  if (!b.shared_group.empty() && !is_topic_level(b.shared_group))
    return make_error(Errc::invalid_input,
                      "MQTT_SHARED_GROUP must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (b.client_id.empty() || b.client_id.size() > 128)
    return make_error(Errc::invalid_input, "MQTT_CLIENT_ID must be 1-128 characters");
  if (b.enabled() && !b.admin_username.empty() && b.password.empty())
    return make_error(Errc::invalid_input,
                      "MQTT_BROKER_PASSWORD is not set; the server creates its broker account "
                      "MQTT_BROKER_USERNAME with it (MQTT_ADMIN_USERNAME is set)");
  if (!b.admin_username.empty() && b.admin_password.empty())
    return make_error(Errc::invalid_input, "MQTT_ADMIN_PASSWORD is not set");
  if (!c.api.public_url.empty() && !c.api.public_url.starts_with("http://") &&
      !c.api.public_url.starts_with("https://"))
    return make_error(Errc::invalid_input, "PUBLIC_API_URL must start with http:// or https://");
  while (c.api.public_url.ends_with('/')) c.api.public_url.pop_back();
  c.api.broker = b;
  return {};
}

}  // namespace

Result<AppConfig> load_config(const Settings& s, bool for_server) {
  AppConfig c;
  Reader r{s, std::nullopt};
  c.environment = s.get_or("ENVIRONMENT", "production");
  if (c.environment != "production" && c.environment != "development" && c.environment != "test")
    return make_error(Errc::invalid_input, "ENVIRONMENT must be production, development or test");
  c.log_level = s.get_or("LOG_LEVEL", "info");
  c.log_format = s.get_or("LOG_FORMAT", "text");
  c.auto_migrate = r.boolean("AUTO_MIGRATE", true);
  c.io_threads = static_cast<int>(r.integer("IO_THREADS", 0, 0, 256));
  c.store_threads = static_cast<int>(r.integer("STORE_THREADS", 4, 1, 256));
  auto& retention = c.jobs.retention;
  retention.data_retention_days = static_cast<int>(r.integer("DATA_RETENTION_DAYS", 90, 1, 36500));
  retention.rollup_retention_days =
      static_cast<int>(r.integer("ROLLUP_RETENTION_DAYS", 730, 1, 36500));
  retention.interval =
      std::chrono::seconds(r.integer("RETENTION_INTERVAL_SECONDS", 600, 1, 7 * 86400));
  retention.audit_retention_days =
      static_cast<int>(r.integer("AUDIT_RETENTION_DAYS", 365, 1, 36500));

  c.store.database_url = s.get_or("DATABASE_URL", "sqlite:///./honeyman.db");
  c.database_url_is_default = !s.get("DATABASE_URL");
  // PostgreSQL connections: one per store thread, plus the ingest writer and a spare.
  c.store.pool_size =
      static_cast<int>(r.integer("DATABASE_POOL_SIZE", c.store_threads + 2, 1, 1000));

  c.http.host = s.get_or("HOST", "0.0.0.0");
  c.http.port = static_cast<std::uint16_t>(r.integer("PORT", 8000, 0, 65535));
  c.http.api_prefix = s.get_or("API_PREFIX", "/api/v2");
  c.http.cors_origins = s.get_list("CORS_ORIGINS");
  c.http.rate_limit_enabled = r.boolean("RATE_LIMIT_ENABLED", true);
  c.http.rate_limit_per_minute =
      static_cast<int>(r.integer("RATE_LIMIT_PER_MINUTE", 60, 1, 10'000'000));
  c.http.login_rate_limit_per_minute =
      static_cast<int>(r.integer("LOGIN_RATE_LIMIT_PER_MINUTE", 10, 1, 10'000'000));
  c.http.body_limit = static_cast<std::size_t>(
      r.integer("MAX_REQUEST_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024));
  c.http.header_timeout = std::chrono::seconds(r.integer("REQUEST_HEADER_TIMEOUT", 10, 1, 3600));
  c.http.idle_timeout = std::chrono::seconds(r.integer("KEEPALIVE_TIMEOUT", 60, 1, 3600));
  if (auto ok = load_http_limits(s, r, c.http); !ok) return ok.error();
  c.http.access_log = r.boolean("ACCESS_LOG", true);
  if (auto ok = load_metrics(s, r, c.metrics); !ok) return ok.error();

  c.auth.secret_key = s.get_or("SECRET_KEY", "");
  c.auth.access_token_ttl =
      std::chrono::minutes(r.integer("ACCESS_TOKEN_EXPIRE_MINUTES", 30, 1, 7 * 24 * 60));
  c.auth.refresh_token_ttl =
      std::chrono::hours(24 * r.integer("REFRESH_TOKEN_EXPIRE_DAYS", 7, 1, 365));

  c.api.version = HONEYMAN_VERSION;
  c.api.prefix = c.http.api_prefix;
  c.api.heartbeat_interval =
      std::chrono::seconds(r.integer("SENSOR_HEARTBEAT_INTERVAL", 60, 1, 86400));
  c.jobs.sensor_heartbeat_interval = c.api.heartbeat_interval;
  c.api.analytics_cache_ttl =
      std::chrono::milliseconds(r.integer("ANALYTICS_CACHE_MS", 1000, 0, 60'000));
  c.api.bulk_max_rows = r.integer("BULK_MAX_ROWS", 100'000, 1, 10'000'000);
  c.api.sensor_list_cache_ttl =
      std::chrono::milliseconds(r.integer("SENSORS_CACHE_MS", 1000, 0, 60'000));

  c.alerting.version = HONEYMAN_VERSION;
  c.alerting.siem_forward = s.get_or("SIEM_FORWARD", "");
  c.alerting.siem_buffer =
      static_cast<std::size_t>(r.integer("SIEM_BUFFER", 100'000, 100, 10'000'000));
  c.alerting.retry_max = std::chrono::hours(r.integer("ALERT_RETRY_MAX_HOURS", 24, 1, 24 * 30));
  c.alerting.retry_base =
      std::chrono::milliseconds(r.integer("ALERT_RETRY_BASE_MS", 1000, 10, 3'600'000));
  c.alerting.http_timeout =
      std::chrono::milliseconds(r.integer("ALERT_HTTP_TIMEOUT_MS", 10'000, 100, 120'000));
  c.alerting.per_destination_concurrency =
      static_cast<std::size_t>(r.integer("ALERT_DESTINATION_CONCURRENCY", 4, 1, 64));
  c.alerting.reload_interval = std::chrono::seconds(r.integer("ALERT_RELOAD_SECONDS", 10, 1, 3600));
  // Links in Slack and PagerDuty messages: the console's address as people reach it.
  c.alerting.console_url = s.get_or("CONSOLE_URL", "");

  c.ingest.batch_max = static_cast<std::size_t>(r.integer("INGEST_BATCH_SIZE", 1000, 1, 100'000));
  c.ingest.batch_delay =
      std::chrono::milliseconds(r.integer("INGEST_BATCH_DELAY_MS", 2, 0, 10'000));
  c.ingest.queue_capacity =
      static_cast<std::size_t>(r.integer("INGEST_QUEUE_CAPACITY", 100'000, 1000, 100'000'000));
  c.bus.redis_url = s.get_or("REDIS_URL", "");
  if (!c.bus.redis_url.empty() && !c.bus.redis_url.starts_with("redis://"))
    return make_error(Errc::invalid_input, "REDIS_URL must start with redis://");
  c.live.heartbeat_interval =
      std::chrono::seconds(r.integer("WS_HEARTBEAT_INTERVAL", 30, 1, 86400));
  c.live.send_queue_limit =
      static_cast<std::size_t>(r.integer("WS_SEND_QUEUE_LIMIT", 1024, 1, 1'000'000));
  c.live.replay_limit = static_cast<int>(r.integer("WS_REPLAY_LIMIT", 1000, 0, 100'000));
  c.live.idle_timeout = std::chrono::seconds(r.integer("WS_IDLE_TIMEOUT", 30, 2, 3600));
  c.live.send_queue_bytes = static_cast<std::size_t>(
      r.integer("WS_SEND_QUEUE_BYTES", 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024));
  c.live.echo_max_bytes =
      static_cast<std::size_t>(r.integer("WS_ECHO_MAX_BYTES", 4096, 0, 64 * 1024));
  c.live.max_connections_per_user =
      static_cast<std::size_t>(r.integer("WS_MAX_CONNECTIONS_PER_USER", 20, 1, 100'000));
  c.jobs.sensor_sweep_interval =
      std::chrono::seconds(r.integer("SENSOR_SWEEP_INTERVAL", 5, 1, 3600));
  auto mqtt = load_mqtt(s, r, c);
  // A threat time further ahead than this (or, when set, further back) is not believed.
  c.api.clock_skew.max_future =
      std::chrono::seconds(r.integer("MAX_CLOCK_SKEW_SECONDS", 86400, 0, 3650 * 86400));
  c.api.clock_skew.max_past =
      std::chrono::seconds(r.integer("MAX_CLOCK_SKEW_PAST_SECONDS", 0, 0, 36500LL * 86400));
  c.mqtt.clock_skew = c.api.clock_skew;
  if (r.error) return *r.error;
  if (!mqtt) return mqtt.error();
  if (retention.rollup_retention_days < retention.data_retention_days)
    return make_error(Errc::invalid_input,
                      "ROLLUP_RETENTION_DAYS must be at least DATA_RETENTION_DAYS (rollups "
                      "answer the analytics for the raw rows' whole lifetime)");
  if (c.api.prefix.empty() || c.api.prefix.front() != '/' || c.api.prefix.back() == '/')
    return make_error(Errc::invalid_input, "API_PREFIX must start with '/' and not end with one");
  if (auto ok = check_secret(c, for_server); !ok) return ok.error();
  if (for_server)
    if (auto ok = load_web_dir(s, c.console); !ok) return ok.error();
  return c;
}

int known_schema_version(const store::Store& store) {
  auto known = store.known_migrations();
  return known.empty() ? 0 : known.back().version;
}

namespace {

// A database nobody asked for is a trap: every command would "work" on an empty ./honeyman.db
// in whatever directory it ran from (issue #13). The built-in default is used only when its
// file exists; an explicitly configured file that does not exist yet is created, with a note.
Status check_database_intended(const AppConfig& config) {
  auto file = store::sqlite_file(config.store.database_url);
  if (!file) return {};
  std::error_code ec;
  if (std::filesystem::exists(*file, ec)) return {};
  auto where = std::filesystem::absolute(*file, ec).lexically_normal().string();
  if (config.database_url_is_default)
    return make_error(Errc::invalid_input,
                      "no database: DATABASE_URL is not set (no --env-file, no ./.env, not in the "
                      "environment) and " +
                          where +
                          " does not exist. Pass --env-file PATH (e.g. "
                          "./data/.env), run `honeyman init` to create a data directory, or set "
                          "DATABASE_URL=sqlite:///" +
                          *file + " to create a new database here");
  if (config.announce_new_database) spdlog::warn("creating a new SQLite database at {}", where);
  return {};
}

Status check_schema_known(store::Store& store) {
  auto version = store.schema_version();
  if (!version) return version.error();
  if (int known = known_schema_version(store); *version > known)
    return make_error(Errc::invalid_input, "the database's schema is version " +
                                               std::to_string(*version) +
                                               ", newer than this honeyman " + HONEYMAN_VERSION +
                                               " knows (up to " + std::to_string(known) +
                                               "): run the newer honeyman, or restore a backup "
                                               "made before the upgrade (docs/DEPLOYMENT.md)");
  return {};
}

}  // namespace

Result<std::unique_ptr<store::Store>> open_store_unmigrated(const AppConfig& config) {
  if (auto ok = check_database_intended(config); !ok) return ok.error();
  auto store = store::open_store(config.store);
  if (!store) return store.error();
  if (auto ok = check_schema_known(**store); !ok) return ok.error();
  return store;
}

Result<std::unique_ptr<store::Store>> open_configured_store(
    const AppConfig& config, const store::MigrationProgress& progress) {
  auto store = open_store_unmigrated(config);
  if (!store) return store;
  if (config.auto_migrate)
    if (auto v = (*store)->migrate(progress); !v) return v.error();
  return store;
}

}  // namespace honeyman::app
