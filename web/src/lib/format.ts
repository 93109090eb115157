// Dense, legible numbers and times: thousands separators, relative times with the exact time on
// hover, UTC by default with a local-time toggle (the choice is kept per browser).
import { SEVERITIES, type Severity } from "./types";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? "—" : integer.format(n);
}

export function formatNumber(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return digits === 2 ? decimal.format(n) : n.toFixed(digits);
}

export function formatPercent(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : `${decimal.format(n)} %`;
}

let useLocalTime = typeof localStorage !== "undefined" && localStorage.getItem("honeyman.localTime") === "1";
const timeListeners = new Set<() => void>();

export function localTime(): boolean {
  return useLocalTime;
}

export function setLocalTime(on: boolean): void {
  useLocalTime = on;
  if (typeof localStorage !== "undefined") localStorage.setItem("honeyman.localTime", on ? "1" : "0");
  for (const l of timeListeners) l();
}

export function onTimeZoneChange(listener: () => void): () => void {
  timeListeners.add(listener);
  return () => timeListeners.delete(listener);
}

function pad(n: number, width = 2) {
  return String(n).padStart(width, "0");
}

/** "2026-12-03 14:05:09 UTC" (or local time with its offset). */
export function formatTime(iso: string | null | undefined, local = useLocalTime): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (!local) {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 5 min" for the future. */
export function formatRelative(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return "never";
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const seconds = Math.round((now - t) / 1000);
  const abs = Math.abs(seconds);
  const text =
    abs < 5 ? "now" : abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min` : abs < 86400 ? `${Math.floor(abs / 3600)} h` : `${Math.floor(abs / 86400)} d`;
  if (text === "now") return "just now";
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** Graver first: the order of every severity list, legend and stack. */
export function severityRank(s: string): number {
  const i = SEVERITIES.indexOf(s as Severity);
  return i < 0 ? SEVERITIES.length : i;
}

export function worstSeverity(breakdown: Partial<Record<string, number>>): Severity | null {
  for (const s of SEVERITIES) if ((breakdown[s] ?? 0) > 0) return s;
  return null;
}

export function titleCase(s: string): string {
  return s.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

const DETECTOR_LABELS: Record<string, string> = { usb: "USB", wifi: "WiFi", ble: "BLE", network: "Network", airdrop: "AirDrop" };

/** "USB", "WiFi", "BLE", ...; other detectors as the sensor named them. */
export function detectorLabel(d: string): string {
  return DETECTOR_LABELS[d.toLowerCase()] ?? d;
}
