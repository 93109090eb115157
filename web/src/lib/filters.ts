// Every view is a URL: the threats table's filters, sort, page cursor, columns and selected
// threat live in the query string. parse(format(f)) == f for every valid f, unknown or invalid
// values are dropped (a hand-edited link never breaks the page), and the API query is derived
// from the same object, so the table shows exactly what the URL says.
import type { Query } from "./api";
import { SEVERITIES, STATUSES, type Severity, type ThreatStatus } from "./types";

export const SORT_FIELDS = ["timestamp", "severity", "threat_score", "threat_type", "sensor_id", "detector_type", "created_at"] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** Relative windows of the time-range picker; "custom" uses from/to. */
export const RANGES = ["1h", "6h", "24h", "7d", "30d", "90d", "all", "custom"] as const;
export type Range = (typeof RANGES)[number];
const RANGE_MS: Record<string, number> = {
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 24 * 3_600_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
  "90d": 90 * 86_400_000,
};

export const COLUMNS = [
  "timestamp",
  "severity",
  "threat_type",
  "detector_type",
  "sensor_id",
  "device",
  "threat_score",
  "status",
  "assignee",
  "location",
] as const;
export type Column = (typeof COLUMNS)[number];
export const DEFAULT_COLUMNS: readonly Column[] = ["timestamp", "severity", "threat_type", "detector_type", "sensor_id", "device", "threat_score", "status"];

export interface ThreatFilters {
  severity: Severity[];
  detector_type: string[];
  threat_type: string[];
  sensor_id: string[];
  status: ThreatStatus[];
  /** A username; "" = unassigned; null = any. */
  assignee: string | null;
  is_acknowledged: boolean | null;
  range: Range;
  /** RFC 3339, only with range "custom". */
  from: string | null;
  to: string | null;
  sort_by: SortField;
  sort_order: "asc" | "desc";
  page_size: number;
  cursor: string | null;
  columns: Column[];
  /** The threat open in the detail panel. */
  selected: string | null;
}

export const PAGE_SIZES = [25, 50, 100, 200] as const;

export const DEFAULT_FILTERS: ThreatFilters = {
  severity: [],
  detector_type: [],
  threat_type: [],
  sensor_id: [],
  status: [],
  assignee: null,
  is_acknowledged: null,
  range: "all",
  from: null,
  to: null,
  sort_by: "timestamp",
  sort_order: "desc",
  page_size: 50,
  cursor: null,
  columns: [...DEFAULT_COLUMNS],
  selected: null,
};

const TOKEN = /^[A-Za-z0-9._:@ -]{1,128}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function list(params: URLSearchParams, key: string): string[] {
  const out: string[] = [];
  for (const value of params.getAll(key)) for (const part of value.split(",")) if (part && !out.includes(part)) out.push(part);
  return out;
}

function isTime(value: string | null): value is string {
  return value !== null && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value) && !Number.isNaN(Date.parse(value));
}

export function parseFilters(search: string | URLSearchParams): ThreatFilters {
  const params = typeof search === "string" ? new URLSearchParams(search) : search;
  const f: ThreatFilters = { ...DEFAULT_FILTERS, columns: [...DEFAULT_COLUMNS] };
  f.severity = list(params, "severity").filter((s): s is Severity => (SEVERITIES as readonly string[]).includes(s));
  f.status = list(params, "status").filter((s): s is ThreatStatus => (STATUSES as readonly string[]).includes(s));
  f.detector_type = list(params, "detector_type").filter((s) => TOKEN.test(s)).map((s) => s.toLowerCase());
  f.threat_type = list(params, "threat_type").filter((s) => TOKEN.test(s));
  f.sensor_id = list(params, "sensor_id").filter((s) => /^[A-Za-z0-9._-]{1,64}$/.test(s));
  const assignee = params.get("assignee");
  if (assignee !== null && (assignee === "" || TOKEN.test(assignee))) f.assignee = assignee;
  const ack = params.get("is_acknowledged");
  if (ack === "true" || ack === "false") f.is_acknowledged = ack === "true";
  const range = params.get("range");
  if (range && (RANGES as readonly string[]).includes(range)) f.range = range as Range;
  if (f.range === "custom") {
    f.from = isTime(params.get("from")) ? params.get("from") : null;
    f.to = isTime(params.get("to")) ? params.get("to") : null;
  }
  const sort = params.get("sort_by");
  if (sort && (SORT_FIELDS as readonly string[]).includes(sort)) f.sort_by = sort as SortField;
  const order = params.get("sort_order");
  if (order === "asc" || order === "desc") f.sort_order = order;
  const size = Number(params.get("page_size"));
  if ((PAGE_SIZES as readonly number[]).includes(size)) f.page_size = size;
  const cursor = params.get("cursor");
  if (cursor && /^[A-Za-z0-9_=.-]{1,512}$/.test(cursor)) f.cursor = cursor;
  const columns = list(params, "columns").filter((c): c is Column => (COLUMNS as readonly string[]).includes(c));
  if (columns.length) f.columns = columns;
  const selected = params.get("threat");
  if (selected && UUID.test(selected)) f.selected = selected.toLowerCase();
  return f;
}

/** The query string of f, without defaults (so a plain view has a plain URL), in a fixed order. */
export function formatFilters(f: ThreatFilters): string {
  const p = new URLSearchParams();
  const many = (key: string, values: readonly string[]) => {
    if (values.length) p.set(key, values.join(","));
  };
  many("severity", f.severity);
  many("detector_type", f.detector_type);
  many("threat_type", f.threat_type);
  many("sensor_id", f.sensor_id);
  many("status", f.status);
  if (f.assignee !== null) p.set("assignee", f.assignee);
  if (f.is_acknowledged !== null) p.set("is_acknowledged", String(f.is_acknowledged));
  if (f.range !== DEFAULT_FILTERS.range) p.set("range", f.range);
  if (f.range === "custom") {
    if (f.from) p.set("from", f.from);
    if (f.to) p.set("to", f.to);
  }
  if (f.sort_by !== DEFAULT_FILTERS.sort_by) p.set("sort_by", f.sort_by);
  if (f.sort_order !== DEFAULT_FILTERS.sort_order) p.set("sort_order", f.sort_order);
  if (f.page_size !== DEFAULT_FILTERS.page_size) p.set("page_size", String(f.page_size));
  if (f.cursor) p.set("cursor", f.cursor);
  if (f.columns.join(",") !== DEFAULT_COLUMNS.join(",")) p.set("columns", f.columns.join(","));
  if (f.selected) p.set("threat", f.selected);
  const text = p.toString();
  return text ? "?" + text : "";
}

/** The time window of a range as RFC 3339 strings, relative to `now`. */
export function rangeWindow(f: Pick<ThreatFilters, "range" | "from" | "to">, now = Date.now()): { start_time?: string; end_time?: string } {
  if (f.range === "custom") return { start_time: f.from ?? undefined, end_time: f.to ?? undefined };
  const span = RANGE_MS[f.range];
  return span ? { start_time: new Date(now - span).toISOString() } : {};
}

/** The list filters only (what GET /threats, the export and a bulk change by filter take). */
export function apiFilters(f: ThreatFilters, now = Date.now()): Query {
  return {
    severity: f.severity,
    detector_type: f.detector_type,
    threat_type: f.threat_type,
    sensor_id: f.sensor_id,
    status: f.status,
    assignee: f.assignee,
    is_acknowledged: f.is_acknowledged,
    ...rangeWindow(f, now),
  };
}

/** The GET /threats query of f: filters, sort, page size and the keyset cursor. */
export function apiQuery(f: ThreatFilters, now = Date.now()): Query {
  return {
    ...apiFilters(f, now),
    sort_by: f.sort_by,
    sort_order: f.sort_order,
    page_size: f.page_size,
    cursor: f.cursor,
  };
}

/** A change of any filter starts again at the first page. */
export function withFilter(f: ThreatFilters, patch: Partial<ThreatFilters>): ThreatFilters {
  const resetsPage = Object.keys(patch).some((k) => k !== "cursor" && k !== "selected" && k !== "columns");
  // An explicit cursor in the patch wins (null = back to the first page); otherwise a filter
  // change clears it and a change of only the selection or columns keeps it.
  const cursor = patch.cursor !== undefined ? patch.cursor : resetsPage ? null : f.cursor;
  return { ...f, ...patch, cursor };
}
