// Nothing acknowledged is lost: through a broker restart, a SIGTERM of the server under load, and
// a store that refuses writes for a while. Each message carries a unique threat_type so a loss
// cannot hide behind an (at-least-once) duplicate.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "integration/mqtt_support.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string payload(const std::string& run, int i) {
  return json::serialize(json::object{{"threat_type", run + "-" + std::to_string(i)},
                                      {"detector_type", "usb"},
                                      {"severity", "low"},
                                      {"threat_score", 0.5}});
}

// Every threat_type stored for `sensor` (keyset paging through all of them).
std::set<std::string> stored_types(ServerProcess& server, const std::string& token,
                                   const std::string& sensor) {
  std::set<std::string> types;
  std::string cursor;
  auto client = server.client();
  for (;;) {
    auto reply = client.get("/api/v2/threats?page_size=1000&sensor_id=" + sensor +
                                (cursor.empty() ? "" : "&cursor=" + cursor),
                            bearer(token));
    if (reply.status != 200) return {};
    auto body = reply.json();
    for (const auto& t : body.at("threats").as_array())
      types.insert(std::string(t.at("threat_type").as_string()));
    if (!body.at("next_cursor").is_string() || body.at("next_cursor").as_string().empty()) break;
    cursor = std::string(body.at("next_cursor").as_string());
  }
  return types;
}

std::vector<std::string> missing(const std::set<std::string>& got, const std::string& run, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    if (!got.count(run + "-" + std::to_string(i))) out.push_back(run + "-" + std::to_string(i));
  return out;
}

// Publishes `run`-0 .. `run`-(n-1) from its own thread; `before(i)` runs before message i.
class Publisher {
 public:
  Publisher(const MosquittoProcess& broker, const SensorCredentials& sensor)
      : client_(sensor.sensor_id + "-publisher", false) {
    EXPECT_EQ(client_.connect(broker.port(), sensor.mqtt_username, sensor.mqtt_password), 0);
    topic_ = broker::sensor_topic(sensor.sensor_id, broker::TopicKind::threats);
  }
  void publish_all(const std::string& run, int n, const std::function<void(int)>& before) {
    for (int i = 0; i < n; ++i) {
      before(i);
      // Bound what is outstanding so the client does not buffer the whole run in memory.
      while (client_.unacknowledged() > 500) std::this_thread::sleep_for(1ms);
      EXPECT_TRUE(client_.publish_nowait(topic_, payload(run, i)));
    }
  }
  bool all_acknowledged() { return client_.wait_acknowledged(60s); }
  MqttClient& client() { return client_; }

 private:
  MqttClient client_;
  std::string topic_;
};

TEST(MqttResilience, BrokerRestartMidStreamLosesNothing) {
  auto fleet = MqttFleet::start();
  auto sensor = onboard(*fleet->server, fleet->admin, "steady");
  Publisher pub(*fleet->broker, sensor);
  constexpr int kTotal = 3000;
  pub.publish_all("restart", kTotal, [&](int i) {
    if (i != kTotal / 2) return;
    ASSERT_TRUE(pub.client().wait_acknowledged(30s));
    fleet->broker->stop();  // SIGTERM: the broker saves sessions and queued messages
    fleet->broker->start();
    ASSERT_TRUE(eventually([&] { return pub.client().connected(); }));
  });
  ASSERT_TRUE(pub.all_acknowledged());
  std::vector<std::string> lost;
  EXPECT_TRUE(eventually(
      [&] {
        lost = missing(stored_types(*fleet->server, fleet->admin, "steady"), "restart", kTotal);
        return lost.empty();
      },
      60s))
      << lost.size() << " lost, first " << lost.front() << "\n"
      << fleet->server->log();
  EXPECT_EQ(fleet->server->client().get("/ready").status, 200) << "the server reconnected";
}

TEST(MqttResilience, SigtermUnderLoadLosesNothing) {
  auto fleet = MqttFleet::start();
  auto sensor = onboard(*fleet->server, fleet->admin, "busy");
  Publisher pub(*fleet->broker, sensor);
  constexpr int kTotal = 6000;
  int exit_code = -2;
  pub.publish_all("sigterm", kTotal, [&](int i) {
    if (i == kTotal / 3) exit_code = fleet->server->stop(SIGTERM);
    // The broker queues for the server's persistent session while it is down.
    if (i == 2 * kTotal / 3) fleet->server->start();
  });
  EXPECT_EQ(exit_code, 0) << "SIGTERM must drain, commit and exit 0";
  ASSERT_TRUE(pub.all_acknowledged());
  std::vector<std::string> lost;
  EXPECT_TRUE(eventually(
      [&] {
        lost = missing(stored_types(*fleet->server, fleet->admin, "busy"), "sigterm", kTotal);
        return lost.empty();
      },
      60s))
      << lost.size() << " lost\n"
      << fleet->server->log();
}

TEST(MqttResilience, StoreUnavailableForSecondsLosesNothing) {
  auto fleet = MqttFleet::start({{"MQTT_QUEUE_CAPACITY", "100"}});
  auto sensor = onboard(*fleet->server, fleet->admin, "patient");
  // SQLite: an exclusive transaction from another process, so every write of the server waits for
  // its busy timeout and fails as `unavailable`. PostgreSQL: the server's database refuses
  // connections and its open ones are ended. Ingestion must retry either way, not drop.
  auto url = fleet->server->env().at("DATABASE_URL");
  bool on_postgres = url.starts_with("postgres");
  sqlite3* db = nullptr;
  if (on_postgres) {
    ASSERT_EQ(fleet->server->set_database_available(false), "");
  } else {
    auto path = url.substr(std::string("sqlite:///").size());
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  auto down_since = std::chrono::steady_clock::now();

  Publisher pub(*fleet->broker, sensor);
  constexpr int kTotal = 1000;
  pub.publish_all("locked", kTotal, [](int) {});
  ASSERT_TRUE(pub.all_acknowledged());
  // Keep the store down until ingestion is seen retrying (SQLite: the pipeline gave up on its own
  // retry budget and handed the threats back; PostgreSQL: connections are refused at once), and
  // for 10 s at least.
  auto retrying = [&] {
    auto log = fleet->server->log();
    return log.find(on_postgres ? "store unavailable" : "not committed") != std::string::npos;
  };
  EXPECT_TRUE(eventually(retrying, 60s)) << fleet->server->log();
  std::this_thread::sleep_until(down_since + 10s);
  if (on_postgres) {
    ASSERT_EQ(fleet->server->set_database_available(true), "");
  } else {
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }

  std::vector<std::string> lost;
  EXPECT_TRUE(eventually(
      [&] {
        lost = missing(stored_types(*fleet->server, fleet->admin, "patient"), "locked", kTotal);
        return lost.empty();
      },
      60s))
      << lost.size() << " lost\n"
      << fleet->server->log();
}

}  // namespace
}  // namespace honeyman::testing
