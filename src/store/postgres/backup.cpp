// PostgreSQL backups: PostgreSQL's own tools, run as child processes. pg_dump takes one
// repeatable-read snapshot of the whole database while the servers go on writing; its custom
// format restores with pg_restore (parallel, selective). The connection settings travel in the
// child's environment (PGHOST, PGUSER, PGPASSWORD, ...): a password on a command line would be
// readable by every local user in /proc.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

#include "store/postgres/detail/pg.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

namespace fs = std::filesystem;

using Environment = std::vector<std::pair<std::string, std::string>>;

// libpq's own parse of the URL, as the PG* variables its tools read.
Result<Environment> connection_environment(std::string_view database_url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(libpq_url(database_url).c_str(), &error);
  if (options == nullptr) {
    std::string message = error ? error : "cannot parse DATABASE_URL";
    PQfreemem(error);
    return make_error(Errc::invalid_input, "DATABASE_URL: " + message);
  }
  Environment env;
  for (auto* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr && *o->val != '\0' && o->envvar != nullptr)
      env.emplace_back(o->envvar, o->val);
  PQconninfoFree(options);
  return env;
}

// Runs `argv` with `env` added; its stderr goes to ours (the tools' own error messages), its
// stdout into `out` when given (else to our stderr). The exit code, or an error when it could not
// run.
Result<int> run_tool(const std::vector<std::string>& argv, const Environment& env,
                     std::string* out) {
  int pipe_fds[2] = {-1, -1};
  if (out != nullptr && ::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return make_error(Errc::unavailable, std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) return make_error(Errc::unavailable, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(out != nullptr ? pipe_fds[1] : 2, 1);
    for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "honeyman: cannot run %s: %s (apt-get install postgresql-client)\n",
                 args[0], std::strerror(errno));
    ::_exit(127);
  }
  if (out != nullptr) {
    ::close(pipe_fds[1]);
    char buffer[65536];
    for (;;) {
      auto n = ::read(pipe_fds[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out->append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The schema version recorded in a custom-format dump (its schema_migrations rows).
Result<int> dump_schema_version(const std::string& dump) {
  std::string sql;
  auto rc = run_tool({"pg_restore", "--data-only", "--table=schema_migrations", "--file=-", dump},
                     {}, &sql);
  if (!rc) return rc.error();
  if (*rc != 0)
    return make_error(Errc::invalid_input, dump + " is not a pg_dump custom-format archive");
  // COPY ... FROM stdin; then one "version<TAB>name<TAB>applied_at" line per row, then "\.".
  int version = 0;
  static const std::regex row(R"(^(\d+)\t[^\t\n]*\t-?\d+$)", std::regex::multiline);
  for (std::sregex_iterator it(sql.begin(), sql.end(), row), end; it != end; ++it)
    version = std::max(version, std::stoi((*it)[1].str()));
  return version;
}

}  // namespace

Result<BackupReport> backup(std::string_view database_url, const std::string& destination,
                            const CopyProgress& progress) {
  std::error_code ec;
  if (fs::exists(destination, ec))
    return make_error(Errc::conflict, destination + " exists: a backup never overwrites a file");
  auto env = connection_environment(database_url);
  if (!env) return env.error();
  const std::string partial = destination + ".partial";
  fs::remove(partial, ec);
  auto rc =
      run_tool({"pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file=" + partial},
               *env, nullptr);
  if (!rc) return rc.error();
  if (*rc != 0) {
    fs::remove(partial, ec);
    return make_error(Errc::unavailable,
                      "pg_dump failed (exit " + std::to_string(*rc) + "; its message is above)");
  }
  auto version = dump_schema_version(partial);
  if (!version) return version.error();
  fs::rename(partial, destination, ec);
  if (ec) return make_error(Errc::unavailable, "rename to " + destination + ": " + ec.message());
  if (progress) progress(1.0);
  BackupReport report;
  report.bytes = fs::file_size(destination, ec);
  report.schema_version = *version;
  return report;
}

Result<BackupReport> restore(std::string_view database_url, const std::string& source, bool replace,
                             const CopyProgress& progress) {
  std::error_code ec;
  if (!fs::exists(source, ec)) return make_error(Errc::not_found, "no backup at " + source);
  auto version = dump_schema_version(source);
  if (!version) return version.error();
  if (*version == 0) return make_error(Errc::invalid_input, source + " has no Honeyman schema");
  if (*version > migrations().back().version)
    return make_error(Errc::invalid_input, source + " has schema version " +
                                               std::to_string(*version) +
                                               ", newer than this honeyman knows (" +
                                               std::to_string(migrations().back().version) +
                                               "): restore it with the honeyman that made it");
  auto env = connection_environment(database_url);
  if (!env) return env.error();
  {
    auto conn = Connection::open(libpq_url(database_url), "SET client_encoding = 'UTF8'");
    if (!conn) return conn.error();
    auto exists = (*conn)->run("SELECT to_regclass('schema_migrations') IS NOT NULL", Params(),
                               "inspect the target database");
    if (!exists) return exists.error();
    // No --replace here: pg_restore --clean cannot drop the day partitions' inherited
    // constraints, and dropping the schema first would leave an empty database if the restore
    // then failed. A new database is one command and keeps the old one until it is dropped.
    if ((*exists)[0].boolean(0))
      return make_error(Errc::conflict,
                        std::string("the target database already holds a Honeyman schema") +
                            (replace ? " (--replace is for SQLite files)" : "") +
                            ": restore into a new, empty database (createdb -O <owner> <name>) "
                            "and point DATABASE_URL at it, or drop and recreate this one first");
  }
  // pg_restore writes a script instead of restoring unless --dbname names the target (libpq's
  // default database is the user's name).
  std::string database, user;
  for (const auto& [key, value] : *env) {
    if (key == "PGDATABASE") database = value;
    if (key == "PGUSER") user = value;
  }
  if (database.empty()) database = user;
  if (database.empty()) return make_error(Errc::invalid_input, "DATABASE_URL names no database");
  // One transaction: a restore that fails half-way leaves the target as it was.
  auto rc = run_tool({"pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                      "--exit-on-error", "--dbname=" + database, source},
                     *env, nullptr);
  if (!rc) return rc.error();
  if (*rc != 0)
    return make_error(Errc::unavailable,
                      "pg_restore failed (exit " + std::to_string(*rc) + "; its message is above)");
  if (progress) progress(1.0);
  BackupReport report;
  report.bytes = fs::file_size(source, ec);
  report.schema_version = *version;
  return report;
}

}  // namespace honeyman::store::pg
