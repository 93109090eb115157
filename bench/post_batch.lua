-- wrk script: POST a batch of BATCH (default 1000) agent-format threats per request with a sensor
-- API key (HONEYMAN_BENCH_KEY, of `bench-sensor`). Each request's batch has its own timestamp and
-- each wrk thread its own event_count, so every threat is new: the run measures decoding, ids and
-- storage, not the skipping of repeats.
local key = os.getenv("HONEYMAN_BENCH_KEY")
local size = tonumber(os.getenv("BATCH") or "1000")
local item = [[{"timestamp":"2026-08-08T14:%02d:%02d.%06d","sensor_id":"bench-sensor","sensor_name":"DefCon-Portable","source":"BleDetector","threat_type":"flipper_zero","threat_score":0.82,"risk_level":"critical","threats_detected":["Flipper Zero BLE Detection","BLE Spam Burst"],"message":"Flipper Zero BLE Detection: device 'FZ-Unleashed' advertising fff0","raw_data":{"device_name":"FZ-Unleashed","mac_address":"80:E1:26:3A:11:9C","rssi":-58,"service_uuid":"fff0","manufacturer_id":76},"metadata":{"detector_version":"2.0.0","event_count":%d,"threat_count":17},"geolocation":{"lat":36.1147,"lon":-115.1728,"accuracy":35.0,"source":"wifi"},"city":"Las Vegas","country":"US"}]]
local threads = 0
setup = function(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local sent = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = key

request = function()
  sent = sent + 1
  local items = {}
  for i = 1, size do
    items[i] = string.format(item, math.floor(sent / 60) % 60, sent % 60, i,
                             (thread_number or 0) * 1000000000 + sent)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(items, ",") .. "]")
end
