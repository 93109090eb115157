// The API's shapes as the console uses them (docs/API.md). Only what the console reads is typed.
export type Role = "admin" | "analyst" | "viewer";
export type Severity = "critical" | "high" | "medium" | "low" | "info";
export type ThreatStatus = "new" | "acknowledged" | "investigating" | "resolved" | "false_positive";

export interface User {
  id: string;
  username: string;
  email: string | null;
  full_name: string | null;
  role: Role;
  is_active: boolean;
  is_verified: boolean;
  created_at: string;
  last_login: string | null;
}

export interface Token {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  expires_in: number;
}

export interface Threat {
  id: string;
  timestamp: string;
  sensor_id: string;
  threat_type: string;
  detector_type: string;
  severity: Severity;
  device_name: string | null;
  device_mac: string | null;
  device_ip: string | null;
  src_host: string | null;
  src_port: number | null;
  dst_host: string | null;
  dst_port: number | null;
  latitude: number | null;
  longitude: number | null;
  city: string | null;
  country: string | null;
  /** Strings (old agents) or objects such as {"name": ...}. */
  matched_rules: unknown[];
  acknowledgement_notes?: string | null;
  confidence: number | null;
  threat_score: number | null;
  raw_event: unknown;
  mitre_tactics: string[];
  mitre_techniques: string[];
  is_acknowledged: boolean;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  status: ThreatStatus;
  assignee: string | null;
  updated_at: string | null;
  created_at: string;
}

export interface ThreatPage {
  threats: Threat[];
  total: number;
  total_is_exact: boolean;
  page: number;
  page_size: number;
  next_cursor: string | null;
}

export interface HistoryEntry {
  at: string;
  actor: string;
  changes: Record<string, [unknown, unknown]>;
  note: string | null;
}

export interface Sensor {
  id: string;
  sensor_id: string;
  name: string;
  description: string | null;
  is_active: boolean;
  is_online: boolean;
  last_heartbeat: string | null;
  latitude: number | null;
  longitude: number | null;
  city: string | null;
  country: string | null;
  enabled_detectors: string[];
  platform: string | null;
  architecture: string | null;
  agent_version: string | null;
  total_threats_detected: number;
  threats_last_24h: number;
  created_at: string;
  updated_at: string | null;
  registered_at: string | null;
}

export interface SensorPage {
  sensors: Sensor[];
  total: number;
  page: number;
  page_size: number;
}

export interface SensorStats {
  sensor_id: string;
  total_threats: number;
  threats_last_24h: number;
  threats_last_7d: number;
  threats_by_severity: Record<string, number>;
  threats_by_detector: Record<string, number>;
  most_common_threat_type: string | null;
  last_threat_timestamp: string | null;
}

export interface Overview {
  total_sensors: number;
  active_sensors: number;
  online_sensors: number;
  total_threats: number;
  threats_last_24h: number;
  threats_last_7d: number;
  critical_threats: number;
  high_threats: number;
  threat_velocity: number;
  avg_threat_score: number | null;
}

export interface TrendPoint {
  timestamp: string;
  count: number;
  severity: Partial<Record<Severity, number>>;
}

export interface Trends {
  period: string;
  start_time: string;
  end_time: string;
  data_points: TrendPoint[];
}

export interface TopThreat {
  threat_type: string;
  count: number;
  percentage: number;
  severity: Severity;
}

export interface TopSensor {
  sensor_id: string;
  sensor_name: string | null;
  threat_count: number;
  city: string | null;
  country: string | null;
}

export interface MapPoint {
  sensor_id: string;
  latitude: number;
  longitude: number;
  city: string | null;
  country: string | null;
  threat_count: number;
  severity_breakdown: Partial<Record<Severity, number>>;
}

export interface Velocity {
  current_rate: number;
  avg_rate_24h: number;
  avg_rate_7d: number;
  peak_rate: number;
  peak_timestamp: string | null;
  trend: "increasing" | "decreasing" | "stable";
}

export interface OnboardingToken {
  token: string;
  sensor_name: string;
  expires_at: string;
  qr_code_url: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  actor_role: string;
  client_addr: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface UserPage {
  users: User[];
  total: number;
  page: number;
  page_size: number;
}

/** A threat as the live feed sends it (a subset of Threat). */
export interface LiveThreat {
  id: string;
  timestamp: string;
  sensor_id: string;
  threat_type: string;
  severity: Severity;
  detector_type: string;
  threat_score: number | null;
  device_name: string | null;
  latitude: number | null;
  longitude: number | null;
}

export type AlertStatus = "firing" | "acknowledged" | "resolved";

/** The threat that fired an alert; receivers (and the console) tolerate missing keys. */
export interface AlertSummary {
  threat_id?: string;
  severity?: Severity;
  threat_type?: string;
  detector_type?: string;
  sensor_id?: string;
  device_name?: string | null;
  threat_score?: number | null;
  timestamp?: string;
}

export interface Alert {
  id: string;
  rule_id: string;
  rule_name: string;
  fired_at: string;
  /** null for a fleet-wide rule. */
  sensor_id: string | null;
  threat_ids: string[];
  count: number;
  status: AlertStatus;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  summary: AlertSummary;
}

export interface AlertPage {
  alerts: Alert[];
  next_cursor: string | null;
}

export type DestinationKind = "webhook" | "slack" | "pagerduty" | "syslog";

/** Secrets (secret, routing_key) are write-only: has_secret says one is set. */
export interface AlertDestination {
  id: string;
  name: string;
  kind: DestinationKind;
  has_secret: boolean;
  url?: string;
  host?: string;
  port?: number;
  transport?: "udp" | "tcp" | "tls";
  format?: "cef" | "leef" | "json";
  ca_file?: string;
  created_at: string;
  updated_at: string;
}

export interface DestinationTest {
  ok: boolean;
  status: number;
  error: string | null;
}

export interface AlertMatch {
  min_severity?: Severity;
  detector_types?: string[];
  threat_types?: string[];
  sensor_ids?: string[];
  min_score?: number;
}

export interface AlertThreshold {
  count: number;
  window_seconds: number;
  per?: "sensor" | "fleet";
}

export interface AlertRule {
  id: string;
  name: string;
  enabled: boolean;
  match: AlertMatch;
  threshold: AlertThreshold | null;
  cooldown_seconds: number;
  destination_ids: string[];
  created_at: string;
  updated_at: string;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface Delivery {
  id: string;
  alert_id: string;
  destination_id: string;
  status: DeliveryStatus;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface DeliveryPage {
  deliveries: Delivery[];
  next_cursor: string | null;
}

export interface SensorCommand {
  id: string;
  sensor_id: string;
  kind: "command" | "rule_update";
  command: string;
  args: Record<string, unknown>;
  status: "sent" | "delivered" | "succeeded" | "failed";
  issued_at: string;
  issued_by: string;
  updated_at: string | null;
  message: string | null;
}

export type LiveMessage =
  | { type: "welcome"; message: string; version: string }
  | { type: "alert"; data: Alert; timestamp: string }
  | { type: "threat"; data: LiveThreat; timestamp: string }
  | { type: "threat_update"; data: Record<string, unknown> & { id?: string; bulk?: boolean }; timestamp: string }
  | { type: "sensor_status"; data: { sensor_id: string; is_online: boolean; last_heartbeat: string | null }; timestamp: string }
  | { type: "heartbeat"; timestamp: string; connections: number }
  | { type: "subscribed"; filter: unknown }
  | { type: "error"; detail: string }
  | { type: "echo"; data: unknown };

export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];
export const STATUSES: readonly ThreatStatus[] = ["new", "acknowledged", "investigating", "resolved", "false_positive"];
export const DETECTORS: readonly string[] = ["usb", "wifi", "ble", "network", "airdrop"];
export const ROLES: readonly Role[] = ["admin", "analyst", "viewer"];
