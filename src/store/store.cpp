#include "store/store.hpp"

#include <utility>

#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store {
namespace {

// "sqlite+aiosqlite" → "sqlite": the old backend's .env may name a Python driver.
std::string_view base_scheme(std::string_view scheme) {
  return scheme.substr(0, scheme.find('+'));
}

// SQLAlchemy's rules: sqlite:///foo.db is the relative path foo.db, sqlite:////abs/foo.db the
// absolute /abs/foo.db, sqlite:///:memory: (or bare sqlite://) a private in-memory database.
Result<sqlite::Target> parse_sqlite_url(std::string_view rest) {
  if (rest.empty() || rest == "/:memory:") return sqlite::Target{"", true};
  if (rest.front() != '/')
    return make_error(Errc::invalid_input,
                      "DATABASE_URL: SQLite URLs have no host: use sqlite:///relative.db or "
                      "sqlite:////absolute/path.db");
  rest.remove_prefix(1);
  if (rest.empty())
    return make_error(Errc::invalid_input, "DATABASE_URL: the SQLite URL names no file");
  return sqlite::Target{std::string(rest), false};
}

}  // namespace

std::optional<std::string> sqlite_file(std::string_view database_url) {
  auto colon = database_url.find("://");
  if (colon == std::string_view::npos || base_scheme(database_url.substr(0, colon)) != "sqlite")
    return std::nullopt;
  auto target = parse_sqlite_url(database_url.substr(colon + 3));
  if (!target || target->memory) return std::nullopt;
  return target->path;
}

bool is_postgres_url(std::string_view database_url) {
  auto scheme = base_scheme(database_url.substr(0, database_url.find("://")));
  return database_url.find("://") != std::string_view::npos &&
         (scheme == "postgresql" || scheme == "postgres");
}

std::int64_t SeverityCounts::total() const {
  std::int64_t n = 0;
  for (auto c : by_severity) n += c;
  return n;
}

std::chrono::microseconds trend_bucket_length(TrendBucket bucket) {
  using namespace std::chrono;
  switch (bucket) {
    case TrendBucket::hour:
      return hours(1);
    case TrendBucket::day:
      return days(1);
    case TrendBucket::week:
      return weeks(1);
  }
  return hours(1);
}

Timestamp trend_bucket_start(TrendBucket bucket, Timestamp t) {
  using namespace std::chrono;
  // 1970-01-05 was the first Monday after the epoch: weeks are counted from there.
  const microseconds origin = bucket == TrendBucket::week ? days(4) : microseconds(0);
  auto length = trend_bucket_length(bucket).count();
  auto since = (t.time_since_epoch() - origin).count();
  auto r = since % length;
  if (r < 0) r += length;
  return t - microseconds(r);
}

std::optional<ThreatSort> parse_threat_sort(std::string_view s) {
  static constexpr std::pair<std::string_view, ThreatSort> kNames[] = {
      {"timestamp", ThreatSort::timestamp},       {"severity", ThreatSort::severity},
      {"threat_score", ThreatSort::threat_score}, {"threat_type", ThreatSort::threat_type},
      {"sensor_id", ThreatSort::sensor_id},       {"detector_type", ThreatSort::detector_type},
      {"created_at", ThreatSort::created_at},
  };
  for (const auto& [name, sort] : kNames)
    if (name == s) return sort;
  return std::nullopt;
}

Result<std::unique_ptr<Store>> open_store(const StoreConfig& config) {
  std::string_view url = config.database_url;
  auto colon = url.find("://");
  if (colon == std::string_view::npos)
    return make_error(Errc::invalid_input,
                      "DATABASE_URL must look like sqlite:///path.db or postgresql://...");
  auto scheme = base_scheme(url.substr(0, colon));
  auto rest = url.substr(colon + 3);
  if (scheme == "sqlite") {
    auto target = parse_sqlite_url(rest);
    if (!target) return target.error();
    return sqlite::open_sqlite_store(*target, config);
  }
  if (is_postgres_url(url)) return pg::open_postgres_store(config);
  return make_error(Errc::invalid_input, "DATABASE_URL: unsupported scheme '" +
                                             std::string(scheme) +
                                             "' (use sqlite:// or postgresql://)");
}

}  // namespace honeyman::store
