// The named schemas of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses it). They
// describe what domain::to_json and the handlers write; tests validate every response body the
// integration suites see against them (tests/openapi), so a field added to an answer and not
// here fails the suite.
#include "api/detail/openapi.hpp"

namespace honeyman::api::detail {

json::object component_schemas() {
  static const json::value schemas = json::parse(R"json({
  "Error": {
    "type": "object", "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "What went wrong, for people."}},
    "example": {"detail": "Not authenticated"}
  },
  "ValidationError": {
    "type": "object", "required": ["detail"],
    "description": "FastAPI's validation error list: one entry per problem found.",
    "properties": {"detail": {"type": "array", "items": {
      "type": "object", "required": ["loc", "msg", "type"],
      "properties": {
        "loc": {"type": "array", "items": {"type": ["string", "integer"]},
                "description": "Where: [\"body\"|\"query\"|\"path\", field, index, ...]"},
        "msg": {"type": "string"},
        "type": {"type": "string", "examples": ["missing", "int_parsing", "extra_forbidden"]}}}}},
    "example": {"detail": [{"loc": ["body", "threat_score"],
                            "msg": "Input should be less than or equal to 1", "type": "value_error"}]}
  },
  "Message": {
    "type": "object", "required": ["message"],
    "properties": {"message": {"type": "string"}}
  },
  "Timestamp": {
    "type": "string", "format": "date-time",
    "description": "RFC 3339 UTC with microseconds and Z.", "examples": ["2026-08-08T14:03:27.512904Z"]
  },
  "Severity": {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]},
  "SensorId": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$", "examples": ["rpi5-defcon-01"]},
  "SeverityCounts": {
    "type": "object", "required": ["critical", "high", "medium", "low", "info"],
    "properties": {"critical": {"type": "integer"}, "high": {"type": "integer"},
                   "medium": {"type": "integer"}, "low": {"type": "integer"},
                   "info": {"type": "integer"}}
  },
  "Health": {
    "type": "object", "required": ["status", "service", "version"],
    "properties": {"status": {"const": "ok"}, "service": {"const": "honeyman"},
                   "version": {"type": "string"}}
  },
  "Readiness": {
    "type": "object", "required": ["status", "checks"],
    "properties": {
      "status": {"type": "string", "enum": ["ready", "not_ready"]},
      "checks": {"type": "object", "required": ["store"],
                 "description": "\"ok\" or what is wrong, per dependency; mqtt and redis only when configured.",
                 "properties": {"store": {"type": "string"}, "mqtt": {"type": "string"},
                                "redis": {"type": "string"}},
                 "additionalProperties": false}},
    "additionalProperties": false
  },
  "User": {
    "type": "object",
    "required": ["id", "username", "email", "full_name", "role", "is_active", "is_verified",
                 "created_at", "last_login"],
    "properties": {
      "id": {"type": "string", "format": "uuid"},
      "username": {"type": "string"},
      "email": {"type": ["string", "null"]},
      "full_name": {"type": ["string", "null"]},
      "role": {"type": "string", "enum": ["admin", "analyst", "viewer"]},
      "is_active": {"type": "boolean"},
      "is_verified": {"type": "boolean"},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "last_login": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]}},
    "additionalProperties": false
  },
  "Token": {
    "type": "object", "required": ["access_token", "refresh_token", "token_type", "expires_in"],
    "properties": {
      "access_token": {"type": "string", "description": "JWT (HS256) for Authorization: Bearer."},
      "refresh_token": {"type": "string", "description": "Single use: POST /auth/refresh."},
      "token_type": {"const": "bearer"},
      "expires_in": {"type": "integer", "description": "Seconds until the access token expires."}},
    "additionalProperties": false
  },
  "LoginRequest": {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}},
    "example": {"username": "admin", "password": "change-me-please"}
  },
  "LoginResponse": {
    "type": "object", "required": ["user", "token"],
    "properties": {"user": {"$ref": "#/components/schemas/User"},
                   "token": {"$ref": "#/components/schemas/Token"}},
    "additionalProperties": false
  },
  "RefreshRequest": {
    "type": "object", "required": ["refresh_token"],
    "properties": {"refresh_token": {"type": "string"}}
  },
  "Sensor": {
    "type": "object",
    "required": ["id", "sensor_id", "name", "description", "is_active", "is_online",
                 "last_heartbeat", "latitude", "longitude", "location_method", "location_accuracy",
                 "city", "country", "enabled_detectors", "transport_protocol", "capabilities",
                 "platform", "architecture", "agent_version", "python_version",
                 "total_threats_detected", "threats_last_24h", "clock_skew_threats",
                 "last_clock_skew_seconds", "created_at", "updated_at", "registered_at"],
    "properties": {
      "id": {"type": "string", "format": "uuid"},
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "name": {"type": "string"},
      "description": {"type": ["string", "null"]},
      "is_active": {"type": "boolean"},
      "is_online": {"type": "boolean", "description": "Heard from within 3 heartbeat intervals."},
      "last_heartbeat": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
      "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
      "location_method": {"type": ["string", "null"]},
      "location_accuracy": {"type": ["number", "null"]},
      "city": {"type": ["string", "null"]},
      "country": {"type": ["string", "null"]},
      "enabled_detectors": {"type": "array", "items": {"type": "string"}},
      "transport_protocol": {"type": "string"},
      "capabilities": {"type": "object"},
      "platform": {"type": ["string", "null"]},
      "architecture": {"type": ["string", "null"]},
      "agent_version": {"type": ["string", "null"]},
      "python_version": {"type": ["string", "null"]},
      "total_threats_detected": {"type": "integer"},
      "threats_last_24h": {"type": "integer"},
      "clock_skew_threats": {"type": "integer"},
      "last_clock_skew_seconds": {"type": ["number", "null"]},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "updated_at": {"$ref": "#/components/schemas/Timestamp"},
      "registered_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]}},
    "additionalProperties": false
  },
  "SensorList": {
    "type": "object", "required": ["sensors", "total", "page", "page_size"],
    "properties": {"sensors": {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}},
                   "total": {"type": "integer"}, "page": {"type": "integer"},
                   "page_size": {"type": "integer"}},
    "additionalProperties": false
  },
  "SensorUpdate": {
    "type": "object", "description": "Partial update: only the fields given change; null clears a nullable one.",
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 128},
      "description": {"type": ["string", "null"]},
      "is_active": {"type": "boolean", "description": "false also disables the sensor's broker account"},
      "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
      "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
      "city": {"type": ["string", "null"]},
      "country": {"type": ["string", "null"]},
      "enabled_detectors": {"type": ["array", "null"], "items": {"type": "string"}}},
    "additionalProperties": false,
    "example": {"name": "Lobby sensor", "city": "Paris", "latitude": 48.85, "longitude": 2.35}
  },
  "SensorStats": {
    "type": "object",
    "required": ["sensor_id", "total_threats", "threats_last_24h", "threats_last_7d",
                 "threats_by_severity", "threats_by_detector", "most_common_threat_type",
                 "last_threat_timestamp"],
    "properties": {
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "total_threats": {"type": "integer"},
      "threats_last_24h": {"type": "integer"},
      "threats_last_7d": {"type": "integer"},
      "threats_by_severity": {"$ref": "#/components/schemas/SeverityCounts"},
      "threats_by_detector": {"type": "object", "additionalProperties": {"type": "integer"}},
      "most_common_threat_type": {"type": ["string", "null"]},
      "last_threat_timestamp": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]}},
    "additionalProperties": false
  },
  "Threat": {
    "type": "object",
    "required": ["id", "timestamp", "sensor_id", "threat_type", "detector_type", "severity",
                 "device_name", "device_mac", "device_ip", "src_host", "src_port", "dst_host",
                 "dst_port", "latitude", "longitude", "city", "country", "matched_rules",
                 "confidence", "threat_score", "raw_event", "mitre_tactics", "mitre_techniques",
                 "is_acknowledged", "acknowledged_at", "acknowledged_by", "acknowledgement_notes",
                 "status", "assignee", "created_at", "updated_at"],
    "properties": {
      "id": {"type": "string", "format": "uuid", "description": "Made of the sensor, the message's bytes and the threat's place in it: a retried message stores nothing twice."},
      "timestamp": {"$ref": "#/components/schemas/Timestamp"},
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "threat_type": {"type": "string"},
      "detector_type": {"type": "string", "examples": ["usb", "wifi", "ble", "network", "airdrop"]},
      "severity": {"$ref": "#/components/schemas/Severity"},
      "device_name": {"type": ["string", "null"]},
      "device_mac": {"type": ["string", "null"]},
      "device_ip": {"type": ["string", "null"]},
      "src_host": {"type": ["string", "null"]},
      "src_port": {"type": ["integer", "null"]},
      "dst_host": {"type": ["string", "null"]},
      "dst_port": {"type": ["integer", "null"]},
      "latitude": {"type": ["number", "null"]},
      "longitude": {"type": ["number", "null"]},
      "city": {"type": ["string", "null"]},
      "country": {"type": ["string", "null"]},
      "matched_rules": {"type": "array", "items": {"type": "object"}},
      "confidence": {"type": ["number", "null"]},
      "threat_score": {"type": "number", "minimum": 0, "maximum": 1},
      "raw_event": {"type": "object", "description": "The sensor's own event data, as sent."},
      "mitre_tactics": {"type": "array", "items": {"type": "string"}},
      "mitre_techniques": {"type": "array", "items": {"type": "string"}},
      "is_acknowledged": {"type": "boolean"},
      "acknowledged_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "acknowledged_by": {"type": ["string", "null"]},
      "acknowledgement_notes": {"type": ["string", "null"]},
      "status": {"$ref": "#/components/schemas/ThreatStatus"},
      "assignee": {"type": ["string", "null"], "description": "The username working on it."},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "updated_at": {"$ref": "#/components/schemas/Timestamp", "description": "The last triage change; created_at until then."}},
    "additionalProperties": false
  },
  "ThreatStatus": {
    "type": "string", "enum": ["new", "acknowledged", "investigating", "resolved", "false_positive"],
    "description": "is_acknowledged is true exactly when the status is not new."
  },
  "ThreatUpdate": {
    "type": "object", "minProperties": 1,
    "properties": {
      "status": {"$ref": "#/components/schemas/ThreatStatus"},
      "assignee": {"type": ["string", "null"], "description": "An active user's name; null unassigns."},
      "note": {"type": "string", "maxLength": 4096, "description": "Kept in the history."}},
    "additionalProperties": false,
    "example": {"status": "investigating", "assignee": "ana", "note": "taking this one"}
  },
  "HistoryEntry": {
    "type": "object", "required": ["at", "actor", "changes", "note"],
    "properties": {
      "at": {"$ref": "#/components/schemas/Timestamp"},
      "actor": {"type": "string"},
      "changes": {"type": "object", "description": "field: [old, new]",
                  "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}},
      "note": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "ThreatFilter": {
    "type": "object",
    "description": "The list query's filters (GET /threats), as JSON.",
    "properties": {
      "sensor_id": {"type": "array", "items": {"$ref": "#/components/schemas/SensorId"}},
      "detector_type": {"type": "array", "items": {"type": "string"}},
      "threat_type": {"type": "array", "items": {"type": "string"}},
      "severity": {"type": "array", "items": {"$ref": "#/components/schemas/Severity"}},
      "status": {"type": "array", "items": {"$ref": "#/components/schemas/ThreatStatus"}},
      "assignee": {"type": "string", "description": "A username; the empty string: unassigned."},
      "start_time": {"type": "string"}, "end_time": {"type": "string"},
      "is_acknowledged": {"type": "boolean"}},
    "additionalProperties": false
  },
  "BulkThreatUpdate": {
    "type": "object", "required": ["set"],
    "properties": {
      "ids": {"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "string", "format": "uuid"}},
      "filter": {"$ref": "#/components/schemas/ThreatFilter"},
      "set": {"type": "object", "minProperties": 1,
              "properties": {"status": {"$ref": "#/components/schemas/ThreatStatus"},
                             "assignee": {"type": ["string", "null"]}},
              "additionalProperties": false},
      "note": {"type": "string", "maxLength": 4096}},
    "additionalProperties": false,
    "example": {"filter": {"sensor_id": ["rpi5-defcon-01"], "status": ["new"]},
                "set": {"status": "false_positive"}, "note": "lab noise"}
  },
  "BulkResult": {
    "type": "object", "required": ["matched", "changed"],
    "properties": {"matched": {"type": "integer"}, "changed": {"type": "integer"}},
    "additionalProperties": false
  },
  "UserList": {
    "type": "object", "required": ["users", "total", "page", "page_size"],
    "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                   "total": {"type": "integer"}, "page": {"type": "integer"},
                   "page_size": {"type": "integer"}},
    "additionalProperties": false
  },
  "UserCreate": {
    "type": "object", "required": ["username", "role", "password"],
    "properties": {
      "username": {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"},
      "email": {"type": ["string", "null"], "maxLength": 256},
      "full_name": {"type": ["string", "null"], "maxLength": 256},
      "role": {"type": "string", "enum": ["admin", "analyst", "viewer"]},
      "password": {"type": "string", "minLength": 8, "maxLength": 1024}},
    "additionalProperties": false,
    "example": {"username": "ana", "role": "analyst", "password": "correct horse battery"}
  },
  "UserUpdate": {
    "type": "object", "minProperties": 1,
    "properties": {
      "role": {"type": "string", "enum": ["admin", "analyst", "viewer"]},
      "is_active": {"type": "boolean"},
      "email": {"type": ["string", "null"], "maxLength": 256},
      "full_name": {"type": ["string", "null"], "maxLength": 256}},
    "additionalProperties": false
  },
  "PasswordReset": {
    "type": "object", "required": ["password"],
    "properties": {"password": {"type": "string", "minLength": 8, "maxLength": 1024}},
    "additionalProperties": false
  },
  "PasswordChange": {
    "type": "object", "required": ["current_password", "new_password"],
    "properties": {"current_password": {"type": "string", "maxLength": 1024},
                   "new_password": {"type": "string", "minLength": 8, "maxLength": 1024}},
    "additionalProperties": false
  },
  "AuditEntry": {
    "type": "object",
    "required": ["id", "at", "actor", "actor_role", "client_addr", "action", "target_type",
                 "target_id", "details"],
    "properties": {
      "id": {"type": "integer"},
      "at": {"$ref": "#/components/schemas/Timestamp"},
      "actor": {"type": "string", "description": "A username, cli:<os user>, a sensor id, or the name a failed login gave."},
      "actor_role": {"type": "string", "enum": ["admin", "analyst", "viewer", "cli", "sensor", "anonymous"]},
      "client_addr": {"type": ["string", "null"]},
      "action": {"type": "string", "examples": ["threat.update", "user.create", "auth.login_failed"]},
      "target_type": {"type": "string"},
      "target_id": {"type": ["string", "null"]},
      "details": {"type": "object"}},
    "additionalProperties": false
  },
  "AuditList": {
    "type": "object", "required": ["entries", "next_cursor"],
    "properties": {"entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                   "next_cursor": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "ThreatList": {
    "type": "object",
    "required": ["threats", "total", "total_is_exact", "page", "page_size", "next_cursor"],
    "properties": {
      "threats": {"type": "array", "items": {"$ref": "#/components/schemas/Threat"}},
      "total": {"type": "integer"},
      "total_is_exact": {"type": "boolean", "description": "false: total is a lower bound (rows counted up to 10,000)."},
      "page": {"type": "integer"},
      "page_size": {"type": "integer"},
      "next_cursor": {"type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last one."}},
    "additionalProperties": false
  },
  "CanonicalThreat": {
    "type": "object", "required": ["threat_type", "detector_type", "severity"],
    "description": "A threat in the dashboard's own format (SPEC §5).",
    "properties": {
      "timestamp": {"type": "string", "description": "RFC 3339; no offset means UTC. Default: receipt time."},
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "threat_type": {"type": "string", "maxLength": 64},
      "detector_type": {"type": "string", "maxLength": 64},
      "severity": {"$ref": "#/components/schemas/Severity"},
      "threat_score": {"type": "number", "minimum": 0, "maximum": 1},
      "confidence": {"type": "number", "minimum": 0, "maximum": 1},
      "device_name": {"type": "string"}, "device_mac": {"type": "string"},
      "device_ip": {"type": "string"}, "src_host": {"type": "string"},
      "src_port": {"type": "integer", "minimum": 0, "maximum": 65535},
      "dst_host": {"type": "string"},
      "dst_port": {"type": "integer", "minimum": 0, "maximum": 65535},
      "latitude": {"type": "number", "minimum": -90, "maximum": 90},
      "longitude": {"type": "number", "minimum": -180, "maximum": 180},
      "city": {"type": "string"}, "country": {"type": "string"},
      "matched_rules": {"type": "array", "items": {"type": ["object", "string"]}},
      "raw_event": {"type": "object"},
      "mitre_tactics": {"type": "array", "items": {"type": "string"}},
      "mitre_techniques": {"type": "array", "items": {"type": "string"}}}
  },
  "AgentThreat": {
    "type": "object", "required": ["threat_type", "source", "risk_level"],
    "description": "A threat as the field agent sends it: source -> detector_type, risk_level -> severity, raw_data -> raw_event, threats_detected -> matched_rules, geolocation -> latitude/longitude.",
    "properties": {
      "timestamp": {"type": "string"}, "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "sensor_name": {"type": "string"},
      "source": {"type": "string", "examples": ["BleDetector", "UsbDetector", "WifiDetector", "NetworkDetector", "AirDropDetector"]},
      "threat_type": {"type": "string"}, "threat_score": {"type": "number", "minimum": 0, "maximum": 1},
      "risk_level": {"$ref": "#/components/schemas/Severity"},
      "threats_detected": {"type": "array", "items": {"type": "string"}},
      "message": {"type": "string"}, "raw_data": {"type": "object"}, "metadata": {"type": "object"},
      "geolocation": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                      "accuracy": {"type": "number"}, "source": {"type": "string"}}},
      "city": {"type": "string"}, "country": {"type": "string"}}
  },
  "ThreatInput": {
    "oneOf": [{"$ref": "#/components/schemas/CanonicalThreat"},
              {"$ref": "#/components/schemas/AgentThreat"}]
  },
  "HoneypotData": {
    "type": "object", "required": ["type", "data"],
    "properties": {"type": {"const": "threats"},
                   "honeypot_id": {"$ref": "#/components/schemas/SensorId"},
                   "data": {"type": "array", "minItems": 1, "maxItems": 1000,
                            "items": {"$ref": "#/components/schemas/ThreatInput"}}},
    "additionalProperties": false
  },
  "HoneypotAccepted": {
    "type": "object", "required": ["status", "accepted", "message"],
    "properties": {"status": {"type": "string"}, "accepted": {"type": "integer"},
                   "message": {"type": "string"}},
    "additionalProperties": false
  },
  "AcknowledgeRequest": {
    "type": "object",
    "properties": {"notes": {"type": ["string", "null"], "maxLength": 2000}},
    "example": {"notes": "Known test device, ticket SOC-1432"}
  },
  "OnboardingTokenRequest": {
    "type": "object", "required": ["sensor_name"],
    "properties": {"sensor_name": {"type": "string", "minLength": 1, "maxLength": 128},
                   "description": {"type": ["string", "null"]},
                   "validity_hours": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24}},
    "additionalProperties": false,
    "example": {"sensor_name": "Lobby sensor", "validity_hours": 24}
  },
  "OnboardingToken": {
    "type": "object", "required": ["token", "sensor_name", "description", "expires_at", "qr_code_url"],
    "properties": {"token": {"type": "string", "description": "Shown once; works once."},
                   "sensor_name": {"type": "string"},
                   "description": {"type": ["string", "null"]},
                   "expires_at": {"$ref": "#/components/schemas/Timestamp"},
                   "qr_code_url": {"type": "string", "format": "uri"}},
    "additionalProperties": false
  },
  "RegistrationRequest": {
    "type": "object", "required": ["onboarding_token", "sensor_id"],
    "properties": {
      "onboarding_token": {"type": "string"},
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "capabilities": {"type": "object"},
      "platform": {"type": "string"}, "architecture": {"type": "string"},
      "agent_version": {"type": "string"}, "python_version": {"type": "string"},
      "location": {"type": "object", "required": ["latitude", "longitude"],
                   "properties": {"latitude": {"type": "number", "minimum": -90, "maximum": 90},
                                  "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                                  "accuracy": {"type": "number"}, "method": {"type": "string"},
                                  "city": {"type": "string"}, "country": {"type": "string"}},
                   "additionalProperties": false}},
    "additionalProperties": false
  },
  "Registration": {
    "type": "object",
    "required": ["sensor_id", "mqtt_broker", "mqtt_port", "mqtt_username", "mqtt_password",
                 "mqtt_use_tls", "mqtt_topics", "api_endpoint", "fallback_http_url", "api_key"],
    "description": "The sensor's credentials, shown once. mqtt_* are null when the server has no MQTT broker.",
    "properties": {
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "mqtt_broker": {"type": ["string", "null"]},
      "mqtt_port": {"type": ["integer", "null"]},
      "mqtt_username": {"type": ["string", "null"]},
      "mqtt_password": {"type": ["string", "null"]},
      "mqtt_use_tls": {"type": "boolean"},
      "mqtt_topics": {"type": "object", "required": ["threats", "heartbeat", "status", "control", "commands"],
                      "properties": {"threats": {"type": "string"}, "heartbeat": {"type": "string"},
                                     "status": {"type": "string"}, "control": {"type": "string"},
                                     "commands": {"type": "string"}},
                      "additionalProperties": false},
      "api_endpoint": {"type": "string", "format": "uri"},
      "fallback_http_url": {"type": "string", "format": "uri"},
      "api_key": {"type": "string", "description": "For X-API-Key on the HTTP fallback."}},
    "additionalProperties": false
  },
  "AgentHeartbeat": {
    "type": "object", "description": "The field agent's heartbeat.",
    "properties": {
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "timestamp": {"type": "string", "description": "RFC 3339; no offset means UTC"},
      "status": {"type": "string", "enum": ["online", "offline"]},
      "metrics": {"type": "object", "properties": {"cpu_percent": {"type": "number"},
                  "memory_percent": {"type": "number"}, "disk_percent": {"type": "number"}}},
      "detectors": {"type": "object", "maxProperties": 64, "additionalProperties": {
        "type": "object", "properties": {"running": {"type": "boolean"},
                                         "event_count": {"type": "integer"},
                                         "threat_count": {"type": "integer"}}}},
      "uptime": {"type": "number", "minimum": 0}},
    "additionalProperties": false
  },
  "CanonicalHeartbeat": {
    "type": "object", "description": "The dashboard's own heartbeat format.",
    "properties": {
      "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "timestamp": {"type": "string"},
      "is_online": {"type": "boolean"},
      "enabled_detectors": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}},
      "system_info": {"type": "object"},
      "location": {"type": "object", "properties": {
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "method": {"type": "string"}, "accuracy": {"type": "number", "minimum": 0}},
        "additionalProperties": false}},
    "additionalProperties": false
  },
  "Heartbeat": {
    "anyOf": [{"$ref": "#/components/schemas/AgentHeartbeat"},
              {"$ref": "#/components/schemas/CanonicalHeartbeat"}]
  },
  "Overview": {
    "type": "object",
    "required": ["total_sensors", "active_sensors", "online_sensors", "total_threats",
                 "threats_last_24h", "threats_last_7d", "critical_threats", "high_threats",
                 "threat_velocity", "avg_threat_score"],
    "properties": {"total_sensors": {"type": "integer"}, "active_sensors": {"type": "integer"},
                   "online_sensors": {"type": "integer"}, "total_threats": {"type": "integer"},
                   "threats_last_24h": {"type": "integer"}, "threats_last_7d": {"type": "integer"},
                   "critical_threats": {"type": "integer"}, "high_threats": {"type": "integer"},
                   "threat_velocity": {"type": "number"}, "avg_threat_score": {"type": "number"}},
    "additionalProperties": false
  },
  "Trends": {
    "type": "object", "required": ["period", "start_time", "end_time", "data_points"],
    "properties": {
      "period": {"type": "string", "enum": ["hourly", "daily", "weekly"]},
      "start_time": {"$ref": "#/components/schemas/Timestamp"},
      "end_time": {"$ref": "#/components/schemas/Timestamp"},
      "data_points": {"type": "array", "items": {
        "type": "object", "required": ["timestamp", "count", "severity"],
        "properties": {"timestamp": {"$ref": "#/components/schemas/Timestamp"},
                       "count": {"type": "integer"},
                       "severity": {"$ref": "#/components/schemas/SeverityCounts"}},
        "additionalProperties": false}}},
    "additionalProperties": false
  },
  "TopThreat": {
    "type": "object", "required": ["threat_type", "count", "percentage", "severity"],
    "properties": {"threat_type": {"type": "string"}, "count": {"type": "integer"},
                   "percentage": {"type": "number"}, "severity": {"$ref": "#/components/schemas/Severity"}},
    "additionalProperties": false
  },
  "TopSensor": {
    "type": "object", "required": ["sensor_id", "sensor_name", "threat_count", "city", "country"],
    "properties": {"sensor_id": {"$ref": "#/components/schemas/SensorId"},
                   "sensor_name": {"type": ["string", "null"]}, "threat_count": {"type": "integer"},
                   "city": {"type": ["string", "null"]}, "country": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "MapPoint": {
    "type": "object",
    "required": ["sensor_id", "latitude", "longitude", "city", "country", "threat_count", "severity_breakdown"],
    "properties": {"sensor_id": {"$ref": "#/components/schemas/SensorId"},
                   "latitude": {"type": "number"}, "longitude": {"type": "number"},
                   "city": {"type": ["string", "null"]}, "country": {"type": ["string", "null"]},
                   "threat_count": {"type": "integer"},
                   "severity_breakdown": {"$ref": "#/components/schemas/SeverityCounts"}},
    "additionalProperties": false
  },
  "Velocity": {
    "type": "object",
    "required": ["current_rate", "avg_rate_24h", "avg_rate_7d", "peak_rate", "peak_timestamp", "trend"],
    "properties": {"current_rate": {"type": "number"}, "avg_rate_24h": {"type": "number"},
                   "avg_rate_7d": {"type": "number"}, "peak_rate": {"type": "number"},
                   "peak_timestamp": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
                   "trend": {"type": "string", "enum": ["increasing", "decreasing", "stable"]}},
    "additionalProperties": false
  },
  "AlertDestination": {
    "type": "object", "required": ["id", "name", "kind", "has_secret", "created_at", "updated_at"],
    "description": "Secrets (secret, routing_key) are write-only: has_secret says one is set.",
    "properties": {
      "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
      "kind": {"type": "string", "enum": ["webhook", "slack", "pagerduty", "syslog"]},
      "has_secret": {"type": "boolean"},
      "url": {"type": "string"}, "host": {"type": "string"},
      "port": {"type": "integer", "minimum": 1, "maximum": 65535},
      "transport": {"type": "string", "enum": ["udp", "tcp", "tls"]},
      "format": {"type": "string", "enum": ["cef", "leef", "json"]},
      "ca_file": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "updated_at": {"$ref": "#/components/schemas/Timestamp"}},
    "additionalProperties": false
  },
  "AlertDestinationInput": {
    "type": "object",
    "description": "webhook: url (+ secret for X-Honeyman-Signature); slack: url; pagerduty: routing_key (url defaults to PagerDuty's Events v2 endpoint); syslog: host, port (514), transport (udp), format (cef). PATCH: only the members given change.",
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 128},
      "kind": {"type": "string", "enum": ["webhook", "slack", "pagerduty", "syslog"]},
      "url": {"type": "string", "format": "uri", "maxLength": 2048},
      "secret": {"type": "string", "maxLength": 512, "writeOnly": true},
      "routing_key": {"type": "string", "maxLength": 128, "writeOnly": true},
      "host": {"type": "string", "maxLength": 253},
      "port": {"type": "integer", "minimum": 1, "maximum": 65535},
      "transport": {"type": "string", "enum": ["udp", "tcp", "tls"]},
      "format": {"type": "string", "enum": ["cef", "leef", "json"]},
      "ca_file": {"type": "string", "maxLength": 4096, "description": "syslog over TLS: a PEM CA file on the server's machine (default: the system's trust store)."}},
    "additionalProperties": false,
    "example": {"name": "SOC webhook", "kind": "webhook", "url": "https://soc.example.org/hooks/honeyman", "secret": "change-me"}
  },
  "AlertDestinationList": {
    "type": "object", "required": ["destinations"],
    "properties": {"destinations": {"type": "array", "items": {"$ref": "#/components/schemas/AlertDestination"}}},
    "additionalProperties": false
  },
  "DestinationTest": {
    "type": "object", "required": ["ok", "status", "error"],
    "properties": {"ok": {"type": "boolean"},
                   "status": {"type": "integer", "description": "The destination's HTTP status (200 for a syslog send); 0: no answer."},
                   "error": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "AlertMatch": {
    "type": "object",
    "properties": {
      "min_severity": {"$ref": "#/components/schemas/Severity"},
      "detector_types": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
      "threat_types": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
      "sensor_ids": {"type": "array", "items": {"$ref": "#/components/schemas/SensorId"}, "maxItems": 100},
      "min_score": {"type": "number", "minimum": 0, "maximum": 1}},
    "additionalProperties": false
  },
  "AlertThreshold": {
    "type": "object", "required": ["count", "window_seconds"],
    "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 10000},
                   "window_seconds": {"type": "integer", "minimum": 1, "maximum": 604800},
                   "per": {"type": "string", "enum": ["sensor", "fleet"], "default": "sensor"}},
    "additionalProperties": false
  },
  "AlertRule": {
    "type": "object",
    "required": ["id", "name", "enabled", "match", "threshold", "cooldown_seconds", "destination_ids", "created_at", "updated_at"],
    "properties": {
      "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
      "enabled": {"type": "boolean"},
      "match": {"$ref": "#/components/schemas/AlertMatch"},
      "threshold": {"anyOf": [{"$ref": "#/components/schemas/AlertThreshold"}, {"type": "null"}]},
      "cooldown_seconds": {"type": "integer"},
      "destination_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "updated_at": {"$ref": "#/components/schemas/Timestamp"}},
    "additionalProperties": false
  },
  "AlertRuleInput": {
    "type": "object",
    "description": "POST: name, match and destination_ids required. PATCH: only the members given change.",
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 128},
      "enabled": {"type": "boolean", "default": true},
      "match": {"$ref": "#/components/schemas/AlertMatch"},
      "threshold": {"anyOf": [{"$ref": "#/components/schemas/AlertThreshold"}, {"type": "null"}]},
      "cooldown_seconds": {"type": "integer", "minimum": 0, "maximum": 604800, "default": 0},
      "destination_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 100}},
    "additionalProperties": false,
    "example": {"name": "Flipper Zero at night", "match": {"min_severity": "critical", "detector_types": ["ble"]},
                "threshold": {"count": 3, "window_seconds": 300, "per": "sensor"}, "cooldown_seconds": 900,
                "destination_ids": ["0193a5f2-7c1e-7d3a-9b2e-1f4c5d6e7f80"]}
  },
  "AlertRuleList": {
    "type": "object", "required": ["rules"],
    "properties": {"rules": {"type": "array", "items": {"$ref": "#/components/schemas/AlertRule"}}},
    "additionalProperties": false
  },
  "Alert": {
    "type": "object",
    "required": ["id", "rule_id", "rule_name", "fired_at", "sensor_id", "threat_ids", "count", "status", "acknowledged_by", "acknowledged_at", "summary"],
    "properties": {
      "id": {"type": "string", "format": "uuid"}, "rule_id": {"type": "string"},
      "rule_name": {"type": "string"}, "fired_at": {"$ref": "#/components/schemas/Timestamp"},
      "sensor_id": {"type": ["string", "null"], "description": "null for fleet-wide rules."},
      "threat_ids": {"type": "array", "items": {"type": "string"}},
      "count": {"type": "integer"},
      "status": {"type": "string", "enum": ["firing", "acknowledged", "resolved"]},
      "acknowledged_by": {"type": ["string", "null"]},
      "acknowledged_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "summary": {"type": "object", "description": "The threat that fired it: threat_id, severity, threat_type, detector_type, sensor_id, threat_score, timestamp, device_name."}},
    "additionalProperties": false
  },
  "AlertList": {
    "type": "object", "required": ["alerts", "next_cursor"],
    "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                   "next_cursor": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "Delivery": {
    "type": "object",
    "required": ["id", "alert_id", "destination_id", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "last_error"],
    "properties": {
      "id": {"type": "string", "format": "uuid", "description": "Sent as X-Honeyman-Delivery (the same on every retry)."},
      "alert_id": {"type": "string"}, "destination_id": {"type": "string"},
      "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
      "attempts": {"type": "integer"},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "next_attempt_at": {"$ref": "#/components/schemas/Timestamp"},
      "delivered_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "last_error": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "DeliveryList": {
    "type": "object", "required": ["deliveries", "next_cursor"],
    "properties": {"deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
                   "next_cursor": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "CommandInput": {
    "type": "object", "required": ["command"],
    "properties": {"command": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_.:-]+$"},
                   "args": {"type": "object", "description": "Passed to the agent as given (at most 16 KiB as JSON)."}},
    "additionalProperties": false,
    "example": {"command": "restart_detector", "args": {"detector": "ble"}}
  },
  "RuleUpdateInput": {
    "type": "object",
    "properties": {"rules_version": {"type": "string", "maxLength": 64},
                   "url": {"type": "string", "format": "uri", "maxLength": 2048}},
    "additionalProperties": false
  },
  "CommandSent": {
    "type": "object", "required": ["id", "status"],
    "properties": {"id": {"type": "string", "format": "uuid"}, "status": {"const": "sent"}},
    "additionalProperties": false
  },
  "SensorCommand": {
    "type": "object",
    "required": ["id", "sensor_id", "kind", "command", "args", "status", "issued_at", "issued_by", "updated_at", "message"],
    "properties": {
      "id": {"type": "string", "format": "uuid"}, "sensor_id": {"$ref": "#/components/schemas/SensorId"},
      "kind": {"type": "string", "enum": ["command", "rule_update"]},
      "command": {"type": "string"}, "args": {"type": "object"},
      "status": {"type": "string", "enum": ["sent", "delivered", "succeeded", "failed"]},
      "issued_at": {"$ref": "#/components/schemas/Timestamp"}, "issued_by": {"type": "string"},
      "updated_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "message": {"type": ["string", "null"]}},
    "additionalProperties": false
  },
  "SensorCommandList": {
    "type": "object", "required": ["commands"],
    "properties": {"commands": {"type": "array", "items": {"$ref": "#/components/schemas/SensorCommand"}}},
    "additionalProperties": false
  }
})json");
  return schemas.as_object();
}

}  // namespace honeyman::api::detail
