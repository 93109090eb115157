#include "service/service_test_support.hpp"

namespace honeyman::service::test_support {

class ThreatServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    threats_.emplace(*store_, clock_);
    plant_sensor("rpi-01");
  }

  domain::Threat threat_of(const std::string& sensor_id, domain::Severity severity) {
    domain::Threat t;
    t.id = uuid_v7(clock_.now());
    t.timestamp = clock_.now();
    t.sensor_id = sensor_id;
    t.threat_type = "rogue_ap";
    t.detector_type = "wifi";
    t.severity = severity;
    t.threat_score = 0.5;
    t.created_at = clock_.now();
    return t;
  }

  std::string stored_threat(domain::Severity severity = domain::Severity::high) {
    std::vector<domain::Threat> threats{threat_of("rpi-01", severity)};
    auto stored = store_->insert_threats(threats);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? threats.front().id : std::string();
  }

  std::optional<ThreatService> threats_;
};

TEST_F(ThreatServiceTest, AcknowledgementRecordsWhoAndWhen) {
  const store::Actor dora{"dora", "analyst", "127.0.0.1"};
  auto id = stored_threat();
  clock_.advance(std::chrono::minutes(5));
  auto acked = threats_->acknowledge(id, "false positive", dora);
  ASSERT_TRUE(acked) << acked.error().message;
  auto found = threats_->find(id);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->is_acknowledged);
  EXPECT_EQ(found->acknowledged_by, "dora");
  EXPECT_EQ(found->acknowledged_at, clock_.now());
  EXPECT_EQ(found->acknowledgement_notes, "false positive");
  EXPECT_EQ(threats_->acknowledge(uuid_v7(clock_.now()), std::nullopt, dora).error().code,
            Errc::not_found);
}

TEST_F(ThreatServiceTest, QueryFiltersAndRemoveTakesThreatsOut) {
  auto high = stored_threat(domain::Severity::high);
  stored_threat(domain::Severity::low);
  store::ThreatQuery only_high;
  only_high.severities = {domain::Severity::high};
  auto page = threats_->query(only_high);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->threats.size(), 1u);
  EXPECT_EQ(page->threats.front().id, high);

  ASSERT_TRUE(threats_->remove(high, kBy));
  EXPECT_EQ(threats_->find(high).error().code, Errc::not_found);
  EXPECT_EQ(threats_->query({}).value().total, 1);
  EXPECT_EQ(threats_->remove(high, kBy).error().code, Errc::not_found);
}

TEST_F(ThreatServiceTest, PostingForUnknownSensorsIsRefused) {
  EXPECT_TRUE(threats_->check_known_sensors({threat_of("rpi-01", domain::Severity::low)}));
  auto refused = threats_->check_known_sensors(
      {threat_of("rpi-01", domain::Severity::low), threat_of("ghost", domain::Severity::low)});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_input);
  ASSERT_EQ(refused.error().fields.size(), 1u);
  EXPECT_EQ(refused.error().fields.front().msg, "Unknown sensor 'ghost'");
}

}  // namespace honeyman::service::test_support
