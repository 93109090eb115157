// Sensor commands and rule updates: recorded, then published to the field agent (SPEC §8).
#include <boost/json/serialize.hpp>

#include "service/service.hpp"

namespace honeyman::service {

namespace json = boost::json;

CommandService::CommandService(store::Store& store, const Clock& clock, broker::BrokerConfig broker)
    : store_(store), clock_(clock), broker_(std::move(broker)) {}

CommandService::~CommandService() {
  if (publisher_) publisher_->stop();
}

// The server's own account, with a client id of its own: the subscriber's fixed id must stay
// the subscriber's (a second session with it would end the first).
Result<broker::Publisher*> CommandService::publisher() {
  if (!broker_.enabled())
    return make_error(Errc::unavailable, "MQTT is off (MQTT_BROKER_HOST is not set)");
  if (publisher_ && publisher_->connected()) return publisher_.get();
  if (publisher_) return publisher_.get();  // reconnecting: QoS 1 publishes wait for it
  auto made = broker::connect_publisher(broker_, "honeyman-commands-" + uuid_v4().substr(0, 8),
                                        broker_.username, broker_.password);
  if (!made) return made.error();
  publisher_ = std::move(*made);
  return publisher_.get();
}

Result<store::SensorCommand> CommandService::send(std::string_view sensor_id, NewCommand command,
                                                  const store::Actor& by) {
  auto now = clock_.now();
  if (auto sensor = store_.find_sensor(sensor_id, now); !sensor) return sensor.error();
  store::SensorCommand c;
  c.id = uuid_v4();
  c.sensor_id = std::string(sensor_id);
  c.kind = command.kind;
  c.command = command.command;
  c.args = command.args;
  c.issued_at = now;
  c.issued_by = by.name;
  json::object details{{"kind", c.kind}, {"command", c.command}, {"command_id", c.id}};
  auto audit = store::audit_entry(by, now, "sensor.command", "sensor", c.sensor_id, details);
  if (auto s = store_.insert_command(c, &audit); !s) return s.error();

  json::object message{{"type", c.kind == "rule_update" ? "rule_update" : "command"},
                       {"id", c.id},
                       {"issued_at", format_timestamp(c.issued_at)},
                       {"issued_by", c.issued_by}};
  std::string topic;
  if (c.kind == "rule_update") {
    for (const auto& [key, value] : c.args) message[key] = value;
    topic = broker::dashboard_update_topic(sensor_id);
  } else {
    message["command"] = c.command;
    message["args"] = c.args;
    topic = broker::dashboard_command_topic(sensor_id);
  }
  std::lock_guard lock(mutex_);
  auto pub = publisher();
  bool queued = pub && (*pub)->publish(topic, json::serialize(message), 1);
  if (!queued) {
    auto why = pub ? std::string("the MQTT client refused the publish") : pub.error().message;
    (void)store_.set_command_result(c.id, c.sensor_id, "failed", "not sent: " + why, now);
    return make_error(Errc::unavailable, "the command was not sent: " + why);
  }
  return c;
}

Result<std::vector<store::SensorCommand>> CommandService::history(std::string_view sensor_id,
                                                                  int limit) {
  if (auto sensor = store_.find_sensor(sensor_id, clock_.now()); !sensor) return sensor.error();
  return store_.list_commands(sensor_id, limit);
}

}  // namespace honeyman::service
