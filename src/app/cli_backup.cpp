// `backup` and `restore`: consistent copies of the database while the server runs, and the way
// back (store::backup_database / restore_database; docs/DEPLOYMENT.md "Backup and restore").
#include <chrono>
#include <cstdio>

#include "app/cli.hpp"

namespace honeyman::app {
namespace {

// "backup: 40%" on stderr at every tenth, so a long copy shows it is moving.
store::CopyProgress tenths(const char* what) {
  return [what, shown = -1](double fraction) mutable {
    int tenth = static_cast<int>(fraction * 10);
    if (tenth <= shown) return;
    shown = tenth;
    std::fprintf(stderr, "%s: %d%%\n", what, tenth * 10);
  };
}

std::string summary(const store::BackupReport& r, double seconds) {
  char text[160];
  std::snprintf(text, sizeof text, "schema version %d, %.1f MB in %.1f s", r.schema_version,
                static_cast<double>(r.bytes) / 1e6, seconds);
  return (r.threats ? std::to_string(*r.threats) + " threats, " : std::string()) + text;
}

double seconds_since(std::chrono::steady_clock::time_point began) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
}

int backup(const ConfigLoader& load, const std::string& destination) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  auto began = std::chrono::steady_clock::now();
  auto report = store::backup_database(config->store.database_url, destination, tenths("backup"));
  if (!report) return fail("backup failed: " + report.error().message);
  std::printf("backup of %s written to %s: %s\n", redact_url(config->store.database_url).c_str(),
              destination.c_str(), summary(*report, seconds_since(began)).c_str());
  return 0;
}

int restore(const ConfigLoader& load, const std::string& source, bool replace) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  if (config->database_url_is_default)
    return fail(
        "restore into which database? DATABASE_URL is not set: pass --env-file PATH or "
        "--database-url URL");
  auto began = std::chrono::steady_clock::now();
  auto report =
      store::restore_database(config->store.database_url, source, replace, tenths("restore"));
  if (!report) return fail("restore failed: " + report.error().message);
  std::printf("restored %s into %s: %s\n", source.c_str(),
              redact_url(config->store.database_url).c_str(),
              summary(*report, seconds_since(began)).c_str());
  // A backup from an older release is brought up to this binary's schema now, not by the
  // first server that happens to open it.
  auto migrated = open_configured_store(*config, [](const store::MigrationStep& step) {
    if (step.done) std::printf("migration %d: applied\n", step.version);
  });
  if (!migrated) return fail("the restored database cannot be opened: " + migrated.error().message);
  return 0;
}

}  // namespace

void add_backup_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto* backup_cmd = cli.add_subcommand(
      "backup",
      "Write a consistent copy of the database while the server runs (SQLite: online "
      "backup API; PostgreSQL: pg_dump custom format)");
  backup_cmd->add_option("--to", *path, "The new backup file (never overwritten)")->required();
  backup_cmd->callback([&, path] { exit_code = backup(load, *path); });

  auto from = std::make_shared<std::string>();
  auto replace = std::make_shared<bool>(false);
  auto* restore_cmd = cli.add_subcommand(
      "restore", "Restore a backup into the configured database (stop the servers first)");
  restore_cmd->add_option("--from", *from, "A file written by `honeyman backup`")
      ->required()
      ->check(CLI::ExistingFile);
  restore_cmd->add_flag("--replace", *replace,
                        "SQLite: overwrite a database that already has a schema (default: refuse)");
  restore_cmd->callback([&, from, replace] { exit_code = restore(load, *from, *replace); });
}

}  // namespace honeyman::app
