#include "broker/broker.hpp"

namespace honeyman::broker {
namespace {

constexpr std::string_view kSensorTopicPrefix = "honeyman/sensors/";

}  // namespace

std::string_view to_string(TopicKind kind) {
  switch (kind) {
    case TopicKind::threats:
      return "threats";
    case TopicKind::heartbeat:
      return "heartbeat";
    case TopicKind::status:
      return "status";
  }
  return "threats";  // unreachable: every enumerator is handled above
}

std::string sensor_topic(std::string_view sensor_id, TopicKind kind) {
  std::string topic(kSensorTopicPrefix);
  topic.append(sensor_id).append("/").append(to_string(kind));
  return topic;
}

std::string sensor_topic_tree(std::string_view sensor_id) {
  std::string topic(kSensorTopicPrefix);
  topic.append(sensor_id).append("/#");
  return topic;
}

std::optional<SensorTopic> parse_sensor_topic(std::string_view topic) {
  if (!topic.starts_with(kSensorTopicPrefix)) return std::nullopt;
  topic.remove_prefix(kSensorTopicPrefix.size());
  auto slash = topic.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto id = topic.substr(0, slash), kind = topic.substr(slash + 1);
  if (!is_valid_sensor_id(id)) return std::nullopt;
  for (auto k : kTopicKinds)
    if (kind == to_string(k)) return SensorTopic{std::string(id), k};
  return std::nullopt;
}

std::vector<std::string> sensor_topic_filters(std::string_view shared_group) {
  std::vector<std::string> filters;
  for (auto kind : kTopicKinds) {
    std::string filter = shared_group.empty() ? "" : "$share/" + std::string(shared_group) + "/";
    filter.append(kSensorTopicPrefix).append("+/").append(to_string(kind));
    filters.push_back(std::move(filter));
  }
  return filters;
}

std::string control_topic(std::string_view sensor_id) {
  return "honeyman/control/" + std::string(sensor_id);
}
std::string dashboard_command_topic(std::string_view sensor_id) {
  return "honeyman/dashboard/commands/" + std::string(sensor_id);
}
std::string dashboard_update_topic(std::string_view sensor_id) {
  return "honeyman/dashboard/updates/" + std::string(sensor_id);
}
std::string sensor_role(std::string_view sensor_id) {
  return "honeyman-sensor-" + std::string(sensor_id);
}

}  // namespace honeyman::broker
