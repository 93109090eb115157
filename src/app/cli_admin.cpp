#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

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
  std::string public_url;  // empty: http://<host>:<port> (the machine's name for 0.0.0.0 / ::)
};

std::string default_public_url(const InitArgs& a) {
  std::string host = a.host;
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(a.port);
}

// The data directory, created 0700 when missing (an existing one keeps its mode).
Result<fs::path> make_data_dir(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(path, ec);  // 0700 under main's umask
    if (!ec) fs::permissions(path, fs::perms::owner_all, ec);
  }
  if (ec) return make_error(Errc::unavailable, "cannot create " + path + ": " + ec.message());
  auto dir = fs::canonical(path, ec);
  if (ec) return make_error(Errc::unavailable, "cannot open " + path + ": " + ec.message());
  return dir;
}

// Writes DIR/.env once: created 0600 with O_EXCL, so the secret is never readable by others
// and an existing .env (created == false) is never touched.
Result<fs::path> write_env_file(const InitArgs& a, bool& created) {
  auto dir = make_data_dir(a.data_dir);
  if (!dir) return dir.error();
  auto env = *dir / ".env";
  int fd = ::open(env.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  created = fd >= 0;
  if (!created && errno == EEXIST) return env;
  if (!created)
    return make_error(Errc::unavailable,
                      "cannot create " + env.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << "# Written by `honeyman init`; keep it secret (SECRET_KEY signs every token).\n"
       << "ENVIRONMENT=production\n"
       << "SECRET_KEY=" << random_token(48) << "\n"
       << "DATABASE_URL=sqlite:///" << (*dir / "honeyman.db").string() << "\n"
       << "HOST=" << a.host << "\n"
       << "PORT=" << a.port << "\n"
       << "# The API's URL as sensors reach it (onboarding answers, QR codes).\n"
       << "PUBLIC_API_URL=" << (a.public_url.empty() ? default_public_url(a) : a.public_url)
       << "\n";
  const std::string written = text.str();
  std::string_view rest = written;
  while (!rest.empty()) {
    auto n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  bool ok = rest.empty() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(env.c_str());  // a half-written .env would be kept by the next init
    return make_error(Errc::unavailable, "cannot write " + env.string());
  }
  return env;
}

int init(const InitArgs& a) {
  if (!a.public_url.empty() && !a.public_url.starts_with("http://") &&
      !a.public_url.starts_with("https://"))
    return fail("--public-url must start with http:// or https://");
  bool created = false;
  auto env = write_env_file(a, created);
  if (!env) return fail(env.error().message);
  std::cout << (created ? "wrote " : "kept existing ") << env->string() << "\n";
  Settings settings;
  if (auto ok = settings.load_env_file(env->string(), true); !ok) return fail(ok.error().message);
  if (!settings.get("PUBLIC_API_URL"))
    std::cout << "note: " << env->string() << " has no PUBLIC_API_URL; with ENVIRONMENT=production"
              << " onboarding needs it (e.g. PUBLIC_API_URL=" << default_public_url(a) << ")\n";
  auto store = open_store_or_report([&](bool) {
    auto config = load_config(settings, false);
    if (config) config->announce_new_database = false;  // creating it is what init is for
    return config;
  });
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
  auto audit = store::audit_entry(cli_actor(), u.created_at, "user.create", "user", u.id,
                                  {{"username", u.username}, {"role", "admin"}, {"by", "init"}});
  if (auto ok = store->create_user(u, &audit); !ok) return fail(ok.error().message);
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
// than DATA_RETENTION_DAYS, then rollup hours older than ROLLUP_RETENTION_DAYS, then audit
// records older than AUDIT_RETENTION_DAYS. For cron-driven
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
  std::printf("deleted %lld audit records before %s in %s ms\n",
              static_cast<long long>(pass->audit), format_timestamp(pass->audit_cutoff).c_str(),
              format_ms(pass->audit_took).c_str());
  return 0;
}

// Prints each migration as it starts and ends, with its time: on a big PostgreSQL table an index
// can take minutes, and a silent command looks hung.
void print_migration_step(const store::MigrationStep& step) {
  if (!step.done)
    std::printf("migration %d (%.*s): applying...\n", step.version,
                static_cast<int>(step.name.size()), step.name.data());
  else
    std::printf("migration %d: applied in %s ms\n", step.version, format_ms(step.took).c_str());
  std::fflush(stdout);
}

int migrate(const ConfigLoader& load, bool dry_run) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  if (auto file = store::sqlite_file(config->store.database_url); dry_run && file) {
    std::error_code ec;
    if (!std::filesystem::exists(*file, ec)) {  // a dry run creates nothing, not even the file
      std::printf(
          "no database at %s yet: every migration is pending (nothing created: "
          "--dry-run)\n",
          file->c_str());
      return 0;
    }
  }
  auto opened = open_store_unmigrated(*config);
  if (!opened)
    return fail("cannot open store " + redact_url(config->store.database_url) + ": " +
                opened.error().message);
  auto& store = **opened;
  auto current = store.schema_version();
  if (!current) return fail("cannot read the schema version: " + current.error().message);
  if (dry_run) {
    int pending = 0;
    std::printf("schema at version %d; this honeyman knows up to %d\n", *current,
                known_schema_version(store));
    for (const auto& m : store.known_migrations())
      if (m.version > *current) {
        std::printf("pending: %d %s\n", m.version, m.name.c_str());
        ++pending;
      }
    std::printf("%d pending migration%s (nothing applied: --dry-run)\n", pending,
                pending == 1 ? "" : "s");
    return 0;
  }
  auto began = std::chrono::steady_clock::now();
  auto version = store.migrate(print_migration_step);
  if (!version) return fail("migration failed: " + version.error().message);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - began);
  if (*version == *current)
    std::printf("schema at version %d: nothing to apply\n", *version);
  else
    std::printf("schema at version %d (was %d) in %s ms\n", *version, *current,
                format_ms(took).c_str());
  return 0;
}

}  // namespace

void add_admin_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto dry_run = std::make_shared<bool>(false);
  auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending database migrations");
  migrate_cmd->add_flag("--dry-run", *dry_run,
                        "List the pending migrations (version and name) and change nothing");
  migrate_cmd->callback([&, dry_run] { exit_code = migrate(load, *dry_run); });

  auto args = std::make_shared<InitArgs>();
  auto* init_cmd = cli.add_subcommand(
      "init", "Create a data directory: .env with a new SECRET_KEY, SQLite database, admin user");
  init_cmd->add_option("--data-dir", args->data_dir, "Directory to create")->capture_default_str();
  init_cmd->add_option("--admin", args->admin, "Name of the admin user")->capture_default_str();
  init_cmd->add_option("--host", args->host, "HOST written to .env")->capture_default_str();
  init_cmd->add_option("--port", args->port, "PORT written to .env")->capture_default_str();
  init_cmd->add_option("--public-url", args->public_url,
                       "PUBLIC_API_URL written to .env (default: http://<host>:<port>)");
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
