#include "fuzz/fuzz.hpp"

namespace honeyman::fuzz {

std::span<const Target> targets() {
  static constexpr Target kAll[] = {
      {"mqtt_payload", mqtt_payload}, {"http_batch", http_batch}, {"request_body", request_body},
      {"threat_query", threat_query}, {"cursor", cursor},         {"jwt", jwt},
      {"env_file", env_file},         {"ws_message", ws_message},
  };
  return kAll;
}

const Target* find_target(std::string_view name) {
  for (const auto& t : targets())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace honeyman::fuzz
