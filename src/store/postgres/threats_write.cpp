// The PostgreSQL side of the batch insert: the batch's sensor rows locked first, the rows sent
// by COPY, and each rollup, total and counter table changed by one statement over arrays (the
// sums aggregated in C++ first, so each key is touched once).
#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstdint>
#include <map>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "store/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using detail::BatchSums;
using detail::FleetKey;
using detail::Place;
using detail::RollupSum;
using detail::SensorSum;
using detail::TotalKey;
using detail::TypeKey;

// seq values come in blocks of this many per nextval (the sequence's increment).
constexpr std::int64_t kSeqBlock = 1'048'576;

// kThreatInsertColumns' order, `seq` last.
const std::string kCopyThreats =
    std::string("COPY threats (").append(detail::kThreatInsertColumns).append(") FROM STDIN");

std::string add_sensor_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " AS r (bucket, sensor_id, severity, count, score_sum) SELECT * FROM "
          "unnest($1::bigint[], "
          "$2::text[], $3::smallint[], $4::bigint[], $5::float8[]) ON CONFLICT (bucket, sensor_id, "
          "severity) DO UPDATE SET count = r.count + excluded.count, "
          "score_sum = r.score_sum + excluded.score_sum");
}

std::string add_fleet_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " AS r (bucket, severity, count, score_sum) SELECT * FROM unnest($1::bigint[], "
          "$2::smallint[], $3::bigint[], $4::float8[]) ON CONFLICT (bucket, severity) DO UPDATE "
          "SET "
          "count = r.count + excluded.count, score_sum = r.score_sum + excluded.score_sum");
}

std::string add_type_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " AS r (bucket, threat_type, severity, count, score_sum) SELECT * FROM "
          "unnest($1::bigint[], "
          "$2::text[], $3::smallint[], $4::bigint[], $5::float8[]) ON CONFLICT (bucket, "
          "threat_type, "
          "severity) DO UPDATE SET count = r.count + excluded.count, "
          "score_sum = r.score_sum + excluded.score_sum");
}

const std::string kAddFleetTotals =
    "INSERT INTO threat_totals_fleet AS t (severity, count) "
    "SELECT * FROM unnest($1::smallint[], $2::bigint[]) "
    "ON CONFLICT (severity) DO UPDATE SET count = t.count + excluded.count";

const std::string kAddTotals =
    "INSERT INTO threat_totals AS t (sensor_id, detector_type, severity, threat_type, count) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::bigint[]) "
    "ON CONFLICT (sensor_id, detector_type, severity, threat_type) DO UPDATE SET "
    "count = t.count + excluded.count";

const std::string kAddSensorCounts =
    "UPDATE sensors s SET total_threats_detected = s.total_threats_detected + d.n,"
    " last_threat_at = greatest(coalesce(s.last_threat_at, d.last_threat), d.last_threat),"
    " last_seen = greatest(coalesce(s.last_seen, d.last_seen), d.last_seen),"
    " clock_skew_threats = s.clock_skew_threats + d.skewed,"
    " last_clock_skew_seconds = CASE WHEN d.skewed > 0 THEN d.last_skew"
    " ELSE s.last_clock_skew_seconds END"
    " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],"
    " $6::float8[]) AS d(sensor_id, n, last_threat, last_seen, skewed, last_skew)"
    " WHERE s.sensor_id = d.sensor_id";

// The first seq of each block of kSeqBlock rows.
Result<std::vector<std::int64_t>> reserve_seqs(Connection& conn, std::size_t n) {
  auto blocks = static_cast<std::int64_t>((n + kSeqBlock - 1) / kSeqBlock);
  auto rows = conn.run("SELECT nextval('threats_seq') FROM generate_series(1, $1::bigint)",
                       Params(blocks), "insert threats");
  if (!rows) return rows.error();
  return collect(*rows, [](const Row& row) { return row.i64(0); });
}

// ---------------------------------------------------------------------------------------------
// COPY text format: tab-separated, \N for NULL, backslash escapes for the four special bytes.
// PostgreSQL text cannot hold NUL: a "\u0000" that JSON let through is dropped rather than
// failing the whole batch (and with it other sensors' threats).
class CopyWriter {
 public:
  std::string& data() { return out_; }
  void end_row() { out_.back() = '\n'; }
  void null() { out_ += "\\N\t"; }
  void text(std::string_view s) {
    for (char c : s) {
      switch (c) {
        case '\\':
          out_ += "\\\\";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\0':
          break;
        default:
          out_ += c;
      }
    }
    out_ += '\t';
  }
  void integer(std::int64_t v) { number(v); }
  void real(double v) { number(v); }
  void boolean(bool v) { out_ += v ? "t\t" : "f\t"; }
  void time(Timestamp t) { number(to_unix_micros(t)); }

  // One column of a value, by the type of its stored form (detail::stored()).
  void field(const std::string& v) { text(v); }
  void field(std::string_view v) { text(v); }
  void field(int v) { integer(v); }
  void field(std::int64_t v) { integer(v); }
  void field(double v) { real(v); }
  void field(bool v) { boolean(v); }
  void field(Timestamp v) { time(v); }
  template <class T>
  void field(const std::optional<T>& v) {
    if (v)
      field(*v);
    else
      null();
  }

 private:
  template <class N>
  void number(N v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, end);
    out_ += '\t';
  }
  std::string out_;
};

void write_threat(CopyWriter& w, const domain::Threat& t, std::int64_t seq) {
  detail::with_stored(detail::threat_fields(t), [&](const auto&... v) { (w.field(v), ...); });
  w.integer(seq);
  w.end_row();
}

// One array parameter per column of an unnest() over `entries`, in one pass: row(entry) gives the
// entry's values in column order (as a std::tie of them).
template <class Entries, class RowOf>
Params unnest_params(const Entries& entries, RowOf row) {
  constexpr auto n = std::tuple_size_v<decltype(row(*entries.begin()))>;
  std::array<ArrayLiteral, n> arrays;
  for (const auto& entry : entries) {
    auto values = row(entry);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (arrays[I].add(std::get<I>(values)), ...);
    }
    (std::make_index_sequence<n>{});
  }
  Params params;
  for (auto& a : arrays) params.add(std::move(a).text());
  return params;
}

// One statement over arrays for a whole map of sums; none for an empty one.
template <class Entries, class RowOf>
Status run_unnest(Connection& conn, const std::string& sql, std::string_view what,
                  const Entries& entries, RowOf row) {
  if (entries.empty()) return {};
  return detail::status_of(conn.run(sql, unnest_params(entries, row), what));
}

}  // namespace

Params total_arrays(const std::map<TotalKey, std::int64_t>& totals) {
  return unnest_params(totals, [](const auto& entry) {
    const auto& [key, count] = entry;
    const auto& [sensor, detector, severity, type] = key;
    return std::tie(sensor, detector, severity, type, count);
  });
}

// Locks the batch's sensor rows in sensor_id order and reads their locations. Every writer that
// touches a sensor's counters or rollups locks its row first, in this order, so concurrent
// batches queue instead of deadlocking. Errc::invalid_input names an unknown sensor.
Result<std::map<std::string, Place>> Backend::batch_places(Connection& conn,
                                                           const BatchSums& sums) {
  std::vector<std::string> ids;
  for (const auto& [id, sum] : sums.sensors) ids.push_back(id);
  std::map<std::string, Place> places;
  auto done = conn.for_each(
      "SELECT sensor_id, latitude, longitude, city, country FROM sensors "
      "WHERE sensor_id = ANY($1::text[]) ORDER BY sensor_id FOR NO KEY UPDATE",
      "insert threats",
      [&](const Row& row) {
        places[row.text(0)] = {row.opt_f64(1), row.opt_f64(2), row.opt_text(3), row.opt_text(4)};
      },
      text_array(ids));
  if (!done) return done.error();
  for (const auto& id : ids)
    if (!places.contains(id)) return make_error(Errc::invalid_input, "unknown sensor '" + id + "'");
  return places;
}

namespace {

// Ids of the batch already stored. The primary key is (id, timestamp), unique per day partition
// only: a threat whose timestamp comes from its message is looked for where that timestamp
// puts it (the batch's time range prunes the partitions), one stamped at receipt (redelivered
// with another receipt time) in every partition. Runs after batch_places has locked the sensors,
// so no other writer of these sensors is between its check and its COPY.
Result<std::unordered_set<std::string>> stored_ids(Connection& conn,
                                                   const std::vector<domain::Threat>& threats,
                                                   const std::vector<bool>& candidate) {
  std::vector<std::string> by_time, by_id;
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (std::size_t i = 0; i < threats.size(); ++i) {
    if (!candidate[i]) continue;
    const auto& t = threats[i];
    if (t.timestamp_from_receipt) {
      by_id.push_back(t.id);
      continue;
    }
    by_time.push_back(t.id);
    lo = std::min(lo, to_unix_micros(t.timestamp));
    hi = std::max(hi, to_unix_micros(t.timestamp));
  }
  std::unordered_set<std::string> found;
  auto add = [&](const Row& row) { found.insert(row.text(0)); };
  if (!by_time.empty()) {
    auto s = conn.for_each(
        "SELECT id::text FROM threats WHERE id = ANY($1::uuid[]) AND timestamp BETWEEN $2 AND $3",
        "insert threats", add, text_array(by_time), lo, hi);
    if (!s) return s.error();
  }
  if (!by_id.empty()) {
    auto s = conn.for_each("SELECT id::text FROM threats WHERE id = ANY($1::uuid[])",
                           "insert threats", add, text_array(by_id));
    if (!s) return s.error();
  }
  return found;
}

}  // namespace

Status Backend::insert_rows(Connection& conn, const std::vector<domain::Threat>& threats,
                            std::vector<bool>& inserted) {
  auto stored = stored_ids(conn, threats, inserted);
  if (!stored) return stored.error();
  std::size_t n = 0;
  for (std::size_t i = 0; i < threats.size(); ++i) {
    if (inserted[i] && stored->contains(threats[i].id)) inserted[i] = false;
    n += inserted[i] ? 1 : 0;
  }
  if (n == 0) return {};
  auto blocks = reserve_seqs(conn, n);
  if (!blocks) return blocks.error();
  CopyWriter w;
  w.data().reserve(n * 700);
  std::size_t k = 0;  // the row's place among those written
  for (std::size_t i = 0; i < threats.size(); ++i) {
    if (!inserted[i]) continue;
    write_threat(w, threats[i],
                 (*blocks)[k / kSeqBlock] + static_cast<std::int64_t>(k % kSeqBlock));
    ++k;
  }
  auto s = conn.copy_in(kCopyThreats, w.data(), "insert threats");
  if (!s && s.error().code == Errc::conflict)
    return make_error(Errc::conflict, "a threat of the batch already exists");
  return s;
}

// Adds (or, with negative deltas, removes) the sums, one statement per table. Every batch
// updates the same few fleet-wide rows (this hour's, the all-time totals): their row locks
// serialise concurrent writers until commit, so they come last, each in key order.
Status Backend::add_sums(Connection& conn, const BatchSums& sums) {
  Status s;
  static const auto add_sensor = detail::per_level(detail::kSensorRollups, add_sensor_rollup_sql);
  for (std::size_t l = 0; l < sums.by_sensor.size() && s; ++l)
    s = run_unnest(conn, add_sensor[l], "update threat rollups", sums.by_sensor[l],
                   [](const auto& entry) {
                     const auto& [key, sum] = entry;
                     const auto& [bucket, sensor, severity] = key;
                     return std::tie(bucket, sensor, severity, sum.count, sum.score_sum);
                   });
  if (s && !sums.totals.empty())
    s = detail::status_of(conn.run(kAddTotals, total_arrays(sums.totals), "update threat totals"));
  if (s)
    s = run_unnest(conn, kAddSensorCounts, "update sensor counters", sums.sensors,
                   [](const auto& entry) {
                     const auto& [id, sum] = entry;
                     return std::tie(id, sum.count, sum.last_threat, sum.last_seen, sum.skewed,
                                     sum.last_skew_seconds);
                   });
  static const auto add_types = detail::per_level(detail::kTypeRollups, add_type_rollup_sql);
  for (std::size_t l = 0; l < sums.types.size() && s; ++l)
    s = run_unnest(conn, add_types[l], "update fleet rollups", sums.types[l],
                   [](const auto& entry) {
                     const auto& [key, sum] = entry;
                     const auto& [bucket, type, severity] = key;
                     return std::tie(bucket, type, severity, sum.count, sum.score_sum);
                   });
  static const auto add_fleet = detail::per_level(detail::kFleetRollups, add_fleet_rollup_sql);
  for (std::size_t l = 0; l < sums.fleet.size() && s; ++l)
    s = run_unnest(conn, add_fleet[l], "update fleet rollups", sums.fleet[l],
                   [](const auto& entry) {
                     const auto& [key, sum] = entry;
                     return std::tie(key.first, key.second, sum.count, sum.score_sum);
                   });
  if (!s) return s;
  // The all-time count by severity follows every change of threat_totals' stored rows (insert,
  // delete); retention moves rows to `expired` there and leaves this one alone.
  std::map<int, std::int64_t> by_severity;
  for (const auto& [key, count] : sums.totals) by_severity[std::get<2>(key)] += count;
  return run_unnest(conn, kAddFleetTotals, "update threat totals", by_severity,
                    [](const auto& entry) { return std::tie(entry.first, entry.second); });
}

}  // namespace honeyman::store::pg
