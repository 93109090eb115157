#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <iostream>

#include "app/cli.hpp"

namespace {

using namespace honeyman;

struct GlobalFlags {
  std::string env_file = ".env";
  std::string database_url, host, log_level;
  int port = -1;
  bool no_migrate = false;
};

// Flags override the environment, which overrides the .env file (SPEC §6).
Result<app::AppConfig> load(const GlobalFlags& f, bool for_server) {
  Settings settings;
  bool explicit_file = f.env_file != ".env";
  if (auto ok = settings.load_env_file(f.env_file, explicit_file); !ok) return ok.error();
  settings.load_environment(app::known_settings());
  if (!f.database_url.empty()) settings.set("DATABASE_URL", f.database_url);
  if (!f.host.empty()) settings.set("HOST", f.host);
  if (f.port >= 0) settings.set("PORT", std::to_string(f.port));
  if (!f.log_level.empty()) settings.set("LOG_LEVEL", f.log_level);
  if (f.no_migrate) settings.set("AUTO_MIGRATE", "false");
  auto config = app::load_config(settings, for_server);
  if (!config) return config;
  // Commands other than serve keep their output to what they print themselves.
  auto level = for_server ? config->log_level : std::string("warning");
  if (f.log_level.size()) level = f.log_level;
  // The server's lines are written in batches (at most 50 ms late; warnings at once).
  if (auto ok = init_logging(level, config->log_format, for_server); !ok) return ok.error();
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  // Whatever the server and the CLI create (the data directory, .env, the SQLite database and
  // its -wal/-shm, which SQLite gives the database's mode) holds secrets or user data: owner only,
  // from the moment it exists (no window between create and chmod).
  umask(077);
  CLI::App cli("Honeyman: threat-sensor fleet backend (REST API, ingest, live feed)", "honeyman");
  cli.require_subcommand(1);
  cli.set_version_flag("--version", HONEYMAN_VERSION);
  // The global flags may also follow the subcommand (`honeyman user list --env-file X`): a
  // subcommand hands the flags it does not know to its parent. Subcommands inherit this.
  cli.fallthrough();
  GlobalFlags flags;
  cli.add_option("--env-file", flags.env_file,
                 "Read settings from this file (a missing ./.env is not an error)")
      ->capture_default_str();
  cli.add_option("--database-url", flags.database_url, "Overrides DATABASE_URL");
  cli.add_option("--log-level", flags.log_level, "Overrides LOG_LEVEL")
      ->check(
          CLI::IsMember({"trace", "debug", "info", "warning", "warn", "error", "critical", "off"},
                        CLI::ignore_case));
  int exit_code = 0;
  app::ConfigLoader loader = [&](bool for_server) { return load(flags, for_server); };

  auto* serve = cli.add_subcommand("serve", "Run the API server until SIGTERM/SIGINT");
  serve->add_option("--host", flags.host, "Overrides HOST");
  serve->add_option("--port", flags.port, "Overrides PORT (0: any free port)");
  serve->add_flag("--no-migrate", flags.no_migrate, "Do not apply pending migrations at start");
  serve->callback([&] {
    auto config = loader(true);
    if (!config) {
      exit_code = app::fail(config.error().message);
      return;
    }
    exit_code = app::run_serve(*config);
  });
  app::add_admin_commands(cli, loader, exit_code);
  app::add_user_commands(cli, loader, exit_code);
  app::add_sensor_commands(cli, loader, exit_code);
  app::add_seed_command(cli, loader, exit_code);
  app::add_ingest_commands(cli, loader, exit_code);
  app::add_backup_commands(cli, loader, exit_code);

  // A usage error is one line in the house format, exit code 2 (a failure of the command itself
  // is 1), so scripts can tell "wrong flags" from "it ran and failed".
  cli.failure_message([](const CLI::App* app, const CLI::Error& e) {
    return "honeyman: " + std::string(e.what()) + " (see honeyman " +
           (app->get_parent() ? app->get_name() + " " : std::string()) + "--help)\n";
  });
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = cli.exit(e);
    return code == 0 ? 0 : 2;
  }
  shutdown_logging();  // what is still buffered is written
  return exit_code;
}
