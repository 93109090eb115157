// Alerting in the console, the parts without React: the alerts page's view in the URL, live
// alerts merged into a page, the navigation's unacknowledged count, and the admin forms turned
// into API bodies (docs/ALERTING.md) with the problems the API would refuse found first.
import { ApiError } from "./api";
import { SEVERITIES, type Alert, type AlertPage, type AlertRule, type AlertStatus, type DestinationKind, type Severity } from "./types";

export const ALERT_STATUSES: readonly AlertStatus[] = ["firing", "acknowledged", "resolved"];
export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export const ALERT_TABS = ["alerts", "rules", "destinations", "outbox"] as const;
export type AlertTab = (typeof ALERT_TABS)[number];

export interface AlertView {
  tab: AlertTab;
  /** The fired alerts' status filter, "" for every status. */
  status: AlertStatus | "";
  /** The outbox's status filter. */
  delivery: (typeof DELIVERY_STATUSES)[number] | "";
  cursor: string;
}

const CURSOR = /^[A-Za-z0-9_=.:+/-]{1,512}$/;

/** The view a query string names; unknown values fall back to the defaults. */
export function parseAlertView(p: URLSearchParams): AlertView {
  const tab = p.get("tab") ?? "";
  const status = p.get("status") ?? "";
  const delivery = p.get("delivery") ?? "";
  const cursor = p.get("cursor") ?? "";
  return {
    tab: (ALERT_TABS as readonly string[]).includes(tab) ? (tab as AlertTab) : "alerts",
    status: (ALERT_STATUSES as readonly string[]).includes(status) ? (status as AlertStatus) : "",
    delivery: (DELIVERY_STATUSES as readonly string[]).includes(delivery) ? (delivery as AlertView["delivery"]) : "",
    cursor: CURSOR.test(cursor) ? cursor : "",
  };
}

/** The URL of a view; defaults are left out, so parseAlertView(alertViewHref(v)) = v. */
export function alertViewHref(v: AlertView): string {
  const p = new URLSearchParams();
  if (v.tab !== "alerts") p.set("tab", v.tab);
  if (v.status) p.set("status", v.status);
  if (v.delivery) p.set("delivery", v.delivery);
  if (v.cursor) p.set("cursor", v.cursor);
  const t = p.toString();
  return "/alerts" + (t ? "?" + t : "");
}

/**
 * A live alert put in front of the rows shown (newest first) when it belongs there: on the first
 * page, passing the status filter, not already listed. Returns the same array when nothing changes.
 */
export function prependLive(rows: readonly Alert[], alert: Alert, view: Pick<AlertView, "status" | "cursor">, max = 200): readonly Alert[] {
  if (view.cursor) return rows;
  if (view.status && alert.status !== view.status) return rows;
  if (rows.some((r) => r.id === alert.id)) return rows;
  return [alert, ...rows].slice(0, max);
}

/**
 * The navigation's count of unacknowledged (firing) alerts: the firing ones of the first page read
 * when the console loads, plus those that arrived live since, minus those acknowledged here or seen
 * acknowledged in a page read later. Acknowledgements made elsewhere reach it only through such a
 * page (the live feed does not announce them). When the first page had more, the count is a floor
 * and says so ("50+").
 */
export class AlertBadge {
  private readonly firing = new Set<string>();
  private more = false;
  private readonly listeners = new Set<() => void>();

  /** The first page of GET /alerts?status=firing. */
  seed(page: AlertPage): void {
    this.more = page.next_cursor !== null;
    this.observe(page.alerts);
  }

  /** Alerts read or received: firing ones count, others (acknowledged meanwhile) stop counting. */
  observe(alerts: readonly Pick<Alert, "id" | "status">[]): void {
    let changed = false;
    for (const a of alerts) {
      if (a.status === "firing" && !this.firing.has(a.id)) {
        this.firing.add(a.id);
        changed = true;
      } else if (a.status !== "firing" && this.firing.delete(a.id)) {
        changed = true;
      }
    }
    if (changed) this.notify();
  }

  acknowledged(id: string): void {
    if (this.firing.delete(id)) this.notify();
  }

  get count(): number {
    return this.firing.size;
  }

  /** "" when nothing is known to be firing, else the count ("50+" when it is a floor). */
  get label(): string {
    if (this.firing.size === 0) return "";
    return `${this.firing.size}${this.more ? "+" : ""}`;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify() {
    for (const l of this.listeners) l();
  }
}

// --- Forms → bodies

/** Field errors keyed by the body's path ("name", "match.min_score", "threshold.count"). */
export type FieldErrors = Record<string, string>;

/**
 * The API's 422 per-field errors (loc ["body", "match", "min_score"]) keyed as the forms key them;
 * an error about one value of a list (["body", "match", "sensor_ids", "1"]) goes to the list's
 * field and names the value's position.
 */
export function apiFieldErrors(error: unknown): FieldErrors {
  const out: FieldErrors = {};
  if (!(error instanceof ApiError)) return out;
  for (const f of error.fields) {
    const loc = f.loc.filter((l, i) => !(i === 0 && (l === "body" || l === "query"))).map(String);
    const index = loc.findIndex((l) => /^\d+$/.test(l));
    const path = (index < 0 ? loc : loc.slice(0, index)).join(".");
    const msg = index < 0 ? f.msg : `${f.msg} (value ${Number(loc[index]) + 1})`;
    if (path && !out[path]) out[path] = msg;
  }
  return out;
}

/** "ble, usb ,, wifi" → ["ble", "usb", "wifi"] (order kept, duplicates and blanks dropped). */
export function splitList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[,\n]/)) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

export interface RuleForm {
  name: string;
  enabled: boolean;
  min_severity: Severity | "";
  detector_types: string;
  threat_types: string;
  sensor_ids: string;
  min_score: string;
  use_threshold: boolean;
  count: string;
  window_seconds: string;
  per: "sensor" | "fleet";
  cooldown_seconds: string;
  destination_ids: string[];
}

export const EMPTY_RULE_FORM: RuleForm = {
  name: "",
  enabled: true,
  min_severity: "",
  detector_types: "",
  threat_types: "",
  sensor_ids: "",
  min_score: "",
  use_threshold: false,
  count: "3",
  window_seconds: "300",
  per: "sensor",
  cooldown_seconds: "0",
  destination_ids: [],
};

export function ruleForm(rule: AlertRule): RuleForm {
  const m = rule.match ?? {};
  return {
    name: rule.name,
    enabled: rule.enabled,
    min_severity: m.min_severity ?? "",
    detector_types: (m.detector_types ?? []).join(", "),
    threat_types: (m.threat_types ?? []).join(", "),
    sensor_ids: (m.sensor_ids ?? []).join(", "),
    min_score: m.min_score === undefined ? "" : String(m.min_score),
    use_threshold: rule.threshold !== null,
    count: String(rule.threshold?.count ?? 3),
    window_seconds: String(rule.threshold?.window_seconds ?? 300),
    per: rule.threshold?.per ?? "sensor",
    cooldown_seconds: String(rule.cooldown_seconds),
    destination_ids: [...rule.destination_ids],
  };
}

function integerIn(text: string, min: number, max: number): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= min && n <= max ? n : null;
}

/**
 * The body of POST /alerts/rules (and of a PATCH: every member given, so the rule becomes what the
 * form shows), or the fields the API would refuse. Empty lists and blank fields are left out of
 * the match: an empty match matches every threat.
 */
export function ruleBody(f: RuleForm): { body: Record<string, unknown> } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = f.name.trim();
  if (!name) errors.name = "A name is needed";
  else if (name.length > 128) errors.name = "At most 128 characters";
  const match: Record<string, unknown> = {};
  if (f.min_severity) match.min_severity = f.min_severity;
  for (const key of ["detector_types", "threat_types", "sensor_ids"] as const) {
    const list = splitList(f[key]);
    if (list.length > 100) errors[`match.${key}`] = "At most 100 values";
    if (list.length) match[key] = list;
  }
  if (f.min_score.trim() !== "") {
    const score = Number(f.min_score.trim());
    if (!Number.isFinite(score) || score < 0 || score > 1) errors["match.min_score"] = "A number from 0 to 1";
    else match.min_score = score;
  }
  let threshold: Record<string, unknown> | null = null;
  if (f.use_threshold) {
    const count = integerIn(f.count, 1, 10_000);
    const window = integerIn(f.window_seconds, 1, 604_800);
    if (count === null) errors["threshold.count"] = "A whole number from 1 to 10,000";
    if (window === null) errors["threshold.window_seconds"] = "Seconds, from 1 to 604,800 (7 days)";
    threshold = { count, window_seconds: window, per: f.per };
  }
  const cooldown = integerIn(f.cooldown_seconds.trim() === "" ? "0" : f.cooldown_seconds, 0, 604_800);
  if (cooldown === null) errors.cooldown_seconds = "Seconds, from 0 to 604,800 (7 days)";
  if (f.destination_ids.length > 100) errors.destination_ids = "At most 100 destinations";
  if (Object.keys(errors).length) return { errors };
  return { body: { name, enabled: f.enabled, match, threshold, cooldown_seconds: cooldown, destination_ids: [...f.destination_ids] } };
}

/** One line for a rule's match and threshold: "≥ critical · ble · 3 in 5 min per sensor". */
export function describeRule(rule: Pick<AlertRule, "match" | "threshold" | "cooldown_seconds">): string {
  const m = rule.match ?? {};
  const parts: string[] = [];
  if (m.min_severity) parts.push(m.min_severity === "info" ? "any severity" : `${m.min_severity}${m.min_severity === "critical" ? "" : " or graver"}`);
  if (m.detector_types?.length) parts.push(`detector ${m.detector_types.join("/")}`);
  if (m.threat_types?.length) parts.push(`type ${m.threat_types.join("/")}`);
  if (m.sensor_ids?.length) parts.push(`sensor ${m.sensor_ids.join("/")}`);
  if (m.min_score !== undefined) parts.push(`score ≥ ${m.min_score}`);
  if (parts.length === 0) parts.push("every threat");
  if (rule.threshold) parts.push(`${rule.threshold.count} within ${formatSeconds(rule.threshold.window_seconds)} per ${rule.threshold.per ?? "sensor"}`);
  else parts.push("each one");
  if (rule.cooldown_seconds > 0) parts.push(`then quiet ${formatSeconds(rule.cooldown_seconds)}`);
  return parts.join(" · ");
}

/** 90 → "90 s", 300 → "5 min", 5400 → "90 min", 7200 → "2 h", 172800 → "2 d". */
export function formatSeconds(s: number): string {
  if (s % 86_400 === 0 && s >= 86_400) return `${s / 86_400} d`;
  if (s % 3_600 === 0 && s >= 3_600) return `${s / 3_600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}

export interface DestinationForm {
  name: string;
  kind: DestinationKind;
  url: string;
  /** webhook's signing secret or pagerduty's routing key; blank on an edit keeps the stored one. */
  secret: string;
  host: string;
  port: string;
  transport: "udp" | "tcp" | "tls";
  format: "cef" | "leef" | "json";
  ca_file: string;
}

export const EMPTY_DESTINATION_FORM: DestinationForm = { name: "", kind: "webhook", url: "", secret: "", host: "", port: "514", transport: "udp", format: "cef", ca_file: "" };

function httpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === "http:" || u.protocol === "https:") && !!u.host;
  } catch {
    return false;
  }
}

/**
 * The body of POST /alerts/destinations, or of a PATCH when `editing`: there the kind stays, and a
 * blank secret (write-only, never shown) is left out so the stored one stays.
 */
export function destinationBody(f: DestinationForm, editing = false): { body: Record<string, unknown> } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = {};
  const name = f.name.trim();
  if (!name) errors.name = "A name is needed";
  else if (name.length > 128) errors.name = "At most 128 characters";
  body.name = name;
  if (!editing) body.kind = f.kind;
  const url = f.url.trim();
  const secret = f.secret;
  switch (f.kind) {
    case "webhook":
    case "slack":
      if (!httpUrl(url)) errors.url = "An http:// or https:// URL";
      body.url = url;
      if (f.kind === "webhook" && secret) body.secret = secret;
      if (secret.length > 512) errors.secret = "At most 512 characters";
      break;
    case "pagerduty":
      if (secret) body.routing_key = secret.trim();
      else if (!editing) errors.routing_key = "The integration's routing key is needed";
      if (secret.trim().length > 128) errors.routing_key = "At most 128 characters";
      if (url) {
        if (!httpUrl(url)) errors.url = "An http:// or https:// URL (blank: PagerDuty's)";
        body.url = url;
      }
      break;
    case "syslog": {
      const host = f.host.trim();
      if (!host) errors.host = "A host name or address is needed";
      body.host = host;
      const port = integerIn(f.port, 1, 65_535);
      if (port === null) errors.port = "A port from 1 to 65535";
      body.port = port;
      body.transport = f.transport;
      body.format = f.format;
      if (f.transport === "tls" && f.ca_file.trim()) body.ca_file = f.ca_file.trim();
      break;
    }
  }
  if (Object.keys(errors).length) return { errors };
  return { body };
}

/** A command's optional JSON args: blank → none; otherwise a JSON object of at most 16 KiB. */
export function parseArgs(text: string): { args?: Record<string, unknown> } | { error: string } {
  const t = text.trim();
  if (!t) return {};
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch (e) {
    return { error: `Not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: 'The arguments must be a JSON object, e.g. {"detector": "ble"}' };
  if (new TextEncoder().encode(JSON.stringify(value)).length > 16 * 1024) return { error: "At most 16 KiB as JSON" };
  return { args: value as Record<string, unknown> };
}

export const COMMAND_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isSeverity(v: unknown): v is Severity {
  return typeof v === "string" && (SEVERITIES as readonly string[]).includes(v);
}
