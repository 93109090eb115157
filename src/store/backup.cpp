// backup_database / restore_database: the one entry point, dispatching on DATABASE_URL's scheme
// to the backend that knows how to copy its own files (sqlite/backup.cpp, postgres/backup.cpp).
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace honeyman::store {

Result<BackupReport> backup_database(std::string_view database_url, const std::string& destination,
                                     const CopyProgress& progress) {
  if (is_postgres_url(database_url)) return pg::backup(database_url, destination, progress);
  auto file = sqlite_file(database_url);
  if (!file)
    return make_error(Errc::invalid_input,
                      "DATABASE_URL names no database file to back up (an in-memory database?)");
  return sqlite::backup(*file, destination, progress);
}

Result<BackupReport> restore_database(std::string_view database_url, const std::string& source,
                                      bool replace, const CopyProgress& progress) {
  if (is_postgres_url(database_url)) return pg::restore(database_url, source, replace, progress);
  auto file = sqlite_file(database_url);
  if (!file)
    return make_error(Errc::invalid_input,
                      "DATABASE_URL names no database file to restore into (an in-memory "
                      "database?)");
  return sqlite::restore(source, *file, replace, progress);
}

}  // namespace honeyman::store
