-- wrk script: POST one agent-format threat per request with a sensor API key.
-- The key comes from the environment (HONEYMAN_BENCH_KEY) and belongs to `bench-sensor`, the
-- sensor the body names (any other would be refused as spoofed); the body mirrors a deployed agent.
-- Each request's body differs (metadata.event_count: wrk thread and request number), so every
-- threat is new: since issue #11 a threat's id is made of its message, and one body posted over
-- and over would store once and measure only the skipping of repeats.
local key = os.getenv("HONEYMAN_BENCH_KEY")
local body = [[{"timestamp":"2026-08-08T14:03:27.512904","sensor_id":"bench-sensor","sensor_name":"DefCon-Portable","source":"BleDetector","threat_type":"flipper_zero","threat_score":0.82,"risk_level":"critical","threats_detected":["Flipper Zero BLE Detection","BLE Spam Burst"],"message":"Flipper Zero BLE Detection: device 'FZ-Unleashed' advertising fff0","raw_data":{"device_name":"FZ-Unleashed","mac_address":"80:E1:26:3A:11:9C","rssi":-58,"service_uuid":"fff0","manufacturer_id":76},"metadata":{"detector_version":"2.0.0","event_count":%d,"threat_count":17},"geolocation":{"lat":36.1147,"lon":-115.1728,"accuracy":35.0,"source":"wifi"},"city":"Las Vegas","country":"US"}]]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = key

local threads = 0
setup = function(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local sent = 0
request = function()
  sent = sent + 1
  return wrk.format(nil, nil, nil, string.format(body, (thread_number or 0) * 1000000000 + sent))
end
