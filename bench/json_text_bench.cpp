// bench/json-text's program: writes a page of 50 threats (the GET /threats default page, ~50 kB)
// N times with Boost.JSON's serializer (mode 0) or core's to_json_text (mode 1). Run under
// callgrind, it counts instructions: the same for the same binary whatever else the machine does.
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>

#include "core/core.hpp"

namespace json = boost::json;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: json_text_bench <0: Boost.JSON | 1: to_json_text> <pages>\n");
    return 2;
  }
  int mode = std::atoi(argv[1]), pages = std::atoi(argv[2]);
  json::array threats;
  for (int i = 0; i < 50; ++i)
    threats.push_back(json::parse(R"({"id":"018bcfe5-6800-7000-8000-000000000001",
      "timestamp":"2026-08-08T14:03:27.512904Z","sensor_id":"rpi5-defcon-01",
      "threat_type":"flipper_zero","detector_type":"ble","severity":"critical",
      "device_name":"FZ-Unleashed","device_mac":"80:E1:26:3A:11:9C","device_ip":null,
      "src_host":null,"src_port":null,"dst_host":null,"dst_port":null,"latitude":36.1147,
      "longitude":-115.1728,"city":"Las Vegas","country":"US",
      "matched_rules":[{"name":"Flipper Zero BLE Detection"},{"name":"BLE Spam Burst"}],
      "confidence":null,"threat_score":0.82,"raw_event":{"device_name":"FZ-Unleashed",
      "mac_address":"80:E1:26:3A:11:9C","rssi":-58,"service_uuid":"fff0","manufacturer_id":76,
      "message":"Flipper Zero BLE Detection: device 'FZ-Unleashed' advertising fff0",
      "metadata":{"detector_version":"2.0.0","event_count":1432,"threat_count":17}},
      "mitre_tactics":[],"mitre_techniques":[],"is_acknowledged":false,"acknowledged_at":null,
      "acknowledged_by":null,"acknowledgement_notes":null,
      "created_at":"2026-08-08T14:03:27.600000Z"})"));
  json::value page = json::object{{"threats", threats}, {"total", 1000}, {"page", 1}};
  std::size_t bytes = 0;
  for (int i = 0; i < pages; ++i)
    bytes += mode == 0 ? json::serialize(page).size() : honeyman::to_json_text(page).size();
  std::printf("%zu\n", bytes);
}
