// Store throughput and query latency, printed as a table (not a test: timings vary by machine).
//   store_bench [DATABASE_URL] [threats]   default: a fresh /tmp file, 1,000,000 threats
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "store/store.hpp"

using namespace honeyman;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

const Timestamp kStart = from_unix_micros(1'800'000'000'000'000);

domain::Threat agent_like_threat(std::mt19937_64& rng, int i, int total) {
  static const char* kDetectors[] = {"usb", "wifi", "ble", "network", "airdrop"};
  static const char* kTypes[] = {"usb_rubber_ducky", "evil_twin",    "ble_spam",
                                 "port_scan",        "airdrop_spam", "deauth_flood"};
  domain::Threat t;
  // Time-ordered over 30 days, as ingest sees them.
  t.timestamp = kStart + std::chrono::microseconds(std::int64_t{30} * 86'400'000'000 / total * i);
  t.sensor_id = "sensor-" + std::to_string(rng() % 20);
  // Ingest's ids are made of the message, led by its stated time; STORE_BENCH_IDS=v7 for the
  // receipt-time UUID v7s used before issue #11, =hash for ids without the time prefix.
  static const std::string ids =
      std::getenv("STORE_BENCH_IDS") ? std::getenv("STORE_BENCH_IDS") : "";
  if (ids == "v7")
    t.id = uuid_v7(t.timestamp);
  else
    t.id = domain::threat_id(t.sensor_id, std::to_string(i), 0,
                             ids == "hash" ? std::nullopt : std::optional<Timestamp>(t.timestamp));
  t.detector_type = kDetectors[rng() % 5];
  t.threat_type = kTypes[rng() % 6];
  auto r = rng() % 100;  // mostly low/medium, few critical
  t.severity = static_cast<domain::Severity>(r < 30 ? 1 : r < 70 ? 2 : r < 90 ? 3 : r < 97 ? 0 : 4);
  t.threat_score = static_cast<double>(rng() % 1000) / 1000.0;
  t.confidence = 0.8;
  t.device_name = "Flipper Zero";
  t.device_mac = "aa:bb:cc:dd:ee:ff";
  t.matched_rules = boost::json::array{boost::json::object{{"name", "ble_spam_pattern"}}};
  t.raw_event = boost::json::object{
      {"message", "BLE advertisement flood from a spoofed Apple device"},
      {"metadata", {{"rssi", -48}, {"channel", 37}, {"adv_count", 412}}},
      {"raw", {{"manufacturer_id", 76}, {"payload", "0719010f2022f58f0100000000000000"}}}};
  t.mitre_tactics = {"TA0001"};
  t.mitre_techniques = {"T1200"};
  t.created_at = t.timestamp + 20ms;
  return t;
}

// Wall time of the whole loop (including making the threats) and of insert_threats alone, for
// the first `count` threats of `total` (the same threats on every call: a second call with the
// same arguments inserts nothing new).
std::pair<double, double> insert_all(store::Store& s, int total, int count) {
  std::mt19937_64 rng(42);
  auto begin = Steady::now();
  Steady::duration in_store{};
  for (int i = 0; i < count;) {
    std::vector<domain::Threat> batch;
    for (int j = 0; j < 1000 && i < count; ++j, ++i)
      batch.push_back(agent_like_threat(rng, i, total));
    auto call = Steady::now();
    auto r = s.insert_threats(batch);
    in_store += Steady::now() - call;
    if (!r) {
      std::fprintf(stderr, "insert failed: %s\n", r.error().message.c_str());
      std::exit(1);
    }
  }
  return {std::chrono::duration<double>(Steady::now() - begin).count(),
          std::chrono::duration<double>(in_store).count()};
}

void time_query(store::Store& s, const char* name, const store::ThreatQuery& q) {
  // STORE_BENCH_ONLY=<text> runs only the queries whose name contains it (for profiling).
  if (const char* only = std::getenv("STORE_BENCH_ONLY"); only && !std::strstr(name, only)) return;
  std::vector<double> us;
  std::size_t rows = 0;
  std::int64_t total = 0;
  for (int i = 0; i < (std::getenv("STORE_BENCH_ONLY") ? 5000 : 200); ++i) {
    auto begin = Steady::now();
    auto page = s.query_threats(q);
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - begin).count());
    if (!page) {
      std::fprintf(stderr, "%s failed: %s\n", name, page.error().message.c_str());
      return;
    }
    rows = page->threats.size();
    total = page->total;
  }
  std::sort(us.begin(), us.end());
  std::printf("| %-44s | %4zu | %8lld | %9.0f | %9.0f |\n", name, rows,
              static_cast<long long>(total), us[us.size() / 2], us[us.size() * 99 / 100]);
}

void create_sensors(store::Store& s) {
  for (int i = 0; i < 20; ++i) {
    domain::Sensor sensor;
    sensor.id = uuid_v4();
    sensor.sensor_id = "sensor-" + std::to_string(i);
    sensor.name = sensor.sensor_id;
    sensor.latitude = 52.5;
    sensor.longitude = 13.4;
    sensor.created_at = sensor.updated_at = kStart;
    (void)s.create_sensor(sensor, "");  // already there when re-running on an existing file
  }
}

void time_queries(store::Store& s) {
  using domain::Severity;
  auto first = s.query_threats({}).value();
  auto deep = s.query_threats({.page = 2000}).value();
  std::printf("| %-44s | rows | total    | median µs | p99 µs    |\n|---|---|---|---|---|\n",
              "query");
  time_query(s, "timestamp desc, page 1", {});
  time_query(s, "timestamp desc, severity=critical", {.severities = {Severity::critical}});
  time_query(s, "timestamp desc, severity=high|critical",
             {.severities = {Severity::high, Severity::critical}});
  time_query(s, "timestamp desc, sensor_id=sensor-3", {.sensor_ids = {"sensor-3"}});
  time_query(s, "timestamp desc, sensor-3 + critical",
             {.sensor_ids = {"sensor-3"}, .severities = {Severity::critical}});
  time_query(s, "timestamp desc, keyset page 2", {.cursor = first.next_cursor});
  time_query(s, "timestamp desc, keyset after page 2000", {.cursor = deep.next_cursor});
  time_query(s, "timestamp desc, offset page 2000", {.page = 2000});
  time_query(s, "timestamp desc, last 24h (capped total)", {.start_time = kStart + 29 * 24h});
  time_query(s, "timestamp desc, is_acknowledged=false", {.is_acknowledged = false});
  time_query(s, "severity desc", {.sort_by = store::ThreatSort::severity});
  time_query(s, "sensor_id asc", {.sort_by = store::ThreatSort::sensor_id, .descending = false});
  time_query(s, "threat_score desc (no index)", {.sort_by = store::ThreatSort::threat_score});
  time_query(s, "timestamp desc, status=new", {.statuses = {domain::ThreatStatus::new_}});
  time_query(s, "timestamp desc, status=resolved", {.statuses = {domain::ThreatStatus::resolved}});
  time_query(s, "timestamp desc, assignee=bench", {.assignee = "bench"});
  time_query(s, "timestamp desc, unassigned", {.assignee = ""});
}

// Bulk triage (SPEC §7): the newest 100,000 threats, selected by a time filter, resolved and
// assigned in one call (one transaction with a history row each). Run before the queries, so
// the status and assignee filters above have both kinds of rows to find.
void time_bulk(store::Store& s, int total) {
  const int n = std::min(total, 100'000);
  store::ThreatSelection selection;
  selection.filter = store::ThreatQuery{
      .start_time = kStart + std::chrono::microseconds(std::int64_t{30} * 86'400'000'000 / total *
                                                       (total - n))};
  store::ThreatChange change;
  change.status = domain::ThreatStatus::resolved;
  change.assignee = "bench";
  change.note = "bulk";
  auto begin = Steady::now();
  auto r = s.bulk_update_threats(selection, change, "bench", kStart + 31 * 24h, 100'000);
  auto seconds = std::chrono::duration<double>(Steady::now() - begin).count();
  if (!r) {
    std::fprintf(stderr, "bulk update failed: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  std::printf("bulk update by filter: %lld matched, %lld changed: %.2f s\n\n",
              static_cast<long long>(r->matched), static_cast<long long>(r->changed), seconds);
}

}  // namespace

int main(int argc, char** argv) {
  std::string file = (std::filesystem::temp_directory_path() / "honeyman-store-bench.db").string();
  std::string url = argc > 1 ? argv[1] : "sqlite:///" + file;
  int total = argc > 2 ? std::stoi(argv[2]) : 1'000'000;
  if (argc <= 1)
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
  auto opened = store::open_store({.database_url = url});
  if (!opened || !(*opened)->migrate())
    return std::fprintf(stderr, "cannot open %s\n", url.c_str()), 1;
  auto& s = **opened;
  // PostgreSQL: the day partitions of the 30 days ahead exist before ingest, as in production.
  for (int week = 0; week <= 5; ++week)
    if (auto m = s.maintain(kStart + week * 7 * 24h); !m)
      return std::fprintf(stderr, "maintain: %s\n", m.error().message.c_str()), 1;
  create_sensors(s);
  auto [seconds, store_seconds] = insert_all(s, total, total);
  std::printf(
      "insert: %d threats in batches of 1000: %.2f s, %.0f threats/s "
      "(insert_threats alone: %.2f s, %.0f threats/s)\n",
      total, seconds, total / seconds, store_seconds, total / store_seconds);
  // Redelivery: the first threats again, every one already stored (skipped, counted nowhere).
  const int again = std::min(total, 100'000);
  auto [dup_seconds, dup_store_seconds] = insert_all(s, total, again);
  std::printf(
      "insert again (all duplicates): %d threats: %.2f s (insert_threats alone: %.2f s, "
      "%.0f threats/s)\n\n",
      again, dup_seconds, dup_store_seconds, again / dup_store_seconds);
  time_bulk(s, total);
  time_queries(s);
  auto t0 = Steady::now();
  auto stats = s.sensor_stats("sensor-3", kStart + 30 * 24h);
  std::printf("\nsensor_stats: %.0f µs (%s)\n",
              std::chrono::duration<double, std::micro>(Steady::now() - t0).count(),
              stats ? "ok" : stats.error().message.c_str());
  return 0;
}
