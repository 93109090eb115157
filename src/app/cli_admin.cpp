#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/cli.hpp"
#include "auth/auth.hpp"

namespace honeyman::app {
namespace {

namespace fs = std::filesystem;

struct InitArgs {
  std::string data_dir = "./data";
  std::string admin = "admin";
  std::string host = "127.0.0.1";
  int port = 8000;
};

// Writes DIR/.env once (0600): the persistent SECRET_KEY and the SQLite path.
Result<fs::path> write_env_file(const InitArgs& a, bool& created) {
  std::error_code ec;
  fs::create_directories(a.data_dir, ec);
  if (ec) return make_error(Errc::unavailable, "cannot create " + a.data_dir + ": " + ec.message());
  auto dir = fs::canonical(a.data_dir, ec);
  auto env = dir / ".env";
  created = !fs::exists(env);
  if (!created) return env;
  std::ofstream out(env);
  out << "# Written by `honeyman init`; keep it secret (SECRET_KEY signs every token).\n"
      << "ENVIRONMENT=production\n"
      << "SECRET_KEY=" << random_token(48) << "\n"
      << "DATABASE_URL=sqlite:///" << (dir / "honeyman.db").string() << "\n"
      << "HOST=" << a.host << "\n"
      << "PORT=" << a.port << "\n";
  if (!out) return make_error(Errc::unavailable, "cannot write " + env.string());
  out.close();
  fs::permissions(env, fs::perms::owner_read | fs::perms::owner_write, ec);
  return env;
}

int init(const InitArgs& a) {
  bool created = false;
  auto env = write_env_file(a, created);
  if (!env) return fail(env.error().message);
  std::cout << (created ? "wrote " : "kept existing ") << env->string() << "\n";
  Settings settings;
  if (auto ok = settings.load_env_file(env->string(), true); !ok) return fail(ok.error().message);
  auto store = open_store_or_report([&](bool) { return load_config(settings, false); });
  if (!store) return 1;
  if (store->find_user_by_name(a.admin)) {
    std::cout << "user " << a.admin << " exists; its password was shown when it was created "
              << "(reset: honeyman --env-file " << env->string() << " user passwd " << a.admin
              << ")\n";
    return 0;
  }
  auto password = random_token(18);
  domain::User u;
  u.id = uuid_v4();
  u.username = a.admin;
  u.role = domain::Role::admin;
  u.is_verified = true;
  u.password_hash = auth::hash_password(password).value();
  u.created_at = system_clock().now();
  if (auto ok = store->create_user(u); !ok) return fail(ok.error().message);
  std::cout << "created user " << a.admin << " (role admin)\n"
            << "password (shown once): " << password << "\n";
  return 0;
}

std::string format_ms(std::chrono::microseconds d) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f", static_cast<double>(d.count()) / 1000.0);
  return out;
}

// One retention pass, as `serve` runs it periodically (jobs::apply_retention): threats older
// than DATA_RETENTION_DAYS, then rollup hours older than ROLLUP_RETENTION_DAYS. For cron-driven
// deployments, a one-off after lowering the retention, and benchmarks (--now fixes the clock).
int retention(const ConfigLoader& load, const std::string& now_text) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  auto now = system_clock().now();
  if (!now_text.empty()) {
    auto parsed = parse_timestamp(now_text);
    if (!parsed) return fail("--now must be an RFC 3339 time, e.g. 2026-08-08T12:00:00Z");
    now = *parsed;
  }
  auto opened = open_configured_store(*config);
  if (!opened)
    return fail("cannot open store " + redact_url(config->store.database_url) + ": " +
                opened.error().message);
  auto pass = jobs::apply_retention(**opened, config->jobs.retention, now, system_clock());
  if (!pass) return fail(pass.error().message);
  std::printf("deleted %lld threats before %s in %s ms\n", static_cast<long long>(pass->threats),
              format_timestamp(pass->threat_cutoff).c_str(), format_ms(pass->threats_took).c_str());
  std::printf("deleted %lld rollup rows before %s in %s ms\n",
              static_cast<long long>(pass->rollups), format_timestamp(pass->rollup_cutoff).c_str(),
              format_ms(pass->rollups_took).c_str());
  return 0;
}

}  // namespace

void add_admin_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  cli.add_subcommand("migrate", "Apply pending database migrations")->callback([&] {
    auto config = load(false);
    if (!config) {
      exit_code = fail(config.error().message);
      return;
    }
    auto store = store::open_store(config->store);
    if (!store) {
      exit_code = fail("cannot open store: " + store.error().message);
      return;
    }
    auto version = (*store)->migrate();
    if (!version) {
      exit_code = fail("migration failed: " + version.error().message);
      return;
    }
    std::cout << "schema at version " << *version << "\n";
    exit_code = 0;
  });

  auto args = std::make_shared<InitArgs>();
  auto* init_cmd = cli.add_subcommand(
      "init", "Create a data directory: .env with a new SECRET_KEY, SQLite database, admin user");
  init_cmd->add_option("--data-dir", args->data_dir, "Directory to create")->capture_default_str();
  init_cmd->add_option("--admin", args->admin, "Name of the admin user")->capture_default_str();
  init_cmd->add_option("--host", args->host, "HOST written to .env")->capture_default_str();
  init_cmd->add_option("--port", args->port, "PORT written to .env")->capture_default_str();
  init_cmd->callback([&, args] { exit_code = init(*args); });

  auto now = std::make_shared<std::string>();
  auto* retention_cmd =
      cli.add_subcommand("retention",
                         "Delete threats and rollups past their retention now (serve does it every "
                         "RETENTION_INTERVAL_SECONDS)");
  retention_cmd->add_option("--now", *now, "The time to count retention from (RFC 3339)");
  retention_cmd->callback([&, now] { exit_code = retention(load, *now); });
}

}  // namespace honeyman::app
