// SQLite backups with the online backup API (https://sqlite.org/backup.html).
//
// Consistency while the server writes: the source connection opens a read transaction first and
// keeps it for the whole copy, so every sqlite3_backup_step reads the same WAL snapshot (a step
// only restarts the copy when it has to begin a transaction of its own and finds the database
// changed). Writers are not blocked; checkpoints cannot pass the snapshot meanwhile, so the WAL
// grows by what is written during the copy.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "store/sqlite/detail/sqlite.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {
namespace {

namespace fs = std::filesystem;

constexpr int kPagesPerStep = 1024;  // 4 MiB at SQLite's default page size: progress per step

Result<SqliteDb> open_file(const std::string& path, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return sqlite_error(raw, rc, what);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Status exec(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  return {};
}

// The first column of the first row of `sql` as an integer (0 when there is no row).
Result<std::int64_t> scalar(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) return sqlite3_column_int64(raw, 0);
  if (rc == SQLITE_DONE) return std::int64_t{0};
  return sqlite_error(db, rc, what);
}

// The schema version of `db` (0 without a schema_migrations table).
Result<int> version_of(sqlite3* db) {
  auto has_table = scalar(db,
                          "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                          "name = 'schema_migrations'",
                          "read schema version");
  if (!has_table) return has_table.error();
  if (*has_table == 0) return 0;
  auto version =
      scalar(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", "read schema version");
  if (!version) return version.error();
  return static_cast<int>(*version);
}

// Copies every page of `from` into `to`, reporting progress; `from` keeps whatever transaction
// it has open (the snapshot). A busy or locked step (the destination's lock, a checkpoint) waits.
Status copy_pages(sqlite3* from, sqlite3* to, const CopyProgress& progress) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) return sqlite_error(to, sqlite3_errcode(to), "start the copy");
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, kPagesPerStep);
    if (progress) {
      int total = sqlite3_backup_pagecount(backup);
      int left = sqlite3_backup_remaining(backup);
      progress(total > 0 ? static_cast<double>(total - left) / total : 1.0);
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (rc != SQLITE_OK) break;
  }
  int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return sqlite_error(to, rc, "copy the database");
  if (finished != SQLITE_OK) return sqlite_error(to, finished, "finish the copy");
  return {};
}

Status sync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    return make_error(Errc::unavailable, "open " + path.string() + ": " + strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return make_error(Errc::unavailable, "sync " + path.string() + ": " + strerror(errno));
  return {};
}

// Fails unless `db` passes SQLite's own structural check.
Status quick_check(sqlite3* db, const std::string& name) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "check " + name);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return sqlite_error(db, rc, "check " + name);
  auto text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  if (text == nullptr || std::string_view(text) != "ok")
    return make_error(Errc::invalid_input,
                      name + " is damaged: " + std::string(text ? text : "(no answer)"));
  return {};
}

int newest_known_version() {
  return migrations().back().version;
}

}  // namespace

Result<BackupReport> backup(const std::string& path, const std::string& destination,
                            const CopyProgress& progress) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return make_error(Errc::not_found, "no database at " + path + " to back up");
  if (fs::exists(destination, ec))
    return make_error(Errc::conflict, destination + " exists: a backup never overwrites a file");
  auto source = open_file(path, SQLITE_OPEN_READWRITE, "open the database");
  if (!source) return source.error();
  sqlite3* from = source->get();
  // The snapshot: every step of the copy, the version and the count below read this one state.
  if (auto s = exec(from, "BEGIN", "begin the snapshot"); !s) return s.error();
  auto version = version_of(from);
  if (!version) return version.error();
  if (*version == 0) return make_error(Errc::invalid_input, path + " has no Honeyman schema");
  auto threats = scalar(from, "SELECT count(*) FROM threats", "count threats");
  if (!threats) return threats.error();

  const fs::path partial = destination + ".partial";
  fs::remove(partial, ec);
  {
    auto dest = open_file(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "create the copy");
    if (!dest) return dest.error();
    auto copied = copy_pages(from, dest->get(), progress);
    // One self-contained file: the copy leaves WAL mode (it took the source's header).
    if (copied) copied = exec(dest->get(), "PRAGMA journal_mode = DELETE", "finish the copy");
    if (copied) copied = quick_check(dest->get(), "the copy");
    if (!copied) {
      dest->reset();
      fs::remove(partial, ec);
      return copied.error();
    }
  }
  (void)exec(from, "COMMIT", "end the snapshot");
  if (auto s = sync_path(partial, O_RDONLY); !s) return s.error();
  fs::rename(partial, destination, ec);
  if (ec) return make_error(Errc::unavailable, "rename to " + destination + ": " + ec.message());
  auto dir = fs::absolute(destination, ec).parent_path();
  (void)sync_path(dir, O_RDONLY | O_DIRECTORY);  // the rename itself survives a crash
  BackupReport report;
  report.bytes = fs::file_size(destination, ec);
  report.schema_version = *version;
  report.threats = *threats;
  return report;
}

Result<BackupReport> restore(const std::string& source, const std::string& path, bool replace,
                             const CopyProgress& progress) {
  std::error_code ec;
  if (!fs::exists(source, ec)) return make_error(Errc::not_found, "no backup at " + source);
  auto copy = open_file(source, SQLITE_OPEN_READONLY, "open the backup");
  if (!copy) return copy.error();
  if (auto s = quick_check(copy->get(), source); !s)
    return make_error(Errc::invalid_input,
                      source + " is not a usable SQLite backup: " + s.error().message);
  auto version = version_of(copy->get());
  if (!version)
    return make_error(Errc::invalid_input,
                      source + " is not a Honeyman backup: " + version.error().message);
  if (*version == 0) return make_error(Errc::invalid_input, source + " has no Honeyman schema");
  if (*version > newest_known_version())
    return make_error(Errc::invalid_input, source + " has schema version " +
                                               std::to_string(*version) +
                                               ", newer than this honeyman knows (" +
                                               std::to_string(newest_known_version()) +
                                               "): restore it with the "
                                               "honeyman that made it");
  auto threats = scalar(copy->get(), "SELECT count(*) FROM threats", "count threats");
  if (!threats) return threats.error();

  auto target =
      open_file(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "open the target database");
  if (!target) return target.error();
  auto existing = version_of(target->get());
  if (!existing) return existing.error();
  if (*existing > 0 && !replace)
    return make_error(Errc::conflict,
                      path + " already holds a Honeyman database (schema version " +
                          std::to_string(*existing) +
                          "): stop the servers using it and pass --replace to overwrite it");
  // Through SQLite, not a file copy: the target's own WAL and locks stay consistent.
  if (auto s = copy_pages(copy->get(), target->get(), progress); !s) return s.error();
  if (auto s = exec(target->get(), "PRAGMA journal_mode = WAL", "reopen in WAL mode"); !s)
    return s.error();
  if (auto s = quick_check(target->get(), "the restored database"); !s) return s.error();
  BackupReport report;
  report.bytes = fs::file_size(source, ec);
  report.schema_version = *version;
  report.threats = *threats;
  return report;
}

}  // namespace honeyman::store::sqlite
