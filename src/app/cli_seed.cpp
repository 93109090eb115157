#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "app/cli.hpp"

namespace honeyman::app {
namespace {

struct SeedArgs {
  int sensors = 20;
  std::int64_t threats = 10'000;
  int days = 7;
  std::uint64_t seed = 1;
  int batch = 1000;
  std::string now;  // end of the window (RFC 3339); empty: the current time
};

struct City {
  const char* name;
  const char* country;
  double lat, lon;
};
constexpr std::array<City, 16> kCities{{{"Las Vegas", "US", 36.11, -115.17},
                                        {"New York", "US", 40.71, -74.01},
                                        {"San Francisco", "US", 37.77, -122.42},
                                        {"London", "GB", 51.51, -0.13},
                                        {"Berlin", "DE", 52.52, 13.40},
                                        {"Paris", "FR", 48.86, 2.35},
                                        {"Amsterdam", "NL", 52.37, 4.90},
                                        {"Tokyo", "JP", 35.68, 139.69},
                                        {"Singapore", "SG", 1.35, 103.82},
                                        {"Sydney", "AU", -33.87, 151.21},
                                        {"Sao Paulo", "BR", -23.55, -46.63},
                                        {"Toronto", "CA", 43.65, -79.38},
                                        {"Tel Aviv", "IL", 32.09, 34.78},
                                        {"Bangalore", "IN", 12.97, 77.59},
                                        {"Cape Town", "ZA", -33.92, 18.42},
                                        {"Warsaw", "PL", 52.23, 21.01}}};

struct Detector {
  const char* name;
  std::array<const char*, 4> types;
};
constexpr std::array<Detector, 5> kDetectors{{
    {"ble", {"flipper_zero", "ble_spam", "airtag_tracking", "ble_skimmer"}},
    {"usb", {"rubber_ducky", "bad_usb", "usb_killer", "mass_storage_malware"}},
    {"wifi", {"wifi_evil_twin", "deauth_attack", "karma_attack", "rogue_ap"}},
    {"network", {"ssh_brute_force", "port_scan", "smb_exploit", "dns_tunnel"}},
    {"airdrop", {"airdrop_spam", "airdrop_cyberflash", "airdrop_phishing", "airdrop_flood"}},
}};

// The random source with the detector and severity mix of a busy conference deployment.
struct Generator {
  std::mt19937_64 rng;
  std::discrete_distribution<int> detector{35, 10, 25, 25, 5};
  std::discrete_distribution<int> severity{15, 35, 30, 15, 5};  // info..critical
};

// A UUID v7 whose random part comes from the seeded generator, so a seed gives the same ids.
std::string seeded_uuid_v7(Timestamp t, std::mt19937_64& rng) {
  auto ms = static_cast<std::uint64_t>(to_unix_micros(t) / 1000);
  auto r1 = rng(), r2 = rng();
  char out[64];
  std::snprintf(out, sizeof out, "%08llx-%04llx-7%03llx-%04llx-%012llx",
                static_cast<unsigned long long>((ms >> 16) & 0xffffffffULL),
                static_cast<unsigned long long>(ms & 0xffff),
                static_cast<unsigned long long>(r1 & 0xfff),
                static_cast<unsigned long long>(0x8000 | ((r1 >> 12) & 0x3fff)),
                static_cast<unsigned long long>(r2 & 0xffffffffffffULL));
  return out;
}

Result<std::vector<domain::Sensor>> ensure_sensors(store::Store& store, int count,
                                                   std::mt19937_64& rng, Timestamp now) {
  std::vector<domain::Sensor> out;
  std::uniform_real_distribution<double> jitter(-0.2, 0.2);
  for (int i = 1; i <= count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "seed-%04d", i);
    auto existing = store.find_sensor(id, now);
    if (existing) {
      out.push_back(std::move(*existing));
      continue;
    }
    const auto& city = kCities[static_cast<std::size_t>(i - 1) % kCities.size()];
    domain::Sensor s;
    s.id = seeded_uuid_v7(now, rng);
    s.sensor_id = id;
    s.name = std::string(city.name) + " sensor " + std::to_string(i);
    s.latitude = city.lat + jitter(rng);
    s.longitude = city.lon + jitter(rng);
    s.city = city.name;
    s.country = city.country;
    s.enabled_detectors = {"ble", "usb", "wifi", "network", "airdrop"};
    s.platform = "rpi5";
    s.agent_version = "2.0.0";
    s.created_at = s.updated_at = now;
    s.registered_at = now;
    s.last_seen = s.last_heartbeat = now;
    auto audit = store::audit_entry(cli_actor(), now, "sensor.create", "sensor", s.sensor_id,
                                    {{"name", s.name}, {"by", "seed"}});
    auto created = store.create_sensor(s, "", &audit);
    if (!created) return created.error();
    out.push_back(std::move(*created));
  }
  return out;
}

// Offsets into the window [start, start + days), ordered, following a diurnal curve by UTC
// hour of day: quietest at 04:00, busiest at 16:00 (nine times the quietest rate).
std::vector<std::int64_t> diurnal_offsets(const SeedArgs& a, Timestamp start,
                                          std::mt19937_64& rng) {
  constexpr std::int64_t kHour = 3'600'000'000LL;
  auto first_hour = to_unix_micros(start) / kHour;  // hours since the epoch = UTC hour of day
  auto lead = to_unix_micros(start) % kHour;        // start need not fall on an hour
  std::vector<double> weights;
  for (std::int64_t h = 0; h <= a.days * 24; ++h)
    weights.push_back(1.0 + 0.8 * std::sin(((first_hour + h) % 24 - 10) * 3.14159265 / 12.0));
  std::discrete_distribution<std::int64_t> hour(weights.begin(), weights.end());
  std::uniform_int_distribution<std::int64_t> within(0, kHour - 1);
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(a.threats));
  const auto span = a.days * 24 * kHour;
  while (out.size() < static_cast<std::size_t>(a.threats)) {
    auto o = hour(rng) * kHour + within(rng) - lead;  // clock-hour aligned, then into the window
    if (o >= 0 && o < span) out.push_back(o);
  }
  std::sort(out.begin(), out.end());
  return out;
}

domain::Threat make_threat(const domain::Sensor& sensor, Timestamp at, Timestamp now,
                           Generator& gen) {
  auto r = gen.rng();
  const auto& det = kDetectors[static_cast<std::size_t>(gen.detector(gen.rng))];
  domain::Threat t;
  t.id = seeded_uuid_v7(at, gen.rng);
  t.timestamp = at;
  t.created_at = std::min(now, at + std::chrono::milliseconds(r % 900));  // receipt
  t.sensor_id = sensor.sensor_id;
  t.detector_type = det.name;
  t.threat_type = det.types[r % 4];
  t.severity = static_cast<domain::Severity>(gen.severity(gen.rng));
  t.threat_score = std::min(1.0, 0.15 * static_cast<int>(t.severity) + (r >> 8) % 1000 / 4000.0);
  t.confidence = 0.5 + (r >> 20) % 500 / 1000.0;
  t.matched_rules = boost::json::array{boost::json::object{{"name", t.threat_type}}};
  t.raw_event = {{"message", std::string("synthetic ") + t.threat_type},
                 {"rssi", -40 - int(r % 50)}};
  char mac[18];
  std::snprintf(mac, sizeof mac, "02:%02x:%02x:%02x:%02x:%02x", int(r >> 24 & 0xff),
                int(r >> 32 & 0xff), int(r >> 40 & 0xff), int(r >> 48 & 0xff), int(r >> 56));
  t.device_mac = mac;
  t.device_name = std::string(det.name) + "-device-" + std::to_string(r % 97);
  return t;
}

void progress(std::int64_t done, std::int64_t total, double seconds, bool tty) {
  int pct = static_cast<int>(100 * done / std::max<std::int64_t>(total, 1));
  static int last = -1;
  if (!tty && pct / 10 == last / 10 && done != total) return;
  last = pct;
  char bar[31];
  for (int i = 0; i < 30; ++i) bar[i] = i < pct * 30 / 100 ? '#' : ' ';
  bar[30] = 0;
  std::fprintf(stderr, "%s[%s] %3d%% %lld/%lld threats, %.0f/s%s", tty ? "\r" : "", bar, pct,
               static_cast<long long>(done), static_cast<long long>(total),
               done / std::max(seconds, 1e-9), tty ? "" : "\n");
}

int seed(const ConfigLoader& load, const SeedArgs& a) {
  if (a.sensors < 1 || a.threats < 0 || a.days < 1 || a.batch < 1)
    return fail("--sensors, --days and --batch must be ≥ 1 and --threats ≥ 0");
  auto store = open_store_or_report(load);
  if (!store) return 1;
  Generator gen{std::mt19937_64(a.seed)};
  auto now = system_clock().now();
  if (!a.now.empty()) {
    auto parsed = parse_timestamp(a.now);
    if (!parsed) return fail("--now must be an RFC 3339 time, e.g. 2026-08-08T12:00:00Z");
    now = *parsed;
  }
  auto sensors = ensure_sensors(*store, a.sensors, gen.rng, now);
  if (!sensors) return fail(sensors.error().message);
  auto start = now - std::chrono::days(a.days);
  // PostgreSQL: the day partitions of the window, as a server running through it would have
  // created them ahead (maintain(t) covers the day before t to a week after).
  for (auto t = start; t < now + std::chrono::days(1); t += std::chrono::days(7))
    if (auto made = store->maintain(t); !made) return fail(made.error().message);
  auto offsets = diurnal_offsets(a, start, gen.rng);
  // Some sensors are busier than others (1x to 10x), so top lists have a shape.
  std::vector<double> activity;
  for (std::size_t i = 0; i < sensors->size(); ++i) activity.push_back(1.0 + double(i * 7 % 10));
  std::discrete_distribution<std::size_t> pick(activity.begin(), activity.end());
  bool tty = isatty(2);
  auto began = std::chrono::steady_clock::now();
  std::vector<domain::Threat> batch;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    auto at = start + std::chrono::microseconds(offsets[i]);
    batch.push_back(make_threat((*sensors)[pick(gen.rng)], at, now, gen));
    if (batch.size() < static_cast<std::size_t>(a.batch) && i + 1 < offsets.size()) continue;
    if (auto stored = store->insert_threats(batch); !stored)
      return fail("insert failed after " + std::to_string(i) +
                  " threats: " + stored.error().message);
    batch.clear();
    std::chrono::duration<double> secs = std::chrono::steady_clock::now() - began;
    progress(static_cast<std::int64_t>(i + 1), a.threats, secs.count(), tty);
  }
  std::chrono::duration<double> secs = std::chrono::steady_clock::now() - began;
  if (tty) std::fprintf(stderr, "\n");
  std::printf("seeded %lld threats from %d sensors over %d days in %.1f s (%.0f threats/s)\n",
              static_cast<long long>(a.threats), a.sensors, a.days, secs.count(),
              a.threats / std::max(secs.count(), 1e-9));
  return 0;
}

}  // namespace

void add_seed_command(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto args = std::make_shared<SeedArgs>();
  auto* cmd = cli.add_subcommand(
      "seed-data", "Fill the store with realistic synthetic threats (benchmarks, demos)");
  cmd->add_option("--sensors", args->sensors, "Sensors (seed-0001...; reused if present)")
      ->capture_default_str();
  cmd->add_option("--threats", args->threats, "Threats to insert")->capture_default_str();
  cmd->add_option("--days", args->days, "Spread over the last N days")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same data)")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Threats per transaction")->capture_default_str();
  cmd->add_option("--now", args->now,
                  "End of the window (RFC 3339; default: now); with --seed, the same data");
  cmd->callback([&, args] { exit_code = seed(load, *args); });
}

}  // namespace honeyman::app
